//! Benchmarks for the validators pallet; the runtime's `weights.rs` is generated from them.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{EnsureOrigin, EstimateNextSessionRotation, Get},
    BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use pallet_session::ShouldEndSession;

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

    #[benchmark]
    fn set_session_length() -> Result<(), BenchmarkError> {
        let origin =
            T::GovernanceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        // Worst case: an earlier change has come due and is moved into `SessionLength` first.
        frame_system::Pallet::<T>::set_block_number(25u32.into());
        PendingSessionLength::<T>::put(PendingLength {
            from: 20u32.into(),
            length: 7u32.into(),
        });
        let length: BlockNumberFor<T> = 12u32.into();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, length);
        // Sessions of 7 blocks since block 20 end at 27, where sessions of 12 blocks begin.
        assert_eq!(SessionLength::<T>::get(), 7u32.into());
        assert_eq!(SessionLengthSince::<T>::get(), 20u32.into());
        assert_eq!(
            PendingSessionLength::<T>::get(),
            Some(PendingLength {
                from: 27u32.into(),
                length
            })
        );
        assert!(Pallet::<T>::should_end_session(27u32.into()));
        assert_eq!(
            Pallet::<T>::estimate_next_session_rotation(27u32.into()).0,
            Some(39u32.into())
        );
        Ok(())
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
