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
//! 3. confidence: the raw score goes through a monotone map fitted on the
//!    FAQ itself (leave-one-out over its own questions, see `calibrate.rs`),
//!    so that a confidence of 0.9 means "of the FAQ's own questions held out
//!    and asked back, those ranked with this score found their entry about
//!    90% of the time".

use std::collections::HashMap;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{DocAddress, Index, Searcher, TantivyDocument, Term};

use crate::analyze::{Analyzer, Terms};
use crate::calibrate::Calibration;
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
const RETRIEVE: usize = 64;
/// How many entries ranking scores in full.
const RERANK: usize = 24;
/// How many candidates a decision carries.
const MAX_CANDIDATES: usize = 5;
/// How many held-out questions calibration asks back at most.
const CALIBRATION_SAMPLES: usize = 1500;
/// How many samples' worth of trust the prior (confidence = raw score) gets.
const CALIBRATION_PRIOR_WEIGHT: f32 = 10.0;

/// Relative weight of each kind of term (words, grams, sounds).
const KIND_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.3];
/// How many leading entries get the character similarity re-rank.
const TYPO_RERANK: usize = 5;
/// How far character similarity pulls the raw score towards itself.
const TYPO_SHARE: f32 = 0.15;
/// Share of the best single question in an entry's score (rest: centroid).
const BEST_QUESTION_SHARE: f32 = 0.7;

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
    /// Per term id: kind weight × idf.
    weights: Vec<f32>,
    /// Weight of a term the FAQ never uses, per kind.
    unknown_weights: [f32; 3],
    calibration: Calibration,
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
        let mut last_entry: Vec<u32> = Vec::new();
        for a in &analysed {
            for (kind, list) in kind_lists(&a.terms).into_iter().enumerate() {
                for token in list {
                    let key = format!("{}{token}", KIND_PREFIX[kind]);
                    let next = terms.len() as u32;
                    let id = *terms.entry(key).or_insert(next);
                    if id == next {
                        term_texts.push((kind as u8, token.clone()));
                        entry_df.push(0);
                        last_entry.push(u32::MAX);
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
            .zip(&term_texts)
            .map(|(&df, (kind, _))| KIND_WEIGHTS[*kind as usize] * idf(df as f32))
            .collect();
        let unknown_weights = KIND_WEIGHTS.map(|w| w * idf(1.0));

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
            unknown_weights,
            calibration: Calibration::fit(&[], |x| x, 1.0),
        };

        for (i, a) in analysed.iter().enumerate() {
            let mut vector = matcher.vectorize(&a.terms).vector;
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
        let ranked = self.rank(&terms, &compact(&text), None);
        let candidates: Vec<Candidate> = ranked
            .iter()
            .take(MAX_CANDIDATES)
            .map(|&(e, raw)| Candidate {
                entry_id: self.entries[e as usize].id.clone(),
                confidence: self.calibration.apply(raw),
            })
            .collect();
        let outcome = self.outcome(&candidates);
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

    /// Entries with their raw scores, best first. `held_out` is an entry
    /// whose given doc is ignored (calibration asks questions back).
    fn rank(&self, terms: &Terms, text: &str, held_out: Option<u32>) -> Vec<(u32, f32)> {
        let query = self.vectorize(terms);
        if query.vector.is_empty() || query.norm <= 0.0 {
            return Vec::new();
        }
        let hits = self.retrieve(&query, held_out);
        let mut candidates: Vec<u32> = Vec::new();
        for d in hits {
            let e = self.docs[d as usize].entry;
            if !candidates.contains(&e) {
                candidates.push(e);
                if candidates.len() == RERANK {
                    break;
                }
            }
        }
        let mut scored: Vec<(u32, f32, u32)> = candidates
            .into_iter()
            .map(|e| {
                let info = &self.entries[e as usize];
                let (best_doc, best) = info
                    .docs
                    .iter()
                    .filter(|&&d| Some(d) != held_out)
                    .map(|&d| (d, dot(&query.vector, &self.docs[d as usize].vector)))
                    .fold((u32::MAX, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
                let centroid = if held_out.is_some_and(|d| self.docs[d as usize].entry == e) {
                    self.centroid_without(e, held_out.unwrap_or(u32::MAX), &query.vector)
                } else {
                    dot(&query.vector, &info.centroid)
                };
                let raw = (BEST_QUESTION_SHARE * best + (1.0 - BEST_QUESTION_SHARE) * centroid)
                    / query.norm;
                (e, raw.clamp(0.0, 1.0), best_doc)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Character similarity to the closest question of the leading
        // entries: catches typos that split words differently.
        if !text.is_empty() {
            for (_, raw, doc) in scored.iter_mut().take(TYPO_RERANK) {
                if let Some(d) = self.docs.get(*doc as usize) {
                    let similarity = strsim::normalized_levenshtein(text, &d.text) as f32;
                    *raw += TYPO_SHARE * (similarity - *raw);
                }
            }
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        scored.into_iter().map(|(e, raw, _)| (e, raw)).collect()
    }

    /// The centroid dot product of entry `e` without doc `skip`.
    fn centroid_without(&self, e: u32, skip: u32, query: &[(u32, f32)]) -> f32 {
        let mut sum: HashMap<u32, f32> = HashMap::new();
        for &d in &self.entries[e as usize].docs {
            if d == skip {
                continue;
            }
            for &(t, w) in &self.docs[d as usize].vector {
                *sum.entry(t).or_default() += w;
            }
        }
        let mut centroid: Vec<(u32, f32)> = sum.into_iter().collect();
        centroid.sort_unstable_by_key(|&(t, _)| t);
        normalise(&mut centroid);
        dot(query, &centroid)
    }

    /// Our doc indices of the best BM25 matches, best first.
    fn retrieve(&self, query: &Query_, held_out: Option<u32>) -> Vec<u32> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = query
            .vector
            .iter()
            .map(|&(id, _)| {
                let (kind, text) = &self.term_texts[id as usize];
                let term = Term::from_field_text(self.fields[*kind as usize], text);
                let query: Box<dyn Query> = Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    KIND_WEIGHTS[*kind as usize],
                ));
                (Occur::Should, query)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let limit = RETRIEVE + usize::from(held_out.is_some());
        let Ok(hits) = self
            .searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
        else {
            return Vec::new();
        };
        hits.into_iter()
            .filter_map(|(_, address): (f32, DocAddress)| {
                self.doc_ids
                    .get(address.segment_ord as usize)
                    .and_then(|ids| ids.get(address.doc_id as usize))
                    .copied()
            })
            .filter(|&d| Some(d) != held_out)
            .collect()
    }

    fn vectorize(&self, terms: &Terms) -> Query_ {
        let mut counts: HashMap<u32, f32> = HashMap::new();
        let mut unknown: HashMap<(usize, &str), f32> = HashMap::new();
        for (kind, list) in kind_lists(terms).into_iter().enumerate() {
            for token in list {
                let key = format!("{}{token}", KIND_PREFIX[kind]);
                match self.terms.get(&key) {
                    Some(&id) => *counts.entry(id).or_default() += 1.0,
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
        // Scale so that a unit-length doc vector dotted with it is a cosine
        // once divided by `norm`.
        Query_ { vector, norm }
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

    /// Asks held-out FAQ questions back and fits the confidence map on
    /// whether the best entry was the question's own.
    fn calibrate(&mut self, analysed: &[Analysed]) {
        let questions: Vec<u32> = (0..analysed.len() as u32)
            .filter(|&d| analysed[d as usize].is_question)
            .collect();
        let stride = questions.len().div_ceil(CALIBRATION_SAMPLES).max(1);
        let samples: Vec<(f32, bool)> = questions
            .iter()
            .step_by(stride)
            .map(|&d| {
                let a = &analysed[d as usize];
                let ranked = self.rank(&a.terms, &a.text, Some(d));
                match ranked.first() {
                    Some(&(e, raw)) => (raw, e == self.docs[d as usize].entry),
                    None => (0.0, false),
                }
            })
            .collect();
        self.calibration = Calibration::fit(&samples, |x| x, CALIBRATION_PRIOR_WEIGHT);
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
