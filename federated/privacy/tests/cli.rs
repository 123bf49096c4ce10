//! `consentry-epsilon`, the auditor's command: the same ε as the library, from flags or from a
//! report's events.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_consentry-epsilon");

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn epsilon_from_flags() {
    let (ok, out, err) = run(
        &[
            "--q", "0.01", "--sigma", "1.1", "--steps", "10000", "--delta", "1e-5", "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    // dp-accounting 0.6.0 gives 5.632010670081592 at order 4.7 (research digest: 5.632).
    let eps = v["epsilon"].as_f64().unwrap();
    assert!((eps - 5.632_010_670_081_592).abs() < 1e-9, "{eps}");
    assert_eq!(v["order"], 4.7);
    assert_eq!(v["neighbouring_relation"], "add_or_remove_one");

    let (ok, out, _) = run(
        &[
            "--q", "0.01", "--sigma", "1.1", "--steps", "10000", "--delta", "1e-5",
        ],
        None,
    );
    assert!(ok);
    assert!(out.starts_with("epsilon = 5.632"), "{out}");
}

#[test]
fn epsilon_from_a_reports_events() {
    // Two rounds of a study, as a report lists them: ε of both composed.
    let report = r#"{"events": [
        {"sampling_rate": 0.08, "noise_multiplier": 21.75, "steps": 625},
        {"sampling_rate": 0.08, "noise_multiplier": 21.75, "steps": 625}]}"#;
    let (ok, out, err) = run(
        &["--events", "-", "--delta", "1e-5", "--json"],
        Some(report),
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    // Same as 1250 steps at once: dp-accounting 0.6.0 gives 0.4999737903935325.
    let eps = v["epsilon"].as_f64().unwrap();
    assert!((eps - 0.499_973_790_393_532_5).abs() < 1e-9, "{eps}");
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
}

/// A study report as `consentry fl simulate --json` writes it: the events under `privacy`.
#[test]
fn epsilon_from_a_study_report() {
    let report = r#"{"config": {"sites": 3}, "rounds": [], "privacy": {"delta": 1e-5,
        "events": [{"sampling_rate": 0.08, "noise_multiplier": 21.75, "steps": 1250}]}}"#;
    let (ok, out, err) = run(
        &["--events", "-", "--delta", "1e-5", "--json"],
        Some(report),
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let eps = v["epsilon"].as_f64().unwrap();
    assert!((eps - 0.499_973_790_393_532_5).abs() < 1e-9, "{eps}");
}

#[test]
fn calibration_and_errors() {
    let (ok, out, err) = run(
        &[
            "--q",
            "0.08",
            "--steps",
            "1250",
            "--delta",
            "1e-5",
            "--target-epsilon",
            "0.5",
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let sigma = v["noise_multiplier"].as_f64().unwrap();
    // The research digest: σ = 21.75 gives ε = 0.500 here.
    assert!((sigma - 21.75).abs() < 0.01, "{sigma}");
    assert!(v["epsilon"].as_f64().unwrap() <= 0.5);

    let (ok, _, err) = run(
        &[
            "--q", "1.5", "--sigma", "1", "--steps", "1", "--delta", "1e-5",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("sampling_rate"), "{err}");
    let (ok, _, err) = run(&["--q", "0.1"], None);
    assert!(!ok);
    assert!(err.contains("--delta"), "{err}");
    let (ok, _, err) = run(&["--bogus", "1"], None);
    assert!(!ok);
    assert!(err.contains("usage"), "{err}");
}
