//! Version 0 → 1: the first declared storage version; the layout is unchanged.
//!
//! Version 0 is implicit (the pallet declared no storage version). Its items are the current
//! ones, so the migration only stamps version 1; its checks make sure every item decodes in the
//! current layout before and after.

use crate::{
    Config, Pallet, PendingSessionLength, Planned, SessionLength, SessionLengthSince, Validators,
};
use alloc::vec::Vec;
use codec::Decode;
#[cfg(feature = "try-runtime")]
use codec::Encode;
use frame_support::{
    migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use sp_runtime::{traits::Zero, TryRuntimeError};

/// The migration's work, without the version check: use [`MigrateV0ToV1`].
pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        Weight::zero()
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
        check::<T>().map(|set| set.encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
        let before =
            Vec::<T::AccountId>::decode(&mut &state[..]).map_err(|_| "bad pre-upgrade state")?;
        ensure!(check::<T>()? == before, "the validator set changed");
        Ok(())
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

/// The check on both sides (kept outside the try-runtime feature so tests run it): every item
/// that is present decodes in the current layout, and the session length is at least 1. Returns
/// the validator set.
pub fn check<T: Config>() -> Result<Vec<T::AccountId>, TryRuntimeError> {
    fn decodes<V: Decode>(key: &[u8]) -> bool {
        frame_support::storage::unhashed::get_raw(key)
            .is_none_or(|raw| V::decode(&mut &raw[..]).is_ok())
    }
    ensure!(
        decodes::<BoundedVec<T::AccountId, T::MaxValidators>>(&Validators::<T>::hashed_key()),
        "Validators does not decode"
    );
    ensure!(
        decodes::<BoundedVec<T::AccountId, T::MaxValidators>>(&Planned::<T>::hashed_key()),
        "Planned does not decode"
    );
    ensure!(
        decodes::<frame_system::pallet_prelude::BlockNumberFor<T>>(
            &SessionLengthSince::<T>::hashed_key()
        ),
        "SessionLengthSince does not decode"
    );
    ensure!(
        decodes::<frame_system::pallet_prelude::BlockNumberFor<T>>(
            &SessionLength::<T>::hashed_key()
        ),
        "SessionLength does not decode"
    );
    ensure!(
        decodes::<crate::PendingLength<frame_system::pallet_prelude::BlockNumberFor<T>>>(
            &PendingSessionLength::<T>::hashed_key()
        ),
        "PendingSessionLength does not decode"
    );
    ensure!(
        !SessionLength::<T>::get().is_zero(),
        "the session length is 0"
    );
    Ok(Validators::<T>::get().into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{new_test_ext, Test};
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

    #[test]
    fn v0_to_v1_stamps_the_version_and_keeps_the_set() {
        new_test_ext().execute_with(|| {
            StorageVersion::new(0).put::<Pallet<Test>>();
            let before = check::<Test>().unwrap();
            assert_eq!(before.len(), 3);
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
            assert_eq!(
                Pallet::<Test>::on_chain_storage_version(),
                crate::STORAGE_VERSION
            );
            assert_eq!(check::<Test>().unwrap(), before);
            // Already at 1: nothing runs.
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

    #[test]
    fn the_check_refuses_what_does_not_decode() {
        new_test_ext().execute_with(|| {
            frame_support::storage::unhashed::put_raw(&Validators::<Test>::hashed_key(), &[9]);
            assert!(check::<Test>().is_err());
        });
    }

    #[cfg(feature = "try-runtime")]
    #[test]
    fn try_runtime_hooks_pass() {
        new_test_ext().execute_with(|| {
            StorageVersion::new(0).put::<Pallet<Test>>();
            let state = <MigrateV0ToV1<Test> as OnRuntimeUpgrade>::pre_upgrade().unwrap();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            <MigrateV0ToV1<Test> as OnRuntimeUpgrade>::post_upgrade(state).unwrap();
        });
    }
}
