//! Small neural-network utilities shared by the models.
//!
//! Why: candle's CPU random number generator cannot be seeded
//! (`Device::Cpu.set_seed` is an error), so initialisation and dropout would
//! differ on every run. The "spread across seeds" the report measures needs
//! runs that are reproducible for a given seed, so parameters are initialised
//! by [`SeededBackend`] and dropout masks come from a seeded thread-local RNG.

use std::cell::RefCell;
use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A `VarBuilder` backend that creates missing variables in a [`VarMap`] with a seeded RNG.
pub struct SeededBackend {
    map: VarMap,
    rng: Mutex<Xoshiro256PlusPlus>,
}

fn sample(init: Init, shape: &Shape, rng: &mut Xoshiro256PlusPlus) -> Vec<f32> {
    let n = shape.elem_count();
    let uniform = |rng: &mut Xoshiro256PlusPlus, lo: f64, up: f64| -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(lo..up) as f32).collect()
    };
    let normal = |rng: &mut Xoshiro256PlusPlus, mean: f64, std: f64| -> Vec<f32> {
        let d = Normal::new(mean, std.max(1e-12)).expect("finite std");
        (0..n).map(|_| d.sample(rng) as f32).collect()
    };
    match init {
        Init::Const(c) => vec![c as f32; n],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let fan = FanInOut::for_shape(&fan, shape);
            let std = non_linearity.gain() / (fan as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let b = 3f64.sqrt() * std;
                    uniform(rng, -b, b)
                }
                NormalOrUniform::Normal => normal(rng, 0.0, std),
            }
        }
    }
}

impl SimpleBackend for SeededBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self.map.data().lock().expect("varmap lock");
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                candle_core::bail!(
                    "variable {name}: shape {:?} in store, model expects {s:?}",
                    v.shape()
                );
            }
            return Ok(v.as_tensor().clone());
        }
        let vals = sample(h, &s, &mut self.rng.lock().expect("rng lock"));
        let var = Var::from_tensor(&Tensor::from_vec(vals, s, dev)?.to_dtype(dtype)?)?;
        data.insert(name.to_string(), var.clone());
        Ok(var.as_tensor().clone())
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        match self.map.data().lock().expect("varmap lock").get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => candle_core::bail!("variable {name} is not in the store"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .expect("varmap lock")
            .contains_key(name)
    }
}

/// A `VarBuilder` over `map` whose new variables are initialised from `seed`.
pub fn seeded_var_builder(map: &VarMap, seed: u64, device: &Device) -> VarBuilder<'static> {
    let backend = SeededBackend {
        map: map.clone(),
        rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(seed)),
    };
    VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone())
}

thread_local! {
    static DROPOUT_RNG: RefCell<Xoshiro256PlusPlus> = RefCell::new(Xoshiro256PlusPlus::seed_from_u64(0));
}

/// Re-seeds this thread's dropout masks (called at the start of training).
pub fn seed_dropout(seed: u64) {
    DROPOUT_RNG.with(|r| {
        *r.borrow_mut() = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15)
    });
}

/// Inverted dropout with a seeded mask: zero with probability `p`, scale the rest by `1/(1-p)`.
pub fn dropout(x: &Tensor, p: f32) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let scale = 1.0 / (1.0 - p);
    let mask: Vec<f32> = DROPOUT_RNG.with(|r| {
        let mut r = r.borrow_mut();
        (0..x.elem_count())
            .map(|_| if r.gen::<f32>() < p { 0.0 } else { scale })
            .collect()
    });
    x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
}

/// Layer normalisation built from differentiable primitives.
///
/// Why not `candle_nn::LayerNorm`: on contiguous input it dispatches to the
/// fused `ops::layer_norm`, which is applied with `apply_op3_no_bwd` — no
/// gradient flows through it, silently (the finite-difference test in
/// `tests/models.rs` caught this). Parameter names match candle/PyTorch
/// (`weight`, `bias`).
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// `dim`-wide layer norm with parameters under `vb`.
    pub fn new(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(dim, "weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(dim, "bias", Init::Const(0.0))?,
            eps,
        })
    }

    /// Normalises over the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let d = x.dim(candle_core::D::Minus1)? as f64;
        let mean = (x.sum_keepdim(candle_core::D::Minus1)? / d)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = (xc.sqr()?.sum_keepdim(candle_core::D::Minus1)? / d)?;
        xc.broadcast_div(&(var + self.eps)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}
