//! Version 0 → 1: records stored under no subject are indexed by pseudonym.
//!
//! Version 0 (implicit: the pallet declared no storage version) stored a record whose pseudonym
//! named no live patient under no subject and nowhere else, so the patient who claimed the
//! pseudonym later never saw it. Version 1 indexes every such record in
//! [`PseudonymRecords`](crate::PseudonymRecords) as it is made; this migration indexes the ones
//! made before. Records themselves are unchanged. One block: one write per record under no subject.

use crate::{Config, NewestFirst, Pallet, PseudonymRecords, Records};
#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;
use codec::{Decode, Encode};
use consentry_primitives::SubjectId;
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use sp_runtime::TryRuntimeError;

/// No subject: the first key of the records [`PseudonymRecords`] indexes.
const NO_SUBJECT: Option<SubjectId> = None;

/// What [`pre_upgrade`] saw.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Before {
    /// Records stored under no subject.
    pub unattached: u32,
    /// Records in all.
    pub records: u32,
}

/// The migration's work, without the version check: use [`MigrateV0ToV1`].
pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        let mut n = 0u64;
        for (key, record) in Records::<T>::iter_prefix(NO_SUBJECT) {
            PseudonymRecords::<T>::insert(record.pseudonym, key, ());
            n += 1;
        }
        T::DbWeight::get().reads_writes(n, n)
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

/// The `pre_upgrade` check (kept outside the try-runtime feature so tests run it): every record
/// decodes, and nothing is indexed by pseudonym yet.
pub fn pre_upgrade<T: Config>() -> Result<Before, TryRuntimeError> {
    let records = Records::<T>::iter_keys().count() as u32;
    ensure!(
        Records::<T>::iter_values().count() as u32 == records,
        "a record does not decode"
    );
    ensure!(
        PseudonymRecords::<T>::iter_keys().next().is_none(),
        "records are indexed by pseudonym already"
    );
    let unattached = Records::<T>::iter_key_prefix(NO_SUBJECT).count() as u32;
    Ok(Before {
        unattached,
        records,
    })
}

/// The `post_upgrade` check: no record was touched, and the pseudonym index holds exactly the
/// records under no subject, each under the pseudonym it names.
pub fn post_upgrade<T: Config>(before: Before) -> Result<(), TryRuntimeError> {
    ensure!(
        Records::<T>::iter_keys().count() as u32 == before.records,
        "records changed"
    );
    let mut indexed = 0u32;
    for (pseudonym, key) in PseudonymRecords::<T>::iter_keys() {
        let record = Records::<T>::get(NO_SUBJECT, key).ok_or("an index entry names no record")?;
        ensure!(
            record.pseudonym == pseudonym && NewestFirst::of(record.id) == key,
            "an index entry names another pseudonym's record"
        );
        indexed += 1;
    }
    ensure!(
        indexed == before.unattached,
        "not every record under no subject is indexed"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{
        new_test_ext, Audit, RuntimeOrigin, Test, HOSPITAL_KEY, LAB_KEY, PSEUDONYM, SUBJECT,
    };
    use consentry_primitives::{CategorySet, DataCategory, Purpose};
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

    fn request(pseudonym: [u8; 32]) -> u64 {
        let id = crate::NextAccessId::<Test>::get();
        Audit::request_access(
            RuntimeOrigin::signed(LAB_KEY),
            pseudonym,
            Purpose::Simulation,
            CategorySet::of(&[DataCategory::Labs]),
            [1; 32],
        )
        .unwrap();
        id
    }

    /// Version 0's records: two under no subject (an unknown pseudonym, an enrolment not yet
    /// claimed) and one under the claimed patient, none indexed by pseudonym.
    fn populate_v0() -> [u64; 3] {
        pallet_consentry_identity::Pallet::<Test>::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [9; 32],
            300,
        )
        .unwrap();
        let ids = [request([8; 32]), request([9; 32]), request(PSEUDONYM)];
        let _ = PseudonymRecords::<Test>::clear(u32::MAX, None);
        StorageVersion::new(0).put::<Pallet<Test>>();
        ids
    }

    #[test]
    fn v0_to_v1_indexes_records_under_no_subject_by_pseudonym() {
        new_test_ext().execute_with(|| {
            let [unknown, unclaimed, claimed] = populate_v0();
            let before = pre_upgrade::<Test>().unwrap();
            assert_eq!(
                before,
                Before {
                    unattached: 2,
                    records: 3
                }
            );
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
            let ids = |p| {
                Pallet::<Test>::records_by_pseudonym(p, None, 10)
                    .0
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids([8; 32]), vec![unknown]);
            assert_eq!(ids([9; 32]), vec![unclaimed]);
            assert_eq!(ids(PSEUDONYM), Vec::<u64>::new());
            // Claiming now makes the earlier record the patient's.
            pallet_consentry_identity::Pallet::<Test>::claim(RuntimeOrigin::signed(300), [9; 32])
                .unwrap();
            let subject = pallet_consentry_identity::SubjectOfAccount::<Test>::get(300);
            let mine: Vec<_> = Pallet::<Test>::records_by_subject(subject, None, 10)
                .0
                .iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(mine, vec![unclaimed]);
            let theirs = Pallet::<Test>::records_by_subject(Some(SUBJECT), None, 10).0;
            assert_eq!(
                theirs.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![claimed]
            );
        });
    }

    #[test]
    fn v0_to_v1_runs_once() {
        new_test_ext().execute_with(|| {
            populate_v0();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            let weight = MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(
                weight,
                <<Test as frame_system::Config>::DbWeight as Get<
                    frame_support::weights::RuntimeDbWeight,
                >>::get()
                .reads(1)
            );
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
