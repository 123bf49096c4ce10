//! Our GBDT files are XGBoost JSON models: the real `xgboost` Python package
//! loads them and reproduces our margins and our TreeSHAP values
//! (`pred_contribs`). Skipped, with the reason printed, when `python3 -c
//! "import xgboost"` fails (`pip install xgboost` fixes that).

mod common;

use consentry_inference::explain::treeshap::tree_shap;
use consentry_inference::models::gbdt::{Gbdt, GbdtConfig};
use rand::{Rng, SeedableRng};
use std::process::Command;

#[test]
fn xgboost_loads_our_model_and_agrees() {
    if !common::xgboost_available("xgboost_loads_our_model_and_agrees") {
        return;
    }
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let (n, m) = (500, 5);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let r: Vec<f32> = (0..m)
            .map(|_| {
                if rng.gen_bool(0.1) {
                    f32::NAN
                } else {
                    rng.gen_range(-1.0..1.0)
                }
            })
            .collect();
        let v = |j: usize| if r[j].is_nan() { 0.3 } else { r[j] };
        let z = v(0).max(-0.2) * 3.0
            - if r[1].is_nan() {
                1.0
            } else {
                v(1) * v(2) * 4.0
            };
        y.push(if rng.gen_bool(1.0 / (1.0 + (-(z as f64)).exp())) {
            1.0
        } else {
            0.0
        });
        x.push(r);
    }
    let names: Vec<String> = (0..m).map(|i| format!("f{i}")).collect();
    let model = Gbdt::fit(
        &GbdtConfig {
            n_rounds: 30,
            max_depth: 4,
            ..Default::default()
        },
        &x,
        &y,
        None,
        names,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mpath = dir.path().join("model.json");
    model.save(&mpath).unwrap();
    let xpath = dir.path().join("x.json");
    let xs: Vec<Vec<Option<f32>>> = x
        .iter()
        .map(|r| r.iter().map(|v| (!v.is_nan()).then_some(*v)).collect())
        .collect();
    std::fs::write(&xpath, serde_json::to_vec(&xs).unwrap()).unwrap();
    let script = r#"
import sys, json, numpy as np, xgboost as xgb
b = xgb.Booster(model_file=sys.argv[1])
X = np.array([[np.nan if v is None else v for v in r] for r in json.load(open(sys.argv[2]))], dtype=np.float32)
d = xgb.DMatrix(X, missing=np.nan, feature_names=b.feature_names)
print(json.dumps({"margin": b.predict(d, output_margin=True).tolist(), "contribs": b.predict(d, pred_contribs=True).tolist()}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&mpath)
        .arg(&xpath)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xgboost failed to load our model: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, row) in x.iter().enumerate() {
        let xm = v["margin"][i].as_f64().unwrap();
        assert!(
            (xm - model.predict_margin(row)).abs() < 1e-4,
            "row {i}: xgboost margin {xm} vs ours {}",
            model.predict_margin(row)
        );
        let (phi, expected) = tree_shap(&model, row);
        let c = v["contribs"][i].as_array().unwrap();
        for j in 0..m {
            let xc = c[j].as_f64().unwrap();
            assert!(
                (xc - phi[j]).abs() < 1e-3,
                "row {i} feature {j}: xgboost SHAP {xc} vs ours {}",
                phi[j]
            );
        }
        assert!(
            (c[m].as_f64().unwrap() - expected).abs() < 1e-3,
            "bias term differs"
        );
    }
}
