//! Ranking: each entry retrieval found (and, on a small FAQ, those closest
//! in meaning) scored against the query, and the evidence the confidence
//! model reads for each.
//!
//! An entry's score mixes TF-IDF cosine to its closest question and to its
//! centroid (all its questions) with the meaning cosine (static word
//! vectors, see `semantic.rs`) to its closest question and to its meaning
//! centroid, in the query's meaning space (Chinese for a text with Chinese
//! in it, else English); the leading entries are then pulled towards their
//! character similarity to their closest question (typos that split words
//! differently). On a FAQ of up to `MEANING_SCAN` questions in that space
//! the entries closest in meaning join the candidates even if they share
//! no term with the query.

use crate::analyze::Terms;
use crate::closeness;
use crate::features::{FEATURES, Feature};
use crate::semantic::{self, Space};

use super::retrieve::Query;
use super::vectors::{centroid, covered_share, query_dot, record_terms, sparse_dot};
use super::{EntryInfo, HeldOut, Matcher, texts_in_space};

/// Share of the best single question in an entry's score (rest: centroid).
const BEST_QUESTION_SHARE: f32 = 0.4;

/// Share of meaning (static word vectors, see `semantic.rs`) in an entry's
/// score when both the query and the entry have a vector.
const MEANING_SHARE: f32 = 0.2;

/// Up to this many question vectors, every query compares its meaning with
/// all of them, so an entry sharing no word with the query can still be
/// ranked; above it, only the entries retrieval found are compared.
const MEANING_SCAN: usize = 3_000;

/// How many entries the meaning scan adds to those retrieval found.
const MEANING_CANDIDATES: usize = 6;

/// How many leading entries get the character similarity re-rank.
const TYPO_RERANK: usize = 5;

/// Share of the entry's meaning centroid (the mean of its questions'
/// meaning vectors) in the meaning cosine that ranks it; the rest is the
/// cosine to its closest question.
const MEANING_CENTROID_SHARE: f32 = 0.3;

/// How far character similarity pulls the score towards itself.
const TYPO_SHARE: f32 = 0.15;

/// One ranked entry and the evidence behind its score.
#[derive(Debug, Clone)]
pub(super) struct Scored {
    pub(super) entry: u32,
    /// The ranking score.
    pub(super) score: f32,
    /// BM25 of the entry's questions taken together (each term at its
    /// best, saturated at one occurrence) over the query's own: how much of
    /// the query the entry explains.
    pub(super) bm_entry: f32,
    /// Cosine with the closest question of the entry.
    pub(super) cos_best: f32,
    /// Cosine with the entry's centroid.
    pub(super) cos_centroid: f32,
    /// The question of the entry closest to the query (by cosine).
    pub(super) closest: u32,
    /// Cosine of meaning with the entry's closest question, when both the
    /// query and the entry have meaning vectors.
    pub(super) meaning: Option<f32>,
    /// Cosine of meaning with the entry's meaning centroid.
    pub(super) meaning_centroid: Option<f32>,
    /// The entry's question closest in meaning, and how well its words
    /// align with the query's (see `WordVectors::alignment`; only where
    /// the confidence model reads it).
    pub(super) closest_meaning: Option<u32>,
    pub(super) aligned: Option<f32>,
    /// Share of the query's known words that no text of the entry uses.
    pub(super) unexplained: f32,
    /// How much of the closest question the query covers: the share of
    /// that question's term weight (BM25 idf × kind weight) in terms the
    /// query has too. The other direction of `bm_entry`: a question that
    /// asks more than the query (借呗 *提前* 还款 for 借呗还款) covers less.
    pub(super) covered: f32,
    /// How close the entry's texts are to each other.
    pub(super) spread: Spread,
}

/// How close an entry's texts are to each other (see `closeness.rs`), by
/// TF-IDF cosine and by meaning (in the query's space): typically, and for
/// the question closest to the query (by each) its closest sibling.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Spread {
    pub(super) typical: f32,
    pub(super) local: f32,
    pub(super) typical_meaning: f32,
    pub(super) local_meaning: f32,
}

/// The ranked entries of one query.
pub(super) struct Ranking {
    pub(super) scored: Vec<Scored>,
    pub(super) known_words: usize,
    pub(super) unknown_share: f32,
    /// The query was embedded in the Chinese meaning space (it has Chinese
    /// in it): the confidence model weighs its evidence as Chinese.
    pub(super) chinese: bool,
}

impl Ranking {
    /// The features the confidence model reads for the `i`-th entry.
    pub(super) fn features(&self, i: usize) -> [f32; FEATURES] {
        let s = &self.scored[i];
        // The other ranked entries: the runner-up's evidence.
        let others = || {
            self.scored
                .iter()
                .enumerate()
                .filter(move |&(j, _)| j != i)
                .map(|(_, o)| o)
        };
        let other = others().map(|o| o.score).fold(0.0f32, f32::max);
        let meaning = s.meaning.unwrap_or(0.0);
        let other_meaning = others().filter_map(|o| o.meaning).fold(-1.0f32, f32::max);
        let other_centroid = others().filter_map(|o| o.meaning_centroid).reduce(f32::max);
        let mut f = [0.0f32; FEATURES];
        f[Feature::Score] = s.score;
        f[Feature::CosineClosest] = s.cos_best;
        f[Feature::CosineCentroid] = s.cos_centroid;
        f[Feature::ScoreLead] = s.score - other;
        f[Feature::LogKnownWords] = (1.0 + self.known_words as f32).ln();
        f[Feature::UnknownShare] = self.unknown_share;
        // Also the untrained model's main input (see calibrate.rs).
        f[Feature::Explained] = s.bm_entry;
        f[Feature::HasMeaning] = if s.meaning.is_some() { 1.0 } else { 0.0 };
        f[Feature::Meaning] = meaning;
        f[Feature::MeaningLead] = if s.meaning.is_some() && other_meaning > -1.0 {
            meaning - other_meaning
        } else {
            0.0
        };
        f[Feature::UnexplainedWords] = s.unexplained;
        // The query's closeness against the entry's own spread.
        f[Feature::ClosenessTypical] = s.cos_best - s.spread.typical;
        f[Feature::ClosenessLocal] = s.cos_best - s.spread.local;
        f[Feature::MeaningTypical] = s.meaning.map_or(0.0, |m| m - s.spread.typical_meaning);
        f[Feature::MeaningLocal] = s.meaning.map_or(0.0, |m| m - s.spread.local_meaning);
        f[Feature::MeaningCentroid] = s.meaning_centroid.unwrap_or(0.0);
        f[Feature::MeaningCentroidLead] = match (s.meaning_centroid, other_centroid) {
            (Some(m), Some(other)) => m - other,
            _ => 0.0,
        };
        f[Feature::Aligned] = s.aligned.unwrap_or(0.0);
        f[Feature::Covered] = s.covered;
        f
    }
}

/// What ranking compares every candidate entry with.
#[derive(Clone, Copy)]
struct Probe<'a> {
    query: &'a Query,
    /// The query's centred meaning vector and its space.
    meaning: Option<(Space, &'a [f32])>,
    /// On a small FAQ: the query's meaning cosine with every text (see
    /// `scan_meaning`).
    scanned: Option<&'a [f32]>,
    held_out: HeldOut<'a>,
}

/// An entry's texts closest to the query.
struct Closest {
    /// The best TF-IDF dot product (not yet divided by the query's norm),
    /// and its text (`u32::MAX` when the entry has none left).
    cos: f32,
    text: u32,
    /// The best meaning cosine and its text.
    meaning: Option<(f32, u32)>,
}

impl Matcher {
    /// Entries with their scores, best first. `held_out` hides a question
    /// or a whole entry (calibration asks FAQ questions back).
    /// `meaning`: the query's centred meaning vector and its space, if it
    /// has one (compared with the questions of that space only).
    pub(super) fn rank(
        &self,
        terms: &Terms,
        text: &str,
        meaning: Option<(Space, &[f32])>,
        words: &[u32],
        held_out: HeldOut,
    ) -> Ranking {
        let query = self.query(terms, held_out);
        let mut ranking = Ranking {
            scored: Vec::new(),
            known_words: query.known_words,
            unknown_share: query.unknown_share,
            chinese: matches!(meaning, Some((Space::Chinese, _))),
        };
        if (query.ids.is_empty() && meaning.is_none()) || query.bm_total <= 0.0 {
            return ranking;
        }
        let mut candidates = self.retrieve(&query, held_out);
        let scanned = meaning.and_then(|(space, m)| self.scan_meaning(space, m));
        if let Some(doc_meaning) = &scanned {
            self.add_meaning_candidates(doc_meaning, held_out, &mut candidates);
        }
        let probe = Probe {
            query: &query,
            meaning,
            scanned: scanned.as_deref(),
            held_out,
        };
        let mut term_best = vec![0.0f32; query.ids.len()];
        let mut scored: Vec<Scored> = self.with_query_terms(&query, |lookup| {
            candidates
                .into_iter()
                .map(|e| self.score_entry(e, &probe, lookup, &mut term_best))
                .collect()
        });
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        self.align_words(&mut scored, meaning, words);
        self.rerank_typos(&mut scored, text);
        ranking.scored = scored;
        ranking
    }

    /// Scores entry `e` for the query (`lookup`: see `QUERY_TERMS`;
    /// `term_best`: scratch space, one slot per query term).
    fn score_entry(
        &self,
        e: u32,
        probe: &Probe,
        lookup: &[(f32, u32)],
        term_best: &mut [f32],
    ) -> Scored {
        let Probe {
            query,
            meaning,
            held_out,
            ..
        } = *probe;
        let info = &self.entries[e as usize];
        // What calibration hides of this entry (a whole hidden entry is
        // never a candidate).
        let hidden: &[u32] = match held_out {
            HeldOut::Docs(owner, hidden) if owner == e => hidden,
            _ => &[],
        };
        term_best.fill(0.0);
        let closest = self.closest_texts(info, hidden, probe, lookup, term_best);
        let (cos_best, closest, meaning_best) = (closest.cos, closest.text, closest.meaning);
        let bm_entry: f32 = term_best
            .iter()
            .zip(&query.bm)
            .map(|(tf, w)| tf.min(1.0) * w)
            .sum();
        let unexplained = unexplained_share(query, term_best, &self.term_kind);
        let covered = match self.docs.get(closest as usize) {
            Some(doc) => covered_share(lookup, &doc.bm25, &self.bm_weights),
            None => 0.0,
        };
        let own_centroid;
        let centroid_vector = if hidden.is_empty() {
            &info.centroid
        } else {
            own_centroid = centroid(&self.docs, &info.docs, hidden);
            &own_centroid
        };
        let cos_best = cos_best / query.norm;
        let cos_centroid = if centroid_vector.len() > 8 * query.vector.len() {
            // A long centroid: look the query's few terms up in it.
            sparse_dot(&query.vector, centroid_vector)
        } else {
            query_dot(lookup, centroid_vector)
        } / query.norm;
        let share = BEST_QUESTION_SHARE;
        let lexical = (share * cos_best + (1.0 - share) * cos_centroid).clamp(0.0, 1.0);
        let meaning_centroid =
            meaning.and_then(|(space, q)| self.meaning_centroid_cosine(e, space, q, hidden));
        let score = match (meaning_best, meaning_centroid) {
            (Some((m, _)), c) => {
                let m = match c {
                    Some(c) => m + MEANING_CENTROID_SHARE * (c - m),
                    None => m,
                };
                lexical + MEANING_SHARE * (m.max(0.0) - lexical)
            }
            (None, _) => lexical,
        };
        let spread = self.spread(
            info,
            hidden,
            closest,
            meaning
                .zip(meaning_best)
                .map(|((space, _), (_, d))| (space, d)),
        );
        Scored {
            entry: e,
            score,
            meaning: meaning_best.map(|(m, _)| m),
            meaning_centroid,
            closest_meaning: meaning_best.map(|(_, d)| d),
            aligned: None,
            bm_entry: bm_entry / query.bm_total,
            cos_best,
            cos_centroid,
            closest,
            unexplained,
            covered,
            spread,
        }
    }

    /// The texts of `info` (but `hidden`) closest to the query by TF-IDF
    /// (raw dot product) and by meaning, recording in `term_best` each
    /// query term's best BM25 term frequency among them.
    fn closest_texts(
        &self,
        info: &EntryInfo,
        hidden: &[u32],
        probe: &Probe,
        lookup: &[(f32, u32)],
        term_best: &mut [f32],
    ) -> Closest {
        let mut closest = Closest {
            cos: 0.0,
            text: u32::MAX,
            meaning: None,
        };
        for &d in &info.docs {
            if hidden.contains(&d) {
                continue;
            }
            let doc = &self.docs[d as usize];
            if let (Some((space, q)), Some((doc_space, row))) = (probe.meaning, doc.meaning)
                && space == doc_space
            {
                let cos = match probe.scanned {
                    Some(doc_meaning) => doc_meaning[d as usize],
                    None => semantic::cosine(q, self.meaning_row(space, row)),
                };
                if closest.meaning.is_none_or(|(best, _)| cos > best) {
                    closest.meaning = Some((cos, d));
                }
            }
            record_terms(lookup, &doc.bm25, term_best);
            let cos = query_dot(lookup, &doc.vector);
            if cos > closest.cos || closest.text == u32::MAX {
                closest.cos = cos;
                closest.text = d;
            }
        }
        closest
    }

    /// Word alignment with the question closest in meaning, when the
    /// confidence reads it (`words` not empty: the untrained curve, which
    /// orders every ranked entry, see `decide`).
    fn align_words(&self, scored: &mut [Scored], meaning: Option<(Space, &[f32])>, words: &[u32]) {
        if let Some((space, _)) = meaning
            && !words.is_empty()
        {
            let table = semantic::table(space);
            for s in scored.iter_mut() {
                if let Some(d) = s.closest_meaning {
                    s.aligned = table.alignment(words, &self.doc_words[d as usize]);
                }
            }
        }
    }

    /// Character similarity to the closest question of the leading
    /// entries: catches typos that split words differently. Re-sorts.
    fn rerank_typos(&self, scored: &mut [Scored], text: &str) {
        if text.is_empty() {
            return;
        }
        for s in scored.iter_mut().take(TYPO_RERANK) {
            if let Some(doc) = self.docs.get(s.closest as usize)
                && !doc.text.is_empty()
            {
                let similarity = strsim::normalized_levenshtein(text, &doc.text) as f32;
                s.score += TYPO_SHARE * (similarity - s.score);
            }
        }
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
    }

    /// On a FAQ with few enough questions: the query's meaning cosine with
    /// every text (NaN for texts without a meaning vector in its space).
    pub(super) fn scan_meaning(&self, space: Space, meaning: &[f32]) -> Option<Vec<f32>> {
        if self.meaning_space(space).len() > MEANING_SCAN {
            return None;
        }
        Some(
            self.docs
                .iter()
                .map(|doc| match doc.meaning {
                    Some((s, row)) if s == space => {
                        semantic::cosine(meaning, self.meaning_row(space, row))
                    }
                    _ => f32::NAN,
                })
                .collect(),
        )
    }

    /// How close `info`'s texts are to each other, leaving `hidden` out:
    /// typically, and the closest sibling of `closest` (by terms) and of
    /// `closest_meaning` (by meaning, in its space).
    pub(super) fn spread(
        &self,
        info: &EntryInfo,
        hidden: &[u32],
        closest: u32,
        closest_meaning: Option<(Space, u32)>,
    ) -> Spread {
        let near = |d: u32| &self.docs[d as usize].near;
        let near_meaning = |d: u32| &self.docs[d as usize].near_meaning;
        let mut spread = Spread {
            typical: if hidden.is_empty() {
                info.typical
            } else {
                closeness::typical(info.docs.iter().map(|&d| (d, near(d))), hidden)
            },
            local: self
                .docs
                .get(closest as usize)
                .and_then(|doc| doc.near.closest(hidden))
                .unwrap_or(0.0),
            ..Spread::default()
        };
        if let Some((space, d)) = closest_meaning {
            spread.typical_meaning = if hidden.is_empty() {
                info.typical_meaning[space as usize]
            } else {
                let in_space = texts_in_space(&self.docs, &info.docs, space);
                closeness::typical(in_space.map(|t| (t, near_meaning(t))), hidden)
            };
            spread.local_meaning = near_meaning(d).closest(hidden).unwrap_or(0.0);
        }
        spread
    }

    /// Cosine of the query's meaning with the mean of entry `e`'s meaning
    /// vectors in `space`, leaving `hidden` texts out; none when the entry
    /// has no (other) text there.
    pub(super) fn meaning_centroid_cosine(
        &self,
        e: u32,
        space: Space,
        query: &[f32],
        hidden: &[u32],
    ) -> Option<f32> {
        let info = &self.entries[e as usize];
        let sum = &info.meaning_sum[space as usize];
        if sum.is_empty() {
            return None;
        }
        let hidden_rows: Vec<&[f32]> = hidden
            .iter()
            .filter_map(|&h| match self.docs[h as usize].meaning {
                Some((s, row)) if s == space => Some(self.meaning_row(s, row)),
                _ => None,
            })
            .collect();
        let (dot, norm) = if hidden_rows.is_empty() {
            (semantic::dot(query, sum), info.meaning_norm[space as usize])
        } else {
            let mut rest = sum.clone();
            for row in hidden_rows {
                for (acc, x) in rest.iter_mut().zip(row) {
                    *acc -= x;
                }
            }
            (
                semantic::dot(query, &rest),
                rest.iter().map(|x| x * x).sum::<f32>().sqrt(),
            )
        };
        (norm > 1e-6).then(|| dot / norm)
    }

    /// Adds the entries closest in meaning to the query that retrieval did
    /// not find.
    pub(super) fn add_meaning_candidates(
        &self,
        doc_meaning: &[f32],
        held_out: HeldOut,
        candidates: &mut Vec<u32>,
    ) {
        let mut best = vec![f32::NEG_INFINITY; self.entries.len()];
        for (d, (doc, &cos)) in self.docs.iter().zip(doc_meaning).enumerate() {
            if cos.is_nan() || held_out.hides(d as u32, doc.entry) {
                continue;
            }
            let slot = &mut best[doc.entry as usize];
            *slot = slot.max(cos);
        }
        let mut best: Vec<(u32, f32)> = best
            .into_iter()
            .enumerate()
            .filter(|&(_, cos)| cos.is_finite())
            .map(|(e, cos)| (e as u32, cos))
            .collect();
        best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(e, _) in best.iter().take(MEANING_CANDIDATES) {
            if !candidates.contains(&e) {
                candidates.push(e);
            }
        }
    }
}

/// The share of the query's known words (terms of kind word) that no text
/// of the entry uses (`term_best`: per query term, its best BM25 term
/// frequency in the entry; 0 for none).
fn unexplained_share(query: &Query, term_best: &[f32], term_kind: &[u8]) -> f32 {
    let (mut words, mut missing) = (0usize, 0usize);
    for (&id, &tf) in query.ids.iter().zip(term_best) {
        if term_kind[id as usize] == 0 {
            words += 1;
            if tf == 0.0 {
                missing += 1;
            }
        }
    }
    if words == 0 {
        0.0
    } else {
        missing as f32 / words as f32
    }
}
