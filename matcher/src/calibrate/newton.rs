//! Logistic regression by Newton's method, on the model's standardised
//! inputs: the numerical core of fitting and adjusting a confidence model,
//! apart from the rules (which inputs are pinned, towards what) that
//! `calibrate/mod.rs` decides.

// Small dense linear algebra reads best with indices.
#![allow(clippy::needless_range_loop)]

use super::INPUTS;

/// The longest Newton step on one weight (standardised inputs).
const MAX_STEP: f64 = 4.0;

/// Logistic regression by Newton's method with a ridge penalty towards
/// `center` (bias not penalised); `pinned` weights keep their `start`
/// value, the others start from it.
/// Works on the free inputs only, and fills half of the (symmetric)
/// Hessian.
pub(super) fn newton(
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
