//! Benchmarks for the validators pallet; the runtime's `weights.rs` is generated from them.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{EnsureOrigin, Get},
    BoundedVec,
};

fn fill<T: Config>(n: u32) {
    let mut set: Vec<T::AccountId> = (0..n).map(|i| account("validator", i, 0)).collect();
    set.sort();
    Validators::<T>::put(BoundedVec::try_from(set).expect("n <= MaxValidators"));
}

#[benchmarks]
mod benches {
    use super::*;

    #[benchmark]
    fn add_validator(v: Linear<0, { T::MaxValidators::get() - 1 }>) -> Result<(), BenchmarkError> {
        fill::<T>(v);
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let who: T::AccountId = account("new", 0, 0);
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, who.clone());
        assert!(Pallet::<T>::is_validator(&who));
        Ok(())
    }

    #[benchmark]
    fn remove_validator(
        v: Linear<{ T::MinValidators::get() + 1 }, { T::MaxValidators::get() }>,
    ) -> Result<(), BenchmarkError> {
        fill::<T>(v);
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let who: T::AccountId = account("validator", 0, 0);
        frame_system::Pallet::<T>::inc_providers(&who);
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, who.clone());
        assert!(!Pallet::<T>::is_validator(&who));
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
