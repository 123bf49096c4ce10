//! The aggregator's side (Flower's "strategy"): FedAvg, eq. (6) of the seed,
//! `w(t+1) = Σ_k (n_k / n) · w_k(t+1)` with `n_k` the site's granted-patient
//! count and `n = Σ n_k` over the sites whose update arrived.
//!
//! Sites upload their *change* `Δ_k = w_k(t+1) − w(t)` (what secure
//! aggregation sums: small, bounded values quantize better than raw weights);
//! since `Σ (n_k/n) = 1`, `w(t) + Σ (n_k/n) Δ_k` is exactly eq. (6).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One site's contribution to a round: its weight and its parameter vector
/// (or change; FedAvg is the same weighted mean either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteUpdate {
    pub site: usize,
    /// Granted patients the site trained on this round (`n_k`).
    pub n: u64,
    pub values: Vec<f32>,
}

/// Federated averaging with example-count weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FedAvg {
    /// Fewest updates a round accepts (fault tolerance: below it the round fails).
    pub min_sites: usize,
}

impl FedAvg {
    /// `Σ (n_k / n) · v_k` over `updates`, accumulated in f64.
    ///
    /// Refused: fewer than `min_sites` (or zero) updates, a site with `n = 0`,
    /// the same site twice, vectors of different lengths, non-finite values.
    pub fn aggregate(&self, updates: &[SiteUpdate]) -> Result<Vec<f32>> {
        if updates.is_empty() || updates.len() < self.min_sites {
            bail!(
                "FedAvg: {} site updates, the round needs at least {}",
                updates.len(),
                self.min_sites.max(1)
            );
        }
        let d = updates[0].values.len();
        let mut seen = std::collections::BTreeSet::new();
        for u in updates {
            if u.n == 0 {
                bail!(
                    "FedAvg: site {} reports n = 0 (no granted patients)",
                    u.site
                );
            }
            if !seen.insert(u.site) {
                bail!("FedAvg: site {} sent two updates", u.site);
            }
            if u.values.len() != d {
                bail!(
                    "FedAvg: site {} sent {} values, site {} sent {d}",
                    u.site,
                    u.values.len(),
                    updates[0].site
                );
            }
            if u.values.iter().any(|x| !x.is_finite()) {
                bail!("FedAvg: site {} sent a non-finite value", u.site);
            }
        }
        let n: f64 = updates.iter().map(|u| u.n as f64).sum();
        let mut acc = vec![0f64; d];
        for u in updates {
            let w = u.n as f64 / n;
            for (a, &x) in acc.iter_mut().zip(&u.values) {
                *a += w * x as f64;
            }
        }
        Ok(acc.into_iter().map(|x| x as f32).collect())
    }

    /// FedAvg from what secure aggregation reveals: the sum of weights
    /// `Σ n_k` and the weighted sum `Σ n_k · v_k` (the aggregator never sees a
    /// single site's `v_k`). Refused when `total_n` is not positive.
    pub fn from_weighted_sum(&self, total_n: f64, weighted_sum: &[f64]) -> Result<Vec<f32>> {
        if total_n <= 0.0 || !total_n.is_finite() {
            bail!("FedAvg: total weight {total_n} is not positive");
        }
        Ok(weighted_sum.iter().map(|&s| (s / total_n) as f32).collect())
    }

    /// `w(t) + mean_delta`: the new global model from the weighted mean change.
    pub fn apply(global: &[f32], mean_delta: &[f32]) -> Result<Vec<f32>> {
        if global.len() != mean_delta.len() {
            bail!(
                "FedAvg: global model has {} values, the mean update {}",
                global.len(),
                mean_delta.len()
            );
        }
        Ok(global.iter().zip(mean_delta).map(|(g, d)| g + d).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(site: usize, n: u64, v: &[f32]) -> SiteUpdate {
        SiteUpdate {
            site,
            n,
            values: v.to_vec(),
        }
    }

    #[test]
    fn hand_computed_weighted_mean() {
        // n = 1 + 3 = 4: 0.25·[4, 0] + 0.75·[0, 8] = [1, 6]
        let w = FedAvg::default()
            .aggregate(&[up(0, 1, &[4.0, 0.0]), up(1, 3, &[0.0, 8.0])])
            .unwrap();
        assert_eq!(w, vec![1.0, 6.0]);
    }

    #[test]
    fn refuses_bad_rounds() {
        let f = FedAvg { min_sites: 2 };
        assert!(f.aggregate(&[up(0, 1, &[1.0])]).is_err());
        assert!(f
            .aggregate(&[up(0, 1, &[1.0]), up(1, 1, &[1.0, 2.0])])
            .is_err());
        assert!(f.aggregate(&[up(0, 0, &[1.0]), up(1, 1, &[1.0])]).is_err());
        assert!(f.aggregate(&[up(0, 1, &[1.0]), up(0, 1, &[1.0])]).is_err());
        assert!(f.from_weighted_sum(0.0, &[1.0]).is_err());
        assert!(FedAvg::apply(&[1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn weighted_sum_path_matches() {
        let f = FedAvg::default();
        let a = f
            .aggregate(&[up(0, 2, &[1.0, -1.0]), up(1, 6, &[3.0, 1.0])])
            .unwrap();
        // Σ n_k v_k = [2 + 18, -2 + 6] = [20, 4]; / 8 = [2.5, 0.5]
        let b = f.from_weighted_sum(8.0, &[20.0, 4.0]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, vec![2.5, 0.5]);
    }
}
