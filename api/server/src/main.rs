//! `consentry-api`: the HTTP service and, in the same process, the indexer that feeds it.

use clap::Parser;
use consentry_indexer::Store;
use std::net::SocketAddr;
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
    /// The institution whose key that worker signs with (only its sessions may submit jobs).
    #[arg(long, env = "CONSENTRY_WORKER_INSTITUTION", default_value_t = 0)]
    worker_institution: u32,
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
    let mut state = consentry_api::AppState::connect(&args.node, store.clone()).await?;
    state.worker = args
        .worker_url
        .map(|url| consentry_api::routes::jobs::WorkerLink {
            url: url.trim_end_matches('/').to_string(),
            institution: args.worker_institution,
        });
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

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, node = %args.node, "consentry-api up");
    let mut stop = stop_rx;
    let server =
        axum::serve(listener, consentry_api::router(state)).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
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
