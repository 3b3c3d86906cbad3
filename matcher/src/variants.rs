//! FAQ variants for measuring and fitting the matcher: the sparse FAQ an
//! admin typically writes (a few questions an entry), and a split of a FAQ
//! into a smaller FAQ and the questions it no longer has, labelled, with
//! some entries hidden so that their questions have no answer.
//!
//! The quality tests make the sparse variants from the shared files at
//! test time, and `examples/fit_prior.rs` fits the confidence prior on
//! splits (never on an evaluation set's queries).

use crate::eval::LabeledQuery;
use crate::faq::Faq;

/// How many questions of each language an entry keeps; a language not
/// named keeps all of its questions.
pub type Keep<'a> = &'a [(&'a str, usize)];

fn kept(keep: Keep, language: &str) -> Option<usize> {
    keep.iter().find(|(l, _)| *l == language).map(|&(_, n)| n)
}

/// `faq` with only the first questions of each language of every entry
/// (keywords and answers unchanged). Sparse faq-data is
/// `sparse(faq, &[("zh", 3), ("en", 2)])`.
pub fn sparse(faq: &Faq, keep: Keep) -> Faq {
    let mut faq = faq.clone();
    for entry in &mut faq.entries {
        for (language, questions) in entry.questions.iter_mut() {
            if let Some(n) = kept(keep, language) {
                questions.truncate(n);
            }
        }
    }
    faq
}

/// `faq` split into a smaller FAQ and the questions it no longer has: every
/// `hide_every`-th entry (from `offset`) is left out whole, its questions
/// asked with no answer expected; the others keep their first questions as
/// `keep` says, and their other questions are asked expecting them.
pub fn split(faq: &Faq, keep: Keep, hide_every: usize, offset: usize) -> (Faq, Vec<LabeledQuery>) {
    let mut small = faq.clone();
    small.entries.clear();
    let mut asked = Vec::new();
    for (i, entry) in faq.entries.iter().enumerate() {
        let hidden = hide_every > 0 && i % hide_every == offset % hide_every;
        let mut entry = entry.clone();
        for (language, questions) in entry.questions.iter_mut() {
            let n = if hidden {
                0
            } else {
                kept(keep, language).unwrap_or(questions.len())
            };
            for question in questions.iter().skip(n) {
                asked.push(LabeledQuery {
                    query: question.clone(),
                    expected: (!hidden).then(|| entry.id.clone()),
                    line: 0,
                });
            }
            questions.truncate(n);
        }
        if !hidden {
            small.entries.push(entry);
        }
    }
    (small, asked)
}

/// `faq` with learned phrasings (entry id, text) as questions of their
/// entries: Chinese for a text with a Han character, else the entry's
/// language when its questions are in one, else English. A phrasing of
/// an entry the FAQ no longer has, or one its entry already asks, is left
/// out.
pub fn with_learned(faq: &Faq, learned: &[(String, String)]) -> Faq {
    let mut faq = faq.clone();
    for (entry_id, text) in learned {
        let Some(entry) = faq.entries.iter_mut().find(|e| &e.id == entry_id) else {
            continue;
        };
        if entry.questions.values().flatten().any(|q| q == text) {
            continue;
        }
        let language = if text.chars().any(crate::analyze::is_han) {
            "zh".to_string()
        } else if entry.questions.len() == 1 {
            entry.questions.keys().next().cloned().unwrap_or_default()
        } else {
            "en".to_string()
        };
        entry
            .questions
            .entry(language)
            .or_default()
            .push(text.clone());
    }
    faq
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::faq::{Entry, SourceLocation};

    fn entry(id: &str, zh: &[&str], en: &[&str]) -> Entry {
        let mut questions = BTreeMap::new();
        questions.insert("zh".into(), zh.iter().map(|s| s.to_string()).collect());
        questions.insert("en".into(), en.iter().map(|s| s.to_string()).collect());
        Entry {
            id: id.into(),
            category: None,
            questions,
            keywords: Vec::new(),
            answer: BTreeMap::new(),
            escalate: false,
            source: SourceLocation::default(),
        }
    }

    fn faq() -> Faq {
        Faq {
            default_language: "zh".into(),
            categories: Vec::new(),
            synonyms: Vec::new(),
            entries: vec![
                entry("a", &["一", "二", "三", "四"], &["one", "two", "three"]),
                entry("b", &["五", "六"], &["five", "six"]),
            ],
        }
    }

    #[test]
    fn a_sparse_faq_keeps_the_first_questions_of_each_named_language() {
        let sparse = sparse(&faq(), &[("zh", 3), ("en", 1)]);
        assert_eq!(sparse.entries[0].questions["zh"], ["一", "二", "三"]);
        assert_eq!(sparse.entries[0].questions["en"], ["one"]);
        assert_eq!(sparse.entries[1].questions["zh"], ["五", "六"]);
    }

    #[test]
    fn a_split_asks_what_it_left_out_and_hides_whole_entries() {
        let (small, asked) = split(&faq(), &[("zh", 3), ("en", 2)], 2, 1);
        assert_eq!(small.entries.len(), 1);
        assert_eq!(small.entries[0].id, "a");
        let labelled: Vec<(&str, Option<&str>)> = asked
            .iter()
            .map(|q| (q.query.as_str(), q.expected.as_deref()))
            .collect();
        assert_eq!(
            labelled,
            [
                ("three", Some("a")),
                ("四", Some("a")),
                ("five", None),
                ("six", None),
                ("五", None),
                ("六", None),
            ]
        );
    }
}
