//! The matcher: everything helpdesk knows about its FAQ and how it finds the
//! entry that answers a user's question.
//!
//! Three parts, each usable alone:
//! - [`faq`]: the FAQ files as data (load, merge, validate, diagnose with
//!   file:line:column);
//! - [`Matcher`]: an in-memory index over the FAQ that ranks entries for a
//!   question and decides whether to answer, suggest, or give up;
//! - [`eval`]: the metrics of the evaluation contract (`faq-format.md`),
//!   shared by the `eval` command and the quality tests.
//!
//! The matcher does no I/O once its index is built: `decide` is a pure
//! function of the query and the index.

pub mod eval;
pub mod faq;
pub mod prior;
pub mod variants;

mod analyze;
mod calibrate;
mod closeness;
mod correct;
mod error;
mod features;
mod fxmap;
mod index;
mod normalize;
mod semantic;

pub use analyze::is_han;
pub use error::Error;
pub use faq::{Diagnostic, Faq, LoadError, Loaded, Severity};
pub use index::{Evidence, Matcher};
pub use normalize::question_key;
pub use prior::Prior;

use serde::{Deserialize, Serialize};

/// The thresholds that turn ranked candidates into a decision.
///
/// Confidence is in `[0, 1]`; see ARCHITECTURE.md ("What confidence means")
/// for how it is computed and how to choose the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatcherConfig {
    /// Auto-answer when the best candidate's confidence is at least this...
    /// (an estimated probability of being right, learned from the FAQ's own
    /// questions asked back: 0.95 answers only when about 19 in 20 answers
    /// like it are right. On a FAQ of hand-written questions the estimate is
    /// cautious, so a lower threshold may still be precise enough: measure
    /// with `helpdesk eval --report` before lowering it)
    pub answer_threshold: f32,
    /// ...and it leads the runner-up by at least this much confidence.
    pub margin: f32,
    /// Below `answer_threshold`, candidates at or above this are offered as
    /// "did you mean"; below it, there is no match.
    pub suggest_threshold: f32,
    /// How many "did you mean" options at most.
    pub max_suggestions: usize,
}

impl Default for MatcherConfig {
    fn default() -> Self {
        Self {
            answer_threshold: 0.95,
            margin: 0.1,
            suggest_threshold: 0.3,
            max_suggestions: 3,
        }
    }
}

/// One FAQ entry ranked for a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub entry_id: String,
    /// In `[0, 1]`; higher is surer.
    pub confidence: f32,
}

/// What the matcher would do with a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Confident: auto-answer with this entry.
    Answer { entry_id: String },
    /// Close candidates or middling confidence: ask "did you mean" (best first).
    Suggest { entry_ids: Vec<String> },
    /// Nothing relevant enough.
    NoMatch,
}

/// The outcome plus the ranked candidates behind it (best first, at most 5),
/// which the transcript keeps so agents see what the bot considered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub candidates: Vec<Candidate>,
}

impl Decision {
    /// The entry the bot auto-answers with, if any.
    pub fn answered(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Answer { entry_id } => Some(entry_id),
            _ => None,
        }
    }

    /// The best candidate, confident or not.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}
