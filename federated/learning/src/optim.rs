//! Optimisers over the flat parameter vector. Under DP they only ever see the
//! *noised* gradient, so whatever they do is post-processing and costs no
//! privacy. A site starts each round with fresh optimiser state (as in FedAvg:
//! only the model travels between rounds).

use serde::{Deserialize, Serialize};

/// Which local optimiser a site uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999, ε = 1e-8), no weight decay.
    #[default]
    Adam,
    /// Plain SGD.
    Sgd,
}

/// Optimiser state for one round of local training.
pub struct FlatOptimizer {
    kind: OptimizerKind,
    lr: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl FlatOptimizer {
    pub fn new(kind: OptimizerKind, lr: f64, dim: usize) -> Self {
        let (m, v) = match kind {
            OptimizerKind::Adam => (vec![0.0; dim], vec![0.0; dim]),
            OptimizerKind::Sgd => (Vec::new(), Vec::new()),
        };
        Self {
            kind,
            lr,
            m,
            v,
            t: 0,
        }
    }

    /// One step: `params ← params − lr · direction(grad)`.
    pub fn step(&mut self, params: &mut [f32], grad: &[f64]) {
        debug_assert_eq!(params.len(), grad.len());
        match self.kind {
            OptimizerKind::Sgd => {
                for (p, g) in params.iter_mut().zip(grad) {
                    *p -= (self.lr * g) as f32;
                }
            }
            OptimizerKind::Adam => {
                const B1: f64 = 0.9;
                const B2: f64 = 0.999;
                const EPS: f64 = 1e-8;
                self.t += 1;
                let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
                for (((p, g), m), v) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(self.m.iter_mut())
                    .zip(self.v.iter_mut())
                {
                    *m = B1 * *m + (1.0 - B1) * g;
                    *v = B2 * *v + (1.0 - B2) * g * g;
                    *p -= (self.lr * (*m / c1) / ((*v / c2).sqrt() + EPS)) as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_and_adam_descend_a_quadratic() {
        for kind in [OptimizerKind::Sgd, OptimizerKind::Adam] {
            let mut p = vec![3.0f32, -2.0];
            let mut o = FlatOptimizer::new(kind, 0.1, 2);
            for _ in 0..300 {
                let g: Vec<f64> = p.iter().map(|&x| 2.0 * x as f64).collect();
                o.step(&mut p, &g);
            }
            assert!(p.iter().all(|x| x.abs() < 0.05), "{kind:?}: {p:?}");
        }
    }
}
