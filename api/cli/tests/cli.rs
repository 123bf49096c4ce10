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
