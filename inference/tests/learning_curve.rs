//! The learning curve end to end on a tiny configuration: fresh cohorts at two training sizes,
//! every model, the real xgboost package on the exported rows, the ceilings, the tables and the
//! plots. What must hold whatever the sizes: no model ranks better than the noise-free ceiling,
//! which ranks worse than the oracle; calibration keeps the hybrid's ranking and does not make
//! its ADR probabilities worse calibrated.

mod common;

use consentry_inference::learning_curve::{self, Plan, Size, HYBRID_CALIBRATED, XGBOOST};
use consentry_inference::report::HYBRID;
use std::path::PathBuf;

#[test]
fn learning_curve_runs_every_model_under_the_ceilings() {
    // Runs without xgboost only where it is not required; its rows are then absent.
    let xgboost = common::xgboost_available("learning_curve (its xgboost rows)");
    let mut cfg = common::tiny_config(1000);
    cfg.train.seeds = vec![1, 2];
    let plan = Plan {
        sizes: vec!["600".parse().unwrap(), "1500:3".parse::<Size>().unwrap()],
        test_rows: 1500,
        xgboost_python: xgboost.then(|| PathBuf::from("python3")),
    };
    let curve =
        learning_curve::run(&cfg, &plan, &consentry_inference::default_device(), false).unwrap();
    println!("{}", learning_curve::markdown(&curve));
    assert_eq!(curve.points.len(), 2);
    assert_eq!(curve.xgboost_version.is_some(), xgboost);
    let md = learning_curve::markdown(&curve);
    for ((p, size), seeds) in curve.points.iter().zip(&plan.sizes).zip([2, 1]) {
        // The stratified split rounds per stratum.
        assert!((p.train_rows as i64 - size.train_rows as i64).abs() <= 4);
        assert!(md.contains(&format!("#### {} training rows", p.train_rows)));
        assert!((p.test_rows as i64 - 1500).abs() <= 4);
        let names: Vec<&str> = p.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.contains(&XGBOOST), xgboost, "{names:?}");
        for name in [HYBRID, HYBRID_CALIBRATED, "Logistic Regression"] {
            let m = p.models.iter().find(|m| m.name == name).unwrap();
            assert_eq!(m.runs.len(), seeds, "{name} at {}", p.train_rows);
        }
        for (k, task) in [(0, "response"), (1, "adr")] {
            let oracle = p.ceilings["oracle"][task].as_f64().unwrap();
            let free = p.ceilings["noise_free"][task].as_f64().unwrap();
            assert!(oracle > free, "{task}: oracle {oracle} ≤ noise-free {free}");
            for m in &p.models {
                let auc = m.spread(k, |r| r.roc_auc).max;
                assert!(
                    auc < free,
                    "{} {task} AUC {auc} above the ceiling {free}",
                    m.name
                );
                assert!(
                    auc > 0.5,
                    "{} {task} AUC {auc}: no better than chance",
                    m.name
                );
            }
        }
        let raw = p.models.iter().find(|m| m.name == HYBRID).unwrap();
        let cal = p
            .models
            .iter()
            .find(|m| m.name == HYBRID_CALIBRATED)
            .unwrap();
        for (r, c) in raw.runs.iter().zip(&cal.runs) {
            assert!((r.adr.roc_auc - c.adr.roc_auc).abs() < 1e-3);
            assert!(
                c.adr.ece <= r.adr.ece + 0.01,
                "{} → {}",
                r.adr.ece,
                c.adr.ece
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    learning_curve::plots(&curve, dir.path()).unwrap();
    for task in ["response", "adr"] {
        let svg =
            std::fs::read_to_string(dir.path().join(format!("learning_curve_{task}.svg"))).unwrap();
        assert!(svg.contains("noise-free ceiling"));
    }
}
