//! The matcher's one error type. Building an index cannot fail; what can
//! is reading what the matcher is given: FAQ files, a queries file, a
//! confidence prior, and (a defect of the build, never of the input) the
//! compiled-in word-vector tables. Each variant carries what a person
//! needs to fix it: the path, the line, every diagnostic.

use std::path::PathBuf;

use crate::faq::{Diagnostic, Severity};

/// Why the matcher could not read something it was given.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder (FAQ or queries) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The FAQ files were read but are not a valid FAQ; `diagnostics` holds
    /// every error found (and the warnings), each with its place.
    #[error("{} error(s) in the FAQ, first: {}", count_errors(.diagnostics), first_error(.diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
    /// A line of a queries file is not `query<TAB>expected`, or the header
    /// is missing (`line` is 1-based).
    #[error("{path}:{line}: {message}")]
    Queries {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A prior file is not JSON of the prior format.
    #[error("not a prior file: {0}")]
    PriorFormat(#[source] serde_json::Error),
    /// A prior file was fitted for other features than this version reads
    /// (its feature names, or the lengths of its weights, differ).
    #[error("the prior reads other features than this version: {0}")]
    PriorFeatures(String),
    /// A compiled-in word-vector table is malformed: a defect of the build
    /// (the tables are checked by tests), never of the input.
    #[error("word-vector table: {0}")]
    WordVectors(&'static str),
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

fn first_error(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .unwrap_or_default()
}
