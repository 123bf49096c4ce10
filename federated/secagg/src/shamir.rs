//! Shamir t-of-n secret sharing of 32-byte secrets over the prime field GF(p), p = 2^61 − 1.
//!
//! Written here because no small, well-kept pure-Rust crate shares over a *prime* field
//! (`sharks`/`blahaj` use GF(2^8); `vsss-rs` is generic over elliptic-curve groups and far larger
//! than this). The 32-byte secret is cut into five limbs — four of 7 bytes (56 bits) and one of
//! 4 bytes — each below p and shared with its own random polynomial of degree t − 1. A share is
//! the evaluation point `x` (site id + 1, never 0) and the five limb evaluations.
//!
//! Any t shares give the secret by Lagrange interpolation at 0; t − 1 shares are independent of
//! it (each limb's polynomial has t − 1 uniformly random coefficients). After interpolation
//! every limb must fit its 56 (or 32) bits, so shares that do not belong together (shares of
//! different secrets, or fewer real shares than the polynomial's degree needs) give a uniformly
//! random field element per limb and are detected with probability 1 − 2^−(4·5+29). This is not
//! an integrity check against deliberately crafted shares (semi-honest model); the aggregator
//! checks a reconstructed `s_sk` against the advertised `s_pk`.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::messages::SiteId;

/// The Mersenne prime 2^61 − 1.
pub const P: u64 = (1 << 61) - 1;
/// Limbs per 32-byte secret.
pub const LIMBS: usize = 5;
const LIMB_BYTES: [usize; LIMBS] = [7, 7, 7, 7, 4];

/// One share of a 32-byte secret: the evaluation point and one field element per limb.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Share {
    /// Evaluation point (site id + 1), in 1..p.
    pub x: u64,
    /// Evaluations of the limb polynomials at `x`, each below p.
    pub y: [u64; LIMBS],
}

impl core::fmt::Debug for Share {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Share {{ x: {}, y: <redacted> }}", self.x)
    }
}

/// The evaluation point of a site: `id + 1` (0 would reveal the secret).
pub fn point_of(site: SiteId) -> u64 {
    u64::from(site) + 1
}

#[inline]
fn reduce(v: u128) -> u64 {
    // v < 2^122: fold the high bits onto the low ones twice.
    let r = (v as u64 & P) as u128 + (v >> 61);
    let r = (r as u64 & P) + (r >> 61) as u64;
    if r >= P {
        r - P
    } else {
        r
    }
}

#[inline]
fn add(a: u64, b: u64) -> u64 {
    let r = a + b;
    if r >= P {
        r - P
    } else {
        r
    }
}

#[inline]
fn sub(a: u64, b: u64) -> u64 {
    if a >= b {
        a - b
    } else {
        a + P - b
    }
}

#[inline]
fn mul(a: u64, b: u64) -> u64 {
    reduce(a as u128 * b as u128)
}

fn pow(mut base: u64, mut exp: u64) -> u64 {
    let mut acc = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

fn inv(a: u64) -> u64 {
    debug_assert!(a != 0);
    pow(a, P - 2)
}

fn random_element<R: RngCore + CryptoRng>(rng: &mut R) -> u64 {
    loop {
        let v = rng.next_u64() & P;
        if v != P {
            return v;
        }
    }
}

fn limbs_of(secret: &[u8; 32]) -> Zeroizing<[u64; LIMBS]> {
    let mut limbs = Zeroizing::new([0u64; LIMBS]);
    let mut at = 0;
    for (limb, &len) in limbs.iter_mut().zip(LIMB_BYTES.iter()) {
        let mut buf = [0u8; 8];
        buf[..len].copy_from_slice(&secret[at..at + len]);
        *limb = u64::from_le_bytes(buf);
        buf.zeroize();
        at += len;
    }
    limbs
}

/// Splits `secret` into one share per evaluation point in `points` (distinct, non-zero, below
/// p); any `threshold` of them reconstruct it.
pub fn split<R: RngCore + CryptoRng>(
    secret: &[u8; 32],
    threshold: usize,
    points: &[u64],
    rng: &mut R,
) -> Result<Vec<Share>> {
    if threshold == 0 || threshold > points.len() {
        return Err(Error::InvalidThreshold {
            threshold,
            sites: points.len(),
        });
    }
    check_points(points.iter().copied())?;
    let limbs = limbs_of(secret);
    let mut shares: Vec<Share> = points.iter().map(|&x| Share { x, y: [0; LIMBS] }).collect();
    let mut coeffs = Zeroizing::new(vec![0u64; threshold]);
    for (j, &limb) in limbs.iter().enumerate() {
        coeffs[0] = limb;
        for c in coeffs.iter_mut().skip(1) {
            *c = random_element(rng);
        }
        for share in shares.iter_mut() {
            // Horner: a_{t-1} x^{t-1} + ... + a_0.
            let mut acc = 0u64;
            for &c in coeffs.iter().rev() {
                acc = add(mul(acc, share.x), c);
            }
            share.y[j] = acc;
        }
    }
    Ok(shares)
}

fn check_points(points: impl Iterator<Item = u64>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for x in points {
        if x == 0 || x >= P || !seen.insert(x) {
            return Err(Error::BadShareIndex { x });
        }
    }
    Ok(())
}

/// Reconstructs the secret of `owner` (named in errors) from at least `threshold` shares.
/// Fewer than `threshold` shares is [`Error::BelowThreshold`]; shares that do not interpolate to
/// a valid secret encoding are [`Error::InconsistentShares`].
pub fn combine(owner: SiteId, shares: &[&Share], threshold: usize) -> Result<Zeroizing<[u8; 32]>> {
    if threshold == 0 || shares.len() < threshold {
        return Err(Error::BelowThreshold {
            have: shares.len(),
            need: threshold.max(1),
        });
    }
    let used = &shares[..threshold];
    check_points(used.iter().map(|s| s.x))?;
    if used.iter().any(|s| s.y.iter().any(|&v| v >= P)) {
        return Err(Error::InconsistentShares { site: owner });
    }
    // Lagrange basis at 0: l_i = Π_{m≠i} x_m / (x_m − x_i).
    let basis: Vec<u64> = used
        .iter()
        .enumerate()
        .map(|(i, si)| {
            let (mut num, mut den) = (1u64, 1u64);
            for (m, sm) in used.iter().enumerate() {
                if m != i {
                    num = mul(num, sm.x);
                    den = mul(den, sub(sm.x, si.x));
                }
            }
            mul(num, inv(den))
        })
        .collect();
    let mut secret = Zeroizing::new([0u8; 32]);
    let mut at = 0;
    for (j, &len) in LIMB_BYTES.iter().enumerate() {
        let mut limb = 0u64;
        for (s, &l) in used.iter().zip(basis.iter()) {
            limb = add(limb, mul(s.y[j], l));
        }
        if limb >> (8 * len) != 0 {
            return Err(Error::InconsistentShares { site: owner });
        }
        let bytes = Zeroizing::new(limb.to_le_bytes());
        secret[at..at + len].copy_from_slice(&bytes[..len]);
        limb.zeroize();
        at += len;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn points(n: usize) -> Vec<u64> {
        (0..n as u32).map(point_of).collect()
    }

    #[test]
    fn field_arithmetic() {
        assert_eq!(mul(P - 1, P - 1), 1); // (−1)² = 1
        assert_eq!(add(P - 1, 1), 0);
        assert_eq!(sub(0, 1), P - 1);
        for a in [1u64, 2, 3, 12345, P - 2, 1 << 60] {
            assert_eq!(mul(a, inv(a)), 1, "inverse of {a}");
        }
    }

    #[test]
    fn any_t_of_n_reconstruct_and_t_minus_1_do_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let (t, n) = (4, 7);
        let shares = split(&secret, t, &points(n), &mut rng).unwrap();
        // Every t-subset of a sliding window, and reversed order.
        for start in 0..n {
            let subset: Vec<&Share> = (0..t).map(|k| &shares[(start + k) % n]).collect();
            assert_eq!(*combine(0, &subset, t).unwrap(), secret);
            let rev: Vec<&Share> = subset.iter().rev().copied().collect();
            assert_eq!(*combine(0, &rev, t).unwrap(), secret);
        }
        let all: Vec<&Share> = shares.iter().collect();
        assert_eq!(*combine(0, &all, t).unwrap(), secret);
        // Below t: refused by count...
        assert_eq!(
            combine(0, &all[..t - 1], t).unwrap_err(),
            Error::BelowThreshold {
                have: t - 1,
                need: t
            }
        );
        // ...and interpolating t-1 shares as if the polynomial had degree t-2 gives garbage
        // (detected or, if it happens to decode, not the secret).
        match combine(0, &all[..t - 1], t - 1) {
            Ok(s) => assert_ne!(*s, secret),
            Err(e) => assert_eq!(e, Error::InconsistentShares { site: 0 }),
        }
    }

    #[test]
    fn corrupted_or_duplicate_shares_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let secret = [0xA5u8; 32];
        let mut shares = split(&secret, 3, &points(5), &mut rng).unwrap();
        let dup: Vec<&Share> = vec![&shares[0], &shares[0], &shares[1]];
        assert_eq!(
            combine(3, &dup, 3).unwrap_err(),
            Error::BadShareIndex { x: 1 }
        );
        // A share of another secret at the same point: limbs interpolate to random elements.
        shares[1] = split(&[0x3Cu8; 32], 3, &points(5), &mut rng)
            .unwrap()
            .swap_remove(1);
        let bad: Vec<&Share> = shares.iter().take(3).collect();
        assert_eq!(
            combine(3, &bad, 3).unwrap_err(),
            Error::InconsistentShares { site: 3 }
        );
        assert!(split(&secret, 6, &points(5), &mut rng).is_err());
        assert!(split(&secret, 2, &[1, 1], &mut rng).is_err());
        assert!(split(&secret, 2, &[0, 1], &mut rng).is_err());
    }

    #[test]
    fn t_minus_1_shares_are_uniform_for_each_secret() {
        // With t = 2 a single share's first limb is a + r·x for uniform r: for two different
        // secrets the share distribution must be the same. Check the low bit is balanced.
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        for secret in [[0u8; 32], [0xFFu8; 32]] {
            let ones: usize = (0..4000)
                .map(|_| (split(&secret, 2, &points(3), &mut rng).unwrap()[0].y[0] & 1) as usize)
                .sum();
            assert!(
                (1800..2200).contains(&ones),
                "low bit set {ones}/4000 times"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn roundtrip(secret in proptest::array::uniform32(any::<u8>()), n in 2usize..12, seed: u64) {
            let t = n / 2 + 1;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let shares = split(&secret, t, &points(n), &mut rng).unwrap();
            let last: Vec<&Share> = shares.iter().rev().take(t).collect();
            prop_assert_eq!(*combine(1, &last, t).unwrap(), secret);
        }
    }
}
