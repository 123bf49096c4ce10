//! Another institution's job, on a real `--dev` node with the real agreement registry contract:
//! the research institute's job for the hospital's patient runs only under a data-use agreement
//! in force (and, as ever, only if the patient's consent covers it); once the agreement is
//! terminated the next job is refused before any access request, with the reason.

use crate::common;

use common::*;
use consentry_client::{contract_abi::dua, contracts::Contract, runtime, subxt_signer::sr25519};
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use consentry_wallet::{
    chain::Chain,
    contracts::{self, Kind},
};
use serde_json::{json, Value};

/// The dev chain's research institute.
const INSTITUTE: u32 = 1;

fn sim_scope() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

fn research_job(pseudonym: [u8; 32], agreement: Option<u64>) -> Value {
    json!({
        "requester": "example research institute",
        "pseudonym": hex::encode(pseudonym),
        "workload": "simulation",
        "params": {"drug": "warfarin", "dose_mg": 5.0, "interval_h": 24.0, "n_doses": 3},
        "on_behalf_of": INSTITUTE,
        "agreement": agreement,
    })
}

async fn access_records(api: &consentry_client::Client) -> anyhow::Result<u64> {
    let c = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().audit_api().counts_of(HOSPITAL))
        .await?;
    let c = c.0;
    Ok([c.granted, c.denied, c.completed, c.failed, c.aborted]
        .iter()
        .map(|n| u64::from(*n))
        .sum())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_research_job_runs_only_under_a_data_use_agreement_in_force() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(2)?;
    let (consenting, silent) = (patients.pseudonym(0), patients.pseudonym(1));
    let patient = key("//AgreementPatient/0");
    let subject = enrol(&api, &patient, consenting).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Simulation]),
        sim_scope(),
    )
    .await?;
    enrol(&api, &key("//AgreementPatient/1"), silent).await?;

    // The council deploys the registry; the hospital proposes, the institute signs.
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let registry = contracts::deploy(
        &chain,
        &sr25519::dev::alice(),
        Kind::Dua,
        consentry_contracts::DUA_WASM,
        dua::New {},
        b"worker".to_vec(),
    )
    .await?
    .address;
    let contract = Contract::at(registry.clone());
    let now = finalized_now(&api).await?;
    let terms = dua::Terms {
        custodian: HOSPITAL,
        recipients: vec![INSTITUTE],
        purposes: PurposeSet::of(&[Purpose::Simulation]),
        categories: sim_scope(),
        valid_from: now - 60_000,
        valid_until: now + 3_600_000,
        record_cap: None,
        text_digest: [3; 32],
    };
    let id = contracts::dua_propose(&chain, &sr25519::dev::bob(), &contract, terms)
        .await?
        .id;

    let http = reqwest::Client::new();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--dua-contract", &registry.to_string()],
    );
    worker.wait_ready(&http).await?;

    // Not yet in force (the institute has not signed): refused at once, naming the agreement.
    let (status, _, problem) = worker
        .post(&http, &research_job(consenting, Some(id)))
        .await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("agreement")),
        "{problem}"
    );
    contracts::dua_sign(&chain, &sr25519::dev::charlie(), &contract, id).await?;

    // Another institution's job must name its agreement.
    let (status, _, problem) = worker.post(&http, &research_job(consenting, None)).await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("agreement")),
        "{problem}"
    );

    // In force, and the patient consents: it runs, and its digest commits to the agreement.
    let (status, _, accepted) = worker
        .post(&http, &research_job(consenting, Some(id)))
        .await?;
    assert_eq!(status, 202, "{accepted}");
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["agreement"]["registry"], registry.to_string());
    assert_eq!(job["agreement"]["id"], id);
    assert_eq!(job["agreement"]["recipient"], INSTITUTE);
    let rec = record(&api, &job).await?;
    assert_eq!(
        hex::encode(rec.job_digest),
        job["job_digest"].as_str().unwrap()
    );

    // The agreement never replaces consent: a patient without one is denied by the chain.
    let (status, _, accepted) = worker.post(&http, &research_job(silent, Some(id))).await?;
    assert_eq!(status, 202, "{accepted}");
    let job = worker
        .wait_job(&http, accepted["id"].as_str().unwrap(), terminal)
        .await?;
    assert_eq!(job["state"], "denied", "{job}");

    // The hospital terminates the agreement: the next job is refused before any request.
    contracts::dua_terminate(&chain, &sr25519::dev::bob(), &contract, id).await?;
    let before = access_records(&api).await?;
    let (status, _, problem) = worker
        .post(&http, &research_job(consenting, Some(id)))
        .await?;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("agreement")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("does not let"),
        "{problem}"
    );
    let listed: Value = worker.get(&http, "/jobs?limit=10").await?.json().await?;
    assert_eq!(
        listed["jobs"].as_array().map(Vec::len),
        Some(2),
        "nothing queued"
    );
    // Let a block or two pass: still no new access record.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(access_records(&api).await?, before);
    Ok(())
}
