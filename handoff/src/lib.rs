//! The handoff store: tickets, their transcripts, the agent queue, ratings,
//! and the per-chat conversation state, kept in SQLite (default) or
//! Postgres through sqlx.
//!
//! This is the only crate that speaks SQL. Everything written here survives
//! a crash once the call returns: a ticket, a relayed message or a rating
//! acknowledged to the caller is on disk.
//!
//! Which agent may take which ticket is configuration ([`Routing`]), and so
//! are the desk's opening hours ([`BusinessHours`]).
//!
//! Secrets are masked ([`redact`]) before any text is stored, and details
//! (UID, order id, tx hash, email) are lifted from text by [`details`].

pub mod details;
pub mod hours;
mod model;
pub mod redact;
pub mod routing;
#[cfg(feature = "store")]
mod store;
#[cfg(feature = "store")]
#[doc(hidden)]
pub mod testing;

pub use details::Details;
pub use hours::BusinessHours;
pub use model::*;
pub use routing::Routing;
#[cfg(feature = "store")]
pub use store::learned::Learned;
#[cfg(feature = "store")]
pub use store::{BackendKind, Pending, PendingKind, Store, StoreError};
