//! Live FAQ reloads: on an admin's `/reload`, or when a file under the FAQ
//! path is added, changed or removed.
//!
//! The new FAQ is loaded, validated and indexed off to the side (on a
//! blocking thread, since building the index takes a while for a large
//! FAQ); only a FAQ that passed is swapped in, in one step, so events in
//! flight finish on the version they started with. A broken edit keeps the
//! previous FAQ serving, and the outcome (with every error at
//! file:line:column) goes to the log and to whoever subscribed (the
//! Telegram shell tells the admins).
//!
//! One save in an editor is several file events (write, rename, chmod, a
//! swap file...), so the watcher waits until the folder has been quiet for
//! the debounce time before it reloads. Reloads never overlap: a file
//! change during a `/reload` waits for it and then loads again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use matcher::MatcherConfig;
use notify::{EventKind, RecursiveMode, Watcher};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::desk::Desk;
use crate::startup;

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An admin's `/reload`.
    Command,
    /// A file under the FAQ path changed.
    FileChange,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReloadOutcome {
    pub trigger: Trigger,
    pub at: DateTime<Utc>,
    /// Loading, validating and indexing (the swap itself is instant).
    pub took: Duration,
    pub result: Result<Reloaded, ReloadFailed>,
}

impl ReloadOutcome {
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// A FAQ that now serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reloaded {
    pub entries: usize,
    pub categories: usize,
    /// Warnings (near-duplicate questions...), `file:line:column: ...`.
    pub warnings: Vec<String>,
}

/// Why the new FAQ was refused; the previous one still serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReloadFailed {
    /// Every problem, one a line, with file:line:column.
    pub error: String,
    /// Entries of the FAQ that goes on serving.
    pub serving_entries: usize,
}

/// Reloads the FAQ of one desk. Cheap to clone.
#[derive(Clone)]
pub struct Reloader {
    inner: Arc<Inner>,
}

struct Inner {
    desk: Arc<Desk>,
    path: PathBuf,
    config: MatcherConfig,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
    outcomes: broadcast::Sender<ReloadOutcome>,
    succeeded: AtomicU64,
    failed: AtomicU64,
    last: Mutex<Option<ReloadOutcome>>,
}

/// How reloads went since the process started (for metrics and /healthz).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReloadStatus {
    pub succeeded: u64,
    pub failed: u64,
    pub last: Option<ReloadOutcome>,
}

impl Reloader {
    /// A reloader for the FAQ at `path` (file or folder), indexed with `config`.
    pub fn new(desk: Arc<Desk>, path: impl Into<PathBuf>, config: MatcherConfig) -> Reloader {
        let (outcomes, _) = broadcast::channel(16);
        Reloader {
            inner: Arc::new(Inner {
                desk,
                path: path.into(),
                config,
                running: tokio::sync::Mutex::new(()),
                outcomes,
                succeeded: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                last: Mutex::new(None),
            }),
        }
    }

    pub fn desk(&self) -> &Arc<Desk> {
        &self.inner.desk
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Every outcome from now on (file changes and commands alike).
    pub fn subscribe(&self) -> broadcast::Receiver<ReloadOutcome> {
        self.inner.outcomes.subscribe()
    }

    pub fn status(&self) -> ReloadStatus {
        ReloadStatus {
            succeeded: self.inner.succeeded.load(Ordering::Relaxed),
            failed: self.inner.failed.load(Ordering::Relaxed),
            last: self.inner.last.lock().expect("reload status lock").clone(),
        }
    }

    /// Loads and validates the FAQ, and indexes it with what the store
    /// learned from traffic (a store that cannot tell only logs it: the
    /// FAQ alone still serves).
    async fn build(
        &self,
        path: PathBuf,
        config: matcher::MatcherConfig,
    ) -> anyhow::Result<(crate::engine::Knowledge, Vec<matcher::Diagnostic>)> {
        let panicked = |panic: tokio::task::JoinError| {
            anyhow::anyhow!("building the FAQ index panicked: {panic}")
        };
        let (faq, warnings) = tokio::task::spawn_blocking(move || startup::load_faq(&path))
            .await
            .map_err(panicked)??;
        let learned = match startup::learned_phrasings(self.inner.desk.store(), &faq).await {
            Ok(learned) => learned,
            Err(error) => {
                tracing::warn!(
                    "the learned phrasings could not be read, indexing the FAQ alone: {error:#}"
                );
                Vec::new()
            }
        };
        let knowledge = tokio::task::spawn_blocking(move || startup::index(faq, config, &learned))
            .await
            .map_err(panicked)??;
        Ok((knowledge, warnings))
    }

    /// Loads, validates and indexes the FAQ, and swaps it in if it passed.
    pub async fn reload(&self, trigger: Trigger) -> ReloadOutcome {
        let inner = &self.inner;
        let _one_at_a_time = inner.running.lock().await;
        let started = Instant::now();
        let path = inner.path.clone();
        let config = inner.config;
        let built = self.build(path, config).await;
        let result = match built {
            Ok((knowledge, warnings)) => {
                let reloaded = Reloaded {
                    entries: knowledge.faq.entries.len(),
                    categories: knowledge.faq.categories.len(),
                    warnings: warnings.iter().map(ToString::to_string).collect(),
                };
                inner.desk.replace_knowledge(knowledge);
                Ok(reloaded)
            }
            Err(error) => Err(ReloadFailed {
                error: format!("{error:#}"),
                serving_entries: inner.desk.knowledge().faq.entries.len(),
            }),
        };
        let outcome = ReloadOutcome {
            trigger,
            at: Utc::now(),
            took: started.elapsed(),
            result,
        };
        match &outcome.result {
            Ok(reloaded) => {
                inner.succeeded.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    entries = reloaded.entries,
                    warnings = reloaded.warnings.len(),
                    took_ms = outcome.took.as_millis() as u64,
                    ?trigger,
                    "FAQ reloaded"
                );
            }
            Err(failed) => {
                inner.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    ?trigger,
                    "FAQ reload refused; the previous FAQ ({} entries) keeps serving: {}",
                    failed.serving_entries,
                    failed.error
                );
            }
        }
        *inner.last.lock().expect("reload status lock") = Some(outcome.clone());
        // Nobody listening is fine.
        let _ = inner.outcomes.send(outcome.clone());
        outcome
    }

    /// Watches the FAQ path and reloads `debounce` after the last change.
    /// Watching stops when the returned [`Watch`] is dropped.
    pub fn watch(&self, debounce: Duration) -> Result<Watch> {
        let path = self.inner.path.clone();
        let metadata =
            std::fs::metadata(&path).with_context(|| format!("watching {}", path.display()))?;
        // Editors replace a file by renaming a new one over it, which ends a
        // watch on the file itself: watch the folder that holds it.
        let (watched, only) = if metadata.is_dir() {
            (path.clone(), None)
        } else {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            (parent, Some(path.clone()))
        };
        let (events, mut received) = mpsc::unbounded_channel::<notify::Event>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(event) => {
                    let _ = events.send(event);
                }
                Err(error) => tracing::warn!("watching the FAQ files: {error}"),
            })
            .context("starting the file watcher")?;
        watcher
            .watch(&watched, RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", watched.display()))?;
        let reloader = self.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = received.recv().await {
                if !concerns_faq(&event, &watched, only.as_deref()) {
                    continue;
                }
                // Quiet for `debounce`: the save is over.
                loop {
                    match tokio::time::timeout(debounce, received.recv()).await {
                        Ok(Some(_)) => continue,
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                reloader.reload(Trigger::FileChange).await;
            }
        });
        tracing::info!(path = %self.inner.path.display(), "watching the FAQ for changes");
        Ok(Watch {
            _watcher: watcher,
            task,
        })
    }
}

/// A running watch; dropping it stops watching.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a file event can change the FAQ: a `*.yaml` / `*.yml` file in
/// the folder (hidden files, editor swap and backup files are not read by
/// the loader and are ignored), the FAQ file itself, or the folder.
fn concerns_faq(event: &notify::Event, folder: &Path, only: Option<&Path>) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|path| {
        if let Some(file) = only {
            return path == file || path.file_name() == file.file_name();
        }
        if path == folder {
            return true;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        !name.starts_with('.')
            && (extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_faq_files_start_a_reload() {
        let folder = Path::new("/faq");
        let modify = EventKind::Modify(ModifyKind::Any);
        assert!(concerns_faq(&event(modify, "/faq/a.yaml"), folder, None));
        assert!(concerns_faq(
            &event(EventKind::Create(CreateKind::File), "/faq/b.YML"),
            folder,
            None
        ));
        assert!(!concerns_faq(
            &event(modify, "/faq/.a.yaml.swp"),
            folder,
            None
        ));
        assert!(!concerns_faq(&event(modify, "/faq/a.yaml~"), folder, None));
        assert!(!concerns_faq(&event(modify, "/faq/4913"), folder, None));
        let file = Path::new("/etc/faq.yaml");
        assert!(concerns_faq(
            &event(modify, "/etc/faq.yaml"),
            Path::new("/etc"),
            Some(file)
        ));
        assert!(!concerns_faq(
            &event(modify, "/etc/other.yaml"),
            Path::new("/etc"),
            Some(file)
        ));
    }
}
