//! The per-user flood limit, kept in the shell because it is about
//! Telegram traffic, not conversations (in memory: a window is short, and a
//! restart forgives). Bans are the desk's (`desk::bans`): agents decide
//! them; the shell only checks them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use handoff::UserId;

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
