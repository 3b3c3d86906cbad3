//! What an operator sees from the command line: help, errors, exit codes,
//! logs, pipes. Where only a real process shows it, the tests run
//! `helpdesk-it` (the same `bot::process::main` as `helpdesk`) in a
//! temporary folder and read its exit status and output.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use clap::CommandFactory;
use tempfile::TempDir;

use crate::fake_bot_api::FakeBotApi;
use crate::support::FAQ;

/// `helpdesk` in `dir`, with none of the caller's settings in its
/// environment (no helpdesk.toml there, no `HELPDESK_*`, no token).
fn helpdesk(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helpdesk-it"));
    command.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("HELPDESK_")
            || key.starts_with("TELOXIDE_")
            || key == "DATABASE_URL"
            || key == "RUST_LOG"
            || key == "NO_COLOR"
        {
            command.env_remove(key);
        }
    }
    command
}

/// A folder with the tests' FAQ as `faq.yaml`.
fn folder() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("faq.yaml"), FAQ).unwrap();
    dir
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_subcommands_help_has_a_line_for_each_argument() {
    let cli = bot::cli::Cli::command();
    let mut silent = Vec::new();
    for sub in cli.get_subcommands() {
        assert!(
            sub.get_about().is_some(),
            "`{}` has no help",
            sub.get_name()
        );
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if help.trim().is_empty() {
                silent.push(format!("{} {id}", sub.get_name()));
            }
        }
    }
    assert_eq!(silent, Vec::<String>::new(), "arguments without help");
}

#[test]
fn ask_into_a_pipe_nobody_reads_ends_quietly() {
    let dir = folder();
    // The reading end is closed before the command writes a byte, as
    // `helpdesk ask … | head -0` would.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = helpdesk(dir.path())
        .args(["ask", "充币没有到账怎么办", "--faq", "faq.yaml"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = stderr(&output);
    assert!(
        !stderr.contains("panicked"),
        "a closed pipe made it panic: {stderr}"
    );
    assert_eq!(stderr, "", "nothing to say about a reader that left");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        output.status.success() || output.status.signal() == Some(13),
        "ends like any Unix tool on a closed pipe (SIGPIPE): {:?}",
        output.status
    );
}

#[test]
fn a_missing_queries_file_is_said_once() {
    let dir = folder();
    let output = helpdesk(dir.path())
        .args(["eval", "--faq", "faq.yaml", "--queries", "nosuch.tsv"])
        .output()
        .unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nosuch.tsv"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "the cause once: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_database_that_cannot_be_opened_is_said_once() {
    let dir = folder();
    // A folder where the SQLite file should be: it exists, and cannot open.
    std::fs::create_dir(dir.path().join("a-folder.db")).unwrap();
    let output = helpdesk(dir.path())
        .args(["stats", "--database", "sqlite:a-folder.db"])
        .output()
        .unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a-folder.db"), "{stderr}");
    assert_eq!(
        stderr.matches("unable to open database file").count(),
        1,
        "the cause once: {stderr}"
    );
}

#[test]
fn eval_names_each_expected_entry_the_faq_does_not_have_by_file_and_line() {
    let dir = folder();
    std::fs::write(
        dir.path().join("q.tsv"),
        "query\texpected\n充币没有到账怎么办\tdeposit-not-credited\nhow do I reset 2fa\treset-twofa\n你们老板是谁\t-\n",
    )
    .unwrap();
    let output = helpdesk(dir.path())
        .args(["eval", "--faq", "faq.yaml", "--queries", "q.tsv"])
        .output()
        .unwrap();
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    let flagged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("not in the FAQ"))
        .collect();
    assert_eq!(flagged.len(), 1, "{stderr}");
    assert!(
        flagged[0].contains("q.tsv:3") && flagged[0].contains("`reset-twofa`"),
        "{stderr}"
    );
    // The metrics still follow.
    assert!(String::from_utf8_lossy(&output.stdout).contains("precision"));
}

#[tokio::test]
async fn read_only_commands_never_create_a_database() {
    use clap::Parser;
    let dir = folder();
    let typo = dir.path().join("typo.db");
    let url = format!("sqlite:{}", typo.display());
    let faq = dir.path().join("faq.yaml");
    for args in [
        vec!["helpdesk", "stats", "--database", &url],
        vec![
            "helpdesk",
            "suggest",
            "--faq",
            faq.to_str().unwrap(),
            "--database",
            &url,
        ],
    ] {
        let cli = bot::cli::Cli::try_parse_from(&args).unwrap();
        let error = bot::cli::run(cli)
            .await
            .expect_err("reading a database that does not exist");
        let message = bot::process::describe(&error);
        assert!(
            message.contains("there is no database at") && message.contains("typo.db"),
            "{args:?}: {message}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
        assert!(
            !dir.path().join("typo.db-wal").exists(),
            "{args:?} left a WAL file"
        );
    }
}

#[tokio::test]
async fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = folder();
    let url = format!("sqlite:{}", dir.path().join("helpdesk.db").display());
    handoff::Store::connect(&url)
        .await
        .unwrap()
        .close_pool()
        .await;
    let output = helpdesk(dir.path())
        .args(["stats", "--database", &url])
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("DEBUG"), "no log line to look at: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escape codes in a redirected log: {stderr:?}"
    );
}

#[tokio::test]
async fn a_token_telegram_refuses_ends_run_with_a_clear_error_and_exit_code_1() {
    const TOKEN: &str = "123456789:AAFakeTokenForTests_abcdefghijklmnopq";
    const WRONG: &str = "123456789:AAWrongTokenForTests_zyxwvutsrqponml";
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = folder();
    let url = fake.url.clone();
    let path = dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        helpdesk(&path)
            .args(["run"])
            .env("TELOXIDE_TOKEN", WRONG)
            .env("TELOXIDE_API_URL", url)
            .env("HELPDESK_FAQ_PATH", "faq.yaml")
            .env("DATABASE_URL", "sqlite:helpdesk.db")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("refused the token in TELOXIDE_TOKEN"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("AAWrongToken"),
        "the token reached stderr: {stderr}"
    );
}

#[tokio::test]
async fn a_bot_api_that_cannot_be_reached_at_start_is_tried_again_until_it_answers() {
    const TOKEN: &str = "123456789:AAFakeTokenForTests_abcdefghijklmnopq";
    let dir = folder();
    // Whatever listens first drops the connection unanswered: a network
    // error, as from an API behind a proxy that is not up yet.
    let flaky = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = flaky.local_addr().unwrap();
    let settings = bot::settings::Settings {
        faq_path: dir.path().join("faq.yaml"),
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        telegram: bot::settings::TelegramSettings {
            throttle: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let launch = bot::telegram::Launch::new(TOKEN)
        .with_api_url(&format!("http://{addr}/"))
        .unwrap();
    let starting = tokio::spawn(async move { bot::telegram::start(&settings, launch).await });
    let (connection, _) = flaky.accept().await.unwrap();
    drop(connection);
    drop(flaky);
    assert!(!starting.is_finished(), "gave up after one network error");
    // Now the API is there, on the same address.
    let fake = FakeBotApi::start_on(TOKEN, &addr.to_string()).await;
    let running = starting
        .await
        .unwrap()
        .expect("the bot starts once the API answers");
    // Nothing was lost to the outage: the command menus were set once the
    // API answered who the bot is.
    let methods: Vec<String> = fake.calls().iter().map(|c| c.method.clone()).collect();
    assert_eq!(
        methods.first().map(String::as_str),
        Some("getme"),
        "{methods:?}"
    );
    assert!(methods.iter().any(|m| m == "setmycommands"), "{methods:?}");
    running.stop().await.unwrap();
}

#[test]
fn the_console_chat_is_not_interrupted_by_warnings_its_conversation_already_shows() {
    let dir = folder();
    // The console agent (the first configured one) is not an admin here:
    // `/stats` is refused, which the server logs as a warning.
    std::fs::write(
        dir.path().join("helpdesk.toml"),
        "faq_path = \"faq.yaml\"\ndatabase_url = \"sqlite:helpdesk.db\"\n\
         [staff]\nadmins = [9]\n[[staff.agents]]\nid = 5001\nalias = \"Mei\"\n",
    )
    .unwrap();
    let mut child = helpdesk(dir.path())
        .args(["chat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"/agent\n/stats\n/quit\n").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("Only admins may use this command."),
        "the refusal is in the conversation: {stdout}"
    );
    assert_eq!(stderr, "", "nothing between the lines of the conversation");
}

#[test]
fn eval_learns_from_one_file_then_measures_another_and_reports_one_tap() {
    let dir = folder();
    // The traffic picks the right entry for a wording the FAQ lacks; the
    // measured file asks that wording again.
    std::fs::write(
        dir.path().join("traffic.tsv"),
        "query\texpected\n充的币怎么还看不到\tdeposit-not-credited\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("q.tsv"),
        "query\texpected\n充的币怎么还看不到\tdeposit-not-credited\n你们老板是谁\t-\n",
    )
    .unwrap();
    let run = |learn: bool| {
        let mut command = helpdesk(dir.path());
        command.args(["eval", "--faq", "faq.yaml", "--queries", "q.tsv", "--json"]);
        if learn {
            command.args(["--learn-from", "traffic.tsv"]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        let metrics: serde_json::Value = serde_json::from_str(&last).unwrap();
        (metrics, stderr(&output))
    };
    let (before, _) = run(false);
    let (after, said) = run(true);
    // Before: not answered, but the right entry is one tap away.
    assert_eq!(before["one_tap"].as_f64(), Some(1.0), "{before}");
    assert_eq!(before["coverage"].as_f64(), Some(0.0), "{before}");
    assert_eq!(
        before["offered_unanswerable"].as_f64(),
        Some(0.0),
        "{before}"
    );
    // The pick was learned: the same wording is now answered.
    assert!(said.contains("learned 1 phrasings"), "{said}");
    assert_eq!(after["coverage"].as_f64(), Some(1.0), "{after}");
    assert_eq!(after["wrong"].as_u64(), Some(0), "{after}");
}
