//! The index over FAQ questions and keywords, and the scoring that ranks
//! entries and turns scores into a calibrated confidence.
//!
//! A query goes through three steps:
//! 1. retrieval: an inverted index of our own (term → texts with their BM25
//!    term frequency) scores the FAQ texts sharing terms with the query,
//!    rarest terms first; on a large FAQ the commonest terms are skipped
//!    once a posting budget is spent, which keeps a query on a
//!    100,000-entry FAQ well under a millisecond. The entries of the best
//!    texts go to ranking;
//! 2. ranking: each of those entries is scored by TF-IDF cosine against its
//!    closest question and against its centroid (all its questions), mixed
//!    with the meaning cosine (static word vectors, see `semantic.rs`) to
//!    its closest question and to its meaning centroid in the query's
//!    meaning space (Chinese for a text with Chinese in it, else English),
//!    and the leading ones by
//!    character similarity to their closest question (typos that split
//!    words differently). On a FAQ of up to `MEANING_SCAN` questions in
//!    that space the entries closest in meaning join the candidates even if
//!    they share no term with the query;
//! 3. confidence: a logistic model (see `calibrate.rs`) turns each
//!    candidate's evidence (its score, both cosines, its lead over the
//!    runner-up, how much of the query the entry and the FAQ explain, its
//!    meaning cosines and leads, the query words it leaves unexplained,
//!    its closeness against the entry's own spread) into a probability.
//!    The model is the confidence prior fitted across FAQs (`prior.rs`),
//!    adjusted when the index is built by the FAQ's own questions asked
//!    back (see `Matcher::calibrate`). Candidates are ordered by
//!    confidence.
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

use std::cell::RefCell;

use crate::analyze::{Analyzer, Terms};
use crate::calibrate::{ConfidenceModel, Sample};
use crate::closeness::{self, Nearest};
use crate::correct::Speller;
use crate::faq::Faq;
use crate::features::{FEATURES, Feature};
use crate::fxmap::{FxMap, term_key};
use crate::normalize::normalize;
use crate::prior::Prior;
use crate::semantic::{self, Space, VECTORS, ZH_VECTORS};
use crate::{Candidate, Decision, MatcherConfig, Outcome};

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// tantivy refused the schema or a document.
    #[error("building the search index failed: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for BuildError {
    fn from(error: tantivy::TantivyError) -> Self {
        BuildError::Index(error.to_string())
    }
}

/// Relative weight of each kind of term (words, grams, sounds).
const KIND_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.3];
/// BM25 parameters (retrieval and the entry's share of the query).
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;
/// How many entries retrieval hands to ranking.
const RERANK: usize = 16;
/// How many postings retrieval reads at most: the rarest query terms come
/// first, so on a large FAQ the commonest terms are skipped (ranking still
/// reads every term of the candidates). Never binds on a FAQ of a few
/// thousand questions.
const POSTING_BUDGET: usize = 10_000;
/// From how many entries the build analyses and calibrates on all cores.
const PARALLEL_FROM: usize = 2_000;
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
/// How many other texts of its entry a text is compared with to find its
/// closest (bounds the build on entries with very many questions).
const CLOSENESS_PEERS: usize = 64;
/// How far character similarity pulls the score towards itself.
const TYPO_SHARE: f32 = 0.15;

/// How many candidates a decision carries.
const MAX_CANDIDATES: usize = 5;
/// Once the best candidate is worth offering, the others join the choices
/// from this share of `suggest_threshold`: the right entry is often second
/// or third with a low confidence, and one more choice costs a user
/// little. Chosen on the prior's training splits (`examples/fit_prior.rs`,
/// `RULES=1`): one_tap 3 to 6 points higher there, and the questions
/// without an answer offered choices as often as before.
const COMPANION_SHARE: f32 = 0.1;
/// How many held-out questions calibration asks back at most.
const CALIBRATION_SAMPLES: usize = 400;
/// Weight of a held-out-entry sample relative to a held-out-question one:
/// how common questions the FAQ does not answer are assumed to be.
const UNANSWERABLE_WEIGHT: f32 = 0.5;
/// Weight of a question asked back verbatim (nothing hidden) relative to a
/// held-out one: users often type an FAQ question nearly as written, and
/// without these samples the model never sees evidence that strong, so it
/// would not trust it.
const VERBATIM_WEIGHT: f32 = 2.0;
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

/// A FAQ text after analysis, before indexing.
struct Analysed {
    entry: u32,
    /// A question (not the keywords of an entry): calibration asks it back.
    is_question: bool,
    /// The normalised text, spaces collapsed.
    text: String,
    terms: Terms,
    /// Meaning vector and its space (see `semantic::meaning_and_words`),
    /// before centring.
    meaning: Option<(Space, Vec<f32>)>,
    /// Its content words' rows in the word-vector table of that space.
    words: Vec<u32>,
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

/// A query ready to score.
struct Query {
    /// Known term ids (sorted) and their BM25 query weights.
    ids: Vec<u32>,
    bm: Vec<f32>,
    /// Sum of BM25 query weights, unknown terms included: the score of a
    /// text of average length holding every query term once.
    bm_total: f32,
    /// TF-IDF vector over known terms (sorted by id), and its full norm.
    vector: Vec<(u32, f32)>,
    norm: f32,
    /// Distinct word terms the FAQ knows.
    known_words: usize,
    /// Share of the query's squared norm from terms the FAQ never uses.
    unknown_share: f32,
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

/// One ranked entry and the evidence behind its score.
#[derive(Debug, Clone)]
struct Scored {
    entry: u32,
    /// The ranking score.
    score: f32,
    /// BM25 of the entry's questions taken together (each term at its
    /// best, saturated at one occurrence) over the query's own: how much of
    /// the query the entry explains.
    bm_entry: f32,
    /// Cosine with the closest question of the entry.
    cos_best: f32,
    /// Cosine with the entry's centroid.
    cos_centroid: f32,
    /// The question of the entry closest to the query (by cosine).
    closest: u32,
    /// Cosine of meaning with the entry's closest question, when both the
    /// query and the entry have meaning vectors.
    meaning: Option<f32>,
    /// Cosine of meaning with the entry's meaning centroid.
    meaning_centroid: Option<f32>,
    /// The entry's question closest in meaning, and how well its words
    /// align with the query's (see `WordVectors::alignment`; only where
    /// the confidence model reads it).
    closest_meaning: Option<u32>,
    aligned: Option<f32>,
    /// Share of the query's known words that no text of the entry uses.
    unexplained: f32,
    /// How much of the closest question the query covers: the share of
    /// that question's term weight (BM25 idf × kind weight) in terms the
    /// query has too. The other direction of `bm_entry`: a question that
    /// asks more than the query (借呗 *提前* 还款 for 借呗还款) covers less.
    covered: f32,
    /// How close the entry's texts are to each other.
    spread: Spread,
}

/// How close an entry's texts are to each other (see `closeness.rs`), by
/// TF-IDF cosine and by meaning (in the query's space): typically, and for
/// the question closest to the query (by each) its closest sibling.
#[derive(Debug, Clone, Copy, Default)]
struct Spread {
    typical: f32,
    local: f32,
    typical_meaning: f32,
    local_meaning: f32,
}

/// The ranked entries of one query.
struct Ranking {
    scored: Vec<Scored>,
    known_words: usize,
    unknown_share: f32,
    /// The query was embedded in the Chinese meaning space (it has Chinese
    /// in it): the confidence model weighs its evidence as Chinese.
    chinese: bool,
}

impl Ranking {
    /// The features the confidence model reads for the `i`-th entry.
    fn features(&self, i: usize) -> [f32; FEATURES] {
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
    /// Builds the index of `faq`, its confidence the shipped prior adjusted
    /// by the FAQ's own questions.
    pub fn build(faq: &Faq, config: MatcherConfig) -> Result<Matcher, BuildError> {
        Self::build_with_prior(faq, config, Prior::shipped())
    }

    /// Builds the index of `faq` with another confidence prior (the
    /// leave-one-dataset-out validation builds with priors that never saw
    /// the dataset measured).
    pub fn build_with_prior(
        faq: &Faq,
        config: MatcherConfig,
        prior: &Prior,
    ) -> Result<Matcher, BuildError> {
        let analyzer = Analyzer::new(&faq.synonyms);

        // Analyse every question and the keywords of every entry, on all
        // cores for a large FAQ (segmentation dominates the build).
        let analyse_entry = |e: usize| -> Vec<Analysed> {
            let entry = &faq.entries[e];
            let mut out = Vec::new();
            for question in entry.questions.values().flatten() {
                let text = normalize(question);
                let terms = analyzer.analyze_normalized(&text);
                if !terms.is_empty() {
                    let text = compact(&text);
                    let (meaning, words) = semantic::meaning_and_words(&text, &terms.cut);
                    out.push(Analysed {
                        entry: e as u32,
                        is_question: true,
                        meaning,
                        words,
                        text,
                        terms,
                    });
                }
            }
            if !entry.keywords.is_empty() {
                let terms = analyzer.analyze(&entry.keywords.join("\n"));
                if !terms.is_empty() {
                    out.push(Analysed {
                        entry: e as u32,
                        is_question: false,
                        text: String::new(),
                        terms,
                        meaning: None,
                        words: Vec::new(),
                    });
                }
            }
            out
        };
        let parallel = faq.entries.len() >= PARALLEL_FROM;
        let analysed: Vec<Analysed> = parallel_map(faq.entries.len(), parallel, analyse_entry)
            .into_iter()
            .flatten()
            .collect();
        // Term dictionary, document frequencies, term counts per text.
        let tokens: usize = analysed
            .iter()
            .map(|a| kind_lists(&a.terms).iter().map(|l| l.len()).sum::<usize>())
            .sum();
        let mut vocabulary: FxMap<u64, u32> =
            FxMap::with_capacity_and_hasher(tokens / 8, Default::default());
        let mut term_kind: Vec<u8> = Vec::new();
        let mut entry_df: Vec<u32> = Vec::new();
        let mut doc_df: Vec<u32> = Vec::new();
        let mut last_entry: Vec<u32> = Vec::new();
        let mut doc_terms: Vec<Vec<(u32, f32)>> = Vec::with_capacity(analysed.len());
        let mut lengths: Vec<[f32; 3]> = Vec::with_capacity(analysed.len());
        for a in &analysed {
            let mut counts: Vec<(u32, f32)> = Vec::new();
            let mut length = [0.0f32; 3];
            for (kind, list) in kind_lists(&a.terms).into_iter().enumerate() {
                length[kind] = list.len() as f32;
                for token in list {
                    let next = term_kind.len() as u32;
                    let id = match vocabulary.entry(term_key(kind as u8, token)) {
                        std::collections::hash_map::Entry::Occupied(slot) => *slot.get(),
                        std::collections::hash_map::Entry::Vacant(slot) => {
                            slot.insert(next);
                            term_kind.push(kind as u8);
                            entry_df.push(0);
                            doc_df.push(0);
                            last_entry.push(u32::MAX);
                            next
                        }
                    };
                    counts.push((id, 1.0));
                }
            }
            sum_by_term(&mut counts);
            for &(id, _) in &counts {
                doc_df[id as usize] += 1;
                if last_entry[id as usize] != a.entry {
                    last_entry[id as usize] = a.entry;
                    entry_df[id as usize] += 1;
                }
            }
            doc_terms.push(counts);
            lengths.push(length);
        }

        let n_docs = analysed.len().max(1) as f32;
        let n_entries = faq.entries.len().max(1) as f32;
        let bm_idf = |df: f32| (1.0 + (n_docs - df + 0.5) / (df + 0.5)).ln();
        let entry_idf = |df: f32| (1.0 + n_entries / df).ln();
        let kind_weight = |kind: usize| KIND_WEIGHTS[kind];
        let bm_weights: Vec<f32> = doc_df
            .iter()
            .zip(&term_kind)
            .map(|(&df, &kind)| kind_weight(kind as usize) * bm_idf(df as f32))
            .collect();
        let weights: Vec<f32> = entry_df
            .iter()
            .zip(&term_kind)
            .map(|(&df, &kind)| kind_weight(kind as usize) * entry_idf(df as f32))
            .collect();
        let unknown_bm = [0, 1, 2].map(|k| kind_weight(k) * bm_idf(1.0));
        let unknown_weights = [0, 1, 2].map(|k| kind_weight(k) * entry_idf(1.0));

        // BM25 term frequencies, against the average length per kind.
        let mut average = [0.0f32; 3];
        for length in &lengths {
            for k in 0..3 {
                average[k] += length[k] / n_docs;
            }
        }
        let (k1, b) = (BM25_K1, BM25_B);
        let mut docs: Vec<Doc> = Vec::with_capacity(analysed.len());
        let mut entries: Vec<EntryInfo> = faq
            .entries
            .iter()
            .map(|e| EntryInfo {
                id: e.id.clone(),
                docs: Vec::new(),
                centroid: Vec::new(),
                typical: 0.0,
                typical_meaning: [0.0; 2],
                meaning_sum: [Vec::new(), Vec::new()],
                meaning_norm: [0.0; 2],
            })
            .collect();
        // Meaning vectors, centred on their space's mean.
        let mut meanings = [
            (Space::English, VECTORS.dims()),
            (Space::Chinese, ZH_VECTORS.dims()),
        ]
        .map(|(space, dims)| {
            let vectors = analysed
                .iter()
                .filter_map(|a| a.meaning.as_ref())
                .filter(move |(s, _)| *s == space)
                .map(|(_, v)| v);
            MeaningSpace::of(dims, vectors)
        });
        for (i, (a, counts)) in analysed.iter().zip(doc_terms).enumerate() {
            let length = lengths[i];
            let bm25: Vec<(u32, f32)> = counts
                .iter()
                .map(|&(id, tf)| {
                    let kind = term_kind[id as usize] as usize;
                    let relative = if average[kind] > 0.0 {
                        length[kind] / average[kind]
                    } else {
                        1.0
                    };
                    (id, tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * relative)))
                })
                .collect();
            let mut vector: Vec<(u32, f32)> = counts
                .iter()
                .map(|&(id, tf)| (id, (1.0 + tf.ln()) * weights[id as usize]))
                .collect();
            normalise(&mut vector);
            entries[a.entry as usize].docs.push(i as u32);
            let meaning = a
                .meaning
                .as_ref()
                .and_then(|(space, m)| Some((*space, meanings[*space as usize].push(m)?)));
            docs.push(Doc {
                entry: a.entry,
                text: a.text.clone(),
                bm25,
                vector,
                meaning,
                near: Nearest::default(),
                near_meaning: Nearest::default(),
            });
        }
        for info in &mut entries {
            info.centroid = centroid(&docs, &info.docs, &[]);
        }
        measure_closeness(&mut docs, &mut entries, &meanings);

        // Postings, by counting.
        let mut offsets = vec![0u32; term_kind.len() + 1];
        for doc in &docs {
            for &(id, _) in &doc.bm25 {
                offsets[id as usize + 1] += 1;
            }
        }
        for t in 0..term_kind.len() {
            offsets[t + 1] += offsets[t];
        }
        let mut fill = offsets.clone();
        let mut postings = vec![(0u32, 0.0f32); *offsets.last().unwrap_or(&0) as usize];
        for (d, doc) in docs.iter().enumerate() {
            for &(id, tf) in &doc.bm25 {
                postings[fill[id as usize] as usize] = (d as u32, tf);
                fill[id as usize] += 1;
            }
        }

        let speller = Speller::new(
            analysed
                .iter()
                .filter(|a| a.is_question)
                .map(|a| (a.text.as_str(), a.terms.words.as_slice())),
        );
        let mut matcher = Matcher {
            config,
            analyzer,
            vocabulary,
            term_kind,
            entry_df,
            doc_df,
            bm_weights,
            weights,
            unknown_bm,
            unknown_weights,
            offsets,
            postings,
            docs,
            entries,
            meanings,
            speller,
            confidence: ConfidenceModel::untrained(),
            doc_words: analysed.iter().map(|a| a.words.clone()).collect(),
        };
        matcher.calibrate(&analysed, parallel, prior);
        if !matcher.confidence.reads_alignment() {
            // Only the untrained curve reads the word alignment.
            matcher.doc_words = Vec::new();
        }
        Ok(matcher)
    }

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

    /// Entries with their scores, best first. `held_out` hides a question
    /// or a whole entry (calibration asks FAQ questions back).
    /// `meaning`: the query's centred meaning vector and its space, if it
    /// has one (compared with the questions of that space only).
    fn rank(
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
        let mut term_best = vec![0.0f32; query.ids.len()];
        let share = BEST_QUESTION_SHARE;
        let mut scored: Vec<Scored> = self.with_query_terms(&query, |lookup| {
            candidates
                .into_iter()
                .map(|e| {
                    let info = &self.entries[e as usize];
                    // What calibration hides of this entry (a whole hidden
                    // entry is never a candidate).
                    let hidden: &[u32] = match held_out {
                        HeldOut::Docs(owner, hidden) if owner == e => hidden,
                        _ => &[],
                    };
                    term_best.fill(0.0);
                    let (mut cos_best, mut closest) = (0.0f32, u32::MAX);
                    let mut meaning_best: Option<(f32, u32)> = None;
                    for &d in &info.docs {
                        if hidden.contains(&d) {
                            continue;
                        }
                        let doc = &self.docs[d as usize];
                        if let (Some((space, q)), Some((doc_space, row))) = (meaning, doc.meaning)
                            && space == doc_space
                        {
                            let cos = match &scanned {
                                Some(doc_meaning) => doc_meaning[d as usize],
                                None => semantic::cosine(q, self.meaning_row(space, row)),
                            };
                            if meaning_best.is_none_or(|(best, _)| cos > best) {
                                meaning_best = Some((cos, d));
                            }
                        }
                        record_terms(lookup, &doc.bm25, &mut term_best);
                        let cos = query_dot(lookup, &doc.vector);
                        if cos > cos_best || closest == u32::MAX {
                            cos_best = cos;
                            closest = d;
                        }
                    }
                    let bm_entry: f32 = term_best
                        .iter()
                        .zip(&query.bm)
                        .map(|(tf, w)| tf.min(1.0) * w)
                        .sum();
                    let unexplained = unexplained_share(&query, &term_best, &self.term_kind);
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
                    let lexical = (share * cos_best + (1.0 - share) * cos_centroid).clamp(0.0, 1.0);
                    let meaning_centroid = meaning
                        .and_then(|(space, q)| self.meaning_centroid_cosine(e, space, q, hidden));
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
                })
                .collect()
        });
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        // Word alignment with the question closest in meaning, when the
        // confidence reads it (the untrained curve, which orders every
        // ranked entry: see `decide`).
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
        // Character similarity to the closest question of the leading
        // entries: catches typos that split words differently.
        if !text.is_empty() {
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
        ranking.scored = scored;
        ranking
    }

    /// The entries worth ranking in full: those of the texts with the best
    /// BM25 for the query, best first.
    fn retrieve(&self, query: &Query, held_out: HeldOut) -> Vec<u32> {
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
    fn with_query_terms<R>(&self, query: &Query, f: impl FnOnce(&[(f32, u32)]) -> R) -> R {
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

    /// On a FAQ with few enough questions: the query's meaning cosine with
    /// every text (NaN for texts without a meaning vector in its space).
    fn scan_meaning(&self, space: Space, meaning: &[f32]) -> Option<Vec<f32>> {
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
    fn spread(
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
    fn meaning_centroid_cosine(
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
    fn add_meaning_candidates(
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

    /// The query's terms and weights. A term only the held-out text (or
    /// entry) uses counts as unknown, as it would for a real question.
    fn query(&self, terms: &Terms, held_out: HeldOut) -> Query {
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

    /// Asks FAQ questions back and fits the confidence model on whether
    /// each candidate was the question's own entry: once with only that
    /// question held out (its entry should still win), once as written
    /// (nothing hidden), and once with its whole entry held out (a question
    /// the FAQ does not answer: every candidate is wrong).
    fn calibrate(&mut self, analysed: &[Analysed], parallel: bool, prior: &Prior) {
        let questions: Vec<u32> = (0..analysed.len() as u32)
            .filter(|&d| analysed[d as usize].is_question)
            .collect();
        let stride = questions.len().div_ceil(CALIBRATION_SAMPLES).max(1);
        let sampled: Vec<u32> = questions.iter().step_by(stride).copied().collect();
        let this = &*self;
        // Per sampled question: its samples, and whether it found its own
        // entry while held out.
        let asked = parallel_map(sampled.len(), parallel, |i| {
            let question = i as u32;
            let d = sampled[i];
            let a = &analysed[d as usize];
            let doc = &this.docs[d as usize];
            let own = doc.entry;
            let meaning = doc
                .meaning
                .map(|(space, row)| (space, this.meaning_row(space, row)));
            let asks = [
                // Its entry should still come first.
                (HeldOut::Docs(own, &[d][..]), 1.0),
                // Typed as written.
                (HeldOut::Nothing, VERBATIM_WEIGHT),
                // A question the FAQ does not answer: every candidate is
                // wrong (its own entry is hidden).
                (HeldOut::Entry(own), UNANSWERABLE_WEIGHT),
            ];
            let mut samples: Vec<Sample> = Vec::new();
            let mut found = false;
            for (held_out, weight) in asks {
                // No word alignment: the fitted model never reads it (see
                // `calibrate.rs`).
                let ranking = this.rank(&a.terms, &a.text, meaning, &[], held_out);
                let top = &ranking.scored[..ranking.scored.len().min(MAX_CANDIDATES)];
                found |=
                    matches!(held_out, HeldOut::Docs(..)) && top.iter().any(|s| s.entry == own);
                for (i, s) in top.iter().enumerate() {
                    samples.push(Sample {
                        features: ranking.features(i),
                        chinese: ranking.chinese,
                        correct: s.entry == own,
                        weight,
                        group: question,
                    });
                }
            }
            (samples, found)
        });
        let found_when_held_out = asked.iter().filter(|(_, found)| *found).count();
        let samples: Vec<Sample> = asked.into_iter().flat_map(|(s, _)| s).collect();
        // Without a held-out question that found its entry (every entry has
        // one question), the samples only say "verbatim copies are right":
        // nothing to learn the scale from, so the untrained curve stays.
        if found_when_held_out > 0 {
            self.confidence = prior.adjusted(&samples);
        }
    }
}

/// `f(0..n)` in order, on all cores when `parallel`.
fn parallel_map<T: Send>(n: usize, parallel: bool, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if threads < 2 || !parallel {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(f)
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("an analysis thread panicked"))
            .collect()
    })
}

/// Records, per query term, the best BM25 term frequency seen in the texts
/// of an entry (`lookup`: see `QUERY_TERMS`).
fn record_terms(lookup: &[(f32, u32)], doc: &[(u32, f32)], term_best: &mut [f32]) {
    for &(id, tf) in doc {
        let slot = lookup[id as usize].1;
        if slot != 0 {
            let best = &mut term_best[slot as usize - 1];
            *best = best.max(tf);
        }
    }
}

/// Share of a text's term weight (`weights`: per term id) in the terms
/// the query has (`lookup`: see `QUERY_TERMS`); 0 for a text without terms.
fn covered_share(lookup: &[(f32, u32)], doc: &[(u32, f32)], weights: &[f32]) -> f32 {
    let (mut shared, mut all) = (0.0f32, 0.0f32);
    for &(id, _) in doc {
        let w = weights[id as usize];
        all += w;
        if lookup[id as usize].1 != 0 {
            shared += w;
        }
    }
    if all > 0.0 { shared / all } else { 0.0 }
}

/// Dot product of a short vector with a long one (both sorted by term id),
/// by binary search in the long one.
fn sparse_dot(short: &[(u32, f32)], long: &[(u32, f32)]) -> f32 {
    let mut sum = 0.0;
    let mut rest = long;
    for &(id, w) in short {
        match rest.binary_search_by_key(&id, |&(t, _)| t) {
            Ok(at) => {
                sum += w * rest[at].1;
                rest = &rest[at + 1..];
            }
            Err(at) => rest = &rest[at..],
        }
    }
    sum
}

/// Dot product of the query's TF-IDF vector (in `lookup`) with `vector`.
fn query_dot(lookup: &[(f32, u32)], vector: &[(u32, f32)]) -> f32 {
    vector
        .iter()
        .map(|&(id, w)| lookup[id as usize].0 * w)
        .sum()
}

/// Sorts `(term, value)` pairs by term and sums the values of each term.
fn sum_by_term(pairs: &mut Vec<(u32, f32)>) {
    pairs.sort_unstable_by_key(|&(t, _)| t);
    pairs.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// The normalised sum of the vectors of `docs` except `skip`.
fn centroid(all: &[Doc], docs: &[u32], skip: &[u32]) -> Vec<(u32, f32)> {
    let mut sum: Vec<(u32, f32)> = docs
        .iter()
        .filter(|d| !skip.contains(d))
        .flat_map(|&d| all[d as usize].vector.iter().copied())
        .collect();
    sum_by_term(&mut sum);
    normalise(&mut sum);
    sum
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

/// Fills each text's closest other texts of its entry (by TF-IDF cosine,
/// and by meaning within its space) and each entry's typical closeness and
/// meaning sums (see `closeness.rs`).
fn measure_closeness(docs: &mut [Doc], entries: &mut [EntryInfo], meanings: &[MeaningSpace; 2]) {
    let row = |doc: &Doc| {
        doc.meaning
            .map(|(space, row)| (space, meanings[space as usize].row(row)))
    };
    for info in entries.iter_mut() {
        let near: Vec<(Nearest, Nearest)> = info
            .docs
            .iter()
            .map(|&d| {
                let doc = &docs[d as usize];
                let others = info
                    .docs
                    .iter()
                    .copied()
                    .filter(|&o| o != d)
                    .take(CLOSENESS_PEERS);
                let lexical = Nearest::of(
                    others
                        .clone()
                        .map(|o| (sparse_dot(&doc.vector, &docs[o as usize].vector), o)),
                );
                let meaning = match row(doc) {
                    Some((space, mine)) => {
                        Nearest::of(others.filter_map(|o| match row(&docs[o as usize]) {
                            Some((s, theirs)) if s == space => {
                                Some((semantic::cosine(mine, theirs), o))
                            }
                            _ => None,
                        }))
                    }
                    None => Nearest::default(),
                };
                (lexical, meaning)
            })
            .collect();
        for (&d, (lexical, meaning)) in info.docs.iter().zip(near) {
            docs[d as usize].near = lexical;
            docs[d as usize].near_meaning = meaning;
        }
        info.typical =
            closeness::typical(info.docs.iter().map(|&d| (d, &docs[d as usize].near)), &[]);
        for space in [Space::English, Space::Chinese] {
            let in_space: Vec<u32> = texts_in_space(docs, &info.docs, space).collect();
            info.typical_meaning[space as usize] = closeness::typical(
                in_space
                    .iter()
                    .map(|&d| (d, &docs[d as usize].near_meaning)),
                &[],
            );
            let mut sum: Vec<f32> = Vec::new();
            for &d in &in_space {
                if let Some((_, vector)) = row(&docs[d as usize]) {
                    if sum.is_empty() {
                        sum.resize(vector.len(), 0.0);
                    }
                    for (acc, x) in sum.iter_mut().zip(vector) {
                        *acc += x;
                    }
                }
            }
            info.meaning_norm[space as usize] = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
            info.meaning_sum[space as usize] = sum;
        }
    }
}

/// `text` with runs of whitespace collapsed to one space.
fn compact(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn kind_lists(terms: &Terms) -> [&Vec<String>; 3] {
    [&terms.words, &terms.grams, &terms.sounds]
}

fn normalise(vector: &mut [(u32, f32)]) {
    let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in vector.iter_mut() {
            *w /= norm;
        }
    }
}
