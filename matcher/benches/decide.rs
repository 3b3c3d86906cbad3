//! Matching latency and index build time (issue #3 targets: p99 ≤ 200 µs on
//! the shipped FAQ, ≤ 1 ms on a 100,000-entry FAQ; build of 10,000 entries
//! under 1 s).
//!
//! ```text
//! cargo bench -p matcher --bench decide
//! ```
//!
//! The large FAQs are synthetic: questions drawn from a fixed pseudo-random
//! vocabulary of Chinese two-character words and English words, with a
//! Zipf-like skew so that some terms are common, as in a real FAQ.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use matcher::faq::Faq;
use matcher::{Matcher, MatcherConfig};

#[path = "support/synthetic.rs"]
mod synthetic;
use synthetic::synthetic_faq;

fn shipped_faq() -> Option<(Faq, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let faq = matcher::faq::load(&root.join("faq-data")).ok()?.faq;
    let queries = matcher::eval::read_queries(&root.join("tests/data/queries.tsv")).ok()?;
    Some((faq, queries.into_iter().map(|q| q.query).collect()))
}

/// Decides each query in turn, one per iteration.
fn bench_decide(c: &mut Criterion, name: &str, matcher: &Matcher, queries: &[String]) {
    let mut i = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(matcher.decide(black_box(&queries[i])))
        })
    });
}

fn matching(c: &mut Criterion) {
    if let Some((faq, queries)) = shipped_faq() {
        let matcher = Matcher::build(&faq, MatcherConfig::default());
        bench_decide(c, "decide/shipped-faq", &matcher, &queries);
    } else {
        eprintln!("skipped: the shipped FAQ or tests/data/queries.tsv did not load");
    }
    let (faq, queries) = synthetic_faq(100_000);
    let matcher = Matcher::build(&faq, MatcherConfig::default());
    bench_decide(c, "decide/synthetic-100k", &matcher, &queries);
}

fn building(c: &mut Criterion) {
    let (faq, _) = synthetic_faq(10_000);
    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("synthetic-10k", |b| {
        b.iter(|| Matcher::build(black_box(&faq), MatcherConfig::default()))
    });
    group.finish();
}

criterion_group!(benches, matching, building);
criterion_main!(benches);
