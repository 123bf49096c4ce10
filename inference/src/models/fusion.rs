//! The hybrid: GBDT margins ‖ BiLSTM representation ‖ Transformer [CLS] →
//! three-layer feed-forward head → logits `[B, 2]` (response, ADR) (seed §3.3).
//!
//! The GBDT is trained first and enters as a frozen input (its two margins).
//! During training the fusion sees *out-of-fold* GBDT margins (stacking), so it
//! cannot learn to trust in-sample tree outputs that are overfit; see
//! `train::oof_margins`. The encoders' variables live under `lstm.*` and
//! `transformer.*`, the same names as in the standalone baselines, so the
//! optional pretrain-then-fuse training starts them from those baselines
//! (`train::copy_encoders`, `train::fit_hybrid_pretrained`).

use candle_core::{Module, Result, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::bilstm::{BiLstm, BiLstmConfig};
use super::transformer::{FeatureTransformer, TransformerConfig};

/// Fusion head sizes: two hidden layers, then the output layer (three layers in all).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FusionConfig {
    pub hidden: [usize; 2],
    pub dropout: f32,
}

impl Default for FusionConfig {
    fn default() -> Self {
        Self {
            hidden: [64, 32],
            dropout: 0.1,
        }
    }
}

/// Three-layer feed-forward head.
pub struct FusionHead {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    dropout: f32,
}

impl FusionHead {
    /// Builds the head for an `in_dim`-wide concatenated representation.
    pub fn new(cfg: &FusionConfig, in_dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            l1: linear(in_dim, cfg.hidden[0], vb.pp("l1"))?,
            l2: linear(cfg.hidden[0], cfg.hidden[1], vb.pp("l2"))?,
            l3: linear(cfg.hidden[1], 2, vb.pp("l3"))?,
            dropout: cfg.dropout,
        })
    }

    /// Logits `[B, 2]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let drop = |t: Tensor| {
            if train && self.dropout > 0.0 {
                crate::nn::dropout(&t, self.dropout)
            } else {
                Ok(t)
            }
        };
        let h = drop(self.l1.forward(x)?.gelu()?)?;
        let h = drop(self.l2.forward(&h)?.gelu()?)?;
        self.l3.forward(&h)
    }
}

/// The hybrid model's neural part (the GBDT margins are passed in).
pub struct Hybrid {
    pub lstm: BiLstm,
    pub transformer: FeatureTransformer,
    pub head: FusionHead,
}

impl Hybrid {
    /// Builds all components under `vb/{lstm,transformer,fusion}`.
    pub fn new(
        lstm: &BiLstmConfig,
        transformer: &TransformerConfig,
        fusion: &FusionConfig,
        n_features: usize,
        seq_channels: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let lstm = BiLstm::new(lstm, seq_channels, vb.pp("lstm"))?;
        let transformer = FeatureTransformer::new(transformer, n_features, vb.pp("transformer"))?;
        let in_dim = 2 + lstm.out_dim() + transformer.out_dim();
        let head = FusionHead::new(fusion, in_dim, vb.pp("fusion"))?;
        Ok(Self {
            lstm,
            transformer,
            head,
        })
    }

    /// The fusion head's input: GBDT margins `[B, 2]` ‖ BiLSTM encoding of the
    /// sequence `[B, T, C]` ‖ Transformer encoding of values and missing flags `[B, F]`.
    pub fn features(
        &self,
        gbdt: &Tensor,
        seq: &Tensor,
        values: &Tensor,
        missing: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let l = self.lstm.forward(seq, train)?;
        let t = self.transformer.forward(values, missing, train)?;
        Tensor::cat(&[gbdt, &l, &t], 1)
    }

    /// Logits from GBDT margins `[B, 2]`, sequence `[B, T, C]`, values and missing flags `[B, F]`.
    pub fn forward(
        &self,
        gbdt: &Tensor,
        seq: &Tensor,
        values: &Tensor,
        missing: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let x = self.features(gbdt, seq, values, missing, train)?;
        self.head.forward(&x, train)
    }
}
