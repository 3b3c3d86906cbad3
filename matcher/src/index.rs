//! The index over FAQ questions and keywords, and the scoring that ranks
//! entries and turns scores into a calibrated confidence.

use crate::faq::Faq;
use crate::{Decision, MatcherConfig};

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// tantivy refused the schema or a document.
    #[error("building the search index failed: {0}")]
    Index(String),
}

/// Ranks FAQ entries for a query. Built once per FAQ version; `decide`
/// does no I/O and is safe to call from many threads.
pub struct Matcher {
    config: MatcherConfig,
}

impl Matcher {
    pub fn build(faq: &Faq, config: MatcherConfig) -> Result<Matcher, BuildError> {
        let _ = faq;
        Ok(Matcher { config })
    }

    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// Ranks the entries for `query` and decides what to do.
    pub fn decide(&self, query: &str) -> Decision {
        let _ = query;
        todo!("matcher")
    }
}
