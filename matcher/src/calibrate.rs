//! The confidence model: from the evidence behind a ranked entry to the
//! probability that it is the entry answering the question, fitted on the
//! FAQ itself when the index is built.
//!
//! The samples come from the FAQ's own questions asked back (see
//! `Matcher::calibrate` in `index/ask_back.rs`): each candidate of each
//! question is a sample labelled "was the question's own entry". A logistic regression
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

use crate::features::{FEATURES, Feature};

/// The model's inputs: the features, a Chinese-query bias, and the features
/// again for Chinese queries (zero for others).
const INPUTS: usize = 2 * FEATURES + 1;
const CHINESE: usize = FEATURES;

/// One candidate of a FAQ question asked back, for fitting.
#[derive(Debug, Clone)]
pub struct Sample {
    pub features: [f32; FEATURES],
    /// Whether the question asked is Chinese.
    pub chinese: bool,
    pub correct: bool,
    pub weight: f32,
    /// Which question asked back it comes from: cross-validation keeps a
    /// question's samples together.
    pub group: u32,
}

impl Sample {
    /// The sample's weighted log-loss under a model that gave it
    /// probability `p` of being right.
    pub(crate) fn log_loss(&self, p: f32) -> f64 {
        let p = f64::from(p).clamp(1e-6, 1.0 - 1e-6);
        let y = if self.correct { p } else { 1.0 - p };
        -f64::from(self.weight) * y.ln()
    }
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

/// Folds of the cross-validation that chooses between the basic and the
/// extended model (see `Feature::is_basic`), and the fewest questions
/// asked back for it to choose anything but the basic model.
const FOLDS: u32 = 2;
const MIN_GROUPS_FOR_SELECTION: u32 = 40;
/// The word alignment with the question closest in meaning (see
/// `WordVectors::alignment`) is read by the untrained curve only. Fitted
/// models leave it out: on banking77 and the bundled FAQ it changed
/// nothing but cost top1 (.764 → .760) and time per query.
const ALIGNED: usize = Feature::Aligned.index();
/// How much of the entry's closest question the query covers (see
/// `Scored::covered` in `index/rank.rs`): the other direction of "how much
/// of the query the entry explains". Read by the untrained curve only, like
/// the alignment: fitted models on banking77 and the bundled FAQ were the
/// same with it.
const COVERED: usize = Feature::Covered.index();

/// The longest Newton step on one weight (standardised inputs).
const MAX_STEP: f64 = 4.0;

/// L2 penalty: keeps a tiny FAQ's model close to "confidence = raw score".
const RIDGE: f64 = 1.0;

impl ConfidenceModel {
    /// Before any fitting (a FAQ whose entries have one question each has
    /// nothing to learn from): a logistic curve of how much of the query the
    /// entry explains (`Feature::Explained`), which orders such FAQs better than
    /// the cosine score, and how much of the entry's question the query
    /// covers (`COVERED`), three parts to one; and, where the query and the
    /// entry have meaning vectors (`HasMeaning`), of their meaning: the
    /// cosine of their mean vectors (`Meaning`) and how well their words align
    /// (`ALIGNED`), three parts to four. Among entries that explain the
    /// query alike, the one that says no more than the query asks and is
    /// closer in meaning comes first. It reaches the default answer
    /// threshold (0.95) only where the entry explains every word of the
    /// query, the query covers most of the question (about three quarters
    /// or more, with a perfect meaning), and, with meaning vectors,
    /// both meaning measures are about 0.92 or more; it is never looser
    /// than the curve without the coverage (`6·explains + 2·meaning +
    /// 4·alignment − 8.5`).
    pub fn untrained() -> Self {
        let mut weights = [0.0; INPUTS + 1];
        weights[Feature::Explained.index()] = 6.0;
        weights[Feature::HasMeaning.index()] = -6.5;
        weights[Feature::Meaning.index()] = 3.0;
        weights[ALIGNED] = 4.0;
        weights[COVERED] = 2.0;
        weights[INPUTS] = -5.0;

        ConfidenceModel {
            mean: [0.0; INPUTS],
            scale: [1.0; INPUTS],
            weights,
        }
    }

    /// Fits the confidence model: the basic features alone, or all of
    /// them when cross-validation says the extra ones predict questions it
    /// did not see better (see `Feature::is_basic`).
    pub fn fit(samples: &[Sample]) -> Self {
        let samples: Vec<(&Sample, [f32; INPUTS])> = samples
            .iter()
            .filter(|s| s.weight > 0.0 && s.features.iter().all(|f| f.is_finite()))
            .map(|s| (s, inputs(&s.features, s.chinese)))
            .collect();
        let basic: [bool; FEATURES] = Feature::ALL.map(Feature::is_basic);
        // The word alignment and the coverage are for the untrained curve
        // only: on FAQs with questions to learn from they did not help (see
        // `ALIGNED`).
        let extended: [bool; FEATURES] =
            Feature::ALL.map(|f| !matches!(f, Feature::Aligned | Feature::Covered));
        let used =
            if Self::held_out_loss(&samples, &extended) < Self::held_out_loss(&samples, &basic) {
                extended
            } else {
                basic
            };
        Self::fit_with(&samples, &used).unwrap_or_else(Self::untrained)
    }

    /// Weighted log-loss of models with the `used` features on samples
    /// they were not fitted on (`FOLDS`-fold, by question); infinite when
    /// there are too few questions to tell.
    fn held_out_loss(samples: &[(&Sample, [f32; INPUTS])], used: &[bool; FEATURES]) -> f64 {
        let groups = samples
            .iter()
            .map(|(s, _)| s.group)
            .max()
            .map_or(0, |g| g + 1);
        if groups < MIN_GROUPS_FOR_SELECTION {
            return f64::INFINITY;
        }
        let fold_loss = |fold: u32| {
            let (test, train): (Vec<_>, Vec<_>) = samples
                .iter()
                .copied()
                .partition(|(s, _)| s.group % FOLDS == fold);
            let Some(model) = Self::fit_with(&train, used) else {
                return f64::INFINITY;
            };
            test.iter()
                .map(|(s, x)| s.log_loss(model.probability(x)))
                .sum::<f64>()
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..FOLDS)
                .map(|fold| scope.spawn(move || fold_loss(fold)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(f64::INFINITY))
                .sum()
        })
    }

    /// Fits by Newton's method with a ridge penalty (bias not penalised),
    /// reading only the `used` features; none when the samples cannot
    /// train a model (too few, or all of one label).
    fn fit_with(samples: &[(&Sample, [f32; INPUTS])], used: &[bool; FEATURES]) -> Option<Self> {
        let positives = samples.iter().filter(|(s, _)| s.correct).count();
        if samples.len() < 4 || positives == 0 || positives == samples.len() {
            return None;
        }
        let total: f64 = samples.iter().map(|(s, _)| f64::from(s.weight)).sum();
        let mut mean = [0.0f32; INPUTS];
        let mut scale = [1.0f32; INPUTS];
        // An input that never varies (the Chinese ones in an English FAQ)
        // has nothing to learn: pinned below.
        let mut constant = [false; INPUTS];
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
            constant[k] = v <= 1e-12;
            scale[k] = if constant[k] { 1.0 } else { v.sqrt() as f32 };
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
        // evidence (`Feature::is_evidence`) whose weight comes out negative (collinear features
        // trading off) is pinned at zero and the rest refitted, so a query
        // closer to an entry than anything calibration saw gets more
        // confidence, not less. For a Chinese query the feature's weight
        // is its own plus its Chinese copy's (per unit of the feature): if
        // that sum is negative, the copy is pinned. Features not `used`
        // are pinned from the start.
        let slope = |w: &[f64; INPUTS + 1], k: usize| f64::from(scale[k]).recip() * w[k];
        let mut pinned = constant;
        for k in (0..FEATURES).filter(|&k| !used[k]) {
            pinned[k] = true;
            pinned[CHINESE + 1 + k] = true;
        }
        let mut w = newton(
            &rows,
            &pinned,
            &[0.0; INPUTS + 1],
            &[0.0; INPUTS + 1],
            RIDGE,
        );
        loop {
            let negative = (0..FEATURES)
                .filter(|&k| Feature::ALL[k].is_evidence())
                .flat_map(|k| {
                    let copy = CHINESE + 1 + k;
                    [(k, slope(&w, k)), (copy, slope(&w, k) + slope(&w, copy))]
                })
                .filter(|&(input, value)| !pinned[input] && value < 0.0)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((input, _)) = negative else { break };
            pinned[input] = true;
            w[input] = 0.0;
            w = newton(&rows, &pinned, &w, &[0.0; INPUTS + 1], RIDGE);
        }
        if w.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(ConfidenceModel {
            mean,
            scale,
            weights: w,
        })
    }

    /// This model adjusted to `samples` of one FAQ: refitted on them with
    /// a ridge penalty of `ridge` (per standardised input) towards this
    /// model's weights, so that few samples move it little. Inputs this
    /// model does not read, or that the samples never vary, keep their
    /// weight; evidence still never lowers confidence.
    pub fn adjusted(&self, samples: &[Sample], ridge: f64) -> Self {
        let rows: Vec<([f64; INPUTS + 1], f64, f64)> = samples
            .iter()
            .filter(|s| s.weight > 0.0 && s.features.iter().all(|f| f.is_finite()))
            .map(|s| {
                let inputs = inputs(&s.features, s.chinese);
                let mut x = [1.0; INPUTS + 1];
                for k in 0..INPUTS {
                    x[k] = f64::from((inputs[k] - self.mean[k]) / self.scale[k]);
                }
                (x, if s.correct { 1.0 } else { 0.0 }, f64::from(s.weight))
            })
            .collect();
        let positives = rows.iter().filter(|r| r.1 > 0.5).count();
        if positives == 0 || positives == rows.len() {
            return self.clone();
        }
        let mut pinned = [false; INPUTS];
        for k in 0..INPUTS {
            let first = rows[0].0[k];
            pinned[k] =
                self.weights[k] == 0.0 || rows.iter().all(|r| (r.0[k] - first).abs() < 1e-9);
        }
        let mut w = newton(&rows, &pinned, &self.weights, &self.weights, ridge);
        // Evidence never lowers confidence: an input whose slope (or, for
        // a Chinese query, the sum of its slope and its copy's) comes out
        // negative goes back to this model's weight, which obeys that, and
        // the rest is refitted; with both of a pair pinned, the pair is
        // this model's again.
        let slope = |w: &[f64; INPUTS + 1], k: usize| f64::from(self.scale[k]).recip() * w[k];
        loop {
            let mut violation = None;
            for k in (0..FEATURES).filter(|&k| Feature::ALL[k].is_evidence()) {
                let copy = CHINESE + 1 + k;
                if slope(&w, k) < -1e-9 && !pinned[k] {
                    violation = Some(k);
                } else if slope(&w, k) + slope(&w, copy) < -1e-9 {
                    violation = [copy, k].into_iter().find(|&i| !pinned[i]);
                }
                if violation.is_some() {
                    break;
                }
            }
            let Some(input) = violation else { break };
            pinned[input] = true;
            w[input] = self.weights[input];
            w = newton(&rows, &pinned, &w, &self.weights, ridge);
        }
        if w.iter().any(|v| !v.is_finite()) {
            return self.clone();
        }
        ConfidenceModel {
            mean: self.mean,
            scale: self.scale,
            weights: w,
        }
    }

    /// The model for one FAQ given a prior fitted across FAQs: the prior
    /// adjusted to the FAQ's `samples` (see `adjusted`), or the model
    /// fitted on the FAQ alone (`fit`) where a 2-fold cross-validation over
    /// its questions says that predicts them better, or where the FAQ has
    /// too few questions (under 40) to tell. A FAQ of many
    /// questions an entry that users write like its questions is better
    /// served by its own; a sparse one by the prior.
    pub fn for_faq(prior: &ConfidenceModel, samples: &[Sample], ridge: f64) -> Self {
        let groups = samples.iter().map(|s| s.group).max().map_or(0, |g| g + 1);
        if groups < MIN_GROUPS_FOR_SELECTION {
            // Too few questions to tell which serves it better: the FAQ
            // keeps the basic model fitted on itself, as before priors
            // existed (on the six-entry FAQ of the quality tests the prior
            // ordered a Chinese paraphrase worse, 0.05 against 0.03).
            return ConfidenceModel::fit(samples);
        }
        let loss = |model: &ConfidenceModel, test: &[&Sample]| -> f64 {
            test.iter()
                .map(|s| s.log_loss(model.apply(&s.features, s.chinese)))
                .sum::<f64>()
        };
        let (mut with_prior, mut alone) = (0.0, 0.0);
        for fold in 0..FOLDS {
            let (test, train): (Vec<&Sample>, Vec<&Sample>) =
                samples.iter().partition(|s| s.group % FOLDS == fold);
            let train: Vec<Sample> = train.into_iter().cloned().collect();
            with_prior += loss(&prior.adjusted(&train, ridge), &test);
            alone += loss(&ConfidenceModel::fit(&train), &test);
        }
        // Only the chosen model is fitted on every sample.
        if alone < with_prior {
            ConfidenceModel::fit(samples)
        } else {
            prior.adjusted(samples, ridge)
        }
    }

    /// Fits a model reading the `used` features on `samples` as they are
    /// (no cross-validated choice): how a confidence prior is fitted on
    /// many FAQs at once (see `prior.rs`).
    pub fn fit_features(samples: &[Sample], used: &[bool; FEATURES]) -> Option<Self> {
        let samples: Vec<(&Sample, [f32; INPUTS])> = samples
            .iter()
            .filter(|s| s.weight > 0.0 && s.features.iter().all(|f| f.is_finite()))
            .map(|s| (s, inputs(&s.features, s.chinese)))
            .collect();
        Self::fit_with(&samples, used)
    }

    /// The model as plain numbers (standardisation, then weights with the
    /// bias last), for a file.
    pub fn to_parts(&self) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
        (
            self.mean.to_vec(),
            self.scale.to_vec(),
            self.weights.to_vec(),
        )
    }

    /// The model from `to_parts`' numbers; none when their lengths or
    /// values do not make a model of this version's features.
    pub fn from_parts(mean: &[f32], scale: &[f32], weights: &[f64]) -> Option<Self> {
        let model = ConfidenceModel {
            mean: mean.try_into().ok()?,
            scale: scale.try_into().ok()?,
            weights: weights.try_into().ok()?,
        };
        let finite = model.mean.iter().chain(&model.scale).all(|v| v.is_finite())
            && model.scale.iter().all(|&v| v > 0.0)
            && model.weights.iter().all(|v| v.is_finite());
        finite.then_some(model)
    }

    /// The probability that the candidate with these features, for a
    /// query in Chinese or not, is right.
    pub fn apply(&self, features: &[f32; FEATURES], chinese: bool) -> f32 {
        self.probability(&inputs(features, chinese))
    }

    /// Whether the model reads the word alignment (only the untrained
    /// curve does), so that ranking computes it only then.
    pub fn reads_alignment(&self) -> bool {
        self.weights[ALIGNED] != 0.0 || self.weights[CHINESE + 1 + ALIGNED] != 0.0
    }

    fn probability(&self, x: &[f32; INPUTS]) -> f32 {
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

/// Logistic regression by Newton's method with a ridge penalty towards
/// `center` (bias not penalised); `pinned` weights keep their `start`
/// value, the others start from it.
/// Works on the free inputs only, and fills half of the (symmetric)
/// Hessian.
fn newton(
    rows: &[([f64; INPUTS + 1], f64, f64)],
    pinned: &[bool; INPUTS],
    start: &[f64; INPUTS + 1],
    center: &[f64; INPUTS + 1],
    ridge: f64,
) -> [f64; INPUTS + 1] {
    // The free inputs, then the bias.
    let free: Vec<usize> = (0..INPUTS)
        .filter(|&k| !pinned[k])
        .chain([INPUTS])
        .collect();
    let n = free.len();
    let mut w: Vec<f64> = free.iter().map(|&k| start[k]).collect();
    // What the pinned inputs add to each row's logit.
    let offsets: Vec<f64> = rows
        .iter()
        .map(|(row, _, _)| {
            (0..INPUTS)
                .filter(|&k| pinned[k])
                .map(|k| start[k] * row[k])
                .sum()
        })
        .collect();
    let mut x = vec![0.0f64; n];
    for _ in 0..50 {
        let mut gradient = vec![0.0f64; n];
        let mut hessian = vec![vec![0.0f64; n]; n];
        for ((row, y, weight), offset) in rows.iter().zip(&offsets) {
            for (slot, &k) in x.iter_mut().zip(&free) {
                *slot = row[k];
            }
            let z: f64 = offset + w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let g = weight * (p - y);
            let h = weight * p * (1.0 - p);
            for a in 0..n {
                gradient[a] += g * x[a];
                let hx = h * x[a];
                for b in a..n {
                    hessian[a][b] += hx * x[b];
                }
            }
        }
        for a in 0..n {
            for b in 0..a {
                hessian[a][b] = hessian[b][a];
            }
        }
        for a in 0..n - 1 {
            gradient[a] += ridge * (w[a] - center[free[a]]);
            hessian[a][a] += ridge;
        }
        // The bias is held only as firmly as a tenth of a weight, and only
        // when the weights are held towards another model's.
        let bias_ridge = if center.iter().any(|&c| c != 0.0) {
            ridge / 10.0
        } else {
            1e-9
        };
        gradient[n - 1] += bias_ridge * (w[n - 1] - center[INPUTS]);
        hessian[n - 1][n - 1] += bias_ridge;
        let Some(step) = solve(hessian, gradient) else {
            break;
        };
        // Damped: a step on nearly separable samples can overshoot.
        let longest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        let damping = if longest > MAX_STEP {
            MAX_STEP / longest
        } else {
            1.0
        };
        let mut change = 0.0f64;
        for a in 0..n {
            w[a] -= damping * step[a];
            change = change.max(step[a].abs());
        }
        if change < 1e-7 {
            break;
        }
    }
    let mut out = *start;
    for (&k, &v) in free.iter().zip(&w) {
        out[k] = v;
    }
    out
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            for k in col..n {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(raw: f32, correct: bool) -> Sample {
        let mut features = [0.0f32; FEATURES];
        features[Feature::Score] = raw;
        Sample {
            features,
            chinese: false,
            correct,
            weight: 1.0,
            group: 0,
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
        nan.features[Feature::Score] = f32::NAN;
        assert_eq!(
            ConfidenceModel::untrained().apply(&nan.features, false),
            0.0
        );
    }

    #[test]
    fn without_training_meaning_orders_what_words_leave_level() {
        let untrained = ConfidenceModel::untrained();
        // (share of the query explained, share of the question covered,
        // cosine of the mean vectors and alignment of the words)
        let confidence = |explained: f32, covered: f32, meaning: Option<(f32, f32)>| {
            let mut features = [0.0f32; FEATURES];
            features[Feature::Explained] = explained;
            features[Feature::Covered] = covered;
            if let Some((cosine, aligned)) = meaning {
                features[Feature::HasMeaning] = 1.0;
                features[Feature::Meaning] = cosine;
                features[Feature::Aligned] = aligned;
            }
            untrained.apply(&features, false)
        };
        assert!(confidence(0.6, 0.6, Some((0.5, 0.5))) > confidence(0.6, 0.6, Some((0.2, 0.5))));
        assert!(confidence(0.6, 0.6, Some((0.5, 0.6))) > confidence(0.6, 0.6, Some((0.5, 0.4))));
        // Of two questions that explain the query alike, the one that says
        // no more than the query asks.
        assert!(confidence(0.8, 0.9, Some((0.5, 0.5))) > confidence(0.8, 0.4, Some((0.5, 0.5))));
        // Answered (0.95) only when every word is explained, the question
        // covered and the meaning close, or, without meaning vectors, every
        // word explained and the question covered.
        assert!(confidence(1.0, 1.0, Some((0.95, 0.95))) >= 0.95);
        assert!(confidence(1.0, 1.0, Some((0.9, 0.9))) < 0.95);
        assert!(confidence(0.9, 1.0, Some((1.0, 1.0))) < 0.95);
        assert!(confidence(1.0, 0.6, Some((1.0, 1.0))) < 0.95);
        assert!(confidence(1.0, 1.0, None) >= 0.95);
        assert!(confidence(0.9, 1.0, None) < 0.95);
        assert!(confidence(1.0, 0.8, None) < 0.95);
        assert!(untrained.reads_alignment());
    }

    #[test]
    fn the_coverage_never_makes_the_untrained_curve_answer_more() {
        // The curve before it read the coverage: 6·explained + 2·meaning +
        // 4·alignment − 8.5 with meaning vectors, 6·explained − 3 without.
        let before = |explained: f32, meaning: Option<(f32, f32)>| {
            let z = match meaning {
                Some((cosine, aligned)) => 6.0 * explained + 2.0 * cosine + 4.0 * aligned - 8.5,
                None => 6.0 * explained - 3.0,
            };
            1.0 / (1.0 + (-z).exp())
        };
        let untrained = ConfidenceModel::untrained();
        let steps = (0..=20).map(|i| i as f32 / 20.0);
        for explained in steps.clone() {
            for covered in steps.clone() {
                for cosine in steps.clone() {
                    for aligned in steps.clone() {
                        let mut features = [0.0f32; FEATURES];
                        features[Feature::Explained] = explained;
                        features[Feature::Covered] = covered;
                        let no_meaning = untrained.apply(&features, false);
                        features[Feature::HasMeaning] = 1.0;
                        features[Feature::Meaning] = cosine;
                        features[Feature::Aligned] = aligned;
                        let with_meaning = untrained.apply(&features, false);
                        if with_meaning >= 0.95 {
                            assert!(before(explained, Some((cosine, aligned))) >= 0.95);
                        }
                        if no_meaning >= 0.95 {
                            assert!(before(explained, None) >= 0.95);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_fitted_model_does_not_read_the_word_alignment() {
        let model = ConfidenceModel::fit(&extended_samples(200, true));
        assert!(!model.reads_alignment());
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

    /// Samples of `questions` questions asked back, four candidates each:
    /// the basic score is a noisy hint, an extended feature (the meaning
    /// centroid, 15) is either what decides or a coincidence of these
    /// samples.
    fn extended_samples(questions: u32, extended_decides: bool) -> Vec<Sample> {
        let mut samples = Vec::new();
        for q in 0..questions {
            for c in 0..4u32 {
                let correct = c == 0;
                let noise = ((q * 31 + c * 17) % 10) as f32 / 10.0;
                let mut features = [0.0f32; FEATURES];
                // Right more often than not, far from always.
                features[Feature::Score] = if (q + c) % 3 == 0 { 1.0 - noise } else { noise };
                features[Feature::MeaningCentroid] = if extended_decides {
                    if correct {
                        0.6 + noise / 4.0
                    } else {
                        0.3 - noise / 4.0
                    }
                } else {
                    // Says "right" for half the questions and, more weakly,
                    // "wrong" for the other half: it fits the samples
                    // taken together, and predicts neither half from the
                    // other.
                    let (right, wrong) = if q % 2 == 0 { (0.7, 0.3) } else { (0.4, 0.6) };
                    if correct { right } else { wrong }
                };
                samples.push(Sample {
                    features,
                    chinese: false,
                    correct,
                    weight: 1.0,
                    group: q,
                });
            }
        }
        samples
    }

    /// How much the extended feature moves the confidence of a candidate.
    fn extended_effect(model: &ConfidenceModel) -> f32 {
        let mut low = [0.0f32; FEATURES];
        low[Feature::Score] = 0.5;
        let mut high = low;
        low[Feature::MeaningCentroid] = 0.2;
        high[Feature::MeaningCentroid] = 0.7;
        model.apply(&high, false) - model.apply(&low, false)
    }

    #[test]
    fn extra_evidence_is_used_where_it_predicts_unseen_questions() {
        let model = ConfidenceModel::fit(&extended_samples(200, true));
        assert!(extended_effect(&model) > 0.5, "{}", extended_effect(&model));
    }

    #[test]
    fn extra_evidence_that_only_fits_the_samples_is_left_out() {
        let model = ConfidenceModel::fit(&extended_samples(200, false));
        assert_eq!(extended_effect(&model), 0.0);
    }

    /// A FAQ of a few questions has too little to tell whether the extra
    /// evidence helps: the basic model, even where it would have.
    #[test]
    fn a_small_faq_keeps_the_basic_model() {
        let model = ConfidenceModel::fit(&extended_samples(MIN_GROUPS_FOR_SELECTION - 1, true));
        assert_eq!(extended_effect(&model), 0.0);
    }
}
