//! The aggregator's side: a TLS 1.3 listener that admits only pinned, active institutions, and
//! the round's HTTP API over [`consentry_secagg::Aggregator`].
//!
//! Every request carries the institution of its TLS peer, read from the verified client
//! certificate of its connection ([`PeerIdentity`]); handlers take the site id from it and refuse
//! a body that names another site. Message bodies are the secagg wire codec
//! ([`consentry_secagg::encode`], `application/octet-stream`); refusals are RFC 9457 problems.
//!
//! | method, path under `/v1/rounds/{round}` | body / answer | stage |
//! |---|---|---|
//! | `POST /keys` | `AdvertiseKeys` | AdvertiseKeys |
//! | `GET /keys?wait_ms=` | `Vec<AdvertiseKeys>` (U1), once relayed | ShareKeys |
//! | `POST /shares` | `ShareKeys` | ShareKeys |
//! | `GET /inbox?wait_ms=` | `Vec<EncryptedShares>` addressed to the caller | MaskedInput |
//! | `POST /masked` | `MaskedInput` | MaskedInput |
//! | `GET /unmask?wait_ms=` | `UnmaskRequest` | Unmasking |
//! | `POST /unmask` | `UnmaskResponse` | Unmasking |
//! | `GET /result?wait_ms=` | `RoundResult` | Done |
//!
//! and, outside rounds, `GET /v1/models/{sha256 hex}`: a model version the aggregator published
//! (safetensors bytes; the site checks them against the digest the contract cites).
//!
//! `GET`s long-poll: they wait up to `wait_ms` (at most 10 s) for the stage to close and answer
//! `204 No Content` if it has not, so sites poll with short timeouts and no busy loop.
//!
//! A driver task closes each stage when every expected site has sent, or at the stage's
//! deadline: a site that missed it is dropped (and, after ShareKeys, its masks are removed with
//! the survivors' shares as long as at least t remain). Too few sites abort the round.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use consentry_secagg::{
    decode, encode, AdvertiseKeys, Aggregator, AggregatorConfig, EncryptedShares, MaskedInput,
    RoundContext, ShareKeys, SiteId, UnmaskRequest, UnmaskResponse,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::identity::{InstitutionId, TransportIdentity};
use crate::problem::ApiError;
use crate::registry::Registry;
use crate::tls::{server_config, TlsConfigError};
use crate::verify::{check_claim, read_claim, CertClaim, RefusalLog};

/// A TLS handshake that takes longer than this is dropped (slow or stalled peers must not hold
/// sockets open).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a long-poll `GET` waits.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// The verified institution behind a connection, put into every request's extensions by the
/// accept loop. Handlers never take the caller's identity from anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The institution its certificate names (and whose registered key it holds).
    pub institution: InstitutionId,
    /// SHA-256 of the certificate's SPKI, re-checked against the registry on every request.
    pub spki_sha256: [u8; 32],
}

/// How long each stage stays open, from the moment it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Collecting advertised keys.
    pub advertise_keys: Duration,
    /// Collecting encrypted shares.
    pub share_keys: Duration,
    /// Collecting masked inputs.
    pub masked_input: Duration,
    /// Collecting unmask responses.
    pub unmask: Duration,
}

impl Deadlines {
    /// The same deadline for every stage.
    pub fn uniform(each: Duration) -> Self {
        Self {
            advertise_keys: each,
            share_keys: each,
            masked_input: each,
            unmask: each,
        }
    }
}

/// One round as the aggregator runs it (from the consortium contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundConfig {
    /// Study and round number; the round number is the `{round}` of the paths.
    pub context: RoundContext,
    /// Shamir threshold t.
    pub threshold: usize,
    /// Vector length L.
    pub vector_len: usize,
    /// The participating institutions and the secagg site id each plays.
    pub sites: BTreeMap<InstitutionId, SiteId>,
    /// Stage deadlines.
    pub deadlines: Deadlines,
    /// Keep a copy of every masked input as received (for audits and tests: to show what the
    /// aggregator held). The secagg aggregator itself keeps only the running sum.
    pub retain_received_inputs: bool,
}

/// What a completed round produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundResult {
    /// U1: sites whose keys were relayed.
    pub advertised: Vec<SiteId>,
    /// U2: sites that sent encrypted shares.
    pub shared_keys: Vec<SiteId>,
    /// U3: sites whose input is in the sum.
    pub survivors: Vec<SiteId>,
    /// `Σ_{u∈U3} x_u` mod 2^32.
    pub sum: Vec<u32>,
}

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Collecting advertised keys.
    AdvertiseKeys,
    /// Keys relayed; collecting encrypted shares.
    ShareKeys,
    /// Inboxes ready; collecting masked inputs.
    MaskedInput,
    /// Unmask request out; collecting responses.
    Unmasking,
    /// Result available.
    Done,
    /// Aborted.
    Aborted,
}

impl Stage {
    /// Position in the round (Aborted last).
    fn order(self) -> u8 {
        match self {
            Stage::AdvertiseKeys => 0,
            Stage::ShareKeys => 1,
            Stage::MaskedInput => 2,
            Stage::Unmasking => 3,
            Stage::Done => 4,
            Stage::Aborted => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stage::AdvertiseKeys => "AdvertiseKeys",
            Stage::ShareKeys => "ShareKeys",
            Stage::MaskedInput => "MaskedInput",
            Stage::Unmasking => "Unmasking",
            Stage::Done => "Done",
            Stage::Aborted => "Aborted",
        }
    }
}

/// Errors of the server's own API (not of requests).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding or accepting failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS configuration was refused.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// The round configuration was refused by secagg.
    #[error("round configuration: {0}")]
    Config(#[from] consentry_secagg::Error),
    /// Two institutions play the same site id.
    #[error("site id {0} is assigned to more than one institution")]
    DuplicateSiteId(SiteId),
    /// A round is still running.
    #[error("round {0} is still running")]
    RoundRunning(u64),
    /// No round was opened.
    #[error("no round is open")]
    NoRound,
    /// The round aborted.
    #[error("round aborted: {0}")]
    Aborted(String),
}

struct Round {
    config: RoundConfig,
    stage: Stage,
    // Taken out while `finish` runs on a blocking thread.
    agg: Option<Aggregator>,
    relayed: Vec<AdvertiseKeys>,
    inboxes: BTreeMap<SiteId, Vec<EncryptedShares>>,
    request: Option<UnmaskRequest>,
    responded: BTreeSet<SiteId>,
    received: BTreeMap<SiteId, Vec<u32>>,
    outcome: Option<Result<RoundResult, String>>,
}

struct Shared {
    round: Mutex<Option<Round>>,
    // Published model versions by SHA-256 (the global models the contract's rounds cite).
    models: Mutex<BTreeMap<[u8; 32], Bytes>>,
    // Bumped on every change of the round: the driver and long-polls wait on it.
    changed: watch::Sender<u64>,
    registry: Arc<dyn Registry>,
    refusals: RefusalLog,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<Round>> {
        // A handler panicking mid-update would leave the round in an unknown state; the
        // protocol's own checks still hold on whatever is there, so keep serving.
        self.round.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// A running aggregator endpoint.
pub struct AggregatorServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for AggregatorServer {
    fn drop(&mut self) {
        self.accept.abort();
        if let Some(d) = self.driver.lock().unwrap_or_else(|e| e.into_inner()).take() {
            d.abort();
        }
    }
}

impl AggregatorServer {
    /// Binds `addr` (port 0 for any) and starts accepting sites that present an active
    /// registered institution key; the server presents `identity`.
    pub async fn bind(
        addr: SocketAddr,
        identity: &TransportIdentity,
        registry: Arc<dyn Registry>,
    ) -> Result<Self, ServerError> {
        let refusals = RefusalLog::new();
        let tls = server_config(identity, registry.clone(), refusals.clone())?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            round: Mutex::new(None),
            models: Mutex::new(BTreeMap::new()),
            changed: watch::channel(0).0,
            registry,
            refusals,
        });
        let app = router(shared.clone());
        let accept = tokio::spawn(accept_loop(
            listener,
            tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            app,
            shared.clone(),
        ));
        Ok(Self {
            addr,
            shared,
            accept,
            driver: Mutex::new(None),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<addr>`, the base URL sites use.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Peers refused at the TLS layer or per request, and why.
    pub fn refusals(&self) -> RefusalLog {
        self.shared.refusals.clone()
    }

    /// Opens a round and starts its stage driver. Refused while another round is running.
    pub fn open_round(&self, config: RoundConfig) -> Result<(), ServerError> {
        let mut seen = BTreeSet::new();
        for &site in config.sites.values() {
            if !seen.insert(site) {
                return Err(ServerError::DuplicateSiteId(site));
            }
        }
        let agg = Aggregator::new(AggregatorConfig {
            context: config.context.clone(),
            threshold: config.threshold,
            vector_len: config.vector_len,
        })?;
        {
            let mut guard = self.shared.lock();
            if let Some(r) = guard.as_ref() {
                if r.outcome.is_none() {
                    return Err(ServerError::RoundRunning(r.config.context.round));
                }
            }
            *guard = Some(Round {
                config: config.clone(),
                stage: Stage::AdvertiseKeys,
                agg: Some(agg),
                relayed: Vec::new(),
                inboxes: BTreeMap::new(),
                request: None,
                responded: BTreeSet::new(),
                received: BTreeMap::new(),
                outcome: None,
            });
        }
        self.shared.bump();
        let driver = tokio::spawn(drive(self.shared.clone(), config.deadlines));
        if let Some(old) = self
            .driver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(driver)
        {
            old.abort();
        }
        Ok(())
    }

    /// Aborts the current round (e.g. the worker is shutting down, or the contract closed the
    /// round): sites get `410 round-aborted` with `why` from then on.
    pub fn abort_round(&self, why: &str) -> Result<(), ServerError> {
        match self.shared.lock().as_ref() {
            None => return Err(ServerError::NoRound),
            Some(r) if r.outcome.is_some() => return Ok(()),
            Some(_) => {}
        }
        if let Some(d) = self.driver.lock().unwrap_or_else(|e| e.into_inner()).take() {
            d.abort();
        }
        abort(&self.shared, why.to_string());
        Ok(())
    }

    /// Publishes a model version (its bytes) for sites to fetch by its SHA-256, returned.
    pub fn publish_model(&self, bytes: Vec<u8>) -> [u8; 32] {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        self.shared
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest, Bytes::from(bytes));
        digest
    }

    /// Waits until the current round reaches `stage` (or a later one); an aborted round is
    /// an error. The coordinator commits each closed stage's site set on chain from here.
    pub async fn wait_stage(&self, stage: Stage) -> Result<(), ServerError> {
        let mut rx = self.shared.changed.subscribe();
        loop {
            {
                let guard = self.shared.lock();
                let r = guard.as_ref().ok_or(ServerError::NoRound)?;
                if let Some(Err(why)) = &r.outcome {
                    return Err(ServerError::Aborted(why.clone()));
                }
                if r.stage.order() >= stage.order() {
                    return Ok(());
                }
            }
            if rx.changed().await.is_err() {
                return Err(ServerError::NoRound);
            }
        }
    }

    /// U1: the sites whose keys were relayed, once the AdvertiseKeys stage closed.
    pub fn key_set(&self) -> Option<Vec<SiteId>> {
        let guard = self.shared.lock();
        let r = guard.as_ref()?;
        (r.stage.order() > Stage::AdvertiseKeys.order() && r.stage != Stage::Aborted)
            .then(|| r.relayed.iter().map(|k| k.site).collect())
    }

    /// U3: the sites whose masked inputs are in the sum, once the MaskedInput stage closed.
    pub fn input_set(&self) -> Option<Vec<SiteId>> {
        let guard = self.shared.lock();
        let r = guard.as_ref()?;
        r.request.as_ref().map(|q| q.survivors.clone())
    }

    /// The current round's stage.
    pub fn stage(&self) -> Option<Stage> {
        self.shared.lock().as_ref().map(|r| r.stage)
    }

    /// Sites heard from so far in the current stage's set: U1 while collecting keys, U2 while
    /// collecting shares, U3 while collecting masked inputs.
    pub fn sites_heard(&self) -> Vec<SiteId> {
        let guard = self.shared.lock();
        let Some(r) = guard.as_ref() else {
            return Vec::new();
        };
        match (r.stage, r.agg.as_ref()) {
            (Stage::AdvertiseKeys, Some(a)) => a.advertised(),
            (Stage::ShareKeys, Some(a)) => a.share_key_sites(),
            (Stage::MaskedInput, Some(a)) => a.survivors(),
            _ => r.responded.iter().copied().collect(),
        }
    }

    /// The masked inputs as received over the wire, by site (empty unless the round was
    /// opened with `retain_received_inputs`).
    pub fn received_inputs(&self) -> BTreeMap<SiteId, Vec<u32>> {
        self.shared
            .lock()
            .as_ref()
            .map(|r| r.received.clone())
            .unwrap_or_default()
    }

    /// Waits for the current round to complete (or abort).
    pub async fn wait_result(&self) -> Result<RoundResult, ServerError> {
        let mut rx = self.shared.changed.subscribe();
        loop {
            {
                let guard = self.shared.lock();
                match guard.as_ref() {
                    None => return Err(ServerError::NoRound),
                    Some(r) => match &r.outcome {
                        Some(Ok(res)) => return Ok(res.clone()),
                        Some(Err(why)) => return Err(ServerError::Aborted(why.clone())),
                        None => {}
                    },
                }
            }
            if rx.changed().await.is_err() {
                return Err(ServerError::NoRound);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    shared: Arc<Shared>,
) {
    // Connections live in this set so that stopping the server (aborting this task) also
    // closes every open connection, as a crashed aggregator process would.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, remote) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let shared = shared.clone();
        connections.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%remote, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            // The verifier admitted this certificate during the handshake; read the identity
            // it vouched for from the same certificate.
            let claim: CertClaim = match tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(read_claim)
            {
                Some(Ok(claim)) => claim,
                _ => return, // unreachable with a mandatory client-certificate verifier
            };
            let peer = PeerIdentity {
                institution: claim.institution,
                spki_sha256: claim.spki_sha256,
            };
            let service = hyper::service::service_fn(move |mut req| {
                let app = app.clone();
                let shared = shared.clone();
                async move {
                    // Re-check per request: suspension or key rotation during a keep-alive
                    // connection must take effect without waiting for a new handshake.
                    if let Err(refusal) = check_claim(&*shared.registry, &claim) {
                        shared.refusals.record(&refusal);
                        return Ok::<_, Infallible>(
                            ApiError::PeerRefused(refusal.to_string()).into_response(),
                        );
                    }
                    req.extensions_mut().insert(peer);
                    app.oneshot(req).await
                }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Waits until `done(round)` holds or `deadline` passes.
async fn wait_stage(
    shared: &Shared,
    rx: &mut watch::Receiver<u64>,
    deadline: Instant,
    done: impl Fn(&Round) -> bool,
) {
    loop {
        if shared.lock().as_ref().is_some_and(&done) {
            return;
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            _ => return,
        }
    }
}

fn abort(shared: &Shared, why: String) {
    if let Some(r) = shared.lock().as_mut() {
        tracing::warn!(round = r.config.context.round, %why, "round aborted");
        r.stage = Stage::Aborted;
        r.outcome = Some(Err(why));
    }
    shared.bump();
}

fn agg(r: &Round) -> &Aggregator {
    r.agg.as_ref().expect("aggregator present outside finish")
}

/// Runs the round's stages against their deadlines.
async fn drive(shared: Arc<Shared>, d: Deadlines) {
    let mut rx = shared.changed.subscribe();

    // Stage 0: until every configured site advertised, or the deadline.
    wait_stage(&shared, &mut rx, Instant::now() + d.advertise_keys, |r| {
        agg(r).advertised().len() == r.config.sites.len()
    })
    .await;
    let closed = {
        let mut g = shared.lock();
        let r = g.as_mut().expect("round open");
        r.agg.as_mut().expect("present").relay_keys().map(|keys| {
            r.relayed = keys;
            r.stage = Stage::ShareKeys;
        })
    };
    if let Err(e) = closed {
        return abort(&shared, format!("closing AdvertiseKeys: {e}"));
    }
    shared.bump();

    // Stage 1: until every site of U1 sent shares, or the deadline.
    wait_stage(&shared, &mut rx, Instant::now() + d.share_keys, |r| {
        agg(r).share_key_sites().len() == r.relayed.len()
    })
    .await;
    let closed = {
        let mut g = shared.lock();
        let r = g.as_mut().expect("round open");
        r.agg
            .as_mut()
            .expect("present")
            .close_share_keys()
            .map(|inboxes| {
                r.inboxes = inboxes;
                r.stage = Stage::MaskedInput;
            })
    };
    if let Err(e) = closed {
        return abort(&shared, format!("closing ShareKeys: {e}"));
    }
    shared.bump();

    // Stage 2: until every site of U2 sent its masked input, or the deadline.
    wait_stage(&shared, &mut rx, Instant::now() + d.masked_input, |r| {
        agg(r).survivors().len() == r.inboxes.len()
    })
    .await;
    let closed = {
        let mut g = shared.lock();
        let r = g.as_mut().expect("round open");
        r.agg
            .as_mut()
            .expect("present")
            .unmask_request()
            .map(|req| {
                r.request = Some(req);
                r.stage = Stage::Unmasking;
            })
    };
    if let Err(e) = closed {
        return abort(&shared, format!("closing MaskedInput: {e}"));
    }
    shared.bump();

    // Stage 3: until every survivor answered, or the deadline; t answers suffice.
    wait_stage(&shared, &mut rx, Instant::now() + d.unmask, |r| {
        r.request
            .as_ref()
            .is_some_and(|q| r.responded.len() == q.survivors.len())
    })
    .await;
    let (aggregator, advertised, shared_keys, survivors) = {
        let mut g = shared.lock();
        let r = g.as_mut().expect("round open");
        let a = r.agg.take().expect("present");
        let sets = (a.advertised(), a.share_key_sites(), a.survivors());
        (a, sets.0, sets.1, sets.2)
    };
    // Reconstruction and PRG expansion are CPU-bound: keep them off the async workers.
    let finished = tokio::task::spawn_blocking(move || {
        let mut aggregator = aggregator;
        aggregator.finish()
    })
    .await;
    match finished {
        Ok(Ok(sum)) => {
            if let Some(r) = shared.lock().as_mut() {
                r.stage = Stage::Done;
                r.outcome = Some(Ok(RoundResult {
                    advertised,
                    shared_keys,
                    survivors,
                    sum,
                }));
            }
            shared.bump();
        }
        Ok(Err(e)) => abort(&shared, format!("unmasking: {e}")),
        Err(e) => abort(&shared, format!("unmasking task: {e}")),
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/rounds/:round/keys", get(get_keys).post(post_keys))
        .route("/v1/rounds/:round/shares", axum::routing::post(post_shares))
        .route("/v1/rounds/:round/inbox", get(get_inbox))
        .route("/v1/rounds/:round/masked", axum::routing::post(post_masked))
        .route(
            "/v1/rounds/:round/unmask",
            get(get_unmask).post(post_unmask),
        )
        .route("/v1/rounds/:round/result", get(get_result))
        .route("/v1/models/:digest", get(get_model))
        .fallback(|| async { ApiError::BadRequest("no such endpoint".into()) })
        // Masked vectors are 4·L bytes; a 10^7-parameter model fits.
        .layer(DefaultBodyLimit::max(64 << 20))
        // Rejections axum writes itself (413, 405, bad query) become problem documents too.
        .layer(axum::middleware::map_response(problem_for_plain_errors))
        .with_state(shared)
}

async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let problem = crate::problem::Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: String::from_utf8_lossy(&body).into_owned(),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&problem).unwrap_or_default(),
    )
        .into_response()
}

async fn get_model(
    State(shared): State<Arc<Shared>>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(&digest, &mut key)
        .map_err(|_| ApiError::BadRequest(format!("{digest:?} is not a SHA-256 digest in hex")))?;
    let models = shared.models.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = models
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::UnknownModel(format!("no model {digest} was published here")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Deserialize)]
struct Wait {
    wait_ms: Option<u64>,
}

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

fn decode_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    decode(body).map_err(|e| ApiError::BadRequest(format!("body is not a {what}: {e}")))
}

/// The round `round` and the site id of `peer` in it, under the lock.
fn site_in<'a>(
    guard: &'a mut MutexGuard<'_, Option<Round>>,
    round: &str,
    peer: PeerIdentity,
) -> Result<(&'a mut Round, SiteId), ApiError> {
    let number: u64 = round
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("round {round:?} is not a number")))?;
    let r = guard
        .as_mut()
        .filter(|r| r.config.context.round == number)
        .ok_or_else(|| ApiError::NoSuchRound(format!("round {number} is not open here")))?;
    let site = *r.config.sites.get(&peer.institution).ok_or_else(|| {
        ApiError::NotAParticipant(format!(
            "institution {} is not a participant of round {number}",
            peer.institution
        ))
    })?;
    Ok((r, site))
}

fn same_site(body_site: SiteId, site: SiteId, peer: PeerIdentity) -> Result<(), ApiError> {
    if body_site != site {
        return Err(ApiError::SiteMismatch(format!(
            "the body names site {body_site}, but the TLS peer is institution {} (site {site})",
            peer.institution
        )));
    }
    Ok(())
}

fn expect_stage(r: &Round, stage: Stage) -> Result<(), ApiError> {
    if r.stage == stage {
        return Ok(());
    }
    if let Some(Err(why)) = &r.outcome {
        return Err(ApiError::Aborted(why.clone()));
    }
    Err(ApiError::WrongStage(format!(
        "this message belongs to stage {}, the round is in {}",
        stage.name(),
        r.stage.name()
    )))
}

fn protocol(e: consentry_secagg::Error) -> ApiError {
    ApiError::Protocol(e.to_string())
}

async fn post_keys(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let msg: AdvertiseKeys = decode_body(&body, "AdvertiseKeys")?;
    {
        let mut g = shared.lock();
        let (r, site) = site_in(&mut g, &round, peer)?;
        same_site(msg.site, site, peer)?;
        expect_stage(r, Stage::AdvertiseKeys)?;
        r.agg
            .as_mut()
            .expect("present")
            .receive_keys(msg)
            .map_err(protocol)?;
    }
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

async fn post_shares(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let msg: ShareKeys = decode_body(&body, "ShareKeys")?;
    {
        let mut g = shared.lock();
        let (r, site) = site_in(&mut g, &round, peer)?;
        same_site(msg.sender, site, peer)?;
        expect_stage(r, Stage::ShareKeys)?;
        r.agg
            .as_mut()
            .expect("present")
            .receive_shares(msg)
            .map_err(protocol)?;
    }
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

async fn post_masked(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let msg: MaskedInput = decode_body(&body, "MaskedInput")?;
    {
        let mut g = shared.lock();
        let (r, site) = site_in(&mut g, &round, peer)?;
        same_site(msg.sender, site, peer)?;
        expect_stage(r, Stage::MaskedInput)?;
        let copy = r.config.retain_received_inputs.then(|| msg.masked.clone());
        r.agg
            .as_mut()
            .expect("present")
            .receive_masked(msg)
            .map_err(protocol)?;
        if let Some(copy) = copy {
            r.received.insert(site, copy);
        }
    }
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

async fn post_unmask(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let msg: UnmaskResponse = decode_body(&body, "UnmaskResponse")?;
    {
        let mut g = shared.lock();
        let (r, site) = site_in(&mut g, &round, peer)?;
        same_site(msg.sender, site, peer)?;
        expect_stage(r, Stage::Unmasking)?;
        r.agg
            .as_mut()
            .expect("present")
            .receive_unmask(msg)
            .map_err(protocol)?;
        r.responded.insert(site);
    }
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

/// What a long-poll found: the answer, or "not yet".
enum Poll {
    Ready(Vec<u8>),
    NotYet,
}

/// Long-poll: evaluates `look` now and after every change until it is ready or `wait_ms`
/// (capped) passes.
async fn long_poll(
    shared: Arc<Shared>,
    peer: PeerIdentity,
    round: String,
    wait: Wait,
    look: impl Fn(&Round, SiteId) -> Result<Poll, ApiError>,
) -> Result<Response, ApiError> {
    let wait = Duration::from_millis(wait.wait_ms.unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let mut rx = shared.changed.subscribe();
    loop {
        {
            let mut g = shared.lock();
            let (r, site) = site_in(&mut g, &round, peer)?;
            if let Poll::Ready(bytes) = look(r, site)? {
                return Ok(octets(bytes));
            }
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            _ => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    }
}

fn aborted(r: &Round) -> Result<(), ApiError> {
    match &r.outcome {
        Some(Err(why)) => Err(ApiError::Aborted(why.clone())),
        _ => Ok(()),
    }
}

fn encoded<T: Serialize>(msg: &T) -> Result<Poll, ApiError> {
    encode(msg)
        .map(Poll::Ready)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

async fn get_keys(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    Query(wait): Query<Wait>,
) -> Result<Response, ApiError> {
    long_poll(shared, peer, round, wait, |r, site| {
        aborted(r)?;
        if r.stage == Stage::AdvertiseKeys {
            return Ok(Poll::NotYet);
        }
        if !r.relayed.iter().any(|k| k.site == site) {
            return Err(ApiError::Dropped(format!(
                "site {site} did not advertise keys before the deadline"
            )));
        }
        encoded(&r.relayed)
    })
    .await
}

async fn get_inbox(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    Query(wait): Query<Wait>,
) -> Result<Response, ApiError> {
    long_poll(shared, peer, round, wait, |r, site| {
        aborted(r)?;
        if matches!(r.stage, Stage::AdvertiseKeys | Stage::ShareKeys) {
            return Ok(Poll::NotYet);
        }
        // Only the caller's own inbox: ciphertexts for others are none of its business.
        match r.inboxes.get(&site) {
            Some(inbox) => encoded(inbox),
            None => Err(ApiError::Dropped(format!(
                "site {site} did not send shares before the deadline"
            ))),
        }
    })
    .await
}

async fn get_unmask(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    Query(wait): Query<Wait>,
) -> Result<Response, ApiError> {
    long_poll(shared, peer, round, wait, |r, site| {
        aborted(r)?;
        let Some(req) = &r.request else {
            return Ok(Poll::NotYet);
        };
        if !req.survivors.contains(&site) {
            return Err(ApiError::Dropped(format!(
                "site {site} did not send its masked input before the deadline"
            )));
        }
        encoded(req)
    })
    .await
}

async fn get_result(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(round): Path<String>,
    Query(wait): Query<Wait>,
) -> Result<Response, ApiError> {
    long_poll(shared, peer, round, wait, |r, _| match &r.outcome {
        Some(Ok(result)) => encoded(result),
        Some(Err(why)) => Err(ApiError::Aborted(why.clone())),
        None => Ok(Poll::NotYet),
    })
    .await
}
