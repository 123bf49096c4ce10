//! Version 1 → 2: unclaimed enrolments indexed by the account they are addressed to.
//!
//! Version 2 keeps `PendingEnrolments` (account → pseudonym) so that `forget` erases the
//! enrolments a patient never claimed: they link a pseudonym to the account as much as a claimed
//! one does. The layout of existing entries is unchanged; the migration fills the index from every
//! link that is neither claimed nor erased. One block: one link per enrolment.
//!
//! Not repaired, because the chain cannot tell: an enrolment left pending by a patient forgotten
//! under version 1 still names the account (version 1 kept no record of which account a
//! forgotten subject had). It is indexed like any other, so it is erased if the account is
//! forgotten again, and the account may still claim it into a new subject meanwhile, as version 1
//! allowed.

use crate::{Config, Pallet, PendingEnrolments, Pseudonyms};
use alloc::vec::Vec;
#[cfg(feature = "try-runtime")]
use codec::{Decode, Encode};
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use sp_runtime::TryRuntimeError;

/// The migration's work, without the version check: use [`MigrateV1ToV2`].
pub struct InnerMigrateV1ToV2<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV1ToV2<T> {
    fn on_runtime_upgrade() -> Weight {
        let (mut reads, mut writes) = (0u64, 0u64);
        for (pseudonym, link) in Pseudonyms::<T>::iter() {
            reads += 1;
            if let (Some(account), None, false) = (&link.patient, link.subject, link.erased) {
                PendingEnrolments::<T>::insert(account, pseudonym, ());
                writes += 1;
            }
        }
        T::DbWeight::get().reads_writes(reads, writes)
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
        pre_upgrade::<T>().map(|pending| pending.encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
        let pending = u32::decode(&mut &state[..]).map_err(|_| "bad pre-upgrade state")?;
        post_upgrade::<T>(pending)
    }
}

/// Version 1 → 2, run only while the pallet's on-chain version is 1; then stamps 2.
pub type MigrateV1ToV2<T> = VersionedMigration<
    1,
    2,
    InnerMigrateV1ToV2<T>,
    Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;

/// The `pre_upgrade` check (kept outside the try-runtime feature so tests run it): the index is
/// empty; returns how many unclaimed, unerased enrolments there are.
pub fn pre_upgrade<T: Config>() -> Result<u32, TryRuntimeError> {
    ensure!(
        PendingEnrolments::<T>::iter_keys().next().is_none(),
        "the pending-enrolment index is not empty before its migration"
    );
    Ok(Pseudonyms::<T>::iter_values()
        .filter(|l| l.patient.is_some() && l.subject.is_none() && !l.erased)
        .count() as u32)
}

/// The `post_upgrade` check: exactly the unclaimed, unerased enrolments are indexed, each under
/// the account it is addressed to.
pub fn post_upgrade<T: Config>(pending: u32) -> Result<(), TryRuntimeError> {
    let indexed: Vec<_> = PendingEnrolments::<T>::iter_keys().collect();
    ensure!(
        indexed.len() as u32 == pending,
        "the index does not hold every pending enrolment"
    );
    for (account, pseudonym) in indexed {
        ensure!(
            Pallet::<T>::is_claimable_by(&pseudonym, &account),
            "an indexed enrolment is not claimable by its account"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        mock::{new_test_ext, Test},
        PseudonymLink,
    };
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

    const PATIENT: u64 = 100;
    const OTHER: u64 = 101;

    fn link(patient: Option<u64>, subject: Option<u64>, erased: bool) -> PseudonymLink<u64> {
        PseudonymLink {
            institution: 0,
            patient,
            subject,
            erased,
            enrolled_at: 5,
        }
    }

    /// What version 1 left: a claimed link, an erased one, and two pending enrolments.
    fn populate_v1() {
        StorageVersion::new(1).put::<Pallet<Test>>();
        Pseudonyms::<Test>::insert([1; 32], link(Some(PATIENT), Some(0), false));
        Pseudonyms::<Test>::insert([2; 32], link(None, Some(1), true));
        Pseudonyms::<Test>::insert([3; 32], link(Some(PATIENT), None, false));
        Pseudonyms::<Test>::insert([4; 32], link(Some(OTHER), None, false));
    }

    #[test]
    fn v1_to_v2_indexes_exactly_the_pending_enrolments() {
        new_test_ext().execute_with(|| {
            populate_v1();
            let pending = pre_upgrade::<Test>().unwrap();
            assert_eq!(pending, 2);
            MigrateV1ToV2::<Test>::on_runtime_upgrade();
            assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
            assert_eq!(
                Pallet::<Test>::on_chain_storage_version(),
                crate::STORAGE_VERSION
            );
            post_upgrade::<Test>(pending).unwrap();
            let mut indexed: Vec<_> = PendingEnrolments::<Test>::iter_keys().collect();
            indexed.sort();
            assert_eq!(indexed, vec![(PATIENT, [3; 32]), (OTHER, [4; 32])]);
            // At version 2 it is a no-op.
            PendingEnrolments::<Test>::remove(OTHER, [4; 32]);
            MigrateV1ToV2::<Test>::on_runtime_upgrade();
            assert!(!PendingEnrolments::<Test>::contains_key(OTHER, [4; 32]));
        });
    }

    #[test]
    fn after_v1_to_v2_forget_erases_an_enrolment_pending_from_before() {
        use crate::{mock::RuntimeOrigin, Pallet as Identity};
        use frame_support::assert_ok;
        new_test_ext().execute_with(|| {
            crate::tests::setup();
            assert_ok!(Identity::<Test>::enrol(
                RuntimeOrigin::signed(crate::tests::HOSPITAL_KEY),
                [1; 32],
                PATIENT
            ));
            assert_ok!(Identity::<Test>::claim(
                RuntimeOrigin::signed(PATIENT),
                [1; 32]
            ));
            // An enrolment made under version 1: a link, no index entry.
            Pseudonyms::<Test>::insert([3; 32], link(Some(PATIENT), None, false));
            crate::AccountRefs::<Test>::mutate(PATIENT, |n| *n += 1);
            frame_system::Pallet::<Test>::inc_providers(&PATIENT);
            StorageVersion::new(1).put::<Pallet<Test>>();
            MigrateV1ToV2::<Test>::on_runtime_upgrade();
            let subject = crate::SubjectOfAccount::<Test>::get(PATIENT).unwrap();
            assert_ok!(Identity::<Test>::forget(
                RuntimeOrigin::signed(PATIENT),
                subject
            ));
            let l = Pseudonyms::<Test>::get([3; 32]).unwrap();
            assert_eq!((l.patient, l.erased), (None, true));
            assert_eq!(frame_system::Pallet::<Test>::providers(&PATIENT), 0);
        });
    }

    #[test]
    fn the_checks_catch_a_missing_index_entry() {
        new_test_ext().execute_with(|| {
            populate_v1();
            let pending = pre_upgrade::<Test>().unwrap();
            MigrateV1ToV2::<Test>::on_runtime_upgrade();
            PendingEnrolments::<Test>::remove(PATIENT, [3; 32]);
            assert!(post_upgrade::<Test>(pending).is_err());
        });
    }
}
