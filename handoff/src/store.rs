//! The sqlx store: one public [`Store`] over two backends, SQLite (one bot
//! instance, a file next to it) and Postgres (several replicas sharing one
//! queue).
//!
//! Both backends run the same SQL, written once in [`common`] and expanded
//! per database by a macro, because sqlx's generic executors would bury the
//! queries under trait bounds. What differs is small and lives in each
//! backend's module: how a write transaction starts (SQLite takes the write
//! lock up front with `BEGIN IMMEDIATE` behind an in-process mutex; Postgres
//! locks rows), how the next ticket is picked (`FOR UPDATE SKIP LOCKED` on
//! Postgres) and the migrations.
//!
//! Every method's result is durable once it returns: SQLite runs with
//! `synchronous=FULL` in WAL mode, Postgres commits synchronously.

mod common;
mod insights;
pub mod learned;
mod postgres;
mod rows;
mod sqlite;
mod state_queries;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use crate::model::*;
use crate::routing::Routing;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite:...`, a file path, or `postgres://...`.
    #[error("unsupported database URL (expected sqlite:PATH, a file path or postgres://...): {0}")]
    UnsupportedUrl(String),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A database to read does not exist (see [`Store::connect_existing`]).
    #[error("there is no database at {0}")]
    Missing(String),
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A rating outside 1..=5, a rating of an open ticket, ...
    #[error("{0}")]
    Invalid(String),
    /// The call named a ticket that does not exist.
    #[error("ticket {0} does not exist")]
    TicketNotFound(TicketId),
    /// A stored JSON column (details, attachments, state) could not be read
    /// back: the row was written by something other than this store.
    #[error("stored data could not be read ({what}): {source}")]
    Corrupt {
        what: &'static str,
        source: serde_json::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Work a process holds until it is done (see [`Store::add_pending`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: i64,
    pub body: serde_json::Value,
}

/// The kinds of work kept in the store until done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// A staff-group post not yet delivered.
    StaffPost,
    /// A Telegram update received but not yet handled.
    Update,
}

impl PendingKind {
    fn as_str(self) -> &'static str {
        match self {
            PendingKind::StaffPost => "staff-post",
            PendingKind::Update => "update",
        }
    }

    fn what(self) -> &'static str {
        match self {
            PendingKind::StaffPost => "pending staff post",
            PendingKind::Update => "pending update",
        }
    }
}

/// The handoff store. Cheap to clone; all clones share one pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    routing: Arc<Routing>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteBackend),
    Postgres(postgres::PgBackend),
}

/// Runs the same method on whichever backend the store has.
macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($b) => $call,
            Backend::Postgres($b) => $call,
        }
    };
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    ///
    /// - `sqlite:PATH`, `sqlite://PATH` or a bare path such as `helpdesk.db`:
    ///   a SQLite file, created if missing, in WAL mode with
    ///   `synchronous=FULL` (an acknowledged write survives a power cut),
    ///   foreign keys on and a busy timeout so that a second process waits
    ///   instead of failing.
    /// - `sqlite::memory:`: a private in-memory database on one connection
    ///   (tests, demos); it disappears with the store.
    /// - `postgres://...` or `postgresql://...`: a Postgres database. If the
    ///   URL sets a `search_path` (`?options=-c search_path=NAME`) and that
    ///   schema does not exist yet, it is created.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::open(url, true).await
    }

    /// Opens the database at `url` like [`Store::connect`], but never
    /// creates one: a SQLite file that does not exist is
    /// [`StoreError::Missing`]. For commands that only read (`stats`,
    /// `suggest`), where a mistyped path must not leave an empty database
    /// behind. A Postgres database is never created by either.
    pub async fn connect_existing(url: &str) -> Result<Store> {
        Store::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> Result<Store> {
        let url = url.trim();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::PgBackend::connect(url).await?)
        } else if url.starts_with("sqlite:") || !url.contains("://") {
            Backend::Sqlite(sqlite::SqliteBackend::connect(url, create).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        Ok(Store {
            backend,
            routing: Arc::new(Routing::default()),
        })
    }

    /// The same store (same pool) applying `routing` to the tickets it opens
    /// and to [`Store::claim_next`] / [`Store::queue_for`]. Without it,
    /// nothing is routed: every agent may take every ticket.
    pub fn with_routing(mut self, routing: Routing) -> Store {
        self.routing = Arc::new(routing);
        self
    }

    /// The routing in force.
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close_pool(&self) {
        dispatch!(self, b => b.close_pool().await)
    }

    // --- tickets -----------------------------------------------------------

    /// Hands a user over to a human.
    ///
    /// A user has at most one open (waiting or claimed) ticket. If they
    /// already have one, the new transcript entries are appended to it (with
    /// dedup keys honoured), the new details are merged into its details, its
    /// priority is raised if the new request is more urgent, a missing
    /// category is filled in, and it is returned with `created: false`.
    /// Otherwise a ticket is created, waiting, opened now, together with its
    /// transcript in one transaction. Texts are masked ([`crate::redact`]).
    ///
    /// Routing applies: a configured VIP user's ticket is at least VIP, the
    /// category decides the team, and a VIP's account manager is preferred.
    pub async fn open_ticket(&self, new: NewTicket) -> Result<Opened> {
        dispatch!(self, b => b.open_ticket(new, &self.routing).await)
    }

    /// Appends one entry to a ticket's transcript (any status: a closed
    /// ticket still keeps what was said after it closed).
    ///
    /// Returns `false`, storing nothing, when the entry's `dedup_key` is
    /// already stored for this ticket (a Telegram update delivered twice).
    /// Entries are numbered per ticket from 1 in the order appends commit.
    /// The first entry by an agent sets the ticket's `first_reply_at`.
    /// The text is masked first. Fails with [`StoreError::TicketNotFound`].
    pub async fn append(&self, ticket: TicketId, entry: NewEntry) -> Result<bool> {
        dispatch!(self, b => b.append(ticket, entry).await)
    }

    /// The ticket with this id.
    pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        dispatch!(self, b => b.ticket(id).await)
    }

    /// The user's open (waiting or claimed) ticket, if any.
    pub async fn open_ticket_of(&self, user: UserId) -> Result<Option<Ticket>> {
        dispatch!(self, b => b.open_ticket_of(user).await)
    }

    /// A ticket's transcript in order (by `seq`); empty for an unknown ticket.
    pub async fn transcript(&self, id: TicketId) -> Result<Vec<TranscriptEntry>> {
        dispatch!(self, b => b.transcript(id).await)
    }

    /// The waiting tickets in queue order: urgent, then VIP, then normal;
    /// oldest first within a priority.
    pub async fn queue(&self) -> Result<Vec<Ticket>> {
        dispatch!(self, b => b.queue().await)
    }

    /// A waiting ticket's place in the queue (1 is next) and the queue's
    /// length; `None` if the ticket is not waiting.
    pub async fn queue_position(&self, id: TicketId) -> Result<Option<QueuePosition>> {
        dispatch!(self, b => b.queue_position(id).await)
    }

    /// The tickets an agent holds (claimed by them), oldest first.
    pub async fn agent_tickets(&self, agent: AgentId) -> Result<Vec<Ticket>> {
        dispatch!(self, b => b.agent_tickets(agent).await)
    }

    /// A user's tickets, newest first, at most `limit` (`/whois`).
    pub async fn user_tickets(&self, user: UserId, limit: i64) -> Result<Vec<Ticket>> {
        dispatch!(self, b => b.user_tickets(user, limit).await)
    }

    // --- the queue ---------------------------------------------------------

    /// Gives a waiting ticket to `agent`. Atomic: of any number of
    /// concurrent claims (from any replica) exactly one wins; the others see
    /// [`ClaimOutcome::AlreadyClaimed`]. `claimed_at` keeps the time of the
    /// ticket's first claim (waiting time is measured to it).
    pub async fn claim(&self, id: TicketId, agent: AgentId) -> Result<ClaimOutcome> {
        dispatch!(self, b => b.claim(id, agent).await)
    }

    /// Claims the next waiting ticket `agent` may take: their VIPs' tickets
    /// if they are an account manager, then by priority, then age; only
    /// tickets of their teams or of no team when categories are routed to
    /// teams; a ticket reserved for an account manager only once the
    /// manager's wait is over. `None` if nothing is waiting for them.
    /// Concurrent callers (on any replica) get different tickets.
    pub async fn claim_next(&self, agent: AgentId) -> Result<Option<Ticket>> {
        let who = common::Eligibility::of(agent, &self.routing);
        dispatch!(self, b => b.claim_next(&who).await)
    }

    /// The waiting tickets `agent` may take, in the order
    /// [`Store::claim_next`] would give them.
    pub async fn queue_for(&self, agent: AgentId) -> Result<Vec<Ticket>> {
        let who = common::Eligibility::of(agent, &self.routing);
        dispatch!(self, b => b.queue_for(&who).await)
    }

    /// The waiting tickets opened more than `limit` ago and not announced in
    /// the last `limit`, in queue order, marked as announced now: call it
    /// from a timer and announce what it returns. With several replicas each
    /// ticket is returned to one of them once per `limit`.
    pub async fn due_for_realert(&self, limit: std::time::Duration) -> Result<Vec<Ticket>> {
        dispatch!(self, b => b.due_for_realert(limit).await)
    }

    /// How long a waiting ticket will probably wait: its place in the queue
    /// divided by the number of tickets claimed in the last two hours (when
    /// there were at least 3), else its place times the median handling time
    /// of the last 20 closed tickets shared among the agents now busy. `None`
    /// if the ticket is not waiting or there is no history yet.
    pub async fn estimated_wait(&self, id: TicketId) -> Result<Option<std::time::Duration>> {
        dispatch!(self, b => b.estimated_wait(id).await)
    }

    /// Gives an open ticket to another agent (a waiting ticket is claimed
    /// for them). `None` if the ticket is not open.
    pub async fn transfer(&self, id: TicketId, to_agent: AgentId) -> Result<Option<Ticket>> {
        dispatch!(self, b => b.transfer(id, to_agent).await)
    }

    /// Puts a claimed ticket back in the queue, at its original place (age
    /// counts from when it was opened). `None` if it was not claimed.
    pub async fn release(&self, id: TicketId) -> Result<Option<Ticket>> {
        dispatch!(self, b => b.release(id).await)
    }

    /// Closes an open ticket now. `None` if it was not open.
    pub async fn close(&self, id: TicketId) -> Result<Option<Ticket>> {
        dispatch!(self, b => b.close(id).await)
    }

    /// The user ends their request (`/cancel`): an open ticket, waiting or
    /// claimed, becomes cancelled. `false` if it was not open.
    pub async fn cancel(&self, id: TicketId) -> Result<bool> {
        dispatch!(self, b => b.cancel(id).await)
    }

    /// Stores the user's rating of a closed ticket. A score outside 1..=5 or
    /// a ticket that is not closed is [`StoreError::Invalid`]. Rating again
    /// replaces the earlier rating (the user pressed another star). The
    /// comment is masked.
    pub async fn rate(&self, id: TicketId, rating: Rating) -> Result<()> {
        if !(1..=5).contains(&rating.score) {
            return Err(StoreError::Invalid(format!(
                "a rating is 1 to 5, not {}",
                rating.score
            )));
        }
        dispatch!(self, b => b.rate(id, rating).await)
    }

    // --- notes, state, query log --------------------------------------------

    /// Adds an internal note (masked) to a ticket.
    pub async fn add_note(&self, id: TicketId, agent: AgentId, text: &str) -> Result<Note> {
        dispatch!(self, b => b.add_note(id, agent, text).await)
    }

    /// A ticket's internal notes, oldest first.
    pub async fn notes(&self, id: TicketId) -> Result<Vec<Note>> {
        dispatch!(self, b => b.notes(id).await)
    }

    /// The conversation state stored under `key` (e.g. `user:42`).
    pub async fn load_state(&self, key: &str) -> Result<Option<serde_json::Value>> {
        dispatch!(self, b => b.load_state(key).await)
    }

    /// A list kept as JSON under a state `key` (none stored: empty);
    /// `what` names it in errors.
    pub(crate) async fn load_list<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        what: &'static str,
    ) -> Result<Vec<T>> {
        match self.load_state(key).await? {
            None => Ok(Vec::new()),
            Some(value) => {
                serde_json::from_value(value).map_err(|source| StoreError::Corrupt { what, source })
            }
        }
    }

    /// Keeps `list` as JSON under a state `key`.
    pub(crate) async fn save_list<T: serde::Serialize>(
        &self,
        key: &str,
        what: &'static str,
        list: &[T],
    ) -> Result<()> {
        let value =
            serde_json::to_value(list).map_err(|source| StoreError::Corrupt { what, source })?;
        self.save_state(key, &value).await
    }

    /// Stores (replacing) the conversation state under `key`. The value is
    /// the engine's own JSON and is stored as given (not masked: the engine
    /// keeps masked text in it).
    pub async fn save_state(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        dispatch!(self, b => b.save_state(key, value).await)
    }

    /// Stores `value` under `key` only if nothing is stored there yet, in
    /// one statement: true for the one caller (of any process) that stored
    /// it. For work that must happen at most once (opening a forum topic).
    pub async fn reserve_state(&self, key: &str, value: &serde_json::Value) -> Result<bool> {
        dispatch!(self, b => b.reserve_state(key, value).await)
    }

    /// Removes what is stored under `key` (a reservation given up).
    pub async fn remove_state(&self, key: &str) -> Result<()> {
        dispatch!(self, b => b.remove_state(key).await)
    }

    // --- pending work ------------------------------------------------------------

    /// Keeps work of `kind` until it is done; its id. `owner` names the
    /// process that will do it. The body is stored as given: a staff post
    /// carries what is already on the ticket, masked; an update carries
    /// what the user sent, unmasked, for as long as it takes to handle it.
    pub async fn add_pending(
        &self,
        kind: PendingKind,
        owner: &str,
        body: &serde_json::Value,
    ) -> Result<i64> {
        dispatch!(self, b => b.add_pending(kind, owner, body).await)
    }

    /// Forgets work that is done.
    pub async fn remove_pending(&self, ids: &[i64]) -> Result<()> {
        dispatch!(self, b => b.remove_pending(ids).await)
    }

    /// The processes holding work of `kind`.
    pub async fn pending_owners(&self, kind: PendingKind) -> Result<Vec<String>> {
        dispatch!(self, b => b.pending_owners(kind).await)
    }

    /// Moves the work of `kind` that `from` holds to `to` and returns it,
    /// oldest first. Atomic: of two processes taking over the same owner,
    /// one gets it.
    pub async fn take_over_pending(
        &self,
        kind: PendingKind,
        from: &str,
        to: &str,
    ) -> Result<Vec<Pending>> {
        dispatch!(self, b => b.take_over_pending(kind, from, to).await)
    }

    /// Logs a user's question (masked) and what the bot did with it.
    pub async fn record_query(&self, record: QueryRecord) -> Result<()> {
        dispatch!(self, b => b.record_query(record).await)
    }

    /// [`Store::save_state`] and [`Store::record_query`] for each record,
    /// in one transaction: one durable commit instead of several (on SQLite
    /// the commit is what bounds how many questions a second the bot takes).
    pub async fn save_state_and_log(
        &self,
        key: &str,
        value: &serde_json::Value,
        records: &[QueryRecord],
    ) -> Result<()> {
        dispatch!(self, b => b.save_state_and_log(key, value, records).await)
    }

    // --- stats -------------------------------------------------------------

    /// The figures of the period `[from, to)` (see [`Stats`]), with the
    /// `top` most asked unanswered questions.
    pub async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>, top: usize) -> Result<Stats> {
        dispatch!(self, b => b.stats(from, to, top).await)
    }

    // --- maintenance ---------------------------------------------------------

    /// Looks for inconsistencies the schema cannot rule out by itself: a
    /// transcript whose `seq` is not exactly 1..=n for a ticket's count, a
    /// claimed ticket without an agent, and on SQLite the file's own
    /// integrity and foreign-key checks. Returns one line per problem; empty
    /// means consistent. Used after crashes and by tests.
    pub async fn check_consistency(&self) -> Result<Vec<String>> {
        dispatch!(self, b => b.check_consistency().await)
    }
}

/// Now, at the precision both databases keep (microseconds), so a time read
/// back equals the time written.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// How long SQLite waits for another process's write lock before failing.
pub(crate) const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(30);
