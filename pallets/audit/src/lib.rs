//! # Audit pallet
//!
//! Every access to patient data is a transaction, and every transaction leaves a record.
//!
//! A worker key of a registered institution calls [`request_access`](Pallet::request_access); the
//! pallet asks [`Config::ConsentCheck`] itself, inside the same state transition. A permit creates a
//! record in state `Granted` (and consumes a use of each limited consent); a denial creates a
//! record in state `Denied` with the reason. The call succeeds either way — the decision *is* the
//! record — and fails only for malformed input or a caller that is no institution's key, so a
//! refused attempt is as visible on the ledger as a granted one.
//!
//! The worker closes a granted record once with [`complete_access`](Pallet::complete_access),
//! naming it by patient and id (`Completed` with the result's digest, `Failed` or `Aborted`).
//! Records are never edited otherwise, nor deleted.
//!
//! A `DataCustodian` may [break the glass](Pallet::emergency_access) without consent by posting a
//! justification digest; the record carries it, an event tells the patient's wallet, and emergency
//! records are counted per institution for review. Cohort reads use
//! [`request_access_batch`](Pallet::request_access_batch): one record per patient, each decided on
//! its own.
//!
//! Storage answers the auditor's questions without scanning the log: records by patient (they are
//! stored under the patient's subject id, newest first) and by institution (an append-only index
//! read newest first, see [`index`]), and counts by state. A record whose pseudonym named no live
//! patient (not claimed yet, unknown, or forgotten for an emergency attempt) is stored under no
//! subject and indexed by its pseudonym ([`PseudonymRecords`]); a patient's records
//! ([`records_by_subject`](Pallet::records_by_subject)) include those of the patient's
//! pseudonyms, so what was asked about a patient before they claimed is theirs to see once they
//! have. After erasure there is no patient to show them to: an emergency attempt on a forgotten
//! patient is refused, stored under no subject and indexed by its pseudonym, where auditors (and
//! `records_by_subject` of the forgotten subject, which keeps its pseudonyms) find it.
//!
//! A record costs one write and no read of the audit pallet's own state (the record itself, and
//! the pseudonym index entry of a record under no subject; the institution's log and the id
//! counter are read and written once per call, in `request.rs`) because storage accesses dominate
//! its weight.
//! What is only known at dispatch — how many consents a decision read and cited, whether an index
//! page was written — is charged for the costliest case and refunded ([`cost`]).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod cost;
pub mod index;
pub mod migrations;
#[cfg(test)]
mod mock;
mod request;
#[cfg(test)]
mod tests;
pub mod weights;

pub use consentry_primitives::{
    AccessId, AccessRecord, AccessState, CategorySet, ConsentCheck, Decision, DenyReason, Digest,
    InstitutionId, NewestFirst, Outcome, Pseudonym, Purpose, RecordKey, StateCounts, SubjectId,
    SubjectRef,
};
pub use index::{IndexHead, InstitutionLog};
use request::RequestCall;
pub use weights::WeightInfo;

/// Sets up state under which a benchmark's access requests are permitted.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Makes `accessor` a key of a new active custodian-and-researcher institution.
    fn institution(accessor: &AccountId);
    /// Enrols patient number `i` under `pseudonym` at `accessor`'s institution, has the patient
    /// claim it and grant that institution one use-limited consent to `purpose` per entry of
    /// `consents` (over that entry's categories, in order), and returns the patient's subject id.
    fn patient(
        accessor: &AccountId,
        i: u32,
        pseudonym: Pseudonym,
        purpose: Purpose,
        consents: &[CategorySet],
    ) -> SubjectId;
}

// The pallet macro converts each call's `DispatchResultWithPostInfo` into itself; clippy flags that
// generated code (a known false positive for calls that return post-dispatch info).
#[allow(clippy::useless_conversion)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::{boxed::Box, vec::Vec};
    use consentry_primitives::AccessorStatus;
    use frame_support::{pallet_prelude::*, traits::Time};
    use frame_system::pallet_prelude::*;
    use pallet_consentry_identity as identity;

    /// A record as stored for runtime `T`.
    pub type RecordOf<T> = AccessRecord<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
    /// A full page of an index for runtime `T`.
    pub type PageOf<T> = index::Page<<T as Config>::IndexPage>;
    /// Record keys read newest first from one of the indexes.
    type KeysOf = Box<dyn Iterator<Item = RecordKey>>;

    /// The storage layout's version. 1 added [`PseudonymRecords`] (`migrations::v1`).
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config + identity::Config {
        /// The overarching event type.
        type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// The consent decision (the consent pallet in the runtime).
        type ConsentCheck: ConsentCheck<Self::AccountId>;
        /// Most pseudonyms in one batch request.
        #[pallet::constant]
        type MaxBatch: Get<u32>;
        /// Ids per page of the subject and institution indexes (at least 1). Larger pages mean
        /// rarer page writes but a larger head to rewrite on every record.
        #[pallet::constant]
        type IndexPage: Get<u32>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Benchmark set-up.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Access records under their subject (`None`: denials whose pseudonym named no live
    /// patient), each subject's newest first. The second key is not hashed, so walking a
    /// subject's keys is reading its index ([`NewestFirst`]), and a record is its own index entry.
    #[pallet::storage]
    pub type Records<T: Config> =
        StorageDoubleMap<_, Twox64Concat, Option<SubjectId>, Identity, NewestFirst, RecordOf<T>>;

    /// The records stored under no subject (in [`Records`] under `None`: the pseudonym named no
    /// live patient when they were made), by the pseudonym they named, newest first. The key is
    /// the index entry (the value is empty), so indexing a record costs one write.
    #[pallet::storage]
    pub type PseudonymRecords<T: Config> =
        StorageDoubleMap<_, Identity, Pseudonym, Identity, NewestFirst, ()>;

    /// The id the next record gets (= number of records ever made).
    #[pallet::storage]
    pub type NextAccessId<T> = StorageValue<_, AccessId, ValueQuery>;

    /// Per institution: record counts by state and the head of its index.
    #[pallet::storage]
    pub type InstitutionIndex<T: Config> =
        StorageMap<_, Twox64Concat, InstitutionId, InstitutionLog<T::IndexPage>, ValueQuery>;

    /// An institution's full index pages, by page number (0 = oldest).
    #[pallet::storage]
    pub type InstitutionPages<T: Config> =
        StorageDoubleMap<_, Twox64Concat, InstitutionId, Twox64Concat, u32, PageOf<T>>;

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(T::IndexPage::get() > 0, "IndexPage must be at least 1");
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Access granted under consent.
        AccessGranted {
            id: AccessId,
            institution: InstitutionId,
            subject: SubjectId,
            purpose: Purpose,
            categories: CategorySet,
        },
        /// Access refused.
        AccessDenied {
            id: AccessId,
            institution: InstitutionId,
            subject: Option<SubjectId>,
            reason: DenyReason,
        },
        /// Break-the-glass access without consent. The patient's wallet watches for this.
        EmergencyAccess {
            id: AccessId,
            institution: InstitutionId,
            subject: SubjectId,
            justification: Digest,
        },
        /// A granted record was closed.
        AccessClosed {
            id: AccessId,
            subject: SubjectId,
            institution: InstitutionId,
            outcome: Outcome,
            result_digest: Option<Digest>,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The signer is not a service key of any registered institution.
        NotRegistered,
        /// Emergency access needs the `DataCustodian` role.
        NotCustodian,
        /// Categories must be non-empty and defined.
        BadCategories,
        /// A batch needs at least one pseudonym.
        EmptyBatch,
        /// The patient has no record with this id.
        UnknownAccess,
        /// Only keys of the institution that made the request may close it.
        NotYourRecord,
        /// The record is not open: it was denied or is already closed.
        NotOpen,
        /// A `Completed` outcome must carry the result's digest.
        MissingResultDigest,
        /// A patient of a cohort request holds more consents than the request's `consents_bound`.
        ConsentsBoundTooLow,
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Requests access to one patient's data; the chain decides and records the decision.
        #[pallet::call_index(0)]
        // A single request names no consents bound: it is charged for a full consent index.
        #[pallet::weight(cost::request::<T>(cost::Tally::worst::<T>(
            1,
            *categories,
            u32::MAX,
        )))]
        pub fn request_access(
            origin: OriginFor<T>,
            pseudonym: Pseudonym,
            purpose: Purpose,
            categories: CategorySet,
            job_digest: Digest,
        ) -> DispatchResultWithPostInfo {
            let mut call = Self::requester(origin, categories)?;
            let tally = call.decide_and_record(pseudonym, purpose, categories, job_digest);
            call.finish();
            Ok(Some(cost::request::<T>(tally)).into())
        }

        /// Requests access to a cohort: one record per pseudonym, each decided on its own.
        ///
        /// `consents_bound` is the most consents any of the patients holds in the chain's consent
        /// index (`ConsentApi::consents_of`; 0 for a pseudonym nobody has claimed). The call is
        /// charged for that many per record instead of a full index each, so a block takes as
        /// many cohort requests as it has room for; a patient found holding more fails the whole
        /// call with [`Error::ConsentsBoundTooLow`], and nothing of it is kept.
        #[pallet::call_index(1)]
        #[pallet::weight(cost::batch::<T>(cost::Tally::worst::<T>(
            pseudonyms.len() as u32,
            *categories,
            *consents_bound,
        )))]
        pub fn request_access_batch(
            origin: OriginFor<T>,
            pseudonyms: BoundedVec<Pseudonym, T::MaxBatch>,
            purpose: Purpose,
            categories: CategorySet,
            job_digest: Digest,
            consents_bound: u32,
        ) -> DispatchResultWithPostInfo {
            let mut call = Self::requester(origin, categories)?;
            ensure!(!pseudonyms.is_empty(), Error::<T>::EmptyBatch);
            let mut tally = cost::Tally::default();
            for pseudonym in pseudonyms {
                let record = call.decide_and_record(pseudonym, purpose, categories, job_digest);
                // The call is transactional: failing here drops the records made before.
                ensure!(
                    record.uncited + record.cited <= consents_bound,
                    Error::<T>::ConsentsBoundTooLow
                );
                tally = tally.and(record);
            }
            call.finish();
            Ok(Some(cost::batch::<T>(tally)).into())
        }

        /// Break the glass: a custodian's access without consent, for treatment, justified by the
        /// digest of a justification kept off-chain. Refused (and recorded as denied) for forgotten
        /// or unknown patients and suspended institutions.
        #[pallet::call_index(2)]
        #[pallet::weight(cost::emergency::<T>())]
        pub fn emergency_access(
            origin: OriginFor<T>,
            pseudonym: Pseudonym,
            categories: CategorySet,
            justification: Digest,
            job_digest: Digest,
        ) -> DispatchResultWithPostInfo {
            let mut call = Self::requester(origin, categories)?;
            let decision = match call.accessor {
                AccessorStatus::Active { roles, .. } => {
                    ensure!(
                        roles.contains(consentry_primitives::Role::DataCustodian),
                        Error::<T>::NotCustodian
                    );
                    // A pseudonym that resolves names a live subject: forgetting a subject
                    // erases its links (see identity's tests), so no liveness read is needed.
                    match identity::Pallet::<T>::resolve(&pseudonym) {
                        Ok(subject) => Decision::Permit {
                            subject,
                            consents: Vec::new(),
                        },
                        Err(true) => Decision::Deny {
                            subject: None,
                            reason: DenyReason::SubjectErased,
                        },
                        Err(false) => Decision::Deny {
                            subject: None,
                            reason: DenyReason::UnknownSubject,
                        },
                    }
                }
                _ => Decision::Deny {
                    subject: None,
                    reason: DenyReason::AccessorSuspended,
                },
            };
            let (record, flushes) = call.record(
                pseudonym,
                Purpose::Treatment,
                categories,
                job_digest,
                decision,
                Some(justification),
            );
            call.finish();
            if let (AccessState::Granted, Some(subject)) = (record.state, record.subject) {
                Self::deposit_event(Event::EmergencyAccess {
                    id: record.id,
                    institution: record.institution,
                    subject,
                    justification,
                });
            } else {
                Self::deposit_denied(&record);
            }
            let used = cost::emergency::<T>();
            let used = cost::without_unflushed::<T>(used, 1, flushes);
            Ok(Some(cost::without_unindexed::<T>(used, &record)).into())
        }

        /// Closes granted record `id` of patient `subject` (both in the `AccessGranted` event),
        /// once. Signed by any key of the institution that requested it.
        #[pallet::call_index(3)]
        #[pallet::weight(<T as Config>::WeightInfo::complete_access())]
        pub fn complete_access(
            origin: OriginFor<T>,
            subject: SubjectId,
            id: AccessId,
            outcome: Outcome,
            result_digest: Option<Digest>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let institution = Self::institution_of(&who)?;
            ensure!(
                outcome != Outcome::Completed || result_digest.is_some(),
                Error::<T>::MissingResultDigest
            );
            Self::close(institution, subject, id, outcome, result_digest)
        }

        /// Closes granted records of a cohort (each `(subject, id)` from its `AccessGranted`
        /// event) with one outcome and one result digest: a federated round's site closes every
        /// access it used citing the round's result. All or nothing: one record that is unknown,
        /// another institution's, not open, or named twice fails the call and closes none.
        ///
        /// Charged as that many single closes, the benchmarked `complete_access` (an upper bound:
        /// the batch reads the signer's institution and the time once).
        #[pallet::call_index(4)]
        #[pallet::weight(<T as Config>::WeightInfo::complete_access()
            .saturating_mul(closes.len() as u64))]
        pub fn complete_access_batch(
            origin: OriginFor<T>,
            closes: BoundedVec<(SubjectId, AccessId), T::MaxBatch>,
            outcome: Outcome,
            result_digest: Option<Digest>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let institution = Self::institution_of(&who)?;
            ensure!(!closes.is_empty(), Error::<T>::EmptyBatch);
            ensure!(
                outcome != Outcome::Completed || result_digest.is_some(),
                Error::<T>::MissingResultDigest
            );
            // Dispatchables are transactional: an error below drops the closes made before it.
            for (subject, id) in closes {
                Self::close(institution, subject, id, outcome, result_digest)?;
            }
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Closes one granted record of `institution`'s and tallies it.
        fn close(
            institution: InstitutionId,
            subject: SubjectId,
            id: AccessId,
            outcome: Outcome,
            result_digest: Option<Digest>,
        ) -> DispatchResult {
            Records::<T>::try_mutate(Some(subject), NewestFirst::of(id), |r| {
                let r = r.as_mut().ok_or(Error::<T>::UnknownAccess)?;
                ensure!(r.institution == institution, Error::<T>::NotYourRecord);
                ensure!(r.state == AccessState::Granted, Error::<T>::NotOpen);
                r.state = AccessState::Closed(outcome);
                r.result_digest = result_digest;
                r.closed_at = Some(<T as identity::Config>::Time::now());
                Ok::<_, DispatchError>(())
            })?;
            InstitutionIndex::<T>::mutate(institution, |log| {
                log.counts
                    .shift(Some(AccessState::Granted), AccessState::Closed(outcome))
            });
            Self::deposit_event(Event::AccessClosed {
                id,
                subject,
                institution,
                outcome,
                result_digest,
            });
            Ok(())
        }

        /// The institution of a service key, suspended or not (a suspended institution's requests
        /// are recorded as denied; an unknown account's are refused outright).
        fn institution_of(who: &T::AccountId) -> Result<InstitutionId, DispatchError> {
            identity::ServiceKeys::<T>::get(who).ok_or_else(|| Error::<T>::NotRegistered.into())
        }

        /// The request call of a signer that is an institution's key, over well-formed
        /// `categories`.
        fn requester(
            origin: OriginFor<T>,
            categories: CategorySet,
        ) -> Result<RequestCall<T>, DispatchError> {
            let who = ensure_signed(origin)?;
            let institution = Self::institution_of(&who)?;
            ensure!(
                !categories.is_empty() && categories.is_valid(),
                Error::<T>::BadCategories
            );
            Ok(RequestCall::start(who, institution))
        }

        pub(crate) fn deposit_denied(record: &RecordOf<T>) {
            if let AccessState::Denied(reason) = record.state {
                Self::deposit_event(Event::AccessDenied {
                    id: record.id,
                    institution: record.institution,
                    subject: record.subject,
                    reason,
                });
            }
        }

        /// An institution's record counts by state.
        pub fn counts(institution: InstitutionId) -> StateCounts {
            InstitutionIndex::<T>::get(institution).counts
        }

        /// Record `id` of `subject` (`None`: a denial whose pseudonym named no live patient).
        pub fn record(subject: Option<SubjectId>, id: AccessId) -> Option<RecordOf<T>> {
            Records::<T>::get(subject, NewestFirst::of(id))
        }

        /// A subject's records, newest first, older than record `before` (`None`: from the
        /// newest), at most `limit` (1 to 1,000); with the id to pass as `before` for the next
        /// page (`None` at the end). A subject's records are those stored under it and those
        /// stored under no subject that named one of its pseudonyms (made before the patient
        /// claimed it, while its institution was suspended, or after erasure): see
        /// [`PseudonymRecords`]. `None`: every record stored under no subject.
        pub fn records_by_subject(
            subject: Option<SubjectId>,
            before: Option<AccessId>,
            limit: u32,
        ) -> (Vec<RecordOf<T>>, Option<AccessId>) {
            let pseudonyms = subject
                .and_then(identity::Subjects::<T>::get)
                .map(|s| s.pseudonyms.into_inner())
                .unwrap_or_default();
            let mut streams: Vec<_> = core::iter::once(Self::subject_keys(subject, before))
                .chain(
                    pseudonyms
                        .into_iter()
                        .map(|p| Self::pseudonym_keys(p, before)),
                )
                .map(Iterator::peekable)
                .collect();
            Self::merge_newest_first(&mut streams, limit)
        }

        /// The records stored under no subject that named `pseudonym`, newest first, paged as
        /// [`Self::records_by_subject`].
        pub fn records_by_pseudonym(
            pseudonym: Pseudonym,
            before: Option<AccessId>,
            limit: u32,
        ) -> (Vec<RecordOf<T>>, Option<AccessId>) {
            Self::merge_newest_first(
                &mut [Self::pseudonym_keys(pseudonym, before).peekable()],
                limit,
            )
        }

        /// The keys of the records stored under `subject`, newest first, older than `before`.
        fn subject_keys(subject: Option<SubjectId>, before: Option<AccessId>) -> KeysOf {
            let keys = match before {
                None => Records::<T>::iter_key_prefix(subject),
                // Walking on from a key yields the keys after it: the older records.
                Some(id) => Records::<T>::iter_key_prefix_from(
                    subject,
                    Records::<T>::hashed_key_for(subject, NewestFirst::of(id)),
                ),
            };
            Box::new(keys.map(move |k| RecordKey {
                subject,
                id: k.id(),
            }))
        }

        /// The keys of the records indexed under `pseudonym`, newest first, older than `before`.
        fn pseudonym_keys(pseudonym: Pseudonym, before: Option<AccessId>) -> KeysOf {
            let keys = match before {
                None => PseudonymRecords::<T>::iter_key_prefix(pseudonym),
                Some(id) => PseudonymRecords::<T>::iter_key_prefix_from(
                    pseudonym,
                    PseudonymRecords::<T>::hashed_key_for(pseudonym, NewestFirst::of(id)),
                ),
            };
            Box::new(keys.map(|k| RecordKey {
                subject: None,
                id: k.id(),
            }))
        }

        /// Up to `limit` (1 to 1,000) records from `streams` of newest-first keys, newest first,
        /// with the id to continue from while any stream has older ones.
        fn merge_newest_first(
            streams: &mut [core::iter::Peekable<KeysOf>],
            limit: u32,
        ) -> (Vec<RecordOf<T>>, Option<AccessId>) {
            let limit = limit.clamp(1, 1_000) as usize;
            let mut page: Vec<RecordOf<T>> = Vec::new();
            loop {
                let newest = streams
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(i, s)| s.peek().map(|k| (k.id, i)))
                    .max();
                let Some((_, i)) = newest else {
                    return (page, None);
                };
                if page.len() >= limit {
                    // A cursor only while older records remain.
                    let next = page.last().map(|r| r.id);
                    return (page, next);
                }
                if let Some(key) = streams[i].next() {
                    page.extend(Self::record(key.subject, key.id));
                }
            }
        }

        /// An institution's records, newest first, from position `before` in its index
        /// (exclusive; `None`: from the newest), at most `limit` (up to 1,000); with the position
        /// to pass as `before` for the next page (`None` at the end).
        pub fn records_by_institution(
            institution: InstitutionId,
            before: Option<u32>,
            limit: u32,
        ) -> (Vec<RecordOf<T>>, Option<u32>) {
            let head = InstitutionIndex::<T>::get(institution).index;
            let end = before.unwrap_or(head.count).min(head.count);
            let start = end.saturating_sub(limit.min(1_000));
            let records = head
                .newest_first(start, end, |n| InstitutionPages::<T>::get(institution, n))
                .into_iter()
                .filter_map(|key| Self::record(key.subject, key.id))
                .collect();
            (records, (start > 0).then_some(start))
        }
    }
}
