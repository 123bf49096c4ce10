//! Logistic regression baseline: one linear layer on standardised tabular
//! features plus their missing flags, one logit per task.

use candle_core::{Module, Result, Tensor};
use candle_nn::{linear, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

/// Logistic regression has no sizes; the struct exists so every model file has a config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LogisticConfig {
    /// L2 penalty added to the loss (per weight, mean-squared).
    pub l2: f64,
}

/// `logits = [values ‖ missing] · W + b`, shape `[B, 2]`.
pub struct Logistic {
    lin: Linear,
}

impl Logistic {
    /// Builds the layer for `n_features` tabular columns.
    pub fn new(n_features: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin: linear(2 * n_features, 2, vb.pp("linear"))?,
        })
    }

    /// Logits for standardised values and 0/1 missing flags, both `[B, F]`.
    pub fn forward(&self, values: &Tensor, missing: &Tensor) -> Result<Tensor> {
        self.lin.forward(&Tensor::cat(&[values, missing], 1)?)
    }

    /// The weight matrix (for the L2 penalty).
    pub fn weight(&self) -> &Tensor {
        self.lin.weight()
    }
}
