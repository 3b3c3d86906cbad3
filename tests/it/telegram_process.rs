//! `helpdesk run` as a real process, against the fake Bot API: what only a
//! process shows (signals, what reaches stderr, the exit). The child is this
//! test binary running [`helpdesk_run_child`], which does what the binary's
//! `main` does: `bot::telemetry::init()`, then `bot::cli::run`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use handoff::{PendingKind, Store};
use tempfile::TempDir;

use crate::fake_bot_api::{Call, FakeBotApi, Person};
use crate::support::FAQ;

const TOKEN: &str = "123456789:AAFakeTokenForProcessTests_abcdefgh";
const STAFF: i64 = -1_001_000_000_001;
const ALICE: i64 = 7001;
const CHILD_ARGS: &str = "PROCESS_TEST_HELPDESK_ARGS";

/// The child: `helpdesk` with the arguments in `CHILD_ARGS` (separated by
/// newlines), logging to stderr as the binary does. It passes when the
/// command returned without an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the process tests as their child process"]
async fn helpdesk_run_child() {
    use clap::Parser;
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        return;
    };
    bot::telemetry::init("warn");
    let cli = bot::cli::Cli::parse_from(std::iter::once("helpdesk").chain(args.lines()));
    if let Err(error) = bot::cli::run(cli).await {
        panic!("helpdesk failed: {error:#}");
    }
}

/// A `helpdesk` process and everything it wrote to stderr so far.
struct Helpdesk {
    child: std::process::Child,
    stderr: Arc<Mutex<String>>,
    _reader: std::thread::JoinHandle<()>,
}

impl Helpdesk {
    /// Starts `helpdesk --config DIR/helpdesk.toml ARGS…` against `fake`.
    fn start(fake: &FakeBotApi, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Helpdesk {
        let config = dir.join("helpdesk.toml");
        let mut all = vec!["--config".to_owned(), config.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args([
                "telegram_process::helpdesk_run_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ARGS, all.join("\n"))
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("TELOXIDE_API_URL", &fake.url)
            // The default level, as an operator runs it, plus info.
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn helpdesk");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("child stderr");
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&without_colours(&line));
                all.push('\n');
            }
        });
        Helpdesk {
            child,
            stderr,
            _reader: reader,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (up to a minute) until stderr has a line containing `needle`.
    async fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                panic!("helpdesk exited ({status:?}):\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} on stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM, as systemd or a container runtime stops a service.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (up to 90 s: the drain takes up to a minute) for the exit.
    async fn exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for helpdesk") {
                // Everything it wrote is read once the pipe closes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("helpdesk did not exit:\n{}", self.stderr());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `line` without ANSI colour codes (the log's fields are coloured).
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Drop for Helpdesk {
    fn drop(&mut self) {
        // A failed test leaves no process behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes the settings file: the shared FAQ, SQLite in `dir`, one agent,
/// a forum staff group, and `telegram` lines added to its section.
fn write_settings(dir: &Path, telegram: &str) -> String {
    std::fs::write(dir.join("faq.yaml"), FAQ).unwrap();
    let database = format!("sqlite:{}", dir.join("helpdesk.db").display());
    let settings = format!(
        r#"faq_path = "{faq}"
database_url = "{database}"

[admin]
reload = false

[staff]
language = "en"

[[staff.agents]]
id = {ALICE}
alias = "Alice"

[telegram]
staff_group = {STAFF}
{telegram}
"#,
        faq = dir.join("faq.yaml").display(),
    );
    std::fs::write(dir.join("helpdesk.toml"), settings).unwrap();
    database
}

/// The work the store still holds: (updates, staff posts).
async fn pending(database: &str) -> (usize, usize) {
    let store = Store::connect(database).await.expect("open the database");
    (
        store
            .pending_owners(PendingKind::Update)
            .await
            .unwrap()
            .len(),
        store
            .pending_owners(PendingKind::StaffPost)
            .await
            .unwrap()
            .len(),
    )
}

fn posts_in(calls: &[Call], chat: i64) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.ok && c.chat() == Some(chat))
        .filter(|c| matches!(c.method.as_str(), "sendmessage" | "copymessage"))
        .collect()
}

#[tokio::test]
async fn sigterm_finishes_the_updates_in_hand_and_drains_the_staff_outbox_then_exits_cleanly() {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    // Two staff posts every 3 s: the user's details wait for the next window.
    let database = write_settings(
        dir.path(),
        "throttle = true\nstaff_posts_per_window = 2\nstaff_window_secs = 3",
    );
    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;

    let lin = Person::new(5001, "Lin", "en");
    let wei = Person::new(5002, "Wei", "en");
    fake.user_says(&lin, "/human");
    fake.wait_for_within("the ticket's card", Duration::from_secs(30), |calls| {
        posts_in(calls, STAFF)
            .iter()
            .any(|c| c.text().contains("ticket #"))
    })
    .await;
    let details = ["first detail", "second detail", "third detail"];
    for detail in details {
        fake.user_says(&lin, detail);
    }
    // Telegram holds Wei's answer back for 3 s: the question is in hand.
    fake.refuse_next_to("sendMessage", wei.id, 3);
    fake.user_says(&wei, "My deposit has not arrived");
    fake.wait_for_within(
        "the answer refused and the details kept",
        Duration::from_secs(30),
        |calls| calls.iter().any(|c| !c.ok && c.chat() == Some(wei.id)),
    )
    .await;
    // The details were handled (the card's window is spent, so they wait).
    fake.wait_for_within("every update taken", Duration::from_secs(30), |_| {
        fake.pending_updates() == 0
    })
    .await;

    helpdesk.terminate();
    let status = helpdesk.exit().await;
    let log = helpdesk.stderr();
    assert!(
        status.success(),
        "a clean exit after SIGTERM: {status:?}\n{log}"
    );

    let calls = fake.calls();
    let answers = calls
        .iter()
        .filter(|c| c.ok && c.chat() == Some(wei.id) && c.text().contains("enough confirmations"))
        .count();
    assert_eq!(answers, 1, "the question in hand was answered once:\n{log}");
    let staff: String = posts_in(&calls, STAFF)
        .iter()
        .map(|c| c.text().to_owned())
        .collect();
    for detail in details {
        assert_eq!(
            staff.matches(detail).count(),
            1,
            "{detail} posted once before the exit: {staff}\n{log}"
        );
    }
    assert_eq!(
        pending(&database).await,
        (0, 0),
        "nothing left in the store"
    );
}

/// What a user pasted by mistake, inside updates teloxide cannot read.
const PASTED: &str = "my password is Tr0ub4dor-and-3-horses";

/// Every file of the SQLite database (main, WAL, shared memory) that holds
/// `needle`, by name.
fn database_files_holding(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|f| f.file_name().to_string_lossy().starts_with("helpdesk.db"))
        .filter(|f| {
            let bytes = std::fs::read(f.path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The log lines that name `update_id`.
fn lines_naming(log: &str, update_id: i64) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(&format!("update_id={update_id}")))
        .collect()
}

#[tokio::test]
async fn a_polled_update_teloxide_cannot_read_is_logged_by_id_and_error_only_and_never_kept() {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    let database = write_settings(dir.path(), "throttle = false");
    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;

    let lin = Person::new(5001, "Lin", "en");
    let unreadable = fake.push(serde_json::json!({ "message": {
        "message_id": 1,
        "date": "yesterday",
        "chat": { "id": lin.id, "type": "private", "first_name": "Lin" },
        "from": { "id": lin.id, "is_bot": false, "first_name": "Lin" },
        "text": PASTED,
    }}));
    fake.user_says(&lin, "My deposit has not arrived");
    fake.wait_for_within(
        "the next question answered",
        Duration::from_secs(30),
        |calls| {
            posts_in(calls, lin.id)
                .iter()
                .any(|c| c.text().contains("enough confirmations"))
        },
    )
    .await;
    helpdesk
        .wait_for_line(&format!("update_id={unreadable}"))
        .await;
    helpdesk.terminate();
    let status = helpdesk.exit().await;
    let log = helpdesk.stderr();
    assert!(status.success(), "{status:?}\n{log}");

    assert!(!log.contains("Tr0ub4dor"), "the pasted text leaked:\n{log}");
    let named = lines_naming(&log, unreadable);
    assert!(
        named.iter().any(|l| l.contains("invalid type")),
        "logged with its parse error: {named:?}\n{log}"
    );
    assert!(
        named.iter().all(|l| l.len() < 1_000),
        "one short line: {named:?}"
    );
    assert_eq!(pending(&database).await.0, 0, "not kept for a next start");
    assert_eq!(
        database_files_holding(dir.path(), "Tr0ub4dor"),
        Vec::<String>::new(),
        "never written to the database"
    );
}

/// Sends a raw HTTP request; returns the status code.
async fn post_raw(addr: &str, path: &str, secret: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Telegram-Bot-Api-Secret-Token: {secret}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn malformed_webhook_bodies_are_logged_by_id_and_error_only_and_never_kept() {
    const SECRET: &str = "process-test-webhook_secret";
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    let database = write_settings(dir.path(), "throttle = false");
    let mut helpdesk = Helpdesk::start(
        &fake,
        dir.path(),
        &[
            "run",
            "--webhook",
            "https://bot.example.com/hook",
            "--listen",
            "127.0.0.1:0",
        ],
        &[("HELPDESK_TELEGRAM__WEBHOOK_SECRET", SECRET)],
    );
    let line = helpdesk
        .wait_for_line("receiving updates by webhook on")
        .await;
    let addr = line
        .split("webhook on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the address")
        .to_owned();

    let lin = Person::new(5001, "Lin", "en");
    let message = |date: serde_json::Value, text: &str| {
        serde_json::json!({
            "message_id": 1, "date": date,
            "chat": { "id": lin.id, "type": "private", "first_name": "Lin" },
            "from": { "id": lin.id, "is_bot": false, "first_name": "Lin", "language_code": "en" },
            "text": text,
        })
    };
    // Not JSON at all: cut off in the middle of the text (the id first,
    // as Telegram writes it).
    let cut = format!(
        r#"{{"update_id":901,"message":{}}}"#,
        message(1_700_000_000.into(), PASTED)
    );
    let cut = &cut[..cut.find("horses").unwrap()];
    // JSON, but not an update: the id is a string (about 200 KB of it).
    let huge = format!("{PASTED} {}", "x".repeat(200_000));
    let wrong_id =
        serde_json::json!({ "update_id": huge, "message": message(1_700_000_000.into(), "hi") })
            .to_string();
    // An update whose message teloxide cannot read.
    let unreadable =
        serde_json::json!({ "update_id": 903, "message": message("yesterday".into(), PASTED) })
            .to_string();
    for body in [cut, &wrong_id, &unreadable] {
        assert_eq!(post_raw(&addr, "/hook", SECRET, body).await, 200);
    }
    let hello =
        serde_json::json!({ "update_id": 904, "message": message(1_700_000_000.into(), "/start") })
            .to_string();
    assert_eq!(post_raw(&addr, "/hook", SECRET, &hello).await, 200);
    fake.wait_for_text(lin.id, "Hello").await;
    helpdesk.wait_for_line("update_id=903").await;

    helpdesk.terminate();
    let status = helpdesk.exit().await;
    let log = helpdesk.stderr();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        !log.contains("Tr0ub4dor"),
        "the pasted text leaked:\n{}",
        log.chars().take(5_000).collect::<String>()
    );
    assert!(log.lines().all(|l| l.len() < 1_000), "no huge line");
    assert!(
        lines_naming(&log, 901)
            .iter()
            .any(|l| l.contains("not an update")),
        "the cut body is logged with its id:\n{log}"
    );
    assert!(
        lines_naming(&log, 903)
            .iter()
            .any(|l| l.contains("invalid type")),
        "the unreadable update is logged with its error:\n{log}"
    );
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("not an update") || l.contains("cannot read"))
            .count(),
        3,
        "each logged once:\n{log}"
    );
    assert_eq!(pending(&database).await.0, 0, "none kept");
    assert_eq!(
        database_files_holding(dir.path(), "Tr0ub4dor"),
        Vec::<String>::new()
    );
}

/// Secrets users paste, each with the part that must never reach a file.
const SECRETS: &[(&str, &str)] = &[
    ("my password is Hunter2!Tango", "Hunter2!Tango"),
    ("资金密码 Qaz852wsxEdc", "Qaz852wsxEdc"),
    ("密码是abc123456xyz", "abc123456xyz"),
    ("pwd: s3cr3tP@ssW0rd", "s3cr3tP@ssW0rd"),
    (
        "seed: abandon ability able about above absent absorb abstract absurd abuse access accident",
        "absorb abstract absurd",
    ),
    (
        "my recovery phrase: scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango congress clump legal winner thank year wave sausage",
        "supreme raw rapid void",
    ),
    (
        "导入这个 KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn 就行",
        "KwDiBf89QgGbjEhKnhXJuH7Lrci",
    ),
    (
        "private key: e9873d79c6d87dc0fb6a5778633389f4453213303da61f20bd67fc233aa33262",
        "e9873d79c6d87dc0fb6a5778633389f4",
    ),
    ("my google authenticator code is 482913", "482913"),
    (
        "助记词：碧 祥 柯 页 巡 矩 悲 灌 龄 伦 票 寻",
        "碧 祥 柯 页 巡",
    ),
];

/// The secrets found in any file of the database, with the file.
fn secrets_on_disk(dir: &Path) -> Vec<(String, &'static str)> {
    SECRETS
        .iter()
        .flat_map(|(_, secret)| {
            database_files_holding(dir, secret)
                .into_iter()
                .map(move |file| (file, *secret))
        })
        .collect()
}

#[tokio::test]
async fn no_pasted_secret_reaches_a_database_file_after_handling_a_clean_stop_or_a_crash() {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    write_settings(dir.path(), "throttle = false\noutbox_takeover_secs = 1");
    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;

    // Lin pastes them into a ticket (relayed to the staff topic), Wei asks
    // them as questions (answered, logged for stats).
    let lin = Person::new(5001, "Lin", "en");
    let wei = Person::new(5002, "Wei", "en");
    fake.user_says(&lin, "/human");
    fake.wait_for_within("the ticket's card", Duration::from_secs(30), |calls| {
        posts_in(calls, STAFF)
            .iter()
            .any(|c| c.text().contains("ticket #"))
    })
    .await;
    for (text, _) in SECRETS {
        fake.user_says(&lin, text);
        fake.user_says(&wei, text);
    }
    fake.wait_for_within("every secret handled", Duration::from_secs(60), |calls| {
        let warned = posts_in(calls, wei.id)
            .iter()
            .filter(|c| c.text().starts_with("⚠️"))
            .count();
        let relayed = posts_in(calls, STAFF)
            .iter()
            .filter(|c| c.text().contains("[hidden"))
            .count();
        warned >= SECRETS.len() && relayed >= SECRETS.len()
    })
    .await;
    fake.settle(Duration::from_millis(300)).await;
    assert_eq!(secrets_on_disk(dir.path()), vec![], "after handling");

    helpdesk.terminate();
    let status = helpdesk.exit().await;
    assert!(status.success(), "{status:?}\n{}", helpdesk.stderr());
    assert_eq!(secrets_on_disk(dir.path()), vec![], "after a clean stop");

    // Again, and a crash with one of them in hand (Telegram holds its
    // answer back): it stays in the store until the next start.
    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;
    let chen = Person::new(5003, "Chen", "en");
    fake.refuse_next_to("sendMessage", chen.id, 60);
    fake.user_says(&chen, SECRETS[0].0);
    fake.wait_for_within("the answer held back", Duration::from_secs(30), |calls| {
        calls.iter().any(|c| !c.ok && c.chat() == Some(chen.id))
    })
    .await;
    helpdesk.child.kill().expect("SIGKILL helpdesk");
    helpdesk.exit().await;
    assert_eq!(secrets_on_disk(dir.path()), vec![], "after a crash");
    assert_eq!(
        pending(&format!(
            "sqlite:{}",
            dir.path().join("helpdesk.db").display()
        ))
        .await
        .0,
        1,
        "the update in hand was kept (masked)"
    );
    assert_eq!(secrets_on_disk(dir.path()), vec![], "after reopening");
}

/// Where a handoff's process is killed (SIGKILL), each time with Telegram
/// holding one call back (a 429 of a minute) so the kill lands there:
/// before the variant's step.
#[derive(Debug, Clone, Copy)]
enum HandoffKill {
    /// The ticket is committed, the user's confirmation is on its way and
    /// the card not yet in the outbox.
    Confirmation,
    /// The same, the handoff asked for with the [Talk to a human] button.
    ConfirmationOfAPress,
    /// The update handled, the card in the outbox, its topic not yet opened.
    Topic,
    /// The topic opened and recorded, the card not yet posted in it.
    Card,
    /// Telegram opened the topic, its answer (the thread id) never came
    /// back: the topic is not recorded, and cannot be looked up.
    TopicRecord,
}

/// A user asks for a human ("转人工", or the button); the process is killed at `kill`,
/// started again, and runs until the ticket's card is in its topic.
/// Returns every call the fake saw.
async fn handoff_killed(kill: HandoffKill) -> Vec<Call> {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    let database = write_settings(dir.path(), "throttle = false\noutbox_takeover_secs = 1");
    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;
    let lin = Person::new(6001, "Lin", "zh");
    let (method, chat) = match kill {
        HandoffKill::Confirmation | HandoffKill::ConfirmationOfAPress => {
            ("sendMessage", Some(lin.id))
        }
        HandoffKill::Topic | HandoffKill::TopicRecord => ("createForumTopic", None),
        HandoffKill::Card => ("sendMessage", Some(STAFF)),
    };
    match (kill, chat) {
        (HandoffKill::TopicRecord, _) => fake.answer_late(method, Duration::from_secs(60)),
        (_, Some(chat)) => fake.refuse_next_to(method, chat, 60),
        (_, None) => fake.refuse_next(method, 60),
    }
    if matches!(kill, HandoffKill::ConfirmationOfAPress) {
        fake.press(&lin, lin.id, None, "human");
    } else {
        fake.user_says(&lin, "转人工");
    }
    let held = method.to_lowercase();
    fake.wait_for_within(
        &format!("{kill:?}: {method} held back"),
        Duration::from_secs(30),
        |calls| {
            calls.iter().any(|c| {
                c.ok == matches!(kill, HandoffKill::TopicRecord)
                    && c.method == held
                    && (chat.is_none() || c.chat() == chat)
            })
        },
    )
    .await;
    if !matches!(
        kill,
        HandoffKill::Confirmation | HandoffKill::ConfirmationOfAPress
    ) {
        // The update's handling finished: only the outbox holds work.
        let deadline = Instant::now() + Duration::from_secs(30);
        while pending(&database).await.0 > 0 {
            assert!(
                Instant::now() < deadline,
                "{kill:?}: the update was never handled"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    helpdesk.child.kill().expect("SIGKILL helpdesk");
    helpdesk.exit().await;

    let mut helpdesk = Helpdesk::start(&fake, dir.path(), &["run"], &[]);
    helpdesk
        .wait_for_line("receiving updates by long polling")
        .await;
    fake.wait_for_within(
        &format!("{kill:?}: the card after the restart"),
        Duration::from_secs(30),
        |calls| {
            posts_in(calls, STAFF)
                .iter()
                .any(|c| c.buttons().contains(&"claim:1".to_owned()))
        },
    )
    .await;
    // Whatever else the restart sends (the details prompt after a replay).
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending(&database).await != (0, 0) {
        assert!(
            Instant::now() < deadline,
            "{kill:?}: work left in the store"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.settle(Duration::from_millis(500)).await;
    helpdesk.terminate();
    helpdesk.exit().await;
    fake.calls()
}

/// Killed at each point of a handoff and started again, the bot ends as
/// if nothing happened: the user was told once that a human has the ticket
/// (and asked once for details), never "added to your ticket"; the ticket
/// has one topic, and its card with [Claim] and [Close] is in it.
#[tokio::test]
async fn a_handoff_killed_at_any_point_ends_with_one_confirmation_and_one_topic_with_its_card() {
    for kill in [
        HandoffKill::Confirmation,
        HandoffKill::ConfirmationOfAPress,
        HandoffKill::Topic,
        HandoffKill::Card,
        HandoffKill::TopicRecord,
    ] {
        let calls = handoff_killed(kill).await;
        let to_user: Vec<&str> = posts_in(&calls, 6001).iter().map(|c| c.text()).collect();
        let confirmations = to_user
            .iter()
            .filter(|t| t.contains("已为您转接人工客服，工单号 #1"))
            .count();
        assert_eq!(confirmations, 1, "{kill:?}: {to_user:#?}");
        assert!(
            !to_user.iter().any(|t| t.contains("已加入工单")),
            "{kill:?}: {to_user:#?}"
        );
        let prompts = to_user.iter().filter(|t| t.contains("UID")).count();
        assert_eq!(prompts, 1, "{kill:?}: {to_user:#?}");

        let topics: Vec<&Call> = calls
            .iter()
            .filter(|c| c.ok && c.method == "createforumtopic")
            .collect();
        assert_eq!(topics.len(), 1, "{kill:?}: {topics:#?}");
        let posts = posts_in(&calls, STAFF);
        let cards: Vec<&&Call> = posts
            .iter()
            .filter(|c| c.buttons() == ["claim:1", "close:1"])
            .collect();
        assert_eq!(cards.len(), 1, "{kill:?}: {posts:#?}");
        // Everything about the ticket is in the card's topic; but where
        // Telegram opened the topic and its thread id was lost with the
        // process, the card goes to the group's General topic rather than
        // to a second topic.
        assert_eq!(
            cards[0].thread().is_some(),
            !matches!(kill, HandoffKill::TopicRecord),
            "{kill:?}: {posts:#?}"
        );
        assert!(
            posts.iter().all(|c| c.thread() == cards[0].thread()),
            "{kill:?}: {posts:#?}"
        );
        // A press puts nothing on the transcript; the words do.
        assert_eq!(
            cards[0].text().contains("转人工"),
            !matches!(kill, HandoffKill::ConfirmationOfAPress),
            "{kill:?}: the transcript"
        );
    }
}
