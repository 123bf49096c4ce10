//! A running chain takes this build's runtime by `sudo(set_code)`: a dev chain started on the
//! runtime of spec 110 (`tests/fixtures/README.md`: the last before the pallets declared storage
//! versions, before contracts, before erasure unlinked accounts), given its state by that
//! runtime's own calls, then upgraded on the real node. The upgrade's block runs every migration
//! against state the old runtime wrote, not state a test wrote in the old layout by hand (the
//! runtime's and pallets' migration tests do that). Afterwards the chain goes on finalizing, and
//! the new runtime reads the old state as its migrations promise:
//! - every Consentry pallet is at its current storage version;
//! - a patient forgotten under the old runtime is unlinked from its account (pseudonym link,
//!   subject, account index, consents' signer);
//! - an enrolment the old runtime left pending is indexed by its addressee, and the record of an
//!   access asked before the patient claimed is the patient's once it claims;
//! - a consent granted under the old runtime still admits the access it names;
//! - the contracts the old chain never had can be deployed and called.

use consentry_client::{
    runtime::{
        self,
        runtime_types::{
            consentry_runtime::RuntimeCall, frame_system::pallet::Call as SystemCall,
            sp_weights::weight_v2::Weight,
        },
    },
    subxt::{blocks::ExtrinsicEvents, tx::DefaultPayload, utils::Static},
    subxt_signer::{sr25519, SecretUri},
    Client, ConsentryConfig,
};
use consentry_e2e::{node_binary, repo_path, submit, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Decision, Grantee, Purpose, PurposeSet, SubjectRef,
};
use std::{
    process::Command,
    str::FromStr,
    time::{Duration, Instant},
};

/// The old runtime: spec 110, built as `tests/fixtures/README.md` says.
const OLD_RUNTIME: &str = "tests/fixtures/consentry-runtime-spec-110.compact.compressed.wasm";
const OLD_SPEC: u32 = 110;
/// The dev chain's hospital (institution 0), which signs with Bob's key.
const HOSPITAL: u32 = 0;

fn key(uri: &str) -> sr25519::Keypair {
    sr25519::Keypair::from_uri(&SecretUri::from_str(uri).expect("uri")).expect("key")
}

/// This build's dev chain spec with its genesis code replaced by the old runtime's: the node
/// builds the genesis state by running that code on the spec's genesis patch (this build's
/// `development` preset, less the section of pallet-balances, which spec 110 does not have).
/// Returns the spec and the code it replaced (this build's runtime).
fn dev_spec_on_old_runtime(old: &[u8]) -> anyhow::Result<(serde_json::Value, Vec<u8>)> {
    let out = Command::new(node_binary())
        .args(["build-spec", "--chain", "dev", "--disable-default-bootnode"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "build-spec: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut spec: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let genesis = spec
        .pointer_mut("/genesis/runtimeGenesis")
        .and_then(|g| g.as_object_mut())
        .ok_or_else(|| anyhow::anyhow!("no genesis.runtimeGenesis in the dev spec"))?;
    let current = genesis
        .get("code")
        .and_then(|c| c.as_str())
        .ok_or_else(|| anyhow::anyhow!("no genesis code in the dev spec"))?;
    let current = hex::decode(current.trim_start_matches("0x"))?;
    genesis.insert("code".into(), format!("0x{}", hex::encode(old)).into());
    let patch = genesis
        .get_mut("patch")
        .and_then(|p| p.as_object_mut())
        .ok_or_else(|| anyhow::anyhow!("no genesis patch in the dev spec"))?;
    anyhow::ensure!(patch.remove("balances").is_some(), "no balances section");
    Ok((spec, current))
}

/// A pallet's storage version as the chain holds it (the key FRAME stamps it under).
async fn storage_version(api: &Client, pallet: &str) -> anyhow::Result<u16> {
    let key = [
        sp_crypto_hashing::twox_128(pallet.as_bytes()),
        sp_crypto_hashing::twox_128(b":__STORAGE_VERSION__:"),
    ]
    .concat();
    let raw = api.storage().at_latest().await?.fetch_raw(key).await?;
    Ok(raw.map_or(0, |v| u16::from_le_bytes([v[0], v[1]])))
}

/// Signs and submits a call to the old runtime. The calls sent to it have the same encoding there
/// as here, but not the same metadata hash (their argument types gained variants since), so the
/// client's check against the node's metadata is skipped for them.
async fn old_submit<C: consentry_client::subxt::ext::scale_encode::EncodeAsFields>(
    api: &Client,
    call: DefaultPayload<C>,
    signer: &sr25519::Keypair,
) -> anyhow::Result<ExtrinsicEvents<ConsentryConfig>> {
    submit(api, &call.unvalidated(), signer).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_started_on_spec_110_takes_this_runtime_and_migrates_its_state(
) -> anyhow::Result<()> {
    let old = std::fs::read(repo_path(OLD_RUNTIME))?;
    let (spec, current) = dev_spec_on_old_runtime(&old)?;
    let dir = tempfile::tempdir()?;
    let spec_path = dir.path().join("spec-110.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec)?)?;
    let node = Node::spawn(
        &[
            "--chain",
            spec_path.to_str().expect("utf-8 path"),
            "--alice",
            "--force-authoring",
            // What `--dev` would give it: a node key (any; it has no peers).
            "--node-key",
            "0000000000000000000000000000000000000000000000000000000000000001",
        ],
        dir.path().join("base"),
    )?;
    let api = node.client().await?;
    assert_eq!(api.runtime_version().spec_version, OLD_SPEC);

    // State written by the old runtime's own calls.
    let hospital = sr25519::dev::bob();
    let (kept, erased, pending) = (
        key("//Upgrade/Kept"),
        key("//Upgrade/Erased"),
        key("//Upgrade/Pending"),
    );
    let (p_kept, p_erased, p_pending) = ([0x31; 32], [0x32; 32], [0x33; 32]);
    for (pseudonym, patient) in [(p_kept, &kept), (p_erased, &erased), (p_pending, &pending)] {
        let enrol = runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into());
        old_submit(&api, enrol, &hospital).await?;
    }
    let mut subjects = Vec::new();
    for (pseudonym, patient) in [(p_kept, &kept), (p_erased, &erased)] {
        let events = old_submit(&api, runtime::tx().identity().claim(pseudonym), patient).await?;
        let claimed = events
            .find_first::<runtime::identity::events::Claimed>()?
            .expect("Claimed");
        subjects.push(claimed.subject);
        let grant = runtime::tx().consent().grant(
            claimed.subject,
            Static(Grantee::Institution(HOSPITAL)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(CategorySet::of(&[DataCategory::Labs])),
            None,
            None,
            None,
        );
        old_submit(&api, grant, patient).await?;
    }
    let (s_kept, s_erased) = (subjects[0], subjects[1]);
    let labs = CategorySet::of(&[DataCategory::Labs]);
    let ask = |pseudonym, digest| {
        runtime::tx().audit().request_access(
            pseudonym,
            Static(Purpose::Simulation),
            Static(labs),
            digest,
        )
    };
    let granted = old_submit(&api, ask(p_kept, [1; 32]), &hospital)
        .await?
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("granted under the old runtime");
    // Asked before the patient claimed: the old runtime stores it under no subject.
    let before_claim = old_submit(&api, ask(p_pending, [2; 32]), &hospital)
        .await?
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("denied under the old runtime");
    assert_eq!(before_claim.subject, None);
    old_submit(&api, runtime::tx().identity().forget(s_erased), &erased).await?;
    // What the old runtime's erasure left: the pseudonym still names the account.
    let link_key = api
        .storage()
        .address_bytes(&runtime::storage().identity().pseudonyms(p_erased))?;
    let link = api
        .storage()
        .at_latest()
        .await?
        .fetch_raw(link_key)
        .await?
        .expect("link");
    let erased_account: [u8; 32] = erased.public_key().0;
    assert!(
        link.windows(32).any(|w| w == erased_account),
        "spec 110 keeps the account in a forgotten pseudonym's link"
    );

    // The upgrade: sudo (Alice on the dev chain) sets this build's runtime.
    let set_code = runtime::tx().sudo().sudo_unchecked_weight(
        RuntimeCall::System(SystemCall::set_code {
            code: current.clone(),
        }),
        Weight {
            ref_time: 0,
            proof_size: 0,
        },
    );
    old_submit(&api, set_code, &sr25519::dev::alice()).await?;

    // The block that sets the code runs the old code; the next runs the new one, migrations first,
    // and records the upgrade (`System::LastRuntimeUpgrade`). Wait until that block is finalized;
    // a fresh client reads the new metadata.
    let deadline = Instant::now() + Duration::from_secs(90);
    let api = loop {
        let api = node.client().await?;
        let upgraded = api
            .storage()
            .at_latest()
            .await?
            .fetch(&runtime::storage().system().last_runtime_upgrade())
            .await?
            .is_some_and(|u| u.spec_version > OLD_SPEC);
        if upgraded {
            break api;
        }
        anyhow::ensure!(Instant::now() < deadline, "the new runtime never ran");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(api.runtime_version().spec_version > OLD_SPEC);
    let storage = api.storage().at_latest().await?;
    assert_eq!(
        storage.fetch_raw(b":code".to_vec()).await?,
        Some(current),
        "the chain runs this build's runtime"
    );
    for (pallet, version) in [
        ("Identity", 2),
        ("Consent", 1),
        ("Audit", 1),
        ("ValidatorSet", 1),
    ] {
        assert_eq!(
            storage_version(&api, pallet).await?,
            version,
            "{pallet}'s storage version"
        );
    }

    // The forgotten patient: no link from its pseudonym, subject or consents to its account.
    let storage = api.storage().at_latest().await?;
    let link = storage
        .fetch(&runtime::storage().identity().pseudonyms(p_erased))
        .await?
        .expect("the link stays, erased");
    assert_eq!((link.patient, link.erased), (None, true));
    let subject = storage
        .fetch(&runtime::storage().identity().subjects(s_erased))
        .await?
        .expect("the subject stays");
    assert_eq!(subject.account, None);
    assert_eq!(
        storage
            .fetch(
                &runtime::storage()
                    .identity()
                    .subject_of_account(erased.public_key().to_account_id())
            )
            .await?,
        None
    );
    let rt = api.runtime_api().at_latest().await?;
    let consents = rt
        .call(runtime::apis().consent_api().consents_of(s_erased))
        .await?;
    assert_eq!(consents.len(), 1);
    assert!(
        consents
            .iter()
            .all(|(_, c)| c.granted_by != erased.public_key().to_account_id()),
        "a forgotten patient's consents name no account"
    );
    // The kept patient's consent still admits the hospital.
    let decision = rt
        .call(runtime::apis().consent_api().decide(
            Static(SubjectRef::Pseudonym(p_kept)),
            hospital.public_key().to_account_id(),
            Static(Purpose::Simulation),
            Static(labs),
            None,
        ))
        .await?;
    assert!(
        matches!(decision.0, Decision::Permit { subject, .. } if subject == s_kept),
        "the old consent still permits: {:?}",
        decision.0
    );

    // The pending enrolment is indexed by its addressee; once it claims, the record made before
    // the claim is the patient's.
    assert!(storage
        .fetch(
            &runtime::storage()
                .identity()
                .pending_enrolments(pending.public_key().to_account_id(), p_pending)
        )
        .await?
        .is_some());
    let claimed = submit(&api, &runtime::tx().identity().claim(p_pending), &pending)
        .await?
        .find_first::<runtime::identity::events::Claimed>()?
        .expect("Claimed");
    let (page, _) = api
        .runtime_api()
        .at_latest()
        .await?
        .call(
            runtime::apis()
                .audit_api()
                .records_by_subject(claimed.subject, None, 10),
        )
        .await?;
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![before_claim.id]
    );

    // Access goes on under the new runtime, on the consent granted under the old one.
    let again = submit(&api, &ask(p_kept, [3; 32]), &hospital)
        .await?
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("granted under the new runtime");
    assert_eq!(again.subject, s_kept);
    assert!(again.id > granted.id);
    let record = consentry_e2e::record(&api, Some(s_kept), granted.id).await?;
    assert_eq!(record.state.0, AccessState::Granted);

    // Contracts, which spec 110 did not have: the council deploys the agreement registry, and an
    // institution calls it.
    let chain =
        consentry_wallet::chain::Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let deployed = consentry_wallet::contracts::deploy(
        &chain,
        &sr25519::dev::alice(),
        consentry_wallet::contracts::Kind::Dua,
        consentry_contracts::DUA_WASM,
        consentry_client::contract_abi::dua::New {},
        b"upgrade".to_vec(),
    )
    .await?;
    let registry = consentry_client::contracts::Contract::at(deployed.address);
    let now = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().timestamp().now())
        .await?
        .expect("time");
    let proposed = consentry_wallet::contracts::dua_propose(
        &chain,
        &hospital,
        &registry,
        consentry_client::contract_abi::dua::Terms {
            custodian: HOSPITAL,
            recipients: vec![1],
            purposes: PurposeSet::of(&[Purpose::Simulation]),
            categories: labs,
            valid_from: now - 60_000,
            valid_until: now + 3_600_000,
            record_cap: None,
            text_digest: [9; 32],
        },
    )
    .await?;
    assert_eq!(proposed.id, 0);
    Ok(())
}
