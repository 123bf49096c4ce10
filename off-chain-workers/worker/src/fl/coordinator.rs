//! The coordinator's part of a federated round: it runs the aggregator.
//!
//! 1. Publishes the global model (safetensors) on its aggregator endpoint and opens the round in
//!    the contract with its SHA-256, the plan's accountant inputs and the study's ε after the
//!    round (every round on chain so far composed with this one by the RDP accountant, for the
//!    study's δ), so the contract refuses a round that would exceed the budget.
//! 2. Opens the same round on the aggregator for the study's joined sites.
//! 3. When the aggregator relays the advertised keys it commits that set (U1) on chain; when the
//!    masked inputs are in, the set whose inputs it holds (U3). Sites check both before going on.
//! 4. Decodes the unmasked sum (it never holds a site's unmasked update), applies FedAvg
//!    `w(t+1) = w(t) + Σ n_k·Δ_k / Σ n_k`, publishes the new model and closes the round with its
//!    digest. On any failure it aborts the aggregator's round and fails the round on chain, so the
//!    contract shows that this round produced no model.
//!
//! Every model version it publishes is also written to its model directory. A restarted
//! coordinator fails the round an earlier run left open (the aggregator's state of it is gone)
//! and resumes from the last aggregated round's model, read back and checked against the digest
//! on chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use consentry_client::contract_abi::consortium::{self, RoundIndex};
use consentry_federated::params::{from_safetensors, to_safetensors};
use consentry_federated::strategy::FedAvg;
use consentry_fl_transport::{AggregatorServer, Deadlines, RoundConfig, RoundResult, Stage};
use consentry_privacy::{DpSgdEvent, RdpAccountant};
use consentry_secagg::{site_set_digest, SiteId, WeightedEncoding};
use tracing::{info, warn};

use super::{context, dp_of, institution_of, site_id, Plan, Prepared, INPUT_SET, KEY_SET};
use crate::chain::Chain;
use crate::study::Study;

/// The coordinator of one study, with its aggregator endpoint.
pub struct Coordinator {
    pub chain: Chain,
    pub study: Study,
    pub plan: Plan,
    prepared: Prepared,
    pub server: AggregatorServer,
    /// The current global model.
    pub global: Vec<f32>,
    /// Keep each round's masked inputs as received (for audits and tests).
    pub retain_received_inputs: bool,
    /// Where published model versions are kept (`<sha256 hex>.safetensors`).
    models: PathBuf,
}

/// What one round did.
#[derive(Debug, Clone)]
pub struct CoordinatedRound {
    pub round: RoundIndex,
    /// The model the round started from and the one it produced (SHA-256 of the safetensors).
    pub from: [u8; 32],
    pub aggregate: [u8; 32],
    /// The study's ε after the round, as ledgered (real number).
    pub epsilon_after: f64,
    pub result: RoundResult,
    /// `Σ n_k` over the sites in the sum.
    pub total_weight: u64,
}

impl Coordinator {
    /// The coordinator of the study at `study`, checking that the contract's model is `plan`;
    /// resumes from the last aggregated round's model in `models` (the plan's initial model
    /// before the first), failing a round an earlier run left open.
    pub async fn new(
        chain: Chain,
        study: Study,
        plan: Plan,
        server: AggregatorServer,
        models: PathBuf,
    ) -> anyhow::Result<Self> {
        let rules = study.read(&chain, &consortium::GetStudy {}).await?;
        anyhow::ensure!(
            rules.model.architecture == plan.digest()?,
            "the study's model is not this plan (architecture digest differs)"
        );
        anyhow::ensure!(
            rules.coordinator == chain.institution,
            "institution {} coordinates this study, not {}",
            rules.coordinator,
            chain.institution
        );
        std::fs::create_dir_all(&models)
            .with_context(|| format!("model directory {}", models.display()))?;
        let prepared = plan.prepare()?;
        let mut coordinator = Self {
            global: prepared.initial.clone(),
            chain,
            study,
            plan,
            prepared,
            server,
            retain_received_inputs: false,
            models,
        };
        coordinator.resume().await?;
        Ok(coordinator)
    }

    fn model_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.models
            .join(format!("{}.safetensors", hex::encode(digest)))
    }

    /// Publishes `flat` on the aggregator and keeps it in the model directory; its digest.
    fn publish(&self, flat: &[f32]) -> anyhow::Result<[u8; 32]> {
        let bytes = to_safetensors(&self.prepared.layout, flat)?;
        let digest = self.server.publish_model(bytes.clone());
        let path = self.model_path(&digest);
        // Written whole or not at all: a crash mid-write leaves no file under the digest's name.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, &bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| format!("keeping model {}", path.display()))?;
        Ok(digest)
    }

    async fn resume(&mut self) -> anyhow::Result<()> {
        if let Some(open) = self
            .study
            .read(&self.chain, &consortium::CurrentRound {})
            .await?
        {
            warn!(
                round = open,
                "an earlier run left this round open: failing it"
            );
            self.study.fail_round(&self.chain, open).await?;
        }
        let opened = self
            .study
            .read(&self.chain, &consortium::RoundsOpened {})
            .await?;
        for round in (0..opened).rev() {
            let Some(r) = self.study.round(&self.chain, round).await? else {
                continue;
            };
            let (consortium::RoundStatus::Aggregated { .. }, Some(digest)) =
                (r.status, r.aggregate)
            else {
                continue;
            };
            let path = self.model_path(&digest);
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "round {round}'s aggregate {} is needed to resume",
                    path.display()
                )
            })?;
            let hashed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
            anyhow::ensure!(
                hashed == digest,
                "{} does not hash to round {round}'s aggregate",
                path.display()
            );
            self.global = from_safetensors(&self.prepared.layout, &bytes)?;
            self.server.publish_model(bytes);
            info!(round, "resumed from the round's aggregate");
            break;
        }
        Ok(())
    }

    /// ε of the study after one more round with `next`: every round opened so far (their
    /// ledgered inputs) composed with it, for the study's δ.
    async fn epsilon_after(
        &self,
        next: &consortium::Accountant,
        delta: f64,
    ) -> anyhow::Result<f64> {
        let opened = self
            .study
            .read(&self.chain, &consortium::RoundsOpened {})
            .await?;
        let mut accountant = RdpAccountant::new();
        let mut compose = |a: &consortium::Accountant| -> anyhow::Result<()> {
            let dp = dp_of(a);
            accountant.compose(&DpSgdEvent::new(
                dp.sampling_rate,
                dp.noise_multiplier,
                dp.steps as u64,
            )?)?;
            Ok(())
        };
        for round in 0..opened {
            if let Some(r) = self.study.round(&self.chain, round).await? {
                compose(&r.accountant)?;
            }
        }
        compose(next)?;
        Ok(accountant.epsilon(delta)?.epsilon)
    }

    /// Runs one round to its end on chain.
    pub async fn run_round(&mut self) -> anyhow::Result<CoordinatedRound> {
        let rules = self
            .study
            .read(&self.chain, &consortium::GetStudy {})
            .await?;
        let joined = self.study.read(&self.chain, &consortium::Joined {}).await?;
        let from = self.publish(&self.global)?;
        let accountant = self.plan.accountant();
        let delta = rules.delta as f64 / consortium::DELTA_SCALE as f64;
        let epsilon_after = self.epsilon_after(&accountant, delta).await?;
        let scaled = (epsilon_after * consortium::EPSILON_SCALE as f64).ceil() as u64;
        let round = self
            .study
            .open_round(&self.chain, from, accountant, scaled)
            .await?;
        info!(round, epsilon_after, "round opened");
        let ctx = context(&self.study, round);
        let sites: BTreeMap<u32, SiteId> = joined.iter().map(|&i| (i, site_id(i))).collect();
        self.server.open_round(RoundConfig {
            context: ctx.clone(),
            threshold: self.plan.threshold,
            vector_len: WeightedEncoding::vector_len(self.prepared.layout.len()),
            sites,
            deadlines: Deadlines::uniform(Duration::from_millis(self.plan.stage_ms)),
            retain_received_inputs: self.retain_received_inputs,
        })?;
        match self.aggregate(round, &ctx).await {
            Ok((aggregate, result, total_weight)) => Ok(CoordinatedRound {
                round,
                from,
                aggregate,
                epsilon_after: scaled as f64 / consortium::EPSILON_SCALE as f64,
                result,
                total_weight,
            }),
            Err(e) => {
                warn!(round, "round failed: {e:#}");
                let _ = self.server.abort_round(&format!("{e:#}"));
                if let Err(f) = self.study.fail_round(&self.chain, round).await {
                    warn!(round, "failing the round on chain: {f:#}");
                }
                Err(e)
            }
        }
    }

    async fn aggregate(
        &mut self,
        round: RoundIndex,
        ctx: &consentry_secagg::RoundContext,
    ) -> anyhow::Result<([u8; 32], RoundResult, u64)> {
        self.server.wait_stage(Stage::ShareKeys).await?;
        let keys = self.server.key_set().context("no key set")?;
        self.study
            .commit_keys(
                &self.chain,
                round,
                keys.iter().map(|&s| institution_of(s)).collect(),
                site_set_digest(ctx, KEY_SET, &keys),
            )
            .await?;
        self.server.wait_stage(Stage::Unmasking).await?;
        let inputs = self.server.input_set().context("no input set")?;
        self.study
            .commit_inputs(
                &self.chain,
                round,
                inputs.iter().map(|&s| institution_of(s)).collect(),
                site_set_digest(ctx, INPUT_SET, &inputs),
            )
            .await?;
        let result = self.server.wait_result().await?;
        let decoded = self
            .plan
            .encoding(keys.len())?
            .decode(&result.sum, result.survivors.len() as u32)?;
        let mean: Vec<f32> = decoded.mean.iter().map(|&x| x as f32).collect();
        let next = FedAvg::apply(&self.global, &mean)?;
        let aggregate = self.publish(&next)?;
        self.study
            .close_round(&self.chain, round, aggregate)
            .await?;
        self.global = next;
        info!(round, sites = result.survivors.len(), "round closed");
        Ok((aggregate, result, decoded.total_weight))
    }
}
