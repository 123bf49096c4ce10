//! The wallet end to end on a real dev node: an institution (Bob's key, imported from `//Bob`)
//! enrols a patient whose key was created by the wallet; the patient claims, grants, lists,
//! narrows, sees who accessed their data (granted and denied), revokes through a relay, manages a
//! guardian and is forgotten. Failures come back with the dispatch error's name.

use consentry_client::{
    runtime,
    subxt::{
        backend::rpc::RpcClient,
        rpc_params,
        utils::{AccountId32, Static},
    },
    subxt_signer::sr25519,
};
use consentry_e2e::Node;
use consentry_primitives::{
    CategorySet, ConsentStatus, DataCategory, Grantee, Purpose, PurposeSet,
};
use consentry_wallet::{
    chain::Chain,
    cli::{
        self, dispatch, Command, Common, GrantArgs, InstitutionArgs, InstitutionCmd, WalletArgs,
        WalletCmd,
    },
    institution, keystore,
    keystore::KdfParams,
    patient::{self, AmendSpec},
};
use sha2::{Digest, Sha256};
use std::{path::Path, str::FromStr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn keystore_for(dir: &Path, name: &str, secret: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let file = keystore::seal(secret, "pw", KdfParams::INSECURE_FOR_TESTS).unwrap();
    keystore::write(&path, &file, false).unwrap();
    path
}

fn common(node: &Node, keystore: &Path) -> Common {
    std::env::set_var("WALLET_FLOW_PASS", "pw");
    Common {
        keystore: Some(keystore.to_path_buf()),
        passphrase_env: Some("WALLET_FLOW_PASS".into()),
        node: node.ws_url(),
        relay: None,
        api_tls: Default::default(),
        json: true,
    }
}

/// A minimal HTTP relay, as the API's `/v1/relay` behaves: takes `{"extrinsic":"0x.."}`, submits it
/// with `author_submitExtrinsic` and answers `{"hash":"0x.."}`. Serves `n` requests.
async fn relay(node_url: String, n: usize) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let rpc = RpcClient::from_insecure_url(&node_url).await?;
    tokio::spawn(async move {
        for _ in 0..n {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let body = loop {
                let mut chunk = [0u8; 4096];
                let k = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(split) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= split + 4 + len {
                        break text[split + 4..split + 4 + len].to_string();
                    }
                }
            };
            assert!(String::from_utf8_lossy(&buf).starts_with("POST /v1/relay "));
            let req: serde_json::Value = serde_json::from_str(&body).unwrap();
            let hash: String = rpc
                .request(
                    "author_submitExtrinsic",
                    rpc_params![req["extrinsic"].as_str().unwrap()],
                )
                .await
                .unwrap();
            let reply = serde_json::json!({ "hash": hash }).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            sock.write_all(resp.as_bytes()).await.unwrap();
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread")]
async fn patient_and_institution_wallet_flow() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let dir = tempfile::tempdir()?;

    // Keys: a fresh patient mnemonic; the hospital's service key imported from //Bob.
    let phrase = keystore::generate_mnemonic(12)?.to_string();
    let patient_ks = keystore_for(dir.path(), "patient.json", &phrase);
    let bob_ks = keystore_for(dir.path(), "bob.json", "//Bob");
    let patient_key = keystore::load(&patient_ks, "pw")?;
    let patient_addr = patient_key.address();
    assert_eq!(
        keystore::load(&bob_ks, "pw")?.account,
        AccountId32::from(sr25519::dev::bob().public_key())
    );

    // The hospital enrols the patient through the CLI.
    let pepper = dir.path().join("pepper");
    institution::new_pepper(&pepper)?;
    let out = dispatch(Command::Institution(InstitutionArgs {
        common: common(&node, &bob_ks),
        cmd: InstitutionCmd::Enrol {
            identifier: "MRN-12345".into(),
            pepper_file: pepper.clone(),
            patient: patient_addr.clone(),
        },
    }))
    .await?;
    let pepper_bytes = std::fs::read_to_string(&pepper)?
        .trim_end()
        .as_bytes()
        .to_vec();
    let expected: [u8; 32] = Sha256::new()
        .chain_update(&pepper_bytes)
        .chain_update(b"MRN-12345")
        .finalize()
        .into();
    assert_eq!(
        out.json["pseudonym"],
        format!("0x{}", hex::encode(expected))
    );
    assert_eq!(out.json["institution"], 0);
    assert_eq!(out.json["patient"], patient_addr);
    let link = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().identity().pseudonyms(expected))
        .await?
        .expect("enrolment on chain");
    assert_eq!(link.patient, Some(patient_key.account.clone()));

    // The patient claims (library), and a second claim is refused by name.
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let claimed = patient::claim(&chain, &patient_key.keypair, expected).await?;
    let subject = claimed.subject;
    assert_eq!(
        patient::subject_of(&chain, &patient_key.account).await?,
        Some(subject)
    );
    let e = patient::claim(&chain, &patient_key.keypair, expected)
        .await
        .err()
        .unwrap()
        .to_string();
    // Refused by the pool's permission check before it takes block space (the pallet would
    // say `Identity::AlreadyClaimed`).
    assert!(
        e.contains("claims only an unclaimed enrolment addressed to it"),
        "{e}"
    );

    // Grant through `run`, as the binary does (subject found from the signer's account).
    let grant = |purpose: &str, categories: &str| {
        Command::Wallet(WalletArgs {
            common: common(&node, &patient_ks),
            cmd: WalletCmd::Grant(GrantArgs {
                institution: Some(0),
                role: None,
                purpose: purpose.into(),
                categories: categories.into(),
                from: None,
                until: None,
                days: Some(30),
                max_uses: Some(5),
                subject: None,
            }),
        })
    };
    let g = grant("simulation,inference", "labs,genomic");
    tokio::task::spawn_blocking(move || cli::run(g)).await??;
    // A typo never reaches the chain, and the error names the flag.
    let e = dispatch(grant("simulatoin", "labs"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--purpose: unknown purpose 'simulatoin'; expected one of treatment,"),
        "{e}"
    );

    // List consents through the CLI's JSON.
    let list = |cmd| {
        Command::Wallet(WalletArgs {
            common: common(&node, &patient_ks),
            cmd,
        })
    };
    let out = dispatch(list(WalletCmd::Consents { subject: None })).await?;
    let consents = out.json["consents"].as_array().expect("array").clone();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0]["grantee"], "institution 0");
    assert_eq!(
        consents[0]["purposes"],
        serde_json::json!(["inference", "simulation"])
    );
    assert_eq!(
        consents[0]["categories"],
        serde_json::json!(["labs", "genomic"])
    );
    assert_eq!(consents[0]["max_uses"], 5);
    let consent_id = consents[0]["id"].as_u64().expect("id");

    // Narrowing is accepted; widening is refused by name.
    patient::amend(
        &chain,
        &patient_key.keypair,
        consent_id,
        &AmendSpec {
            categories: Some(CategorySet::of(&[DataCategory::Labs])),
            ..Default::default()
        },
    )
    .await?;
    let e = patient::amend(
        &chain,
        &patient_key.keypair,
        consent_id,
        &AmendSpec {
            categories: Some(CategorySet::of(&[
                DataCategory::Labs,
                DataCategory::Imaging,
            ])),
            ..Default::default()
        },
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("Consent::WideningNotAllowed"), "{e}");
    let (_, c) = patient::consents(&chain, subject).await?.remove(0);
    assert_eq!(c.categories, CategorySet::of(&[DataCategory::Labs]));
    assert_eq!(
        c.purposes,
        PurposeSet::of(&[Purpose::Simulation, Purpose::Inference])
    );
    assert_eq!(c.grantee, Grantee::Institution(0));

    // Bob's worker asks twice: once covered (granted), once for genomic data (denied).
    let bob = sr25519::dev::bob();
    let ask = |cats: CategorySet| {
        runtime::tx().audit().request_access(
            expected,
            Static(Purpose::Simulation),
            Static(cats),
            [1; 32],
        )
    };
    let ev = api
        .tx()
        .sign_and_submit_then_watch_default(&ask(CategorySet::of(&[DataCategory::Labs])), &bob)
        .await?
        .wait_for_finalized_success()
        .await?;
    let granted = ev
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("granted")
        .id;
    let ev = api
        .tx()
        .sign_and_submit_then_watch_default(&ask(CategorySet::of(&[DataCategory::Genomic])), &bob)
        .await?
        .wait_for_finalized_success()
        .await?;
    let denied = ev
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("denied")
        .id;

    // The patient sees both, newest first, with the reason for the denial.
    let records = patient::accesses(&chain, subject).await?;
    assert_eq!(
        records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![denied, granted]
    );
    assert_eq!(records[1].consents.to_vec(), vec![consent_id]);
    let out = dispatch(list(WalletCmd::Accesses { subject: None })).await?;
    let acc = out.json["accesses"].as_array().expect("array");
    assert_eq!(acc[0]["id"], denied);
    assert_eq!(acc[0]["state"], "denied: CategoryNotCovered");
    assert_eq!(acc[1]["state"], "granted");
    assert_eq!(acc[1]["institution"], 0);
    assert_eq!(
        acc[1]["requested_by"],
        AccountId32::from(bob.public_key()).to_string()
    );
    assert_eq!(acc[1]["emergency"], false);

    // Revoke through the relay; the wallet still waits for finality and sees the result.
    let relay_url = relay(node.ws_url(), 1).await?;
    let mut c_relay = common(&node, &patient_ks);
    c_relay.relay = Some(relay_url);
    let out = dispatch(Command::Wallet(WalletArgs {
        common: c_relay,
        cmd: WalletCmd::Revoke {
            consent: consent_id,
        },
    }))
    .await?;
    assert_eq!(out.json["consent"], consent_id);
    let (_, c) = patient::consents(&chain, subject).await?.remove(0);
    assert!(
        matches!(c.status, ConsentStatus::Revoked { .. }),
        "{:?}",
        c.status
    );
    // Revoking again is refused by name.
    let e = patient::revoke(&chain, &patient_key.keypair, consent_id)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Consent::NotActive"), "{e}");

    // A guardian is appointed, then removed.
    let guardian = sr25519::Keypair::from_uri(
        &consentry_client::subxt_signer::SecretUri::from_str("//Guardian/1")?,
    )?;
    let g_acct = AccountId32::from(guardian.public_key());
    patient::guardian_add(&chain, &patient_key.keypair, g_acct.clone()).await?;
    let storage = api.storage().at_latest().await?;
    assert!(storage
        .fetch(
            &runtime::storage()
                .identity()
                .guardians(subject, g_acct.clone())
        )
        .await?
        .is_some());
    patient::guardian_remove(&chain, &patient_key.keypair, subject, g_acct.clone()).await?;
    let storage = api.storage().at_latest().await?;
    assert!(storage
        .fetch(&runtime::storage().identity().guardians(subject, g_acct))
        .await?
        .is_none());

    // Forgetting needs --yes; then the subject is erased and new grants fail.
    let e = dispatch(list(WalletCmd::Forget {
        subject,
        yes: false,
    }))
    .await
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("--yes"), "{e}");
    dispatch(list(WalletCmd::Forget { subject, yes: true })).await?;
    let e = dispatch(grant("simulation", "labs"))
        .await
        .unwrap_err()
        .to_string();
    // Erasure unlinked the account from its subject: the wallet finds no subject to grant for.
    assert!(e.starts_with("--subject:"), "{e}");
    assert!(patient::subject_of(&chain, &patient_key.account)
        .await?
        .is_none());

    // Service keys: Charlie, institution 1's key, withdraws itself (an institution retiring a
    // leaked key), and governance (the dev chain's sudo key) adds it back.
    let charlie_ks = keystore_for(dir.path(), "charlie.json", "//Charlie");
    let charlie = AccountId32::from(sr25519::dev::charlie().public_key());
    let key_cmd = |ks: &Path, cmd| {
        Command::Institution(InstitutionArgs {
            common: common(&node, ks),
            cmd: InstitutionCmd::Key(cmd),
        })
    };
    let owner = |a: AccountId32| {
        let api = api.clone();
        async move {
            api.storage()
                .at_latest()
                .await?
                .fetch(&runtime::storage().identity().service_keys(a))
                .await
        }
    };
    assert_eq!(owner(charlie.clone()).await?, Some(1));
    let out = dispatch(key_cmd(
        &charlie_ks,
        cli::KeyCmd::Remove {
            account: charlie.to_string(),
        },
    ))
    .await?;
    assert_eq!(out.json["account"], charlie.to_string());
    assert_eq!(owner(charlie.clone()).await?, None);
    // A bad address names the flag.
    let e = dispatch(key_cmd(
        &charlie_ks,
        cli::KeyCmd::Remove {
            account: "5notanaddress".into(),
        },
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("--account: '5notanaddress' is not an SS58 address"),
        "{e}"
    );
    let alice_ks = keystore_for(dir.path(), "alice.json", "//Alice");
    dispatch(key_cmd(
        &alice_ks,
        cli::KeyCmd::Add {
            institution: 1,
            account: charlie.to_string(),
        },
    ))
    .await?;
    assert_eq!(owner(charlie.clone()).await?, Some(1));
    Ok(())
}
