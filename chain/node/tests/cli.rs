//! The node binary runs and describes itself; building this test also makes `cargo test` build the
//! `consentry-node` executable the end-to-end tests start.

use std::process::Command;

#[test]
fn the_node_reports_its_name_and_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_consentry-node"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("consentry-node "));
}

#[test]
fn unknown_chains_are_refused_with_the_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_consentry-node"))
        .args(["build-spec", "--chain", "/nonexistent/spec.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/spec.json"));
}
