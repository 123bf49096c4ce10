//! The RDP accountant: composition of DP-SGD events, ε for a δ, δ for an ε, and calibration of
//! the noise multiplier for a target ε.

use serde::{Deserialize, Serialize};

use crate::rdp;
use crate::PrivacyError;

/// The neighbouring relation the accountant's guarantee is stated for.
///
/// Only add/remove-one is supported: with Poisson sampling it is the relation of the
/// subsampled-Gaussian analysis (Mironov–Talwar–Zhang) and dp-accounting's default. Under
/// replace-one, the same mechanism's ε is at most that of two add/remove steps (group privacy),
/// which this crate does not compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NeighbouringRelation {
    /// Two data sets are neighbours when one is the other plus one record (one patient).
    #[default]
    AddOrRemoveOne,
}

/// `steps` steps of DP-SGD: each step Poisson-samples every record (patient) independently with
/// probability `sampling_rate`, clips each sampled record's gradient to L2 norm C and adds
/// N(0, (noise_multiplier · C)²) to their sum.
///
/// These are exactly the accountant's inputs, so an event in a JSON report (or the fixed-point
/// values the consortium contract ledgers, converted back) is enough to recompute ε.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DpSgdEvent {
    /// q ∈ [0, 1]: the probability that a record is in a step's batch (expected batch / n).
    pub sampling_rate: f64,
    /// σ ≥ 0: noise standard deviation divided by the clipping norm. σ = 0 means no noise
    /// (ε = ∞ unless q = 0).
    pub noise_multiplier: f64,
    /// The number of steps, each an independent draw of the batch.
    pub steps: u64,
}

impl DpSgdEvent {
    /// An event with its inputs validated.
    pub fn new(
        sampling_rate: f64,
        noise_multiplier: f64,
        steps: u64,
    ) -> Result<Self, PrivacyError> {
        let event = Self {
            sampling_rate,
            noise_multiplier,
            steps,
        };
        event.validate()?;
        Ok(event)
    }

    /// `epochs` passes of DP-SGD with expected batch size `batch_size` over `population`
    /// records: q = batch_size / population and steps = ⌈epochs · population / batch_size⌉ (the
    /// counting of TF Privacy's `compute_dp_sgd_privacy`). Every local step counts, in every
    /// round: a study of R rounds of E local epochs is `for_epochs(B, n_k, R·E, σ)`, or R events
    /// of `for_epochs(B, n_k, E, σ)`.
    pub fn for_epochs(
        batch_size: u64,
        population: u64,
        epochs: u64,
        noise_multiplier: f64,
    ) -> Result<Self, PrivacyError> {
        if population == 0 {
            return Err(PrivacyError::invalid("population", 0.0, ">= 1"));
        }
        if batch_size == 0 || batch_size > population {
            return Err(PrivacyError::invalid(
                "batch_size",
                batch_size as f64,
                "in [1, population]",
            ));
        }
        let steps = epochs
            .checked_mul(population)
            .map(|records| records.div_ceil(batch_size))
            .ok_or(PrivacyError::invalid(
                "epochs",
                epochs as f64,
                "small enough that epochs · population fits in u64",
            ))?;
        Self::new(
            batch_size as f64 / population as f64,
            noise_multiplier,
            steps,
        )
    }

    /// Checks q ∈ [0, 1] and σ finite and ≥ 0 (a deserialized event was never checked).
    pub fn validate(&self) -> Result<(), PrivacyError> {
        let q = self.sampling_rate;
        if !(0.0..=1.0).contains(&q) {
            return Err(PrivacyError::invalid(
                "sampling_rate",
                q,
                "a probability in [0, 1]",
            ));
        }
        let sigma = self.noise_multiplier;
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(PrivacyError::invalid(
                "noise_multiplier",
                sigma,
                "finite and >= 0 (0 means no noise, ε = ∞)",
            ));
        }
        Ok(())
    }

    /// RDP of one step at each of `orders`.
    fn rdp_per_step(&self, orders: &[f64]) -> Vec<f64> {
        orders
            .iter()
            .map(|&alpha| {
                rdp::rdp_subsampled_gaussian(self.sampling_rate, self.noise_multiplier, alpha)
            })
            .collect()
    }
}

/// An ε and the RDP order that attains it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpsilonAt {
    /// ε ≥ 0; +∞ when no order gives a finite bound (σ = 0, or too few orders). In JSON, +∞ is
    /// the string `"inf"`.
    #[serde(with = "crate::serde_inf")]
    pub epsilon: f64,
    /// The minimising order α.
    pub order: f64,
}

/// A δ and the RDP order that attains it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeltaAt {
    /// δ ∈ [0, 1].
    pub delta: f64,
    /// The minimising order α.
    pub order: f64,
}

/// What a study's JSON report carries about its privacy: the accountant's inputs, enough to
/// recompute ε independently (for instance with `consentry-epsilon` or dp-accounting), and the
/// result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyReport {
    /// Always `"rdp"`: Rényi DP of the Poisson-subsampled Gaussian, as dp-accounting's
    /// `RdpAccountant`.
    pub accountant: String,
    pub neighbouring_relation: NeighbouringRelation,
    /// Every composed event, in order.
    pub events: Vec<DpSgdEvent>,
    pub delta: f64,
    #[serde(with = "crate::serde_inf")]
    pub epsilon: f64,
    /// The RDP order attaining ε.
    pub order: f64,
}

/// dp-accounting's `DEFAULT_RDP_ORDERS`: 1.1, 1.2, …, 10.9, then 11, 12, …, 63, then 128, 256,
/// 512, 1024 (156 orders).
pub fn default_orders() -> Vec<f64> {
    (1..100)
        .map(|x| 1.0 + f64::from(x) / 10.0)
        .chain((11..64).map(f64::from))
        .chain([128.0, 256.0, 512.0, 1024.0])
        .collect()
}

/// The largest RDP order [`RdpAccountant::with_orders`] accepts: an integer order α costs α + 1
/// terms per event (the default grid stops at 1024).
pub const MAX_ORDER: f64 = 100_000.0;

/// Rényi-DP accountant for DP-SGD under add/remove-one neighbours.
///
/// It keeps the total RDP at each order: composition adds the per-step RDP times the number of
/// steps (RDP composes additively). ε(δ) and δ(ε) minimise over the orders.
#[derive(Debug, Clone, PartialEq)]
pub struct RdpAccountant {
    orders: Vec<f64>,
    rdp: Vec<f64>,
    events: Vec<DpSgdEvent>,
}

impl Default for RdpAccountant {
    fn default() -> Self {
        Self::new()
    }
}

impl RdpAccountant {
    /// An accountant over [`default_orders`], nothing spent yet.
    pub fn new() -> Self {
        let orders = default_orders();
        let rdp = vec![0.0; orders.len()];
        Self {
            orders,
            rdp,
            events: Vec::new(),
        }
    }

    /// An accountant over the given orders, each in (1, [`MAX_ORDER`]].
    pub fn with_orders(orders: impl Into<Vec<f64>>) -> Result<Self, PrivacyError> {
        let orders = orders.into();
        if orders.is_empty() {
            return Err(PrivacyError::NoOrders);
        }
        if let Some(&bad) = orders.iter().find(|a| !(**a > 1.0 && **a <= MAX_ORDER)) {
            return Err(PrivacyError::invalid("orders", bad, "in (1, 100000]"));
        }
        let rdp = vec![0.0; orders.len()];
        Ok(Self {
            orders,
            rdp,
            events: Vec::new(),
        })
    }

    /// An accountant over [`default_orders`] with `events` composed.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a DpSgdEvent>,
    ) -> Result<Self, PrivacyError> {
        let mut accountant = Self::new();
        for event in events {
            accountant.compose(event)?;
        }
        Ok(accountant)
    }

    /// Adds `event` (all its steps) to the privacy spent.
    pub fn compose(&mut self, event: &DpSgdEvent) -> Result<&mut Self, PrivacyError> {
        event.validate()?;
        if event.steps > 0 {
            let steps = event.steps as f64;
            for (total, one) in self.rdp.iter_mut().zip(event.rdp_per_step(&self.orders)) {
                *total += steps * one;
            }
        }
        self.events.push(*event);
        Ok(self)
    }

    /// The smallest ε (over the orders) such that everything composed so far is (ε, δ)-DP.
    pub fn epsilon(&self, delta: f64) -> Result<EpsilonAt, PrivacyError> {
        epsilon_from_rdp(&self.orders, &self.rdp, delta)
    }

    /// The smallest δ (over the orders) such that everything composed so far is (ε, δ)-DP.
    pub fn delta(&self, epsilon: f64) -> Result<DeltaAt, PrivacyError> {
        delta_from_rdp(&self.orders, &self.rdp, epsilon)
    }

    /// ε(δ) as it would be after composing `event`, leaving this accountant unchanged: the check
    /// before a round starts that it stays within the study's budget.
    pub fn epsilon_if_composed(
        &self,
        event: &DpSgdEvent,
        delta: f64,
    ) -> Result<EpsilonAt, PrivacyError> {
        let mut next = self.clone();
        next.compose(event)?;
        next.epsilon(delta)
    }

    /// The accountant's inputs and ε(δ), for a JSON report.
    pub fn report(&self, delta: f64) -> Result<PrivacyReport, PrivacyError> {
        let at = self.epsilon(delta)?;
        Ok(PrivacyReport {
            accountant: "rdp".to_owned(),
            neighbouring_relation: NeighbouringRelation::AddOrRemoveOne,
            events: self.events.clone(),
            delta,
            epsilon: at.epsilon,
            order: at.order,
        })
    }

    /// The RDP orders.
    pub fn orders(&self) -> &[f64] {
        &self.orders
    }

    /// The total RDP at each order (+∞ where the fractional series did not converge or σ = 0).
    pub fn rdp(&self) -> &[f64] {
        &self.rdp
    }

    /// The events composed so far.
    pub fn events(&self) -> &[DpSgdEvent] {
        &self.events
    }
}

fn check_delta(delta: f64) -> Result<(), PrivacyError> {
    if delta > 0.0 && delta < 1.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid("delta", delta, "in (0, 1)"))
    }
}

fn check_curve(orders: &[f64], rdp: &[f64]) -> Result<(), PrivacyError> {
    if orders.is_empty() {
        return Err(PrivacyError::NoOrders);
    }
    if orders.len() != rdp.len() {
        return Err(PrivacyError::LengthMismatch {
            orders: orders.len(),
            rdp: rdp.len(),
        });
    }
    if let Some(&bad) = orders.iter().find(|a| a.is_nan() || **a < 1.0) {
        return Err(PrivacyError::invalid("orders", bad, ">= 1"));
    }
    if let Some(&bad) = rdp.iter().find(|r| r.is_nan()) {
        return Err(PrivacyError::invalid("rdp", bad, "a number"));
    }
    Ok(())
}

/// ε(δ) of an RDP curve: min over orders of Canonne–Kamath–Steinke's Prop. 12 bound (used for
/// α > 1.01), or 0 where the KL bound √(1 − e^{−ε(α)}) ≤ δ already. Orders must be ≥ 1.
/// This is dp-accounting's `compute_epsilon`, so an auditor can convert any ledgered curve.
pub fn epsilon_from_rdp(
    orders: &[f64],
    rdp: &[f64],
    delta: f64,
) -> Result<EpsilonAt, PrivacyError> {
    check_delta(delta)?;
    check_curve(orders, rdp)?;
    let eps: Vec<f64> = orders
        .iter()
        .zip(rdp)
        .map(|(&alpha, &r)| rdp::epsilon_at_order(alpha, r, delta))
        .collect();
    let best = rdp::argmin(&eps);
    Ok(EpsilonAt {
        epsilon: eps[best].max(0.0),
        order: orders[best],
    })
}

/// δ(ε) of an RDP curve: min over orders of the KL bound and Prop. 12 (for α > 1.01), at most 1.
/// This is dp-accounting's `compute_delta`.
pub fn delta_from_rdp(orders: &[f64], rdp: &[f64], epsilon: f64) -> Result<DeltaAt, PrivacyError> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(PrivacyError::invalid("epsilon", epsilon, "finite and >= 0"));
    }
    check_curve(orders, rdp)?;
    let log_deltas: Vec<f64> = orders
        .iter()
        .zip(rdp)
        .map(|(&alpha, &r)| rdp::log_delta_at_order(alpha, r, epsilon))
        .collect();
    let best = rdp::argmin(&log_deltas);
    Ok(DeltaAt {
        delta: log_deltas[best].exp().min(1.0),
        order: orders[best],
    })
}

/// Calibration stops when the bracket [lo, hi] around the smallest sufficient σ has
/// hi − lo ≤ `CALIBRATION_RELATIVE_TOLERANCE` · hi; the returned σ is hi, so it always meets the
/// target and is at most 10⁻⁵ (relative) above the smallest σ that does (ε is non-increasing in
/// σ).
pub const CALIBRATION_RELATIVE_TOLERANCE: f64 = 1e-5;

/// The largest σ calibration will try before reporting the target as unreachable.
pub const CALIBRATION_MAX_NOISE_MULTIPLIER: f64 = 1e9;

/// The smallest σ calibration reports: below it the target is met with (practically) no noise.
pub const CALIBRATION_MIN_NOISE_MULTIPLIER: f64 = 1e-6;

/// The smallest noise multiplier σ (to [`CALIBRATION_RELATIVE_TOLERANCE`]) such that `steps`
/// steps of DP-SGD at `sampling_rate` are (ε, δ)-DP with ε ≤ `target_epsilon`, by the
/// accountant's default orders. Bisection on σ, bracketed by doubling from σ = 1.
pub fn calibrate_noise_multiplier(
    sampling_rate: f64,
    steps: u64,
    target_epsilon: f64,
    delta: f64,
) -> Result<f64, PrivacyError> {
    calibrate_noise_multiplier_from(
        &RdpAccountant::new(),
        sampling_rate,
        steps,
        target_epsilon,
        delta,
    )
}

/// As [`calibrate_noise_multiplier`], on top of what `spent` has composed already (its orders
/// too): the σ for the rest of a study whose earlier rounds are in `spent`.
pub fn calibrate_noise_multiplier_from(
    spent: &RdpAccountant,
    sampling_rate: f64,
    steps: u64,
    target_epsilon: f64,
    delta: f64,
) -> Result<f64, PrivacyError> {
    if !(sampling_rate > 0.0 && sampling_rate <= 1.0) {
        return Err(PrivacyError::invalid(
            "sampling_rate",
            sampling_rate,
            "in (0, 1] (with q = 0 no noise is needed)",
        ));
    }
    if steps == 0 {
        return Err(PrivacyError::invalid("steps", 0.0, ">= 1"));
    }
    if !(target_epsilon.is_finite() && target_epsilon > 0.0) {
        return Err(PrivacyError::invalid(
            "target_epsilon",
            target_epsilon,
            "finite and > 0",
        ));
    }
    check_delta(delta)?;
    let eps = |sigma: f64| -> Result<f64, PrivacyError> {
        let event = DpSgdEvent::new(sampling_rate, sigma, steps)?;
        Ok(spent.epsilon_if_composed(&event, delta)?.epsilon)
    };
    let meets = |sigma: f64| -> Result<bool, PrivacyError> { Ok(eps(sigma)? <= target_epsilon) };

    let (mut lo, mut hi);
    if meets(1.0)? {
        // Walk down until σ no longer meets the target.
        hi = 1.0;
        lo = 0.5;
        while meets(lo)? {
            hi = lo;
            lo /= 2.0;
            if lo < CALIBRATION_MIN_NOISE_MULTIPLIER {
                return Ok(hi);
            }
        }
    } else {
        lo = 1.0;
        hi = 2.0;
        while !meets(hi)? {
            lo = hi;
            hi *= 2.0;
            if hi > CALIBRATION_MAX_NOISE_MULTIPLIER {
                return Err(PrivacyError::Unreachable {
                    target_epsilon,
                    max_noise_multiplier: CALIBRATION_MAX_NOISE_MULTIPLIER,
                    spent_epsilon: spent.epsilon(delta)?.epsilon,
                });
            }
        }
    }
    while hi - lo > CALIBRATION_RELATIVE_TOLERANCE * hi {
        let mid = 0.5 * (lo + hi);
        if meets(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}
