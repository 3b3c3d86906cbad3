//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `warn`, so
//! the console chat stays readable). Message bodies and tokens are never
//! logged at info level or above.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
