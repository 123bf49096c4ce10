//! Prometheus metrics: request counts and latencies per route and status, and the indexer's
//! progress, served at `/metrics` in the text exposition format.

use crate::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use std::time::Instant;

/// The API's metrics and the registry that exposes them.
pub struct Metrics {
    /// Everything exported.
    pub registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// The last finalized block the indexer stored.
    pub indexed_block: IntGauge,
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("consentry_api".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_seconds", "HTTP request latency by route"),
            &["method", "route"],
        )?;
        let indexed_block = IntGauge::new("indexed_block", "Last finalized block indexed")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(indexed_block.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            indexed_block,
        })
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let encoder = prometheus::TextEncoder::new();
        // Encoding into a String only fails on a malformed metric, which registration prevents.
        let _ = encoder.encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}

/// Middleware: counts and times every request under its route template (never the raw path, so
/// ids in paths cannot blow up the label space).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .with_label_values(&[&method, &route])
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    response
}
