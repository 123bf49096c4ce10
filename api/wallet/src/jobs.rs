//! A clinician's digital-twin job, through the API: the institution's service key signs in, the
//! API hands the job to the institution's worker, and the worker touches the patient's data only
//! after the chain has recorded a grant. The job's end — completed, denied, failed — is read back
//! from the API, which reads it from the worker.

use anyhow::{anyhow, Context, Result};
use consentry_primitives::Pseudonym;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The states a job ends in (the worker's `JobState::is_terminal`).
pub const ENDED: [&str; 5] = ["completed", "denied", "failed", "aborted", "error"];

/// What to run: a workload over one patient, by the pseudonym the institution enrolled.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub pseudonym: Pseudonym,
    pub workload: String,
    pub params: Value,
}

/// Queues `spec` with the API as the holder of `token`; returns the queued job (`id`, `state`).
pub async fn submit(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    spec: &JobSpec,
) -> Result<Value> {
    let url = format!("{}/v1/jobs", api.trim_end_matches('/'));
    let resp = http
        .post(&url)
        .bearer_auth(token)
        .json(&json!({
            "pseudonym": hex::encode(spec.pseudonym),
            "workload": spec.workload,
            "params": spec.params,
        }))
        .send()
        .await
        .with_context(|| format!("--api: cannot reach {url}"))?;
    crate::session::answer(resp, &format!("POST {url}")).await
}

/// Job `id` as the API reports it now.
pub async fn get(http: &reqwest::Client, api: &str, token: &str, id: &str) -> Result<Value> {
    let url = format!("{}/v1/jobs/{id}", api.trim_end_matches('/'));
    let resp = http
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("--api: cannot reach {url}"))?;
    crate::session::answer(resp, &format!("GET {url}")).await
}

/// Polls job `id` until it has ended, or fails after `timeout`. One client, so the polls reuse
/// its connection.
pub async fn wait(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    id: &str,
    timeout: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let job = get(http, api, token, id).await?;
        let state = job["state"].as_str().unwrap_or_default();
        if ENDED.contains(&state) {
            return Ok(job);
        }
        if Instant::now() >= deadline {
            return Err(anyhow!(
                "--timeout: job {id} is still {state} after {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One line for people: the job's end and what the chain recorded.
pub fn summary(job: &Value) -> String {
    let id = job["id"].as_str().unwrap_or("?");
    let state = job["state"].as_str().unwrap_or("?");
    let record = match job["access_id"].as_u64() {
        Some(a) => format!("access record {a}"),
        None => "no access record".into(),
    };
    match state {
        "completed" => format!(
            "job {id} completed ({record}, result digest {}); the whole result with --json:\n{}",
            job["result_digest"].as_str().unwrap_or("?"),
            outline(&job["result"])
        ),
        "denied" => format!(
            "job {id} denied by the chain ({record}): {}",
            job["decision"]["reason"]
                .as_str()
                .unwrap_or("no reason given")
        ),
        "failed" | "aborted" | "error" => format!(
            "job {id} {state} ({record}): {}",
            job["error"].as_str().unwrap_or("no detail")
        ),
        _ => format!("job {id} {state}; follow it with GET /v1/jobs/{id}"),
    }
}

/// A result's fields one per line, series shortened to their length and ends: a PK profile is
/// hundreds of numbers.
fn outline(result: &Value) -> String {
    let Some(fields) = result.as_object() else {
        return format!("  {result}");
    };
    fields
        .iter()
        .map(|(k, v)| match v.as_array() {
            Some(a) if a.len() > 4 => {
                format!("  {k}: {} values, {} … {}", a.len(), a[0], a[a.len() - 1])
            }
            _ => format!("  {k}: {v}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
