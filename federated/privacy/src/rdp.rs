//! The numerics: Rényi DP of the Poisson-subsampled Gaussian mechanism at one order, and the
//! conversion of an RDP curve into (ε, δ).
//!
//! The method is the one of Mironov, Talwar and Zhang, "Rényi Differential Privacy of the Sampled
//! Gaussian Mechanism" (arXiv 1908.10530), as implemented by Google's `dp-accounting` 0.6.0
//! (`dp_accounting/rdp/rdp_privacy_accountant.py`), whose results this module reproduces:
//!
//! * the mechanism is M(D) = Σ_{x ∈ sample} f(x) + N(0, σ²·I) with ‖f‖₂ ≤ 1 and each record in the
//!   sample independently with probability q; neighbouring data sets differ by adding or removing
//!   one record. Its RDP at order α is ε(α) = ln(A_α) / (α − 1) with
//!   A_α = E_{z∼μ₀} [((1 − q) + q·μ₁(z)/μ₀(z))^α], μ₀ = N(0, σ²), μ₁ = N(1, σ²);
//! * at an integer α, the binomial expansion (Sec. 3.3 of the paper, eq. for A_α with
//!   integer α): A_α = Σ_{i=0}^{α} C(α, i) (1 − q)^{α−i} q^i exp((i² − i)/(2σ²)), summed in log
//!   space;
//! * at a fractional α, the two-sided series of the same section, split at
//!   z₀ = σ² ln(1/q − 1) + ½, each term weighted by ½·erfc(·), summed until both halves decrease
//!   and the latest terms are below e⁻³⁰ of the total (at most 1000 terms; an order whose series
//!   has not converged by then is dropped, i.e. its RDP is +∞, as dp-accounting does);
//! * the conversion to (ε, δ) is Proposition 12 of Canonne, Kamath and Steinke (arXiv 2004.00010,
//!   v4), also eq. 20 of Asoodeh et al. (arXiv 2001.05990):
//!   ε = min_α [ ε(α) + ln(1 − 1/α) − (ln δ + ln α)/(α − 1) ], used for α > 1.01, together with
//!   the KL bound δ ≤ √(1 − e^{−ε(α)}) which gives ε = 0 when it already meets δ.

/// ln(e^x + e^y), without overflow; −∞ is the log of zero.
pub(crate) fn log_add(x: f64, y: f64) -> f64 {
    let (lo, hi) = if x < y { (x, y) } else { (y, x) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    (lo - hi).exp().ln_1p() + hi
}

/// ln erfc(x), accurate in the far right tail where erfc(x) underflows.
///
/// Up to x = 25 (erfc ≈ 8·10⁻²⁷⁴) libm's erfc is accurate to about one ulp and is used directly.
/// Beyond, the asymptotic expansion
/// erfc(x) = e^{−x²}/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸) − 945/(32x¹⁰) + …),
/// whose next term is below 10⁻¹⁵ there.
pub(crate) fn log_erfc(x: f64) -> f64 {
    if x < 25.0 {
        return libm::erfc(x).ln();
    }
    let u = 1.0 / (x * x);
    let series = u * (-0.5 + u * (0.75 + u * (-1.875 + u * (6.5625 + u * (-29.53125)))));
    -x * x - x.ln() - 0.5 * std::f64::consts::PI.ln() + series.ln_1p()
}

/// ln |C(n, k)| for real n and integer k ≥ 0, built one factor at a time by the caller.
/// C(n, k + 1) = C(n, k) · (n − k)/(k + 1).
fn next_log_binomial(log_c: f64, n: f64, k: f64) -> f64 {
    log_c + ((n - k) / (k + 1.0)).abs().ln()
}

/// ln A_α for an integer order α ≥ 2 and 0 < q < 1.
pub(crate) fn log_a_int(q: f64, sigma: f64, alpha: u64) -> f64 {
    let a = alpha as f64;
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let two_var = 2.0 * sigma * sigma;
    let mut log_a = f64::NEG_INFINITY;
    let mut log_c = 0.0; // ln C(α, 0)
    for i in 0..=alpha {
        let i = i as f64;
        let term = log_c + i * log_q + (a - i) * log_1mq + (i * i - i) / two_var;
        log_a = log_add(log_a, term);
        log_c = next_log_binomial(log_c, a, i);
    }
    log_a
}

/// The most terms the fractional-order series may take (dp-accounting's
/// `_MAX_STEPS_LOG_A_FRAC`).
const MAX_FRACTIONAL_TERMS: u32 = 1000;

/// ln A_α for a fractional order α > 1 and 0 < q < 1, or `None` when the series has not
/// converged within [`MAX_FRACTIONAL_TERMS`] terms.
pub(crate) fn log_a_frac(q: f64, sigma: f64, alpha: f64) -> Option<f64> {
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let two_var = 2.0 * sigma * sigma;
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let scale = std::f64::consts::SQRT_2 * sigma;
    let log_half = 0.5f64.ln();
    // The integrals over (−∞, z₀] and [z₀, ∞), in log space.
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let (mut last_s0, mut last_s1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut log_c = 0.0; // ln |C(α, i)|
    for i in 0..MAX_FRACTIONAL_TERMS {
        let i = f64::from(i);
        let j = alpha - i;
        let log_t0 = log_c + i * log_q + j * log_1mq;
        let log_t1 = log_c + j * log_q + i * log_1mq;
        let log_e0 = log_half + log_erfc((i - z0) / scale);
        let log_e1 = log_half + log_erfc((z0 - j) / scale);
        let log_s0 = log_t0 + (i * i - i) / two_var + log_e0;
        let log_s1 = log_t1 + (j * j - j) / two_var + log_e1;
        log_a0 = log_add(log_a0, log_s0);
        log_a1 = log_add(log_a1, log_s1);
        let total = log_add(log_a0, log_a1);
        if log_s0 < last_s0 && log_s1 < last_s1 && log_s0.max(log_s1) < total - 30.0 {
            return Some(total);
        }
        last_s0 = log_s0;
        last_s1 = log_s1;
        log_c = next_log_binomial(log_c, alpha, i);
    }
    None
}

/// RDP at order `alpha` of one step of the Poisson-subsampled Gaussian mechanism with sampling
/// rate `q` ∈ [0, 1] and noise multiplier `sigma` ≥ 0 (inputs already validated).
///
/// Special cases, in this order: q = 0 → 0 (nothing is ever released about anyone); σ = 0 → +∞
/// (no noise); q = 1 → α/(2σ²), the plain Gaussian mechanism.
pub(crate) fn rdp_subsampled_gaussian(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 0.0 {
        return 0.0;
    }
    if alpha.is_infinite() || sigma == 0.0 {
        return f64::INFINITY;
    }
    if q == 1.0 {
        return alpha / (2.0 * sigma * sigma);
    }
    if alpha.fract() == 0.0 {
        // Orders are validated to be finite and > 1, and integral orders beyond u64 are absurd.
        log_a_int(q, sigma, alpha as u64) / (alpha - 1.0)
    } else {
        log_a_frac(q, sigma, alpha).map_or(f64::INFINITY, |log_a| log_a / (alpha - 1.0))
    }
}

/// ε at one order for target δ (Canonne–Kamath–Steinke Prop. 12, with the KL shortcut).
pub(crate) fn epsilon_at_order(alpha: f64, rdp: f64, delta: f64) -> f64 {
    if rdp < 0.0 {
        // Only from numerical trouble with extreme inputs; dp-accounting returns 0 as well.
        0.0
    } else if delta * delta + (-rdp).exp_m1() > 0.0 {
        // δ ≤ √(1 − e^{−KL}) is already met with ε = 0.
        0.0
    } else if alpha > 1.01 {
        // Not numerically stable as α → 1, and useless there anyway.
        rdp + (-1.0 / alpha).ln_1p() - (delta * alpha).ln() / (alpha - 1.0)
    } else {
        f64::INFINITY
    }
}

/// ln δ at one order for target ε: the smaller of the KL bound and Prop. 12.
pub(crate) fn log_delta_at_order(alpha: f64, rdp: f64, epsilon: f64) -> f64 {
    let kl = if rdp <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.5 * (-(-rdp).exp()).ln_1p()
    };
    if alpha > 1.01 {
        let bound = (alpha - 1.0) * (rdp - epsilon + (-1.0 / alpha).ln_1p()) - alpha.ln();
        kl.min(bound)
    } else {
        kl
    }
}

/// Index of the first smallest value (numpy's argmin for NaN-free input).
pub(crate) fn argmin(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if *v < values[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_add_is_log_of_sum() {
        assert!((log_add(2f64.ln(), 3f64.ln()) - 5f64.ln()).abs() < 1e-15);
        assert_eq!(log_add(f64::NEG_INFINITY, 1.5), 1.5);
        assert_eq!(log_add(1.5, f64::NEG_INFINITY), 1.5);
        assert_eq!(
            log_add(f64::NEG_INFINITY, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
        // No overflow: ln(e^1000 + e^1000) = 1000 + ln 2.
        assert!((log_add(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn log_erfc_matches_reference_values() {
        // Reference values: mpmath (50 digits), `mpmath.log(mpmath.erfc(x))`.
        let cases = [
            (-3.0, 0.693_136_135_250_446_8), // ln(2 − erfc(3))
            (0.0, 0.0),                      // erfc(0) = 1
            (1.0, -1.849_605_509_933_248_2),
            (5.0, -27.200_889_545_537_434),
            (10.0, -102.879_889_024_844_89),
            (24.9, -623.798_037_565_574_4), // below the switch to the expansion
            (25.1, -633.806_024_858_735_1), // above it
            (100.0, -10_005.177_585_122_664), // erfc(100) underflows f64
            (1.0e4, -100_000_009.782_705_32),
        ];
        for (x, want) in cases {
            let got = log_erfc(x);
            assert!(
                (got - want).abs() <= 1e-13 * want.abs().max(1.0),
                "log_erfc({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn integer_binomial_expansion_at_order_two_is_closed_form() {
        // A_2 = (1−q)² + 2q(1−q) + q² e^{1/σ²} = 1 + q²(e^{1/σ²} − 1)  (expand the sum by hand).
        for (q, sigma) in [(0.01f64, 1.1f64), (0.3, 0.7), (0.9, 4.0), (1e-5, 50.0)] {
            let want = (q * q * (1.0 / (sigma * sigma)).exp_m1()).ln_1p();
            let got = log_a_int(q, sigma, 2);
            assert!(
                (got - want).abs() <= 1e-13 * want.abs().max(1e-300) + 1e-18,
                "q={q} σ={sigma}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn argmin_takes_the_first_of_ties() {
        assert_eq!(argmin(&[3.0, 1.0, 1.0, 2.0]), 1);
        assert_eq!(argmin(&[f64::INFINITY, f64::INFINITY]), 0);
    }
}
