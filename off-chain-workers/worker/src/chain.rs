//! Everything the worker asks of the chain: one signer task that owns the key and the nonce,
//! submission of stored extrinsic bytes with a finalized-block watch, and reads of access records
//! at the finalized head.
//!
//! Only finalized state is trusted: a grant seen in a best block may still be reorganised away,
//! so every decision the worker acts on is read back at a finalized block hash.

use std::time::{Duration, Instant};

use anyhow::Context;
use consentry_client::{
    runtime::{
        self,
        runtime_types::{
            bounded_collections::bounded_vec::BoundedVec,
            consentry_primitives::{access::AccessRecord, consent::Consent},
        },
    },
    subxt::{
        config::polkadot::PolkadotExtrinsicParamsBuilder,
        tx::{SubmittableExtrinsic, TxStatus},
        utils::{AccountId32, Static, H256},
    },
    subxt_signer::sr25519::Keypair,
    Client, ConsentryConfig, Rpc,
};
use consentry_primitives::{CategorySet, Decision, Outcome, Purpose, RecordKey, SubjectRef};
use tokio::sync::{mpsc, oneshot};

use crate::jobs::StoredTx;

/// An access record as the runtime API returns it.
pub type Record = AccessRecord<AccountId32, u32>;

/// A consent as the runtime API returns it.
pub type ConsentPolicy = Consent<AccountId32>;

/// An extrinsic's events.
pub type Events = consentry_client::subxt::blocks::ExtrinsicEvents<ConsentryConfig>;

/// A call the signer signs.
#[derive(Debug, Clone)]
pub enum Call {
    /// `Audit::request_access`.
    Request {
        /// Patient pseudonym.
        pseudonym: [u8; 32],
        /// What for.
        purpose: Purpose,
        /// Which data.
        categories: CategorySet,
        /// SHA-256 of the job document.
        job_digest: [u8; 32],
    },
    /// `Audit::request_access_batch`: one record per pseudonym (at most the runtime's
    /// `MaxBatch`, 256), each decided on its own.
    RequestBatch {
        /// Patient pseudonyms.
        pseudonyms: Vec<[u8; 32]>,
        /// What for.
        purpose: Purpose,
        /// Which data.
        categories: CategorySet,
        /// SHA-256 of the job document.
        job_digest: [u8; 32],
        /// The most consents any of these patients holds (see [`Chain::consents_bound`]).
        consents_bound: u32,
    },
    /// `Audit::complete_access_batch`: granted records closed together, citing one result.
    CompleteBatch {
        /// The records (granted, so each has a subject).
        accesses: Vec<RecordKey>,
        /// How they end.
        outcome: Outcome,
        /// The result's digest (required for `Completed`).
        result_digest: Option<[u8; 32]>,
    },
    /// `Contracts::call`: a message to a contract (its SCALE input: selector and arguments),
    /// with the weight limit its dry run asked for.
    Contract {
        /// The contract's account.
        dest: AccountId32,
        /// Selector and arguments.
        input: Vec<u8>,
        /// Weight limit.
        gas_limit: consentry_client::contracts::Weight,
    },
    /// `Identity::set_transport_key`: the SHA-256 of the SubjectPublicKeyInfo of the TLS
    /// certificate this institution's workers present in federated rounds.
    SetTransportKey {
        /// This key's institution.
        institution: u32,
        /// The SPKI digest.
        key: [u8; 32],
    },
    /// `Audit::complete_access`.
    Complete {
        /// The record (granted, so it has a subject).
        access: RecordKey,
        /// How it ends.
        outcome: Outcome,
        /// The result's digest (required for `Completed`).
        result_digest: Option<[u8; 32]>,
    },
}

enum SignerMsg {
    Sign(Call, oneshot::Sender<anyhow::Result<StoredTx>>),
    Resync,
}

/// Handle to the signer task.
#[derive(Clone)]
pub struct Signer {
    tx: mpsc::Sender<SignerMsg>,
}

impl Signer {
    /// Signs `call` with the next nonce.
    pub async fn sign(&self, call: Call) -> anyhow::Result<StoredTx> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(SignerMsg::Sign(call, reply))
            .await
            .map_err(|_| anyhow::anyhow!("signer task stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("signer task dropped the request"))?
    }

    /// Asks the signer to fetch the nonce from the chain again before its next signature
    /// (after the pool said a nonce was already used).
    pub async fn resync(&self) {
        let _ = self.tx.send(SignerMsg::Resync).await;
    }
}

/// The worker's view of the chain.
#[derive(Clone)]
pub struct Chain {
    /// Typed client.
    pub client: Client,
    /// Raw RPC.
    pub rpc: Rpc,
    /// The service key's account.
    pub account: AccountId32,
    /// The institution that key belongs to.
    pub institution: u32,
    /// The signer task.
    pub signer: Signer,
}

/// What a submission ended in.
pub enum Submitted {
    /// Included in a finalized block; these are the extrinsic's events.
    Finalized {
        /// The finalized block.
        block: H256,
        /// The extrinsic's events (success only; a dispatch error is `Failed`).
        events: Events,
        /// Submission → in a best block.
        in_block: Duration,
        /// In a best block → finalized.
        finality: Duration,
    },
    /// Included and finalized, but the call failed.
    Failed(String),
    /// The pool or the subscription gave no answer we can act on (stale nonce, already in the
    /// pool, dropped, connection trouble): the caller must find out from finalized state.
    Unknown(String),
}

fn encode_call(client: &Client, kp: &Keypair, call: &Call, nonce: u64) -> anyhow::Result<Vec<u8>> {
    let params = PolkadotExtrinsicParamsBuilder::new().nonce(nonce).build();
    let tx = client.tx();
    let signed = match call {
        Call::Request {
            pseudonym,
            purpose,
            categories,
            job_digest,
        } => tx.create_signed_offline(
            &runtime::tx().audit().request_access(
                *pseudonym,
                Static(*purpose),
                Static(*categories),
                *job_digest,
            ),
            kp,
            params,
        )?,
        Call::RequestBatch {
            pseudonyms,
            purpose,
            categories,
            job_digest,
            consents_bound,
        } => tx.create_signed_offline(
            &runtime::tx().audit().request_access_batch(
                BoundedVec(pseudonyms.clone()),
                Static(*purpose),
                Static(*categories),
                *job_digest,
                *consents_bound,
            ),
            kp,
            params,
        )?,
        Call::CompleteBatch {
            accesses,
            outcome,
            result_digest,
        } => {
            let closes = accesses
                .iter()
                .map(|a| {
                    a.subject
                        .map(|s| (s, a.id))
                        .context("only granted records are closed, and they name a subject")
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            tx.create_signed_offline(
                &runtime::tx().audit().complete_access_batch(
                    BoundedVec(closes),
                    Static(*outcome),
                    *result_digest,
                ),
                kp,
                params,
            )?
        }
        Call::Contract {
            dest,
            input,
            gas_limit,
        } => tx.create_signed_offline(
            &runtime::tx().contracts().call(
                consentry_client::subxt::utils::MultiAddress::Id(dest.clone()),
                0,
                gas_limit.clone(),
                None,
                input.clone(),
            ),
            kp,
            params,
        )?,
        Call::SetTransportKey { institution, key } => tx.create_signed_offline(
            &runtime::tx()
                .identity()
                .set_transport_key(*institution, *key),
            kp,
            params,
        )?,
        Call::Complete {
            access,
            outcome,
            result_digest,
        } => tx.create_signed_offline(
            &runtime::tx().audit().complete_access(
                access
                    .subject
                    .context("only granted records are closed, and they name a subject")?,
                access.id,
                Static(*outcome),
                *result_digest,
            ),
            kp,
            params,
        )?,
    };
    Ok(signed.into_encoded())
}

async fn signer_task(
    client: Client,
    rpc: Rpc,
    kp: Keypair,
    account: AccountId32,
    mut rx: mpsc::Receiver<SignerMsg>,
) {
    let mut nonce: Option<u64> = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            SignerMsg::Resync => nonce = None,
            SignerMsg::Sign(call, reply) => {
                let res = async {
                    let n = match nonce {
                        Some(n) => n,
                        // The pool-aware next index: counts our transactions still in the pool.
                        None => rpc.system_account_next_index(&account).await?,
                    };
                    let since = client
                        .blocks()
                        .at_latest()
                        .await
                        .map(|b| b.number())
                        .unwrap_or(0);
                    let bytes = encode_call(&client, &kp, &call, n)?;
                    nonce = Some(n + 1);
                    Ok(StoredTx {
                        bytes,
                        nonce: n,
                        since_block: since,
                    })
                }
                .await;
                if res.is_err() {
                    nonce = None;
                }
                let _ = reply.send(res);
            }
        }
    }
}

/// Whether a pool error says the nonce was already used (by us or someone else with this key).
pub fn is_stale(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("outdated") || m.contains("stale")
}

/// How often a stored transaction not yet seen in a finalized block is sent again.
pub const RESUBMIT_EVERY: Duration = Duration::from_secs(6);

impl Chain {
    /// Connects, checks the key is a service key, and starts the signer task.
    pub async fn connect(url: &str, kp: Keypair) -> anyhow::Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let (client, rpc) = loop {
            match consentry_client::connect_with_rpc(url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    return Err(e).with_context(|| format!("--node {url}: cannot connect"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        let account: AccountId32 = kp.public_key().into();
        let institution = client
            .storage()
            .at_latest()
            .await?
            .fetch(&runtime::storage().identity().service_keys(account.clone()))
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--key-uri: account {account} is not a service key of any institution"
                )
            })?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(signer_task(
            client.clone(),
            rpc.clone(),
            kp,
            account.clone(),
            rx,
        ));
        Ok(Self {
            client,
            rpc,
            account,
            institution,
            signer: Signer { tx },
        })
    }

    /// Submits stored bytes and follows them to a finalized block.
    pub async fn submit(&self, bytes: &[u8]) -> Submitted {
        let started = Instant::now();
        let ext = SubmittableExtrinsic::from_bytes(self.client.clone(), bytes.to_vec());
        let mut progress = match ext.submit_and_watch().await {
            Ok(p) => p,
            Err(e) => return Submitted::Unknown(e.to_string()),
        };
        let mut in_block: Option<Duration> = None;
        while let Some(status) = progress.next().await {
            match status {
                Ok(TxStatus::InBestBlock(_)) => {
                    in_block.get_or_insert(started.elapsed());
                }
                Ok(TxStatus::InFinalizedBlock(b)) => {
                    let total = started.elapsed();
                    let ib = in_block.unwrap_or(total);
                    let block = b.block_hash();
                    return match b.wait_for_success().await {
                        Ok(events) => Submitted::Finalized {
                            block,
                            events,
                            in_block: ib,
                            finality: total.saturating_sub(ib),
                        },
                        Err(e) => Submitted::Failed(e.to_string()),
                    };
                }
                Ok(TxStatus::Invalid { message })
                | Ok(TxStatus::Dropped { message })
                | Ok(TxStatus::Error { message }) => return Submitted::Unknown(message),
                Ok(_) => {}
                Err(e) => return Submitted::Unknown(e.to_string()),
            }
        }
        Submitted::Unknown("transaction subscription ended".into())
    }

    /// Signs `call` with the worker's key and follows it to a finalized block: its events, or an
    /// error naming `what` (after which the signer re-reads its nonce if the fate is unknown). For
    /// calls that are safe to retry by hand: nothing is stored for resubmission.
    pub async fn sign_and_submit(&self, call: Call, what: &str) -> anyhow::Result<Events> {
        let tx = self.signer.sign(call).await?;
        match self.submit(&tx.bytes).await {
            Submitted::Finalized { events, .. } => Ok(events),
            Submitted::Failed(msg) => anyhow::bail!("{what} failed on chain: {msg}"),
            Submitted::Unknown(msg) => {
                self.signer.resync().await;
                anyhow::bail!("{what} was not followed to finality: {msg}")
            }
        }
    }

    /// Fire-and-forget resubmission of stored bytes (errors ignored: the caller checks state).
    pub async fn resubmit(&self, bytes: &[u8]) -> Result<(), String> {
        SubmittableExtrinsic::from_bytes(self.client.clone(), bytes.to_vec())
            .submit()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The latest finalized block.
    pub async fn finalized(&self) -> anyhow::Result<H256> {
        Ok(self
            .client
            .backend()
            .latest_finalized_block_ref()
            .await?
            .hash())
    }

    /// The key's nonce (transactions included) at `at`.
    pub async fn nonce_at(&self, at: H256) -> anyhow::Result<u64> {
        let info = self
            .client
            .storage()
            .at(at)
            .fetch(&runtime::storage().system().account(self.account.clone()))
            .await?;
        Ok(info.map_or(0, |i| i.nonce as u64))
    }

    /// One access record at block `at`.
    pub async fn record_at(&self, access: RecordKey, at: H256) -> anyhow::Result<Option<Record>> {
        Ok(self
            .client
            .runtime_api()
            .at(at)
            .call(
                runtime::apis()
                    .audit_api()
                    .record(access.subject, access.id),
            )
            .await?)
    }

    /// The number of block `at`.
    pub async fn number_of(&self, at: H256) -> anyhow::Result<u32> {
        Ok(self.client.blocks().at(at).await?.number())
    }

    /// Chain time (ms) at block `at`.
    pub async fn now_at(&self, at: H256) -> anyhow::Result<u64> {
        Ok(self
            .client
            .storage()
            .at(at)
            .fetch(&runtime::storage().timestamp().now())
            .await?
            .unwrap_or(0))
    }

    /// The decision the chain would take at block `at` for this key's access to `subject`.
    pub async fn decide_at(
        &self,
        subject: u64,
        purpose: Purpose,
        categories: CategorySet,
        at: H256,
    ) -> anyhow::Result<Decision> {
        Ok(self
            .client
            .runtime_api()
            .at(at)
            .call(runtime::apis().consent_api().decide(
                Static(SubjectRef::Subject(subject)),
                self.account.clone(),
                Static(purpose),
                Static(categories),
                None,
            ))
            .await?
            .0)
    }

    /// The most consents any patient of `pseudonyms` holds in the chain's consent index at block
    /// `at` (0 for pseudonyms nobody claimed), as `request_access_batch` wants it: the call is
    /// charged for that many per record.
    pub async fn consents_bound(&self, pseudonyms: &[[u8; 32]], at: H256) -> anyhow::Result<u32> {
        let api = self.client.runtime_api().at(at);
        let mut bound = 0;
        for p in pseudonyms {
            if let Some(subject) = api
                .call(runtime::apis().consent_api().subject_of(*p))
                .await?
            {
                let held = api
                    .call(runtime::apis().consent_api().consents_of(subject))
                    .await?;
                bound = bound.max(held.len() as u32);
            }
        }
        Ok(bound)
    }

    /// Every consent of `subject` the chain indexes at block `at`.
    pub async fn consents_at(
        &self,
        subject: u64,
        at: H256,
    ) -> anyhow::Result<Vec<(u64, ConsentPolicy)>> {
        Ok(self
            .client
            .runtime_api()
            .at(at)
            .call(runtime::apis().consent_api().consents_of(subject))
            .await?)
    }

    /// Waits until the stored `tx` is in a finalized block (that block and the extrinsic's
    /// events) or its nonce was used by another transaction (`None`: sign again), resubmitting it
    /// every [`RESUBMIT_EVERY`] meanwhile. Each finalized block since signing is read once, so a
    /// transaction that merely does the same thing (another process on this key) is never taken
    /// for this one. `what` names the transaction in errors.
    pub async fn find_finalized(
        &self,
        tx: &StoredTx,
        what: &str,
        timeout: Duration,
    ) -> anyhow::Result<Option<(H256, Events)>> {
        let started = Instant::now();
        let mut last_submit = Instant::now();
        let mut next = tx.since_block;
        loop {
            // One finalized block for both reads, so "not included" and "nonce used" agree.
            let at = self.finalized().await?;
            let head = self.number_of(at).await?;
            if head >= next {
                if let Some((block, events)) = self.find_extrinsic(&tx.bytes, next, head).await? {
                    anyhow::ensure!(
                        !events.has::<runtime::system::events::ExtrinsicFailed>()?,
                        "{what} failed on chain (included in block {block:?})"
                    );
                    return Ok(Some((block, events)));
                }
                next = head + 1;
            }
            if self.nonce_at(at).await? > tx.nonce {
                return Ok(None);
            }
            if last_submit.elapsed() >= RESUBMIT_EVERY {
                if let Err(e) = self.resubmit(&tx.bytes).await {
                    tracing::info!("resubmitting {what}: {e}");
                }
                last_submit = Instant::now();
            }
            anyhow::ensure!(
                started.elapsed() < timeout,
                "no finalized block holds {what} after {} s",
                timeout.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    }

    /// Where the extrinsic `bytes` was included among the finalized blocks `from..=to`
    /// (numbers), with its own events: each block's body is read once, and no record is scanned.
    pub async fn find_extrinsic(
        &self,
        bytes: &[u8],
        from: u32,
        to: u32,
    ) -> anyhow::Result<Option<(H256, Events)>> {
        for n in from..=to {
            let Some(hash) = self.rpc.chain_get_block_hash(Some(n.into())).await? else {
                continue;
            };
            let block = self.client.blocks().at(hash).await?;
            for ext in block.extrinsics().await?.iter() {
                if ext.bytes() == bytes {
                    return Ok(Some((hash, ext.events().await?)));
                }
            }
        }
        Ok(None)
    }
}
