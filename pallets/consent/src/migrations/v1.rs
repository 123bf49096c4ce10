//! Version 0 → 1: the layout is unchanged; forgotten subjects' consents are unlinked.
//!
//! Version 0 (implicit: the pallet declared no storage version) left the signer's account in a
//! forgotten subject's consents. Version 1's erasure replaces it with
//! [`erased_signer`](crate::erased_signer) in every consent of the subject's index (both copies),
//! and this migration does the same for the subjects forgotten before. It reads identity's
//! subjects in identity's version 1 layout, so it must run after identity's own migration to
//! version 1 (the runtime orders them so); run before, it changes nothing and says so.

use crate::{Config, Pallet, SubjectConsents};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::{
    migrations::VersionedMigration,
    pallet_prelude::*,
    traits::{GetStorageVersion, UncheckedOnRuntimeUpgrade},
};
use pallet_consentry_identity as identity;
use sp_runtime::TryRuntimeError;

/// What [`pre_upgrade`] saw.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Before {
    /// Subjects with a consent index.
    pub indexes: u32,
    /// Consents by id.
    pub consents: u32,
}

/// The migration's work, without the version check: use [`MigrateV0ToV1`].
pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        if identity::Pallet::<T>::on_chain_storage_version() < 1 {
            log::error!(
                target: "runtime::consent",
                "identity is not at storage version 1: forgotten subjects' consents not unlinked"
            );
            return T::DbWeight::get().reads(1);
        }
        let (mut reads, mut writes) = (1u64, 0u64);
        let subjects: Vec<_> = SubjectConsents::<T>::iter_keys().collect();
        for subject in subjects {
            // The index, the subject; the index and each consent when unlinked.
            reads += 2;
            if identity::Pallet::<T>::is_erased(subject) {
                let len = SubjectConsents::<T>::decode_len(subject).unwrap_or(0) as u64;
                Pallet::<T>::erase(subject, None);
                writes += 1 + len;
            }
        }
        T::DbWeight::get().reads_writes(reads, writes)
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
        pre_upgrade::<T>().map(|before| before.encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
        let before = Before::decode(&mut &state[..]).map_err(|_| "bad pre-upgrade state")?;
        post_upgrade::<T>(before)
    }
}

/// Version 0 → 1, run only while the pallet's on-chain version is 0; then stamps 1.
pub type MigrateV0ToV1<T> = VersionedMigration<
    0,
    1,
    InnerMigrateV0ToV1<T>,
    Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;

/// The `pre_upgrade` check (kept outside the try-runtime feature so tests run it): identity is
/// migrated already, and every entry decodes.
pub fn pre_upgrade<T: Config>() -> Result<Before, TryRuntimeError> {
    ensure!(
        identity::Pallet::<T>::on_chain_storage_version() >= 1,
        "identity must be migrated to version 1 first"
    );
    let indexes = SubjectConsents::<T>::iter_keys().count() as u32;
    let consents = crate::Consents::<T>::iter_keys().count() as u32;
    ensure!(
        SubjectConsents::<T>::iter_values().count() as u32 == indexes,
        "a consent index does not decode"
    );
    ensure!(
        crate::Consents::<T>::iter_values().count() as u32 == consents,
        "a consent does not decode"
    );
    Ok(Before { indexes, consents })
}

/// The `post_upgrade` check: nothing was lost, no indexed consent of a forgotten subject names a
/// signer, and both copies of every indexed consent are equal.
pub fn post_upgrade<T: Config>(before: Before) -> Result<(), TryRuntimeError> {
    ensure!(
        SubjectConsents::<T>::iter_keys().count() as u32 == before.indexes,
        "consent indexes lost"
    );
    ensure!(
        crate::Consents::<T>::iter_keys().count() as u32 == before.consents,
        "consents lost"
    );
    let nobody: T::AccountId = crate::erased_signer();
    for (subject, index) in SubjectConsents::<T>::iter() {
        let erased = identity::Pallet::<T>::is_erased(subject);
        for (id, c) in index {
            ensure!(
                !erased || c.granted_by == nobody,
                "a forgotten subject's consent names its signer"
            );
            ensure!(
                crate::Consents::<T>::get(id).as_ref() == Some(&c),
                "an indexed consent differs from its copy by id"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        mock::{new_test_ext, RuntimeOrigin, Test, HOSPITAL, HOSPITAL_KEY, PATIENT},
        ConsentStatus, Consents, Grantee,
    };
    use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
    use frame_support::traits::{OnRuntimeUpgrade, StorageVersion};

    const OTHER: u64 = 101;

    fn grant(who: u64, subject: u64) -> u64 {
        let id = crate::NextConsentId::<Test>::get();
        crate::Pallet::<Test>::grant(
            RuntimeOrigin::signed(who),
            subject,
            Grantee::Institution(HOSPITAL),
            PurposeSet::of(&[Purpose::Treatment]),
            CategorySet::of(&[DataCategory::Labs]),
            None,
            None,
            None,
        )
        .unwrap();
        id
    }

    /// Version 0's leftovers: subject 0 forgotten with its consents still naming the patient (as
    /// version 0's erasure left them), subject 1 live.
    fn populate_v0() -> (u64, u64) {
        let gone = grant(PATIENT, 0);
        identity::Pallet::<Test>::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), [8; 32], OTHER)
            .unwrap();
        identity::Pallet::<Test>::claim(RuntimeOrigin::signed(OTHER), [8; 32]).unwrap();
        let live = grant(OTHER, 1);
        identity::Subjects::<Test>::mutate(0, |s| s.as_mut().unwrap().erased_at = Some(1));
        StorageVersion::new(1).put::<identity::Pallet<Test>>();
        StorageVersion::new(0).put::<Pallet<Test>>();
        (gone, live)
    }

    #[test]
    fn v0_to_v1_unlinks_forgotten_subjects_consents_only() {
        new_test_ext().execute_with(|| {
            let (gone, live) = populate_v0();
            let before = pre_upgrade::<Test>().unwrap();
            assert!(
                post_upgrade::<Test>(before).is_err(),
                "v0 state fails the check"
            );
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
            assert_eq!(
                Pallet::<Test>::on_chain_storage_version(),
                crate::STORAGE_VERSION
            );
            post_upgrade::<Test>(before).unwrap();
            let nobody: u64 = crate::erased_signer();
            assert_eq!(Consents::<Test>::get(gone).unwrap().granted_by, nobody);
            assert_eq!(
                crate::Pallet::<Test>::consents_of(0)[0].1.granted_by,
                nobody
            );
            // The migration only unlinks (version 0's erasure ended what was active).
            assert_eq!(
                Consents::<Test>::get(gone).unwrap().status,
                ConsentStatus::Active
            );
            assert_eq!(Consents::<Test>::get(live).unwrap().granted_by, OTHER);
        });
    }

    #[test]
    fn v0_to_v1_waits_for_identity() {
        new_test_ext().execute_with(|| {
            let (gone, _) = populate_v0();
            StorageVersion::new(0).put::<identity::Pallet<Test>>();
            assert!(pre_upgrade::<Test>().is_err());
            InnerMigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(Consents::<Test>::get(gone).unwrap().granted_by, PATIENT);
        });
    }

    #[cfg(feature = "try-runtime")]
    #[test]
    fn try_runtime_hooks_pass() {
        new_test_ext().execute_with(|| {
            populate_v0();
            let state = <MigrateV0ToV1<Test> as OnRuntimeUpgrade>::pre_upgrade().unwrap();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            <MigrateV0ToV1<Test> as OnRuntimeUpgrade>::post_upgrade(state).unwrap();
        });
    }
}
