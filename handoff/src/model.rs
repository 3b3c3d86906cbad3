//! The values the store reads and writes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::details::Details;

pub type TicketId = i64;
/// A Telegram user id (the console uses fixed ids of its own).
pub type UserId = i64;
/// A Telegram user id of a configured agent.
pub type AgentId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Waiting,
    Claimed,
    Closed,
    Cancelled,
}

impl Status {
    pub fn is_open(self) -> bool {
        matches!(self, Status::Waiting | Status::Claimed)
    }
}

/// Queue order: urgent before VIP before normal (then oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Urgent,
    Vip,
    Normal,
}

/// Who a ticket is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: UserId,
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// The language the bot speaks with this user (`zh`, `en`, ...).
    pub language: String,
}

/// Who wrote a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Author {
    User,
    Bot,
    Agent(AgentId),
    System,
}

/// A file a message carried (Telegram file id; the bytes stay at Telegram).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `photo`, `document`, `voice`, `video`, `sticker`, ...
    pub kind: String,
    pub file_id: String,
}

/// A candidate the matcher considered, as kept on the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    pub entry_id: String,
    pub confidence: f32,
}

/// A transcript entry to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    pub author: Author,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub candidates: Vec<CandidateRecord>,
    /// Set from Telegram update/message ids: an entry with a key already
    /// stored for the ticket is not stored again.
    pub dedup_key: Option<String>,
}

impl NewEntry {
    pub fn text(author: Author, text: impl Into<String>) -> Self {
        NewEntry {
            author,
            text: text.into(),
            attachments: Vec::new(),
            candidates: Vec::new(),
            dedup_key: None,
        }
    }
}

/// A stored transcript entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Order within the ticket, from 1.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub author: Author,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub candidates: Vec<CandidateRecord>,
}

/// What is needed to open a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub user: UserInfo,
    pub category: Option<String>,
    pub priority: Priority,
    pub details: Details,
    /// The conversation so far, oldest first.
    pub transcript: Vec<NewEntry>,
    /// The dedup key of the event that asked for this ticket (a Telegram
    /// message), kept on a ticket it creates: see [`Ticket::opened_by`].
    #[serde(default)]
    pub opened_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub user: UserInfo,
    pub status: Status,
    pub priority: Priority,
    pub category: Option<String>,
    pub details: Details,
    pub agent: Option<AgentId>,
    pub opened_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub first_reply_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<Rating>,
    /// The team its category is routed to ([`crate::Routing`]); `None`:
    /// any agent.
    #[serde(default)]
    pub team: Option<String>,
    /// A VIP's account manager, who may take it from the queue before anyone
    /// else (see [`crate::Routing::account_managers`]).
    #[serde(default)]
    pub preferred_agent: Option<AgentId>,
    /// The dedup key of the event that created it: that event handled again
    /// (after a crash) is the handoff again, not a follow-up.
    #[serde(default)]
    pub opened_by: Option<String>,
}

/// What opening a ticket did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    pub ticket: Ticket,
    /// False when the user already had an open ticket and the transcript was
    /// added to it instead (a user has at most one open ticket).
    pub created: bool,
}

/// The result of a claim attempt; a ticket is never given to two agents.
// Claimed is the common case and is used right away: boxing it would cost
// an allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClaimOutcome {
    Claimed(Ticket),
    /// Someone (maybe the same agent) holds it already.
    AlreadyClaimed {
        by: AgentId,
    },
    /// Closed or cancelled.
    NotOpen(Status),
    NotFound,
}

/// A waiting ticket's place: `position` 1 is next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    pub position: usize,
    pub waiting: usize,
}

/// An internal note by an agent; never shown to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub agent: AgentId,
    pub text: String,
}

/// How the bot handled a user's question, for stats and suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryOutcome {
    Answered,
    Suggested,
    NoMatch,
    AskedForHuman,
}

/// One question a user asked, as logged for stats and suggestions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRecord {
    pub user: UserId,
    pub language: String,
    pub text: String,
    pub outcome: QueryOutcome,
    pub entry_id: Option<String>,
    pub confidence: Option<f32>,
}

/// The figures behind `/stats` and the metrics, over a period `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Questions users asked, by what the bot did with them.
    pub questions: QuestionCounts,
    /// Answered questions over all questions; `None` without questions.
    pub auto_answer_rate: Option<f64>,
    /// Tickets opened in the period (escalations to a human).
    pub escalated: u64,
    pub closed: u64,
    pub cancelled: u64,
    /// Tickets opened per UTC day, days without tickets left out.
    pub opened_per_day: Vec<DayCount>,
    pub closed_per_day: Vec<DayCount>,
    /// Opened → first claimed, for tickets opened in the period and claimed.
    pub waiting: Option<Percentiles>,
    /// First claimed → closed, for tickets closed in the period.
    pub handling: Option<Percentiles>,
    /// Opened → first agent message, for tickets opened in the period.
    pub first_reply: Option<Percentiles>,
    /// Ratings of tickets closed in the period.
    pub ratings: u64,
    pub average_rating: Option<f64>,
    /// Right now (not limited to the period).
    pub waiting_now: u64,
    pub claimed_now: u64,
    /// The questions asked most often in the period that matched no FAQ
    /// entry, most frequent first (compared ignoring ASCII case and
    /// surrounding spaces).
    pub top_unanswered: Vec<UnansweredQuestion>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionCounts {
    pub answered: u64,
    pub suggested: u64,
    pub no_match: u64,
    pub asked_for_human: u64,
}

impl QuestionCounts {
    pub fn total(&self) -> u64 {
        self.answered + self.suggested + self.no_match + self.asked_for_human
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: u64,
}

/// Durations in seconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_secs: f64,
    pub p90_secs: f64,
}

impl Percentiles {
    /// `None` for no samples.
    pub fn of(mut secs: Vec<f64>) -> Option<Percentiles> {
        if secs.is_empty() {
            return None;
        }
        secs.sort_by(f64::total_cmp);
        let rank =
            |p: f64| secs[((p * secs.len() as f64).ceil() as usize).clamp(1, secs.len()) - 1];
        Some(Percentiles {
            count: secs.len() as u64,
            p50_secs: rank(0.5),
            p90_secs: rank(0.9),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnansweredQuestion {
    pub text: String,
    pub count: u64,
}

/// What taught a phrasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnedFrom {
    /// The user pressed "Solved" under the entry's answer.
    Solved,
    /// The user picked the entry among the "did you mean" choices.
    Picked,
}
