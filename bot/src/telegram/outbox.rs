//! The staff-group outbox: everything posted in a staff group goes through
//! one queue per group, because a group takes only 20 messages a minute and
//! a busy desk outgrows that. Within the budget, posts go out in order. When
//! it runs out, posts wait, and a ticket's waiting plain-text messages
//! (what its user wrote) are combined into one post when their turn comes:
//! slower, never lossy. Media are copied one by one; they cannot be merged.
//!
//! The outbox also opens a ticket's topic on the first post about it, and
//! records which topic belongs to which ticket (see [`Topics`]).
//!
//! Every post is kept in the store (see [`Keeper`]) before it is queued and
//! forgotten once Telegram took it (or refused it for good), so a crash
//! loses none: a running process takes over the posts of a silent one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use handoff::{PendingKind, TicketId};
use serde::{Deserialize, Serialize};
use teloxide::RequestError;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ThreadId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::telegram::courier::{Courier, MAX_RETRIES};
use crate::telegram::keeper::Keeper;
use crate::telegram::split::{MESSAGE_LIMIT, telegram_len};
use crate::telegram::topics::{TopicRecord, Topics};

/// What to post.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffPost {
    pub group: i64,
    pub ticket: Option<TicketId>,
    pub thread: Option<ThreadId>,
    pub body: Body,
}

/// A post in a queue, with the ids under which the store keeps it (several
/// once combined; none if the store could not keep it).
struct Queued {
    ids: Vec<i64>,
    post: StaffPost,
}

enum Job {
    Post(Queued),
    Flush(oneshot::Sender<()>),
}

/// A handle to the outbox worker. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Job>,
    keeper: Arc<Keeper>,
    tasks: Arc<Tasks>,
}

/// The outbox's two tasks.
struct Tasks {
    worker: AbortHandle,
    takeover: AbortHandle,
}

/// The budget: at most `posts` per `window` per group; `None` is unlimited
/// (throttling off, for benchmarks).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub posts: usize,
    pub window: Duration,
}

impl Outbox {
    /// Starts the worker, and a task that takes over the posts of
    /// processes silent for `takeover` (see [`Keeper`]).
    pub fn spawn(
        courier: Courier,
        topics: Arc<Topics>,
        budget: Option<Budget>,
        keeper: Arc<Keeper>,
        takeover: Duration,
    ) -> Outbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            courier,
            topics,
            budget,
            keeper: keeper.clone(),
            queues: HashMap::new(),
            sent: HashMap::new(),
            flushes: Vec::new(),
            orphaned: HashSet::new(),
        };
        let tasks = Arc::new(Tasks {
            worker: tokio::spawn(worker.run(rx)).abort_handle(),
            takeover: tokio::spawn(take_over(keeper.clone(), tx.downgrade(), takeover))
                .abort_handle(),
        });
        Outbox { tx, keeper, tasks }
    }

    /// Keeps `post` in the store, then queues it.
    pub async fn post(&self, post: StaffPost) {
        let ids = match self.keeper.keep(PendingKind::StaffPost, &post).await {
            Ok(id) => vec![id],
            Err(error) => {
                tracing::error!(
                    "a staff post could not be kept in the store (posting it anyway): {error}"
                );
                Vec::new()
            }
        };
        if self.tx.send(Job::Post(Queued { ids, post })).is_err() {
            tracing::error!(
                "the staff outbox has stopped; a staff post waits in the store for the next start"
            );
        }
    }

    /// Stops the worker and the takeover at once, leaving whatever is
    /// queued in the store: what a crash does (for tests of recovery).
    pub fn abort(&self) {
        self.tasks.worker.abort();
        self.tasks.takeover.abort();
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

/// Every round (see [`Keeper::round`]): queues the posts of silent
/// processes. The first round runs at once, so a restart takes over what
/// the previous run left after a clean stop.
async fn take_over(keeper: Arc<Keeper>, tx: mpsc::WeakUnboundedSender<Job>, takeover: Duration) {
    loop {
        match keeper.take_over(PendingKind::StaffPost, takeover).await {
            Ok(posts) => {
                let Some(tx) = tx.upgrade() else { return };
                for (id, post) in posts {
                    let _ = tx.send(Job::Post(Queued {
                        ids: vec![id],
                        post,
                    }));
                }
            }
            Err(error) => tracing::warn!("taking over pending staff posts failed: {error:#}"),
        }
        tokio::time::sleep(Keeper::round(takeover)).await;
    }
}

struct Worker {
    courier: Courier,
    topics: Arc<Topics>,
    budget: Option<Budget>,
    keeper: Arc<Keeper>,
    queues: HashMap<i64, VecDeque<Queued>>,
    /// When recent messages went out, per group.
    sent: HashMap<i64, VecDeque<Instant>>,
    flushes: Vec<oneshot::Sender<()>>,
    /// Tickets whose topic in a group was reserved and never recorded.
    orphaned: HashSet<(TicketId, i64)>,
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
            Job::Post(queued) => self
                .queues
                .entry(queued.post.group)
                .or_default()
                .push_back(queued),
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
                .is_some_and(|q| q.post.body.cost() == 0);
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
    fn take(&mut self, group: i64) -> Option<Queued> {
        let queue = self.queues.get_mut(&group)?;
        let mut queued = queue.pop_front()?;
        let Queued { ids, post } = &mut queued;
        let Body::Text {
            text,
            combinable: true,
            keyboard: None,
        } = &mut post.body
        else {
            return Some(queued);
        };
        let mut index = 0;
        let mut combined = 0;
        while index < queue.len() {
            let same_ticket = queue[index].post.ticket == post.ticket && post.ticket.is_some();
            if !same_ticket {
                index += 1;
                continue;
            }
            match &queue[index].post.body {
                Body::Text {
                    text: more,
                    combinable: true,
                    keyboard: None,
                } if telegram_len(text) + 1 + telegram_len(more) <= MESSAGE_LIMIT => {
                    text.push('\n');
                    text.push_str(more);
                    if let Some(merged) = queue.remove(index) {
                        ids.extend(merged.ids);
                    }
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
        Some(queued)
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
        let Some(Queued { ids, post }) = self.take(group) else {
            return;
        };
        let ticket = post.ticket;
        let cost = post.body.cost();
        // The courier already waited out 429s and retried: an error now is
        // one Telegram keeps giving (the group is gone, the bot was removed).
        if let Err(error) = self.deliver(post).await {
            tracing::error!(
                ticket_id = ticket,
                chat_id = group,
                "staff group post failed: {error:#}"
            );
        }
        self.keeper.done(&ids).await;
        self.spend(group, cost);
    }

    /// The ticket's topic in `group`, opened now if it has none there;
    /// `None` if its opening was reserved before and never recorded (a
    /// process stopped between Telegram opening it and recording it, which
    /// the Bot API cannot look up): the post then goes to the group's
    /// General topic rather than to a second topic of the ticket.
    async fn topic(
        &mut self,
        group: i64,
        ticket: TicketId,
        name: &str,
    ) -> anyhow::Result<Option<TopicRecord>> {
        if let Some(record) = self.topics.of_ticket(ticket).await?
            && record.chat == group
        {
            return Ok(Some(record));
        }
        if self.orphaned.contains(&(ticket, group)) {
            return Ok(None);
        }
        let mut refused = 0;
        let thread = loop {
            if !self.topics.reserve(ticket, group, name).await? {
                return self.reserved_before(group, ticket, name).await;
            }
            match self.courier.create_topic_once(ChatId(group), name).await {
                Ok(thread) => break thread,
                // Refused: nothing was opened, the reservation is given back.
                Err(RequestError::RetryAfter(after)) if refused < MAX_RETRIES => {
                    refused += 1;
                    self.topics.release(ticket, group).await?;
                    tracing::warn!(
                        method = "createForumTopic",
                        retry_after_secs = after.seconds(),
                        "Telegram asked to slow down"
                    );
                    tokio::time::sleep(after.duration().max(Duration::from_millis(10))).await;
                }
                Err(error @ (RequestError::RetryAfter(_) | RequestError::Api(_))) => {
                    self.topics.release(ticket, group).await?;
                    return Err(error.into());
                }
                // The call may have reached Telegram: the reservation stays.
                Err(error) => return Err(error.into()),
            }
        };
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
        Ok(Some(record))
    }

    /// The topic's opening was reserved before: another process opening it
    /// now (its record comes soon), or one that stopped before recording it.
    async fn reserved_before(
        &mut self,
        group: i64,
        ticket: TicketId,
        name: &str,
    ) -> anyhow::Result<Option<TopicRecord>> {
        {
            for _ in 0..20 {
                if let Some(record) = self.topics.stored(ticket).await?
                    && record.chat == group
                {
                    return Ok(Some(record));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tracing::warn!(
                ticket_id = ticket,
                chat_id = group,
                topic = name,
                "this ticket's topic was being opened when a process stopped, and was never \
                 recorded; its posts go to the group's General topic, not to a second topic"
            );
            self.orphaned.insert((ticket, group));
            Ok(None)
        }
    }

    async fn deliver(&mut self, post: StaffPost) -> anyhow::Result<()> {
        let chat = ChatId(post.group);
        let mut thread = post.thread;
        if let Some(ticket) = post.ticket {
            let name = match &post.body {
                Body::Card { topic_name, .. } => topic_name.clone(),
                _ => format!("#{ticket}"),
            };
            if let Some(record) = self.topic(post.group, ticket, &name).await? {
                thread = Some(ThreadId(MessageId(record.thread)));
            }
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
