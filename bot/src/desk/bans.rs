//! Bans: a user's ban state and its history (never erased), kept in the
//! store's key-value state under `ban:USER_ID`. Agents ban and unban
//! through the staff engine (`/ban`, `/unban`); the Telegram shell checks
//! a user's record before handling their messages.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use handoff::{AgentId, Store, UserId};
use serde::{Deserialize, Serialize};

/// One ban or unban, as kept on record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanEvent {
    pub banned: bool,
    pub reason: String,
    pub by: AgentId,
    pub at: DateTime<Utc>,
}

/// A user's ban state and its history (never erased).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BanRecord {
    pub banned: bool,
    /// The user was told about the current ban.
    pub told: bool,
    pub history: Vec<BanEvent>,
}

impl BanRecord {
    /// The reason of the current ban.
    pub fn reason(&self) -> Option<&str> {
        self.history
            .iter()
            .rev()
            .find(|e| e.banned)
            .filter(|_| self.banned)
            .map(|e| e.reason.as_str())
    }
}

fn ban_key(user: UserId) -> String {
    format!("ban:{user}")
}

pub async fn ban_record(store: &Store, user: UserId) -> Result<BanRecord> {
    Ok(match store.load_state(&ban_key(user)).await? {
        Some(value) => serde_json::from_value(value).unwrap_or_default(),
        None => BanRecord::default(),
    })
}

pub async fn save_ban_record(store: &Store, user: UserId, record: &BanRecord) -> Result<()> {
    let value = serde_json::to_value(record).context("serialising a ban record")?;
    store.save_state(&ban_key(user), &value).await?;
    Ok(())
}

/// Records a ban (or an unban) by `by`, keeping the history.
pub async fn set_ban(
    store: &Store,
    user: UserId,
    banned: bool,
    reason: &str,
    by: AgentId,
) -> Result<BanRecord> {
    let mut record = ban_record(store, user).await?;
    record.banned = banned;
    record.told = false;
    record.history.push(BanEvent {
        banned,
        reason: reason.to_owned(),
        by,
        at: Utc::now(),
    });
    save_ban_record(store, user, &record).await?;
    tracing::info!(chat_id = user, agent = by, banned, "ban state changed");
    Ok(record)
}
