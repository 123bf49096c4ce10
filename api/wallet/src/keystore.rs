//! The encrypted keystore: one signing key per file.
//!
//! The secret kept is the key's *secret URI* — a BIP-39 phrase, optionally with a derivation path
//! (`//Alice` is the dev phrase with the path `//Alice`) — so a key imported from a mnemonic or a
//! dev URI reproduces exactly the account the user expects. It is encrypted with
//! XChaCha20-Poly1305 under a key stretched from the passphrase with scrypt (random salt, random
//! 24-byte nonce). The file's clear header (version, KDF parameters, address) is bound to the
//! ciphertext as associated data, so editing any of it — for example swapping in another address
//! to mislead the user — makes decryption fail just as a wrong passphrase does.
//!
//! Files are written to a temporary file with mode 0600 in the same directory and renamed into
//! place, so a crash never leaves a half-written keystore and the secret is never world-readable.

use anyhow::{anyhow, bail, Context, Result};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use consentry_client::{
    subxt::utils::AccountId32,
    subxt_signer::{bip39::Mnemonic, sr25519::Keypair, ExposeSecret, SecretString, SecretUri},
};
use rand::{rngs::OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::{
    io::Write,
    path::{Path, PathBuf},
    str::FromStr,
};

/// The file format version this code writes and reads.
pub const VERSION: u32 = 1;

/// scrypt cost parameters. Stored in the file so they can be raised later without breaking old
/// keystores.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// log2 of the CPU/memory cost N.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl KdfParams {
    /// What new keystores use: N = 2^15, r = 8 (32 MiB, a fraction of a second in release builds).
    pub const DEFAULT: KdfParams = KdfParams {
        log_n: 15,
        r: 8,
        p: 1,
    };
    /// Cheap parameters for tests only (never chosen by the CLI).
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        log_n: 8,
        r: 8,
        p: 1,
    };

    /// Refuses parameters that would make reading a (possibly hostile) file exhaust memory.
    fn checked(self) -> Result<scrypt::Params> {
        if self.log_n > 20 || self.r == 0 || self.r > 32 || self.p == 0 || self.p > 16 {
            bail!(
                "keystore KDF parameters out of range (log_n {}, r {}, p {}); the file is damaged or not a Consentry keystore",
                self.log_n,
                self.r,
                self.p
            );
        }
        scrypt::Params::new(self.log_n, self.r, self.p, 32)
            .map_err(|e| anyhow!("keystore KDF parameters invalid: {e}"))
    }
}

/// The JSON file. Everything but `ciphertext` is readable without the passphrase.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct KeystoreFile {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// The account's SS58 address (generic prefix 42), for display without the passphrase.
    pub address: String,
    /// Always `"scrypt"`.
    pub kdf: String,
    /// scrypt parameters.
    pub kdf_params: KdfParams,
    /// Always `"xchacha20poly1305"`.
    pub cipher: String,
    /// 16 random bytes, hex.
    pub salt: String,
    /// 24 random bytes, hex.
    pub nonce: String,
    /// The encrypted secret URI with its 16-byte tag, hex.
    pub ciphertext: String,
}

impl KeystoreFile {
    /// The associated data: the clear header, so it cannot be edited undetected.
    fn aad(&self) -> Vec<u8> {
        format!(
            "consentry-keystore/v{}/{}/{}/{}/{}/{}/{}",
            self.version,
            self.address,
            self.kdf,
            self.kdf_params.log_n,
            self.kdf_params.r,
            self.kdf_params.p,
            self.cipher
        )
        .into_bytes()
    }
}

/// A decrypted key.
pub struct Key {
    /// The signing key pair.
    pub keypair: Keypair,
    /// Its account.
    pub account: AccountId32,
}

impl Key {
    /// Derives the key pair of a secret URI (a BIP-39 phrase with an optional `//hard/soft` path,
    /// or a dev URI such as `//Alice`).
    pub fn from_secret_uri(uri: &str) -> Result<Key> {
        let parsed = SecretUri::from_str(uri.trim())
            .map_err(|e| anyhow!("not a valid mnemonic or secret URI: {e}"))?;
        let keypair = Keypair::from_uri(&parsed)
            .map_err(|e| anyhow!("not a valid mnemonic or secret URI: {e}"))?;
        let account: AccountId32 = keypair.public_key().into();
        Ok(Key { keypair, account })
    }

    /// The SS58 address (generic prefix 42).
    pub fn address(&self) -> String {
        self.account.to_string()
    }
}

/// A fresh BIP-39 mnemonic of 12 or 24 words from the OS random number generator.
pub fn generate_mnemonic(words: usize) -> Result<Mnemonic> {
    let len = match words {
        12 => 16,
        24 => 32,
        other => bail!("--words: {other} is not supported; use 12 or 24"),
    };
    let mut entropy = vec![0u8; len];
    OsRng.fill_bytes(&mut entropy);
    Mnemonic::from_entropy(&entropy).map_err(|e| anyhow!("mnemonic generation failed: {e}"))
}

/// `~/.consentry/wallet.json`.
pub fn default_path() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".consentry").join("wallet.json")
}

/// Encrypts `secret_uri` under `passphrase`.
pub fn seal(secret_uri: &str, passphrase: &str, params: KdfParams) -> Result<KeystoreFile> {
    let key = Key::from_secret_uri(secret_uri)?;
    if passphrase.is_empty() {
        bail!("passphrase: must not be empty");
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let mut file = KeystoreFile {
        version: VERSION,
        address: key.address(),
        kdf: "scrypt".into(),
        kdf_params: params,
        cipher: "xchacha20poly1305".into(),
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: String::new(),
    };
    let cipher = cipher(passphrase, &salt, params)?;
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret_uri.trim().as_bytes(),
                aad: &file.aad(),
            },
        )
        .map_err(|_| anyhow!("encryption failed"))?;
    file.ciphertext = hex::encode(ct);
    Ok(file)
}

/// Decrypts a keystore and checks the key matches the address it claims.
pub fn open(file: &KeystoreFile, passphrase: &str) -> Result<Key> {
    if file.version != VERSION {
        bail!(
            "keystore version {} is not supported (this wallet reads version {VERSION})",
            file.version
        );
    }
    if file.kdf != "scrypt" || file.cipher != "xchacha20poly1305" {
        bail!(
            "keystore uses {}/{}; only scrypt/xchacha20poly1305 is supported",
            file.kdf,
            file.cipher
        );
    }
    let salt = hex::decode(&file.salt).context("keystore salt is not hex")?;
    let nonce = hex::decode(&file.nonce).context("keystore nonce is not hex")?;
    let ct = hex::decode(&file.ciphertext).context("keystore ciphertext is not hex")?;
    if nonce.len() != 24 || salt.len() < 16 {
        bail!("keystore salt or nonce has the wrong length; the file is damaged");
    }
    let plain = cipher(passphrase, &salt, file.kdf_params)?
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: &file.aad(),
            },
        )
        .map_err(|_| {
            anyhow!("cannot decrypt the keystore: wrong passphrase, or the file has been modified")
        })?;
    let uri = SecretString::new(
        String::from_utf8(plain)
            .map_err(|_| anyhow!("keystore secret is not UTF-8"))?
            .into_boxed_str(),
    );
    let key = Key::from_secret_uri(uri.expose_secret())?;
    if key.address() != file.address {
        bail!(
            "keystore secret belongs to {}, not to the address {} the file claims; the file has been modified",
            key.address(),
            file.address
        );
    }
    Ok(key)
}

/// Reads and parses a keystore file (without decrypting it).
pub fn read(path: &Path) -> Result<KeystoreFile> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "--keystore: cannot read {} (create one with `consentry wallet new` or `consentry wallet import`)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("--keystore: {} is not a Consentry keystore", path.display()))
}

/// Reads and decrypts the keystore at `path`.
pub fn load(path: &Path, passphrase: &str) -> Result<Key> {
    open(&read(path)?, passphrase).with_context(|| format!("--keystore {}", path.display()))
}

/// Writes `file` to `path` atomically with mode 0600. Refuses to replace an existing keystore
/// unless `overwrite`, because that would destroy a key.
pub fn write(path: &Path, file: &KeystoreFile, overwrite: bool) -> Result<()> {
    ensure_writable(path, overwrite)?;
    let json = serde_json::to_vec_pretty(file)?;
    write_secret_file(path, &json)
}

/// Fails unless `path` is free or `overwrite` is set (checked before asking for a passphrase).
pub fn ensure_writable(path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        bail!(
            "--keystore: {} already exists; pass --force to replace it (its key will be lost) or choose another --keystore path",
            path.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` via a 0600 temporary file and a rename, creating the parent
/// directory (0700) if needed.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| -> Result<()> {
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn cipher(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<XChaCha20Poly1305> {
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), salt, &params.checked()?, &mut key)
        .map_err(|e| anyhow!("key derivation failed: {e}"))?;
    let cipher = XChaCha20Poly1305::new((&key).into());
    key.fill(0);
    Ok(cipher)
}
