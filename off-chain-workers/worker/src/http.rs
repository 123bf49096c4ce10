//! The worker's HTTP API (loopback by default; the public API proxies `/v1/jobs` here).
//!
//! `POST /jobs`, `GET /jobs/{id}`, `GET /jobs?limit=`, `GET /health`. Errors are RFC 9457
//! `application/problem+json` documents naming the offending field.
//!
//! Every `/jobs` route needs `Authorization: Bearer <token>` with the credential the worker was
//! started with ([`ApiToken`]): only the institution's API holds it. `/health` (liveness, the
//! institution and account, no patient data) stays open.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::jobs::{Job, JobState};
use crate::runner::{drive, Ctx};
use crate::stream::http as stream;

/// An RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    field: Option<String>,
}

impl Problem {
    /// A problem with its status, title, detail and the field at fault.
    pub fn new(
        status: StatusCode,
        title: &'static str,
        detail: String,
        field: Option<&str>,
    ) -> Self {
        Self {
            status,
            title,
            detail,
            field: field.map(str::to_string),
        }
    }
    fn bad(field: &str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Invalid job request",
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }
    /// A 404 for a job id this worker does not hold.
    pub fn unknown_job(id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Unknown job",
            detail: format!("no job `{id}` on this worker"),
            field: Some("id".into()),
        }
    }
    /// A 500 (logged).
    pub fn internal(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Internal error",
            detail: format!("{e:#}"),
            field: None,
        }
    }
}

/// The environment variable holding the bearer credential (when no `--api-token-file`).
pub const TOKEN_ENV: &str = "CONSENTRY_WORKER_API_TOKEN";

/// The bearer credential the worker's callers (the institution's API) must present. Kept as its
/// SHA-256 so that comparing takes the same time whatever the presented value.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

impl ApiToken {
    /// The shortest credential accepted.
    pub const MIN_LEN: usize = 32;

    /// A credential from its text (surrounding whitespace removed; at least [`Self::MIN_LEN`]
    /// printable ASCII characters, no spaces).
    pub fn new(text: &str) -> anyhow::Result<Self> {
        let t = text.trim();
        anyhow::ensure!(
            t.len() >= Self::MIN_LEN && t.bytes().all(|b| b.is_ascii_graphic()),
            "the API credential must be at least {} printable ASCII characters without spaces \
             (e.g. `openssl rand -hex 32`)",
            Self::MIN_LEN
        );
        Ok(Self {
            digest: Sha256::digest(t.as_bytes()).into(),
        })
    }

    /// From `--api-token-file` or, without it, `CONSENTRY_WORKER_API_TOKEN`; one is required.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        match file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    anyhow::anyhow!("--api-token-file {}: cannot read: {e}", p.display())
                })?;
                Self::new(&text)
                    .map_err(|e| anyhow::anyhow!("--api-token-file {}: {e}", p.display()))
            }
            None => {
                let text = std::env::var(TOKEN_ENV).map_err(|_| {
                    anyhow::anyhow!(
                        "no API credential: give --api-token-file PATH or set {TOKEN_ENV} (the \
                         institution's API sends it as `Authorization: Bearer <token>`)"
                    )
                })?;
                Self::new(&text).map_err(|e| anyhow::anyhow!("{TOKEN_ENV}: {e}"))
            }
        }
    }

    /// Whether the request's `Authorization` header carries this credential.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
        else {
            return false;
        };
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

async fn authenticate(State(token): State<ApiToken>, req: Request, next: Next) -> Response {
    if token.admits(req.headers()) {
        return next.run(req).await;
    }
    let mut r = Problem {
        status: StatusCode::UNAUTHORIZED,
        title: "Unauthorized",
        detail: "the worker's job API needs the credential it was started with: \
                 `Authorization: Bearer <token>`"
            .into(),
        field: None,
    }
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"consentry-worker\""),
    );
    r
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

/// The router: `/jobs` behind the bearer credential, `/health` open.
pub fn router(ctx: Arc<Ctx>, token: ApiToken) -> Router {
    let jobs = Router::new()
        .route("/jobs", get(list).post(create))
        .route("/jobs/:id", get(one))
        .route(
            "/jobs/:id/samples",
            post(stream::post_samples).get(stream::get_samples),
        )
        .route("/jobs/:id/twin", get(stream::twin))
        .route("/jobs/:id/twin/events", get(stream::events))
        .route("/jobs/:id/close", post(stream::close))
        .route_layer(middleware::from_fn_with_state(token, authenticate));
    Router::new()
        .merge(jobs)
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
        "agreement": j.agreement,
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
        if ![
            "requester",
            "pseudonym",
            "workload",
            "params",
            "on_behalf_of",
            "agreement",
        ]
        .contains(&k.as_str())
        {
            return Err(Problem::bad(
                k,
                "unknown field; allowed: requester, pseudonym, workload, params, on_behalf_of, \
                 agreement",
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
    if workload.stream().is_some() {
        let open = ctx
            .jobs
            .unfinished()
            .map_err(Problem::internal)?
            .iter()
            .filter(|j| j.workload == workload.name())
            .count();
        if open >= ctx.max_streams {
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many sessions",
                format!(
                    "this worker serves at most {} stream sessions at once (--max-streams) and \
                     {open} are open or opening; retry when one ends",
                    ctx.max_streams
                ),
                None,
            ));
        }
    }
    let agreement = agreement_of(&ctx, obj, workload.as_ref()).await?;
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
        .create(
            requester,
            &hex::encode(pseudonym),
            workload.name(),
            &params,
            agreement.as_ref(),
        )
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

/// For a job another institution asks for (`on_behalf_of`), the agreement it names, checked in
/// the registry now: a job no agreement in force allows is refused here, before anything is
/// stored or requested.
async fn agreement_of(
    ctx: &Ctx,
    obj: &serde_json::Map<String, Value>,
    workload: &dyn crate::Workload,
) -> Result<Option<crate::agreement::AgreementRef>, Problem> {
    let recipient = match obj.get("on_behalf_of") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Problem::bad("on_behalf_of", "an institution id (a number)"))?,
        ),
    };
    let id = match obj.get("agreement") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Problem::bad("agreement", "a data-use agreement id (a number)"))?,
        ),
    };
    let recipient = match recipient {
        Some(r) if r != ctx.chain.institution => r,
        _ => {
            return match id {
                None => Ok(None),
                Some(_) => Err(Problem::bad(
                    "agreement",
                    "only another institution's job runs under a data-use agreement",
                )),
            }
        }
    };
    let id = id.ok_or_else(|| {
        Problem::bad(
            "agreement",
            format!(
                "required: institution {recipient}'s job for institution {}'s patients must \
                 name the data-use agreement it runs under",
                ctx.chain.institution
            ),
        )
    })?;
    let registry = ctx.agreements.as_ref().ok_or_else(|| {
        Problem::bad(
            "agreement",
            "this worker checks no data-use agreements (it was started without \
             --dua-contract), so it runs only its own institution's jobs",
        )
    })?;
    let a = registry.reference(id, recipient);
    match crate::runner::check_agreement(ctx, &a, workload)
        .await
        .map_err(Problem::internal)?
    {
        Ok(()) => Ok(Some(a)),
        Err(why) => Err(Problem::bad("agreement", why)),
    }
}

async fn one(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let job = ctx
        .jobs
        .get(&id)
        .map_err(Problem::internal)?
        .ok_or_else(|| Problem::unknown_job(&id))?;
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
    // The listing is a summary: results are served one job at a time (`GET /jobs/{id}`).
    Ok(Json(json!({
        "jobs": jobs
            .iter()
            .map(|j| {
                let mut v = view(&ctx, j);
                if let Some(o) = v.as_object_mut() {
                    o.remove("result");
                }
                v
            })
            .collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_bearer_credential_is_admitted() {
        let secret = "0123456789abcdef0123456789abcdef";
        let t = ApiToken::new(&format!("{secret}\n")).expect("token");
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().unwrap());
            m
        };
        assert!(t.admits(&h(&format!("Bearer {secret}"))));
        assert!(t.admits(&h(&format!("bearer {secret}"))));
        assert!(!t.admits(&h(&format!("Bearer {secret}x"))));
        assert!(!t.admits(&h(&format!("Basic {secret}"))));
        assert!(!t.admits(&h(secret)));
        assert!(!t.admits(&HeaderMap::new()));
        assert!(ApiToken::new("short").is_err());
        assert!(ApiToken::new(&format!("{secret} {secret}")).is_err());
    }
}
