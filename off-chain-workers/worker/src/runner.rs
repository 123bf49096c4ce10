//! The per-job state machine, persisted at every step, and its crash recovery.
//!
//! ```text
//! queued → requesting → denied
//!                     → granted → running → completing → completed | failed
//! restart: requesting → resubmit the same bytes, find the record from the extrinsic's own events
//!          granted | running → close Aborted (never run a job twice)
//!          completing → resubmit the same close
//! ```
//!
//! The same recovery runs while the process lives: the [`supervise`] task re-drives every
//! unfinished job that no task drives (its task failed or panicked after the grant), so a failure
//! never leaves a record open until the next restart.
//!
//! The only place patient data is read is [`run_granted`], and only after the data gate at the
//! finalized head: the record is `Granted`, names this job, covers this workload's purpose and
//! categories, is younger than `--max-grant-age-secs` (chain time), and the consents it cites are
//! still in force (not revoked, expired or erased) and the chain still permits the access.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use consentry_client::runtime;
use consentry_client::runtime::runtime_types::consentry_primitives::consent::ConsentStatus;
use consentry_datastore::Store;
use consentry_primitives::{AccessState, CategorySet, Decision, DenyReason, Outcome, RecordKey};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::{error, info, warn};

use crate::chain::{Call, Chain, Events, Record, Submitted, RESUBMIT_EVERY};
use crate::jobs::{digest_of, Close, Job, JobState, JobStore, StoredTx};
use crate::workload::{Registry, Workload};

/// How long the worker keeps trying to learn the fate of a submitted extrinsic before it leaves
/// the job for the next restart.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How many times a request may lose its nonce to another transaction before the job errors.
const MAX_RESIGNS: u32 = 5;

/// Per-stage wall times of one job (this process only; not persisted).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// `request_access` submitted → in a best block.
    pub decision_ms: Option<f64>,
    /// In a best block → finalized.
    pub finality_ms: Option<f64>,
    /// Finalized-record check, data read and workload.
    pub workload_ms: Option<f64>,
    /// `complete_access` submitted → finalized.
    pub completion_ms: Option<f64>,
}

/// A test hook's injected failure (see `--fail-after-grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// The job's task returns an error.
    Error,
    /// The job's task panics.
    Panic,
}

/// Everything a job needs.
pub struct Ctx {
    /// The chain.
    pub chain: Chain,
    /// The job queue.
    pub jobs: JobStore,
    /// The patient store (rusqlite is not `Sync`; reads are serialized).
    pub store: Arc<Mutex<Store>>,
    /// Workloads.
    pub registry: Registry,
    /// The data-use agreement registry other institutions' jobs are checked in, if any.
    pub agreements: Option<crate::agreement::Registry>,
    /// Bounds jobs in flight.
    pub in_flight: Arc<Semaphore>,
    /// The most stream sessions open or opening at once (they hold no in-flight permit).
    pub max_streams: usize,
    /// Jobs a task is driving now (waiting for a permit included).
    pub active: Mutex<HashSet<String>>,
    /// The oldest grant acted on (chain time between the request and the finalized head).
    pub max_grant_age: Duration,
    /// Test hook: sleep this long after a grant, before reading data.
    pub pause_after_grant: Option<Duration>,
    /// Test hook: after a grant, wait until this file exists before the data gate.
    pub hold_after_grant_file: Option<PathBuf>,
    /// Test hook: fail each job's task right after it is marked running.
    pub fail_after_grant: Option<Fault>,
    /// Test hook: after storing and submitting a new `request_access`, sleep this long before
    /// following it (so a test can kill the worker with the request in flight).
    pub pause_after_request_submit: Option<Duration>,
    /// Test hook: the same after storing and submitting a new `complete_access`.
    pub pause_after_complete_submit: Option<Duration>,
    /// Stage timings by job id.
    pub timings: Mutex<HashMap<String, Timings>>,
    /// Open streaming sessions.
    pub sessions: crate::stream::Sessions,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Ctx {
    fn time(&self, id: &str, f: impl FnOnce(&mut Timings)) {
        if let Ok(mut t) = self.timings.lock() {
            f(t.entry(id.to_string()).or_default());
        }
    }

    /// Stage timings of a job, if this process ran any of it.
    pub fn timings_of(&self, id: &str) -> Option<Timings> {
        self.timings.lock().ok()?.get(id).copied()
    }

    /// Whether a task is driving job `id` now.
    pub fn is_active(&self, id: &str) -> bool {
        match self.active.lock() {
            Ok(a) => a.contains(id),
            Err(_) => true,
        }
    }
}

/// A job's claim to be driven by one task; released when the task ends.
struct Claim {
    ctx: Arc<Ctx>,
    id: String,
}

impl Claim {
    fn take(ctx: &Arc<Ctx>, id: &str) -> Option<Claim> {
        let mut a = ctx.active.lock().ok()?;
        a.insert(id.to_string()).then(|| Claim {
            ctx: ctx.clone(),
            id: id.to_string(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut a) = self.ctx.active.lock() {
            a.remove(&self.id);
        }
    }
}

/// Drives one job to a terminal state (or leaves it recoverable), holding an in-flight permit.
/// Does nothing if another task drives the job already.
pub async fn drive(ctx: Arc<Ctx>, id: String) {
    let Some(_claim) = Claim::take(&ctx, &id) else {
        return;
    };
    // An open stream session lasts as long as the patient streams: it holds no permit, so
    // sessions never starve one-shot jobs.
    let streaming = ctx
        .jobs
        .get(&id)
        .ok()
        .flatten()
        .and_then(|j| ctx.registry.get(&j.workload).ok())
        .is_some_and(|w| w.stream().is_some());
    let _permit = if streaming {
        None
    } else {
        match ctx.in_flight.clone().acquire_owned().await {
            Ok(p) => Some(p),
            Err(_) => return,
        }
    };
    // The step runs as its own task so that a panic in it is reported here like an error.
    let (c, i) = (ctx.clone(), id.clone());
    let outcome = match tokio::spawn(async move { step(&c, &i).await }).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(anyhow::anyhow!("the job's task panicked: {what}"))
        }
        Err(e) => Err(anyhow::anyhow!("the job's task was cancelled: {e}")),
    };
    if let Err(e) = outcome {
        let msg = format!("{e:#}");
        error!(job = %id, "job stopped: {msg}");
        // Only a job that never held a grant may end in `error`; one that did stays in its state
        // so that the supervisor (or a restart) closes its record.
        let state = ctx.jobs.get(&id).ok().flatten().map(|j| j.state);
        let r = match state {
            Some(JobState::Queued) => ctx.jobs.set_error(&id, &msg),
            _ => ctx.jobs.note_error(&id, &msg),
        };
        if let Err(e) = r {
            error!(job = %id, "cannot record the error: {e:#}");
        }
    }
}

/// Resumes every unfinished job (called once at start-up).
pub fn resume_all(ctx: &Arc<Ctx>) -> anyhow::Result<usize> {
    let jobs = ctx.jobs.unfinished()?;
    for j in &jobs {
        info!(job = %j.id, state = j.state.as_str(), "resuming");
        tokio::spawn(drive(ctx.clone(), j.id.clone()));
    }
    Ok(jobs.len())
}

/// The supervisor: every `every`, re-drives each unfinished job that no task drives — a job
/// whose task failed or panicked after its grant, or gave up waiting for a decision — so that
/// it is settled while the process runs: a `granted`/`running` job is closed `Aborted`, a
/// `completing` one has its stored close resubmitted, a `queued`/`requesting` one is driven on.
pub async fn supervise(ctx: Arc<Ctx>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // The first tick is immediate; `resume_all` has just run.
    loop {
        tick.tick().await;
        let jobs = match ctx.jobs.unfinished() {
            Ok(j) => j,
            Err(e) => {
                error!("supervisor: cannot list unfinished jobs: {e:#}");
                continue;
            }
        };
        for j in jobs {
            if ctx.is_active(&j.id) {
                continue;
            }
            warn!(
                job = %j.id,
                state = j.state.as_str(),
                error = j.error.as_deref().unwrap_or(""),
                "supervisor: no task drives this job; re-driving it"
            );
            tokio::spawn(drive(ctx.clone(), j.id));
        }
    }
}

async fn step(ctx: &Arc<Ctx>, id: &str) -> anyhow::Result<()> {
    let job = ctx.jobs.get(id)?.context("no such job")?;
    match job.state {
        JobState::Queued | JobState::Requesting => {
            let workload = match ctx.registry.get(&job.workload) {
                Ok(w) => w,
                Err(e) => return orphan_request(ctx, &job, &e.to_string()).await,
            };
            // Another institution's job: its agreement must still allow it when the request is
            // first signed (a stored request is resubmitted as it is: it may be on chain).
            if let (JobState::Queued, None, Some(a)) = (job.state, &job.request_tx, &job.agreement)
            {
                if let Err(why) = check_agreement(ctx, a, workload.as_ref()).await? {
                    info!(job = %id, "refused: {why}");
                    return ctx.jobs.set_refused(id, &why);
                }
            }
            let rec = request(ctx, &job, workload.as_ref()).await?;
            match rec.state.0 {
                AccessState::Denied(reason) => {
                    info!(job = %id, access = rec.id, ?reason, "denied");
                    ctx.jobs.set_denied(id, key_of(&rec), reason)
                }
                AccessState::Granted => {
                    info!(job = %id, access = rec.id, "granted (finalized)");
                    ctx.jobs.set_granted(id, key_of(&rec))?;
                    if let Some(d) = ctx.pause_after_grant {
                        info!(job = %id, "test hook: pausing {} ms after the grant", d.as_millis());
                        tokio::time::sleep(d).await;
                    }
                    if let Some(f) = &ctx.hold_after_grant_file {
                        info!(job = %id, "test hook: holding until {} exists", f.display());
                        while !f.exists() {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    run_granted(ctx, &job, workload, key_of(&rec)).await
                }
                AccessState::Closed(o) => {
                    // Someone closed a grant this job never used (another worker process on
                    // the same key): nothing was read here.
                    ctx.jobs.set_granted(id, key_of(&rec))?;
                    ctx.jobs.set_closed(id, outcome_state(o))
                }
            }
        }
        JobState::Granted | JobState::Running => {
            // No task drove this job (a restart, or the supervisor found its task gone): give
            // the grant up rather than risk running the job twice.
            let access = job.access().context("granted job without an access id")?;
            warn!(job = %id, access = access.id, "found {} with no task driving it: closing as aborted", job.state.as_str());
            let why = match &job.error {
                Some(e) => format!(
                    "the job's task failed while the job was {} ({e}); the grant is given up \
                     so the job never runs twice",
                    job.state.as_str()
                ),
                None => format!(
                    "the worker restarted while the job was {}; the grant is given up \
                     so the job never runs twice",
                    job.state.as_str()
                ),
            };
            // A stream session's close cites what it had stored.
            let cited = match ctx.registry.get(&job.workload) {
                Ok(w) if w.stream().is_some() && job.state == JobState::Running => {
                    Some(crate::stream::orphan_close(ctx, &job)?)
                }
                _ => None,
            };
            close(ctx, &job, access, Close::Aborted, cited, Some(why)).await
        }
        JobState::Completing => {
            let access = job
                .access()
                .context("completing job without an access id")?;
            let close = job.close.context("completing job without an outcome")?;
            let tx = job
                .complete_tx
                .clone()
                .context("completing job without its extrinsic")?;
            finish_close(ctx, &job, access, close, tx).await
        }
        _ => Ok(()),
    }
}

/// Whether the job's data-use agreement allows it now (`Err`: why not, for the requester).
pub async fn check_agreement(
    ctx: &Ctx,
    a: &crate::agreement::AgreementRef,
    w: &dyn Workload,
) -> anyhow::Result<Result<(), String>> {
    let Some(registry) = &ctx.agreements else {
        return Ok(Err(
            "this worker has no data-use agreement registry (--dua-contract)".into(),
        ));
    };
    registry
        .check(
            &ctx.chain.client,
            &ctx.chain.account,
            ctx.chain.institution,
            a,
            w.purpose(),
            w.categories(),
        )
        .await
}

/// A job whose workload this process cannot run (e.g. restarted without `--model`): settle a
/// request already sent, give up any grant it got, and end the job.
async fn orphan_request(ctx: &Ctx, job: &Job, why: &str) -> anyhow::Result<()> {
    let Some(tx) = &job.request_tx else {
        return ctx.jobs.set_error(&job.id, why);
    };
    match settle_request(ctx, tx, digest_bytes(&job.job_digest)?).await? {
        // The nonce went elsewhere and no record names this job: nothing was ever requested.
        None => ctx.jobs.set_error(&job.id, why),
        Some(rec) => match rec.state.0 {
            AccessState::Denied(reason) => ctx.jobs.set_denied(&job.id, key_of(&rec), reason),
            AccessState::Granted => {
                ctx.jobs.set_granted(&job.id, key_of(&rec))?;
                close(
                    ctx,
                    job,
                    key_of(&rec),
                    Close::Aborted,
                    None,
                    Some(why.to_string()),
                )
                .await
            }
            AccessState::Closed(o) => {
                ctx.jobs.set_granted(&job.id, key_of(&rec))?;
                ctx.jobs.set_closed(&job.id, outcome_state(o))
            }
        },
    }
}

fn outcome_state(o: Outcome) -> JobState {
    match o {
        Outcome::Completed => JobState::Completed,
        Outcome::Failed => JobState::Failed,
        Outcome::Aborted => JobState::Aborted,
    }
}

fn digest_bytes(hex_digest: &str) -> anyhow::Result<[u8; 32]> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut d).context("stored job digest is not 32-byte hex")?;
    Ok(d)
}

/// Signs (or reuses the stored) `request_access` and returns the finalized record it created.
async fn request(ctx: &Ctx, job: &Job, w: &dyn Workload) -> anyhow::Result<Record> {
    let job_digest = digest_bytes(&job.job_digest)?;
    let mut pseudonym = [0u8; 32];
    hex::decode_to_slice(&job.pseudonym, &mut pseudonym).context("stored pseudonym")?;
    let call = Call::Request {
        pseudonym,
        purpose: w.purpose(),
        categories: w.categories(),
        job_digest,
    };
    let mut tx = match &job.request_tx {
        Some(tx) => tx.clone(),
        None => {
            let tx = ctx.chain.signer.sign(call.clone()).await?;
            // Stored before it is submitted: a restart resubmits exactly these bytes.
            ctx.jobs.set_requesting(&job.id, &tx)?;
            if let Some(d) = ctx.pause_after_request_submit {
                let r = ctx.chain.resubmit(&tx.bytes).await;
                info!(job = %job.id, "test hook: submitted ({r:?}); pausing {} ms", d.as_millis());
                tokio::time::sleep(d).await;
            }
            tx
        }
    };
    let mut resigns = 0;
    loop {
        match ctx.chain.submit(&tx.bytes).await {
            Submitted::Finalized {
                block,
                events,
                in_block,
                finality,
            } => {
                ctx.time(&job.id, |t| {
                    t.decision_ms = Some(ms(in_block));
                    t.finality_ms = Some(ms(finality));
                });
                return record_from_events(ctx, &events, block, job_digest).await;
            }
            Submitted::Failed(msg) => bail!("request_access failed on chain: {msg}"),
            Submitted::Unknown(msg) => {
                info!(job = %job.id, nonce = tx.nonce, "request not followed to finality ({msg}); checking the finalized chain");
                if let Some(rec) = settle_request(ctx, &tx, job_digest).await? {
                    return Ok(rec);
                }
                resigns += 1;
                anyhow::ensure!(
                    resigns <= MAX_RESIGNS,
                    "request_access lost its nonce {resigns} times"
                );
                // The stored bytes can never be included now (their nonce is used): safe to
                // sign again with a fresh nonce.
                ctx.chain.signer.resync().await;
                tx = ctx.chain.signer.sign(call.clone()).await?;
                ctx.jobs.set_requesting(&job.id, &tx)?;
            }
        }
    }
}

/// The record a finalized `request_access` created, named by its own events, read back at the
/// block that included it.
async fn record_from_events(
    ctx: &Ctx,
    events: &Events,
    block: consentry_client::subxt::utils::H256,
    job_digest: [u8; 32],
) -> anyhow::Result<Record> {
    let access = match events.find_first::<runtime::audit::events::AccessGranted>()? {
        Some(g) => RecordKey {
            subject: Some(g.subject),
            id: g.id,
        },
        None => {
            let d = events
                .find_first::<runtime::audit::events::AccessDenied>()?
                .context("request_access emitted neither AccessGranted nor AccessDenied")?;
            RecordKey {
                subject: d.subject,
                id: d.id,
            }
        }
    };
    let id = access.id;
    let rec = ctx
        .chain
        .record_at(access, block)
        .await?
        .context("record missing")?;
    anyhow::ensure!(
        rec.job_digest == job_digest,
        "record {id} names another job"
    );
    Ok(rec)
}

/// The record the stored request `tx` made, from its own events once it is in a finalized block,
/// or `None` when its nonce went to another transaction ([`Chain::find_finalized`]).
async fn settle_request(
    ctx: &Ctx,
    tx: &StoredTx,
    job_digest: [u8; 32],
) -> anyhow::Result<Option<Record>> {
    let found = ctx
        .chain
        .find_finalized(tx, "request_access", SETTLE_TIMEOUT)
        .await
        .context("no finalized decision; the job stays `requesting` for the next restart")?;
    match found {
        Some((block, events)) => record_from_events(ctx, &events, block, job_digest)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// The data gate, the read and the workload, then the close.
async fn run_granted(
    ctx: &Arc<Ctx>,
    job: &Job,
    w: Arc<dyn Workload>,
    access: RecordKey,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let at = ctx.chain.finalized().await?;
    let rec = ctx
        .chain
        .record_at(access, at)
        .await?
        .context("granted record not found at the finalized head")?;
    let id = access.id;
    let gate = if rec.state.0 == AccessState::Granted {
        still_in_force(ctx, &rec, at, true).await?
    } else {
        None
    };
    let mismatch = if rec.state.0 != AccessState::Granted {
        Some(format!("record {id} is {:?}, not Granted", rec.state.0))
    } else if rec.job_digest != digest_bytes(&job.job_digest)? {
        Some(format!("record {id} names another job"))
    } else if rec.institution != ctx.chain.institution {
        Some(format!(
            "record {id} belongs to institution {}",
            rec.institution
        ))
    } else if rec.purpose.0 != w.purpose() || !rec.categories.0.includes(w.categories()) {
        Some(format!(
            "record {id} grants {:?} over {:?}; workload `{}` needs {:?} over {:?}",
            rec.purpose.0,
            rec.categories.0,
            w.name(),
            w.purpose(),
            w.categories()
        ))
    } else {
        gate
    };
    if let Some(why) = mismatch {
        warn!(job = %job.id, "refusing to run: {why}");
        if rec.state.0 == AccessState::Granted {
            return close(ctx, job, access, Close::Aborted, None, Some(why)).await;
        }
        ctx.jobs.set_closed(&job.id, JobState::Error)?;
        return ctx.jobs.note_error(&job.id, &why);
    }
    ctx.jobs.set_running(&job.id)?;
    match ctx.fail_after_grant {
        Some(Fault::Error) => bail!("test hook: injected failure after the grant"),
        Some(Fault::Panic) => panic!("test hook: injected panic after the grant"),
        None => {}
    }
    let store = ctx.store.clone();
    let categories = rec.categories.0;
    let mut pseudonym = [0u8; 32];
    hex::decode_to_slice(&job.pseudonym, &mut pseudonym).context("stored pseudonym")?;
    let params = job.params.clone();
    if w.stream().is_some() {
        let data = tokio::task::spawn_blocking(move || {
            store
                .lock()
                .map_err(|_| anyhow::anyhow!("store lock poisoned"))?
                .read(id, pseudonym, &categories)
                .map_err(anyhow::Error::from)
        })
        .await??;
        let stream = w.stream().context("stream workload")?;
        let end = crate::stream::serve(ctx, job, &rec, stream, data).await?;
        return close(
            ctx,
            job,
            access,
            end.how,
            Some((end.result, end.digest)),
            end.why,
        )
        .await;
    }
    let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
        let data = store
            .lock()
            .map_err(|_| anyhow::anyhow!("store lock poisoned"))?
            .read(id, pseudonym, &categories)?;
        w.run(&data, &params)
    })
    .await
    .unwrap_or_else(|e| Err(anyhow::anyhow!("workload panicked: {e}")));
    ctx.time(&job.id, |t| t.workload_ms = Some(ms(started.elapsed())));
    match outcome {
        Ok(result) => {
            let digest = digest_of(&result);
            close(
                ctx,
                job,
                access,
                Close::Completed,
                Some((result, digest)),
                None,
            )
            .await
        }
        Err(e) => {
            let msg = format!("{e:#}");
            warn!(job = %job.id, "workload failed: {msg}");
            close(ctx, job, access, Close::Failed, None, Some(msg)).await
        }
    }
}

/// Why the grant `rec` may no longer be acted on at the finalized block `at`, if so: it is older
/// than `--max-grant-age-secs` in chain time, a consent it cites is no longer in force (revoked,
/// expired, erased, amended so that it no longer covers the access), or the chain would no longer
/// permit the access (a suspended institution, an erased patient). A use-limited consent whose
/// last use this very grant took still counts as in force.
///
/// `check_age`: false for an open stream session, re-checked at every finalized block long after
/// its grant (the age limit applies to its gate only).
pub(crate) async fn still_in_force(
    ctx: &Ctx,
    rec: &Record,
    at: consentry_client::subxt::utils::H256,
    check_age: bool,
) -> anyhow::Result<Option<String>> {
    let id = rec.id;
    let now = ctx.chain.now_at(at).await?;
    let age_ms = now.saturating_sub(rec.requested_at);
    let max_ms = u64::try_from(ctx.max_grant_age.as_millis()).unwrap_or(u64::MAX);
    if check_age && age_ms > max_ms {
        return Ok(Some(format!(
            "record {id} was granted {:.1} s ago in chain time, more than the {} s \
             --max-grant-age-secs allows",
            age_ms as f64 / 1e3,
            ctx.max_grant_age.as_secs()
        )));
    }
    let Some(subject) = rec.subject else {
        return Ok(Some(format!("record {id} names no patient")));
    };
    let cited = &rec.consents.0;
    if cited.is_empty() {
        return Ok(Some(format!("record {id} cites no consent")));
    }
    let consents = ctx.chain.consents_at(subject, at).await?;
    let mut covered = CategorySet::empty();
    for cid in cited {
        let reason = match consents.iter().find(|(k, _)| k == cid) {
            None => Some(DenyReason::Revoked),
            Some((_, c)) => match c.status {
                ConsentStatus::Revoked { .. } => Some(DenyReason::Revoked),
                ConsentStatus::Erased { .. } => Some(DenyReason::SubjectErased),
                ConsentStatus::Active if now < c.valid_from => Some(DenyReason::NotYetValid),
                ConsentStatus::Active if c.valid_until.is_some_and(|u| now >= u) => {
                    Some(DenyReason::Expired)
                }
                ConsentStatus::Active if !c.purposes.0.contains(rec.purpose.0) => {
                    Some(DenyReason::PurposeNotCovered)
                }
                ConsentStatus::Active => {
                    covered = covered.union(c.categories.0);
                    None
                }
            },
        };
        if let Some(r) = reason {
            return Ok(Some(format!(
                "consent {cid} behind record {id} is no longer in force at the finalized \
                 head ({})",
                r.name()
            )));
        }
    }
    if !covered.includes(rec.categories.0) {
        return Ok(Some(format!(
            "the consents behind record {id} no longer cover its categories at the finalized \
             head ({})",
            DenyReason::CategoryNotCovered.name()
        )));
    }
    match ctx
        .chain
        .decide_at(subject, rec.purpose.0, rec.categories.0, at)
        .await?
    {
        Decision::Permit { .. }
        | Decision::Deny {
            reason: DenyReason::UsesExhausted,
            ..
        } => Ok(None),
        Decision::Deny { reason, .. } => Ok(Some(format!(
            "the chain no longer permits record {id}'s access at the finalized head ({})",
            reason.name()
        ))),
    }
}

/// Where `rec` is stored.
fn key_of(rec: &Record) -> RecordKey {
    RecordKey {
        subject: rec.subject,
        id: rec.id,
    }
}

fn complete_call(access: RecordKey, close: Close, digest: Option<[u8; 32]>) -> Call {
    Call::Complete {
        access,
        outcome: match close {
            Close::Completed => Outcome::Completed,
            Close::Failed => Outcome::Failed,
            Close::Aborted => Outcome::Aborted,
        },
        result_digest: digest,
    }
}

/// Signs `complete_access`, stores it with the result, and follows it to finality.
async fn close(
    ctx: &Ctx,
    job: &Job,
    access: RecordKey,
    how: Close,
    result: Option<(serde_json::Value, [u8; 32])>,
    error: Option<String>,
) -> anyhow::Result<()> {
    let digest = result.as_ref().map(|(_, d)| *d);
    let tx = ctx
        .chain
        .signer
        .sign(complete_call(access, how, digest))
        .await?;
    let digest_hex = digest.map(hex::encode);
    ctx.jobs.set_completing(
        &job.id,
        &tx,
        how,
        result.as_ref().map(|(v, _)| v),
        digest_hex.as_deref(),
        error.as_deref(),
    )?;
    if let Some(d) = ctx.pause_after_complete_submit {
        let r = ctx.chain.resubmit(&tx.bytes).await;
        info!(job = %job.id, "test hook: close submitted ({r:?}); pausing {} ms", d.as_millis());
        tokio::time::sleep(d).await;
    }
    let job = ctx.jobs.get(&job.id)?.context("job vanished")?;
    finish_close(ctx, &job, access, how, tx).await
}

/// Submits the stored close until the record is closed in a finalized block.
async fn finish_close(
    ctx: &Ctx,
    job: &Job,
    access: RecordKey,
    how: Close,
    mut tx: StoredTx,
) -> anyhow::Result<()> {
    let digest = job.result_digest.as_deref().map(digest_bytes).transpose()?;
    let started = Instant::now();
    loop {
        match ctx.chain.submit(&tx.bytes).await {
            Submitted::Finalized { .. } => {
                ctx.time(&job.id, |t| t.completion_ms = Some(ms(started.elapsed())));
                info!(job = %job.id, access = access.id, ?how, "record closed (finalized)");
                return ctx.jobs.set_closed(&job.id, how.final_state());
            }
            Submitted::Failed(msg) => {
                // E.g. `NotOpen`: closed already (by the resubmitted twin of these bytes).
                let at = ctx.chain.finalized().await?;
                if let Some(AccessState::Closed(o)) =
                    ctx.chain.record_at(access, at).await?.map(|r| r.state.0)
                {
                    return ctx.jobs.set_closed(&job.id, outcome_state(o));
                }
                bail!("complete_access failed on chain: {msg}");
            }
            Submitted::Unknown(msg) => {
                info!(job = %job.id, nonce = tx.nonce, "close not followed to finality ({msg}); checking the finalized chain");
                let settle_started = Instant::now();
                let mut last_submit = Instant::now();
                loop {
                    let at = ctx.chain.finalized().await?;
                    let nonce = ctx.chain.nonce_at(at).await?;
                    let state = ctx
                        .chain
                        .record_at(access, at)
                        .await?
                        .map(|r| r.state.0)
                        .context("record missing")?;
                    if let AccessState::Closed(o) = state {
                        ctx.time(&job.id, |t| t.completion_ms = Some(ms(started.elapsed())));
                        return ctx.jobs.set_closed(&job.id, outcome_state(o));
                    }
                    if nonce > tx.nonce {
                        // The record is still open and our nonce went elsewhere: sign again.
                        ctx.chain.signer.resync().await;
                        tx = ctx
                            .chain
                            .signer
                            .sign(complete_call(access, how, digest))
                            .await?;
                        ctx.jobs.replace_complete_tx(&job.id, &tx)?;
                        break;
                    }
                    if last_submit.elapsed() >= RESUBMIT_EVERY {
                        if let Err(e) = ctx.chain.resubmit(&tx.bytes).await {
                            info!("resubmission: {e}");
                        }
                        last_submit = Instant::now();
                    }
                    anyhow::ensure!(
                        settle_started.elapsed() < SETTLE_TIMEOUT,
                        "record {} not closed after {} s; the job stays `completing`",
                        access.id,
                        SETTLE_TIMEOUT.as_secs()
                    );
                    tokio::time::sleep(Duration::from_millis(1000)).await;
                }
            }
        }
    }
}
