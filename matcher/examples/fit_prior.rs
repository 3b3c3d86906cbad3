//! Fits the confidence prior (`data/prior.json`, see `src/prior.rs`) and
//! validates it leave one dataset out:
//!
//! ```text
//! cargo run --release -p matcher --example fit_prior -- [--shared DIR] [--write]
//! ```
//!
//! Sources (each a dataset of its own): the bundled `faq-data`, and
//! `banking77`, `clinc150` and `zh-afqmc` from `DIR` (default
//! `../shared/eval`). A source gives training questions by splitting its
//! FAQ (`matcher::variants::split`: an entry keeps its first questions and
//! is asked the others; every fifth entry is hidden, its questions asked
//! with no answer), at several sizes. zh-afqmc, whose entries have one
//! question each, is measured only (on the second half of its `dev.tsv`):
//! it states no licence, so the shipped prior learns nothing from it
//! (`TRAIN_ON_AFQMC=1` trains on the first half, for experiments). No
//! evaluation query is ever trained on: `tests/data/queries.tsv` and the
//! `dev.tsv` of banking77 and clinc150 are only measured.
//!
//! For each source, a prior fitted on the other sources alone is measured
//! on the source's evaluation sets (the figures to report), and on the
//! source's own training splits (log-loss: the figure that chooses the
//! features, so that no evaluation set chooses anything). `--write` writes
//! the prior fitted on every source to `data/prior.json` and each
//! leave-one-out prior to `data/prior-lodo/SOURCE.json`, which the quality
//! tests read.

use std::path::{Path, PathBuf};

use matcher::eval::{LabeledQuery, Metrics, Verdict, evaluate, read_queries};
use matcher::prior::TrainingSet;
use matcher::variants::{Keep, sparse, split};
use matcher::{Faq, Matcher, MatcherConfig, Prior};

/// The features the prior reads: all but the word alignment (computed only
/// for the untrained curve of one-question FAQs).
fn used() -> [bool; matcher::prior::FEATURES] {
    use matcher::prior::Feature;
    Feature::ALL.map(|f| f != Feature::Aligned)
}

/// The adjustment ridges tried. The prior alone (no adjustment) is not
/// among them: a FAQ's own questions always adjust it.
const RIDGES: [f64; 6] = [20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// An evaluation set: its name, the FAQ's shape (`None`: as written), the
/// queries.
type Eval = (
    &'static str,
    Option<Vec<(&'static str, usize)>>,
    Vec<LabeledQuery>,
);

struct Source {
    name: &'static str,
    faq: Faq,
    /// Training splits: what an entry keeps, and which entries are hidden.
    splits: Vec<(Vec<(&'static str, usize)>, usize)>,
    /// Training questions asked of the whole FAQ (zh-afqmc's first half).
    extra: Vec<LabeledQuery>,
    /// Evaluation sets: a name, the FAQ's shape, the queries.
    evals: Vec<Eval>,
}

fn load(path: &Path) -> Faq {
    matcher::faq::load(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .faq
}

fn queries(path: &Path) -> Vec<LabeledQuery> {
    read_queries(path).unwrap_or_else(|e| panic!("{e}"))
}

fn sources(root: &Path, shared: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let faq_data = load(&root.join("faq-data"));
    let faq_queries = queries(&root.join("tests/data/queries.tsv"));
    out.push(Source {
        name: "faq-data",
        faq: faq_data,
        splits: vec![
            (vec![("zh", 3), ("en", 2)], 5),
            (vec![("zh", 6), ("en", 4)], 5),
        ],
        extra: Vec::new(),
        evals: vec![
            (
                "faq-data sparse",
                Some(vec![("zh", 3), ("en", 2)]),
                faq_queries.clone(),
            ),
            ("faq-data full", None, faq_queries),
        ],
    });
    let banking = shared.join("banking77");
    out.push(Source {
        name: "banking77",
        faq: load(&banking.join("faq.yaml")),
        splits: vec![(vec![("en", 3)], 5), (vec![("en", 6)], 5)],
        extra: Vec::new(),
        evals: vec![
            ("banking77 dev", None, queries(&banking.join("dev.tsv"))),
            (
                "banking77 3/intent",
                Some(vec![("en", 3)]),
                queries(&banking.join("dev.tsv")),
            ),
        ],
    });
    let clinc = shared.join("clinc150");
    out.push(Source {
        name: "clinc150",
        faq: load(&clinc.join("faq.yaml")),
        splits: vec![(vec![("en", 2)], 5), (vec![("en", 3)], 5)],
        extra: Vec::new(),
        evals: vec![("clinc150 dev", None, queries(&clinc.join("dev.tsv")))],
    });
    let afqmc = shared.join("zh-afqmc");
    let all = queries(&afqmc.join("dev.tsv"));
    let (first, second) = all.split_at(all.len() / 2);
    out.push(Source {
        name: "zh-afqmc",
        faq: load(&afqmc.join("faq.yaml")),
        splits: Vec::new(),
        // AFQMC states no licence: the shipped prior learns nothing from
        // it (its first half would be the one to train on).
        extra: if std::env::var_os("TRAIN_ON_AFQMC").is_some() {
            first.to_vec()
        } else {
            Vec::new()
        },
        evals: vec![("zh-afqmc second half", None, second.to_vec())],
    });
    out
}

/// The training questions of a source, as evidence: one dataset, however
/// many splits it has, so that each source weighs as one.
fn training(source: &Source) -> TrainingSet {
    let config = MatcherConfig::default();
    let mut asked = Vec::new();
    for (i, (keep, hide_every)) in source.splits.iter().enumerate() {
        let keep: Keep = keep;
        let (small, questions) = split(&source.faq, keep, *hide_every, i);
        let matcher = Matcher::build_with_prior(&small, config, &Prior::flat());
        asked.extend(
            questions
                .iter()
                .map(|q| (matcher.evidence(&q.query), q.expected.clone())),
        );
    }
    if !source.extra.is_empty() {
        let matcher = Matcher::build_with_prior(&source.faq, config, &Prior::flat());
        asked.extend(
            source
                .extra
                .iter()
                .map(|q| (matcher.evidence(&q.query), q.expected.clone())),
        );
    }
    TrainingSet {
        name: source.name.to_string(),
        asked,
    }
}

/// The log-loss on a source's training splits of matchers built on each
/// split's FAQ with `prior` (adjusted by the split's own questions), each
/// question weighing as in `Prior::fit`.
fn adjusted_loss(source: &Source, prior: &Prior) -> f64 {
    let (mut loss, mut total) = (0.0f64, 0.0f64);
    for (i, (keep, hide_every)) in source.splits.iter().enumerate() {
        let (small, asked) = split(&source.faq, keep, *hide_every, i);
        let matcher = Matcher::build_with_prior(&small, MatcherConfig::default(), prior);
        let answerable = asked.iter().filter(|q| q.expected.is_some()).count().max(1) as f64;
        let unanswerable = (asked.len() as f64 - answerable).max(1.0);
        for q in &asked {
            let evidence = matcher.evidence(&q.query);
            let w = if q.expected.is_some() {
                1.0 / answerable
            } else {
                1.0 / unanswerable
            };
            for ((entry, _), p) in evidence
                .candidates
                .iter()
                .zip(matcher.confidences(&evidence))
            {
                let p = f64::from(p).clamp(1e-6, 1.0 - 1e-6);
                let right = q.expected.as_deref() == Some(entry.as_str());
                loss -= w * if right { p.ln() } else { (1.0 - p).ln() };
                total += w;
            }
        }
    }
    loss / total.max(1e-9)
}

/// A question's candidates (entry, confidence; best first) and its
/// expected entry.
type Decided = (Vec<(String, f32)>, Option<String>);

/// Each answerable split question's candidates (confidence-ordered) with
/// its expected entry, and each unanswerable one's, of a source's training
/// splits, with matchers built on each split's FAQ and `prior`.
fn split_candidates(source: &Source, prior: &Prior) -> Vec<Decided> {
    let mut out = Vec::new();
    for (i, (keep, hide_every)) in source.splits.iter().enumerate() {
        let (small, asked) = split(&source.faq, keep, *hide_every, i);
        let matcher = Matcher::build_with_prior(&small, MatcherConfig::default(), prior);
        for q in &asked {
            let d = matcher.decide(&q.query);
            out.push((
                d.candidates
                    .iter()
                    .map(|c| (c.entry_id.clone(), c.confidence))
                    .collect(),
                q.expected.clone(),
            ));
        }
    }
    out
}

/// one_tap and offered_unanswerable of a suggestion rule: choices when the
/// best reaches `first`, each other choice from `first * share`.
fn suggestion_rule(decided: &[Decided], first: f32, share: f32) -> (f64, f64) {
    let config = MatcherConfig::default();
    let (mut tap, mut answerable, mut offered, mut unanswerable) = (0, 0, 0, 0);
    for (candidates, expected) in decided {
        let best = candidates.first().map_or(0.0, |c| c.1);
        let second = candidates.get(1).map_or(0.0, |c| c.1);
        let answered = (best >= config.answer_threshold && best - second >= config.margin)
            .then(|| candidates[0].0.clone());
        let choices: Vec<&String> = if answered.is_none() && best >= first {
            candidates
                .iter()
                .enumerate()
                .filter(|(i, c)| *i == 0 || c.1 >= first * share)
                .take(config.max_suggestions)
                .map(|(_, c)| &c.0)
                .collect()
        } else {
            Vec::new()
        };
        match expected {
            Some(e) => {
                answerable += 1;
                tap += usize::from(answered.as_ref() == Some(e) || choices.contains(&e));
            }
            None => {
                unanswerable += 1;
                offered += usize::from(answered.is_some() || !choices.is_empty());
            }
        }
    }
    (
        tap as f64 / answerable.max(1) as f64,
        offered as f64 / unanswerable.max(1) as f64,
    )
}

fn measure(faq: &Faq, prior: &Prior, queries: &[LabeledQuery]) -> Metrics {
    let matcher = Matcher::build_with_prior(faq, MatcherConfig::default(), prior);
    let (metrics, judged) = evaluate(queries, |q| Verdict::of(matcher.decide(q)));
    if std::env::var_os("CURVE").is_some() {
        // Diagnosis only: precision and coverage at other thresholds.
        let with_expected = judged.iter().filter(|j| j.query.expected.is_some()).count();
        let mut line = String::new();
        for t in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95] {
            let (mut answered, mut correct) = (0, 0);
            for j in &judged {
                let c = &j.verdict.candidates;
                let Some(best) = c.first() else { continue };
                let second = c.get(1).map_or(0.0, |c| c.confidence);
                if best.confidence >= t && best.confidence - second >= 0.1 {
                    answered += 1;
                    correct += usize::from(Some(&best.entry_id) == j.query.expected.as_ref());
                }
            }
            line += &format!(
                " {t:.2}:{:.3}/{:.3}",
                correct as f64 / answered.max(1) as f64,
                correct as f64 / with_expected.max(1) as f64
            );
        }
        println!("    curve (t:precision/coverage){line}");
    }
    metrics
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let write = args.iter().any(|a| a == "--write");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = args
        .windows(2)
        .find(|w| w[0] == "--shared")
        .map(|w| PathBuf::from(&w[1]))
        .unwrap_or_else(|| root.join("../shared/eval"));
    let sources = sources(&root, &shared);
    let training: Vec<TrainingSet> = sources.iter().map(training).collect();
    for set in &training {
        eprintln!("{}: {} training questions", set.name, set.asked.len());
    }
    let used = used();
    // Leave one source out: a prior fitted on the others, for each.
    let lodo: Vec<Prior> = (0..sources.len())
        .map(|held| {
            let others: Vec<TrainingSet> = training
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != held)
                .filter(|(_, set)| !set.asked.is_empty())
                .map(|(_, set)| set.clone())
                .collect();
            Prior::fit(&others, &used).expect("the other sources train a prior")
        })
        .collect();
    // How firmly the prior holds against a FAQ's own questions: chosen by
    // the log-loss, on each source's training splits, of the leave-one-out
    // prior adjusted to each split's FAQ (sources with splits only).
    let mut ridge = 0.0;
    let mut best = f64::INFINITY;
    for candidate in RIDGES {
        let loss: f64 = sources
            .iter()
            .zip(&lodo)
            .filter(|(source, _)| !source.splits.is_empty())
            .map(|(source, prior)| adjusted_loss(source, &prior.with_adjust_ridge(candidate)))
            .sum();
        println!("adjust ridge {candidate}: training-split log-loss {loss:.4}");
        if loss < best {
            (ridge, best) = (candidate, loss);
        }
    }
    println!("chosen adjust ridge {ridge}");
    if std::env::var_os("RULES").is_some() {
        let decided: Vec<Vec<_>> = sources
            .iter()
            .zip(&lodo)
            .filter(|(source, _)| !source.splits.is_empty())
            .map(|(source, prior)| split_candidates(source, &prior.with_adjust_ridge(ridge)))
            .collect();
        for first in [0.1f32, 0.15, 0.2, 0.25, 0.3, 0.4] {
            for share in [0.1f32, 0.25, 0.5, 1.0] {
                let figures: Vec<String> = decided
                    .iter()
                    .map(|d| {
                        let (tap, offered) = suggestion_rule(d, first, share);
                        format!("{tap:.3}/{offered:.3}")
                    })
                    .collect();
                println!(
                    "rule first {first} share {share}: one_tap/offered_unanswerable {}",
                    figures.join(" ")
                );
            }
        }
    }
    for ((source, set), prior) in sources.iter().zip(&training).zip(&lodo) {
        let prior = prior.with_adjust_ridge(ridge);
        println!(
            "lodo {} (trained on {}): log-loss on its training splits {:.4}",
            source.name,
            prior.trained_on().join(", "),
            prior.log_loss(std::slice::from_ref(set))
        );
        for (name, keep, queries) in &source.evals {
            let faq = match keep {
                Some(keep) => sparse(&source.faq, keep),
                None => source.faq.clone(),
            };
            let m = measure(&faq, &prior, queries);
            println!("  {name}: {}", serde_json::to_string(&m).unwrap());
        }
        if write {
            let dir = root.join("matcher/data/prior-lodo");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("{}.json", source.name)),
                prior.to_json() + "\n",
            )
            .unwrap();
        }
    }
    let all: Vec<TrainingSet> = training
        .into_iter()
        .filter(|s| !s.asked.is_empty())
        .collect();
    let prior = Prior::fit(&all, &used)
        .expect("every source trains a prior")
        .with_adjust_ridge(ridge);
    if write {
        std::fs::write(root.join("matcher/data/prior.json"), prior.to_json() + "\n").unwrap();
        eprintln!("wrote matcher/data/prior.json and matcher/data/prior-lodo/");
    }
}
