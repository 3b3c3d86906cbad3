//! Prometheus `/metrics` and `/healthz` on an address of their own (off
//! unless `admin.metrics_listen` is set).
//!
//! The figures come from the store, so they count what every replica did
//! (with Postgres, each replica reports the same totals: aggregate with
//! `max`, not `sum`). Counters follow the store's timestamps: each scrape
//! adds what happened since the previous one, up to a few seconds ago (a
//! write stamped just before a scrape may commit just after it). Waiting
//! and handling times and ratings are gauges over the last 24 hours.
//!
//! The text is OpenMetrics (`prometheus-client`), which Prometheus reads;
//! counters end in `_total`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use handoff::Stats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::reload::Reloader;
use crate::desk::Desk;

/// The content type of OpenMetrics text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Counters stop this far before now (writes in flight commit meanwhile).
const SETTLE: chrono::Duration = chrono::Duration::seconds(5);
/// The 24-hour figures are read again at most this often.
const DAY_CACHE: Duration = Duration::from_secs(15);

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The metrics of one desk.
pub struct Metrics {
    desk: Arc<Desk>,
    reloader: Option<Reloader>,
    registry: Registry,
    questions: Family<Labels, Counter>,
    opened: Counter,
    closed: Counter,
    cancelled: Counter,
    waiting_now: Gauge,
    claimed_now: Gauge,
    waiting_secs: Family<Labels, FloatGauge>,
    handling_secs: Family<Labels, FloatGauge>,
    first_reply_secs: Family<Labels, FloatGauge>,
    ratings: Gauge,
    rating_average: FloatGauge,
    auto_answer: FloatGauge,
    faq_entries: Gauge,
    reloads: Family<Labels, Counter>,
    reload_failing: Gauge,
    scrape: tokio::sync::Mutex<Scrape>,
    settle: chrono::Duration,
}

/// What the previous scrape left.
#[derive(Default)]
struct Scrape {
    /// Counters include everything before this time.
    counted_until: DateTime<Utc>,
    reloads_ok: u64,
    reloads_failed: u64,
    day: Option<(Instant, Stats)>,
}

/// The build's info, and every labelled series at zero from the first
/// scrape (a series that appears only once counted confuses rate queries).
fn first_series(
    registry: &mut Registry,
    questions: &Family<Labels, Counter>,
    reloads: &Family<Labels, Counter>,
) {
    registry.register(
        "helpdesk_build",
        "The running helpdesk",
        Info::new(label("version", env!("CARGO_PKG_VERSION"))),
    );
    for outcome in ["answered", "suggested", "no_match", "asked_for_human"] {
        let _ = questions.get_or_create(&label("outcome", outcome));
    }
    for result in ["ok", "failed"] {
        let _ = reloads.get_or_create(&label("result", result));
    }
}

fn label(name: &str, value: &str) -> Labels {
    vec![(name.to_owned(), value.to_owned())]
}

impl Metrics {
    pub fn new(desk: Arc<Desk>, reloader: Option<Reloader>) -> Metrics {
        let mut registry = Registry::default();
        let questions = Family::<Labels, Counter>::default();
        registry.register(
            "helpdesk_questions",
            "Questions users asked, by what the bot did (answered, suggested, no_match, asked_for_human)",
            questions.clone(),
        );
        let opened = Counter::default();
        registry.register(
            "helpdesk_tickets_opened",
            "Tickets opened (escalations to a human)",
            opened.clone(),
        );
        let closed = Counter::default();
        registry.register(
            "helpdesk_tickets_closed",
            "Tickets closed by an agent",
            closed.clone(),
        );
        let cancelled = Counter::default();
        registry.register(
            "helpdesk_tickets_cancelled",
            "Tickets the user cancelled",
            cancelled.clone(),
        );
        let waiting_now = Gauge::default();
        registry.register(
            "helpdesk_queue_waiting",
            "Tickets waiting for an agent now",
            waiting_now.clone(),
        );
        let claimed_now = Gauge::default();
        registry.register(
            "helpdesk_tickets_claimed",
            "Tickets with an agent now",
            claimed_now.clone(),
        );
        let waiting_secs = Family::<Labels, FloatGauge>::default();
        registry.register(
            "helpdesk_waiting_seconds",
            "Opened to first claimed, tickets opened in the last 24 hours, by percentile",
            waiting_secs.clone(),
        );
        let handling_secs = Family::<Labels, FloatGauge>::default();
        registry.register(
            "helpdesk_handling_seconds",
            "First claimed to closed, tickets closed in the last 24 hours, by percentile",
            handling_secs.clone(),
        );
        let first_reply_secs = Family::<Labels, FloatGauge>::default();
        registry.register(
            "helpdesk_first_reply_seconds",
            "Opened to the first agent message, tickets opened in the last 24 hours, by percentile",
            first_reply_secs.clone(),
        );
        let ratings = Gauge::default();
        registry.register(
            "helpdesk_ratings",
            "Ratings of tickets closed in the last 24 hours",
            ratings.clone(),
        );
        let rating_average = FloatGauge::default();
        registry.register(
            "helpdesk_rating_average",
            "Average rating (1-5) of tickets closed in the last 24 hours; 0 without ratings",
            rating_average.clone(),
        );
        let auto_answer = FloatGauge::default();
        registry.register(
            "helpdesk_auto_answer_ratio",
            "Share of the last 24 hours' questions the bot answered by itself",
            auto_answer.clone(),
        );
        let faq_entries = Gauge::default();
        registry.register(
            "helpdesk_faq_entries",
            "Entries of the FAQ serving now",
            faq_entries.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "helpdesk_faq_reloads",
            "FAQ reloads since this process started, by result (ok, failed)",
            reloads.clone(),
        );
        let reload_failing = Gauge::default();
        registry.register(
            "helpdesk_faq_reload_failing",
            "1 when the last reload was refused (the FAQ files are broken; the previous FAQ serves)",
            reload_failing.clone(),
        );
        first_series(&mut registry, &questions, &reloads);
        Metrics {
            desk,
            reloader,
            registry,
            questions,
            opened,
            closed,
            cancelled,
            waiting_now,
            claimed_now,
            waiting_secs,
            handling_secs,
            first_reply_secs,
            ratings,
            rating_average,
            auto_answer,
            faq_entries,
            reloads,
            reload_failing,
            scrape: tokio::sync::Mutex::new(Scrape::default()),
            settle: SETTLE,
        }
    }

    /// Counters stop `settle` before now (default 5 s). Tests that count
    /// what they just wrote use zero.
    pub fn with_settle(mut self, settle: Duration) -> Metrics {
        self.settle = chrono::Duration::from_std(settle).unwrap_or(SETTLE);
        self
    }

    /// Brings every metric up to date and returns the exposition text.
    pub async fn render(&self) -> Result<String> {
        let mut scrape = self.scrape.lock().await;
        let store = self.desk.store();
        let now = Utc::now();
        let until = now - self.settle;
        if until > scrape.counted_until {
            let new = store.stats(scrape.counted_until, until, 0).await?;
            for (outcome, n) in [
                ("answered", new.questions.answered),
                ("suggested", new.questions.suggested),
                ("no_match", new.questions.no_match),
                ("asked_for_human", new.questions.asked_for_human),
            ] {
                self.questions
                    .get_or_create(&label("outcome", outcome))
                    .inc_by(n);
            }
            self.opened.inc_by(new.escalated);
            self.closed.inc_by(new.closed);
            self.cancelled.inc_by(new.cancelled);
            scrape.counted_until = until;
        }
        let day = match &scrape.day {
            Some((read, stats)) if read.elapsed() < DAY_CACHE => stats.clone(),
            _ => {
                let stats = store
                    .stats(now - chrono::Duration::hours(24), now, 0)
                    .await?;
                scrape.day = Some((Instant::now(), stats.clone()));
                stats
            }
        };
        self.waiting_now.set(day.waiting_now as i64);
        self.claimed_now.set(day.claimed_now as i64);
        for (family, percentiles) in [
            (&self.waiting_secs, day.waiting),
            (&self.handling_secs, day.handling),
            (&self.first_reply_secs, day.first_reply),
        ] {
            let (p50, p90) = percentiles.map_or((0.0, 0.0), |p| (p.p50_secs, p.p90_secs));
            family.get_or_create(&label("percentile", "50")).set(p50);
            family.get_or_create(&label("percentile", "90")).set(p90);
        }
        self.ratings.set(day.ratings as i64);
        self.rating_average.set(day.average_rating.unwrap_or(0.0));
        self.auto_answer.set(day.auto_answer_rate.unwrap_or(0.0));
        self.faq_entries
            .set(self.desk.knowledge().faq.entries.len() as i64);
        if let Some(reloader) = &self.reloader {
            let status = reloader.status();
            let ok = status.succeeded.saturating_sub(scrape.reloads_ok);
            let failed = status.failed.saturating_sub(scrape.reloads_failed);
            self.reloads
                .get_or_create(&label("result", "ok"))
                .inc_by(ok);
            self.reloads
                .get_or_create(&label("result", "failed"))
                .inc_by(failed);
            scrape.reloads_ok = status.succeeded;
            scrape.reloads_failed = status.failed;
            let failing = status.last.as_ref().is_some_and(|last| !last.is_ok());
            self.reload_failing.set(i64::from(failing));
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).context("encoding the metrics")?;
        Ok(text)
    }

    /// Whether the bot can serve: the database answers (within 2 s) and a
    /// FAQ is loaded. A refused reload is reported but is not unhealthy:
    /// the previous FAQ serves.
    pub async fn health(&self) -> (bool, serde_json::Value) {
        let database =
            match tokio::time::timeout(Duration::from_secs(2), self.desk.store().ping()).await {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(error)) => format!("error: {error}"),
                Err(_) => "error: no answer within 2 s".to_owned(),
            };
        let entries = self.desk.knowledge().faq.entries.len();
        let last_reload = self
            .reloader
            .as_ref()
            .and_then(|r| r.status().last)
            .map(|last| {
                serde_json::json!({
                    "at": last.at,
                    "ok": last.is_ok(),
                    "trigger": last.trigger,
                })
            });
        let healthy = database == "ok" && entries > 0;
        (
            healthy,
            serde_json::json!({
                "status": if healthy { "ok" } else { "unhealthy" },
                "database": database,
                "faq_entries": entries,
                "last_reload": last_reload,
            }),
        )
    }
}

/// `/metrics` and `/healthz`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(serve_health))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> axum::response::Response {
    match metrics.render().await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!("metrics: {error:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("metrics unavailable: {error:#}\n"),
            )
                .into_response()
        }
    }
}

async fn serve_health(State(metrics): State<Arc<Metrics>>) -> axum::response::Response {
    let (healthy, body) = metrics.health().await;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// A running metrics server; dropping it stops the server.
pub struct MetricsServer {
    /// The address it listens on (the real port when asked for port 0).
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `/metrics` and `/healthz` on `listen`.
pub async fn serve(listen: SocketAddr, metrics: Arc<Metrics>) -> Result<MetricsServer> {
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for metrics on {listen}"))?;
    let addr = tcp.local_addr().context("reading the metrics address")?;
    let app = router(metrics);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(tcp, app).await {
            tracing::error!("the metrics server failed: {error}");
        }
    });
    tracing::info!(%addr, "serving /metrics and /healthz");
    Ok(MetricsServer { addr, task })
}
