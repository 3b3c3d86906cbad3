//! The `helpdesk` binary: parse the command line, set up logging, run the
//! command, and map errors to a message and a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bot::cli::Cli::parse();
    bot::telemetry::init();
    match bot::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
