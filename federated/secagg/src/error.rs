//! The crate's error type: one variant per thing that can be wrong, naming the site involved.
// Variant fields are self-describing (site, threshold, ...) and appear in the messages.
#![allow(missing_docs)]

use crate::messages::SiteId;

/// Everything the protocol, the Shamir code and the quantizer refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    // ---- configuration ----
    /// `t` must satisfy `2 ≤ t` and `t > n/2` and `t ≤ n` for the `n` sites of the round.
    #[error(
        "threshold t = {threshold} is invalid for {sites} sites (need 2 <= t <= n and t > n/2)"
    )]
    InvalidThreshold { threshold: usize, sites: usize },
    /// The round's vector length is zero.
    #[error("vector length must be at least 1")]
    EmptyVector,
    /// A site id of `u32::MAX` is reserved.
    #[error("site id {0} is reserved")]
    ReservedSiteId(SiteId),

    // ---- stage 0: advertised keys ----
    /// A message belongs to another study or round than this party's.
    #[error("message from site {site} is for another study/round context")]
    ContextMismatch { site: SiteId },
    /// The same site appears twice in a list.
    #[error("site {site} appears more than once")]
    DuplicateSite { site: SiteId },
    /// Two sites advertised the same public key (a replayed or copied key).
    #[error("site {site} advertised a public key that another site (or its other key) also uses")]
    DuplicatePublicKey { site: SiteId },
    /// A message names a site this party does not know in this stage.
    #[error("site {site} is not a participant of this stage")]
    UnknownSite { site: SiteId },
    /// The relying party has no expected digest (e.g. on chain) for this site.
    #[error("no expected key digest for site {site}: refusing its relayed keys")]
    MissingExpectedDigest { site: SiteId },
    /// A relayed key list entry does not hash to the digest the site registered (e.g. on chain).
    #[error("relayed keys of site {site} do not match its registered digest: refusing")]
    KeyDigestMismatch { site: SiteId },
    /// The relayed list does not contain this site's own keys unchanged.
    #[error("this site's own keys are missing from, or altered in, the relayed list")]
    OwnKeysAltered,
    /// Too few sites take part for the threshold.
    #[error("{stage}: {have} sites, fewer than the threshold {need}")]
    TooFewSites {
        stage: &'static str,
        have: usize,
        need: usize,
    },
    /// A Diffie-Hellman agreement gave the all-zero output (a low-order public key).
    #[error("key agreement with site {site} is not contributory (low-order public key)")]
    NonContributoryKey { site: SiteId },

    // ---- stage 1: encrypted shares ----
    /// The AEAD refused a ciphertext: tampered, wrong key, or wrong sender/receiver/round.
    #[error("encrypted shares from site {sender} failed authentication (tampered or misrouted)")]
    DecryptionFailed { sender: SiteId },
    /// A ciphertext decrypted but names other endpoints than the envelope.
    #[error("shares from site {sender} are addressed to site {receiver}, not this site")]
    MisaddressedShares { sender: SiteId, receiver: SiteId },
    /// A plaintext or share has the wrong shape.
    #[error("malformed share from site {sender}")]
    MalformedShare { sender: SiteId },

    // ---- stage 2: masked input ----
    /// The input vector has the wrong length.
    #[error("vector has length {got}, the round expects {expected}")]
    VectorLengthMismatch { expected: usize, got: usize },
    /// A masked input came from a site that did not send shares in stage 1.
    #[error("masked input from site {site}, which did not take part in ShareKeys")]
    NotInShareKeys { site: SiteId },

    // ---- stage 3: unmasking ----
    /// The double-mask rule: the unmask request lists a site both as survivor and as dropped.
    #[error("site {site} is listed both as survivor and as dropped: revealing both of its shares would unmask its input; refusing")]
    DoubleMaskViolation { site: SiteId },
    /// The survivor set is smaller than the threshold.
    #[error("{survivors} survivors, fewer than the threshold {threshold}: refusing to unmask")]
    TooFewSurvivors { survivors: usize, threshold: usize },
    /// This site is not listed as a survivor of the round.
    #[error("site {site} is not in the survivor set it was asked to unmask for")]
    NotASurvivor { site: SiteId },
    /// A site of ShareKeys is in neither set, or a listed site did not take part in ShareKeys.
    #[error(
        "survivor and dropped sets must partition the ShareKeys set; site {site} does not fit"
    )]
    InconsistentSets { site: SiteId },

    // ---- Shamir ----
    /// Fewer shares than the threshold.
    #[error("{have} shares, fewer than the threshold {need}: cannot reconstruct")]
    BelowThreshold { have: usize, need: usize },
    /// Two shares carry the same evaluation point (or point zero).
    #[error("duplicate or zero share index {x}")]
    BadShareIndex { x: u64 },
    /// Reconstruction gave a value that is not a valid secret encoding.
    #[error("shares for site {site} are inconsistent (reconstruction gave no valid secret)")]
    InconsistentShares { site: SiteId },
    /// The reconstructed mask key does not match the public key the site advertised.
    #[error("reconstructed key of site {site} does not match its advertised public key")]
    ReconstructedKeyMismatch { site: SiteId },

    // ---- stages ----
    /// A call arrived in the wrong stage.
    #[error("{call} is not allowed in stage {stage}")]
    WrongStage {
        call: &'static str,
        stage: &'static str,
    },

    // ---- quantization ----
    /// `clip` must be finite and > 0 (Flower PR #7633 accepted 0 and divided by zero).
    #[error("clip must be finite and positive, got {clip}")]
    InvalidClip { clip: f64 },
    /// Quantization bits must be in 1..=31.
    #[error("quantization bits must be in 1..=31, got {bits}")]
    InvalidBits { bits: u32 },
    /// The sum of `max_sites` values of `max_weight · (2^bits − 1)` would wrap around 2^32.
    #[error("sum of {max_sites} sites x max weight {max_weight} x {bits}-bit values needs {needed_bits:.2} bits and would wrap modulo 2^32")]
    RingOverflow {
        max_sites: u32,
        max_weight: u32,
        bits: u32,
        needed_bits: f64,
    },
    /// A site's weight exceeds the agreed maximum.
    #[error("weight {weight} exceeds the maximum weight {max}")]
    WeightTooLarge { weight: u32, max: u32 },
    /// A sum claims more sites than the validated maximum.
    #[error("{sites} sites exceed the validated maximum {max}")]
    TooManySites { sites: u32, max: u32 },
    /// NaN or infinity in the input.
    #[error("input value at index {index} is not finite")]
    NonFiniteInput { index: usize },
    /// The weighted sum has total weight zero.
    #[error("total weight is zero: nothing to average")]
    ZeroTotalWeight,

    // ---- wire ----
    /// Encoding or decoding a message failed.
    #[error("message codec: {0}")]
    Codec(String),
}

/// Result alias.
pub type Result<T> = core::result::Result<T, Error>;
