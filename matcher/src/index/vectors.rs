//! Sparse term vectors (`(term id, weight)` sorted by term id) and the
//! arithmetic ranking and building do on them: dot products, sums,
//! centroids, and what share of a text's terms a query has.
//!
//! Kept apart from ranking because both the build (centroids, closeness)
//! and every query use them, and they are where the inner loops are.

use super::Doc;

/// Dot product of a short vector with a long one (both sorted by term id),
/// by binary search in the long one.
pub(super) fn sparse_dot(short: &[(u32, f32)], long: &[(u32, f32)]) -> f32 {
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
pub(super) fn query_dot(lookup: &[(f32, u32)], vector: &[(u32, f32)]) -> f32 {
    vector
        .iter()
        .map(|&(id, w)| lookup[id as usize].0 * w)
        .sum()
}

/// Sorts `(term, value)` pairs by term and sums the values of each term.
pub(super) fn sum_by_term(pairs: &mut Vec<(u32, f32)>) {
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

pub(super) fn normalise(vector: &mut [(u32, f32)]) {
    let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in vector.iter_mut() {
            *w /= norm;
        }
    }
}

/// The normalised sum of the vectors of `docs` except `skip`.
pub(super) fn centroid(all: &[Doc], docs: &[u32], skip: &[u32]) -> Vec<(u32, f32)> {
    let mut sum: Vec<(u32, f32)> = docs
        .iter()
        .filter(|d| !skip.contains(d))
        .flat_map(|&d| all[d as usize].vector.iter().copied())
        .collect();
    sum_by_term(&mut sum);
    normalise(&mut sum);
    sum
}

/// Records, per query term, the best BM25 term frequency seen in the texts
/// of an entry (`lookup`: see `QUERY_TERMS`).
pub(super) fn record_terms(lookup: &[(f32, u32)], doc: &[(u32, f32)], term_best: &mut [f32]) {
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
pub(super) fn covered_share(lookup: &[(f32, u32)], doc: &[(u32, f32)], weights: &[f32]) -> f32 {
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
