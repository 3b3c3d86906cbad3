//! Measures the matcher on a FAQ and a labelled queries file, for quick
//! iteration on matching quality without the whole bot:
//!
//! ```text
//! cargo run --release -p matcher --example eval -- FAQ_PATH QUERIES_TSV [--misses] [--all] [--curve] [--slowest] [--ranks] [--answer T]
//! ```
//!
//! Prints the build time and, on its last line, the metrics JSON of the
//! evaluation contract. `--misses` also lists the queries answered wrongly
//! or whose best candidate is not the expected entry (`--all`: every
//! query); `--curve` prints precision and coverage per answer threshold;
//! `--sparse zh=3,en=2` keeps the first questions of each language;
//! `--prior FILE` uses another confidence prior (`--prior self`: none,
//! the FAQ's own questions alone); `--learn-from TSV`
//! replays a file as traffic that picks the right choice and rebuilds
//! with what it learned; `--slowest` each query's best-of-30 latency, slowest first; `--ranks`
//! where the expected entry stands among the candidates; `--answer T`
//! sets the answer threshold.

use std::path::Path;
use std::time::Instant;

use matcher::eval::{Judged, LabeledQuery, Verdict, evaluate, read_queries};
use matcher::{Matcher, MatcherConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [faq_path, queries_path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: eval FAQ_PATH QUERIES_TSV [--misses]");
        std::process::exit(2);
    };
    let show_misses = rest.iter().any(|a| a == "--misses");
    let show_all = rest.iter().any(|a| a == "--all");
    let queries = read_queries(Path::new(queries_path))?;
    let matcher = build(Path::new(faq_path), rest)?;
    // Warm up (jieba's dictionary, caches) so latency measures matching.
    for q in queries.iter().take(20) {
        matcher.decide(&q.query);
    }
    let (metrics, judged) = evaluate(&queries, |q| Verdict::of(matcher.decide(q)));
    if show_misses || show_all {
        print_judged(&judged, show_all);
    }
    if rest.iter().any(|a| a == "--evidence") {
        print_evidence(&matcher, &queries);
    }
    if rest.iter().any(|a| a == "--slowest") {
        print_slowest(&matcher, &queries);
    }
    if rest.iter().any(|a| a == "--ranks") {
        print_ranks(&judged);
    }
    if rest.iter().any(|a| a == "--curve") {
        print_curve(&judged);
    }
    println!("{}", serde_json::to_string(&metrics)?);
    Ok(())
}

/// The matcher the flags ask for (`--answer`, `--margin`, `--sparse`,
/// `--prior`, `--learn-from`), timed on stderr.
fn build(faq_path: &Path, rest: &[String]) -> Result<Matcher, Box<dyn std::error::Error>> {
    let loaded = matcher::faq::load(faq_path)?;
    let started = Instant::now();
    let mut config = MatcherConfig::default();
    for pair in rest.windows(2) {
        match pair[0].as_str() {
            "--answer" => config.answer_threshold = pair[1].parse()?,
            "--margin" => config.margin = pair[1].parse()?,
            _ => {}
        }
    }
    // --sparse zh=3,en=2: the first questions of each language only.
    let keep: Vec<(String, usize)> = flag(rest, "--sparse")
        .map(|spec| {
            spec.split(',')
                .filter_map(|p| p.split_once('='))
                .map(|(l, n)| (l.to_string(), n.parse().expect("--sparse LANG=N,...")))
                .collect()
        })
        .unwrap_or_default();
    let keep: Vec<(&str, usize)> = keep.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    let mut faq = matcher::variants::sparse(&loaded.faq, &keep);
    // --prior FILE: another confidence prior (a leave-one-out one).
    let prior = match flag(rest, "--prior") {
        Some("self") => matcher::Prior::self_fitted(),
        Some(path) => matcher::Prior::from_json(&std::fs::read_to_string(path)?)?,
        None => matcher::Prior::shipped().clone(),
    };
    let mut matcher = Matcher::build_with_prior(&faq, config, &prior);
    // --learn-from TSV: replay it as traffic whose users pick the right
    // choice, then rebuild with what was learned.
    if let Some(path) = flag(rest, "--learn-from") {
        let traffic = read_queries(Path::new(path))?;
        let learned = matcher::eval::learned_from(&traffic, |q| Verdict::of(matcher.decide(q)));
        eprintln!(
            "learned {} phrasings of {} questions",
            learned.len(),
            traffic.len()
        );
        faq = matcher::variants::with_learned(&faq, &learned);
        matcher = Matcher::build_with_prior(&faq, config, &prior);
    }
    eprintln!(
        "built {} entries in {:.1} ms",
        faq.entries.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(matcher)
}

/// The queries answered wrongly or whose best candidate is not the
/// expected entry (`all`: every query), with their top three candidates.
fn print_judged(judged: &[Judged], all: bool) {
    for j in judged {
        let best = j.verdict.candidates.first();
        let top_ok = best.map(|c| Some(&c.entry_id) == j.query.expected.as_ref());
        if all || j.is_wrong() || (j.query.expected.is_some() && top_ok != Some(true)) {
            let expected = j.query.expected.as_deref().unwrap_or("-");
            let tag = if j.is_wrong() {
                "WRONG"
            } else if j.is_correct() {
                "RIGHT"
            } else {
                "miss "
            };
            let cands: Vec<String> = j
                .verdict
                .candidates
                .iter()
                .take(3)
                .map(|c| format!("{}:{:.2}", c.entry_id, c.confidence))
                .collect();
            println!(
                "{tag} {}\texpected {expected}\tgot {}",
                j.query.query,
                cands.join(" ")
            );
        }
    }
}

/// The features behind each query's candidates.
fn print_evidence(matcher: &Matcher, queries: &[LabeledQuery]) {
    for q in queries {
        let evidence = matcher.evidence(&q.query);
        println!("{} (chinese: {})", q.query, evidence.chinese);
        for ((entry, features), p) in evidence
            .candidates
            .iter()
            .zip(matcher.confidences(&evidence))
        {
            let named: Vec<String> = matcher::prior::FEATURE_NAMES
                .iter()
                .zip(features)
                .map(|(n, v)| format!("{n}={v:.2}"))
                .collect();
            println!("  {entry} {p:.3}: {}", named.join(" "));
        }
    }
}

/// Each query's best of 30 runs (noise from other work drops out),
/// slowest first: what a latency percentile is made of.
fn print_slowest(matcher: &Matcher, queries: &[LabeledQuery]) {
    let mut best: Vec<(f64, &str)> = queries
        .iter()
        .map(|q| {
            let fastest = (0..30)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(matcher.decide(&q.query));
                    started.elapsed().as_secs_f64() * 1e6
                })
                .fold(f64::INFINITY, f64::min);
            (fastest, q.query.as_str())
        })
        .collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mean = best.iter().map(|b| b.0).sum::<f64>() / best.len().max(1) as f64;
    println!("best-of-30 mean {mean:.1} µs; slowest:");
    for (us, q) in best.iter().take(8) {
        println!("{us:8.1} µs  {q}");
    }
}

/// Where the expected entry stands among the candidates: what a better
/// confidence could still reach, and what retrieval lost.
fn print_ranks(judged: &[Judged]) {
    let mut at = [0usize; 17];
    for j in judged.iter().filter(|j| j.query.expected.is_some()) {
        let place = j
            .verdict
            .candidates
            .iter()
            .position(|c| Some(&c.entry_id) == j.query.expected.as_ref())
            .map_or(16, |p| p.min(15));
        at[place] += 1;
    }
    let total: usize = at.iter().sum();
    let mut within = 0;
    for (place, n) in at.iter().enumerate().take(16).filter(|(_, n)| **n > 0) {
        within += n;
        println!(
            "rank {:2}: {n:4}  (within: {:.3})",
            place + 1,
            within as f64 / total as f64
        );
    }
    println!("absent : {:4}", at[16]);
}

/// Precision and coverage if the answer threshold were t (margin as
/// configured).
fn print_curve(judged: &[Judged]) {
    let config = MatcherConfig::default();
    let with_expected = judged.iter().filter(|j| j.query.expected.is_some()).count();
    for t in [
        0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98,
    ] {
        let (mut answered, mut correct) = (0, 0);
        for j in judged {
            let c = &j.verdict.candidates;
            let Some(best) = c.first() else { continue };
            let second = c.get(1).map_or(0.0, |c| c.confidence);
            if best.confidence >= t && best.confidence - second >= config.margin {
                answered += 1;
                if Some(&best.entry_id) == j.query.expected.as_ref() {
                    correct += 1;
                }
            }
        }
        println!(
            "t={t:.2} answered={answered} precision={:.3} coverage={:.3}",
            correct as f64 / answered.max(1) as f64,
            correct as f64 / with_expected.max(1) as f64
        );
    }
}

/// The value after `name` in the arguments.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].as_str())
}
