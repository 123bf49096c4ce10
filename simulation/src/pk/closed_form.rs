//! Closed-form multiple-dose profiles by superposition of single-dose
//! responses of the (linear) disposition.

use super::{validate_doses, Disposition, Dose, PkParams, Route};
use crate::error::Result;

/// `(e^{-λt} − e^{-ka·t}) / (ka − λ)`, with its limit t·e^{-λt} when ka ≈ λ.
#[inline]
fn bateman(lambda: f64, ka: f64, t: f64) -> f64 {
    let d = ka - lambda;
    if d.abs() < 1e-9 * ka.max(lambda) {
        t * (-lambda * t).exp()
    } else {
        ((-lambda * t).exp() - (-ka * t).exp()) / d
    }
}

/// Central concentration (mg/L) at `t` from one dose (0 before it acts).
#[inline]
pub fn single_dose_concentration(p: &PkParams, disp: &Disposition, dose: &Dose, t: f64) -> f64 {
    let dt = t - dose.time_h;
    let mut c = 0.0;
    match dose.route {
        Route::Oral => {
            let t_abs = dt - p.tlag_h;
            if t_abs <= 0.0 {
                return 0.0;
            }
            for i in 0..disp.n {
                c += disp.coef[i] * bateman(disp.lambda[i], p.ka_per_h, t_abs);
            }
            c * p.f * dose.amount_mg * p.ka_per_h
        }
        Route::IvBolus => {
            if dt < 0.0 {
                return 0.0;
            }
            for i in 0..disp.n {
                c += disp.coef[i] * (-disp.lambda[i] * dt).exp();
            }
            c * dose.amount_mg
        }
        Route::Infusion { duration_h } => {
            if dt <= 0.0 {
                return 0.0;
            }
            let rate = dose.amount_mg / duration_h;
            let on = dt.min(duration_h);
            let off = (dt - duration_h).max(0.0);
            for i in 0..disp.n {
                let l = disp.lambda[i];
                c += disp.coef[i] / l * (1.0 - (-l * on).exp()) * (-l * off).exp();
            }
            c * rate
        }
    }
}

/// Concentration at each of `times` (h) for a dose list.
pub fn concentrations(p: &PkParams, doses: &[Dose], times: &[f64]) -> Result<Vec<f64>> {
    p.validate()?;
    validate_doses(doses)?;
    let disp = p.disposition();
    Ok(times
        .iter()
        .map(|&t| {
            doses
                .iter()
                .map(|d| single_dose_concentration(p, &disp, d, t))
                .sum()
        })
        .collect())
}

/// Total amount that has entered the systemic circulation by time `t` (mg).
pub fn absorbed_amount(p: &PkParams, doses: &[Dose], t: f64) -> f64 {
    doses
        .iter()
        .map(|d| {
            let dt = t - d.time_h;
            match d.route {
                Route::Oral => {
                    let ta = dt - p.tlag_h;
                    if ta <= 0.0 {
                        0.0
                    } else {
                        p.f * d.amount_mg * (1.0 - (-p.ka_per_h * ta).exp())
                    }
                }
                Route::IvBolus => {
                    if dt >= 0.0 {
                        d.amount_mg
                    } else {
                        0.0
                    }
                }
                Route::Infusion { duration_h } => d.amount_mg * (dt / duration_h).clamp(0.0, 1.0),
            }
        })
        .sum()
}

/// Adds `amp·e^{−λ·(τ₀ + k·h)}` to `out[j0 + k]` by recurrence (one `exp` per
/// sequence instead of one per point; rounding error grows ~k·ε).
#[inline]
fn add_geometric(out: &mut [f64], j0: usize, tau0: f64, h: f64, lambda: f64, amp: f64) {
    let step = (-lambda * h).exp();
    let mut v = amp * (-lambda * tau0).exp();
    for o in &mut out[j0..] {
        *o += v;
        v *= step;
        // Once the term underflows further work is wasted.
        if v == 0.0 {
            break;
        }
    }
}

/// Concentrations on the uniform grid `t_j = t0 + j·h` (written into `out`),
/// exactly equal in exact arithmetic to [`concentrations`] but with a few
/// `exp` calls per dose instead of per (dose, time) pair.
pub fn concentrations_grid(
    p: &PkParams,
    disp: &Disposition,
    doses: &[Dose],
    t0: f64,
    h: f64,
    out: &mut [f64],
) {
    out.iter_mut().for_each(|o| *o = 0.0);
    let n = out.len();
    // First grid index with t_j ≥ s (or > s when `strict`).
    // First grid index with t_j ≥ s (t_j > s when `strict`), using the same
    // t0 + j·h arithmetic as the caller's grid so boundaries agree exactly.
    let first = |s: f64, strict: bool| -> usize {
        let mut j = ((s - t0) / h - 1.0).floor().max(0.0) as usize;
        while j < n {
            let t = t0 + j as f64 * h;
            if t > s || (!strict && t == s) {
                break;
            }
            j += 1;
        }
        j
    };
    for d in doses {
        match d.route {
            Route::Oral => {
                let start = d.time_h + p.tlag_h;
                let j0 = first(start, true);
                if j0 >= n {
                    continue;
                }
                let tau0 = t0 + j0 as f64 * h - start;
                let ka = p.ka_per_h;
                if (0..disp.n).any(|i| (ka - disp.lambda[i]).abs() < 1e-9 * ka.max(disp.lambda[i]))
                {
                    for (j, o) in out.iter_mut().enumerate().skip(j0) {
                        *o += single_dose_concentration(p, disp, d, t0 + j as f64 * h);
                    }
                    continue;
                }
                let scale = p.f * d.amount_mg * ka;
                let mut ka_amp = 0.0;
                for i in 0..disp.n {
                    let a = scale * disp.coef[i] / (ka - disp.lambda[i]);
                    add_geometric(out, j0, tau0, h, disp.lambda[i], a);
                    ka_amp -= a;
                }
                add_geometric(out, j0, tau0, h, ka, ka_amp);
            }
            Route::IvBolus => {
                let j0 = first(d.time_h, false);
                if j0 >= n {
                    continue;
                }
                let tau0 = t0 + j0 as f64 * h - d.time_h;
                for i in 0..disp.n {
                    add_geometric(out, j0, tau0, h, disp.lambda[i], disp.coef[i] * d.amount_mg);
                }
            }
            Route::Infusion { duration_h } => {
                // During the infusion: pointwise (short); afterwards: pure decay.
                let j_on = first(d.time_h, true);
                let end = d.time_h + duration_h;
                let j_off = first(end, true);
                for (j, o) in out.iter_mut().enumerate().take(j_off).skip(j_on) {
                    *o += single_dose_concentration(p, disp, d, t0 + j as f64 * h);
                }
                if j_off >= n {
                    continue;
                }
                let rate = d.amount_mg / duration_h;
                let tau0 = t0 + j_off as f64 * h - end;
                for i in 0..disp.n {
                    let l = disp.lambda[i];
                    add_geometric(
                        out,
                        j_off,
                        tau0,
                        h,
                        l,
                        rate * disp.coef[i] / l * (1.0 - (-l * duration_h).exp()),
                    );
                }
            }
        }
    }
}

/// Concentrations at `times`, using the recurrence of [`concentrations_grid`]
/// when `times` is a uniform grid and pointwise superposition otherwise.
pub fn profile(p: &PkParams, doses: &[Dose], times: &[f64]) -> Result<Vec<f64>> {
    p.validate()?;
    validate_doses(doses)?;
    match uniform_step(times) {
        Some(h) => {
            let mut out = vec![0.0; times.len()];
            concentrations_grid(p, &p.disposition(), doses, times[0], h, &mut out);
            Ok(out)
        }
        None => concentrations(p, doses, times),
    }
}

/// The step of `times` if it is exactly `t0 + j·h`, else `None`.
pub fn uniform_step(times: &[f64]) -> Option<f64> {
    let h = times.get(1)? - times[0];
    let ok = h > 0.0
        && times
            .iter()
            .enumerate()
            .all(|(j, &x)| x == times[0] + j as f64 * h);
    ok.then_some(h)
}
