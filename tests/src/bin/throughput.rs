//! Finalized access records per second on a `--dev` node: single `request_access` transactions
//! and `request_access_batch` transactions.
//!
//! ```sh
//! cargo run --release -p consentry-e2e --bin throughput -- [single-count] [batches] [batch-size]
//! ```
//! Starts its own dev node, enrols a cohort of `batch-size` patients who each consent (as a
//! hospital's cohort would), pre-signs every transaction (so signing is not measured), submits
//! them all, and counts records in finalized blocks until all have landed. Single requests cycle
//! through the cohort; each batch names every patient once, so each record is a different
//! patient's (the costlier case for the chain: one decision and index write per patient).
//! Reports records/s from the first submission to the last finalization; `THROUGHPUT_VERBOSE=1`
//! also prints each block's records and weight. All requests come from one service key (Bob's,
//! institution 0) unless `THROUGHPUT_WORKERS=n` spreads them round-robin over `n` service keys of
//! that institution, as an institution running several workers would (the extra keys are added
//! through the dev chain's sudo key).

use consentry_client::{
    runtime,
    subxt::{
        config::polkadot::PolkadotExtrinsicParamsBuilder as Params,
        utils::{AccountId32, Static},
    },
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use futures::StreamExt;
use std::{
    str::FromStr,
    time::{Duration, Instant},
};

/// Plain `author_submitExtrinsic`: no per-transaction subscription.
type Rpc =
    consentry_client::subxt::backend::legacy::LegacyRpcMethods<consentry_client::ConsentryConfig>;

/// Pseudonym of cohort patient `i`.
fn pseudonym(i: usize) -> [u8; 32] {
    let mut p = [0x42; 32];
    p[..4].copy_from_slice(&(i as u32).to_le_bytes());
    p
}

/// Submits pre-signed transactions concurrently (one at a time, the RPC round trip, not the
/// chain, would be measured).
async fn submit_all(rpc: &Rpc, txs: &[Vec<u8>]) -> anyhow::Result<()> {
    let submitted: Vec<_> =
        futures::stream::iter(txs.iter().map(|tx| rpc.author_submit_extrinsic(tx)))
            .buffer_unordered(256)
            .collect()
            .await;
    for s in submitted {
        s?;
    }
    Ok(())
}

/// Waits until every account in `who` has a nonce of at least `nonce` at the finalized head.
async fn wait_nonces(api: &Client, who: &[sr25519::Keypair], nonce: u64) -> anyhow::Result<()> {
    let mut finalized = api.blocks().subscribe_finalized().await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    'blocks: while Instant::now() < deadline {
        let block = finalized.next().await.expect("finalized stream")?;
        for k in who {
            let info = api
                .storage()
                .at(block.hash())
                .fetch(
                    &runtime::storage()
                        .system()
                        .account(AccountId32::from(k.public_key())),
                )
                .await?;
            if info.map_or(0, |i| u64::from(i.nonce)) < nonce {
                continue 'blocks;
            }
        }
        return Ok(());
    }
    anyhow::bail!("set-up transactions were not all finalized within 300 s")
}

/// `call` signed by `who` with `nonce`, encoded for `author_submitExtrinsic`.
fn offline<C: consentry_client::subxt::tx::Payload>(
    api: &Client,
    call: &C,
    who: &sr25519::Keypair,
    nonce: u64,
) -> anyhow::Result<Vec<u8>> {
    let params = Params::new().nonce(nonce).build();
    Ok(api
        .tx()
        .create_signed_offline(call, who, params)?
        .into_encoded())
}

/// Enrols `cohort` patients at institution 0 (the worker's), has each claim its pseudonym and
/// consent to research on labs by institution 0. Returns the pseudonyms.
async fn setup(
    api: &Client,
    rpc: &Rpc,
    worker: &sr25519::Keypair,
    cohort: usize,
) -> anyhow::Result<Vec<[u8; 32]>> {
    let patients = (0..cohort)
        .map(|i| {
            let uri = SecretUri::from_str(&format!("//Bench/Patient/{i}"))?;
            Ok(sr25519::Keypair::from_uri(&uri)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pseudonyms: Vec<_> = (0..cohort).map(pseudonym).collect();
    let first = api.tx().account_nonce(&worker.public_key().into()).await?;
    let enrols = patients
        .iter()
        .zip(&pseudonyms)
        .enumerate()
        .map(|(i, (k, p))| {
            let call = runtime::tx().identity().enrol(*p, k.public_key().into());
            offline(api, &call, worker, first + i as u64)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(rpc, &enrols).await?;
    wait_nonces(api, std::slice::from_ref(worker), first + cohort as u64).await?;
    let claims = patients
        .iter()
        .zip(&pseudonyms)
        .map(|(k, p)| offline(api, &runtime::tx().identity().claim(*p), k, 0))
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(rpc, &claims).await?;
    wait_nonces(api, &patients, 1).await?;
    let mut grants = Vec::with_capacity(cohort);
    let at = api.runtime_api().at_latest().await?;
    for (k, p) in patients.iter().zip(&pseudonyms) {
        let subject = at
            .call(runtime::apis().consent_api().subject_of(*p))
            .await?
            .ok_or_else(|| anyhow::anyhow!("a claimed pseudonym does not resolve"))?;
        let grant = runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Research])),
            Static(CategorySet::of(&[DataCategory::Labs])),
            None,
            None,
            None,
        );
        grants.push(offline(api, &grant, k, 1)?);
    }
    submit_all(rpc, &grants).await?;
    wait_nonces(api, &patients, 2).await?;
    Ok(pseudonyms)
}

/// The most consents any of `cohort`'s patients holds in the chain's consent index (0 for
/// pseudonyms nobody claimed), as `request_access_batch` wants it.
async fn consents_bound(api: &Client, cohort: &[[u8; 32]]) -> anyhow::Result<u32> {
    let at = api.runtime_api().at_latest().await?;
    let mut bound = 0;
    for p in cohort {
        if let Some(subject) = at
            .call(runtime::apis().consent_api().subject_of(*p))
            .await?
        {
            let held = at
                .call(runtime::apis().consent_api().consents_of(subject))
                .await?;
            bound = bound.max(held.len() as u32);
        }
    }
    Ok(bound)
}

/// The service keys that sign the requests: `worker` and, with `THROUGHPUT_WORKERS=n`, `n - 1`
/// more keys of institution 0, added by the dev chain's sudo key (Alice).
async fn workers(
    api: &Client,
    rpc: &Rpc,
    worker: sr25519::Keypair,
) -> anyhow::Result<Vec<sr25519::Keypair>> {
    use runtime::runtime_types::{
        consentry_runtime::RuntimeCall, pallet_consentry_identity::pallet::Call as IdentityCall,
    };
    let n: usize = match std::env::var("THROUGHPUT_WORKERS") {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("THROUGHPUT_WORKERS: expected a count, got {v:?}"))?,
        Err(_) => 1,
    };
    anyhow::ensure!(n >= 1, "THROUGHPUT_WORKERS must be at least 1");
    let mut keys = vec![worker];
    for i in 1..n {
        keys.push(sr25519::Keypair::from_uri(&SecretUri::from_str(
            &format!("//Bench/Worker/{i}"),
        )?)?);
    }
    if n > 1 {
        let sudo = sr25519::dev::alice();
        let first = api.tx().account_nonce(&sudo.public_key().into()).await?;
        let adds = keys[1..]
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let add = RuntimeCall::Identity(IdentityCall::add_service_key {
                    institution: 0,
                    key: k.public_key().into(),
                });
                offline(
                    api,
                    &runtime::tx().sudo().sudo(add),
                    &sudo,
                    first + i as u64,
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        submit_all(rpc, &adds).await?;
        wait_nonces(api, &[sudo], first + adds.len() as u64).await?;
        println!("{n} service keys of institution 0 sign the requests");
    }
    Ok(keys)
}

/// Submits pre-signed transactions and waits until `expected` records are finalized.
async fn run(api: &Client, rpc: &Rpc, txs: Vec<Vec<u8>>, expected: u64) -> anyhow::Result<f64> {
    // The subscription starts with the current finalized block, which holds earlier work (the
    // previous run's last records): only blocks after it count.
    let before = api.blocks().at_latest().await?.number();
    let mut finalized = api.blocks().subscribe_finalized().await?;
    let start = Instant::now();
    submit_all(rpc, &txs).await?;
    let mut seen = 0u64;
    // Per block with records: how many, how full the block's normal-class weight was (to tell
    // whether weights or the author's time limit bound a block), and its timestamp (ms).
    let mut blocks: Vec<(u64, f64, u64)> = vec![];
    // The normal class's share of a block, as the runtime declares it.
    let normal_limit = api
        .constants()
        .at(&runtime::constants().system().block_weights())?
        .per_class
        .normal
        .max_total
        .map(|w| w.ref_time as f64)
        .ok_or_else(|| anyhow::anyhow!("the runtime sets no normal-class block limit"))?;
    // `THROUGHPUT_VERBOSE=1` prints every block with records.
    let verbose = std::env::var_os("THROUGHPUT_VERBOSE").is_some();
    while seen < expected {
        let block = finalized.next().await.expect("finalized stream")?;
        if block.number() <= before {
            continue;
        }
        let events = block.events().await?;
        let n = events
            .find::<runtime::audit::events::AccessGranted>()
            .count() as u64
            + events
                .find::<runtime::audit::events::AccessDenied>()
                .count() as u64;
        if n > 0 {
            let weight = api
                .storage()
                .at(block.hash())
                .fetch(&runtime::storage().system().block_weight())
                .await?
                .map(|w| w.normal.ref_time as f64 / normal_limit)
                .unwrap_or(0.0);
            let at = api
                .storage()
                .at(block.hash())
                .fetch(&runtime::storage().timestamp().now())
                .await?
                .ok_or_else(|| anyhow::anyhow!("block without a timestamp"))?;
            if verbose {
                println!(
                    "    #{} at {at} ms: {n} records, {:.0}% of normal weight",
                    block.number(),
                    weight * 100.0
                );
            }
            blocks.push((n, weight, at));
        }
        seen += n;
    }
    let rate = expected as f64 / start.elapsed().as_secs_f64();
    let fullest = blocks.iter().map(|b| b.0).max().unwrap_or(0);
    let max_weight = blocks.iter().map(|b| b.1).fold(0.0, f64::max);
    println!(
        "  {} blocks with records, at most {fullest} records in one block (normal-class weight up to {:.0}% of its limit)",
        blocks.len(),
        max_weight * 100.0
    );
    // Steady state: the records of every block after the first, over the chain time between the
    // first block and the last (block timestamps: leaves out the start-up and the finality lag,
    // and does not depend on when the finality notifications happened to arrive).
    if let (Some(first), Some(last)) = (blocks.first(), blocks.last()) {
        let span = last.2.saturating_sub(first.2) as f64 / 1000.0;
        if blocks.len() > 1 && span > 0.0 {
            let after_first: u64 = blocks[1..].iter().map(|b| b.0).sum();
            println!(
                "  steady state: {:.0} records/s finalized ({after_first} records in {span:.1} s)",
                after_first as f64 / span
            );
        }
    }
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let singles = *args.first().unwrap_or(&3000);
    let batches = *args.get(1).unwrap_or(&100);
    let batch_size = *args.get(2).unwrap_or(&256) as usize;

    // The pool must hold a whole run: the default (8,192 transactions, 20 MiB) would turn
    // submissions away and the bench would measure the pool's limit, not the chain.
    // `THROUGHPUT_NODE_ARGS` adds node options to compare (e.g. `--pool-type fork-aware`).
    let extra = std::env::var("THROUGHPUT_NODE_ARGS").unwrap_or_default();
    let mut args = vec!["--pool-limit", "200000", "--pool-kbytes", "1000000"];
    args.extend(extra.split_whitespace());
    let node = Node::dev_with(&args)?;
    let api = node.client().await?;
    let rpc = Rpc::new(
        consentry_client::subxt::backend::rpc::RpcClient::from_insecure_url(node.ws_url()).await?,
    );
    let worker = sr25519::dev::bob();
    let cohort = setup(&api, &rpc, &worker, batch_size).await?;
    println!("{} patients enrolled and consenting", cohort.len());

    let workers = workers(&api, &rpc, worker).await?;
    let mut nonces = Vec::with_capacity(workers.len());
    for w in &workers {
        nonces.push(api.tx().account_nonce(&w.public_key().into()).await?);
    }
    // The next transaction's signer (round-robin) and its nonce.
    let mut next_signer = {
        let mut turn = 0usize;
        move || {
            let w = turn % workers.len();
            turn += 1;
            nonces[w] += 1;
            (workers[w].clone(), nonces[w] - 1)
        }
    };
    let categories = Static(CategorySet::of(&[DataCategory::Labs]));

    let singles_txs = (0..singles)
        .map(|i| {
            let call = runtime::tx().audit().request_access(
                cohort[i as usize % cohort.len()],
                Static(Purpose::Research),
                categories.clone(),
                [(i % 251) as u8; 32],
            );
            let (who, nonce) = next_signer();
            offline(&api, &call, &who, nonce)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let single_rate = run(&api, &rpc, singles_txs, singles).await?;
    println!("single request_access: {singles} records finalized at {single_rate:.0} records/s");

    // What a hospital's worker declares for a cohort: the most consents any member holds.
    let bound = consents_bound(&api, &cohort).await?;
    let batch_txs = (0..batches)
        .map(|_| {
            let call = runtime::tx().audit().request_access_batch(
                runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
                    cohort.clone(),
                ),
                Static(Purpose::Research),
                categories.clone(),
                [9; 32],
                bound,
            );
            let (who, nonce) = next_signer();
            offline(&api, &call, &who, nonce)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let batch_rate = run(&api, &rpc, batch_txs, batches * batch_size as u64).await?;
    println!(
        "request_access_batch ({batch_size}/tx): {} records finalized at {batch_rate:.0} records/s",
        batches * batch_size as u64
    );
    Ok(())
}
