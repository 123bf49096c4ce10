//! The whole system as `scripts/start.sh` runs it — dev node, `consentry-api` with its indexer,
//! `consentry-worker` over a patient store — driven the way its users drive it: the patient grants,
//! a clinician's job goes in through the API (with the `consentry institution job` command), the
//! worker asks the chain, runs the PK/PD twin and closes the record; the clinician gets the result
//! through the API and the patient sees the access both through the API and straight from the
//! chain. Then a wearable stream session goes through the API the same way: samples in, the
//! twin's state read and pushed (server-sent events relayed by the API), the close citing the
//! Merkle root of the samples.

use consentry_client::{
    runtime,
    subxt::utils::Static,
    subxt_signer::{sr25519, SecretUri},
};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::{free_port, submit, workspace_binary, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Grantee, Outcome, Purpose, PurposeSet,
};
use serde_json::{json, Value};
use std::{
    process::{Child, Command, Stdio},
    str::FromStr,
    time::{Duration, Instant},
};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(name: &str, args: &[String]) -> anyhow::Result<Process> {
    let bin = workspace_binary(name);
    anyhow::ensure!(
        bin.exists(),
        "{} not built (scripts/test.sh builds it)",
        bin.display()
    );
    Ok(Process(
        Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    ))
}

async fn wait_ok(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{url} never answered")
}

/// Runs the `consentry` command as a user would, with `--json` and the passphrase from the
/// environment; its JSON answer, or its error message.
async fn consentry(args: &[&str]) -> anyhow::Result<Value> {
    let out = tokio::process::Command::new(workspace_binary("consentry"))
        .args(args)
        .args(["--json", "--passphrase-env", "SYSTEM_TEST_PASS"])
        .env("SYSTEM_TEST_PASS", "correct horse")
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "consentry {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

async fn login(
    http: &reqwest::Client,
    api: &str,
    key: &sr25519::Keypair,
) -> anyhow::Result<String> {
    let account = consentry_client::subxt::utils::AccountId32::from(key.public_key()).to_string();
    let c: Value = http
        .post(format!("{api}/v1/auth/challenge"))
        .json(&json!({ "account": account }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let challenge = c["challenge"].as_str().unwrap_or_default().to_string();
    let s: Value = http
        .post(format!("{api}/v1/auth/session"))
        .json(&json!({
            "account": account,
            "challenge": challenge,
            "signature": hex::encode(key.sign(&consentry_signin::wrap(&challenge)).0),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(s["token"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinicians_job_runs_through_api_chain_and_worker() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let chain = node.client().await?;
    let dir = tempfile::tempdir()?;

    // The hospital's store: synthetic patients ingested under its pepper.
    let synth = dir.path().join("synth");
    let summary = consentry_datastore::synth::write(3, 2, &synth, None)?;
    let pepper = Pepper::from_bytes(b"system-test-pepper-0123456789abcdef".to_vec())?;
    let store_path = dir.path().join("patients.sqlite");
    let mut store = Store::open(&store_path)?;
    for b in &summary.bundles {
        store.ingest_bundle_str(&pepper, &std::fs::read_to_string(b)?)?;
    }
    store.ingest_genotypes(&pepper, &std::fs::read_to_string(&summary.genotype_file)?)?;
    let identifier = consentry_datastore::synth::generate(3, 2)[0]
        .identifier
        .clone();
    let pseudonym = pepper.pseudonym(&identifier);

    let worker_port = free_port();
    let api_port = free_port();
    let worker_url = format!("http://127.0.0.1:{worker_port}");
    let api_url = format!("http://127.0.0.1:{api_port}");
    // The worker's job API takes only the API's credential (the API sends it as a bearer token).
    let worker_token = dir.path().join("worker.token");
    std::fs::write(
        &worker_token,
        "system-test-worker-credential-0123456789abcdef",
    )?;
    let _worker = spawn(
        "consentry-worker",
        &[
            "--node".into(),
            node.ws_url(),
            "--dev".into(),
            "--key-uri".into(),
            "//Bob".into(),
            "--api-token-file".into(),
            worker_token.display().to_string(),
            "--store".into(),
            store_path.display().to_string(),
            "--jobs".into(),
            dir.path().join("jobs.sqlite").display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{worker_port}"),
        ],
    )?;
    let _api = spawn(
        "consentry-api",
        &[
            "--node".into(),
            node.ws_url(),
            "--database".into(),
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("index.db").display()
            ),
            "--listen".into(),
            format!("127.0.0.1:{api_port}"),
            "--worker-url".into(),
            worker_url.clone(),
            "--worker-institution".into(),
            "0".into(),
            "--worker-token-file".into(),
            worker_token.display().to_string(),
        ],
    )?;
    let http = reqwest::Client::new();
    wait_ok(&http, &format!("{worker_url}/health")).await?;
    wait_ok(&http, &format!("{api_url}/ready")).await?;

    // Enrol, claim, grant Simulation over what the PK/PD twin needs.
    let hospital = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//SystemPatient")?)?;
    submit(
        &chain,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &hospital,
    )
    .await?;
    submit(&chain, &runtime::tx().identity().claim(pseudonym), &patient).await?;
    let subject = chain
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");
    submit(
        &chain,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(CategorySet::of(&[
                DataCategory::Demographics,
                DataCategory::Labs,
                DataCategory::Genomic,
            ])),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;

    // The clinician runs the job with the `consentry` command, signed in to the API with the
    // hospital's service key; it comes back with the twin's profile.
    let keystore = dir.path().join("hospital.json").display().to_string();
    consentry(&[
        "wallet",
        "import",
        "--uri",
        "//Bob",
        "--keystore",
        &keystore,
    ])
    .await?;
    let job = consentry(&[
        "institution",
        "job",
        "--keystore",
        &keystore,
        "--api",
        &api_url,
        "--node",
        &node.ws_url(),
        "--pseudonym",
        &hex::encode(pseudonym),
        "--workload",
        "simulation",
        "--params",
        r#"{"drug": "warfarin", "dose_mg": 5.0, "interval_h": 24.0, "n_doses": 3}"#,
        "--timeout",
        "120",
    ])
    .await?;
    assert_eq!(job["state"], "completed", "{job}");
    assert!(job["result"].to_string().contains("warfarin"), "{job}");
    let access_id = job["access_id"].as_u64().expect("access id");

    // The chain closed the record with the job's result digest; exactly one read happened.
    let record = consentry_e2e::record(&chain, job["subject"].as_u64(), access_id).await?;
    assert_eq!(record.state.0, AccessState::Closed(Outcome::Completed));
    assert_eq!(
        record.result_digest.map(hex::encode),
        job["result_digest"].as_str().map(str::to_string)
    );
    assert_eq!(Store::open(&store_path)?.read_log(access_id)?.len(), 1);

    // The patient sees it through the API once indexed, and straight from the chain.
    let mine = login(&http, &api_url, &patient).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page: Value = http
            .get(format!("{api_url}/v1/access"))
            .bearer_auth(&mine)
            .send()
            .await?
            .json()
            .await?;
        if page["items"][0]["state"] == "completed" {
            assert_eq!(page["items"][0]["id"], access_id);
            assert_eq!(page["items"][0]["result_digest"], job["result_digest"]);
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "never indexed: {page}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (records, _) = chain
        .runtime_api()
        .at_latest()
        .await?
        .call(
            runtime::apis()
                .audit_api()
                .records_by_subject(subject, None, 10),
        )
        .await?;
    assert_eq!(
        records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![access_id]
    );

    // A ward's monitor streams the patient's vital signs under a Treatment consent over
    // wearable data, through the API with the hospital's session.
    submit(
        &chain,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Treatment])),
            Static(CategorySet::of(&[DataCategory::Wearable])),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;
    let clinician = login(&http, &api_url, &hospital).await?;
    let queued: Value = http
        .post(format!("{api_url}/v1/jobs"))
        .bearer_auth(&clinician)
        .json(&json!({"pseudonym": hex::encode(pseudonym), "workload": "stream", "params": {}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = queued["id"].as_str().expect("job id").to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = http
            .get(format!("{api_url}/v1/jobs/{id}/twin"))
            .bearer_auth(&clinician)
            .send()
            .await?;
        if r.status() == 200 {
            break;
        }
        // Not open until the grant is finalized: this API's own problem document, 409.
        assert_eq!(r.status(), 409);
        assert_eq!(r.json::<Value>().await?["type"], "/problems/conflict");
        anyhow::ensure!(Instant::now() < deadline, "the stream session never opened");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut events = http
        .get(format!("{api_url}/v1/jobs/{id}/twin/events"))
        .bearer_auth(&clinician)
        .send()
        .await?;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let p = hex::encode(pseudonym);
    let samples = json!([
        {"seq": 1, "patient": p, "t_ms": now - 2000, "kind": "heart_rate", "value": 64, "unit": "/min"},
        {"seq": 2, "patient": p, "t_ms": now - 1000, "kind": "spo2", "value": 99, "unit": "%"},
        {"seq": 3, "patient": p, "t_ms": now - 1000, "kind": "spo2", "value": 98, "unit": "%"},
    ]);
    let answer: Value = http
        .post(format!("{api_url}/v1/jobs/{id}/samples"))
        .bearer_auth(&clinician)
        .json(&samples)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(
        (answer["accepted"].as_u64(), answer["refused"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(answer["results"][2]["reason"], "out_of_order");
    assert_eq!(
        answer["state"]["twin"]["latest"]["spo2"]["value"],
        json!(99.0)
    );
    // The subscriber gets the state with both samples through the API's relay.
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text.contains("\"version\":2") {
        let chunk = tokio::time::timeout_at(deadline.into(), events.chunk())
            .await??
            .expect("the event stream ended early");
        text.push_str(std::str::from_utf8(&chunk)?);
    }
    assert!(text.contains("event: twin"), "{text}");
    let r = http
        .post(format!("{api_url}/v1/jobs/{id}/close"))
        .bearer_auth(&clinician)
        .send()
        .await?;
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let j: Value = http
            .get(format!("{api_url}/v1/jobs/{id}"))
            .bearer_auth(&clinician)
            .send()
            .await?
            .json()
            .await?;
        if j["state"] == "completed" {
            break j;
        }
        anyhow::ensure!(Instant::now() < deadline, "the session never closed: {j}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(done["result"]["samples"], 2);
    let record = consentry_e2e::record(
        &chain,
        done["subject"].as_u64(),
        done["access_id"].as_u64().expect("access id"),
    )
    .await?;
    assert_eq!(record.state.0, AccessState::Closed(Outcome::Completed));
    assert_eq!(record.purpose.0, Purpose::Treatment);
    assert_eq!(
        record.result_digest.map(hex::encode),
        done["result"]["merkle_root"].as_str().map(str::to_string)
    );
    Ok(())
}
