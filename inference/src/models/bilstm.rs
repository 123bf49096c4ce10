//! Bidirectional stacked LSTM over vital-sign / wearable time series (seed §3.3.2).
//!
//! The cell follows the seed's gate equations (2)–(3) and PyTorch's `nn.LSTM`
//! layout and parameter names (`weight_ih_l{k}[_reverse]`, gates ordered
//! i, f, g, o), so a PyTorch state dict maps one-to-one and the bench's
//! reference model is the same architecture. We do not call
//! `candle_nn::LSTM::seq` because it projects the input one step at a time;
//! projecting the whole sequence with one matmul first is several times
//! faster on CPU. Dropout is applied between layers (PyTorch's `dropout`),
//! our stand-in for the seed's "recurrent dropout".

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{Init, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

/// BiLSTM sizes. The seed's configuration is `hidden = 256, layers = 3, dropout = 0.3`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BiLstmConfig {
    /// Memory units per direction per layer.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Dropout between stacked layers (training only).
    pub dropout: f32,
}

impl Default for BiLstmConfig {
    fn default() -> Self {
        Self {
            hidden: 32,
            layers: 2,
            dropout: 0.1,
        }
    }
}

struct Direction {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    hidden: usize,
}

impl Direction {
    fn new(in_dim: usize, hidden: usize, suffix: &str, vb: &VarBuilder) -> Result<Self> {
        // PyTorch's initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every parameter.
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Init::Uniform { lo: -k, up: k };
        let w_ih = vb.get_with_hints((4 * hidden, in_dim), &format!("weight_ih_{suffix}"), init)?;
        let w_hh = vb.get_with_hints((4 * hidden, hidden), &format!("weight_hh_{suffix}"), init)?;
        let b_ih = vb.get_with_hints(4 * hidden, &format!("bias_ih_{suffix}"), init)?;
        let b_hh = vb.get_with_hints(4 * hidden, &format!("bias_hh_{suffix}"), init)?;
        Ok(Self {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            hidden,
        })
    }

    /// Runs over `x: [B, T, I]`; returns hidden states `[B, T, H]` in time order.
    fn run(&self, x: &Tensor, reverse: bool) -> Result<Tensor> {
        let (b, t, i) = x.dims3()?;
        let h4 = 4 * self.hidden;
        // Summed here, not at construction: a sum cached from the variables
        // would go stale when the optimiser (or a checkpoint load) updates them.
        let bias = (&self.b_ih + &self.b_hh)?;
        let xp = x
            .reshape((b * t, i))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(&bias)?
            .reshape((b, t, h4))?;
        let w_hh_t = self.w_hh.t()?;
        let mut h = Tensor::zeros((b, self.hidden), x.dtype(), x.device())?;
        let mut c = h.clone();
        let mut out = vec![h.clone(); t];
        for step in 0..t {
            let s = if reverse { t - 1 - step } else { step };
            let gates = (xp.narrow(1, s, 1)?.squeeze(1)? + h.matmul(&w_hh_t)?)?;
            let chunks = gates.chunk(4, 1)?;
            let ig = candle_nn::ops::sigmoid(&chunks[0])?;
            let fg = candle_nn::ops::sigmoid(&chunks[1])?;
            let gg = chunks[2].tanh()?;
            let og = candle_nn::ops::sigmoid(&chunks[3])?;
            c = ((fg * &c)? + (ig * gg)?)?;
            h = (og * c.tanh()?)?;
            out[s] = h.clone();
        }
        Tensor::stack(&out, 1)
    }
}

/// The BiLSTM encoder: `[B, T, I] → [B, 2H]` (last forward state ‖ first backward state).
pub struct BiLstm {
    layers: Vec<(Direction, Direction)>,
    cfg: BiLstmConfig,
}

impl BiLstm {
    /// Builds the encoder for `input_dim` channels; parameters live under `vb`.
    pub fn new(cfg: &BiLstmConfig, input_dim: usize, vb: VarBuilder) -> Result<Self> {
        let mut layers = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let in_dim = if l == 0 { input_dim } else { 2 * cfg.hidden };
            layers.push((
                Direction::new(in_dim, cfg.hidden, &format!("l{l}"), &vb)?,
                Direction::new(in_dim, cfg.hidden, &format!("l{l}_reverse"), &vb)?,
            ));
        }
        Ok(Self {
            layers,
            cfg: cfg.clone(),
        })
    }

    /// Width of the representation this encoder emits.
    pub fn out_dim(&self) -> usize {
        2 * self.cfg.hidden
    }

    /// Encodes `x: [B, T, I]`; `train` enables inter-layer dropout.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = x.clone();
        let n = self.layers.len();
        for (l, (f, b)) in self.layers.iter().enumerate() {
            let fo = f.run(&h, false)?;
            let bo = b.run(&h, true)?;
            h = Tensor::cat(&[&fo, &bo], D::Minus1)?;
            if train && l + 1 < n && self.cfg.dropout > 0.0 {
                h = crate::nn::dropout(&h, self.cfg.dropout)?;
            }
        }
        let t = h.dim(1)?;
        let hd = self.cfg.hidden;
        let last_fwd = h.narrow(1, t - 1, 1)?.squeeze(1)?.narrow(1, 0, hd)?;
        let first_bwd = h.narrow(1, 0, 1)?.squeeze(1)?.narrow(1, hd, hd)?;
        Tensor::cat(&[&last_fwd, &first_bwd], 1)
    }
}

/// Standalone baseline: BiLSTM + linear head → logits `[B, 2]` (response, ADR).
pub struct BiLstmClassifier {
    pub encoder: BiLstm,
    head: Linear,
}

impl BiLstmClassifier {
    /// Builds encoder (`vb/"lstm"`) and head (`vb/"head"`).
    pub fn new(cfg: &BiLstmConfig, input_dim: usize, vb: VarBuilder) -> Result<Self> {
        let encoder = BiLstm::new(cfg, input_dim, vb.pp("lstm"))?;
        let head = candle_nn::linear(encoder.out_dim(), 2, vb.pp("head"))?;
        Ok(Self { encoder, head })
    }

    /// Logits for `x: [B, T, I]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.head.forward(&self.encoder.forward(x, train)?)
    }
}
