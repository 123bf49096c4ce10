//! The PRG that expands a 32-byte seed into a mask vector in Z_{2^32}^L.
//!
//! `PRG(seed)` is the ChaCha20 keystream keyed by `seed` (RFC 8439 ChaCha20 from the `chacha20`
//! crate, which `chacha20poly1305` already uses, with its SIMD back ends chosen at run time;
//! all-zero nonce, block counter from 0) read as little-endian `u32` words. For the lengths used
//! here (far below 2^32 blocks) this is the same stream as `rand_chacha::ChaCha20Rng::from_seed`,
//! which the tests check. Seeds are the
//! self-mask seed `b` (32 fresh random bytes) or an HKDF output ([`crate::keys::pairwise_seed`]),
//! so every seed is uniform and used for one vector of one round.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;

/// Whether a mask is added or subtracted modulo 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// `out += PRG(seed)`.
    Add,
    /// `out −= PRG(seed)`.
    Sub,
}

const CHUNK_WORDS: usize = 1024;

/// `out ← out ± PRG(seed)` modulo 2^32, word by word.
pub fn apply_mask(seed: &[u8; 32], out: &mut [u32], sign: Sign) {
    let mut cipher = ChaCha20::new(seed.into(), &[0u8; 12].into());
    let mut buf = [0u8; 4 * CHUNK_WORDS];
    for chunk in out.chunks_mut(CHUNK_WORDS) {
        let bytes = &mut buf[..4 * chunk.len()];
        bytes.fill(0);
        cipher.apply_keystream(bytes);
        let words = bytes
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        match sign {
            Sign::Add => chunk
                .iter_mut()
                .zip(words)
                .for_each(|(o, m)| *o = o.wrapping_add(m)),
            Sign::Sub => chunk
                .iter_mut()
                .zip(words)
                .for_each(|(o, m)| *o = o.wrapping_sub(m)),
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
}

/// `PRG(seed)` of length `len`.
pub fn prg(seed: &[u8; 32], len: usize) -> Vec<u32> {
    let mut out = vec![0u32; len];
    apply_mask(seed, &mut out, Sign::Add);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_consistent_and_seed_dependent() {
        let a = prg(&[1; 32], 5000);
        assert_eq!(prg(&[1; 32], 1030), a[..1030]);
        let b = prg(&[2; 32], 5000);
        let equal = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(equal < 3, "{equal} equal words between two seeds");
    }

    #[test]
    fn same_stream_as_rand_chacha() {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
        let expected: Vec<u32> = (0..10_000).map(|_| rng.next_u32()).collect();
        assert_eq!(prg(&[5; 32], 10_000), expected);
    }

    #[test]
    fn add_then_sub_is_identity() {
        let orig: Vec<u32> = (0..3000u32).map(|i| i.wrapping_mul(2654435761)).collect();
        let mut v = orig.clone();
        apply_mask(&[9; 32], &mut v, Sign::Add);
        assert_ne!(v, orig);
        apply_mask(&[9; 32], &mut v, Sign::Sub);
        assert_eq!(v, orig);
    }

    #[test]
    fn matches_chacha20_test_vector() {
        // RFC 8439 §2.3.2-style check with an all-zero key, nonce 0, counter 0: the first
        // keystream bytes are 76 b8 e0 ad a0 f1 3d 90 (well-known ChaCha20 zero-key output).
        let w = prg(&[0; 32], 2);
        assert_eq!(w[0], u32::from_le_bytes([0x76, 0xb8, 0xe0, 0xad]));
        assert_eq!(w[1], u32::from_le_bytes([0xa0, 0xf1, 0x3d, 0x90]));
    }

    #[test]
    fn words_look_uniform() {
        let v = prg(&[3; 32], 1 << 16);
        let top_bit = v.iter().filter(|&&w| w >> 31 == 1).count() as f64 / v.len() as f64;
        assert!((top_bit - 0.5).abs() < 0.01, "top bit frequency {top_bit}");
    }
}
