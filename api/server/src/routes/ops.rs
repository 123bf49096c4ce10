//! Sessions, health, readiness, metrics and the OpenAPI document.

use crate::{
    auth::{self, Challenge, SessionGranted},
    error::{extract::Json, problem, ApiError, Problem},
    AppState,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use consentry_api_requests::{Body, ChallengeRequest, SessionRequest};
use serde::Serialize;
use utoipa::ToSchema;

/// The indexer may trail the finalized head by this many blocks and still be ready.
const READY_LAG: u64 = 10;

/// Issues a sign-in message for an account to sign. Only accounts the chain knows (service keys
/// of active institutions, claimed patients) get one.
#[utoipa::path(post, path = "/v1/auth/challenge", tag = "auth",
    request_body = ChallengeRequest,
    responses((status = 200, body = Challenge), (status = 400, body = Problem),
        (status = 403, body = Problem)))]
pub async fn challenge(
    State(state): State<AppState>,
    Json(req): Json<ChallengeRequest>,
) -> Result<axum::Json<Challenge>, ApiError> {
    let account = auth::client_account(req.parse()?);
    auth::identity_of(&state, &account).await?;
    Ok(axum::Json(state.sessions.challenge(account)?))
}

/// Exchanges a signed challenge for a session whose identity the chain gives the account.
#[utoipa::path(post, path = "/v1/auth/session", tag = "auth",
    request_body = SessionRequest,
    responses((status = 200, body = SessionGranted), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn session(
    State(state): State<AppState>,
    Json(req): Json<SessionRequest>,
) -> Result<axum::Json<SessionGranted>, ApiError> {
    let account = state.sessions.redeem(&req)?;
    let identity = auth::identity_of(&state, &account).await?;
    Ok(axum::Json(state.sessions.open(account, identity)))
}

/// Ends the caller's session: its token is refused from now on.
#[utoipa::path(delete, path = "/v1/auth/session", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = Problem)))]
pub async fn sign_out(State(state): State<AppState>, session: auth::Session) -> StatusCode {
    state.sessions.close(&session.token);
    StatusCode::NO_CONTENT
}

/// Liveness.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness detail.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// The node's finalized block number.
    pub finalized: u64,
    /// The last block the indexer stored, if any.
    pub indexed: Option<u64>,
}

/// Readiness: the node answers and the indexer is within a few blocks of its finalized head.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Problem)))]
pub async fn ready(State(state): State<AppState>) -> Result<axum::Json<Readiness>, ApiError> {
    let hash = state
        .rpc
        .chain_get_finalized_head()
        .await
        .map_err(ApiError::node)?;
    let header = state
        .rpc
        .chain_get_header(Some(hash))
        .await
        .map_err(ApiError::node)?
        .ok_or_else(|| ApiError::node("finalized header missing"))?;
    let finalized = u64::from(header.number);
    let indexed = state
        .store
        .indexed_head()
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?
        .map(|(n, _)| u64::from(n));
    if let Some(n) = indexed {
        state.metrics.indexed_block.set(n as i64);
    }
    if indexed.unwrap_or(0) + READY_LAG < finalized {
        return Err(ApiError::Unavailable(format!(
            "indexer at block {indexed:?}, finalized head {finalized}: catching up"
        )));
    }
    Ok(axum::Json(Readiness { finalized, indexed }))
}

/// Prometheus metrics, text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI 3 document, generated from the handlers and types.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, body = Object, description = "The OpenAPI 3 document")))]
pub async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(crate::openapi::document())
}

/// Unknown paths.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("no endpoint at {}; see /openapi.json", uri.path()),
    )
}

/// Known paths, wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!(
            "{method} is not allowed on {}; see /openapi.json",
            uri.path()
        ),
    )
}
