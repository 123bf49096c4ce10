//! A stream session's routes, forwarded to the institution's worker (`consentry-worker`'s
//! `stream` workload; the session itself is opened with `POST /v1/jobs`, workload `stream`):
//! samples in, the twin's state out, and the state pushed as server-sent events. Only the
//! worker's own institution's sessions may stream: a patient's live vital signs are direct care,
//! never another institution's job.

use std::time::Duration;

use crate::{
    auth::Session,
    error::{
        extract::{Json, Path, Query},
        ApiError, Problem,
    },
    routes::jobs::{check_id, own_link, relay},
    AppState,
};
use serde::Deserialize;
use utoipa::IntoParams;

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

/// How long one event subscription may last (the worker ends it when the session ends).
const EVENTS_FOR: Duration = Duration::from_secs(24 * 3600);

/// Sends `request` (built from the API's client and the job's URL on the worker) for an
/// own-institution session of job `id`, and answers the worker's reply in this API's terms.
async fn forward(
    state: &AppState,
    session: &Session,
    id: &str,
    request: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
) -> Result<Response, ApiError> {
    check_id(id)?;
    let link = own_link(state, session)?;
    let r = request(&state.http, &format!("{}/jobs/{id}", link.url))
        .bearer_auth(&link.token)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    relay(r).await
}

/// Sends a stream session's wearable samples (a JSON array of 1 to 1,000 samples, the
/// protocol of the worker's README) and answers a verdict per sample and the updated state.
#[utoipa::path(post, path = "/v1/jobs/{id}/samples", tag = "jobs",
    params(("id" = String, Path, description = "The stream job's id",
        pattern = "^[A-Za-z0-9-]{1,64}$")),
    request_body(content = Vec<Object>, description = "Samples: `{seq, patient, t_ms, kind, \
        value | systolic + diastolic, unit}`"),
    security(("bearer" = [])),
    responses((status = 200, description = "A verdict per sample and the updated twin state",
            body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The session is not open", body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn samples(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(samples): Json<Vec<serde_json::Value>>,
) -> Result<Response, ApiError> {
    forward(&state, &session, &id, |http, url| {
        http.post(format!("{url}/samples")).json(&samples)
    })
    .await
}

/// The samples' format.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SamplesQuery {
    /// `json` (default: the samples as accepted, with their Merkle root) or `fhir` (a FHIR R4
    /// `Bundle` of `Observation`s).
    #[param(schema_with = crate::openapi::consent_format_schema)]
    pub format: Option<String>,
    /// Only the samples after the first `from` accepted ones (a chart that has drawn them asks
    /// for the rest); the answer then has no `merkle_root`, which is over all of them.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub from: Option<u64>,
}

/// A stream session's accepted samples, in the order accepted: exactly the leaves its Merkle
/// root is over (the root the record is closed with), or as FHIR `Observation`s. Readable while
/// the session runs and after it ended, so a chart can show the whole series; `from` pages it.
#[utoipa::path(get, path = "/v1/jobs/{id}/samples", tag = "jobs",
    params(("id" = String, Path, description = "The stream job's id",
        pattern = "^[A-Za-z0-9-]{1,64}$"), SamplesQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "`{job, samples, merkle_root}`, or a FHIR Bundle",
            body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn sample_list(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<SamplesQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "fhir") {
        return Err(ApiError::field("format", "expected json or fhir"));
    }
    let from = q.from.unwrap_or(0).to_string();
    forward(&state, &session, &id, |http, url| {
        http.get(format!("{url}/samples"))
            .query(&[("format", format), ("from", &from)])
    })
    .await
}

/// A stream session's twin now: the latest vital signs, the NEWS2 partial score, the
/// predictor's risk (with a model) and the alerts.
#[utoipa::path(get, path = "/v1/jobs/{id}/twin", tag = "jobs",
    params(("id" = String, Path, description = "The stream job's id",
        pattern = "^[A-Za-z0-9-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 200, description = "The twin state", body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The session is not open", body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn twin(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    forward(&state, &session, &id, |http, url| {
        http.get(format!("{url}/twin"))
    })
    .await
}

/// Every new twin state as server-sent events (`event: twin`, `id:` the number of samples
/// accepted), then `event: closed` with the final state when the session ends.
#[utoipa::path(get, path = "/v1/jobs/{id}/twin/events", tag = "jobs",
    params(("id" = String, Path, description = "The stream job's id",
        pattern = "^[A-Za-z0-9-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream",
            body = String),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The session is not open", body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn events(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let link = own_link(&state, &session)?;
    let r = state
        .http
        .get(format!("{}/jobs/{id}/twin/events", link.url))
        .bearer_auth(&link.token)
        // The client's timeout covers a whole body; this one lasts as long as the session.
        .timeout(EVENTS_FOR)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("worker: {e}")))?;
    if !r.status().is_success() {
        return relay(r).await;
    }
    let body = futures_util::stream::unfold(r, |mut r| async move {
        match r.chunk().await {
            Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), r)),
            _ => None,
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Ends a stream session: its access record is closed `Completed`, citing the Merkle root of the
/// samples accepted (follow `GET /v1/jobs/{id}`).
#[utoipa::path(post, path = "/v1/jobs/{id}/close", tag = "jobs",
    params(("id" = String, Path, description = "The stream job's id",
        pattern = "^[A-Za-z0-9-]{1,64}$")),
    security(("bearer" = [])),
    responses((status = 202, description = "Closing", body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The session is not open", body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    forward(&state, &session, &id, |http, url| {
        http.post(format!("{url}/close"))
    })
    .await
}
