//! Training: histogram binning, depth-wise tree growth with XGBoost's
//! second-order split gain, and the boosting loop with early stopping.

use anyhow::{bail, Result};

use super::{logloss, sigmoid, Gbdt, GbdtConfig, Tree};

impl Tree {
    fn push(&mut self, parent: i32, hess: f64, weight: f64) -> usize {
        self.left.push(-1);
        self.right.push(-1);
        self.parent.push(parent);
        self.split_index.push(0);
        self.split_condition.push(weight as f32);
        self.default_left.push(false);
        self.loss_change.push(0.0);
        self.sum_hessian.push(hess as f32);
        self.base_weight.push(weight as f32);
        self.left.len() - 1
    }
}

/// Per-feature histogram cut points: bin(x) = number of cuts ≤ x; a split at
/// cut `j` sends `x < cuts[j]` left, i.e. bins `0..=j` left.
struct Bins {
    cuts: Vec<Vec<f32>>,
    /// Bin per (feature, sample), `u16::MAX` for missing; feature-major.
    bin: Vec<Vec<u16>>,
}

impl Bins {
    fn build(x: &[Vec<f32>], nf: usize, max_bins: usize) -> Self {
        let mut cuts = Vec::with_capacity(nf);
        let mut bin = Vec::with_capacity(nf);
        for f in 0..nf {
            let mut vals: Vec<f32> = x.iter().map(|r| r[f]).filter(|v| !v.is_nan()).collect();
            vals.sort_by(|a, b| a.partial_cmp(b).unwrap());
            vals.dedup();
            // Candidate cuts are observed values (all but the smallest), thinned to quantiles.
            let c: Vec<f32> = if vals.len() <= max_bins {
                vals.iter().skip(1).copied().collect()
            } else {
                let mut c: Vec<f32> = (1..max_bins)
                    .map(|k| vals[k * vals.len() / max_bins])
                    .collect();
                c.dedup();
                c
            };
            let b = x
                .iter()
                .map(|r| {
                    let v = r[f];
                    if v.is_nan() {
                        u16::MAX
                    } else {
                        c.partition_point(|&t| t <= v) as u16
                    }
                })
                .collect();
            cuts.push(c);
            bin.push(b);
        }
        Self { cuts, bin }
    }
}

struct Split {
    gain: f64,
    feature: usize,
    cut: usize,
    default_left: bool,
}

impl Gbdt {
    /// Trains on rows `x` (NaN = missing) with 0/1 labels `y`; `valid` drives early stopping.
    pub fn fit(
        cfg: &GbdtConfig,
        x: &[Vec<f32>],
        y: &[f32],
        valid: Option<(&[Vec<f32>], &[f32])>,
        feature_names: Vec<String>,
    ) -> Result<Self> {
        if x.is_empty() || x.len() != y.len() {
            bail!(
                "gbdt: need as many label rows as feature rows (got {} and {})",
                x.len(),
                y.len()
            );
        }
        let nf = x[0].len();
        let pos = y.iter().filter(|&&v| v > 0.5).count() as f64;
        let neg = y.len() as f64 - pos;
        if pos == 0.0 || neg == 0.0 {
            bail!(
                "gbdt: training labels contain a single class; need both positives and negatives"
            );
        }
        let spw = cfg.scale_pos_weight.unwrap_or(neg / pos);
        let w: Vec<f64> = y.iter().map(|&v| if v > 0.5 { spw } else { 1.0 }).collect();
        // Weighted prior so that boosting starts from the (re-weighted) class balance.
        // Rounded to f32 because that is what the JSON file (and XGBoost) keeps.
        let base_score = ((pos * spw) / (pos * spw + neg)) as f32 as f64;
        let base_margin = (base_score / (1.0 - base_score)).ln();
        let bins = Bins::build(x, nf, cfg.max_bins);
        let mut model = Gbdt {
            trees: Vec::new(),
            base_score,
            num_features: nf,
            feature_names,
            scale_pos_weight: spw,
            eval_history: Vec::new(),
        };
        let mut margin = vec![base_margin; x.len()];
        let mut vmargin = valid.map(|(vx, _)| vec![base_margin; vx.len()]);
        let (mut best, mut best_round) = (f64::INFINITY, 0usize);
        for round in 0..cfg.n_rounds {
            let (g, h): (Vec<f64>, Vec<f64>) = margin
                .iter()
                .zip(y)
                .zip(&w)
                .map(|((&m, &y), &w)| {
                    let p = sigmoid(m);
                    (w * (p - y as f64), (w * p * (1.0 - p)).max(1e-16))
                })
                .unzip();
            let tree = grow_tree(cfg, &bins, &g, &h);
            for (i, m) in margin.iter_mut().enumerate() {
                *m += tree.predict(&x[i]) as f64;
            }
            if let (Some((vx, vy)), Some(vm)) = (valid, vmargin.as_mut()) {
                for (i, m) in vm.iter_mut().enumerate() {
                    *m += tree.predict(&vx[i]) as f64;
                }
                let p: Vec<f64> = vm.iter().map(|&m| sigmoid(m)).collect();
                let loss = logloss(&p, vy);
                model.eval_history.push(loss);
                if loss < best - 1e-9 {
                    best = loss;
                    best_round = round;
                }
            }
            model.trees.push(tree);
            if valid.is_some()
                && cfg.early_stopping_rounds > 0
                && round - best_round >= cfg.early_stopping_rounds
            {
                break;
            }
        }
        if valid.is_some() && cfg.early_stopping_rounds > 0 {
            model.trees.truncate(best_round + 1);
        }
        Ok(model)
    }
}

/// Depth-wise growth of one tree on histogram bins.
fn grow_tree(cfg: &GbdtConfig, bins: &Bins, g: &[f64], h: &[f64]) -> Tree {
    let mut tree = Tree {
        left: vec![],
        right: vec![],
        parent: vec![],
        split_index: vec![],
        split_condition: vec![],
        default_left: vec![],
        loss_change: vec![],
        sum_hessian: vec![],
        base_weight: vec![],
    };
    let leaf_w = |gs: f64, hs: f64| -gs / (hs + cfg.lambda) * cfg.learning_rate;
    let all: Vec<usize> = (0..g.len()).collect();
    let (g0, h0) = sums(&all, g, h);
    let root = tree.push(i32::MAX, h0, leaf_w(g0, h0));
    let mut frontier = vec![(root, all, g0, h0)];
    for _depth in 0..cfg.max_depth {
        let mut next = Vec::new();
        for (node, idx, gs, hs) in frontier {
            let Some(s) = best_split(cfg, bins, &idx, g, h, gs, hs) else {
                continue;
            };
            let cut = bins.cuts[s.feature][s.cut];
            let fb = &bins.bin[s.feature];
            let (li, ri): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| {
                let b = fb[i];
                if b == u16::MAX {
                    s.default_left
                } else {
                    (b as usize) <= s.cut
                }
            });
            let (gl, hl) = sums(&li, g, h);
            let (gr, hr) = (gs - gl, hs - hl);
            let l = tree.push(node as i32, hl, leaf_w(gl, hl));
            let r = tree.push(node as i32, hr, leaf_w(gr, hr));
            tree.left[node] = l as i32;
            tree.right[node] = r as i32;
            tree.split_index[node] = s.feature as u32;
            tree.split_condition[node] = cut;
            tree.default_left[node] = s.default_left;
            tree.loss_change[node] = s.gain as f32;
            next.push((l, li, gl, hl));
            next.push((r, ri, gr, hr));
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    tree
}

fn sums(idx: &[usize], g: &[f64], h: &[f64]) -> (f64, f64) {
    idx.iter()
        .fold((0.0, 0.0), |(a, b), &i| (a + g[i], b + h[i]))
}

fn best_split(
    cfg: &GbdtConfig,
    bins: &Bins,
    idx: &[usize],
    g: &[f64],
    h: &[f64],
    gs: f64,
    hs: f64,
) -> Option<Split> {
    let score = |g: f64, h: f64| g * g / (h + cfg.lambda);
    let parent = score(gs, hs);
    let mut best: Option<Split> = None;
    for (f, cuts) in bins.cuts.iter().enumerate() {
        if cuts.is_empty() {
            continue;
        }
        let nb = cuts.len() + 1;
        let mut hg = vec![0.0; nb];
        let mut hh = vec![0.0; nb];
        let (mut mg, mut mh) = (0.0, 0.0);
        let fb = &bins.bin[f];
        for &i in idx {
            let b = fb[i];
            if b == u16::MAX {
                mg += g[i];
                mh += h[i];
            } else {
                hg[b as usize] += g[i];
                hh[b as usize] += h[i];
            }
        }
        let (mut gl, mut hl) = (0.0, 0.0);
        // Split after bin `c`: bins 0..=c go left (x < cuts[c]).
        for c in 0..nb - 1 {
            gl += hg[c];
            hl += hh[c];
            // Try missing values on each side; keep the better direction.
            for default_left in [false, true] {
                let (l_g, l_h) = if default_left {
                    (gl + mg, hl + mh)
                } else {
                    (gl, hl)
                };
                let (r_g, r_h) = (gs - l_g, hs - l_h);
                if l_h < cfg.min_child_weight || r_h < cfg.min_child_weight {
                    continue;
                }
                let gain = 0.5 * (score(l_g, l_h) + score(r_g, r_h) - parent) - cfg.gamma;
                if gain > 1e-10 && best.as_ref().is_none_or(|b| gain > b.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        cut: c,
                        default_left,
                    });
                }
            }
        }
    }
    best
}
