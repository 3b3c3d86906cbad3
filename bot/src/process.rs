//! The process around a command: parse the command line, set up logging,
//! run the command, and map its outcome to an exit code, with the error
//! said once. `main.rs` is this one call, so tests can build a binary that
//! behaves exactly like `helpdesk` (see `tests/bin/helpdesk-it.rs`).

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Runs `helpdesk` with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if prints_and_exits(&cli.command) {
        die_quietly_on_a_closed_pipe();
    }
    let default_log = match cli.command {
        Command::Chat { .. } => "error",
        _ => "warn",
    };
    crate::telemetry::init(default_log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// Commands that print a result and exit, whose output is often piped
/// into `head` or `less`; not the long-running shells (`chat`, `run`).
fn prints_and_exits(command: &Command) -> bool {
    !matches!(command, Command::Chat { .. } | Command::Run { .. })
}

/// Rust ignores SIGPIPE, so a `println!` into a pipe whose reader has gone
/// (`helpdesk ask … | head -2`) panics. Commands that only print take the
/// usual Unix way instead: the process ends silently, like `cat` or `grep`.
#[cfg(unix)]
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: called at the start of `main`, before any other thread
    // exists; it restores the default disposition of one signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_a_closed_pipe() {}

/// An error and its causes on one line, each said once: a cause whose
/// text the message already carries (many errors print their source in
/// their own message) is not repeated.
pub fn describe(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || message.contains(text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cause_the_message_already_carries_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read q.tsv: {0}")]
        struct Read(#[source] std::io::Error);
        let error = anyhow::Error::new(Read(io)).context("evaluating");
        assert_eq!(
            describe(&error),
            "evaluating: cannot read q.tsv: No such file"
        );
    }
}
