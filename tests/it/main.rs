//! One integration-test binary for the whole workspace (see ARCHITECTURE.md).
//! Each module is one area of the product, tested from the outside.

mod admin;
mod conversations;
mod fake_bot_api;
mod faq_files;
mod journeys;
mod matcher_quality;
mod operators;
mod store;
mod support;
mod telegram;
mod telegram_process;
mod transcripts;
