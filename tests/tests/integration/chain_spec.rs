//! The node builds a consortium chain spec from an institutions file, without a sudo key, and
//! names the wrong field when the file is bad.

use consentry_e2e::{node_binary, repo_path};
use std::process::Command;

fn build_spec(file: &std::path::Path) -> std::process::Output {
    Command::new(node_binary())
        .args(["build-spec", "--disable-default-bootnode", "--chain"])
        .arg(file)
        .output()
        .expect("run consentry-node build-spec")
}

#[test]
fn a_consortium_file_becomes_a_spec_governed_by_its_council() {
    let example = repo_path("chain/node/res/consortium-example.json");
    let out = build_spec(&example);
    assert!(
        out.status.success(),
        "build-spec failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("spec is JSON");
    assert_eq!(spec["id"], "consentry_example");
    let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
    assert!(
        patch["sudo"]["key"].is_null(),
        "no sudo key in a consortium spec: {}",
        patch["sudo"]
    );
    assert_eq!(
        patch["councilMembership"]["members"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // The founding validator enters through the session pallet (its keys) and the governed
    // validator set (its account), not through Aura's or GRANDPA's own genesis lists.
    assert_eq!(patch["session"]["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        patch["validatorSet"]["validators"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(patch["aura"].is_null(), "aura: {}", patch["aura"]);
    assert_eq!(
        patch["identity"]["institutions"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        patch["nodeAuthorization"]["nodes"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_bad_consortium_file_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"name":"x","id":"x","institutions":[{"name":"H","roles":["DataCustodian"],"governance":"not-an-address",
            "validator":{"aura":"a","grandpa":"b","peer_id":"c"}}]}"#,
    )
    .unwrap();
    let out = build_spec(&file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("institutions[0].governance"),
        "error should name the field, got: {err}"
    );
}

#[test]
fn a_consortium_file_may_set_the_session_length() {
    let example = repo_path("chain/node/res/consortium-example.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consortium.json");
    let mut spec_with = |blocks: serde_json::Value| {
        file["session_blocks"] = blocks;
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        build_spec(&path)
    };

    let out = spec_with(serde_json::json!(20));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
    assert_eq!(patch["validatorSet"]["sessionLength"], 20);

    let out = spec_with(serde_json::json!(0));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("session_blocks"), "got: {err}");
}
