//! The validator set changes through governance and session keys, on a live four-validator
//! `local` network, with nobody editing a chain spec:
//!
//! 1. A fifth institution's node (Eve) starts with an empty keystore; it cannot peer.
//! 2. Council motions (⅔ of the four members) authorize its node and add Eve to the validator set.
//! 3. Eve's node generates session keys (`author_rotateKeys`); Eve registers them
//!    (`Session::set_keys`); two session rotations later Aura and GRANDPA list Eve's keys, and
//!    Eve's node authors a block in its Aura slot.
//! 4. With five validators GRANDPA needs four votes: Dave is killed and finality continues, so
//!    Eve's node is voting.
//! 5. A motion removes Dave; once that is active the set is four and needs three votes: Charlie is
//!    killed too and finality still continues (under the old set of five, with two of them down,
//!    it would stall).

use consentry_client::{
    runtime::{
        self,
        runtime_types::{
            consentry_runtime::{RuntimeCall, SessionKeys},
            pallet_consentry_validators::pallet::Call as ValidatorsCall,
            pallet_node_authorization::pallet::Call as NodeAuthCall,
            sp_core::OpaquePeerId,
            sp_weights::weight_v2::Weight,
        },
    },
    subxt::{
        config::substrate::DigestItem,
        ext::codec::{Decode, Encode},
        utils::{AccountId32, MultiAddress},
    },
    subxt_signer::sr25519::{self, Keypair},
    Client, Rpc,
};
use consentry_e2e::{
    network::{
        connect, finality_continues, finalized, finalizes, start_local_network, Keys, LocalNode,
    },
    submit,
};
use std::time::{Duration, Instant};

fn account(k: &Keypair) -> AccountId32 {
    k.public_key().into()
}

/// Alice proposes `call` to the council; Alice, Bob and Charlie vote aye (3 of 4 ≥ ⅔); Alice
/// closes the motion, which dispatches `call` with the council's origin.
async fn council_motion(api: &Client, call: RuntimeCall) -> anyhow::Result<()> {
    let len = call.encoded_size() as u32;
    let proposed = submit(
        api,
        &runtime::tx().council().propose(3, call, len),
        &sr25519::dev::alice(),
    )
    .await?
    .find_first::<runtime::council::events::Proposed>()?
    .expect("Proposed event");
    let (hash, index) = (proposed.proposal_hash, proposed.proposal_index);
    let vote = runtime::tx().council().vote(hash, index, true);
    futures::future::try_join_all(
        [
            sr25519::dev::alice(),
            sr25519::dev::bob(),
            sr25519::dev::charlie(),
        ]
        .iter()
        .map(|k| submit(api, &vote, k)),
    )
    .await?;
    let bound = Weight {
        ref_time: 500_000_000_000,
        proof_size: 1_000_000,
    };
    let executed = submit(
        api,
        &runtime::tx().council().close(hash, index, bound, len),
        &sr25519::dev::alice(),
    )
    .await?
    .find_first::<runtime::council::events::Executed>()?
    .expect("the motion passed and was executed");
    anyhow::ensure!(
        executed.result.is_ok(),
        "motion dispatch failed: {:?}",
        executed.result
    );
    Ok(())
}

/// The node's libp2p peer id (`system_localPeerId`, over the RPC port's HTTP side).
async fn local_peer_id(rpc_port: u16) -> anyhow::Result<String> {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{rpc_port}"))
        .json(&serde_json::json!({"id": 1, "jsonrpc": "2.0", "method": "system_localPeerId", "params": []}))
        .send()
        .await?
        .json()
        .await?;
    reply["result"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("system_localPeerId: {reply}"))
}

/// GRANDPA's authority set at the finalized head.
async fn grandpa_set(api: &Client, rpc: &Rpc) -> anyhow::Result<Vec<[u8; 32]>> {
    let at = rpc.chain_get_finalized_head().await?;
    let set = api
        .runtime_api()
        .at(at)
        .call(runtime::apis().grandpa_api().grandpa_authorities())
        .await?;
    Ok(set.into_iter().map(|(k, _)| k.0).collect())
}

/// Waits until `check` holds for GRANDPA's set at the finalized head.
async fn grandpa_set_becomes(
    api: &Client,
    rpc: &Rpc,
    within: Duration,
    what: &str,
    check: impl Fn(&[[u8; 32]]) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let set = grandpa_set(api, rpc).await?;
        if check(&set) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "GRANDPA set never became {what}: {} keys",
            set.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits for a new best block whose Aura slot belongs to `aura_key`.
async fn authors_a_block(api: &Client, aura_key: [u8; 32], within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let block = api.blocks().at_latest().await?;
        let header = block.header();
        // The author is chosen among the authorities of the parent's state: slot mod count.
        let authorities = api
            .storage()
            .at(header.parent_hash)
            .fetch(&runtime::storage().aura().authorities())
            .await?
            .expect("aura authorities")
            .0;
        for log in &header.digest.logs {
            if let DigestItem::PreRuntime(engine, data) = log {
                if engine == b"aura" {
                    let slot = u64::decode(&mut &data[..])?;
                    let author = &authorities[(slot % authorities.len() as u64) as usize];
                    if author.0 == aura_key {
                        return Ok(());
                    }
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no block authored by the new validator"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn governance_adds_and_removes_validators_through_session_keys() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut nodes = start_local_network(dir.path());
    let boot = nodes[0].p2p;
    let (api, rpc) = connect(&nodes[0].url()).await?;
    finalizes(&rpc, 2, Duration::from_secs(120)).await?;
    assert_eq!(grandpa_set(&api, &rpc).await?.len(), 4);

    // 1. Eve's node: a validator role, but no keys yet, and not authorized to peer.
    let mut eve_node = LocalNode::new("eve", 5, dir.path());
    eve_node.start(Some(boot), Keys::Rotated);
    let (_, eve_rpc) = connect(&eve_node.url()).await?;
    let eve_peer = bs58::decode(local_peer_id(eve_node.rpc).await?).into_vec()?;
    let eve = sr25519::dev::eve();

    // 2. The council authorizes Eve's node and adds Eve to the validator set.
    council_motion(
        &api,
        RuntimeCall::NodeAuthorization(NodeAuthCall::add_well_known_node {
            node: OpaquePeerId(eve_peer),
            owner: MultiAddress::Id(account(&eve)),
        }),
    )
    .await?;
    council_motion(
        &api,
        RuntimeCall::ValidatorSet(ValidatorsCall::add_validator { who: account(&eve) }),
    )
    .await?;
    let set = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().validator_set().validators())
        .await?
        .expect("validator set");
    assert!(set.0.contains(&account(&eve)), "Eve is in the governed set");

    // 3. Eve's node generates its session keys; Eve registers them.
    let raw_keys = eve_rpc.author_rotate_keys().await?;
    let keys = SessionKeys::decode(&mut &raw_keys[..])?;
    let eve_grandpa = keys.grandpa.0;
    let eve_aura = keys.aura.0;
    submit(&api, &runtime::tx().session().set_keys(keys, vec![]), &eve).await?;
    // Queued at the next rotation, active at the one after (sessions are 15 blocks).
    grandpa_set_becomes(&api, &rpc, Duration::from_secs(180), "five with Eve", |s| {
        s.len() == 5 && s.contains(&eve_grandpa)
    })
    .await?;
    let aura = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().aura().authorities())
        .await?
        .expect("aura authorities");
    assert_eq!(aura.0.len(), 5, "Aura authors with five");
    authors_a_block(&api, eve_aura, Duration::from_secs(60)).await?;
    // Eve's node has synced the chain it now validates.
    finalizes(&eve_rpc, finalized(&rpc).await?, Duration::from_secs(60)).await?;

    // 4. Five validators need four GRANDPA votes: without Dave, Eve's vote is needed.
    nodes[3].kill();
    finality_continues(&rpc, Duration::from_secs(90)).await?;

    // 5. Governance removes Dave; once active, four validators need three votes.
    let dave = sr25519::dev::dave();
    council_motion(
        &api,
        RuntimeCall::ValidatorSet(ValidatorsCall::remove_validator {
            who: account(&dave),
        }),
    )
    .await?;
    let dave_grandpa = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().session().next_keys(account(&dave)))
        .await?
        .expect("Dave's session keys")
        .grandpa
        .0;
    grandpa_set_becomes(
        &api,
        &rpc,
        Duration::from_secs(180),
        "four without Dave",
        |s| s.len() == 4 && !s.contains(&dave_grandpa) && s.contains(&eve_grandpa),
    )
    .await?;
    nodes[2].kill();
    finality_continues(&rpc, Duration::from_secs(90)).await?;
    Ok(())
}
