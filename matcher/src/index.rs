//! The index over FAQ questions and keywords, and the scoring that ranks
//! entries and turns scores into a calibrated confidence.
//!
//! A query goes through three steps:
//! 1. retrieval: tantivy (BM25, in RAM) finds the FAQ questions sharing the
//!    most informative terms with the query, from a disjunction of term
//!    queries built from the analyzer's terms (never the query parser);
//! 2. ranking: the entries of those questions are scored by TF-IDF cosine
//!    against each of their questions and their centroid, plus a character
//!    similarity on the closest questions for typos;
//! 3. confidence: a logistic model (see `calibrate.rs`) turns each
//!    candidate's evidence into a probability, fitted when the index is
//!    built on the FAQ's own questions asked back.
//!
//! # What the confidence means
//!
//! A candidate's confidence estimates the probability that it is the entry
//! answering the question, as learned from this FAQ: every FAQ question
//! (up to a sample) is asked back twice, once with only that question
//! hidden (its own entry should come first) and once with its whole entry
//! hidden (a question the FAQ does not answer: any answer would be wrong,
//! counted at half weight). So 0.9 means "FAQ questions held out with
//! evidence like this found their own entry about 9 times in 10".
//! Real users write less like the FAQ than the FAQ writes like itself, so
//! read it as an ordering with a rough scale, not an exact probability:
//! raise `answer_threshold` to answer less and be wrong less, and measure
//! with `helpdesk eval` on real questions. `margin` turns close calls
//! between the first two candidates into "did you mean". Queries saying
//! less than two words (see `Terms::size`) are never auto-answered.

use std::collections::HashMap;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{DocAddress, Index, Searcher, TantivyDocument, Term};

use crate::analyze::{Analyzer, Terms};
use crate::calibrate::{ConfidenceModel, FEATURES, Sample};
use crate::faq::Faq;
use crate::normalize::normalize;
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

/// How many questions retrieval hands to ranking.
const RETRIEVE: usize = 48;
/// How many query terms retrieval uses at most (the heaviest).
const RETRIEVAL_TERMS: usize = 24;
/// How many entries ranking scores in full.
const RERANK: usize = 16;
/// How many candidates a decision carries.
const MAX_CANDIDATES: usize = 5;
/// How many held-out questions calibration asks back at most.
const CALIBRATION_SAMPLES: usize = 400;
/// Weight of a held-out-entry sample relative to a held-out-question one:
/// how common questions the FAQ does not answer are assumed to be.
const UNANSWERABLE_WEIGHT: f32 = 0.5;

/// Relative weight of each kind of term (words, grams, sounds).
const KIND_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.3];
/// Queries saying less than this (see `Terms::size`) are never answered,
/// only suggested: "到账慢" could be a deposit or a withdrawal.
const MIN_ANSWER_SIZE: f32 = 2.0;
/// How many leading entries get the character similarity re-rank.
const TYPO_RERANK: usize = 5;
/// How far character similarity pulls the raw score towards itself.
const TYPO_SHARE: f32 = 0.15;
/// Share of the best single question in an entry's score (rest: centroid).
const BEST_QUESTION_SHARE: f32 = 0.4;

/// One indexed text: a question or the keywords of an entry.
struct Doc {
    entry: u32,
    /// Normalised text (spaces collapsed) for character similarity.
    text: String,
    /// TF-IDF vector, sorted by term id, unit length.
    vector: Vec<(u32, f32)>,
}

struct EntryInfo {
    id: String,
    docs: Vec<u32>,
    /// Normalised sum of the question vectors.
    centroid: Vec<(u32, f32)>,
}

/// A FAQ text after analysis, before indexing.
struct Analysed {
    entry: u32,
    /// A question (not the keywords of an entry): calibration asks it back.
    is_question: bool,
    /// The normalised text, spaces collapsed.
    text: String,
    terms: Terms,
}

/// A query ready to score: its vector over known terms and its full norm.
struct Query_ {
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
    fn hides(self, doc: u32) -> bool {
        matches!(self, HeldOut::Docs(_, docs) if docs.contains(&doc))
    }

    fn hides_entry(self, entry: u32) -> bool {
        self == HeldOut::Entry(entry)
    }
}

/// One ranked entry and the evidence behind its score.
#[derive(Debug, Clone)]
struct Scored {
    entry: u32,
    /// The ranking score: cosine mix plus character similarity.
    raw: f32,
    /// Cosine with the closest question of the entry.
    best: f32,
    /// Cosine with the entry's centroid.
    centroid: f32,
    /// Character similarity with the closest question (leading entries only).
    similarity: f32,
    /// Share of the query's weight on terms the entry uses at all.
    explained: f32,
    best_doc: u32,
}

/// The ranked entries of one query.
struct Ranking {
    scored: Vec<Scored>,
    known_words: usize,
    unknown_share: f32,
}

impl Ranking {
    /// The features the confidence model reads for the `i`-th entry.
    fn features(&self, i: usize) -> [f32; FEATURES] {
        let s = &self.scored[i];
        let other = self
            .scored
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, o)| o.raw)
            .fold(0.0f32, f32::max);
        [
            s.raw,
            s.best,
            s.centroid,
            s.raw - other,
            (1.0 + self.known_words as f32).ln(),
            self.unknown_share,
            s.explained,
        ]
    }
}

/// Ranks FAQ entries for a query. Built once per FAQ version; `decide`
/// does no I/O and is safe to call from many threads.
pub struct Matcher {
    config: MatcherConfig,
    analyzer: Analyzer,
    searcher: Searcher,
    fields: [Field; 3],
    /// Per segment, per tantivy doc id: our doc index.
    doc_ids: Vec<Vec<u32>>,
    docs: Vec<Doc>,
    entries: Vec<EntryInfo>,
    terms: HashMap<String, u32>,
    /// Per term id: its kind and its text in the index.
    term_texts: Vec<(u8, String)>,
    /// Per term id: in how many entries / texts it occurs.
    entry_df: Vec<u32>,
    doc_df: Vec<u32>,
    /// Per term id: kind weight × idf.
    weights: Vec<f32>,
    /// Weight of a term the FAQ never uses, per kind.
    unknown_weights: [f32; 3],
    confidence: ConfidenceModel,
}

const KIND_PREFIX: [&str; 3] = ["w:", "g:", "s:"];

impl Matcher {
    pub fn build(faq: &Faq, config: MatcherConfig) -> Result<Matcher, BuildError> {
        let analyzer = Analyzer::new(&faq.synonyms);

        // Analyse every question and the keywords of every entry.
        let mut analysed: Vec<Analysed> = Vec::new();
        for (e, entry) in faq.entries.iter().enumerate() {
            let entry_index = e as u32;
            for question in entry.questions.values().flatten() {
                let text = normalize(question);
                let terms = analyzer.analyze_normalized(&text);
                if !terms.is_empty() {
                    analysed.push(Analysed {
                        entry: entry_index,
                        is_question: true,
                        text: compact(&text),
                        terms,
                    });
                }
            }
            if !entry.keywords.is_empty() {
                let terms = analyzer.analyze(&entry.keywords.join("\n"));
                if !terms.is_empty() {
                    analysed.push(Analysed {
                        entry: entry_index,
                        is_question: false,
                        text: String::new(),
                        terms,
                    });
                }
            }
        }

        // Term dictionary and inverse entry frequency: a term in every
        // question of one entry is the most telling, not the least.
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut term_texts: Vec<(u8, String)> = Vec::new();
        let mut entry_df: Vec<u32> = Vec::new();
        let mut doc_df: Vec<u32> = Vec::new();
        let mut last_entry: Vec<u32> = Vec::new();
        let mut last_doc: Vec<u32> = Vec::new();
        for (doc, a) in analysed.iter().enumerate() {
            for (kind, list) in kind_lists(&a.terms).into_iter().enumerate() {
                for token in list {
                    let key = format!("{}{token}", KIND_PREFIX[kind]);
                    let next = terms.len() as u32;
                    let id = *terms.entry(key).or_insert(next);
                    if id == next {
                        term_texts.push((kind as u8, token.clone()));
                        entry_df.push(0);
                        doc_df.push(0);
                        last_entry.push(u32::MAX);
                        last_doc.push(u32::MAX);
                    }
                    if last_doc[id as usize] != doc as u32 {
                        last_doc[id as usize] = doc as u32;
                        doc_df[id as usize] += 1;
                    }
                    if last_entry[id as usize] != a.entry {
                        last_entry[id as usize] = a.entry;
                        entry_df[id as usize] += 1;
                    }
                }
            }
        }
        let n_entries = faq.entries.len().max(1) as f32;
        let idf = |df: f32| (1.0 + n_entries / df).ln();
        let weights: Vec<f32> = entry_df
            .iter()
            .by_ref()
            .zip(&term_texts)
            .map(|(&df, (kind, _))| kind_weight(*kind as usize) * idf(df as f32))
            .collect();
        let unknown_weights = [0, 1, 2].map(|k| kind_weight(k) * idf(1.0));

        let mut matcher = Matcher {
            config,
            analyzer,
            searcher: empty_searcher()?,
            fields: [Field::from_field_id(0); 3],
            doc_ids: Vec::new(),
            docs: Vec::new(),
            entries: faq
                .entries
                .iter()
                .map(|e| EntryInfo {
                    id: e.id.clone(),
                    docs: Vec::new(),
                    centroid: Vec::new(),
                })
                .collect(),
            terms,
            term_texts,
            weights,
            entry_df,
            doc_df,
            unknown_weights,
            confidence: ConfidenceModel::untrained(),
        };

        for (i, a) in analysed.iter().enumerate() {
            let mut vector = matcher.vectorize(&a.terms, HeldOut::Nothing).vector;
            normalise(&mut vector);
            matcher.entries[a.entry as usize].docs.push(i as u32);
            matcher.docs.push(Doc {
                entry: a.entry,
                text: a.text.clone(),
                vector,
            });
        }
        for entry in &mut matcher.entries {
            let mut sum: HashMap<u32, f32> = HashMap::new();
            for &d in &entry.docs {
                for &(t, w) in &matcher.docs[d as usize].vector {
                    *sum.entry(t).or_default() += w;
                }
            }
            let mut centroid: Vec<(u32, f32)> = sum.into_iter().collect();
            centroid.sort_unstable_by_key(|&(t, _)| t);
            normalise(&mut centroid);
            entry.centroid = centroid;
        }

        matcher.build_index(&analysed)?;
        matcher.calibrate(&analysed);
        Ok(matcher)
    }

    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// Ranks the entries for `query` and decides what to do.
    pub fn decide(&self, query: &str) -> Decision {
        let text = normalize(query);
        let terms = self.analyzer.analyze_normalized(&text);
        if terms.is_empty() {
            return Decision {
                outcome: Outcome::NoMatch,
                candidates: Vec::new(),
            };
        }
        let ranking = self.rank(&terms, &compact(&text), HeldOut::Nothing);
        let mut candidates: Vec<Candidate> = ranking
            .scored
            .iter()
            .take(MAX_CANDIDATES)
            .enumerate()
            .map(|(i, s)| Candidate {
                entry_id: self.entries[s.entry as usize].id.clone(),
                confidence: self.confidence.apply(&ranking.features(i)),
            })
            .collect();
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let mut outcome = self.outcome(&candidates);
        if terms.size < MIN_ANSWER_SIZE
            && let Outcome::Answer { entry_id } = outcome
        {
            // One or two words name a topic, not a question: ask which one.
            outcome = Outcome::Suggest {
                entry_ids: vec![entry_id],
            };
            if let Outcome::Suggest { entry_ids } = &mut outcome {
                entry_ids.extend(
                    candidates
                        .iter()
                        .skip(1)
                        .filter(|c| c.confidence >= self.config.suggest_threshold)
                        .take(self.config.max_suggestions.saturating_sub(1))
                        .map(|c| c.entry_id.clone()),
                );
            }
        }
        Decision {
            outcome,
            candidates,
        }
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
        let entry_ids: Vec<String> = candidates
            .iter()
            .filter(|c| c.confidence >= self.config.suggest_threshold)
            .take(self.config.max_suggestions)
            .map(|c| c.entry_id.clone())
            .collect();
        if entry_ids.is_empty() {
            Outcome::NoMatch
        } else {
            Outcome::Suggest { entry_ids }
        }
    }

    /// Entries with their scores, best first. `held_out` hides a question
    /// or a whole entry (calibration asks FAQ questions back).
    fn rank(&self, terms: &Terms, text: &str, held_out: HeldOut) -> Ranking {
        let query = self.vectorize(terms, held_out);
        let mut ranking = Ranking {
            scored: Vec::new(),
            known_words: query.known_words,
            unknown_share: query.unknown_share,
        };
        if query.vector.is_empty() || query.norm <= 0.0 {
            return ranking;
        }
        let hits = self.retrieve(&query, held_out);
        let mut candidates: Vec<u32> = Vec::new();
        for (d, _bm25) in hits {
            let e = self.docs[d as usize].entry;
            if !candidates.contains(&e) {
                candidates.push(e);
                if candidates.len() == RERANK {
                    break;
                }
            }
        }
        let share = BEST_QUESTION_SHARE;
        let mut scored: Vec<Scored> = candidates
            .into_iter()
            .map(|e| {
                let info = &self.entries[e as usize];
                let (best_doc, best) = info
                    .docs
                    .iter()
                    .filter(|&&d| !held_out.hides(d))
                    .map(|&d| (d, dot(&query.vector, &self.docs[d as usize].vector)))
                    .fold((u32::MAX, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
                let own_centroid;
                let centroid_vector = match held_out {
                    HeldOut::Docs(owner, hidden) if owner == e => {
                        own_centroid = self.centroid_without(e, hidden);
                        &own_centroid
                    }
                    _ => &info.centroid,
                };
                let centroid = dot(&query.vector, centroid_vector);
                let (best, centroid) = (best / query.norm, centroid / query.norm);
                let explained = query
                    .vector
                    .iter()
                    .filter(|(t, _)| centroid_vector.binary_search_by_key(t, |&(c, _)| c).is_ok())
                    .map(|(_, w)| w * w)
                    .sum::<f32>()
                    / (query.norm * query.norm);
                Scored {
                    entry: e,
                    raw: (share * best + (1.0 - share) * centroid).clamp(0.0, 1.0),
                    best,
                    centroid,
                    similarity: 0.0,
                    explained,
                    best_doc,
                }
            })
            .collect();
        scored.sort_by(|a, b| b.raw.total_cmp(&a.raw).then(a.entry.cmp(&b.entry)));
        // Character similarity to the closest question of the leading
        // entries: catches typos that split words differently.
        if !text.is_empty() {
            let typo_share = TYPO_SHARE;
            for s in scored.iter_mut().take(TYPO_RERANK) {
                if let Some(d) = self.docs.get(s.best_doc as usize) {
                    s.similarity = strsim::normalized_levenshtein(text, &d.text) as f32;
                    s.raw += typo_share * (s.similarity - s.raw);
                }
            }
            scored.sort_by(|a, b| b.raw.total_cmp(&a.raw).then(a.entry.cmp(&b.entry)));
        }
        ranking.scored = scored;
        ranking
    }

    /// The centroid of entry `e` without doc `skip`.
    fn centroid_without(&self, e: u32, skip: &[u32]) -> Vec<(u32, f32)> {
        let mut sum: HashMap<u32, f32> = HashMap::new();
        for &d in &self.entries[e as usize].docs {
            if skip.contains(&d) {
                continue;
            }
            for &(t, w) in &self.docs[d as usize].vector {
                *sum.entry(t).or_default() += w;
            }
        }
        let mut centroid: Vec<(u32, f32)> = sum.into_iter().collect();
        centroid.sort_unstable_by_key(|&(t, _)| t);
        normalise(&mut centroid);
        centroid
    }

    /// Our doc indices of the best BM25 matches, best first.
    fn retrieve(&self, query: &Query_, held_out: HeldOut) -> Vec<(u32, f32)> {
        // The most informative terms find the candidates; ranking then
        // reads all of them.
        let mut strongest: Vec<(u32, f32)> = query.vector.clone();
        strongest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        strongest.truncate(RETRIEVAL_TERMS);
        let clauses: Vec<(Occur, Box<dyn Query>)> = strongest
            .iter()
            .map(|&(id, _)| {
                let (kind, text) = &self.term_texts[id as usize];
                let term = Term::from_field_text(self.fields[*kind as usize], text);
                let query: Box<dyn Query> = Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    kind_weight(*kind as usize),
                ));
                (Occur::Should, query)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let limit = RETRIEVE
            + match held_out {
                HeldOut::Nothing => 0,
                HeldOut::Docs(_, hidden) => hidden.len(),
                HeldOut::Entry(e) => self.entries[e as usize].docs.len(),
            };
        let Ok(hits) = self
            .searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
        else {
            return Vec::new();
        };
        hits.into_iter()
            .filter_map(|(score, address): (f32, DocAddress)| {
                self.doc_ids
                    .get(address.segment_ord as usize)
                    .and_then(|ids| ids.get(address.doc_id as usize))
                    .map(|&d| (d, score))
            })
            .filter(|&(d, _)| {
                !held_out.hides(d) && !held_out.hides_entry(self.docs[d as usize].entry)
            })
            .collect()
    }

    /// The query vector. A term only the held-out text (or entry) uses
    /// counts as unknown, as it would for a real question.
    fn vectorize(&self, terms: &Terms, held_out: HeldOut) -> Query_ {
        let mut counts: HashMap<u32, f32> = HashMap::new();
        let mut unknown: HashMap<(usize, &str), f32> = HashMap::new();
        for (kind, list) in kind_lists(terms).into_iter().enumerate() {
            for token in list {
                let key = format!("{}{token}", KIND_PREFIX[kind]);
                let known = self.terms.get(&key).copied().filter(|&id| match held_out {
                    HeldOut::Nothing => true,
                    HeldOut::Docs(_, hidden) => {
                        let in_hidden = hidden
                            .iter()
                            .filter(|&&d| {
                                self.docs[d as usize]
                                    .vector
                                    .binary_search_by_key(&id, |&(t, _)| t)
                                    .is_ok()
                            })
                            .count();
                        self.doc_df[id as usize] as usize > in_hidden
                    }
                    HeldOut::Entry(_) => self.entry_df[id as usize] > 1,
                });
                match known {
                    Some(id) => *counts.entry(id).or_default() += 1.0,
                    None => *unknown.entry((kind, token.as_str())).or_default() += 1.0,
                }
            }
        }
        let mut vector: Vec<(u32, f32)> = counts
            .into_iter()
            .map(|(id, tf)| (id, (1.0 + tf.ln()) * self.weights[id as usize]))
            .collect();
        vector.sort_unstable_by_key(|&(t, _)| t);
        let unknown_sq: f32 = unknown
            .iter()
            .map(|(&(kind, _), &tf)| ((1.0 + tf.ln()) * self.unknown_weights[kind]).powi(2))
            .sum();
        let known_sq: f32 = vector.iter().map(|(_, w)| w * w).sum();
        let norm = (known_sq + unknown_sq).sqrt();
        let known_words = vector
            .iter()
            .filter(|&&(id, _)| self.term_texts[id as usize].0 == 0)
            .count();
        Query_ {
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

    fn build_index(&mut self, analysed: &[Analysed]) -> Result<(), BuildError> {
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = [
            schema.add_text_field("words", text.clone()),
            schema.add_text_field("grams", text.clone()),
            schema.add_text_field("sounds", text),
        ];
        let doc_field = schema.add_u64_field("doc", FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 100_000_000)?;
        for (i, a) in analysed.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(doc_field, i as u64);
            for (kind, list) in kind_lists(&a.terms).into_iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                let tokens = list
                    .iter()
                    .enumerate()
                    .map(|(position, t)| Token {
                        offset_from: 0,
                        offset_to: 0,
                        position,
                        text: t.clone(),
                        position_length: 1,
                    })
                    .collect();
                doc.add_pre_tokenized_text(
                    fields[kind],
                    PreTokenizedString {
                        text: String::new(),
                        tokens,
                    },
                );
            }
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        let searcher = reader.searcher();
        let mut doc_ids = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("doc")?;
            let ids = (0..segment.max_doc())
                .map(|d| column.first(d).unwrap_or(0) as u32)
                .collect();
            doc_ids.push(ids);
        }
        self.searcher = searcher;
        self.fields = fields;
        self.doc_ids = doc_ids;
        Ok(())
    }

    /// Asks FAQ questions back and fits the confidence model on whether
    /// each candidate was the question's own entry: once with only that
    /// question held out (its entry should still win), once with its whole
    /// entry held out (a question the FAQ does not answer: every candidate
    /// is wrong).
    fn calibrate(&mut self, analysed: &[Analysed]) {
        let questions: Vec<u32> = (0..analysed.len() as u32)
            .filter(|&d| analysed[d as usize].is_question)
            .collect();
        let stride = questions.len().div_ceil(CALIBRATION_SAMPLES).max(1);
        let unanswerable_weight = UNANSWERABLE_WEIGHT;
        let mut samples: Vec<Sample> = Vec::new();
        for &d in questions.iter().step_by(stride) {
            let a = &analysed[d as usize];
            let own = self.docs[d as usize].entry;
            let ranking = self.rank(&a.terms, &a.text, HeldOut::Docs(own, &[d]));
            for (i, s) in ranking.scored.iter().take(MAX_CANDIDATES).enumerate() {
                samples.push(Sample {
                    features: ranking.features(i),
                    correct: s.entry == own,
                    weight: 1.0,
                });
            }
            if unanswerable_weight > 0.0 {
                let ranking = self.rank(&a.terms, &a.text, HeldOut::Entry(own));
                for i in 0..ranking.scored.len().min(MAX_CANDIDATES) {
                    samples.push(Sample {
                        features: ranking.features(i),
                        correct: false,
                        weight: unanswerable_weight,
                    });
                }
            }
        }
        self.confidence = ConfidenceModel::fit(&samples);
    }
}

/// `text` with runs of whitespace collapsed to one space.
fn compact(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn empty_searcher() -> Result<Searcher, BuildError> {
    let index = Index::create_in_ram(Schema::builder().build());
    Ok(index.reader()?.searcher())
}

fn kind_weight(kind: usize) -> f32 {
    KIND_WEIGHTS[kind]
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

/// Dot product of two vectors sorted by term id.
fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}
