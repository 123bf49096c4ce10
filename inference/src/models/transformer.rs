//! Transformer encoder over pharmacogenomic and multimodal feature tokens (seed §3.3.3).
//!
//! Every tabular feature becomes one token: `value·W_f + E_f + missing·M_f`,
//! so the value enters linearly (which keeps the model differentiable in its
//! inputs for Integrated Gradients) and each feature has its own identity
//! embedding. A learned `[CLS]` token is prepended, sinusoidal positional
//! encodings are added (token order is the fixed feature order), and pre-LN
//! encoder layers apply multi-head scaled dot-product attention (equation 4)
//! and a GELU feed-forward block. Attention between genotype tokens and drug
//! tokens is what lets the model represent gene × drug interactions.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{linear, Init, Linear, VarBuilder};

use crate::nn::LayerNorm;
use serde::{Deserialize, Serialize};

/// Encoder sizes. The seed's configuration is `d_model = 512, heads = 8, layers = 4`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TransformerConfig {
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    /// Hidden width of the feed-forward block.
    pub ff_dim: usize,
    pub dropout: f32,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        Self {
            d_model: 32,
            heads: 4,
            layers: 2,
            ff_dim: 64,
            dropout: 0.1,
        }
    }
}

/// Fixed sinusoidal positional encoding `[len, d]` (Vaswani et al. 2017).
pub fn positional_encoding(len: usize, d: usize, device: &Device) -> Result<Tensor> {
    let mut pe = vec![0f32; len * d];
    for pos in 0..len {
        for i in 0..d {
            let angle = pos as f64 / 10000f64.powf((2 * (i / 2)) as f64 / d as f64);
            pe[pos * d + i] = if i % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    Tensor::from_vec(pe, (len, d), device)
}

struct EncoderLayer {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    heads: usize,
    dropout: f32,
}

impl EncoderLayer {
    fn new(cfg: &TransformerConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            ln1: LayerNorm::new(d, 1e-5, vb.pp("ln1"))?,
            qkv: linear(d, 3 * d, vb.pp("qkv"))?,
            proj: linear(d, d, vb.pp("proj"))?,
            ln2: LayerNorm::new(d, 1e-5, vb.pp("ln2"))?,
            ff1: linear(d, cfg.ff_dim, vb.pp("ff1"))?,
            ff2: linear(cfg.ff_dim, d, vb.pp("ff2"))?,
            heads: cfg.heads,
            dropout: cfg.dropout,
        })
    }

    fn drop(&self, x: Tensor, train: bool) -> Result<Tensor> {
        if train && self.dropout > 0.0 {
            crate::nn::dropout(&x, self.dropout)
        } else {
            Ok(x)
        }
    }

    /// Multi-head self-attention: softmax(QKᵀ/√d_k)·V per head.
    fn attention(&self, x: &Tensor) -> Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let dh = d / self.heads;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, l, 3, self.heads, dh))?
            .permute((2, 0, 3, 1, 4))?; // [3, B, H, L, dh]
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let att = (q.matmul(&k.t()?)? / (dh as f64).sqrt())?;
        // `ops::softmax`, not `softmax_last_dim`: the latter has no backward pass.
        let att = candle_nn::ops::softmax(&att, D::Minus1)?;
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, l, d))?;
        self.proj.forward(&y)
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let a = self.attention(&self.ln1.forward(x)?)?;
        let x = (x + self.drop(a, train)?)?;
        let f = self
            .ff2
            .forward(&self.ff1.forward(&self.ln2.forward(&x)?)?.gelu()?)?;
        x + self.drop(f, train)?
    }
}

/// Feature-token Transformer encoder: `(values [B, F], missing [B, F]) → [B, d]` ([CLS] output).
pub struct FeatureTransformer {
    value_w: Tensor,
    feat_emb: Tensor,
    miss_emb: Tensor,
    cls: Tensor,
    pe: Tensor,
    layers: Vec<EncoderLayer>,
    ln_f: LayerNorm,
    cfg: TransformerConfig,
}

impl FeatureTransformer {
    /// Builds an encoder for `n_features` tokens.
    pub fn new(cfg: &TransformerConfig, n_features: usize, vb: VarBuilder) -> Result<Self> {
        if cfg.heads == 0 || !cfg.d_model.is_multiple_of(cfg.heads) {
            candle_core::bail!(
                "transformer.d_model ({}) must be a positive multiple of transformer.heads ({}); change one of them in the config",
                cfg.d_model,
                cfg.heads
            );
        }
        let d = cfg.d_model;
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let layers = (0..cfg.layers)
            .map(|i| EncoderLayer::new(cfg, vb.pp(format!("layer{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            value_w: vb.get_with_hints(
                (n_features, d),
                "value_w",
                Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            )?,
            feat_emb: vb.get_with_hints((n_features, d), "feat_emb", init)?,
            miss_emb: vb.get_with_hints((n_features, d), "miss_emb", init)?,
            cls: vb.get_with_hints((1, 1, d), "cls", init)?,
            pe: positional_encoding(n_features + 1, d, vb.device())?.to_dtype(DType::F32)?,
            layers,
            ln_f: LayerNorm::new(d, 1e-5, vb.pp("ln_f"))?,
            cfg: cfg.clone(),
        })
    }

    /// Width of the representation this encoder emits.
    pub fn out_dim(&self) -> usize {
        self.cfg.d_model
    }

    /// Encodes standardised values and 0/1 missing flags, both `[B, F]`.
    pub fn forward(&self, values: &Tensor, missing: &Tensor, train: bool) -> Result<Tensor> {
        let b = values.dim(0)?;
        let tok = values
            .unsqueeze(D::Minus1)?
            .broadcast_mul(&self.value_w)?
            .broadcast_add(&self.feat_emb)?
            .add(
                &missing
                    .unsqueeze(D::Minus1)?
                    .broadcast_mul(&self.miss_emb)?,
            )?;
        let cls = self.cls.broadcast_as((b, 1, self.cfg.d_model))?;
        let mut h = Tensor::cat(&[&cls, &tok], 1)?.broadcast_add(&self.pe)?;
        for layer in &self.layers {
            h = layer.forward(&h, train)?;
        }
        self.ln_f.forward(&h.narrow(1, 0, 1)?.squeeze(1)?)
    }
}

/// Standalone baseline: Transformer + linear head → logits `[B, 2]`.
pub struct TransformerClassifier {
    pub encoder: FeatureTransformer,
    head: Linear,
}

impl TransformerClassifier {
    /// Builds encoder (`vb/"transformer"`) and head (`vb/"head"`).
    pub fn new(cfg: &TransformerConfig, n_features: usize, vb: VarBuilder) -> Result<Self> {
        let encoder = FeatureTransformer::new(cfg, n_features, vb.pp("transformer"))?;
        let head = linear(encoder.out_dim(), 2, vb.pp("head"))?;
        Ok(Self { encoder, head })
    }

    /// Logits for one batch of feature tokens.
    pub fn forward(&self, values: &Tensor, missing: &Tensor, train: bool) -> Result<Tensor> {
        self.head
            .forward(&self.encoder.forward(values, missing, train)?)
    }
}
