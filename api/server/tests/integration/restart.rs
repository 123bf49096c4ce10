//! Kill -9 the API (and so its indexer) in the middle of indexing, restart it on the same
//! database, and count: every Identity/Consent/Audit event of every finalized block is indexed
//! exactly once.

use crate::common;

use common::{dev_node, Api};
use consentry_client::subxt::config::polkadot::PolkadotExtrinsicParamsBuilder;
use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519};
use consentry_indexer::Store;
use consentry_primitives::{CategorySet, DataCategory, Purpose};
use std::time::{Duration, Instant};

/// Requests per batch extrinsic (the runtime's `MaxBatch`).
const BATCH: usize = 256;
/// Batches submitted back to back: thousands of records make the indexer busy for a while.
const BATCHES: usize = 8;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_indexer_resumes_without_losing_or_repeating_events() -> anyhow::Result<()> {
    let (node, client) = dev_node().await?;
    let (_, rpc) = consentry_client::connect_with_rpc(&node.ws_url()).await?;
    let worker = sr25519::dev::bob();

    // Thousands of access requests for pseudonyms nobody enrolled: each is recorded as denied.
    // Explicit nonces: the batches are in the pool together before any is in a block.
    let first_nonce = client
        .tx()
        .account_nonce(&worker.public_key().into())
        .await?;
    let mut last = None;
    for b in 0..BATCHES {
        let pseudonyms: Vec<[u8; 32]> = (0..BATCH)
            .map(|i| {
                let mut p = [0u8; 32];
                p[..8].copy_from_slice(&((b * BATCH + i) as u64).to_le_bytes());
                p
            })
            .collect();
        let call = runtime::tx().audit().request_access_batch(
            runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(pseudonyms),
            Static(Purpose::Research),
            Static(CategorySet::of(&[DataCategory::Labs])),
            [9; 32],
            // Nobody claimed these pseudonyms: no consents to read.
            0,
        );
        last = Some(
            client
                .tx()
                .sign_and_submit_then_watch(
                    &call,
                    &worker,
                    PolkadotExtrinsicParamsBuilder::new()
                        .nonce(first_nonce + b as u64)
                        .build(),
                )
                .await?,
        );
    }
    last.expect("submitted")
        .wait_for_finalized_success()
        .await?;
    let target = client.blocks().at_latest().await?.number();
    // Wait until that block is finalized, so the target is reachable by the indexer.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let head = rpc.chain_get_finalized_head().await?;
        let n = rpc
            .chain_get_header(Some(head))
            .await?
            .expect("header")
            .number;
        if n >= target {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "finality stalled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("index.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut api = Api::start(&node.ws_url(), &db);

    // Kill it as soon as it has indexed something but not everything. The probe only reads (a
    // read-only connection, one query): opening the `Store` would run the schema statements and
    // migrations against the file the API is itself creating and migrating, and under load one
    // of the two could wait out SQLite's busy timeout. An API that exits is reported at once.
    let deadline = Instant::now() + Duration::from_secs(120);
    let probe_url = format!("sqlite://{}?mode=ro", db.display());
    let killed_at = loop {
        if let Some(status) = api.exited() {
            anyhow::bail!(
                "the API exited before it indexed anything ({status}); \
                 CONSENTRY_API_LOG=/path keeps its log"
            );
        }
        if db.exists() {
            if let Some(n) = probe_head(&probe_url).await {
                if n < target {
                    api.kill();
                    break n;
                }
                anyhow::bail!("the indexer finished (block {n}) before it could be killed");
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the API indexed no block within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(killed_at < target);

    // Restart on the same database and let it finish.
    let mut api = Api::start(&node.ws_url(), &db);
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while probe_head(&probe_url).await.is_none_or(|n| n < target) {
        anyhow::ensure!(Instant::now() < deadline, "indexer never caught up");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    api.kill();
    let store = Store::open(&url).await?;
    let (indexed_head, _) = store.indexed_head().await?.expect("head");

    // Count the chain's own Consentry events over the same blocks, independently of the indexer.
    let mut on_chain = 0u64;
    for n in 0..=indexed_head {
        let hash = rpc
            .chain_get_block_hash(Some(n.into()))
            .await?
            .expect("finalized block");
        let events = client.blocks().at(hash).await?.events().await?;
        for ev in events.iter() {
            let ev = ev?;
            if ["Identity", "Consent", "Audit"].contains(&ev.pallet_name()) {
                on_chain += 1;
            }
        }
    }
    assert!(on_chain >= (BATCH * BATCHES) as u64);
    assert_eq!(store.event_count().await?, on_chain);
    // Blocks 0 (genesis) to the head, each exactly once.
    assert_eq!(store.block_count().await?, u64::from(indexed_head) + 1);
    let next_id = client
        .storage()
        .at_latest()
        .await?
        .fetch_or_default(&runtime::storage().audit().next_access_id())
        .await?;
    assert_eq!(store.counts().await?.total, next_id);
    Ok(())
}

/// The highest block in the index at `url` (read-only), or `None` while it has none or its schema
/// is not there yet.
async fn probe_head(url: &str) -> Option<u32> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(url).await.ok()?;
    let row = sqlx::query("SELECT number FROM blocks ORDER BY number DESC LIMIT 1")
        .fetch_optional(&mut conn)
        .await
        .ok()??;
    let _ = conn.close().await;
    row.try_get::<i64, _>("number").ok()?.try_into().ok()
}
