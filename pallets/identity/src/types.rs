//! Storage types of the identity pallet.

use crate::{Config, InstitutionId, Pseudonym, RoleSet, SubjectId};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use consentry_primitives::Moment;
use frame_support::BoundedVec;
use scale_info::TypeInfo;

/// Whether an institution's keys are honoured.
#[derive(
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
)]
pub enum InstitutionStatus {
    /// Keys are honoured.
    Active,
    /// Keys are refused (their access requests are recorded as denied).
    Suspended,
}

/// A registered institution.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
#[scale_info(skip_type_params(MaxName, MaxKeys))]
pub struct Institution<
    AccountId,
    MaxName: frame_support::traits::Get<u32>,
    MaxKeys: frame_support::traits::Get<u32>,
> {
    /// Display name (UTF-8).
    pub name: BoundedVec<u8, MaxName>,
    /// What it may do.
    pub roles: RoleSet,
    /// Whether its keys are honoured.
    pub status: InstitutionStatus,
    /// The accounts its workers and services sign with.
    pub service_keys: BoundedVec<AccountId, MaxKeys>,
}

/// An institution as stored for runtime `T`.
pub type InstitutionOf<T> = Institution<
    <T as frame_system::Config>::AccountId,
    <T as Config>::MaxNameLen,
    <T as Config>::MaxServiceKeys,
>;

/// A pseudonym posted by an institution, and whom it resolves to.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct PseudonymLink<AccountId> {
    /// The enrolling institution.
    pub institution: InstitutionId,
    /// The wallet account the enrolment is addressed to; `None` once the subject is forgotten
    /// (erasure removes every link from a pseudonym to an account).
    pub patient: Option<AccountId>,
    /// The subject, once the patient has claimed the enrolment.
    pub subject: Option<SubjectId>,
    /// Set by `forget`: the link no longer resolves.
    pub erased: bool,
    /// When it was posted (ms).
    pub enrolled_at: Moment,
}

/// A pseudonym link as stored for runtime `T`.
pub type PseudonymLinkOf<T> = PseudonymLink<<T as frame_system::Config>::AccountId>;

/// A pseudonymous patient.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
#[scale_info(skip_type_params(MaxP))]
pub struct Subject<AccountId, MaxP: frame_support::traits::Get<u32>> {
    /// The patient's wallet account; `None` once the subject is forgotten.
    pub account: Option<AccountId>,
    /// Every pseudonym the patient has claimed.
    pub pseudonyms: BoundedVec<Pseudonym, MaxP>,
    /// When the patient was forgotten, if they were.
    pub erased_at: Option<Moment>,
    /// When the first enrolment was claimed (ms).
    pub created_at: Moment,
}

/// A subject as stored for runtime `T`.
pub type SubjectOf<T> =
    Subject<<T as frame_system::Config>::AccountId, <T as Config>::MaxPseudonymsPerSubject>;
