//! The site's side: an HTTPS client pinned to the aggregator's institution key, and a
//! [`RoundSession`] that drives one [`consentry_secagg::Site`] through the round's stages.
//!
//! The session is split into one call per stage so the worker can act between them (register
//! its key digest on chain after [`RoundSession::advertise`], read the other sites' digests
//! before [`RoundSession::share_keys`]); [`RoundSession::run`] does all of them in order.

use std::sync::Arc;
use std::time::Duration;

use consentry_secagg::{
    decode, encode, AdvertiseKeys, EncryptedShares, Site, SiteConfig, SiteId, UnmaskRequest,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::identity::{InstitutionId, TransportIdentity};
use crate::problem::Problem;
use crate::registry::Registry;
use crate::server::RoundResult;
use crate::tls::{client_config, TlsConfigError};
use crate::verify::{refusal_of, PeerRefusal, RefusalLog};

/// How a site polls the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// How long one long-poll request asks the aggregator to wait (short, so a dead aggregator
    /// is noticed quickly and proxies do not cut the request).
    pub wait_per_request: Duration,
    /// How long one stage may take in total before the site gives up on the round.
    pub stage_timeout: Duration,
    /// Timeout of one HTTP request beyond `wait_per_request` (connect, TLS, transfer).
    pub request_slack: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            wait_per_request: Duration::from_secs(2),
            stage_timeout: Duration::from_secs(120),
            request_slack: Duration::from_secs(30),
        }
    }
}

/// Why a site's call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TLS configuration was refused.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// This side refused the aggregator's certificate.
    #[error("refused the aggregator: {0}")]
    AggregatorRefused(PeerRefusal),
    /// Connection, TLS or HTTP failure (including the aggregator refusing our certificate,
    /// which TLS reports only as an alert).
    #[error("HTTP: {0}")]
    Http(#[source] reqwest::Error),
    /// The aggregator answered with a problem document.
    #[error("aggregator refused ({}): {}", .0.status, .0.detail)]
    Problem(Problem),
    /// An answer did not decode.
    #[error("aggregator answer: {0}")]
    Decode(String),
    /// The secure-aggregation state machine refused (e.g. a relayed key not matching its
    /// registered digest).
    #[error("secure aggregation: {0}")]
    Protocol(#[from] consentry_secagg::Error),
    /// A stage did not close within `stage_timeout`.
    #[error("stage {0} did not close in time")]
    Timeout(&'static str),
}

impl ClientError {
    /// The problem document, if the aggregator sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(p) => Some(p),
            _ => None,
        }
    }
}

fn http_error(e: reqwest::Error) -> ClientError {
    // Surface our own verifier's reason instead of a generic TLS failure. The rustls error is
    // wrapped in io::Errors, whose `source()` skips the error they wrap, so descend with
    // `get_ref` as well.
    fn find(e: &(dyn std::error::Error + 'static)) -> Option<PeerRefusal> {
        if let Some(r) = e.downcast_ref::<rustls::Error>().and_then(refusal_of) {
            return Some(r.clone());
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(r) = find(inner) {
                return Some(r);
            }
        }
        e.source().and_then(find)
    }
    match find(&e) {
        Some(r) => ClientError::AggregatorRefused(r),
        None => ClientError::Http(e),
    }
}

/// An HTTPS client of one aggregator, presenting this institution's certificate.
#[derive(Clone)]
pub struct SiteClient {
    http: reqwest::Client,
    base: String,
    refusals: RefusalLog,
    poll: PollConfig,
}

impl SiteClient {
    /// A client of the aggregator at `base_url` (`https://host:port`), which must present the
    /// active registered key of institution `aggregator`.
    pub fn new(
        identity: &TransportIdentity,
        base_url: &str,
        aggregator: InstitutionId,
        registry: Arc<dyn Registry>,
        poll: PollConfig,
    ) -> Result<Self, ClientError> {
        let refusals = RefusalLog::new();
        let tls = client_config(identity, aggregator, registry, refusals.clone())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .timeout(poll.wait_per_request + poll.request_slack)
            .build()
            .map_err(ClientError::Http)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            refusals,
            poll,
        })
    }

    /// Aggregators this client refused, and why.
    pub fn refusals(&self) -> RefusalLog {
        self.refusals.clone()
    }

    /// A session for one round, with fresh round secrets.
    pub fn session(&self, config: SiteConfig) -> Result<RoundSession, ClientError> {
        let round = config.context.round;
        let site = Site::new(config, &mut rand_core::OsRng)?;
        Ok(RoundSession {
            client: self.clone(),
            site,
            round,
        })
    }

    /// Fetches the model version `digest` the aggregator published, checking that the bytes
    /// hash to it (the digest comes from the contract, not from the aggregator).
    pub async fn fetch_model(&self, digest: &[u8; 32]) -> Result<Vec<u8>, ClientError> {
        use sha2::Digest;
        let resp = self
            .http
            .get(format!("{}/v1/models/{}", self.base, hex::encode(digest)))
            .send()
            .await
            .map_err(http_error)?;
        if !resp.status().is_success() {
            return Err(problem(resp).await);
        }
        let bytes = resp.bytes().await.map_err(http_error)?;
        let got: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        if &got != digest {
            return Err(ClientError::Decode(format!(
                "model bytes hash to {}, not to the digest asked for",
                hex::encode(got)
            )));
        }
        Ok(bytes.to_vec())
    }

    fn url(&self, round: u64, what: &str) -> String {
        format!("{}/v1/rounds/{round}/{what}", self.base)
    }

    /// POSTs a secagg message to `/v1/rounds/{round}/{what}`.
    pub async fn post<T: Serialize>(
        &self,
        round: u64,
        what: &str,
        msg: &T,
    ) -> Result<(), ClientError> {
        let body = encode(msg)?;
        let resp = self
            .http
            .post(self.url(round, what))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(http_error)?;
        if resp.status().is_success() {
            return Ok(());
        }
        Err(problem(resp).await)
    }

    /// Long-polls `GET /v1/rounds/{round}/{what}` until the aggregator has the answer, a
    /// refusal, or `stage_timeout` passes.
    pub async fn poll<T: DeserializeOwned>(
        &self,
        round: u64,
        what: &'static str,
    ) -> Result<T, ClientError> {
        let give_up = Instant::now() + self.poll.stage_timeout;
        loop {
            let resp = self
                .http
                .get(self.url(round, what))
                .query(&[("wait_ms", self.poll.wait_per_request.as_millis() as u64)])
                .send()
                .await
                .map_err(http_error)?;
            match resp.status() {
                StatusCode::OK => {
                    let bytes = resp.bytes().await.map_err(http_error)?;
                    return decode(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
                }
                StatusCode::NO_CONTENT => {
                    if Instant::now() >= give_up {
                        return Err(ClientError::Timeout(what));
                    }
                }
                _ => return Err(problem(resp).await),
            }
        }
    }
}

async fn problem(resp: reqwest::Response) -> ClientError {
    let status = resp.status().as_u16();
    match resp.bytes().await {
        Ok(b) => match serde_json::from_slice::<Problem>(&b) {
            Ok(p) => ClientError::Problem(p),
            Err(_) => ClientError::Problem(Problem {
                kind: "about:blank".into(),
                title: "Unexpected answer".into(),
                status,
                detail: String::from_utf8_lossy(&b).into_owned(),
            }),
        },
        Err(e) => ClientError::Http(e),
    }
}

/// One site's part in one round.
pub struct RoundSession {
    client: SiteClient,
    site: Site,
    round: u64,
}

impl RoundSession {
    /// This site's id.
    pub fn site(&self) -> SiteId {
        self.site.id()
    }

    /// The keys this site advertises; the worker registers their
    /// [`AdvertiseKeys::digest`] on chain, signed by its institution.
    pub fn keys(&self) -> AdvertiseKeys {
        self.site.advertise_keys()
    }

    /// Stage 0: sends the advertised keys.
    pub async fn advertise(&mut self) -> Result<(), ClientError> {
        self.client
            .post(self.round, "keys", &self.site.advertise_keys())
            .await
    }

    /// Waits for the relayed key list (U1).
    pub async fn relayed_keys(&mut self) -> Result<Vec<AdvertiseKeys>, ClientError> {
        self.client.poll(self.round, "keys").await
    }

    /// Stage 1: checks `relayed` against the registered digests (`expected`, e.g. read from the
    /// chain) and sends this site's encrypted shares.
    pub async fn share_keys(
        &mut self,
        relayed: &[AdvertiseKeys],
        expected: impl FnMut(SiteId) -> Option<[u8; 32]>,
    ) -> Result<(), ClientError> {
        let msg = self
            .site
            .share_keys(relayed, expected, &mut rand_core::OsRng)?;
        self.client.post(self.round, "shares", &msg).await
    }

    /// Stage 2: waits for this site's inbox, then sends its masked `input`.
    pub async fn masked_input(&mut self, input: &[u32]) -> Result<(), ClientError> {
        let inbox: Vec<EncryptedShares> = self.client.poll(self.round, "inbox").await?;
        let msg = self.site.masked_input(&inbox, input)?;
        self.client.post(self.round, "masked", &msg).await
    }

    /// Stage 3: waits for the unmask request and answers it (the site refuses requests that
    /// would break the double-mask rule).
    pub async fn unmask(&mut self) -> Result<(), ClientError> {
        let request = self.unmask_request().await?;
        self.answer_unmask(&request).await
    }

    /// Stage 3, first half: waits for the unmask request (to check its survivor set against
    /// the chain's before answering).
    pub async fn unmask_request(&mut self) -> Result<UnmaskRequest, ClientError> {
        self.client.poll(self.round, "unmask").await
    }

    /// Stage 3, second half: answers `request`.
    pub async fn answer_unmask(&mut self, request: &UnmaskRequest) -> Result<(), ClientError> {
        let msg = self.site.unmask(request)?;
        self.client.post(self.round, "unmask", &msg).await
    }

    /// Waits for the round's result.
    pub async fn result(&self) -> Result<RoundResult, ClientError> {
        self.client.poll(self.round, "result").await
    }

    /// The whole round: advertise, share keys (checking relayed keys with `expected`), mask
    /// `input`, unmask, and the result.
    pub async fn run(
        mut self,
        input: &[u32],
        expected: impl FnMut(SiteId) -> Option<[u8; 32]>,
    ) -> Result<RoundResult, ClientError> {
        self.advertise().await?;
        let relayed = self.relayed_keys().await?;
        self.share_keys(&relayed, expected).await?;
        self.masked_input(input).await?;
        self.unmask().await?;
        self.result().await
    }
}
