//! The confidence prior: a confidence model fitted across many FAQ-shaped
//! datasets, shipped as data, so that the confidence means the same on a
//! FAQ the bot has never seen.
//!
//! A FAQ's own questions asked back teach what a near-copy of a question
//! looks like, not what users write: on a FAQ of a few clean questions an
//! entry, a model fitted on them alone put most right answers under the
//! answer threshold. The prior is fitted instead on real held-out
//! questions of several FAQs (each FAQ built from some of an entry's
//! questions, asked the others; whole entries hidden so that some
//! questions have no answer), in Chinese and English, and reads only
//! evidence that means the same on any FAQ (cosines, shares, leads over
//! the runner-up), never a magnitude that grows with the FAQ's size.
//!
//! `matcher/examples/fit_prior.rs` fits it, validating leave one dataset
//! out (see ARCHITECTURE.md); `data/prior.json` is what it wrote on every
//! source. A FAQ's own questions then adjust the prior (see
//! `Prior::adjusted`), they do not define it.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::calibrate::{ConfidenceModel, Sample};
pub use crate::features::{FEATURE_NAMES, FEATURES, Feature};
use crate::index::Evidence;

/// A confidence model fitted across datasets, and the names of the
/// datasets it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    pub(crate) model: ConfidenceModel,
    trained_on: Vec<String>,
    /// How firmly the prior holds against a FAQ's own questions: the ridge
    /// penalty per standardised input of `ConfidenceModel::adjusted`; 0
    /// leaves the prior as it is.
    adjust_ridge: f64,
    /// Ignore the prior: fit the confidence on the FAQ's own questions
    /// alone, as before the prior existed (a baseline for measuring).
    self_fitted: bool,
}

/// The file format of a prior (`data/prior.json`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorFile {
    /// The datasets the prior was fitted on.
    trained_on: Vec<String>,
    /// How firmly it holds against a FAQ's own questions (see
    /// `Prior::adjusted`).
    adjust_ridge: f64,
    /// The features it reads, in order; a file for other features is
    /// refused.
    features: Vec<String>,
    mean: Vec<f32>,
    scale: Vec<f32>,
    weights: Vec<f64>,
}

/// How firmly a newly fitted prior holds against a FAQ's own questions
/// until the fitting script chooses (see `Prior::with_adjust_ridge`).
const DEFAULT_ADJUST_RIDGE: f64 = 200.0;

static SHIPPED: LazyLock<Prior> = LazyLock::new(|| {
    Prior::from_json(include_str!("../data/prior.json"))
        .expect("data/prior.json is written by examples/fit_prior.rs for these features")
});

/// One dataset of questions with their expected entry (`None`: the FAQ
/// does not answer it), as the evidence a matcher built on the dataset's
/// FAQ saw for each.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    pub name: String,
    pub asked: Vec<(Evidence, Option<String>)>,
}

impl Prior {
    /// The prior shipped with the matcher, fitted on every source named in
    /// `data/README.md`.
    pub fn shipped() -> &'static Prior {
        &SHIPPED
    }

    /// A prior that reads nothing (every candidate 0.5), and a FAQ's own
    /// questions do not adjust: what the fitting script builds with, so
    /// that no earlier prior shapes the evidence it fits on.
    pub fn flat() -> Prior {
        let inputs = 2 * FEATURES + 1;
        Prior {
            model: ConfidenceModel::from_parts(
                &vec![0.0; inputs],
                &vec![1.0; inputs],
                &vec![0.0; inputs + 1],
            )
            .expect("a flat model has the right shape"),
            trained_on: Vec::new(),
            adjust_ridge: 0.0,
            self_fitted: false,
        }
    }

    /// No prior: each FAQ's confidence fitted on its own questions asked
    /// back alone (see `ConfidenceModel::fit`), as before priors existed;
    /// the baseline the prior is measured against.
    pub fn self_fitted() -> Prior {
        Prior {
            self_fitted: true,
            ..Prior::flat()
        }
    }

    pub fn from_json(text: &str) -> Result<Prior, Error> {
        let file: PriorFile = serde_json::from_str(text).map_err(Error::PriorFormat)?;
        if file.features != FEATURE_NAMES {
            return Err(Error::PriorFeatures(file.features.join(", ")));
        }
        let model = ConfidenceModel::from_parts(&file.mean, &file.scale, &file.weights)
            .ok_or_else(|| Error::PriorFeatures("weights of the wrong length".into()))?;
        Ok(Prior {
            model,
            trained_on: file.trained_on,
            adjust_ridge: file.adjust_ridge.max(0.0),
            self_fitted: false,
        })
    }

    pub fn to_json(&self) -> String {
        let (mean, scale, weights) = self.model.to_parts();
        let file = PriorFile {
            trained_on: self.trained_on.clone(),
            adjust_ridge: self.adjust_ridge,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            mean,
            scale,
            weights,
        };
        serde_json::to_string_pretty(&file).expect("a prior serialises")
    }

    /// The datasets this prior was fitted on.
    pub fn trained_on(&self) -> &[String] {
        &self.trained_on
    }

    /// Fits a prior on `sets`, reading the `used` features. Each dataset
    /// weighs the same in all, however many questions it has, and within
    /// one the questions without an answer weigh as much as those with
    /// one; none when the sets cannot train a model.
    pub fn fit(sets: &[TrainingSet], used: &[bool; FEATURES]) -> Option<Prior> {
        let samples = samples(sets);
        let model = ConfidenceModel::fit_features(&samples, used)?;
        Some(Prior {
            model,
            trained_on: sets.iter().map(|s| s.name.clone()).collect(),
            adjust_ridge: DEFAULT_ADJUST_RIDGE,
            self_fitted: false,
        })
    }

    /// The weighted log-loss of the prior on `sets` (each weighed as in
    /// `fit`), per unit of weight: how well it predicts them.
    pub fn log_loss(&self, sets: &[TrainingSet]) -> f64 {
        let samples = samples(sets);
        let loss: f64 = samples
            .iter()
            .map(|s| s.log_loss(self.model.apply(&s.features, s.chinese)))
            .sum();
        let total: f64 = samples.iter().map(|s| f64::from(s.weight)).sum();
        loss / total.max(1e-9)
    }

    /// The confidence model for a FAQ whose own questions asked back gave
    /// `samples`.
    pub(crate) fn adjusted(&self, samples: &[Sample]) -> ConfidenceModel {
        if self.self_fitted {
            return ConfidenceModel::fit(samples);
        }
        if self.adjust_ridge <= 0.0 {
            return self.model.clone();
        }
        ConfidenceModel::for_faq(&self.model, samples, self.adjust_ridge)
    }

    /// This prior, holding as firmly as `ridge` against a FAQ's own
    /// questions.
    pub fn with_adjust_ridge(&self, ridge: f64) -> Prior {
        Prior {
            adjust_ridge: ridge.max(0.0),
            ..self.clone()
        }
    }

    pub fn adjust_ridge(&self) -> f64 {
        self.adjust_ridge
    }
}

/// The samples of `sets`: each candidate of each question, each dataset
/// weighing the same, and within one the questions without an answer as
/// much as those with one.
fn samples(sets: &[TrainingSet]) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut group = 0u32;
    for set in sets {
        let answerable = set.asked.iter().filter(|(_, e)| e.is_some()).count();
        let unanswerable = set.asked.len() - answerable;
        for (evidence, expected) in &set.asked {
            let share = if expected.is_some() {
                answerable
            } else {
                unanswerable
            };
            let weight = 500.0 / share.max(1) as f32;
            for (entry, features) in &evidence.candidates {
                samples.push(Sample {
                    features: *features,
                    chinese: evidence.chinese,
                    correct: expected.as_deref() == Some(entry.as_str()),
                    weight,
                    group,
                });
            }
            group += 1;
        }
    }
    samples
}
