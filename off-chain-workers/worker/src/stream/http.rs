//! The session routes (behind the same bearer credential as `/jobs`):
//! `POST /jobs/{id}/samples`, `GET /jobs/{id}/twin`, `GET /jobs/{id}/twin/events` (server-sent
//! events), `POST /jobs/{id}/close`, and `GET /jobs/{id}/samples` (what was accepted, as sent or
//! as a FHIR `Bundle` of `Observation`s with `?format=fhir`).

use std::convert::Infallible;
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use consentry_datastore::wearable::observation;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{sample, Cmd, Handle, MAX_LINES};
use crate::http::Problem;
use crate::runner::Ctx;

/// The open session of job `id`, or why there is none: 404 for no such job, 409 for a job that
/// is not an open session (not a stream, not granted yet, or ended).
fn session(ctx: &Ctx, id: &str) -> Result<Handle, Problem> {
    if let Some(h) = ctx.sessions.get(id) {
        return Ok(h);
    }
    let job = ctx
        .jobs
        .get(id)
        .map_err(Problem::internal)?
        .ok_or_else(|| Problem::unknown_job(id))?;
    let detail = if job.workload != "stream" {
        format!("job `{id}` runs `{}`, not a stream session", job.workload)
    } else {
        format!(
            "the stream session is not open: the job is `{}`{}",
            job.state.as_str(),
            if job.state.is_terminal() || job.close.is_some() {
                " (ended; nothing more is accepted)"
            } else {
                " (waiting for the chain's finalized grant)"
            }
        )
    };
    Err(Problem::new(
        StatusCode::CONFLICT,
        "Session not open",
        detail,
        None,
    ))
}

/// One sample per line (`application/x-ndjson`), or one JSON array of samples.
fn lines(body: &[u8]) -> Result<Vec<Result<Value, String>>, Problem> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "Malformed samples",
            "the body is not UTF-8".into(),
            None,
        )
    })?;
    let trimmed = text.trim_start();
    let out: Vec<Result<Value, String>> = if trimmed.starts_with('[') {
        let all: Vec<Value> = serde_json::from_str(trimmed).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Malformed samples",
                format!("the body starts a JSON array but is not one: {e}"),
                None,
            )
        })?;
        all.into_iter().map(Ok).collect()
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON: {e}")))
            .collect()
    };
    if out.is_empty() || out.len() > MAX_LINES {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid samples",
            format!(
                "send 1 to {MAX_LINES} samples per request (got {})",
                out.len()
            ),
            Some("body"),
        ));
    }
    Ok(out)
}

/// `POST /jobs/{id}/samples`.
pub async fn post_samples(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let lines = lines(&body)?;
    let h = session(&ctx, &id)?;
    let (tx, rx) = oneshot::channel();
    let ended = || {
        session(&ctx, &id).err().unwrap_or_else(|| {
            Problem::new(
                StatusCode::CONFLICT,
                "Session not open",
                "the session ended".into(),
                None,
            )
        })
    };
    h.cmd
        .send(Cmd::Samples(lines, tx))
        .await
        .map_err(|_| ended())?;
    let answer = rx.await.map_err(|_| ended())?;
    if answer.get("closed").is_some() {
        return Err(ended());
    }
    if let Some(e) = answer.get("error").and_then(Value::as_str) {
        return Err(Problem::internal(anyhow::anyhow!("{e}")));
    }
    Ok(Json(answer).into_response())
}

/// `GET /jobs/{id}/twin`.
pub async fn twin(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let h = session(&ctx, &id)?;
    let state = h.state.borrow().clone();
    Ok(Json((*state).clone()))
}

/// `GET /jobs/{id}/twin/events`: the state now, then every change, then `closed`.
pub async fn events(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let h = session(&ctx, &id)?;
    let stream =
        futures_util::stream::unfold((h.state, true, false), |(mut rx, first, done)| async move {
            if done {
                return None;
            }
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let v = rx.borrow_and_update().clone();
            let open = v.get("open").and_then(Value::as_bool).unwrap_or(false);
            let event = Event::default()
                .event(if open { "twin" } else { "closed" })
                .id(v.get("version").map(|n| n.to_string()).unwrap_or_default())
                .json_data(&*v)
                .ok()?;
            Some((Ok::<_, Infallible>(event), (rx, false, !open)))
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `POST /jobs/{id}/close`: ends the session; its record is closed `Completed` citing the
/// Merkle root (follow the job for the close).
pub async fn close(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let h = session(&ctx, &id)?;
    let (tx, rx) = oneshot::channel();
    if h.cmd.send(Cmd::Close(tx)).await.is_ok() {
        let _ = rx.await;
    }
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/jobs/{id}"))],
        Json(json!({"id": id, "closing": true})),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct SamplesQuery {
    format: Option<String>,
    /// Skip the first `from` accepted samples (a chart that has them asks for the rest).
    from: Option<u64>,
}

/// `GET /jobs/{id}/samples[?format=fhir][&from=N]`: the accepted samples, in order, exactly the
/// leaves the Merkle root is over; or as FHIR `Observation`s. With `from`, only the samples
/// after the first `from`, and no root (the root is over all of them).
pub async fn get_samples(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Query(q): Query<SamplesQuery>,
) -> Result<Json<Value>, Problem> {
    let job = ctx
        .jobs
        .get(&id)
        .map_err(Problem::internal)?
        .ok_or_else(|| Problem::unknown_job(&id))?;
    let from = q.from.unwrap_or(0);
    let stored = ctx
        .jobs
        .stream_samples_from(&id, from)
        .map_err(Problem::internal)?;
    let samples: Vec<Value> = stored
        .iter()
        .map(|s| serde_json::from_str(s))
        .collect::<Result<_, _>>()
        .map_err(|e| Problem::internal(e.into()))?;
    match q.format.as_deref() {
        None | Some("json") => {
            let mut page = json!({ "job": id, "from": from, "samples": samples });
            if from == 0 {
                page["merkle_root"] = hex::encode(super::merkle::root_of_stored(&stored)).into();
            }
            Ok(Json(page))
        }
        Some("fhir") => {
            let mut entries = Vec::with_capacity(samples.len());
            for v in &samples {
                let s = sample::parse(v, &job.pseudonym.to_ascii_lowercase()).map_err(|r| {
                    Problem::internal(anyhow::anyhow!("stored sample: {}", r.detail))
                })?;
                let o = observation(
                    &format!("{id}-{}", s.wire.seq),
                    &job.pseudonym,
                    s.kind,
                    s.unit,
                    s.reading,
                    s.wire.t_ms,
                );
                entries.push(json!({ "resource": o }));
            }
            Ok(Json(json!({
                "resourceType": "Bundle",
                "type": "collection",
                "entry": entries,
            })))
        }
        Some(other) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Invalid query",
            format!("format `{other}`: use json or fhir"),
            Some("format"),
        )),
    }
}
