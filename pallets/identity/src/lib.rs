//! # Identity pallet
//!
//! Who is who on the Consentry chain, with no personal data on chain.
//!
//! - **Institutions** (hospitals, research sites, auditing bodies) are registered, suspended and
//!   removed by [`Config::GovernanceOrigin`] (the consortium council in the runtime). Each holds a
//!   set of [`Role`]s and authorizes service keys: the accounts its workers and services sign with.
//! - **Patients** are pseudonymous subjects. A `DataCustodian` institution [`enrol`]s a patient by
//!   posting a pseudonym — `SHA-256(pepper ‖ local id)` computed off-chain — addressed
//!   to the patient's wallet account. The patient [`claim`]s it by signing, so the link is attested
//!   by both sides. Every pseudonym a patient claims resolves to the same [`SubjectId`].
//! - **Guardians** may manage consents for a patient while appointed.
//! - **Erasure**: [`forget`] ends every consent (through [`Config::OnErasure`]), marks every
//!   pseudonym link erased and refuses any later access. It removes every on-chain link from the
//!   subject or its pseudonyms to the patient's account: the links keep their subject and the
//!   erased flag (what refuses access) but not the account, the subject keeps its erasure time
//!   and pseudonyms but not the account, `SubjectOfAccount` loses the account and the account its
//!   provider reference (so `frame_system` reaps it). The audit
//!   log stays: it holds digests only, and once the institution destroys its pepper entry
//!   off-chain, nothing links the pseudonym to a person. An enrolment still pending (unclaimed)
//!   when the subject is forgotten is not the subject's and stays addressed to the account; the
//!   account, no longer a patient, may claim it as a new subject.
//!
//! Registered accounts get a provider reference in `frame_system`, which is what lets their
//! transactions pass nonce checks on a chain without balances: an account this pallet does not
//! know cannot transact at all.
//!
//! [`enrol`]: Pallet::enrol
//! [`claim`]: Pallet::claim
//! [`forget`]: Pallet::forget
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod bookkeeping;
pub mod migrations;
#[cfg(test)]
mod mock;
mod queries;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use consentry_primitives::{
    AccessorStatus, InstitutionId, Pseudonym, Role, RoleSet, SubjectId,
};
pub use types::*;
pub use weights::WeightInfo;

/// Told when a subject is erased, so dependent pallets end what they hold for it.
pub trait OnErasure {
    /// Called once, inside the `forget` transaction.
    fn on_erasure(subject: SubjectId, now: consentry_primitives::Moment);
    /// The most [`on_erasure`](OnErasure::on_erasure) can weigh: `forget` is charged it on top
    /// of its own weight.
    fn max_weight() -> frame_support::weights::Weight;
}

impl OnErasure for () {
    fn on_erasure(_: SubjectId, _: consentry_primitives::Moment) {}
    fn max_weight() -> frame_support::weights::Weight {
        frame_support::weights::Weight::zero()
    }
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{EnsureOrigin, Time},
    };
    use frame_system::pallet_prelude::*;

    /// The storage layout's version: 1 made the links' and subjects' account optional, removed on
    /// erasure (`migrations::v1`).
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The overarching event type.
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// Registers, suspends and removes institutions (the consortium council).
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;
        /// On-chain time in milliseconds.
        type Time: Time<Moment = consentry_primitives::Moment>;
        /// Ends consents and other per-subject state on erasure.
        type OnErasure: OnErasure;
        /// Longest institution name, in bytes.
        #[pallet::constant]
        type MaxNameLen: Get<u32>;
        /// Most service keys one institution may authorize.
        #[pallet::constant]
        type MaxServiceKeys: Get<u32>;
        /// Most pseudonyms one subject may hold (one per enrolling institution, typically).
        #[pallet::constant]
        type MaxPseudonymsPerSubject: Get<u32>;
        /// Most guardians one subject may appoint.
        #[pallet::constant]
        type MaxGuardians: Get<u32>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Institutions by id.
    #[pallet::storage]
    pub type Institutions<T: Config> =
        StorageMap<_, Blake2_128Concat, InstitutionId, InstitutionOf<T>>;

    /// The id the next registered institution gets.
    #[pallet::storage]
    pub type NextInstitutionId<T> = StorageValue<_, InstitutionId, ValueQuery>;

    /// Which institution a service key belongs to.
    #[pallet::storage]
    pub type ServiceKeys<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, InstitutionId>;

    /// Each institution's transport key: the SHA-256 of the SubjectPublicKeyInfo of the TLS
    /// certificate its workers present to each other (federated rounds pin peers to it).
    #[pallet::storage]
    pub type TransportKeys<T: Config> = StorageMap<_, Blake2_128Concat, InstitutionId, [u8; 32]>;

    /// Pseudonym links, by pseudonym.
    #[pallet::storage]
    pub type Pseudonyms<T: Config> = StorageMap<_, Identity, Pseudonym, PseudonymLinkOf<T>>;

    /// Enrolments not claimed yet, by the account they are addressed to (at most
    /// `MaxPseudonymsPerSubject` each): an unclaimed enrolment links its pseudonym to the account
    /// too, and `forget` must find and erase it without scanning every link.
    #[pallet::storage]
    pub type PendingEnrolments<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Identity, Pseudonym, ()>;

    /// Subjects by id.
    #[pallet::storage]
    pub type Subjects<T: Config> = StorageMap<_, Twox64Concat, SubjectId, SubjectOf<T>>;

    /// The subject a patient account is (none once the subject is forgotten).
    #[pallet::storage]
    pub type SubjectOfAccount<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, SubjectId>;

    /// The id the next subject gets.
    #[pallet::storage]
    pub type NextSubjectId<T> = StorageValue<_, SubjectId, ValueQuery>;

    /// Guardians of a subject, with the time they were appointed.
    #[pallet::storage]
    pub type Guardians<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        SubjectId,
        Blake2_128Concat,
        T::AccountId,
        consentry_primitives::Moment,
    >;

    /// How many accounts a pending enrolment is addressed to or a guardian appointment names, so
    /// the provider reference they were given is dropped only with the last reason for it.
    #[pallet::storage]
    pub type AccountRefs<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// How many subjects an account is guardian of (lets the transaction filter admit guardians
    /// without scanning every subject).
    #[pallet::storage]
    pub type Guardianships<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Institutions present from the first block: name, roles, service keys.
        pub institutions:
            alloc::vec::Vec<(alloc::vec::Vec<u8>, RoleSet, alloc::vec::Vec<T::AccountId>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            for (name, roles, keys) in &self.institutions {
                let name: BoundedVec<u8, T::MaxNameLen> = name
                    .clone()
                    .try_into()
                    .expect("genesis institution name too long");
                let id = Pallet::<T>::insert_institution(name, *roles)
                    .expect("genesis institution must be valid");
                for key in keys {
                    Pallet::<T>::insert_service_key(id, key.clone())
                        .expect("genesis service key must be valid and unique");
                }
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An institution was registered.
        InstitutionRegistered {
            institution: InstitutionId,
            roles: RoleSet,
        },
        /// An institution's roles were changed.
        RolesChanged {
            institution: InstitutionId,
            roles: RoleSet,
        },
        /// An institution was suspended: its keys are refused until reinstated.
        InstitutionSuspended { institution: InstitutionId },
        /// A suspended institution was reinstated.
        InstitutionReinstated { institution: InstitutionId },
        /// An institution and all its service keys were removed.
        InstitutionRemoved { institution: InstitutionId },
        /// A service key was authorized for an institution.
        ServiceKeyAdded {
            institution: InstitutionId,
            key: T::AccountId,
        },
        /// A service key was withdrawn.
        ServiceKeyRemoved {
            institution: InstitutionId,
            key: T::AccountId,
        },
        /// An institution's transport key was set (or rotated).
        TransportKeySet {
            institution: InstitutionId,
            key: [u8; 32],
        },
        /// A patient was enrolled under a pseudonym, addressed to their wallet account.
        Enrolled {
            pseudonym: Pseudonym,
            institution: InstitutionId,
            patient: T::AccountId,
        },
        /// The patient claimed the enrolment; the pseudonym now resolves to the subject.
        Claimed {
            pseudonym: Pseudonym,
            subject: SubjectId,
            patient: T::AccountId,
        },
        /// A guardian was appointed.
        GuardianAppointed {
            subject: SubjectId,
            guardian: T::AccountId,
        },
        /// A guardian was removed (by the patient or by resigning).
        GuardianRemoved {
            subject: SubjectId,
            guardian: T::AccountId,
        },
        /// The subject exercised the right to be forgotten.
        Forgotten {
            subject: SubjectId,
            by: T::AccountId,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The name is empty or longer than `MaxNameLen`.
        BadName,
        /// An institution needs at least one role, and only defined roles.
        BadRoles,
        /// No institution has this id.
        UnknownInstitution,
        /// The institution is already suspended.
        AlreadySuspended,
        /// The institution is not suspended.
        NotSuspended,
        /// The key already serves an institution (or is a patient or guardian account).
        KeyInUse,
        /// The key does not serve this institution.
        UnknownKey,
        /// The institution already has `MaxServiceKeys` keys.
        TooManyKeys,
        /// The signer is not a service key of a registered institution.
        NotRegistered,
        /// The signer's institution is suspended.
        Suspended,
        /// The signer's institution does not hold the `DataCustodian` role.
        NotCustodian,
        /// This pseudonym is already enrolled.
        PseudonymTaken,
        /// No enrolment has this pseudonym.
        UnknownPseudonym,
        /// The enrolment is addressed to another account.
        NotAddressee,
        /// The enrolment was already claimed.
        AlreadyClaimed,
        /// The subject already holds `MaxPseudonymsPerSubject` pseudonyms.
        TooManyPseudonyms,
        /// The signer is not a patient (has claimed no enrolment).
        NotPatient,
        /// The subject has been forgotten; nothing more can be done for it.
        SubjectErased,
        /// No subject has this id.
        UnknownSubject,
        /// The signer is neither the patient nor an appointed guardian.
        NotPatientOrGuardian,
        /// A patient cannot be their own guardian, nor can a service key be one.
        BadGuardian,
        /// The account is already a guardian of this subject.
        AlreadyGuardian,
        /// The account is not a guardian of this subject.
        NotGuardian,
        /// The subject already has `MaxGuardians` guardians.
        TooManyGuardians,
        /// An id counter overflowed.
        Overflow,
        /// The account already has `MaxPseudonymsPerSubject` enrolments it has not claimed.
        TooManyPending,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Registers an institution with its roles. Governance only.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_institution())]
        pub fn register_institution(
            origin: OriginFor<T>,
            name: alloc::vec::Vec<u8>,
            roles: RoleSet,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(!name.is_empty(), Error::<T>::BadName);
            let name: BoundedVec<u8, T::MaxNameLen> =
                name.try_into().map_err(|_| Error::<T>::BadName)?;
            let id = Self::insert_institution(name, roles)?;
            Self::deposit_event(Event::InstitutionRegistered {
                institution: id,
                roles,
            });
            Ok(())
        }

        /// Replaces an institution's roles. Governance only.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::set_roles())]
        pub fn set_roles(
            origin: OriginFor<T>,
            institution: InstitutionId,
            roles: RoleSet,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(!roles.is_empty() && roles.is_valid(), Error::<T>::BadRoles);
            Institutions::<T>::try_mutate(institution, |i| {
                let i = i.as_mut().ok_or(Error::<T>::UnknownInstitution)?;
                i.roles = roles;
                Ok::<_, DispatchError>(())
            })?;
            Self::deposit_event(Event::RolesChanged { institution, roles });
            Ok(())
        }

        /// Suspends an institution: its keys' requests are denied until reinstated. Governance only.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::suspend_institution())]
        pub fn suspend_institution(
            origin: OriginFor<T>,
            institution: InstitutionId,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            Self::change_status(
                institution,
                InstitutionStatus::Active,
                InstitutionStatus::Suspended,
                Error::<T>::AlreadySuspended,
            )?;
            Self::deposit_event(Event::InstitutionSuspended { institution });
            Ok(())
        }

        /// Lifts a suspension. Governance only.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::reinstate_institution())]
        pub fn reinstate_institution(
            origin: OriginFor<T>,
            institution: InstitutionId,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            Self::change_status(
                institution,
                InstitutionStatus::Suspended,
                InstitutionStatus::Active,
                Error::<T>::NotSuspended,
            )?;
            Self::deposit_event(Event::InstitutionReinstated { institution });
            Ok(())
        }

        /// Removes an institution and withdraws all its service keys. Its pseudonyms stay, so
        /// enrolled patients keep their subjects and the audit log stays resolvable. Governance only.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::remove_institution(T::MaxServiceKeys::get()))]
        pub fn remove_institution(
            origin: OriginFor<T>,
            institution: InstitutionId,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            let inst =
                Institutions::<T>::take(institution).ok_or(Error::<T>::UnknownInstitution)?;
            for key in inst.service_keys {
                ServiceKeys::<T>::remove(&key);
                frame_system::Pallet::<T>::dec_providers(&key).ok();
            }
            TransportKeys::<T>::remove(institution);
            Self::deposit_event(Event::InstitutionRemoved { institution });
            Ok(())
        }

        /// Authorizes a service key for an institution. Governance only, so a compromised
        /// institution key cannot mint more keys.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::add_service_key())]
        pub fn add_service_key(
            origin: OriginFor<T>,
            institution: InstitutionId,
            key: T::AccountId,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            Self::insert_service_key(institution, key.clone())?;
            Self::deposit_event(Event::ServiceKeyAdded { institution, key });
            Ok(())
        }

        /// Withdraws a service key. Governance, or another key of the same institution (so an
        /// institution can retire a leaked key at once).
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::remove_service_key())]
        pub fn remove_service_key(origin: OriginFor<T>, key: T::AccountId) -> DispatchResult {
            let institution = ServiceKeys::<T>::get(&key).ok_or(Error::<T>::UnknownKey)?;
            if T::GovernanceOrigin::try_origin(origin.clone()).is_err() {
                let who = ensure_signed(origin)?;
                ensure!(
                    ServiceKeys::<T>::get(&who) == Some(institution),
                    Error::<T>::UnknownKey
                );
            }
            Institutions::<T>::mutate(institution, |i| {
                if let Some(i) = i {
                    i.service_keys.retain(|k| k != &key);
                }
            });
            ServiceKeys::<T>::remove(&key);
            frame_system::Pallet::<T>::dec_providers(&key).ok();
            Self::deposit_event(Event::ServiceKeyRemoved { institution, key });
            Ok(())
        }

        /// Enrols a patient under a pseudonym, addressed to the patient's wallet account. Signed by
        /// a service key of an active `DataCustodian` institution.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::enrol()
            // Counting and indexing the account's pending enrolments (`PendingEnrolments`): not
            // yet in the generated weights (`scripts/weights.sh identity`).
            .saturating_add(T::DbWeight::get().reads_writes(
                T::MaxPseudonymsPerSubject::get().into(), 1)))]
        pub fn enrol(
            origin: OriginFor<T>,
            pseudonym: Pseudonym,
            patient: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let institution = Self::active_institution_with(&who, Role::DataCustodian)?;
            ensure!(
                !Pseudonyms::<T>::contains_key(pseudonym),
                Error::<T>::PseudonymTaken
            );
            ensure!(
                !ServiceKeys::<T>::contains_key(&patient),
                Error::<T>::KeyInUse
            );
            if let Some(subject) = SubjectOfAccount::<T>::get(&patient) {
                ensure!(!Self::is_erased(subject), Error::<T>::SubjectErased);
            }
            ensure!(
                (PendingEnrolments::<T>::iter_prefix(&patient).count() as u32)
                    < T::MaxPseudonymsPerSubject::get(),
                Error::<T>::TooManyPending
            );
            PendingEnrolments::<T>::insert(&patient, pseudonym, ());
            Pseudonyms::<T>::insert(
                pseudonym,
                PseudonymLink {
                    institution,
                    patient: Some(patient.clone()),
                    subject: None,
                    erased: false,
                    enrolled_at: T::Time::now(),
                },
            );
            Self::add_account_ref(&patient);
            Self::deposit_event(Event::Enrolled {
                pseudonym,
                institution,
                patient,
            });
            Ok(())
        }

        /// Claims an enrolment addressed to the signer. The first claim creates the subject; later
        /// claims (at other institutions) attach to the same subject.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::claim()
            // Removing the `PendingEnrolments` entry: not yet in the generated weights.
            .saturating_add(T::DbWeight::get().writes(1)))]
        pub fn claim(origin: OriginFor<T>, pseudonym: Pseudonym) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut link = Pseudonyms::<T>::get(pseudonym).ok_or(Error::<T>::UnknownPseudonym)?;
            ensure!(
                link.patient.as_ref() == Some(&who),
                Error::<T>::NotAddressee
            );
            ensure!(link.subject.is_none(), Error::<T>::AlreadyClaimed);
            let subject = match SubjectOfAccount::<T>::get(&who) {
                Some(s) => s,
                None => {
                    let id = NextSubjectId::<T>::get();
                    NextSubjectId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
                    Subjects::<T>::insert(
                        id,
                        Subject {
                            account: Some(who.clone()),
                            pseudonyms: BoundedVec::new(),
                            erased_at: None,
                            created_at: T::Time::now(),
                        },
                    );
                    SubjectOfAccount::<T>::insert(&who, id);
                    // The subject itself now needs the account; the enrolment's reference moves to it.
                    frame_system::Pallet::<T>::inc_providers(&who);
                    id
                }
            };
            Subjects::<T>::try_mutate(subject, |s| {
                let s = s.as_mut().ok_or(Error::<T>::UnknownSubject)?;
                ensure!(s.erased_at.is_none(), Error::<T>::SubjectErased);
                s.pseudonyms
                    .try_push(pseudonym)
                    .map_err(|_| Error::<T>::TooManyPseudonyms)?;
                Ok::<_, DispatchError>(())
            })?;
            link.subject = Some(subject);
            Pseudonyms::<T>::insert(pseudonym, link);
            PendingEnrolments::<T>::remove(&who, pseudonym);
            Self::drop_account_ref(&who);
            Self::deposit_event(Event::Claimed {
                pseudonym,
                subject,
                patient: who,
            });
            Ok(())
        }

        /// Appoints a guardian who may manage consents for the signer's subject.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::appoint_guardian())]
        pub fn appoint_guardian(origin: OriginFor<T>, guardian: T::AccountId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let subject = SubjectOfAccount::<T>::get(&who).ok_or(Error::<T>::NotPatient)?;
            ensure!(!Self::is_erased(subject), Error::<T>::SubjectErased);
            ensure!(
                guardian != who && !ServiceKeys::<T>::contains_key(&guardian),
                Error::<T>::BadGuardian
            );
            ensure!(
                !Guardians::<T>::contains_key(subject, &guardian),
                Error::<T>::AlreadyGuardian
            );
            let count = Guardians::<T>::iter_prefix(subject).count() as u32;
            ensure!(count < T::MaxGuardians::get(), Error::<T>::TooManyGuardians);
            Guardians::<T>::insert(subject, &guardian, T::Time::now());
            Guardianships::<T>::mutate(&guardian, |n| *n = n.saturating_add(1));
            Self::add_account_ref(&guardian);
            Self::deposit_event(Event::GuardianAppointed { subject, guardian });
            Ok(())
        }

        /// Removes a guardian of `subject`: signed by the patient, or by the guardian resigning.
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::remove_guardian())]
        pub fn remove_guardian(
            origin: OriginFor<T>,
            subject: SubjectId,
            guardian: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let s = Subjects::<T>::get(subject).ok_or(Error::<T>::UnknownSubject)?;
            ensure!(
                s.account.as_ref() == Some(&who) || who == guardian,
                Error::<T>::NotPatientOrGuardian
            );
            ensure!(
                Guardians::<T>::take(subject, &guardian).is_some(),
                Error::<T>::NotGuardian
            );
            Self::end_guardianship(&guardian);
            Self::deposit_event(Event::GuardianRemoved { subject, guardian });
            Ok(())
        }

        /// The right to be forgotten: ends every consent, erases every pseudonym link and removes
        /// every guardian of `subject`. Signed by the patient or an appointed guardian. Irreversible.
        ///
        /// No link from the subject or its pseudonyms to the patient's account is left: each link
        /// keeps its subject and the erased flag (which is what refuses every later access) but
        /// not the account, the subject keeps its pseudonyms and erasure time but not the account,
        /// the account's `SubjectOfAccount` entry is removed and its provider reference dropped.
        /// Enrolments addressed to the account that it never claimed are erased too (flagged, no
        /// account): they named the account, and the erased account must not be able to claim
        /// them into a new subject.
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::forget(
            T::MaxPseudonymsPerSubject::get(),
            T::MaxGuardians::get()
        )
        // Unlinking the account (`SubjectOfAccount` read and removed, its `System::Account` entry
        // read and written), and erasing its unclaimed enrolments (each: its `PendingEnrolments`
        // entry, link and `AccountRefs` entry read and written): not yet in the generated weights
        // (`scripts/weights.sh identity`).
        .saturating_add(T::DbWeight::get().reads_writes(2, 2))
        .saturating_add(T::DbWeight::get().reads_writes(
            3 * u64::from(T::MaxPseudonymsPerSubject::get()),
            3 * u64::from(T::MaxPseudonymsPerSubject::get()),
        ))
        .saturating_add(T::OnErasure::max_weight()))]
        pub fn forget(origin: OriginFor<T>, subject: SubjectId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::ensure_patient_or_guardian(&who, subject)?;
            let now = T::Time::now();
            let mut s = Subjects::<T>::get(subject).ok_or(Error::<T>::UnknownSubject)?;
            for p in s.pseudonyms.iter() {
                Pseudonyms::<T>::mutate(p, |l| {
                    if let Some(l) = l {
                        l.erased = true;
                        l.patient = None;
                    }
                });
            }
            for (guardian, _) in Guardians::<T>::drain_prefix(subject) {
                Self::end_guardianship(&guardian);
            }
            if let Some(account) = s.account.take() {
                Self::erase_pending(&account);
                Self::unlink_account(&account, subject);
            }
            s.erased_at = Some(now);
            Subjects::<T>::insert(subject, s);
            T::OnErasure::on_erasure(subject, now);
            Self::deposit_event(Event::Forgotten { subject, by: who });
            Ok(())
        }

        /// Sets `institution`'s transport key: the SHA-256 of the SubjectPublicKeyInfo of the TLS
        /// certificate its workers present in federated rounds, where peers are pinned to it.
        /// Governance, or a service key of that institution while it is active: TLS keys rotate
        /// more often than service keys, every change is an event on the ledger, and a suspended
        /// institution cannot re-key its way past the pin.
        ///
        /// Charged as `remove_service_key`, which makes the same reads and more writes (not yet
        /// in the generated weights: `scripts/weights.sh identity`).
        #[pallet::call_index(12)]
        #[pallet::weight(T::WeightInfo::remove_service_key())]
        pub fn set_transport_key(
            origin: OriginFor<T>,
            institution: InstitutionId,
            key: [u8; 32],
        ) -> DispatchResult {
            let inst = Institutions::<T>::get(institution).ok_or(Error::<T>::UnknownInstitution)?;
            if T::GovernanceOrigin::try_origin(origin.clone()).is_err() {
                let who = ensure_signed(origin)?;
                ensure!(
                    ServiceKeys::<T>::get(&who) == Some(institution),
                    Error::<T>::UnknownKey
                );
                ensure!(
                    inst.status == InstitutionStatus::Active,
                    Error::<T>::Suspended
                );
            }
            TransportKeys::<T>::insert(institution, key);
            Self::deposit_event(Event::TransportKeySet { institution, key });
            Ok(())
        }
    }
}
