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

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use consentry_client::contract_abi::consortium::{self, RoundIndex};
use consentry_federated::params::to_safetensors;
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
    /// starts from the plan's initial model.
    pub async fn new(
        chain: Chain,
        study: Study,
        plan: Plan,
        server: AggregatorServer,
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
        let prepared = plan.prepare()?;
        Ok(Self {
            global: prepared.initial.clone(),
            chain,
            study,
            plan,
            prepared,
            server,
            retain_received_inputs: false,
        })
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
        let from = self
            .server
            .publish_model(to_safetensors(&self.prepared.layout, &self.global)?);
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
        let aggregate = self
            .server
            .publish_model(to_safetensors(&self.prepared.layout, &next)?);
        self.study
            .close_round(&self.chain, round, aggregate)
            .await?;
        self.global = next;
        info!(round, sites = result.survivors.len(), "round closed");
        Ok((aggregate, result, decoded.total_weight))
    }
}
