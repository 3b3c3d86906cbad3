//! The evidence behind a ranked entry, feature by feature, named.
//!
//! The confidence model (`calibrate.rs`), the prior file (`prior.rs`) and
//! the ranking that measures the evidence (`index/rank.rs`) all read the
//! same 19 numbers per candidate. They are kept in a plain array (what the
//! model multiplies and a prior file stores), but code reaches each one by
//! its [`Feature`], never by a bare position, so adding or reordering a
//! feature is one edit here.

use std::ops::{Index, IndexMut};

/// How many features of a candidate the confidence model reads.
pub const FEATURES: usize = 19;

/// One number of the evidence behind a candidate. The order is the order
/// of the features in a prior file (`FEATURE_NAMES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Feature {
    /// The ranking score (lexical and meaning cosines mixed, typo re-rank).
    Score,
    /// TF-IDF cosine with the entry's closest question.
    CosineClosest,
    /// TF-IDF cosine with the entry's centroid (all its questions).
    CosineCentroid,
    /// The score's lead over the best other ranked entry.
    ScoreLead,
    /// ln(1 + the query's distinct words the FAQ knows).
    LogKnownWords,
    /// Share of the query's squared TF-IDF norm in terms the FAQ never uses.
    UnknownShare,
    /// How much of the query the entry explains (BM25 of its texts taken
    /// together over the query's own); the untrained curve's main input.
    Explained,
    /// 1 when the query and the entry have meaning vectors in one space.
    HasMeaning,
    /// Meaning cosine with the entry's closest question.
    Meaning,
    /// That cosine's lead over the best other entry's.
    MeaningLead,
    /// Share of the query's known words that no text of the entry uses.
    UnexplainedWords,
    /// `CosineClosest` against the entry's typical closest-sibling cosine.
    ClosenessTypical,
    /// `CosineClosest` against the closest question's own closest sibling.
    ClosenessLocal,
    /// `Meaning` against the entry's typical closest-sibling meaning cosine.
    MeaningTypical,
    /// `Meaning` against the closest question's own closest sibling.
    MeaningLocal,
    /// Meaning cosine with the entry's meaning centroid.
    MeaningCentroid,
    /// That cosine's lead over the best other entry's.
    MeaningCentroidLead,
    /// How well the words of the query and of the entry's question closest
    /// in meaning align (see `WordVectors::alignment`): read by the
    /// untrained curve only.
    Aligned,
    /// How much of the entry's closest question the query covers: read by
    /// the untrained curve only.
    Covered,
}

impl Feature {
    /// Every feature, in order.
    pub const ALL: [Feature; FEATURES] = [
        Feature::Score,
        Feature::CosineClosest,
        Feature::CosineCentroid,
        Feature::ScoreLead,
        Feature::LogKnownWords,
        Feature::UnknownShare,
        Feature::Explained,
        Feature::HasMeaning,
        Feature::Meaning,
        Feature::MeaningLead,
        Feature::UnexplainedWords,
        Feature::ClosenessTypical,
        Feature::ClosenessLocal,
        Feature::MeaningTypical,
        Feature::MeaningLocal,
        Feature::MeaningCentroid,
        Feature::MeaningCentroidLead,
        Feature::Aligned,
        Feature::Covered,
    ];

    /// Its place in a features array (and among a model's inputs).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// How a prior file names it.
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Score => "score",
            Feature::CosineClosest => "cosine_closest",
            Feature::CosineCentroid => "cosine_centroid",
            Feature::ScoreLead => "score_lead",
            Feature::LogKnownWords => "log_known_words",
            Feature::UnknownShare => "unknown_share",
            Feature::Explained => "explained",
            Feature::HasMeaning => "has_meaning",
            Feature::Meaning => "meaning",
            Feature::MeaningLead => "meaning_lead",
            Feature::UnexplainedWords => "unexplained_words",
            Feature::ClosenessTypical => "closeness_typical",
            Feature::ClosenessLocal => "closeness_local",
            Feature::MeaningTypical => "meaning_typical",
            Feature::MeaningLocal => "meaning_local",
            Feature::MeaningCentroid => "meaning_centroid",
            Feature::MeaningCentroidLead => "meaning_centroid_lead",
            Feature::Aligned => "aligned",
            Feature::Covered => "covered",
        }
    }

    /// Evidence for the candidate: more of it never lowers the confidence,
    /// so its weight may not go negative. The others describe the query
    /// (how many words the FAQ knows, how much it does not) or say which
    /// evidence exists, and may weigh either way.
    pub const fn is_evidence(self) -> bool {
        !matches!(
            self,
            Feature::LogKnownWords
                | Feature::UnknownShare
                | Feature::HasMeaning
                | Feature::UnexplainedWords
        )
    }

    /// In the basic model (up to `MeaningLead`), which every fitted FAQ
    /// uses; the rest (unexplained words, closeness against the entry's
    /// spread, the meaning centroid) need enough questions to learn from
    /// (see `ConfidenceModel::fit`).
    pub const fn is_basic(self) -> bool {
        self.index() <= Feature::MeaningLead.index()
    }
}

/// The features' names, in order: how a prior file names its inputs.
pub const FEATURE_NAMES: [&str; FEATURES] = {
    let mut names = [""; FEATURES];
    let mut k = 0;
    while k < FEATURES {
        names[k] = Feature::ALL[k].name();
        k += 1;
    }
    names
};

impl Index<Feature> for [f32; FEATURES] {
    type Output = f32;

    fn index(&self, feature: Feature) -> &f32 {
        &self[feature.index()]
    }
}

impl IndexMut<Feature> for [f32; FEATURES] {
    fn index_mut(&mut self, feature: Feature) -> &mut f32 {
        &mut self[feature.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_sits_at_its_own_place_under_its_own_name() {
        for (k, feature) in Feature::ALL.into_iter().enumerate() {
            assert_eq!(feature.index(), k);
            assert_eq!(FEATURE_NAMES[k], feature.name());
        }
        let mut names = FEATURE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FEATURES);
    }
}
