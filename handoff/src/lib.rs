//! The handoff store: tickets, their transcripts, the agent queue, ratings,
//! and the per-chat conversation state, kept in SQLite (default) or
//! Postgres through sqlx.
//!
//! This is the only crate that speaks SQL. Everything written here survives
//! a crash once the call returns: a ticket, a relayed message or a rating
//! acknowledged to the caller is on disk.
//!
//! Secrets are masked ([`redact`]) before any text is stored, and details
//! (UID, order id, tx hash, email) are lifted from text by [`details`].

pub mod details;
mod model;
pub mod redact;
mod store;
#[doc(hidden)]
pub mod testing;

pub use details::Details;
pub use model::*;
pub use store::{BackendKind, Store, StoreError};
