//! The TOML configuration: model sizes, training and cohort settings.
//! `configs/small.toml` is the CPU default; `configs/seed.toml` has the seed's
//! sizes (3×256 BiLSTM, d = 512 / 8 heads / 4 layers, depth-8 GBDT at η = 0.05
//! for up to 500 rounds).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cohort::CohortConfig;
use crate::models::bilstm::BiLstmConfig;
use crate::models::fusion::FusionConfig;
use crate::models::gbdt::GbdtConfig;
use crate::models::logistic::LogisticConfig;
use crate::models::transformer::TransformerConfig;
use crate::train::TrainConfig;

/// Everything a training run needs; every section has defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    pub cohort: CohortConfig,
    pub gbdt: GbdtConfig,
    pub bilstm: BiLstmConfig,
    pub transformer: TransformerConfig,
    pub fusion: FusionConfig,
    pub logistic: LogisticConfig,
    pub train: TrainConfig,
}

impl InferenceConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {} (pass an existing file to --config, e.g. inference/configs/small.toml)", path.display()))?;
        let cfg: Self =
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects settings that would fail later with a less helpful error.
    pub fn validate(&self) -> Result<()> {
        let t = &self.transformer;
        if t.heads == 0 || !t.d_model.is_multiple_of(t.heads) {
            bail!(
                "transformer.d_model ({}) must be a multiple of transformer.heads ({})",
                t.d_model,
                t.heads
            );
        }
        if self.bilstm.layers == 0 || self.bilstm.hidden == 0 {
            bail!("bilstm.layers and bilstm.hidden must be at least 1");
        }
        if self.train.batch_size == 0 || self.train.epochs == 0 {
            bail!("train.batch_size and train.epochs must be at least 1");
        }
        if self.train.seeds.is_empty() {
            bail!("train.seeds must list at least one seed, e.g. seeds = [1, 2, 3]");
        }
        if self.cohort.seq_len == 0 {
            bail!("cohort.seq_len must be at least 1");
        }
        if !(0.0..1.0).contains(&self.gbdt.learning_rate) || self.gbdt.learning_rate == 0.0 {
            bail!("gbdt.learning_rate must be in (0, 1)");
        }
        Ok(())
    }
}
