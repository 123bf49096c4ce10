//! Types shared by the Consentry pallets, the runtime APIs and off-chain clients.
//!
//! Everything that crosses a boundary (pallet ↔ pallet, runtime ↔ node, chain ↔ API) lives here so
//! there is exactly one SCALE layout for it. Nothing here contains personal data: patients are
//! only ever referred to by a [`SubjectId`] or a salted [`Pseudonym`] digest.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod access;
mod consent;
mod sets;

pub use access::*;
pub use consent::*;
pub use sets::*;

use alloc::vec::Vec;
use codec::Codec;

/// Identifier of a registered institution (hospital, research site, auditing body).
pub type InstitutionId = u32;
/// Identifier of a pseudonymous patient ("subject"); one per patient wallet account.
pub type SubjectId = u64;
/// Identifier of a consent policy.
pub type ConsentId = u64;
/// Identifier of an access record in the audit log.
pub type AccessId = u64;
/// On-chain time in milliseconds since the Unix epoch (the timestamp pallet's unit).
pub type Moment = u64;
/// A 32-byte SHA-256 digest (job descriptions, results, justifications, pseudonyms).
pub type Digest = [u8; 32];
/// A 32-byte pseudonym: `SHA-256(institution pepper ‖ local patient id)`, computed
/// off-chain by the enrolling institution, so no raw identifier ever reaches the chain.
pub type Pseudonym = [u8; 32];

/// What the consent layer knows about an account that asks for access.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccessorStatus {
    /// A service key of an active institution with these roles.
    Active {
        institution: InstitutionId,
        roles: RoleSet,
    },
    /// A service key of a suspended institution.
    Suspended { institution: InstitutionId },
    /// Not a service key of any institution.
    NotRegistered,
}

/// The question a consent decision answers, about either a subject or one of its pseudonyms.
#[derive(
    codec::Encode,
    codec::Decode,
    codec::DecodeWithMemTracking,
    scale_info::TypeInfo,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum SubjectRef {
    /// The subject itself.
    Subject(SubjectId),
    /// A pseudonym posted by an institution; resolves to its subject once claimed.
    Pseudonym(Pseudonym),
}

/// Consent checking as other pallets (the audit log) and the runtime API see it.
///
/// `decide` only reads; `consume` records that a permit was used, so the caller can decide, store a
/// record and consume in one transaction.
pub trait ConsentCheck<AccountId> {
    /// Decides whether `accessor` may use `categories` of `subject` for `purpose` at time `now`.
    fn decide(
        subject: SubjectRef,
        accessor: &AccountId,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    ) -> Decision;

    /// [`Self::decide`] for an accessor whose status the caller has already looked up (a cohort
    /// request decides for one accessor many times; its status cannot change within the call).
    fn decide_as(
        subject: SubjectRef,
        accessor: AccessorStatus,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    ) -> Decision;

    /// Counts one use against each use-limited consent of `subject`'s permit; returns how many
    /// it counted (each is one storage write, and the patient's consent index is written once if
    /// any was). Consents without a limit are not counted: the audit log already holds every
    /// access that cited them, and a write per record is the largest part of a record's weight.
    fn consume(subject: SubjectId, permit: &[ConsentId]) -> u32;

    /// How many consents a decision about `subject` reads: all the patient's indexed consents.
    /// Callers weigh a decision by it.
    fn consents_read(subject: SubjectId) -> u32;

    /// The most consents one decision can read (a patient's full consent index).
    fn max_consents_read() -> u32;

    /// The most consents one patient may hold in force (benchmarks fill a patient up to it).
    fn max_live_consents() -> u32;
}

sp_api::decl_runtime_apis! {
    /// Consent decisions and a patient's consents, so clients need not decode raw storage.
    pub trait ConsentApi<AccountId> where AccountId: Codec {
        /// The decision the chain would take now (or at `at`, a time in ms) for this access.
        fn decide(
            subject: SubjectRef,
            accessor: AccountId,
            purpose: Purpose,
            categories: CategorySet,
            at: Option<Moment>,
        ) -> Decision;
        /// The subject a pseudonym resolves to, once its enrolment has been claimed.
        fn subject_of(pseudonym: Pseudonym) -> Option<SubjectId>;
        /// Every consent of a subject the chain still indexes, oldest first.
        fn consents_of(subject: SubjectId) -> Vec<(ConsentId, Consent<AccountId>)>;
    }

    /// Paged reads of the access audit log.
    ///
    /// Version 2: a subject's pages are cursored by record id instead of index position.
    /// Version 3: records are stored under their subject, so one is named by subject and id.
    #[api_version(3)]
    pub trait AuditApi<AccountId, BlockNumber> where AccountId: Codec, BlockNumber: Codec {
        /// Access record `id` of `subject` (`None`: a denial whose pseudonym named no live
        /// patient; every record's events carry its subject).
        fn record(subject: Option<SubjectId>, id: AccessId)
            -> Option<AccessRecord<AccountId, BlockNumber>>;
        /// A subject's records, newest first, older than record `before` (`None` = from the
        /// newest), at most `limit` (1 to 1,000). Returns the records and the id to pass as
        /// `before` for the next page (`None` at the end).
        fn records_by_subject(subject: SubjectId, before: Option<AccessId>, limit: u32)
            -> (Vec<AccessRecord<AccountId, BlockNumber>>, Option<AccessId>);
        /// An institution's records, newest first, starting below position `before` in its index
        /// (exclusive; `None` = from the newest), at most `limit` (up to 1,000). Returns the
        /// records and the position for the next page.
        fn records_by_institution(institution: InstitutionId, before: Option<u32>, limit: u32)
            -> (Vec<AccessRecord<AccountId, BlockNumber>>, Option<u32>);
        /// Record counts of an institution by state (emergency accesses counted separately).
        fn counts_of(institution: InstitutionId) -> StateCounts;
    }
}
