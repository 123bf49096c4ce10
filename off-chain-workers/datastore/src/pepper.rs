//! The institution's pepper and the pseudonyms derived from it.
//!
//! `pseudonym = SHA-256(pepper ‖ identifier)`. The pepper is a secret that never leaves the
//! institution: without it a pseudonym on chain cannot be linked to a medical record number by
//! hashing candidate identifiers. Destroying the pepper (and this store's mapping) unlinks every
//! pseudonym for good.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A 32-byte pseudonym as it appears on chain (`consentry_primitives::Pseudonym`).
pub type Pseudonym = consentry_primitives::Pseudonym;

/// Minimum pepper length: 16 bytes = 128 bits of secret if the file is random.
pub const MIN_PEPPER_LEN: usize = 16;

/// The institution's secret pepper. `Debug` never prints it.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pepper({} bytes, redacted)", self.0.len())
    }
}

impl Pepper {
    /// A pepper from raw bytes; errors if shorter than [`MIN_PEPPER_LEN`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.len() < MIN_PEPPER_LEN {
            return Err(Error::Pepper(format!(
                "{} bytes is too short; use at least {MIN_PEPPER_LEN} random bytes \
                 (e.g. `head -c 32 /dev/urandom > pepper`)",
                bytes.len()
            )));
        }
        Ok(Self(bytes))
    }

    /// Loads the pepper from a secret file. The file's bytes are the pepper, except that one
    /// trailing `\n` or `\r\n` is dropped, so `echo secret > file` and `printf secret > file` give
    /// the same pseudonyms.
    pub fn load(path: &Path) -> Result<Self> {
        let mut bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        Self::from_bytes(bytes).map_err(|e| {
            Error::Pepper(format!("{}: {}", path.display(), e).replace("pepper: ", ""))
        })
    }

    /// `SHA-256(pepper ‖ identifier)`.
    pub fn pseudonym(&self, identifier: &str) -> Pseudonym {
        let mut h = Sha256::new();
        h.update(&self.0);
        h.update(identifier.as_bytes());
        h.finalize().into()
    }
}

/// Lower-case hex of a pseudonym: the store's key and what logs print.
pub fn to_hex(p: &Pseudonym) -> String {
    hex::encode(p)
}

/// Parses 64 hex digits (an optional `0x` prefix is accepted).
pub fn from_hex(s: &str) -> Option<Pseudonym> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}
