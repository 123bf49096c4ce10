//! An unmodified standard client, @polkadot/api (what polkadot.js Apps is built on), against a
//! real `--dev` node: `tests/polkadot-js/standard_client.mjs` connects, decodes storage, events
//! and runtime APIs from the metadata alone, and signs and submits an enrolment, a claim, a grant
//! and two access requests through the runtime's own transaction extension. This test then reads
//! what it created back through subxt, so a call polkadot.js encoded differently from what the
//! runtime means (a wrong bit mask, a shifted option) fails here even if the script's own
//! decoding agreed with its encoding.
//!
//! Needs Node.js (18 or later) and the script's pinned packages: `scripts/setup.sh` installs both
//! (`npm ci` in `tests/polkadot-js`).

use consentry_client::{
    runtime::{self, runtime_types::consentry_primitives::consent::ConsentStatus},
    subxt::utils::AccountId32,
    subxt_signer::sr25519,
};
use consentry_e2e::{record, repo_path, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, DenyReason, Grantee, Purpose, PurposeSet,
};
use std::{process::Stdio, str::FromStr, time::Duration};

/// What the script reports it created.
struct Created {
    patient: AccountId32,
    pseudonym: [u8; 32],
    subject: u64,
    consent: u64,
    granted: u64,
    denied: u64,
}

/// Runs the script against `ws_url`; its assertions fail it, and its last line reports ids.
async fn run_script(ws_url: &str) -> anyhow::Result<Created> {
    let dir = repo_path("tests/polkadot-js");
    anyhow::ensure!(
        dir.join("node_modules/@polkadot/api").exists(),
        "@polkadot/api is not installed in {}: run scripts/setup.sh (it runs `npm ci` there)",
        dir.display()
    );
    let node = std::env::var("CONSENTRY_NODEJS").unwrap_or_else(|_| "node".into());
    let child = tokio::process::Command::new(&node)
        .arg("standard_client.mjs")
        .arg(ws_url)
        .arg(format!("run-{}", std::process::id()))
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start `{node}` (Node.js 18+ needed): {e}"))?;
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .map_err(|_| anyhow::anyhow!("the polkadot.js script ran over 5 minutes"))??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        out.status.success(),
        "the polkadot.js script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| anyhow::anyhow!("no RESULT line in:\n{stdout}"))?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let id = |field: &str| {
        v[field]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("RESULT lacks {field}: {line}"))
    };
    let pseudonym: [u8; 32] = hex::decode(v["pseudonym"].as_str().unwrap_or_default())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("pseudonym is not 32 bytes: {line}"))?;
    Ok(Created {
        patient: AccountId32::from_str(v["patient"].as_str().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("patient address: {e:?}"))?,
        pseudonym,
        subject: id("subject")?,
        consent: id("consent")?,
        granted: id("granted")?,
        denied: id("denied")?,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_connects_decodes_and_submits() -> anyhow::Result<()> {
    let node = Node::dev()?;
    // Connecting through subxt first also waits for the node's RPC server.
    let api = node.client().await?;
    let created = run_script(&node.ws_url()).await?;
    let bob: AccountId32 = sr25519::dev::bob().public_key().into();

    // The consent the patient signed in polkadot.js is the one the chain holds, field by field.
    let rt = api.runtime_api().at_latest().await?;
    assert_eq!(
        rt.call(runtime::apis().consent_api().subject_of(created.pseudonym))
            .await?,
        Some(created.subject)
    );
    let consents = rt
        .call(runtime::apis().consent_api().consents_of(created.subject))
        .await?;
    assert_eq!(consents.len(), 1);
    let (id, c) = &consents[0];
    assert_eq!(*id, created.consent);
    assert_eq!(c.grantee.0, Grantee::Institution(0));
    assert_eq!(c.purposes.0, PurposeSet::of(&[Purpose::Simulation]));
    assert_eq!(
        c.categories.0,
        CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic])
    );
    assert_eq!((c.valid_until, c.max_uses, c.uses), (None, Some(3), 1));
    assert!(matches!(c.status, ConsentStatus::Active), "{:?}", c.status);
    assert_eq!(c.granted_by, created.patient);

    // Its two requests became the records it decoded: one granted under that consent, one denied.
    let granted = record(&api, Some(created.subject), created.granted).await?;
    assert_eq!(granted.state.0, AccessState::Granted);
    assert_eq!(granted.subject, Some(created.subject));
    assert_eq!(granted.pseudonym, created.pseudonym);
    assert_eq!(granted.purpose.0, Purpose::Simulation);
    assert_eq!(granted.consents.0, vec![created.consent]);
    assert_eq!(granted.requested_by, bob);
    // A pseudonym nobody enrolled: the denial is stored under no subject.
    let denied = record(&api, None, created.denied).await?;
    assert_eq!(
        denied.state.0,
        AccessState::Denied(DenyReason::UnknownSubject)
    );
    assert_eq!(denied.subject, None);
    Ok(())
}
