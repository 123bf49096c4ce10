//! The worker's service key.
//!
//! In production the key comes from the wallet's passphrase-encrypted keystore
//! (`consentry_wallet::keystore`: scrypt → XChaCha20-Poly1305, written by `consentry wallet
//! import --keystore` or `consentry wallet new`), so no secret appears on the command line or in
//! the process list. The passphrase is read from `--passphrase-file` or
//! `CONSENTRY_WORKER_PASSPHRASE`.
//!
//! `--key-uri` remains for development only: it needs `--dev`, accepts only the well-known dev
//! keys (`//Name` over the public dev phrase) and the worker checks at start-up that the node runs
//! a development or local chain.

use std::path::Path;

use anyhow::{bail, Context};
use consentry_client::subxt_signer::sr25519::Keypair;

use crate::Args;

/// The environment variable holding the keystore passphrase (when no `--passphrase-file`).
pub const PASSPHRASE_ENV: &str = "CONSENTRY_WORKER_PASSPHRASE";

/// A loaded service key.
pub struct ServiceKey {
    /// The key pair.
    pub keypair: Keypair,
    /// Whether it is a dev key given with `--dev --key-uri` (the chain must then be a dev chain).
    pub dev: bool,
}

/// Whether a chain name (`system_chain`) is one of Consentry's development or local chains.
pub fn is_dev_chain(name: &str) -> bool {
    matches!(name, "Consentry Development" | "Consentry Local Testnet")
}

/// Whether `uri` is a well-known dev key: a derivation path over the public dev phrase, with no
/// phrase or password of its own.
pub fn is_dev_uri(uri: &str) -> bool {
    let uri = uri.trim();
    uri.starts_with("//") && !uri.contains("///") && !uri.contains(' ')
}

/// Writes a new secret file readable by its owner only (fails if it exists).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Reads a passphrase file: its content without one trailing newline (`\n` or `\r\n`).
pub fn read_passphrase_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--passphrase-file {}: cannot read", path.display()))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(text.to_string())
}

/// The service key the arguments name.
pub fn load(args: &Args) -> anyhow::Result<ServiceKey> {
    match (&args.keystore, &args.key_uri) {
        (Some(path), None) => {
            let passphrase = match &args.passphrase_file {
                Some(f) => read_passphrase_file(f)?,
                None => std::env::var(PASSPHRASE_ENV).map_err(|_| {
                    anyhow::anyhow!(
                        "--keystore {}: no passphrase; give --passphrase-file PATH or set \
                         {PASSPHRASE_ENV}",
                        path.display()
                    )
                })?,
            };
            let key = consentry_wallet::keystore::load(path, &passphrase)?;
            Ok(ServiceKey {
                keypair: key.keypair,
                dev: false,
            })
        }
        (None, Some(uri)) => {
            if !args.dev {
                bail!("--key-uri is for development only: add --dev, or use --keystore");
            }
            if !is_dev_uri(uri) {
                bail!(
                    "--dev --key-uri takes only a well-known dev key (`//Bob`); a real secret \
                     never goes on the command line: import it with `consentry wallet import \
                     --keystore FILE` and start the worker with --keystore FILE"
                );
            }
            let key = consentry_wallet::keystore::Key::from_secret_uri(uri).context("--key-uri")?;
            Ok(ServiceKey {
                keypair: key.keypair,
                dev: true,
            })
        }
        (Some(_), Some(_)) => bail!("give either --keystore or --dev --key-uri, not both"),
        (None, None) => bail!(
            "no service key: give --keystore FILE (written by `consentry wallet import \
             --keystore FILE`) with --passphrase-file or {PASSPHRASE_ENV}; on a dev chain, \
             --dev --key-uri //Bob"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use consentry_wallet::keystore::{self, KdfParams};

    fn args(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut v = vec!["consentry-worker", "--store", "s.sqlite"];
        v.extend_from_slice(extra);
        Args::try_parse_from(v)
    }

    #[test]
    fn a_keystore_opens_with_its_passphrase_file_and_not_without_it() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let ks = dir.path().join("hospital.json");
        let file = keystore::seal("//Bob", "correct horse", KdfParams::INSECURE_FOR_TESTS)?;
        keystore::write(&ks, &file, false)?;
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "correct horse\n")?;
        let ks_arg = ks.to_str().unwrap();
        let a = args(&[
            "--keystore",
            ks_arg,
            "--passphrase-file",
            pass.to_str().unwrap(),
        ])?;
        let key = load(&a)?;
        assert!(!key.dev);
        let bob = keystore::Key::from_secret_uri("//Bob")?;
        assert_eq!(key.keypair.public_key().0, bob.keypair.public_key().0);

        std::fs::write(&pass, "wrong")?;
        let err = load(&a).err().expect("wrong passphrase refused");
        assert!(format!("{err:#}").contains("cannot decrypt"), "{err:#}");
        Ok(())
    }

    #[test]
    fn a_secret_uri_needs_dev_and_a_dev_key() -> anyhow::Result<()> {
        // Without --dev clap refuses --key-uri.
        assert!(args(&["--key-uri", "//Bob"]).is_err());
        assert!(load(&args(&["--dev", "--key-uri", "//Bob"])?)?.dev);
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk//Bob";
        let err = load(&args(&["--dev", "--key-uri", phrase])?)
            .err()
            .expect("a phrase on the command line is refused");
        assert!(format!("{err}").contains("well-known dev key"), "{err}");
        let err = load(&args(&[])?).err().expect("no key");
        assert!(format!("{err}").contains("--keystore"), "{err}");
        assert!(is_dev_chain("Consentry Development"));
        assert!(!is_dev_chain("Consentry Consortium"));
        Ok(())
    }
}
