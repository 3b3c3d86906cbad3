//! How close an entry's texts are to each other, so that a query's
//! closeness to an entry can be read against the entry's own spread.
//!
//! A cosine of 0.6 to the closest question says little on its own: for an
//! entry whose questions are near-copies of each other (cosine 0.9 among
//! them) it is a stranger, for one whose questions are all worded
//! differently (0.4 among them) it is as close as the entry's own
//! questions are. The confidence model reads the query's cosines minus the
//! entry's typical one (see `Ranking::features` in `index/rank.rs`).
//!
//! For each text the few closest other texts of its entry are kept, so that
//! calibration, which hides a question and asks it back, can read the
//! closeness the entry has without it: a hidden question must not count
//! as the neighbour of the question that is then closest to the query.

/// How many closest texts each text keeps: calibration hides one question
/// and its near-copies, rarely more.
const KEPT: usize = 4;

/// A text's closest other texts of its entry, closest first: (cosine, text).
#[derive(Debug, Clone, Default)]
pub(crate) struct Nearest(Vec<(f32, u32)>);

impl Nearest {
    /// The `KEPT` closest of these (cosine, text) pairs.
    pub fn of(cosines: impl Iterator<Item = (f32, u32)>) -> Self {
        let mut kept: Vec<(f32, u32)> = Vec::with_capacity(KEPT + 1);
        for pair in cosines {
            if kept.len() == KEPT && kept[KEPT - 1].0 >= pair.0 {
                continue;
            }
            let at = kept.partition_point(|k| k.0 >= pair.0);
            kept.insert(at, pair);
            kept.truncate(KEPT);
        }
        Nearest(kept)
    }

    /// Cosine to the closest text that is not `hidden`, if any is kept.
    pub fn closest(&self, hidden: &[u32]) -> Option<f32> {
        self.0
            .iter()
            .find(|(_, text)| !hidden.contains(text))
            .map(|&(cos, _)| cos)
    }
}

/// The mean of the texts' closest-neighbour cosines, leaving `hidden` out
/// (0 when no text has a neighbour).
pub(crate) fn typical<'a>(texts: impl Iterator<Item = (u32, &'a Nearest)>, hidden: &[u32]) -> f32 {
    let (sum, count) = texts
        .filter(|(text, _)| !hidden.contains(text))
        .filter_map(|(_, near)| near.closest(hidden))
        .fold((0.0f32, 0usize), |(s, n), cos| (s + cos, n + 1));
    if count == 0 { 0.0 } else { sum / count as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_closest_texts_in_order() {
        let near =
            Nearest::of([(0.2, 1), (0.9, 2), (0.5, 3), (0.7, 4), (0.1, 5), (0.8, 6)].into_iter());
        assert_eq!(near.0, vec![(0.9, 2), (0.8, 6), (0.7, 4), (0.5, 3)]);
    }

    #[test]
    fn a_hidden_text_is_nobody_s_neighbour() {
        let near = Nearest::of([(0.9, 2), (0.4, 3)].into_iter());
        assert_eq!(near.closest(&[]), Some(0.9));
        assert_eq!(near.closest(&[2]), Some(0.4));
        assert_eq!(near.closest(&[2, 3]), None);
    }

    #[test]
    fn the_typical_closeness_leaves_hidden_texts_out() {
        // Texts 1 and 2 are near-copies; text 3 is far from both.
        let one = Nearest::of([(0.9, 2), (0.3, 3)].into_iter());
        let two = Nearest::of([(0.9, 1), (0.2, 3)].into_iter());
        let three = Nearest::of([(0.3, 1), (0.2, 2)].into_iter());
        let texts = || [(1, &one), (2, &two), (3, &three)].into_iter();
        assert!((typical(texts(), &[]) - (0.9 + 0.9 + 0.3) / 3.0).abs() < 1e-6);
        // Without text 2, text 1's closest is text 3.
        assert!((typical(texts(), &[2]) - (0.3 + 0.3) / 2.0).abs() < 1e-6);
        assert_eq!(typical(texts(), &[1, 2, 3]), 0.0);
    }
}
