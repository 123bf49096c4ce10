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
    subxt::utils::Static,
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_e2e::{
    load::{block_load, enrol_cohort, offline, submit_all, wait_nonces, BlockLoad, Rpc},
    Node,
};
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use std::{str::FromStr, time::Instant};

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
            let BlockLoad { at_ms: at, weight } = block_load(api, block.hash()).await?;
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
    let rpc = consentry_e2e::load::rpc(&node.ws_url()).await?;
    let worker = sr25519::dev::bob();
    // Patients of institution 0 (the worker's) who consent to research on labs by it.
    let cohort: Vec<_> = enrol_cohort(
        &api,
        &rpc,
        &worker,
        0,
        0..batch_size,
        PurposeSet::of(&[Purpose::Research]),
        CategorySet::of(&[DataCategory::Labs]),
    )
    .await?
    .iter()
    .map(|p| p.pseudonym)
    .collect();
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
