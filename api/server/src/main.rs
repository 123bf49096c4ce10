//! `consentry-api`: the HTTP service and, in the same process, the indexer that feeds it.

use anyhow::Context;
use clap::Parser;
use consentry_api::limits::Limits;
use consentry_indexer::Store;
use std::{net::SocketAddr, path::PathBuf};
use tracing_subscriber::EnvFilter;

/// Consentry API: ledger history, exports, proofs and sessions over HTTP.
#[derive(Parser)]
#[command(name = "consentry-api", version, about)]
struct Args {
    /// The node's WebSocket RPC endpoint.
    #[arg(
        long,
        env = "CONSENTRY_NODE_URL",
        default_value = "ws://127.0.0.1:9944"
    )]
    node: String,
    /// The index database: `sqlite://PATH?mode=rwc` (default, embedded) or `postgres://...`.
    #[arg(
        long,
        env = "CONSENTRY_DATABASE_URL",
        default_value = "sqlite://consentry-index.db?mode=rwc"
    )]
    database: String,
    /// Address to listen on.
    #[arg(long, env = "CONSENTRY_API_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The institution's worker (`consentry-worker`) that `/v1/jobs` forwards to.
    #[arg(long, env = "CONSENTRY_WORKER_URL")]
    worker_url: Option<String>,
    /// The file holding the credential the worker requires (`consentry-worker --api-token-file`).
    #[arg(long, env = "CONSENTRY_WORKER_TOKEN_FILE", requires = "worker_url")]
    worker_token_file: Option<PathBuf>,
    /// The institution whose key that worker signs with (only its sessions may submit jobs).
    #[arg(long, env = "CONSENTRY_WORKER_INSTITUTION", default_value_t = 0)]
    worker_institution: u32,
    /// This API's URL as its users reach it; sign-in messages name its origin, and wallets refuse
    /// to sign for any other. Defaults to `http://LISTEN` (`https://` with a certificate).
    #[arg(long, env = "CONSENTRY_API_PUBLIC_URL")]
    public_url: Option<String>,
    /// PEM certificate chain: serve HTTPS (TLS 1.3 only, rustls) instead of plain HTTP.
    #[arg(long, env = "CONSENTRY_API_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "CONSENTRY_API_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve the browser app built in this directory (`api/web/dist`) at `/app/`, with the
    /// allowlisted JSON-RPC proxy to `--node` it reads the chain through at `/rpc`.
    #[arg(long, env = "CONSENTRY_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// A node's HTTP JSON-RPC URL the web app's auditors may check proofs against (repeatable);
    /// the page's CSP allows fetching from these and from this API only.
    #[arg(long, env = "CONSENTRY_WEB_VERIFY_NODE", requires = "web_dir")]
    web_verify_node: Vec<String>,
    #[command(flatten)]
    limits: Limits,
    /// Log as JSON lines (for log shippers) instead of text.
    #[arg(long)]
    json_logs: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    if args.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    let store = Store::open(&args.database).await?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{}", args.listen));
    let origin = consentry_signin::origin_of(&public_url).context("--public-url")?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(consentry_api::tls::server_config(cert, key)?),
        _ => None,
    };
    let mut state = consentry_api::AppState::connect(&args.node, store.clone(), origin).await?;
    state.worker = match (args.worker_url, &args.worker_token_file) {
        (Some(url), Some(file)) => Some(consentry_api::routes::jobs::WorkerLink {
            url: url.trim_end_matches('/').to_string(),
            institution: args.worker_institution,
            token: std::fs::read_to_string(file)
                .with_context(|| format!("--worker-token-file: cannot read {}", file.display()))?
                .trim()
                .to_string(),
        }),
        (Some(_), None) => anyhow::bail!(
            "--worker-url needs --worker-token-file: the worker only answers the credential in \
             its --api-token-file"
        ),
        (None, _) => None,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let indexer = {
        let node = args.node.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            consentry_indexer::run(&node, store, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        })
    };

    let (web, rpc) = match &args.web_dir {
        Some(dir) => (
            Some(
                consentry_api::web::Web::new(dir.clone())?
                    .with_verify_nodes(&args.web_verify_node)?,
            ),
            Some(consentry_api::rpc_proxy::RpcProxy::connect(&args.node).await?),
        ),
        None => (None, None),
    };
    let app = consentry_api::router_with(state, &args.limits, web, rpc);
    let handle = axum_server::Handle::new();
    let server = {
        let stopping = handle.clone();
        let mut stop = stop_rx;
        tokio::spawn(async move {
            let _ = stop.wait_for(|s| *s).await;
            stopping.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let listen = args.listen;
        async move {
            match tls {
                Some(config) => {
                    axum_server::bind_rustls(listen, config)
                        .handle(handle)
                        .serve(app)
                        .await
                }
                None => axum_server::bind(listen).handle(handle).serve(app).await,
            }
        }
    };
    tracing::info!(listen = %args.listen, public_url, node = %args.node, "consentry-api up");
    tokio::select! {
        r = server => r?,
        r = indexer => {
            // The indexer only returns on an error it cannot retry; without it the API would
            // serve a stale history, so stop.
            r??;
        }
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        }
    }
    Ok(())
}
