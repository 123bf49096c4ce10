//! Round keys, key agreement and key derivation, and the AEAD that carries Shamir shares.
//!
//! - X25519 (`x25519-dalek`) for both agreements: `c` (share encryption) and `s` (pairwise masks).
//! - HKDF-SHA256 (`hkdf`, `sha2`) turns each agreement into a key: salt = [`RoundContext::hash`],
//!   info = a purpose label ‖ the two site ids (smaller first), so keys differ per purpose, pair
//!   and round.
//! - ChaCha20-Poly1305 (`chacha20poly1305`) encrypts the share pair for each receiver; the
//!   associated data binds the round context, sender and receiver, and the nonce is
//!   `sender ‖ receiver ‖ 0` (both directions of a pair share one key but never one nonce; each
//!   direction encrypts exactly once per round, under round-fresh keys).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::messages::{RoundContext, SiteId};
use crate::shamir::{Share, LIMBS};

const PAIRWISE_INFO: &[u8] = b"consentry-secagg/v1/pairwise-mask";
const SHARE_KEY_INFO: &[u8] = b"consentry-secagg/v1/share-encryption";
const SHARE_AD: &[u8] = b"consentry-secagg/v1/share-keys";

/// A site's secrets for one round: `c_sk`, `s_sk` (X25519, zeroized on drop by `x25519-dalek`)
/// and the self-mask seed `b` (zeroized on drop).
pub struct RoundSecrets {
    pub(crate) c_sk: StaticSecret,
    pub(crate) s_sk: StaticSecret,
    pub(crate) b: Zeroizing<[u8; 32]>,
}

impl RoundSecrets {
    /// Fresh secrets from a cryptographic RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *b);
        Self {
            c_sk: StaticSecret::random_from_rng(&mut *rng),
            s_sk: StaticSecret::random_from_rng(&mut *rng),
            b,
        }
    }

    /// `c_pk`.
    pub fn c_pk(&self) -> [u8; 32] {
        PublicKey::from(&self.c_sk).to_bytes()
    }

    /// `s_pk`.
    pub fn s_pk(&self) -> [u8; 32] {
        PublicKey::from(&self.s_sk).to_bytes()
    }
}

/// X25519 agreement of `sk` with `peer`'s public key; refuses a non-contributory (all-zero)
/// result, which a low-order public key would force.
pub fn agree(sk: &StaticSecret, peer_pk: &[u8; 32], peer: SiteId) -> Result<Zeroizing<[u8; 32]>> {
    let shared = sk.diffie_hellman(&PublicKey::from(*peer_pk));
    if !shared.was_contributory() {
        return Err(Error::NonContributoryKey { site: peer });
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

fn derive(
    ctx: &RoundContext,
    shared: &[u8; 32],
    label: &[u8],
    a: SiteId,
    b: SiteId,
) -> Zeroizing<[u8; 32]> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let mut info = Vec::with_capacity(label.len() + 8);
    info.extend_from_slice(label);
    info.extend_from_slice(&lo.to_be_bytes());
    info.extend_from_slice(&hi.to_be_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&ctx.hash()), shared)
        .expand(&info, &mut *out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The PRG seed of the pair `{u, v}`: HKDF(agreement of `s` keys, "pairwise-mask" ‖ ids).
pub fn pairwise_seed(
    ctx: &RoundContext,
    shared: &[u8; 32],
    u: SiteId,
    v: SiteId,
) -> Zeroizing<[u8; 32]> {
    derive(ctx, shared, PAIRWISE_INFO, u, v)
}

/// The AEAD key of the pair `{u, v}`: HKDF(agreement of `c` keys, "share-encryption" ‖ ids).
pub fn share_key(
    ctx: &RoundContext,
    shared: &[u8; 32],
    u: SiteId,
    v: SiteId,
) -> Zeroizing<[u8; 32]> {
    derive(ctx, shared, SHARE_KEY_INFO, u, v)
}

fn nonce(sender: SiteId, receiver: SiteId) -> Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&sender.to_be_bytes());
    n[4..8].copy_from_slice(&receiver.to_be_bytes());
    Nonce::from(n)
}

fn associated_data(ctx: &RoundContext, sender: SiteId, receiver: SiteId) -> Vec<u8> {
    let mut ad = SHARE_AD.to_vec();
    ad.extend_from_slice(&ctx.canonical_bytes());
    ad.extend_from_slice(&sender.to_be_bytes());
    ad.extend_from_slice(&receiver.to_be_bytes());
    ad
}

const SHARE_BYTES: usize = 8 * (1 + LIMBS);
const PLAINTEXT_BYTES: usize = 8 + 2 * SHARE_BYTES;

fn put_share(out: &mut Vec<u8>, s: &Share) {
    out.extend_from_slice(&s.x.to_be_bytes());
    for y in s.y {
        out.extend_from_slice(&y.to_be_bytes());
    }
}

fn get_share(bytes: &[u8]) -> Share {
    let word = |i: usize| u64::from_be_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let mut y = [0u64; LIMBS];
    for (j, v) in y.iter_mut().enumerate() {
        *v = word(1 + j);
    }
    Share { x: word(0), y }
}

/// Encrypts `(share of s_sk, share of b)` from `sender` to `receiver`.
/// Plaintext: `u32 BE sender ‖ u32 BE receiver ‖ s_share ‖ b_share`, each share
/// `u64 BE x ‖ 5 × u64 BE y`.
pub fn encrypt_shares(
    key: &[u8; 32],
    ctx: &RoundContext,
    sender: SiteId,
    receiver: SiteId,
    s_share: &Share,
    b_share: &Share,
) -> Vec<u8> {
    let mut pt = Zeroizing::new(Vec::with_capacity(PLAINTEXT_BYTES));
    pt.extend_from_slice(&sender.to_be_bytes());
    pt.extend_from_slice(&receiver.to_be_bytes());
    put_share(&mut pt, s_share);
    put_share(&mut pt, b_share);
    let aead = ChaCha20Poly1305::new(Key::from_slice(key));
    let ad = associated_data(ctx, sender, receiver);
    aead.encrypt(&nonce(sender, receiver), Payload { msg: &pt, aad: &ad })
        .expect("ChaCha20-Poly1305 encryption of a short message cannot fail")
}

/// Decrypts and checks a ciphertext from `sender` to `receiver`; returns
/// `(share of s_sk, share of b)`.
pub fn decrypt_shares(
    key: &[u8; 32],
    ctx: &RoundContext,
    sender: SiteId,
    receiver: SiteId,
    ciphertext: &[u8],
) -> Result<(Share, Share)> {
    let aead = ChaCha20Poly1305::new(Key::from_slice(key));
    let ad = associated_data(ctx, sender, receiver);
    let pt = Zeroizing::new(
        aead.decrypt(
            &nonce(sender, receiver),
            Payload {
                msg: ciphertext,
                aad: &ad,
            },
        )
        .map_err(|_| Error::DecryptionFailed { sender })?,
    );
    if pt.len() != PLAINTEXT_BYTES {
        return Err(Error::MalformedShare { sender });
    }
    let (from, to) = (
        u32::from_be_bytes(pt[0..4].try_into().expect("4 bytes")),
        u32::from_be_bytes(pt[4..8].try_into().expect("4 bytes")),
    );
    if from != sender || to != receiver {
        return Err(Error::MisaddressedShares {
            sender: from,
            receiver: to,
        });
    }
    Ok((
        get_share(&pt[8..8 + SHARE_BYTES]),
        get_share(&pt[8 + SHARE_BYTES..]),
    ))
}
