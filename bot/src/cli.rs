//! The command line: definitions (clap) and the glue behind each command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use matcher::eval::{self, Verdict};
use matcher::{Matcher, Outcome, Severity};

use crate::engine::{Understanding, understand};
use crate::settings::Settings;
use crate::startup;

/// helpdesk: a Telegram support bot that answers from its FAQ when it is
/// sure and hands everything else to human agents.
#[derive(Debug, Parser)]
#[command(name = "helpdesk", version, about)]
pub struct Cli {
    /// Settings file (default: helpdesk.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole product offline in this terminal: the user side and the
    /// agent side of the same engine, on the FAQ and database from settings.
    Chat {
        /// FAQ file or folder (overrides settings).
        #[arg(long, value_name = "PATH")]
        faq: Option<PathBuf>,
        /// Database URL (overrides settings and DATABASE_URL).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Run the Telegram bot: long polling, or a webhook with `--webhook`.
    /// The token comes from TELOXIDE_TOKEN; a self-hosted Bot API server
    /// from TELOXIDE_API_URL.
    Run {
        /// Public HTTPS URL Telegram posts updates to (webhook mode).
        #[arg(long, value_name = "URL", requires = "listen")]
        webhook: Option<url::Url>,
        /// Address the webhook server listens on, e.g. 0.0.0.0:8443.
        #[arg(long, value_name = "ADDR", requires = "webhook")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Show what the bot would do with one question: the decision and the
    /// top candidates with their confidence.
    Ask {
        /// The question, as a user would write it (quote it).
        question: String,
        /// FAQ file or folder (overrides settings).
        #[arg(long, value_name = "PATH")]
        faq: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure the matcher on a file of labelled questions (TSV: query, expected).
    Eval {
        /// FAQ file or folder (overrides settings).
        #[arg(long, value_name = "PATH")]
        faq: Option<PathBuf>,
        /// Labelled questions: a TSV file with the header `query<TAB>expected`
        /// (`expected` is an entry id, or `-` when the bot must not answer).
        #[arg(long, value_name = "TSV")]
        queries: PathBuf,
        /// Print the metrics as one JSON object on the last line.
        #[arg(long)]
        json: bool,
        /// Also write a self-contained HTML page: the metrics, precision and
        /// coverage by threshold (a plot), the wrong answers and the misses.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// First replay this queries file as traffic whose users pick the
        /// right answer or choice, learn those phrasings (as the bot learns
        /// from "Solved" presses and picks), then measure `--queries`.
        #[arg(long, value_name = "TSV")]
        learn_from: Option<PathBuf>,
    },
    /// Validate FAQ files: errors and warnings with file:line:column.
    Check {
        /// FAQ file or folder (default: from settings, `faq-data`).
        path: Option<PathBuf>,
    },
    /// Suggest FAQ work from what the bot missed: new questions for entries
    /// (from agents' /link marks) as YAML to paste, and clusters of similar
    /// questions no entry answers.
    Suggest {
        /// Look this many days back.
        #[arg(long, value_name = "DAYS", default_value_t = crate::admin::SUGGEST_DAYS)]
        since: i64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// FAQ file or folder (overrides settings).
        #[arg(long, value_name = "PATH")]
        faq: Option<PathBuf>,
        /// Database URL (overrides settings and DATABASE_URL); it must exist.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// The help desk's numbers: today and the last 7 days.
    Stats {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Database URL (overrides settings and DATABASE_URL); it must exist.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Print the JSON Schema of a FAQ file (for editor autocompletion and
    /// validation; see the README).
    Schema,
}

/// Runs the parsed command; the exit code says whether it succeeded.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Chat { faq, database } => {
            if let Some(faq) = faq {
                settings.faq_path = faq;
            }
            if let Some(database) = database {
                settings.database_url = database;
            }
            crate::console::run(&settings).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { webhook, listen } => {
            let webhook = webhook
                .zip(listen)
                .map(|(url, listen)| crate::telegram::Webhook { url, listen });
            let launch = crate::telegram::Launch::from_env(webhook)?;
            let running = crate::telegram::start(&settings, launch).await?;
            match running.webhook_addr {
                Some(addr) => {
                    eprintln!(
                        "helpdesk: receiving updates by webhook on {addr}; Ctrl-C or SIGTERM stops"
                    )
                }
                None => eprintln!(
                    "helpdesk: receiving updates by long polling; Ctrl-C or SIGTERM stops"
                ),
            }
            let store = running.desk().store().clone();
            running.wait().await?;
            // The last connection to close checkpoints SQLite's WAL into
            // the database file and removes it.
            store.close_pool().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ask {
            question,
            faq,
            json,
        } => {
            let path = faq.unwrap_or(settings.faq_path);
            let (knowledge, _) = startup::load_knowledge(&path, settings.matcher)?;
            ask(&knowledge.matcher, &question, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            faq,
            queries,
            json,
            report,
            learn_from,
        } => {
            let path = faq.unwrap_or(settings.faq_path);
            evaluate(
                &path,
                &queries,
                settings.matcher,
                json,
                report.as_deref(),
                learn_from.as_deref(),
            )
        }
        Command::Check { path } => Ok(check(&path.unwrap_or(settings.faq_path))),
        Command::Suggest {
            since,
            json,
            faq,
            database,
        } => {
            let path = faq.unwrap_or(settings.faq_path);
            let url = database.unwrap_or(settings.database_url);
            suggest(&path, &url, settings.matcher, since, json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { json, database } => {
            let url = database.unwrap_or(settings.database_url);
            let store = startup::open_existing_store(&url).await?;
            let report = crate::admin::stats::read(&store).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!(
                    "{}",
                    crate::admin::stats::render(&report, &settings.staff.language)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&matcher::faq::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `suggest` command.
async fn suggest(
    faq: &Path,
    database: &str,
    config: matcher::MatcherConfig,
    days: i64,
    json: bool,
) -> Result<()> {
    let (knowledge, _) = startup::load_knowledge(faq, config)?;
    let store = startup::open_existing_store(database).await?;
    let since = chrono::Utc::now() - chrono::Duration::days(days.max(0));
    let suggestions = crate::admin::suggest::suggest(&store, &knowledge, since).await?;
    if json {
        let mut value = serde_json::to_value(&suggestions)?;
        value["yaml"] = crate::admin::suggest::yaml_snippet(&suggestions.new_questions).into();
        println!("{value}");
    } else {
        println!("# Suggestions from the last {days} day(s)\n");
        print!(
            "{}",
            crate::admin::suggest::render(&suggestions, usize::MAX, "en")
        );
    }
    Ok(())
}

/// A progress bar on stderr while `total` queries are decided, when stderr
/// is a terminal and the run is long enough to want one. The deciding
/// closure only bumps a counter (so the bar does not add to the measured
/// latency); a thread of its own draws.
struct Progress {
    done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    drawer: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl Progress {
    /// Queries below this many finish too fast to need a bar.
    const MIN_QUERIES: usize = 200;

    fn start(total: usize) -> Progress {
        use std::io::IsTerminal;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let drawer = (std::io::stderr().is_terminal() && total >= Self::MIN_QUERIES).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} queries  {elapsed} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let (stop, stopped) = std::sync::mpsc::channel();
            let count = done.clone();
            let thread = std::thread::spawn(move || {
                loop {
                    bar.set_position(count.load(std::sync::atomic::Ordering::Relaxed));
                    match stopped.recv_timeout(std::time::Duration::from_millis(100)) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
                bar.finish_and_clear();
            });
            (stop, thread)
        });
        Progress { done, drawer }
    }

    fn tick(&self) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn finish(self) {
        if let Some((stop, thread)) = self.drawer {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

fn ask(matcher: &Matcher, question: &str, json: bool) -> Result<()> {
    let understanding = understand(matcher, question);
    if json {
        let value = match &understanding {
            Understanding::Question(decision) => serde_json::to_value(decision)?,
            other => {
                serde_json::json!({ "outcome": { "kind": understanding_name(other) }, "candidates": [] })
            }
        };
        println!("{value}");
        return Ok(());
    }
    match understanding {
        Understanding::Question(decision) => {
            match &decision.outcome {
                Outcome::Answer { entry_id } => println!("answer: {entry_id}"),
                Outcome::Suggest { entry_ids } => {
                    println!("did you mean: {}", entry_ids.join(", "))
                }
                Outcome::NoMatch => println!("no match: hand off to a human"),
            }
            for candidate in &decision.candidates {
                println!("  {:.3}  {}", candidate.confidence, candidate.entry_id);
            }
        }
        other => println!("{}: not a question for the FAQ", understanding_name(&other)),
    }
    Ok(())
}

fn understanding_name(understanding: &Understanding) -> &'static str {
    match understanding {
        Understanding::Empty => "empty",
        Understanding::Human => "asks_for_human",
        Understanding::Greeting => "greeting",
        Understanding::Thanks => "thanks",
        Understanding::Question(_) => "question",
    }
}

/// The `eval` command: decides through the engine's own reading of a
/// message, so asking for a human or small talk is never an answer.
fn evaluate(
    faq: &Path,
    queries_path: &Path,
    config: matcher::MatcherConfig,
    json: bool,
    report: Option<&Path>,
    learn_from: Option<&Path>,
) -> Result<ExitCode> {
    let (mut knowledge, _) = startup::load_knowledge(faq, config)?;
    if let Some(traffic) = learn_from {
        let traffic = eval::read_queries(traffic)?;
        let learned = eval::learned_from(&traffic, |query| {
            match understand(&knowledge.matcher, query) {
                Understanding::Question(decision) => Verdict::of(decision),
                _ => Verdict::none(),
            }
        });
        eprintln!(
            "learned {} phrasings from {} questions",
            learned.len(),
            traffic.len()
        );
        let faq = matcher::variants::with_learned(&knowledge.faq, &learned);
        knowledge.matcher = matcher::Matcher::build(&faq, config);
    }
    let queries = eval::read_queries(queries_path)?;
    for problem in unknown_expected_ids(&knowledge.faq, &queries, queries_path, faq) {
        eprintln!("warning: {problem}");
    }
    let progress = Progress::start(queries.len());
    let (metrics, judged) = eval::evaluate(&queries, |query| {
        progress.tick();
        match understand(&knowledge.matcher, query) {
            Understanding::Question(decision) => Verdict::of(decision),
            _ => Verdict::none(),
        }
    });
    progress.finish();
    if !json {
        for j in judged.iter().filter(|j| j.is_wrong()) {
            println!(
                "wrong   line {:>4}: {:?} → {} (expected {})",
                j.query.line,
                j.query.query,
                j.verdict.answered.as_deref().unwrap_or("-"),
                j.query.expected.as_deref().unwrap_or("-")
            );
        }
        println!(
            "queries {}  answered {}  correct {}  wrong {}\nprecision {:.3}  coverage {:.3}  top1 {:.3}  false_answer_rate {:.3}\none_tap {:.3}  offered_unanswerable {:.3}\nlatency p50 {:.0} µs  p99 {:.0} µs",
            metrics.queries,
            metrics.answered,
            metrics.correct,
            metrics.wrong,
            metrics.precision,
            metrics.coverage,
            metrics.top1,
            metrics.false_answer_rate,
            metrics.one_tap,
            metrics.offered_unanswerable,
            metrics.p50_us,
            metrics.p99_us
        );
    }
    if let Some(report) = report {
        let html = crate::admin::report::html(&crate::admin::report::ReportInput {
            faq: &faq.display().to_string(),
            queries: &queries_path.display().to_string(),
            config: &config,
            metrics: &metrics,
            judged: &judged,
        });
        std::fs::write(report, html).with_context(|| format!("writing {}", report.display()))?;
        eprintln!("report written to {}", report.display());
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&metrics).context("serialising metrics")?
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Labelled queries whose expected entry the FAQ does not have (a typo, or
/// an entry since removed): they can never be answered correctly, so each
/// is named with its file:line.
fn unknown_expected_ids(
    faq: &matcher::Faq,
    queries: &[eval::LabeledQuery],
    queries_path: &Path,
    faq_path: &Path,
) -> Vec<String> {
    let ids: std::collections::HashSet<&str> =
        faq.entries.iter().map(|entry| entry.id.as_str()).collect();
    queries
        .iter()
        .filter_map(|query| {
            let expected = query.expected.as_deref()?;
            (!ids.contains(expected)).then(|| {
                format!(
                    "{}:{}: the expected entry `{expected}` is not in the FAQ at {}",
                    queries_path.display(),
                    query.line,
                    faq_path.display()
                )
            })
        })
        .collect()
}

/// The `check` command: prints every diagnostic; non-zero exit on errors.
fn check(path: &Path) -> ExitCode {
    match matcher::faq::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                println!("{warning}");
            }
            println!(
                "{}: ok, {} entries, {} categories, {} warning(s)",
                path.display(),
                loaded.faq.entries.len(),
                loaded.faq.categories.len(),
                loaded.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(matcher::LoadError::Invalid { diagnostics }) => {
            for diagnostic in &diagnostics {
                println!("{diagnostic}");
            }
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            println!("{}: {errors} error(s)", path.display());
            ExitCode::FAILURE
        }
        Err(other) => {
            println!("error: {other}");
            ExitCode::FAILURE
        }
    }
}
