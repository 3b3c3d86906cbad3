//! The numbers that run a help desk, for `/stats` and `helpdesk stats`:
//! today and the last 7 days side by side, from the store's figures.
//!
//! "Today" is the UTC day so far; "7 days" is the last 168 hours.

use anyhow::Result;
use chrono::{Duration, Utc};
use handoff::{Percentiles, Stats, Store};
use serde::Serialize;

/// How many unanswered questions the report lists.
pub const TOP_UNANSWERED: usize = 5;

/// The two periods of `/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub today: Stats,
    pub week: Stats,
}

/// Reads both periods, ending now.
pub async fn read(store: &Store) -> Result<StatsReport> {
    let now = Utc::now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    // `to` is exclusive: one second on, so what happened just now counts.
    let to = now + Duration::seconds(1);
    Ok(StatsReport {
        today: store.stats(midnight, to, TOP_UNANSWERED).await?,
        week: store
            .stats(now - Duration::days(7), to, TOP_UNANSWERED)
            .await?,
    })
}

/// Share of all questions, `None` without questions.
fn share(part: u64, stats: &Stats) -> Option<f64> {
    let total = stats.questions.total();
    (total > 0).then(|| part as f64 / total as f64)
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// A duration in the largest unit that keeps it short: 45s, 12m, 3.5h, 2.1d.
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.0}s")
    } else if secs < 3600.0 {
        format!("{:.0}m", secs / 60.0)
    } else if secs < 86_400.0 {
        format!("{:.1}h", secs / 3600.0)
    } else {
        format!("{:.1}d", secs / 86_400.0)
    }
}

fn p50_p90(p: Option<Percentiles>) -> String {
    p.map_or_else(
        || "–".to_owned(),
        |p| format!("{} / {}", duration(p.p50_secs), duration(p.p90_secs)),
    )
}

fn rating(stats: &Stats) -> String {
    stats
        .average_rating
        .map_or_else(|| "–".to_owned(), |r| format!("{r:.1} ({})", stats.ratings))
}

/// The report as staff read it, in `language` (`zh` or English).
pub fn render(report: &StatsReport, language: &str) -> String {
    let zh = language.starts_with("zh");
    let label = |en: &'static str, cn: &'static str| if zh { cn } else { en };
    let rows: Vec<(&str, String, String)> = vec![
        (
            label("questions", "提问数"),
            report.today.questions.total().to_string(),
            report.week.questions.total().to_string(),
        ),
        (
            label("auto-answered", "自动解答"),
            percent(report.today.auto_answer_rate),
            percent(report.week.auto_answer_rate),
        ),
        (
            label("\"did you mean\"", "“您是不是想问”"),
            percent(share(report.today.questions.suggested, &report.today)),
            percent(share(report.week.questions.suggested, &report.week)),
        ),
        (
            label("escalations", "转人工"),
            report.today.escalated.to_string(),
            report.week.escalated.to_string(),
        ),
        (
            label("waiting p50 / p90", "等待 p50 / p90"),
            p50_p90(report.today.waiting),
            p50_p90(report.week.waiting),
        ),
        (
            label("handling p50 / p90", "处理 p50 / p90"),
            p50_p90(report.today.handling),
            p50_p90(report.week.handling),
        ),
        (
            label("rating (count)", "评分（次数）"),
            rating(&report.today),
            rating(&report.week),
        ),
    ];
    let mut text = String::new();
    text.push_str(label(
        "Help desk numbers: today (UTC) | last 7 days\n",
        "客服数据：今天（UTC）| 最近 7 天\n",
    ));
    for (name, today, week) in rows {
        text.push_str(&format!("{name}: {today} | {week}\n"));
    }
    text.push_str(&if zh {
        format!(
            "现在：{} 个工单排队，{} 个处理中\n",
            report.week.waiting_now, report.week.claimed_now
        )
    } else {
        format!(
            "now: {} waiting, {} with an agent\n",
            report.week.waiting_now, report.week.claimed_now
        )
    });
    if report.week.top_unanswered.is_empty() {
        text.push_str(label(
            "No unanswered questions in the last 7 days.\n",
            "最近 7 天没有未能解答的问题。\n",
        ));
    } else {
        text.push_str(label(
            "Most asked without an answer (7 days):\n",
            "最常见的未解答问题（7 天）：\n",
        ));
        for question in &report.week.top_unanswered {
            text.push_str(&format!("  {}× {}\n", question.count, question.text));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_short_unit() {
        assert_eq!(duration(42.0), "42s");
        assert_eq!(duration(125.0), "2m");
        assert_eq!(duration(5400.0), "1.5h");
        assert_eq!(duration(172_800.0), "2.0d");
    }
}
