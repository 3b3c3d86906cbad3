//! Build time and matching latency on a synthetic FAQ (the benchmark's),
//! with percentiles, for quick iteration on speed:
//!
//! ```text
//! cargo run --release -p matcher --example timing -- [ENTRIES]
//! ```

use std::time::Instant;

use matcher::{Matcher, MatcherConfig};

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn main() {
    let entries: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // Load jieba's dictionary first (once per process), as the benchmark's
    // repeated builds do.
    let (small, _) = synthetic::synthetic_faq(10);
    Matcher::build(&small, MatcherConfig::default());
    let (faq, queries) = synthetic::synthetic_faq(entries);
    let started = Instant::now();
    let matcher = Matcher::build(&faq, MatcherConfig::default());
    println!(
        "built {entries} entries in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    for round in 0..3 {
        for q in &queries {
            let started = Instant::now();
            std::hint::black_box(matcher.decide(q));
            if round > 0 {
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{} queries: mean {mean:.0} µs, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
