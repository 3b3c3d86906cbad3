//! The confidence model: from the evidence behind a ranked entry to the
//! probability that it is the entry answering the question, fitted on the
//! FAQ itself when the index is built.
//!
//! The samples come from the FAQ's own questions asked back (see
//! `Matcher::calibrate` in `index.rs`): each candidate of each question is a
//! sample labelled "was the question's own entry". A logistic regression
//! over a few features (cosine scores, lead over the runner-up, how much of
//! the query the entry explains, how much of it the FAQ knows at all) fits
//! those labels. A ridge penalty keeps a tiny FAQ's model close to neutral,
//! and a FAQ with nothing to learn from gets a fixed curve of how much of
//! the query the entry explains.

// Small dense linear algebra reads best with indices.
#![allow(clippy::needless_range_loop)]

/// How many features the confidence model reads (see `index.rs`).
pub(crate) const FEATURES: usize = 10;

/// One candidate of a FAQ question asked back, for fitting.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub features: [f32; FEATURES],
    pub correct: bool,
    pub weight: f32,
}

/// Logistic regression from a candidate's features to the probability that
/// it is the right entry, fitted on the FAQ's own questions asked back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfidenceModel {
    mean: [f32; FEATURES],
    scale: [f32; FEATURES],
    /// Weights of the standardised features, then the bias.
    weights: [f64; FEATURES + 1],
}

/// Features that are evidence for the candidate (see `Ranking::features`
/// in `index.rs`): their weights may not be negative.
const MONOTONE: [bool; FEATURES] = [
    true, true, true, true, false, false, true, false, true, true,
];

/// L2 penalty: keeps a tiny FAQ's model close to "confidence = raw score".
const RIDGE: f64 = 1.0;

impl ConfidenceModel {
    /// Before any fitting (a FAQ whose entries have one question each has
    /// nothing to learn from): a logistic curve of how much of the query the
    /// entry explains (BM25, feature 6), which orders such FAQs better than
    /// the cosine score.
    pub fn untrained() -> Self {
        let mut weights = [0.0; FEATURES + 1];
        weights[6] = 6.0;
        weights[FEATURES] = -3.0;

        ConfidenceModel {
            mean: [0.0; FEATURES],
            scale: [1.0; FEATURES],
            weights,
        }
    }

    /// Fits by Newton's method with a ridge penalty (bias not penalised).
    pub fn fit(samples: &[Sample]) -> Self {
        let samples: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.weight > 0.0 && s.features.iter().all(|f| f.is_finite()))
            .collect();
        let positives = samples.iter().filter(|s| s.correct).count();
        if samples.len() < 4 || positives == 0 || positives == samples.len() {
            return Self::untrained();
        }
        let total: f64 = samples.iter().map(|s| f64::from(s.weight)).sum();
        let mut mean = [0.0f32; FEATURES];
        let mut scale = [1.0f32; FEATURES];
        for k in 0..FEATURES {
            let m: f64 = samples
                .iter()
                .map(|s| f64::from(s.weight) * f64::from(s.features[k]))
                .sum::<f64>()
                / total;
            let v: f64 = samples
                .iter()
                .map(|s| f64::from(s.weight) * (f64::from(s.features[k]) - m).powi(2))
                .sum::<f64>()
                / total;
            mean[k] = m as f32;
            scale[k] = if v > 1e-12 { v.sqrt() as f32 } else { 1.0 };
        }
        let rows: Vec<([f64; FEATURES + 1], f64, f64)> = samples
            .iter()
            .map(|s| {
                let mut x = [1.0; FEATURES + 1];
                for k in 0..FEATURES {
                    x[k] = f64::from((s.features[k] - mean[k]) / scale[k]);
                }
                (x, if s.correct { 1.0 } else { 0.0 }, f64::from(s.weight))
            })
            .collect();
        // Evidence for a candidate never counts against it: a feature of
        // `MONOTONE` whose weight comes out negative (collinear features
        // trading off) is pinned at zero and the rest refitted, so a query
        // closer to an entry than anything calibration saw gets more
        // confidence, not less.
        let mut pinned = [false; FEATURES];
        let mut w = newton(&rows, &pinned);
        while let Some(k) = (0..FEATURES)
            .filter(|&k| MONOTONE[k] && !pinned[k] && w[k] < 0.0)
            .min_by(|&a, &b| w[a].total_cmp(&w[b]))
        {
            pinned[k] = true;
            w = newton(&rows, &pinned);
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Self::untrained();
        }
        ConfidenceModel {
            mean,
            scale,
            weights: w,
        }
    }

    /// The probability that the candidate with these features is right.
    pub fn apply(&self, features: &[f32; FEATURES]) -> f32 {
        let mut z = self.weights[FEATURES];
        for k in 0..FEATURES {
            z += self.weights[k] * f64::from((features[k] - self.mean[k]) / self.scale[k]);
        }
        let p = (1.0 / (1.0 + (-z).exp())) as f32;
        if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Logistic regression by Newton's method with a ridge penalty (bias not
/// penalised); `pinned` weights stay zero.
fn newton(
    rows: &[([f64; FEATURES + 1], f64, f64)],
    pinned: &[bool; FEATURES],
) -> [f64; FEATURES + 1] {
    let n = FEATURES + 1;
    let mut w = [0.0f64; FEATURES + 1];
    for _ in 0..50 {
        let mut gradient = [0.0f64; FEATURES + 1];
        let mut hessian = [[0.0f64; FEATURES + 1]; FEATURES + 1];
        for (x, y, weight) in rows {
            let z: f64 = (0..n).map(|k| w[k] * x[k]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            for a in 0..n {
                gradient[a] += weight * (p - y) * x[a];
                for b in 0..n {
                    hessian[a][b] += weight * p * (1.0 - p) * x[a] * x[b];
                }
            }
        }
        for k in 0..FEATURES {
            gradient[k] += RIDGE * w[k];
            hessian[k][k] += RIDGE;
            if pinned[k] {
                gradient[k] = 0.0;
                for j in 0..n {
                    hessian[k][j] = 0.0;
                    hessian[j][k] = 0.0;
                }
                hessian[k][k] = 1.0;
            }
        }
        hessian[FEATURES][FEATURES] += 1e-9;
        let Some(step) = solve(hessian, gradient) else {
            break;
        };
        let mut change = 0.0f64;
        for k in 0..n {
            w[k] -= step[k];
            change = change.max(step[k].abs());
        }
        if change < 1e-7 {
            break;
        }
    }
    w
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    for col in 0..N {
        let pivot = (col..N).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..N {
            let f = a[row][col] / a[col][col];
            for k in col..N {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let s: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(raw: f32, correct: bool) -> Sample {
        let mut features = [0.0; FEATURES];
        features[0] = raw;
        Sample {
            features,
            correct,
            weight: 1.0,
        }
    }

    #[test]
    fn the_fitted_confidence_rises_with_the_score_and_stays_a_probability() {
        let samples: Vec<Sample> = (0..400)
            .map(|i| {
                let x = i as f32 / 400.0;
                sample(x, (i * 7919 % 400) as f32 / 400.0 < x)
            })
            .collect();
        let model = ConfidenceModel::fit(&samples);
        let at = |x: f32| model.apply(&sample(x, false).features);
        assert!(at(0.1) < 0.3 && at(0.9) > 0.7, "{} {}", at(0.1), at(0.9));
        let mut last = 0.0;
        for i in 0..=100 {
            let y = at(i as f32 / 100.0);
            assert!(y >= last && (0.0..=1.0).contains(&y));
            last = y;
        }
    }

    #[test]
    fn without_both_kinds_of_samples_the_untrained_curve_is_kept() {
        let only_right: Vec<Sample> = (0..10).map(|i| sample(i as f32 / 10.0, true)).collect();
        assert_eq!(
            ConfidenceModel::fit(&only_right),
            ConfidenceModel::untrained()
        );
        assert_eq!(ConfidenceModel::fit(&[]), ConfidenceModel::untrained());
        let mut nan = sample(0.5, true);
        nan.features[0] = f32::NAN;
        assert_eq!(ConfidenceModel::untrained().apply(&nan.features), 0.0);
    }
}
