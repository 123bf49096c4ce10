//! Consortium governance on a live four-validator `local` network, with nobody editing a chain
//! spec: institutions change by council motion, the validator set by motion and session keys.
//!
//! 1. A fifth institution's node (Eve) starts with an empty keystore; it cannot peer.
//! 2. Council motions (⅔ of the four members) authorize its node and add Eve to the validator set.
//! 3. Eve's node generates session keys (`author_rotateKeys`); Eve registers them
//!    (`Session::set_keys`); two session rotations later Aura and GRANDPA list Eve's keys, and
//!    Eve's node authors a block in its Aura slot.
//!    While the keys wait for the rotations, the council registers, suspends and removes an
//!    institution, which neither a member alone nor a minority motion can do.
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
            pallet_consentry_identity::pallet::Call as IdentityCall,
            pallet_consentry_validators::pallet::Call as ValidatorsCall,
            pallet_node_authorization::pallet::Call as NodeAuthCall,
            sp_core::OpaquePeerId,
            sp_runtime::DispatchError,
            sp_weights::weight_v2::Weight,
        },
    },
    subxt::{
        blocks::ExtrinsicEvents,
        config::substrate::DigestItem,
        ext::codec::{Decode, Encode},
        utils::{AccountId32, MultiAddress, Static},
    },
    subxt_signer::{
        sr25519::{self, Keypair},
        SecretUri,
    },
    Client, ConsentryConfig, Rpc,
};
use consentry_e2e::{
    network::{
        connect, finality_continues, finalized, finalizes, start_local_network, Keys, LocalNode,
    },
    submit,
};
use consentry_primitives::{CategorySet, DataCategory, DenyReason, Purpose, Role, RoleSet};
use std::{
    str::FromStr,
    time::{Duration, Instant},
};

fn account(k: &Keypair) -> AccountId32 {
    k.public_key().into()
}

/// Alice proposes `call` to the council with `threshold`; `voters` vote aye; Alice closes the
/// motion, which dispatches `call` with the origin of the ayes' share of the four seats. Returns
/// the dispatch's result and the closing transaction's events.
async fn motion(
    api: &Client,
    call: RuntimeCall,
    threshold: u32,
    voters: &[Keypair],
) -> anyhow::Result<(Result<(), DispatchError>, ExtrinsicEvents<ConsentryConfig>)> {
    let len = call.encoded_size() as u32;
    let proposed = submit(
        api,
        &runtime::tx().council().propose(threshold, call, len),
        &sr25519::dev::alice(),
    )
    .await?
    .find_first::<runtime::council::events::Proposed>()?
    .expect("Proposed event");
    let (hash, index) = (proposed.proposal_hash, proposed.proposal_index);
    let vote = runtime::tx().council().vote(hash, index, true);
    futures::future::try_join_all(voters.iter().map(|k| submit(api, &vote, k))).await?;
    let bound = Weight {
        ref_time: 500_000_000_000,
        proof_size: 1_000_000,
    };
    let events = submit(
        api,
        &runtime::tx().council().close(hash, index, bound, len),
        &sr25519::dev::alice(),
    )
    .await?;
    let executed = events
        .find_first::<runtime::council::events::Executed>()?
        .expect("the motion passed and was executed");
    Ok((executed.result, events))
}

/// A motion carried by Alice, Bob and Charlie: three of four seats, at least the two thirds
/// governance needs. Fails unless the call succeeded.
async fn council_motion(
    api: &Client,
    call: RuntimeCall,
) -> anyhow::Result<ExtrinsicEvents<ConsentryConfig>> {
    let ayes = [
        sr25519::dev::alice(),
        sr25519::dev::bob(),
        sr25519::dev::charlie(),
    ];
    let (result, events) = motion(api, call, 3, &ayes).await?;
    anyhow::ensure!(result.is_ok(), "motion dispatch failed: {result:?}");
    Ok(events)
}

/// The council registers, suspends and removes an institution, and nobody else can.
///
/// - A council member signing `register_institution` alone is refused by the pool (a governance
///   call is never admitted signed), and a motion carried by two of the four seats (under two
///   thirds) fails with `BadOrigin`.
/// - The new institution's worker key is refused by the pool until a motion registers the
///   institution and a second adds the key; then its requests are recorded under the institution
///   (for a pseudonym nobody holds: `UnknownSubject`).
/// - Suspended by a motion, its requests are still recorded, denied `AccessorSuspended`.
/// - Removed by a motion, its worker key is refused by the pool again.
async fn council_governs_institutions(api: &Client) -> anyhow::Result<()> {
    let worker = Keypair::from_uri(&SecretUri::from_str("//EveClinic/worker")?)?;
    let labs = CategorySet::of(&[DataCategory::Labs]);
    let request = runtime::tx().audit().request_access(
        [0x5e; 32],
        Static(Purpose::Research),
        Static(labs),
        [0x0b; 32],
    );
    let (worker, request) = (&worker, &request);
    let refused = move |what: &'static str| async move {
        let err = api
            .tx()
            .sign_and_submit_default(request, worker)
            .await
            .expect_err(what);
        anyhow::ensure!(
            err.to_string().contains("Invalid signing address"),
            "{what}: expected the pool's permission check, got: {err}"
        );
        anyhow::Ok(())
    };
    refused("an unregistered institution's worker is refused").await?;

    let register = || {
        RuntimeCall::Identity(IdentityCall::register_institution {
            name: b"Eve Clinic".to_vec(),
            roles: Static(RoleSet::of(&[Role::Researcher])),
        })
    };
    let alone = submit(
        api,
        &runtime::tx().identity().register_institution(
            b"Eve Clinic".to_vec(),
            Static(RoleSet::of(&[Role::Researcher])),
        ),
        &sr25519::dev::bob(),
    )
    .await
    .expect_err("a council member alone may not register an institution");
    // Governance-origin calls are refused signed by the pool's permission check itself
    // (`InvalidTransaction::Call`), before they take block space.
    assert!(
        alone
            .to_string()
            .contains("Transaction call is not expected"),
        "signed register_institution: {alone}"
    );
    let (minority, _) = motion(
        api,
        register(),
        2,
        &[sr25519::dev::alice(), sr25519::dev::bob()],
    )
    .await?;
    assert!(
        matches!(minority, Err(DispatchError::BadOrigin)),
        "a motion of two of four seats: {minority:?}"
    );

    let institution = council_motion(api, register())
        .await?
        .find_first::<runtime::identity::events::InstitutionRegistered>()?
        .expect("InstitutionRegistered event")
        .institution;
    council_motion(
        api,
        RuntimeCall::Identity(IdentityCall::add_service_key {
            institution,
            key: account(worker),
        }),
    )
    .await?;
    let denied = move |reason: DenyReason| async move {
        let d = submit(api, request, worker)
            .await?
            .find_first::<runtime::audit::events::AccessDenied>()?
            .expect("AccessDenied event");
        anyhow::ensure!(
            (d.institution, d.subject, d.reason.0) == (institution, None, reason),
            "expected a denial of institution {institution} for {reason:?}, got {} {:?} {:?}",
            d.institution,
            d.subject,
            d.reason.0
        );
        anyhow::Ok(())
    };
    denied(DenyReason::UnknownSubject).await?;

    council_motion(
        api,
        RuntimeCall::Identity(IdentityCall::suspend_institution { institution }),
    )
    .await?;
    denied(DenyReason::AccessorSuspended).await?;

    council_motion(
        api,
        RuntimeCall::Identity(IdentityCall::remove_institution { institution }),
    )
    .await?;
    let stored = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().identity().institutions(institution))
        .await?;
    assert!(stored.is_none(), "institution {institution} is removed");
    refused("a removed institution's worker is refused").await
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
async fn governance_manages_institutions_and_validators_through_motions_and_session_keys(
) -> anyhow::Result<()> {
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
    // While the keys wait for two session rotations, the council governs institutions too.
    council_governs_institutions(&api).await?;
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
