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
//! It also decides when sessions end: every [`SessionLength`] blocks, set per chain at genesis
//! and changed later by governance with [`Pallet::set_session_length`] (from the next session
//! rotation on). The length is a trade-off each network makes: `pallet-session` marks the block
//! that rotates a session as full, so every session costs one block of ordinary transactions,
//! while a validator-set change takes effect two rotations after governance decides it.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
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

    /// The storage layout's version. 1: the first declared; the layout is version 0's
    /// (`migrations::v1` only stamps it).
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
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

    /// Blocks per session: sessions end at the blocks `SessionLengthSince + k * SessionLength`
    /// until [`PendingSessionLength`] comes due.
    #[pallet::storage]
    pub type SessionLength<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, DefaultLength<T>>;

    /// The block a session started at under the current [`SessionLength`]. It is 0 (genesis)
    /// until governance first changes the length, so a chain that never does still ends
    /// sessions at the multiples of the length (and a running chain needs no migration).
    #[pallet::storage]
    pub type SessionLengthSince<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

    /// A length governance set that applies from the session rotation at block `from` on.
    /// Sessions are governed by it from that block even before it is moved into
    /// [`SessionLength`] (at that rotation, or at the next `set_session_length`).
    #[pallet::storage]
    pub type PendingSessionLength<T: Config> =
        StorageValue<_, PendingLength<BlockNumberFor<T>>, OptionQuery>;

    /// A session length waiting for the rotation it applies at.
    #[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, RuntimeDebug)]
    pub struct PendingLength<BlockNumber> {
        /// The rotation block that starts the first session of `length` blocks.
        pub from: BlockNumber,
        /// The new number of blocks per session.
        pub length: BlockNumber,
    }

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
        /// Governance set the session length: sessions last `length` blocks from the rotation
        /// at block `from` on (the session in progress keeps its length).
        SessionLengthSet {
            length: BlockNumberFor<T>,
            from: BlockNumberFor<T>,
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
        /// A session must last at least one block.
        ZeroSessionLength,
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

        /// Sets the number of blocks per session (governance only); zero is refused, as at
        /// genesis.
        ///
        /// The session in progress keeps its length: the new length applies from the next
        /// session rotation on (announced in [`Event::SessionLengthSet`] as `from`), so sessions
        /// end at `from`, `from + length`, `from + 2 * length`, … If the call comes in a block
        /// that rotated, the session that just started is the one in progress. Calling again
        /// before `from` replaces the pending length and keeps `from` (setting the current
        /// length again cancels the change). `ShouldEndSession` and
        /// `EstimateNextSessionRotation` follow this schedule from the call on: a block's own
        /// rotation decision never changes, no block rotates twice, a session never lasts more
        /// than the old length (for the one in progress) or the new one (for the rest), and the
        /// estimated next rotation is the block at which `should_end_session` is next true.
        /// A validator-set change still applies two rotations after it is decided, whatever
        /// the lengths of those two sessions.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::set_session_length())]
        pub fn set_session_length(
            origin: OriginFor<T>,
            length: BlockNumberFor<T>,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(!length.is_zero(), Error::<T>::ZeroSessionLength);
            let now = frame_system::Pallet::<T>::block_number();
            Self::apply_due_length(now);
            // Not `SessionLength` in place: sessions end at `since + k * length`, so that would
            // move the phase, and the session in progress could end at once or run longer than
            // either length. Starting the new length at the next end of the current schedule
            // leaves every rotation up to then where it was and anchors the new ones on a real
            // rotation, with no callback from `pallet-session` needed. While a change is
            // pending, that next end is its `from`, so a later change keeps it.
            let from = Self::next_rotation(now);
            PendingSessionLength::<T>::put(PendingLength { from, length });
            Self::deposit_event(Event::SessionLengthSet { length, from });
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

        fn start_session(_start_index: SessionIndex) {
            // Only bookkeeping: the schedule already follows a due change; this keeps
            // `SessionLength` in storage the length of the session in progress.
            Self::apply_due_length(frame_system::Pallet::<T>::block_number());
        }
    }

    impl<T: Config> Pallet<T> {
        /// The schedule governing block `now`: `(since, length)`, sessions ending at
        /// `since + k * length`; the length is never zero.
        fn schedule(now: BlockNumberFor<T>) -> (BlockNumberFor<T>, BlockNumberFor<T>) {
            match PendingSessionLength::<T>::get() {
                Some(p) if now >= p.from => (p.from, p.length.max(One::one())),
                _ => (
                    SessionLengthSince::<T>::get(),
                    SessionLength::<T>::get().max(One::one()),
                ),
            }
        }

        /// The first block after `now` at which a session ends.
        fn next_rotation(now: BlockNumberFor<T>) -> BlockNumberFor<T> {
            let (since, length) = Self::schedule(now);
            if now < since {
                return since;
            }
            now.saturating_add(length.saturating_sub((now - since) % length))
        }

        /// Moves a pending length whose rotation has come into `SessionLength`; the schedule is
        /// the same before and after.
        fn apply_due_length(now: BlockNumberFor<T>) {
            if let Some(p) = PendingSessionLength::<T>::get() {
                if now >= p.from {
                    SessionLengthSince::<T>::put(p.from);
                    SessionLength::<T>::put(p.length);
                    PendingSessionLength::<T>::kill();
                }
            }
        }
    }

    impl<T: Config> pallet_session::ShouldEndSession<BlockNumberFor<T>> for Pallet<T> {
        fn should_end_session(now: BlockNumberFor<T>) -> bool {
            let (since, length) = Self::schedule(now);
            now >= since && ((now - since) % length).is_zero()
        }
    }

    impl<T: Config> frame_support::traits::EstimateNextSessionRotation<BlockNumberFor<T>>
        for Pallet<T>
    {
        /// The length of the session in progress.
        fn average_session_length() -> BlockNumberFor<T> {
            Self::schedule(frame_system::Pallet::<T>::block_number()).1
        }

        fn estimate_current_session_progress(now: BlockNumberFor<T>) -> (Option<Permill>, Weight) {
            let (since, length) = Self::schedule(now);
            // Block `since + k * length` starts a session: it is the session's first of
            // `length` blocks.
            let into = (now.saturating_sub(since) % length).saturating_add(One::one());
            (
                Some(Permill::from_rational(into, length)),
                T::DbWeight::get().reads(3),
            )
        }

        fn estimate_next_session_rotation(
            now: BlockNumberFor<T>,
        ) -> (Option<BlockNumberFor<T>>, Weight) {
            (Some(Self::next_rotation(now)), T::DbWeight::get().reads(3))
        }
    }
}
