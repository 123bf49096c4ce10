//! Benchmarks for every call of the audit pallet: granted paths (the more expensive ones, which
//! consult and consume consents) and a full batch.

use super::*;
use crate::Pallet as Audit;
use consentry_primitives::DataCategory;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::RawOrigin;

const PSEUDONYM: [u8; 32] = [42; 32];

fn categories() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

fn worker<T: Config>() -> T::AccountId {
    let who: T::AccountId = account("worker", 0, 0);
    T::BenchmarkHelper::permit(&who, PSEUDONYM, Purpose::Simulation, categories());
    assert!(
        pallet_consentry_identity::ServiceKeys::<T>::contains_key(&who),
        "helper registers the worker"
    );
    who
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn request_access() {
        let who = worker::<T>();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            PSEUDONYM,
            Purpose::Simulation,
            categories(),
            [1; 32],
        );
        assert_eq!(Records::<T>::get(0).unwrap().state, AccessState::Granted);
    }

    #[benchmark]
    fn request_access_batch(n: Linear<1, { T::MaxBatch::get() }>) {
        let who = worker::<T>();
        let batch: BoundedVec<_, T::MaxBatch> =
            alloc::vec![PSEUDONYM; n as usize].try_into().unwrap();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            batch,
            Purpose::Simulation,
            categories(),
            [1; 32],
        );
        assert_eq!(NextAccessId::<T>::get(), n as u64);
    }

    #[benchmark]
    fn emergency_access() {
        let who = worker::<T>();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            PSEUDONYM,
            categories(),
            [2; 32],
            [1; 32],
        );
        assert_eq!(Records::<T>::get(0).unwrap().emergency, Some([2; 32]));
    }

    #[benchmark]
    fn complete_access() {
        let who = worker::<T>();
        Audit::<T>::request_access(
            RawOrigin::Signed(who.clone()).into(),
            PSEUDONYM,
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
