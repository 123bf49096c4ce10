//! Benchmarks for every call of the identity pallet, each in its worst case.

use super::*;
use crate::Pallet as Identity;
use consentry_primitives::{Role, RoleSet};
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get};
use frame_system::RawOrigin;

fn governance<T: Config>() -> T::RuntimeOrigin {
    T::GovernanceOrigin::try_successful_origin()
        .expect("governance origin can be produced in benchmarks")
}

fn custodian<T: Config>(key: &T::AccountId) -> InstitutionId {
    let id = NextInstitutionId::<T>::get();
    let name = alloc::vec![b'x'; T::MaxNameLen::get() as usize];
    Identity::<T>::register_institution(governance::<T>(), name, RoleSet::all()).expect("register");
    Identity::<T>::add_service_key(governance::<T>(), id, key.clone()).expect("key");
    id
}

/// A claimed patient with `p` pseudonyms and `g` guardians.
fn patient<T: Config>(p: u32, g: u32) -> (T::AccountId, SubjectId) {
    let key: T::AccountId = account("worker", 0, 0);
    let _ = custodian::<T>(&key);
    let who: T::AccountId = account("patient", 0, 0);
    for i in 0..p.max(1) {
        let pseudonym = [i as u8 + 1; 32];
        Identity::<T>::enrol(
            RawOrigin::Signed(key.clone()).into(),
            pseudonym,
            who.clone(),
        )
        .expect("enrol");
        Identity::<T>::claim(RawOrigin::Signed(who.clone()).into(), pseudonym).expect("claim");
    }
    for i in 0..g {
        Identity::<T>::appoint_guardian(
            RawOrigin::Signed(who.clone()).into(),
            account("guardian", i, 0),
        )
        .expect("guardian");
    }
    let subject = SubjectOfAccount::<T>::get(&who).expect("claimed");
    (who, subject)
}

/// `n` enrolments addressed to `who` that it has not claimed (pseudonyms apart from
/// [`patient`]'s).
fn pending<T: Config>(key: &T::AccountId, who: &T::AccountId, n: u32) {
    for i in 0..n {
        Identity::<T>::enrol(
            RawOrigin::Signed(key.clone()).into(),
            [200u8.wrapping_add(i as u8); 32],
            who.clone(),
        )
        .expect("enrol");
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_institution() {
        let origin = governance::<T>();
        let name = alloc::vec![b'x'; T::MaxNameLen::get() as usize];
        #[extrinsic_call]
        _(
            origin as T::RuntimeOrigin,
            name,
            RoleSet::of(&[Role::DataCustodian]),
        );
        assert!(Institutions::<T>::contains_key(0));
    }

    #[benchmark]
    fn set_roles() {
        let id = custodian::<T>(&account("worker", 0, 0));
        let origin = governance::<T>();
        #[extrinsic_call]
        _(
            origin as T::RuntimeOrigin,
            id,
            RoleSet::of(&[Role::Auditor]),
        );
        assert_eq!(
            Institutions::<T>::get(id).unwrap().roles,
            RoleSet::of(&[Role::Auditor])
        );
    }

    #[benchmark]
    fn suspend_institution() {
        let id = custodian::<T>(&account("worker", 0, 0));
        let origin = governance::<T>();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id);
        assert_eq!(
            Institutions::<T>::get(id).unwrap().status,
            InstitutionStatus::Suspended
        );
    }

    #[benchmark]
    fn reinstate_institution() {
        let id = custodian::<T>(&account("worker", 0, 0));
        Identity::<T>::suspend_institution(governance::<T>(), id).unwrap();
        let origin = governance::<T>();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id);
        assert_eq!(
            Institutions::<T>::get(id).unwrap().status,
            InstitutionStatus::Active
        );
    }

    #[benchmark]
    fn remove_institution(k: Linear<1, { T::MaxServiceKeys::get() }>) {
        let id = custodian::<T>(&account("worker", 0, 0));
        for i in 1..k {
            Identity::<T>::add_service_key(governance::<T>(), id, account("worker", i, 0)).unwrap();
        }
        let origin = governance::<T>();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id);
        assert!(!Institutions::<T>::contains_key(id));
    }

    #[benchmark]
    fn add_service_key() {
        let id = custodian::<T>(&account("worker", 0, 0));
        let key: T::AccountId = account("worker", 1, 0);
        let origin = governance::<T>();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id, key.clone());
        assert_eq!(ServiceKeys::<T>::get(&key), Some(id));
    }

    #[benchmark]
    fn remove_service_key() {
        let key: T::AccountId = account("worker", 0, 0);
        let id = custodian::<T>(&key);
        let other: T::AccountId = account("worker", 1, 0);
        Identity::<T>::add_service_key(governance::<T>(), id, other.clone()).unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(key), other.clone());
        assert!(!ServiceKeys::<T>::contains_key(&other));
    }

    /// Not in `WeightInfo` yet: charged as `remove_service_key` until weights are regenerated.
    #[benchmark]
    fn set_transport_key() {
        let key: T::AccountId = account("worker", 0, 0);
        let id = custodian::<T>(&key);
        #[extrinsic_call]
        _(RawOrigin::Signed(key), id, [7; 32]);
        assert_eq!(TransportKeys::<T>::get(id), Some([7; 32]));
    }

    #[benchmark]
    fn enrol() {
        let key: T::AccountId = account("worker", 0, 0);
        custodian::<T>(&key);
        let who: T::AccountId = account("patient", 0, 0);
        // The most unclaimed enrolments the addressee may already have: all are counted.
        pending::<T>(&key, &who, T::MaxPseudonymsPerSubject::get() - 1);
        #[extrinsic_call]
        _(RawOrigin::Signed(key), [1; 32], who);
        assert!(Pseudonyms::<T>::contains_key([1; 32]));
    }

    #[benchmark]
    fn claim() {
        let key: T::AccountId = account("worker", 0, 0);
        custodian::<T>(&key);
        let who: T::AccountId = account("patient", 0, 0);
        Identity::<T>::enrol(RawOrigin::Signed(key).into(), [1; 32], who.clone()).unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), [1; 32]);
        assert!(SubjectOfAccount::<T>::contains_key(&who));
    }

    #[benchmark]
    fn appoint_guardian() {
        let (who, subject) = patient::<T>(1, T::MaxGuardians::get() - 1);
        let guardian: T::AccountId = account("new-guardian", 0, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), guardian.clone());
        assert!(Guardians::<T>::contains_key(subject, &guardian));
    }

    #[benchmark]
    fn remove_guardian() {
        let (who, subject) = patient::<T>(1, T::MaxGuardians::get());
        let guardian: T::AccountId = account("guardian", 0, 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who), subject, guardian.clone());
        assert!(!Guardians::<T>::contains_key(subject, &guardian));
    }

    #[benchmark]
    fn forget(
        p: Linear<1, { T::MaxPseudonymsPerSubject::get() }>,
        g: Linear<0, { T::MaxGuardians::get() }>,
    ) {
        let (who, subject) = patient::<T>(p, g);
        // A full set of unclaimed enrolments, all erased with the subject.
        let key: T::AccountId = account("worker", 0, 0);
        pending::<T>(&key, &who, T::MaxPseudonymsPerSubject::get());
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), subject);
        assert!(Identity::<T>::is_erased(subject));
        assert!(PendingEnrolments::<T>::iter_prefix(&who).next().is_none());
    }

    impl_benchmark_test_suite!(Identity, crate::mock::new_test_ext(), crate::mock::Test);
}
