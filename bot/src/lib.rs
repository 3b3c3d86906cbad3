//! helpdesk: a Telegram support bot that answers from its FAQ when it is
//! sure and hands everything else to human agents with the conversation.
//!
//! This crate is the binary's library: it re-exports the pure [`engine`]
//! crate (with the words in [`render`]) and holds the [`desk`] that runs the engine against the store, the
//! shells ([`console`], [`telegram`]), [`settings`], [`startup`] wiring, the [`cli`],
//! and the [`process`] around a command.

pub mod admin;
pub mod cli;
pub mod console;
pub mod desk;
pub mod process;
pub mod settings;
pub mod startup;
pub mod telegram;
pub mod telemetry;

pub use engine::{self, render};
