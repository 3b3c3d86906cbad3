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
//! Every post is written to the store (`pending_posts`) before it is queued
//! and removed once Telegram took it (or refused it for good), so a crash
//! loses none. Each process has an owner name and writes a heartbeat to the
//! store; a process whose heartbeat is older than the takeover time (it
//! crashed, or stopped with posts still queued) has its posts taken over
//! and delivered by a running one, the next one started included. A post
//! sent just before a crash may be posted again: twice, never lost.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use handoff::{Store, TicketId};
use serde::{Deserialize, Serialize};
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ThreadId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::telegram::courier::Courier;
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

/// A post in a queue, with the ids of its rows in `pending_posts` (several
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
    durable: Arc<Durable>,
    tasks: Arc<Tasks>,
}

/// What keeps posts in the store: the store, and who this process is.
struct Durable {
    store: Store,
    owner: String,
}

/// The outbox's two tasks.
struct Tasks {
    worker: AbortHandle,
    heartbeat: AbortHandle,
}

impl Durable {
    fn heartbeat_key(owner: &str) -> String {
        format!("outbox-owner:{owner}")
    }

    async fn beat(&self, seen: i64) {
        let value = serde_json::json!({ "seen": seen });
        if let Err(error) = self
            .store
            .save_state(&Self::heartbeat_key(&self.owner), &value)
            .await
        {
            tracing::warn!("staff outbox heartbeat failed: {error}");
        }
    }

    /// The posts of owners silent for longer than `takeover`, now ours.
    async fn take_over(&self, takeover: Duration) -> anyhow::Result<Vec<Queued>> {
        let now = chrono::Utc::now().timestamp();
        let mut taken = Vec::new();
        for owner in self.store.pending_post_owners().await? {
            if owner == self.owner {
                continue;
            }
            let seen = self
                .store
                .load_state(&Self::heartbeat_key(&owner))
                .await?
                .and_then(|v| v.get("seen").and_then(serde_json::Value::as_i64))
                .unwrap_or(0);
            if now - seen < takeover.as_secs() as i64 {
                continue;
            }
            let posts = self
                .store
                .take_over_pending_posts(&owner, &self.owner)
                .await?;
            if !posts.is_empty() {
                tracing::info!(
                    posts = posts.len(),
                    from = %owner,
                    "staff posts of a silent process taken over"
                );
            }
            for pending in posts {
                match serde_json::from_value::<StaffPost>(pending.body) {
                    Ok(post) => taken.push(Queued {
                        ids: vec![pending.id],
                        post,
                    }),
                    Err(error) => {
                        tracing::error!(
                            id = pending.id,
                            "unreadable pending staff post dropped: {error}"
                        );
                        self.store.remove_pending_posts(&[pending.id]).await?;
                    }
                }
            }
        }
        Ok(taken)
    }

    async fn delivered(&self, ids: &[i64]) {
        if let Err(error) = self.store.remove_pending_posts(ids).await {
            tracing::warn!("delivered staff posts not cleared (they may be posted again): {error}");
        }
    }
}

/// The budget: at most `posts` per `window` per group; `None` is unlimited
/// (throttling off, for benchmarks).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub posts: usize,
    pub window: Duration,
}

impl Outbox {
    /// Starts the worker, and the heartbeat that also takes over the posts
    /// of processes silent for `takeover` (checked every third of it).
    pub fn spawn(
        courier: Courier,
        topics: Arc<Topics>,
        budget: Option<Budget>,
        store: Store,
        takeover: Duration,
    ) -> Outbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let durable = Arc::new(Durable {
            store,
            owner: format!(
                "{}-{}-{:x}",
                hostname(),
                std::process::id(),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            ),
        });
        let worker = Worker {
            courier,
            topics,
            budget,
            durable: durable.clone(),
            queues: HashMap::new(),
            sent: HashMap::new(),
            flushes: Vec::new(),
        };
        let tasks = Arc::new(Tasks {
            worker: tokio::spawn(worker.run(rx)).abort_handle(),
            heartbeat: tokio::spawn(heartbeat(durable.clone(), tx.downgrade(), takeover))
                .abort_handle(),
        });
        Outbox { tx, durable, tasks }
    }

    /// Keeps `post` in the store, then queues it.
    pub async fn post(&self, post: StaffPost) {
        let kept: anyhow::Result<i64> = match serde_json::to_value(&post) {
            Ok(body) => self
                .durable
                .store
                .add_pending_post(&self.durable.owner, &body)
                .await
                .map_err(Into::into),
            Err(error) => Err(error.into()),
        };
        let ids = match kept {
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

    /// After the last flush: stops the heartbeat and marks this process as
    /// gone, so the next process takes over what is left at once.
    pub async fn retire(&self) {
        // Stopped first, so that it cannot write a fresh beat over this last one.
        self.tasks.heartbeat.abort();
        self.durable.beat(0).await;
    }

    /// Stops the worker and the heartbeat at once, leaving whatever is
    /// queued in the store: what a crash does (for tests of recovery).
    pub fn abort(&self) {
        self.tasks.worker.abort();
        self.tasks.heartbeat.abort();
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

/// Every `takeover / 3`: writes this process's heartbeat and queues the
/// posts of silent processes. The first round runs at once, so a restart
/// takes over what the previous run left after a clean stop.
async fn heartbeat(durable: Arc<Durable>, tx: mpsc::WeakUnboundedSender<Job>, takeover: Duration) {
    let every = (takeover / 3).max(Duration::from_millis(100));
    loop {
        durable.beat(chrono::Utc::now().timestamp()).await;
        match durable.take_over(takeover).await {
            Ok(posts) => {
                let Some(tx) = tx.upgrade() else { return };
                for queued in posts {
                    let _ = tx.send(Job::Post(queued));
                }
            }
            Err(error) => tracing::warn!("taking over pending staff posts failed: {error:#}"),
        }
        tokio::time::sleep(every).await;
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into())
}

struct Worker {
    courier: Courier,
    topics: Arc<Topics>,
    budget: Option<Budget>,
    durable: Arc<Durable>,
    queues: HashMap<i64, VecDeque<Queued>>,
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
        self.durable.delivered(&ids).await;
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
