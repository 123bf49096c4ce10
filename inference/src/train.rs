//! Training: Adam with a cosine learning-rate schedule, early stopping on the
//! validation loss (best weights restored), a progress bar and metrics per
//! epoch; plus the GBDT pair and its out-of-fold margins for the hybrid.

use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::config::InferenceConfig;
use crate::features::FeatureSpec;
use crate::metrics::roc_auc;
use crate::models::bilstm::BiLstmClassifier;
use crate::models::fusion::Hybrid;
use crate::models::gbdt::{Gbdt, GbdtConfig};
use crate::models::logistic::Logistic;
use crate::models::transformer::TransformerClassifier;
use crate::nn::{seed_dropout, seeded_var_builder};

/// Optimiser and schedule settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of the cosine schedule.
    pub lr: f64,
    /// Final learning rate as a fraction of `lr`.
    pub min_lr_frac: f64,
    /// Early stopping: epochs without validation-loss improvement.
    pub patience: usize,
    /// Positive-class weight for the ADR loss; `None` = #neg / #pos (balanced).
    pub adr_pos_weight: Option<f64>,
    /// Folds for the out-of-fold GBDT margins the fusion head trains on.
    pub oof_folds: usize,
    /// Training seeds (model initialisation, batch order, dropout); the report
    /// gives mean and spread over them.
    pub seeds: Vec<u64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 128,
            lr: 3e-3,
            min_lr_frac: 0.05,
            patience: 6,
            adr_pos_weight: None,
            oof_folds: 3,
            seeds: vec![1, 2, 3],
        }
    }
}

/// Which neural model to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuralKind {
    Logistic,
    Lstm,
    Transformer,
    Hybrid,
}

impl NeuralKind {
    /// File-name / report name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Logistic => "logistic",
            Self::Lstm => "lstm",
            Self::Transformer => "transformer",
            Self::Hybrid => "hybrid",
        }
    }
}

/// A batch (or a whole split) as device tensors.
#[derive(Clone, Debug)]
pub struct Tensors {
    /// Standardised tabular values `[N, F]` (0 where missing).
    pub values: Tensor,
    /// Missing flags `[N, F]`.
    pub missing: Tensor,
    /// LSTM input `[N, T, 2C]`.
    pub seq: Tensor,
    /// GBDT margins `[N, 2]` (response, ADR).
    pub gbdt: Tensor,
    /// Labels `[N, 2]` (response, ADR).
    pub y: Tensor,
}

impl Tensors {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.dim(0).unwrap_or(0)
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `idx` (gathered on the device).
    pub fn select(&self, idx: &[u32]) -> Result<Self> {
        let i = Tensor::new(idx, self.values.device())?;
        Ok(Self {
            values: self.values.index_select(&i, 0)?,
            missing: self.missing.index_select(&i, 0)?,
            seq: self.seq.index_select(&i, 0)?,
            gbdt: self.gbdt.index_select(&i, 0)?,
            y: self.y.index_select(&i, 0)?,
        })
    }
}

/// The network behind a [`NeuralModel`].
pub enum Net {
    Logistic(Logistic),
    Lstm(BiLstmClassifier),
    Transformer(TransformerClassifier),
    Hybrid(Hybrid),
}

/// A neural model and the variables it owns.
pub struct NeuralModel {
    pub kind: NeuralKind,
    pub varmap: VarMap,
    pub net: Net,
    l2: f64,
}

impl NeuralModel {
    /// Builds `kind` with fresh parameters initialised from `seed`.
    pub fn build(
        kind: NeuralKind,
        cfg: &InferenceConfig,
        spec: &FeatureSpec,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, seed, device);
        let (f, c) = (spec.n_tabular(), spec.seq_channels());
        let net = match kind {
            NeuralKind::Logistic => Net::Logistic(Logistic::new(f, vb)?),
            NeuralKind::Lstm => Net::Lstm(BiLstmClassifier::new(&cfg.bilstm, c, vb)?),
            NeuralKind::Transformer => {
                Net::Transformer(TransformerClassifier::new(&cfg.transformer, f, vb)?)
            }
            NeuralKind::Hybrid => Net::Hybrid(Hybrid::new(
                &cfg.bilstm,
                &cfg.transformer,
                &cfg.fusion,
                f,
                c,
                vb,
            )?),
        };
        Ok(Self {
            kind,
            varmap,
            net,
            l2: cfg.logistic.l2,
        })
    }

    /// Logits `[B, 2]`.
    pub fn forward(&self, t: &Tensors, train: bool) -> candle_core::Result<Tensor> {
        match &self.net {
            Net::Logistic(m) => m.forward(&t.values, &t.missing),
            Net::Lstm(m) => m.forward(&t.seq, train),
            Net::Transformer(m) => m.forward(&t.values, &t.missing, train),
            Net::Hybrid(m) => m.forward(&t.gbdt, &t.seq, &t.values, &t.missing, train),
        }
    }

    /// Probabilities `[(response, adr)]`, evaluated in batches.
    pub fn predict_proba(&self, t: &Tensors, batch: usize) -> Result<Vec<[f64; 2]>> {
        let mut out = Vec::with_capacity(t.len());
        for s in (0..t.len()).step_by(batch.max(1)) {
            let idx: Vec<u32> = (s as u32..(s + batch).min(t.len()) as u32).collect();
            let p = candle_nn::ops::sigmoid(&self.forward(&t.select(&idx)?, false)?)?;
            for r in p.to_dtype(DType::F64)?.to_vec2::<f64>()? {
                out.push([r[0], r[1]]);
            }
        }
        Ok(out)
    }

    /// Number of trainable scalars.
    pub fn n_params(&self) -> usize {
        self.varmap.all_vars().iter().map(|v| v.elem_count()).sum()
    }

    fn snapshot(&self) -> Result<Vec<(Var, Tensor)>> {
        let data = self.varmap.data().lock().expect("varmap lock");
        data.values()
            .map(|v| Ok((v.clone(), v.as_tensor().copy()?)))
            .collect()
    }
}

/// Softplus, written with `relu` and `exp(-|z|)` so it never overflows.
fn softplus(z: &Tensor) -> candle_core::Result<Tensor> {
    z.relu()? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?
}

/// Class-weighted binary cross-entropy on logits `[B, 2]`, averaged.
pub fn bce_loss(logits: &Tensor, y: &Tensor, pos_weight: &Tensor) -> candle_core::Result<Tensor> {
    // -[w·y·log σ(z) + (1-y)·log(1-σ(z))] = w·y·softplus(-z) + (1-y)·softplus(z)
    let pos = (y.broadcast_mul(pos_weight)? * softplus(&logits.neg()?)?)?;
    let neg = ((1.0 - y)? * softplus(logits)?)?;
    (pos + neg)?.mean_all()
}

/// One epoch's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_auc_response: f64,
    pub val_auc_adr: f64,
    pub secs: f64,
}

fn labels(t: &Tensors) -> Result<(Vec<f32>, Vec<f32>)> {
    let y = t.y.to_vec2::<f32>()?;
    Ok((
        y.iter().map(|r| r[0]).collect(),
        y.iter().map(|r| r[1]).collect(),
    ))
}

/// Positive-class weights `[1, 2]`: response unweighted, ADR balanced unless configured.
pub fn pos_weights(cfg: &TrainConfig, train: &Tensors) -> Result<Tensor> {
    let (_, adr) = labels(train)?;
    let pos = adr.iter().filter(|&&v| v > 0.5).count().max(1) as f64;
    let w = cfg.adr_pos_weight.unwrap_or((adr.len() as f64 - pos) / pos);
    Ok(Tensor::new(&[[1.0f32, w as f32]], train.y.device())?)
}

/// Trains `model` in place; returns the per-epoch log. Best validation-loss weights are restored.
pub fn fit(
    model: &NeuralModel,
    cfg: &TrainConfig,
    train: &Tensors,
    valid: &Tensors,
    seed: u64,
    progress: bool,
) -> Result<Vec<EpochLog>> {
    seed_dropout(seed);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let pw = pos_weights(cfg, train)?;
    let mut opt = AdamW::new(
        model.varmap.all_vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let n = train.len();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = (cfg.epochs * steps_per_epoch).max(1);
    let min_lr = cfg.lr * cfg.min_lr_frac;
    let pb = if progress {
        ProgressBar::new(cfg.epochs as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} epochs {msg}")
            .expect("static template"),
    );
    pb.set_prefix(model.kind.name());
    let (vy_r, vy_a) = labels(valid)?;
    let mut logs = Vec::new();
    let (mut best, mut best_state, mut since) = (f64::INFINITY, model.snapshot()?, 0usize);
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut step = 0usize;
    for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        order.shuffle(&mut rng);
        let mut tot = 0.0;
        let mut lr = cfg.lr;
        for chunk in order.chunks(cfg.batch_size) {
            lr = min_lr
                + 0.5
                    * (cfg.lr - min_lr)
                    * (1.0 + (std::f64::consts::PI * step as f64 / total as f64).cos());
            opt.set_learning_rate(lr);
            let b = train.select(chunk)?;
            let logits = model.forward(&b, true)?;
            let mut loss = bce_loss(&logits, &b.y, &pw)?;
            if let (Net::Logistic(m), true) = (&model.net, model.l2 > 0.0) {
                loss = (loss + (m.weight().sqr()?.mean_all()? * model.l2)?)?;
            }
            opt.backward_step(&loss)?;
            tot += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            step += 1;
        }
        let vl = model.forward(valid, false)?;
        let val_loss = bce_loss(&vl, &valid.y, &pw)?.to_scalar::<f32>()? as f64;
        let vp = candle_nn::ops::sigmoid(&vl)?
            .to_dtype(DType::F64)?
            .to_vec2::<f64>()?;
        let log = EpochLog {
            epoch,
            lr,
            train_loss: tot / n as f64,
            val_loss,
            val_auc_response: roc_auc(&vp.iter().map(|r| r[0]).collect::<Vec<_>>(), &vy_r),
            val_auc_adr: roc_auc(&vp.iter().map(|r| r[1]).collect::<Vec<_>>(), &vy_a),
            secs: t0.elapsed().as_secs_f64(),
        };
        pb.set_message(format!(
            "loss {:.4} val {:.4} auc r/a {:.3}/{:.3}",
            log.train_loss, log.val_loss, log.val_auc_response, log.val_auc_adr
        ));
        pb.inc(1);
        logs.push(log);
        if val_loss < best - 1e-5 {
            best = val_loss;
            best_state = model.snapshot()?;
            since = 0;
        } else {
            since += 1;
            if since >= cfg.patience {
                break;
            }
        }
    }
    for (var, t) in best_state {
        var.set(&t)?;
    }
    pb.finish_and_clear();
    Ok(logs)
}

/// The two boosters (response, ADR).
#[derive(Debug, Clone, PartialEq)]
pub struct GbdtPair {
    pub response: Gbdt,
    pub adr: Gbdt,
}

impl GbdtPair {
    /// Trains both tasks, early-stopping on the validation rows.
    pub fn fit(
        cfg: &GbdtConfig,
        x: &[Vec<f32>],
        y: &[[f32; 2]],
        vx: &[Vec<f32>],
        vy: &[[f32; 2]],
        names: &[String],
    ) -> Result<Self> {
        let task = |k: usize| -> Result<Gbdt> {
            let yt: Vec<f32> = y.iter().map(|r| r[k]).collect();
            let vyt: Vec<f32> = vy.iter().map(|r| r[k]).collect();
            // Response is roughly balanced; only ADR gets scale_pos_weight.
            let c = if k == 0 {
                GbdtConfig {
                    scale_pos_weight: Some(1.0),
                    ..cfg.clone()
                }
            } else {
                cfg.clone()
            };
            Gbdt::fit(&c, x, &yt, Some((vx, &vyt)), names.to_vec())
        };
        Ok(Self {
            response: task(0)?,
            adr: task(1)?,
        })
    }

    /// Margins `[response, adr]` for one row.
    pub fn margins(&self, x: &[f32]) -> [f32; 2] {
        [
            self.response.predict_margin(x) as f32,
            self.adr.predict_margin(x) as f32,
        ]
    }
}

type Pairs = Vec<(usize, usize)>;

/// Out-of-fold GBDT margins for the training rows: each fold's margins come
/// from boosters that never saw it (stacking), so the fusion head learns how
/// much to trust the trees on unseen data. Folds are a seeded permutation.
pub fn oof_margins(
    cfg: &GbdtConfig,
    folds: usize,
    x: &[Vec<f32>],
    y: &[[f32; 2]],
    seed: u64,
    names: &[String],
) -> Result<Vec<[f32; 2]>> {
    let n = x.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xF01D));
    let folds = folds.max(2);
    let mut out = vec![[0.0f32; 2]; n];
    for k in 0..folds {
        // Fold membership by position in the shuffled order.
        let (hold, keep): (Pairs, Pairs) = idx
            .iter()
            .copied()
            .enumerate()
            .partition(|(pos, _)| pos % folds == k);
        let hold: Vec<usize> = hold.into_iter().map(|(_, i)| i).collect();
        let keep: Vec<usize> = keep.into_iter().map(|(_, i)| i).collect();
        // Inside a fold, every fifth kept row drives early stopping.
        let (es, fit_rows): (Pairs, Pairs) = keep
            .iter()
            .copied()
            .enumerate()
            .partition(|(j, _)| j % 5 == 0);
        let pick = |rows: &[(usize, usize)]| -> (Vec<Vec<f32>>, Vec<[f32; 2]>) {
            rows.iter().map(|&(_, i)| (x[i].clone(), y[i])).unzip()
        };
        let (fx, fy) = pick(&fit_rows);
        let (ex, ey) = pick(&es);
        let pair = GbdtPair::fit(cfg, &fx, &fy, &ex, &ey, names)?;
        for &i in &hold {
            out[i] = pair.margins(&x[i]);
        }
    }
    Ok(out)
}
