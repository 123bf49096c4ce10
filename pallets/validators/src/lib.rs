//! # Consentry validators pallet
//!
//! The consortium's validator set: the accounts whose nodes author blocks (Aura) and vote on
//! finality (GRANDPA). Governance (the council) adds and removes validators; `pallet-session`
//! turns this set into the consensus authorities at session boundaries, using the session keys
//! each validator registered with `Session::set_keys`. Nobody edits a chain spec to change the
//! set once the network runs.
//!
//! How a change takes effect:
//! 1. governance calls [`Pallet::add_validator`] (or [`Pallet::remove_validator`]);
//! 2. the new validator registers its node's session keys (`author_rotateKeys` on its node, then
//!    `Session::set_keys` signed by the validator account, which this pallet keeps alive);
//! 3. at the next session rotation this pallet hands `pallet-session` the validators that have
//!    keys; the set is queued for one session and becomes active at the one after.
//!
//! A validator without session keys stays in [`Validators`] but is left out of the set handed
//! to the session pallet until its keys are registered.
//!
//! The pallet never hands the session pallet an empty set, and governance cannot shrink the set
//! below `MinValidators`.
//!
//! It also decides when sessions end: every [`SessionLength`] blocks, set per chain at genesis.
//! The length is a trade-off each network makes: `pallet-session` marks the block that rotates
//! a session as full, so every session costs one block of ordinary transactions, while a
//! validator-set change takes effect two rotations after governance decides it.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;
pub use weights::WeightInfo;

use alloc::vec::Vec;

/// A session index (as in `sp-staking`).
pub type SessionIndex = u32;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{pallet_prelude::*, traits::Contains};
    use frame_system::pallet_prelude::*;
    use sp_runtime::{
        traits::{One, Saturating, Zero},
        Permill,
    };

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The overarching event type.
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// Who may add and remove validators: the council (and root on dev chains).
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// Whether an account has registered session keys (in the runtime: `Session::NextKeys`).
        type HasSessionKeys: Contains<Self::AccountId>;
        /// The largest validator set.
        #[pallet::constant]
        type MaxValidators: Get<u32>;
        /// The smallest validator set governance may leave.
        #[pallet::constant]
        type MinValidators: Get<u32>;
        /// Blocks per session where the genesis does not set [`SessionLength`] (at least 1).
        #[pallet::constant]
        type DefaultSessionLength: Get<BlockNumberFor<Self>>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// The validator set governance has decided on, sorted.
    #[pallet::storage]
    pub type Validators<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

    /// The set last handed to the session pallet (validators with keys), sorted. A rotation
    /// hands over a new set only when this would change, so GRANDPA sees a set change only when
    /// there is one.
    #[pallet::storage]
    pub type Planned<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

    #[pallet::type_value]
    pub fn DefaultLength<T: Config>() -> BlockNumberFor<T> {
        T::DefaultSessionLength::get()
    }

    /// Blocks per session: a session ends at every block number divisible by it.
    #[pallet::storage]
    pub type SessionLength<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, DefaultLength<T>>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// The founding validators.
        pub validators: Vec<T::AccountId>,
        /// Blocks per session; `None` keeps `DefaultSessionLength`.
        pub session_length: Option<BlockNumberFor<T>>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let mut set = self.validators.clone();
            set.sort();
            set.dedup();
            assert_eq!(
                set.len(),
                self.validators.len(),
                "duplicate validator in genesis"
            );
            for v in &set {
                // Without balances an account exists only through a provider reference; the
                // validator's account must exist to register session keys.
                frame_system::Pallet::<T>::inc_providers(v);
            }
            let set: BoundedVec<_, _> = set.try_into().expect("at most MaxValidators at genesis");
            Validators::<T>::put(set);
            if let Some(length) = self.session_length {
                assert!(!length.is_zero(), "session_length must be at least 1");
                SessionLength::<T>::put(length);
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                !T::DefaultSessionLength::get().is_zero(),
                "DefaultSessionLength must be at least 1"
            );
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Governance added a validator; it joins once its session keys are registered, two
        /// session rotations later.
        ValidatorAdded { who: T::AccountId },
        /// Governance removed a validator; it leaves two session rotations later.
        ValidatorRemoved { who: T::AccountId },
        /// A new set was handed to the session pallet, active from session `session`.
        ValidatorSetPlanned {
            session: SessionIndex,
            validators: Vec<T::AccountId>,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The account is already a validator.
        AlreadyValidator,
        /// The account is not a validator.
        NotValidator,
        /// The set is full (`MaxValidators`).
        TooManyValidators,
        /// Removing would leave fewer than `MinValidators`.
        TooFewValidators,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Adds `who` to the validator set (governance only).
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::add_validator(T::MaxValidators::get()))]
        pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            Validators::<T>::try_mutate(|set| -> DispatchResult {
                let at = set
                    .binary_search(&who)
                    .err()
                    .ok_or(Error::<T>::AlreadyValidator)?;
                set.try_insert(at, who.clone())
                    .map_err(|_| Error::<T>::TooManyValidators)?;
                Ok(())
            })?;
            frame_system::Pallet::<T>::inc_providers(&who);
            Self::deposit_event(Event::ValidatorAdded { who });
            Ok(())
        }

        /// Removes `who` from the validator set (governance only).
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::remove_validator(T::MaxValidators::get()))]
        pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            Validators::<T>::try_mutate(|set| -> DispatchResult {
                let at = set
                    .binary_search(&who)
                    .map_err(|_| Error::<T>::NotValidator)?;
                ensure!(
                    set.len() > T::MinValidators::get() as usize,
                    Error::<T>::TooFewValidators
                );
                set.remove(at);
                Ok(())
            })?;
            // Fails only while the account still holds consumers (its session keys); it then
            // stays alive, which is harmless: it is no longer in the set.
            let _ = frame_system::Pallet::<T>::dec_providers(&who);
            Self::deposit_event(Event::ValidatorRemoved { who });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Whether `who` is in the governance-decided set (it may then register session keys).
        pub fn is_validator(who: &T::AccountId) -> bool {
            Validators::<T>::get().binary_search(who).is_ok()
        }

        /// The validators that can take part in the next session: those with session keys.
        fn next_set() -> BoundedVec<T::AccountId, T::MaxValidators> {
            let mut set = Validators::<T>::get();
            set.retain(T::HasSessionKeys::contains);
            set
        }
    }

    impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
        fn new_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
            let next = Self::next_set();
            if next.is_empty() {
                log::warn!(
                    target: "runtime::validators",
                    "no validator has session keys; keeping the current set for session {new_index}"
                );
                return None;
            }
            if next == Planned::<T>::get() {
                return None;
            }
            Planned::<T>::put(&next);
            let validators = next.into_inner();
            Self::deposit_event(Event::ValidatorSetPlanned {
                session: new_index,
                validators: validators.clone(),
            });
            Some(validators)
        }

        fn end_session(_end_index: SessionIndex) {}

        fn start_session(_start_index: SessionIndex) {}
    }

    impl<T: Config> Pallet<T> {
        /// The session length, never zero.
        fn length() -> BlockNumberFor<T> {
            SessionLength::<T>::get().max(One::one())
        }
    }

    impl<T: Config> pallet_session::ShouldEndSession<BlockNumberFor<T>> for Pallet<T> {
        fn should_end_session(now: BlockNumberFor<T>) -> bool {
            (now % Self::length()).is_zero()
        }
    }

    impl<T: Config> frame_support::traits::EstimateNextSessionRotation<BlockNumberFor<T>>
        for Pallet<T>
    {
        fn average_session_length() -> BlockNumberFor<T> {
            Self::length()
        }

        fn estimate_current_session_progress(now: BlockNumberFor<T>) -> (Option<Permill>, Weight) {
            let length = Self::length();
            // Block `k * length` starts a session: it is the session's first of `length` blocks.
            let into = (now % length).saturating_add(One::one());
            (
                Some(Permill::from_rational(into, length)),
                T::DbWeight::get().reads(1),
            )
        }

        fn estimate_next_session_rotation(
            now: BlockNumberFor<T>,
        ) -> (Option<BlockNumberFor<T>>, Weight) {
            let length = Self::length();
            let next = now.saturating_add(length.saturating_sub(now % length));
            (Some(next), T::DbWeight::get().reads(1))
        }
    }
}
