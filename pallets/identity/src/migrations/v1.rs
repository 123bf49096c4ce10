//! Version 0 → 1: erasure unlinks the account.
//!
//! Version 0 (implicit: the pallet declared no storage version) stored a pseudonym link's
//! `patient` and a subject's `account` as plain accounts, and `forget` left them, the
//! `SubjectOfAccount` entry and the account's provider reference in place. Version 1 makes both
//! optional, `None` once the subject is forgotten. The migration re-encodes every link and subject
//! and does for the subjects already forgotten what `forget` now does: drops the account from
//! their links and subject, removes their `SubjectOfAccount` entry and the provider reference it
//! held. One block: the chain holds one link per enrolment and one subject per patient.

use crate::{Config, Pallet, PseudonymLink, Pseudonyms, Subject, SubjectOfAccount, Subjects};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use sp_runtime::TryRuntimeError;

/// The version 0 layout.
pub mod v0 {
    use crate::{Config, InstitutionId, Pallet, Pseudonym, SubjectId};
    use codec::{Decode, Encode, MaxEncodedLen};
    use consentry_primitives::Moment;
    use frame_support::{pallet_prelude::*, BoundedVec};

    /// A pseudonym link as version 0 stored it.
    #[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
    pub struct PseudonymLink<AccountId> {
        pub institution: InstitutionId,
        pub patient: AccountId,
        pub subject: Option<SubjectId>,
        pub erased: bool,
        pub enrolled_at: Moment,
    }

    /// A subject as version 0 stored it.
    #[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
    #[scale_info(skip_type_params(MaxP))]
    pub struct Subject<AccountId, MaxP: Get<u32>> {
        pub account: AccountId,
        pub pseudonyms: BoundedVec<Pseudonym, MaxP>,
        pub erased_at: Option<Moment>,
        pub created_at: Moment,
    }

    /// A version 0 subject for runtime `T`.
    pub type SubjectOf<T> =
        Subject<<T as frame_system::Config>::AccountId, <T as Config>::MaxPseudonymsPerSubject>;

    /// `Pseudonyms` in the version 0 layout.
    #[frame_support::storage_alias]
    pub type Pseudonyms<T: Config> = StorageMap<
        Pallet<T>,
        Identity,
        Pseudonym,
        PseudonymLink<<T as frame_system::Config>::AccountId>,
    >;

    /// `Subjects` in the version 0 layout.
    #[frame_support::storage_alias]
    pub type Subjects<T: Config> = StorageMap<Pallet<T>, Twox64Concat, SubjectId, SubjectOf<T>>;
}

/// What [`pre_upgrade`] saw: the entries to be translated.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Before {
    /// Pseudonym links.
    pub links: u32,
    /// Subjects.
    pub subjects: u32,
}

/// The migration's work, without the version check: use [`MigrateV0ToV1`].
pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        let (mut reads, mut writes) = (0u64, 0u64);
        let mut forgotten = Vec::new();
        Subjects::<T>::translate::<v0::SubjectOf<T>, _>(|id, old| {
            reads += 1;
            writes += 1;
            let account = if old.erased_at.is_some() {
                forgotten.push((old.account, id));
                None
            } else {
                Some(old.account)
            };
            Some(Subject {
                account,
                pseudonyms: old.pseudonyms,
                erased_at: old.erased_at,
                created_at: old.created_at,
            })
        });
        for (account, subject) in forgotten {
            Pallet::<T>::unlink_account(&account, subject);
            reads += 2;
            writes += 2;
        }
        Pseudonyms::<T>::translate::<v0::PseudonymLink<T::AccountId>, _>(|_, old| {
            reads += 1;
            writes += 1;
            Some(PseudonymLink {
                institution: old.institution,
                patient: (!old.erased).then_some(old.patient),
                subject: old.subject,
                erased: old.erased,
                enrolled_at: old.enrolled_at,
            })
        });
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

/// The `pre_upgrade` check (kept outside the try-runtime feature so tests run it): every entry
/// decodes in the version 0 layout.
pub fn pre_upgrade<T: Config>() -> Result<Before, TryRuntimeError> {
    let links = v0::Pseudonyms::<T>::iter_keys().count() as u32;
    let subjects = v0::Subjects::<T>::iter_keys().count() as u32;
    ensure!(
        v0::Pseudonyms::<T>::iter_values().count() as u32 == links,
        "a pseudonym link does not decode as version 0"
    );
    ensure!(
        v0::Subjects::<T>::iter_values().count() as u32 == subjects,
        "a subject does not decode as version 0"
    );
    Ok(Before { links, subjects })
}

/// The `post_upgrade` check: nothing was lost, every entry decodes in the version 1 layout, a
/// forgotten subject and its links name no account and no account names it, and every live
/// subject's account still names it.
pub fn post_upgrade<T: Config>(before: Before) -> Result<(), TryRuntimeError> {
    ensure!(
        Pseudonyms::<T>::iter_values().count() as u32 == before.links,
        "pseudonym links lost"
    );
    ensure!(
        Subjects::<T>::iter_values().count() as u32 == before.subjects,
        "subjects lost"
    );
    for link in Pseudonyms::<T>::iter_values() {
        ensure!(
            !link.erased || link.patient.is_none(),
            "an erased link names an account"
        );
    }
    for (id, subject) in Subjects::<T>::iter() {
        match (&subject.erased_at, &subject.account) {
            (Some(_), Some(_)) => return Err("a forgotten subject names an account".into()),
            (None, None) => return Err("a live subject lost its account".into()),
            (None, Some(account)) => ensure!(
                SubjectOfAccount::<T>::get(account) == Some(id),
                "a live subject's account does not name it"
            ),
            (Some(_), None) => {}
        }
    }
    for (_, id) in SubjectOfAccount::<T>::iter() {
        ensure!(
            Subjects::<T>::get(id).is_some_and(|s| s.erased_at.is_none()),
            "an account names a forgotten subject"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{new_test_ext, System, Test};
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

    const LIVE: u64 = 100;
    const GONE: u64 = 101;
    const PENDING: u64 = 102;

    fn link(patient: u64, subject: Option<u64>, erased: bool) -> v0::PseudonymLink<u64> {
        v0::PseudonymLink {
            institution: 0,
            patient,
            subject,
            erased,
            enrolled_at: 5,
        }
    }

    fn subject(account: u64, pseudonym: [u8; 32], erased_at: Option<u64>) -> v0::SubjectOf<Test> {
        v0::Subject {
            account,
            pseudonyms: BoundedVec::truncate_from(vec![pseudonym]),
            erased_at,
            created_at: 7,
        }
    }

    /// What version 0 left: a live patient, a forgotten one (still linked, as `forget` used to
    /// leave it) and a pending enrolment.
    fn populate_v0() {
        StorageVersion::new(0).put::<Pallet<Test>>();
        v0::Pseudonyms::<Test>::insert([1; 32], link(LIVE, Some(0), false));
        v0::Pseudonyms::<Test>::insert([2; 32], link(GONE, Some(1), true));
        v0::Pseudonyms::<Test>::insert([3; 32], link(PENDING, None, false));
        v0::Subjects::<Test>::insert(0, subject(LIVE, [1; 32], None));
        v0::Subjects::<Test>::insert(1, subject(GONE, [2; 32], Some(9)));
        SubjectOfAccount::<Test>::insert(LIVE, 0);
        SubjectOfAccount::<Test>::insert(GONE, 1);
        for who in [LIVE, GONE, PENDING] {
            System::inc_providers(&who);
        }
        crate::AccountRefs::<Test>::insert(PENDING, 1);
    }

    #[test]
    fn v0_to_v1_translates_and_unlinks_forgotten_subjects() {
        new_test_ext().execute_with(|| {
            populate_v0();
            let before = pre_upgrade::<Test>().unwrap();
            assert_eq!(
                before,
                Before {
                    links: 3,
                    subjects: 2
                }
            );
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
            post_upgrade::<Test>(before).unwrap();

            let live = Pseudonyms::<Test>::get([1; 32]).unwrap();
            assert_eq!(
                (live.patient, live.subject, live.erased),
                (Some(LIVE), Some(0), false)
            );
            let gone = Pseudonyms::<Test>::get([2; 32]).unwrap();
            assert_eq!(
                (gone.patient, gone.subject, gone.erased),
                (None, Some(1), true)
            );
            let pending = Pseudonyms::<Test>::get([3; 32]).unwrap();
            assert_eq!((pending.patient, pending.subject), (Some(PENDING), None));
            assert_eq!(Subjects::<Test>::get(0).unwrap().account, Some(LIVE));
            let s = Subjects::<Test>::get(1).unwrap();
            assert_eq!((s.account, s.erased_at, s.created_at), (None, Some(9), 7));
            assert_eq!(s.pseudonyms.to_vec(), vec![[2; 32]]);
            assert_eq!(SubjectOfAccount::<Test>::get(LIVE), Some(0));
            assert_eq!(SubjectOfAccount::<Test>::get(GONE), None);
            assert_eq!(System::providers(&GONE), 0);
            assert_eq!(System::providers(&LIVE), 1);
            assert_eq!(System::providers(&PENDING), 1);
            // What decides access is unchanged.
            assert_eq!(Pallet::<Test>::resolve(&[1; 32]), Ok(0));
            assert_eq!(Pallet::<Test>::resolve(&[2; 32]), Err(true));
            assert!(Pallet::<Test>::is_claimable_by(&[3; 32], &PENDING));
            assert!(Pallet::<Test>::is_erased(1));
            assert!(!Pallet::<Test>::is_registered_account(&GONE));
        });
    }

    #[test]
    fn v0_to_v1_runs_once() {
        new_test_ext().execute_with(|| {
            populate_v0();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            let after = Pseudonyms::<Test>::get([1; 32]);
            // At version 1 the migration is a no-op: it would otherwise misread version 1 data.
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(Pseudonyms::<Test>::get([1; 32]), after);
            assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
        });
    }

    #[test]
    fn the_checks_catch_an_unmigrated_forgotten_subject() {
        new_test_ext().execute_with(|| {
            populate_v0();
            let before = pre_upgrade::<Test>().unwrap();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            // As if the migration had left the forgotten patient's account in place.
            SubjectOfAccount::<Test>::insert(GONE, 1);
            assert!(post_upgrade::<Test>(before).is_err());
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
