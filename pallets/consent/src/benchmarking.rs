//! Benchmarks for every call of the consent pallet, each in its worst case.

use super::*;
use crate::Pallet as ConsentPallet;
use consentry_primitives::{Role, RoleSet};
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get};
use frame_system::RawOrigin;
use pallet_consentry_identity as identity;

/// A custodian institution and one claimed patient.
fn setup<T: Config>() -> (T::AccountId, SubjectId, consentry_primitives::InstitutionId) {
    let gov = || {
        <T as identity::Config>::GovernanceOrigin::try_successful_origin()
            .expect("governance origin")
    };
    let inst = identity::NextInstitutionId::<T>::get();
    identity::Pallet::<T>::register_institution(
        gov(),
        b"bench".to_vec(),
        RoleSet::of(&[Role::DataCustodian]),
    )
    .unwrap();
    let key: T::AccountId = account("worker", 0, 0);
    identity::Pallet::<T>::add_service_key(gov(), inst, key.clone()).unwrap();
    let who: T::AccountId = account("patient", 0, 0);
    identity::Pallet::<T>::enrol(RawOrigin::Signed(key).into(), [1; 32], who.clone()).unwrap();
    identity::Pallet::<T>::claim(RawOrigin::Signed(who.clone()).into(), [1; 32]).unwrap();
    let subject = identity::SubjectOfAccount::<T>::get(&who).unwrap();
    (who, subject, inst)
}

fn grant_one<T: Config>(who: &T::AccountId, subject: SubjectId, inst: u32) -> ConsentId {
    let id = NextConsentId::<T>::get();
    ConsentPallet::<T>::grant(
        RawOrigin::Signed(who.clone()).into(),
        subject,
        Grantee::Institution(inst),
        PurposeSet::all(),
        CategorySet::all(),
        None,
        Some(u64::MAX),
        Some(u32::MAX),
    )
    .unwrap();
    id
}

/// A consent in force at the end of a full index (the rest revoked): amending or revoking it
/// rewrites the largest index there can be.
fn last_of_full_index<T: Config>(who: &T::AccountId, subject: SubjectId, inst: u32) -> ConsentId {
    for _ in 1..T::MaxIndexedConsents::get() {
        let id = grant_one::<T>(who, subject, inst);
        ConsentPallet::<T>::revoke(RawOrigin::Signed(who.clone()).into(), id).unwrap();
    }
    let id = grant_one::<T>(who, subject, inst);
    assert!(SubjectConsents::<T>::get(subject).is_full());
    id
}

/// The copy of consent `id` in `subject`'s index.
fn indexed<T: Config>(subject: SubjectId, id: ConsentId) -> Consent<T::AccountId> {
    SubjectConsents::<T>::get(subject)
        .into_iter()
        .find(|(i, _)| *i == id)
        .expect("indexed")
        .1
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Worst case: the index is full of ended consents, so every entry is read and one pruned.
    #[benchmark]
    fn grant(n: Linear<0, { T::MaxIndexedConsents::get() }>) {
        let (who, subject, inst) = setup::<T>();
        for _ in 0..n {
            let id = grant_one::<T>(&who, subject, inst);
            ConsentPallet::<T>::revoke(RawOrigin::Signed(who.clone()).into(), id).unwrap();
        }
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            subject,
            Grantee::Institution(inst),
            PurposeSet::all(),
            CategorySet::all(),
            None,
            None,
            None,
        );
        assert_eq!(NextConsentId::<T>::get(), n as u64 + 1);
    }

    #[benchmark]
    fn amend() {
        let (who, subject, inst) = setup::<T>();
        let id = last_of_full_index::<T>(&who, subject, inst);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            id,
            PurposeSet::of(&[Purpose::Treatment]),
            CategorySet::all(),
            Some(u64::MAX - 1),
            Some(1),
        );
        assert_eq!(Consents::<T>::get(id).unwrap().max_uses, Some(1));
        assert_eq!(indexed::<T>(subject, id).max_uses, Some(1));
    }

    #[benchmark]
    fn revoke() {
        let (who, subject, inst) = setup::<T>();
        let id = last_of_full_index::<T>(&who, subject, inst);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), id);
        assert!(matches!(
            indexed::<T>(subject, id).status,
            ConsentStatus::Revoked { .. }
        ));
        assert_eq!(Consents::<T>::get(id), Some(indexed::<T>(subject, id)));
    }

    /// `identity::forget`'s part here: unlinking `n` indexed consents from their signer and ending
    /// those in force (linear in `n`; `forget` is charged for a full index). Beyond the live
    /// bound the consents are revoked ones, which erasure rewrites too.
    #[benchmark]
    fn erase(n: Linear<0, { T::MaxIndexedConsents::get() }>) {
        let (who, subject, inst) = setup::<T>();
        for i in 0..n {
            let id = grant_one::<T>(&who, subject, inst);
            if i + 1 >= T::MaxLiveConsents::get() {
                ConsentPallet::<T>::revoke(RawOrigin::Signed(who.clone()).into(), id).unwrap();
            }
        }
        #[block]
        {
            <ConsentPallet<T> as identity::OnErasure>::on_erasure(subject, 1);
        }
        let all = ConsentPallet::<T>::consents_of(subject);
        assert_eq!(all.len() as u32, n);
        let nobody: T::AccountId = erased_signer();
        assert!(all.iter().all(|(_, c)| c.granted_by == nobody
            && matches!(
                c.status,
                ConsentStatus::Erased { at: 1 } | ConsentStatus::Revoked { .. }
            )));
    }

    impl_benchmark_test_suite!(
        ConsentPallet,
        crate::mock::new_test_ext(),
        crate::mock::Test
    );
}
