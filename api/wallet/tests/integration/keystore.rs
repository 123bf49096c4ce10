//! The encrypted keystore: round trips, wrong passphrases, tampering, file modes, and the CLI's
//! key commands.

use consentry_client::subxt_signer::{bip39::Mnemonic, sr25519};
use consentry_wallet::{
    cli::{dispatch, Command, Common, WalletArgs, WalletCmd},
    keystore::{self, KdfParams, KeystoreFile},
};
use std::path::Path;

/// Alice's well-known dev address (SS58, prefix 42).
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

fn sealed(dir: &Path, secret: &str, pass: &str) -> std::path::PathBuf {
    let path = dir.join("w.json");
    let file = keystore::seal(secret, pass, KdfParams::INSECURE_FOR_TESTS).unwrap();
    keystore::write(&path, &file, false).unwrap();
    path
}

#[test]
fn round_trip_restores_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed(dir.path(), "//Alice", "correct horse");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("Alice"), "the secret is not stored in clear");
    let file: KeystoreFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.address, ALICE);
    assert_eq!(file.version, 1);
    assert_eq!(hex::decode(&file.salt).unwrap().len(), 16);
    assert_eq!(hex::decode(&file.nonce).unwrap().len(), 24);

    let key = keystore::load(&path, "correct horse").unwrap();
    assert_eq!(key.address(), ALICE);
    // It signs as Alice: the signature verifies under Alice's public key.
    let sig = key.keypair.sign(b"consent");
    assert!(sr25519::verify(
        &sig,
        b"consent",
        &sr25519::dev::alice().public_key()
    ));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn two_seals_of_one_key_use_fresh_salt_and_nonce() {
    let a = keystore::seal("//Alice", "p", KdfParams::INSECURE_FOR_TESTS).unwrap();
    let b = keystore::seal("//Alice", "p", KdfParams::INSECURE_FOR_TESTS).unwrap();
    assert_ne!(a.salt, b.salt);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[test]
fn mnemonics_round_trip_to_the_phrase_key() {
    for words in [12, 24] {
        let m = keystore::generate_mnemonic(words).unwrap();
        assert_eq!(m.words().count(), words);
        let phrase = m.to_string();
        let expected = sr25519::Keypair::from_phrase(&Mnemonic::parse(&phrase).unwrap(), None)
            .unwrap()
            .public_key();
        let dir = tempfile::tempdir().unwrap();
        let path = sealed(dir.path(), &phrase, "pw");
        let key = keystore::load(&path, "pw").unwrap();
        assert_eq!(key.keypair.public_key().0, expected.0);
    }
    let e = keystore::generate_mnemonic(13).unwrap_err().to_string();
    assert!(e.starts_with("--words"), "{e}");
}

#[test]
fn a_wrong_passphrase_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed(dir.path(), "//Alice", "right");
    let e = format!("{:#}", keystore::load(&path, "wrong").err().unwrap());
    assert!(e.contains("wrong passphrase"), "{e}");
    assert!(e.contains("--keystore"), "{e}");
}

#[test]
fn any_edit_to_the_file_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed(dir.path(), "//Alice", "pw");
    let original: KeystoreFile =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();

    // One flipped ciphertext bit.
    let mut f = original.clone();
    let mut ct = hex::decode(&f.ciphertext).unwrap();
    ct[3] ^= 1;
    f.ciphertext = hex::encode(ct);
    assert!(keystore::open(&f, "pw").is_err());

    // Another address in the clear header (e.g. to make the user send consents elsewhere).
    let mut f = original.clone();
    f.address = sr25519::dev::bob().public_key().to_account_id().to_string();
    let e = keystore::open(&f, "pw").err().unwrap().to_string();
    assert!(e.contains("modified"), "{e}");

    // Weakened KDF parameters.
    let mut f = original.clone();
    f.kdf_params.log_n -= 1;
    assert!(keystore::open(&f, "pw").is_err());

    // Absurd KDF parameters are refused before any work is done.
    let mut f = original.clone();
    f.kdf_params.log_n = 40;
    let e = keystore::open(&f, "pw").err().unwrap().to_string();
    assert!(e.contains("out of range"), "{e}");

    // Not a keystore at all.
    std::fs::write(&path, "{}").unwrap();
    let e = format!("{:#}", keystore::load(&path, "pw").err().unwrap());
    assert!(e.contains("not a Consentry keystore"), "{e}");

    // The original still opens.
    assert_eq!(keystore::open(&original, "pw").unwrap().address(), ALICE);
}

#[test]
fn an_existing_keystore_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed(dir.path(), "//Alice", "pw");
    let other = keystore::seal("//Bob", "pw", KdfParams::INSECURE_FOR_TESTS).unwrap();
    let e = keystore::write(&path, &other, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--force"), "{e}");
    assert_eq!(keystore::load(&path, "pw").unwrap().address(), ALICE);
    keystore::write(&path, &other, true).unwrap();
    assert_ne!(keystore::load(&path, "pw").unwrap().address(), ALICE);
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn common(path: &Path, var: &str) -> Common {
    Common {
        keystore: Some(path.to_path_buf()),
        passphrase_env: Some(var.into()),
        node: "ws://127.0.0.1:1".into(),
        relay: None,
        api_tls: Default::default(),
        json: true,
    }
}

#[tokio::test]
async fn cli_import_then_address_with_the_default_kdf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("wallet.json");
    std::env::set_var("WALLET_TEST_PASS_1", "s3cret pass");
    let out = dispatch(Command::Wallet(WalletArgs {
        common: common(&path, "WALLET_TEST_PASS_1"),
        cmd: WalletCmd::Import {
            uri: Some("//Alice".into()),
            mnemonic_env: None,
            force: false,
        },
    }))
    .await
    .unwrap();
    assert_eq!(out.json["address"], ALICE);
    let file = keystore::read(&path).unwrap();
    assert_eq!(file.kdf_params, KdfParams::DEFAULT);
    assert_eq!(
        keystore::load(&path, "s3cret pass").unwrap().address(),
        ALICE
    );

    let out = dispatch(Command::Wallet(WalletArgs {
        common: common(&path, "WALLET_TEST_PASS_1"),
        cmd: WalletCmd::Address,
    }))
    .await
    .unwrap();
    assert_eq!(out.json["address"], ALICE);

    // A second import without --force is refused and leaves the key alone.
    let e = dispatch(Command::Wallet(WalletArgs {
        common: common(&path, "WALLET_TEST_PASS_1"),
        cmd: WalletCmd::Import {
            uri: Some("//Bob".into()),
            mnemonic_env: None,
            force: false,
        },
    }))
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("already exists"), "{e}");

    // An unset passphrase variable names the flag.
    let e = dispatch(Command::Wallet(WalletArgs {
        common: common(&dir.path().join("x.json"), "WALLET_TEST_UNSET_VAR"),
        cmd: WalletCmd::New {
            words: 12,
            force: false,
        },
    }))
    .await
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("--passphrase-env"), "{e}");
    assert!(!dir.path().join("x.json").exists(), "nothing half-written");
}
