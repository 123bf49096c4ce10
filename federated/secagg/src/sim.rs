//! One whole round in one process, for the simulator (`consentry fl simulate`) and tests: the
//! same [`Site`] and [`Aggregator`] code the workers run, with the messages passed through the
//! wire codec, and sites dropping out at chosen points.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};

use crate::aggregator::{Aggregator, AggregatorConfig};
use crate::error::{Error, Result};
use crate::messages::{decode, encode, RoundContext, SiteId};
use crate::site::{Site, SiteConfig};

/// Where sites stop taking part in a simulated round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropouts {
    /// Never advertise keys (not in U1).
    pub before_advertise: BTreeSet<SiteId>,
    /// Advertise keys but send no shares (in U1, not in U2).
    pub before_share_keys: BTreeSet<SiteId>,
    /// Send shares but no masked input (in U2, not in U3): their masks are removed by
    /// reconstructing their `s_sk`.
    pub before_masked_input: BTreeSet<SiteId>,
    /// Send a masked input but do not answer the unmask request.
    pub before_unmask: BTreeSet<SiteId>,
}

/// What a simulated round produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Σ_{u∈U3} x_u` mod 2^32.
    pub sum: Vec<u32>,
    /// U1: sites whose keys were relayed.
    pub advertised: Vec<SiteId>,
    /// U2: sites that sent encrypted shares.
    pub shared_keys: Vec<SiteId>,
    /// U3: sites whose input is in the sum.
    pub survivors: Vec<SiteId>,
    /// Bytes each site sent, in the wire encoding.
    pub bytes_sent: BTreeMap<SiteId, usize>,
}

fn wire<T: serde::Serialize + serde::de::DeserializeOwned>(
    msg: &T,
    counter: &mut usize,
) -> Result<T> {
    let bytes = encode(msg)?;
    *counter += bytes.len();
    decode(&bytes)
}

/// Runs one round over `inputs` (one vector of equal length per site) with threshold `t`.
/// The expected key digests are the sites' own (as if read back from the chain).
pub fn run_round<R: RngCore + CryptoRng>(
    context: &RoundContext,
    threshold: usize,
    inputs: &BTreeMap<SiteId, Vec<u32>>,
    dropouts: &Dropouts,
    rng: &mut R,
) -> Result<Outcome> {
    let vector_len = inputs.values().next().map_or(0, Vec::len);
    let mut agg = Aggregator::new(AggregatorConfig {
        context: context.clone(),
        threshold,
        vector_len,
    })?;
    let mut sites = BTreeMap::new();
    for &id in inputs.keys() {
        let cfg = SiteConfig {
            id,
            context: context.clone(),
            threshold,
            vector_len,
        };
        sites.insert(id, Site::new(cfg, rng)?);
    }
    let mut bytes: BTreeMap<SiteId, usize> = inputs.keys().map(|&id| (id, 0)).collect();
    let digests: BTreeMap<SiteId, [u8; 32]> = sites
        .iter()
        .map(|(&id, s)| (id, s.advertise_keys().digest()))
        .collect();

    for (id, s) in sites
        .iter()
        .filter(|(id, _)| !dropouts.before_advertise.contains(id))
    {
        let counter = bytes.get_mut(id).expect("every site counted");
        agg.receive_keys(wire(&s.advertise_keys(), counter)?)?;
    }
    let relayed = agg.relay_keys()?;
    let u1: BTreeSet<SiteId> = relayed.iter().map(|k| k.site).collect();

    for (id, s) in sites.iter_mut() {
        if !u1.contains(id) || dropouts.before_share_keys.contains(id) {
            continue;
        }
        let msg = s.share_keys(&relayed, |v| digests.get(&v).copied(), rng)?;
        agg.receive_shares(wire(&msg, bytes.get_mut(id).expect("counted"))?)?;
    }
    let inboxes = agg.close_share_keys()?;

    for (id, inbox) in &inboxes {
        if dropouts.before_masked_input.contains(id) {
            continue;
        }
        let site = sites.get_mut(id).ok_or(Error::UnknownSite { site: *id })?;
        let msg = site.masked_input(inbox, &inputs[id])?;
        agg.receive_masked(wire(&msg, bytes.get_mut(id).expect("counted"))?)?;
    }
    let request = agg.unmask_request()?;
    for id in &request.survivors {
        if dropouts.before_unmask.contains(id) {
            continue;
        }
        let site = sites.get_mut(id).ok_or(Error::UnknownSite { site: *id })?;
        let counter = bytes.get_mut(id).expect("counted");
        let request = wire(&request, &mut 0)?;
        agg.receive_unmask(wire(&site.unmask(&request)?, counter)?)?;
    }
    let advertised = agg.advertised();
    let shared_keys = agg.share_key_sites();
    let survivors = agg.survivors();
    let sum = agg.finish()?;
    Ok(Outcome {
        sum,
        advertised,
        shared_keys,
        survivors,
        bytes_sent: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn dropouts_at_every_stage() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let len = 257;
        let inputs: BTreeMap<SiteId, Vec<u32>> = (0..12)
            .map(|id| (id, (0..len).map(|_| rng.next_u32()).collect()))
            .collect();
        let d = Dropouts {
            before_advertise: [0].into(),
            before_share_keys: [1].into(),
            before_masked_input: [2, 3].into(),
            before_unmask: [4].into(),
        };
        let ctx = RoundContext::new(b"sim".to_vec(), 1);
        let out = run_round(&ctx, 6, &inputs, &d, &mut rng).unwrap();
        assert_eq!(out.advertised, (1..12).collect::<Vec<_>>());
        assert_eq!(out.shared_keys, (2..12).collect::<Vec<_>>());
        assert_eq!(out.survivors, (4..12).collect::<Vec<_>>());
        let mut expected = vec![0u32; len];
        for id in 4..12 {
            for (e, x) in expected.iter_mut().zip(&inputs[&id]) {
                *e = e.wrapping_add(*x);
            }
        }
        assert_eq!(out.sum, expected);
        assert_eq!(out.bytes_sent[&0], 0);
        assert!(out.bytes_sent[&5] > 4 * len);

        // Too many sites lost before masking: the round aborts with the reason.
        let d = Dropouts {
            before_masked_input: (0..7).collect(),
            ..Dropouts::default()
        };
        assert_eq!(
            run_round(&ctx, 7, &inputs, &d, &mut rng).unwrap_err(),
            Error::TooFewSurvivors {
                survivors: 5,
                threshold: 7
            }
        );
    }
}
