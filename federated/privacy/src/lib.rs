//! # consentry-privacy
//!
//! Patient-level differential privacy for federated rounds (issue 23):
//!
//! * [`RdpAccountant`]: Rényi-DP accounting of DP-SGD, i.e. of the Poisson-subsampled Gaussian
//!   mechanism under add/remove-one neighbours, reproducing Google's `dp-accounting`
//!   `RdpAccountant` (same default orders, same integer- and fractional-order computation, same
//!   RDP → (ε, δ) conversion). [`DpSgdEvent`] holds the accountant's inputs (q, σ, steps) and is
//!   what reports and the contract ledger carry.
//! * [`calibrate_noise_multiplier`]: the smallest σ giving ε ≤ a target.
//! * [`clip_l2`], [`add_gaussian_noise`]: per-patient clipping and Gaussian noise on plain slices.
//!
//! ```
//! use consentry_privacy::{DpSgdEvent, RdpAccountant};
//! // q = 0.01, σ = 1.1, 10 000 steps, δ = 1e-5: ε ≈ 5.63 (dp-accounting 0.6.0 gives 5.632).
//! let mut accountant = RdpAccountant::new();
//! accountant.compose(&DpSgdEvent::new(0.01, 1.1, 10_000)?)?;
//! let at = accountant.epsilon(1e-5)?;
//! assert!((at.epsilon - 5.632).abs() < 0.001);
//! # Ok::<(), consentry_privacy::PrivacyError>(())
//! ```

mod accountant;
mod clip;
mod rdp;

pub use accountant::{
    calibrate_noise_multiplier, calibrate_noise_multiplier_from, default_orders, delta_from_rdp,
    epsilon_from_rdp, DeltaAt, DpSgdEvent, EpsilonAt, NeighbouringRelation, PrivacyReport,
    RdpAccountant, CALIBRATION_MAX_NOISE_MULTIPLIER, CALIBRATION_MIN_NOISE_MULTIPLIER,
    CALIBRATION_RELATIVE_TOLERANCE, MAX_ORDER,
};
pub use clip::{
    add_gaussian_noise, add_gaussian_noise_f64, check_max_norm, clip_l2, l2_norm, noise_std,
    secure_rng, seeded_rng, standard_normal,
};

/// Why an input was refused; `field` names the parameter as the API and JSON spell it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrivacyError {
    #[error("{field} = {value} is out of range: it must be {expected}")]
    InvalidParameter {
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error("the list of RDP orders is empty")]
    NoOrders,
    #[error("{orders} RDP orders but {rdp} RDP values")]
    LengthMismatch { orders: usize, rdp: usize },
    #[error(
        "no noise multiplier up to {max_noise_multiplier} brings epsilon to {target_epsilon} \
         (epsilon already spent: {spent_epsilon})"
    )]
    Unreachable {
        target_epsilon: f64,
        max_noise_multiplier: f64,
        spent_epsilon: f64,
    },
}

impl PrivacyError {
    pub(crate) fn invalid(field: &'static str, value: f64, expected: &'static str) -> Self {
        Self::InvalidParameter {
            field,
            value,
            expected,
        }
    }
}

/// Serde for an f64 that may be +∞ (ε of a non-private run): JSON has no infinity, so +∞ is
/// written as the string `"inf"`; finite values are plain numbers. Reads either.
pub(crate) mod serde_inf {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *value == f64::INFINITY {
            s.serialize_str("inf")
        } else {
            s.serialize_f64(*value)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrInf {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match NumberOrInf::deserialize(d)? {
            NumberOrInf::Number(x) => Ok(x),
            NumberOrInf::Text(t) if t == "inf" => Ok(f64::INFINITY),
            NumberOrInf::Text(t) => Err(serde::de::Error::custom(format!(
                "expected a number or \"inf\", got {t:?}"
            ))),
        }
    }
}
