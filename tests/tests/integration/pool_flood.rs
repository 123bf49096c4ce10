//! Against a real `--dev` node: a patient flooding the pool cannot delay a hospital worker's
//! access request. The patient's remarks (a MiB each) are refused by the pool, its consent
//! transactions past its pending budget are refused, a block holds at most two of them, and the
//! worker's `request_access`, submitted during the flood, is in a block within one block of the
//! next one after submission (the runtime's `CheckPermission`: call filter, budgets, priorities).

use consentry_client::{
    runtime,
    subxt::{config::polkadot::PolkadotExtrinsicParamsBuilder as Params, utils::Static},
    subxt_signer::{sr25519, SecretUri},
};
use consentry_e2e::{submit, Node};
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use std::{
    str::FromStr,
    time::{Duration, Instant},
};

/// The dev chain's hospital (institution 0) signs with Bob's key.
const HOSPITAL: u32 = 0;
/// A patient's pending and per-block budgets (`chain/runtime/src/permission/mod.rs`).
const PATIENT_PENDING: u64 = 4;
const PATIENT_PER_BLOCK: u64 = 2;
/// How many consent transactions the patient pre-signs and submits at once.
const FLOOD: u64 = 40;

#[tokio::test(flavor = "multi_thread")]
async fn a_patient_flooding_the_pool_does_not_delay_a_workers_request() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let (_, rpc) = consentry_client::connect_with_rpc(&node.ws_url()).await?;
    let worker = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Flood/Patient")?)?;
    let account = consentry_client::subxt::utils::AccountId32::from(patient.public_key());
    let pseudonym = [0x33; 32];
    let labs = CategorySet::of(&[DataCategory::Labs]);

    // An enrolled patient who consents to the hospital's simulations on labs.
    submit(
        &api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &worker,
    )
    .await?;
    submit(&api, &runtime::tx().identity().claim(pseudonym), &patient).await?;
    let subject = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");
    let grant = |purpose: Purpose| {
        runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(HOSPITAL)),
            Static(PurposeSet::of(&[purpose])),
            Static(labs),
            None,
            None,
            None,
        )
    };
    submit(&api, &grant(Purpose::Simulation), &patient).await?;

    // The best block (subxt's `at_latest` is the finalized one, which lags it).
    let best = || {
        let rpc = &rpc;
        async move {
            let header = rpc.chain_get_header(None).await?.expect("best header");
            anyhow::Ok(u64::from(header.number))
        }
    };
    let flood_from = best().await?;

    // Remarks are the council's: a patient's MiB of block space is refused by the pool.
    for byte in 0..4u8 {
        // Each different: the pool bans a refused transaction's hash for a while.
        let remark = runtime::tx().system().remark(vec![byte; 1 << 20]);
        let refused = api
            .tx()
            .sign_and_submit_default(&remark, &patient)
            .await
            .expect_err("a patient's remark is refused");
        assert!(
            refused
                .to_string()
                .contains("Transaction call is not expected"),
            "refused as a call the patient may not send, got: {refused}"
        );
    }

    // A flood of the patient's own consent calls, pre-signed with consecutive nonces: the pool
    // takes its pending budget (and what blocks made room for meanwhile) and refuses the rest.
    let first = api.tx().account_nonce(&account).await?;
    let mut accepted = 0;
    for nonce in first..first + FLOOD {
        let tx = api.tx().create_signed_offline(
            &grant(Purpose::Research),
            &patient,
            Params::new().nonce(nonce).build(),
        )?;
        match tx.submit().await {
            Ok(_) => accepted += 1,
            Err(e) => assert!(
                e.to_string()
                    .contains("Transaction would exhaust the block limits"),
                "refused past the patient's budget, got: {e}"
            ),
        }
    }
    let flood_until = best().await?;
    assert!(accepted >= 1, "the patient's budget admits some");
    assert!(
        accepted <= PATIENT_PENDING + PATIENT_PER_BLOCK * (flood_until - flood_from),
        "{accepted} of {FLOOD} accepted while blocks {flood_from}..={flood_until} were made"
    );

    // The worker's request, submitted during the flood, goes into the next block (or the one
    // after, if that block's author had already started): the patient does not delay it.
    let submitted_at = best().await?;
    let request = runtime::tx().audit().request_access(
        pseudonym,
        Static(Purpose::Simulation),
        Static(labs),
        [9; 32],
    );
    let in_block = api
        .tx()
        .sign_and_submit_then_watch_default(&request, &worker)
        .await?
        .wait_for_finalized()
        .await?;
    let included = u64::from(api.blocks().at(in_block.block_hash()).await?.number());
    let events = in_block.wait_for_success().await?;
    assert!(
        events
            .find_first::<runtime::audit::events::AccessGranted>()?
            .is_some(),
        "the request was granted"
    );
    assert!(
        included <= submitted_at + 2,
        "submitted at best block {submitted_at}, included in block {included}"
    );

    // The patient's admitted transactions all land, at most two per block.
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let at = api.blocks().at_latest().await?;
        let nonce = api
            .storage()
            .at(at.hash())
            .fetch(&runtime::storage().system().account(account.clone()))
            .await?
            .map_or(0, |i| u64::from(i.nonce));
        if nonce >= first + accepted {
            assert_eq!(nonce, first + accepted, "nothing refused got in");
            break u64::from(at.number());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the patient's transactions stalled"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let nonce_at = |n: u64| {
        let (api, rpc, account) = (&api, &rpc, account.clone());
        async move {
            let hash = rpc
                .chain_get_block_hash(Some(n.into()))
                .await?
                .expect("block on the chain");
            anyhow::Ok(
                api.storage()
                    .at(hash)
                    .fetch(&runtime::storage().system().account(account))
                    .await?
                    .map_or(0, |i| u64::from(i.nonce)),
            )
        }
    };
    let mut before = nonce_at(flood_from).await?;
    for n in flood_from + 1..=last {
        let after = nonce_at(n).await?;
        assert!(
            after - before <= PATIENT_PER_BLOCK,
            "block {n} holds {} of the patient's transactions",
            after - before
        );
        before = after;
    }
    Ok(())
}
