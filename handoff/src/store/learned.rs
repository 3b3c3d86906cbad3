//! Phrasings the bot learned from traffic: a user's question that an FAQ
//! entry answered to the user's satisfaction ("Solved"), or that the user
//! answered by picking the entry among the "did you mean" choices. The
//! matcher counts each as a question of its entry (see `bot::startup`);
//! the FAQ files stay the admin's, and `/suggest` lists the phrasings for
//! promotion into them. An admin drops a bad one with `/unlearn`.
//!
//! Kept, masked like everything the store keeps, in one list under the
//! state key `faq-learned`, built on the store's own calls so that it works
//! the same on SQLite and Postgres. Limits: the newest `MAX_LEARNED`
//! phrasings are kept; the list is read, extended and written back, so two
//! replicas learning in the same instant may lose one of the two (the user
//! lost nothing: it only teaches the matcher less).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use crate::LearnedFrom;

const KEY: &str = "faq-learned";
/// At most this many phrasings are kept (the newest).
pub const MAX_LEARNED: usize = 5_000;
/// A phrasing longer than this (in characters) is not learned: a question
/// is short, and a long text teaches the matcher little.
pub const MAX_LEARNED_CHARS: usize = 300;

/// One learned phrasing of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    pub entry_id: String,
    /// Masked.
    pub text: String,
    pub from: LearnedFrom,
    pub at: DateTime<Utc>,
}

/// Serialises read-modify-write of the list within this process.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Store {
    /// Learns `text` (masked here) as a phrasing of `entry_id`. The same
    /// text of the same entry is kept once; an empty or overlong text is
    /// ignored.
    pub async fn record_learned(
        &self,
        entry_id: &str,
        text: &str,
        from: LearnedFrom,
    ) -> Result<()> {
        let text = crate::redact::mask(text.trim()).text;
        if text.is_empty() || text.chars().count() > MAX_LEARNED_CHARS {
            return Ok(());
        }
        let _guard = LOCK.lock().await;
        let mut all = self.learned().await?;
        if all.iter().any(|l| l.entry_id == entry_id && l.text == text) {
            return Ok(());
        }
        all.push(Learned {
            entry_id: entry_id.to_owned(),
            text,
            from,
            at: super::now(),
        });
        if all.len() > MAX_LEARNED {
            all.drain(..all.len() - MAX_LEARNED);
        }
        self.save_learned(&all).await
    }

    /// Every learned phrasing, oldest first.
    pub async fn learned(&self) -> Result<Vec<Learned>> {
        match self.load_state(KEY).await? {
            None => Ok(Vec::new()),
            Some(value) => {
                serde_json::from_value(value).map_err(|source| super::StoreError::Corrupt {
                    what: "learned phrasings",
                    source,
                })
            }
        }
    }

    /// Forgets the phrasing `text` of `entry_id` (as `learned` lists it);
    /// whether there was one.
    pub async fn drop_learned(&self, entry_id: &str, text: &str) -> Result<bool> {
        let _guard = LOCK.lock().await;
        let mut all = self.learned().await?;
        let before = all.len();
        all.retain(|l| !(l.entry_id == entry_id && l.text == text.trim()));
        if all.len() == before {
            return Ok(false);
        }
        self.save_learned(&all).await?;
        Ok(true)
    }

    async fn save_learned(&self, all: &[Learned]) -> Result<()> {
        self.save_list(KEY, "learned phrasings", all).await
    }
}
