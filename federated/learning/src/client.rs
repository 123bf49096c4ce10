//! The site's side (Flower's "client"): local training from the global model
//! on the site's own, currently granted patients.
//!
//! A [`SiteClient`] holds only its own patients' features. Each round it is
//! handed the global parameters and the **explicit list of granted patient
//! ids** (what the worker got back from the chain's `request_access_batch`,
//! purpose `FederatedTraining`); a patient not on the list is never read.
//!
//! Without DP it runs ordinary local epochs (shuffled mini-batches, mean loss).
//! With [`DpSgd`] it runs **patient-level DP-SGD** (Abadi et al. 2016): each of
//! `steps` steps Poisson-samples every granted patient with probability `q`,
//! computes each sampled patient's gradient separately (one backward pass per
//! patient; candle has no per-example gradients), clips it to L2 norm `C`,
//! sums, adds `N(0, σ²C²)` to every coordinate, and divides by the *expected*
//! batch size `q·n_k`. The optimiser then steps on that noised gradient
//! (post-processing). One cohort row is one patient, so per-example clipping is
//! per-patient clipping. What leaves the site — the change of its parameters —
//! is then (ε, δ)-DP for each of its patients, whatever the aggregator does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Tensor, Var};
use consentry_inference::nn::seed_dropout;
use consentry_inference::train::{bce_loss, NeuralModel, Tensors};
use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::dp;
use crate::optim::{FlatOptimizer, OptimizerKind};
use crate::params::{flatten_grads, named_vars, ParamLayout};

/// Patient-level DP-SGD settings of one round at one site (the accountant's inputs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DpSgd {
    /// Poisson sampling rate `q` of each granted patient per step.
    pub sampling_rate: f64,
    /// Noise multiplier `σ` (noise std = σ·C on the summed gradient).
    pub noise_multiplier: f64,
    /// Per-patient L2 clipping norm `C`.
    pub clip_norm: f64,
    /// DP-SGD steps this round.
    pub steps: usize,
}

/// How a site trains in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalTraining {
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Without DP: local epochs over the granted patients.
    pub epochs: usize,
    /// Without DP: mini-batch size.
    pub batch_size: usize,
    /// Patient-level DP-SGD (replaces `epochs`/`batch_size`).
    pub dp: Option<DpSgd>,
    /// Draw the DP noise from a generator seeded by the round seed
    /// (reproducible simulations and tests); otherwise from the OS (a deployment).
    #[serde(default)]
    pub seeded_noise: bool,
}

/// What a site produces in a round. Only `n` and `delta` leave the site (through
/// secure aggregation); `trained` stays local (the worker's read log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalUpdate {
    pub site: usize,
    /// Granted patients this round (`n_k`, the FedAvg weight).
    pub n: u64,
    /// `w_k(t+1) − w(t)`.
    pub delta: Vec<f32>,
    /// Ids of the patients whose data this round read (sorted).
    pub trained: Vec<String>,
    /// DP-SGD inputs for the accountant, when DP is on.
    pub accountant: Option<DpSgd>,
    /// Per-patient gradients computed (DP) or rows seen (no DP).
    pub examples: usize,
    /// Fraction of per-patient gradients that were clipped (DP).
    pub clipped_frac: f64,
    pub secs: f64,
}

/// One site: its patients' features and a model of the study's architecture.
pub struct SiteClient {
    pub site: usize,
    /// Patient id → row of `data`.
    index: BTreeMap<String, usize>,
    data: Tensors,
    model: NeuralModel,
    vars: Vec<(String, Var)>,
    layout: ParamLayout,
    pos_weight: Tensor,
}

/// Row `i` of `t` as a batch of one.
fn row(t: &Tensors, i: usize) -> Result<Tensors> {
    Ok(Tensors {
        values: t.values.narrow(0, i, 1)?,
        missing: t.missing.narrow(0, i, 1)?,
        seq: t.seq.narrow(0, i, 1)?,
        gbdt: t.gbdt.narrow(0, i, 1)?,
        y: t.y.narrow(0, i, 1)?,
    })
}

impl SiteClient {
    /// A site holding `ids` (one per row of `data`), training `model`. The ADR
    /// positive-class weight is the study's fixed, public one.
    pub fn new(
        site: usize,
        ids: Vec<String>,
        data: Tensors,
        model: NeuralModel,
        adr_pos_weight: f64,
    ) -> Result<Self> {
        if ids.len() != data.len() {
            bail!("site {site}: {} ids for {} rows", ids.len(), data.len());
        }
        let mut index = BTreeMap::new();
        for (i, id) in ids.into_iter().enumerate() {
            if index.insert(id.clone(), i).is_some() {
                bail!("site {site}: patient {id} twice");
            }
        }
        let vars = named_vars(&model.varmap);
        let layout = ParamLayout::of(&model.varmap);
        let pos_weight = Tensor::new(&[[1.0f32, adr_pos_weight as f32]], data.y.device())?;
        Ok(Self {
            site,
            index,
            data,
            model,
            vars,
            layout,
            pos_weight,
        })
    }

    /// The parameter layout of the site's model.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Patients this site holds (granted or not).
    pub fn patients(&self) -> usize {
        self.index.len()
    }

    /// The model (holds the last round's local weights after [`Self::train_round`]).
    pub fn model(&self) -> &NeuralModel {
        &self.model
    }

    fn set_params(&self, flat: &[f32]) -> Result<()> {
        let mut off = 0;
        for (_, var) in &self.vars {
            let n = var.elem_count();
            var.set(&Tensor::from_slice(
                &flat[off..off + n],
                var.shape(),
                var.device(),
            )?)?;
            off += n;
        }
        Ok(())
    }

    /// Mean loss of `b` and its gradient, flattened in layout order.
    fn grad(&self, b: &Tensors) -> Result<(f64, Vec<f32>)> {
        let logits = self.model.forward(b, true)?;
        let loss = bce_loss(&logits, &b.y, &self.pos_weight)?;
        let g = flatten_grads(&self.vars, &loss.backward()?)?;
        Ok((loss.to_scalar::<f32>()? as f64, g))
    }

    /// The gradient of patient `i`'s loss alone (local row index).
    pub fn patient_gradient(&self, i: usize) -> Result<Vec<f32>> {
        Ok(self.grad(&row(&self.data, i)?)?.1)
    }

    /// Local rows of the granted ids; an id this site does not hold is an error.
    fn granted_rows(&self, granted: &[String]) -> Result<Vec<(usize, String)>> {
        let set: BTreeSet<&String> = granted.iter().collect();
        set.into_iter()
            .map(|id| {
                self.index
                    .get(id)
                    .map(|&i| (i, id.clone()))
                    .with_context(|| {
                        format!("site {}: granted patient {id} is not held here", self.site)
                    })
            })
            .collect()
    }

    /// One DP-SGD step's noised gradient over the granted rows `rows` (local
    /// indices): Poisson sample (rate q), per-patient clip to C, sum, add
    /// N(0, σ²C²), divide by q·n. Returns (gradient, sampled, clipped).
    pub fn dp_gradient<R: RngCore + CryptoRng>(
        &self,
        rows: &[usize],
        dp_cfg: &DpSgd,
        sample_rng: &mut Xoshiro256PlusPlus,
        noise_rng: &mut R,
    ) -> Result<(Vec<f64>, usize, usize)> {
        let d = self.layout.len();
        let mut sum = vec![0f64; d];
        let (mut sampled, mut clipped) = (0, 0);
        for &i in rows {
            if !sample_rng.gen_bool(dp_cfg.sampling_rate) {
                continue;
            }
            let mut g = self.patient_gradient(i)?;
            // clip_l2 returns the scale factor applied (1 = within the norm).
            if dp::clip_l2(&mut g, dp_cfg.clip_norm) < 1.0 {
                clipped += 1;
            }
            for (s, x) in sum.iter_mut().zip(&g) {
                *s += *x as f64;
            }
            sampled += 1;
        }
        dp::add_gaussian_noise_f64(
            &mut sum,
            dp_cfg.noise_multiplier * dp_cfg.clip_norm,
            noise_rng,
        )?;
        let expected = dp_cfg.sampling_rate * rows.len() as f64;
        for s in &mut sum {
            *s /= expected;
        }
        Ok((sum, sampled, clipped))
    }

    /// Trains from `global` on the granted patients; returns the update.
    /// `seed` drives sampling, shuffling and (in this simulation) the DP noise;
    /// a deployment draws the noise from the OS's CSPRNG instead.
    pub fn train_round(
        &mut self,
        global: &[f32],
        granted: &[String],
        cfg: &LocalTraining,
        seed: u64,
    ) -> Result<LocalUpdate> {
        let t0 = Instant::now();
        if global.len() != self.layout.len() {
            bail!(
                "site {}: global model has {} values, this architecture {}",
                self.site,
                global.len(),
                self.layout.len()
            );
        }
        let granted = self.granted_rows(granted)?;
        if granted.is_empty() {
            bail!("site {}: no granted patients this round", self.site);
        }
        let rows: Vec<usize> = granted.iter().map(|(i, _)| *i).collect();
        let n = rows.len();
        self.set_params(global)?;
        seed_dropout(seed);
        let mut params = global.to_vec();
        let mut opt = FlatOptimizer::new(cfg.optimizer, cfg.lr, params.len());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (mut examples, mut clipped) = (0usize, 0usize);
        match &cfg.dp {
            Some(dp_cfg) => {
                if !(dp_cfg.sampling_rate > 0.0 && dp_cfg.sampling_rate <= 1.0) {
                    bail!("DP-SGD: sampling rate must be in (0, 1]");
                }
                if dp_cfg.clip_norm <= 0.0 || dp_cfg.noise_multiplier < 0.0 {
                    bail!("DP-SGD: clip norm must be positive and σ non-negative");
                }
                let mut noise_rng = if cfg.seeded_noise {
                    dp::seeded_rng(seed ^ 0x0DD5_EED5)
                } else {
                    dp::secure_rng()
                };
                for _ in 0..dp_cfg.steps {
                    let (g, s, c) = self.dp_gradient(&rows, dp_cfg, &mut rng, &mut noise_rng)?;
                    examples += s;
                    clipped += c;
                    opt.step(&mut params, &g);
                    self.set_params(&params)?;
                }
            }
            None => {
                let mut order = rows.clone();
                for _ in 0..cfg.epochs {
                    order.shuffle(&mut rng);
                    for chunk in order.chunks(cfg.batch_size.max(1)) {
                        let idx: Vec<u32> = chunk.iter().map(|&i| i as u32).collect();
                        let (_, g) = self.grad(&self.data.select(&idx)?)?;
                        let g: Vec<f64> = g.into_iter().map(f64::from).collect();
                        opt.step(&mut params, &g);
                        self.set_params(&params)?;
                        examples += chunk.len();
                    }
                }
            }
        }
        let delta = params.iter().zip(global).map(|(p, g)| p - g).collect();
        Ok(LocalUpdate {
            site: self.site,
            n: n as u64,
            delta,
            trained: granted.into_iter().map(|(_, id)| id).collect(),
            accountant: cfg.dp,
            examples,
            clipped_frac: if examples > 0 && cfg.dp.is_some() {
                clipped as f64 / examples as f64
            } else {
                0.0
            },
            secs: t0.elapsed().as_secs_f64(),
        })
    }
}
