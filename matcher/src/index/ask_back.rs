//! Calibration by asking the FAQ's own questions back: the samples that
//! adjust the confidence prior to this FAQ (or fit a model on it alone),
//! see `calibrate.rs` and `prior.rs`.
//!
//! Each sampled question is asked three times: with itself hidden (its
//! entry should still win), as written, and with its whole entry hidden (a
//! question the FAQ does not answer: every candidate is wrong).

use crate::calibrate::Sample;
use crate::prior::Prior;

use super::build::{Analysed, parallel_map};
use super::{HeldOut, MAX_CANDIDATES, Matcher};

/// How many held-out questions calibration asks back at most.
const CALIBRATION_SAMPLES: usize = 400;

/// Weight of a held-out-entry sample relative to a held-out-question one:
/// how common questions the FAQ does not answer are assumed to be.
const UNANSWERABLE_WEIGHT: f32 = 0.5;

/// Weight of a question asked back verbatim (nothing hidden) relative to a
/// held-out one: users often type an FAQ question nearly as written, and
/// without these samples the model never sees evidence that strong, so it
/// would not trust it.
const VERBATIM_WEIGHT: f32 = 2.0;

impl Matcher {
    /// Asks FAQ questions back and fits the confidence model on whether
    /// each candidate was the question's own entry: once with only that
    /// question held out (its entry should still win), once as written
    /// (nothing hidden), and once with its whole entry held out (a question
    /// the FAQ does not answer: every candidate is wrong).
    pub(super) fn calibrate(&mut self, analysed: &[Analysed], parallel: bool, prior: &Prior) {
        let questions: Vec<u32> = (0..analysed.len() as u32)
            .filter(|&d| analysed[d as usize].is_question)
            .collect();
        let stride = questions.len().div_ceil(CALIBRATION_SAMPLES).max(1);
        let sampled: Vec<u32> = questions.iter().step_by(stride).copied().collect();
        let this = &*self;
        // Per sampled question: its samples, and whether it found its own
        // entry while held out.
        let asked = parallel_map(sampled.len(), parallel, |i| {
            let question = i as u32;
            let d = sampled[i];
            let a = &analysed[d as usize];
            let doc = &this.docs[d as usize];
            let own = doc.entry;
            let meaning = doc
                .meaning
                .map(|(space, row)| (space, this.meaning_row(space, row)));
            let asks = [
                // Its entry should still come first.
                (HeldOut::Docs(own, &[d][..]), 1.0),
                // Typed as written.
                (HeldOut::Nothing, VERBATIM_WEIGHT),
                // A question the FAQ does not answer: every candidate is
                // wrong (its own entry is hidden).
                (HeldOut::Entry(own), UNANSWERABLE_WEIGHT),
            ];
            let mut samples: Vec<Sample> = Vec::new();
            let mut found = false;
            for (held_out, weight) in asks {
                // No word alignment: the fitted model never reads it (see
                // `calibrate.rs`).
                let ranking = this.rank(&a.terms, &a.text, meaning, &[], held_out);
                let top = &ranking.scored[..ranking.scored.len().min(MAX_CANDIDATES)];
                found |=
                    matches!(held_out, HeldOut::Docs(..)) && top.iter().any(|s| s.entry == own);
                for (i, s) in top.iter().enumerate() {
                    samples.push(Sample {
                        features: ranking.features(i),
                        chinese: ranking.chinese,
                        correct: s.entry == own,
                        weight,
                        group: question,
                    });
                }
            }
            (samples, found)
        });
        let found_when_held_out = asked.iter().filter(|(_, found)| *found).count();
        let samples: Vec<Sample> = asked.into_iter().flat_map(|(s, _)| s).collect();
        // Without a held-out question that found its entry (every entry has
        // one question), the samples only say "verbatim copies are right":
        // nothing to learn the scale from, so the untrained curve stays.
        if found_when_held_out > 0 {
            self.confidence = prior.adjusted(&samples);
        }
    }
}
