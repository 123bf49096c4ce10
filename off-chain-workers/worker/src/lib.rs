//! # consentry-worker
//!
//! The daemon each institution runs beside its validator, and the only component that opens
//! patient data — and only after the chain granted the access in a finalized block.
//!
//! - [`jobs`]: the durable job queue (`jobs.sqlite`) and the job digest the ledger cites.
//! - [`chain`]: the signer task (one key, one nonce counter), submission and finalized reads.
//! - [`runner`]: the per-job state machine and crash recovery.
//! - [`workload`]: the [`Workload`] trait, `simulation`, `inference` and `twin`.
//! - [`stream`]: `stream` sessions: wearable samples update the twin live under one open access,
//!   ended by the client, the patient's revocation or idleness, closed citing a Merkle root.
//! - [`http`]: `POST /jobs`, `GET /jobs/{id}`, `GET /jobs`, behind a bearer credential.
//! - [`cohort`]: a federated round's cohort: `request_access_batch` per 256 patients, reads of
//!   the granted only, `complete_access_batch` citing the round's result; crash-safe.
//! - [`study`]: the site's messages to a study's consortium contract (cohort, round keys).
//! - [`fl`]: federated rounds: a site's part, the coordinator's (with the aggregator), the
//!   study plan, and the `--fl-*` daemon flags.
//! - [`transport`]: institutions' TLS transport keys (identity pallet) as the pinning registry
//!   federated rounds check peers against, followed at finalized blocks.
//! - [`agreement`]: the data-use agreement another institution's job names, checked in the
//!   agreement registry contract before any access request.
//! - [`key`]: the service key from the wallet's encrypted keystore (or a dev URI with `--dev`).
//!
//! [`run`] wires them together for the `consentry-worker` binary.

pub mod agreement;
pub mod chain;
pub mod cohort;
pub mod fl;
pub mod http;
pub mod jobs;
pub mod key;
pub mod runner;
pub mod stream;
pub mod study;
pub mod transport;
pub mod workload;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
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
    /// The institution's service key: a keystore file written by `consentry wallet import
    /// --keystore` (or `consentry wallet new`), decrypted with the passphrase from
    /// `--passphrase-file` or `CONSENTRY_WORKER_PASSPHRASE`.
    #[arg(long, env = "CONSENTRY_WORKER_KEYSTORE", conflicts_with = "key_uri")]
    pub keystore: Option<PathBuf>,
    /// A file whose content (trailing newline removed) is the keystore's passphrase.
    #[arg(long, requires = "keystore")]
    pub passphrase_file: Option<PathBuf>,
    /// Development only: the service key as a dev secret URI (`//Bob`), accepted only with
    /// `--dev` and only against a development or local chain.
    #[arg(long, requires = "dev")]
    pub key_uri: Option<String>,
    /// Development mode: allows `--key-uri` with a well-known dev key (`//Name`) when the node
    /// runs a development or local chain.
    #[arg(long)]
    pub dev: bool,
    /// A file holding the bearer credential every `/jobs` request must present
    /// (`Authorization: Bearer <token>`; at least 32 characters). Or `CONSENTRY_WORKER_API_TOKEN`.
    #[arg(long)]
    pub api_token_file: Option<PathBuf>,
    /// The oldest grant the worker still acts on, in seconds of chain time between the record's
    /// request and the finalized head at the data gate. An older grant (a request that landed
    /// late, a job resumed long after) is closed `Aborted` without reading anything.
    #[arg(
        long,
        env = "CONSENTRY_WORKER_MAX_GRANT_AGE_SECS",
        default_value_t = 600
    )]
    pub max_grant_age_secs: u64,
    /// How often the supervisor looks for unfinished jobs that no task drives (one whose task
    /// failed after its grant) and re-drives or closes them, in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    pub supervise_interval_ms: u64,
    /// The data-use agreement registry contract (SS58). With it, the worker runs jobs other
    /// institutions ask for under an agreement in force there; without it, only this
    /// institution's own jobs.
    #[arg(long, env = "CONSENTRY_DUA_CONTRACT")]
    pub dua_contract: Option<String>,
    /// A model bundle directory from `consentry train`, enabling the `inference` workload.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Jobs driven concurrently.
    #[arg(long, default_value_t = 16)]
    pub max_in_flight: usize,
    /// Stream sessions open (or opening) at once; another is refused with 503 until one ends.
    #[arg(long, default_value_t = 64)]
    pub max_streams: usize,
    /// Federated studies this institution takes part in.
    #[command(flatten)]
    pub fl: fl::service::FlArgs,
    /// Test hook: sleep this many ms after a finalized grant, before reading data, so a test can
    /// kill the worker between grant and completion. Never set in production.
    #[arg(long, hide = true)]
    pub pause_after_grant_ms: Option<u64>,
    /// Test hook: after a finalized grant, wait until this file exists before the data gate, so
    /// a test can change the chain (revoke, let time pass) between grant and read.
    #[arg(long, hide = true)]
    pub hold_after_grant_file: Option<PathBuf>,
    /// Test hook: make every job's task fail right after it is marked running (`error`: returns
    /// an error; `panic`: panics), before any read, so a test can watch the supervisor.
    #[arg(long, hide = true)]
    pub fail_after_grant: Option<runner::Fault>,
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
    anyhow::ensure!(
        args.supervise_interval_ms >= 100,
        "--supervise-interval-ms must be at least 100"
    );
    let token = http::ApiToken::load(args.api_token_file.as_deref())?;
    let key = key::load(&args)?;
    let registry = Registry::standard(args.model.as_deref())?;
    let agreements = args
        .dua_contract
        .as_deref()
        .map(agreement::Registry::parse)
        .transpose()?;
    let store = consentry_datastore::Store::open(&args.store)
        .with_context(|| format!("--store {}", args.store.display()))?;
    let jobs =
        JobStore::open(&args.jobs).with_context(|| format!("--jobs {}", args.jobs.display()))?;
    // Held from here, before the chain connection (which can take seconds), so a busy port fails
    // at once and nothing else can take the port while the worker starts.
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("--listen {}", args.listen))?;
    let chain = chain::Chain::connect(&args.node, key.keypair).await?;
    if key.dev {
        let name = chain.rpc.system_chain().await?;
        anyhow::ensure!(
            key::is_dev_chain(&name),
            "--dev --key-uri: the node runs `{name}`, not a development or local chain; \
             use --keystore"
        );
    }
    tracing::info!(
        institution = chain.institution,
        account = %chain.account,
        workloads = ?registry.names(),
        "connected to {}",
        args.node
    );
    // Kept for the process's life: the federated task stops only with the worker.
    let _federated = fl::service::start(&args.fl, &chain, &args.store, &args.jobs).await?;
    let ctx = Arc::new(Ctx {
        chain,
        jobs,
        store: Arc::new(Mutex::new(store)),
        registry,
        agreements,
        in_flight: Arc::new(Semaphore::new(args.max_in_flight)),
        max_streams: args.max_streams,
        active: Mutex::new(Default::default()),
        max_grant_age: Duration::from_secs(args.max_grant_age_secs),
        pause_after_grant: args.pause_after_grant_ms.map(Duration::from_millis),
        hold_after_grant_file: args.hold_after_grant_file.clone(),
        fail_after_grant: args.fail_after_grant,
        pause_after_request_submit: args
            .pause_after_request_submit_ms
            .map(Duration::from_millis),
        pause_after_complete_submit: args
            .pause_after_complete_submit_ms
            .map(Duration::from_millis),
        timings: Mutex::new(Default::default()),
        sessions: Default::default(),
    });
    let resumed = runner::resume_all(&ctx)?;
    if resumed > 0 {
        tracing::info!("resuming {resumed} unfinished job(s)");
    }
    tokio::spawn(runner::supervise(
        ctx.clone(),
        Duration::from_millis(args.supervise_interval_ms),
    ));
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, http::router(ctx, token)).await?;
    Ok(())
}
