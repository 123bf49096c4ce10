//! The GBDT pair (response, ADR) and the out-of-fold margins the hybrid's
//! fusion head trains on (stacking).

use anyhow::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::models::gbdt::{Gbdt, GbdtConfig};

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
