//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `warn`;
//! `error` for the console chat, whose conversation already shows what a
//! warning would say, such as a refused command, and must stay readable). Message bodies and tokens are never
//! logged at info level or above. Colours only when stderr is a terminal:
//! a log redirected to a file or a collector gets plain text.

use tracing_subscriber::EnvFilter;

use crate::telegram::redact::{Redacting, secrets_from_env};

/// Starts logging; `default` is the filter when `RUST_LOG` is not set.
pub fn init(default: &str) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Whatever a dependency logs, the bot token and webhook secret from the
    // environment are replaced before a line reaches stderr.
    let writer = Redacting::new(std::io::stderr, secrets_from_env());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
