//! Capacity of the Telegram shell, measured through the fake Bot API with
//! throttling off (a benchmark, not a test): updates handled per second from
//! many chats, reply latency p50/p99, and the bot process's peak memory
//! (`/usr/bin/time -v`), beside a bare teloxide echo bot measured the same
//! way in the same run.
//!
//! `cargo bench -p bot --bench telegram_throughput` (optionally
//! `-- --chats 100 --messages 20`). The parent process runs the fake server
//! and the load; each bot runs as a child process of its own (this same
//! binary with `--child`), so its memory is its own.
//!
//! The load is closed-loop: every chat sends a question, waits for the
//! answer, sends the next. Latency is from the update being queued at the
//! fake server to the reply arriving there: long polling, dispatch, the
//! matcher, SQLite, and the send, as Telegram would see it.

#[path = "../../tests/it/fake_bot_api.rs"]
mod fake_bot_api;

use std::io::{BufRead, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_bot_api::{FakeBotApi, Person};

const TOKEN: &str = "123456789:AABenchmarkTokenNotARealOne_abcdefgh";

const QUESTIONS: &[&str] = &[
    "充币没有到账怎么办",
    "how do i make an account here",
    "提币一直在审核中",
    "怎么注册啊",
    "Where is my deposit address",
    "忘记密码了怎么找回",
    "How do I reset 2FA",
    "手续费是多少",
    "my withdrawal is pending for hours",
    "KYC认证失败怎么办",
];

struct Options {
    chats: usize,
    messages: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        chats: value("--chats", 100),
        messages: value("--messages", 20),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let variant = args[i + 1].clone();
        let api = args[i + 2].clone();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(child(&variant, &api));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks; there is nothing to list
    }
    let options = options();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        println!(
            "Telegram shell capacity through a fake Bot API, throttling off: {} chats × {} questions, closed loop",
            options.chats, options.messages
        );
        println!("{:<10} {:>12} {:>10} {:>10} {:>14}", "bot", "updates/s", "p50 ms", "p99 ms", "peak RSS MiB");
        for variant in ["echo", "helpdesk"] {
            let result = measure(variant, &options).await;
            println!(
                "{:<10} {:>12.0} {:>10.2} {:>10.2} {:>14}",
                variant,
                result.per_second,
                result.p50.as_secs_f64() * 1000.0,
                result.p99.as_secs_f64() * 1000.0,
                result.peak_kib.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or_else(|| "?".into()),
            );
        }
    });
}

struct Result {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    peak_kib: Option<u64>,
}

async fn measure(variant: &str, options: &Options) -> Result {
    let fake = Arc::new(FakeBotApi::start(TOKEN).await);
    let exe = std::env::current_exe().unwrap();
    let time = std::path::Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let mut child = command
        .args(["--child", variant, &fake.url])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the bot process");
    let mut stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // Warm up: one question per chat, until every chat got its answer.
    let base = 900_000_000;
    let people: Vec<Person> = (0..options.chats)
        .map(|i| {
            Person::new(
                base + i as i64,
                "User",
                if i % 2 == 0 { "zh" } else { "en" },
            )
        })
        .collect();
    for (i, person) in people.iter().enumerate() {
        fake.user_says(person, QUESTIONS[i % QUESTIONS.len()]);
    }
    for person in &people {
        assert!(
            fake.wait_for_delivered(person.id, 1, Duration::from_secs(120))
                .await,
            "{variant}: the bot did not answer the warm-up"
        );
    }
    fake.forget_calls();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, person) in people.into_iter().enumerate() {
        let fake = fake.clone();
        let messages = options.messages;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            for k in 0..messages {
                let before = fake.delivered_to(person.id);
                let sent = Instant::now();
                fake.user_says(&person, QUESTIONS[(i + k + 1) % QUESTIONS.len()]);
                assert!(
                    fake.wait_for_delivered(person.id, before + 1, Duration::from_secs(120))
                        .await,
                    "no answer"
                );
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];

    drop(child.stdin.take()); // the child stops when its stdin closes
    let _ = child.wait();
    let report = stderr_reader.join().unwrap_or_default();
    let peak_kib = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok());
    Result {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        peak_kib,
    }
}

/// A bot process: `echo` (bare teloxide) or `helpdesk` (the real shell on
/// the bundled FAQ and a fresh SQLite file). Stops when stdin closes.
async fn child(variant: &str, api: &str) {
    let stop = tokio::sync::oneshot::channel::<()>();
    let (stop_tx, stop_rx) = stop;
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for _ in stdin.lock().lines() {}
        let _ = stop_tx.send(());
    });
    match variant {
        "echo" => echo_bot(api, stop_rx).await,
        _ => helpdesk_bot(api, stop_rx).await,
    }
}

async fn echo_bot(api: &str, stop: tokio::sync::oneshot::Receiver<()>) {
    use teloxide::prelude::*;
    let bot = Bot::new(TOKEN).set_api_url(api.parse().unwrap());
    let handler = Update::filter_message().endpoint(|bot: Bot, message: Message| async move {
        if let Some(text) = message.text() {
            bot.send_message(message.chat.id, text).await?;
        }
        Ok::<(), teloxide::RequestError>(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        let _ = stop.await;
        loop {
            match token.shutdown() {
                Ok(done) => break done.await,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    dispatcher.dispatch().await;
}

async fn helpdesk_bot(api: &str, stop: tokio::sync::oneshot::Receiver<()>) {
    let dir = tempfile::TempDir::new().unwrap();
    let settings = bot::settings::Settings {
        faq_path: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../faq-data"),
        database_url: format!("sqlite:{}", dir.path().join("bench.db").display()),
        telegram: bot::settings::TelegramSettings {
            throttle: false,
            flood_messages: u32::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let launch = bot::telegram::Launch::new(TOKEN).with_api_url(api).unwrap();
    let running = bot::telegram::start(&settings, launch)
        .await
        .expect("the bot starts");
    let _ = stop.await;
    running.stop().await.unwrap();
}
