//! The validated, merged FAQ that the matcher and the engine read.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A short lowercase language tag such as `zh` or `en`.
pub type Lang = String;

/// The whole FAQ after loading and validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Faq {
    pub default_language: Lang,
    pub categories: Vec<Category>,
    /// Groups of terms that match each other (`synonyms:` in the files).
    pub synonyms: Vec<Vec<String>>,
    /// In file order; files of a folder in name order.
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: String,
    /// Title per language.
    pub title: BTreeMap<Lang, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: String,
    pub category: Option<String>,
    /// Questions per language; at least one question overall.
    pub questions: BTreeMap<Lang, Vec<String>>,
    pub keywords: Vec<String>,
    /// Answer per language; always has `default_language`.
    pub answer: BTreeMap<Lang, String>,
    /// Answer AND open a ticket (e.g. a stolen account).
    pub escalate: bool,
    /// Where the entry starts (its `id:`), for messages about it.
    pub source: SourceLocation,
}

/// A place in a FAQ file; line and column are 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the FAQ files.
///
/// Displays as `file:line:column: error: [entry ID] message`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// `None` only when the problem has no place (e.g. an empty folder).
    pub location: Option<SourceLocation>,
    pub entry_id: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: ")?;
        if let Some(id) = &self.entry_id {
            write!(f, "[entry {id}] ")?;
        }
        f.write_str(&self.message)
    }
}

/// A FAQ that loaded, with the warnings it still deserves.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub faq: Faq,
    pub warnings: Vec<Diagnostic>,
}

/// Why a FAQ could not be loaded: the crate's [`Error`](crate::Error),
/// [`Io`](crate::Error::Io) or [`Invalid`](crate::Error::Invalid). The name
/// stays for callers that match `LoadError::Invalid { diagnostics }`.
pub type LoadError = crate::Error;

impl Faq {
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The answer of `entry` in `lang`, else in the default language.
    pub fn answer<'a>(&'a self, entry: &'a Entry, lang: &str) -> &'a str {
        entry
            .answer
            .get(lang)
            .or_else(|| entry.answer.get(&self.default_language))
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// A question of `entry` to show as its title in `lang`: the first
    /// question in that language, else in the default language, else any.
    pub fn title<'a>(&'a self, entry: &'a Entry, lang: &str) -> &'a str {
        entry
            .questions
            .get(lang)
            .or_else(|| entry.questions.get(&self.default_language))
            .or_else(|| entry.questions.values().next())
            .and_then(|qs| qs.first())
            .map(String::as_str)
            .unwrap_or(&entry.id)
    }

    /// The title of a category in `lang`, else the default language, else its id.
    pub fn category_title<'a>(&'a self, category: &'a Category, lang: &str) -> &'a str {
        category
            .title
            .get(lang)
            .or_else(|| category.title.get(&self.default_language))
            .or_else(|| category.title.values().next())
            .map(String::as_str)
            .unwrap_or(&category.id)
    }
}
