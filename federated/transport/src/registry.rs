//! Who may connect: each institution's registered transport key and whether it is active.
//!
//! The trait is synchronous on purpose: rustls calls certificate verifiers synchronously in the
//! middle of a handshake, so a lookup must not wait on the network. The chain-backed
//! implementation is a local view kept current from finalized blocks (the identity pallet's
//! `TransportKeys` and `Institutions` storage, or its `TransportKeySet` / `InstitutionSuspended`
//! / `InstitutionReinstated` / `InstitutionRemoved` events); [`InMemoryRegistry`] is such a view
//! and is what that follower can write into.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::identity::InstitutionId;

/// What the registry holds for one institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredKey {
    /// SHA-256 of the SubjectPublicKeyInfo of the institution's transport certificate.
    pub spki_sha256: [u8; 32],
    /// False while the institution is suspended: its sites are refused.
    pub active: bool,
}

/// The source of truth for pinning. `None` = the institution is unknown or has no transport
/// key registered (both are refused the same way).
pub trait Registry: Send + Sync + 'static {
    /// The registered key of `institution` and whether it is active.
    fn lookup(&self, institution: InstitutionId) -> Option<RegisteredKey>;
}

impl<R: Registry + ?Sized> Registry for Arc<R> {
    fn lookup(&self, institution: InstitutionId) -> Option<RegisteredKey> {
        (**self).lookup(institution)
    }
}

/// A registry held in memory, shared by clones (tests; the cache a chain follower updates).
#[derive(Debug, Clone, Default)]
pub struct InMemoryRegistry {
    inner: Arc<RwLock<BTreeMap<InstitutionId, RegisteredKey>>>,
}

impl InMemoryRegistry {
    /// An empty registry: everyone is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or rotates) `institution`'s key, active.
    pub fn register(&self, institution: InstitutionId, spki_sha256: [u8; 32]) {
        self.write().insert(
            institution,
            RegisteredKey {
                spki_sha256,
                active: true,
            },
        );
    }

    /// Suspends (`false`) or reinstates (`true`) `institution`; no effect if unknown.
    pub fn set_active(&self, institution: InstitutionId, active: bool) {
        if let Some(k) = self.write().get_mut(&institution) {
            k.active = active;
        }
    }

    /// Forgets `institution` (removed from the consortium, or its key deleted).
    pub fn remove(&self, institution: InstitutionId) {
        self.write().remove(&institution);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<InstitutionId, RegisteredKey>> {
        // A poisoned lock only means a writer panicked mid-insert of a Copy value; the map is
        // still consistent.
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Registry for InMemoryRegistry {
    fn lookup(&self, institution: InstitutionId) -> Option<RegisteredKey> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&institution)
            .copied()
    }
}
