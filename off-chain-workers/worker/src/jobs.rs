//! The durable job queue (`jobs.sqlite`, separate from the patient store).
//!
//! Every step of a job's state machine is one SQL transaction, so a `kill -9` leaves the job in
//! exactly one state from which [`crate::runner`] knows how to recover. Signed extrinsics are
//! stored *before* they are submitted: after a crash the worker resubmits the same bytes (same
//! nonce), so a request can never be made twice under two different nonces.

use std::path::Path;
use std::sync::Mutex;

use consentry_primitives::{DenyReason, Named, RecordKey};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where a job is in its life. Terminal states: `denied`, `completed`, `failed`, `aborted`,
/// `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted, nothing sent to the chain yet.
    Queued,
    /// The `request_access` extrinsic is signed and stored; waiting for a finalized decision.
    Requesting,
    /// The chain recorded a denial in a finalized block; no data was read.
    Denied,
    /// The data-use agreement the job names no longer allowed it when the worker was about to
    /// request access (see `error`); nothing was requested and no data was read.
    Refused,
    /// The chain recorded a grant in a finalized block; no data read yet.
    Granted,
    /// Reading the granted categories and running the workload.
    Running,
    /// The `complete_access` extrinsic is signed and stored; waiting for it to be finalized.
    Completing,
    /// Closed on chain as `Completed`, with the result's digest.
    Completed,
    /// The workload failed; closed on chain as `Failed`.
    Failed,
    /// The grant was given up (crash recovery); closed on chain as `Aborted`.
    Aborted,
    /// The worker could not get a decision or close the record (see `error`).
    Error,
}

impl JobState {
    /// The state's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Requesting => "requesting",
            Self::Denied => "denied",
            Self::Refused => "refused",
            Self::Granted => "granted",
            Self::Running => "running",
            Self::Completing => "completing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::Error => "error",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<Self> {
        Ok(match s {
            "queued" => Self::Queued,
            "requesting" => Self::Requesting,
            "denied" => Self::Denied,
            "refused" => Self::Refused,
            "granted" => Self::Granted,
            "running" => Self::Running,
            "completing" => Self::Completing,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "aborted" => Self::Aborted,
            "error" => Self::Error,
            other => {
                return Err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("unknown job state `{other}`").into(),
                ))
            }
        })
    }

    /// Whether the job is finished.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Denied
                | Self::Refused
                | Self::Completed
                | Self::Failed
                | Self::Aborted
                | Self::Error
        )
    }
}

/// How the worker closes a granted record (mirrors `consentry_primitives::Outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Close {
    /// The workload ran; the result digest is recorded.
    Completed,
    /// The workload failed.
    Failed,
    /// The grant was given up.
    Aborted,
}

impl Close {
    fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "aborted" => Some(Self::Aborted),
            _ => None,
        }
    }
    /// The job state once the close is final on chain.
    pub fn final_state(self) -> JobState {
        match self {
            Self::Completed => JobState::Completed,
            Self::Failed => JobState::Failed,
            Self::Aborted => JobState::Aborted,
        }
    }
}

/// A signed extrinsic as stored: the exact bytes and the nonce they use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTx {
    /// SCALE-encoded signed extrinsic.
    pub bytes: Vec<u8>,
    /// The signer's nonce inside it.
    pub nonce: u64,
    /// Finalized block number when it was signed (records older than this cannot be it).
    pub since_block: u32,
}

/// One job, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// `job-<32 hex>`, random.
    pub id: String,
    /// Who asked (free text or the clinician's SS58 address).
    pub requester: String,
    /// Patient pseudonym, 64 lower-case hex digits.
    pub pseudonym: String,
    /// Workload name.
    pub workload: String,
    /// Workload parameters.
    pub params: Value,
    /// For another institution's job: the data-use agreement it runs under.
    pub agreement: Option<crate::agreement::AgreementRef>,
    /// Current state.
    pub state: JobState,
    /// SHA-256 of the canonical job JSON, hex: what the ledger record names.
    pub job_digest: String,
    /// The chain's access record id, once decided.
    pub access_id: Option<u64>,
    /// The patient the record is stored under, once decided (`None` for a denial of a pseudonym
    /// that named no live patient).
    pub subject: Option<u64>,
    /// The chain's denial reason, if denied.
    pub deny_reason: Option<String>,
    /// The result, once completed.
    pub result: Option<Value>,
    /// SHA-256 of the canonical result JSON, hex.
    pub result_digest: Option<String>,
    /// How the record is (being) closed.
    pub close: Option<Close>,
    /// What went wrong, for `failed`, `aborted` and `error`.
    pub error: Option<String>,
    /// Created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last state change, ms since the Unix epoch.
    pub updated_ms: i64,
    /// The stored `request_access` extrinsic.
    #[serde(skip)]
    pub request_tx: Option<StoredTx>,
    /// The stored `complete_access` extrinsic.
    #[serde(skip)]
    pub complete_tx: Option<StoredTx>,
}

impl Job {
    /// Where the job's access record is stored, once decided.
    pub fn access(&self) -> Option<RecordKey> {
        self.access_id.map(|id| RecordKey {
            subject: self.subject,
            id,
        })
    }
}

/// Canonical JSON (RFC 8785, JCS, as `serde_json_canonicalizer` writes it): keys sorted, no
/// whitespace, numbers as ECMAScript prints them. A standard form, so an auditor recomputes a
/// job or result digest with any JCS implementation rather than ours.
pub fn canonical_json(v: &Value) -> String {
    // A `Value` holds no non-finite number and only string keys: nothing JCS can refuse.
    serde_json_canonicalizer::to_string(v).expect("a JSON value is always canonicalizable")
}

/// SHA-256 of the canonical JSON of `v`.
pub fn digest_of(v: &Value) -> [u8; 32] {
    Sha256::digest(canonical_json(v).as_bytes()).into()
}

/// The job description whose digest goes on chain: it names this job (its random id) and
/// everything that determines what will run.
pub fn job_document(
    id: &str,
    requester: &str,
    pseudonym: &str,
    workload: &str,
    params: &Value,
    agreement: Option<&crate::agreement::AgreementRef>,
    created_ms: i64,
) -> Value {
    let mut doc = serde_json::json!({
        "id": id,
        "requester": requester,
        "pseudonym": pseudonym,
        "workload": workload,
        "params": params,
        "created_ms": created_ms,
    });
    // Only present for another institution's job, so the digests of this institution's own
    // jobs are what they were before agreements existed.
    if let Some(a) = agreement {
        doc["agreement"] = serde_json::json!(a);
    }
    doc
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    requester TEXT NOT NULL,
    pseudonym TEXT NOT NULL,
    workload TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    job_digest TEXT NOT NULL UNIQUE,
    access_id INTEGER,
    subject INTEGER,
    deny_reason TEXT,
    request_tx BLOB,
    request_nonce INTEGER,
    request_since INTEGER,
    complete_tx BLOB,
    complete_nonce INTEGER,
    complete_since INTEGER,
    agreement TEXT,
    close TEXT,
    result TEXT,
    result_digest TEXT,
    error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs(created_ms);
-- A streaming session's accepted samples, in the order accepted (`idx`), each as the RFC 8785
-- JSON whose SHA-256 is its Merkle leaf (see `stream::merkle`).
CREATE TABLE IF NOT EXISTS stream_samples (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    idx INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sample TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, idx),
    UNIQUE (job_id, seq)
);
";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn row_to_job(r: &Row<'_>) -> rusqlite::Result<Job> {
    let params: String = r.get("params")?;
    let result: Option<String> = r.get("result")?;
    let tx = |b: &str, n: &str, s: &str| -> rusqlite::Result<Option<StoredTx>> {
        let bytes: Option<Vec<u8>> = r.get(b)?;
        Ok(match bytes {
            Some(bytes) => Some(StoredTx {
                bytes,
                nonce: r.get::<_, i64>(n)? as u64,
                since_block: r.get::<_, i64>(s)? as u32,
            }),
            None => None,
        })
    };
    Ok(Job {
        id: r.get("id")?,
        requester: r.get("requester")?,
        pseudonym: r.get("pseudonym")?,
        workload: r.get("workload")?,
        params: serde_json::from_str(&params).unwrap_or(Value::Null),
        agreement: r
            .get::<_, Option<String>>("agreement")?
            .and_then(|s| serde_json::from_str(&s).ok()),
        state: JobState::parse(&r.get::<_, String>("state")?)?,
        job_digest: r.get("job_digest")?,
        access_id: r.get::<_, Option<i64>>("access_id")?.map(|v| v as u64),
        subject: r.get::<_, Option<i64>>("subject")?.map(|v| v as u64),
        deny_reason: r.get("deny_reason")?,
        result: result.and_then(|s| serde_json::from_str(&s).ok()),
        result_digest: r.get("result_digest")?,
        close: r
            .get::<_, Option<String>>("close")?
            .and_then(|s| Close::parse(&s)),
        error: r.get("error")?,
        created_ms: r.get("created_ms")?,
        updated_ms: r.get("updated_ms")?,
        request_tx: tx("request_tx", "request_nonce", "request_since")?,
        complete_tx: tx("complete_tx", "complete_nonce", "complete_since")?,
    })
}

/// The job queue.
pub struct JobStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobStore")
    }
}

impl JobStore {
    /// Opens (creating if needed) the queue at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // Stores made before records were kept under their subject lack its column.
        if conn.prepare("SELECT subject FROM jobs LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN subject INTEGER")?;
        }
        // ... and those made before cross-institution jobs lack the agreement's.
        if conn.prepare("SELECT agreement FROM jobs LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN agreement TEXT")?;
        }
        // Deny reasons were stored under Rust's variant names (`Revoked`) before their canonical
        // ones (`revoked`); renaming is idempotent.
        for r in <DenyReason as Named>::ALL {
            conn.execute(
                "UPDATE jobs SET deny_reason = ?1 WHERE deny_reason = ?2",
                (r.name(), format!("{r:?}")),
            )?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("job store lock poisoned"))?;
        Ok(f(&conn)?)
    }

    /// Creates a queued job and returns it.
    pub fn create(
        &self,
        requester: &str,
        pseudonym: &str,
        workload: &str,
        params: &Value,
        agreement: Option<&crate::agreement::AgreementRef>,
    ) -> anyhow::Result<Job> {
        let id = format!("job-{}", hex::encode(rand::random::<[u8; 16]>()));
        let created = now_ms();
        let doc = job_document(
            &id, requester, pseudonym, workload, params, agreement, created,
        );
        let agreement = agreement.map(|a| serde_json::json!(a).to_string());
        let digest = hex::encode(digest_of(&doc));
        self.with(|c| {
            c.execute(
                "INSERT INTO jobs (id, requester, pseudonym, workload, params, state, job_digest,
                                   created_ms, updated_ms, agreement)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?7, ?8)",
                params![
                    id,
                    requester,
                    pseudonym,
                    workload,
                    canonical_json(params),
                    digest,
                    created,
                    agreement
                ],
            )
        })?;
        self.get(&id)?
            .ok_or_else(|| anyhow::anyhow!("job {id} vanished after insert"))
    }

    /// One job.
    pub fn get(&self, id: &str) -> anyhow::Result<Option<Job>> {
        self.with(|c| {
            c.query_row("SELECT * FROM jobs WHERE id = ?1", [id], row_to_job)
                .optional()
        })
    }

    /// The newest `limit` jobs, newest first.
    pub fn list(&self, limit: u32) -> anyhow::Result<Vec<Job>> {
        self.with(|c| {
            let mut s = c.prepare("SELECT * FROM jobs ORDER BY created_ms DESC, id LIMIT ?1")?;
            let rows = s.query_map([limit], row_to_job)?;
            rows.collect()
        })
    }

    /// Jobs not yet finished, oldest first (what a restart must resume).
    pub fn unfinished(&self) -> anyhow::Result<Vec<Job>> {
        self.with(|c| {
            let mut s = c.prepare(
                "SELECT * FROM jobs WHERE state NOT IN
                 ('denied','refused','completed','failed','aborted','error')
                 ORDER BY created_ms, id",
            )?;
            let rows = s.query_map([], row_to_job)?;
            rows.collect()
        })
    }

    fn update(&self, id: &str, sql: &str, args: &[&dyn rusqlite::ToSql]) -> anyhow::Result<()> {
        let n = self.with(|c| {
            let mut all: Vec<&dyn rusqlite::ToSql> = args.to_vec();
            let now = now_ms();
            all.push(&now);
            all.push(&id);
            let k = all.len();
            c.execute(
                &format!(
                    "UPDATE jobs SET {sql}, updated_ms = ?{} WHERE id = ?{k}",
                    k - 1
                ),
                rusqlite::params_from_iter(all),
            )
        })?;
        anyhow::ensure!(n == 1, "job {id} not found");
        Ok(())
    }

    /// `queued` → `requesting`, storing the signed request (one transaction).
    pub fn set_requesting(&self, id: &str, tx: &StoredTx) -> anyhow::Result<()> {
        self.update(
            id,
            "state = 'requesting', request_tx = ?1, request_nonce = ?2, request_since = ?3",
            &[&tx.bytes, &(tx.nonce as i64), &tx.since_block],
        )
    }

    /// The chain denied the request (finalized).
    pub fn set_denied(
        &self,
        id: &str,
        access: RecordKey,
        reason: DenyReason,
    ) -> anyhow::Result<()> {
        self.update(
            id,
            "state = 'denied', access_id = ?1, subject = ?2, deny_reason = ?3",
            &[
                &(access.id as i64),
                &access.subject.map(|s| s as i64),
                &reason.name(),
            ],
        )
    }

    /// The chain granted the request (finalized).
    pub fn set_granted(&self, id: &str, access: RecordKey) -> anyhow::Result<()> {
        self.update(
            id,
            "state = 'granted', access_id = ?1, subject = ?2",
            &[&(access.id as i64), &access.subject.map(|s| s as i64)],
        )
    }

    /// About to read data and run the workload.
    pub fn set_running(&self, id: &str) -> anyhow::Result<()> {
        self.update(id, "state = 'running'", &[])
    }

    /// Stores the signed `complete_access` with how it closes and the result or error (one
    /// transaction), before it is submitted.
    pub fn set_completing(
        &self,
        id: &str,
        tx: &StoredTx,
        close: Close,
        result: Option<&Value>,
        result_digest: Option<&str>,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        let result = result.map(canonical_json);
        self.update(
            id,
            "state = 'completing', complete_tx = ?1, complete_nonce = ?2, complete_since = ?3,
             close = ?4, result = ?5, result_digest = ?6, error = ?7",
            &[
                &tx.bytes,
                &(tx.nonce as i64),
                &tx.since_block,
                &close.as_str(),
                &result,
                &result_digest,
                &error,
            ],
        )
    }

    /// Replaces the stored `complete_access` after the old one was proven unusable (its nonce
    /// went to another transaction while the record stayed open).
    pub fn replace_complete_tx(&self, id: &str, tx: &StoredTx) -> anyhow::Result<()> {
        self.update(
            id,
            "complete_tx = ?1, complete_nonce = ?2, complete_since = ?3",
            &[&tx.bytes, &(tx.nonce as i64), &tx.since_block],
        )
    }

    /// Records a problem without changing the state (the job is still recoverable).
    pub fn note_error(&self, id: &str, error: &str) -> anyhow::Result<()> {
        self.update(id, "error = ?1", &[&error])
    }

    /// The close is final on chain.
    pub fn set_closed(&self, id: &str, state: JobState) -> anyhow::Result<()> {
        self.update(id, "state = ?1", &[&state.as_str()])
    }

    /// The worker gave up on this job (it never held a grant it could not close).
    pub fn set_error(&self, id: &str, error: &str) -> anyhow::Result<()> {
        self.update(id, "state = 'error', error = ?1", &[&error])
    }

    /// Appends a streaming session's accepted samples (`(seq, canonical JSON)`, in order) in
    /// one transaction, after the `first_idx - 1` stored before: all or none are stored.
    pub fn add_stream_samples(
        &self,
        id: &str,
        first_idx: u64,
        samples: &[(u64, String)],
    ) -> anyhow::Result<()> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("job store lock poisoned"))?;
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO stream_samples (job_id, idx, seq, sample, received_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let now = now_ms();
            for (k, (seq, sample)) in samples.iter().enumerate() {
                ins.execute(rusqlite::params![
                    id,
                    (first_idx + k as u64) as i64,
                    *seq as i64,
                    sample,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A streaming session's stored samples (canonical JSON), in the order accepted.
    pub fn stream_samples(&self, id: &str) -> anyhow::Result<Vec<String>> {
        self.stream_samples_from(id, 0)
    }

    /// A streaming session's stored samples from the `from`-th accepted one (0-based) on, in
    /// the order accepted: a chart that has drawn `from` samples asks only for the rest.
    pub fn stream_samples_from(&self, id: &str, from: u64) -> anyhow::Result<Vec<String>> {
        self.with(|c| {
            let mut q = c.prepare(
                "SELECT sample FROM stream_samples WHERE job_id = ?1 AND idx >= ?2 ORDER BY idx",
            )?;
            // Past the largest index SQLite holds there is nothing.
            let from = i64::try_from(from).unwrap_or(i64::MAX);
            let rows = q.query_map(params![id, from], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// queued → refused: the job's data-use agreement no longer allows it (`why`).
    pub fn set_refused(&self, id: &str, why: &str) -> anyhow::Result<()> {
        self.update(id, "state = 'refused', error = ?1", &[&why])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[1,{"y":2,"x":3}],"c":"é"}}"#).expect("json");
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"é","z":[1,{"x":3,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_json_writes_numbers_as_rfc_8785_does() {
        // RFC 8785 §3.2.2.3: ECMAScript's Number.prototype.toString, whatever the input spelling.
        let v: Value = serde_json::from_str(
            r#"{"whole":100.0,"small":1.5e-5,"tiny":1e-7,"huge":1e21,"big":1e20,"neg":-0.25}"#,
        )
        .expect("json");
        assert_eq!(
            canonical_json(&v),
            r#"{"big":100000000000000000000,"huge":1e+21,"neg":-0.25,"small":0.000015,"tiny":1e-7,"whole":100}"#
        );
    }

    #[test]
    fn states_survive_a_reopen_and_the_digest_names_the_job() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("jobs.sqlite");
        let params = serde_json::json!({"drug": "warfarin"});
        let (id, digest, created) = {
            let q = JobStore::open(&path)?;
            let j = q.create("dr. who", &"ab".repeat(32), "simulation", &params, None)?;
            let tx = StoredTx {
                bytes: vec![1, 2, 3],
                nonce: 7,
                since_block: 9,
            };
            q.set_requesting(&j.id, &tx)?;
            (j.id, j.job_digest, j.created_ms)
        };
        let q = JobStore::open(&path)?;
        let j = q.get(&id)?.expect("job");
        assert_eq!(j.state, JobState::Requesting);
        assert_eq!(
            j.request_tx,
            Some(StoredTx {
                bytes: vec![1, 2, 3],
                nonce: 7,
                since_block: 9
            })
        );
        // The digest is SHA-256 over the sorted-key document, built here by hand.
        let text = format!(
            r#"{{"created_ms":{created},"id":"{id}","params":{{"drug":"warfarin"}},"pseudonym":"{}","requester":"dr. who","workload":"simulation"}}"#,
            "ab".repeat(32)
        );
        assert_eq!(digest, hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(q.unfinished()?.len(), 1);
        let access = RecordKey {
            subject: Some(3),
            id: 4,
        };
        q.set_denied(&id, access, DenyReason::Revoked)?;
        assert!(q.unfinished()?.is_empty());
        let job = q.get(&id)?.unwrap();
        assert_eq!(job.access(), Some(access));
        assert_eq!(job.deny_reason.as_deref(), Some("revoked"));
        // A store written before canonical names is renamed when opened.
        q.with(|c| c.execute("UPDATE jobs SET deny_reason = 'Revoked'", []))?;
        drop(q);
        let q = JobStore::open(&path)?;
        assert_eq!(q.get(&id)?.unwrap().deny_reason.as_deref(), Some("revoked"));
        Ok(())
    }
}
