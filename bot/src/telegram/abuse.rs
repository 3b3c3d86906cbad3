//! Abuse limits, kept in the shell because they are about Telegram traffic,
//! not conversations: a per-user flood limit (in memory: a window is short,
//! and a restart forgives) and bans with their reason (in the store's state
//! table, key `ban:<user>`, so they survive restarts and are shared by
//! replicas).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use handoff::{AgentId, Store, UserId};
use serde::{Deserialize, Serialize};

/// What the flood limit says about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// Within the limit: handle it.
    Accept,
    /// The first message over the limit in this window: say that the bot
    /// pauses, for this long, and do not handle it.
    Pause { remaining: Duration },
    /// Over the limit, already told: ignore.
    Ignore,
}

struct Window {
    started: Instant,
    count: u32,
    told: bool,
}

/// At most `limit` messages per user in a fixed window that starts with
/// the user's first message.
pub struct FloodGuard {
    limit: u32,
    window: Duration,
    users: Mutex<HashMap<UserId, Window>>,
}

impl FloodGuard {
    pub fn new(limit: u32, window: Duration) -> FloodGuard {
        FloodGuard {
            limit: limit.max(1),
            window,
            users: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, user: UserId) -> Flood {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: UserId, now: Instant) -> Flood {
        let mut users = self.users.lock().expect("flood guard poisoned");
        if users.len() > 100_000 {
            let window = self.window;
            users.retain(|_, w| now.duration_since(w.started) < window);
        }
        let entry = users.entry(user).or_insert(Window {
            started: now,
            count: 0,
            told: false,
        });
        if now.duration_since(entry.started) >= self.window {
            *entry = Window {
                started: now,
                count: 0,
                told: false,
            };
        }
        entry.count += 1;
        if entry.count <= self.limit {
            Flood::Accept
        } else if !entry.told {
            entry.told = true;
            Flood::Pause {
                remaining: self
                    .window
                    .saturating_sub(now.duration_since(entry.started)),
            }
        } else {
            Flood::Ignore
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flood_limit_pauses_once_and_forgives_when_the_window_passes() {
        let guard = FloodGuard::new(3, Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(guard.check_at(1, start), Flood::Accept);
        }
        assert!(matches!(guard.check_at(1, start), Flood::Pause { .. }));
        assert_eq!(guard.check_at(1, start), Flood::Ignore);
        assert_eq!(
            guard.check_at(2, start),
            Flood::Accept,
            "other users are unaffected"
        );
        assert_eq!(
            guard.check_at(1, start + Duration::from_secs(10)),
            Flood::Accept
        );
    }
}
