//! Exposure metrics of a concentration–time profile.

use serde::{Deserialize, Serialize};

use crate::drugs::{TargetMetric, WindowSpec};

/// Summary of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileMetrics {
    /// Peak concentration over the last dosing interval (mg/L).
    pub cmax: f64,
    /// Time of that peak (h).
    pub tmax: f64,
    /// AUC over the last dosing interval (mg·h/L), linear-up/log-down.
    pub auc_tau: f64,
    /// AUC from the first time point to infinity (mg·h/L): AUC_0–tlast plus
    /// C_last/λz, with λz the terminal rate constant supplied by the caller.
    pub auc_inf: f64,
    /// Concentration at the end of the last interval (mg/L).
    pub trough: f64,
    /// Average concentration over the last interval (mg/L).
    pub cavg: f64,
    /// Fraction of the whole profile's time inside the therapeutic window.
    pub time_in_window: Option<f64>,
}

/// Linear-up / log-down trapezoid between two points.
#[inline]
fn segment_auc(c0: f64, c1: f64, h: f64) -> f64 {
    if c1 < c0 && c1 > 0.0 && c0 > 0.0 && (c0 / c1 - 1.0).abs() > 1e-9 {
        (c0 - c1) * h / (c0 / c1).ln()
    } else {
        0.5 * (c0 + c1) * h
    }
}

/// AUC by linear-up/log-down trapezoids over `[t_from, t_to]` (grid points only).
pub fn auc(times: &[f64], conc: &[f64], t_from: f64, t_to: f64) -> f64 {
    let mut s = 0.0;
    for j in 1..times.len().min(conc.len()) {
        if times[j - 1] >= t_from - 1e-9 && times[j] <= t_to + 1e-9 {
            s += segment_auc(conc[j - 1], conc[j], times[j] - times[j - 1]);
        }
    }
    s
}

/// Fraction of time with lower ≤ C ≤ upper, crossings interpolated linearly.
pub fn time_in_window(times: &[f64], conc: &[f64], lower: f64, upper: f64) -> f64 {
    let total = times.last().copied().unwrap_or(0.0) - times.first().copied().unwrap_or(0.0);
    if total <= 0.0 {
        return 0.0;
    }
    let inside = |c: f64| c >= lower && c <= upper;
    let mut t_in = 0.0;
    for j in 1..times.len().min(conc.len()) {
        let (c0, c1, h) = (conc[j - 1], conc[j], times[j] - times[j - 1]);
        if inside(c0) && inside(c1) {
            t_in += h;
        } else if (c1 - c0).abs() > 0.0 {
            // Portion of the linear segment inside [lower, upper].
            let (lo, hi) = if c0 < c1 { (c0, c1) } else { (c1, c0) };
            let overlap = (hi.min(upper) - lo.max(lower)).max(0.0);
            t_in += h * overlap / (hi - lo);
        }
    }
    t_in / total
}

/// Computes metrics for a profile whose last dosing interval is
/// `[last_dose_h, last_dose_h + tau_h]`; `lambda_z` is the terminal rate.
pub fn profile_metrics(
    times: &[f64],
    conc: &[f64],
    last_dose_h: f64,
    tau_h: f64,
    lambda_z: f64,
    window: Option<&WindowSpec>,
) -> ProfileMetrics {
    let end = last_dose_h + tau_h;
    let (mut cmax, mut tmax) = (f64::NEG_INFINITY, 0.0);
    let mut trough = 0.0;
    for (&t, &c) in times.iter().zip(conc) {
        if t >= last_dose_h - 1e-9 && t <= end + 1e-9 {
            if c > cmax {
                cmax = c;
                tmax = t;
            }
            trough = c;
        }
    }
    if !cmax.is_finite() {
        cmax = 0.0;
    }
    let auc_tau = auc(times, conc, last_dose_h, end);
    let t_last = times.last().copied().unwrap_or(0.0);
    let c_last = conc.last().copied().unwrap_or(0.0);
    let auc_inf = auc(times, conc, f64::NEG_INFINITY, t_last)
        + if lambda_z > 0.0 {
            c_last / lambda_z
        } else {
            0.0
        };
    ProfileMetrics {
        cmax,
        tmax,
        auc_tau,
        auc_inf,
        trough,
        cavg: auc_tau / tau_h,
        time_in_window: window.map(|w| time_in_window(times, conc, w.lower_mg_l, w.upper_mg_l)),
    }
}

impl ProfileMetrics {
    /// The value of `m` for this profile.
    pub fn get(&self, m: TargetMetric) -> f64 {
        match m {
            TargetMetric::Trough => self.trough,
            TargetMetric::Cmax => self.cmax,
            TargetMetric::Cavg => self.cavg,
            TargetMetric::Auc24 => 24.0 * self.cavg,
        }
    }
}

/// `q`-quantile (0..=1) of `xs` by linear interpolation; sorts `xs` in place.
pub fn quantile_in_place(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_unstable_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < xs.len() {
        xs[i] * (1.0 - frac) + xs[i + 1] * frac
    } else {
        xs[i]
    }
}
