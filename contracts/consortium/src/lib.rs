//! A federated-learning consortium: one study (one model trained over rounds by member sites
//! under a differential-privacy budget) per contract instance.
//!
//! The council instantiates it with the study's rules ([`Study`]): member institutions, the
//! coordinator (a member), the model, the round schedule and the privacy budget (ε, δ) as
//! fixed-point integers. Members that hold data join as sites. Per round:
//!
//! 1. the coordinator opens it with the global model's digest, the privacy accountant's inputs
//!    (sampling rate, noise multiplier, clipping norm, steps) and the study's ε *after* this round
//!    (RDP composition is not additive, so the accountant's cumulative ε is ledgered, and the
//!    round's spend is the difference); it is refused if fewer than `min_sites` joined or if the
//!    budget would be exceeded. The budget is charged when the round opens, so a round that later
//!    fails still counts (the conservative choice: sites may have released noised updates);
//! 2. each participating site submits its cohort: the number of access records that granted it
//!    patients this round and the digest of their ids;
//! 3. each site advertises the digest of its secure-aggregation public keys, in a transaction
//!    signed by its institution's key; the aggregator (the coordinator) commits the set of sites
//!    whose keys it relays (each must have advertised: it cannot invent a site, and sites check
//!    relayed keys against the advertised digests) and then the set that sent masked inputs, so
//!    it cannot show different sets to different sites;
//! 4. the coordinator closes the round with the aggregated model's digest (every site of the
//!    input set must have submitted its cohort), or fails it; after the deadline any site may
//!    mark it expired.
//!
//! Every message checks everything before it writes and names what is wrong; storage is
//! bounded ([`MAX_MEMBERS`] members, [`MAX_ROUNDS`] rounds).
#![cfg_attr(not(feature = "std"), no_std, no_main)]

pub use consentry_ink_env::{Digest, InstitutionId, InstitutionInfo, Moment, Role};

/// A round's index: 0, 1, … in order of opening.
pub type RoundIndex = u32;

/// Most member institutions of a study.
pub const MAX_MEMBERS: usize = 32;
/// Most rounds a study may schedule.
pub const MAX_ROUNDS: u32 = 1_000;
/// Longest model name, in bytes.
pub const MAX_MODEL_NAME: usize = 64;
/// ε is stored as ε × `EPSILON_SCALE` (micro-ε).
pub const EPSILON_SCALE: u64 = 1_000_000;
/// δ is stored as δ × `DELTA_SCALE` (so 0 < δ < 1 is 1 ..= 10^18 − 1).
pub const DELTA_SCALE: u64 = 1_000_000_000_000_000_000;
/// The sampling rate q is stored as q × `RATE_SCALE` (so 0 < q ≤ 1 is 1 ..= 10^9).
pub const RATE_SCALE: u64 = 1_000_000_000;
/// Noise multiplier σ and clipping norm C are stored × `REAL_SCALE` (micro-units).
pub const REAL_SCALE: u64 = 1_000_000;

#[ink::contract(env = consentry_ink_env::ConsentryEnv)]
pub mod consortium {
    use super::*;
    use ink::prelude::{string::String, vec::Vec};
    use ink::storage::Mapping;

    /// The model being trained.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Model {
        /// A name for people (1 to `MAX_MODEL_NAME` bytes of UTF-8).
        pub name: String,
        /// Digest of the architecture (layers, shapes, hyper-parameters).
        pub architecture: Digest,
    }

    /// The study's rules, fixed at instantiation.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Study {
        /// The member that opens and closes rounds and runs the aggregator.
        pub coordinator: InstitutionId,
        /// Member institutions (1 to `MAX_MEMBERS`, distinct, including the coordinator).
        pub members: Vec<InstitutionId>,
        pub model: Model,
        /// Fewest joined sites for a round to open, and fewest in its key and input sets.
        pub min_sites: u32,
        /// Most rounds (1 to `MAX_ROUNDS`).
        pub max_rounds: u32,
        /// How long a round may stay open (ms, > 0).
        pub round_deadline_ms: u64,
        /// The study's privacy budget ε × `EPSILON_SCALE` (> 0).
        pub epsilon_budget: u64,
        /// The study's δ × `DELTA_SCALE` (0 < δ < 1).
        pub delta: u64,
    }

    /// One round's privacy-accountant inputs, fixed-point (see the `*_SCALE` constants).
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Accountant {
        /// Sampling rate q × `RATE_SCALE` (1 ..= `RATE_SCALE`).
        pub sampling_rate: u64,
        /// Noise multiplier σ × `REAL_SCALE` (> 0).
        pub noise_multiplier: u64,
        /// Clipping norm C × `REAL_SCALE` (> 0).
        pub clipping_norm: u64,
        /// DP-SGD steps in the round (> 0).
        pub steps: u32,
    }

    /// A set of sites the aggregator committed, with the digest of what they sent.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct SiteSet {
        pub sites: Vec<InstitutionId>,
        pub digest: Digest,
    }

    /// Where a round stands.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum RoundStatus {
        Open,
        /// Closed with an aggregated model.
        Aggregated {
            at: Moment,
        },
        /// Given up by the coordinator.
        Failed {
            at: Moment,
        },
        /// Marked by a site after its deadline passed while open.
        Expired {
            at: Moment,
            by: InstitutionId,
        },
    }

    /// One round.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Round {
        pub opened_at: Moment,
        /// The round must close before this time (ms).
        pub deadline: Moment,
        /// Digest of the global model the round starts from.
        pub global_model: Digest,
        pub accountant: Accountant,
        /// The study's ε (× `EPSILON_SCALE`) before and after this round.
        pub epsilon_before: u64,
        pub epsilon_after: u64,
        /// Sites that submitted a cohort, in order of submission.
        pub cohort_sites: Vec<InstitutionId>,
        /// Sites that advertised secure-aggregation keys.
        pub key_sites: Option<SiteSet>,
        /// Sites whose masked inputs the aggregator received (a subset of `key_sites`).
        pub input_sites: Option<SiteSet>,
        /// Digest of the aggregated model.
        pub aggregate: Option<Digest>,
        pub status: RoundStatus,
    }

    /// A site's cohort in a round.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Cohort {
        /// Access records that granted the site's patients for this round (its FedAvg weight).
        pub records: u32,
        /// Digest of the ids of those access records.
        pub records_digest: Digest,
        pub submitted_at: Moment,
    }

    /// Why a constructor or message was refused.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Error {
        // The study's rules (constructor).
        /// No members.
        NoMembers,
        /// More than `MAX_MEMBERS` members.
        TooManyMembers { given: u32, max: u32 },
        /// A member is named twice.
        DuplicateMember { institution: InstitutionId },
        /// The coordinator is not a member.
        CoordinatorNotMember,
        /// `min_sites` is 0.
        ZeroMinSites,
        /// `min_sites` exceeds the number of members.
        MinSitesAboveMembers { min_sites: u32, members: u32 },
        /// `max_rounds` is 0.
        NoRounds,
        /// `max_rounds` exceeds `MAX_ROUNDS`.
        TooManyRounds { given: u32, max: u32 },
        /// `round_deadline_ms` is 0.
        ZeroDeadline,
        /// The ε budget is 0.
        ZeroEpsilonBudget,
        /// δ is not in (0, 1).
        DeltaOutOfRange,
        /// The model name is empty.
        EmptyModelName,
        /// The model name is longer than `MAX_MODEL_NAME` bytes.
        ModelNameTooLong { len: u32, max: u32 },
        // Callers.
        /// The caller is not a service key of any institution.
        CallerNotRegistered,
        /// The caller's institution is suspended.
        InstitutionSuspended { institution: InstitutionId },
        /// The caller's institution is not a member.
        NotMember { institution: InstitutionId },
        /// Only the coordinator's keys may do this.
        NotCoordinator { institution: InstitutionId },
        /// Joining as a site needs the data-custodian role.
        NotDataCustodian { institution: InstitutionId },
        /// The caller's institution joined already.
        AlreadyJoined { institution: InstitutionId },
        /// The caller's institution has not joined as a site.
        NotJoined { institution: InstitutionId },
        // Rounds.
        /// A round is still open.
        RoundStillOpen { round: RoundIndex },
        /// Every scheduled round was opened.
        AllRoundsUsed { max_rounds: u32 },
        /// Fewer sites than `min_sites` (joined, or in a committed set).
        TooFewSites { sites: u32, min_sites: u32 },
        /// The ε after the round would exceed the budget.
        BudgetExceeded { epsilon_after: u64, budget: u64 },
        /// The ε after the round is not more than the ε spent.
        EpsilonNotIncreasing { epsilon_after: u64, spent: u64 },
        /// The sampling rate is 0 or above 1.
        SamplingRateOutOfRange,
        /// The noise multiplier is 0.
        ZeroNoiseMultiplier,
        /// The clipping norm is 0.
        ZeroClippingNorm,
        /// No steps.
        ZeroSteps,
        /// No round has this index.
        UnknownRound { round: RoundIndex },
        /// The round is not open.
        RoundNotOpen { round: RoundIndex },
        /// The round's deadline has passed.
        DeadlinePassed { deadline: Moment },
        /// The round's deadline has not passed (only the coordinator may fail it before).
        DeadlineNotPassed { deadline: Moment },
        /// A committed set names a site that has not joined.
        SiteNotJoined { site: InstitutionId },
        /// A committed set names a site twice.
        DuplicateSite { site: InstitutionId },
        /// The input set names a site that advertised no key.
        SiteNotInKeySet { site: InstitutionId },
        /// The key set was committed already.
        KeysAlreadyCommitted,
        /// The key set must be committed first.
        KeysNotCommitted,
        /// The input set was committed already.
        InputsAlreadyCommitted,
        /// The input set must be committed first.
        InputsNotCommitted,
        /// The site submitted its cohort for this round already.
        CohortAlreadySubmitted { site: InstitutionId },
        /// A cohort of no records.
        EmptyCohort,
        /// A site of the input set has not submitted its cohort.
        MissingCohort { site: InstitutionId },
        /// The site advertised its round key already.
        AlreadyAdvertised { site: InstitutionId },
        /// The key set names a site that did not advertise its round key on chain.
        SiteDidNotAdvertise { site: InstitutionId },
    }

    /// A member joined as a site.
    #[ink(event)]
    pub struct Joined {
        #[ink(topic)]
        pub site: InstitutionId,
    }

    /// The coordinator opened a round.
    #[ink(event)]
    pub struct RoundOpened {
        #[ink(topic)]
        pub round: RoundIndex,
        pub global_model: Digest,
        pub deadline: Moment,
        pub epsilon_after: u64,
    }

    /// A site submitted its cohort.
    #[ink(event)]
    pub struct CohortSubmitted {
        #[ink(topic)]
        pub round: RoundIndex,
        pub site: InstitutionId,
        pub records: u32,
    }

    /// A site advertised the digest of its round's secure-aggregation public keys.
    #[ink(event)]
    pub struct KeyAdvertised {
        #[ink(topic)]
        pub round: RoundIndex,
        pub site: InstitutionId,
        pub key_digest: Digest,
    }

    /// The aggregator committed the sites that advertised keys.
    #[ink(event)]
    pub struct KeysCommitted {
        #[ink(topic)]
        pub round: RoundIndex,
        pub sites: Vec<InstitutionId>,
        pub digest: Digest,
    }

    /// The aggregator committed the sites whose masked inputs it received.
    #[ink(event)]
    pub struct InputsCommitted {
        #[ink(topic)]
        pub round: RoundIndex,
        pub sites: Vec<InstitutionId>,
        pub digest: Digest,
    }

    /// The round closed with an aggregated model.
    #[ink(event)]
    pub struct RoundClosed {
        #[ink(topic)]
        pub round: RoundIndex,
        pub aggregate: Digest,
        /// Access records of the input set's sites together (FedAvg's n).
        pub records: u64,
    }

    /// The round failed (coordinator) or expired (a site, after the deadline).
    #[ink(event)]
    pub struct RoundFailed {
        #[ink(topic)]
        pub round: RoundIndex,
        pub status: RoundStatus,
    }

    /// The study.
    #[ink(storage)]
    pub struct Consortium {
        study: Study,
        /// Members that joined as sites, in order of joining.
        joined: Vec<InstitutionId>,
        /// The study's ε so far (× `EPSILON_SCALE`), charged when rounds open.
        epsilon_spent: u64,
        rounds: Mapping<RoundIndex, Round>,
        rounds_opened: u32,
        cohorts: Mapping<(RoundIndex, InstitutionId), Cohort>,
        /// Per round and site, the digest of the site's advertised public keys.
        keys: Mapping<(RoundIndex, InstitutionId), Digest>,
    }

    impl Consortium {
        /// A study with these rules (instantiated by the council's deployer).
        #[ink(constructor, selector = 0xC0C0_0000)]
        pub fn new(study: Study) -> Result<Self, Error> {
            check_study(&study)?;
            Ok(Self {
                study,
                joined: Vec::new(),
                epsilon_spent: 0,
                rounds: Mapping::default(),
                rounds_opened: 0,
                cohorts: Mapping::default(),
                keys: Mapping::default(),
            })
        }

        /// The caller's institution, a member with the data-custodian role, joins as a site.
        #[ink(message, selector = 0xC0C0_0001)]
        pub fn join(&mut self) -> Result<(), Error> {
            let me = self.caller_institution()?;
            if !self.study.members.contains(&me.id) {
                return Err(Error::NotMember { institution: me.id });
            }
            if self.joined.contains(&me.id) {
                return Err(Error::AlreadyJoined { institution: me.id });
            }
            if !me.roles.contains(Role::DataCustodian) {
                return Err(Error::NotDataCustodian { institution: me.id });
            }
            self.joined.push(me.id);
            self.env().emit_event(Joined { site: me.id });
            Ok(())
        }

        /// The coordinator opens the next round from `global_model`, ledgering the accountant's
        /// inputs and the study's ε after it. Returns the round's index.
        #[ink(message, selector = 0xC0C0_0002)]
        pub fn open_round(
            &mut self,
            global_model: Digest,
            accountant: Accountant,
            epsilon_after: u64,
        ) -> Result<RoundIndex, Error> {
            self.coordinator()?;
            if let Some(round) = self.current_round() {
                return Err(Error::RoundStillOpen { round });
            }
            if self.rounds_opened >= self.study.max_rounds {
                return Err(Error::AllRoundsUsed {
                    max_rounds: self.study.max_rounds,
                });
            }
            let sites = self.joined.len() as u32;
            if sites < self.study.min_sites {
                return Err(Error::TooFewSites {
                    sites,
                    min_sites: self.study.min_sites,
                });
            }
            check_accountant(&accountant)?;
            if epsilon_after <= self.epsilon_spent {
                return Err(Error::EpsilonNotIncreasing {
                    epsilon_after,
                    spent: self.epsilon_spent,
                });
            }
            if epsilon_after > self.study.epsilon_budget {
                return Err(Error::BudgetExceeded {
                    epsilon_after,
                    budget: self.study.epsilon_budget,
                });
            }
            let now = self.env().block_timestamp();
            let deadline = now.saturating_add(self.study.round_deadline_ms);
            let round = self.rounds_opened;
            self.rounds.insert(
                round,
                &Round {
                    opened_at: now,
                    deadline,
                    global_model,
                    accountant,
                    epsilon_before: self.epsilon_spent,
                    epsilon_after,
                    cohort_sites: Vec::new(),
                    key_sites: None,
                    input_sites: None,
                    aggregate: None,
                    status: RoundStatus::Open,
                },
            );
            self.rounds_opened += 1;
            self.epsilon_spent = epsilon_after;
            self.env().emit_event(RoundOpened {
                round,
                global_model,
                deadline,
                epsilon_after,
            });
            Ok(round)
        }

        /// A joined site submits its cohort for an open round: the number of access records that
        /// granted it patients and the digest of their ids.
        #[ink(message, selector = 0xC0C0_0005)]
        pub fn submit_cohort(
            &mut self,
            round: RoundIndex,
            records: u32,
            records_digest: Digest,
        ) -> Result<(), Error> {
            let me = self.caller_institution()?;
            if !self.joined.contains(&me.id) {
                return Err(Error::NotJoined { institution: me.id });
            }
            let mut r = self.open(round)?;
            if r.cohort_sites.contains(&me.id) {
                return Err(Error::CohortAlreadySubmitted { site: me.id });
            }
            if records == 0 {
                return Err(Error::EmptyCohort);
            }
            let submitted_at = self.env().block_timestamp();
            r.cohort_sites.push(me.id);
            self.rounds.insert(round, &r);
            self.cohorts.insert(
                (round, me.id),
                &Cohort {
                    records,
                    records_digest,
                    submitted_at,
                },
            );
            self.env().emit_event(CohortSubmitted {
                round,
                site: me.id,
                records,
            });
            Ok(())
        }

        /// A joined site advertises, with its institution's key, the digest of its public keys
        /// for an open round's secure aggregation (before the key set is committed). Other sites
        /// check the keys the aggregator relays against it, so the aggregator can neither invent
        /// a site nor substitute a site's keys.
        #[ink(message, selector = 0xC0C0_0008)]
        pub fn advertise_key(
            &mut self,
            round: RoundIndex,
            key_digest: Digest,
        ) -> Result<(), Error> {
            let me = self.caller_institution()?;
            if !self.joined.contains(&me.id) {
                return Err(Error::NotJoined { institution: me.id });
            }
            let r = self.open(round)?;
            if r.key_sites.is_some() {
                return Err(Error::KeysAlreadyCommitted);
            }
            if self.keys.contains((round, me.id)) {
                return Err(Error::AlreadyAdvertised { site: me.id });
            }
            self.keys.insert((round, me.id), &key_digest);
            self.env().emit_event(KeyAdvertised {
                round,
                site: me.id,
                key_digest,
            });
            Ok(())
        }

        /// The coordinator commits the sites that advertised secure-aggregation keys in an open
        /// round (each must have advertised its own on chain), with the digest of the key bundle
        /// it relays.
        #[ink(message, selector = 0xC0C0_0003)]
        pub fn commit_keys(
            &mut self,
            round: RoundIndex,
            sites: Vec<InstitutionId>,
            digest: Digest,
        ) -> Result<(), Error> {
            self.coordinator()?;
            let mut r = self.open(round)?;
            if r.key_sites.is_some() {
                return Err(Error::KeysAlreadyCommitted);
            }
            self.check_sites(&sites, |s| {
                if !self.joined.contains(&s) {
                    Err(Error::SiteNotJoined { site: s })
                } else if !self.keys.contains((round, s)) {
                    Err(Error::SiteDidNotAdvertise { site: s })
                } else {
                    Ok(())
                }
            })?;
            r.key_sites = Some(SiteSet {
                sites: sites.clone(),
                digest,
            });
            self.rounds.insert(round, &r);
            self.env().emit_event(KeysCommitted {
                round,
                sites,
                digest,
            });
            Ok(())
        }

        /// The coordinator commits the sites whose masked inputs the aggregator received (a
        /// subset of the key set), with the digest of those inputs.
        #[ink(message, selector = 0xC0C0_0004)]
        pub fn commit_inputs(
            &mut self,
            round: RoundIndex,
            sites: Vec<InstitutionId>,
            digest: Digest,
        ) -> Result<(), Error> {
            self.coordinator()?;
            let mut r = self.open(round)?;
            if r.input_sites.is_some() {
                return Err(Error::InputsAlreadyCommitted);
            }
            let keys = r.key_sites.as_ref().ok_or(Error::KeysNotCommitted)?;
            self.check_sites(&sites, |s| {
                if keys.sites.contains(&s) {
                    Ok(())
                } else {
                    Err(Error::SiteNotInKeySet { site: s })
                }
            })?;
            r.input_sites = Some(SiteSet {
                sites: sites.clone(),
                digest,
            });
            self.rounds.insert(round, &r);
            self.env().emit_event(InputsCommitted {
                round,
                sites,
                digest,
            });
            Ok(())
        }

        /// The coordinator closes an open round with the aggregated model's digest; every site
        /// of the input set must have submitted its cohort.
        #[ink(message, selector = 0xC0C0_0006)]
        pub fn close_round(&mut self, round: RoundIndex, aggregate: Digest) -> Result<(), Error> {
            self.coordinator()?;
            let mut r = self.open(round)?;
            let inputs = r.input_sites.as_ref().ok_or(Error::InputsNotCommitted)?;
            let mut records = 0u64;
            for site in &inputs.sites {
                match self.cohorts.get((round, *site)) {
                    Some(c) => records += u64::from(c.records),
                    None => return Err(Error::MissingCohort { site: *site }),
                }
            }
            let at = self.env().block_timestamp();
            r.aggregate = Some(aggregate);
            r.status = RoundStatus::Aggregated { at };
            self.rounds.insert(round, &r);
            self.env().emit_event(RoundClosed {
                round,
                aggregate,
                records,
            });
            Ok(())
        }

        /// Ends an open round without a model: the coordinator at any time (`Failed`), a joined
        /// site once its deadline has passed (`Expired`). The ε charged when it opened stays spent.
        #[ink(message, selector = 0xC0C0_0007)]
        pub fn fail_round(&mut self, round: RoundIndex) -> Result<(), Error> {
            let me = self.caller_institution()?;
            let is_coordinator = me.id == self.study.coordinator;
            if !is_coordinator && !self.joined.contains(&me.id) {
                return Err(Error::NotJoined { institution: me.id });
            }
            let mut r = self.round_or_err(round)?;
            if r.status != RoundStatus::Open {
                return Err(Error::RoundNotOpen { round });
            }
            let at = self.env().block_timestamp();
            r.status = if is_coordinator {
                RoundStatus::Failed { at }
            } else if at >= r.deadline {
                RoundStatus::Expired { at, by: me.id }
            } else {
                return Err(Error::DeadlineNotPassed {
                    deadline: r.deadline,
                });
            };
            let status = r.status;
            self.rounds.insert(round, &r);
            self.env().emit_event(RoundFailed { round, status });
            Ok(())
        }

        /// The study's rules.
        #[ink(message, selector = 0xC0C0_0010)]
        pub fn study(&self) -> Study {
            self.study.clone()
        }

        /// The sites that joined, in order.
        #[ink(message, selector = 0xC0C0_0011)]
        pub fn joined(&self) -> Vec<InstitutionId> {
            self.joined.clone()
        }

        /// The study's ε so far and its budget (both × `EPSILON_SCALE`).
        #[ink(message, selector = 0xC0C0_0012)]
        pub fn epsilon(&self) -> (u64, u64) {
            (self.epsilon_spent, self.study.epsilon_budget)
        }

        /// A round.
        #[ink(message, selector = 0xC0C0_0013)]
        pub fn round(&self, round: RoundIndex) -> Option<Round> {
            self.rounds.get(round)
        }

        /// How many rounds were opened (the next round's index).
        #[ink(message, selector = 0xC0C0_0014)]
        pub fn rounds_opened(&self) -> u32 {
            self.rounds_opened
        }

        /// A site's cohort in a round.
        #[ink(message, selector = 0xC0C0_0015)]
        pub fn cohort(&self, round: RoundIndex, site: InstitutionId) -> Option<Cohort> {
            self.cohorts.get((round, site))
        }

        /// The digest a site advertised for its keys in a round.
        #[ink(message, selector = 0xC0C0_0017)]
        pub fn advertised_key(&self, round: RoundIndex, site: InstitutionId) -> Option<Digest> {
            self.keys.get((round, site))
        }

        /// The open round, if one is.
        #[ink(message, selector = 0xC0C0_0016)]
        pub fn current_round(&self) -> Option<RoundIndex> {
            let last = self.rounds_opened.checked_sub(1)?;
            self.rounds
                .get(last)
                .filter(|r| r.status == RoundStatus::Open)
                .map(|_| last)
        }

        fn caller_institution(&self) -> Result<InstitutionInfo, Error> {
            match self.env().extension().institution_of(self.env().caller()) {
                None => Err(Error::CallerNotRegistered),
                Some(i) if !i.active => Err(Error::InstitutionSuspended { institution: i.id }),
                Some(i) => Ok(i),
            }
        }

        fn coordinator(&self) -> Result<InstitutionInfo, Error> {
            let me = self.caller_institution()?;
            if me.id != self.study.coordinator {
                return Err(Error::NotCoordinator { institution: me.id });
            }
            Ok(me)
        }

        fn round_or_err(&self, round: RoundIndex) -> Result<Round, Error> {
            self.rounds.get(round).ok_or(Error::UnknownRound { round })
        }

        /// The round, if it is open and before its deadline.
        fn open(&self, round: RoundIndex) -> Result<Round, Error> {
            let r = self.round_or_err(round)?;
            if r.status != RoundStatus::Open {
                return Err(Error::RoundNotOpen { round });
            }
            if self.env().block_timestamp() >= r.deadline {
                return Err(Error::DeadlinePassed {
                    deadline: r.deadline,
                });
            }
            Ok(r)
        }

        /// A committed site set: each site allowed by `allowed`, none twice, at least `min_sites`.
        fn check_sites(
            &self,
            sites: &[InstitutionId],
            allowed: impl Fn(InstitutionId) -> Result<(), Error>,
        ) -> Result<(), Error> {
            for (i, s) in sites.iter().enumerate() {
                if sites[..i].contains(s) {
                    return Err(Error::DuplicateSite { site: *s });
                }
                allowed(*s)?;
            }
            if (sites.len() as u32) < self.study.min_sites {
                return Err(Error::TooFewSites {
                    sites: sites.len() as u32,
                    min_sites: self.study.min_sites,
                });
            }
            Ok(())
        }
    }

    fn check_study(s: &Study) -> Result<(), Error> {
        if s.members.is_empty() {
            return Err(Error::NoMembers);
        }
        if s.members.len() > MAX_MEMBERS {
            return Err(Error::TooManyMembers {
                given: s.members.len() as u32,
                max: MAX_MEMBERS as u32,
            });
        }
        for (i, m) in s.members.iter().enumerate() {
            if s.members[..i].contains(m) {
                return Err(Error::DuplicateMember { institution: *m });
            }
        }
        if !s.members.contains(&s.coordinator) {
            return Err(Error::CoordinatorNotMember);
        }
        if s.min_sites == 0 {
            return Err(Error::ZeroMinSites);
        }
        if s.min_sites as usize > s.members.len() {
            return Err(Error::MinSitesAboveMembers {
                min_sites: s.min_sites,
                members: s.members.len() as u32,
            });
        }
        if s.max_rounds == 0 {
            return Err(Error::NoRounds);
        }
        if s.max_rounds > MAX_ROUNDS {
            return Err(Error::TooManyRounds {
                given: s.max_rounds,
                max: MAX_ROUNDS,
            });
        }
        if s.round_deadline_ms == 0 {
            return Err(Error::ZeroDeadline);
        }
        if s.epsilon_budget == 0 {
            return Err(Error::ZeroEpsilonBudget);
        }
        if s.delta == 0 || s.delta >= DELTA_SCALE {
            return Err(Error::DeltaOutOfRange);
        }
        if s.model.name.is_empty() {
            return Err(Error::EmptyModelName);
        }
        if s.model.name.len() > MAX_MODEL_NAME {
            return Err(Error::ModelNameTooLong {
                len: s.model.name.len() as u32,
                max: MAX_MODEL_NAME as u32,
            });
        }
        Ok(())
    }

    fn check_accountant(a: &Accountant) -> Result<(), Error> {
        if a.sampling_rate == 0 || a.sampling_rate > RATE_SCALE {
            return Err(Error::SamplingRateOutOfRange);
        }
        if a.noise_multiplier == 0 {
            return Err(Error::ZeroNoiseMultiplier);
        }
        if a.clipping_norm == 0 {
            return Err(Error::ZeroClippingNorm);
        }
        if a.steps == 0 {
            return Err(Error::ZeroSteps);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
