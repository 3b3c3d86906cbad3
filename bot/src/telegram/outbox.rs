//! The staff-group outbox: everything posted in a staff group goes through
//! one queue per group, because a group takes only 20 messages a minute and
//! a busy desk outgrows that. Within the budget, posts go out in order. When
//! it runs out, posts wait, and a ticket's waiting plain-text messages
//! (what its user wrote) are combined into one post when their turn comes:
//! slower, never lossy. Media are copied one by one; they cannot be merged.
//!
//! The outbox also opens a ticket's topic on the first post about it, and
//! records which topic belongs to which ticket (see [`Topics`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use handoff::TicketId;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ThreadId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::telegram::courier::Courier;
use crate::telegram::split::{MESSAGE_LIMIT, telegram_len};
use crate::telegram::topics::{TopicRecord, Topics};

/// What to post.
#[derive(Debug, Clone)]
pub enum Body {
    /// A new ticket: open its topic (named `topic_name`) and post the card.
    Card {
        topic_name: String,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
    },
    /// A text; `combinable` texts of one ticket may be merged when waiting.
    Text {
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
        combinable: bool,
    },
    /// A copy of a user's message (a photo, ...), captioned.
    Copy {
        from: ChatId,
        message: MessageId,
        caption: String,
    },
    /// New text and buttons for the ticket's card (after a claim).
    EditCard {
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
    },
    CloseTopic,
}

impl Body {
    /// Messages it adds to the group (edits add none).
    fn cost(&self) -> usize {
        match self {
            Body::Card { .. } => 2,
            Body::EditCard { .. } => 0,
            _ => 1,
        }
    }
}

/// A post for a staff group: about a ticket (it goes to the ticket's
/// topic) or not (it goes to `thread`, e.g. the topic a command came from).
#[derive(Debug, Clone)]
pub struct StaffPost {
    pub group: i64,
    pub ticket: Option<TicketId>,
    pub thread: Option<ThreadId>,
    pub body: Body,
}

enum Job {
    Post(StaffPost),
    Flush(oneshot::Sender<()>),
}

/// A handle to the outbox worker. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Job>,
}

/// The budget: at most `posts` per `window` per group; `None` is unlimited
/// (throttling off, for benchmarks).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub posts: usize,
    pub window: Duration,
}

impl Outbox {
    pub fn spawn(courier: Courier, topics: Arc<Topics>, budget: Option<Budget>) -> Outbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            courier,
            topics,
            budget,
            queues: HashMap::new(),
            sent: HashMap::new(),
            flushes: Vec::new(),
        };
        tokio::spawn(worker.run(rx));
        Outbox { tx }
    }

    pub fn post(&self, post: StaffPost) {
        if self.tx.send(Job::Post(post)).is_err() {
            tracing::error!(
                "the staff outbox has stopped; a staff post is lost from the group (it is on the ticket)"
            );
        }
    }

    /// Waits until everything queued so far has been posted, or `limit`.
    /// Returns false on timeout.
    pub async fn flush(&self, limit: Duration) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_err() {
            return true;
        }
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

struct Worker {
    courier: Courier,
    topics: Arc<Topics>,
    budget: Option<Budget>,
    queues: HashMap<i64, VecDeque<StaffPost>>,
    /// When recent messages went out, per group.
    sent: HashMap<i64, VecDeque<Instant>>,
    flushes: Vec<oneshot::Sender<()>>,
}

enum Next {
    Send(i64),
    WaitUntil(Instant),
    Idle,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        loop {
            while let Ok(job) = rx.try_recv() {
                self.accept(job);
            }
            match self.next() {
                Next::Send(group) => self.send_one(group).await,
                Next::WaitUntil(at) => {
                    tokio::select! {
                        job = rx.recv() => match job {
                            Some(job) => self.accept(job),
                            None => self.drain_closed().await,
                        },
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                Next::Idle => {
                    for done in self.flushes.drain(..) {
                        let _ = done.send(());
                    }
                    match rx.recv().await {
                        Some(job) => self.accept(job),
                        None => return,
                    }
                }
            }
        }
    }

    /// Every handle is gone: post what is left within the budget, then stop.
    async fn drain_closed(&mut self) {
        loop {
            match self.next() {
                Next::Send(group) => self.send_one(group).await,
                Next::WaitUntil(at) => tokio::time::sleep_until(at).await,
                Next::Idle => return,
            }
        }
    }

    fn accept(&mut self, job: Job) {
        match job {
            Job::Post(post) => self.queues.entry(post.group).or_default().push_back(post),
            Job::Flush(done) => self.flushes.push(done),
        }
    }

    fn used(&mut self, group: i64, now: Instant) -> usize {
        let Some(budget) = self.budget else { return 0 };
        let sent = self.sent.entry(group).or_default();
        while sent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= budget.window)
        {
            sent.pop_front();
        }
        sent.len()
    }

    fn next(&mut self) -> Next {
        let now = Instant::now();
        let mut earliest: Option<Instant> = None;
        let groups: Vec<i64> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(g, _)| *g)
            .collect();
        for group in groups {
            let Some(budget) = self.budget else {
                return Next::Send(group);
            };
            let free = self.queues[&group]
                .front()
                .is_some_and(|p| p.body.cost() == 0);
            if free || self.used(group, now) < budget.posts {
                return Next::Send(group);
            }
            let frees_at = self.sent[&group]
                .front()
                .map(|at| *at + budget.window)
                .unwrap_or(now);
            earliest = Some(earliest.map_or(frees_at, |e| e.min(frees_at)));
        }
        earliest.map_or(Next::Idle, Next::WaitUntil)
    }

    /// Takes the group's next post; a combinable text takes the texts of
    /// the same ticket waiting behind it along (up to Telegram's length).
    fn take(&mut self, group: i64) -> Option<StaffPost> {
        let queue = self.queues.get_mut(&group)?;
        let mut post = queue.pop_front()?;
        let Body::Text {
            text,
            combinable: true,
            keyboard: None,
        } = &mut post.body
        else {
            return Some(post);
        };
        let mut index = 0;
        let mut combined = 0;
        while index < queue.len() {
            let same_ticket = queue[index].ticket == post.ticket && post.ticket.is_some();
            if !same_ticket {
                index += 1;
                continue;
            }
            match &queue[index].body {
                Body::Text {
                    text: more,
                    combinable: true,
                    keyboard: None,
                } if telegram_len(text) + 1 + telegram_len(more) <= MESSAGE_LIMIT => {
                    text.push('\n');
                    text.push_str(more);
                    queue.remove(index);
                    combined += 1;
                }
                // Order within a ticket is kept: stop at anything else.
                _ => break,
            }
        }
        if combined > 0 {
            tracing::info!(
                ticket_id = post.ticket,
                combined = combined + 1,
                "staff group busy: posts combined"
            );
        }
        Some(post)
    }

    fn spend(&mut self, group: i64, messages: usize) {
        if self.budget.is_some() {
            let now = Instant::now();
            let sent = self.sent.entry(group).or_default();
            for _ in 0..messages {
                sent.push_back(now);
            }
        }
    }

    async fn send_one(&mut self, group: i64) {
        let Some(post) = self.take(group) else { return };
        let ticket = post.ticket;
        let cost = post.body.cost();
        if let Err(error) = self.deliver(post).await {
            tracing::error!(
                ticket_id = ticket,
                chat_id = group,
                "staff group post failed: {error:#}"
            );
        }
        self.spend(group, cost);
    }

    /// The ticket's topic in `group`, opened now if it has none there.
    async fn topic(&self, group: i64, ticket: TicketId, name: &str) -> anyhow::Result<TopicRecord> {
        if let Some(record) = self.topics.of_ticket(ticket).await?
            && record.chat == group
        {
            return Ok(record);
        }
        let thread = self.courier.create_topic(ChatId(group), name).await?;
        let record = TopicRecord {
            chat: group,
            thread: thread.0.0,
            card: None,
        };
        self.topics.save(ticket, record).await?;
        tracing::info!(
            ticket_id = ticket,
            chat_id = group,
            thread = record.thread,
            "topic opened"
        );
        Ok(record)
    }

    async fn deliver(&self, post: StaffPost) -> anyhow::Result<()> {
        let chat = ChatId(post.group);
        let mut thread = post.thread;
        if let Some(ticket) = post.ticket {
            let name = match &post.body {
                Body::Card { topic_name, .. } => topic_name.clone(),
                _ => format!("#{ticket}"),
            };
            let record = self.topic(post.group, ticket, &name).await?;
            thread = Some(ThreadId(MessageId(record.thread)));
        }
        match post.body {
            Body::Card { text, keyboard, .. } => {
                let card = self
                    .courier
                    .send_text(chat, thread, &text, keyboard)
                    .await?;
                if let (Some(ticket), Some(card)) = (post.ticket, card)
                    && let Some(mut record) = self.topics.of_ticket(ticket).await?
                {
                    record.card = Some(card.0);
                    self.topics.save(ticket, record).await?;
                }
            }
            Body::Text { text, keyboard, .. } => {
                self.courier
                    .send_text(chat, thread, &text, keyboard)
                    .await?;
            }
            Body::Copy {
                from,
                message,
                caption,
            } => {
                self.courier
                    .copy(chat, thread, from, message, &caption)
                    .await?;
            }
            Body::EditCard { text, keyboard } => {
                let card = match post.ticket {
                    Some(ticket) => self.topics.of_ticket(ticket).await?.and_then(|r| r.card),
                    None => None,
                };
                if let Some(card) = card {
                    self.courier
                        .edit_text(chat, MessageId(card), &text, keyboard)
                        .await?;
                }
            }
            Body::CloseTopic => {
                if let Some(thread) = thread {
                    self.courier.close_topic(chat, thread).await?;
                }
            }
        }
        Ok(())
    }
}
