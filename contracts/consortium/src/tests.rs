//! Every message's success path and every error, against a mocked chain extension.

use crate::consortium::*;
use crate::{RoundIndex, MAX_MEMBERS, MAX_MODEL_NAME, MAX_ROUNDS};
use consentry_ink_env::mock::MockChain;
use consentry_ink_env::{ConsentryEnv, InstitutionId, Role, RoleSet};
use ink::env::test;
use ink::primitives::AccountId;
use ink::scale::Decode;

const H1: InstitutionId = 0;
/// The coordinator: a research institute that holds no data.
const COORD: InstitutionId = 1;
const H2: InstitutionId = 2;
const H3: InstitutionId = 3;
/// A data custodian outside the study.
const OUTSIDER: InstitutionId = 4;

const K_H1: u8 = 1;
const K_COORD: u8 = 2;
const K_H2: u8 = 3;
const K_H3: u8 = 4;
const K_OUTSIDER: u8 = 5;
const K_STRANGER: u8 = 9;

const DAY: u64 = 86_400_000;

fn key(b: u8) -> AccountId {
    AccountId::from([b; 32])
}

fn chain() -> MockChain {
    let chain = MockChain::install();
    let custodian = RoleSet::of(&[Role::DataCustodian]);
    chain.set_key(key(K_H1), H1, custodian, true);
    chain.set_key(key(K_COORD), COORD, RoleSet::of(&[Role::Researcher]), true);
    chain.set_key(key(K_H2), H2, custodian, true);
    chain.set_key(key(K_H3), H3, custodian, true);
    chain.set_key(key(K_OUTSIDER), OUTSIDER, custodian, true);
    at(1_000);
    chain
}

fn as_(k: u8) {
    test::set_caller::<ConsentryEnv>(key(k));
}

fn at(now: u64) {
    test::set_block_timestamp::<ConsentryEnv>(now);
}

fn study() -> Study {
    Study {
        coordinator: COORD,
        members: vec![H1, COORD, H2, H3],
        model: Model {
            name: "hybrid drug response v1".into(),
            architecture: [0xa1; 32],
        },
        min_sites: 2,
        max_rounds: 2,
        round_deadline_ms: DAY,
        epsilon_budget: 500_000,   // ε = 0.5
        delta: 10_000_000_000_000, // δ = 1e-5
    }
}

fn acct() -> Accountant {
    Accountant {
        sampling_rate: 10_000_000,   // q = 0.01
        noise_multiplier: 1_100_000, // σ = 1.1
        clipping_norm: 1_000_000,    // C = 1.0
        steps: 100,
    }
}

type Snapshot = (
    Study,
    Vec<InstitutionId>,
    (u64, u64),
    u32,
    Option<RoundIndex>,
    Vec<Option<Round>>,
    Vec<(Option<Cohort>, Option<[u8; 32]>)>,
);

fn snapshot(c: &Consortium) -> Snapshot {
    let n = c.rounds_opened();
    (
        c.study(),
        c.joined(),
        c.epsilon(),
        n,
        c.current_round(),
        (0..=n).map(|r| c.round(r)).collect(),
        (0..=n)
            .flat_map(|r| (0..=OUTSIDER).map(move |s| (r, s)))
            .map(|(r, s)| (c.cohort(r, s), c.advertised_key(r, s)))
            .collect(),
    )
}

fn events() -> Vec<test::EmittedEvent> {
    test::recorded_events().collect()
}

fn decode<E: Decode>(e: &test::EmittedEvent) -> E {
    E::decode(&mut &e.data[..]).expect("event data")
}

/// `f` is refused with `err`, and neither state nor events change.
fn refused<T: core::fmt::Debug>(
    c: &mut Consortium,
    err: Error,
    f: impl FnOnce(&mut Consortium) -> Result<T, Error>,
) {
    let before = snapshot(c);
    let emitted = events().len();
    assert_eq!(f(c).unwrap_err(), err);
    assert_eq!(snapshot(c), before, "state changed on {err:?}");
    assert_eq!(events().len(), emitted, "an event on {err:?}");
}

/// A study the three hospitals joined.
fn joined() -> Consortium {
    let mut c = Consortium::new(study()).unwrap();
    for k in [K_H1, K_H2, K_H3] {
        as_(k);
        c.join().unwrap();
    }
    c
}

/// The sites with these keys advertise their round keys (digest: the key byte, repeated).
fn advertise(c: &mut Consortium, round: RoundIndex, keys: &[u8]) {
    for k in keys {
        as_(*k);
        c.advertise_key(round, [*k; 32]).unwrap();
    }
    as_(K_COORD);
}

/// `joined()` with round 0 open at time 1 000 (ε after = 0.2).
fn with_round() -> Consortium {
    let mut c = joined();
    as_(K_COORD);
    assert_eq!(c.open_round([0x10; 32], acct(), 200_000), Ok(0));
    c
}

#[ink::test]
fn new_checks_the_study() {
    let _c = chain();
    let cases: Vec<(Study, Error)> = vec![
        (
            Study {
                members: vec![],
                ..study()
            },
            Error::NoMembers,
        ),
        (
            Study {
                members: (0..MAX_MEMBERS as u32 + 1).collect(),
                ..study()
            },
            Error::TooManyMembers {
                given: MAX_MEMBERS as u32 + 1,
                max: MAX_MEMBERS as u32,
            },
        ),
        (
            Study {
                members: vec![H1, COORD, H1],
                ..study()
            },
            Error::DuplicateMember { institution: H1 },
        ),
        (
            Study {
                coordinator: OUTSIDER,
                ..study()
            },
            Error::CoordinatorNotMember,
        ),
        (
            Study {
                min_sites: 0,
                ..study()
            },
            Error::ZeroMinSites,
        ),
        (
            Study {
                min_sites: 5,
                ..study()
            },
            Error::MinSitesAboveMembers {
                min_sites: 5,
                members: 4,
            },
        ),
        (
            Study {
                max_rounds: 0,
                ..study()
            },
            Error::NoRounds,
        ),
        (
            Study {
                max_rounds: MAX_ROUNDS + 1,
                ..study()
            },
            Error::TooManyRounds {
                given: MAX_ROUNDS + 1,
                max: MAX_ROUNDS,
            },
        ),
        (
            Study {
                round_deadline_ms: 0,
                ..study()
            },
            Error::ZeroDeadline,
        ),
        (
            Study {
                epsilon_budget: 0,
                ..study()
            },
            Error::ZeroEpsilonBudget,
        ),
        (
            Study {
                delta: 0,
                ..study()
            },
            Error::DeltaOutOfRange,
        ),
        (
            Study {
                delta: crate::DELTA_SCALE,
                ..study()
            },
            Error::DeltaOutOfRange,
        ),
        (
            Study {
                model: Model {
                    name: String::new(),
                    architecture: [0; 32],
                },
                ..study()
            },
            Error::EmptyModelName,
        ),
        (
            Study {
                model: Model {
                    name: "m".repeat(MAX_MODEL_NAME + 1),
                    architecture: [0; 32],
                },
                ..study()
            },
            Error::ModelNameTooLong {
                len: MAX_MODEL_NAME as u32 + 1,
                max: MAX_MODEL_NAME as u32,
            },
        ),
    ];
    for (s, err) in cases {
        assert_eq!(Consortium::new(s).err(), Some(err));
    }
    let c = Consortium::new(study()).unwrap();
    assert_eq!(c.study(), study());
    assert!(c.joined().is_empty());
    assert_eq!(c.epsilon(), (0, 500_000));
    assert_eq!(c.rounds_opened(), 0);
    assert_eq!(c.current_round(), None);
    assert_eq!(c.round(0), None);
}

#[ink::test]
fn data_holding_members_join_as_sites() {
    let _c = chain();
    let mut c = Consortium::new(study()).unwrap();
    as_(K_H2);
    c.join().unwrap();
    as_(K_H1);
    c.join().unwrap();
    assert_eq!(c.joined(), vec![H2, H1]);
    let ev = events();
    assert_eq!(ev.len(), 2);
    assert_eq!(decode::<Joined>(&ev[0]).site, H2);
    assert_eq!(decode::<Joined>(&ev[1]).site, H1);
}

#[ink::test]
fn join_refusals() {
    let chain = chain();
    let mut c = joined();
    as_(K_H1);
    refused(&mut c, Error::AlreadyJoined { institution: H1 }, |c| {
        c.join()
    });
    as_(K_OUTSIDER);
    refused(
        &mut c,
        Error::NotMember {
            institution: OUTSIDER,
        },
        |c| c.join(),
    );
    as_(K_COORD);
    refused(
        &mut c,
        Error::NotDataCustodian { institution: COORD },
        |c| c.join(),
    );
    as_(K_STRANGER);
    refused(&mut c, Error::CallerNotRegistered, |c| c.join());
    let mut fresh = Consortium::new(study()).unwrap();
    chain.set_active(H1, false);
    as_(K_H1);
    refused(
        &mut fresh,
        Error::InstitutionSuspended { institution: H1 },
        |c| c.join(),
    );
}

#[ink::test]
fn two_rounds_run_to_completion() {
    let _c = chain();
    let mut c = joined();
    let base = events().len();

    // Round 0.
    as_(K_COORD);
    assert_eq!(c.open_round([0x10; 32], acct(), 200_000), Ok(0));
    assert_eq!(c.current_round(), Some(0));
    assert_eq!(c.epsilon(), (200_000, 500_000));
    let r = c.round(0).unwrap();
    assert_eq!(
        (r.opened_at, r.deadline, r.global_model, r.accountant),
        (1_000, 1_000 + DAY, [0x10; 32], acct())
    );
    assert_eq!((r.epsilon_before, r.epsilon_after), (0, 200_000));
    assert_eq!(r.status, RoundStatus::Open);
    let o: RoundOpened = decode(&events()[base]);
    assert_eq!(
        (o.round, o.global_model, o.deadline, o.epsilon_after),
        (0, [0x10; 32], 1_000 + DAY, 200_000)
    );

    at(2_000);
    for (k, n) in [(K_H1, 40u32), (K_H2, 25), (K_H3, 7)] {
        as_(k);
        c.submit_cohort(0, n, [n as u8; 32]).unwrap();
    }
    assert_eq!(
        c.cohort(0, H2),
        Some(Cohort {
            records: 25,
            records_digest: [25; 32],
            submitted_at: 2_000
        })
    );
    let s: CohortSubmitted = decode(events().last().unwrap());
    assert_eq!((s.round, s.site, s.records), (0, H3, 7));

    advertise(&mut c, 0, &[K_H1, K_H2, K_H3]);
    assert_eq!(c.advertised_key(0, H2), Some([K_H2; 32]));
    let a: KeyAdvertised = decode(events().last().unwrap());
    assert_eq!((a.round, a.site, a.key_digest), (0, H3, [K_H3; 32]));
    c.commit_keys(0, vec![H1, H2, H3], [0xee; 32]).unwrap();
    let k: KeysCommitted = decode(events().last().unwrap());
    assert_eq!(
        (k.round, k.sites, k.digest),
        (0, vec![H1, H2, H3], [0xee; 32])
    );
    // H3 dropped out after advertising its keys.
    c.commit_inputs(0, vec![H2, H1], [0xdd; 32]).unwrap();
    let i: InputsCommitted = decode(events().last().unwrap());
    assert_eq!((i.round, i.sites, i.digest), (0, vec![H2, H1], [0xdd; 32]));
    at(3_000);
    c.close_round(0, [0x11; 32]).unwrap();
    let closed: RoundClosed = decode(events().last().unwrap());
    // FedAvg's n counts only the sites whose inputs were aggregated.
    assert_eq!(
        (closed.round, closed.aggregate, closed.records),
        (0, [0x11; 32], 65)
    );
    let r = c.round(0).unwrap();
    assert_eq!(r.status, RoundStatus::Aggregated { at: 3_000 });
    assert_eq!(r.aggregate, Some([0x11; 32]));
    assert_eq!(r.cohort_sites, vec![H1, H2, H3]);
    assert_eq!(
        r.key_sites,
        Some(SiteSet {
            sites: vec![H1, H2, H3],
            digest: [0xee; 32]
        })
    );
    assert_eq!(
        r.input_sites,
        Some(SiteSet {
            sites: vec![H2, H1],
            digest: [0xdd; 32]
        })
    );
    assert_eq!(c.current_round(), None);

    // Round 1 starts from round 0's aggregate; the budget is used up exactly.
    assert_eq!(c.open_round([0x11; 32], acct(), 500_000), Ok(1));
    assert_eq!(c.round(1).unwrap().epsilon_before, 200_000);
    assert_eq!(c.epsilon(), (500_000, 500_000));
    as_(K_H1);
    c.submit_cohort(1, 39, [1; 32]).unwrap();
    as_(K_H3);
    c.submit_cohort(1, 8, [3; 32]).unwrap();
    advertise(&mut c, 1, &[K_H1, K_H3]);
    c.commit_keys(1, vec![H1, H3], [2; 32]).unwrap();
    c.commit_inputs(1, vec![H1, H3], [3; 32]).unwrap();
    c.close_round(1, [0x12; 32]).unwrap();
    assert_eq!(c.rounds_opened(), 2);
    assert_eq!(events().len(), base + 18);
}

#[ink::test]
fn open_round_refusals() {
    let chain = chain();
    let mut c = Consortium::new(study()).unwrap();
    as_(K_H1);
    c.join().unwrap();
    as_(K_COORD);
    refused(
        &mut c,
        Error::TooFewSites {
            sites: 1,
            min_sites: 2,
        },
        |c| c.open_round([0; 32], acct(), 1),
    );
    as_(K_H2);
    c.join().unwrap();
    as_(K_H1);
    refused(&mut c, Error::NotCoordinator { institution: H1 }, |c| {
        c.open_round([0; 32], acct(), 1)
    });
    as_(K_STRANGER);
    refused(&mut c, Error::CallerNotRegistered, |c| {
        c.open_round([0; 32], acct(), 1)
    });
    as_(K_COORD);
    let bad = [
        (
            Accountant {
                sampling_rate: 0,
                ..acct()
            },
            Error::SamplingRateOutOfRange,
        ),
        (
            Accountant {
                sampling_rate: crate::RATE_SCALE + 1,
                ..acct()
            },
            Error::SamplingRateOutOfRange,
        ),
        (
            Accountant {
                noise_multiplier: 0,
                ..acct()
            },
            Error::ZeroNoiseMultiplier,
        ),
        (
            Accountant {
                clipping_norm: 0,
                ..acct()
            },
            Error::ZeroClippingNorm,
        ),
        (Accountant { steps: 0, ..acct() }, Error::ZeroSteps),
    ];
    for (a, err) in bad {
        refused(&mut c, err, |c| c.open_round([0; 32], a, 1));
    }
    refused(
        &mut c,
        Error::EpsilonNotIncreasing {
            epsilon_after: 0,
            spent: 0,
        },
        |c| c.open_round([0; 32], acct(), 0),
    );
    refused(
        &mut c,
        Error::BudgetExceeded {
            epsilon_after: 500_001,
            budget: 500_000,
        },
        |c| c.open_round([0; 32], acct(), 500_001),
    );
    // q = 1 is allowed.
    let full = Accountant {
        sampling_rate: crate::RATE_SCALE,
        ..acct()
    };
    assert_eq!(c.open_round([0; 32], full, 300_000), Ok(0));
    refused(&mut c, Error::RoundStillOpen { round: 0 }, |c| {
        c.open_round([0; 32], acct(), 400_000)
    });
    c.fail_round(0).unwrap();
    // The failed round's ε stays spent.
    refused(
        &mut c,
        Error::EpsilonNotIncreasing {
            epsilon_after: 300_000,
            spent: 300_000,
        },
        |c| c.open_round([0; 32], acct(), 300_000),
    );
    assert_eq!(c.open_round([0; 32], acct(), 400_000), Ok(1));
    c.fail_round(1).unwrap();
    refused(&mut c, Error::AllRoundsUsed { max_rounds: 2 }, |c| {
        c.open_round([0; 32], acct(), 450_000)
    });
    chain.set_active(COORD, false);
    refused(
        &mut c,
        Error::InstitutionSuspended { institution: COORD },
        |c| c.open_round([0; 32], acct(), 450_000),
    );
}

#[ink::test]
fn submit_cohort_refusals() {
    let chain = chain();
    let mut c = with_round();
    as_(K_OUTSIDER);
    refused(
        &mut c,
        Error::NotJoined {
            institution: OUTSIDER,
        },
        |c| c.submit_cohort(0, 1, [0; 32]),
    );
    as_(K_COORD);
    refused(&mut c, Error::NotJoined { institution: COORD }, |c| {
        c.submit_cohort(0, 1, [0; 32])
    });
    as_(K_H1);
    refused(&mut c, Error::UnknownRound { round: 1 }, |c| {
        c.submit_cohort(1, 1, [0; 32])
    });
    refused(&mut c, Error::EmptyCohort, |c| {
        c.submit_cohort(0, 0, [0; 32])
    });
    c.submit_cohort(0, 5, [0; 32]).unwrap();
    refused(&mut c, Error::CohortAlreadySubmitted { site: H1 }, |c| {
        c.submit_cohort(0, 5, [0; 32])
    });
    as_(K_H2);
    at(1_000 + DAY);
    refused(
        &mut c,
        Error::DeadlinePassed {
            deadline: 1_000 + DAY,
        },
        |c| c.submit_cohort(0, 5, [0; 32]),
    );
    c.fail_round(0).unwrap();
    refused(&mut c, Error::RoundNotOpen { round: 0 }, |c| {
        c.submit_cohort(0, 5, [0; 32])
    });
    chain.set_active(H2, false);
    refused(
        &mut c,
        Error::InstitutionSuspended { institution: H2 },
        |c| c.submit_cohort(0, 5, [0; 32]),
    );
}

#[ink::test]
fn commit_keys_refusals() {
    let _c = chain();
    let mut c = with_round();
    advertise(&mut c, 0, &[K_H1, K_H2]);
    refused(&mut c, Error::SiteDidNotAdvertise { site: H3 }, |c| {
        c.commit_keys(0, vec![H1, H3, H2], [0; 32])
    });
    as_(K_H1);
    refused(&mut c, Error::NotCoordinator { institution: H1 }, |c| {
        c.commit_keys(0, vec![H1, H2], [0; 32])
    });
    as_(K_COORD);
    refused(&mut c, Error::UnknownRound { round: 3 }, |c| {
        c.commit_keys(3, vec![H1, H2], [0; 32])
    });
    refused(&mut c, Error::SiteNotJoined { site: OUTSIDER }, |c| {
        c.commit_keys(0, vec![H1, OUTSIDER], [0; 32])
    });
    refused(&mut c, Error::SiteNotJoined { site: COORD }, |c| {
        c.commit_keys(0, vec![H1, COORD], [0; 32])
    });
    refused(&mut c, Error::DuplicateSite { site: H2 }, |c| {
        c.commit_keys(0, vec![H2, H1, H2], [0; 32])
    });
    refused(
        &mut c,
        Error::TooFewSites {
            sites: 1,
            min_sites: 2,
        },
        |c| c.commit_keys(0, vec![H1], [0; 32]),
    );
    c.commit_keys(0, vec![H1, H2], [0; 32]).unwrap();
    refused(&mut c, Error::KeysAlreadyCommitted, |c| {
        c.commit_keys(0, vec![H1, H2, H3], [0; 32])
    });
    let mut d = with_round();
    as_(K_COORD);
    at(1_000 + DAY);
    refused(
        &mut d,
        Error::DeadlinePassed {
            deadline: 1_000 + DAY,
        },
        |c| c.commit_keys(0, vec![H1, H2], [0; 32]),
    );
    d.fail_round(0).unwrap();
    refused(&mut d, Error::RoundNotOpen { round: 0 }, |c| {
        c.commit_keys(0, vec![H1, H2], [0; 32])
    });
}

#[ink::test]
fn commit_inputs_refusals() {
    let _c = chain();
    let mut c = with_round();
    as_(K_COORD);
    refused(&mut c, Error::KeysNotCommitted, |c| {
        c.commit_inputs(0, vec![H1, H2], [0; 32])
    });
    advertise(&mut c, 0, &[K_H1, K_H2]);
    c.commit_keys(0, vec![H1, H2], [0; 32]).unwrap();
    as_(K_H2);
    refused(&mut c, Error::NotCoordinator { institution: H2 }, |c| {
        c.commit_inputs(0, vec![H1, H2], [0; 32])
    });
    as_(K_COORD);
    refused(&mut c, Error::SiteNotInKeySet { site: H3 }, |c| {
        c.commit_inputs(0, vec![H1, H3], [0; 32])
    });
    refused(&mut c, Error::DuplicateSite { site: H1 }, |c| {
        c.commit_inputs(0, vec![H1, H1], [0; 32])
    });
    refused(
        &mut c,
        Error::TooFewSites {
            sites: 1,
            min_sites: 2,
        },
        |c| c.commit_inputs(0, vec![H2], [0; 32]),
    );
    c.commit_inputs(0, vec![H1, H2], [0; 32]).unwrap();
    refused(&mut c, Error::InputsAlreadyCommitted, |c| {
        c.commit_inputs(0, vec![H1, H2], [1; 32])
    });
}

#[ink::test]
fn close_round_refusals() {
    let _c = chain();
    let mut c = with_round();
    as_(K_COORD);
    refused(&mut c, Error::InputsNotCommitted, |c| {
        c.close_round(0, [9; 32])
    });
    advertise(&mut c, 0, &[K_H1, K_H2, K_H3]);
    c.commit_keys(0, vec![H1, H2, H3], [0; 32]).unwrap();
    c.commit_inputs(0, vec![H1, H2], [0; 32]).unwrap();
    as_(K_H1);
    c.submit_cohort(0, 3, [0; 32]).unwrap();
    refused(&mut c, Error::NotCoordinator { institution: H1 }, |c| {
        c.close_round(0, [9; 32])
    });
    as_(K_COORD);
    refused(&mut c, Error::MissingCohort { site: H2 }, |c| {
        c.close_round(0, [9; 32])
    });
    refused(&mut c, Error::UnknownRound { round: 1 }, |c| {
        c.close_round(1, [9; 32])
    });
    as_(K_H2);
    c.submit_cohort(0, 4, [0; 32]).unwrap();
    as_(K_COORD);
    at(1_000 + DAY);
    refused(
        &mut c,
        Error::DeadlinePassed {
            deadline: 1_000 + DAY,
        },
        |c| c.close_round(0, [9; 32]),
    );
    at(1_000 + DAY - 1);
    c.close_round(0, [9; 32]).unwrap();
    refused(&mut c, Error::RoundNotOpen { round: 0 }, |c| {
        c.close_round(0, [9; 32])
    });
}

#[ink::test]
fn the_coordinator_fails_a_round_and_a_site_expires_one_past_its_deadline() {
    let _c = chain();
    let mut c = with_round();
    at(5_000);
    as_(K_COORD);
    c.fail_round(0).unwrap();
    assert_eq!(
        c.round(0).unwrap().status,
        RoundStatus::Failed { at: 5_000 }
    );
    let f: RoundFailed = decode(events().last().unwrap());
    assert_eq!((f.round, f.status), (0, RoundStatus::Failed { at: 5_000 }));
    assert_eq!(c.current_round(), None);

    assert_eq!(c.open_round([0x20; 32], acct(), 300_000), Ok(1));
    let deadline = 5_000 + DAY;
    as_(K_H3);
    refused(&mut c, Error::DeadlineNotPassed { deadline }, |c| {
        c.fail_round(1)
    });
    at(deadline);
    c.fail_round(1).unwrap();
    let expired = RoundStatus::Expired {
        at: deadline,
        by: H3,
    };
    assert_eq!(c.round(1).unwrap().status, expired);
    let f: RoundFailed = decode(events().last().unwrap());
    assert_eq!((f.round, f.status), (1, expired));
    assert_eq!(c.epsilon(), (300_000, 500_000));
}

#[ink::test]
fn fail_round_refusals() {
    let chain = chain();
    let mut c = with_round();
    at(1_000 + DAY);
    as_(K_OUTSIDER);
    refused(
        &mut c,
        Error::NotJoined {
            institution: OUTSIDER,
        },
        |c| c.fail_round(0),
    );
    as_(K_STRANGER);
    refused(&mut c, Error::CallerNotRegistered, |c| c.fail_round(0));
    as_(K_H1);
    refused(&mut c, Error::UnknownRound { round: 1 }, |c| {
        c.fail_round(1)
    });
    c.fail_round(0).unwrap();
    refused(&mut c, Error::RoundNotOpen { round: 0 }, |c| {
        c.fail_round(0)
    });
    chain.set_active(H1, false);
    refused(
        &mut c,
        Error::InstitutionSuspended { institution: H1 },
        |c| c.fail_round(0),
    );
}

#[ink::test]
fn advertise_key_refusals() {
    let chain = chain();
    let mut c = with_round();
    as_(K_OUTSIDER);
    refused(
        &mut c,
        Error::NotJoined {
            institution: OUTSIDER,
        },
        |c| c.advertise_key(0, [1; 32]),
    );
    as_(K_COORD);
    refused(&mut c, Error::NotJoined { institution: COORD }, |c| {
        c.advertise_key(0, [1; 32])
    });
    as_(K_STRANGER);
    refused(&mut c, Error::CallerNotRegistered, |c| {
        c.advertise_key(0, [1; 32])
    });
    as_(K_H1);
    refused(&mut c, Error::UnknownRound { round: 1 }, |c| {
        c.advertise_key(1, [1; 32])
    });
    c.advertise_key(0, [1; 32]).unwrap();
    refused(&mut c, Error::AlreadyAdvertised { site: H1 }, |c| {
        c.advertise_key(0, [2; 32])
    });
    as_(K_H2);
    c.advertise_key(0, [2; 32]).unwrap();
    as_(K_COORD);
    c.commit_keys(0, vec![H1, H2], [0; 32]).unwrap();
    // Once the key set is committed, a late site cannot add its keys.
    as_(K_H3);
    refused(&mut c, Error::KeysAlreadyCommitted, |c| {
        c.advertise_key(0, [3; 32])
    });
    let mut d = with_round();
    as_(K_H3);
    at(1_000 + DAY);
    refused(
        &mut d,
        Error::DeadlinePassed {
            deadline: 1_000 + DAY,
        },
        |c| c.advertise_key(0, [3; 32]),
    );
    d.fail_round(0).unwrap();
    refused(&mut d, Error::RoundNotOpen { round: 0 }, |c| {
        c.advertise_key(0, [3; 32])
    });
    chain.set_active(H3, false);
    refused(
        &mut d,
        Error::InstitutionSuspended { institution: H3 },
        |c| c.advertise_key(0, [3; 32]),
    );
}
