//! `helpdesk` as the tests run it: the same [`bot::process::main`] as the
//! shipped binary (whose `main.rs` is this one call), built inside this
//! package so the integration tests can spawn it (`CARGO_BIN_EXE_helpdesk-it`)
//! for what only a real process shows: exit codes, stderr, broken pipes.

fn main() -> std::process::ExitCode {
    bot::process::main()
}
