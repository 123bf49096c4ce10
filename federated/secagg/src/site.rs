//! The site (client) state machine: one per site per round.
//!
//! ```text
//! Site::new ──advertise_keys()──▶ share_keys(relayed keys, expected digests) ──▶
//!   masked_input(relayed encrypted shares, x) ──▶ unmask(survivors, dropped) ──▶ done
//! ```
//! Each call checks its stage ([`Error::WrongStage`]) and validates its input completely before
//! changing any state, so a refused call reveals nothing and changes nothing. `unmask` answers
//! at most once per round: a second request (which could name a survivor of the first as
//! dropped) is refused.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};

use crate::error::{Error, Result};
use crate::keys::{self, RoundSecrets};
use crate::masking::{apply_mask, Sign};
use crate::messages::{
    AdvertiseKeys, EncryptedShares, MaskedInput, RoundContext, ShareKeys, SiteId, UnmaskRequest,
    UnmaskResponse,
};
use crate::shamir::{self, point_of, Share};

/// What a site is configured with for one round (from the consortium contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    /// This site's id.
    pub id: SiteId,
    /// Study and round.
    pub context: RoundContext,
    /// Shamir threshold t.
    pub threshold: usize,
    /// Length L of the (already quantized/encoded) input vector.
    pub vector_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    AdvertiseKeys,
    ShareKeys,
    MaskedInput,
    Done,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::AdvertiseKeys => "AdvertiseKeys",
            Stage::ShareKeys => "ShareKeys",
            Stage::MaskedInput => "MaskedInput",
            Stage::Done => "Done",
        }
    }
}

/// One site's protocol state for one round.
pub struct Site {
    config: SiteConfig,
    stage: Stage,
    own_keys: AdvertiseKeys,
    secrets: Option<RoundSecrets>,
    /// U1 as relayed and verified.
    keys: BTreeMap<SiteId, AdvertiseKeys>,
    /// `(share of s_sk_v, share of b_v)` held by this site, for v in U2 (including itself).
    held: BTreeMap<SiteId, (Share, Share)>,
}

pub(crate) fn check_threshold(threshold: usize, sites: usize) -> Result<()> {
    if threshold < 2 || threshold > sites || 2 * threshold <= sites {
        return Err(Error::InvalidThreshold { threshold, sites });
    }
    Ok(())
}

impl Site {
    /// Generates the round's secrets (`c`, `s` key pairs and the self-mask seed `b`).
    pub fn new<R: RngCore + CryptoRng>(config: SiteConfig, rng: &mut R) -> Result<Self> {
        if config.id == SiteId::MAX {
            return Err(Error::ReservedSiteId(config.id));
        }
        if config.vector_len == 0 {
            return Err(Error::EmptyVector);
        }
        if config.threshold < 2 {
            return Err(Error::InvalidThreshold {
                threshold: config.threshold,
                sites: 0,
            });
        }
        let secrets = RoundSecrets::generate(rng);
        let own_keys = AdvertiseKeys {
            context: config.context.clone(),
            site: config.id,
            c_pk: secrets.c_pk(),
            s_pk: secrets.s_pk(),
        };
        Ok(Self {
            config,
            stage: Stage::AdvertiseKeys,
            own_keys,
            secrets: Some(secrets),
            keys: BTreeMap::new(),
            held: BTreeMap::new(),
        })
    }

    /// This site's id.
    pub fn id(&self) -> SiteId {
        self.config.id
    }

    /// Stage 0: the public keys to advertise (and whose [`AdvertiseKeys::digest`] the worker
    /// registers on chain).
    pub fn advertise_keys(&self) -> AdvertiseKeys {
        self.own_keys.clone()
    }

    fn expect(&self, stage: Stage, call: &'static str) -> Result<()> {
        if self.stage != stage {
            return Err(Error::WrongStage {
                call,
                stage: self.stage.name(),
            });
        }
        Ok(())
    }

    /// Stage 1: checks every relayed key against the digest the relying party expects for that
    /// site (`expected_digest`, e.g. read from the consortium contract; `None` = unknown site),
    /// then Shamir-shares `s_sk` and `b` t-of-|U1| and encrypts each other site's pair of shares.
    pub fn share_keys<R, F>(
        &mut self,
        relayed: &[AdvertiseKeys],
        mut expected_digest: F,
        rng: &mut R,
    ) -> Result<ShareKeys>
    where
        R: RngCore + CryptoRng,
        F: FnMut(SiteId) -> Option<[u8; 32]>,
    {
        self.expect(Stage::AdvertiseKeys, "share_keys")?;
        let me = self.config.id;
        let mut keys = BTreeMap::new();
        let mut public = BTreeSet::new();
        for k in relayed {
            if k.context != self.config.context {
                return Err(Error::ContextMismatch { site: k.site });
            }
            if k.site == SiteId::MAX {
                return Err(Error::ReservedSiteId(k.site));
            }
            let expected =
                expected_digest(k.site).ok_or(Error::MissingExpectedDigest { site: k.site })?;
            if k.digest() != expected {
                return Err(Error::KeyDigestMismatch { site: k.site });
            }
            if k.site == me && *k != self.own_keys {
                return Err(Error::OwnKeysAltered);
            }
            if keys.insert(k.site, k.clone()).is_some() {
                return Err(Error::DuplicateSite { site: k.site });
            }
            if !public.insert(k.c_pk) || !public.insert(k.s_pk) {
                return Err(Error::DuplicatePublicKey { site: k.site });
            }
        }
        if !keys.contains_key(&me) {
            return Err(Error::OwnKeysAltered);
        }
        if keys.len() < self.config.threshold {
            return Err(Error::TooFewSites {
                stage: "AdvertiseKeys",
                have: keys.len(),
                need: self.config.threshold,
            });
        }
        check_threshold(self.config.threshold, keys.len())?;
        let secrets = self
            .secrets
            .as_ref()
            .expect("secrets live until masked_input");
        // Agree first so that a bad key refuses the call before anything is produced.
        let mut pair_keys = Vec::with_capacity(keys.len() - 1);
        for (&v, k) in keys.iter().filter(|(&v, _)| v != me) {
            let shared = keys::agree(&secrets.c_sk, &k.c_pk, v)?;
            keys::agree(&secrets.s_sk, &k.s_pk, v)?; // refuse low-order s_pk now, not later
            pair_keys.push((v, keys::share_key(&self.config.context, &shared, me, v)));
        }
        let points: Vec<u64> = keys.keys().map(|&v| point_of(v)).collect();
        let s_bytes = zeroize::Zeroizing::new(secrets.s_sk.to_bytes());
        let s_shares = shamir::split(&s_bytes, self.config.threshold, &points, rng)?;
        let b_shares = shamir::split(&secrets.b, self.config.threshold, &points, rng)?;
        let mut out = Vec::with_capacity(pair_keys.len());
        let mut pair_keys = pair_keys.into_iter();
        for (v, (s_share, b_share)) in keys.keys().copied().zip(s_shares.into_iter().zip(b_shares))
        {
            if v == me {
                self.held.insert(me, (s_share, b_share));
                continue;
            }
            let (kv, key) = pair_keys.next().expect("one key per other site");
            debug_assert_eq!(kv, v);
            let ciphertext =
                keys::encrypt_shares(&key, &self.config.context, me, v, &s_share, &b_share);
            out.push(EncryptedShares {
                sender: me,
                receiver: v,
                ciphertext,
            });
        }
        self.keys = keys;
        self.stage = Stage::ShareKeys;
        Ok(ShareKeys {
            sender: me,
            shares: out,
        })
    }

    /// Stage 2: decrypts the shares relayed to this site (refusing any that fail
    /// authentication), and masks `input`:
    /// `y = x + PRG(b) + Σ_{v∈U2, v>u} PRG(s_uv) − Σ_{v∈U2, v<u} PRG(s_uv)` mod 2^32, where U2 is
    /// this site and the senders of the relayed shares. The secrets `c_sk`, `s_sk`, `b` are
    /// zeroized afterwards; only the held shares remain.
    pub fn masked_input(
        &mut self,
        relayed: &[EncryptedShares],
        input: &[u32],
    ) -> Result<MaskedInput> {
        self.expect(Stage::ShareKeys, "masked_input")?;
        let me = self.config.id;
        if input.len() != self.config.vector_len {
            return Err(Error::VectorLengthMismatch {
                expected: self.config.vector_len,
                got: input.len(),
            });
        }
        let secrets = self
            .secrets
            .as_ref()
            .expect("secrets live until masked_input");
        let mut received = BTreeMap::new();
        for es in relayed {
            if es.receiver != me {
                return Err(Error::MisaddressedShares {
                    sender: es.sender,
                    receiver: es.receiver,
                });
            }
            let k = match self.keys.get(&es.sender) {
                Some(k) if es.sender != me => k,
                _ => return Err(Error::UnknownSite { site: es.sender }),
            };
            if received.contains_key(&es.sender) {
                return Err(Error::DuplicateSite { site: es.sender });
            }
            let shared = keys::agree(&secrets.c_sk, &k.c_pk, es.sender)?;
            let key = keys::share_key(&self.config.context, &shared, me, es.sender);
            let (s, b) =
                keys::decrypt_shares(&key, &self.config.context, es.sender, me, &es.ciphertext)?;
            if s.x != point_of(me) || b.x != point_of(me) {
                return Err(Error::MalformedShare { sender: es.sender });
            }
            received.insert(es.sender, (s, b));
        }
        if received.len() + 1 < self.config.threshold {
            return Err(Error::TooFewSites {
                stage: "ShareKeys",
                have: received.len() + 1,
                need: self.config.threshold,
            });
        }
        let mut y = input.to_vec();
        apply_mask(&secrets.b, &mut y, Sign::Add);
        for &v in received.keys() {
            let shared = keys::agree(&secrets.s_sk, &self.keys[&v].s_pk, v)?;
            let seed = keys::pairwise_seed(&self.config.context, &shared, me, v);
            apply_mask(&seed, &mut y, if v > me { Sign::Add } else { Sign::Sub });
        }
        self.held.extend(received);
        self.secrets = None; // StaticSecret and Zeroizing zeroize on drop
        self.stage = Stage::MaskedInput;
        Ok(MaskedInput {
            sender: me,
            masked: y,
        })
    }

    /// Stage 3: reveals shares of `b_v` for each survivor `v` and of `s_sk_v` for each dropped
    /// `v`. Refuses — revealing nothing — if a site is in both sets (the double-mask rule), if
    /// there are fewer survivors than t, if this site is not a survivor, or if the two sets do
    /// not partition U2. Answers once; later requests are [`Error::WrongStage`].
    pub fn unmask(&mut self, request: &UnmaskRequest) -> Result<UnmaskResponse> {
        self.expect(Stage::MaskedInput, "unmask")?;
        let me = self.config.id;
        let survivors: BTreeSet<SiteId> = request.survivors.iter().copied().collect();
        let dropped: BTreeSet<SiteId> = request.dropped.iter().copied().collect();
        if let Some(&site) = survivors.intersection(&dropped).next() {
            return Err(Error::DoubleMaskViolation { site });
        }
        for (list, set) in [
            (&request.survivors, &survivors),
            (&request.dropped, &dropped),
        ] {
            if list.len() != set.len() {
                let mut seen = BTreeSet::new();
                let site = *list
                    .iter()
                    .find(|s| !seen.insert(**s))
                    .expect("a duplicate");
                return Err(Error::DuplicateSite { site });
            }
        }
        if survivors.len() < self.config.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: survivors.len(),
                threshold: self.config.threshold,
            });
        }
        if !survivors.contains(&me) {
            return Err(Error::NotASurvivor { site: me });
        }
        if let Some(&site) = survivors
            .iter()
            .chain(&dropped)
            .find(|s| !self.held.contains_key(s))
        {
            return Err(Error::InconsistentSets { site });
        }
        if let Some(&site) = self
            .held
            .keys()
            .find(|s| !survivors.contains(s) && !dropped.contains(s))
        {
            return Err(Error::InconsistentSets { site });
        }
        let response = UnmaskResponse {
            sender: me,
            self_mask_shares: survivors
                .iter()
                .map(|v| (*v, self.held[v].1.clone()))
                .collect(),
            mask_key_shares: dropped
                .iter()
                .map(|v| (*v, self.held[v].0.clone()))
                .collect(),
        };
        self.held.clear(); // shares zeroize on drop
        self.stage = Stage::Done;
        Ok(response)
    }
}
