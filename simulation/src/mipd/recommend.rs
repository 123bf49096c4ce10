//! Dose recommendation: the practical regimen most likely to reach the drug's target.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::drugs::{DrugSpec, TargetMetric, TdmSpec, TdmTarget};
use crate::error::{invalid, Result};
use crate::metrics::{profile_metrics, quantile_in_place};
use crate::pk::{closed_form, Dose, PkParams, Route};
use crate::regimen::Regimen;

use super::MapFit;

/// Candidates within this much of the best probability count as equally good; among them the
/// safest (least often above the target), then the most convenient (longest interval) wins.
const EQUIVALENT: f64 = 0.02;
/// Steady state: doses spanning this many terminal half-lives.
const STEADY_STATE_HALF_LIVES: f64 = 7.0;
const MAX_DOSES: usize = 400;
const GRID: usize = 48;

/// What to search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecommendSettings {
    /// Target; the drug's `[tdm] target` when `None`.
    pub target: Option<TdmTarget>,
    /// Intervals (h); the drug's `[tdm] intervals_h` when `None`.
    pub intervals_h: Option<Vec<f64>>,
    /// Route; that of the patient's last dose when `None`.
    pub route: Option<Route>,
}

/// One regimen and how the posterior expects it to do at steady state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Dose (mg).
    pub dose_mg: f64,
    /// Interval (h).
    pub interval_h: f64,
    /// Probability that the target metric lies in the target window.
    pub prob_target: f64,
    /// Probability that it lies below.
    pub prob_below: f64,
    /// Probability that it lies above.
    pub prob_above: f64,
    /// Posterior median of the metric.
    pub median: f64,
    /// 5th percentile.
    pub p05: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// The result of [`recommend`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Drug name.
    pub drug: String,
    /// The target aimed for.
    pub target: TdmTarget,
    /// Unit of the target metric.
    pub unit: String,
    /// Route of the regimens searched.
    pub route: Route,
    /// The recommended regimen's expectations.
    pub recommended: Candidate,
    /// The recommended regimen, continuing from the next due dose.
    pub regimen: Regimen,
    /// The patient's current regimen (last dose, last interval), evaluated the same way.
    pub current: Option<Candidate>,
    /// The best candidates by probability of target attainment.
    pub alternatives: Vec<Candidate>,
    /// Posterior draws behind each probability.
    pub draws: usize,
}

/// Steady-state value of `metric` per mg of dose, for one parameter set.
fn unit_metric(p: &PkParams, tau: f64, route: Route, metric: TargetMetric) -> Result<f64> {
    let half_life = std::f64::consts::LN_2 / p.terminal_rate();
    let n = ((STEADY_STATE_HALF_LIVES * half_life / tau).ceil() as usize + 1).clamp(2, MAX_DOSES);
    let doses: Vec<Dose> = (0..n)
        .map(|i| Dose {
            time_h: i as f64 * tau,
            amount_mg: 1.0,
            route,
        })
        .collect();
    let last = (n - 1) as f64 * tau;
    let times: Vec<f64> = (0..=GRID)
        .map(|k| last + tau * k as f64 / GRID as f64)
        .collect();
    let c = closed_form::concentrations(p, &doses, &times)?;
    Ok(profile_metrics(&times, &c, last, tau, p.terminal_rate(), None).get(metric))
}

fn candidate(dose: f64, tau: f64, unit: &[f64], t: &TdmTarget) -> Candidate {
    let mut m: Vec<f64> = unit.iter().map(|u| u * dose).collect();
    let n = m.len() as f64;
    let below = m.iter().filter(|&&x| x < t.lower).count() as f64 / n;
    let above = m.iter().filter(|&&x| x > t.upper).count() as f64 / n;
    Candidate {
        dose_mg: dose,
        interval_h: tau,
        prob_target: 1.0 - below - above,
        prob_below: below,
        prob_above: above,
        median: quantile_in_place(&mut m, 0.5),
        p05: quantile_in_place(&mut m, 0.05),
        p95: quantile_in_place(&mut m, 0.95),
    }
}

fn tdm_of(drug: &DrugSpec) -> Result<&TdmSpec> {
    drug.tdm.as_ref().ok_or_else(|| {
        invalid(
            "drug",
            format!(
                "{} has no [tdm] section (target, dose sizes, intervals); choose a monitored drug or add one with --drug-file",
                drug.name
            ),
        )
    })
}

/// Searches doses (multiples of `[tdm] dose_step_mg` in `[min_dose_mg, max_dose_mg]`) and
/// intervals for the regimen whose steady-state exposure over the posterior draws of `fit` is
/// most often in the target. PK is linear, so each draw's exposure is computed once per
/// interval for a unit dose and scaled.
pub fn recommend(
    drug: &DrugSpec,
    fit: &MapFit,
    doses_given: &[Dose],
    settings: &RecommendSettings,
) -> Result<Recommendation> {
    let tdm = tdm_of(drug)?;
    let target = settings.target.unwrap_or(tdm.target);
    if !(target.lower.is_finite() && target.lower > 0.0 && target.upper > target.lower) {
        return Err(invalid("target", "need 0 < lower < upper"));
    }
    let intervals = settings.intervals_h.as_deref().unwrap_or(&tdm.intervals_h);
    if intervals.is_empty() || intervals.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
        return Err(invalid("intervals_h", "need at least one interval > 0 h"));
    }
    if fit.draws.is_empty() {
        return Err(invalid("draws", "the fit kept no posterior draws"));
    }
    let last = doses_given
        .iter()
        .max_by(|a, b| a.time_h.total_cmp(&b.time_h))
        .copied();
    let route = settings
        .route
        .or(last.map(|d| d.route))
        .unwrap_or(drug.default_regimen.route);
    let current_tau = {
        let mut t: Vec<f64> = doses_given.iter().map(|d| d.time_h).collect();
        t.sort_by(f64::total_cmp);
        (t.len() >= 2)
            .then(|| t[t.len() - 1] - t[t.len() - 2])
            .filter(|h| *h > 0.0)
    };

    let mut taus: Vec<f64> = intervals.to_vec();
    if let Some(h) = current_tau {
        if !taus.iter().any(|t| (t - h).abs() < 1e-9) {
            taus.push(h);
        }
    }
    let unit: Vec<Vec<f64>> = taus
        .iter()
        .map(|&tau| {
            fit.draws
                .par_iter()
                .map(|p| unit_metric(p, tau, route, target.metric))
                .collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<_>>()?;

    let steps = ((tdm.max_dose_mg - tdm.min_dose_mg) / tdm.dose_step_mg + 1e-9).floor() as usize;
    let mut all = Vec::new();
    for (i, &tau) in intervals.iter().enumerate() {
        for s in 0..=steps {
            let dose = tdm.min_dose_mg + s as f64 * tdm.dose_step_mg;
            all.push(candidate(dose, tau, &unit[i], &target));
        }
    }
    let best_p = all.iter().map(|c| c.prob_target).fold(0.0, f64::max);
    let recommended = *all
        .iter()
        .filter(|c| c.prob_target >= best_p - EQUIVALENT)
        .min_by(|a, b| {
            a.prob_above
                .total_cmp(&b.prob_above)
                .then(b.interval_h.total_cmp(&a.interval_h))
                .then((a.dose_mg / a.interval_h).total_cmp(&(b.dose_mg / b.interval_h)))
        })
        .expect("at least one candidate");
    let current = match (last, current_tau) {
        (Some(d), Some(tau)) => {
            let i = taus
                .iter()
                .position(|t| (t - tau).abs() < 1e-9)
                .expect("added above");
            Some(candidate(d.amount_mg, tau, &unit[i], &target))
        }
        _ => None,
    };
    all.sort_by(|a, b| b.prob_target.total_cmp(&a.prob_target));
    all.truncate(5);

    let next_due = match (last, current_tau) {
        (Some(d), Some(tau)) => d.time_h + tau,
        (Some(d), None) => d.time_h + recommended.interval_h,
        _ => 0.0,
    };
    let span = STEADY_STATE_HALF_LIVES * std::f64::consts::LN_2 / fit.params.terminal_rate();
    let n_doses = ((span / recommended.interval_h).ceil() as usize + 1).clamp(2, MAX_DOSES);
    let mut regimen = Regimen::new(recommended.dose_mg, recommended.interval_h, n_doses, route);
    regimen.start_h = next_due;
    Ok(Recommendation {
        drug: drug.name.clone(),
        target,
        unit: target.metric.unit().into(),
        route,
        recommended,
        regimen,
        current,
        alternatives: all,
        draws: fit.draws.len(),
    })
}
