//! Jobs for the institution's worker. The API authenticates the clinician's institution session
//! and forwards to the worker daemon (`consentry-worker`), which alone opens patient data, and
//! only after the chain granted the access. The worker signs with its institution's key, so only
//! sessions of that institution may submit to it.

use crate::{
    auth::{Identity, Session},
    error::{
        extract::{Json, Path},
        ApiError, Problem,
    },
    AppState,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where the worker listens and whose key it signs with.
#[derive(Clone, Debug)]
pub struct WorkerLink {
    /// Base URL, e.g. `http://127.0.0.1:8090`.
    pub url: String,
    /// The institution whose service key the worker holds.
    pub institution: u32,
}

/// `POST /v1/jobs` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobRequest {
    /// The patient's pseudonym at this institution, hex.
    pub pseudonym: String,
    /// The workload, e.g. `simulation` or `inference`.
    pub workload: String,
    /// The workload's parameters.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

fn link(state: &AppState, session: &Session) -> Result<WorkerLink, ApiError> {
    let link = state.worker.clone().ok_or_else(|| {
        ApiError::Unavailable("no worker is configured for this API (--worker-url)".into())
    })?;
    match session.identity {
        Identity::Institution { institution } | Identity::Auditor { institution }
            if institution == link.institution =>
        {
            Ok(link)
        }
        _ => Err(ApiError::Forbidden(format!(
            "this API's worker acts for institution {}; only its sessions may run jobs",
            link.institution
        ))),
    }
}

/// Passes the worker's answer through (its errors are problem documents too).
async fn relay(r: reqwest::Response) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ctype = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = r
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    Ok((status, [(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// Queues a digital-twin job with the institution's worker. The worker asks the chain for access
/// and runs the workload only if the access is granted in a finalized block.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = JobRequest,
    security(("bearer" = [])),
    responses((status = 202, description = "Queued"), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<JobRequest>,
) -> Result<Response, ApiError> {
    let link = link(&state, &session)?;
    let body = serde_json::json!({
        "requester": session.account.to_string(),
        "pseudonym": req.pseudonym,
        "workload": req.workload,
        "params": req.params,
    });
    let r = state
        .http
        .post(format!("{}/jobs", link.url))
        .json(&body)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    relay(r).await
}

/// A job's state, decision and, once completed, its result and the result's digest.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id, as returned when it was queued")),
    security(("bearer" = [])),
    responses((status = 200, description = "The job"), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Only forwarded as one path segment: refuse anything that could address another resource.
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::field("id", "not a job id"));
    }
    let link = link(&state, &session)?;
    let r = state
        .http
        .get(format!("{}/jobs/{id}", link.url))
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    relay(r).await
}
