//! The aggregator (server) state machine: collects keys, relays encrypted shares, sums masked
//! inputs, asks survivors for shares and removes the masks.
//!
//! ```text
//! receive_keys* ─▶ relay_keys ─▶ receive_shares* ─▶ close_share_keys ─▶ receive_masked* ─▶
//!   unmask_request ─▶ receive_unmask* ─▶ finish → Σ_{u∈U3} x_u
//! ```
//! The aggregator keeps only the running sum of masked inputs, never an individual vector.
//! U1 ([`Aggregator::advertised`]) and U3 ([`Aggregator::survivors`]) are what the worker commits
//! on chain ([`crate::messages::site_set_digest`]). The state serializes, so an aggregator that
//! restarts can resume from its last persisted state (or abort the round).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::{Error, Result};
use crate::keys;
use crate::masking::{apply_mask, Sign};
use crate::messages::{
    AdvertiseKeys, EncryptedShares, MaskedInput, RoundContext, ShareKeys, SiteId, UnmaskRequest,
    UnmaskResponse,
};
use crate::shamir::{self, Share};
use crate::site::check_threshold;

/// The aggregator's parameters for one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregatorConfig {
    /// Study and round.
    pub context: RoundContext,
    /// Shamir threshold t.
    pub threshold: usize,
    /// Vector length L.
    pub vector_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Stage {
    AdvertiseKeys,
    ShareKeys,
    MaskedInput,
    Unmasking,
    Done,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::AdvertiseKeys => "AdvertiseKeys",
            Stage::ShareKeys => "ShareKeys",
            Stage::MaskedInput => "MaskedInput",
            Stage::Unmasking => "Unmasking",
            Stage::Done => "Done",
        }
    }
}

/// The aggregator's state for one round. It holds no secret of any site (only public keys,
/// ciphertexts it cannot open, the masked sum and, in the last stage, shares it is entitled to),
/// so it is `Serialize`/`Deserialize`: a restarted aggregator can persist it after each message
/// and resume the round where it stopped.
#[derive(Serialize, Deserialize)]
pub struct Aggregator {
    config: AggregatorConfig,
    stage: Stage,
    keys: BTreeMap<SiteId, AdvertiseKeys>,
    shares: BTreeMap<SiteId, Vec<EncryptedShares>>,
    sum: Vec<u32>,
    survivors: BTreeSet<SiteId>,
    dropped: BTreeSet<SiteId>,
    responses: BTreeMap<SiteId, UnmaskResponse>,
}

impl Aggregator {
    /// A new round.
    pub fn new(config: AggregatorConfig) -> Result<Self> {
        if config.vector_len == 0 {
            return Err(Error::EmptyVector);
        }
        if config.threshold < 2 {
            return Err(Error::InvalidThreshold {
                threshold: config.threshold,
                sites: 0,
            });
        }
        let sum = vec![0; config.vector_len];
        Ok(Self {
            config,
            stage: Stage::AdvertiseKeys,
            keys: BTreeMap::new(),
            shares: BTreeMap::new(),
            sum,
            survivors: BTreeSet::new(),
            dropped: BTreeSet::new(),
            responses: BTreeMap::new(),
        })
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

    /// U1: sites whose keys were relayed.
    pub fn advertised(&self) -> Vec<SiteId> {
        self.keys.keys().copied().collect()
    }

    /// U2: sites that sent encrypted shares.
    pub fn share_key_sites(&self) -> Vec<SiteId> {
        self.shares.keys().copied().collect()
    }

    /// U3: sites whose masked input is in the sum.
    pub fn survivors(&self) -> Vec<SiteId> {
        self.survivors.iter().copied().collect()
    }

    /// Stage 0: a site's advertised keys.
    pub fn receive_keys(&mut self, msg: AdvertiseKeys) -> Result<()> {
        self.expect(Stage::AdvertiseKeys, "receive_keys")?;
        if msg.context != self.config.context {
            return Err(Error::ContextMismatch { site: msg.site });
        }
        if msg.site == SiteId::MAX {
            return Err(Error::ReservedSiteId(msg.site));
        }
        if self.keys.contains_key(&msg.site) {
            return Err(Error::DuplicateSite { site: msg.site });
        }
        self.keys.insert(msg.site, msg);
        Ok(())
    }

    /// Closes stage 0 and returns the key list to relay to every site in it.
    pub fn relay_keys(&mut self) -> Result<Vec<AdvertiseKeys>> {
        self.expect(Stage::AdvertiseKeys, "relay_keys")?;
        if self.keys.len() < self.config.threshold {
            return Err(Error::TooFewSites {
                stage: "AdvertiseKeys",
                have: self.keys.len(),
                need: self.config.threshold,
            });
        }
        check_threshold(self.config.threshold, self.keys.len())?;
        self.stage = Stage::ShareKeys;
        Ok(self.keys.values().cloned().collect())
    }

    /// Stage 1: a site's encrypted shares, one for every other site of U1.
    pub fn receive_shares(&mut self, msg: ShareKeys) -> Result<()> {
        self.expect(Stage::ShareKeys, "receive_shares")?;
        if !self.keys.contains_key(&msg.sender) {
            return Err(Error::UnknownSite { site: msg.sender });
        }
        if self.shares.contains_key(&msg.sender) {
            return Err(Error::DuplicateSite { site: msg.sender });
        }
        let mut receivers = BTreeSet::new();
        for es in &msg.shares {
            if es.sender != msg.sender {
                return Err(Error::MisaddressedShares {
                    sender: es.sender,
                    receiver: es.receiver,
                });
            }
            if es.receiver == msg.sender || !self.keys.contains_key(&es.receiver) {
                return Err(Error::UnknownSite { site: es.receiver });
            }
            if !receivers.insert(es.receiver) {
                return Err(Error::DuplicateSite { site: es.receiver });
            }
        }
        if let Some(&site) = self
            .keys
            .keys()
            .find(|&&v| v != msg.sender && !receivers.contains(&v))
        {
            return Err(Error::InconsistentSets { site });
        }
        self.shares.insert(msg.sender, msg.shares);
        Ok(())
    }

    /// Closes stage 1 (U2 = the sites that sent shares) and returns, for each site of U2, the
    /// ciphertexts addressed to it by the other sites of U2.
    pub fn close_share_keys(&mut self) -> Result<BTreeMap<SiteId, Vec<EncryptedShares>>> {
        self.expect(Stage::ShareKeys, "close_share_keys")?;
        if self.shares.len() < self.config.threshold {
            return Err(Error::TooFewSites {
                stage: "ShareKeys",
                have: self.shares.len(),
                need: self.config.threshold,
            });
        }
        let mut out: BTreeMap<SiteId, Vec<EncryptedShares>> =
            self.shares.keys().map(|&v| (v, Vec::new())).collect();
        for list in self.shares.values() {
            for es in list {
                if let Some(inbox) = out.get_mut(&es.receiver) {
                    inbox.push(es.clone());
                }
            }
        }
        self.stage = Stage::MaskedInput;
        Ok(out)
    }

    /// Stage 2: a site's masked input, added to the running sum and not kept.
    pub fn receive_masked(&mut self, msg: MaskedInput) -> Result<()> {
        self.expect(Stage::MaskedInput, "receive_masked")?;
        if !self.shares.contains_key(&msg.sender) {
            return Err(Error::NotInShareKeys { site: msg.sender });
        }
        if self.survivors.contains(&msg.sender) {
            return Err(Error::DuplicateSite { site: msg.sender });
        }
        if msg.masked.len() != self.config.vector_len {
            return Err(Error::VectorLengthMismatch {
                expected: self.config.vector_len,
                got: msg.masked.len(),
            });
        }
        for (s, y) in self.sum.iter_mut().zip(&msg.masked) {
            *s = s.wrapping_add(*y);
        }
        self.survivors.insert(msg.sender);
        Ok(())
    }

    /// Closes stage 2 (U3 = the sites whose masked input arrived) and returns the request every
    /// survivor receives: survivors U3 and dropped U2 \ U3. Refuses below t survivors.
    pub fn unmask_request(&mut self) -> Result<UnmaskRequest> {
        self.expect(Stage::MaskedInput, "unmask_request")?;
        if self.survivors.len() < self.config.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: self.survivors.len(),
                threshold: self.config.threshold,
            });
        }
        self.dropped = self
            .shares
            .keys()
            .filter(|v| !self.survivors.contains(v))
            .copied()
            .collect();
        self.stage = Stage::Unmasking;
        Ok(self.current_request())
    }

    fn current_request(&self) -> UnmaskRequest {
        UnmaskRequest {
            survivors: self.survivors(),
            dropped: self.dropped.iter().copied().collect(),
        }
    }

    /// Stage 3: a survivor's shares. Must hold exactly a `b` share per survivor and an `s_sk`
    /// share per dropped site.
    pub fn receive_unmask(&mut self, msg: UnmaskResponse) -> Result<()> {
        self.expect(Stage::Unmasking, "receive_unmask")?;
        if !self.survivors.contains(&msg.sender) {
            return Err(Error::NotASurvivor { site: msg.sender });
        }
        if self.responses.contains_key(&msg.sender) {
            return Err(Error::DuplicateSite { site: msg.sender });
        }
        let b_for: Vec<SiteId> = msg.self_mask_shares.iter().map(|(v, _)| *v).collect();
        let s_for: Vec<SiteId> = msg.mask_key_shares.iter().map(|(v, _)| *v).collect();
        if let Some(&site) = b_for.iter().find(|v| s_for.contains(v)) {
            return Err(Error::DoubleMaskViolation { site });
        }
        if b_for != self.survivors() || s_for != self.dropped.iter().copied().collect::<Vec<_>>() {
            let site = b_for
                .iter()
                .chain(&s_for)
                .find(|v| !self.survivors.contains(v) && !self.dropped.contains(v))
                .copied()
                .unwrap_or(msg.sender);
            return Err(Error::InconsistentSets { site });
        }
        self.responses.insert(msg.sender, msg);
        Ok(())
    }

    /// Number of unmask responses so far.
    pub fn responses(&self) -> usize {
        self.responses.len()
    }

    /// Reconstructs every survivor's `b` and every dropped site's `s_sk` from t responses,
    /// removes all masks and returns `Σ_{u∈U3} x_u` mod 2^32. Below t responses:
    /// [`Error::BelowThreshold`]. A reconstructed `s_sk` is checked against the advertised `s_pk`.
    pub fn finish(&mut self) -> Result<Vec<u32>> {
        self.expect(Stage::Unmasking, "finish")?;
        let t = self.config.threshold;
        if self.responses.len() < t {
            return Err(Error::BelowThreshold {
                have: self.responses.len(),
                need: t,
            });
        }
        let mut sum = self.sum.clone();
        for (i, &v) in self.survivors.iter().enumerate() {
            let shares: Vec<&Share> = self
                .responses
                .values()
                .map(|r| &r.self_mask_shares[i].1)
                .collect();
            let b = shamir::combine(v, &shares, t)?;
            apply_mask(&b, &mut sum, Sign::Sub);
        }
        for (i, &v) in self.dropped.iter().enumerate() {
            let shares: Vec<&Share> = self
                .responses
                .values()
                .map(|r| &r.mask_key_shares[i].1)
                .collect();
            let bytes = shamir::combine(v, &shares, t)?;
            let s_sk = StaticSecret::from(*bytes);
            if PublicKey::from(&s_sk).to_bytes() != self.keys[&v].s_pk {
                return Err(Error::ReconstructedKeyMismatch { site: v });
            }
            for &u in &self.survivors {
                let shared = keys::agree(&s_sk, &self.keys[&u].s_pk, u)?;
                let seed = keys::pairwise_seed(&self.config.context, &shared, u, v);
                // u added PRG(s_uv) if v > u and subtracted it if v < u: undo that.
                apply_mask(&seed, &mut sum, if v > u { Sign::Sub } else { Sign::Add });
            }
        }
        self.stage = Stage::Done;
        self.responses.clear();
        Ok(sum)
    }
}
