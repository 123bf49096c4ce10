//! The transport keys federated peers pin each other's TLS certificates to, as the chain holds
//! them: the identity pallet's `TransportKeys` and each institution's status, read at finalized
//! blocks into the [`InMemoryRegistry`] that `consentry-fl-transport`'s verifiers consult.
//!
//! rustls asks the registry in the middle of a handshake, so it must answer from memory: a
//! follower task re-reads the view at every finalized block (a few institutions, one storage
//! page), which also catches a key rotated, an institution suspended, reinstated or removed,
//! without depending on seeing each event.

use std::collections::BTreeMap;

use anyhow::Context;
use consentry_client::{
    runtime::{self, runtime_types::pallet_consentry_identity::types::InstitutionStatus},
    subxt::utils::H256,
};
use consentry_fl_transport::{InMemoryRegistry, TransportIdentity};
use tracing::{info, warn};

use crate::chain::{Call, Chain};

/// Each institution with a transport key: the key and whether the institution is active.
pub type View = BTreeMap<u32, ([u8; 32], bool)>;

/// The chain's transport keys and institution statuses at block `at`.
pub async fn view_at(chain: &Chain, at: H256) -> anyhow::Result<View> {
    let storage = chain.client.storage().at(at);
    let mut keys = storage
        .iter(runtime::storage().identity().transport_keys_iter())
        .await?;
    let mut view = View::new();
    while let Some(kv) = keys.next().await {
        let kv = kv?;
        // `Blake2_128Concat` keys end with the SCALE-encoded id itself (a little-endian u32).
        let raw = kv
            .key_bytes
            .len()
            .checked_sub(4)
            .context("short storage key")?;
        let id = u32::from_le_bytes(kv.key_bytes[raw..].try_into().expect("4 bytes"));
        let active = storage
            .fetch(&runtime::storage().identity().institutions(id))
            .await?
            .is_some_and(|i| matches!(i.status, InstitutionStatus::Active));
        view.insert(id, (kv.value, active));
    }
    Ok(view)
}

/// Makes `registry` say what `view` says.
pub fn apply(registry: &InMemoryRegistry, old: &View, view: &View) {
    for id in old.keys().filter(|id| !view.contains_key(id)) {
        registry.remove(*id);
    }
    for (id, (key, active)) in view {
        if old.get(id) != Some(&(*key, *active)) {
            registry.register(*id, *key);
            registry.set_active(*id, *active);
        }
    }
}

/// A registry holding the chain's view at the latest finalized block.
pub async fn load(chain: &Chain) -> anyhow::Result<(InMemoryRegistry, View)> {
    let view = view_at(chain, chain.finalized().await?).await?;
    let registry = InMemoryRegistry::new();
    apply(&registry, &View::new(), &view);
    Ok((registry, view))
}

/// Keeps `registry` current with every finalized block until the subscription ends.
pub async fn follow(chain: Chain, registry: InMemoryRegistry, mut view: View) {
    let mut blocks = match chain.client.blocks().subscribe_finalized().await {
        Ok(b) => b,
        Err(e) => {
            warn!("transport keys: cannot follow finalized blocks: {e}");
            return;
        }
    };
    while let Some(block) = blocks.next().await {
        let next = match block {
            Ok(b) => view_at(&chain, b.hash()).await,
            Err(e) => Err(e.into()),
        };
        match next {
            Ok(next) => {
                if next != view {
                    info!(institutions = next.len(), "transport keys changed");
                    apply(&registry, &view, &next);
                    view = next;
                }
            }
            Err(e) => warn!("transport keys: {e:#}"),
        }
    }
}

/// Registers `identity`'s key for this worker's institution unless the chain already holds it;
/// returns whether a transaction was needed.
pub async fn register_own(chain: &Chain, identity: &TransportIdentity) -> anyhow::Result<bool> {
    anyhow::ensure!(
        identity.institution() == chain.institution,
        "the transport certificate names institution {} but this key belongs to {}",
        identity.institution(),
        chain.institution
    );
    let key = identity.spki_sha256();
    let at = chain.finalized().await?;
    if view_at(chain, at)
        .await?
        .get(&chain.institution)
        .map(|e| e.0)
        == Some(key)
    {
        return Ok(false);
    }
    chain
        .sign_and_submit(
            Call::SetTransportKey {
                institution: chain.institution,
                key,
            },
            "set_transport_key",
        )
        .await?;
    Ok(true)
}
