//! The worker daemon's federated part (`--fl-study`): a site takes part in every round the
//! study's coordinator opens; the coordinator (`--fl-coordinate`) runs the aggregator and opens
//! `--fl-rounds` rounds, one after another.
//!
//! The institution's transport key (`--fl-tls-key`, PKCS#8 DER) is created on first start and
//! its SPKI digest registered on chain (`Identity::set_transport_key`); peers are pinned to the
//! keys on chain, followed at finalized blocks. A site that restarts first closes the accesses
//! of rounds that ended while it was down (`Site::recover`), then joins the open round.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use consentry_client::contract_abi::consortium;
use consentry_client::subxt::utils::AccountId32;
use consentry_datastore::Store;
use consentry_fl_transport::{
    AggregatorServer, KeyAlgorithm, PollConfig, SiteClient, TransportIdentity,
};
use tracing::{info, warn};

use super::coordinator::Coordinator;
use super::site::Site;
use super::Plan;
use crate::chain::Chain;
use crate::cohort::CohortTxs;
use crate::study::Study;
use crate::transport;

/// Command-line arguments of the federated part.
#[derive(Debug, Clone, clap::Args)]
pub struct FlArgs {
    /// A federated study's consortium contract (SS58) this institution takes part in.
    #[arg(long)]
    pub fl_study: Option<String>,
    /// The study's plan (JSON); its digest must be the contract's model architecture.
    #[arg(long, requires = "fl_study")]
    pub fl_plan: Option<PathBuf>,
    /// The institution's transport key (PKCS#8 DER): created if missing, registered on chain.
    #[arg(long, requires = "fl_study")]
    pub fl_tls_key: Option<PathBuf>,
    /// Site: the coordinator's aggregator endpoint (`https://host:port`).
    #[arg(long, requires = "fl_study", conflicts_with = "fl_coordinate")]
    pub fl_aggregator: Option<String>,
    /// Coordinator: where its aggregator listens (`host:port`; port 0 for any). The bound
    /// address is printed on standard output as `aggregator listening on https://…`.
    #[arg(long, requires = "fl_study")]
    pub fl_coordinate: Option<String>,
    /// Coordinator: where the model versions it publishes are kept; a restart resumes from the
    /// last aggregated round's.
    #[arg(long, default_value = "fl-models")]
    pub fl_models: PathBuf,
    /// Coordinator: how many rounds the study runs (counting those opened before a restart).
    #[arg(long, default_value_t = 1)]
    pub fl_rounds: u32,
    /// Coordinator: pause between one round's close and the next round's opening, ms.
    #[arg(long, default_value_t = 0)]
    pub fl_interval_ms: u64,
    /// Test hook: a site sleeps this many ms after sending its shares, before masking, so a
    /// test can kill it there. Never set in production.
    #[arg(long, hide = true)]
    pub fl_pause_before_masking_ms: Option<u64>,
}

/// The transport identity in `path`, created (and written, owner-only) if missing.
fn identity(path: &Path, institution: u32) -> anyhow::Result<TransportIdentity> {
    if path.exists() {
        let der =
            std::fs::read(path).with_context(|| format!("--fl-tls-key {}", path.display()))?;
        return Ok(TransportIdentity::from_pkcs8_key(institution, &der)?);
    }
    let id = TransportIdentity::generate(institution, KeyAlgorithm::Ed25519)?;
    crate::key::write_private(path, id.pkcs8_der())
        .with_context(|| format!("--fl-tls-key {}", path.display()))?;
    Ok(id)
}

/// Checks the flags and starts the federated task, if `--fl-study` was given.
pub async fn start(
    args: &FlArgs,
    chain: &Chain,
    store: &Path,
    jobs: &Path,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(address) = &args.fl_study else {
        return Ok(None);
    };
    let account: AccountId32 = address
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("--fl-study: '{address}' is not an SS58 contract address"))?;
    let plan = Plan::load(
        args.fl_plan
            .as_deref()
            .context("--fl-study needs --fl-plan")?,
    )?;
    let tls = identity(
        args.fl_tls_key
            .as_deref()
            .context("--fl-study needs --fl-tls-key")?,
        chain.institution,
    )?;
    transport::register_own(chain, &tls).await?;
    let (registry, view) = transport::load(chain).await?;
    tokio::spawn(transport::follow(chain.clone(), registry.clone(), view));
    let registry = Arc::new(registry);
    let study = Study::at(account);
    let rules = study.read(chain, &consortium::GetStudy {}).await?;

    if let Some(listen) = &args.fl_coordinate {
        let addr = tokio::net::lookup_host(listen)
            .await?
            .next()
            .with_context(|| format!("--fl-coordinate {listen}"))?;
        let server = AggregatorServer::bind(addr, &tls, registry).await?;
        println!("aggregator listening on {}", server.url());
        let mut coordinator =
            Coordinator::new(chain.clone(), study, plan, server, args.fl_models.clone()).await?;
        let rounds = args.fl_rounds;
        let interval = Duration::from_millis(args.fl_interval_ms);
        return Ok(Some(tokio::spawn(async move {
            let mut first = true;
            loop {
                let opened = match coordinator
                    .study
                    .read(&coordinator.chain, &consortium::RoundsOpened {})
                    .await
                {
                    Ok(n) => n,
                    Err(e) => {
                        warn!("reading the study: {e:#}");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                };
                if opened >= rounds {
                    break;
                }
                if !first {
                    tokio::time::sleep(interval).await;
                }
                first = false;
                match coordinator.run_round().await {
                    Ok(r) => info!(
                        round = r.round,
                        sites = r.result.survivors.len(),
                        "round aggregated"
                    ),
                    Err(e) => warn!("round failed: {e:#}"),
                }
            }
            info!("all {rounds} rounds opened; the aggregator keeps serving the published models");
            std::future::pending::<()>().await
        })));
    }

    let url = args
        .fl_aggregator
        .as_deref()
        .context("--fl-study needs --fl-aggregator (a site) or --fl-coordinate")?;
    let client = SiteClient::new(
        &tls,
        url,
        rules.coordinator,
        registry,
        PollConfig {
            stage_timeout: Duration::from_millis(plan.stage_ms.saturating_mul(3)),
            ..Default::default()
        },
    )?;
    let mut site = Site::new(
        chain.clone(),
        study,
        plan,
        Store::open(store)?,
        CohortTxs::open(jobs)?,
        client,
    )
    .await?;
    site.pause_before_masking = args.fl_pause_before_masking_ms.map(Duration::from_millis);
    Ok(Some(tokio::spawn(follow_rounds(site))))
}

/// Closes what rounds that ended while the site was down left open, then takes part in every
/// round the coordinator opens.
async fn follow_rounds(site: Site) {
    let mut done = BTreeSet::new();
    match site.rounds_to_recover().await {
        Ok(rounds) => {
            for round in rounds {
                match site.recover(round).await {
                    Ok(c) => info!(
                        round,
                        accesses = c.granted.len(),
                        "closed a round that ended while down"
                    ),
                    Err(e) => warn!(round, "recovering: {e:#}"),
                }
                done.insert(round);
            }
        }
        Err(e) => warn!("looking for rounds to recover: {e:#}"),
    }
    loop {
        match site
            .study
            .read(&site.chain, &consortium::CurrentRound {})
            .await
        {
            Ok(Some(round)) if !done.contains(&round) => {
                done.insert(round);
                match site.run_round(round).await {
                    Ok(r) => info!(
                        round,
                        examples = r.examples,
                        outcome = ?r.closed,
                        "round done"
                    ),
                    Err(e) => warn!(round, "left the round: {e:#}"),
                }
            }
            Ok(_) => {}
            Err(e) => warn!("reading the study: {e:#}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
