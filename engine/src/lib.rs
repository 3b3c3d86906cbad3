//! The conversation engine: pure decisions, no I/O.
//!
//! It takes one event and the state that matters for it (the user's
//! [`Conversation`], a view of their open ticket) and returns [`Effect`]s:
//! what to say and what to store. The desk (in the `bot` crate) executes
//! effects against the store and feeds results back (a ticket that opened). Telegram,
//! the console and the tests are shells around that; nothing here knows
//! tokio, sqlx or teloxide.
//!
//! Cargo enforces the last sentence: this crate depends on `handoff`
//! without its `store` feature, so sqlx and tokio are not in its tree, and
//! teloxide never was.
//!
//! - [`conversation`]: a user's conversation ([`Engine::on_user`]).
//! - [`staff`]: agents' decisions (claim, reply, note, transfer, close, …).
//! - [`commands`]: the one command vocabulary: every command of users,
//!   agents and admins, who may use it, its help text; the one parser.
//! - [`render`]: the one place where replies become words.

pub mod commands;
pub mod conversation;
mod language;
pub mod render;
mod reply;
pub mod staff;
mod understand;

pub use commands::{AdminCommand, AgentCommand, BanCommand, BanTarget, Command, UserCommand};
pub use conversation::*;
pub use language::{detect_language, normalize_language_code};
pub use reply::{Action, BackAt, PastTicket, QueueInfo, QueueLine, Refusal, Reply, TicketCard};
pub use staff::{AgentProfile, AgentState, Staff, StaffEffect};
pub use understand::{Understanding, understand};
