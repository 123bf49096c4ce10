//! The whole system as `scripts/start.sh` runs it — dev node, `consentry-api` with its indexer,
//! `consentry-worker` over a patient store — driven the way its users drive it: the patient grants,
//! a clinician's job goes in through the API (with the `consentry institution job` command), the
//! worker asks the chain, runs the PK/PD twin and closes the record; the clinician gets the result
//! through the API and the patient sees the access both through the API and straight from the
//! chain. Then a wearable stream session goes through the API the same way: samples in, the
//! twin's state read and pushed (server-sent events relayed by the API), the close citing the
//! Merkle root of the samples.

use crate::common;

use common::{login, Stack};
use consentry_client::{
    runtime,
    subxt::utils::Static,
    subxt_signer::{sr25519, SecretUri},
};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::{submit, workspace_binary, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Grantee, Outcome, Purpose, PurposeSet,
};
use serde_json::{json, Value};
use std::{
    str::FromStr,
    time::{Duration, Instant},
};

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

#[tokio::test(flavor = "multi_thread")]
async fn a_clinicians_job_runs_through_api_chain_and_worker() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let chain = node.client().await?;
    let dir = tempfile::tempdir()?;

    // The hospital's store: synthetic patients ingested under its pepper.
    let pepper = Pepper::from_bytes(b"system-test-pepper-0123456789abcdef".to_vec())?;
    let (store_path, pseudonyms) = common::patient_store(dir.path(), 3, 2, &pepper)?;
    let pseudonym = pseudonyms[0];
    let stack = Stack::start(&node.ws_url(), dir.path(), &store_path).await?;
    let api_url = stack.api_url.clone();
    let http = reqwest::Client::new();

    // Enrol, claim, grant Simulation over what the PK/PD twin needs.
    let hospital = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//SystemPatient")?)?;
    let subject = common::consenting_patient(&chain, &patient, pseudonym).await?;

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
    // The accepted samples through the API's relay, after the session ended: the two accepted
    // (not the refused one), each with its unit, whose Merkle root is the one on chain.
    let sample_list = |query: &str| {
        http.get(format!("{api_url}/v1/jobs/{id}/samples{query}"))
            .bearer_auth(&clinician)
            .send()
    };
    let list: Value = sample_list("").await?.error_for_status()?.json().await?;
    let seqs: Vec<_> = list["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| (s["seq"].as_u64(), s["unit"].as_str()))
        .collect();
    assert_eq!(seqs, vec![(Some(1), Some("/min")), (Some(2), Some("%"))]);
    assert_eq!(
        record.result_digest.map(hex::encode),
        list["merkle_root"].as_str().map(str::to_string)
    );
    let fhir: Value = sample_list("?format=fhir")
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(fhir["resourceType"], "Bundle");
    assert_eq!(fhir["entry"].as_array().map(Vec::len), Some(2));
    let r = sample_list("?format=csv").await?;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await?["field"], "format");
    Ok(())
}
