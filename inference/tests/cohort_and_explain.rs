//! The synthetic cohort has the documented structure, does not leak the label,
//! and IG explanations are complete.

mod common;

use candle_core::Device;
use consentry_inference::cohort::{Cohort, CohortConfig};
use consentry_inference::explain::integrated_gradients::integrated_gradients;
use consentry_inference::explain::treeshap::tree_shap;
use consentry_inference::features::VITALS;
use consentry_inference::metrics::roc_auc;
use consentry_inference::pipeline::{baseline_tensors, Prepared};
use consentry_inference::train::{NeuralKind, NeuralModel};

#[test]
fn cohort_is_seeded_stratified_imbalanced_and_has_missing_values() {
    let cfg = CohortConfig {
        n_patients: 1500,
        seed: 3,
        ..Default::default()
    };
    let a = Cohort::generate(&cfg).unwrap();
    let b = Cohort::generate(&cfg).unwrap();
    assert_eq!(
        serde_json::to_string(&a.rows).unwrap(),
        serde_json::to_string(&b.rows).unwrap()
    );
    assert_eq!((a.train.len() + a.valid.len() + a.test.len()), 1500);
    let rate = |idx: &[usize], k: usize| {
        idx.iter().map(|&i| a.rows[i].y[k] as f64).sum::<f64>() / idx.len() as f64
    };
    for k in 0..2 {
        assert!(
            (rate(&a.train, k) - rate(&a.test, k)).abs() < 0.02,
            "split must be stratified"
        );
    }
    let adr = rate(&a.train, 1);
    assert!(
        adr > 0.05 && adr < 0.35,
        "ADR should be the minority class, got {adr}"
    );
    let data = Prepared::new(&a, 24).unwrap();
    let names = data.spec.names();
    let frac_missing =
        |j: usize| data.tab.iter().filter(|r| r[j].is_nan()).count() as f64 / data.tab.len() as f64;
    let idx = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(frac_missing(idx("albumin_g_dl")) > 0.2);
    assert!(frac_missing(idx("pgx_CYP2D6")) > 0.1);
    assert!(
        data.seq.iter().any(|s| s.iter().all(|v| v.is_nan())),
        "some patients have no vitals"
    );
}

#[test]
fn no_single_feature_encodes_the_label_but_the_generating_signal_is_real() {
    let a = Cohort::generate(&CohortConfig {
        n_patients: 3000,
        seed: 5,
        ..Default::default()
    })
    .unwrap();
    let data = Prepared::new(&a, 24).unwrap();
    for k in 0..2 {
        let y: Vec<f32> = data.y.iter().map(|r| r[k]).collect();
        for j in 0..data.spec.n_tabular() {
            // Missing values ranked at the median: an AUC far from 0.5 would mean leakage.
            let col: Vec<f64> = data
                .tab
                .iter()
                .map(|r| if r[j].is_nan() { f64::NAN } else { r[j] as f64 })
                .collect();
            let mut s: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let med = s.get(s.len() / 2).copied().unwrap_or(0.0);
            let col: Vec<f64> = col
                .iter()
                .map(|v| if v.is_nan() { med } else { *v })
                .collect();
            let auc = roc_auc(&col, &y);
            assert!(
                (auc - 0.5).abs() < 0.3,
                "feature {} alone gives AUC {auc} for task {k}",
                data.spec.names()[j]
            );
        }
        // The latent generating probability is informative, so the task is learnable.
        let p: Vec<f64> = a
            .rows
            .iter()
            .map(|r| {
                if k == 0 {
                    r.latent.p_response
                } else {
                    r.latent.p_adr
                }
            })
            .collect();
        assert!(roc_auc(&p, &y) > 0.75);
    }
    // Exposure drives ADR in the documented direction.
    let e: Vec<f64> = a.rows.iter().map(|r| r.latent.exposure).collect();
    let y: Vec<f32> = a.rows.iter().map(|r| r.y[1]).collect();
    assert!(roc_auc(&e, &y) > 0.6);
}

#[test]
fn integrated_gradients_are_complete_and_chain_through_treeshap() {
    let fx = common::fixture(300);
    let model =
        NeuralModel::build(NeuralKind::Hybrid, &fx.cfg, &fx.data.spec, 3, &Device::Cpu).unwrap();
    let base = baseline_tensors(&fx.data.spec, &fx.gbdt, &Device::Cpu).unwrap();
    for (k, &i) in fx.cohort.test.iter().take(3).enumerate() {
        let x = fx.test.select(&[k as u32]).unwrap();
        let (pr, er) = tree_shap(&fx.gbdt.response, &fx.data.tab[i]);
        let (pa, ea) = tree_shap(&fx.gbdt.adr, &fx.data.tab[i]);
        // The baseline margins are the boosters' expected values.
        let bm = base.gbdt.to_vec2::<f32>().unwrap()[0].clone();
        assert!((bm[0] as f64 - er).abs() < 1e-4 && (bm[1] as f64 - ea).abs() < 1e-4);
        let ig = integrated_gradients(&model, &x, &base, [&pr, &pa], VITALS.len(), 64).unwrap();
        for a in &ig {
            assert_eq!(a.values.len(), fx.data.spec.n_tabular() + VITALS.len());
            let delta = a.logit - a.baseline_logit;
            assert!(
                a.completeness_gap().abs() < 0.02 * delta.abs() + 2e-3,
                "IG sum misses Δlogit {delta} by {}",
                a.completeness_gap()
            );
        }
    }
}

/// The latents the report's ceilings are computed from are the ones that generated the labels:
/// the stored probability is σ(noise-free logit + noise), the noise has the documented spread,
/// and the ceilings are ordered as the decomposition says (knowing less ranks worse).
#[test]
fn ceilings_decompose_the_oracle() {
    let c = Cohort::generate(&CohortConfig {
        n_patients: 4000,
        seed: 11,
        ..Default::default()
    })
    .unwrap();
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let mut noise = Vec::new();
    for r in &c.rows {
        let l = &r.latent;
        assert!((sigmoid(l.logit[0] + l.noise[0]) - l.p_response).abs() < 1e-12);
        assert!((sigmoid(l.logit[1] + l.noise[1]) - l.p_adr).abs() < 1e-12);
        noise.extend(l.noise);
    }
    let sd = (noise.iter().map(|x| x * x).sum::<f64>() / noise.len() as f64).sqrt();
    assert!(
        (sd - 0.5).abs() < 0.02,
        "outcome noise sd {sd}, documented 0.5"
    );
    let s = c.summary();
    for task in ["response", "adr"] {
        let oracle = s["oracle_test_auc"][task].as_f64().unwrap();
        let free = s["ceiling_test_auc"]["noise_free"][task].as_f64().unwrap();
        let typical = s["ceiling_test_auc"]["typical_frailty_and_pk"][task]
            .as_f64()
            .unwrap();
        assert!(
            oracle > free && free > typical && typical > 0.55,
            "{task}: oracle {oracle} > noise-free {free} > typical {typical}"
        );
    }
}
