//! The rows the store returns, and the names under which chain values are stored.
//!
//! Enum values (purposes, categories, states, deny reasons) are stored and returned by name
//! (`"simulation"`, `"labs"`, `"denied"`, `"revoked"`), so the SQL tables and the HTTP API read
//! without a decoder and stay stable when the SCALE encoding changes. Purposes and categories
//! carry `consentry-primitives`' canonical names (`Named`), the same the API and the CLI take.

use consentry_primitives::{
    AccessState, CategorySet, ConsentStatus, DataCategory, Grantee, Outcome, Purpose, PurposeSet,
};
use serde::{Deserialize, Serialize};

/// One access record (granted, denied, emergency or closed), as the indexer last saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    /// The chain's access id.
    pub id: u64,
    /// The institution whose key asked.
    pub institution: u32,
    /// The service key that signed (SS58).
    pub requested_by: String,
    /// The pseudonym named by the request (lowercase hex, 64 digits).
    pub pseudonym: String,
    /// The subject the pseudonym resolved to, if it did.
    pub subject: Option<u64>,
    /// Purpose name (canonical, e.g. `"federated_training"`).
    pub purpose: String,
    /// Data category names (canonical, e.g. `"labs"`), in declaration order.
    pub categories: Vec<String>,
    /// Digest of the job description (hex).
    pub job_digest: String,
    /// The consents that permitted it.
    pub consents: Vec<u64>,
    /// Break-the-glass justification digest (hex), for emergency accesses.
    pub emergency: Option<String>,
    /// `granted`, `denied`, `completed`, `failed` or `aborted` (see [`state_name`]).
    pub state: String,
    /// The deny reason name, for denied records.
    pub deny_reason: Option<String>,
    /// Digest of the result (hex), once completed.
    pub result_digest: Option<String>,
    /// Request time (ms since the Unix epoch, chain time).
    pub requested_at_ms: u64,
    /// Close time (ms), once closed.
    pub closed_at_ms: Option<u64>,
    /// The finalized block that recorded the request.
    pub block_number: u32,
    /// Its hash (hex, no `0x`).
    pub block_hash: String,
    /// The extrinsic of that block that made the request.
    pub extrinsic_index: Option<u32>,
    /// The finalized block that closed it.
    pub closed_block_number: Option<u32>,
    /// Its hash.
    pub closed_block_hash: Option<String>,
}

/// One consent policy, as of the last block that touched it (grant, amend, revoke, erasure or a
/// permit that used it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRow {
    /// The chain's consent id.
    pub id: u64,
    /// The patient.
    pub subject: u64,
    /// Who may use the data.
    pub grantee: Grantee,
    /// Purpose names (canonical).
    pub purposes: Vec<String>,
    /// Data category names (canonical).
    pub categories: Vec<String>,
    /// Start of validity (ms).
    pub valid_from_ms: u64,
    /// End of validity (ms, exclusive), if any.
    pub valid_until_ms: Option<u64>,
    /// Use limit, if any.
    pub max_uses: Option<u32>,
    /// Uses counted against the limit since it was set (0 without a limit: see the records).
    pub uses: u32,
    /// `active`, `revoked` or `erased`.
    pub status: String,
    /// When it was revoked or erased (ms).
    pub status_at_ms: Option<u64>,
    /// The account that signed the grant (SS58).
    pub granted_by: String,
    /// When it was granted (ms).
    pub granted_at_ms: u64,
    /// The block that granted it.
    pub block_number: u32,
    /// Its hash.
    pub block_hash: String,
    /// The granting extrinsic.
    pub extrinsic_index: Option<u32>,
    /// The last block that changed it.
    pub updated_block_number: u32,
}

/// One enrolment of a patient under a pseudonym.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentRow {
    /// The pseudonym (hex).
    pub pseudonym: String,
    /// The enrolling institution.
    pub institution: u32,
    /// The patient wallet account it is addressed to (SS58).
    pub patient: String,
    /// The subject, once claimed.
    pub subject: Option<u64>,
    /// The block of the enrolment.
    pub block_number: u32,
    /// The block of the claim.
    pub claimed_block_number: Option<u32>,
    /// The block in which the subject was forgotten.
    pub erased_block_number: Option<u32>,
}

/// One Identity, Consent or Audit event of a finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Block number.
    pub block_number: u32,
    /// Block hash.
    pub block_hash: String,
    /// The extrinsic that emitted it (`None` for initialization/finalization).
    pub extrinsic_index: Option<u32>,
    /// Its index among all the block's events.
    pub event_index: u32,
    /// `Identity`, `Consent` or `Audit`.
    pub pallet: String,
    /// Variant name, e.g. `AccessGranted`.
    pub variant: String,
    /// The fields, as JSON (digests in hex, accounts in SS58).
    pub json: serde_json::Value,
}

/// A page of results and the cursor for the next one (`None` on the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass back to get the following page.
    pub next_cursor: Option<String>,
}

/// Access-record counts by state, with the same meaning as the chain's `StateCounts`
/// (`emergency` counts break-the-glass records whatever their state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All records.
    pub total: u64,
    /// Open granted records.
    pub granted: u64,
    /// Denied.
    pub denied: u64,
    /// Closed as completed.
    pub completed: u64,
    /// Closed as failed.
    pub failed: u64,
    /// Closed as aborted.
    pub aborted: u64,
    /// Emergency records.
    pub emergency: u64,
}

/// Counts add up: every record belongs to one institution, so the institutions' counts sum to
/// the overall ones.
impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, c| Counts {
            total: a.total + c.total,
            granted: a.granted + c.granted,
            denied: a.denied + c.denied,
            completed: a.completed + c.completed,
            failed: a.failed + c.failed,
            aborted: a.aborted + c.aborted,
            emergency: a.emergency + c.emergency,
        })
    }
}

/// [`Counts`] of one institution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionSummary {
    /// The institution.
    pub institution: u32,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// The stored state names: one per `AccessState` variant, outcomes spelled out.
pub const STATES: &[&str] = &["granted", "denied", "completed", "failed", "aborted"];

/// The stored name of a state, and the deny reason name for denials.
pub fn state_name(state: &AccessState) -> (&'static str, Option<String>) {
    match state {
        AccessState::Granted => ("granted", None),
        AccessState::Denied(r) => ("denied", Some(r.name().to_string())),
        AccessState::Closed(Outcome::Completed) => ("completed", None),
        AccessState::Closed(Outcome::Failed) => ("failed", None),
        AccessState::Closed(Outcome::Aborted) => ("aborted", None),
    }
}

/// The stored name and time of a consent status.
pub fn consent_status_name(status: &ConsentStatus) -> (&'static str, Option<u64>) {
    match status {
        ConsentStatus::Active => ("active", None),
        ConsentStatus::Revoked { at } => ("revoked", Some(*at)),
        ConsentStatus::Erased { at } => ("erased", Some(*at)),
    }
}

/// A purpose's stored name: its canonical name.
pub fn purpose_name(p: Purpose) -> String {
    p.name().to_string()
}

/// The purpose whose canonical name is exactly `name`.
pub fn purpose_by_name(name: &str) -> Option<Purpose> {
    Purpose::from_name(name).ok()
}

/// The names of a purpose set.
pub fn purpose_names(s: PurposeSet) -> Vec<String> {
    s.iter().map(purpose_name).collect()
}

/// The names of a category set.
pub fn category_names(s: CategorySet) -> Vec<String> {
    s.iter()
        .map(|c: DataCategory| c.name().to_string())
        .collect()
}

/// Lowercase hex without `0x`, the stored form of 32-byte values.
pub fn hex32(b: &[u8; 32]) -> String {
    hex::encode(b)
}
