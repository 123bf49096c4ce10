//! End-to-end rounds of the protocol in one process: sites and aggregator exchanging messages.

use std::collections::{BTreeMap, BTreeSet};

use consentry_secagg::keys;
use consentry_secagg::masking::{apply_mask, Sign};
use consentry_secagg::shamir;
use consentry_secagg::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn ctx() -> RoundContext {
    RoundContext::new(b"study-42".to_vec(), 3)
}

fn random_inputs(rng: &mut ChaCha20Rng, n: usize, len: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|_| (0..len).map(|_| rng.next_u32()).collect())
        .collect()
}

fn plain_sum<'a>(inputs: impl Iterator<Item = &'a Vec<u32>>, len: usize) -> Vec<u32> {
    let mut sum = vec![0u32; len];
    for x in inputs {
        for (s, v) in sum.iter_mut().zip(x) {
            *s = s.wrapping_add(*v);
        }
    }
    sum
}

/// A round in progress, driven stage by stage so tests can interfere between stages.
struct Round {
    sites: BTreeMap<SiteId, Site>,
    agg: Aggregator,
    digests: BTreeMap<SiteId, [u8; 32]>,
    rng: ChaCha20Rng,
    t: usize,
}

impl Round {
    /// Sites with ids 10, 20, 30, ... (non-contiguous on purpose).
    fn new(n: usize, t: usize, len: usize, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sites: BTreeMap<SiteId, Site> = (1..=n as SiteId)
            .map(|i| {
                let cfg = SiteConfig {
                    id: 10 * i,
                    context: ctx(),
                    threshold: t,
                    vector_len: len,
                };
                (10 * i, Site::new(cfg, &mut rng).unwrap())
            })
            .collect();
        let agg = Aggregator::new(AggregatorConfig {
            context: ctx(),
            threshold: t,
            vector_len: len,
        })
        .unwrap();
        // What the chain holds: each site's registered digest.
        let digests = sites
            .iter()
            .map(|(&id, s)| (id, s.advertise_keys().digest()))
            .collect();
        Self {
            sites,
            agg,
            digests,
            rng,
            t,
        }
    }

    fn ids(&self) -> Vec<SiteId> {
        self.sites.keys().copied().collect()
    }

    /// Stages 0 and 1 for every site; returns the relayed inboxes.
    fn advertise_and_share(&mut self) -> BTreeMap<SiteId, Vec<EncryptedShares>> {
        for s in self.sites.values() {
            self.agg.receive_keys(s.advertise_keys()).unwrap();
        }
        let relayed = self.agg.relay_keys().unwrap();
        for s in self.sites.values_mut() {
            let digests = &self.digests;
            let msg = s
                .share_keys(&relayed, |v| digests.get(&v).copied(), &mut self.rng)
                .unwrap();
            self.agg.receive_shares(msg).unwrap();
        }
        self.agg.close_share_keys().unwrap()
    }

    /// Stage 2 for the sites not in `dropped`; returns the messages the aggregator received.
    fn mask(
        &mut self,
        inboxes: &BTreeMap<SiteId, Vec<EncryptedShares>>,
        inputs: &BTreeMap<SiteId, Vec<u32>>,
        dropped: &BTreeSet<SiteId>,
    ) -> Vec<MaskedInput> {
        let mut received = Vec::new();
        for (id, s) in self
            .sites
            .iter_mut()
            .filter(|(id, _)| !dropped.contains(id))
        {
            let msg = s.masked_input(&inboxes[id], &inputs[id]).unwrap();
            self.agg.receive_masked(msg.clone()).unwrap();
            received.push(msg);
        }
        received
    }

    /// Stage 3 with the survivors not in `silent` answering.
    fn unmask(&mut self, silent: &BTreeSet<SiteId>) -> Result<Vec<u32>> {
        let req = self.agg.unmask_request()?;
        for v in &req.survivors {
            if !silent.contains(v) {
                let resp = self.sites.get_mut(v).unwrap().unmask(&req)?;
                self.agg.receive_unmask(resp)?;
            }
        }
        self.agg.finish()
    }
}

fn inputs_for(round: &mut Round, len: usize) -> BTreeMap<SiteId, Vec<u32>> {
    let ids = round.ids();
    let vals = random_inputs(&mut round.rng, ids.len(), len);
    ids.into_iter().zip(vals).collect()
}

#[test]
fn masks_cancel_exactly_for_several_sizes() {
    for (n, t) in [(3, 2), (5, 3), (10, 7), (13, 9)] {
        for len in [1, 17, 1000, 4097] {
            let mut round = Round::new(n, t, len, (n * 1000 + len) as u64);
            let inputs = inputs_for(&mut round, len);
            let inboxes = round.advertise_and_share();
            round.mask(&inboxes, &inputs, &BTreeSet::new());
            let sum = round.unmask(&BTreeSet::new()).unwrap();
            assert_eq!(sum, plain_sum(inputs.values(), len), "n = {n}, L = {len}");
        }
    }
}

#[test]
fn dropouts_after_share_keys_are_recovered() {
    let len = 2048;
    for dropped in [vec![20], vec![10, 50, 100], vec![30, 40, 70]] {
        let mut round = Round::new(10, 7, len, 77);
        let inputs = inputs_for(&mut round, len);
        let inboxes = round.advertise_and_share();
        let dropped: BTreeSet<SiteId> = dropped.into_iter().collect();
        round.mask(&inboxes, &inputs, &dropped);
        let sum = round.unmask(&BTreeSet::new()).unwrap();
        let expected = plain_sum(
            inputs
                .iter()
                .filter(|(id, _)| !dropped.contains(id))
                .map(|(_, x)| x),
            len,
        );
        assert_eq!(sum, expected, "dropped {dropped:?}");
        assert_eq!(round.agg.survivors().len(), 10 - dropped.len());
    }
}

#[test]
fn dropouts_during_unmasking_tolerated_down_to_t_and_refused_below() {
    let len = 500;
    // Three silent survivors of ten: 7 = t answers are enough.
    let mut round = Round::new(10, 7, len, 5);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    round.mask(&inboxes, &inputs, &[90].into_iter().collect());
    let sum = round.unmask(&[10, 20].into_iter().collect()).unwrap();
    assert_eq!(
        sum,
        plain_sum(
            inputs.iter().filter(|(id, _)| **id != 90).map(|(_, x)| x),
            len
        )
    );

    // Four silent: 6 < t answers, a clear error and no sum.
    let mut round = Round::new(10, 7, len, 6);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    round.mask(&inboxes, &inputs, &BTreeSet::new());
    let err = round
        .unmask(&[10, 20, 30, 40].into_iter().collect())
        .unwrap_err();
    assert_eq!(err, Error::BelowThreshold { have: 6, need: 7 });
}

#[test]
fn too_many_dropouts_before_masking_abort_the_round() {
    let len = 10;
    let mut round = Round::new(10, 7, len, 8);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    round.mask(&inboxes, &inputs, &[10, 20, 30, 40].into_iter().collect());
    assert_eq!(
        round.agg.unmask_request().unwrap_err(),
        Error::TooFewSurvivors {
            survivors: 6,
            threshold: 7
        }
    );
}

#[test]
fn a_site_refuses_to_reveal_both_shares_of_one_site() {
    let len = 64;
    let mut round = Round::new(5, 3, len, 9);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    round.mask(&inboxes, &inputs, &BTreeSet::new());
    let honest = round.agg.unmask_request().unwrap();
    let site = round.sites.get_mut(&10).unwrap();

    // Site 30 declared both survivor and dropped.
    let mut both = honest.clone();
    both.dropped.push(30);
    assert_eq!(
        site.unmask(&both).unwrap_err(),
        Error::DoubleMaskViolation { site: 30 }
    );
    // Too few survivors.
    let few = UnmaskRequest {
        survivors: vec![10, 20],
        dropped: vec![30, 40, 50],
    };
    assert_eq!(
        site.unmask(&few).unwrap_err(),
        Error::TooFewSurvivors {
            survivors: 2,
            threshold: 3
        }
    );
    // Sets that do not partition U2 (site 50 missing).
    let partial = UnmaskRequest {
        survivors: vec![10, 20, 30, 40],
        dropped: vec![],
    };
    assert_eq!(
        site.unmask(&partial).unwrap_err(),
        Error::InconsistentSets { site: 50 }
    );
    // An unknown site.
    let unknown = UnmaskRequest {
        survivors: vec![10, 20, 30, 40, 50],
        dropped: vec![60],
    };
    assert_eq!(
        site.unmask(&unknown).unwrap_err(),
        Error::InconsistentSets { site: 60 }
    );
    // Refusals revealed nothing and left the site able to answer the honest request once...
    let resp = site.unmask(&honest).unwrap();
    assert_eq!(resp.self_mask_shares.len(), 5);
    assert!(resp.mask_key_shares.is_empty());
    // ...and only once: a second request declaring 30 dropped (after 30's b share was revealed)
    // would give the aggregator both shares of 30.
    let second = UnmaskRequest {
        survivors: vec![10, 20, 40, 50],
        dropped: vec![30],
    };
    assert!(matches!(
        site.unmask(&second).unwrap_err(),
        Error::WrongStage { .. }
    ));

    // The aggregator also refuses a response carrying both shares for one site.
    let other = round.sites.get_mut(&20).unwrap().unmask(&honest).unwrap();
    let mut forged = other.clone();
    forged
        .mask_key_shares
        .push(forged.self_mask_shares[2].clone());
    assert_eq!(
        round.agg.receive_unmask(forged).unwrap_err(),
        Error::DoubleMaskViolation { site: 30 }
    );
    round.agg.receive_unmask(other).unwrap();
}

#[test]
fn a_site_declared_dropped_keeps_its_self_mask() {
    // The double mask: if the aggregator (wrongly) declares site 30 dropped and gets the shares
    // of its s_sk, yet also holds 30's masked input, removing 30's pairwise masks still leaves
    // PRG(b_30) on it.
    let len = 4096;
    let mut round = Round::new(5, 3, len, 10);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    let received = round.mask(&inboxes, &inputs, &BTreeSet::new());
    let y30 = received
        .iter()
        .find(|m| m.sender == 30)
        .unwrap()
        .masked
        .clone();
    // Ask the other four for the shares of s_sk_30, claiming 30 dropped.
    let req = UnmaskRequest {
        survivors: vec![10, 20, 40, 50],
        dropped: vec![30],
    };
    let shares: Vec<shamir::Share> = [10, 20, 40]
        .iter()
        .map(|id| {
            round
                .sites
                .get_mut(id)
                .unwrap()
                .unmask(&req)
                .unwrap()
                .mask_key_shares[0]
                .1
                .clone()
        })
        .collect();
    let refs: Vec<&shamir::Share> = shares.iter().collect();
    let s30 = x25519_dalek::StaticSecret::from(*shamir::combine(30, &refs, 3).unwrap());
    let relayed = round.agg.advertised();
    assert_eq!(relayed.len(), 5);
    // Strip 30's pairwise masks using the reconstructed key and the others' public keys.
    let mut attempt = y30.clone();
    for (id, s) in &round.sites {
        if *id == 30 {
            continue;
        }
        let shared = keys::agree(&s30, &s.advertise_keys().s_pk, *id).unwrap();
        let seed = keys::pairwise_seed(&ctx(), &shared, 30, *id);
        apply_mask(
            &seed,
            &mut attempt,
            if *id > 30 { Sign::Sub } else { Sign::Add },
        );
    }
    let equal = attempt
        .iter()
        .zip(&inputs[&30])
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        equal < 5,
        "{equal} of {len} coordinates of site 30's input exposed"
    );
}

#[test]
fn a_tampered_relayed_key_is_refused_by_digest() {
    let mut round = Round::new(4, 3, 8, 11);
    for s in round.sites.values() {
        round.agg.receive_keys(s.advertise_keys()).unwrap();
    }
    let relayed = round.agg.relay_keys().unwrap();
    let digests = round.digests.clone();
    let site = round.sites.get_mut(&10).unwrap();

    // The aggregator substitutes its own mask key for site 30.
    let mut tampered = relayed.clone();
    tampered[2].s_pk =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([7u8; 32])).to_bytes();
    assert_eq!(tampered[2].site, 30);
    let err = site
        .share_keys(&tampered, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap_err();
    assert_eq!(err, Error::KeyDigestMismatch { site: 30 });
    // An invented site with no registered digest.
    let mut sybil = relayed.clone();
    sybil.push(AdvertiseKeys {
        site: 99,
        ..relayed[1].clone()
    });
    let err = site
        .share_keys(&sybil, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap_err();
    assert_eq!(err, Error::MissingExpectedDigest { site: 99 });
    // Keys of another round.
    let mut stale = relayed.clone();
    stale[1].context.round = 2;
    let err = site
        .share_keys(&stale, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap_err();
    assert_eq!(err, Error::ContextMismatch { site: 20 });
    // The site's own keys left out.
    let without_me: Vec<_> = relayed.iter().filter(|k| k.site != 10).cloned().collect();
    let err = site
        .share_keys(&without_me, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap_err();
    assert_eq!(err, Error::OwnKeysAltered);
    // A duplicated entry.
    let mut dup = relayed.clone();
    dup.push(relayed[3].clone());
    let err = site
        .share_keys(&dup, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap_err();
    assert_eq!(err, Error::DuplicateSite { site: 40 });
    // After all these refusals the honest list is still accepted.
    site.share_keys(&relayed, |v| digests.get(&v).copied(), &mut round.rng)
        .unwrap();
}

#[test]
fn tampered_or_misrouted_ciphertexts_are_refused() {
    let len = 16;
    let mut round = Round::new(4, 3, len, 12);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    let site = round.sites.get_mut(&10).unwrap();

    let mut flipped = inboxes[&10].clone();
    let last = flipped[1].ciphertext.len() - 1;
    flipped[1].ciphertext[last / 2] ^= 1;
    let sender = flipped[1].sender;
    assert_eq!(
        site.masked_input(&flipped, &inputs[&10]).unwrap_err(),
        Error::DecryptionFailed { sender }
    );

    // A ciphertext relabelled as coming from another sender (AD and key bind the endpoints).
    let mut relabelled = inboxes[&10].clone();
    relabelled[0].sender = relabelled[1].sender;
    relabelled.remove(1);
    let s = relabelled[0].sender;
    assert_eq!(
        site.masked_input(&relabelled, &inputs[&10]).unwrap_err(),
        Error::DecryptionFailed { sender: s }
    );

    // A ciphertext meant for site 20 delivered to site 10.
    let mut misrouted = inboxes[&10].clone();
    misrouted.push(
        inboxes[&20]
            .iter()
            .find(|e| e.sender == 30)
            .unwrap()
            .clone(),
    );
    assert_eq!(
        site.masked_input(&misrouted, &inputs[&10]).unwrap_err(),
        Error::MisaddressedShares {
            sender: 30,
            receiver: 20
        }
    );
    // Wrong length input.
    assert_eq!(
        site.masked_input(&inboxes[&10], &inputs[&10][..len - 1])
            .unwrap_err(),
        Error::VectorLengthMismatch {
            expected: len,
            got: len - 1
        }
    );
    // Untouched, it works.
    site.masked_input(&inboxes[&10], &inputs[&10]).unwrap();
}

fn pearson(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&x| f64::from(x)).sum::<f64>() / n,
        b.iter().map(|&x| f64::from(x)).sum::<f64>() / n,
    );
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        cov += dx * dy;
        va += dx * dx;
        vb += dy * dy;
    }
    cov / (va * vb).sqrt()
}

#[test]
fn the_aggregator_receives_nothing_resembling_an_input() {
    let len = 20_000;
    let mut round = Round::new(6, 4, len, 13);
    // Structured, highly correlated inputs: quantized model updates near the middle of the range,
    // and two sites with identical inputs.
    let mut inputs = BTreeMap::new();
    for (k, id) in round.ids().into_iter().enumerate() {
        let k = if k == 1 { 0 } else { k };
        inputs.insert(
            id,
            (0..len as u32)
                .map(|i| (1 << 15) + (i % 1000) * 7 + k as u32)
                .collect::<Vec<u32>>(),
        );
    }
    let inboxes = round.advertise_and_share();
    let received = round.mask(&inboxes, &inputs, &BTreeSet::new());
    assert_eq!(received.len(), 6);
    for m in &received {
        for (id, x) in &inputs {
            let equal = m.masked.iter().zip(x).filter(|(a, b)| a == b).count();
            assert!(
                equal <= 2,
                "masked vector of {} equals input of {id} in {equal} coordinates",
                m.sender
            );
            let r = pearson(&m.masked, x);
            assert!(
                r.abs() < 0.05,
                "masked vector of {} correlates {r:.3} with input of {id}",
                m.sender
            );
        }
        // Masked words spread over the whole ring, unlike the inputs (all below 2^16).
        let high = m.masked.iter().filter(|&&w| w >= 1 << 16).count();
        assert!(high as f64 > 0.99 * len as f64);
    }
    let (a, b) = (&received[0].masked, &received[1].masked);
    assert!(
        a.iter().zip(b).filter(|(x, y)| x == y).count() <= 2,
        "equal inputs give related masked vectors"
    );
    // And the sum still comes out exactly.
    assert_eq!(
        round.unmask(&BTreeSet::new()).unwrap(),
        plain_sum(inputs.values(), len)
    );
}

#[test]
fn weighted_fedavg_through_secure_aggregation() {
    let params = 300;
    let enc = WeightedEncoding::new(Quantizer::new(1.0, 16).unwrap(), 4000, 10).unwrap();
    let len = WeightedEncoding::vector_len(params);
    let mut round = Round::new(5, 3, len, 14);
    let weights: BTreeMap<SiteId, (u32, Vec<f32>)> = round
        .ids()
        .into_iter()
        .enumerate()
        .map(|(k, id)| {
            let n = [120, 3999, 37, 800, 5][k];
            let w = (0..params)
                .map(|i| (i as f32 * 0.37 + k as f32).sin() * 0.9)
                .collect();
            (id, (n, w))
        })
        .collect();
    let mut qrng = ChaCha20Rng::seed_from_u64(99);
    let inputs: BTreeMap<SiteId, Vec<u32>> = weights
        .iter()
        .map(|(id, (n, w))| (*id, enc.encode(w, *n, &mut qrng).unwrap()))
        .collect();
    let inboxes = round.advertise_and_share();
    round.mask(&inboxes, &inputs, &[50].into_iter().collect()); // the weight-5 site drops
    let sum = round.unmask(&BTreeSet::new()).unwrap();
    let mean = enc.decode(&sum, 4).unwrap();
    let survivors: Vec<_> = weights.iter().filter(|(id, _)| **id != 50).collect();
    let total: u32 = survivors.iter().map(|(_, (n, _))| n).sum();
    assert_eq!(mean.total_weight, u64::from(total));
    for i in 0..params {
        let exact = survivors
            .iter()
            .map(|(_, (n, w))| f64::from(*n) * f64::from(w[i]))
            .sum::<f64>()
            / f64::from(total);
        assert!(
            (mean.mean[i] - exact).abs() <= enc.quantizer().step(),
            "param {i}"
        );
    }
}

#[test]
fn messages_round_trip_through_the_codec() {
    let len = 100;
    let mut round = Round::new(3, 2, len, 15);
    let inputs = inputs_for(&mut round, len);
    for s in round.sites.values() {
        let m = s.advertise_keys();
        let back: AdvertiseKeys = decode(&encode(&m).unwrap()).unwrap();
        assert_eq!(back.digest(), m.digest());
        round.agg.receive_keys(back).unwrap();
    }
    let relayed = round.agg.relay_keys().unwrap();
    for s in round.sites.values_mut() {
        let digests = &round.digests;
        let msg = s
            .share_keys(&relayed, |v| digests.get(&v).copied(), &mut round.rng)
            .unwrap();
        round
            .agg
            .receive_shares(decode(&encode(&msg).unwrap()).unwrap())
            .unwrap();
    }
    let inboxes = round.agg.close_share_keys().unwrap();
    for (id, s) in round.sites.iter_mut() {
        let m = s.masked_input(&inboxes[id], &inputs[id]).unwrap();
        let bytes = encode(&m).unwrap();
        assert_eq!(bytes.len(), 4 + 8 + 4 * len);
        round.agg.receive_masked(decode(&bytes).unwrap()).unwrap();
    }
    let req: UnmaskRequest =
        decode(&encode(&round.agg.unmask_request().unwrap()).unwrap()).unwrap();
    for s in round.sites.values_mut() {
        let r = s.unmask(&req).unwrap();
        round
            .agg
            .receive_unmask(decode(&encode(&r).unwrap()).unwrap())
            .unwrap();
    }
    assert_eq!(round.agg.finish().unwrap(), plain_sum(inputs.values(), len));
    assert!(decode::<MaskedInput>(&[1, 2, 3]).is_err());
}

#[test]
fn stages_are_enforced() {
    let mut round = Round::new(3, 2, 4, 16);
    let site = round.sites.get_mut(&10).unwrap();
    assert!(matches!(
        site.masked_input(&[], &[0; 4]).unwrap_err(),
        Error::WrongStage { .. }
    ));
    assert!(matches!(
        round.agg.close_share_keys().unwrap_err(),
        Error::WrongStage { .. }
    ));
    assert!(matches!(
        round.agg.finish().unwrap_err(),
        Error::WrongStage { .. }
    ));
    // Threshold checks: t must exceed n/2 and not exceed n.
    let mut r2 = Round::new(6, 3, 4, 17);
    for s in r2.sites.values() {
        r2.agg.receive_keys(s.advertise_keys()).unwrap();
    }
    assert_eq!(
        r2.agg.relay_keys().unwrap_err(),
        Error::InvalidThreshold {
            threshold: 3,
            sites: 6
        }
    );
    let mut r3 = Round::new(3, 3, 4, 18);
    r3.agg.receive_keys(r3.sites[&10].advertise_keys()).unwrap();
    r3.agg.receive_keys(r3.sites[&20].advertise_keys()).unwrap();
    assert_eq!(
        r3.agg.relay_keys().unwrap_err(),
        Error::TooFewSites {
            stage: "AdvertiseKeys",
            have: 2,
            need: 3
        }
    );
    let _ = r3.t;
}

#[test]
fn site_set_digest_is_order_free_and_binds_the_round() {
    let a = site_set_digest(&ctx(), "U3", &[30, 10, 20]);
    assert_eq!(a, site_set_digest(&ctx(), "U3", &[10, 20, 30]));
    assert_ne!(a, site_set_digest(&ctx(), "U1", &[10, 20, 30]));
    assert_ne!(a, site_set_digest(&ctx(), "U3", &[10, 20]));
    assert_ne!(
        a,
        site_set_digest(
            &RoundContext::new(b"study-42".to_vec(), 4),
            "U3",
            &[10, 20, 30]
        )
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_round_with_any_dropouts_sums_the_survivors(
            n in 3usize..9, len in 1usize..200, seed: u64, drop_mask: u16,
        ) {
            let t = n / 2 + 1;
            let mut round = Round::new(n, t, len, seed);
            let inputs = inputs_for(&mut round, len);
            let inboxes = round.advertise_and_share();
            let ids = round.ids();
            // Drop up to n - t sites chosen by the mask.
            let dropped: BTreeSet<SiteId> = ids.iter().enumerate()
                .filter(|(k, _)| drop_mask >> k & 1 == 1).map(|(_, id)| *id).take(n - t).collect();
            round.mask(&inboxes, &inputs, &dropped);
            let sum = round.unmask(&BTreeSet::new()).unwrap();
            let expected = plain_sum(inputs.iter().filter(|(id, _)| !dropped.contains(id)).map(|(_, x)| x), len);
            prop_assert_eq!(sum, expected);
        }
    }
}

#[test]
fn a_restarted_aggregator_resumes_from_its_persisted_state() {
    let len = 300;
    let mut round = Round::new(5, 3, len, 19);
    let inputs = inputs_for(&mut round, len);
    let inboxes = round.advertise_and_share();
    // Two masked inputs arrive, then the aggregator process dies; its state was persisted.
    let ids = round.ids();
    for id in &ids[..2] {
        let m = round
            .sites
            .get_mut(id)
            .unwrap()
            .masked_input(&inboxes[id], &inputs[id])
            .unwrap();
        round.agg.receive_masked(m).unwrap();
    }
    let persisted = encode(&round.agg).unwrap();
    round.agg = decode(&persisted).unwrap();
    // A duplicate after the restart is still refused, and the round completes.
    let again = MaskedInput {
        sender: ids[0],
        masked: vec![0; len],
    };
    assert_eq!(
        round.agg.receive_masked(again).unwrap_err(),
        Error::DuplicateSite { site: ids[0] }
    );
    for id in &ids[2..] {
        let m = round
            .sites
            .get_mut(id)
            .unwrap()
            .masked_input(&inboxes[id], &inputs[id])
            .unwrap();
        round.agg.receive_masked(m).unwrap();
    }
    assert_eq!(
        round.unmask(&BTreeSet::new()).unwrap(),
        plain_sum(inputs.values(), len)
    );
}
