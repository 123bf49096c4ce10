//! The four-validator `local` network on loopback: blocks finalize; with one validator killed
//! finality continues; with two it stalls (GRANDPA needs more than two thirds); restarted on their
//! databases they catch up and finality resumes with no finalized record lost. A node whose key
//! governance never authorized gets no peers.

use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519};
use consentry_e2e::network::{
    best, connect, finality_continues, finalized, finalizes, start_local_network, Keys, LocalNode,
};
use consentry_primitives::{AccessState, CategorySet, DataCategory, Purpose};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn finality_needs_three_of_four_validators_and_resumes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut nodes = start_local_network(dir.path());
    let boot = nodes[0].p2p;
    let (client, rpc) = connect(&nodes[0].url()).await?;
    finalizes(&rpc, 3, Duration::from_secs(120)).await?;

    // A record in a finalized block, to check nothing finalized is lost later.
    let request = runtime::tx().audit().request_access(
        [0x77; 32],
        Static(Purpose::Research),
        Static(CategorySet::of(&[DataCategory::Labs])),
        [1; 32],
    );
    let denied = client
        .tx()
        .sign_and_submit_then_watch_default(&request, &sr25519::dev::bob())
        .await?
        .wait_for_finalized_success()
        .await?
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("recorded");
    let (subject, denied) = (denied.subject, denied.id);

    // One validator down: three of four still finalize.
    nodes[3].kill();
    finality_continues(&rpc, Duration::from_secs(90)).await?;

    // Two down: blocks are still authored, but nothing more is finalized.
    nodes[2].kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (stalled_at, best_before) = (finalized(&rpc).await?, best(&rpc).await?);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(best(&rpc).await? > best_before, "Aura keeps authoring");
    assert!(
        finalized(&rpc).await? <= stalled_at + 1,
        "finality must stall with two of four validators"
    );

    // Both back on their databases: finality resumes past the stall.
    nodes[2].start(Some(boot), Keys::DevKeys);
    nodes[3].start(Some(boot), Keys::DevKeys);
    finalizes(&rpc, stalled_at + 3, Duration::from_secs(180)).await?;

    // The finalized record is still there, unchanged, at the new finalized head, and on a
    // restarted node too.
    let at = rpc.chain_get_finalized_head().await?;
    let record = client
        .runtime_api()
        .at(at)
        .call(runtime::apis().audit_api().record(subject, denied))
        .await?
        .expect("finalized record survives");
    assert!(matches!(record.state.0, AccessState::Denied(_)));
    let (dave, dave_rpc) = connect(&nodes[3].url()).await?;
    let dave_head = finalizes(&dave_rpc, stalled_at + 3, Duration::from_secs(120)).await?;
    assert!(dave_head > stalled_at);
    let on_dave = dave
        .runtime_api()
        .at(dave_rpc.chain_get_finalized_head().await?)
        .call(runtime::apis().audit_api().record(subject, denied))
        .await?;
    assert_eq!(on_dave.map(|r| r.id), Some(denied));

    // A fifth node with a key governance never authorized: the consortium's nodes drop it.
    let mut stranger = LocalNode::new("ferdie", 5, dir.path());
    stranger.start(Some(boot), Keys::None);
    let (_, stranger_rpc) = connect(&stranger.url()).await?;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(stranger_rpc.system_health().await?.peers, 0);
    assert_eq!(best(&stranger_rpc).await?, 0, "it never syncs a block");
    assert!(
        rpc.system_health().await?.peers >= 2,
        "authorized nodes peer"
    );
    Ok(())
}
