//! Binary classification metrics for the report: accuracy, precision, recall,
//! F1 (at threshold 0.5), ROC-AUC (rank statistic, ties averaged), and
//! calibration (Brier score and 10-bin expected calibration error).

use serde::{Deserialize, Serialize};

/// Metrics of one model on one task.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct BinaryMetrics {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Expected calibration error over 10 equal-width probability bins.
    pub ece: f64,
    pub n: usize,
    pub positives: usize,
}

/// ROC-AUC as the Mann–Whitney probability that a positive outranks a negative.
pub fn roc_auc(p: &[f64], y: &[f32]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].partial_cmp(&p[b]).unwrap_or(std::cmp::Ordering::Equal));
    // Average ranks over ties so constant predictions score exactly 0.5.
    let mut ranks = vec![0.0; p.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = r;
        }
        i = j + 1;
    }
    let npos = y.iter().filter(|&&v| v > 0.5).count() as f64;
    let nneg = y.len() as f64 - npos;
    if npos == 0.0 || nneg == 0.0 {
        return f64::NAN;
    }
    let sum_pos: f64 = ranks
        .iter()
        .zip(y)
        .filter(|(_, &v)| v > 0.5)
        .map(|(r, _)| r)
        .sum();
    (sum_pos - npos * (npos + 1.0) / 2.0) / (npos * nneg)
}

/// One bin of a reliability diagram: the rows whose predicted probability fell in it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the bin.
    pub lo: f64,
    /// Mean predicted probability of its rows.
    pub predicted: f64,
    /// Fraction of its rows with the outcome.
    pub observed: f64,
    pub count: usize,
}

/// The reliability diagram of `p` against 0/1 labels `y` with `bins` equal-width bins (empty bins
/// are left out): a calibrated model's bins lie on the diagonal.
pub fn reliability(p: &[f64], y: &[f32], bins: usize) -> Vec<ReliabilityBin> {
    let mut out: Vec<ReliabilityBin> = (0..bins)
        .map(|b| ReliabilityBin {
            lo: b as f64 / bins as f64,
            ..Default::default()
        })
        .collect();
    for (&pi, &yi) in p.iter().zip(y) {
        let b = &mut out[((pi * bins as f64) as usize).min(bins - 1)];
        b.count += 1;
        b.predicted += pi;
        b.observed += yi as f64;
    }
    out.retain(|b| b.count > 0);
    for b in &mut out {
        b.predicted /= b.count as f64;
        b.observed /= b.count as f64;
    }
    out
}

/// Expected calibration error with `bins` equal-width bins: the row-weighted mean distance of the
/// reliability diagram from the diagonal.
pub fn ece(p: &[f64], y: &[f32], bins: usize) -> f64 {
    let n = p.len().max(1) as f64;
    reliability(p, y, bins)
        .iter()
        .map(|b| b.count as f64 * (b.observed - b.predicted).abs() / n)
        .sum()
}

/// All metrics for probabilities `p` and 0/1 labels `y`.
pub fn evaluate(p: &[f64], y: &[f32]) -> BinaryMetrics {
    let (mut tp, mut fp, mut tn, mut fneg) = (0.0, 0.0, 0.0, 0.0);
    for (&pi, &yi) in p.iter().zip(y) {
        match (pi >= 0.5, yi > 0.5) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fneg += 1.0,
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision = div(tp, tp + fp);
    let recall = div(tp, tp + fneg);
    BinaryMetrics {
        accuracy: div(tp + tn, tp + tn + fp + fneg),
        precision,
        recall,
        f1: div(2.0 * precision * recall, precision + recall),
        roc_auc: roc_auc(p, y),
        brier: p
            .iter()
            .zip(y)
            .map(|(&a, &b)| (a - b as f64).powi(2))
            .sum::<f64>()
            / p.len().max(1) as f64,
        ece: ece(p, y, 10),
        n: p.len(),
        positives: y.iter().filter(|&&v| v > 0.5).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_pairwise_definition() {
        let p = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2];
        let y = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        // Count positive/negative pairs directly.
        let mut s = 0.0;
        let mut n = 0.0;
        for i in 0..p.len() {
            for j in 0..p.len() {
                if y[i] > 0.5 && y[j] < 0.5 {
                    n += 1.0;
                    s += if p[i] > p[j] {
                        1.0
                    } else if p[i] == p[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        assert!((roc_auc(&p, &y) - s / n).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.3; 7], &y), 0.5);
    }

    #[test]
    fn perfect_classifier_scores_one() {
        let y = [0.0, 1.0, 1.0, 0.0];
        let m = evaluate(&[0.0, 1.0, 1.0, 0.0], &y);
        assert_eq!(
            (m.accuracy, m.precision, m.recall, m.f1, m.roc_auc),
            (1.0, 1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(m.ece, 0.0);
    }

    #[test]
    fn reliability_bins_by_hand() {
        // Bins of width 0.25: [0.1, 0.2] in the first, [0.3] in the second, [0.9, 0.95] in the last.
        let p = [0.1, 0.2, 0.3, 0.9, 0.95];
        let y = [0.0, 1.0, 0.0, 1.0, 1.0];
        let r = reliability(&p, &y, 4);
        let got: Vec<(f64, usize)> = r.iter().map(|b| (b.lo, b.count)).collect();
        assert_eq!(got, vec![(0.0, 2), (0.25, 1), (0.75, 2)]);
        assert!((r[0].predicted - 0.15).abs() < 1e-12 && (r[0].observed - 0.5).abs() < 1e-12);
        assert!((r[2].predicted - 0.925).abs() < 1e-12 && r[2].observed == 1.0);
        // ECE = (2·|0.5 − 0.15| + 1·|0 − 0.3| + 2·|1 − 0.925|) / 5.
        assert!((ece(&p, &y, 4) - (0.7 + 0.3 + 0.15) / 5.0).abs() < 1e-12);
    }
}
