//! # Consent pallet
//!
//! Consent policies the patient controls, and the decision every access goes through.
//!
//! A [`Consent`] lets a grantee (one institution, or any institution holding a role) use some data
//! categories of one patient for some purposes, during a period, optionally a limited number of
//! times. The patient or an appointed guardian [`grant`](Pallet::grant)s, [`amend`](Pallet::amend)s
//! (narrowing only: widening needs a new grant the patient sees as such) and
//! [`revoke`](Pallet::revoke)s. Expiry and exhaustion need no transaction: they follow from on-chain
//! time and the use count at decision time.
//!
//! The decision ([`ConsentCheck::decide`]) permits an access when the consents that name the
//! accessor, are in force, have uses left and cover the purpose together cover every requested
//! category; it answers with the consent ids used. Otherwise it denies with the most specific
//! reason: of the consents that name the accessor, the one that passed the most checks decides
//! (checks in the order of [`DenyReason`]).
//!
//! A consent is stored twice: by id ([`Consents`], never removed, what clients and auditors
//! resolve) and inline in its patient's index ([`SubjectConsents`]), so that a decision reads one
//! key for all of a patient's consents — every access request decides, and storage reads
//! dominate its weight. Every change writes both: `Pallet::store` for one consent, `consume` and
//! erasure for several with one write of the index.
//!
//! FHIR R4 mapping of a consent: see [`Consent`] and `pallets/consent/README.md`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod decision;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use consentry_primitives::{
    CategorySet, Consent, ConsentCheck, ConsentId, ConsentStatus, Decision, DenyReason, Grantee,
    Moment, Purpose, PurposeSet, SubjectId, SubjectRef,
};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{pallet_prelude::*, traits::Time};
    use frame_system::pallet_prelude::*;
    use pallet_consentry_identity as identity;

    /// The storage layout's version. 1: unchanged layout; a forgotten subject's indexed consents
    /// name no signer (`granted_by` is [`erased_signer`]), see `migrations::v1`.
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config + identity::Config {
        /// The overarching event type.
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// Most consents in force one patient may hold.
        #[pallet::constant]
        type MaxLiveConsents: Get<u32>;
        /// Most consents indexed per patient (in force plus recently ended, so a denial can still
        /// say "revoked" or "expired"). Must be larger than `MaxLiveConsents`.
        #[pallet::constant]
        type MaxIndexedConsents: Get<u32>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Consents by id. Never removed: the indexer and auditors can always resolve an id.
    #[pallet::storage]
    pub type Consents<T: Config> = StorageMap<_, Twox64Concat, ConsentId, Consent<T::AccountId>>;

    /// A patient's index, as held in [`SubjectConsents`]: ids with their consents, oldest first.
    pub type IndexOf<T> = BoundedVec<
        (ConsentId, Consent<<T as frame_system::Config>::AccountId>),
        <T as Config>::MaxIndexedConsents,
    >;

    /// The id the next consent gets.
    #[pallet::storage]
    pub type NextConsentId<T> = StorageValue<_, ConsentId, ValueQuery>;

    /// A patient's indexed consents with their terms, oldest first: those in force and the most
    /// recently ended. A copy of their entries in [`Consents`], written with them.
    #[pallet::storage]
    pub type SubjectConsents<T: Config> =
        StorageMap<_, Twox64Concat, SubjectId, IndexOf<T>, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A consent was granted.
        ConsentGranted {
            consent: ConsentId,
            subject: SubjectId,
            grantee: Grantee,
            by: T::AccountId,
        },
        /// A consent was narrowed.
        ConsentAmended {
            consent: ConsentId,
            subject: SubjectId,
            by: T::AccountId,
        },
        /// A consent was revoked.
        ConsentRevoked {
            consent: ConsentId,
            subject: SubjectId,
            by: T::AccountId,
        },
        /// Every consent of a forgotten subject ended.
        ConsentsErased { subject: SubjectId, count: u32 },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// Purposes must be non-empty and defined.
        BadPurposes,
        /// Categories must be non-empty and defined.
        BadCategories,
        /// The period must end after it starts and after now.
        BadPeriod,
        /// A use limit must be at least 1.
        BadUseLimit,
        /// The named grantee institution is not registered.
        UnknownGrantee,
        /// Re-identification can only be consented to a named institution, never to a role.
        ReIdentificationNeedsNamedGrantee,
        /// The patient already holds `MaxLiveConsents` consents in force (or the index is full).
        TooManyConsents,
        /// No consent has this id.
        UnknownConsent,
        /// The consent was revoked or erased.
        NotActive,
        /// An amendment may only narrow a consent; widening is a new grant.
        WideningNotAllowed,
        /// An id counter overflowed.
        Overflow,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Grants a consent for `subject`. Signed by the patient or an appointed guardian.
        /// `valid_from` defaults to now; `valid_until = None` means until revoked.
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::grant(T::MaxIndexedConsents::get()))]
        #[allow(clippy::too_many_arguments)]
        pub fn grant(
            origin: OriginFor<T>,
            subject: SubjectId,
            grantee: Grantee,
            purposes: PurposeSet,
            categories: CategorySet,
            valid_from: Option<Moment>,
            valid_until: Option<Moment>,
            max_uses: Option<u32>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            identity::Pallet::<T>::ensure_patient_or_guardian(&who, subject)?;
            ensure!(
                !purposes.is_empty() && purposes.is_valid(),
                Error::<T>::BadPurposes
            );
            ensure!(
                !categories.is_empty() && categories.is_valid(),
                Error::<T>::BadCategories
            );
            let now = <T as identity::Config>::Time::now();
            let valid_from = valid_from.unwrap_or(now);
            if let Some(until) = valid_until {
                ensure!(until > valid_from && until > now, Error::<T>::BadPeriod);
            }
            ensure!(max_uses != Some(0), Error::<T>::BadUseLimit);
            match grantee {
                Grantee::Institution(id) => {
                    ensure!(
                        identity::Institutions::<T>::contains_key(id),
                        Error::<T>::UnknownGrantee
                    )
                }
                Grantee::AnyWithRole(_) => ensure!(
                    !purposes.contains(Purpose::ReIdentification),
                    Error::<T>::ReIdentificationNeedsNamedGrantee
                ),
            }

            let mut index = SubjectConsents::<T>::get(subject);
            let live = index.iter().filter(|(_, c)| !has_ended(c, now)).count() as u32;
            ensure!(
                live < T::MaxLiveConsents::get(),
                Error::<T>::TooManyConsents
            );
            if index.is_full() {
                // Make room by dropping the oldest ended consent from the index (it stays in
                // `Consents`, so its id still resolves).
                let pos = index
                    .iter()
                    .position(|(_, c)| has_ended(c, now))
                    .ok_or(Error::<T>::TooManyConsents)?;
                index.remove(pos);
            }

            let id = NextConsentId::<T>::get();
            NextConsentId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
            let consent = Consent {
                subject,
                grantee,
                purposes,
                categories,
                valid_from,
                valid_until,
                max_uses,
                uses: 0,
                status: ConsentStatus::Active,
                granted_by: who.clone(),
                granted_at: now,
            };
            Consents::<T>::insert(id, &consent);
            index
                .try_push((id, consent))
                .map_err(|_| Error::<T>::TooManyConsents)?;
            SubjectConsents::<T>::insert(subject, index);
            Self::deposit_event(Event::ConsentGranted {
                consent: id,
                subject,
                grantee,
                by: who,
            });
            Ok(())
        }

        /// Narrows a consent: fewer purposes or categories, an earlier end, fewer uses. Anything
        /// wider is refused with `WideningNotAllowed`. Signed by the patient or a guardian.
        /// A use limit given to a consent that had none counts uses from then on: uses of
        /// unlimited consents are not counted (they are in the patient's audit log).
        #[pallet::call_index(1)]
        #[pallet::weight(<T as Config>::WeightInfo::amend())]
        pub fn amend(
            origin: OriginFor<T>,
            consent: ConsentId,
            purposes: PurposeSet,
            categories: CategorySet,
            valid_until: Option<Moment>,
            max_uses: Option<u32>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut c = Consents::<T>::get(consent).ok_or(Error::<T>::UnknownConsent)?;
            identity::Pallet::<T>::ensure_patient_or_guardian(&who, c.subject)?;
            ensure!(c.status == ConsentStatus::Active, Error::<T>::NotActive);
            ensure!(
                !purposes.is_empty() && purposes.is_valid(),
                Error::<T>::BadPurposes
            );
            ensure!(
                !categories.is_empty() && categories.is_valid(),
                Error::<T>::BadCategories
            );
            ensure!(max_uses != Some(0), Error::<T>::BadUseLimit);
            let narrower_until = match (c.valid_until, valid_until) {
                (_, None) => c.valid_until.is_none(),
                (None, Some(_)) => true,
                (Some(old), Some(new)) => new <= old,
            };
            let narrower_uses = match (c.max_uses, max_uses) {
                (_, None) => c.max_uses.is_none(),
                (None, Some(_)) => true,
                (Some(old), Some(new)) => new <= old,
            };
            ensure!(
                c.purposes.includes(purposes)
                    && c.categories.includes(categories)
                    && narrower_until
                    && narrower_uses,
                Error::<T>::WideningNotAllowed
            );
            if let Some(until) = valid_until {
                ensure!(until > c.valid_from, Error::<T>::BadPeriod);
            }
            c.purposes = purposes;
            c.categories = categories;
            c.valid_until = valid_until;
            c.max_uses = max_uses;
            let subject = c.subject;
            Self::store(consent, c);
            Self::deposit_event(Event::ConsentAmended {
                consent,
                subject,
                by: who,
            });
            Ok(())
        }

        /// Revokes a consent at once. Signed by the patient or an appointed guardian.
        #[pallet::call_index(2)]
        #[pallet::weight(<T as Config>::WeightInfo::revoke())]
        pub fn revoke(origin: OriginFor<T>, consent: ConsentId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut c = Consents::<T>::get(consent).ok_or(Error::<T>::UnknownConsent)?;
            identity::Pallet::<T>::ensure_patient_or_guardian(&who, c.subject)?;
            ensure!(c.status == ConsentStatus::Active, Error::<T>::NotActive);
            c.status = ConsentStatus::Revoked {
                at: <T as identity::Config>::Time::now(),
            };
            let subject = c.subject;
            Self::store(consent, c);
            Self::deposit_event(Event::ConsentRevoked {
                consent,
                subject,
                by: who,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Whether a consent is active, within its period and has uses left at `now`.
        pub fn in_force(id: &ConsentId, now: Moment) -> bool {
            Consents::<T>::get(id).is_some_and(|c| decision::failure(&c, now).is_none())
        }

        /// Every indexed consent of a subject, oldest first.
        pub fn consents_of(
            subject: SubjectId,
        ) -> alloc::vec::Vec<(ConsentId, Consent<T::AccountId>)> {
            SubjectConsents::<T>::get(subject).into_inner()
        }

        /// Writes consent `id`'s new state by id and, while its patient's index holds it, there
        /// too. The only writer of an existing consent, so the two copies stay equal.
        pub(crate) fn store(id: ConsentId, consent: Consent<T::AccountId>) {
            let mut index = SubjectConsents::<T>::get(consent.subject);
            if let Some((_, held)) = index.iter_mut().find(|(i, _)| *i == id) {
                *held = consent.clone();
                SubjectConsents::<T>::insert(consent.subject, index);
            }
            Consents::<T>::insert(id, consent);
        }
    }

    /// Whether a consent can never permit again at or after `now`: revoked, erased, expired or
    /// out of uses. (A consent whose period has not started has not ended.)
    fn has_ended<A>(c: &Consent<A>, now: Moment) -> bool {
        matches!(decision::failure(c, now), Some(r) if r != DenyReason::NotYetValid)
    }

    /// The account a forgotten subject's consents name as their signer: the all-zero account,
    /// which no key signs for. Erasure replaces the patient's (or guardian's) account with it so
    /// that no consent links the subject to an account any more.
    pub fn erased_signer<A: Decode>() -> A {
        A::decode(&mut sp_runtime::traits::TrailingZeroInput::zeroes())
            .expect("an infinite input of zeroes decodes every account type")
    }

    impl<T: Config> Pallet<T> {
        /// Ends every indexed consent of `subject` still active (when `now` is given) and
        /// unlinks every indexed consent from its signer (both copies); returns how many it
        /// ended. A consent dropped from the index before (ended, pushed out by newer ones) keeps
        /// its by-id copy as it was.
        pub(crate) fn erase(subject: SubjectId, now: Option<Moment>) -> u32 {
            let mut index = SubjectConsents::<T>::get(subject);
            let nobody: T::AccountId = erased_signer();
            let (mut count, mut changed) = (0u32, false);
            for (id, c) in index.iter_mut() {
                let end = now.filter(|_| c.status == ConsentStatus::Active);
                if end.is_none() && c.granted_by == nobody {
                    continue;
                }
                if let Some(at) = end {
                    c.status = ConsentStatus::Erased { at };
                    count += 1;
                }
                c.granted_by = nobody.clone();
                Consents::<T>::insert(*id, &*c);
                changed = true;
            }
            if changed {
                SubjectConsents::<T>::insert(subject, index);
            }
            count
        }
    }

    impl<T: Config> identity::OnErasure for Pallet<T> {
        fn on_erasure(subject: SubjectId, now: Moment) {
            let count = Self::erase(subject, Some(now));
            Self::deposit_event(Event::ConsentsErased { subject, count });
        }

        /// Ending a full index of consents still marked active (expired and exhausted ones are).
        fn max_weight() -> Weight {
            <T as Config>::WeightInfo::erase(T::MaxIndexedConsents::get())
        }
    }
}
