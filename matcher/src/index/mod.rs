//! The matcher's index over FAQ questions and keywords, and the decision
//! it takes for a query: answer, "did you mean", or nothing.
//!
//! This module holds what the steps share (the indexed texts and entries,
//! the meaning spaces, the `Matcher` itself) and the decision; each step
//! has its own module:
//! - `build.rs`: the FAQ analysed and indexed, once per FAQ version;
//! - `retrieve.rs`: which entries share enough terms with the query to be
//!   ranked (our own inverted index, BM25, rarest terms first, with a
//!   posting budget);
//! - `rank.rs`: each of those entries scored (TF-IDF and meaning cosines to
//!   its closest question and its centroid, character similarity for
//!   typos) and the evidence the confidence model reads (`features.rs`);
//! - `ask_back.rs`: the FAQ's own questions asked back, which adjust the
//!   confidence prior (`prior.rs`, `calibrate.rs`) to this FAQ;
//! - `vectors.rs`: the sparse term-vector arithmetic of the above.
//!
//! Candidates are ordered by confidence, a logistic model (`calibrate.rs`)
//! of each candidate's evidence.
//!
//! # What the confidence means
//!
//! A candidate's confidence estimates the probability that it is the entry
//! answering the question: "of candidates with evidence like this, in the
//! FAQs the prior was fitted on, this share were right", moved towards
//! what this FAQ's own held-out questions say (ARCHITECTURE.md, "What
//! confidence means", has the figures measured leave one dataset out).
//! `answer_threshold` 0.95 answers where about 19 in 20 such answers were
//! right; `margin` turns close calls between the first two candidates into
//! "did you mean". Queries saying less than two words (see `Terms::size`)
//! are never auto-answered.

mod ask_back;
mod build;
mod rank;
mod retrieve;
mod vectors;

use crate::analyze::Analyzer;
use crate::calibrate::ConfidenceModel;
use crate::closeness::Nearest;
use crate::correct::Speller;
use crate::features::FEATURES;
use crate::fxmap::FxMap;
use crate::normalize::normalize;
use crate::semantic::{self, Space, VECTORS};
use crate::{Candidate, Decision, MatcherConfig, Outcome};

use rank::Ranking;

/// How many candidates a decision carries.
const MAX_CANDIDATES: usize = 5;

/// Once the best candidate is worth offering, the others join the choices
/// from this share of `suggest_threshold`: the right entry is often second
/// or third with a low confidence, and one more choice costs a user
/// little. Chosen on the prior's training splits (`examples/fit_prior.rs`,
/// `RULES=1`): one_tap 3 to 6 points higher there, and the questions
/// without an answer offered choices as often as before.
const COMPANION_SHARE: f32 = 0.1;

/// Queries saying less than this (see `Terms::size`) are never answered,
/// only suggested: "到账慢" could be a deposit or a withdrawal.
const MIN_ANSWER_SIZE: f32 = 2.0;

/// One indexed text: a question or the keywords of an entry.
struct Doc {
    entry: u32,
    /// Normalised text (spaces collapsed) for character similarity.
    text: String,
    /// Per term (sorted by id): BM25's saturated term frequency.
    bm25: Vec<(u32, f32)>,
    /// TF-IDF vector, sorted by term id, unit length.
    vector: Vec<(u32, f32)>,
    /// Space and row of its meaning vector in `Matcher::meanings`.
    meaning: Option<(Space, u32)>,
    /// Its closest other texts of the entry, by TF-IDF cosine and by
    /// meaning (in its own space).
    near: Nearest,
    near_meaning: Nearest,
}

struct EntryInfo {
    id: String,
    docs: Vec<u32>,
    /// Normalised sum of the question vectors.
    centroid: Vec<(u32, f32)>,
    /// How close its texts are to each other (see `closeness.rs`): by
    /// TF-IDF cosine, and by meaning per space.
    typical: f32,
    typical_meaning: [f32; 2],
    /// Per meaning space: the sum of its texts' meaning vectors (empty
    /// when it has none there) and that sum's length.
    meaning_sum: [Vec<f32>; 2],
    meaning_norm: [f32; 2],
}

/// The meaning vectors of the questions of one space, centred.
#[derive(Default)]
struct MeaningSpace {
    /// Centred unit vectors, one row of `mean.len()` values per question
    /// (see `Doc::meaning`).
    rows: Vec<f32>,
    /// The mean of the questions' vectors, subtracted from every vector, so
    /// what all questions share (the FAQ's domain, the word pieces every
    /// text has) does not make everything look alike.
    mean: Vec<f32>,
}

impl MeaningSpace {
    /// The space of these questions' vectors: their mean, and room for them.
    fn of<'a>(dims: usize, vectors: impl Iterator<Item = &'a Vec<f32>> + Clone) -> Self {
        let count = vectors.clone().count();
        let mut mean = vec![0.0f32; dims];
        for vector in vectors {
            for (sum, v) in mean.iter_mut().zip(vector) {
                *sum += v / count as f32;
            }
        }
        MeaningSpace {
            rows: Vec::with_capacity(count * dims),
            mean,
        }
    }

    /// Centres `vector` and adds it as a row; its row number.
    fn push(&mut self, vector: &[f32]) -> Option<u32> {
        let centred = semantic::centre(vector, &self.mean)?;
        self.rows.extend_from_slice(&centred);
        Some((self.len() - 1) as u32)
    }

    fn row(&self, row: u32) -> &[f32] {
        let dims = self.mean.len();
        &self.rows[row as usize * dims..(row as usize + 1) * dims]
    }

    fn len(&self) -> usize {
        self.rows.len() / self.mean.len().max(1)
    }
}

/// What calibration hides from the index while asking a FAQ question back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum HeldOut<'a> {
    Nothing,
    /// Some texts of one entry (a question and its near-copies).
    Docs(u32, &'a [u32]),
    Entry(u32),
}

impl HeldOut<'_> {
    fn hides(self, doc: u32, entry: u32) -> bool {
        match self {
            HeldOut::Nothing => false,
            HeldOut::Docs(_, docs) => docs.contains(&doc),
            HeldOut::Entry(e) => e == entry,
        }
    }
}

/// The evidence behind a query's candidates, as the confidence model
/// reads it: what a confidence prior is fitted on (see `prior.rs`).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The query was read as Chinese.
    pub chinese: bool,
    /// Each candidate's entry id and features, in ranking order.
    pub candidates: Vec<(String, [f32; FEATURES])>,
}

/// Ranks FAQ entries for a query. Built once per FAQ version; `decide`
/// does no I/O and is safe to call from many threads.
pub struct Matcher {
    config: MatcherConfig,
    analyzer: Analyzer,
    /// Term key (kind and text, see `term_key`) → term id.
    vocabulary: FxMap<u64, u32>,
    /// Per term id: its kind.
    term_kind: Vec<u8>,
    /// Per term id: in how many entries / texts it occurs.
    entry_df: Vec<u32>,
    doc_df: Vec<u32>,
    /// Per term id: BM25 idf × kind weight.
    bm_weights: Vec<f32>,
    /// Per term id: TF-IDF weight (kind weight × idf over entries).
    weights: Vec<f32>,
    /// Weights of a term the FAQ never uses, per kind (BM25, TF-IDF).
    unknown_bm: [f32; 3],
    unknown_weights: [f32; 3],
    /// Postings: for term t, `postings[offsets[t]..offsets[t + 1]]`.
    offsets: Vec<u32>,
    postings: Vec<(u32, f32)>,
    docs: Vec<Doc>,
    entries: Vec<EntryInfo>,
    /// The questions' meaning vectors, per `Space` (English, Chinese).
    meanings: [MeaningSpace; 2],
    /// Corrects misspelt query words against the FAQ's own words.
    speller: Speller,
    confidence: ConfidenceModel,
    /// Per text: its words' rows in the word-vector table of its meaning
    /// space (apart from `docs`, which retrieval walks).
    doc_words: Vec<Vec<u32>>,
}

impl Matcher {
    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// Ranks the entries for `query` and decides what to do.
    pub fn decide(&self, query: &str) -> Decision {
        let Some((ranking, size)) = self.ranked(query) else {
            return Decision {
                outcome: Outcome::NoMatch,
                candidates: Vec::new(),
            };
        };
        // A fitted model is calibrated on the leading entries by score; the
        // untrained curve orders entries better than the score does, so it
        // reads them all (one-question FAQs: zh-afqmc 113 -> 114 of 251
        // right first, a BQ sample 133 -> 134 of 917, banking77 against one
        // question per intent the same).
        let considered = self.considered(&ranking);
        let mut candidates: Vec<Candidate> = ranking
            .scored
            .iter()
            .take(considered)
            .enumerate()
            .map(|(i, s)| Candidate {
                entry_id: self.entries[s.entry as usize].id.clone(),
                confidence: self.confidence.apply(&ranking.features(i), ranking.chinese),
            })
            .collect();
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        candidates.truncate(MAX_CANDIDATES);
        let mut outcome = self.outcome(&candidates);
        if size < MIN_ANSWER_SIZE
            && let Outcome::Answer { entry_id } = outcome
        {
            // One or two words name a topic, not a question: ask which one.
            let mut entry_ids = self.choices(&candidates);
            if entry_ids.first() != Some(&entry_id) {
                entry_ids.insert(0, entry_id);
                entry_ids.truncate(self.config.max_suggestions.max(1));
            }
            outcome = Outcome::Suggest { entry_ids };
        }
        Decision {
            outcome,
            candidates,
        }
    }

    /// The query's ranking and how many words it says (see `Terms::size`);
    /// none when it has no terms at all.
    fn ranked(&self, query: &str) -> Option<(Ranking, f32)> {
        let text = normalize(query);
        let text = self
            .speller
            .correct(&text, |word| VECTORS.is_word(word))
            .unwrap_or(text);
        let terms = self.analyzer.analyze_normalized(&text);
        if terms.is_empty() {
            return None;
        }
        let text = compact(&text);
        let (meaning, words) = semantic::meaning_and_words(&text, &terms.cut);
        let meaning = meaning.and_then(|(space, vector)| self.centred(space, &vector));
        let meaning = meaning.as_ref().map(|(space, m)| (*space, m.as_slice()));
        let words = match meaning {
            Some(_) if self.confidence.reads_alignment() => words,
            _ => Vec::new(),
        };
        let ranking = self.rank(&terms, &text, meaning, &words, HeldOut::Nothing);
        Some((ranking, terms.size))
    }

    /// How many of the ranked entries the confidence model reads: the
    /// leading few by score for a fitted model, all for the untrained curve.
    fn considered(&self, ranking: &Ranking) -> usize {
        if self.confidence.reads_alignment() {
            ranking.scored.len()
        } else {
            MAX_CANDIDATES.min(ranking.scored.len())
        }
    }

    /// The confidence this matcher's model gives each candidate of
    /// `evidence` (from `evidence`), for measuring a prior.
    pub fn confidences(&self, evidence: &Evidence) -> Vec<f32> {
        evidence
            .candidates
            .iter()
            .map(|(_, features)| self.confidence.apply(features, evidence.chinese))
            .collect()
    }

    /// The evidence the confidence model reads for each candidate of
    /// `query`, in the order `decide` considers them: what a confidence
    /// prior is fitted on (see `prior.rs`).
    pub fn evidence(&self, query: &str) -> Evidence {
        let Some((ranking, _)) = self.ranked(query) else {
            return Evidence::default();
        };
        Evidence {
            chinese: ranking.chinese,
            candidates: (0..self.considered(&ranking))
                .map(|i| {
                    let entry = ranking.scored[i].entry as usize;
                    (self.entries[entry].id.clone(), ranking.features(i))
                })
                .collect(),
        }
    }

    /// The "did you mean" choices once the best candidate reaches
    /// `suggest_threshold`: it, and the next ones from a tenth of that
    /// (`COMPANION_SHARE`), up to `max_suggestions`.
    fn choices(&self, candidates: &[Candidate]) -> Vec<String> {
        let companion = self.config.suggest_threshold * COMPANION_SHARE;
        candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| *i == 0 || c.confidence >= companion)
            .take(self.config.max_suggestions)
            .map(|(_, c)| c.entry_id.clone())
            .collect()
    }

    fn outcome(&self, candidates: &[Candidate]) -> Outcome {
        let Some(best) = candidates.first() else {
            return Outcome::NoMatch;
        };
        let second = candidates.get(1).map_or(0.0, |c| c.confidence);
        if best.confidence >= self.config.answer_threshold
            && best.confidence - second >= self.config.margin
        {
            return Outcome::Answer {
                entry_id: best.entry_id.clone(),
            };
        }
        if best.confidence < self.config.suggest_threshold {
            return Outcome::NoMatch;
        }
        Outcome::Suggest {
            entry_ids: self.choices(candidates),
        }
    }

    /// A query's meaning vector centred like the questions' of its space,
    /// if the FAQ has questions there.
    fn centred(&self, space: Space, vector: &[f32]) -> Option<(Space, Vec<f32>)> {
        let questions = self.meaning_space(space);
        if questions.len() == 0 {
            return None;
        }
        Some((space, semantic::centre(vector, &questions.mean)?))
    }

    fn meaning_space(&self, space: Space) -> &MeaningSpace {
        &self.meanings[space as usize]
    }

    fn meaning_row(&self, space: Space, row: u32) -> &[f32] {
        self.meaning_space(space).row(row)
    }
}

/// `text` with runs of whitespace collapsed to one space.
fn compact(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Those of `texts` that have a meaning vector in `space`.
fn texts_in_space<'a>(
    docs: &'a [Doc],
    texts: &'a [u32],
    space: Space,
) -> impl Iterator<Item = u32> + 'a {
    texts
        .iter()
        .copied()
        .filter(move |&t| matches!(docs[t as usize].meaning, Some((s, _)) if s == space))
}
