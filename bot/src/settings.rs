//! Settings: built-in defaults, then a TOML file (`helpdesk.toml` in the
//! working directory, or `--config FILE`), then environment variables
//! (`HELPDESK_…`, nested keys joined by `__`, and `DATABASE_URL`).
//! `helpdesk.example.toml` at the repository root documents every key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use std::collections::HashMap;

use handoff::{AgentId, BusinessHours, Routing, UserId};
use matcher::MatcherConfig;
use serde::{Deserialize, Serialize};

use crate::desk::AgentProfile;

/// The default settings file, read when present.
pub const DEFAULT_FILE: &str = "helpdesk.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// A FAQ YAML file or a folder of them.
    pub faq_path: PathBuf,
    /// `sqlite:PATH` (created on first use) or `postgres://...`.
    pub database_url: String,
    pub matcher: MatcherConfig,
    pub staff: StaffSettings,
    pub telegram: TelegramSettings,
    pub admin: AdminSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffSettings {
    /// Telegram user ids of agents, with the alias users see.
    pub agents: Vec<AgentProfile>,
    /// Telegram user ids of admins (they may also act as agents).
    pub admins: Vec<AgentId>,
    /// Telegram user ids whose tickets are VIP priority.
    pub vip_users: Vec<i64>,
    /// The language of messages to staff (`en` or `zh`).
    pub language: String,
    /// Agent teams by name: `teams.deposits = [111, 222]`.
    pub teams: HashMap<String, Vec<AgentId>>,
    /// FAQ category → the team that handles its tickets. Tickets of other
    /// categories go to every agent. Without entries, teams are ignored.
    pub category_teams: HashMap<String, String>,
    /// VIP users' account managers, who get the user's ticket first.
    pub account_managers: Vec<AccountManager>,
    /// How long an account manager has a VIP ticket to themselves before it
    /// falls back to the team queue.
    pub manager_wait_secs: u64,
    /// When agents are at their desks; outside them tickets still open and
    /// the user is told when someone will be back. Absent: always open.
    pub business_hours: Option<BusinessHours>,
    /// Unclaimed tickets are announced to staff again after this long.
    pub realert_after_secs: u64,
}

/// A VIP user and the agent who manages their account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountManager {
    pub user: UserId,
    pub agent: AgentId,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            faq_path: PathBuf::from("faq-data"),
            database_url: "sqlite:helpdesk.db".to_owned(),
            matcher: MatcherConfig::default(),
            staff: StaffSettings::default(),
            telegram: TelegramSettings::default(),
            admin: AdminSettings::default(),
        }
    }
}

impl StaffSettings {
    /// The store's routing rules from these settings.
    pub fn routing(&self) -> Routing {
        Routing {
            vip_users: self.vip_users.clone(),
            teams: self.teams.clone(),
            category_teams: self.category_teams.clone(),
            account_managers: self
                .account_managers
                .iter()
                .map(|m| (m.user, m.agent))
                .collect(),
            manager_wait_secs: self.manager_wait_secs,
        }
    }
}

impl Default for StaffSettings {
    fn default() -> Self {
        StaffSettings {
            agents: Vec::new(),
            admins: Vec::new(),
            vip_users: Vec::new(),
            language: "en".to_owned(),
            teams: HashMap::new(),
            category_teams: HashMap::new(),
            account_managers: Vec::new(),
            manager_wait_secs: 300,
            business_hours: None,
            realert_after_secs: 600,
        }
    }
}

/// What admins get from a running bot: live FAQ reloads and the metrics
/// endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Where `/metrics` (Prometheus) and `/healthz` are served, e.g.
    /// `127.0.0.1:9184`. None (the default): no metrics server.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Watch the FAQ path and reload it when its files change (`/reload`
    /// works either way).
    pub reload: bool,
    /// Reload this long after the last change seen (an editor's save is
    /// several file events).
    pub debounce_ms: u64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            metrics_listen: None,
            reload: true,
            debounce_ms: 500,
        }
    }
}

/// How the bot meets Telegram: where staff work, Telegram's limits, abuse
/// limits. The bot token is not here: it comes only from `TELOXIDE_TOKEN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramSettings {
    /// Chat id of the staff forum supergroup (`-100…`): each ticket gets a
    /// topic there. None: agents work in private chats with the bot.
    pub staff_group: Option<i64>,
    /// Teams with a staff group of their own: a ticket routed to the team
    /// (the store's routing, by category) opens its topic in that group.
    pub teams: Vec<TeamGroup>,
    /// Respect Telegram's limits (1 message/s per chat, 20/min per group,
    /// 30/s overall) and pace staff-group posts. Turn off only for capacity
    /// benchmarks against a fake Bot API: Telegram answers floods with 429s.
    pub throttle: bool,
    /// At most this many posts per staff group per `staff_window_secs`
    /// (Telegram allows 20 a minute); beyond it, quick user messages of one
    /// ticket are combined into one post. Nothing is dropped.
    pub staff_posts_per_window: u32,
    pub staff_window_secs: u64,
    /// Updates not yet handled and staff posts not yet delivered are kept
    /// in the database. Those of a process that has been silent this long
    /// (crashed, or stopped with posts still queued) are taken over by a
    /// running one: the updates handled, the posts delivered.
    pub outbox_takeover_secs: u64,
    /// Per-user flood limit: more than `flood_messages` messages within
    /// `flood_window_secs` and the bot says once that it pauses, then
    /// ignores that user until the window passes.
    pub flood_messages: u32,
    pub flood_window_secs: u64,
    /// Webhook mode's `X-Telegram-Bot-Api-Secret-Token` (1–256 of
    /// `A-Z a-z 0-9 _ -`). Set it in the environment
    /// (`HELPDESK_TELEGRAM__WEBHOOK_SECRET`), not in a file; replicas behind
    /// one webhook must share it. None: a random one per start.
    pub webhook_secret: Option<Secret>,
}

/// A team's own staff group (forum supergroup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamGroup {
    /// The team's name, as in the routing settings.
    pub team: String,
    pub staff_group: i64,
}

/// A secret setting: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            staff_group: None,
            teams: Vec::new(),
            throttle: true,
            staff_posts_per_window: 20,
            staff_window_secs: 60,
            outbox_takeover_secs: 60,
            flood_messages: 20,
            flood_window_secs: 60,
            webhook_secret: None,
        }
    }
}

impl TelegramSettings {
    /// The staff group for a ticket of `team`: the team's own, else the
    /// common one.
    pub fn group_for(&self, team: Option<&str>) -> Option<i64> {
        team.and_then(|name| self.teams.iter().find(|t| t.team == name))
            .map(|t| t.staff_group)
            .or(self.staff_group)
    }

    /// Every staff group (the common one and the teams').
    pub fn staff_groups(&self) -> Vec<i64> {
        let mut groups: Vec<i64> = self.staff_group.into_iter().collect();
        for team in &self.teams {
            if !groups.contains(&team.staff_group) {
                groups.push(team.staff_group);
            }
        }
        groups
    }
}

impl Settings {
    /// Loads settings: defaults ← `file` (or `helpdesk.toml` if it exists) ←
    /// `HELPDESK_*` ← `DATABASE_URL`. A file named explicitly must exist.
    pub fn load(file: Option<&Path>) -> Result<Settings> {
        Self::figment(file)?
            .extract()
            .context("invalid settings (see helpdesk.example.toml)")
    }

    fn figment(file: Option<&Path>) -> Result<Figment> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "settings file {} not found", path.display());
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        Ok(figment
            .merge(Env::prefixed("HELPDESK_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"])))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_the_environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                r#"
                faq_path = "my-faq"
                database_url = "sqlite:from-file.db"
                [matcher]
                answer_threshold = 0.8
                [[staff.agents]]
                id = 7
                alias = "Alice"
                "#,
            )?;
            jail.set_env("DATABASE_URL", "sqlite:from-env.db");
            jail.set_env("HELPDESK_MATCHER__MARGIN", "0.2");
            let settings = Settings::load(Some(Path::new("custom.toml"))).expect("loads");
            assert_eq!(settings.faq_path, PathBuf::from("my-faq"));
            assert_eq!(settings.database_url, "sqlite:from-env.db");
            assert_eq!(settings.matcher.answer_threshold, 0.8);
            assert_eq!(settings.matcher.margin, 0.2);
            assert_eq!(settings.staff.agents[0].alias, "Alice");
            Ok(())
        });
    }

    #[test]
    fn the_documented_example_settings_file_loads() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("example.toml", include_str!("../../helpdesk.example.toml"))?;
            let settings =
                Settings::load(Some(Path::new("example.toml"))).expect("the example loads");
            assert_eq!(settings.staff.agents.len(), 2);
            assert!(settings.staff.business_hours.is_some());
            assert_eq!(
                settings.staff.routing().category_teams["security"],
                "security-team"
            );
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_setting_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "faq_pth = \"x\"\n")?;
            let error = Settings::load(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(format!("{error:#}").contains("faq_pth"), "{error:#}");
            Ok(())
        });
    }
}
