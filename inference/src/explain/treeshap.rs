//! Exact (path-dependent) TreeSHAP — Lundberg, Erion & Lee 2018, Algorithm 2.
//!
//! For each tree the value of a coalition `S` is `E[f(x) | x_S]` where a split
//! on a feature outside `S` is averaged over both children weighted by their
//! cover (hessian sum), the same definition XGBoost's `pred_contribs` uses. The
//! polynomial algorithm gives exactly the Shapley values of that game; the
//! tests compare it with the brute-force subset sum of equation (7) of the seed.

use crate::models::gbdt::{Gbdt, Tree};

#[derive(Clone, Copy, Debug)]
struct PathElement {
    feature: i64,
    zero: f64,
    one: f64,
    pweight: f64,
}

/// SHAP values of `x` for a booster, in margin (log-odds) units: returns
/// `(phi, expected)` with `expected + Σ phi == model.predict_margin(x)`.
pub fn tree_shap(model: &Gbdt, x: &[f32]) -> (Vec<f64>, f64) {
    let mut phi = vec![0.0; model.num_features];
    let mut expected = model.base_margin();
    for t in &model.trees {
        tree_shap_single(t, x, &mut phi);
        expected += expected_value(t);
    }
    (phi, expected)
}

/// Cover-weighted mean leaf value of one tree (its contribution to `expected`).
pub fn expected_value(t: &Tree) -> f64 {
    fn rec(t: &Tree, n: usize) -> f64 {
        if t.is_leaf(n) {
            return t.split_condition[n] as f64;
        }
        let (l, r) = (t.left[n] as usize, t.right[n] as usize);
        let c = t.sum_hessian[n] as f64;
        (t.sum_hessian[l] as f64 * rec(t, l) + t.sum_hessian[r] as f64 * rec(t, r)) / c
    }
    rec(t, 0)
}

/// Adds one tree's SHAP values for `x` into `phi`.
pub fn tree_shap_single(t: &Tree, x: &[f32], phi: &mut [f64]) {
    recurse(t, x, phi, 0, Vec::with_capacity(32), 1.0, 1.0, -1);
}

fn extend(path: &mut Vec<PathElement>, zero: f64, one: f64, feature: i64) {
    let d = path.len();
    path.push(PathElement {
        feature,
        zero,
        one,
        pweight: if d == 0 { 1.0 } else { 0.0 },
    });
    for i in (0..d).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / (d + 1) as f64;
        path[i].pweight = zero * path[i].pweight * (d - i) as f64 / (d + 1) as f64;
    }
}

/// Removes element `k` from the path, undoing its contribution to the weights.
fn unwind(path: &mut Vec<PathElement>, k: usize) {
    let d = path.len() - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let mut next = path[d].pweight;
    for i in (0..d).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next * (d + 1) as f64 / ((i + 1) as f64 * one);
            next = tmp - path[i].pweight * zero * (d - i) as f64 / (d + 1) as f64;
        } else {
            path[i].pweight = path[i].pweight * (d + 1) as f64 / (zero * (d - i) as f64);
        }
    }
    // Weights stay in place (they were recomputed for positions 0..d); the
    // feature/fraction fields shift down over the removed element.
    for i in k..d {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
    path.pop();
}

/// Total permutation weight of the path with element `k` removed.
fn unwound_sum(path: &[PathElement], k: usize) -> f64 {
    let d = path.len() - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let mut next = path[d].pweight;
    let mut total = 0.0;
    for i in (0..d).rev() {
        if one != 0.0 {
            let tmp = next * (d + 1) as f64 / ((i + 1) as f64 * one);
            total += tmp;
            next = path[i].pweight - tmp * zero * (d - i) as f64 / (d + 1) as f64;
        } else {
            total += path[i].pweight / zero / ((d - i) as f64 / (d + 1) as f64);
        }
    }
    total
}

#[allow(clippy::too_many_arguments)]
fn recurse(
    t: &Tree,
    x: &[f32],
    phi: &mut [f64],
    node: usize,
    mut path: Vec<PathElement>,
    zero: f64,
    one: f64,
    feature: i64,
) {
    extend(&mut path, zero, one, feature);
    if t.is_leaf(node) {
        let v = t.split_condition[node] as f64;
        for i in 1..path.len() {
            let w = unwound_sum(&path, i);
            let el = path[i];
            phi[el.feature as usize] += w * (el.one - el.zero) * v;
        }
        return;
    }
    let hot = t.next(node, x);
    let cold = if hot == t.left[node] as usize {
        t.right[node]
    } else {
        t.left[node]
    } as usize;
    let cover = t.sum_hessian[node] as f64;
    let split = t.split_index[node] as i64;
    let (mut iz, mut io) = (1.0, 1.0);
    // A feature seen earlier on the path is undone and redone with the joint fractions.
    if let Some(k) = path.iter().position(|p| p.feature == split) {
        iz = path[k].zero;
        io = path[k].one;
        unwind(&mut path, k);
    }
    let hz = t.sum_hessian[hot] as f64 / cover;
    let cz = t.sum_hessian[cold] as f64 / cover;
    recurse(t, x, phi, hot, path.clone(), hz * iz, io, split);
    recurse(t, x, phi, cold, path, cz * iz, 0.0, split);
}

/// `E[tree(x) | x_S]` with the same cover-weighted convention (for brute force).
pub fn conditional_expectation(t: &Tree, x: &[f32], in_s: &[bool]) -> f64 {
    fn rec(t: &Tree, x: &[f32], s: &[bool], n: usize) -> f64 {
        if t.is_leaf(n) {
            return t.split_condition[n] as f64;
        }
        if s[t.split_index[n] as usize] {
            return rec(t, x, s, t.next(n, x));
        }
        let (l, r) = (t.left[n] as usize, t.right[n] as usize);
        (t.sum_hessian[l] as f64 * rec(t, x, s, l) + t.sum_hessian[r] as f64 * rec(t, x, s, r))
            / t.sum_hessian[n] as f64
    }
    rec(t, x, in_s, 0)
}

/// Brute-force Shapley values by enumerating all 2^M coalitions (M ≤ ~12).
pub fn brute_force_shap(model: &Gbdt, x: &[f32]) -> Vec<f64> {
    let m = model.num_features;
    assert!(
        m <= 16,
        "brute force is exponential in the number of features"
    );
    let value = |mask: usize| -> f64 {
        let s: Vec<bool> = (0..m).map(|j| mask >> j & 1 == 1).collect();
        model
            .trees
            .iter()
            .map(|t| conditional_expectation(t, x, &s))
            .sum()
    };
    let vals: Vec<f64> = (0..1usize << m).map(value).collect();
    let fact = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let mut phi = vec![0.0; m];
    for (i, p) in phi.iter_mut().enumerate() {
        for mask in 0..1usize << m {
            if mask >> i & 1 == 1 {
                continue;
            }
            let s = mask.count_ones() as usize;
            let w = fact(s) * fact(m - s - 1) / fact(m);
            *p += w * (vals[mask | 1 << i] - vals[mask]);
        }
    }
    phi
}
