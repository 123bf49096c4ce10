//! Faults under load. The whole system as `scripts/start.sh` runs it (dev node, `consentry-api`
//! with its indexer, `consentry-worker` over a patient store) takes a clinician's jobs through the
//! API without pause while two patients keep revoking their consent and granting it again; the
//! API, the worker and then the node are each killed with SIGKILL in turn and started again on
//! the same databases and ports (the node last, so the API and the worker must reconnect to it
//! by themselves). Afterwards:
//!
//! - every job the worker accepted ended exactly once: it is in a final state, and a record the
//!   chain granted for it is closed on chain with the job's own outcome (no record is left open,
//!   none is closed twice — the chain refuses a second close — and the data of a completed job
//!   was read exactly once, of any other job never);
//! - every job the API acknowledged is one of them;
//! - the index holds every access record of the chain exactly once, in the chain's state;
//! - every read of patient data cites a record the chain granted, under consents that were in
//!   force: never a denial, never a job's second read, and never after the revocation of a
//!   consent the record cites had been finalized.

use crate::common;

use common::{grant_simulation, login, wait_ok, Stack};
use consentry_client::{
    runtime::{self, runtime_types::consentry_primitives::consent::ConsentStatus},
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::{submit, Node};
use consentry_primitives::{AccessState, Outcome};
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, BTreeSet},
    str::FromStr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

const PATIENTS: usize = 4;
/// Patients 0 and 1 revoke and grant again all along; 2 and 3 consent throughout.
const TOGGLING: usize = 2;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// A client of the node at `url`, waiting (up to 120 s) for it to come back.
async fn connect(url: &str) -> anyhow::Result<Client> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match consentry_client::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => anyhow::bail!("node at {url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// The stored state name of a chain record, as the index spells it.
fn state_name(s: &AccessState) -> &'static str {
    match s {
        AccessState::Granted => "granted",
        AccessState::Denied(_) => "denied",
        AccessState::Closed(Outcome::Completed) => "completed",
        AccessState::Closed(Outcome::Failed) => "failed",
        AccessState::Closed(Outcome::Aborted) => "aborted",
    }
}

/// The patient's consents, with their status, at the finalized head.
async fn consent_statuses(
    chain: &Client,
    subject: u64,
) -> anyhow::Result<Vec<(u64, ConsentStatus)>> {
    let consents = chain
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().consents_of(subject))
        .await?;
    Ok(consents.into_iter().map(|(id, c)| (id, c.status)).collect())
}

/// The patient's active consent to the hospital at the finalized head, if any.
async fn active_consent(chain: &Client, subject: u64) -> anyhow::Result<Option<u64>> {
    Ok(consent_statuses(chain, subject)
        .await?
        .into_iter()
        .find(|(_, s)| matches!(s, ConsentStatus::Active))
        .map(|(id, _)| id))
}

/// What the toggling patients did: for each revoked consent, the wall-clock time (ms) by which
/// its revocation was known finalized (observed through the node; never earlier than the truth).
type Revocations = Arc<Mutex<BTreeMap<u64, u64>>>;

/// Patient `key` (subject `subject`) revokes the consent it holds and grants a new one, over
/// and over until `stop`, riding out the node's restarts: after a failed submission it reads
/// the chain to learn what landed.
async fn toggle(
    url: String,
    key: sr25519::Keypair,
    subject: u64,
    stop: Arc<AtomicBool>,
    revocations: Revocations,
) -> anyhow::Result<u32> {
    let mut cycles = 0;
    while !stop.load(Ordering::Relaxed) {
        let step = async {
            let chain = connect(&url).await?;
            match active_consent(&chain, subject).await? {
                Some(consent) => {
                    let r = submit(&chain, &runtime::tx().consent().revoke(consent), &key).await;
                    if r.is_ok() {
                        revocations.lock().unwrap().insert(consent, now_ms());
                    }
                    r.map(|_| false)
                }
                None => submit(&chain, &grant_simulation(subject), &key)
                    .await
                    .map(|_| true),
            }
        };
        match step.await {
            Ok(granted) => {
                cycles += u32::from(granted);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            // The node went away mid-submission; what landed is read back next time round.
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    // Revocations whose finalization the loop did not see (the node died before it answered):
    // known finalized now, the latest time it can have been.
    let statuses = consent_statuses(&connect(&url).await?, subject).await?;
    let now = now_ms();
    let mut revoked = revocations.lock().unwrap();
    for (id, status) in statuses {
        if matches!(status, ConsentStatus::Revoked { .. }) {
            revoked.entry(id).or_insert(now);
        }
    }
    Ok(cycles)
}

/// The clinician's load: a simulation job through the API every 300 ms for a patient in turn,
/// signing in again whenever the API lost its sessions (it was restarted); the ids of the jobs
/// the API acknowledged, and how many submissions failed (the API or the worker was down).
async fn clinician(
    api: String,
    pseudonyms: Vec<String>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(Vec<String>, u32)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let hospital = sr25519::dev::bob();
    let mut token: Option<String> = None;
    let (mut acknowledged, mut failed) = (vec![], 0);
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = match &token {
            Some(t) => t.clone(),
            None => match login(&http, &api, &hospital).await {
                Ok(t) => {
                    token = Some(t.clone());
                    t
                }
                Err(_) => {
                    failed += 1;
                    continue;
                }
            },
        };
        let body = json!({
            "pseudonym": pseudonyms[i % pseudonyms.len()],
            "workload": "simulation",
            "params": {"drug": "warfarin", "dose_mg": 5.0, "interval_h": 24.0, "n_doses": 3},
        });
        i += 1;
        match http
            .post(format!("{api}/v1/jobs"))
            .bearer_auth(&t)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 202 => {
                let v: Value = r.json().await?;
                acknowledged.push(
                    v["id"]
                        .as_str()
                        .ok_or_else(|| anyhow::anyhow!("no job id in {v}"))?
                        .to_string(),
                );
            }
            Ok(r) if r.status().as_u16() == 401 => {
                token = None;
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    Ok((acknowledged, failed))
}

fn terminal(state: &str) -> bool {
    [
        "denied",
        "refused",
        "completed",
        "failed",
        "aborted",
        "error",
    ]
    .contains(&state)
}

/// Every job the worker holds (the listing takes the API's credential, as only the API calls
/// it).
async fn worker_jobs(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Vec<Value>> {
    let v: Value = http
        .get(format!("{url}/jobs?limit=1000"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(v["jobs"].as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_end_once_and_the_index_is_whole_after_node_api_and_worker_are_killed(
) -> anyhow::Result<()> {
    let mut node = Node::dev()?;
    let chain = node.client().await?;
    let dir = tempfile::tempdir()?;

    // The hospital's store; its patients enrolled, claimed, consenting.
    let pepper = Pepper::from_bytes(b"faults-test-pepper-0123456789abcdef".to_vec())?;
    let (store_path, pseudonyms) = common::patient_store(dir.path(), 7, PATIENTS as u64, &pepper)?;
    let keys = (0..PATIENTS)
        .map(|i| -> anyhow::Result<_> {
            let uri = SecretUri::from_str(&format!("//Faults/{i}"))?;
            Ok(sr25519::Keypair::from_uri(&uri)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The hospital's key enrols one after another; the patients claim and consent at once.
    for (key, p) in keys.iter().zip(&pseudonyms) {
        common::enrol(&chain, key, *p).await?;
    }
    let subjects = futures::future::try_join_all(
        keys.iter()
            .zip(&pseudonyms)
            .map(|(key, p)| common::claim_and_grant(&chain, key, *p)),
    )
    .await?;
    let patients: Vec<_> = keys.into_iter().zip(subjects).collect();
    drop(chain);
    let mut stack = Stack::start(&node.ws_url(), dir.path(), &store_path).await?;
    let (worker_url, api_url) = (stack.worker_url.clone(), stack.api_url.clone());
    let http = reqwest::Client::new();

    // The load.
    let stop = Arc::new(AtomicBool::new(false));
    let revocations: Revocations = Arc::default();
    let togglers: Vec<_> = patients[..TOGGLING]
        .iter()
        .map(|(key, subject)| {
            tokio::spawn(toggle(
                node.ws_url(),
                key.clone(),
                *subject,
                stop.clone(),
                revocations.clone(),
            ))
        })
        .collect();
    let jobs = tokio::spawn(clinician(
        api_url.clone(),
        pseudonyms.iter().map(hex::encode).collect(),
        stop.clone(),
    ));

    // The faults, one at a time, each while the load runs. The node goes last: the API and the
    // worker then have to find the restarted node by themselves, as no restart of theirs follows.
    tokio::time::sleep(Duration::from_secs(10)).await;
    stack.api.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.api.start()?;
    tokio::time::sleep(Duration::from_secs(12)).await;
    stack.worker.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.worker.start()?;
    tokio::time::sleep(Duration::from_secs(12)).await;
    node.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    node.restart()?;
    tokio::time::sleep(Duration::from_secs(15)).await;
    stop.store(true, Ordering::Relaxed);

    let (acknowledged, failed) = jobs.await??;
    let mut cycles = 0;
    for t in togglers {
        cycles += t.await??;
    }
    println!(
        "load: {} jobs acknowledged, {failed} submissions refused or lost while a part was down; \
         {cycles} revoke-and-grant cycles",
        acknowledged.len()
    );
    anyhow::ensure!(
        acknowledged.len() >= 20 && cycles >= 4,
        "too little load to mean anything"
    );

    // Every job ends.
    wait_ok(&http, &format!("{worker_url}/health")).await?;
    let deadline = Instant::now() + Duration::from_secs(240);
    let jobs = loop {
        let jobs = worker_jobs(&http, &worker_url, &stack.credential).await?;
        if jobs
            .iter()
            .all(|j| terminal(j["state"].as_str().unwrap_or("")))
        {
            break jobs;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "jobs still open 240 s after the load: {:?}",
            jobs.iter()
                .filter(|j| !terminal(j["state"].as_str().unwrap_or("")))
                .map(|j| (&j["id"], &j["state"], &j["error"]))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let by_id: BTreeMap<String, &Value> = jobs
        .iter()
        .map(|j| (j["id"].as_str().unwrap_or_default().to_string(), j))
        .collect();
    assert_eq!(by_id.len(), jobs.len(), "a job listed twice");
    for id in &acknowledged {
        assert!(by_id.contains_key(id), "acknowledged job {id} is lost");
    }

    // The chain, at a finalized head that holds every close.
    let chain = connect(&node.ws_url()).await?;
    let at = chain.runtime_api().at_latest().await?;
    let finalized = chain.blocks().at_latest().await?.number();
    let total = chain
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().audit().next_access_id())
        .await?
        .unwrap_or(0);
    let store = Store::open(&store_path)?;
    let mut states: BTreeMap<&str, u32> = BTreeMap::new();
    for j in &jobs {
        let state = j["state"].as_str().unwrap_or_default();
        *states.entry(state).or_default() += 1;
        let Some(access) = j["access_id"].as_u64() else {
            // Never decided: nothing was read.
            assert_eq!(j["result"], Value::Null, "{j}");
            continue;
        };
        let rec = at
            .call(
                runtime::apis()
                    .audit_api()
                    .record(j["subject"].as_u64(), access),
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("job {} cites no record {access}", j["id"]))?;
        let on_chain = state_name(&rec.state.0);
        let reads = store.read_log(access)?.len();
        match state {
            "completed" => {
                assert_eq!(on_chain, "completed", "{j}");
                assert_eq!(
                    rec.result_digest.map(hex::encode),
                    j["result_digest"].as_str().map(str::to_string),
                    "{j}"
                );
                assert_eq!(reads, 1, "a completed job read its data once: {j}");
            }
            "denied" => {
                assert_eq!(on_chain, "denied", "{j}");
                assert_eq!(reads, 0, "{j}");
            }
            "failed" | "aborted" => {
                assert_eq!(on_chain, state, "{j}");
                assert!(reads <= 1, "{j}");
            }
            other => panic!("job ended `{other}` with record {access} ({on_chain}): {j}"),
        }
    }
    println!("jobs by final state: {states:?}; {total} records on chain");
    assert!(
        states.get("completed").copied().unwrap_or(0) >= 5,
        "{states:?}"
    );

    // Every read cites a granted record under consents in force when it happened.
    let revoked = revocations.lock().unwrap().clone();
    let mut reads = 0;
    for (p, (_, subject)) in pseudonyms.iter().zip(&patients) {
        for read in store.reads_for(p)? {
            reads += 1;
            let rec = at
                .call(
                    runtime::apis()
                        .audit_api()
                        .record(Some(*subject), read.access_id),
                )
                .await?
                .ok_or_else(|| anyhow::anyhow!("a read cites no record {}", read.access_id))?;
            assert!(
                !matches!(rec.state.0, AccessState::Denied(_)),
                "read {} under a denial",
                read.id
            );
            for consent in &rec.consents.0 {
                if let Some(&finalized_by) = revoked.get(consent) {
                    assert!(
                        (read.at_ms as u64) < finalized_by,
                        "read {} at {} ms after consent {consent}'s revocation was final at {} ms",
                        read.id,
                        read.at_ms,
                        finalized_by
                    );
                }
            }
        }
    }
    assert!(reads >= 5, "{reads} reads");

    // The index: every record of the chain, once, in the chain's state.
    let auditor = sr25519::dev::dave();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready: Value = http
            .get(format!("{api_url}/ready"))
            .send()
            .await?
            .json()
            .await
            .unwrap_or_default();
        if ready["indexed"]
            .as_u64()
            .is_some_and(|n| n >= u64::from(finalized))
        {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "index behind: {ready}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let token = login(&http, &api_url, &auditor).await?;
    let mut indexed: BTreeMap<u64, (Option<u64>, String)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{api_url}/v1/access?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            let id = item["id"].as_u64().expect("id");
            let row = (
                item["subject"].as_u64(),
                item["state"].as_str().unwrap_or_default().to_string(),
            );
            assert!(
                indexed.insert(id, row).is_none(),
                "record {id} indexed twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        indexed.keys().copied().collect::<BTreeSet<_>>(),
        (0..total).collect::<BTreeSet<_>>(),
        "the index holds exactly the chain's records"
    );
    // The API's own connection to the node came back too: it answers a decision.
    let hospital = login(&http, &api_url, &sr25519::dev::bob()).await?;
    let decision: Value = http
        .post(format!("{api_url}/v1/decision"))
        .bearer_auth(&hospital)
        .json(&json!({
            "pseudonym": hex::encode(pseudonyms[TOGGLING]),
            "purpose": "simulation",
            "categories": ["labs"],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(decision["decision"], "permit", "{decision}");
    for (id, (subject, state)) in &indexed {
        let rec = at
            .call(runtime::apis().audit_api().record(*subject, *id))
            .await?
            .ok_or_else(|| anyhow::anyhow!("indexed record {id} is not on chain"))?;
        assert_eq!(state, state_name(&rec.state.0), "record {id}");
    }
    Ok(())
}
