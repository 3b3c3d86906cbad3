//! Work the Telegram shell keeps in the store until it is done, so that a
//! crash loses none of it: staff-group posts not yet delivered (see
//! [`outbox`](super::outbox)) and updates received but not yet handled (see
//! [`inbox`](super::inbox)).
//!
//! Each process has an owner name and writes a heartbeat to the store. The
//! work of a process whose heartbeat is older than the takeover time (it
//! crashed, or stopped with work left) is taken over by a running one, the
//! next one started included; a clean stop marks the process gone at once.
//! Work done just before a crash may be done again: twice, never lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use handoff::{PendingKind, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::AbortHandle;

/// The store, who this process is, and its heartbeat.
pub struct Keeper {
    store: Store,
    owner: String,
    heartbeat: Mutex<Option<AbortHandle>>,
}

impl Keeper {
    /// A keeper with a fresh owner name (host, process id, start time),
    /// writing this process's heartbeat every round of `takeover`.
    pub fn start(store: Store, takeover: Duration) -> Arc<Keeper> {
        let keeper = Arc::new(Keeper {
            store,
            owner: format!(
                "{}-{}-{:x}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
                std::process::id(),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            ),
            heartbeat: Mutex::new(None),
        });
        let beating = keeper.clone();
        let task = tokio::spawn(async move {
            loop {
                beating.beat(chrono::Utc::now().timestamp()).await;
                tokio::time::sleep(Self::round(takeover)).await;
            }
        });
        *keeper.heartbeat.lock().expect("heartbeat poisoned") = Some(task.abort_handle());
        keeper
    }

    /// How often heartbeats are written and silent processes looked for.
    pub fn round(takeover: Duration) -> Duration {
        (takeover / 3).max(Duration::from_millis(100))
    }

    /// Keeps `body` as work of `kind` held by this process; its id.
    pub async fn keep(&self, kind: PendingKind, body: &impl Serialize) -> anyhow::Result<i64> {
        let body = serde_json::to_value(body).context("encoding work to keep")?;
        Ok(self.store.add_pending(kind, &self.owner, &body).await?)
    }

    /// Forgets work that is done; a failure is logged (the work may then be
    /// done again after a restart).
    pub async fn done(&self, ids: &[i64]) {
        if let Err(error) = self.store.remove_pending(ids).await {
            tracing::warn!("finished work not cleared (it may be done again): {error}");
        }
    }

    /// The work of `kind` held by processes silent for longer than
    /// `takeover`, now held by this one, oldest first, each with its id.
    /// Work that no longer reads as a `T` is logged, forgotten and left out.
    pub async fn take_over<T: DeserializeOwned>(
        &self,
        kind: PendingKind,
        takeover: Duration,
    ) -> anyhow::Result<Vec<(i64, T)>> {
        let now = chrono::Utc::now().timestamp();
        let mut taken = Vec::new();
        for owner in self.store.pending_owners(kind).await? {
            if owner == self.owner {
                continue;
            }
            let seen = self
                .store
                .load_state(&heartbeat_key(&owner))
                .await?
                .and_then(|v| v.get("seen").and_then(serde_json::Value::as_i64))
                .unwrap_or(0);
            if now - seen < takeover.as_secs() as i64 {
                continue;
            }
            let work = self
                .store
                .take_over_pending(kind, &owner, &self.owner)
                .await?;
            if !work.is_empty() {
                tracing::info!(
                    count = work.len(),
                    kind = ?kind,
                    from = %owner,
                    "work of a silent process taken over"
                );
            }
            for pending in work {
                match serde_json::from_value::<T>(pending.body) {
                    Ok(body) => taken.push((pending.id, body)),
                    Err(error) => {
                        tracing::error!(id = pending.id, kind = ?kind, "unreadable work dropped: {error}");
                        self.done(&[pending.id]).await;
                    }
                }
            }
        }
        Ok(taken)
    }

    /// After the last work is done: stops the heartbeat and marks this
    /// process as gone, so the next process takes over what is left at once.
    pub async fn retire(&self) {
        // Stopped first, so that it cannot write a fresh beat over this last one.
        self.stop_heartbeat();
        self.beat(0).await;
    }

    /// Stops the heartbeat, as a crash would (for tests of recovery).
    pub fn stop_heartbeat(&self) {
        if let Some(task) = self.heartbeat.lock().expect("heartbeat poisoned").take() {
            task.abort();
        }
    }

    async fn beat(&self, seen: i64) {
        let value = serde_json::json!({ "seen": seen });
        if let Err(error) = self
            .store
            .save_state(&heartbeat_key(&self.owner), &value)
            .await
        {
            tracing::warn!("heartbeat failed: {error}");
        }
    }
}

/// Where an owner's heartbeat is kept (the key predates the inbox).
fn heartbeat_key(owner: &str) -> String {
    format!("outbox-owner:{owner}")
}
