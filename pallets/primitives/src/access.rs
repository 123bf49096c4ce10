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

/// A record id as the last part of its storage key (`Audit::Records(subject, NewestFirst)`), in
/// byte order newest first: the big-endian bytes of `u64::MAX - id`. Under the `Identity` hasher
/// a prefix's keys are walked in byte order, so walking a subject's keys yields its records newest
/// first, and walking on from a record's key yields the records older than it. Clients build the
/// key with [`NewestFirst::of`] rather than by hand.
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
)]
pub struct NewestFirst([u8; 8]);

impl NewestFirst {
    /// The key of record `id`.
    pub fn of(id: AccessId) -> Self {
        Self((AccessId::MAX - id).to_be_bytes())
    }

    /// The record id this key stands for.
    pub fn id(self) -> AccessId {
        AccessId::MAX - AccessId::from_be_bytes(self.0)
    }
}

/// Where a record is stored: under its patient's subject id (`None` for a denial whose pseudonym
/// named no live patient) and its id.
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
)]
pub struct RecordKey {
    /// The record's subject.
    pub subject: Option<SubjectId>,
    /// The record's id.
    pub id: AccessId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_keys_sort_newest_first_and_round_trip() {
        let ids = [0, 1, 2, 255, 256, 65_535, 1 << 40, u64::MAX - 1, u64::MAX];
        let mut keys: Vec<Vec<u8>> = ids.iter().map(|id| NewestFirst::of(*id).encode()).collect();
        keys.sort();
        let decoded: Vec<u64> = keys
            .iter()
            .map(|k| NewestFirst::decode(&mut &k[..]).unwrap().id())
            .collect();
        let mut want = ids.to_vec();
        want.reverse();
        assert_eq!(decoded, want);
        // Eight bytes, no length prefix: the key is exactly the id's position in the order.
        assert!(keys.iter().all(|k| k.len() == 8));
    }
}
