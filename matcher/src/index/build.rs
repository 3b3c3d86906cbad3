//! Building the index: a FAQ's texts analysed into terms and meaning
//! vectors, the term dictionary with its weights, the postings retrieval
//! walks, each entry's centroid and closeness, and finally the confidence
//! fitted by asking the FAQ's questions back (`ask_back.rs`).
//!
//! Everything a query needs later is computed here once, so that `decide`
//! only reads.

use crate::MatcherConfig;

use crate::analyze::{Analyzer, Terms};
use crate::calibrate::ConfidenceModel;
use crate::closeness::{self, Nearest};
use crate::correct::Speller;
use crate::faq::Faq;
use crate::fxmap::{FxMap, term_key};
use crate::normalize::normalize;
use crate::prior::Prior;
use crate::semantic::{self, Space, VECTORS, ZH_VECTORS};

use super::vectors::{centroid, normalise, sparse_dot, sum_by_term};
use super::{Doc, EntryInfo, Matcher, MeaningSpace, compact, texts_in_space};

/// Relative weight of each kind of term (words, grams, sounds).
const KIND_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.3];

/// BM25 parameters (retrieval and the entry's share of the query).
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

/// From how many entries the build analyses and calibrates on all cores.
const PARALLEL_FROM: usize = 2_000;

/// How many other texts of its entry a text is compared with to find its
/// closest (bounds the build on entries with very many questions).
const CLOSENESS_PEERS: usize = 64;

/// A FAQ text after analysis, before indexing.
pub(super) struct Analysed {
    pub(super) entry: u32,
    /// A question (not the keywords of an entry): calibration asks it back.
    pub(super) is_question: bool,
    /// The normalised text, spaces collapsed.
    pub(super) text: String,
    pub(super) terms: Terms,
    /// Meaning vector and its space (see `semantic::meaning_and_words`),
    /// before centring.
    pub(super) meaning: Option<(Space, Vec<f32>)>,
    /// Its content words' rows in the word-vector table of that space.
    pub(super) words: Vec<u32>,
}

impl Matcher {
    /// Builds the index of `faq`, its confidence the shipped prior adjusted
    /// by the FAQ's own questions.
    ///
    /// Building cannot fail: the FAQ was validated when it loaded, the
    /// index is our own (tantivy only lends its tokenizers, which cannot
    /// fail) and the compiled-in data is checked by tests.
    pub fn build(faq: &Faq, config: MatcherConfig) -> Matcher {
        Self::build_with_prior(faq, config, Prior::shipped())
    }

    /// Builds the index of `faq` with another confidence prior (the
    /// leave-one-dataset-out validation builds with priors that never saw
    /// the dataset measured).
    pub fn build_with_prior(faq: &Faq, config: MatcherConfig, prior: &Prior) -> Matcher {
        let analyzer = Analyzer::new(&faq.synonyms);
        // Analyse every question and the keywords of every entry, on all
        // cores for a large FAQ (segmentation dominates the build).
        let parallel = faq.entries.len() >= PARALLEL_FROM;
        let analysed: Vec<Analysed> = parallel_map(faq.entries.len(), parallel, |e| {
            analyse_entry(&analyzer, faq, e)
        })
        .into_iter()
        .flatten()
        .collect();
        let dictionary = Dictionary::of(&analysed);
        let weights = Weights::of(&dictionary, analysed.len(), faq.entries.len());
        let (docs, entries, meanings) = index_texts(faq, &analysed, &dictionary, &weights);
        let (offsets, postings) = postings(&docs, dictionary.term_kind.len());
        let speller = Speller::new(
            analysed
                .iter()
                .filter(|a| a.is_question)
                .map(|a| (a.text.as_str(), a.terms.words.as_slice())),
        );
        let mut matcher = Matcher {
            config,
            analyzer,
            vocabulary: dictionary.vocabulary,
            term_kind: dictionary.term_kind,
            entry_df: dictionary.entry_df,
            doc_df: dictionary.doc_df,
            bm_weights: weights.bm,
            weights: weights.tf_idf,
            unknown_bm: weights.unknown_bm,
            unknown_weights: weights.unknown_tf_idf,
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
        matcher
    }
}

/// The questions and the keywords of entry `e`, analysed.
fn analyse_entry(analyzer: &Analyzer, faq: &Faq, e: usize) -> Vec<Analysed> {
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
}

/// The term dictionary of the analysed texts: term ids, their kinds and
/// document frequencies, and each text's term counts.
struct Dictionary {
    /// Term key (kind and text, see `term_key`) → term id.
    vocabulary: FxMap<u64, u32>,
    /// Per term id: its kind, and in how many entries / texts it occurs.
    term_kind: Vec<u8>,
    entry_df: Vec<u32>,
    doc_df: Vec<u32>,
    /// Per text: its terms (sorted by id) with their counts.
    doc_terms: Vec<Vec<(u32, f32)>>,
    /// Per text: how many terms of each kind it has.
    lengths: Vec<[f32; 3]>,
}

impl Dictionary {
    fn of(analysed: &[Analysed]) -> Dictionary {
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
        for a in analysed {
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
        Dictionary {
            vocabulary,
            term_kind,
            entry_df,
            doc_df,
            doc_terms,
            lengths,
        }
    }
}

/// The weights of the dictionary's terms (see the fields of `Matcher`).
struct Weights {
    /// Per term id: BM25 idf × kind weight.
    bm: Vec<f32>,
    /// Per term id: TF-IDF weight (kind weight × idf over entries).
    tf_idf: Vec<f32>,
    /// Weights of a term the FAQ never uses, per kind.
    unknown_bm: [f32; 3],
    unknown_tf_idf: [f32; 3],
}

impl Weights {
    fn of(dictionary: &Dictionary, texts: usize, entries: usize) -> Weights {
        let n_docs = texts.max(1) as f32;
        let n_entries = entries.max(1) as f32;
        let bm_idf = |df: f32| (1.0 + (n_docs - df + 0.5) / (df + 0.5)).ln();
        let entry_idf = |df: f32| (1.0 + n_entries / df).ln();
        let kind_weight = |kind: usize| KIND_WEIGHTS[kind];
        let term_kind = &dictionary.term_kind;
        Weights {
            bm: dictionary
                .doc_df
                .iter()
                .zip(term_kind)
                .map(|(&df, &kind)| kind_weight(kind as usize) * bm_idf(df as f32))
                .collect(),
            tf_idf: dictionary
                .entry_df
                .iter()
                .zip(term_kind)
                .map(|(&df, &kind)| kind_weight(kind as usize) * entry_idf(df as f32))
                .collect(),
            unknown_bm: [0, 1, 2].map(|k| kind_weight(k) * bm_idf(1.0)),
            unknown_tf_idf: [0, 1, 2].map(|k| kind_weight(k) * entry_idf(1.0)),
        }
    }
}

/// The indexed texts (BM25 term frequencies against the average length per
/// kind, unit TF-IDF vectors, centred meaning vectors), the entries with
/// their centroids and closeness, and the meaning spaces.
fn index_texts(
    faq: &Faq,
    analysed: &[Analysed],
    dictionary: &Dictionary,
    weights: &Weights,
) -> (Vec<Doc>, Vec<EntryInfo>, [MeaningSpace; 2]) {
    let n_docs = analysed.len().max(1) as f32;
    let lengths = &dictionary.lengths;
    let term_kind = &dictionary.term_kind;
    let mut average = [0.0f32; 3];
    for length in lengths {
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
    for (i, (a, counts)) in analysed.iter().zip(&dictionary.doc_terms).enumerate() {
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
            .map(|&(id, tf)| (id, (1.0 + tf.ln()) * weights.tf_idf[id as usize]))
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
    (docs, entries, meanings)
}

/// The postings of `docs` over `terms` term ids, by counting: for term t,
/// `postings[offsets[t]..offsets[t + 1]]` are its texts with their BM25
/// term frequency.
fn postings(docs: &[Doc], terms: usize) -> (Vec<u32>, Vec<(u32, f32)>) {
    let mut offsets = vec![0u32; terms + 1];
    for doc in docs {
        for &(id, _) in &doc.bm25 {
            offsets[id as usize + 1] += 1;
        }
    }
    for t in 0..terms {
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
    (offsets, postings)
}

/// `f(0..n)` in order, on all cores when `parallel`.
pub(super) fn parallel_map<T: Send>(
    n: usize,
    parallel: bool,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
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

pub(super) fn kind_lists(terms: &Terms) -> [&Vec<String>; 3] {
    [&terms.words, &terms.grams, &terms.sounds]
}
