//! `audit verify` against a real dev node: a proof built from the node's own `state_getReadProof`
//! verifies; any altered proof node, altered record, wrong block hash, unfinalized block or
//! mismatched key is rejected.

use codec::Decode;
use consentry_client::{
    runtime,
    subxt::{
        backend::{legacy::LegacyRpcMethods, rpc::RpcClient},
        utils::Static,
    },
    subxt_signer::{sr25519, SecretUri},
    Client, ConsentryConfig,
};
use consentry_e2e::{submit, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Grantee, NewestFirst, Purpose, PurposeSet,
};
use consentry_wallet::{
    cli::{dispatch, AuditArgs, AuditCmd, Command, VerifyArgs},
    keystore,
    proof::{self, HexBytes, ProofDoc, Record, VerifyError},
};
use sp_core::H256;
use std::str::FromStr;

/// Enrol, claim, grant and request on a fresh dev chain; returns the granted record's subject and
/// id.
async fn granted_record(api: &Client) -> anyhow::Result<(u64, u64)> {
    let worker = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Patient/audit")?)?;
    let pseudonym = [0x44; 32];
    let labs = CategorySet::of(&[DataCategory::Labs]);
    submit(
        api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &worker,
    )
    .await?;
    let ev = submit(api, &runtime::tx().identity().claim(pseudonym), &patient).await?;
    let subject = ev
        .find_first::<runtime::identity::events::Claimed>()?
        .expect("claimed")
        .subject;
    submit(
        api,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(labs),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;
    let ev = submit(
        api,
        &runtime::tx().audit().request_access(
            pseudonym,
            Static(Purpose::Simulation),
            Static(labs),
            [9; 32],
        ),
        &worker,
    )
    .await?;
    let granted = ev
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("granted");
    assert_eq!(granted.subject, subject);
    Ok((subject, granted.id))
}

/// Builds the proof document the way the API does: at the finalized head, from the node's RPC.
async fn proof_doc(
    api: &Client,
    legacy: &LegacyRpcMethods<ConsentryConfig>,
    subject: u64,
    id: u64,
) -> anyhow::Result<ProofDoc> {
    let at = legacy.chain_get_finalized_head().await?;
    let header = legacy.chain_get_header(Some(at)).await?.expect("header");
    // The key as subxt computes it from the metadata; the wallet computes it independently.
    let key = api.storage().address_bytes(
        &runtime::storage()
            .audit()
            .records(Some(subject), Static(NewestFirst::of(id))),
    )?;
    assert_eq!(
        key,
        proof::records_key(Some(subject), id),
        "the wallet's key derivation matches the metadata's"
    );
    let read = legacy
        .state_get_read_proof([key.as_slice()], Some(at))
        .await?;
    let value = api
        .storage()
        .at(at)
        .fetch_raw(key.clone())
        .await?
        .expect("record stored");
    Ok(ProofDoc {
        id,
        subject: Some(subject),
        block_number: header.number,
        block_hash: H256(at.0),
        recorded_block_number: None,
        recorded_block_hash: None,
        extrinsic_index: None,
        storage_key: HexBytes(key),
        proof: read.proof.into_iter().map(|b| HexBytes(b.0)).collect(),
        record: HexBytes(value),
        record_json: None,
    })
}

/// Reads one HTTP request: (request line and headers, body).
async fn read_request(sock: &mut tokio::net::TcpStream) -> (String, String) {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
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
            if buf.len() >= split + 4 + len || n == 0 {
                return (text[..split].to_string(), text[split + 4..].to_string());
            }
        }
    }
}

/// Serves the API's side of `audit verify`: `GET /v1/access/{id}/proof` answering `body`, and,
/// with `auth`, the signed-challenge sign-in (the signature is checked with sr25519) with the
/// proof behind the bearer token. Handles `n` requests; returns the base URL.
async fn serve(
    body: String,
    id: u64,
    auth: bool,
    n: usize,
    genesis: [u8; 32],
) -> anyhow::Result<String> {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let origin = url.clone();
    tokio::spawn(async move {
        let mut challenge = String::new();
        let token = "t0ken-for-test";
        for _ in 0..n {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (head, req_body) = read_request(&mut sock).await;
            let line = head.lines().next().unwrap_or_default().to_string();
            let (status, reply) = if line.starts_with("POST /v1/auth/challenge ") {
                let v: serde_json::Value = serde_json::from_str(&req_body).unwrap();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                challenge = consentry_signin::SignInMessage {
                    origin: origin.clone(),
                    account: v["account"].as_str().unwrap().to_string(),
                    genesis,
                    nonce: [5; 32],
                    issued_at: now,
                    expires_at: now + 120,
                }
                .to_string();
                (
                    "200 OK",
                    serde_json::json!({"challenge": challenge, "expires_in": 120}).to_string(),
                )
            } else if line.starts_with("POST /v1/auth/session ") {
                let v: serde_json::Value = serde_json::from_str(&req_body).unwrap();
                let account = consentry_client::subxt::utils::AccountId32::from_str(
                    v["account"].as_str().unwrap(),
                )
                .unwrap();
                let sig: [u8; 64] =
                    hex::decode(v["signature"].as_str().unwrap().trim_start_matches("0x"))
                        .unwrap()
                        .try_into()
                        .unwrap();
                let ok = v["challenge"] == challenge.as_str()
                    && sr25519::verify(
                        &sr25519::Signature(sig),
                        consentry_signin::wrap(&challenge),
                        &sr25519::PublicKey(account.0),
                    );
                if ok {
                    (
                        "200 OK",
                        serde_json::json!({"token": token, "expires_in": 3600}).to_string(),
                    )
                } else {
                    ("401 Unauthorized", "{}".to_string())
                }
            } else if line.starts_with(&format!("GET /v1/access/{id}/proof ")) {
                let authorized = head
                    .lines()
                    .any(|l| l.to_ascii_lowercase() == format!("authorization: bearer {token}"));
                if auth && !authorized {
                    ("401 Unauthorized", "{}".to_string())
                } else {
                    ("200 OK", body.clone())
                }
            } else {
                ("404 Not Found", "{}".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            sock.write_all(resp.as_bytes()).await.unwrap();
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread")]
async fn proofs_verify_and_any_tampering_is_rejected() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let legacy = LegacyRpcMethods::<ConsentryConfig>::new(
        RpcClient::from_insecure_url(node.ws_url()).await?,
    );
    let (subject, id) = granted_record(&api).await?;
    let doc = proof_doc(&api, &legacy, subject, id).await?;
    let header = legacy
        .chain_get_header(Some(doc.block_hash.0.into()))
        .await?
        .expect("header");
    let root = H256(header.state_root.0);

    // Untampered: verifies, and the record is the one the runtime API returns.
    let rec = proof::verify_proof(&doc, root)?;
    let via_api = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().audit_api().record(Some(subject), id))
        .await?
        .expect("record");
    let via_api = Record::decode(&mut &codec::Encode::encode(&via_api)[..])?;
    assert_eq!(rec, via_api);
    assert_eq!(rec.state, AccessState::Granted);
    assert_eq!(rec.job_digest, [9; 32]);
    let verified = proof::verify_at_node(&doc, &node.ws_url()).await?;
    assert_eq!(verified.record.id, id);
    assert_eq!(verified.state_root, root);

    // One flipped byte in any proof node.
    for i in 0..doc.proof.len() {
        let mut bad = doc.clone();
        let n = &mut bad.proof[i].0;
        let mid = n.len() / 2;
        n[mid] ^= 0x01;
        let err = proof::verify_at_node(&bad, &node.ws_url())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::BadProof(_) | VerifyError::Absent(..) | VerifyError::RecordMismatch
            ),
            "node {i}: {err}"
        );
    }
    // A proof node missing.
    let mut bad = doc.clone();
    bad.proof.pop();
    assert!(proof::verify_proof(&bad, root).is_err());

    // One flipped byte in the record.
    let mut bad = doc.clone();
    bad.record.0[10] ^= 0x01;
    assert_eq!(
        proof::verify_proof(&bad, root),
        Err(VerifyError::RecordMismatch)
    );

    // The right proof presented for another id or subject: the key no longer matches.
    let mut bad = doc.clone();
    bad.id = id + 1;
    assert!(matches!(
        proof::verify_proof(&bad, root),
        Err(VerifyError::WrongStorageKey { .. })
    ));
    let mut bad = doc.clone();
    bad.subject = None;
    assert!(matches!(
        proof::verify_proof(&bad, root),
        Err(VerifyError::WrongStorageKey { .. })
    ));

    // A wrong block hash (another finalized block's) is caught by asking the node.
    let mut bad = doc.clone();
    let parent = header.parent_hash;
    bad.block_hash = H256(parent.0);
    assert!(matches!(
        proof::verify_at_node(&bad, &node.ws_url()).await,
        Err(VerifyError::WrongBlockHash { .. })
    ));
    // A block the node has not finalized.
    let mut bad = doc.clone();
    bad.block_number += 1000;
    assert!(matches!(
        proof::verify_at_node(&bad, &node.ws_url()).await,
        Err(VerifyError::NotFinalized { .. })
    ));
    // A state root from another block: the proof does not check out.
    let other_root = legacy
        .chain_get_header(Some(parent))
        .await?
        .expect("parent")
        .state_root;
    assert!(proof::verify_proof(&doc, H256(other_root.0)).is_err());

    // The command, from a proof file, with --json.
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_vec(&doc)?)?;
    let verify = |path: std::path::PathBuf, json: bool| {
        Command::Audit(AuditArgs {
            cmd: AuditCmd::Verify(VerifyArgs {
                api: None,
                id: Some(id),
                keystore: None,
                passphrase_env: None,
                token_env: None,
                proof_file: Some(path),
                node: node.ws_url(),
                api_tls: Default::default(),
                json,
            }),
        })
    };
    let out = dispatch(verify(good.clone(), true)).await?;
    assert_eq!(out.json["verified"], true);
    assert_eq!(out.json["id"], id);
    assert_eq!(out.json["record"]["state"], "granted");
    assert_eq!(out.json["record"]["purpose"], "simulation");

    let mut flipped = doc.clone();
    flipped.proof[0].0[5] ^= 0x80;
    let badf = dir.path().join("bad.json");
    std::fs::write(&badf, serde_json::to_vec(&flipped)?)?;
    let err = dispatch(verify(badf.clone(), true))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("verification FAILED"), "{err}");

    // The pointers to the recording block must agree with the proven record and the node.
    let mut pointed = doc.clone();
    pointed.recorded_block_number = Some(rec.block);
    pointed.recorded_block_hash = Some(H256(
        legacy
            .chain_get_block_hash(Some(rec.block.into()))
            .await?
            .expect("hash")
            .0,
    ));
    proof::verify_at_node(&pointed, &node.ws_url()).await?;
    let mut bad = pointed.clone();
    bad.recorded_block_number = Some(rec.block - 1);
    assert!(matches!(
        proof::verify_at_node(&bad, &node.ws_url()).await,
        Err(VerifyError::RecordedBlockMismatch { .. })
    ));
    let mut bad = pointed.clone();
    bad.recorded_block_hash = Some(H256(parent.0));
    assert!(matches!(
        proof::verify_at_node(&bad, &node.ws_url()).await,
        Err(VerifyError::WrongBlockHash { .. })
    ));

    // From an API over HTTP, signing in with the auditor's key (Dave, from a keystore).
    let dave_ks = dir.path().join("dave.json");
    keystore::write(
        &dave_ks,
        &keystore::seal("//Dave", "pw", keystore::KdfParams::INSECURE_FOR_TESTS)?,
        false,
    )?;
    std::env::set_var("AUDIT_VERIFY_PASS", "pw");
    let from_api = |api: String, keystore: Option<std::path::PathBuf>| {
        Command::Audit(AuditArgs {
            cmd: AuditCmd::Verify(VerifyArgs {
                api: Some(api),
                id: Some(id),
                keystore,
                passphrase_env: Some("AUDIT_VERIFY_PASS".into()),
                token_env: None,
                proof_file: None,
                node: node.ws_url(),
                api_tls: Default::default(),
                json: true,
            }),
        })
    };
    let genesis = consentry_wallet::session::genesis_of(&node.ws_url()).await?;
    let honest = serve(serde_json::to_string(&pointed)?, id, true, 3, genesis).await?;
    let out = dispatch(from_api(honest, Some(dave_ks.clone()))).await?;
    assert_eq!(out.json["verified"], true);
    // Without a key the API's 401 comes back as advice.
    let locked = serve(serde_json::to_string(&pointed)?, id, true, 1, genesis).await?;
    let err = dispatch(from_api(locked, None))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--keystore"), "{err}");
    // An API that serves a tampered record is caught.
    let mut lying = doc.clone();
    lying.record.0[12] ^= 0x04;
    let liar = serve(serde_json::to_string(&lying)?, id, false, 1, genesis).await?;
    let err = dispatch(from_api(liar, None))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("differs from the value proven on chain"),
        "{err}"
    );

    // And through `run`, as the `consentry` binary calls it.
    let (g, b) = (verify(good, false), verify(badf, false));
    tokio::task::spawn_blocking(move || {
        consentry_wallet::cli::run(g).expect("good proof verifies");
        assert!(consentry_wallet::cli::run(b).is_err());
    })
    .await?;
    Ok(())
}
