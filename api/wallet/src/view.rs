//! Readable forms of consents and access records, for humans and for `--json`.
//!
//! Digests become hex, sets become name lists, times become RFC 3339 next to the raw milliseconds,
//! so scripts need not know the SCALE layouts or the bit assignments.

use crate::{names, proof::Record};
use consentry_client::subxt::utils::AccountId32;
use consentry_primitives::{AccessState, Consent, ConsentId, ConsentStatus, Grantee, Moment};
use serde::Serialize;

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(ms: Moment) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn hex32(d: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(d))
}

/// A consent for display.
#[derive(Serialize, Debug, Clone)]
pub struct ConsentView {
    /// Id.
    pub id: ConsentId,
    /// Patient.
    pub subject: u64,
    /// `institution 0` or `any researcher`.
    pub grantee: String,
    /// Purpose names.
    pub purposes: Vec<&'static str>,
    /// Category names.
    pub categories: Vec<&'static str>,
    /// Start, RFC 3339.
    pub valid_from: String,
    /// End, RFC 3339, if any.
    pub valid_until: Option<String>,
    /// Use limit.
    pub max_uses: Option<u32>,
    /// Uses counted against the limit since it was set (0 without a limit).
    pub uses: u32,
    /// `active`, `revoked`, `erased`.
    pub status: String,
    /// Who signed the grant.
    pub granted_by: AccountId32,
}

impl ConsentView {
    /// Builds the view.
    pub fn new(id: ConsentId, c: &Consent<AccountId32>) -> Self {
        ConsentView {
            id,
            subject: c.subject,
            grantee: match c.grantee {
                Grantee::Institution(i) => format!("institution {i}"),
                Grantee::AnyWithRole(r) => format!("any {}", names::role_name(r)),
            },
            purposes: c.purposes.iter().map(names::purpose_name).collect(),
            categories: c.categories.iter().map(names::category_name).collect(),
            valid_from: rfc3339(c.valid_from),
            valid_until: c.valid_until.map(rfc3339),
            max_uses: c.max_uses,
            uses: c.uses,
            status: match c.status {
                ConsentStatus::Active => "active".into(),
                ConsentStatus::Revoked { at } => format!("revoked at {}", rfc3339(at)),
                ConsentStatus::Erased { at } => format!("erased at {}", rfc3339(at)),
            },
            granted_by: c.granted_by.clone(),
        }
    }

    /// One line.
    pub fn line(&self) -> String {
        format!(
            "consent {}: {} may use {} for {} from {}{}{} — {}",
            self.id,
            self.grantee,
            self.categories.join(","),
            self.purposes.join(","),
            self.valid_from,
            self.valid_until
                .as_ref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            // Uses are counted against a limit only (the audit log lists every access).
            self.max_uses
                .map(|m| format!(", at most {m} uses ({} used)", self.uses))
                .unwrap_or_default(),
            self.status,
        )
    }
}

/// An access record for display.
#[derive(Serialize, Debug, Clone)]
pub struct RecordView {
    /// Id.
    pub id: u64,
    /// Institution whose key asked.
    pub institution: u32,
    /// The signing key.
    pub requested_by: AccountId32,
    /// Pseudonym, hex.
    pub pseudonym: String,
    /// Resolved subject.
    pub subject: Option<u64>,
    /// Purpose name.
    pub purpose: &'static str,
    /// Category names.
    pub categories: Vec<&'static str>,
    /// Job digest, hex.
    pub job_digest: String,
    /// Consents cited.
    pub consents: Vec<ConsentId>,
    /// Whether this was a break-the-glass access.
    pub emergency: bool,
    /// Justification digest, hex, for emergency access.
    pub justification_digest: Option<String>,
    /// `granted`, `denied: Revoked`, `closed: Completed`.
    pub state: String,
    /// Result digest, hex.
    pub result_digest: Option<String>,
    /// When requested, RFC 3339.
    pub requested_at: String,
    /// The block that recorded it.
    pub block: u32,
    /// When closed, RFC 3339.
    pub closed_at: Option<String>,
}

impl RecordView {
    /// Builds the view.
    pub fn new(r: &Record) -> Self {
        RecordView {
            id: r.id,
            institution: r.institution,
            requested_by: r.requested_by.clone(),
            pseudonym: hex32(&r.pseudonym),
            subject: r.subject,
            purpose: names::purpose_name(r.purpose),
            categories: r.categories.iter().map(names::category_name).collect(),
            job_digest: hex32(&r.job_digest),
            consents: r.consents.to_vec(),
            emergency: r.emergency.is_some(),
            justification_digest: r.emergency.as_ref().map(hex32),
            state: match r.state {
                AccessState::Granted => "granted".into(),
                AccessState::Denied(why) => format!("denied: {why:?}"),
                AccessState::Closed(o) => format!("closed: {o:?}"),
            },
            result_digest: r.result_digest.as_ref().map(hex32),
            requested_at: rfc3339(r.requested_at),
            block: r.block,
            closed_at: r.closed_at.map(rfc3339),
        }
    }

    /// One line.
    pub fn line(&self) -> String {
        format!(
            "access {} at {} (block #{}): institution {} ({}) for {} on {} — {}{}",
            self.id,
            self.requested_at,
            self.block,
            self.institution,
            self.requested_by,
            self.purpose,
            self.categories.join(","),
            self.state,
            if self.emergency {
                " [EMERGENCY, break-the-glass]"
            } else {
                ""
            }
        )
    }
}
