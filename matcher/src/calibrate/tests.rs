//! The confidence model's behaviour: what fitting learns, what it keeps
//! from a prior, and the untrained curve's promises.

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
