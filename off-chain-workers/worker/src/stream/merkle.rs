//! The digest a streaming session's ledger record cites: the root of a binary Merkle tree over
//! the session's accepted samples, in the order accepted.
//!
//! The tree is the Polkadot SDK's `binary-merkle-tree` (leaves hashed, pairs hashed unsorted, an
//! odd node promoted) with SHA-256 as the hash, and each leaf is the sample's RFC 8785 canonical
//! JSON as the device sent it. So an auditor who holds the samples recomputes the root with any
//! SHA-256 and JCS implementation, and one sample can be proven to be in the session with
//! `binary_merkle_tree::merkle_proof` without disclosing the others. A session with no sample
//! cites the all-zero root (the crate's root of no leaves).

use sha2::{Digest, Sha256};

/// SHA-256 as a `hash_db::Hasher`, the hash the Merkle tree is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256Hasher;

impl hash_db::Hasher for Sha256Hasher {
    type Out = [u8; 32];
    type StdHasher = hash256_std_hasher::Hash256StdHasher;
    const LENGTH: usize = 32;

    fn hash(x: &[u8]) -> [u8; 32] {
        Sha256::digest(x).into()
    }
}

/// The leaf hash of one sample's canonical JSON.
pub fn leaf(canonical: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical).into()
}

/// The root over leaf hashes, in order.
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    binary_merkle_tree::merkle_root_raw::<Sha256Hasher, _>(leaves.iter().copied())
}

/// The root over samples as stored (their canonical JSON, in order).
pub fn root_of_stored(stored: &[String]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = stored.iter().map(|s| leaf(s.as_bytes())).collect();
    root(&leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(parts: &[&[u8]]) -> [u8; 32] {
        let mut d = Sha256::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().into()
    }

    /// Three leaves, written out by hand: H(H(H(a)‖H(b))‖H(c)), the odd leaf promoted.
    #[test]
    fn the_root_is_the_documented_tree() {
        let (a, b, c) = (h(&[b"a"]), h(&[b"b"]), h(&[b"c"]));
        assert_eq!(root(&[a]), a);
        assert_eq!(root(&[a, b]), h(&[&a, &b]));
        assert_eq!(root(&[a, b, c]), h(&[&h(&[&a, &b]), &c]));
        assert_eq!(root(&[]), [0u8; 32]);
        assert_ne!(root(&[b, a]), root(&[a, b]), "order matters");
    }

    #[test]
    fn a_sample_is_proven_without_the_others() {
        let leaves: Vec<[u8; 32]> = (0u8..5).map(|i| leaf(&[i])).collect();
        let proof =
            binary_merkle_tree::merkle_proof::<Sha256Hasher, _, _>((0u8..5).map(|i| vec![i]), 3);
        assert_eq!(proof.root, root(&leaves));
        assert!(binary_merkle_tree::verify_proof::<Sha256Hasher, _, _>(
            &proof.root,
            proof.proof.clone(),
            proof.number_of_leaves,
            proof.leaf_index,
            &proof.leaf,
        ));
    }
}
