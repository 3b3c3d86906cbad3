//! What admins need from a running bot: live FAQ reloads, suggestions
//! drawn from what the bot missed, the numbers (`/stats`, Prometheus
//! `/metrics`, `/healthz`), and the admin commands that reach them from
//! Telegram or the console.
//!
//! - [`reload`]: watch the FAQ path, validate and index off to the side,
//!   swap only a FAQ that passed.
//! - [`suggest`]: new questions for entries (from `/link`), clusters of
//!   unanswered questions.
//! - [`stats`]: today and 7 days.
//! - [`metrics`]: the HTTP endpoint.
//! - [`report`]: the HTML page of `helpdesk eval --report`.
//!
//! Admin replies are for staff, so their words live here (English and
//! Chinese) rather than in `render`, which speaks to users.

pub mod metrics;
pub mod reload;
pub mod report;
pub mod stats;
pub mod suggest;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use handoff::AgentId;

pub use engine::AdminCommand;

use crate::desk::Desk;
use crate::settings::Settings;

use self::reload::{ReloadOutcome, Reloader, Watch};

/// How far back `/suggest` looks.
pub const SUGGEST_DAYS: i64 = 30;
/// How many entries and clusters `/suggest` shows in a chat.
pub const SUGGEST_LIMIT: usize = 10;

/// What an admin command produced.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminReply {
    /// The sender is not a configured admin.
    Refused,
    Stats(Box<stats::StatsReport>),
    Reload(ReloadOutcome),
    Suggestions(suggest::Suggestions),
    /// `/unlearn`: whether the phrasing was learned (and is now forgotten,
    /// the index rebuilt without it); `None` when the command lacked its
    /// entry id or text.
    Unlearned(Option<bool>),
}

impl AdminReply {
    /// The reply as staff read it, in `language` (`zh` or English).
    pub fn render(&self, language: &str) -> String {
        let zh = language.starts_with("zh");
        match self {
            AdminReply::Refused => if zh {
                "只有管理员可以使用这个命令。"
            } else {
                "Only admins may use this command."
            }
            .to_owned(),
            AdminReply::Stats(report) => stats::render(report, language),
            AdminReply::Reload(outcome) => render_reload(outcome, language),
            AdminReply::Suggestions(suggestions) => {
                suggest::render(suggestions, SUGGEST_LIMIT, language)
            }
            AdminReply::Unlearned(None) => if zh {
                "用法：/unlearn 条目ID 问题原文（照 /suggest 列出的写）"
            } else {
                "Usage: /unlearn ENTRY_ID TEXT (as /suggest lists it)"
            }
            .to_owned(),
            AdminReply::Unlearned(Some(true)) => if zh {
                "已忘记这个说法，索引已重建。"
            } else {
                "Forgotten; the index is rebuilt without it."
            }
            .to_owned(),
            AdminReply::Unlearned(Some(false)) => if zh {
                "没有学到过这个说法（条目ID 和原文需与 /suggest 列出的一致）。"
            } else {
                "No such learned phrasing (the entry id and text must be as /suggest lists them)."
            }
            .to_owned(),
        }
    }
}

/// A reload's outcome as admins read it (the error keeps its
/// file:line:column lines).
pub fn render_reload(outcome: &ReloadOutcome, language: &str) -> String {
    let zh = language.starts_with("zh");
    let took = outcome.took.as_secs_f64();
    match &outcome.result {
        Ok(reloaded) => {
            let mut text = if zh {
                format!(
                    "FAQ 已重新加载：{} 个条目，{} 个分类（{took:.2} 秒）。",
                    reloaded.entries, reloaded.categories
                )
            } else {
                format!(
                    "FAQ reloaded: {} entries, {} categories ({took:.2} s).",
                    reloaded.entries, reloaded.categories
                )
            };
            if !reloaded.warnings.is_empty() {
                text.push_str(&if zh {
                    format!("\n{} 个警告：", reloaded.warnings.len())
                } else {
                    format!("\n{} warning(s):", reloaded.warnings.len())
                });
                for warning in reloaded.warnings.iter().take(10) {
                    text.push_str(&format!("\n{warning}"));
                }
            }
            text
        }
        Err(failed) => {
            if zh {
                format!(
                    "FAQ 未重新加载：文件有错误，原来的 FAQ（{} 个条目）继续使用。\n{}",
                    failed.serving_entries, failed.error
                )
            } else {
                format!(
                    "FAQ not reloaded: the files have errors; the previous FAQ ({} entries) keeps serving.\n{}",
                    failed.serving_entries, failed.error
                )
            }
        }
    }
}

/// The admin side of a running bot: the desk and its FAQ reloader.
#[derive(Clone)]
pub struct Admin {
    desk: Arc<Desk>,
    reloader: Reloader,
}

impl Admin {
    pub fn new(desk: Arc<Desk>, settings: &Settings) -> Admin {
        let reloader = Reloader::new(desk.clone(), settings.faq_path.clone(), settings.matcher);
        Admin { desk, reloader }
    }

    pub fn desk(&self) -> &Arc<Desk> {
        &self.desk
    }

    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

    /// Runs an admin command for `who`; anyone who is not a configured
    /// admin is refused before anything is read.
    pub async fn handle(&self, who: AgentId, command: AdminCommand) -> Result<AdminReply> {
        if !self.desk.staff().is_admin(who) {
            tracing::warn!(
                chat_id = who,
                command = command.name(),
                "admin command from a non-admin refused"
            );
            return Ok(AdminReply::Refused);
        }
        tracing::info!(chat_id = who, command = command.name(), "admin command");
        Ok(match command {
            AdminCommand::Stats => {
                AdminReply::Stats(Box::new(stats::read(self.desk.store()).await?))
            }
            AdminCommand::Reload => {
                AdminReply::Reload(self.reloader.reload(reload::Trigger::Command).await)
            }
            AdminCommand::Suggest => {
                let since = Utc::now() - chrono::Duration::days(SUGGEST_DAYS);
                let knowledge = self.desk.knowledge();
                AdminReply::Suggestions(
                    suggest::suggest(self.desk.store(), &knowledge, since).await?,
                )
            }
            AdminCommand::Unlearn { entry_id, text } => {
                if entry_id.is_empty() || text.is_empty() {
                    return Ok(AdminReply::Unlearned(None));
                }
                let found = self.desk.store().drop_learned(&entry_id, &text).await?;
                if found {
                    self.reloader.reload(reload::Trigger::Command).await;
                }
                AdminReply::Unlearned(Some(found))
            }
        })
    }

    /// Starts what the settings ask for: the FAQ watcher (`admin.reload`)
    /// and the metrics server (`admin.metrics_listen`). They run until the
    /// returned [`Running`] is dropped.
    pub async fn start(&self, settings: &Settings) -> Result<Running> {
        let watch = if settings.admin.reload {
            Some(
                self.reloader
                    .watch(Duration::from_millis(settings.admin.debounce_ms))?,
            )
        } else {
            None
        };
        let metrics = match settings.admin.metrics_listen {
            Some(listen) => {
                let metrics = metrics::Metrics::new(self.desk.clone(), Some(self.reloader.clone()));
                Some(metrics::serve(listen, Arc::new(metrics)).await?)
            }
            None => None,
        };
        Ok(Running { watch, metrics })
    }
}

/// The admin services of a running bot; dropping this stops them.
pub struct Running {
    pub watch: Option<Watch>,
    pub metrics: Option<metrics::MetricsServer>,
}
