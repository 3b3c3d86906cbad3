//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `warn`, so
//! the console chat stays readable). Message bodies and tokens are never
//! logged at info level or above.

use tracing_subscriber::EnvFilter;

use crate::telegram::redact::{Redacting, secrets_from_env};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Whatever a dependency logs, the bot token and webhook secret from the
    // environment are replaced before a line reaches stderr.
    let writer = Redacting::new(std::io::stderr, secrets_from_env());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}
