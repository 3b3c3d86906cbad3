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
//!
//! The model also knows the query's language (Chinese or not): it reads the
//! features once for every query and once more for Chinese ones, plus a
//! Chinese bias. A FAQ written in both languages thus learns how much each
//! feature says in each (Chinese and English questions are matched with
//! different terms and meaning vectors, and are not equally hard to place),
//! while the ridge penalty keeps the two close where the samples say little.
//! In a FAQ of one language the extra inputs are constant and change
//! nothing.

// Small dense linear algebra reads best with indices.
#![allow(clippy::needless_range_loop)]

/// How many features of a candidate the confidence model reads (see
/// `index.rs`).
pub(crate) const FEATURES: usize = 10;
/// The model's inputs: the features, a Chinese-query bias, and the features
/// again for Chinese queries (zero for others).
const INPUTS: usize = 2 * FEATURES + 1;
const CHINESE: usize = FEATURES;

/// One candidate of a FAQ question asked back, for fitting.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub features: [f32; FEATURES],
    /// Whether the question asked is Chinese.
    pub chinese: bool,
    pub correct: bool,
    pub weight: f32,
}

/// The model's inputs for a candidate's features.
fn inputs(features: &[f32; FEATURES], chinese: bool) -> [f32; INPUTS] {
    let mut x = [0.0; INPUTS];
    x[..FEATURES].copy_from_slice(features);
    if chinese {
        x[CHINESE] = 1.0;
        x[CHINESE + 1..].copy_from_slice(features);
    }
    x
}

/// Logistic regression from a candidate's features to the probability that
/// it is the right entry, fitted on the FAQ's own questions asked back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfidenceModel {
    mean: [f32; INPUTS],
    scale: [f32; INPUTS],
    /// Weights of the standardised inputs, then the bias.
    weights: [f64; INPUTS + 1],
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
        let mut weights = [0.0; INPUTS + 1];
        weights[6] = 6.0;
        weights[INPUTS] = -3.0;

        ConfidenceModel {
            mean: [0.0; INPUTS],
            scale: [1.0; INPUTS],
            weights,
        }
    }

    /// Fits by Newton's method with a ridge penalty (bias not penalised).
    pub fn fit(samples: &[Sample]) -> Self {
        let samples: Vec<(&Sample, [f32; INPUTS])> = samples
            .iter()
            .filter(|s| s.weight > 0.0 && s.features.iter().all(|f| f.is_finite()))
            .map(|s| (s, inputs(&s.features, s.chinese)))
            .collect();
        let positives = samples.iter().filter(|(s, _)| s.correct).count();
        if samples.len() < 4 || positives == 0 || positives == samples.len() {
            return Self::untrained();
        }
        let total: f64 = samples.iter().map(|(s, _)| f64::from(s.weight)).sum();
        let mut mean = [0.0f32; INPUTS];
        let mut scale = [1.0f32; INPUTS];
        for k in 0..INPUTS {
            let m: f64 = samples
                .iter()
                .map(|(s, x)| f64::from(s.weight) * f64::from(x[k]))
                .sum::<f64>()
                / total;
            let v: f64 = samples
                .iter()
                .map(|(s, x)| f64::from(s.weight) * (f64::from(x[k]) - m).powi(2))
                .sum::<f64>()
                / total;
            mean[k] = m as f32;
            scale[k] = if v > 1e-12 { v.sqrt() as f32 } else { 1.0 };
        }
        let rows: Vec<([f64; INPUTS + 1], f64, f64)> = samples
            .iter()
            .map(|(s, inputs)| {
                let mut x = [1.0; INPUTS + 1];
                for k in 0..INPUTS {
                    x[k] = f64::from((inputs[k] - mean[k]) / scale[k]);
                }
                (x, if s.correct { 1.0 } else { 0.0 }, f64::from(s.weight))
            })
            .collect();
        // Evidence for a candidate never counts against it: a feature of
        // `MONOTONE` whose weight comes out negative (collinear features
        // trading off) is pinned at zero and the rest refitted, so a query
        // closer to an entry than anything calibration saw gets more
        // confidence, not less. For a Chinese query the feature's weight
        // is its own plus its Chinese copy's (per unit of the feature): if
        // that sum is negative, the copy is pinned.
        let slope = |w: &[f64; INPUTS + 1], k: usize| f64::from(scale[k]).recip() * w[k];
        let mut pinned = [false; INPUTS];
        let mut w = newton(&rows, &pinned);
        loop {
            let negative = (0..FEATURES)
                .filter(|&k| MONOTONE[k])
                .flat_map(|k| {
                    let copy = CHINESE + 1 + k;
                    [(k, slope(&w, k)), (copy, slope(&w, k) + slope(&w, copy))]
                })
                .filter(|&(input, value)| !pinned[input] && value < 0.0)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((input, _)) = negative else { break };
            pinned[input] = true;
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

    /// The probability that the candidate with these features, for a
    /// query in Chinese or not, is right.
    pub fn apply(&self, features: &[f32; FEATURES], chinese: bool) -> f32 {
        let x = inputs(features, chinese);
        let mut z = self.weights[INPUTS];
        for k in 0..INPUTS {
            z += self.weights[k] * f64::from((x[k] - self.mean[k]) / self.scale[k]);
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
fn newton(rows: &[([f64; INPUTS + 1], f64, f64)], pinned: &[bool; INPUTS]) -> [f64; INPUTS + 1] {
    let n = INPUTS + 1;
    let mut w = [0.0f64; INPUTS + 1];
    for _ in 0..50 {
        let mut gradient = [0.0f64; INPUTS + 1];
        let mut hessian = [[0.0f64; INPUTS + 1]; INPUTS + 1];
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
        for k in 0..INPUTS {
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
        hessian[INPUTS][INPUTS] += 1e-9;
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
            chinese: false,
            correct,
            weight: 1.0,
        }
    }

    fn chinese(raw: f32, correct: bool) -> Sample {
        Sample {
            chinese: true,
            ..sample(raw, correct)
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
        let at = |x: f32| model.apply(&sample(x, false).features, false);
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
        assert_eq!(
            ConfidenceModel::untrained().apply(&nan.features, false),
            0.0
        );
    }

    /// Where the score says right from 0.2 in Chinese and from 0.6 in
    /// English (the same number means more in one language than in the
    /// other), the model tells the two apart; it cannot without the
    /// language, which would put both curves halfway.
    #[test]
    fn a_bilingual_faq_learns_what_a_score_means_in_each_language() {
        let mut samples = Vec::new();
        for i in 0..400 {
            let x = i as f32 / 400.0;
            samples.push(sample(x, x > 0.6));
            samples.push(chinese(x, x > 0.2));
        }
        let model = ConfidenceModel::fit(&samples);
        let at = |x: f32, chinese: bool| model.apply(&sample(x, false).features, chinese);
        assert!(at(0.4, true) > 0.8, "{}", at(0.4, true));
        assert!(at(0.4, false) < 0.2, "{}", at(0.4, false));
        // Each language's curve still rises with the score.
        for chinese in [false, true] {
            let mut last = 0.0;
            for i in 0..=100 {
                let y = at(i as f32 / 100.0, chinese);
                assert!(y >= last, "{chinese} {i}");
                last = y;
            }
        }
    }

    /// Evidence never counts against a candidate in either language: where
    /// Chinese samples say the opposite, their curve is flat, not falling.
    #[test]
    fn evidence_never_lowers_the_confidence_of_a_chinese_query() {
        let mut samples = Vec::new();
        for i in 0..400 {
            let x = i as f32 / 400.0;
            samples.push(sample(x, x > 0.5));
            samples.push(chinese(x, x < 0.5));
        }
        let model = ConfidenceModel::fit(&samples);
        let at = |x: f32| model.apply(&sample(x, false).features, true);
        let mut last = 0.0;
        for i in 0..=100 {
            let y = at(i as f32 / 100.0);
            assert!(y >= last - 1e-6, "{i}: {y} after {last}");
            last = y;
        }
    }
}
