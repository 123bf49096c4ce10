//! Consent policies and the decisions taken from them.

use crate::{CategorySet, ConsentId, InstitutionId, Moment, Named, PurposeSet, Role, SubjectId};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Who a consent is given to. FHIR R4: `Consent.provision.actor`.
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
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Grantee {
    /// One named institution.
    Institution(InstitutionId),
    /// Any active institution that holds this role.
    AnyWithRole(Role),
}

/// Where a consent is in its life. Expiry and exhaustion are not states: they follow from time and
/// the use count, so no transaction is needed for them to take effect.
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
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ConsentStatus {
    /// In force (subject to its period and use limit).
    Active,
    /// Revoked by the patient or a guardian at this time.
    Revoked { at: Moment },
    /// Ended because the patient exercised the right to be forgotten.
    Erased { at: Moment },
}

/// A consent policy: the patient lets `grantee` use `categories` for `purposes` during a period.
/// FHIR R4 mapping: subject → `Consent.patient`, grantee → `provision.actor`, purposes →
/// `provision.purpose`, categories → `provision.class`, valid_from/valid_until → `provision.period`,
/// status → `Consent.status` (active / inactive).
#[derive(
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Clone,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Consent<AccountId> {
    /// The patient the consent is about.
    pub subject: SubjectId,
    /// Who may use the data.
    pub grantee: Grantee,
    /// What for.
    pub purposes: PurposeSet,
    /// Which data.
    pub categories: CategorySet,
    /// Start of validity (ms).
    pub valid_from: Moment,
    /// End of validity (ms, exclusive); `None` = until revoked.
    pub valid_until: Option<Moment>,
    /// How many accesses it may permit; `None` = unlimited.
    pub max_uses: Option<u32>,
    /// How many accesses it has permitted since its use limit was set; always 0 while it has
    /// none (the patient's audit log lists every access that cited it, limited or not).
    pub uses: u32,
    /// Lifecycle state.
    pub status: ConsentStatus,
    /// The patient or guardian account that signed the grant; the all-zero account once the
    /// subject is forgotten (erasure unlinks the consents in the patient's index from it).
    pub granted_by: AccountId,
    /// When it was granted (ms).
    pub granted_at: Moment,
}

/// Why a consent does not permit an access, in the order the checks are made. The deny reason
/// reported for a request is the one of the consent that passed the most checks.
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
    PartialOrd,
    Ord,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
// JSON carries the canonical names of [`Named`], as for purposes and categories.
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The accessor is not a service key of a registered institution.
    AccessorNotRegistered,
    /// The accessor's institution is suspended.
    AccessorSuspended,
    /// The pseudonym is unknown or its enrolment has not been claimed.
    UnknownSubject,
    /// The subject exercised the right to be forgotten.
    SubjectErased,
    /// The subject has no consent naming this accessor (or a role it holds).
    NoConsent,
    /// The consent was revoked.
    Revoked,
    /// The consent's period has not started yet.
    NotYetValid,
    /// The consent's period is over.
    Expired,
    /// The consent's use limit is reached.
    UsesExhausted,
    /// The consent does not cover this purpose.
    PurposeNotCovered,
    /// The consent does not cover every requested data category.
    CategoryNotCovered,
}

impl Named for DenyReason {
    const KIND: &'static str = "deny reason";
    const ALL: &'static [Self] = &[
        Self::AccessorNotRegistered,
        Self::AccessorSuspended,
        Self::UnknownSubject,
        Self::SubjectErased,
        Self::NoConsent,
        Self::Revoked,
        Self::NotYetValid,
        Self::Expired,
        Self::UsesExhausted,
        Self::PurposeNotCovered,
        Self::CategoryNotCovered,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::AccessorNotRegistered => "accessor_not_registered",
            Self::AccessorSuspended => "accessor_suspended",
            Self::UnknownSubject => "unknown_subject",
            Self::SubjectErased => "subject_erased",
            Self::NoConsent => "no_consent",
            Self::Revoked => "revoked",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::UsesExhausted => "uses_exhausted",
            Self::PurposeNotCovered => "purpose_not_covered",
            Self::CategoryNotCovered => "category_not_covered",
        }
    }
}

impl DenyReason {
    /// The reason's canonical name ([`Named`]), as the worker, the indexer, the API and the
    /// exports spell it.
    pub fn name(self) -> &'static str {
        <Self as Named>::name(self)
    }
}

/// A consent decision.
#[derive(
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    Clone,
    PartialEq,
    Eq,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Decision {
    /// Allowed by these consents (together they cover every requested category).
    Permit {
        subject: SubjectId,
        consents: Vec<ConsentId>,
    },
    /// Refused, with the reason.
    Deny {
        subject: Option<SubjectId>,
        reason: DenyReason,
    },
}

impl Decision {
    /// Whether the decision permits the access.
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit { .. })
    }
}
