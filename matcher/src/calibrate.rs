//! A monotone map from a raw match score to the probability that the best
//! entry is right, fitted on the FAQ itself.
//!
//! The samples come from held-out FAQ questions (see `index.rs`): each is
//! (raw score of the best entry, whether that entry was the question's own).
//! Isotonic regression (pool adjacent violators) fits a non-decreasing step
//! function; a few pseudo-samples from a prior curve keep a tiny FAQ from
//! producing a jumpy map, and lose their weight as real samples accumulate.

/// Non-decreasing, piecewise linear map from raw score to `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Calibration {
    /// Knots: raw scores, increasing.
    xs: Vec<f32>,
    /// Probabilities at the knots, non-decreasing.
    ys: Vec<f32>,
}

impl Calibration {
    /// Fits the map on `(raw score, correct)` samples, with `prior_weight`
    /// pseudo-samples spread along `prior` on `[0, 1]`.
    pub fn fit(samples: &[(f32, bool)], prior: impl Fn(f32) -> f32, prior_weight: f32) -> Self {
        const PRIOR_POINTS: usize = 21;
        let mut points: Vec<(f32, f32, f32)> = samples
            .iter()
            .filter(|(x, _)| x.is_finite())
            .map(|&(x, ok)| (x, if ok { 1.0 } else { 0.0 }, 1.0))
            .collect();
        let each = prior_weight / PRIOR_POINTS as f32;
        for i in 0..PRIOR_POINTS {
            let x = i as f32 / (PRIOR_POINTS - 1) as f32;
            points.push((x, prior(x).clamp(0.0, 1.0), each));
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));

        // Pool adjacent violators over (mean x, mean y, weight) blocks.
        let mut blocks: Vec<(f32, f32, f32)> = Vec::with_capacity(points.len());
        for (x, y, w) in points {
            blocks.push((x * w, y * w, w));
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (last, prev) = (blocks[n - 1], blocks[n - 2]);
                if prev.1 / prev.2 > last.1 / last.2 {
                    blocks[n - 2] = (prev.0 + last.0, prev.1 + last.1, prev.2 + last.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        let xs = blocks.iter().map(|b| b.0 / b.2).collect();
        let ys = blocks.iter().map(|b| (b.1 / b.2).clamp(0.0, 1.0)).collect();
        Calibration { xs, ys }
    }

    /// The probability for a raw score (flat beyond the outer knots).
    pub fn apply(&self, x: f32) -> f32 {
        if !x.is_finite() || self.xs.is_empty() {
            return 0.0;
        }
        let i = self.xs.partition_point(|&k| k <= x);
        if i == 0 {
            return self.ys[0];
        }
        if i == self.xs.len() {
            return self.ys[i - 1];
        }
        let (x0, x1, y0, y1) = (self.xs[i - 1], self.xs[i], self.ys[i - 1], self.ys[i]);
        if x1 <= x0 {
            return y1;
        }
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_is_monotone_and_follows_the_samples() {
        let samples: Vec<(f32, bool)> = (0..200)
            .map(|i| {
                let x = i as f32 / 200.0;
                (x, (i * 7919 % 200) as f32 / 200.0 < x)
            })
            .collect();
        let c = Calibration::fit(&samples, |x| x, 5.0);
        let mut last = 0.0;
        for i in 0..=100 {
            let y = c.apply(i as f32 / 100.0);
            assert!(y >= last - 1e-6 && (0.0..=1.0).contains(&y));
            last = y;
        }
        assert!(c.apply(0.1) < 0.3 && c.apply(0.9) > 0.7);
    }

    #[test]
    fn without_samples_the_prior_is_kept() {
        let c = Calibration::fit(&[], |x| x, 5.0);
        assert!((c.apply(0.5) - 0.5).abs() < 0.01);
        assert_eq!(c.apply(f32::NAN), 0.0);
    }
}
