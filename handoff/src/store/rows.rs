//! Rows as both databases return them, and their conversion to the model.
//!
//! The column types are chosen so that one row struct decodes on both
//! backends: integers are 64-bit, JSON is text, times are `DateTime<Utc>`
//! (RFC 3339 text on SQLite, `timestamptz` on Postgres).

use chrono::{DateTime, Utc};

use super::{Result, StoreError};
use crate::details::Details;
use crate::model::*;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TicketRow {
    pub id: i64,
    pub user_id: i64,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub language: String,
    pub status: String,
    pub priority: i64,
    pub category: Option<String>,
    pub details: String,
    pub agent_id: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub first_reply_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating_score: Option<i64>,
    pub rating_comment: Option<String>,
    pub team: Option<String>,
    pub preferred_agent: Option<i64>,
    pub opened_by: Option<String>,
}

impl TicketRow {
    pub fn into_ticket(self) -> Result<Ticket> {
        let details: Details =
            serde_json::from_str(&self.details).map_err(|source| StoreError::Corrupt {
                what: "ticket details",
                source,
            })?;
        Ok(Ticket {
            id: self.id,
            user: UserInfo {
                id: self.user_id,
                username: self.username,
                display_name: self.display_name,
                language: self.language,
            },
            status: status_from_db(&self.status),
            priority: priority_from_db(self.priority),
            category: self.category,
            details,
            agent: self.agent_id,
            opened_at: self.opened_at,
            claimed_at: self.claimed_at,
            first_reply_at: self.first_reply_at,
            closed_at: self.closed_at,
            rating: self.rating_score.map(|score| Rating {
                score: score.clamp(1, 5) as u8,
                comment: self.rating_comment,
            }),
            team: self.team,
            preferred_agent: self.preferred_agent,
            opened_by: self.opened_by,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EntryRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub author_kind: String,
    pub author_agent: Option<i64>,
    pub text: String,
    pub attachments: String,
    pub candidates: String,
}

impl EntryRow {
    pub fn into_entry(self) -> Result<TranscriptEntry> {
        let author = match (self.author_kind.as_str(), self.author_agent) {
            ("user", _) => Author::User,
            ("bot", _) => Author::Bot,
            ("agent", Some(id)) => Author::Agent(id),
            _ => Author::System,
        };
        Ok(TranscriptEntry {
            seq: self.seq,
            at: self.at,
            author,
            text: self.text,
            attachments: serde_json::from_str(&self.attachments).map_err(|source| {
                StoreError::Corrupt {
                    what: "transcript attachments",
                    source,
                }
            })?,
            candidates: serde_json::from_str(&self.candidates).map_err(|source| {
                StoreError::Corrupt {
                    what: "transcript candidates",
                    source,
                }
            })?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NoteRow {
    pub at: DateTime<Utc>,
    pub agent_id: i64,
    pub text: String,
}

impl From<NoteRow> for Note {
    fn from(row: NoteRow) -> Note {
        Note {
            at: row.at,
            agent: row.agent_id,
            text: row.text,
        }
    }
}

pub(crate) fn status_to_db(status: Status) -> &'static str {
    match status {
        Status::Waiting => "waiting",
        Status::Claimed => "claimed",
        Status::Closed => "closed",
        Status::Cancelled => "cancelled",
    }
}

pub(crate) fn status_from_db(status: &str) -> Status {
    match status {
        "waiting" => Status::Waiting,
        "claimed" => Status::Claimed,
        "closed" => Status::Closed,
        _ => Status::Cancelled,
    }
}

/// Ascending rank is queue order.
pub(crate) fn priority_to_db(priority: Priority) -> i64 {
    match priority {
        Priority::Urgent => 0,
        Priority::Vip => 1,
        Priority::Normal => 2,
    }
}

pub(crate) fn priority_from_db(rank: i64) -> Priority {
    match rank {
        0 => Priority::Urgent,
        1 => Priority::Vip,
        _ => Priority::Normal,
    }
}

pub(crate) fn author_to_db(author: Author) -> (&'static str, Option<i64>) {
    match author {
        Author::User => ("user", None),
        Author::Bot => ("bot", None),
        Author::Agent(id) => ("agent", Some(id)),
        Author::System => ("system", None),
    }
}

pub(crate) fn outcome_to_db(outcome: QueryOutcome) -> &'static str {
    match outcome {
        QueryOutcome::Answered => "answered",
        QueryOutcome::Suggested => "suggested",
        QueryOutcome::NoMatch => "no_match",
        QueryOutcome::AskedForHuman => "asked_for_human",
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data (strings, numbers, vectors) cannot fail.
    serde_json::to_string(value).expect("plain data serialises")
}
