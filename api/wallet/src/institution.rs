//! What an institution's service key does from the wallet: enrol patients under pseudonyms and
//! manage service keys.
//!
//! The pseudonym is `SHA-256(pepper ‖ identifier)` with the same pepper-file rules as the
//! institution's datastore (`off-chain-workers/datastore/src/pepper.rs`), so the pseudonym the
//! wallet enrols is the one the datastore files the patient's data under.

use crate::{chain::Chain, keystore::write_secret_file, patient::TxInfo};
use anyhow::{anyhow, bail, Context, Result};
use consentry_client::{runtime, subxt::utils::AccountId32, subxt_signer::sr25519::Keypair};
use consentry_primitives::{InstitutionId, Pseudonym};
use rand::{rngs::OsRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The shortest pepper accepted: 16 bytes.
pub const MIN_PEPPER_LEN: usize = 16;

/// Reads a pepper file: its bytes, less one trailing `\n` or `\r\n` (as the datastore reads it).
pub fn load_pepper(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path)
        .with_context(|| format!("--pepper-file: cannot read {}", path.display()))?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.len() < MIN_PEPPER_LEN {
        bail!(
            "--pepper-file: {} holds {} bytes; a pepper needs at least {MIN_PEPPER_LEN} random bytes (create one with `consentry institution pepper new PATH`)",
            path.display(),
            bytes.len()
        );
    }
    Ok(bytes)
}

/// Creates a new pepper file (mode 0600): 32 random bytes written as 64 hex digits and a newline,
/// so it survives copy-paste and editors. Refuses to overwrite: replacing a pepper unlinks every
/// pseudonym made with it.
pub fn new_pepper(path: &Path) -> Result<()> {
    if path.exists() {
        bail!(
            "PATH: {} already exists; a new pepper would unlink every pseudonym made with the old one. Choose another path",
            path.display()
        );
    }
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let text = format!("{}\n", hex::encode(raw));
    write_secret_file(path, text.as_bytes())
}

/// `SHA-256(pepper ‖ identifier)`.
pub fn pseudonym(pepper: &[u8], identifier: &str) -> Pseudonym {
    let mut h = Sha256::new();
    h.update(pepper);
    h.update(identifier.as_bytes());
    h.finalize().into()
}

/// Result of [`enrol`].
#[derive(Serialize, Debug, Clone)]
pub struct Enrolled {
    /// The pseudonym posted, hex (give it to the patient to claim).
    pub pseudonym: String,
    /// The enrolling institution.
    pub institution: InstitutionId,
    /// The patient's wallet account.
    pub patient: AccountId32,
    /// The transaction.
    pub tx: TxInfo,
}

/// Enrols `patient` under `pseudonym`, signed by a service key of a data-custodian institution.
pub async fn enrol(
    chain: &Chain,
    key: &Keypair,
    pseudonym: Pseudonym,
    patient: AccountId32,
) -> Result<Enrolled> {
    let s = chain
        .submit(&runtime::tx().identity().enrol(pseudonym, patient), key)
        .await?;
    let ev = s
        .events
        .find_first::<runtime::identity::events::Enrolled>()?
        .ok_or_else(|| anyhow!("enrol finalized without an Enrolled event"))?;
    Ok(Enrolled {
        pseudonym: format!("0x{}", hex::encode(pseudonym)),
        institution: ev.institution,
        patient: ev.patient,
        tx: (&s).into(),
    })
}

/// Adds a service key to `institution`. The chain only lets governance do this; the wallet wraps
/// the call in `Sudo::sudo`, so it works where the signer holds the sudo key (dev and test
/// chains). On a council-governed chain a council motion is needed instead.
pub async fn key_add(
    chain: &Chain,
    sudo_key: &Keypair,
    institution: InstitutionId,
    account: AccountId32,
) -> Result<TxInfo> {
    use runtime::runtime_types::pallet_consentry_identity::pallet::Call as IdentityCall;
    let inner = runtime::runtime_types::consentry_runtime::RuntimeCall::Identity(
        IdentityCall::add_service_key {
            institution,
            key: account,
        },
    );
    let s = chain
        .submit(&runtime::tx().sudo().sudo(inner), sudo_key)
        .await?;
    // Sudo reports the inner call's failure in an event, not as the extrinsic's failure.
    if let Some(done) = s.events.find_first::<runtime::sudo::events::Sudid>()? {
        if let Err(e) = done.sudo_result {
            bail!("the chain refused add_service_key: {e:?}; check --institution and that --account is a fresh account");
        }
    }
    Ok((&s).into())
}

/// Withdraws a service key, signed by another key of the same institution.
pub async fn key_remove(chain: &Chain, key: &Keypair, account: AccountId32) -> Result<TxInfo> {
    let s = chain
        .submit(&runtime::tx().identity().remove_service_key(account), key)
        .await?;
    Ok((&s).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonym_is_sha256_of_pepper_then_identifier() {
        // SHA-256("0123456789abcdefMRN-12345"), computed independently with `sha256sum`.
        let p = pseudonym(b"0123456789abcdef", "MRN-12345");
        assert_eq!(
            hex::encode(p),
            "89de0437edd4faaccb05eb8c2c48d8af1f255d9f1befa6990954692aeab281a7"
        );
    }

    #[test]
    fn pepper_files_are_private_checked_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pepper");
        new_pepper(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let pepper = load_pepper(&path).unwrap();
        assert_eq!(pepper.len(), 64);
        assert!(new_pepper(&path)
            .unwrap_err()
            .to_string()
            .contains("already exists"));

        let short = dir.path().join("short");
        std::fs::write(&short, "tooshort\n").unwrap();
        let e = load_pepper(&short).unwrap_err().to_string();
        assert!(
            e.starts_with("--pepper-file:") && e.contains("8 bytes"),
            "{e}"
        );
        // A trailing newline is not part of the pepper (as in the datastore).
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "0123456789abcdef\n").unwrap();
        std::fs::write(&b, "0123456789abcdef").unwrap();
        assert_eq!(load_pepper(&a).unwrap(), load_pepper(&b).unwrap());
    }
}
