//! Benchmarks for every call of the audit pallet, each in its costliest case: the request is
//! granted (the decision reads a use-limited consent and consumes it), every record is for a
//! different patient, and every index head is full, so each record also writes a full index page.
//! The calls refund the page writes that do not happen.

use super::*;
use crate::Pallet as Audit;
use alloc::vec::Vec;
use consentry_primitives::DataCategory;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::RawOrigin;

fn categories() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

fn pseudonym(i: u32) -> Pseudonym {
    let mut p = [42; 32];
    p[..4].copy_from_slice(&i.to_le_bytes());
    p
}

/// An index head whose tail is full: the next append writes a page.
fn full_head<T: Config>() -> IndexHead<T::IndexPage> {
    let mut head = IndexHead::default();
    for id in 0..T::IndexPage::get() {
        assert!(head.push(u64::from(id) + 1_000_000).is_none());
    }
    head
}

/// A worker key of a new institution, and `n` patients who consented to it; every index head full.
fn setup<T: Config>(n: u32) -> (T::AccountId, Vec<(Pseudonym, SubjectId)>) {
    let who: T::AccountId = account("worker", 0, 0);
    T::BenchmarkHelper::institution(&who);
    let institution = pallet_consentry_identity::ServiceKeys::<T>::get(&who)
        .expect("helper registers the worker");
    InstitutionIndex::<T>::mutate(institution, |log| log.index = full_head::<T>());
    let patients = (0..n)
        .map(|i| {
            let p = pseudonym(i);
            let subject =
                T::BenchmarkHelper::patient(&who, i, p, Purpose::Simulation, categories());
            SubjectIndex::<T>::insert(subject, full_head::<T>());
            (p, subject)
        })
        .collect();
    (who, patients)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn request_access() {
        let (who, patients) = setup::<T>(1);
        let (pseudonym, subject) = patients[0];
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            pseudonym,
            Purpose::Simulation,
            categories(),
            [1; 32],
        );
        assert_eq!(Records::<T>::get(0).unwrap().state, AccessState::Granted);
        assert!(SubjectPages::<T>::contains_key(subject, 0));
    }

    #[benchmark]
    fn request_access_batch(n: Linear<1, { T::MaxBatch::get() }>) {
        let (who, patients) = setup::<T>(n);
        let batch: BoundedVec<_, T::MaxBatch> = patients
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who.clone()),
            batch,
            Purpose::Simulation,
            categories(),
            [1; 32],
        );
        assert_eq!(NextAccessId::<T>::get(), n as u64);
        let institution = pallet_consentry_identity::ServiceKeys::<T>::get(&who).unwrap();
        assert_eq!(Audit::<T>::counts(institution).granted, n);
        assert!(patients
            .iter()
            .all(|(_, s)| SubjectPages::<T>::contains_key(s, 0)));
    }

    #[benchmark]
    fn emergency_access() {
        let (who, patients) = setup::<T>(1);
        let (pseudonym, subject) = patients[0];
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            pseudonym,
            categories(),
            [2; 32],
            [1; 32],
        );
        assert_eq!(Records::<T>::get(0).unwrap().emergency, Some([2; 32]));
        assert!(SubjectPages::<T>::contains_key(subject, 0));
    }

    #[benchmark]
    fn complete_access() {
        let (who, patients) = setup::<T>(1);
        Audit::<T>::request_access(
            RawOrigin::Signed(who.clone()).into(),
            patients[0].0,
            Purpose::Simulation,
            categories(),
            [1; 32],
        )
        .unwrap();
        #[extrinsic_call]
        _(RawOrigin::Signed(who), 0, Outcome::Completed, Some([3; 32]));
        assert_eq!(
            Records::<T>::get(0).unwrap().state,
            AccessState::Closed(Outcome::Completed)
        );
    }

    impl_benchmark_test_suite!(Audit, crate::mock::new_test_ext(), crate::mock::Test);
}
