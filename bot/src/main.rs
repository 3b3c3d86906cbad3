//! The `helpdesk` binary: everything is in [`bot::process::main`] (command
//! line, logging, exit codes), so the tests' copy of it behaves the same.

use std::process::ExitCode;

fn main() -> ExitCode {
    bot::process::main()
}
