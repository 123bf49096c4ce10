//! Per-client limits: a request rate (GCRA, from the `governor` crate, keyed by the peer's IP) and
//! a number of requests in flight, each refused with a 429 problem document and `Retry-After`.
//! The session tables are bounded separately (`auth`); these keep one client from taking the
//! service from the others.

use crate::error::problem;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use governor::{
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Mutex},
};
use tokio::sync::Semaphore;

/// The limits' settings (`consentry-api --help`).
#[derive(clap::Args, Clone, Debug)]
pub struct Limits {
    /// Requests per second each client (IP address) may make on average; 0 turns the limit off.
    #[arg(long, env = "CONSENTRY_API_RATE", default_value_t = 50)]
    pub rate_per_second: u32,
    /// How many requests a client may make at once above its rate.
    #[arg(long, env = "CONSENTRY_API_BURST", default_value_t = 200)]
    pub rate_burst: u32,
    /// Requests one client may have in flight; 0 turns the limit off.
    #[arg(long, env = "CONSENTRY_API_CONCURRENCY", default_value_t = 32)]
    pub max_in_flight_per_client: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate_per_second: 50,
            rate_burst: 200,
            max_in_flight_per_client: 32,
        }
    }
}

type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;
/// Each client's permits for requests in flight.
type InFlight = Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>;

/// The limiter shared by every request.
#[derive(Clone)]
pub struct Limiter {
    rate: Option<Arc<Keyed>>,
    in_flight: Option<(usize, InFlight)>,
}

impl Limiter {
    /// A limiter with `limits`.
    pub fn new(limits: &Limits) -> Limiter {
        let rate = NonZeroU32::new(limits.rate_per_second).map(|per_second| {
            let burst = NonZeroU32::new(limits.rate_burst.max(1)).expect("at least one");
            Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ))
        });
        let in_flight = (limits.max_in_flight_per_client > 0)
            .then(|| (limits.max_in_flight_per_client as usize, Arc::default()));
        Limiter { rate, in_flight }
    }
}

fn too_many(detail: String, retry_after_secs: u64) -> Response {
    let mut resp = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        detail,
    );
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    resp
}

/// The middleware: checks the caller's rate, then holds one of its in-flight permits for the
/// request's life. Requests without a peer address (in-process callers) are not limited.
pub async fn enforce(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let Some(ip) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    if let Some(rate) = &limiter.rate {
        // Forget idle clients now and then, so the table tracks who is active.
        if rate.len() > 10_000 {
            rate.retain_recent();
        }
        if let Err(not_until) = rate.check_key(&ip) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return too_many(
                format!("more than the allowed request rate from {ip}; retry in {wait:?}"),
                wait.as_secs_f64().ceil() as u64,
            );
        }
    }
    let Some((max, table)) = &limiter.in_flight else {
        return next.run(req).await;
    };
    let semaphore = table
        .lock()
        .expect("lock")
        .entry(ip)
        .or_insert_with(|| Arc::new(Semaphore::new(*max)))
        .clone();
    let Ok(permit) = semaphore.clone().try_acquire_owned() else {
        return too_many(
            format!("more than {max} requests in flight from {ip}; wait for one to finish"),
            1,
        );
    };
    let resp = next.run(req).await;
    drop(permit);
    // The last request of a client removes its entry (the table holds one clone, we hold one).
    let mut guard = table.lock().expect("lock");
    if Arc::strong_count(&semaphore) == 2 && semaphore.available_permits() == *max {
        guard.remove(&ip);
    }
    resp
}
