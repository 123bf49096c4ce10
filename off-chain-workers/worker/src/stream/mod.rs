//! Streaming sessions: a patient's wearable samples update the twin in real time, under one
//! access on the ledger.
//!
//! A session is a job with the `stream` workload. It is asked for like any job (`POST /jobs`:
//! `request_access` for purpose `treatment` over `wearable` — and the categories the predictor
//! reads, with `--model`), and passes the same data gate at the finalized head. Then, instead of
//! one run, [`serve`] keeps the access open:
//!
//! - `POST /jobs/{id}/samples` (JSON lines, or a JSON array): each sample is checked
//!   ([`sample`]'s rules), the accepted ones stored in one transaction (`jobs.sqlite`,
//!   `stream_samples`) and only then applied to the [`twin::Twin`]; the answer has a verdict per
//!   line and the updated state.
//! - `GET /jobs/{id}/twin` is the state now; `GET /jobs/{id}/twin/events` pushes every new state
//!   (server-sent events, `event: twin`), and `event: closed` with the final one.
//! - At every finalized block the consents behind the record are re-checked (as the gate does,
//!   without the grant-age limit): the patient revoking ends the session at the first finalized
//!   block that shows it. The session is removed before anything else, so from then on every
//!   sample is refused (409) and none is stored.
//! - The session ends on `POST /jobs/{id}/close` (closed `Completed`), revocation (closed
//!   `Aborted`), or `idle_timeout_s` without a sample (closed `Completed`). Every close cites the
//!   Merkle root of the accepted samples ([`merkle`]); a worker restarted mid-session closes it
//!   `Aborted` citing the root of what it had stored.

pub mod http;
pub mod merkle;
pub mod sample;
pub mod twin;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consentry_datastore::wearable::VitalKind;
use consentry_datastore::PatientData;
use consentry_primitives::{CategorySet, DataCategory, Purpose};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use crate::chain::Record;
use crate::jobs::{canonical_json, now_ms, Close, Job};
use crate::runner::Ctx;
use crate::workload::{ParamError, Workload};
use twin::{Predictor, PredictorInput, Twin};

/// Lines one `POST /jobs/{id}/samples` may carry.
pub const MAX_LINES: usize = 1000;
/// The default `idle_timeout_s`.
pub const DEFAULT_IDLE_S: u64 = 300;
/// The default `risk_threshold`.
pub const DEFAULT_RISK_THRESHOLD: f64 = 0.5;

/// The `stream` workload.
///
/// Params: `drug` (with a model: required, one it was trained on — the ADR risk is for it),
/// `risk_threshold` (0–1, default 0.5: the ADR probability that raises an alert),
/// `idle_timeout_s` (1–86,400, default 300).
pub struct Stream {
    model: Option<(Arc<dyn Predictor>, Vec<String>)>,
}

impl Stream {
    /// Without a model the twin keeps the series, NEWS2 and glucose alerts; with one it also
    /// re-predicts the ADR risk (`drugs`: the model's).
    pub fn new(model: Option<(Arc<dyn Predictor>, Vec<String>)>) -> Self {
        Stream { model }
    }
}

fn bad(field: &str, detail: impl Into<String>) -> ParamError {
    ParamError {
        field: field.into(),
        detail: detail.into(),
    }
}

/// A session's parameters.
struct Params {
    drug: Option<String>,
    threshold: f64,
    idle: Duration,
}

impl Stream {
    fn params(&self, p: &Value) -> Result<Params, ParamError> {
        let obj = p
            .as_object()
            .ok_or_else(|| bad("params", "must be a JSON object"))?;
        for k in obj.keys() {
            if !["drug", "risk_threshold", "idle_timeout_s"].contains(&k.as_str()) {
                return Err(bad(
                    &format!("params.{k}"),
                    "unknown parameter; allowed: drug, risk_threshold, idle_timeout_s",
                ));
            }
        }
        let drug = match (&self.model, obj.get("drug")) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(bad(
                    "params.drug",
                    "this worker has no model (--model): the stream twin has no drug risk",
                ))
            }
            (Some((_, drugs)), d) => {
                let d = d.and_then(Value::as_str).ok_or_else(|| {
                    bad(
                        "params.drug",
                        format!(
                            "required: the drug the ADR risk is for, one of {}",
                            drugs.join(", ")
                        ),
                    )
                })?;
                let known = drugs
                    .iter()
                    .find(|x| x.eq_ignore_ascii_case(d))
                    .ok_or_else(|| {
                        bad(
                            "params.drug",
                            format!("`{d}` is not a drug the model knows: {}", drugs.join(", ")),
                        )
                    })?;
                Some(known.clone())
            }
        };
        let threshold = match obj.get("risk_threshold") {
            None => DEFAULT_RISK_THRESHOLD,
            Some(v) => v
                .as_f64()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| bad("params.risk_threshold", "a probability from 0 to 1"))?,
        };
        let idle = match obj.get("idle_timeout_s") {
            None => DEFAULT_IDLE_S,
            Some(v) => v
                .as_u64()
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| bad("params.idle_timeout_s", "whole seconds from 1 to 86400"))?,
        };
        Ok(Params {
            drug,
            threshold,
            idle: Duration::from_secs(idle),
        })
    }
}

impl Workload for Stream {
    fn name(&self) -> &str {
        "stream"
    }
    fn purpose(&self) -> Purpose {
        Purpose::Treatment
    }
    fn categories(&self) -> CategorySet {
        match self.model {
            None => CategorySet::of(&[DataCategory::Wearable]),
            // The predictor also reads the covariates the model was trained on.
            Some(_) => CategorySet::of(&[
                DataCategory::Demographics,
                DataCategory::Labs,
                DataCategory::Genomic,
                DataCategory::Wearable,
            ]),
        }
    }
    fn validate(&self, params: &Value) -> Result<(), ParamError> {
        self.params(params).map(|_| ())
    }
    fn run(&self, _: &PatientData, _: &Value) -> anyhow::Result<Value> {
        anyhow::bail!("a stream session is served by `stream::serve`, not run once")
    }
    fn stream(&self) -> Option<&Stream> {
        Some(self)
    }
}

/// What the HTTP side sends an open session.
pub enum Cmd {
    /// Sample lines (parsed JSON, or the line's parse error); the answer is the verdicts and
    /// the new state.
    Samples(Vec<Result<Value, String>>, oneshot::Sender<Value>),
    /// End the session (closed `Completed`).
    Close(oneshot::Sender<()>),
}

/// An open session's mailbox and state.
#[derive(Clone)]
pub struct Handle {
    /// Commands, served in order.
    pub cmd: mpsc::Sender<Cmd>,
    /// The latest state.
    pub state: watch::Receiver<Arc<Value>>,
}

/// The open sessions, by job id.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Handle>>);

impl Sessions {
    /// The open session of job `id`.
    pub fn get(&self, id: &str) -> Option<Handle> {
        self.0.lock().ok()?.get(id).cloned()
    }
    fn insert(&self, id: &str, h: Handle) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id.to_string(), h);
        }
    }
    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(id);
        }
    }
}

/// How a session ended, and what its close cites.
pub struct End {
    /// The record's outcome.
    pub how: Close,
    /// The session's summary (the job's result).
    pub result: Value,
    /// The Merkle root of the accepted samples.
    pub digest: [u8; 32],
    /// Why it ended, when not by the client.
    pub why: Option<String>,
}

/// One session's samples and twin.
struct Session {
    job: String,
    patient: String,
    twin: Twin,
    /// Accepted `seq` → its canonical JSON, for duplicates.
    seen: HashMap<u64, String>,
    leaves: Vec<[u8; 32]>,
    model_error: Option<String>,
}

impl Session {
    /// Checks the lines, stores the accepted ones in one transaction, then applies them.
    fn accept(&mut self, ctx: &Ctx, lines: Vec<Result<Value, String>>) -> anyhow::Result<Value> {
        let now = now_ms();
        let mut results = Vec::with_capacity(lines.len());
        let mut staged: Vec<(sample::Sample, String)> = Vec::new();
        let mut staged_seq: HashMap<u64, String> = HashMap::new();
        let mut staged_t: BTreeMap<VitalKind, i64> = BTreeMap::new();
        let (mut duplicates, mut refused) = (0, 0);
        for (line, parsed) in lines.into_iter().enumerate() {
            let checked = parsed
                .map_err(|e| sample::Refused {
                    reason: sample::Refusal::Malformed,
                    field: "sample".into(),
                    detail: e,
                })
                .and_then(|v| sample::parse(&v, &self.patient));
            let s = match checked {
                Ok(s) => s,
                Err(r) => {
                    refused += 1;
                    results.push(
                        json!({"line": line, "status": "refused", "reason": r.reason,
                        "field": r.field, "detail": r.detail}),
                    );
                    continue;
                }
            };
            let seq = s.wire.seq;
            let canonical = canonical_json(&serde_json::to_value(&s.wire)?);
            if let Some(prev) = self.seen.get(&seq).or_else(|| staged_seq.get(&seq)) {
                if *prev == canonical {
                    duplicates += 1;
                    results.push(json!({"line": line, "seq": seq, "status": "duplicate"}));
                } else {
                    refused += 1;
                    results.push(json!({"line": line, "seq": seq, "status": "refused",
                        "reason": sample::Refusal::SeqConflict, "field": "seq",
                        "detail": "an earlier sample had this seq with other content"}));
                }
                continue;
            }
            let last = staged_t
                .get(&s.kind)
                .copied()
                .or_else(|| self.twin.last_time(s.kind));
            if let Err(r) = sample::check_time(&s, now, last) {
                refused += 1;
                results.push(json!({"line": line, "seq": seq, "status": "refused",
                    "reason": r.reason, "field": r.field, "detail": r.detail}));
                continue;
            }
            staged_t.insert(s.kind, s.wire.t_ms);
            staged_seq.insert(seq, canonical.clone());
            results.push(json!({"line": line, "seq": seq, "status": "accepted"}));
            staged.push((s, canonical));
        }
        // Stored before the twin sees them: a failed write applies nothing.
        let rows: Vec<(u64, String)> = staged
            .iter()
            .map(|(s, c)| (s.wire.seq, c.clone()))
            .collect();
        ctx.jobs
            .add_stream_samples(&self.job, self.leaves.len() as u64, &rows)?;
        for (s, c) in staged.iter() {
            self.leaves.push(merkle::leaf(c.as_bytes()));
            self.seen.insert(s.wire.seq, c.clone());
            if let Err(e) = self.twin.apply(s) {
                warn!(job = %self.job, "the predictor failed: {e:#}");
                self.model_error = Some(format!("{e:#}"));
            }
        }
        Ok(json!({
            "accepted": staged.len(),
            "duplicates": duplicates,
            "refused": refused,
            "results": results,
        }))
    }

    fn state(&self, ended: Option<Value>) -> Value {
        json!({
            "job": self.job,
            "open": ended.is_none(),
            "ended": ended,
            "version": self.leaves.len(),
            "updated_ms": now_ms(),
            "twin": self.twin.view(),
            "model_error": self.model_error,
        })
    }
}

/// Serves an open session until it ends; called by the runner after the data gate and the read.
pub async fn serve(
    ctx: &Arc<Ctx>,
    job: &Job,
    rec: &Record,
    stream: &Stream,
    data: PatientData,
) -> anyhow::Result<End> {
    let params = stream
        .params(&job.params)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let predictor = match (&stream.model, &params.drug) {
        (Some((model, _)), Some(drug)) => Some(PredictorInput {
            model: model.clone(),
            record: crate::workload::patient_record(&data)?,
            drug: drug.clone(),
            threshold: params.threshold,
        }),
        _ => None,
    };
    let mut session = Session {
        job: job.id.clone(),
        patient: job.pseudonym.to_ascii_lowercase(),
        twin: Twin::new(predictor),
        seen: HashMap::new(),
        leaves: Vec::new(),
        model_error: None,
    };
    let (cmd_tx, mut cmd_rx) = mpsc::channel(64);
    let (state_tx, state_rx) = watch::channel(Arc::new(session.state(None)));
    let mut finalized = ctx.chain.client.blocks().subscribe_finalized().await?;
    ctx.sessions.insert(
        &job.id,
        Handle {
            cmd: cmd_tx,
            state: state_rx,
        },
    );
    info!(job = %job.id, "stream session open");
    let mut deadline = tokio::time::Instant::now() + params.idle;
    // The finalized block that showed the consent withdrawn, if that ended the session.
    let mut at_block = None;
    let ended: (Close, &str, Option<String>) = loop {
        tokio::select! {
            cmd = cmd_rx.recv() => match cmd {
                Some(Cmd::Samples(lines, reply)) => {
                    let c = ctx.clone();
                    let (s, verdicts) = tokio::task::spawn_blocking(move || {
                        let v = session.accept(&c, lines);
                        (session, v)
                    })
                    .await?;
                    session = s;
                    let state = Arc::new(session.state(None));
                    state_tx.send_replace(state.clone());
                    let mut answer = match verdicts {
                        Ok(v) => v,
                        Err(e) => {
                            warn!(job = %job.id, "samples not stored: {e:#}");
                            json!({"error": format!("the samples could not be stored; none was \
                                applied: {e:#}")})
                        }
                    };
                    answer["state"] = (*state).clone();
                    let _ = reply.send(answer);
                    deadline = tokio::time::Instant::now() + params.idle;
                }
                Some(Cmd::Close(reply)) => {
                    let _ = reply.send(());
                    break (Close::Completed, "closed", None);
                }
                None => break (Close::Completed, "closed", None),
            },
            block = finalized.next() => match block {
                Some(Ok(b)) => {
                    if let Some(why) = crate::runner::still_in_force(ctx, rec, b.hash(), false).await? {
                        info!(job = %job.id, "ending the stream: {why}");
                        at_block = Some(b.hash());
                        break (Close::Aborted, "consent_withdrawn", Some(why));
                    }
                }
                other => {
                    if let Some(Err(e)) = other {
                        warn!(job = %job.id, "finalized blocks: {e}; resubscribing");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    finalized = ctx.chain.client.blocks().subscribe_finalized().await?;
                }
            },
            _ = tokio::time::sleep_until(deadline) => {
                break (Close::Completed, "idle", Some(format!(
                    "no sample for {} s (idle_timeout_s)", params.idle.as_secs())));
            }
        }
    };
    // From here no sample is accepted: the mailbox is gone, and what was queued is refused.
    ctx.sessions.remove(&job.id);
    cmd_rx.close();
    while let Ok(cmd) = cmd_rx.try_recv() {
        match cmd {
            Cmd::Samples(lines, reply) => {
                let _ = reply.send(json!({"closed": true, "accepted": 0, "refused": lines.len()}));
            }
            Cmd::Close(reply) => {
                let _ = reply.send(());
            }
        }
    }
    let (how, reason, why) = ended;
    let digest = merkle::root(&session.leaves);
    let summary = json!({
        "workload": "stream",
        "samples": session.leaves.len(),
        "merkle_root": hex::encode(digest),
        "ended": reason,
        "at_block": at_block.map(|h| format!("{h:?}")),
        "twin": session.twin.view(),
    });
    state_tx.send_replace(Arc::new(
        session.state(Some(json!({"reason": reason, "detail": why,
            "at_block": at_block.map(|h| format!("{h:?}"))}))),
    ));
    info!(job = %job.id, samples = session.leaves.len(), reason, "stream session ended");
    Ok(End {
        how,
        result: summary,
        digest,
        why,
    })
}

/// The close of a session found open with no task serving it (a restart): `Aborted`, citing the
/// root of the samples stored before.
pub fn orphan_close(ctx: &Ctx, job: &Job) -> anyhow::Result<(Value, [u8; 32])> {
    let stored = ctx.jobs.stream_samples(&job.id)?;
    let digest = merkle::root_of_stored(&stored);
    Ok((
        json!({"workload": "stream", "samples": stored.len(), "merkle_root": hex::encode(digest),
            "ended": "worker_restarted"}),
        digest,
    ))
}
