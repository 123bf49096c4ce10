//! # Consentry API
//!
//! The HTTP service patients' wallets, institutions and auditors use. It reads the ledger's
//! history from the indexer's SQL store (`consentry-indexer`, fed only by finalized blocks) and
//! reads the chain itself, through the shared client, for anything that must be current or
//! provable: identities for sessions, consent decisions, storage proofs. It holds no key and
//! signs nothing: the relay endpoint only forwards extrinsics wallets signed themselves.
//!
//! Handlers are thin: they check the session's role, call the store or the chain, and return
//! JSON; every failure is an [`error::ApiError`] rendered as `application/problem+json`.

pub mod auth;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod rpc_proxy;
pub mod tls;
pub mod web;

use axum::{
    error_handling::HandleErrorLayer,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use consentry_client::{Client, Rpc};
use consentry_indexer::Store;
use std::{sync::Arc, time::Duration};
use tower::ServiceBuilder;

/// Largest accepted request body: the biggest legitimate one is a relayed batch extrinsic.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// No request may take longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The typed chain client.
    pub client: Client,
    /// Raw node RPC (finalized heads, read proofs, extrinsic submission).
    pub rpc: Rpc,
    /// The indexer's store.
    pub store: Store,
    /// Challenges and sessions.
    pub sessions: Arc<auth::Sessions>,
    /// Prometheus registry and the API's own metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// The institution's worker, when this API fronts one.
    pub worker: Option<routes::jobs::WorkerLink>,
    /// HTTP client for the worker.
    pub http: reqwest::Client,
}

impl AppState {
    /// Connects to the node at `node_url` and wraps `store`; `origin` is this API's origin as
    /// its users reach it (`https://api.example`), which sign-in messages name.
    pub async fn connect(node_url: &str, store: Store, origin: String) -> anyhow::Result<AppState> {
        let (client, rpc) = consentry_client::connect_with_rpc(node_url).await?;
        let genesis = client.genesis_hash().0;
        Ok(AppState {
            client,
            rpc,
            store,
            sessions: Arc::new(auth::Sessions::new(origin, genesis)),
            metrics: Arc::new(metrics::Metrics::new()?),
            worker: None,
            http: reqwest::Client::builder()
                .use_rustls_tls()
                .min_tls_version(reqwest::tls::Version::TLS_1_3)
                .timeout(REQUEST_TIMEOUT)
                .build()?,
        })
    }
}

/// The whole HTTP surface, with per-client `limits`.
pub fn router(state: AppState, limits: &limits::Limits) -> Router {
    router_with(state, limits, None, None)
}

/// The HTTP surface with, optionally, the browser app (`web`) and the allowlisted JSON-RPC proxy
/// it reads the chain through (`rpc`); every response carries [`web::security_headers`].
pub fn router_with(
    state: AppState,
    limits: &limits::Limits,
    web: Option<web::Web>,
    rpc: Option<rpc_proxy::RpcProxy>,
) -> Router {
    use routes::{chain, jobs, ledger, ops, streams};
    let v1 = Router::new()
        .route("/auth/challenge", post(ops::challenge))
        .route("/auth/session", post(ops::session).delete(ops::sign_out))
        .route("/access", get(ledger::access_list))
        .route("/access/:id", get(ledger::access_one))
        .route("/access/:id/proof", get(chain::proof))
        .route("/consents", get(ledger::consents))
        .route("/summary", get(ledger::summary))
        .route("/export/access", get(ledger::export_access))
        .route("/export/consents", get(ledger::export_consents))
        .route("/decision", post(chain::decision))
        .route("/relay", post(chain::relay))
        .route("/jobs", post(jobs::submit))
        .route("/jobs/:id", get(jobs::get))
        .route(
            "/jobs/:id/samples",
            post(streams::samples).get(streams::sample_list),
        )
        .route("/jobs/:id/twin", get(streams::twin))
        .route("/jobs/:id/twin/events", get(streams::events))
        .route("/jobs/:id/close", post(streams::close));
    let mut app = Router::new()
        .nest("/v1", v1)
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi));
    let csp = axum::http::HeaderValue::from_str(
        &web.as_ref()
            .map_or_else(|| web::CSP.to_string(), web::Web::csp),
    )
    .expect("the policy is ASCII");
    if let Some(web) = web {
        app = app.merge(web.routes());
    }
    if let Some(rpc) = rpc {
        app = app.merge(rpc_proxy::route(rpc));
    }
    app.fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            limits::Limiter::new(limits),
            limits::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(tower_http::trace::TraceLayer::new_for_http())
                .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        error::problem(
                            StatusCode::GATEWAY_TIMEOUT,
                            "timeout",
                            "Request timed out",
                            format!("the request took longer than {REQUEST_TIMEOUT:?}"),
                        )
                    } else {
                        error::ApiError::internal(e).into_response()
                    }
                }))
                .timeout(REQUEST_TIMEOUT),
        )
        // Enforced by the extractors, so an oversized body is rejected with a problem document.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            csp,
            web::security_headers,
        ))
        .with_state(state)
}
