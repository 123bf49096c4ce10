//! Two-compartment disposition via macro constants (Gibaldi & Perrier,
//! Pharmacokinetics, 2nd ed., ch. 2): α, β are the roots of
//! s² − (k10 + k12 + k21)·s + k10·k21 = 0.

use super::{Disposition, PkParams};

/// Returns (α, β) with α ≥ β.
pub fn macro_rates(p: &PkParams) -> (f64, f64) {
    let k10 = p.cl_l_h / p.v_l;
    let k12 = p.q_l_h / p.v_l;
    let k21 = p.q_l_h / p.v2_l;
    let sum = k10 + k12 + k21;
    let prod = k10 * k21;
    let disc = (sum * sum - 4.0 * prod).max(0.0).sqrt();
    let alpha = 0.5 * (sum + disc);
    // Computing β as prod/α avoids cancellation when α ≫ β.
    (alpha, prod / alpha)
}

/// Unit-bolus central concentration: (1/V1)·[(α−k21)e^(−αt) + (k21−β)e^(−βt)]/(α−β).
pub fn disposition(p: &PkParams) -> Disposition {
    let k21 = p.q_l_h / p.v2_l;
    let (a, b) = macro_rates(p);
    let denom = (a - b).max(f64::MIN_POSITIVE);
    Disposition {
        n: 2,
        lambda: [a, b],
        coef: [(a - k21) / denom / p.v_l, (k21 - b) / denom / p.v_l],
    }
}
