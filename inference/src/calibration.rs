//! Platt scaling: a model's probabilities recalibrated on the validation split.
//!
//! Clinicians read the predicted probabilities as risks, and a class-weighted loss inflates
//! them. Platt scaling fits p' = σ(a·logit(p) + b) by maximum likelihood on held-out rows; with
//! a > 0 it is monotone, so the ranking (ROC-AUC) is unchanged and only calibration moves.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Probabilities are clipped to this distance from 0 and 1 before the logit.
const CLIP: f64 = 1e-7;

/// One task's recalibration `p' = σ(a·logit(p) + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope on the logit.
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

impl Default for Platt {
    /// The identity.
    fn default() -> Self {
        Platt { a: 1.0, b: 0.0 }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(CLIP, 1.0 - CLIP);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The negative log-likelihood of `p' = σ(a·z + b)` for outcomes `y`, without overflow:
/// −log σ(x) = softplus(−x) and −log(1 − σ(x)) = softplus(x).
fn nll(z: &[f64], y: &[f32], a: f64, b: f64) -> f64 {
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    z.iter()
        .zip(y)
        .map(|(&zi, &yi)| {
            let x = a * zi + b;
            if yi > 0.5 {
                softplus(-x)
            } else {
                softplus(x)
            }
        })
        .sum()
}

impl Platt {
    /// The calibrated probability.
    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.a * logit(p) + self.b)
    }

    /// Maximum-likelihood fit on `(p, y)` by Newton's method on the two parameters, each step
    /// shortened until the likelihood improves. The log-likelihood is concave, but a full Newton
    /// step from the identity overshoots when the model is far over-confident (a slope of 0.2 or
    /// less) and diverges into saturation, where every probability is 0 or 1; the damped steps
    /// cannot.
    pub fn fit(p: &[f64], y: &[f32]) -> Result<Self> {
        if p.len() != y.len() || p.is_empty() {
            bail!("calibration: need as many labels as probabilities, at least one");
        }
        let pos = y.iter().filter(|&&v| v > 0.5).count();
        if pos == 0 || pos == y.len() {
            bail!("calibration: the validation split needs both outcomes");
        }
        let z: Vec<f64> = p.iter().map(|&x| logit(x)).collect();
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..100 {
            // Gradient and Hessian of the negative log-likelihood.
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (&zi, &yi) in z.iter().zip(y) {
                let q = sigmoid(a * zi + b);
                let r = q - f64::from(yi);
                let w = (q * (1.0 - q)).max(1e-12);
                ga += r * zi;
                gb += r;
                haa += w * zi * zi;
                hab += w * zi;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if !(det.is_finite() && det > 0.0) {
                bail!("calibration: the validation probabilities do not vary");
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            let now = nll(&z, y, a, b);
            let mut t = 1.0;
            while nll(&z, y, a - t * da, b - t * db) > now && t > 1e-10 {
                t /= 2.0;
            }
            a -= t * da;
            b -= t * db;
            if (t * da).abs() < 1e-12 && (t * db).abs() < 1e-12 {
                break;
            }
        }
        if !(a.is_finite() && b.is_finite()) {
            bail!("calibration: the fit diverged (are the validation outcomes separable?)");
        }
        Ok(Platt { a, b })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ece, roc_auc};
    use rand::{Rng, SeedableRng};

    /// Outcomes drawn from true risks; the model reports a distorted, over-confident and
    /// inflated version: logit(p_model) = 2·logit(p_true) + 1.
    fn distorted(n: usize, seed: u64) -> (Vec<f64>, Vec<f32>) {
        distorted_by(n, seed, 2.0, 1.0)
    }

    /// logit(p_model) = k·logit(p_true) + c.
    fn distorted_by(n: usize, seed: u64, k: f64, c: f64) -> (Vec<f64>, Vec<f32>) {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let (mut p, mut y) = (vec![], vec![]);
        for _ in 0..n {
            let t: f64 = rng.gen_range(0.02..0.98);
            y.push(f32::from(u8::from(rng.gen_bool(t))));
            p.push(sigmoid(k * logit(t) + c));
        }
        (p, y)
    }

    #[test]
    fn recovers_the_inverse_distortion_and_keeps_the_ranking() {
        let (p, y) = distorted(20_000, 1);
        let c = Platt::fit(&p, &y).unwrap();
        // The inverse of 2z + 1 is (z − 1)/2.
        assert!(
            (c.a - 0.5).abs() < 0.03 && (c.b + 0.5).abs() < 0.05,
            "{c:?}"
        );
        let (pt, yt) = distorted(20_000, 2);
        let cal: Vec<f64> = pt.iter().map(|&x| c.apply(x)).collect();
        let (before, after) = (ece(&pt, &yt, 10), ece(&cal, &yt, 10));
        assert!(before > 0.1 && after < 0.02, "ECE {before} → {after}");
        assert_eq!(roc_auc(&pt, &yt), roc_auc(&cal, &yt));
    }

    /// A full Newton step from the identity diverges on these (to |a| ~ 1e10, every probability 0
    /// or 1: the hybrid's ADR head on seed 3 of the small config); the damped fit recovers the
    /// inverse distortion.
    #[test]
    fn far_over_confident_models_are_recalibrated_not_saturated() {
        for (k, c) in [(5.0, 2.0), (6.0, -2.0)] {
            let (p, y) = distorted_by(20_000, 3, k, c);
            let fit = Platt::fit(&p, &y).unwrap();
            assert!(
                (fit.a - 1.0 / k).abs() < 0.1 / k && (fit.b + c / k).abs() < 0.05,
                "k {k}, c {c}: {fit:?}, expected a = {}, b = {}",
                1.0 / k,
                -c / k
            );
            let cal: Vec<f64> = p.iter().map(|&x| fit.apply(x)).collect();
            // Monotone: the ranking stays, but for ties made or broken by rounding near 0 and 1.
            assert!((roc_auc(&p, &y) - roc_auc(&cal, &y)).abs() < 1e-4);
            let after = ece(&cal, &y, 10);
            assert!(after < 0.02, "k {k}, c {c}: ECE {after}");
        }
    }

    #[test]
    fn degenerate_validation_sets_are_refused() {
        assert!(Platt::fit(&[0.2, 0.7], &[1.0, 1.0]).is_err());
        assert!(Platt::fit(&[0.5, 0.5, 0.5], &[1.0, 0.0, 1.0]).is_err());
        assert!(Platt::fit(&[0.5], &[]).is_err());
    }
}
