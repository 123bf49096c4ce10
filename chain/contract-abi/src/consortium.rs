//! The federated-learning consortium (`contracts/consortium`): one study per contract instance.

use crate::{dua::hex32, event, message, Digest, InstitutionId, Moment};
use codec::{Decode, Encode};
use serde::Serialize;

/// A round's index: 0, 1, … in order of opening.
pub type RoundIndex = u32;

/// ε is ledgered as ε × `EPSILON_SCALE` (micro-ε).
pub const EPSILON_SCALE: u64 = 1_000_000;
/// δ is ledgered as δ × `DELTA_SCALE`.
pub const DELTA_SCALE: u64 = 1_000_000_000_000_000_000;
/// The sampling rate q is ledgered as q × `RATE_SCALE`.
pub const RATE_SCALE: u64 = 1_000_000_000;
/// Noise multiplier σ and clipping norm C are ledgered × `REAL_SCALE`.
pub const REAL_SCALE: u64 = 1_000_000;

/// The model being trained.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Model {
    pub name: String,
    #[serde(serialize_with = "hex32")]
    pub architecture: Digest,
}

/// The study's rules, fixed at instantiation.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Study {
    pub coordinator: InstitutionId,
    pub members: Vec<InstitutionId>,
    pub model: Model,
    pub min_sites: u32,
    pub max_rounds: u32,
    pub round_deadline_ms: u64,
    /// ε × `EPSILON_SCALE`.
    pub epsilon_budget: u64,
    /// δ × `DELTA_SCALE`.
    pub delta: u64,
}

/// One round's privacy-accountant inputs, fixed-point.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Accountant {
    /// q × `RATE_SCALE`.
    pub sampling_rate: u64,
    /// σ × `REAL_SCALE`.
    pub noise_multiplier: u64,
    /// C × `REAL_SCALE`.
    pub clipping_norm: u64,
    pub steps: u32,
}

/// A set of sites the aggregator committed, with the digest of what they sent.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SiteSet {
    pub sites: Vec<InstitutionId>,
    #[serde(serialize_with = "hex32")]
    pub digest: Digest,
}

/// Where a round stands.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RoundStatus {
    Open,
    Aggregated { at: Moment },
    Failed { at: Moment },
    Expired { at: Moment, by: InstitutionId },
}

/// One round.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Round {
    pub opened_at: Moment,
    pub deadline: Moment,
    #[serde(serialize_with = "hex32")]
    pub global_model: Digest,
    pub accountant: Accountant,
    pub epsilon_before: u64,
    pub epsilon_after: u64,
    pub cohort_sites: Vec<InstitutionId>,
    pub key_sites: Option<SiteSet>,
    pub input_sites: Option<SiteSet>,
    pub aggregate: Option<Digest>,
    pub status: RoundStatus,
}

/// A site's cohort in a round.
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Cohort {
    pub records: u32,
    #[serde(serialize_with = "hex32")]
    pub records_digest: Digest,
    pub submitted_at: Moment,
}

/// Why the consortium refused (the contract's `Error`, variant for variant).
#[cfg_attr(test, derive(scale_info::TypeInfo))]
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum Error {
    NoMembers,
    TooManyMembers { given: u32, max: u32 },
    DuplicateMember { institution: InstitutionId },
    CoordinatorNotMember,
    ZeroMinSites,
    MinSitesAboveMembers { min_sites: u32, members: u32 },
    NoRounds,
    TooManyRounds { given: u32, max: u32 },
    ZeroDeadline,
    ZeroEpsilonBudget,
    DeltaOutOfRange,
    EmptyModelName,
    ModelNameTooLong { len: u32, max: u32 },
    CallerNotRegistered,
    InstitutionSuspended { institution: InstitutionId },
    NotMember { institution: InstitutionId },
    NotCoordinator { institution: InstitutionId },
    NotDataCustodian { institution: InstitutionId },
    AlreadyJoined { institution: InstitutionId },
    NotJoined { institution: InstitutionId },
    RoundStillOpen { round: RoundIndex },
    AllRoundsUsed { max_rounds: u32 },
    TooFewSites { sites: u32, min_sites: u32 },
    BudgetExceeded { epsilon_after: u64, budget: u64 },
    EpsilonNotIncreasing { epsilon_after: u64, spent: u64 },
    SamplingRateOutOfRange,
    ZeroNoiseMultiplier,
    ZeroClippingNorm,
    ZeroSteps,
    UnknownRound { round: RoundIndex },
    RoundNotOpen { round: RoundIndex },
    DeadlinePassed { deadline: Moment },
    DeadlineNotPassed { deadline: Moment },
    SiteNotJoined { site: InstitutionId },
    DuplicateSite { site: InstitutionId },
    SiteNotInKeySet { site: InstitutionId },
    KeysAlreadyCommitted,
    KeysNotCommitted,
    InputsAlreadyCommitted,
    InputsNotCommitted,
    CohortAlreadySubmitted { site: InstitutionId },
    EmptyCohort,
    MissingCohort { site: InstitutionId },
    AlreadyAdvertised { site: InstitutionId },
    SiteDidNotAdvertise { site: InstitutionId },
}

message!(
    /// Instantiates a study with these rules.
    New, "new", 0xC0C0_0000, Result<(), Error>, { study: Study }
);
message!(
    /// The caller's institution joins as a site.
    Join, "join", 0xC0C0_0001, Result<(), Error>, {}
);
message!(
    /// The coordinator opens the next round; returns its index.
    OpenRound, "open_round", 0xC0C0_0002, Result<RoundIndex, Error>, {
        global_model: Digest, accountant: Accountant, epsilon_after: u64,
    }
);
message!(
    /// The aggregator commits the sites that advertised secure-aggregation keys.
    CommitKeys, "commit_keys", 0xC0C0_0003, Result<(), Error>, {
        round: RoundIndex, sites: Vec<InstitutionId>, digest: Digest,
    }
);
message!(
    /// The aggregator commits the sites whose masked inputs it received.
    CommitInputs, "commit_inputs", 0xC0C0_0004, Result<(), Error>, {
        round: RoundIndex, sites: Vec<InstitutionId>, digest: Digest,
    }
);
message!(
    /// A site submits its cohort for a round.
    SubmitCohort, "submit_cohort", 0xC0C0_0005, Result<(), Error>, {
        round: RoundIndex, records: u32, records_digest: Digest,
    }
);
message!(
    /// A site advertises the digest of its round's secure-aggregation public keys.
    AdvertiseKey, "advertise_key", 0xC0C0_0008, Result<(), Error>, {
        round: RoundIndex, key_digest: Digest,
    }
);
message!(
    /// The key digest a site advertised for a round.
    AdvertisedKey, "advertised_key", 0xC0C0_0017, Option<Digest>, { round: RoundIndex, site: InstitutionId }
);
message!(
    /// The coordinator closes a round with the aggregated model's digest.
    CloseRound, "close_round", 0xC0C0_0006, Result<(), Error>, { round: RoundIndex, aggregate: Digest }
);
message!(
    /// The coordinator fails a round (or a site marks it expired after its deadline).
    FailRound, "fail_round", 0xC0C0_0007, Result<(), Error>, { round: RoundIndex }
);
message!(
    /// The study's rules.
    GetStudy, "study", 0xC0C0_0010, Study, {}
);
message!(
    /// The sites that joined.
    Joined, "joined", 0xC0C0_0011, Vec<InstitutionId>, {}
);
message!(
    /// (ε spent, ε budget), × `EPSILON_SCALE`.
    Epsilon, "epsilon", 0xC0C0_0012, (u64, u64), {}
);
message!(
    /// A round.
    GetRound, "round", 0xC0C0_0013, Option<Round>, { round: RoundIndex }
);
message!(
    /// How many rounds were opened.
    RoundsOpened, "rounds_opened", 0xC0C0_0014, u32, {}
);
message!(
    /// A site's cohort in a round.
    GetCohort, "cohort", 0xC0C0_0015, Option<Cohort>, { round: RoundIndex, site: InstitutionId }
);
message!(
    /// The open round, if any.
    CurrentRound, "current_round", 0xC0C0_0016, Option<RoundIndex>, {}
);

event!(
    /// A member joined as a site.
    SiteJoined, "Joined(InstitutionId)", { site: InstitutionId }
);
event!(
    /// The coordinator opened a round.
    RoundOpened, "RoundOpened(RoundIndex,Digest,Moment,u64)", {
        round: RoundIndex, global_model: Digest, deadline: Moment, epsilon_after: u64,
    }
);
event!(
    /// A site submitted its cohort.
    CohortSubmitted, "CohortSubmitted(RoundIndex,InstitutionId,u32)", {
        round: RoundIndex, site: InstitutionId, records: u32,
    }
);
event!(
    /// A site advertised its round key's digest.
    KeyAdvertised, "KeyAdvertised(RoundIndex,InstitutionId,Digest)", {
        round: RoundIndex, site: InstitutionId, key_digest: Digest,
    }
);
event!(
    /// The aggregator committed the key set.
    KeysCommitted, "KeysCommitted(RoundIndex,Vec<InstitutionId>,Digest)", {
        round: RoundIndex, sites: Vec<InstitutionId>, digest: Digest,
    }
);
event!(
    /// The aggregator committed the input set.
    InputsCommitted, "InputsCommitted(RoundIndex,Vec<InstitutionId>,Digest)", {
        round: RoundIndex, sites: Vec<InstitutionId>, digest: Digest,
    }
);
event!(
    /// The round closed with an aggregated model.
    RoundClosed, "RoundClosed(RoundIndex,Digest,u64)", { round: RoundIndex, aggregate: Digest, records: u64 }
);
event!(
    /// The round failed or expired.
    RoundFailed, "RoundFailed(RoundIndex,RoundStatus)", { round: RoundIndex, status: RoundStatus }
);
