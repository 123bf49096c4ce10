//! # consentry-worker
//!
//! The daemon each institution runs beside its validator, and the only component that opens
//! patient data — and only after the chain granted the access in a finalized block.
//!
//! - [`jobs`]: the durable job queue (`jobs.sqlite`) and the job digest the ledger cites.
//! - [`chain`]: the signer task (one key, one nonce counter), submission and finalized reads.
//! - [`runner`]: the per-job state machine and crash recovery.
//! - [`workload`]: the [`Workload`] trait, `simulation`, `inference` and `twin`.
//! - [`http`]: `POST /jobs`, `GET /jobs/{id}`, `GET /jobs`.
//!
//! [`run`] wires them together for the `consentry-worker` binary.

pub mod chain;
pub mod http;
pub mod jobs;
pub mod runner;
pub mod workload;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use consentry_client::subxt_signer::{sr25519::Keypair, SecretUri};
use tokio::sync::Semaphore;

pub use jobs::{Job, JobState, JobStore};
pub use runner::Ctx;
pub use workload::{ParamError, Registry, Workload};

/// Command-line arguments of `consentry-worker`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "consentry-worker", version, about)]
pub struct Args {
    /// The node's WebSocket RPC endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    /// The institution's patient data store (SQLite, from `consentry ingest`).
    #[arg(long)]
    pub store: PathBuf,
    /// The job queue (SQLite; created if missing).
    #[arg(long, default_value = "jobs.sqlite")]
    pub jobs: PathBuf,
    /// Where the HTTP API listens (keep it on loopback; the public API proxies to it).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The institution's service key as a secret URI (`//Bob` on the dev chain).
    #[arg(long, env = "CONSENTRY_WORKER_KEY_URI")]
    pub key_uri: String,
    /// A model bundle directory from `consentry train`, enabling the `inference` workload.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Jobs driven concurrently.
    #[arg(long, default_value_t = 16)]
    pub max_in_flight: usize,
    /// Test hook: sleep this many ms after a finalized grant, before reading data, so a test can
    /// kill the worker between grant and completion. Never set in production.
    #[arg(long, hide = true)]
    pub pause_after_grant_ms: Option<u64>,
    /// Test hook: sleep this many ms after storing and submitting a new access request, before
    /// following it, so a test can kill the worker with the request in flight.
    #[arg(long, hide = true)]
    pub pause_after_request_submit_ms: Option<u64>,
    /// Test hook: the same after storing and submitting a new `complete_access`.
    #[arg(long, hide = true)]
    pub pause_after_complete_submit_ms: Option<u64>,
}

/// Runs the worker until the process is stopped.
pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.max_in_flight >= 1,
        "--max-in-flight must be at least 1"
    );
    let uri = SecretUri::from_str(&args.key_uri)
        .map_err(|e| anyhow::anyhow!("--key-uri: not a secret URI: {e}"))?;
    let key = Keypair::from_uri(&uri).map_err(|e| anyhow::anyhow!("--key-uri: {e}"))?;
    let registry = Registry::standard(args.model.as_deref())?;
    let store = consentry_datastore::Store::open(&args.store)
        .with_context(|| format!("--store {}", args.store.display()))?;
    let jobs =
        JobStore::open(&args.jobs).with_context(|| format!("--jobs {}", args.jobs.display()))?;
    let chain = chain::Chain::connect(&args.node, key).await?;
    tracing::info!(
        institution = chain.institution,
        account = %chain.account,
        workloads = ?registry.names(),
        "connected to {}",
        args.node
    );
    let ctx = Arc::new(Ctx {
        chain,
        jobs,
        store: Arc::new(Mutex::new(store)),
        registry,
        in_flight: Arc::new(Semaphore::new(args.max_in_flight)),
        pause_after_grant: args.pause_after_grant_ms.map(Duration::from_millis),
        pause_after_request_submit: args
            .pause_after_request_submit_ms
            .map(Duration::from_millis),
        pause_after_complete_submit: args
            .pause_after_complete_submit_ms
            .map(Duration::from_millis),
        timings: Mutex::new(Default::default()),
    });
    let resumed = runner::resume_all(&ctx)?;
    if resumed > 0 {
        tracing::info!("resuming {resumed} unfinished job(s)");
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("--listen {}", args.listen))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, http::router(ctx)).await?;
    Ok(())
}
