//! The evaluation contract of `faq-format.md`: a TSV of labelled queries and
//! the metrics computed from what a decider answered for each.
//!
//! The decider is a closure, so the `eval` command can pass the engine's own
//! decision path (which also recognises "I want a human") and quality tests
//! can pass the bare matcher.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::{Candidate, Error};

/// One line of a queries file.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledQuery {
    pub query: String,
    /// The entry a correct auto-answer uses; `None` for `-` (must not answer).
    pub expected: Option<String>,
    /// 1-based line in the file.
    pub line: usize,
}

/// Reads a queries file: a header line `query\texpected`, then one query a line.
pub fn read_queries(path: &Path) -> Result<Vec<LabeledQuery>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_queries(path, &text)
}

/// Parses the text of a queries file; `path` is used in messages only.
pub fn parse_queries(path: &Path, text: &str) -> Result<Vec<LabeledQuery>, Error> {
    let error = |line: usize, message: String| Error::Queries {
        path: path.to_owned(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim_end_matches('\r') == "query\texpected" => {}
        _ => {
            return Err(error(
                1,
                "the first line must be the header `query<TAB>expected`".into(),
            ));
        }
    }
    let mut queries = Vec::new();
    for (index, raw) in lines {
        let line = index + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let Some((query, expected)) = raw.rsplit_once('\t') else {
            return Err(error(
                line,
                "expected `query<TAB>expected`, found no tab".into(),
            ));
        };
        let (query, expected) = (query.trim(), expected.trim());
        if query.is_empty() {
            return Err(error(line, "the query is empty".into()));
        }
        if expected.is_empty() {
            return Err(error(
                line,
                "the expected entry id is empty (use `-` for none)".into(),
            ));
        }
        queries.push(LabeledQuery {
            query: query.to_owned(),
            expected: (expected != "-").then(|| expected.to_owned()),
            line,
        });
    }
    Ok(queries)
}

/// What a decider said about one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The entry auto-answered with, if the decider was confident.
    pub answered: Option<String>,
    /// The entries offered as "did you mean" choices, when not answered.
    pub offered: Vec<String>,
    /// Ranked candidates, best first (confident or not).
    pub candidates: Vec<Candidate>,
}

/// One query with its verdict and how long deciding took.
#[derive(Debug, Clone)]
pub struct Judged {
    pub query: LabeledQuery,
    pub verdict: Verdict,
    pub micros: f64,
}

impl Judged {
    pub fn is_correct(&self) -> bool {
        self.verdict.answered.is_some() && self.verdict.answered == self.query.expected
    }

    pub fn is_wrong(&self) -> bool {
        self.verdict.answered.is_some() && self.verdict.answered != self.query.expected
    }

    /// Answered right, or the expected entry is one tap away among the
    /// offered choices.
    pub fn is_one_tap(&self) -> bool {
        self.is_correct()
            || self.query.expected.as_ref().is_some_and(|expected| {
                self.verdict.answered.is_none() && self.verdict.offered.contains(expected)
            })
    }

    /// Got an answer or choices.
    pub fn is_offered(&self) -> bool {
        self.verdict.answered.is_some() || !self.verdict.offered.is_empty()
    }
}

impl Verdict {
    /// The verdict of a matcher's decision.
    pub fn of(decision: crate::Decision) -> Verdict {
        let (answered, offered) = match decision.outcome {
            crate::Outcome::Answer { entry_id } => (Some(entry_id), Vec::new()),
            crate::Outcome::Suggest { entry_ids } => (None, entry_ids),
            crate::Outcome::NoMatch => (None, Vec::new()),
        };
        Verdict {
            answered,
            offered,
            candidates: decision.candidates,
        }
    }

    /// No answer, no choices, no candidates (a message that is no question).
    pub fn none() -> Verdict {
        Verdict {
            answered: None,
            offered: Vec::new(),
            candidates: Vec::new(),
        }
    }
}

/// The metrics of the evaluation contract (`faq-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub queries: usize,
    pub answered: usize,
    pub correct: usize,
    pub wrong: usize,
    pub precision: f64,
    pub coverage: f64,
    pub top1: f64,
    pub false_answer_rate: f64,
    /// Share of the questions with an expected entry answered right, or
    /// whose expected entry was among the offered choices.
    pub one_tap: f64,
    /// Share of the `-` questions that got an answer or choices.
    pub offered_unanswerable: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// Runs `decide` on every query and measures it.
pub fn evaluate(
    queries: &[LabeledQuery],
    mut decide: impl FnMut(&str) -> Verdict,
) -> (Metrics, Vec<Judged>) {
    let judged: Vec<Judged> = queries
        .iter()
        .map(|query| {
            let started = Instant::now();
            let verdict = decide(&query.query);
            let micros = started.elapsed().as_secs_f64() * 1e6;
            Judged {
                query: query.clone(),
                verdict,
                micros,
            }
        })
        .collect();
    (metrics(&judged), judged)
}

/// Replays `queries` as traffic whose users pick the right choice: a
/// question answered with its expected entry (the user presses "Solved")
/// or offered it among the choices (the user picks it) teaches that
/// phrasing of the entry. Returns the learned (entry id, text) pairs; a
/// question answered wrongly or with nothing offered teaches nothing (an
/// agent's `/link` would, but this replay has no agent).
pub fn learned_from(
    queries: &[LabeledQuery],
    mut decide: impl FnMut(&str) -> Verdict,
) -> Vec<(String, String)> {
    let mut learned = Vec::new();
    for query in queries {
        let Some(expected) = &query.expected else {
            continue;
        };
        let verdict = decide(&query.query);
        let picked = match &verdict.answered {
            Some(answered) => answered == expected,
            None => verdict.offered.contains(expected),
        };
        if picked {
            learned.push((expected.clone(), query.query.clone()));
        }
    }
    learned
}

/// The metrics of already judged queries.
pub fn metrics(judged: &[Judged]) -> Metrics {
    let queries = judged.len();
    let answered = judged
        .iter()
        .filter(|j| j.verdict.answered.is_some())
        .count();
    let correct = judged.iter().filter(|j| j.is_correct()).count();
    let wrong = judged.iter().filter(|j| j.is_wrong()).count();
    let with_expected: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.query.expected.is_some())
        .collect();
    let top1_hits = with_expected
        .iter()
        .filter(|j| {
            j.verdict.candidates.first().map(|c| c.entry_id.as_str()) == j.query.expected.as_deref()
        })
        .count();
    let one_tap = with_expected.iter().filter(|j| j.is_one_tap()).count();
    let unanswerable: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.query.expected.is_none())
        .collect();
    let offered_unanswerable = unanswerable.iter().filter(|j| j.is_offered()).count();
    let mut latencies: Vec<f64> = judged.iter().map(|j| j.micros).collect();
    latencies.sort_by(f64::total_cmp);
    Metrics {
        queries,
        answered,
        correct,
        wrong,
        precision: ratio(correct, answered),
        coverage: ratio(correct, with_expected.len()),
        top1: ratio(top1_hits, with_expected.len()),
        false_answer_rate: ratio(wrong, queries),
        one_tap: ratio(one_tap, with_expected.len()),
        offered_unanswerable: ratio(offered_unanswerable, unanswerable.len()),
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(expected: Option<&str>, answered: Option<&str>, best: Option<&str>) -> Judged {
        Judged {
            query: LabeledQuery {
                query: "q".into(),
                expected: expected.map(Into::into),
                line: 2,
            },
            verdict: Verdict {
                answered: answered.map(Into::into),
                offered: Vec::new(),
                candidates: best
                    .map(|id| Candidate {
                        entry_id: id.into(),
                        confidence: 0.5,
                    })
                    .into_iter()
                    .collect(),
            },
            micros: 10.0,
        }
    }

    #[test]
    fn metrics_follow_the_contract_definitions() {
        let all = [
            judged(Some("a"), Some("a"), Some("a")), // correct
            judged(Some("a"), Some("b"), Some("b")), // wrong
            judged(Some("b"), None, Some("b")),      // not answered, top1 hit
            judged(None, Some("a"), Some("a")),      // wrong: must not answer
            judged(None, None, Some("a")),           // fine
        ];
        let m = metrics(&all);
        assert_eq!((m.queries, m.answered, m.correct, m.wrong), (5, 3, 1, 2));
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.coverage - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.top1 - 2.0 / 3.0).abs() < 1e-9);
        assert!((m.false_answer_rate - 0.4).abs() < 1e-9);
    }

    #[test]
    fn a_queries_file_without_header_is_refused_with_its_line() {
        let err = parse_queries(Path::new("q.tsv"), "hello\t-\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.tsv:1: the first line must be the header `query<TAB>expected`"
        );
    }

    #[test]
    fn dash_means_no_entry_should_answer() {
        let q = parse_queries(Path::new("q.tsv"), "query\texpected\nhi\t-\nfee?\tfee-x\n").unwrap();
        assert_eq!(q[0].expected, None);
        assert_eq!(q[1].expected.as_deref(), Some("fee-x"));
        assert_eq!(q[1].line, 3);
    }
}
