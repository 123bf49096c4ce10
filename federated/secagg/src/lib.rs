//! # consentry-secagg
//!
//! Secure aggregation for federated rounds: Bonawitz et al., "Practical Secure Aggregation for
//! Privacy-Preserving Machine Learning" (CCS 2017, eprint 2017/281), with the dropout-robust
//! double masking, in the shape of Flower's SecAgg+ with a complete neighbour graph (every site
//! shares with every other; at consortium sizes of 3–20 sites there is nothing to gain from
//! SecAgg+'s sparse graph).
//!
//! The code is transport-agnostic: messages ([`messages`]) are plain `serde` structs, and the
//! [`site::Site`] and [`aggregator::Aggregator`] state machines consume and produce them, so the
//! same code runs over HTTPS between workers and in one process in the simulator.
//!
//! ## The protocol, one round, sites `u` with ids, threshold `t`, vectors in Z_{2^32}^L
//!
//! 0. **AdvertiseKeys.** Each site draws two X25519 key pairs — `c` to encrypt shares, `s` to
//!    agree pairwise masks — and a 32-byte self-mask seed `b`, and advertises `(c_pk, s_pk)`. Its
//!    worker registers [`messages::AdvertiseKeys::digest`] on chain, signed with its institution
//!    key. The aggregator relays the list (U1); every site checks each entry against the digest
//!    registered for that site and refuses any mismatch, so the aggregator cannot substitute keys
//!    or invent sites.
//! 1. **ShareKeys.** Each site Shamir-splits `s_sk` and `b` t-of-|U1| ([`shamir`], GF(2^61 − 1))
//!    and sends every other site its pair of shares, encrypted with ChaCha20-Poly1305 under
//!    HKDF(X25519(c_u, c_v)) with the round, sender and receiver as associated data. The
//!    aggregator relays them; the senders form U2.
//! 2. **MaskedInputCollection.** With `s_uv = HKDF(X25519(s_u, s_v))` and `PRG` = ChaCha20
//!    ([`masking`]), site `u` sends
//!    `y_u = x_u + PRG(b_u) + Σ_{v∈U2, v>u} PRG(s_uv) − Σ_{v∈U2, v<u} PRG(s_uv)  (mod 2^32)`.
//!    The pairwise masks cancel in any sum over all of U2. The senders form U3.
//! 3. **Unmasking.** The aggregator tells the survivors U3 and the dropped U2 \ U3. Each survivor
//!    returns its shares of `b_v` for survivors `v` and of `s_sk_v` for dropped `v` — never both
//!    for the same `v` (it refuses a request naming a site in both sets, one with fewer than `t`
//!    survivors, and any second request). With `t` answers the aggregator reconstructs, subtracts
//!    the survivors' `PRG(b_v)`, removes the dropped sites' uncancelled pairwise masks and obtains
//!    `Σ_{u∈U3} x_u`.
//!
//! Inputs are model updates quantized into the ring by [`quantize`]: clipped, scaled to
//! `bits`-bit integers with unbiased stochastic rounding; weighted FedAvg sends
//! `[n_k, n_k·q(w_k)]` as Flower does, and the parameters are validated so that the sum over
//! the maximum number of sites cannot wrap modulo 2^32.
//!
//! ## Threat model and what the aggregator learns
//!
//! - **Semi-honest aggregator** (follows the protocol, tries to learn from what it sees), possibly
//!   colluding with fewer than `t` sites, and any number of sites dropping out at any point. It
//!   learns the sum `Σ_{u∈U3} x_u` (for weighted FedAvg: `Σ n_k` and `Σ n_k·w_k`), the sets U1,
//!   U2, U3, the vector length, and message timing and sizes — nothing about any single site's
//!   input beyond what the sum reveals. Each masked vector is uniformly distributed on its own
//!   (the self mask `PRG(b_u)` alone hides it).
//! - A site reported dropped whose masked input arrives late still carries `PRG(b_u)`, whose
//!   shares were never revealed: the double mask.
//! - Beyond the paper's semi-honest model: the key list is bound to on-chain digests signed by
//!   registered institutions (no Sybil sites, no key substitution), and U1/U3 are committed on
//!   chain ([`messages::site_set_digest`]), which gives the consistency check of Bonawitz's
//!   malicious-model round 3 as a public record. An actively malicious aggregator that lies about
//!   U3 to different sites is detectable against the chain; this crate does not itself sign U3.
//! - Not protected: what the sum itself reveals (that is what differential privacy, applied at
//!   each site before masking, is for); sites that send wrong inputs (no input validation/proofs);
//!   denial of service (too many dropouts abort the round with a clear error).
//!
//! ## Modules
//! - [`messages`]: the wire messages, the round context, digests, the binary codec.
//! - [`keys`]: X25519 agreement, HKDF derivations, the AEAD carrying shares.
//! - [`shamir`]: t-of-n sharing of 32-byte secrets over GF(2^61 − 1).
//! - [`masking`]: the ChaCha20 PRG and mask application.
//! - [`quantize`]: fixed-point encoding, weighted FedAvg encoding, overflow checks.
//! - [`site`], [`aggregator`]: the two state machines.
//! - [`sim`]: a whole round in one process (simulator, tests).
//! - [`error`]: the error enum.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aggregator;
pub mod error;
pub mod keys;
pub mod masking;
pub mod messages;
pub mod quantize;
pub mod shamir;
pub mod sim;
pub mod site;

pub use aggregator::{Aggregator, AggregatorConfig};
pub use error::{Error, Result};
pub use messages::{
    decode, encode, site_set_digest, AdvertiseKeys, EncryptedShares, MaskedInput, RoundContext,
    ShareKeys, SiteId, UnmaskRequest, UnmaskResponse,
};
pub use quantize::{Quantizer, WeightedEncoding, WeightedMean};
pub use site::{Site, SiteConfig};
