//! Retrieval: which entries are worth ranking in full for a query.
//!
//! The query's terms are weighed against the FAQ's dictionary, then an
//! inverted index of our own (term → texts with their BM25 term frequency)
//! scores the texts sharing terms with the query, rarest terms first; on a
//! large FAQ the commonest terms are skipped once a posting budget is
//! spent, which keeps a query on a 100,000-entry FAQ well under a
//! millisecond. The entries of the best texts go to ranking (`rank.rs`).

use std::cell::RefCell;

use crate::analyze::Terms;
use crate::fxmap::term_key;

use super::build::kind_lists;
use super::vectors::sum_by_term;
use super::{HeldOut, Matcher};

/// How many entries retrieval hands to ranking.
const RERANK: usize = 16;

/// How many postings retrieval reads at most: the rarest query terms come
/// first, so on a large FAQ the commonest terms are skipped (ranking still
/// reads every term of the candidates). Never binds on a FAQ of a few
/// thousand questions.
const POSTING_BUDGET: usize = 10_000;

/// A query ready to score.
pub(super) struct Query {
    /// Known term ids (sorted) and their BM25 query weights.
    pub(super) ids: Vec<u32>,
    pub(super) bm: Vec<f32>,
    /// Sum of BM25 query weights, unknown terms included: the score of a
    /// text of average length holding every query term once.
    pub(super) bm_total: f32,
    /// TF-IDF vector over known terms (sorted by id), and its full norm.
    pub(super) vector: Vec<(u32, f32)>,
    pub(super) norm: f32,
    /// Distinct word terms the FAQ knows.
    pub(super) known_words: usize,
    /// Share of the query's squared norm from terms the FAQ never uses.
    pub(super) unknown_share: f32,
}

thread_local! {
    /// Per-doc score accumulator of retrieval, kept zeroed between calls.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Per term id, while one query is ranked: its TF-IDF weight in the
    /// query and 1 + its place in the query's terms (0: not in the query);
    /// kept zeroed between calls. Scoring a text is then one pass over its
    /// terms instead of a merge with the query's.
    static QUERY_TERMS: RefCell<Vec<(f32, u32)>> = const { RefCell::new(Vec::new()) };
}

impl Matcher {
    /// The query's terms and weights. A term only the held-out text (or
    /// entry) uses counts as unknown, as it would for a real question.
    pub(super) fn query(&self, terms: &Terms, held_out: HeldOut) -> Query {
        let mut counts: Vec<(u32, f32)> = Vec::new();
        let mut unknown: Vec<(usize, &str)> = Vec::new();
        for (kind, list) in kind_lists(terms).into_iter().enumerate() {
            for token in list {
                let known = self
                    .vocabulary
                    .get(&term_key(kind as u8, token))
                    .copied()
                    .filter(|&id| match held_out {
                        HeldOut::Nothing => true,
                        HeldOut::Docs(_, hidden) => {
                            let in_hidden = hidden
                                .iter()
                                .filter(|&&d| {
                                    self.docs[d as usize]
                                        .bm25
                                        .binary_search_by_key(&id, |&(t, _)| t)
                                        .is_ok()
                                })
                                .count();
                            self.doc_df[id as usize] as usize > in_hidden
                        }
                        HeldOut::Entry(_) => self.entry_df[id as usize] > 1,
                    });
                match known {
                    Some(id) => counts.push((id, 1.0)),
                    None => unknown.push((kind, token.as_str())),
                }
            }
        }
        sum_by_term(&mut counts);
        unknown.sort_unstable();
        let mut unknown_counts: Vec<(usize, f32)> = Vec::new();
        for pair in unknown.chunk_by(|a, b| a == b) {
            unknown_counts.push((pair[0].0, pair.len() as f32));
        }
        let tf_weight = |tf: f32| 1.0 + tf.ln();
        let ids: Vec<u32> = counts.iter().map(|&(id, _)| id).collect();
        let bm: Vec<f32> = counts
            .iter()
            .map(|&(id, tf)| tf_weight(tf) * self.bm_weights[id as usize])
            .collect();
        let bm_total = bm.iter().sum::<f32>()
            + unknown_counts
                .iter()
                .map(|&(kind, tf)| tf_weight(tf) * self.unknown_bm[kind])
                .sum::<f32>();
        let vector: Vec<(u32, f32)> = counts
            .iter()
            .map(|&(id, tf)| (id, tf_weight(tf) * self.weights[id as usize]))
            .collect();
        let unknown_sq: f32 = unknown_counts
            .iter()
            .map(|&(kind, tf)| (tf_weight(tf) * self.unknown_weights[kind]).powi(2))
            .sum();
        let known_sq: f32 = vector.iter().map(|(_, w)| w * w).sum();
        let norm = (known_sq + unknown_sq).sqrt();
        let known_words = ids
            .iter()
            .filter(|&&id| self.term_kind[id as usize] == 0)
            .count();
        Query {
            ids,
            bm,
            bm_total,
            vector,
            norm,
            known_words,
            unknown_share: if norm > 0.0 {
                unknown_sq / (norm * norm)
            } else {
                0.0
            },
        }
    }

    /// The entries worth ranking in full: those of the texts with the best
    /// BM25 for the query, best first.
    pub(super) fn retrieve(&self, query: &Query, held_out: HeldOut) -> Vec<u32> {
        // Rarest terms first; common terms only while the posting budget
        // lasts (ranking then reads every term of the candidates).
        let mut order: Vec<usize> = (0..query.ids.len()).collect();
        order.sort_unstable_by_key(|&i| self.doc_df[query.ids[i] as usize]);
        SCRATCH.with(|scratch| {
            let mut acc = scratch.borrow_mut();
            if acc.len() < self.docs.len() {
                acc.resize(self.docs.len(), 0.0);
            }
            let mut touched: Vec<u32> = Vec::new();
            let mut spent = 0usize;
            for (n, &i) in order.iter().enumerate() {
                let t = query.ids[i] as usize;
                let list = &self.postings[self.offsets[t] as usize..self.offsets[t + 1] as usize];
                if n >= 2 && spent + list.len() > POSTING_BUDGET {
                    break;
                }
                spent += list.len();
                let w = query.bm[i];
                for &(d, tf) in list {
                    let slot = &mut acc[d as usize];
                    if *slot == 0.0 {
                        touched.push(d);
                    }
                    *slot += w * tf;
                }
            }
            // Reset the accumulator whatever happens next.
            let mut hits: Vec<(u32, f32)> = touched
                .iter()
                .map(|&d| {
                    let score = std::mem::take(&mut acc[d as usize]);
                    (d, score)
                })
                .filter(|&(d, _)| !held_out.hides(d, self.docs[d as usize].entry))
                .collect();
            // Enough texts to fill RERANK entries unless entries have many.
            let keep = RERANK * 8;
            if hits.len() > keep {
                hits.select_nth_unstable_by(keep, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                hits.truncate(keep);
            }
            hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut candidates: Vec<u32> = Vec::with_capacity(RERANK);
            for &(d, _) in &hits {
                let e = self.docs[d as usize].entry;
                if !candidates.contains(&e) {
                    candidates.push(e);
                    if candidates.len() == RERANK {
                        break;
                    }
                }
            }
            candidates
        })
    }

    /// Runs `f` with the query's terms in `QUERY_TERMS` (see there), and
    /// clears them again.
    pub(super) fn with_query_terms<R>(
        &self,
        query: &Query,
        f: impl FnOnce(&[(f32, u32)]) -> R,
    ) -> R {
        QUERY_TERMS.with(|cell| {
            let mut lookup = cell.borrow_mut();
            if lookup.len() < self.term_kind.len() {
                lookup.resize(self.term_kind.len(), (0.0, 0));
            }
            for (i, &(id, w)) in query.vector.iter().enumerate() {
                lookup[id as usize] = (w, i as u32 + 1);
            }
            let out = f(&lookup);
            for &id in &query.ids {
                lookup[id as usize] = (0.0, 0);
            }
            out
        })
    }
}
