//! The `consentry` binary dispatches to the workloads and reports bad input by field.

use std::process::Command;

/// This package's directory as `cargo test` sets it for the running test. The compile-time value
/// names the clone that built the binary, which a shared target directory reuses across clones.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn consentry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_consentry"))
}

#[test]
fn simulate_writes_a_report_and_plots() {
    let out = tempfile::tempdir().unwrap();
    let bundle = manifest_dir().join("../../simulation/data/examples/patient-bundle.json");
    let bundle = bundle.to_str().expect("a UTF-8 path");
    let status = consentry()
        .args([
            "simulate",
            "--patient",
            bundle,
            "--drug",
            "tacrolimus",
            "-o",
        ])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let report =
        std::fs::read_to_string(out.path().join("tacrolimus-report.json")).expect("report written");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report.is_object());
    let files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".png")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".svg")),
        "{files:?}"
    );
}

#[test]
fn simulate_names_the_bad_field() {
    let bundle = manifest_dir().join("../../simulation/data/examples/patient-bundle.json");
    let bundle = bundle.to_str().expect("a UTF-8 path");
    let out = consentry()
        .args([
            "simulate",
            "--patient",
            bundle,
            "--drug",
            "no-such-drug",
            "-o",
            "/tmp",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drug"), "error names the field: {err}");
}

#[test]
fn train_then_predict_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let root = manifest_dir().join("../..").display().to_string();
    let model = dir.path().join("model");
    let status = consentry()
        .args(["train", "--quiet", "--config"])
        .arg(format!("{root}/inference/configs/tiny.toml"))
        .arg("--out")
        .arg(&model)
        .status()
        .unwrap();
    assert!(status.success(), "train");
    let patient = format!("{root}/simulation/data/examples/patient-bundle.json");
    for cmd in ["predict", "explain"] {
        let out = consentry()
            .args([cmd, "--drug", "warfarin", "--patient", &patient, "--model"])
            .arg(&model)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{cmd} prints its result");
    }
    let out = consentry()
        .args([
            "predict",
            "--drug",
            "aspirin-xyz",
            "--patient",
            &patient,
            "--model",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("drug"),
        "the error names the field"
    );
}

#[test]
fn twin_recommend_fits_the_levels_and_draws_both_plots() {
    let out = tempfile::tempdir().unwrap();
    let bundle = manifest_dir().join("../../simulation/data/examples/vancomycin-tdm-bundle.json");
    let o = consentry()
        .args([
            "twin",
            "recommend",
            "--drug",
            "vancomycin",
            "--json",
            "--plot",
            "both",
            "--patient",
        ])
        .arg(&bundle)
        .arg("-o")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["patient_id"], "tdm-001");
    assert_eq!(report["tdm"]["levels"].as_array().unwrap().len(), 2);
    let rec = &report["recommendation"];
    assert_eq!(rec["target"]["metric"], "auc24");
    let dose = rec["recommended"]["dose_mg"].as_f64().unwrap();
    assert_eq!(dose % 250.0, 0.0, "{rec}");
    // The recommended regimen is at least as likely to be in target as the current one.
    assert!(
        rec["recommended"]["prob_target"].as_f64().unwrap()
            >= rec["current"]["prob_target"].as_f64().unwrap()
    );
    for f in [
        "vancomycin-fit.png",
        "vancomycin-fit.svg",
        "vancomycin-recommendation.png",
        "vancomycin-recommendation.svg",
    ] {
        let len = std::fs::metadata(out.path().join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "{f}: {len} bytes");
    }
}

#[test]
fn twin_names_the_bad_input() {
    let bundle = manifest_dir().join("../../simulation/data/examples/vancomycin-tdm-bundle.json");
    let o = consentry()
        .args([
            "twin",
            "recommend",
            "--drug",
            "vancomycin",
            "--target",
            "auc:400-600",
            "--patient",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--target: unknown metric `auc`; use trough, cmax, cavg or auc24"),
        "{err}"
    );
    // A plain PatientRecord carries no doses or levels: the message says where to give them.
    let plain = manifest_dir().join("../../simulation/data/examples/patient.json");
    let o = consentry()
        .args([
            "twin",
            "fit",
            "--drug",
            "vancomycin",
            "--plot",
            "none",
            "--patient",
        ])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no doses and levels found in the file") && err.contains("--tdm"),
        "{err}"
    );
}
