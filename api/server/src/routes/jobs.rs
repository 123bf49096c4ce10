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
use consentry_api_requests::{Body, JobRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where the worker listens and whose key it signs with.
#[derive(Clone, Debug)]
pub struct WorkerLink {
    /// Base URL, e.g. `http://127.0.0.1:8090`.
    pub url: String,
    /// The institution whose service key the worker holds.
    pub institution: u32,
    /// The credential the worker requires of its only caller, this API
    /// (`Authorization: Bearer`; the worker's `--api-token-file`).
    pub token: String,
}

/// A queued job, as the worker reports it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobQueued {
    /// The job id, for `GET /v1/jobs/{id}`.
    pub id: String,
    /// Its state (`queued` at first).
    pub state: String,
    /// SHA-256 of the job description, hex: the `job_digest` its access request carries.
    pub job_digest: String,
}

/// Who a job session acts for: this API's own institution, or another institution whose jobs
/// run only under a data-use agreement (its session sees only the jobs it asked for).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    Own,
    Other(u32),
}

fn link(state: &AppState, session: &Session) -> Result<(WorkerLink, Caller), ApiError> {
    let link = state.worker.clone().ok_or_else(|| {
        ApiError::Unavailable("no worker is configured for this API (--worker-url)".into())
    })?;
    match session.identity {
        Identity::Institution { institution } | Identity::Auditor { institution }
            if institution == link.institution =>
        {
            Ok((link, Caller::Own))
        }
        Identity::Institution { institution } => Ok((link, Caller::Other(institution))),
        _ => Err(ApiError::Forbidden(format!(
            "this API's worker acts for institution {}; only institutions' sessions may run jobs \
             (another institution's under a data-use agreement)",
            link.institution
        ))),
    }
}

/// A job id, which is forwarded as one path segment: anything that could address another
/// resource is refused.
pub(crate) fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::field("id", "not a job id"));
    }
    Ok(())
}

/// The worker, for a session of its own institution only.
pub(crate) fn own_link(state: &AppState, session: &Session) -> Result<WorkerLink, ApiError> {
    match link(state, session)? {
        (link, Caller::Own) => Ok(link),
        (link, Caller::Other(_)) => Err(ApiError::Forbidden(format!(
            "stream sessions are direct care by institution {}'s own staff; no data-use \
             agreement extends them to another institution",
            link.institution
        ))),
    }
}

/// The worker's answer in this API's terms: a success passes through, and anything else becomes
/// this API's own problem document ([`worker_error`]), never the worker's body.
pub(crate) async fn relay(r: reqwest::Response) -> Result<Response, ApiError> {
    let status = r.status().as_u16();
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
    match StatusCode::from_u16(status) {
        Ok(ok) if ok.is_success() => {
            Ok((ok, [(header::CONTENT_TYPE, ctype)], body).into_response())
        }
        _ => Err(worker_error(status, &body)),
    }
}

/// What a worker's error answer (an RFC 9457 document of its own, or anything else) means to
/// this API's caller: the job request's fault (400 naming the field, 404), the worker being busy
/// or down (503), or the worker failing or refusing this API (502; details only in the log).
pub fn worker_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize, Default)]
    struct WorkerProblem {
        detail: Option<String>,
        field: Option<String>,
    }
    let p: WorkerProblem = serde_json::from_slice(body).unwrap_or_default();
    let detail = p
        .detail
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("the worker answered HTTP {status}"));
    match status {
        400 | 422 => match p.field {
            Some(field) => ApiError::field(field, detail),
            None => ApiError::BadRequest(format!("worker: {detail}")),
        },
        404 => ApiError::NotFound(detail),
        // A stream session that is not open (not granted yet, or ended).
        409 => ApiError::Conflict(detail),
        429 | 503 => ApiError::Unavailable(format!("worker: {detail}")),
        _ => {
            tracing::error!(status, detail = %detail, "the worker failed");
            ApiError::BadGateway(format!(
                "the institution's worker failed (HTTP {status}); its log has the details"
            ))
        }
    }
}

/// Queues a digital-twin job with the institution's worker. The worker asks the chain for access
/// and runs the workload only if the access is granted in a finalized block.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = JobRequest,
    security(("bearer" = [])),
    responses((status = 202, description = "Queued", body = JobQueued),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 502, body = Problem),
        (status = 503, body = Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<JobRequest>,
) -> Result<Response, ApiError> {
    let (link, caller) = link(&state, &session)?;
    req.parse()?;
    let mut body = serde_json::json!({
        "requester": session.account.to_string(),
        "pseudonym": req.pseudonym,
        "workload": req.workload,
        "params": req.params,
    });
    match (caller, req.agreement) {
        (Caller::Own, None) => {}
        (Caller::Own, Some(_)) => {
            return Err(ApiError::field(
                "agreement",
                "only another institution's job runs under a data-use agreement",
            ))
        }
        (Caller::Other(institution), agreement) => {
            let id = agreement.ok_or_else(|| {
                ApiError::field(
                    "agreement",
                    format!(
                        "required: institution {institution}'s job for institution {}'s patients \
                         must name the data-use agreement it runs under",
                        link.institution
                    ),
                )
            })?;
            body["on_behalf_of"] = institution.into();
            body["agreement"] = id.into();
        }
    }
    let r = state
        .http
        .post(format!("{}/jobs", link.url))
        .bearer_auth(&link.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    relay(r).await
}

/// A job's state, decision and, once completed, its result and the result's digest.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id, as returned when it was queued",
        pattern = "^[A-Za-z0-9-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 200, description = "The job", body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let (link, caller) = link(&state, &session)?;
    let r = state
        .http
        .get(format!("{}/jobs/{id}", link.url))
        .bearer_auth(&link.token)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    let Caller::Other(institution) = caller else {
        return relay(r).await;
    };
    // Another institution sees only the jobs it asked for; any other is "not found" to it.
    if !r.status().is_success() {
        return relay(r).await;
    }
    let job: serde_json::Value = r
        .json()
        .await
        .map_err(|e| ApiError::BadGateway(format!("the worker's job is not JSON: {e}")))?;
    if job["agreement"]["recipient"].as_u64() != Some(u64::from(institution)) {
        return Err(ApiError::NotFound(format!("no job {id}")));
    }
    Ok(axum::Json(job).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use serde_json::{json, Value};

    async fn problem(e: ApiError) -> (u16, String, Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let ctype = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, ctype, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn worker_errors_become_this_apis_problems() {
        // The worker's own problem type never reaches the caller.
        let worker = json!({
            "type": "https://consentry.dev/problems/invalid-job-request",
            "title": "Invalid job request",
            "status": 422,
            "detail": "no patient with this pseudonym in this institution's data store",
            "field": "pseudonym",
        });
        let (status, ctype, p) = problem(worker_error(422, worker.to_string().as_bytes())).await;
        assert_eq!((status, ctype.as_str()), (400, "application/problem+json"));
        assert_eq!(p["type"], "/problems/bad-field");
        assert_eq!(p["field"], "pseudonym");
        assert_eq!(
            p["detail"],
            "pseudonym: no patient with this pseudonym in this institution's data store"
        );

        let (status, _, p) = problem(worker_error(404, br#"{"detail":"no job `x`"}"#)).await;
        assert_eq!(
            (status, p["type"].as_str()),
            (404, Some("/problems/not-found"))
        );

        // A failing or misconfigured worker: 502, without its internals.
        for (s, body) in [
            (500, &br#"{"detail":"database /var/lib/x locked"}"#[..]),
            (401, &br#"{"detail":"needs the credential"}"#[..]),
            (418, &b"<html>teapot</html>"[..]),
        ] {
            let (status, _, p) = problem(worker_error(s, body)).await;
            assert_eq!(status, 502, "{s}");
            assert_eq!(p["type"], "/problems/bad-gateway");
            assert!(!p["detail"].as_str().unwrap().contains("/var/lib"), "{p}");
        }
        let (status, _, p) = problem(worker_error(503, b"")).await;
        assert_eq!(
            (status, p["type"].as_str()),
            (503, Some("/problems/unavailable"))
        );
    }
}
