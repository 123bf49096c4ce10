//! Renal function and body-size covariates on clearance and volume.

use crate::error::{invalid, require_positive, Result};
use crate::patient::Sex;

/// eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation
/// (Inker LA et al., N Engl J Med 2021;385:1737-49):
///
/// eGFR = 142 · min(Scr/κ, 1)^α · max(Scr/κ, 1)^-1.200 · 0.9938^age · (1.012 if female)
/// with κ = 0.7 (F) / 0.9 (M) and α = -0.241 (F) / -0.302 (M).
pub fn egfr_ckd_epi_2021(scr_mg_dl: f64, age_years: f64, sex: Sex) -> Result<f64> {
    require_positive("serum_creatinine_mg_dl", scr_mg_dl)?;
    if !(18.0..=120.0).contains(&age_years) {
        return Err(invalid(
            "age_years",
            format!(
                "CKD-EPI 2021 is validated for adults; give an age in 18..=120 (got {age_years})"
            ),
        ));
    }
    let (kappa, alpha, sex_factor) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    };
    let r = scr_mg_dl / kappa;
    Ok(142.0
        * r.min(1.0).powf(alpha)
        * r.max(1.0).powf(-1.200)
        * 0.9938_f64.powf(age_years)
        * sex_factor)
}

/// Dettli-style renal adjustment: only the renally cleared fraction `fe`
/// scales with GFR, the rest of clearance is untouched.
pub fn renal_clearance_multiplier(fe: f64, egfr: f64, reference_egfr: f64) -> f64 {
    let fe = fe.clamp(0.0, 1.0);
    (1.0 - fe) + fe * (egfr / reference_egfr)
}

/// Allometric exponent on clearance (Anderson BJ, Holford NHG. Annu Rev
/// Pharmacol Toxicol 2008;48:303-32): CL ∝ (WT/70)^0.75.
pub const ALLOMETRIC_CL_EXPONENT: f64 = 0.75;
/// Volumes scale linearly with weight (same source).
pub const ALLOMETRIC_V_EXPONENT: f64 = 1.0;

/// Returns `(cl_multiplier, v_multiplier)` for a body weight relative to a
/// reference weight.
pub fn allometric_multipliers(weight_kg: f64, reference_kg: f64) -> Result<(f64, f64)> {
    require_positive("weight_kg", weight_kg)?;
    if weight_kg > 400.0 {
        return Err(invalid(
            "weight_kg",
            format!("implausible body weight {weight_kg} kg; give kilograms, not pounds or grams"),
        ));
    }
    let r = weight_kg / reference_kg;
    Ok((
        r.powf(ALLOMETRIC_CL_EXPONENT),
        r.powf(ALLOMETRIC_V_EXPONENT),
    ))
}
