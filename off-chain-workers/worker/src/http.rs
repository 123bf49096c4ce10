//! The worker's HTTP API (loopback by default; the public API proxies `/v1/jobs` here).
//!
//! `POST /jobs`, `GET /jobs/{id}`, `GET /jobs?limit=`, `GET /health`. Errors are RFC 9457
//! `application/problem+json` documents naming the offending field.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::jobs::{Job, JobState};
use crate::runner::{drive, Ctx};

/// An RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    field: Option<String>,
}

impl Problem {
    fn bad(field: &str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Invalid job request",
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }
    fn internal(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Internal error",
            detail: format!("{e:#}"),
            field: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let slug = self.title.to_ascii_lowercase().replace(' ', "-");
        let mut body = json!({
            "type": format!("https://consentry.dev/problems/{slug}"),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(f) = self.field {
            body["field"] = Value::String(f);
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// The router.
pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/jobs", get(list).post(create))
        .route("/jobs/:id", get(one))
        .route("/health", get(health))
        .with_state(ctx)
}

/// What `GET /jobs/{id}` shows.
pub fn view(ctx: &Ctx, j: &Job) -> Value {
    let decision = match (j.state, j.access_id) {
        (JobState::Denied, Some(_)) => json!({"granted": false, "reason": j.deny_reason}),
        (_, Some(_)) => json!({"granted": true}),
        _ => Value::Null,
    };
    json!({
        "id": j.id,
        "requester": j.requester,
        "pseudonym": j.pseudonym,
        "workload": j.workload,
        "params": j.params,
        "state": j.state,
        "job_digest": j.job_digest,
        "access_id": j.access_id,
        "subject": j.subject,
        "decision": decision,
        "outcome": j.close,
        "result": if j.state == JobState::Completed { j.result.clone() } else { None },
        "result_digest": j.result_digest,
        "error": j.error,
        "created_ms": j.created_ms,
        "updated_ms": j.updated_ms,
        "timings_ms": ctx.timings_of(&j.id),
    })
}

async fn health(State(ctx): State<Arc<Ctx>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "institution": ctx.chain.institution,
        "account": ctx.chain.account.to_string(),
        "workloads": ctx.registry.names(),
    }))
}

async fn create(State(ctx): State<Arc<Ctx>>, body: Bytes) -> Result<Response, Problem> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| Problem {
        status: StatusCode::BAD_REQUEST,
        title: "Malformed JSON",
        detail: format!("the body is not a JSON document: {e}"),
        field: None,
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| Problem::bad("body", "must be a JSON object"))?;
    for k in obj.keys() {
        if !["requester", "pseudonym", "workload", "params"].contains(&k.as_str()) {
            return Err(Problem::bad(
                k,
                "unknown field; allowed: requester, pseudonym, workload, params",
            ));
        }
    }
    let requester = obj
        .get("requester")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| {
            Problem::bad(
                "requester",
                "required: who asks (the clinician's SS58 address or a name), 1 to 256 characters",
            )
        })?;
    let pseudonym_text = obj
        .get("pseudonym")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Problem::bad(
                "pseudonym",
                "required: the patient's pseudonym as 64 hex digits",
            )
        })?;
    let pseudonym = consentry_datastore::from_hex(pseudonym_text.trim()).ok_or_else(|| {
        Problem::bad(
            "pseudonym",
            format!("`{pseudonym_text}` is not 64 hex digits (a 32-byte pseudonym)"),
        )
    })?;
    let workload_name = obj.get("workload").and_then(Value::as_str).ok_or_else(|| {
        Problem::bad(
            "workload",
            format!("required: one of {}", ctx.registry.names().join(", ")),
        )
    })?;
    let workload = ctx
        .registry
        .get(workload_name)
        .map_err(|e| Problem::bad(&e.field, e.detail))?;
    let params = obj.get("params").cloned().unwrap_or_else(|| json!({}));
    workload
        .validate(&params)
        .map_err(|e| Problem::bad(&e.field, e.detail))?;
    let known = ctx
        .store
        .lock()
        .map_err(|_| Problem::internal(anyhow::anyhow!("store lock poisoned")))?
        .has_patient(&pseudonym)
        .map_err(|e| Problem::internal(e.into()))?;
    if !known {
        return Err(Problem::bad(
            "pseudonym",
            "no patient with this pseudonym in this institution's data store",
        ));
    }
    let job = ctx
        .jobs
        .create(requester, &hex::encode(pseudonym), workload.name(), &params)
        .map_err(Problem::internal)?;
    tracing::info!(job = %job.id, workload = workload.name(), "accepted");
    tokio::spawn(drive(ctx.clone(), job.id.clone()));
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/jobs/{}", job.id))],
        Json(json!({ "id": job.id, "state": job.state, "job_digest": job.job_digest })),
    )
        .into_response())
}

async fn one(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let job = ctx
        .jobs
        .get(&id)
        .map_err(Problem::internal)?
        .ok_or(Problem {
            status: StatusCode::NOT_FOUND,
            title: "Unknown job",
            detail: format!("no job `{id}` on this worker"),
            field: Some("id".into()),
        })?;
    Ok(Json(view(&ctx, &job)))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

async fn list(
    State(ctx): State<Arc<Ctx>>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Problem {
                status: StatusCode::BAD_REQUEST,
                title: "Invalid query",
                detail: format!("limit `{s}` must be an integer in 1..=1000"),
                field: Some("limit".into()),
            })?,
    };
    let jobs = ctx.jobs.list(limit).map_err(Problem::internal)?;
    Ok(Json(json!({
        "jobs": jobs.iter().map(|j| view(&ctx, j)).collect::<Vec<_>>(),
    })))
}
