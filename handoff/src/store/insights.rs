//! What admins learn from the store: which FAQ entry agents said should have
//! answered a ticket (`/link ID`), the questions the bot could not answer,
//! and the running totals behind the metrics.
//!
//! These methods are built on the store's own calls (the transcript, the
//! key-value state, [`Store::stats`]), so they behave the same on SQLite and
//! Postgres and need no SQL or tables of their own. A link is kept twice:
//! as a system line on the ticket's transcript (agents see it), and in the
//! entry's link list under the state key `faq-link:ENTRY` (suggestions read
//! it without scanning every transcript).
//!
//! Limit: the link list is read, extended and written back. Within one
//! process links are serialised; two replicas linking the same entry in the
//! same instant may lose one of the two marks (a suggestion's count is off
//! by one; the transcript line stays).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use crate::model::*;

/// At most this many links are kept per entry (the newest).
const MAX_LINKS_PER_ENTRY: usize = 2_000;
/// At most this many questions are taken from one linked ticket.
pub const MAX_QUESTIONS_PER_LINK: usize = 3;
/// How the bot's transcript line of an auto-answer begins (the engine
/// writes "answered with FAQ entry `ID`").
const BOT_ANSWERED: &str = "answered with FAQ entry";

/// One `/link` mark: the agent said `entry_id` should have answered `ticket`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqLink {
    pub ticket: TicketId,
    pub entry_id: String,
    pub agent: AgentId,
    pub at: DateTime<Utc>,
}

/// A question a user asked on a linked ticket before any agent answered:
/// the FAQ entry named by the link should have answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedQuestion {
    pub entry_id: String,
    pub ticket: TicketId,
    /// The ticket's language (the user's), as the store knows it.
    pub language: String,
    /// Masked like everything the store keeps.
    pub text: String,
}

fn link_key(entry_id: &str) -> String {
    format!("faq-link:{entry_id}")
}

/// Serialises read-modify-write of link lists within this process.
static LINK_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Store {
    /// Records that `entry_id` should have answered `ticket` (an agent's
    /// `/link`): a system line on the transcript and a mark in the entry's
    /// link list. Linking the same ticket to the same entry again only adds
    /// the transcript line. Fails with [`super::StoreError::TicketNotFound`].
    pub async fn record_link(
        &self,
        ticket: TicketId,
        entry_id: &str,
        agent: AgentId,
    ) -> Result<()> {
        let line = format!("linked to FAQ entry `{entry_id}` by agent {agent}");
        self.append(ticket, NewEntry::text(Author::System, line))
            .await?;
        let _guard = LINK_LOCK.lock().await;
        let mut links = self.links_of(entry_id).await?;
        if !links.iter().any(|l| l.ticket == ticket) {
            links.push(FaqLink {
                ticket,
                entry_id: entry_id.to_owned(),
                agent,
                at: super::now(),
            });
            if links.len() > MAX_LINKS_PER_ENTRY {
                links.drain(..links.len() - MAX_LINKS_PER_ENTRY);
            }
            self.save_list(&link_key(entry_id), "FAQ links", &links)
                .await?;
        }
        Ok(())
    }

    /// The links to one entry, oldest first.
    pub async fn links_of(&self, entry_id: &str) -> Result<Vec<FaqLink>> {
        self.load_list(&link_key(entry_id), "FAQ links").await
    }

    /// The users' questions on tickets linked to any of `entry_ids` since
    /// `since`, oldest ticket first: on each ticket, the user's lines after
    /// the bot's last answer and before the first agent line (what the
    /// user was still asking when they were handed over), at most the last
    /// `MAX_QUESTIONS_PER_LINK`.
    pub async fn linked_questions(
        &self,
        entry_ids: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<LinkedQuestion>> {
        let mut questions = Vec::new();
        for entry_id in entry_ids {
            for link in self.links_of(entry_id).await? {
                if link.at < since {
                    continue;
                }
                let Some(ticket) = self.ticket(link.ticket).await? else {
                    continue;
                };
                let mut asked: Vec<String> = Vec::new();
                for line in self.transcript(link.ticket).await? {
                    match line.author {
                        Author::Agent(_) => break,
                        // An earlier question the bot did answer: not what
                        // the ticket is about.
                        Author::Bot if line.text.starts_with(BOT_ANSWERED) => asked.clear(),
                        Author::User if !line.text.trim().is_empty() => asked.push(line.text),
                        _ => {}
                    }
                }
                let skip = asked.len().saturating_sub(MAX_QUESTIONS_PER_LINK);
                questions.extend(asked.into_iter().skip(skip).map(|text| LinkedQuestion {
                    entry_id: entry_id.clone(),
                    ticket: link.ticket,
                    language: ticket.user.language.clone(),
                    text,
                }));
            }
        }
        Ok(questions)
    }

    /// The questions since `since` that matched no FAQ entry, at most
    /// `limit` distinct ones (compared ignoring ASCII case and surrounding
    /// spaces), most frequent first, with how often each was asked.
    pub async fn unanswered_questions(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<UnansweredQuestion>> {
        let until = super::now() + chrono::Duration::seconds(1);
        Ok(self.stats(since, until, limit).await?.top_unanswered)
    }

    /// Answers when the database does (for health checks).
    pub async fn ping(&self) -> Result<()> {
        self.load_state("health-check").await.map(|_| ())
    }
}
