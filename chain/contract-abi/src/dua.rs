//! The data-use agreement registry (`contracts/dua`): one contract holding every agreement.

use crate::{event, message, CategorySet, Digest, InstitutionId, Moment, Purpose, PurposeSet};
use codec::{Decode, Encode};
use serde::Serialize;
use sp_core::crypto::AccountId32;

/// An agreement's id: 0, 1, 2, … in order of proposal.
pub type DuaId = u64;

/// What the parties agree to.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Terms {
    /// The institution that holds the data.
    pub custodian: InstitutionId,
    /// The institutions that may use it.
    pub recipients: Vec<InstitutionId>,
    /// The purposes it may be used for.
    pub purposes: PurposeSet,
    /// The data categories it covers.
    pub categories: CategorySet,
    /// Start of the period (ms since the epoch, inclusive).
    pub valid_from: Moment,
    /// End of the period (ms, exclusive).
    pub valid_until: Moment,
    /// Most access records the custodian may count against it.
    pub record_cap: Option<u64>,
    /// Digest of the legal text the parties sign.
    #[serde(serialize_with = "crate::dua::hex32")]
    pub text_digest: Digest,
}

/// Where an agreement stands.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// Waiting for signatures.
    Proposed,
    /// Every party signed.
    InForce { since: Moment },
    /// A party ended it.
    Terminated { by: InstitutionId, at: Moment },
    /// Marked ended because its period is over.
    Expired { at: Moment },
}

/// An agreement and its signatures.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Agreement {
    pub terms: Terms,
    /// The party that proposed it.
    pub proposer: InstitutionId,
    pub proposed_at: Moment,
    /// The parties that signed, in order.
    pub signatories: Vec<InstitutionId>,
    /// Access records the custodian counted against it.
    pub records_used: u64,
    pub status: Status,
}

/// Why the registry refused a message (the contract's `Error`, variant for variant).
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum Error {
    CallerNotRegistered,
    InstitutionSuspended { institution: InstitutionId },
    NotAParty { institution: InstitutionId },
    NotTheCustodian { institution: InstitutionId },
    CustodianLacksRole { institution: InstitutionId },
    NoRecipients,
    TooManyRecipients { given: u32, max: u32 },
    DuplicateRecipient { institution: InstitutionId },
    CustodianIsRecipient,
    NoPurposes,
    UnknownPurposes { bits: u16 },
    NoCategories,
    UnknownCategories { bits: u16 },
    EmptyPeriod,
    PeriodOver { valid_until: Moment, now: Moment },
    ZeroRecordCap,
    TooManyLiveAgreements { institution: InstitutionId },
    UnknownAgreement { id: DuaId },
    NotProposed { id: DuaId },
    AlreadySigned { institution: InstitutionId },
    AlreadyEnded { id: DuaId },
    NotExpired { valid_until: Moment },
    NotInForce { id: DuaId },
    ZeroRecords,
    RecordCapExceeded { used: u64, adding: u64, cap: u64 },
}

pub(crate) fn hex32<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(d)))
}

message!(
    /// Instantiates an empty registry.
    New, "new", 0xD0A0_0000, (), {}
);
message!(
    /// Proposes an agreement (and signs it for the caller's institution); returns its id.
    Propose, "propose", 0xD0A0_0001, Result<DuaId, Error>, { terms: Terms }
);
message!(
    /// Signs a proposed agreement for the caller's institution.
    Sign, "sign", 0xD0A0_0002, Result<(), Error>, { id: DuaId }
);
message!(
    /// Ends an agreement; any party may.
    Terminate, "terminate", 0xD0A0_0003, Result<(), Error>, { id: DuaId }
);
message!(
    /// Marks an agreement whose period is over as expired.
    Expire, "expire", 0xD0A0_0004, Result<(), Error>, { id: DuaId }
);
message!(
    /// The custodian counts access records against an agreement; returns the new total.
    CountRecords, "count_records", 0xD0A0_0005, Result<u64, Error>, { id: DuaId, records: u64 }
);
message!(
    /// The lowest id of an agreement in force that lets `recipient` use `categories` of
    /// `custodian`'s data for `purpose` at `now`.
    InForceQuery, "in_force", 0xD0A0_0010, Option<DuaId>, {
        custodian: InstitutionId,
        recipient: InstitutionId,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    }
);
message!(
    /// Whether agreement `id` lets `recipient` use `categories` of `custodian`'s data for
    /// `purpose` at `now`.
    Allows, "allows", 0xD0A0_0014, bool, {
        id: DuaId,
        custodian: InstitutionId,
        recipient: InstitutionId,
        purpose: Purpose,
        categories: CategorySet,
        now: Moment,
    }
);
message!(
    /// What the chain's consent check decides now for this access (the chain extension's
    /// `decide`; it consumes no use and records nothing).
    Consent, "consent", 0xD0A0_0015, consentry_primitives::Decision, {
        subject: consentry_primitives::SubjectRef,
        accessor: AccountId32,
        purpose: Purpose,
        categories: CategorySet,
    }
);
message!(
    /// The agreement with this id.
    Get, "get", 0xD0A0_0011, Option<Agreement>, { id: DuaId }
);
message!(
    /// The live agreements an institution is a party to.
    LiveOf, "live_of", 0xD0A0_0012, Vec<DuaId>, { institution: InstitutionId }
);
message!(
    /// The id the next proposal gets.
    NextId, "next_id", 0xD0A0_0013, DuaId, {}
);

event!(
    /// An agreement was proposed.
    Proposed, "Proposed(DuaId,InstitutionId,InstitutionId,Vec<InstitutionId>)", {
        id: DuaId, proposer: InstitutionId, custodian: InstitutionId, recipients: Vec<InstitutionId>,
    }
);
event!(
    /// A party signed.
    Signed, "Signed(DuaId,InstitutionId,AccountId)", {
        id: DuaId, institution: InstitutionId, key: AccountId32,
    }
);
event!(
    /// The last party signed: the agreement is in force.
    InForce, "InForce(DuaId,Moment)", { id: DuaId, since: Moment }
);
event!(
    /// A party terminated the agreement.
    Terminated, "Terminated(DuaId,InstitutionId,Moment)", { id: DuaId, by: InstitutionId, at: Moment }
);
event!(
    /// The agreement's period is over and it was marked expired.
    Expired, "Expired(DuaId,Moment)", { id: DuaId, at: Moment }
);
event!(
    /// The custodian counted access records against the agreement.
    RecordsCounted, "RecordsCounted(DuaId,u64,u64)", { id: DuaId, records: u64, total: u64 }
);
