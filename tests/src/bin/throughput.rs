//! Finalized access records per second on a `--dev` node: single `request_access` transactions
//! and `request_access_batch` transactions.
//!
//! ```sh
//! cargo run --release -p consentry-e2e --bin throughput -- [single-count] [batches] [batch-size]
//! ```
//! Starts its own dev node, enrols and consents one patient, pre-signs every transaction (so
//! signing is not measured), submits them all, and counts records in finalized blocks until all
//! have landed. Reports records/s from the first submission to the last finalization.

use consentry_client::{
    runtime,
    subxt::{config::polkadot::PolkadotExtrinsicParamsBuilder as Params, utils::Static},
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use futures::StreamExt;
use std::{str::FromStr, time::Instant};

const PSEUDONYM: [u8; 32] = [0x42; 32];

/// Plain `author_submitExtrinsic`: no per-transaction subscription.
type Rpc =
    consentry_client::subxt::backend::legacy::LegacyRpcMethods<consentry_client::ConsentryConfig>;

type Single =
    consentry_client::subxt::tx::DefaultPayload<runtime::audit::calls::types::RequestAccess>;
type Batch =
    consentry_client::subxt::tx::DefaultPayload<runtime::audit::calls::types::RequestAccessBatch>;

/// The two kinds of measured transaction.
enum Call {
    Single(Single),
    Batch(Batch),
}

impl consentry_client::subxt::tx::Payload for Call {
    fn encode_call_data_to(
        &self,
        metadata: &consentry_client::subxt::Metadata,
        out: &mut Vec<u8>,
    ) -> Result<(), consentry_client::subxt::ext::subxt_core::Error> {
        match self {
            Call::Single(c) => c.encode_call_data_to(metadata, out),
            Call::Batch(c) => c.encode_call_data_to(metadata, out),
        }
    }
}

async fn setup(api: &Client, worker: &sr25519::Keypair) -> anyhow::Result<()> {
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Bench/Patient")?)?;
    api.tx()
        .sign_and_submit_then_watch_default(
            &runtime::tx()
                .identity()
                .enrol(PSEUDONYM, patient.public_key().into()),
            worker,
        )
        .await?
        .wait_for_finalized_success()
        .await?;
    api.tx()
        .sign_and_submit_then_watch_default(&runtime::tx().identity().claim(PSEUDONYM), &patient)
        .await?
        .wait_for_finalized_success()
        .await?;
    let subject = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(PSEUDONYM))
        .await?
        .expect("claimed");
    let grant = runtime::tx().consent().grant(
        subject,
        Static(Grantee::Institution(0)),
        Static(PurposeSet::of(&[Purpose::Research])),
        Static(CategorySet::of(&[DataCategory::Labs])),
        None,
        None,
        None,
    );
    api.tx()
        .sign_and_submit_then_watch_default(&grant, &patient)
        .await?
        .wait_for_finalized_success()
        .await?;
    Ok(())
}

/// Submits pre-signed transactions and waits until `expected` records are finalized.
async fn run(api: &Client, rpc: &Rpc, txs: Vec<Vec<u8>>, expected: u64) -> anyhow::Result<f64> {
    let mut finalized = api.blocks().subscribe_finalized().await?;
    let start = Instant::now();
    // Submit many at once: one at a time, the RPC round trip (not the chain) would be measured.
    let submitted: Vec<_> =
        futures::stream::iter(txs.iter().map(|tx| rpc.author_submit_extrinsic(tx)))
            .buffer_unordered(256)
            .collect()
            .await;
    for s in submitted {
        s?;
    }
    let mut seen = 0u64;
    // Per block with records: how many, and how full the block's normal-class weight was
    // (to tell whether weights or the author's time limit bound a block).
    let mut blocks: Vec<(u64, f64)> = vec![];
    // The normal class's share of a block, as the runtime declares it.
    let normal_limit = api
        .constants()
        .at(&runtime::constants().system().block_weights())?
        .per_class
        .normal
        .max_total
        .map(|w| w.ref_time as f64)
        .ok_or_else(|| anyhow::anyhow!("the runtime sets no normal-class block limit"))?;
    while seen < expected {
        let block = finalized.next().await.expect("finalized stream")?;
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
            blocks.push((n, weight));
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

    let node = Node::dev()?;
    let api = node.client().await?;
    let rpc = Rpc::new(
        consentry_client::subxt::backend::rpc::RpcClient::from_insecure_url(node.ws_url()).await?,
    );
    let worker = sr25519::dev::bob();
    setup(&api, &worker).await?;

    let mut nonce = api.tx().account_nonce(&worker.public_key().into()).await?;
    let categories = Static(CategorySet::of(&[DataCategory::Labs]));
    let mut sign = |call: Box<dyn FnOnce() -> Call>| -> anyhow::Result<Vec<u8>> {
        let params = Params::new().nonce(nonce).build();
        nonce += 1;
        Ok(api
            .tx()
            .create_signed_offline(&call(), &worker, params)?
            .into_encoded())
    };

    let singles_txs = (0..singles)
        .map(|i| {
            let digest = [(i % 251) as u8; 32];
            let c = categories.clone();
            sign(Box::new(move || {
                Call::Single(runtime::tx().audit().request_access(
                    PSEUDONYM,
                    Static(Purpose::Research),
                    c,
                    digest,
                ))
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let single_rate = run(&api, &rpc, singles_txs, singles).await?;
    println!("single request_access: {singles} records finalized at {single_rate:.0} records/s");

    let batch_txs = (0..batches)
        .map(|_| {
            let pseudonyms = vec![PSEUDONYM; batch_size];
            let c = categories.clone();
            sign(Box::new(move || {
                Call::Batch(runtime::tx().audit().request_access_batch(
                    runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(
                        pseudonyms,
                    ),
                    Static(Purpose::Research),
                    c,
                    [9; 32],
                ))
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let batch_rate = run(&api, &rpc, batch_txs, batches * batch_size as u64).await?;
    println!(
        "request_access_batch ({batch_size}/tx): {} records finalized at {batch_rate:.0} records/s",
        batches * batch_size as u64
    );
    Ok(())
}
