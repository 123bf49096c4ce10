//! Streaming sessions against a real `--dev` node and the real worker binary:
//!
//! - a session is one access (purpose treatment over wearable) opened by the finalized grant;
//!   samples update the twin state (read back and pushed to a server-sent-events subscriber);
//!   out-of-order, duplicated, impossible and other patients' samples get their documented
//!   verdicts and never reach the twin; the client's close completes the record citing the
//!   Merkle root of exactly the accepted samples, recomputed here by the test's own code;
//! - the patient revoking ends the next session at the very finalized block that holds the
//!   revocation; from then on samples are refused (409) and none is stored; the record is
//!   closed `Aborted` citing what was received; the accepted samples come back as FHIR
//!   Observations the data store ingests.

use crate::common;

use std::time::Duration;

use common::*;
use consentry_client::runtime;
use consentry_e2e::Node;
use consentry_primitives::{AccessState, CategorySet, DataCategory, Outcome, Purpose, PurposeSet};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The Merkle root as the worker documents it (leaves SHA-256 of the canonical sample, pairs
/// hashed left‖right, an odd node promoted), written here independently of the worker's code.
fn merkle_root(samples: &[Value]) -> [u8; 32] {
    let mut layer: Vec<[u8; 32]> = samples
        .iter()
        .map(|s| Sha256::digest(canonical(s).as_bytes()).into())
        .collect();
    if layer.is_empty() {
        return [0; 32];
    }
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|p| match p {
                [a, b] => {
                    let mut h = Sha256::new();
                    h.update(a);
                    h.update(b);
                    h.finalize().into()
                }
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
    }
    layer[0]
}

struct Session<'a> {
    worker: &'a Worker,
    http: reqwest::Client,
    id: String,
}

impl Session<'_> {
    async fn open(worker: &Worker, pseudonym: [u8; 32]) -> anyhow::Result<Session<'_>> {
        let http = reqwest::Client::new();
        let (status, _, accepted) = worker
            .post(
                &http,
                &json!({"requester": "ward 3 monitoring", "pseudonym": hex::encode(pseudonym),
                    "workload": "stream", "params": {"idle_timeout_s": 600}}),
            )
            .await?;
        anyhow::ensure!(status == 202, "{accepted}");
        let id = accepted["id"].as_str().unwrap().to_string();
        let s = Session {
            worker,
            http,
            id: id.clone(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let r = s.get("/twin").await?;
            if r.status() == 200 {
                return Ok(s);
            }
            anyhow::ensure!(r.status() == 409, "{}", r.status());
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "session {id} never opened"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(format!("{}/jobs/{}{path}", self.worker.url, self.id))
            .bearer_auth(&self.worker.token)
            .send()
            .await?)
    }

    async fn send(&self, lines: &[Value]) -> anyhow::Result<(u16, Value)> {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let r = self
            .http
            .post(format!("{}/jobs/{}/samples", self.worker.url, self.id))
            .bearer_auth(&self.worker.token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    }

    async fn stored(&self) -> anyhow::Result<Value> {
        Ok(self
            .get("/samples")
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

fn statuses(answer: &Value) -> Vec<(String, Option<String>)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Reads server-sent events until one whose `data` satisfies `done`.
async fn next_event(
    r: &mut reqwest::Response,
    buf: &mut String,
    done: impl Fn(&str, &Value) -> bool,
) -> anyhow::Result<(String, Value)> {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&data)?;
            if done(&event, &v) {
                return Ok((event, v));
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(60), r.chunk())
            .await??
            .ok_or_else(|| anyhow::anyhow!("the event stream ended"))?;
        buf.push_str(std::str::from_utf8(&chunk)?);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_session_updates_the_twin_and_ends_with_the_patients_revocation(
) -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let pseudonym = patients.pseudonym(0);
    let p = hex::encode(pseudonym);
    let patient = key("//StreamPatient/0");
    let subject = enrol(&api, &patient, pseudonym).await?;
    let consent = grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Treatment]),
        CategorySet::of(&[DataCategory::Wearable]),
    )
    .await?;
    let http = reqwest::Client::new();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--max-streams", "1"],
    );
    let health = worker.wait_ready(&http).await?;
    assert!(health["workloads"]
        .as_array()
        .unwrap()
        .contains(&json!("stream")));

    // Without a model there is no drug risk to ask for.
    let (status, _, problem) = worker
        .post(
            &http,
            &json!({"requester": "x", "pseudonym": p, "workload": "stream",
                "params": {"drug": "warfarin"}}),
        )
        .await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("params.drug"))
    );

    // --- Session 1: closed by the client.
    let s = Session::open(&worker, pseudonym).await?;
    // One session at a time on this worker (--max-streams 1): a second is refused, nothing asked.
    let (status, ct, problem) = worker
        .post(
            &http,
            &json!({"requester": "x", "pseudonym": p, "workload": "stream", "params": {}}),
        )
        .await?;
    assert_eq!(
        (status, ct.as_str()),
        (503, "application/problem+json"),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("--max-streams"),
        "{problem}"
    );
    let job = worker.job(&http, &s.id).await?;
    assert_eq!(job["state"], "running", "{job}");
    let rec = record(&api, &job).await?;
    assert_eq!(rec.purpose.0, Purpose::Treatment);
    assert_eq!(rec.categories.0, CategorySet::of(&[DataCategory::Wearable]));

    let mut events = s.get("/twin/events").await?;
    assert_eq!(events.status(), 200);
    let mut buf = String::new();
    let (_, first) = next_event(&mut events, &mut buf, |_, _| true).await?;
    assert_eq!(first["version"], 0);

    let t = now_ms() - 60_000;
    let hr1 = json!({"seq": 1, "patient": p, "t_ms": t, "kind": "heart_rate", "value": 72,
        "unit": "/min"});
    let bp2 = json!({"seq": 2, "patient": p, "t_ms": t, "kind": "blood_pressure",
        "systolic": 121, "diastolic": 79, "unit": "mm[Hg]"});
    let spo3 = json!({"seq": 3, "patient": p, "t_ms": t + 1000, "kind": "spo2", "value": 97.5,
        "unit": "%"});
    let mut conflict = hr1.clone();
    conflict["value"] = json!(73);
    let mut other = spo3.clone();
    other["seq"] = json!(4);
    other["patient"] = json!("ee".repeat(32));
    let impossible = json!({"seq": 5, "patient": p, "t_ms": t + 2000, "kind": "spo2",
        "value": 104, "unit": "%"});
    let late = json!({"seq": 6, "patient": p, "t_ms": t - 5000, "kind": "heart_rate",
        "value": 70, "unit": "/min"});
    let future = json!({"seq": 7, "patient": p, "t_ms": now_ms() + 600_000,
        "kind": "heart_rate", "value": 70, "unit": "/min"});
    let (status, answer) = s
        .send(&[
            hr1.clone(),
            bp2.clone(),
            spo3.clone(),
            hr1.clone(),
            conflict,
            other,
            impossible,
            late,
            future,
        ])
        .await?;
    assert_eq!(status, 200, "{answer}");
    let got = statuses(&answer);
    let want: Vec<(&str, Option<&str>)> = vec![
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("duplicate", None),
        ("refused", Some("seq_conflict")),
        ("refused", Some("other_patient")),
        ("refused", Some("impossible")),
        ("refused", Some("out_of_order")),
        ("refused", Some("future")),
    ];
    let got: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_deref()))
        .collect();
    assert_eq!(got, want, "{answer}");
    assert_eq!(answer["results"][6]["field"], "value");
    let state = &answer["state"];
    assert_eq!(state["version"], 3);
    assert_eq!(state["twin"]["latest"]["heart_rate"]["value"], json!(72.0));
    assert_eq!(
        state["twin"]["latest"]["blood_pressure"]["systolic"],
        json!(121.0)
    );
    assert_eq!(state["twin"]["latest"]["spo2"]["value"], json!(97.5));
    // NEWS2 of pulse 72 (0), SpO2 97.5 (0), systolic 121 (0).
    assert_eq!(state["twin"]["news2"]["partial_score"], 0);
    let (_, pushed) = next_event(&mut events, &mut buf, |_, v| v["version"] == 3).await?;
    assert_eq!(pushed["twin"], state["twin"]);

    // A deteriorating patient: pulse 135 scores 3 on its own, and the alert names that sample.
    let hr8 = json!({"seq": 8, "patient": p, "t_ms": t + 3000, "kind": "heart_rate",
        "value": 135, "unit": "/min"});
    let (_, answer) = s.send(std::slice::from_ref(&hr8)).await?;
    let alerts = answer["state"]["twin"]["alerts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0]["kind"].as_str(), alerts[0]["seq"].as_u64()),
        (Some("news2"), Some(8))
    );
    let (_, pushed) = next_event(&mut events, &mut buf, |_, v| v["version"] == 4).await?;
    assert_eq!(pushed["twin"]["alerts"].as_array().map(Vec::len), Some(1));
    let twin: Value = s.get("/twin").await?.json().await?;
    assert_eq!(twin["version"], 4);

    let accepted1 = vec![hr1, bp2, spo3, hr8];
    let stored = s.stored().await?;
    assert_eq!(stored["samples"].as_array().unwrap(), &accepted1);
    let root1 = merkle_root(&accepted1);
    assert_eq!(stored["merkle_root"], hex::encode(root1));
    // A chart that has drawn the first two asks for the rest: no root, which is over all.
    let rest: Value = s.get("/samples?from=2").await?.json().await?;
    assert_eq!(rest["samples"].as_array().unwrap(), &accepted1[2..]);
    assert_eq!(
        (rest["from"].as_u64(), rest.get("merkle_root")),
        (Some(2), None)
    );
    let none: Value = s.get("/samples?from=4").await?.json().await?;
    assert_eq!(none["samples"], json!([]));

    let r = s
        .http
        .post(format!("{}/jobs/{}/close", worker.url, s.id))
        .bearer_auth(&worker.token)
        .send()
        .await?;
    assert_eq!(r.status(), 202);
    let (event, last) = next_event(&mut events, &mut buf, |e, _| e == "closed").await?;
    assert_eq!(
        (event.as_str(), last["ended"]["reason"].as_str()),
        ("closed", Some("closed"))
    );
    let job = worker.wait_job(&http, &s.id, terminal).await?;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["result_digest"], hex::encode(root1));
    assert_eq!(job["result"]["samples"], 4);
    let rec = record(&api, &job).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Completed));
    assert_eq!(rec.result_digest, Some(root1));
    let (status, _) = s.send(&[json!({"seq": 9})]).await?;
    assert_eq!(status, 409);

    // --- Session 2: the patient revokes while it streams.
    let s = Session::open(&worker, pseudonym).await?;
    let mut events = s.get("/twin/events").await?;
    let mut buf = String::new();
    let t = now_ms() - 30_000;
    let sample = |seq: u64, dt: i64, v: f64| {
        json!({"seq": seq, "patient": p, "t_ms": t + dt, "kind": "glucose", "value": v,
            "unit": "mmol/L"})
    };
    let accepted2 = vec![sample(1, 0, 5.4), sample(2, 1000, 3.1)];
    let (_, answer) = s.send(&accepted2).await?;
    assert_eq!(answer["accepted"], 2, "{answer}");
    // 3.1 mmol/L is 55.8 mg/dL: below the hypoglycaemia level.
    let alerts = &answer["state"]["twin"]["alerts"];
    assert_eq!(alerts[0]["kind"], "hypoglycaemia", "{alerts}");

    let revoked = api
        .tx()
        .sign_and_submit_then_watch_default(&runtime::tx().consent().revoke(consent), &patient)
        .await?
        .wait_for_finalized()
        .await?;
    let revoked_in = revoked.block_hash();
    revoked.wait_for_success().await?;
    let (_, closed) = next_event(&mut events, &mut buf, |e, _| e == "closed").await?;
    assert_eq!(closed["ended"]["reason"], "consent_withdrawn", "{closed}");
    // Ended at the first finalized block that holds the revocation.
    assert_eq!(
        closed["ended"]["at_block"],
        json!(format!("{revoked_in:?}")),
        "{closed}"
    );
    // Nothing more is taken or stored.
    let (status, problem) = s.send(&[sample(3, 2000, 5.0)]).await?;
    assert_eq!(status, 409, "{problem}");
    let stored = s.stored().await?;
    assert_eq!(stored["samples"].as_array().unwrap(), &accepted2);
    let job = worker.wait_job(&http, &s.id, terminal).await?;
    assert_eq!(job["state"], "aborted", "{job}");
    let root2 = merkle_root(&accepted2);
    let rec = record(&api, &job).await?;
    assert_eq!(rec.state.0, AccessState::Closed(Outcome::Aborted));
    assert_eq!(rec.result_digest, Some(root2));

    // The accepted samples as FHIR Observations, which the data store's ingest accepts.
    let fhir: Value = s.get("/samples?format=fhir").await?.json().await?;
    let mut bundle = fhir.clone();
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .push(json!({"resource": {
        "resourceType": "Patient", "id": p, "identifier": [{"value": "STREAM-1"}],
        "gender": "female", "birthDate": "1970-01-01"}}));
    let dir = tempfile::tempdir()?;
    let mut store = consentry_datastore::Store::open(&dir.path().join("s.sqlite"))?;
    store.ingest_bundle(&patients.pepper, &bundle)?;
    let data = store.read(
        1,
        patients.pepper.pseudonym("STREAM-1"),
        &CategorySet::of(&[DataCategory::Wearable]),
    )?;
    let glucose: Vec<(String, f64, String)> = data
        .vitals
        .iter()
        .map(|o| (o.loinc.clone(), o.value, o.unit.clone()))
        .collect();
    assert_eq!(
        glucose,
        vec![
            ("15074-8".to_string(), 5.4, "mmol/L".to_string()),
            ("15074-8".to_string(), 3.1, "mmol/L".to_string())
        ]
    );
    assert!(worker.is_running());
    Ok(())
}
