//! The worker against a real `--dev` node: the real binary, real SQLite stores, real signatures.
//!
//! - a simulation job runs only under a finalized grant, reads exactly the granted categories
//!   once, and closes the record with the digest of the result it returns; after revocation the
//!   next job is denied on chain and reads nothing; bad input is a problem+json naming the field;
//! - a Simulation grant does not let an `inference` job run;
//! - the living twin (`twin`) runs only under a Treatment grant that covers the medications;
//! - `kill -9` between grant and completion: after a restart the record is closed exactly once
//!   and the job never runs twice.

use crate::common;

use common::*;
use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519};
use consentry_e2e::Node;
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, DenyReason, Outcome, Purpose, PurposeSet,
};
use serde_json::{json, Value};

fn sim_scope() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

fn sim_job(pseudonym: [u8; 32]) -> Value {
    json!({
        "requester": "dr. example (cardiology)",
        "pseudonym": hex::encode(pseudonym),
        "workload": "simulation",
        "params": {"drug": "warfarin", "dose_mg": 5.0, "interval_h": 24.0, "n_doses": 5},
    })
}

fn digest_hex(d: &[u8; 32]) -> String {
    hex::encode(d)
}

#[tokio::test(flavor = "multi_thread")]
async fn simulation_runs_under_a_finalized_grant_and_revocation_denies_the_next_job(
) -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(3)?;
    let pseudonym = patients.pseudonym(0);
    let patient = key("//WorkerPatient/0");
    let subject = enrol(&api, &patient, pseudonym).await?;
    let consent = grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(&node.ws_url(), &patients.store, &patients.jobs, &[]);
    let health = worker.wait_ready(&http).await?;
    assert_eq!(health["institution"], 0);

    // Bad input: problem+json naming the field, nothing queued.
    let bad = |field: &str, body: Value| (field.to_string(), body);
    let mut unknown_patient = sim_job([0x42; 32]);
    unknown_patient["pseudonym"] = json!("42".repeat(32));
    for (field, body) in [
        bad("workload", {
            let mut b = sim_job(pseudonym);
            b["workload"] = json!("mind-reading");
            b
        }),
        bad("pseudonym", {
            let mut b = sim_job(pseudonym);
            b["pseudonym"] = json!("not-hex");
            b
        }),
        bad("params.dose_mg", {
            let mut b = sim_job(pseudonym);
            b["params"]["dose_mg"] = json!(-5);
            b
        }),
        bad("params.drug", {
            let mut b = sim_job(pseudonym);
            b["params"]["drug"] = json!("unobtainium");
            b
        }),
        bad("workload", {
            // No --model: the inference workload names what is missing.
            let mut b = sim_job(pseudonym);
            b["workload"] = json!("inference");
            b["params"] = json!({"drug": "warfarin"});
            b
        }),
        bad("pseudonym", unknown_patient),
    ] {
        let (status, ct, problem) = worker.post(&http, &body).await?;
        assert_eq!(status, 422, "{field}: {problem}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(problem["field"], field, "{problem}");
        assert_eq!(problem["status"], 422);
        assert!(problem["title"].is_string() && problem["type"].is_string());
    }
    let (status, _, problem) = worker.post(&http, &json!({"workload": 3})).await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("requester"))
    );
    let inference_problem = worker
        .post(&http, &{
            let mut b = sim_job(pseudonym);
            b["workload"] = json!("inference");
            b["params"] = json!({"drug": "warfarin"});
            b
        })
        .await?
        .2;
    assert!(
        inference_problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("--model"),
        "{inference_problem}"
    );
    let listed: Value = worker.get(&http, "/jobs?limit=10").await?.json().await?;
    assert_eq!(listed["jobs"].as_array().map(Vec::len), Some(0));

    // The happy path.
    let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("id").to_string();
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "completed", "{job}");
    let access = job["access_id"].as_u64().expect("access id");
    let result = &job["result"];
    let times = result["times_h"].as_array().expect("times");
    let conc = result["concentration_mg_l"].as_array().expect("profile");
    assert_eq!(times.len(), conc.len());
    assert!(times.len() > 100, "5 daily doses at a 0.5 h step");
    let peak = conc.iter().filter_map(Value::as_f64).fold(0.0, f64::max);
    assert!(peak > 0.0, "warfarin reaches the plasma");
    assert_eq!(
        conc[0].as_f64(),
        Some(0.0),
        "nothing before the first oral dose"
    );

    // The job digest is SHA-256 of the canonical job document (rebuilt here from the job).
    let doc = json!({
        "id": job["id"], "requester": job["requester"], "pseudonym": job["pseudonym"],
        "workload": job["workload"], "params": job["params"], "created_ms": job["created_ms"],
    });
    assert_eq!(job["job_digest"], digest_hex(&sha256_json(&doc)));

    // On chain: closed as Completed with the digest of the very result the API returned.
    let rec = record(&api, &job).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Completed));
    assert_eq!(
        hex::encode(rec.job_digest),
        job["job_digest"].as_str().unwrap()
    );
    assert_eq!(rec.result_digest, Some(sha256_json(result)));
    assert_eq!(job["result_digest"], digest_hex(&sha256_json(result)));
    assert_eq!(rec.purpose.0, Purpose::Simulation);
    assert_eq!(rec.categories.0, sim_scope());

    // The store: exactly one read, with that access id and exactly the granted categories.
    let store = patients.open();
    let log = store.read_log(access)?;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].categories, sim_scope());
    assert_eq!(log[0].pseudonym, pseudonym);
    assert!(log[0].rows_read > 0);
    assert_eq!(store.reads_for(&pseudonym)?.len(), 1);

    // Without the API's credential: 401, a problem document, and nothing about the job.
    let no_auth = [
        http.get(format!("{}/jobs/{id}", worker.url)),
        http.get(format!("{}/jobs?limit=10", worker.url)),
        http.post(format!("{}/jobs", worker.url))
            .json(&sim_job(pseudonym)),
        http.get(format!("{}/jobs/{id}", worker.url))
            .bearer_auth("worker-test-credential-0123456789abcdeX"),
        http.get(format!("{}/jobs/{id}", worker.url))
            .header("authorization", API_TOKEN),
    ];
    for req in no_auth {
        let r = req.send().await?;
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert!(r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer")));
        let problem: Value = r.json().await?;
        assert_eq!(problem["status"], 401, "{problem}");
        assert_eq!(problem["title"], "Unauthorized");
        assert!(problem["type"].is_string() && problem["detail"].is_string());
        assert!(problem.get("result").is_none() && !problem.to_string().contains(&id));
    }
    assert_eq!(
        store.reads_for(&pseudonym)?.len(),
        1,
        "the refused POST queued nothing"
    );

    // Revocation: the next job is denied on chain and reads nothing.
    submit(
        &api,
        &consentry_client::runtime::tx().consent().revoke(consent),
        &patient,
    )
    .await?;
    let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    assert_eq!(status, 202);
    let denied = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(denied["state"], "denied", "{denied}");
    assert_eq!(denied["decision"]["granted"], false);
    assert_eq!(denied["decision"]["reason"], "revoked");
    assert!(denied["result"].is_null());
    let denied_id = denied["access_id"].as_u64().expect("denied record id");
    assert_ne!(denied_id, access);
    assert_eq!(
        record(&api, &denied).await?.state.0,
        AccessState::Denied(DenyReason::Revoked)
    );
    assert!(store.read_log(denied_id)?.is_empty());
    assert_eq!(store.reads_for(&pseudonym)?.len(), 1, "read log unchanged");

    // Listing: newest first; a bad limit is a problem naming `limit`.
    let listed: Value = worker.get(&http, "/jobs?limit=10").await?.json().await?;
    let states: Vec<&str> = listed["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["state"].as_str())
        .collect();
    assert_eq!(states, ["denied", "completed"]);
    assert!(
        listed["jobs"][1].get("result").is_none(),
        "the listing carries no results: {listed}"
    );
    let r = worker.get(&http, "/jobs?limit=0").await?;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await?["field"], "limit");

    // Unknown job.
    let r = worker.get(&http, "/jobs/job-nope").await?;
    assert_eq!(r.status().as_u16(), 404);
    worker.kill();
    Ok(())
}

/// Trains the inference crate's tiny configuration into `out` (a real bundle).
fn tiny_model(out: &std::path::Path) -> anyhow::Result<()> {
    let cfg_path = consentry_e2e::repo_path("inference/configs/tiny.toml");
    let cfg = consentry_inference::config::InferenceConfig::load(&cfg_path)?;
    consentry_inference::report::run_experiment(
        &cfg,
        out,
        &consentry_inference::default_device(),
        false,
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_simulation_grant_does_not_let_inference_run() -> anyhow::Result<()> {
    let patients = Patients::new(2)?;
    let model = patients.dir.path().join("model");
    let m = model.clone();
    let trained = tokio::task::spawn_blocking(move || tiny_model(&m));
    let node = Node::dev()?;
    let api = node.client().await?;
    let pseudonym = patients.pseudonym(1);
    let patient = key("//WorkerPatient/1");
    let subject = enrol(&api, &patient, pseudonym).await?;
    // Simulation only, over every category inference would read: only the purpose is missing.
    let all_four = CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
        DataCategory::Wearable,
    ]);
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        all_four,
    )
    .await?;
    trained.await??;

    let http = reqwest::Client::new();
    let model_arg = model.to_string_lossy().to_string();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--model", &model_arg],
    );
    worker.wait_ready(&http).await?;
    let body = json!({
        "requester": "dr. example",
        "pseudonym": hex::encode(pseudonym),
        "workload": "inference",
        "params": {"drug": "warfarin"},
    });
    let (status, _, accepted) = worker.post(&http, &body).await?;
    assert_eq!(status, 202, "{accepted}");
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "denied", "{job}");
    assert_eq!(job["decision"]["reason"], "purpose_not_covered");
    let rec = record(&api, &job).await?;
    assert_eq!(
        rec.state.0,
        AccessState::Denied(DenyReason::PurposeNotCovered)
    );
    assert_eq!(rec.purpose.0, Purpose::Inference);
    assert!(patients.open().reads_for(&pseudonym)?.is_empty());

    // With an Inference consent the same job runs and returns a prediction.
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Inference]),
        all_four,
    )
    .await?;
    let (_, _, accepted) = worker.post(&http, &body).await?;
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "completed", "{job}");
    let p = job["result"]["prediction"]["response"]["probability"]
        .as_f64()
        .expect("probability");
    assert!((0.0..=1.0).contains(&p));
    let access = job["access_id"].as_u64().unwrap();
    let log = patients.open().read_log(access)?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].categories, all_four);
    let rec = record(&api, &job).await?;
    assert_eq!(rec.result_digest, Some(sha256_json(&job["result"])));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_between_grant_and_completion_the_job_never_runs_twice() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(3)?;
    let pseudonym = patients.pseudonym(2);
    let patient = key("//WorkerPatient/2");
    let subject = enrol(&api, &patient, pseudonym).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--pause-after-grant-ms", "120000"],
    );
    worker.wait_ready(&http).await?;
    let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    assert_eq!(status, 202);
    let id = accepted["id"].as_str().unwrap().to_string();
    let granted = worker.wait_job(&http, &id, |s| s == "granted").await?;
    let access = granted["access_id"].as_u64().expect("access id");
    assert_eq!(record(&api, &granted).await?.state.0, AccessState::Granted);
    worker.kill(); // SIGKILL between the grant and the read.
    assert!(patients.open().read_log(access)?.is_empty());

    let mut worker = Worker::start(&node.ws_url(), &patients.store, &patients.jobs, &[]);
    worker.wait_ready(&http).await?;
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "aborted", "{job}");
    let rec = record(&api, &granted).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Aborted));
    assert_eq!(rec.result_digest, None);
    let closes = closed_events(&node.ws_url(), access, rec.block).await?;
    assert_eq!(closes.len(), 1, "closed exactly once");
    assert_eq!(closes[0].outcome.0, Outcome::Aborted);
    assert!(
        patients.open().read_log(access)?.len() <= 1,
        "never read twice"
    );
    assert!(
        patients.open().read_log(access)?.is_empty(),
        "the abandoned grant read nothing"
    );

    // The restarted worker's nonce is in step: a new job runs to completion.
    let (_, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    let next = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(next["state"], "completed", "{next}");
    let next_access = next["access_id"].as_u64().unwrap();
    assert_eq!(patients.open().read_log(next_access)?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_with_the_request_in_flight_the_same_bytes_are_resubmitted() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let pseudonym = patients.pseudonym(0);
    let patient = key("//WorkerPatient/3");
    let subject = enrol(&api, &patient, pseudonym).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--pause-after-request-submit-ms", "120000"],
    );
    worker.wait_ready(&http).await?;
    let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    assert_eq!(status, 202);
    let id = accepted["id"].as_str().unwrap().to_string();
    let mut digest = [0u8; 32];
    hex::decode_to_slice(accepted["job_digest"].as_str().unwrap(), &mut digest)?;
    worker.wait_job(&http, &id, |s| s == "requesting").await?;
    // Let the submitted request reach a finalized block.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while records_with_digest(&api, digest).await?.is_empty() {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "request never finalized"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Then another process on the hospital's key requests access naming the same job digest:
    // its record is the newer one. SIGKILL once it is finalized too.
    submit(
        &api,
        &runtime::tx().audit().request_access(
            pseudonym,
            Static(Purpose::Simulation),
            Static(sim_scope()),
            digest,
        ),
        &sr25519::dev::bob(),
    )
    .await?;
    assert_eq!(records_with_digest(&api, digest).await?.len(), 2);
    worker.kill();
    let recs = records_with_digest(&api, digest).await?;
    // The worker's own request was finalized first, so it made the older record.
    let own = recs.iter().map(|r| r.id).min().expect("two records");
    let other = recs.iter().map(|r| r.id).max().expect("two records");
    assert_ne!(own, other);

    // The restart resubmits the stored bytes (already included: the pool calls them stale),
    // finds its record from its own extrinsic's events (not the newer record that merely names
    // the same digest) and runs the job once.
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--max-in-flight", "4"],
    );
    worker.wait_ready(&http).await?;
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["access_id"].as_u64(), Some(own), "{job}");
    let recs = records_with_digest(&api, digest).await?;
    assert_eq!(recs.len(), 2, "the worker made no third request");
    assert_eq!(patients.open().read_log(own)?.len(), 1);
    assert!(patients.open().read_log(other)?.is_empty());
    let other_rec = recs.iter().find(|r| r.id == other).expect("other record");
    assert_eq!(
        other_rec.state.0,
        AccessState::Granted,
        "the worker leaves a record it did not request alone"
    );

    // Many jobs in flight at once (more than --max-in-flight): one signer, one nonce sequence.
    let mut ids = Vec::new();
    for _ in 0..6 {
        let (status, _, a) = worker.post(&http, &sim_job(pseudonym)).await?;
        assert_eq!(status, 202);
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    let mut accesses = std::collections::BTreeSet::new();
    for id in &ids {
        let j = worker.wait_job(&http, id, terminal).await?;
        assert_eq!(j["state"], "completed", "{j}");
        let access = j["access_id"].as_u64().unwrap();
        assert_eq!(patients.open().read_log(access)?.len(), 1);
        assert_eq!(
            record(&api, &j).await?.state.0,
            AccessState::Closed(Outcome::Completed)
        );
        accesses.insert(access);
    }
    assert_eq!(accesses.len(), 6, "six distinct records");
    assert_eq!(patients.open().reads_for(&pseudonym)?.len(), 7);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_while_completing_the_same_close_is_resubmitted() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let pseudonym = patients.pseudonym(1);
    let patient = key("//WorkerPatient/4");
    let subject = enrol(&api, &patient, pseudonym).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--pause-after-complete-submit-ms", "120000"],
    );
    worker.wait_ready(&http).await?;
    let (_, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    let id = accepted["id"].as_str().unwrap().to_string();
    let completing = worker.wait_job(&http, &id, |s| s == "completing").await?;
    let access = completing["access_id"].as_u64().expect("access id");
    // Let the submitted close reach a finalized block, then SIGKILL.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while record(&api, &completing).await?.state.0 == AccessState::Granted {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "close never finalized"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    worker.kill();

    let mut worker = Worker::start(&node.ws_url(), &patients.store, &patients.jobs, &[]);
    worker.wait_ready(&http).await?;
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "completed", "{job}");
    let rec = record(&api, &completing).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Completed));
    assert_eq!(rec.result_digest, Some(sha256_json(&job["result"])));
    let closes = closed_events(&node.ws_url(), access, rec.block).await?;
    assert_eq!(closes.len(), 1, "closed exactly once");
    assert_eq!(patients.open().read_log(access)?.len(), 1, "read once");
    Ok(())
}

/// Synthetic patient 0's vancomycin course and two measured levels, as the hospital's EHR would
/// send them: the store's own Patient resource with the new administrations and levels.
fn vancomycin_course() -> Value {
    let synth = consentry_datastore::synth::generate(5, 1).remove(0);
    let patient = synth.bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap()
        .clone();
    let reference = format!("Patient/{}", patient["resource"]["id"].as_str().unwrap());
    let mut entry = vec![patient];
    for (k, at) in [
        "2026-03-01T08:00:00Z",
        "2026-03-01T20:00:00Z",
        "2026-03-02T08:00:00Z",
        "2026-03-02T20:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        entry.push(json!({"resource": {
            "resourceType": "MedicationAdministration", "id": format!("vanco-{k}"), "status": "completed",
            "medicationCodeableConcept": {"text": "Vancomycin 1 g IV"},
            "subject": {"reference": reference},
            "effectiveDateTime": at,
            "dosage": {"route": {"text": "Intravenous route"}, "dose": {"value": 1, "code": "g"}},
        }}));
    }
    for (id, loinc, at, v) in [
        ("peak", "20578-1", "2026-03-02T22:00:00Z", 31.5),
        ("trough", "4092-3", "2026-03-03T07:30:00Z", 18.2),
    ] {
        entry.push(json!({"resource": {
            "resourceType": "Observation", "id": format!("vanco-{id}"), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": reference},
            "effectiveDateTime": at,
            "valueQuantity": {"value": v, "unit": "ug/mL", "code": "ug/mL"},
        }}));
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entry})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_living_twin_doses_from_levels_only_under_a_treatment_grant_covering_the_ehr(
) -> anyhow::Result<()> {
    let patients = Patients::new(1)?;
    let pseudonym = patients.pseudonym(0);
    patients
        .open()
        .ingest_bundle(&patients.pepper, &vancomycin_course())?;
    let node = Node::dev()?;
    let api = node.client().await?;
    let patient = key("//WorkerPatient/twin");
    let subject = enrol(&api, &patient, pseudonym).await?;
    // Treatment over the simulation's categories: the medications (EHR) are not covered.
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Treatment]),
        sim_scope(),
    )
    .await?;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(&node.ws_url(), &patients.store, &patients.jobs, &[]);
    let health = worker.wait_ready(&http).await?;
    assert!(
        health["workloads"]
            .as_array()
            .unwrap()
            .contains(&json!("twin")),
        "{health}"
    );
    let body = json!({
        "requester": "dr. example (infectious diseases)",
        "pseudonym": hex::encode(pseudonym),
        "workload": "twin",
        "params": {"drug": "vancomycin"},
    });
    let (status, _, problem) = worker
        .post(&http, &{
            let mut b = body.clone();
            b["params"]["drug"] = json!("warfarin");
            b
        })
        .await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("params.drug")),
        "{problem}"
    );

    let (status, _, accepted) = worker.post(&http, &body).await?;
    assert_eq!(status, 202, "{accepted}");
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "denied", "{job}");
    assert_eq!(job["decision"]["reason"], "category_not_covered");
    let rec = record(&api, &job).await?;
    assert_eq!(rec.purpose.0, Purpose::Treatment);
    assert!(
        patients.open().reads_for(&pseudonym)?.is_empty(),
        "nothing read when denied"
    );

    // A Treatment grant over what the twin reads: the job fits the levels and recommends.
    let twin_scope = CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Ehr,
        DataCategory::Genomic,
    ]);
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Treatment]),
        twin_scope,
    )
    .await?;
    let (_, _, accepted) = worker.post(&http, &body).await?;
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "completed", "{job}");
    let result = &job["result"];
    assert_eq!(result["tdm"]["doses"].as_array().unwrap().len(), 4);
    assert_eq!(result["tdm"]["levels"][1]["time_h"], 47.5);
    let cl = &result["fit"]["estimates"][0];
    assert!(
        cl["map"].as_f64().unwrap() < cl["prior"].as_f64().unwrap(),
        "{cl}"
    );
    let rec_dose = result["recommendation"]["recommended"]["dose_mg"]
        .as_f64()
        .unwrap();
    assert_eq!(rec_dose % 250.0, 0.0);
    let access = job["access_id"].as_u64().unwrap();
    let log = patients.open().read_log(access)?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].categories, twin_scope);
    let rec = record(&api, &job).await?;
    assert_eq!(rec.result_digest, Some(sha256_json(&job["result"])));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_revoked_or_too_old_by_the_read_is_closed_aborted_and_nothing_is_read(
) -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let pseudonym = patients.pseudonym(1);
    let patient = key("//WorkerPatient/gate");
    let subject = enrol(&api, &patient, pseudonym).await?;
    let consent = grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;
    let http = reqwest::Client::new();

    // Revoked between the finalized grant and the read.
    let hold = patients.dir.path().join("hold-revoke");
    let hold_arg = hold.to_string_lossy().to_string();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--hold-after-grant-file", &hold_arg],
    );
    worker.wait_ready(&http).await?;
    let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap().to_string();
    let granted = worker.wait_job(&http, &id, |s| s == "granted").await?;
    let access = granted["access_id"].as_u64().expect("access id");
    assert_eq!(record(&api, &granted).await?.state.0, AccessState::Granted);
    submit(&api, &runtime::tx().consent().revoke(consent), &patient).await?; // finalized
    std::fs::write(&hold, b"go")?;
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "aborted", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("(revoked)"),
        "{job}"
    );
    assert!(job["result"].is_null());
    let rec = record(&api, &granted).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Aborted));
    assert_eq!(rec.result_digest, None);
    assert_eq!(
        closed_events(&node.ws_url(), access, rec.block)
            .await?
            .len(),
        1
    );
    assert!(patients.open().read_log(access)?.is_empty(), "no read");
    assert!(patients.open().reads_for(&pseudonym)?.is_empty());
    worker.kill();

    // Older than --max-grant-age-secs (chain time) by the read: refused, closed Aborted.
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;
    let hold = patients.dir.path().join("hold-age");
    let hold_arg = hold.to_string_lossy().to_string();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &[
            "--hold-after-grant-file",
            &hold_arg,
            "--max-grant-age-secs",
            "1",
        ],
    );
    worker.wait_ready(&http).await?;
    let (_, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
    let id = accepted["id"].as_str().unwrap().to_string();
    let granted = worker.wait_job(&http, &id, |s| s == "granted").await?;
    let access = granted["access_id"].as_u64().expect("access id");
    let requested_at = record(&api, &granted).await?.requested_at;
    // Wait until the finalized chain is more than a second past the request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while finalized_now(&api).await? <= requested_at + 1_000 {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "chain time stands still"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    std::fs::write(&hold, b"go")?;
    let job = worker.wait_job(&http, &id, terminal).await?;
    assert_eq!(job["state"], "aborted", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("--max-grant-age-secs"),
        "{job}"
    );
    let rec = record(&api, &granted).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Aborted));
    assert!(patients.open().read_log(access)?.is_empty(), "no read");
    assert!(patients.open().reads_for(&pseudonym)?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supervisor_closes_a_job_whose_task_failed_after_its_grant_without_a_restart(
) -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let pseudonym = patients.pseudonym(0);
    let patient = key("//WorkerPatient/supervisor");
    let subject = enrol(&api, &patient, pseudonym).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;
    let http = reqwest::Client::new();
    // The job's task fails right after the grant (an error, then a panic), before any read.
    for fault in ["error", "panic"] {
        let mut worker = Worker::start(
            &node.ws_url(),
            &patients.store,
            &patients.jobs,
            &[
                "--fail-after-grant",
                fault,
                "--supervise-interval-ms",
                "500",
            ],
        );
        worker.wait_ready(&http).await?;
        let (status, _, accepted) = worker.post(&http, &sim_job(pseudonym)).await?;
        assert_eq!(status, 202, "{accepted}");
        let id = accepted["id"].as_str().unwrap().to_string();
        let job = worker.wait_job(&http, &id, terminal).await?;
        assert!(worker.is_running(), "{fault}: closed by the same process");
        assert_eq!(job["state"], "aborted", "{fault}: {job}");
        assert!(
            job["error"]
                .as_str()
                .unwrap_or_default()
                .contains("task failed"),
            "{fault}: {job}"
        );
        let access = job["access_id"].as_u64().expect("access id");
        let rec = record(&api, &job).await?;
        assert_eq!(
            rec.state.0,
            AccessState::Closed(Outcome::Aborted),
            "{fault}"
        );
        assert_eq!(
            closed_events(&node.ws_url(), access, rec.block)
                .await?
                .len(),
            1
        );
        assert!(
            patients.open().read_log(access)?.is_empty(),
            "{fault}: no read"
        );
        worker.kill();
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_key_comes_from_an_encrypted_keystore() -> anyhow::Result<()> {
    use consentry_wallet::keystore::{self, KdfParams};
    let patients = Patients::new(1)?;
    let dir = patients.dir.path();
    let ks = dir.join("hospital.json");
    keystore::write(
        &ks,
        &keystore::seal(
            "//Bob",
            "hospital passphrase",
            KdfParams::INSECURE_FOR_TESTS,
        )?,
        false,
    )?;
    let pass = dir.join("passphrase");
    std::fs::write(&pass, "hospital passphrase\n")?;
    let wrong = dir.join("wrong");
    std::fs::write(&wrong, "not it\n")?;
    let token = dir.join("token");
    std::fs::write(&token, format!("{API_TOKEN}\n"))?;
    let (ks_arg, pass_arg, wrong_arg, token_arg, store_arg) = (
        ks.to_string_lossy().to_string(),
        pass.to_string_lossy().to_string(),
        wrong.to_string_lossy().to_string(),
        token.to_string_lossy().to_string(),
        patients.store.to_string_lossy().to_string(),
    );
    let base = ["--store", &store_arg, "--node", "ws://127.0.0.1:1"];

    // Refusals before any connection: a secret URI without --dev, a wrong passphrase, no
    // passphrase, no API credential.
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--key-uri", "//Bob", "--api-token-file", &token_arg],
            "--dev",
        ),
        (
            vec![
                "--keystore",
                &ks_arg,
                "--passphrase-file",
                &wrong_arg,
                "--api-token-file",
                &token_arg,
            ],
            "cannot decrypt",
        ),
        (
            vec!["--keystore", &ks_arg, "--api-token-file", &token_arg],
            "CONSENTRY_WORKER_PASSPHRASE",
        ),
        (
            vec!["--keystore", &ks_arg, "--passphrase-file", &pass_arg],
            "API credential",
        ),
    ];
    for (args, says) in cases {
        let all: Vec<&str> = base.iter().copied().chain(args.iter().copied()).collect();
        let (ok, stderr) = worker_exit(&all, &[])?;
        assert!(!ok, "{args:?} must be refused");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    // The keystore with its passphrase (from the file, then from the environment) signs as Bob.
    let node = Node::dev()?;
    let http = reqwest::Client::new();
    let from_file = [
        "--keystore",
        ks_arg.as_str(),
        "--passphrase-file",
        pass_arg.as_str(),
    ];
    let from_env = ["--keystore", ks_arg.as_str()];
    let env_pass = [("CONSENTRY_WORKER_PASSPHRASE", "hospital passphrase")];
    for (key_args, env) in [(&from_file[..], &[][..]), (&from_env[..], &env_pass[..])] {
        let mut worker = Worker::start_with_key_env(
            &node.ws_url(),
            &patients.store,
            &patients.jobs,
            key_args,
            env,
            &[],
        );
        let health = worker.wait_ready(&http).await?;
        assert_eq!(health["institution"], 0, "{health}");
        assert_eq!(
            health["account"],
            keystore::Key::from_secret_uri("//Bob")?.address(),
            "{health}"
        );
        worker.kill();
    }
    Ok(())
}
