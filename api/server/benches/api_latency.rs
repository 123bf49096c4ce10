//! Latency figures for `docs/BENCHMARKS.md` (a bench binary, not a timed test):
//!
//! - `decision`: `POST /v1/decision` through the real API binary against a real `--dev` node,
//!   beside the same runtime-API call made directly, p50/p99 over sequential requests.
//! - `query`: the indexer store's queries over 100,000 indexed access records, written through
//!   the indexer's own write path (1,000 blocks of 100 records), on SQLite and, when
//!   `CONSENTRY_PG_URL` is set, on PostgreSQL.
//! - `limits`: what the hardening costs a request: `POST /v1/decision` with the per-client rate
//!   and in-flight limits off and on (a quota no request reaches, so the limiter runs and admits
//!   every one), a request the rate limit refuses (429), and `POST /v1/relay` with its pool
//!   pre-check (the runtime's `validate_transaction` at the best block): a transaction it admits
//!   and forwards, and one it refuses (an unknown signer), each against one real `--dev` node.
//!
//! Run: `cargo bench --locked --workspace --bench api_latency [-- decision|query|limits]`.

#[path = "../tests/integration/common/mod.rs"]
mod common;

use common::{consent_story, dev_node, key, Api};
use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519};
use consentry_indexer::{AccessFilter, AccessRow, BlockWrite, Store};
use consentry_primitives::{CategorySet, DataCategory, Purpose, SubjectRef};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::{Duration, Instant};

const RECORDS: u64 = 100_000;
const PER_BLOCK: u64 = 100;
const SUBJECTS: u64 = 20_000;
const INSTITUTIONS: u32 = 5;

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99), samples[samples.len() - 1])
}

fn report(name: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let (p50, p99, max) = percentiles(samples);
    println!(
        "{name:<48} n={n:<5} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

async fn decision() -> anyhow::Result<()> {
    const N: usize = 1000;
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    // The per-client limits would throttle the one client this bench is.
    let api = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("index.db"),
        &["--rate-per-second", "0", "--max-in-flight-per-client", "0"],
    );
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;
    let patient = key("//BenchPatient");
    // The story ends revoked; grant again so the decision walks a live consent.
    let story = consent_story(&client, &patient, [0x55; 32]).await?;
    common::submit(
        &client,
        &runtime::tx().consent().grant(
            story.subject,
            Static(consentry_primitives::Grantee::Institution(common::HOSPITAL)),
            Static(consentry_primitives::PurposeSet::of(&[Purpose::Simulation])),
            Static(CategorySet::of(&[DataCategory::Labs])),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;
    let (token, _) = api.login(&http, &sr25519::dev::bob()).await?;
    let body = serde_json::json!({
        "pseudonym": hex::encode(story.pseudonym),
        "purpose": "simulation",
        "categories": ["labs"],
    });
    let mut through_api = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let r: serde_json::Value = http
            .post(format!("{}/v1/decision", api.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        through_api.push(t.elapsed());
        assert_eq!(r["decision"], "permit");
    }
    let mut direct = Vec::with_capacity(N);
    let bob: consentry_client::subxt::utils::AccountId32 = sr25519::dev::bob().public_key().into();
    for _ in 0..N {
        let t = Instant::now();
        let at = client.backend().latest_finalized_block_ref().await?.hash();
        client
            .runtime_api()
            .at(at)
            .call(runtime::apis().consent_api().decide(
                Static(SubjectRef::Pseudonym(story.pseudonym)),
                bob.clone(),
                Static(Purpose::Simulation),
                Static(CategorySet::of(&[DataCategory::Labs])),
                None,
            ))
            .await?;
        direct.push(t.elapsed());
    }
    report("decision: POST /v1/decision (API -> node)", through_api);
    report("decision: runtime API call direct (subxt -> node)", direct);
    Ok(())
}

fn synthetic_row(rng: &mut StdRng, id: u64, block: u32) -> AccessRow {
    let subject = rng.gen_range(0..SUBJECTS);
    let (state, deny_reason) = match rng.gen_range(0..100) {
        0..=54 => ("completed", None),
        55..=69 => ("granted", None),
        70..=89 => ("denied", Some("no_consent".to_string())),
        90..=96 => ("failed", None),
        _ => ("aborted", None),
    };
    let purposes = ["Simulation", "Inference", "Research", "FederatedTraining"];
    AccessRow {
        id,
        institution: rng.gen_range(0..INSTITUTIONS),
        requested_by: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty".into(),
        pseudonym: format!("{:064x}", subject * 7919),
        subject: Some(subject),
        purpose: purposes[rng.gen_range(0..purposes.len())].into(),
        categories: vec!["Labs".into(), "Genomic".into()],
        job_digest: format!("{:064x}", id),
        consents: vec![subject],
        emergency: (rng.gen_range(0..200) == 0).then(|| format!("{:064x}", id + 1)),
        state: state.into(),
        deny_reason,
        result_digest: None,
        requested_at_ms: 1_700_000_000_000 + id * 1_000,
        closed_at_ms: None,
        block_number: block,
        block_hash: format!("{:064x}", block),
        extrinsic_index: Some(1),
        closed_block_number: None,
        closed_block_hash: None,
    }
}

async fn fill(store: &Store) -> anyhow::Result<Duration> {
    let mut rng = StdRng::seed_from_u64(7);
    let start = Instant::now();
    for block in 0..(RECORDS / PER_BLOCK) as u32 {
        let access = (0..PER_BLOCK)
            .map(|i| synthetic_row(&mut rng, u64::from(block) * PER_BLOCK + i, block))
            .collect();
        store
            .write_block(&BlockWrite {
                number: block,
                hash: format!("{block:064x}"),
                access,
                ..Default::default()
            })
            .await?;
    }
    Ok(start.elapsed())
}

async fn queries(backend: &str, store: &Store) -> anyhow::Result<()> {
    const N: usize = 200;
    let filled = fill(store).await?;
    println!(
        "{backend}: indexed {RECORDS} records in {:.1} s ({:.0} records/s through write_block)",
        filled.as_secs_f64(),
        RECORDS as f64 / filled.as_secs_f64()
    );
    let mut rng = StdRng::seed_from_u64(11);
    let run = |name: &str, samples: Vec<Duration>| report(&format!("{backend}: {name}"), samples);

    let mut s = Vec::new();
    for _ in 0..N {
        let subject = rng.gen_range(0..SUBJECTS);
        let f = AccessFilter {
            subject: Some(subject),
            ..Default::default()
        };
        let t = Instant::now();
        store.access_records(&f, None, 100).await?;
        s.push(t.elapsed());
    }
    run("patient's records (by subject)", s);

    let mut s = Vec::new();
    for _ in 0..N {
        let f = AccessFilter {
            pseudonym: Some(format!("{:064x}", rng.gen_range(0..SUBJECTS) * 7919)),
            ..Default::default()
        };
        let t = Instant::now();
        store.access_records(&f, None, 100).await?;
        s.push(t.elapsed());
    }
    run("records by pseudonym", s);

    let mut s = Vec::new();
    for _ in 0..N {
        let f = AccessFilter {
            institution: Some(rng.gen_range(0..INSTITUTIONS)),
            state: Some("denied".into()),
            ..Default::default()
        };
        let t = Instant::now();
        store.access_records(&f, None, 100).await?;
        s.push(t.elapsed());
    }
    run("institution + state=denied, page of 100", s);

    let mut s = Vec::new();
    for _ in 0..N / 10 {
        let f = AccessFilter {
            institution: Some(1),
            ..Default::default()
        };
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let t = Instant::now();
            let page = store.access_records(&f, cursor.as_deref(), 100).await?;
            s.push(t.elapsed());
            cursor = page.next_cursor;
        }
    }
    run("institution, pages 1-10 by cursor", s);

    let mut s = Vec::new();
    for _ in 0..N {
        let from = 1_700_000_000_000 + rng.gen_range(0..RECORDS) * 1_000;
        let f = AccessFilter {
            from_ms: Some(from),
            to_ms: Some(from + 3_600_000),
            ..Default::default()
        };
        let t = Instant::now();
        store.access_records(&f, None, 100).await?;
        s.push(t.elapsed());
    }
    run("one-hour time range", s);

    let mut s = Vec::new();
    for _ in 0..N / 4 {
        let t = Instant::now();
        store.institution_summaries().await?;
        s.push(t.elapsed());
    }
    run("per-institution summaries", s);
    Ok(())
}

async fn query() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let sqlite = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    ))
    .await?;
    queries("sqlite", &sqlite).await?;
    match std::env::var("CONSENTRY_PG_URL") {
        Ok(url) => queries("postgres", &Store::open(&url).await?).await?,
        Err(_) => println!("postgres: skipped (set CONSENTRY_PG_URL to an empty database)"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; any other argument picks a part.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if wants("query") {
        query().await?;
    }
    if wants("decision") {
        decision().await?;
    }
    if wants("limits") {
        limits().await?;
    }
    Ok(())
}

/// Sequential requests built by `request`, each timed; every answer must have `status`.
async fn timed(
    n: usize,
    status: u16,
    mut request: impl FnMut() -> reqwest::RequestBuilder,
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = request().send().await?;
        let got = r.status().as_u16();
        let body = r.bytes().await?;
        out.push(t.elapsed());
        anyhow::ensure!(
            got == status,
            "expected HTTP {status}, got {got}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(out)
}

async fn limits() -> anyhow::Result<()> {
    const N: usize = 1000;
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let off = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("off.db"),
        &["--rate-per-second", "0", "--max-in-flight-per-client", "0"],
    );
    // A quota this one sequential client never reaches: the limiter admits every request.
    let on = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("on.db"),
        &[
            "--rate-per-second",
            "1000000",
            "--rate-burst",
            "1000000",
            "--max-in-flight-per-client",
            "1000",
        ],
    );
    // One request a second: after the first, each is refused.
    let tight = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("tight.db"),
        &["--rate-per-second", "1", "--rate-burst", "1"],
    );
    for api in [&off, &on, &tight] {
        api.wait_ready(&http).await?;
    }
    let patient = key("//BenchLimitsPatient");
    let story = consent_story(&client, &patient, [0x56; 32]).await?;
    let body = serde_json::json!({
        "pseudonym": hex::encode(story.pseudonym),
        "purpose": "simulation",
        "categories": ["labs"],
    });
    let mut rows = Vec::new();
    // Interleaved rounds, so drift in the node's load falls on both alike.
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let (t_off, _) = off.login(&http, &sr25519::dev::bob()).await?;
    let (t_on, _) = on.login(&http, &sr25519::dev::bob()).await?;
    for _ in 0..10 {
        without.extend(
            timed(N / 10, 200, || {
                http.post(format!("{}/v1/decision", off.url))
                    .bearer_auth(&t_off)
                    .json(&body)
            })
            .await?,
        );
        with.extend(
            timed(N / 10, 200, || {
                http.post(format!("{}/v1/decision", on.url))
                    .bearer_auth(&t_on)
                    .json(&body)
            })
            .await?,
        );
    }
    rows.push(("limits: POST /v1/decision, limits off", without));
    rows.push(("limits: POST /v1/decision, limits on (admitted)", with));
    // The first request spends the burst; the rest are refused before any work, but for the
    // one a second the quota admits again (not timed).
    let mut refused = Vec::with_capacity(N);
    while refused.len() < N {
        let t = Instant::now();
        let r = http.get(format!("{}/health", tight.url)).send().await?;
        let status = r.status().as_u16();
        let _ = r.bytes().await?;
        match status {
            429 => refused.push(t.elapsed()),
            200 => {}
            other => anyhow::bail!("expected HTTP 429 or 200, got {other}"),
        }
    }
    rows.push(("limits: refused by the rate limit (429)", refused));

    // The relay: a signer the chain does not know is refused by the pre-check, never reaching
    // the pool; the council's remark (Alice on dev) is admitted and forwarded.
    let stranger = key("//BenchStranger");
    let refused_tx = client
        .tx()
        .create_signed(
            &runtime::tx().system().remark(b"bench".to_vec()),
            &stranger,
            Default::default(),
        )
        .await?;
    let refused_body =
        serde_json::json!({ "extrinsic": format!("0x{}", hex::encode(refused_tx.encoded())) });
    rows.push((
        "relay: refused by the pool pre-check (422)",
        timed(N, 422, || {
            http.post(format!("{}/v1/relay", off.url))
                .json(&refused_body)
        })
        .await?,
    ));
    // Fewer than the 64 a council key may have pending (the runtime's `GOVERNANCE_BUDGET`).
    const ADMITTED: u32 = 60;
    let mut admitted = Vec::with_capacity(ADMITTED as usize);
    let alice = sr25519::dev::alice();
    let first = client
        .tx()
        .account_nonce(&alice.public_key().into())
        .await?;
    for i in 0..ADMITTED {
        // Signed with the next nonce after those already in the pool (not timed).
        let params = consentry_client::subxt::config::polkadot::PolkadotExtrinsicParamsBuilder::<
            consentry_client::ConsentryConfig,
        >::new()
        .nonce(first + u64::from(i))
        .build();
        let tx = client
            .tx()
            .create_signed(
                &runtime::tx().system().remark(i.to_le_bytes().to_vec()),
                &alice,
                params,
            )
            .await?;
        let body = serde_json::json!({ "extrinsic": format!("0x{}", hex::encode(tx.encoded())) });
        admitted.extend(
            timed(1, 200, || {
                http.post(format!("{}/v1/relay", off.url)).json(&body)
            })
            .await?,
        );
    }
    rows.push(("relay: pre-checked and forwarded to the pool", admitted));
    for (name, samples) in rows {
        report(name, samples);
    }
    Ok(())
}
