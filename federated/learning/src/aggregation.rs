//! How the round's site updates reach FedAvg.
//!
//! Each site's upload is its weight and its weighted change, `[n_k, n_k·Δ_k]`
//! (as Flower's SecAgg+ workflow uploads `[w, w·params]`), so a sum over sites
//! is all FedAvg needs: `w(t+1) = w(t) + Σ n_k·Δ_k / Σ n_k`.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::strategy::{FedAvg, SiteUpdate};

/// Which path the uploads take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Secure aggregation (`consentry-secagg`): quantize → mask → sum → unmask;
    /// the aggregator sees only masked vectors and the sum.
    SecAgg,
    /// The aggregator sees each site's update (a baseline, and what the
    /// simulator does when told to skip SecAgg).
    #[default]
    InTheClear,
}

/// What a round's aggregation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregated {
    /// `Σ n_k Δ_k / Σ n_k` over the sites whose input was included.
    pub mean_delta: Vec<f32>,
    /// `Σ n_k` over those sites.
    pub total_n: f64,
    /// Sites whose input is in the sum.
    pub included: Vec<usize>,
    /// Largest |error| of the aggregate against the exact weighted mean
    /// (quantization; 0 in the clear). Only a simulation can know it.
    pub max_abs_error: f64,
}

/// FedAvg over the updates in the clear: the aggregator sees every `Δ_k`.
pub fn aggregate_in_the_clear(fedavg: &FedAvg, updates: &[SiteUpdate]) -> Result<Aggregated> {
    let mean_delta = fedavg.aggregate(updates)?;
    Ok(Aggregated {
        mean_delta,
        total_n: updates.iter().map(|u| u.n as f64).sum(),
        included: updates.iter().map(|u| u.site).collect(),
        max_abs_error: 0.0,
    })
}

/// Default quantizer range of secure aggregation (Flower's `clipping_range`
/// default): each coordinate of a site's change is clipped to `[-8, 8]` before
/// fixed-point encoding. It must be a public constant; under DP a small site's
/// change is noise-dominated and can exceed ±1 (a range of 1 clipped, and so
/// biased, 10- and 20-site DP aggregates by up to 0.2 in our first grid run).
pub const SECAGG_CLIP: f64 = 8.0;

/// Fixed-point bits per coordinate for `sites` sites of weight up to
/// `max_weight`: the most (≤ 22, Flower's 2^22) for which the sum of
/// `sites · max_weight · (2^bits − 1)` cannot wrap 2^32.
pub fn secagg_bits(sites: usize, max_weight: u64) -> Result<u32> {
    let worst = (sites.max(1) as u128) * (max_weight.max(1) as u128);
    let bits = (1..=22u32)
        .rev()
        .find(|&b| worst * ((1u128 << b) - 1) <= u32::MAX as u128)
        .ok_or_else(|| anyhow::anyhow!("secure aggregation: {sites} sites of weight {max_weight} leave no bits in a 32-bit ring"))?;
    if bits < 8 {
        bail!("secure aggregation: {sites} sites of weight up to {max_weight} leave only {bits} bits per value in a 32-bit ring");
    }
    Ok(bits)
}

/// One round of secure aggregation (`consentry-secagg`, Bonawitz et al.) in
/// one process: every site in `updates` advertises keys and shares them
/// (t-of-n Shamir, `threshold`), the sites in `dropped` crash before sending
/// their masked input, the others send `[n_k, n_k·q(Δ_k)]` masked; the
/// aggregator asks the survivors for shares, unmasks the **sum only**, and
/// FedAvg divides. The aggregator object never receives an unmasked input.
/// Fails when fewer than `threshold` sites deliver.
pub fn aggregate_secure(
    fedavg: &FedAvg,
    updates: &[SiteUpdate],
    dropped: &[usize],
    threshold: usize,
    clip: f64,
    seed: u64,
) -> Result<Aggregated> {
    use consentry_secagg::{
        Aggregator, AggregatorConfig, Quantizer, RoundContext, Site, SiteConfig, SiteId,
        WeightedEncoding,
    };
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::collections::BTreeMap;

    if updates.is_empty() {
        bail!("secure aggregation: no site updates");
    }
    let params = updates[0].values.len();
    if updates.iter().any(|u| u.values.len() != params) {
        bail!("secure aggregation: sites sent vectors of different lengths");
    }
    let n_sites = updates.len();
    let threshold = threshold.clamp(1, n_sites);
    let max_weight = updates.iter().map(|u| u.n).max().unwrap_or(1);
    let bits = secagg_bits(n_sites, max_weight)?;
    let enc = WeightedEncoding::new(
        Quantizer::new(clip, bits)?,
        u32::try_from(max_weight)?,
        n_sites as u32,
    )?;
    let len = WeightedEncoding::vector_len(params);
    // A simulation seeds the key, mask and rounding randomness; a deployment uses the OS.
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let context = RoundContext::new(b"consentry-fl-simulation".to_vec(), seed);
    let id = |site: usize| -> SiteId { site as SiteId + 1 };
    let mut sites: BTreeMap<SiteId, (Site, &SiteUpdate)> = BTreeMap::new();
    for u in updates {
        let cfg = SiteConfig {
            id: id(u.site),
            context: context.clone(),
            threshold,
            vector_len: len,
        };
        sites.insert(id(u.site), (Site::new(cfg, &mut rng)?, u));
    }
    let mut agg = Aggregator::new(AggregatorConfig {
        context,
        threshold,
        vector_len: len,
    })?;
    // Stage 0: keys (the digests stand for the ones registered on chain).
    let digests: BTreeMap<SiteId, [u8; 32]> = sites
        .iter()
        .map(|(&k, (s, _))| (k, s.advertise_keys().digest()))
        .collect();
    for (s, _) in sites.values() {
        agg.receive_keys(s.advertise_keys())?;
    }
    let relayed = agg.relay_keys()?;
    // Stage 1: shares.
    for (s, _) in sites.values_mut() {
        let msg = s.share_keys(&relayed, |v| digests.get(&v).copied(), &mut rng)?;
        agg.receive_shares(msg)?;
    }
    let inboxes = agg.close_share_keys()?;
    // Stage 2: masked inputs from the sites that did not drop.
    let mut included = Vec::new();
    let mut exact = vec![0f64; params];
    let mut total_exact = 0f64;
    for (k, (s, u)) in sites.iter_mut() {
        if dropped.contains(&u.site) {
            continue;
        }
        let input = enc.encode(&u.values, u32::try_from(u.n)?, &mut rng)?;
        let inbox = inboxes.get(k).cloned().unwrap_or_default();
        agg.receive_masked(s.masked_input(&inbox, &input)?)?;
        included.push(u.site);
        total_exact += u.n as f64;
        for (e, &x) in exact.iter_mut().zip(&u.values) {
            *e += u.n as f64 * x as f64;
        }
    }
    if included.len() < fedavg.min_sites.max(threshold) {
        bail!(
            "secure aggregation: {} of {} sites delivered, the round needs {}",
            included.len(),
            n_sites,
            fedavg.min_sites.max(threshold)
        );
    }
    // Stage 3: unmasking by the survivors.
    let req = agg.unmask_request()?;
    for v in &req.survivors {
        if let Some((s, _)) = sites.get_mut(v) {
            agg.receive_unmask(s.unmask(&req)?)?;
        }
    }
    let sum = agg.finish()?;
    let decoded = enc.decode(&sum, included.len() as u32)?;
    // decode() already divided Σ n_k·q(Δ_k) by Σ n_k (eq. 6 on the unmasked sum).
    let mean_delta: Vec<f32> = decoded.mean.iter().map(|&x| x as f32).collect();
    let max_abs_error = mean_delta
        .iter()
        .zip(&exact)
        .map(|(m, e)| (*m as f64 - e / total_exact).abs())
        .fold(0.0, f64::max);
    Ok(Aggregated {
        mean_delta,
        total_n: decoded.total_weight as f64,
        included,
        max_abs_error,
    })
}
