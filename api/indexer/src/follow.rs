//! Following the chain: reading finalized blocks and writing them, in order, to the store.
//!
//! Only finalized blocks are read (by number, through `chain_getBlockHash`, up to the finalized
//! head), so nothing indexed is ever reverted. Access records and consents are read from the
//! chain's own state *at the block that changed them*, which gives the row exactly as the chain
//! held it after that block; the node must keep that state (an archive node, or one that the
//! indexer keeps up with within its state-pruning window).

use crate::events::{describe, Effect};
use crate::model::{
    category_names, consent_status_name, hex32, purpose_name, purpose_names, state_name, AccessRow,
    ConsentRow, EventRow,
};
use crate::store::{BlockWrite, Store};
use anyhow::Context;
use codec::{Decode, Encode};
use consentry_client::runtime;
use consentry_client::subxt::backend::legacy::LegacyRpcMethods;
use consentry_client::subxt::backend::rpc::RpcClient;
use consentry_client::subxt::events::Phase;
use consentry_client::subxt::utils::{AccountId32, H256};
use consentry_client::{Client, ConsentryConfig};
use consentry_primitives::{AccessRecord, Consent, RecordKey};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// A connection to a node: the typed client and the legacy RPC methods (block hash by number).
#[derive(Clone)]
pub struct Chain {
    /// The typed client.
    pub client: Client,
    rpc: LegacyRpcMethods<ConsentryConfig>,
}

impl Chain {
    /// Connects to `url` (`ws://127.0.0.1:9944`).
    pub async fn connect(url: &str) -> anyhow::Result<Chain> {
        let rpc = RpcClient::from_insecure_url(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let client = Client::from_rpc_client(rpc.clone()).await?;
        Ok(Chain {
            client,
            rpc: LegacyRpcMethods::new(rpc),
        })
    }

    /// The number of the latest finalized block.
    pub async fn finalized_number(&self) -> anyhow::Result<u32> {
        let hash = self.rpc.chain_get_finalized_head().await?;
        let header = self
            .rpc
            .chain_get_header(Some(hash))
            .await?
            .context("the finalized head has no header")?;
        Ok(header.number)
    }

    /// The hash of the canonical block `number`.
    pub async fn block_hash(&self, number: u32) -> anyhow::Result<H256> {
        self.rpc
            .chain_get_block_hash(Some(number.into()))
            .await?
            .with_context(|| format!("the node has no block {number}"))
    }

    /// Reads block `number` (which must be finalized) and everything to write for it.
    pub async fn read_block(&self, number: u32, hash: H256) -> anyhow::Result<BlockWrite> {
        let block_hash = hex::encode(hash.0);
        let events = self.client.blocks().at(hash).await?.events().await?;
        let mut w = BlockWrite {
            number,
            hash: block_hash.clone(),
            ..Default::default()
        };
        // Per access record: (extrinsic of the creating event, closed in this block).
        let mut access: BTreeMap<RecordKey, (Option<u32>, bool)> = BTreeMap::new();
        let mut consents: BTreeMap<u64, Option<u32>> = BTreeMap::new();
        let mut erased_subjects = Vec::new();
        for ev in events.iter() {
            let ev = ev?;
            if !matches!(ev.pallet_name(), "Identity" | "Consent" | "Audit") {
                continue;
            }
            let extrinsic_index = match ev.phase() {
                Phase::ApplyExtrinsic(i) => Some(i),
                _ => None,
            };
            let root = ev.as_root_event::<runtime::Event>()?;
            let Some((pallet, variant, json, fx)) = describe(root) else {
                continue;
            };
            let Effect {
                access: a,
                consent,
                consents_of,
                enrolment,
            } = fx;
            if let Some((key, closed)) = a {
                let e = access.entry(key).or_insert((None, false));
                if closed {
                    e.1 = true;
                } else {
                    e.0 = extrinsic_index;
                }
            }
            if let Some(id) = consent {
                consents.entry(id).or_insert(extrinsic_index);
            }
            erased_subjects.extend(consents_of);
            w.enrolments.extend(enrolment);
            w.events.push(EventRow {
                block_number: number,
                block_hash: block_hash.clone(),
                extrinsic_index,
                event_index: ev.index(),
                pallet: pallet.into(),
                variant: variant.into(),
                json,
            });
        }
        let rt = self.client.runtime_api().at(hash);
        for (RecordKey { subject, id }, (extrinsic_index, closed)) in access {
            let record = rt
                .call(runtime::apis().audit_api().record(subject, id))
                .await?
                .with_context(|| format!("access record {id} missing at block {number}"))?;
            let record: AccessRecord<AccountId32, u32> = recode(&record)?;
            // A permit used its consents: their use counts changed without a consent event.
            for c in record.consents.iter() {
                consents.entry(*c).or_insert(None);
            }
            // Indexing starts at genesis, so a record is first seen in its own block; the lookup
            // only matters for a database started mid-chain.
            let created_hash = if record.block == number {
                block_hash.clone()
            } else {
                hex::encode(self.block_hash(record.block).await?.0)
            };
            w.access.push(access_row(
                record,
                &created_hash,
                (&block_hash, number),
                extrinsic_index,
                closed,
            ));
        }
        for subject in erased_subjects {
            let all = rt
                .call(runtime::apis().consent_api().consents_of(subject))
                .await?;
            for (id, _) in all {
                consents.entry(id).or_insert(None);
            }
        }
        let storage = self.client.storage().at(hash);
        for (id, extrinsic_index) in consents {
            let c = storage
                .fetch(&runtime::storage().consent().consents(id))
                .await?
                .with_context(|| format!("consent {id} missing at block {number}"))?;
            let c: Consent<AccountId32> = recode(&c)?;
            w.consents
                .push(consent_row(id, c, &block_hash, number, extrinsic_index));
        }
        Ok(w)
    }
}

/// Converts a generated type into the runtime's own type with the same SCALE layout.
fn recode<A: Encode, B: Decode>(a: &A) -> anyhow::Result<B> {
    let bytes = a.encode();
    let mut input = &bytes[..];
    let b = B::decode(&mut input).context("decoding a chain value")?;
    anyhow::ensure!(input.is_empty(), "trailing bytes in a chain value");
    Ok(b)
}

fn access_row(
    r: AccessRecord<AccountId32, u32>,
    created_hash: &str,
    (block_hash, number): (&str, u32),
    extrinsic_index: Option<u32>,
    closed_here: bool,
) -> AccessRow {
    let (state, deny_reason) = state_name(&r.state);
    let created_here = r.block == number;
    AccessRow {
        id: r.id,
        institution: r.institution,
        requested_by: r.requested_by.to_string(),
        pseudonym: hex32(&r.pseudonym),
        subject: r.subject,
        purpose: purpose_name(r.purpose),
        categories: category_names(r.categories),
        job_digest: hex32(&r.job_digest),
        consents: r.consents.to_vec(),
        emergency: r.emergency.as_ref().map(hex32),
        state: state.into(),
        deny_reason,
        result_digest: r.result_digest.as_ref().map(hex32),
        requested_at_ms: r.requested_at,
        closed_at_ms: r.closed_at,
        block_number: r.block,
        block_hash: created_hash.into(),
        extrinsic_index: if created_here { extrinsic_index } else { None },
        closed_block_number: closed_here.then_some(number),
        closed_block_hash: closed_here.then(|| block_hash.into()),
    }
}

fn consent_row(
    id: u64,
    c: Consent<AccountId32>,
    block_hash: &str,
    number: u32,
    extrinsic_index: Option<u32>,
) -> ConsentRow {
    let (status, status_at_ms) = consent_status_name(&c.status);
    ConsentRow {
        id,
        subject: c.subject,
        grantee: c.grantee,
        purposes: purpose_names(c.purposes),
        categories: category_names(c.categories),
        valid_from_ms: c.valid_from,
        valid_until_ms: c.valid_until,
        max_uses: c.max_uses,
        uses: c.uses,
        status: status.into(),
        status_at_ms,
        granted_by: c.granted_by.to_string(),
        granted_at_ms: c.granted_at,
        // Kept from the first write on update; correct on insert (the grant's block).
        block_number: number,
        block_hash: block_hash.into(),
        extrinsic_index,
        updated_block_number: number,
    }
}

/// Indexes every block after the store's head up to `upto` (inclusive), one transaction each.
/// Returns how many blocks were written. Fails if the store's head is not a block of this chain.
pub async fn index_until(chain: &Chain, store: &Store, upto: u32) -> anyhow::Result<u32> {
    let next = match store.indexed_head().await? {
        Some((n, hash)) => {
            let on_chain = hex::encode(chain.block_hash(n).await?.0);
            anyhow::ensure!(
                on_chain == hash,
                "the database's block {n} is {hash}, the node's is {on_chain}: \
                 the database belongs to another chain"
            );
            n + 1
        }
        None => 0,
    };
    let mut written = 0;
    for n in next..=upto {
        let hash = chain.block_hash(n).await?;
        let w = chain
            .read_block(n, hash)
            .await
            .with_context(|| format!("reading block {n}"))?;
        store.write_block(&w).await?;
        written += 1;
    }
    Ok(written)
}

/// Follows `node_url`'s finalized blocks into `store` until `shutdown` completes, reconnecting
/// with exponential backoff (1 s to 30 s) after any error. Stopping (or dropping the future) in
/// the middle of a block rolls that block's transaction back; the next run redoes it.
pub async fn run(
    node_url: impl Into<String>,
    store: Store,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let node_url = node_url.into();
    let node_url = node_url.as_str();
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = follow(node_url, &store) => {
                let e = r.err().unwrap_or_else(|| anyhow::anyhow!("the finalized-block subscription ended"));
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "indexer error");
            }
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// One connection's worth of following: catch up to the finalized head, then again on every
/// finalization notice (the notices only wake the loop; numbers come from the node, so a
/// notice that skips blocks still indexes every one).
async fn follow(node_url: &str, store: &Store) -> anyhow::Result<()> {
    let chain = Chain::connect(node_url).await?;
    let mut sub = chain.client.blocks().subscribe_finalized().await?;
    loop {
        let head = chain.finalized_number().await?;
        let n = index_until(&chain, store, head).await?;
        if n > 0 {
            tracing::info!(head, blocks = n, "indexed");
        }
        match futures::StreamExt::next(&mut sub).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Ok(()),
        }
    }
}
