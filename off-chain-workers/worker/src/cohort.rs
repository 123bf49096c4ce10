//! A federated round's cohort at one site: which of the institution's patients the chain lets it
//! train on in this round, the reads of exactly those patients, and the close of every access the
//! round used, citing the round's result.
//!
//! - The round's job document names the study (the consortium contract), the round, the global
//!   model's digest and the site; its SHA-256 is the `job_digest` of every record.
//! - The site asks with one `request_access_batch` per [`MAX_BATCH`] patients, purpose
//!   `FederatedTraining`. Each patient is decided on its own by the consent pallet; only records
//!   granted in a finalized block are used. A patient who revoked, whose consent expired or ran
//!   out of uses is denied and simply absent from this round; nothing is read for them.
//! - Every signed request and close is stored in `jobs.sqlite` (table `cohort_txs`) before it is
//!   submitted. A worker killed and restarted resubmits exactly those bytes, and finds them in a
//!   finalized block if they landed, so no round asks for a patient twice: one access, one use.
//! - [`read`] reads each granted patient's categories from the store, logged under its access
//!   id; [`close`] closes the granted records with `complete_access_batch`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use consentry_client::runtime;
use consentry_datastore::{PatientData, Store};
use consentry_primitives::{CategorySet, DenyReason, Outcome, Purpose, RecordKey};
use rusqlite::{params, OptionalExtension};
use tracing::info;

use crate::chain::{Call, Chain, Events, Submitted};
use crate::jobs::{digest_of, StoredTx};

/// Most patients per `request_access_batch` (the runtime's `MaxBatch`).
pub const MAX_BATCH: usize = 256;

/// How long one stored transaction may take to reach a finalized block before the caller is told.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The round a cohort is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundRef {
    /// The study's consortium contract (its account).
    pub study: [u8; 32],
    /// The round's index in the contract.
    pub round: u32,
    /// Digest of the global model the round starts from.
    pub global_model: [u8; 32],
    /// The site: this worker's institution.
    pub site: u32,
}

impl RoundRef {
    /// The job document every record of this site's round cites.
    pub fn job_document(&self) -> serde_json::Value {
        serde_json::json!({
            "workload": "federated-training",
            "study": hex::encode(self.study),
            "round": self.round,
            "global_model": hex::encode(self.global_model),
            "site": self.site,
        })
    }

    /// SHA-256 of the canonical job document: the records' `job_digest`.
    pub fn job_digest(&self) -> [u8; 32] {
        digest_of(&self.job_document())
    }
}

/// A patient the chain granted for the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub pseudonym: [u8; 32],
    /// The access record (its subject and id).
    pub access: RecordKey,
}

/// A patient the chain refused for the round, with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub pseudonym: [u8; 32],
    pub access: RecordKey,
    pub reason: DenyReason,
}

/// One site's cohort for one round, as decided in finalized blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub round: RoundRef,
    pub job_digest: [u8; 32],
    /// In the order asked.
    pub granted: Vec<Granted>,
    pub denied: Vec<Denied>,
}

impl Cohort {
    /// FedAvg's weight for the site: the number of patients granted.
    pub fn weight(&self) -> u32 {
        self.granted.len() as u32
    }

    /// Digest of the granted records' ids in order (what the site submits to the contract with
    /// its count).
    pub fn records_digest(&self) -> [u8; 32] {
        let ids: Vec<serde_json::Value> = self
            .granted
            .iter()
            .map(|g| serde_json::json!([g.access.subject, g.access.id]))
            .collect();
        digest_of(&serde_json::Value::Array(ids))
    }
}

/// The signed cohort transactions, stored before they are submitted.
pub struct CohortTxs {
    conn: Mutex<rusqlite::Connection>,
}

/// Which transaction of a round's cohort: the request of chunk `n`, or the close of chunk `n`.
#[derive(Debug, Clone, Copy)]
enum Step {
    Request(usize),
    Close(usize),
}

impl Step {
    fn name(self) -> String {
        match self {
            Step::Request(n) => format!("request/{n}"),
            Step::Close(n) => format!("close/{n}"),
        }
    }
}

impl CohortTxs {
    /// Opens (creating if needed) the `cohort_txs` table in `path` (the worker's `jobs.sqlite`).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS cohort_txs (
                 job_digest TEXT NOT NULL,
                 step TEXT NOT NULL,
                 tx BLOB NOT NULL,
                 nonce INTEGER NOT NULL,
                 since INTEGER NOT NULL,
                 PRIMARY KEY (job_digest, step)
             );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Whether this site asked the chain for `round`'s cohort (a request is stored).
    pub fn asked(&self, round: &RoundRef) -> anyhow::Result<bool> {
        Ok(self.get(&round.job_digest(), Step::Request(0))?.is_some())
    }

    fn get(&self, digest: &[u8; 32], step: Step) -> anyhow::Result<Option<StoredTx>> {
        let conn = self.conn.lock().expect("cohort_txs lock");
        Ok(conn
            .query_row(
                "SELECT tx, nonce, since FROM cohort_txs WHERE job_digest = ?1 AND step = ?2",
                params![hex::encode(digest), step.name()],
                |r| {
                    Ok(StoredTx {
                        bytes: r.get(0)?,
                        nonce: r.get::<_, i64>(1)? as u64,
                        since_block: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn put(&self, digest: &[u8; 32], step: Step, tx: &StoredTx) -> anyhow::Result<()> {
        let conn = self.conn.lock().expect("cohort_txs lock");
        conn.execute(
            "INSERT OR REPLACE INTO cohort_txs (job_digest, step, tx, nonce, since)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                hex::encode(digest),
                step.name(),
                tx.bytes,
                tx.nonce as i64,
                tx.since_block
            ],
        )?;
        Ok(())
    }
}

/// Asks the chain for `pseudonyms` for `round` (purpose `FederatedTraining`, over `categories`)
/// and returns who was granted and who denied, as finalized. Resumes a request stored by an
/// earlier run of the same round instead of asking again.
pub async fn request(
    chain: &Chain,
    txs: &CohortTxs,
    round: RoundRef,
    pseudonyms: &[[u8; 32]],
    categories: CategorySet,
) -> anyhow::Result<Cohort> {
    anyhow::ensure!(
        round.site == chain.institution,
        "the round names site {} but this key belongs to institution {}",
        round.site,
        chain.institution
    );
    let job_digest = round.job_digest();
    let mut cohort = Cohort {
        round,
        job_digest,
        granted: Vec::new(),
        denied: Vec::new(),
    };
    for (n, chunk) in pseudonyms.chunks(MAX_BATCH).enumerate() {
        let at = chain.finalized().await?;
        let call = Call::RequestBatch {
            pseudonyms: chunk.to_vec(),
            purpose: Purpose::FederatedTraining,
            categories,
            job_digest,
            consents_bound: chain.consents_bound(chunk, at).await?,
        };
        let events = settle(chain, txs, &job_digest, Step::Request(n), call).await?;
        decisions(&events, chunk, &mut cohort)?;
    }
    info!(
        round = round.round,
        granted = cohort.granted.len(),
        denied = cohort.denied.len(),
        "cohort decided"
    );
    Ok(cohort)
}

/// The records a finalized `request_access_batch` made, from its own events: one per pseudonym,
/// in the order asked.
fn decisions(events: &Events, chunk: &[[u8; 32]], cohort: &mut Cohort) -> anyhow::Result<()> {
    let mut made = 0;
    for ev in events.iter() {
        let ev = ev?;
        if let Some(g) = ev.as_event::<runtime::audit::events::AccessGranted>()? {
            let pseudonym = *chunk
                .get(made)
                .context("more records than patients asked")?;
            cohort.granted.push(Granted {
                pseudonym,
                access: RecordKey {
                    subject: Some(g.subject),
                    id: g.id,
                },
            });
            made += 1;
        } else if let Some(d) = ev.as_event::<runtime::audit::events::AccessDenied>()? {
            let pseudonym = *chunk
                .get(made)
                .context("more records than patients asked")?;
            cohort.denied.push(Denied {
                pseudonym,
                access: RecordKey {
                    subject: d.subject,
                    id: d.id,
                },
                reason: d.reason.0,
            });
            made += 1;
        }
    }
    anyhow::ensure!(
        made == chunk.len(),
        "request_access_batch made {made} records for {} patients",
        chunk.len()
    );
    Ok(())
}

/// Reads `categories` of every granted patient of `cohort` from the store, each read logged
/// under its own access id. Denied patients are never read.
pub fn read(
    store: &mut Store,
    cohort: &Cohort,
    categories: &CategorySet,
) -> anyhow::Result<Vec<PatientData>> {
    cohort
        .granted
        .iter()
        .map(|g| {
            store
                .read(g.access.id, g.pseudonym, categories)
                .with_context(|| format!("reading patient of access {}", g.access.id))
        })
        .collect()
}

/// Closes every granted record of `cohort` with `outcome`, citing `result_digest` (the round's
/// result: required for `Completed`), one `complete_access_batch` per [`MAX_BATCH`] records.
pub async fn close(
    chain: &Chain,
    txs: &CohortTxs,
    cohort: &Cohort,
    outcome: Outcome,
    result_digest: Option<[u8; 32]>,
) -> anyhow::Result<()> {
    for (n, chunk) in cohort.granted.chunks(MAX_BATCH).enumerate() {
        let call = Call::CompleteBatch {
            accesses: chunk.iter().map(|g| g.access).collect(),
            outcome,
            result_digest,
        };
        settle(chain, txs, &cohort.job_digest, Step::Close(n), call).await?;
    }
    Ok(())
}

/// Signs `call` (or takes the transaction stored for `step` by an earlier run), stores it before
/// submitting, and follows it to a finalized block; returns its events. A transaction whose nonce
/// another transaction of this key used is signed again (it can never be included now).
async fn settle(
    chain: &Chain,
    txs: &CohortTxs,
    digest: &[u8; 32],
    step: Step,
    call: Call,
) -> anyhow::Result<Events> {
    let mut tx = match txs.get(digest, step)? {
        Some(tx) => tx,
        None => {
            let tx = chain.signer.sign(call.clone()).await?;
            txs.put(digest, step, &tx)?;
            tx
        }
    };
    for _ in 0..3 {
        match chain.submit(&tx.bytes).await {
            Submitted::Finalized { events, .. } => return Ok(events),
            Submitted::Failed(msg) => bail!("{} failed on chain: {msg}", step.name()),
            Submitted::Unknown(msg) => {
                info!(step = %step.name(), nonce = tx.nonce, "not followed to finality ({msg}); checking the finalized chain");
                if let Some((_, events)) = chain
                    .find_finalized(&tx, &step.name(), SETTLE_TIMEOUT)
                    .await?
                {
                    return Ok(events);
                }
                chain.signer.resync().await;
                tx = chain.signer.sign(call.clone()).await?;
                txs.put(digest, step, &tx)?;
            }
        }
    }
    bail!("{} lost its nonce three times", step.name())
}
