//! The `consentry` binary dispatches to the workloads and reports bad input by field.

use std::process::Command;

fn consentry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_consentry"))
}

#[test]
fn simulate_writes_a_report_and_plots() {
    let out = tempfile::tempdir().unwrap();
    let bundle = concat!(env!("CARGO_MANIFEST_DIR"), "/../../simulation/data/examples/patient-bundle.json");
    let status = consentry()
        .args(["simulate", "--patient", bundle, "--drug", "tacrolimus", "-o"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let report = std::fs::read_to_string(out.path().join("tacrolimus-report.json")).expect("report written");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report.is_object());
    let files: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".png")), "{files:?}");
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".svg")), "{files:?}");
}

#[test]
fn simulate_names_the_bad_field() {
    let bundle = concat!(env!("CARGO_MANIFEST_DIR"), "/../../simulation/data/examples/patient-bundle.json");
    let out = consentry()
        .args(["simulate", "--patient", bundle, "--drug", "no-such-drug", "-o", "/tmp"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drug"), "error names the field: {err}");
}
