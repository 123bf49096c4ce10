//! The TLS pinning registry of federated rounds, backed by a real `--dev` node: each worker
//! registers its transport certificate's key on chain (`Identity::set_transport_key`), the
//! registry loads every institution's key at a finalized block and follows later blocks, so a key
//! registered later is accepted and a suspended institution is refused from the next block on,
//! by the same verifiers that guard the aggregator's TLS endpoint.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use consentry_client::{runtime, subxt_signer::sr25519};
use consentry_e2e::Node;
use consentry_fl_transport::{KeyAlgorithm, Registry, TransportIdentity};
use consentry_worker::{chain::Chain, transport};

/// The dev chain's research institute, which signs with Charlie's key.
const INSTITUTE: u32 = 1;

async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pinning_registry_follows_the_chain() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let hospital = Chain::connect(&node.ws_url(), sr25519::dev::bob()).await?;
    let institute = Chain::connect(&node.ws_url(), sr25519::dev::charlie()).await?;
    let hospital_tls = TransportIdentity::generate(HOSPITAL, KeyAlgorithm::Ed25519)?;
    let institute_tls = TransportIdentity::generate(INSTITUTE, KeyAlgorithm::EcdsaP256)?;

    // A worker registers its own key once; a certificate naming another institution is refused.
    assert!(transport::register_own(&hospital, &hospital_tls).await?);
    assert!(!transport::register_own(&hospital, &hospital_tls).await?);
    let wrong = transport::register_own(&hospital, &institute_tls).await;
    assert!(wrong.is_err(), "a certificate for another institution");

    let (registry, view) = transport::load(&hospital).await?;
    let got = registry.lookup(HOSPITAL).expect("the hospital's key");
    assert_eq!(
        (got.spki_sha256, got.active),
        (hospital_tls.spki_sha256(), true)
    );
    assert!(
        registry.lookup(INSTITUTE).is_none(),
        "no key registered yet"
    );

    tokio::spawn(transport::follow(hospital.clone(), registry.clone(), view));

    // Registered later: the follower picks it up from a finalized block.
    transport::register_own(&institute, &institute_tls).await?;
    eventually("the institute's key", || {
        registry.lookup(INSTITUTE).map(|k| k.spki_sha256) == Some(institute_tls.spki_sha256())
    })
    .await;

    // Rotated: the old key no longer matches.
    let rotated = TransportIdentity::generate(INSTITUTE, KeyAlgorithm::Ed25519)?;
    transport::register_own(&institute, &rotated).await?;
    eventually("the rotated key", || {
        registry.lookup(INSTITUTE).map(|k| k.spki_sha256) == Some(rotated.spki_sha256())
    })
    .await;

    // Suspended by governance: its sites are refused from then on.
    let suspend = runtime::runtime_types::consentry_runtime::RuntimeCall::Identity(
        runtime::runtime_types::pallet_consentry_identity::pallet::Call::suspend_institution {
            institution: INSTITUTE,
        },
    );
    submit(
        &api,
        &runtime::tx().sudo().sudo(suspend),
        &sr25519::dev::alice(),
    )
    .await?;
    eventually("the suspension", || {
        registry.lookup(INSTITUTE).is_some_and(|k| !k.active)
    })
    .await;
    assert!(registry.lookup(HOSPITAL).is_some_and(|k| k.active));
    // A suspended institution's own key cannot re-key it.
    let again = TransportIdentity::generate(INSTITUTE, KeyAlgorithm::Ed25519)?;
    let refused = transport::register_own(&institute, &again).await;
    assert!(refused.is_err(), "a suspended institution re-keyed itself");
    Ok(())
}
