//! An unmodified standard client reads a data-use agreement: `@polkadot/api-contract`, given only
//! the contract's ink! metadata (as `consentry contracts build` writes it) and its address, calls
//! `get` and `in_force` on a real `--dev` node (`tests/polkadot-js/contract_client.mjs`), and this
//! test checks what it read against what the wallet proposed.
//!
//! Needs Node.js and the pinned packages in `tests/polkadot-js` (`scripts/test.sh` installs them).

use consentry_client::{contract_abi::dua, contracts::Contract, subxt_signer::sr25519};
use consentry_e2e::{repo_path, Node};
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use consentry_wallet::{
    chain::Chain,
    contracts::{self, Kind},
};
use std::{process::Stdio, time::Duration};

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_reads_a_data_use_agreement_from_the_ink_metadata() -> anyhow::Result<()> {
    let dir = repo_path("tests/polkadot-js");
    anyhow::ensure!(
        dir.join("node_modules/@polkadot/api-contract").exists(),
        "@polkadot/api-contract is not installed in {}: run tests/polkadot-js/install.sh",
        dir.display()
    );
    let node = Node::dev()?;
    node.client().await?;
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let registry = contracts::deploy(
        &chain,
        &sr25519::dev::alice(),
        Kind::Dua,
        consentry_contracts::DUA_WASM,
        dua::New {},
        b"polkadot-js".to_vec(),
    )
    .await?
    .address;
    let contract = Contract::at(registry.clone());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let terms = dua::Terms {
        custodian: 0,
        recipients: vec![1],
        purposes: PurposeSet::of(&[Purpose::Research]),
        categories: CategorySet::of(&[DataCategory::Labs, DataCategory::Ehr]),
        valid_from: now - 60_000,
        valid_until: now + 3_600_000,
        record_cap: Some(250),
        text_digest: [0xaa; 32],
    };
    let id = contracts::dua_propose(&chain, &sr25519::dev::bob(), &contract, terms.clone())
        .await?
        .id;
    contracts::dua_sign(&chain, &sr25519::dev::charlie(), &contract, id).await?;

    // The metadata exactly as `consentry contracts build` writes it.
    let out = tempfile::tempdir()?;
    consentry_contracts::write_artifacts(out.path())?;
    let metadata = out.path().join("dua.json");
    let nodejs = std::env::var("CONSENTRY_NODEJS").unwrap_or_else(|_| "node".into());
    let caller =
        consentry_client::subxt::utils::AccountId32::from(sr25519::dev::bob().public_key())
            .to_string();
    let child = tokio::process::Command::new(&nodejs)
        .arg("contract_client.mjs")
        .arg(node.ws_url())
        .arg(&metadata)
        .arg(registry.to_string())
        .arg(&caller)
        .arg(id.to_string())
        .arg((now + 1_000).to_string())
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start `{nodejs}`: {e}"))?;
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .map_err(|_| anyhow::anyhow!("the script ran over 2 minutes"))??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "contract_client.mjs failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    let a = &read["agreement"];
    assert_eq!(a["terms"]["custodian"], 0, "{read}");
    assert_eq!(a["terms"]["recipients"], serde_json::json!([1]), "{read}");
    assert_eq!(a["terms"]["recordCap"], 250, "{read}");
    assert_eq!(
        a["terms"]["textDigest"],
        format!("0x{}", hex::encode([0xaa; 32])),
        "{read}"
    );
    assert_eq!(a["signatories"], serde_json::json!([0, 1]), "{read}");
    assert!(a["status"]["inForce"].is_object(), "{read}");
    assert_eq!(read["in_force"], id, "{read}");
    assert!(read["in_force_treatment"].is_null(), "{read}");
    Ok(())
}
