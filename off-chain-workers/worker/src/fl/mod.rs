//! Federated rounds at the worker, over a study's consortium contract.
//!
//! - [`Plan`]: what the study trains, agreed by its members off chain; the contract's
//!   `model.architecture` is the plan's digest, so every participant checks it holds the same one.
//! - [`site`]: a data-holding institution's part of a round: its cohort from the chain, the read,
//!   local DP-SGD, secure aggregation over the pinned TLS transport, the close of its accesses.
//! - [`coordinator`]: the coordinator's part: open the round, run the aggregator, commit the site
//!   sets it saw, FedAvg the unmasked sum, publish the model and close the round.
//! - [`examples`]: a granted patient's training example from exactly what the read returned.
//!
//! Both sides derive the same public round parameters from the plan and the chain: site ids,
//! the secure-aggregation context, the fixed-point encoding, and the accountant's inputs.

pub mod coordinator;
pub mod examples;
pub mod service;
pub mod site;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use candle_core::Device;
use consentry_client::contract_abi::consortium::{self, RoundIndex};
use consentry_federated::aggregation::secagg_bits;
use consentry_federated::client::DpSgd;
use consentry_federated::data::{CohortSpec, StudyData};
use consentry_federated::model::ModelSpec;
use consentry_federated::params::{flatten, ParamLayout};
use consentry_federated::simulate::LocalSpec;
use consentry_inference::features::{FeatureSpec, Standardizer};
use consentry_primitives::{CategorySet, DataCategory};
use consentry_secagg::{Quantizer, RoundContext, SiteId, WeightedEncoding};
use serde::{Deserialize, Serialize};

use crate::chain::Chain;
use crate::jobs::digest_of;
use crate::study::Study;

/// A study's training plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The public reference population (the inference crate's generator): features are
    /// standardised on its public split and the ADR class weight comes from it, never from a
    /// site's patients.
    pub reference: CohortSpec,
    /// The neural parts of the hybrid that are averaged.
    pub model: ModelSpec,
    /// Local optimiser settings (the DP-SGD inputs come from each round on chain).
    pub local: LocalSpec,
    /// The accountant's inputs the coordinator opens every round with.
    pub dp: DpSgd,
    /// Initial model seed.
    pub seed: u64,
    /// Shamir threshold t: sites whose input must reach the sum.
    pub threshold: usize,
    /// Secure aggregation's quantizer range per coordinate of a site's change.
    pub secagg_clip: f64,
    /// Largest cohort (patients) one site may weigh in with: the fixed-point encoding's bound.
    pub max_site_weight: u32,
    /// How long each secure-aggregation stage stays open, ms.
    pub stage_ms: u64,
}

/// What a participant derives from a plan before its first round.
pub struct Prepared {
    pub features: FeatureSpec,
    pub standardizer: Standardizer,
    pub adr_pos_weight: f64,
    pub layout: ParamLayout,
    /// The initial global model (from `seed`).
    pub initial: Vec<f32>,
}

impl Plan {
    /// Reads a plan from a JSON file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("plan {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("plan {}", path.display()))
    }

    /// SHA-256 of the plan's canonical JSON: the contract's `model.architecture`.
    pub fn digest(&self) -> anyhow::Result<[u8; 32]> {
        Ok(digest_of(&serde_json::to_value(self)?))
    }

    /// What a round reads of each granted patient.
    pub fn categories() -> CategorySet {
        CategorySet::of(&[
            DataCategory::Demographics,
            DataCategory::Labs,
            DataCategory::Wearable,
            DataCategory::Ehr,
            DataCategory::Genomic,
        ])
    }

    /// Generates the reference population and the initial model.
    pub fn prepare(&self) -> anyhow::Result<Prepared> {
        let reference = StudyData::generate(&self.reference)?;
        let features = reference.prepared.spec.clone();
        let model = self.model.build(&features, self.seed, &Device::Cpu)?;
        Ok(Prepared {
            standardizer: reference.prepared.standardizer.clone(),
            adr_pos_weight: reference.adr_pos_weight,
            layout: ParamLayout::of(&model.varmap),
            initial: flatten(&model.varmap)?,
            features,
        })
    }

    /// The fixed-point encoding of a round whose key set has `sites` sites.
    pub fn encoding(&self, sites: usize) -> anyhow::Result<WeightedEncoding> {
        let bits = secagg_bits(sites, u64::from(self.max_site_weight))?;
        Ok(WeightedEncoding::new(
            Quantizer::new(self.secagg_clip, bits)?,
            self.max_site_weight,
            sites as u32,
        )?)
    }

    /// The accountant's inputs as the contract ledgers them.
    pub fn accountant(&self) -> consortium::Accountant {
        consortium::Accountant {
            sampling_rate: (self.dp.sampling_rate * consortium::RATE_SCALE as f64).round() as u64,
            noise_multiplier: (self.dp.noise_multiplier * consortium::REAL_SCALE as f64).round()
                as u64,
            clipping_norm: (self.dp.clip_norm * consortium::REAL_SCALE as f64).round() as u64,
            steps: self.dp.steps as u32,
        }
    }
}

/// The DP-SGD inputs a round's ledgered accountant stands for.
pub fn dp_of(a: &consortium::Accountant) -> DpSgd {
    DpSgd {
        sampling_rate: a.sampling_rate as f64 / consortium::RATE_SCALE as f64,
        noise_multiplier: a.noise_multiplier as f64 / consortium::REAL_SCALE as f64,
        clip_norm: a.clipping_norm as f64 / consortium::REAL_SCALE as f64,
        steps: a.steps as usize,
    }
}

/// The secure-aggregation site id an institution plays (0 is not a Shamir evaluation point).
pub fn site_id(institution: u32) -> SiteId {
    institution + 1
}

/// The institution behind a site id.
pub fn institution_of(site: SiteId) -> u32 {
    site - 1
}

/// The secure-aggregation context of a study's round.
pub fn context(study: &Study, round: RoundIndex) -> RoundContext {
    RoundContext::new(study.id().to_vec(), u64::from(round))
}

/// Label of the key set's digest (U1) and the input set's (U3).
pub const KEY_SET: &str = "U1";
pub const INPUT_SET: &str = "U3";

/// Polls the study's round until `ready` holds, for at most `timeout`.
pub async fn wait_round(
    study: &Study,
    chain: &Chain,
    round: RoundIndex,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&consortium::Round) -> bool,
) -> anyhow::Result<consortium::Round> {
    let give_up = Instant::now() + timeout;
    loop {
        if let Some(r) = study.round(chain, round).await? {
            if ready(&r) {
                return Ok(r);
            }
        }
        anyhow::ensure!(
            Instant::now() < give_up,
            "round {round}: {what} not on chain after {} s",
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}
