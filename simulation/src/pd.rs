//! Pharmacodynamics driven by a concentration profile on a time grid.

use serde::{Deserialize, Serialize};

use crate::error::{invalid, require_positive, Result};

/// Sigmoid Emax (Hill) model: E = E0 + Emax·Cⁿ / (EC50ⁿ + Cⁿ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Emax {
    /// Baseline effect.
    pub e0: f64,
    /// Maximal drug effect (negative for inhibition).
    pub emax: f64,
    /// Concentration giving half the maximal effect (mg/L).
    pub ec50: f64,
    /// Hill coefficient.
    pub hill: f64,
}

impl Emax {
    /// Effect at concentration `c`.
    #[inline]
    pub fn effect(&self, c: f64) -> f64 {
        self.e0 + self.emax * fraction(c, self.ec50, self.hill)
    }
}

/// Cⁿ/(EC50ⁿ + Cⁿ), 0 for non-positive C.
#[inline]
pub fn fraction(c: f64, ec50: f64, hill: f64) -> f64 {
    if c <= 0.0 {
        return 0.0;
    }
    let r = (c / ec50).powf(hill);
    r / (1.0 + r)
}

/// Effect-compartment concentrations, dCe/dt = ke0·(C − Ce), with C linear
/// between grid points. The update is the exact solution for piecewise-linear
/// input, so it is unconditionally stable for any step.
pub fn effect_compartment(times: &[f64], conc: &[f64], ke0: f64) -> Result<Vec<f64>> {
    require_positive("pd.ke0_per_h", ke0)?;
    if times.len() != conc.len() {
        return Err(invalid("conc", "must have one value per time point"));
    }
    let mut ce = Vec::with_capacity(conc.len());
    let mut cur = 0.0;
    for j in 0..conc.len() {
        if j > 0 {
            let h = times[j] - times[j - 1];
            let e = (-ke0 * h).exp();
            let slope_term = if ke0 * h > 1e-8 {
                1.0 - (1.0 - e) / (ke0 * h)
            } else {
                0.5 * ke0 * h
            };
            cur = cur * e + conc[j - 1] * (1.0 - e) + (conc[j] - conc[j - 1]) * slope_term;
        }
        ce.push(cur);
    }
    Ok(ce)
}

/// Indirect-response model type (Dayneka, Garg & Jusko, J Pharmacokinet
/// Biopharm 1993;21:457-78).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndirectKind {
    /// I: drug inhibits production (kin).
    InhibitProduction,
    /// II: drug inhibits loss (kout).
    InhibitLoss,
    /// III: drug stimulates production.
    StimulateProduction,
    /// IV: drug stimulates loss.
    StimulateLoss,
}

/// Indirect-response parameters: dR/dt = kin·(1 ± drug) − kout·(1 ± drug)·R.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IndirectResponse {
    /// Model type.
    pub kind: IndirectKind,
    /// Zero-order production rate (response units/h).
    pub kin: f64,
    /// First-order loss rate (1/h).
    pub kout: f64,
    /// Imax (inhibition, ≤ 1) or Smax (stimulation).
    pub max_effect: f64,
    /// IC50 / SC50 (mg/L).
    pub c50: f64,
    /// Hill coefficient.
    pub hill: f64,
}

impl IndirectResponse {
    /// Baseline response kin/kout.
    pub fn baseline(&self) -> f64 {
        self.kin / self.kout
    }

    fn rhs(&self, c: f64, r: f64) -> f64 {
        let d = self.max_effect * fraction(c, self.c50, self.hill);
        match self.kind {
            IndirectKind::InhibitProduction => self.kin * (1.0 - d) - self.kout * r,
            IndirectKind::InhibitLoss => self.kin - self.kout * (1.0 - d) * r,
            IndirectKind::StimulateProduction => self.kin * (1.0 + d) - self.kout * r,
            IndirectKind::StimulateLoss => self.kin - self.kout * (1.0 + d) * r,
        }
    }

    /// Response at each grid time, starting from baseline; classic RK4 with
    /// sub-steps no longer than 0.1/kout and C interpolated linearly.
    pub fn simulate(&self, times: &[f64], conc: &[f64]) -> Result<Vec<f64>> {
        require_positive("pd.kin", self.kin)?;
        require_positive("pd.kout_per_h", self.kout)?;
        require_positive("pd.c50_mg_l", self.c50)?;
        if times.len() != conc.len() {
            return Err(invalid("conc", "must have one value per time point"));
        }
        let mut r = self.baseline();
        let mut out = Vec::with_capacity(times.len());
        for j in 0..times.len() {
            if j > 0 {
                let (t0, t1) = (times[j - 1], times[j]);
                let (c0, c1) = (conc[j - 1], conc[j]);
                let n = (((t1 - t0) * self.kout / 0.1).ceil() as usize).max(1);
                let h = (t1 - t0) / n as f64;
                let c_at = |t: f64| c0 + (c1 - c0) * (t - t0) / (t1 - t0);
                for s in 0..n {
                    let t = t0 + s as f64 * h;
                    let k1 = self.rhs(c_at(t), r);
                    let k2 = self.rhs(c_at(t + 0.5 * h), r + 0.5 * h * k1);
                    let k3 = self.rhs(c_at(t + 0.5 * h), r + 0.5 * h * k2);
                    let k4 = self.rhs(c_at(t + h), r + h * k3);
                    r += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
                }
            }
            out.push(r);
        }
        Ok(out)
    }
}

/// Adverse-drug-reaction risk from exposure above a toxic threshold.
///
/// Modelled as a cumulative hazard proportional to the area of the profile
/// above `toxic_mg_l`: risk = 1 − exp(−slope·AUC_excess). The slope is a
/// per-drug assumption stated in the drug file, not a fitted quantity.
pub fn adr_risk(times: &[f64], conc: &[f64], toxic_mg_l: f64, slope_per_mg_h_l: f64) -> f64 {
    let mut excess = 0.0;
    for j in 1..times.len().min(conc.len()) {
        let h = times[j] - times[j - 1];
        let (a, b) = (conc[j - 1] - toxic_mg_l, conc[j] - toxic_mg_l);
        excess += match (a > 0.0, b > 0.0) {
            (true, true) => 0.5 * (a + b) * h,
            (false, false) => 0.0,
            // Linear crossing: only the triangle above the threshold counts.
            _ => {
                let pos = a.max(b);
                0.5 * pos * h * pos / (a - b).abs()
            }
        };
    }
    1.0 - (-slope_per_mg_h_l * excess).exp()
}
