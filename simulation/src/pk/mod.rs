//! Linear compartmental pharmacokinetics.
//!
//! Every model here is linear, so a multiple-dose profile is the
//! superposition of single-dose responses ([`closed_form`]); [`ode`] solves the
//! same system numerically as an independent check and for extensions that
//! break linearity.

pub mod closed_form;
pub mod ode;
pub mod one_compartment;
pub mod two_compartment;

use serde::{Deserialize, Serialize};

use crate::error::{invalid, require_non_negative, require_positive, Result};

/// How a dose enters the body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// First-order absorption from a gut depot, after `tlag`, scaled by F.
    Oral,
    /// Instantaneous input into the central compartment.
    IvBolus,
    /// Zero-order input into the central compartment over `duration_h`.
    Infusion {
        /// Infusion duration in hours.
        duration_h: f64,
    },
}

/// One administration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Dose {
    /// Administration time in hours.
    pub time_h: f64,
    /// Amount in mg.
    pub amount_mg: f64,
    /// Route.
    pub route: Route,
}

/// Individual PK parameters (mg, L, h). One-compartment when `q_l_h == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PkParams {
    /// Clearance from the central compartment (L/h).
    pub cl_l_h: f64,
    /// Central volume (L).
    pub v_l: f64,
    /// Absorption rate constant (1/h).
    pub ka_per_h: f64,
    /// Oral bioavailability (0..=1).
    pub f: f64,
    /// Absorption lag time (h).
    pub tlag_h: f64,
    /// Intercompartmental clearance (L/h); 0 for one-compartment.
    #[serde(default)]
    pub q_l_h: f64,
    /// Peripheral volume (L); ignored when `q_l_h == 0`.
    #[serde(default)]
    pub v2_l: f64,
}

impl PkParams {
    /// One-compartment oral parameters as in eq. 5 of the seed paper.
    pub fn one_compartment(cl_l_h: f64, v_l: f64, ka_per_h: f64, f: f64) -> Self {
        PkParams {
            cl_l_h,
            v_l,
            ka_per_h,
            f,
            tlag_h: 0.0,
            q_l_h: 0.0,
            v2_l: 0.0,
        }
    }

    /// Elimination rate constant k10 = CL/V (1/h).
    pub fn k10(&self) -> f64 {
        self.cl_l_h / self.v_l
    }

    /// Whether a peripheral compartment is present.
    pub fn is_two_compartment(&self) -> bool {
        self.q_l_h > 0.0
    }

    /// Rejects non-physical parameters, naming the field.
    pub fn validate(&self) -> Result<()> {
        require_positive("pk.cl_l_h", self.cl_l_h)?;
        require_positive("pk.v_l", self.v_l)?;
        require_positive("pk.ka_per_h", self.ka_per_h)?;
        require_non_negative("pk.tlag_h", self.tlag_h)?;
        require_non_negative("pk.q_l_h", self.q_l_h)?;
        if !(self.f.is_finite() && self.f > 0.0 && self.f <= 1.0) {
            return Err(invalid(
                "pk.f",
                format!("bioavailability must be in (0, 1] (got {})", self.f),
            ));
        }
        if self.is_two_compartment() {
            require_positive("pk.v2_l", self.v2_l)?;
        }
        Ok(())
    }

    /// Unit-impulse disposition (sum of exponentials) of the central compartment.
    pub fn disposition(&self) -> Disposition {
        if self.is_two_compartment() {
            two_compartment::disposition(self)
        } else {
            Disposition {
                n: 1,
                lambda: [self.k10(), 0.0],
                coef: [1.0 / self.v_l, 0.0],
            }
        }
    }

    /// Terminal (smallest) disposition rate constant (1/h).
    pub fn terminal_rate(&self) -> f64 {
        let d = self.disposition();
        d.lambda[..d.n]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
}

/// Central concentration after a unit IV bolus: `Σ coef[i]·exp(-lambda[i]·t)`
/// (coef in 1/L, so a dose in mg gives mg/L).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disposition {
    /// Number of exponentials (1 or 2).
    pub n: usize,
    /// Rate constants (1/h).
    pub lambda: [f64; 2],
    /// Coefficients (1/L).
    pub coef: [f64; 2],
}

/// Validates a dose list against parameters: errors name the dose index.
pub fn validate_doses(doses: &[Dose]) -> Result<()> {
    for (i, d) in doses.iter().enumerate() {
        if !d.time_h.is_finite() {
            return Err(invalid(format!("doses[{i}].time_h"), "must be finite"));
        }
        require_non_negative(&format!("doses[{i}].amount_mg"), d.amount_mg)?;
        if let Route::Infusion { duration_h } = d.route {
            require_positive(&format!("doses[{i}].route.duration_h"), duration_h)?;
        }
    }
    Ok(())
}
