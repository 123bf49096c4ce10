//! Dosing regimens → dose events (loading doses, missed and late doses).

use serde::{Deserialize, Serialize};

use crate::error::{invalid, require_non_negative, require_positive, Result};
use crate::pk::{Dose, Route};

fn default_route() -> Route {
    Route::Oral
}

/// A dose taken late by `delay_h` hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LateDose {
    /// Zero-based dose index.
    pub index: usize,
    /// Delay in hours (may exceed the interval).
    pub delay_h: f64,
}

/// A fixed-interval regimen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regimen {
    /// Maintenance dose (mg).
    pub dose_mg: f64,
    /// Dosing interval τ (h).
    pub interval_h: f64,
    /// Number of doses including the loading dose.
    pub n_doses: usize,
    /// Route of administration.
    #[serde(default = "default_route")]
    pub route: Route,
    /// If set, replaces the first dose amount.
    #[serde(default)]
    pub loading_dose_mg: Option<f64>,
    /// Time of the first dose (h).
    #[serde(default)]
    pub start_h: f64,
    /// Zero-based indices of doses that are skipped.
    #[serde(default)]
    pub missed: Vec<usize>,
    /// Doses taken late.
    #[serde(default)]
    pub late: Vec<LateDose>,
}

impl Regimen {
    /// `n_doses` doses of `dose_mg` every `interval_h` by `route`.
    pub fn new(dose_mg: f64, interval_h: f64, n_doses: usize, route: Route) -> Self {
        Regimen {
            dose_mg,
            interval_h,
            n_doses,
            route,
            loading_dose_mg: None,
            start_h: 0.0,
            missed: vec![],
            late: vec![],
        }
    }

    /// Validates every field; errors are phrased as `regimen.<field>: <fix>`.
    pub fn validate(&self) -> Result<()> {
        require_positive("regimen.dose_mg", self.dose_mg)?;
        require_positive("regimen.interval_h", self.interval_h)?;
        if self.n_doses == 0 || self.n_doses > 100_000 {
            return Err(invalid(
                "regimen.n_doses",
                format!("must be in 1..=100000 (got {})", self.n_doses),
            ));
        }
        if let Some(l) = self.loading_dose_mg {
            require_positive("regimen.loading_dose_mg", l)?;
        }
        if !self.start_h.is_finite() {
            return Err(invalid("regimen.start_h", "must be finite"));
        }
        if let Route::Infusion { duration_h } = self.route {
            require_positive("regimen.route.duration_h", duration_h)?;
        }
        for &m in &self.missed {
            if m >= self.n_doses {
                return Err(invalid(
                    "regimen.missed",
                    format!("dose index {m} is out of range 0..{}", self.n_doses),
                ));
            }
        }
        for l in &self.late {
            if l.index >= self.n_doses {
                return Err(invalid(
                    "regimen.late",
                    format!("dose index {} is out of range 0..{}", l.index, self.n_doses),
                ));
            }
            require_non_negative("regimen.late.delay_h", l.delay_h)?;
        }
        Ok(())
    }

    /// Expands to dose events sorted by time.
    pub fn doses(&self) -> Result<Vec<Dose>> {
        self.validate()?;
        let mut out: Vec<Dose> = (0..self.n_doses)
            .filter(|i| !self.missed.contains(i))
            .map(|i| {
                let delay = self
                    .late
                    .iter()
                    .filter(|l| l.index == i)
                    .map(|l| l.delay_h)
                    .sum::<f64>();
                let amount = if i == 0 {
                    self.loading_dose_mg.unwrap_or(self.dose_mg)
                } else {
                    self.dose_mg
                };
                Dose {
                    time_h: self.start_h + i as f64 * self.interval_h + delay,
                    amount_mg: amount,
                    route: self.route,
                }
            })
            .collect();
        out.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
        Ok(out)
    }

    /// Nominal end of the last interval (h).
    pub fn end_h(&self) -> f64 {
        self.start_h + self.n_doses as f64 * self.interval_h
    }
}

/// `n` evenly spaced times from `start` to `end` inclusive.
pub fn time_grid(start: f64, end: f64, step: f64) -> Result<Vec<f64>> {
    require_positive("step_h", step)?;
    if end.partial_cmp(&start) != Some(std::cmp::Ordering::Greater) {
        return Err(invalid("duration_h", "must be > 0"));
    }
    let n = ((end - start) / step).round() as usize;
    if n > 10_000_000 {
        return Err(invalid(
            "step_h",
            "grid would exceed 10 million points; increase step_h",
        ));
    }
    Ok((0..=n).map(|j| start + j as f64 * step).collect())
}
