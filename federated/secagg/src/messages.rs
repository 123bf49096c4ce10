//! Protocol messages: plain data, `serde`-serializable, identical whether they travel over HTTPS
//! between workers or stay in one process in the simulator.
//!
//! [`encode`]/[`decode`] give one compact binary encoding (bincode 1, fixed-width little-endian
//! integers; a `Vec<u32>` costs 8 + 4·L bytes); the benchmark counts bytes sent in it.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::shamir::Share;

/// A site's identifier within a round (e.g. its index in the consortium contract's member list).
/// Orders the pairwise masks (`+` towards larger ids) and gives the Shamir evaluation point
/// `x = id + 1`. `u32::MAX` is reserved.
pub type SiteId = u32;

/// The study and round a message belongs to. Every digest, key derivation and AEAD associated
/// data is bound to it, so nothing carries over from one round to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoundContext {
    /// Study identifier (e.g. the consortium contract's study id, as bytes).
    pub study: Vec<u8>,
    /// Round number within the study.
    pub round: u64,
}

impl RoundContext {
    /// A context for `study`, round `round`.
    pub fn new(study: impl Into<Vec<u8>>, round: u64) -> Self {
        Self {
            study: study.into(),
            round,
        }
    }

    /// Canonical bytes: `u32` big-endian length of `study` ‖ `study` ‖ `u64` big-endian `round`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.study.len());
        out.extend_from_slice(&(self.study.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.study);
        out.extend_from_slice(&self.round.to_be_bytes());
        out
    }

    /// `SHA-256("consentry-secagg/v1/context" ‖ canonical_bytes)`: the HKDF salt of the round.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"consentry-secagg/v1/context");
        h.update(self.canonical_bytes());
        h.finalize().into()
    }
}

/// Domain separator of [`AdvertiseKeys::digest`].
pub const ADVERTISE_KEYS_DOMAIN: &[u8] = b"consentry-secagg/v1/advertise-keys";

/// Stage 0, site → aggregator → all sites: a site's two fresh X25519 public keys for the round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertiseKeys {
    /// The round these keys are for.
    pub context: RoundContext,
    /// The advertising site.
    pub site: SiteId,
    /// `c_pk`: key-agreement public key for encrypting Shamir shares to this site.
    pub c_pk: [u8; 32],
    /// `s_pk`: key-agreement public key for the pairwise masks.
    pub s_pk: [u8; 32],
}

impl AdvertiseKeys {
    /// The digest a worker puts on chain (`advertise_key`) and signs with its institution key:
    ///
    /// ```text
    /// SHA-256( "consentry-secagg/v1/advertise-keys"        34 ASCII bytes, no terminator
    ///        ‖ u32 BE  len(study) ‖ study                  RoundContext::canonical_bytes
    ///        ‖ u64 BE  round
    ///        ‖ u32 BE  site
    ///        ‖ c_pk (32 bytes) ‖ s_pk (32 bytes) )
    /// ```
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(ADVERTISE_KEYS_DOMAIN);
        h.update(self.context.canonical_bytes());
        h.update(self.site.to_be_bytes());
        h.update(self.c_pk);
        h.update(self.s_pk);
        h.finalize().into()
    }
}

/// Domain separator of [`site_set_digest`].
pub const SITE_SET_DOMAIN: &[u8] = b"consentry-secagg/v1/site-set";

/// A digest of a set of sites for a round, for committing U1 (advertised keys) and U3 (sent
/// masked inputs) on chain: `SHA-256(domain ‖ context ‖ u8 len(label) ‖ label ‖ u32 BE count ‖
/// ids as u32 BE, ascending, deduplicated)`.
pub fn site_set_digest(context: &RoundContext, label: &str, sites: &[SiteId]) -> [u8; 32] {
    let mut ids: Vec<SiteId> = sites.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut h = Sha256::new();
    h.update(SITE_SET_DOMAIN);
    h.update(context.canonical_bytes());
    h.update([label.len().min(255) as u8]);
    h.update(&label.as_bytes()[..label.len().min(255)]);
    h.update((ids.len() as u32).to_be_bytes());
    for id in ids {
        h.update(id.to_be_bytes());
    }
    h.finalize().into()
}

/// One AEAD ciphertext of the share pair `(share of s_sk, share of b)` from `sender` to
/// `receiver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShares {
    /// The site whose secrets are shared.
    pub sender: SiteId,
    /// The site that can decrypt (holds `c_sk` of `receiver`).
    pub receiver: SiteId,
    /// ChaCha20-Poly1305 ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Stage 1, site → aggregator: the site's encrypted shares, one per other site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareKeys {
    /// The sending site.
    pub sender: SiteId,
    /// One entry per other site of U1.
    pub shares: Vec<EncryptedShares>,
}

/// Stage 2, site → aggregator: `y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)`
/// mod 2^32.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedInput {
    /// The sending site.
    pub sender: SiteId,
    /// The masked vector.
    pub masked: Vec<u32>,
}

/// Stage 3, aggregator → each survivor: who survived (sent a masked input) and who dropped
/// (sent shares in stage 1 but no masked input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmaskRequest {
    /// U3: sites whose masked input the aggregator holds; their `b` is reconstructed.
    pub survivors: Vec<SiteId>,
    /// U2 \ U3: sites whose `s_sk` is reconstructed to remove their pairwise masks.
    pub dropped: Vec<SiteId>,
}

/// Stage 3, survivor → aggregator: shares of `b_v` for survivors `v`, of `s_sk_v` for dropped
/// `v`, never both for one `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmaskResponse {
    /// The responding site.
    pub sender: SiteId,
    /// `(v, share of b_v)` for each survivor `v`.
    pub self_mask_shares: Vec<(SiteId, Share)>,
    /// `(v, share of s_sk_v)` for each dropped `v`.
    pub mask_key_shares: Vec<(SiteId, Share)>,
}

/// Encodes a message in the crate's binary wire format (bincode 1, fixed-width little-endian).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    bincode::serialize(message).map_err(|e| Error::Codec(e.to_string()))
}

/// Decodes a message encoded by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| Error::Codec(e.to_string()))
}
