//! The federated model: the inference crate's hybrid (BiLSTM ‖ Transformer →
//! fusion head) with its GBDT-margin input held at zero — the federated model
//! ships no trees (see the crate README: trees fitted on patients' data would
//! have to be trained with DP themselves to be shared under patient-level DP).
//! All of its parameters are averaged. The two fusion-head weights columns
//! that read the (zero) margins get no data gradient; they are kept so the
//! parameter layout is exactly the inference crate's hybrid.

use anyhow::Result;
use candle_core::Device;
use consentry_inference::config::InferenceConfig;
use consentry_inference::features::FeatureSpec;
use consentry_inference::metrics::{evaluate as binary, BinaryMetrics};
use consentry_inference::models::bilstm::BiLstmConfig;
use consentry_inference::models::fusion::FusionConfig;
use consentry_inference::models::transformer::TransformerConfig;
use consentry_inference::train::{NeuralKind, NeuralModel, Tensors};
use serde::{Deserialize, Serialize};

/// Sizes of the hybrid's neural parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSpec {
    pub bilstm: BiLstmConfig,
    pub transformer: TransformerConfig,
    pub fusion: FusionConfig,
}

impl Default for ModelSpec {
    /// The study's CPU-sized hybrid (no dropout: DP noise regularises, and
    /// one backward pass per patient is the cost that bounds the grid).
    fn default() -> Self {
        Self {
            bilstm: BiLstmConfig {
                hidden: 16,
                layers: 1,
                dropout: 0.0,
            },
            transformer: TransformerConfig {
                d_model: 16,
                heads: 2,
                layers: 1,
                ff_dim: 32,
                dropout: 0.0,
            },
            fusion: FusionConfig {
                hidden: [32, 16],
                dropout: 0.0,
            },
        }
    }
}

impl ModelSpec {
    /// The sizes of an inference config (e.g. `inference/configs/small.toml`).
    pub fn from_inference(cfg: &InferenceConfig) -> Self {
        Self {
            bilstm: cfg.bilstm.clone(),
            transformer: cfg.transformer.clone(),
            fusion: cfg.fusion.clone(),
        }
    }

    /// Builds the hybrid with parameters initialised from `seed`.
    pub fn build(&self, features: &FeatureSpec, seed: u64, device: &Device) -> Result<NeuralModel> {
        let cfg = InferenceConfig {
            bilstm: self.bilstm.clone(),
            transformer: self.transformer.clone(),
            fusion: self.fusion.clone(),
            ..Default::default()
        };
        cfg.validate()?;
        NeuralModel::build(NeuralKind::Hybrid, &cfg, features, seed, device)
    }
}

/// Test-set metrics of a model: both tasks, threshold 0.5 for accuracy / F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub response: BinaryMetrics,
    pub adr: BinaryMetrics,
}

/// Evaluates `model` on `test` (labels from the tensors).
pub fn evaluate(model: &NeuralModel, test: &Tensors) -> Result<Eval> {
    let p = model.predict_proba(test, 1024)?;
    let y = test.y.to_vec2::<f32>()?;
    let col = |k: usize| -> (Vec<f64>, Vec<f32>) {
        (
            p.iter().map(|r| r[k]).collect(),
            y.iter().map(|r| r[k]).collect(),
        )
    };
    let (pr, yr) = col(0);
    let (pa, ya) = col(1);
    Ok(Eval {
        response: binary(&pr, &yr),
        adr: binary(&pa, &ya),
    })
}
