//! Access records: the audit log's entries.

use crate::{
    AccessId, CategorySet, ConsentId, DenyReason, Digest, InstitutionId, Moment, Pseudonym,
    Purpose, SubjectId,
};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// How a worker ended a granted access.
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
pub enum Outcome {
    /// The workload ran and produced the result whose digest is recorded.
    Completed,
    /// The workload ran and failed.
    Failed,
    /// The access was given up before or during the workload (crash recovery, cancellation).
    Aborted,
}

/// The state of an access record. `Granted` is the only open state; every other is final.
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
pub enum AccessState {
    /// Permitted and not yet closed.
    Granted,
    /// Refused, for this reason.
    Denied(DenyReason),
    /// Closed by the accessor.
    Closed(Outcome),
}

/// One access attempt, granted, denied or emergency. Never deleted; closed at most once.
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
pub struct AccessRecord<AccountId, BlockNumber> {
    /// The record's id.
    pub id: AccessId,
    /// The institution whose key asked.
    pub institution: InstitutionId,
    /// The service key that signed the request.
    pub requested_by: AccountId,
    /// The pseudonym the request named.
    pub pseudonym: Pseudonym,
    /// The subject the pseudonym resolved to, if it did.
    pub subject: Option<SubjectId>,
    /// What for.
    pub purpose: Purpose,
    /// Which data.
    pub categories: CategorySet,
    /// Digest of the job description the worker will run.
    pub job_digest: Digest,
    /// The consents that permitted it (empty for denied and emergency records).
    pub consents: frame_support_bounded::ConsentIds,
    /// Break-the-glass access without consent: the digest of the posted justification.
    pub emergency: Option<Digest>,
    /// Current state.
    pub state: AccessState,
    /// Digest of the result, once completed.
    pub result_digest: Option<Digest>,
    /// When it was requested (ms) and in which block.
    pub requested_at: Moment,
    /// The block that recorded the request.
    pub block: BlockNumber,
    /// When it was closed (ms).
    pub closed_at: Option<Moment>,
}

/// Bounded collections used inside records.
pub mod frame_support_bounded {
    use sp_runtime::{traits::ConstU32, BoundedVec};
    /// The most consents one permit may cite (one per data category is always enough).
    pub type MaxPermitConsents = ConstU32<8>;
    /// The consent ids of a permit.
    pub type ConsentIds = BoundedVec<super::ConsentId, MaxPermitConsents>;
}

/// Record counts of one institution, by state.
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
    Default,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct StateCounts {
    /// Open granted records.
    pub granted: u32,
    /// Denied records.
    pub denied: u32,
    /// Records closed as completed.
    pub completed: u32,
    /// Records closed as failed.
    pub failed: u32,
    /// Records closed as aborted.
    pub aborted: u32,
    /// Emergency (break-the-glass) records, whatever their state.
    pub emergency: u32,
}

impl StateCounts {
    /// Moves one record into `state` (and out of `from`, if it was counted there).
    pub fn shift(&mut self, from: Option<AccessState>, to: AccessState) {
        if let Some(f) = from {
            let slot = self.slot(f);
            *slot = slot.saturating_sub(1);
        }
        let slot = self.slot(to);
        *slot = slot.saturating_add(1);
    }

    fn slot(&mut self, state: AccessState) -> &mut u32 {
        match state {
            AccessState::Granted => &mut self.granted,
            AccessState::Denied(_) => &mut self.denied,
            AccessState::Closed(Outcome::Completed) => &mut self.completed,
            AccessState::Closed(Outcome::Failed) => &mut self.failed,
            AccessState::Closed(Outcome::Aborted) => &mut self.aborted,
        }
    }
}
