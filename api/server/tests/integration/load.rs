//! Load: many concurrent clients over the API's main read endpoints and `POST /v1/decision`,
//! against a real dev node whose ledger holds a large number of access records, every one of
//! them indexed before the clock starts. The test fails on any error answer or failed request;
//! it asserts no latency (the figures it prints are recorded in `docs/BENCHMARKS.md` from the
//! full-size run, see below).
//!
//! Sizes (environment): `CONSENTRY_LOAD_RECORDS` (default 100,000), `CONSENTRY_LOAD_CLIENTS`
//! (100), `CONSENTRY_LOAD_SECS` (60). The figures in `docs/BENCHMARKS.md` come from
//!
//! ```sh
//! cargo test --release --locked --workspace --test integration load:: -- --nocapture
//! ```
//!
//! The records are real: a cohort of 256 patients enrols, claims and consents to research on
//! their labs; the hospital's key then sends pre-signed `request_access_batch` transactions
//! naming the whole cohort, three in four for research (granted) and one in four for treatment
//! (denied, `purpose_not_covered`). The API indexes them from the node as it always does.
//!
//! The clients are four kinds, one in four each, each with its own connection pool and session:
//! the hospital asking for decisions; an auditor paging the ledger by institution and state and
//! reading single records, their storage proofs and the summaries; a patient reading their own
//! records and consents; an auditor searching by pseudonym. The API runs with its per-client
//! rate and concurrency limits off: every client here comes from one loopback address, which the
//! limits exist to throttle.

use crate::common;

use common::{dev_node, key, Api, HOSPITAL};
use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519};
use consentry_e2e::load::{enrol_cohort, offline, rpc, submit_all, wait_nonces};
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

const COHORT: usize = 256;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: expected a number, got {v:?}"))
        })
        .unwrap_or(default)
}

/// One request of the mix: its class (for the figures), method and path, and body.
struct Request {
    class: &'static str,
    path: String,
    body: Option<Value>,
}

/// What client kind `kind` sends next, its `step`-th request.
fn next_request(
    kind: usize,
    step: u64,
    rng: &mut StdRng,
    records: u64,
    pseudonyms: &[String],
) -> Request {
    let get = |class, path: String| Request {
        class,
        path,
        body: None,
    };
    let pseudonym = &pseudonyms[rng.gen_range(0..pseudonyms.len())];
    match kind {
        0 => Request {
            class: "POST /v1/decision",
            path: "/v1/decision".into(),
            body: Some(json!({
                "pseudonym": pseudonym,
                "purpose": "research",
                "categories": ["labs"],
            })),
        },
        1 => match step % 8 {
            0 | 1 => get(
                "GET /v1/access?institution&state",
                format!("/v1/access?institution={HOSPITAL}&state=denied&limit=100"),
            ),
            2 | 3 => get(
                "GET /v1/access (page of 100)",
                "/v1/access?limit=100".into(),
            ),
            4 | 5 => get(
                "GET /v1/access/{id}",
                format!("/v1/access/{}", rng.gen_range(0..records)),
            ),
            6 => get(
                "GET /v1/access/{id}/proof",
                format!("/v1/access/{}/proof", rng.gen_range(0..records)),
            ),
            _ => get("GET /v1/summary", "/v1/summary".into()),
        },
        2 => match step % 2 {
            0 => get(
                "GET /v1/access (own, patient)",
                "/v1/access?limit=100".into(),
            ),
            _ => get("GET /v1/consents (own, patient)", "/v1/consents".into()),
        },
        _ => get(
            "GET /v1/access?pseudonym",
            format!("/v1/access?pseudonym={pseudonym}&limit=100"),
        ),
    }
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn many_clients_over_a_large_ledger_get_no_error() -> anyhow::Result<()> {
    let records = env_or("CONSENTRY_LOAD_RECORDS", 100_000);
    let clients = env_or("CONSENTRY_LOAD_CLIENTS", 100) as usize;
    let secs = env_or("CONSENTRY_LOAD_SECS", 60);
    anyhow::ensure!(
        clients >= 4,
        "CONSENTRY_LOAD_CLIENTS: at least one client of each kind"
    );

    let (node, client) = dev_node().await?;
    let rpc = rpc(&node.ws_url()).await?;
    let hospital = sr25519::dev::bob();
    let scope = CategorySet::of(&[DataCategory::Labs, DataCategory::Ehr]);
    let cohort = enrol_cohort(
        &client,
        &rpc,
        &hospital,
        HOSPITAL,
        0..COHORT,
        PurposeSet::of(&[Purpose::Research]),
        scope,
    )
    .await?;
    let pseudonyms: Vec<[u8; 32]> = cohort.iter().map(|p| p.pseudonym).collect();

    // The ledger: pre-signed batches naming the whole cohort.
    let seed_start = Instant::now();
    let batches = records.div_ceil(COHORT as u64);
    let first = client
        .tx()
        .account_nonce(&hospital.public_key().into())
        .await?;
    let txs = (0..batches)
        .map(|i| {
            let purpose = if i % 4 == 3 {
                Purpose::Treatment
            } else {
                Purpose::Research
            };
            let mut job = [0u8; 32];
            job[..8].copy_from_slice(&i.to_le_bytes());
            let call = runtime::tx().audit().request_access_batch(
                runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
                    pseudonyms.clone(),
                ),
                Static(purpose),
                Static(CategorySet::of(&[DataCategory::Labs])),
                job,
                1,
            );
            offline(&client, &call, &hospital, first + i)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(&rpc, &txs).await?;
    wait_nonces(&client, std::slice::from_ref(&hospital), first + batches).await?;
    let total = client
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().audit().next_access_id())
        .await?
        .unwrap_or(0);
    anyhow::ensure!(
        total >= batches * COHORT as u64,
        "the ledger holds {total} records, {} were sent",
        batches * COHORT as u64
    );
    let finalized = client.blocks().at_latest().await?.number();
    println!(
        "ledger: {total} access records in {:.0} s (finalized head #{finalized})",
        seed_start.elapsed().as_secs_f64()
    );

    // The API indexes the whole ledger before the load starts.
    let tmp = tempfile::tempdir()?;
    let api = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("index.db"),
        &["--rate-per-second", "0", "--max-in-flight-per-client", "0"],
    );
    let http = reqwest::Client::new();
    let index_start = Instant::now();
    loop {
        let ready = api.wait_ready(&http).await?;
        if ready["indexed"]
            .as_u64()
            .is_some_and(|n| n >= u64::from(finalized))
        {
            break;
        }
        anyhow::ensure!(
            index_start.elapsed() < Duration::from_secs(600),
            "the indexer did not reach #{finalized} in 600 s: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "index: caught up to #{finalized} in {:.0} s",
        index_start.elapsed().as_secs_f64()
    );

    let (hospital_token, _) = api.login(&http, &hospital).await?;
    let (auditor_token, _) = api.login(&http, &sr25519::dev::dave()).await?;
    let (pseudonym_auditor_token, _) = api.login(&http, &sr25519::dev::dave()).await?;
    let summary: Value = http
        .get(format!("{}/v1/summary", api.url))
        .bearer_auth(&auditor_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("summary before the load: {summary}");
    let hex_pseudonyms: Vec<String> = pseudonyms.iter().map(hex::encode).collect();

    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let kind = c % 4;
        let token = match kind {
            0 => hospital_token.clone(),
            1 => auditor_token.clone(),
            // Each patient client is one of the cohort, signed in with its own key.
            2 => {
                api.login(&http, &key(&format!("//Bench/Patient/{}", c % COHORT)))
                    .await?
                    .0
            }
            _ => pseudonym_auditor_token.clone(),
        };
        let base = api.url.clone();
        let hex_pseudonyms = hex_pseudonyms.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = StdRng::seed_from_u64(c as u64);
            let mut tally = Tally::default();
            let mut step = 0u64;
            while Instant::now() < deadline {
                let r = next_request(kind, step, &mut rng, total, &hex_pseudonyms);
                step += 1;
                let url = format!("{base}{}", r.path);
                let req = match &r.body {
                    Some(b) => http.post(&url).json(b),
                    None => http.get(&url),
                };
                let t = Instant::now();
                let outcome = match req.bearer_auth(&token).send().await {
                    Ok(resp) if resp.status().is_success() => resp.bytes().await.map(|_| ()),
                    Ok(resp) => {
                        let status = resp.status();
                        let body = resp.text().await.unwrap_or_default();
                        tally
                            .errors
                            .push(format!("{} {}: {status} {body}", r.class, r.path));
                        continue;
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => tally
                        .latencies
                        .entry(r.class)
                        .or_default()
                        .push(t.elapsed()),
                    Err(e) => tally.errors.push(format!("{} {}: {e}", r.class, r.path)),
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.errors.extend(t.errors);
        for (class, l) in t.latencies {
            all.latencies.entry(class).or_default().extend(l);
        }
    }

    println!(
        "{clients} clients for {secs} s over {total} records: {} requests, {} errors",
        all.latencies.values().map(Vec::len).sum::<usize>(),
        all.errors.len()
    );
    println!("| Request | n | per s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (class, mut l) in all.latencies.clone() {
        l.sort();
        let at = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)];
        println!(
            "| `{class}` | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            l.len(),
            l.len() as f64 / secs as f64,
            ms(at(0.50)),
            ms(at(0.99)),
            ms(l[l.len() - 1]),
        );
    }
    for e in all.errors.iter().take(20) {
        eprintln!("error: {e}");
    }
    assert!(
        all.errors.is_empty(),
        "{} requests failed",
        all.errors.len()
    );
    // Every kind of request ran (a mix that silently lost a class would measure less).
    assert_eq!(all.latencies.len(), 9, "{:?}", all.latencies.keys());
    drop(api);
    Ok(())
}
