//! Wiring: settings → FAQ + index → store → desk. Every shell starts here.

use std::path::Path;

use anyhow::{Context, Result};
use handoff::Store;
use matcher::{Diagnostic, Faq, Matcher, MatcherConfig};

use crate::desk::{AgentProfile, Desk, Schedule, Staff};
use crate::engine::{Knowledge, Policy};
use crate::settings::Settings;

/// Loads and validates the FAQ at `path` and builds its index.
/// Returns the warnings too; errors carry every diagnostic.
pub fn load_knowledge(path: &Path, config: MatcherConfig) -> Result<(Knowledge, Vec<Diagnostic>)> {
    let (faq, warnings) = load_faq(path)?;
    Ok((index(faq, config, &[])?, warnings))
}

/// Loads and validates the FAQ at `path`, with its warnings; errors carry
/// every diagnostic.
pub fn load_faq(path: &Path) -> Result<(Faq, Vec<Diagnostic>)> {
    let loaded = matcher::faq::load(path).map_err(|error| match error {
        matcher::LoadError::Invalid { diagnostics } => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "the FAQ at {} is invalid:\n{}",
                path.display(),
                lines.join("\n")
            )
        }
        other => anyhow::Error::new(other),
    })?;
    Ok((loaded.faq, loaded.warnings))
}

/// Builds the index of `faq`, counting each learned phrasing (entry id,
/// text) as a question of its entry. The FAQ answers stay the files'.
pub fn index(faq: Faq, config: MatcherConfig, learned: &[(String, String)]) -> Result<Knowledge> {
    let matcher = if learned.is_empty() {
        Matcher::build(&faq, config)
    } else {
        Matcher::build(&matcher::variants::with_learned(&faq, learned), config)
    };
    Ok(Knowledge {
        faq,
        matcher,
        learned: learned.to_vec(),
    })
}

/// What the store learned from traffic for the entries of `faq`: users'
/// "Solved" presses and picks among the choices, and the questions of
/// tickets agents linked to an entry (`/link`).
pub async fn learned_phrasings(store: &Store, faq: &Faq) -> Result<Vec<(String, String)>> {
    let mut learned: Vec<(String, String)> = store
        .learned()
        .await?
        .into_iter()
        .map(|l| (l.entry_id, l.text))
        .collect();
    let entry_ids: Vec<String> = faq.entries.iter().map(|e| e.id.clone()).collect();
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    learned.extend(
        store
            .linked_questions(&entry_ids, epoch)
            .await?
            .into_iter()
            .map(|q| (q.entry_id, q.text)),
    );
    Ok(learned)
}

/// Opens the store named by `url`, creating a SQLite file and applying
/// migrations on first use.
pub async fn open_store(url: &str) -> Result<Store> {
    Store::connect(url)
        .await
        .with_context(|| format!("opening the database {}", redact_url(url)))
}

/// Opens the existing store named by `url` for a command that reads it;
/// never creates a database (a mistyped path is an error, not a new file).
pub async fn open_existing_store(url: &str) -> Result<Store> {
    Store::connect_existing(url)
        .await
        .with_context(|| format!("opening the database {}", redact_url(url)))
}

/// A database URL fit for messages: any password replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Everything a shell needs, built from settings. `extra_agents` lets the
/// console act as an agent without configuration.
pub async fn build_desk(settings: &Settings, extra_agents: &[AgentProfile]) -> Result<Desk> {
    let (faq, warnings) = load_faq(&settings.faq_path)?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let store = open_store(&settings.database_url)
        .await?
        .with_routing(settings.staff.routing());
    let learned = learned_phrasings(&store, &faq).await?;
    let knowledge = index(faq, settings.matcher, &learned)?;
    let mut agents = settings.staff.agents.clone();
    agents.extend(extra_agents.iter().cloned());
    let staff = Staff {
        agents,
        admins: settings.staff.admins.clone(),
        language: settings.staff.language.clone(),
    };
    let policy = Policy {
        vip_users: settings.staff.vip_users.iter().copied().collect(),
    };
    let schedule = Schedule {
        business_hours: settings.staff.business_hours.clone(),
        realert_after: std::time::Duration::from_secs(settings.staff.realert_after_secs),
    };
    Ok(Desk::new(store, knowledge, policy, staff).with_schedule(schedule))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://bot:s3cret@db:5432/helpdesk"),
            "postgres://bot:***@db:5432/helpdesk"
        );
        assert_eq!(redact_url("sqlite:helpdesk.db"), "sqlite:helpdesk.db");
    }
}
