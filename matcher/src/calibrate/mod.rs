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

mod newton;

use crate::features::{FEATURES, Feature};
use newton::newton;

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

#[cfg(test)]
mod tests;
