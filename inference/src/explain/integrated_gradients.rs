//! Integrated Gradients (Sundararajan et al. 2017) for the hybrid, per prediction.
//!
//! IG attributes `logit(x) − logit(x')` to the inputs by integrating gradients
//! along the straight path from a baseline `x'` to `x` (midpoint Riemann sum,
//! all path points evaluated as one batch). Baseline: every standardised
//! tabular value at the training mean (0) and observed, every vital at its
//! mean and observed, and each GBDT margin at the booster's expected value.
//!
//! The GBDT margins are not differentiable in the raw features, so the
//! gradient stops there; their share is passed on through exact TreeSHAP:
//! feature `j` receives `ḡ_m · φ_j` where `ḡ_m` is the path-averaged gradient
//! of the output with respect to margin `m` and `φ_j` its TreeSHAP value.
//! Because `Σ_j φ_j = m(x) − E[m]`, completeness is preserved (up to the
//! Riemann error): the attributions add up to `logit(x) − logit(x')`.

use anyhow::Result;
use candle_core::{DType, Tensor, Var};

use crate::train::{NeuralModel, Tensors};

/// Attributions of one task's logit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IgAttribution {
    /// One value per tabular column, then one per vital-sign series.
    pub values: Vec<f64>,
    /// Logit at the input.
    pub logit: f64,
    /// Logit at the baseline.
    pub baseline_logit: f64,
}

impl IgAttribution {
    /// `Σ attributions − (logit − baseline_logit)`; near 0 when enough steps were used.
    pub fn completeness_gap(&self) -> f64 {
        self.values.iter().sum::<f64>() - (self.logit - self.baseline_logit)
    }
}

fn lerp(b: &Tensor, x: &Tensor, alphas: &Tensor) -> candle_core::Result<Tensor> {
    // b + α (x − b), with α broadcast over every non-batch dimension.
    let mut shape = vec![alphas.dim(0)?];
    shape.extend(std::iter::repeat_n(1, x.rank() - 1));
    let a = alphas.reshape(shape)?;
    b.broadcast_add(&(x - b)?.broadcast_mul(&a)?)
}

/// IG for both tasks of one query. `x` and `baseline` are single-row
/// [`Tensors`]; `treeshap[m]` are the TreeSHAP values of GBDT margin `m`
/// (response, ADR) over the tabular columns. `vitals` is the number of vital
/// series (the sequence has `2 * vitals` channels: values then flags).
pub fn integrated_gradients(
    model: &NeuralModel,
    x: &Tensors,
    baseline: &Tensors,
    treeshap: [&[f64]; 2],
    vitals: usize,
    steps: usize,
) -> Result<[IgAttribution; 2]> {
    let dev = x.values.device();
    let alphas: Vec<f32> = (0..steps)
        .map(|k| (k as f32 + 0.5) / steps as f32)
        .collect();
    let alphas = Tensor::new(alphas.as_slice(), dev)?;
    let path = |f: fn(&Tensors) -> &Tensor| -> Result<Var> {
        Ok(Var::from_tensor(&lerp(f(baseline), f(x), &alphas)?)?)
    };
    let values = path(|t| &t.values)?;
    let missing = path(|t| &t.missing)?;
    let seq = path(|t| &t.seq)?;
    let gbdt = path(|t| &t.gbdt)?;
    let batch = Tensors {
        values: values.as_tensor().clone(),
        missing: missing.as_tensor().clone(),
        seq: seq.as_tensor().clone(),
        gbdt: gbdt.as_tensor().clone(),
        y: Tensor::zeros((steps, 2), DType::F32, dev)?,
    };
    let at_x = model.forward(x, false)?.to_vec2::<f32>()?[0].clone();
    let at_b = model.forward(baseline, false)?.to_vec2::<f32>()?[0].clone();
    let f = x.values.dim(1)?;
    let (t, c2) = (x.seq.dim(1)?, x.seq.dim(2)?);
    let mut out = Vec::with_capacity(2);
    for task in 0..2 {
        let logits = model.forward(&batch, false)?;
        let grads = logits.narrow(1, task, 1)?.sum_all()?.backward()?;
        // Path-averaged gradient × (x − baseline), per input tensor.
        let ig = |var: &Var, xt: &Tensor, bt: &Tensor| -> Result<Vec<f32>> {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.mean(0)?,
                None => Tensor::zeros(xt.dims()[1..].to_vec(), DType::F32, dev)?,
            };
            Ok((g * (xt - bt)?.squeeze(0)?)?
                .flatten_all()?
                .to_vec1::<f32>()?)
        };
        let iv = ig(&values, &x.values, &baseline.values)?;
        let im = ig(&missing, &x.missing, &baseline.missing)?;
        let is = ig(&seq, &x.seq, &baseline.seq)?;
        let gm: Vec<f32> = match grads.get(gbdt.as_tensor()) {
            Some(g) => g.mean(0)?.to_vec1::<f32>()?,
            None => vec![0.0; 2], // standalone models do not read the margins
        };
        let mut vals: Vec<f64> = (0..f)
            .map(|j| {
                iv[j] as f64
                    + im[j] as f64
                    + gm[0] as f64 * treeshap[0][j]
                    + gm[1] as f64 * treeshap[1][j]
            })
            .collect();
        for v in 0..vitals {
            // Value channel v and its observed-flag channel vitals + v, summed over time.
            let s: f64 = (0..t)
                .map(|ti| is[ti * c2 + v] as f64 + is[ti * c2 + vitals + v] as f64)
                .sum();
            vals.push(s);
        }
        out.push(IgAttribution {
            values: vals,
            logit: at_x[task] as f64,
            baseline_logit: at_b[task] as f64,
        });
    }
    let adr = out.pop().expect("two tasks");
    let resp = out.pop().expect("two tasks");
    Ok([resp, adr])
}
