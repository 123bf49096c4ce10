//! Every message's success path and every error, against a mocked chain extension.

use crate::dua::*;
use crate::{DuaId, MAX_LIVE_PER_INSTITUTION, MAX_RECIPIENTS};
use consentry_ink_env::mock::MockChain;
use consentry_ink_env::{
    CategorySet, ConsentryEnv, DataCategory, InstitutionId, Purpose, PurposeSet, Role, RoleSet,
};
use ink::env::test;
use ink::primitives::AccountId;
use ink::scale::Decode;

const HOSPITAL: InstitutionId = 0;
const RESEARCH: InstitutionId = 1;
const LAB: InstitutionId = 2;
const OTHER: InstitutionId = 3;
const CLINIC: InstitutionId = 4;
/// A custodian institution whose keys lack the data-custodian role.
const NOT_CUSTODIAN: InstitutionId = 5;

// Service keys, by the byte they are made of.
const K_HOSPITAL: u8 = 1;
const K_RESEARCH: u8 = 2;
const K_LAB: u8 = 3;
const K_OTHER: u8 = 4;
const K_CLINIC: u8 = 5;
const K_NOT_CUSTODIAN: u8 = 6;
const K_HOSPITAL_2: u8 = 7;
const K_STRANGER: u8 = 9;

fn key(b: u8) -> AccountId {
    AccountId::from([b; 32])
}

fn chain() -> MockChain {
    let chain = MockChain::install();
    let custodian = RoleSet::of(&[Role::DataCustodian]);
    let researcher = RoleSet::of(&[Role::Researcher]);
    chain.set_key(key(K_HOSPITAL), HOSPITAL, custodian, true);
    chain.set_key(key(K_HOSPITAL_2), HOSPITAL, custodian, true);
    chain.set_key(key(K_RESEARCH), RESEARCH, researcher, true);
    chain.set_key(key(K_LAB), LAB, researcher, true);
    chain.set_key(key(K_OTHER), OTHER, researcher, true);
    chain.set_key(key(K_CLINIC), CLINIC, custodian, true);
    chain.set_key(key(K_NOT_CUSTODIAN), NOT_CUSTODIAN, researcher, true);
    at(1_000);
    chain
}

fn as_(k: u8) {
    test::set_caller::<ConsentryEnv>(key(k));
}

fn at(now: u64) {
    test::set_block_timestamp::<ConsentryEnv>(now);
}

fn terms() -> Terms {
    Terms {
        custodian: HOSPITAL,
        recipients: vec![RESEARCH],
        purposes: PurposeSet::of(&[Purpose::Research, Purpose::FederatedTraining]),
        categories: CategorySet::of(&[DataCategory::Demographics, DataCategory::Labs]),
        valid_from: 2_000,
        valid_until: 10_000,
        record_cap: None,
        text_digest: [7; 32],
    }
}

fn labs() -> CategorySet {
    CategorySet::of(&[DataCategory::Labs])
}

/// Everything a client can read: what must not change when a message is refused.
type Snapshot = (DuaId, Vec<Option<Agreement>>, Vec<Vec<DuaId>>);

fn snapshot(reg: &Registry) -> Snapshot {
    let next = reg.next_id();
    (
        next,
        (0..=next).map(|id| reg.get(id)).collect(),
        (0..=6).map(|i| reg.live_of(i)).collect(),
    )
}

fn events() -> Vec<test::EmittedEvent> {
    test::recorded_events().collect()
}

/// `f` is refused with `err`, and neither state nor events change.
fn refused<T: core::fmt::Debug>(
    reg: &mut Registry,
    err: Error,
    f: impl FnOnce(&mut Registry) -> Result<T, Error>,
) {
    let before = snapshot(reg);
    let emitted = events().len();
    assert_eq!(f(reg).unwrap_err(), err);
    assert_eq!(snapshot(reg), before, "state changed on {err:?}");
    assert_eq!(events().len(), emitted, "an event on {err:?}");
}

fn decode<E: Decode>(e: &test::EmittedEvent) -> E {
    E::decode(&mut &e.data[..]).expect("event data")
}

/// Proposes `terms()` as the hospital and has the research site sign: agreement 0 in force.
fn in_force_agreement(reg: &mut Registry) -> DuaId {
    as_(K_HOSPITAL);
    let id = reg.propose(terms()).unwrap();
    as_(K_RESEARCH);
    reg.sign(id).unwrap();
    id
}

#[ink::test]
fn propose_signs_for_the_proposer_and_waits_for_the_others() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    assert_eq!(reg.propose(terms()), Ok(0));
    let a = reg.get(0).unwrap();
    assert_eq!(a.terms, terms());
    assert_eq!(a.proposer, HOSPITAL);
    assert_eq!(a.proposed_at, 1_000);
    assert_eq!(a.signatories, vec![HOSPITAL]);
    assert_eq!(a.status, Status::Proposed);
    assert_eq!(reg.live_of(HOSPITAL), vec![0]);
    assert_eq!(reg.live_of(RESEARCH), vec![0]);
    assert_eq!(reg.next_id(), 1);
    // Not in force until the recipient signs.
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 5_000),
        None
    );

    let ev = events();
    assert_eq!(ev.len(), 2);
    let p: Proposed = decode(&ev[0]);
    assert_eq!(
        (p.id, p.proposer, p.custodian, p.recipients),
        (0, HOSPITAL, HOSPITAL, vec![RESEARCH])
    );
    let s: Signed = decode(&ev[1]);
    assert_eq!((s.id, s.institution, s.key), (0, HOSPITAL, key(K_HOSPITAL)));
}

#[ink::test]
fn the_last_signature_puts_it_in_force_within_its_terms() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    let a = reg.get(id).unwrap();
    assert_eq!(a.signatories, vec![HOSPITAL, RESEARCH]);
    assert_eq!(a.status, Status::InForce { since: 1_000 });
    let ev = events();
    assert_eq!(ev.len(), 4);
    let s: Signed = decode(&ev[2]);
    assert_eq!(
        (s.id, s.institution, s.key),
        (id, RESEARCH, key(K_RESEARCH))
    );
    let f: InForce = decode(&ev[3]);
    assert_eq!((f.id, f.since), (id, 1_000));

    let q = |c, r, p, cats, now| reg.in_force(c, r, p, cats, now);
    let both = CategorySet::of(&[DataCategory::Demographics, DataCategory::Labs]);
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::Research, labs(), 2_000),
        Some(id)
    );
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::FederatedTraining, both, 9_999),
        Some(id)
    );
    // Outside the period, for another purpose, category, recipient or custodian: no.
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::Research, labs(), 1_999),
        None
    );
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::Research, labs(), 10_000),
        None
    );
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::Treatment, labs(), 5_000),
        None
    );
    let genomic = CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic]);
    assert_eq!(
        q(HOSPITAL, RESEARCH, Purpose::Research, genomic, 5_000),
        None
    );
    assert_eq!(q(HOSPITAL, LAB, Purpose::Research, labs(), 5_000), None);
    assert_eq!(
        q(RESEARCH, HOSPITAL, Purpose::Research, labs(), 5_000),
        None
    );
    assert_eq!(q(CLINIC, RESEARCH, Purpose::Research, labs(), 5_000), None);
}

#[ink::test]
fn a_recipient_may_propose_and_the_custodian_sign_with_any_of_its_keys() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_RESEARCH);
    let id = reg.propose(terms()).unwrap();
    assert_eq!(reg.get(id).unwrap().proposer, RESEARCH);
    as_(K_HOSPITAL_2);
    reg.sign(id).unwrap();
    assert_eq!(reg.get(id).unwrap().signatories, vec![RESEARCH, HOSPITAL]);
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(id)
    );
}

#[ink::test]
fn every_recipient_must_sign_and_each_is_covered() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    let id = reg
        .propose(Terms {
            recipients: vec![RESEARCH, LAB],
            ..terms()
        })
        .unwrap();
    as_(K_LAB);
    reg.sign(id).unwrap();
    assert_eq!(reg.get(id).unwrap().status, Status::Proposed);
    assert_eq!(
        reg.in_force(HOSPITAL, LAB, Purpose::Research, labs(), 3_000),
        None
    );
    as_(K_RESEARCH);
    reg.sign(id).unwrap();
    assert_eq!(
        reg.get(id).unwrap().status,
        Status::InForce { since: 1_000 }
    );
    for r in [RESEARCH, LAB] {
        assert_eq!(
            reg.in_force(HOSPITAL, r, Purpose::Research, labs(), 3_000),
            Some(id)
        );
    }
    assert_eq!(reg.live_of(LAB), vec![id]);
}

#[ink::test]
fn in_force_names_the_lowest_matching_agreement() {
    let _c = chain();
    let mut reg = Registry::new();
    let narrow = Terms {
        purposes: PurposeSet::of(&[Purpose::Treatment]),
        ..terms()
    };
    as_(K_HOSPITAL);
    reg.propose(narrow).unwrap();
    reg.propose(terms()).unwrap();
    reg.propose(terms()).unwrap();
    as_(K_RESEARCH);
    for id in 0..3 {
        reg.sign(id).unwrap();
    }
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(1)
    );
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Treatment, labs(), 3_000),
        Some(0)
    );
    as_(K_HOSPITAL);
    reg.terminate(1).unwrap();
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(2)
    );
}

#[ink::test]
fn either_party_terminates_and_the_agreement_leaves_the_live_index() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    at(3_000);
    as_(K_RESEARCH);
    reg.terminate(id).unwrap();
    let a = reg.get(id).unwrap();
    assert_eq!(
        a.status,
        Status::Terminated {
            by: RESEARCH,
            at: 3_000
        }
    );
    assert!(reg.live_of(HOSPITAL).is_empty());
    assert!(reg.live_of(RESEARCH).is_empty());
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        None
    );
    let t: Terminated = decode(events().last().unwrap());
    assert_eq!((t.id, t.by, t.at), (id, RESEARCH, 3_000));

    // A proposal can be withdrawn the same way, by the custodian.
    as_(K_HOSPITAL);
    let id2 = reg.propose(terms()).unwrap();
    reg.terminate(id2).unwrap();
    assert!(matches!(
        reg.get(id2).unwrap().status,
        Status::Terminated { by: HOSPITAL, .. }
    ));
    assert!(reg.live_of(HOSPITAL).is_empty());
}

#[ink::test]
fn expire_marks_an_agreement_whose_period_is_over() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    at(10_000);
    // Any active institution's key may mark it, not only the parties'.
    as_(K_OTHER);
    reg.expire(id).unwrap();
    assert_eq!(reg.get(id).unwrap().status, Status::Expired { at: 10_000 });
    assert!(reg.live_of(HOSPITAL).is_empty());
    assert!(reg.live_of(RESEARCH).is_empty());
    let e: Expired = decode(events().last().unwrap());
    assert_eq!((e.id, e.at), (id, 10_000));
}

#[ink::test]
fn the_custodian_counts_records_up_to_the_cap() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    let id = reg
        .propose(Terms {
            record_cap: Some(10),
            ..terms()
        })
        .unwrap();
    as_(K_RESEARCH);
    reg.sign(id).unwrap();
    at(3_000);
    as_(K_HOSPITAL_2);
    assert_eq!(reg.count_records(id, 4), Ok(4));
    let c: RecordsCounted = decode(events().last().unwrap());
    assert_eq!((c.id, c.records, c.total), (id, 4, 4));
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(id)
    );
    assert_eq!(reg.count_records(id, 6), Ok(10));
    assert_eq!(reg.get(id).unwrap().records_used, 10);
    // At the cap, it no longer allows anything.
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        None
    );
    refused(
        &mut reg,
        Error::RecordCapExceeded {
            used: 10,
            adding: 1,
            cap: 10,
        },
        |r| r.count_records(id, 1),
    );
}

#[ink::test]
fn counting_without_a_cap_only_adds_up() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    at(3_000);
    as_(K_HOSPITAL);
    assert_eq!(reg.count_records(id, 1_000_000), Ok(1_000_000));
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(id)
    );
}

#[ink::test]
fn callers_must_be_active_institution_keys() {
    let c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    at(20_000);
    as_(K_STRANGER);
    refused(&mut reg, Error::CallerNotRegistered, |r| r.propose(terms()));
    refused(&mut reg, Error::CallerNotRegistered, |r| r.sign(id));
    refused(&mut reg, Error::CallerNotRegistered, |r| r.terminate(id));
    refused(&mut reg, Error::CallerNotRegistered, |r| r.expire(id));
    refused(&mut reg, Error::CallerNotRegistered, |r| {
        r.count_records(id, 1)
    });
    c.set_active(HOSPITAL, false);
    as_(K_HOSPITAL);
    let suspended = Error::InstitutionSuspended {
        institution: HOSPITAL,
    };
    refused(&mut reg, suspended, |r| r.propose(terms()));
    refused(&mut reg, suspended, |r| r.sign(id));
    refused(&mut reg, suspended, |r| r.terminate(id));
    refused(&mut reg, suspended, |r| r.expire(id));
    refused(&mut reg, suspended, |r| r.count_records(id, 1));
}

#[ink::test]
fn terms_are_checked() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    let cases: Vec<(Terms, Error)> = vec![
        (
            Terms {
                recipients: vec![],
                ..terms()
            },
            Error::NoRecipients,
        ),
        (
            Terms {
                recipients: (10..10 + MAX_RECIPIENTS as u32 + 1).collect(),
                ..terms()
            },
            Error::TooManyRecipients {
                given: MAX_RECIPIENTS as u32 + 1,
                max: MAX_RECIPIENTS as u32,
            },
        ),
        (
            Terms {
                recipients: vec![RESEARCH, LAB, RESEARCH],
                ..terms()
            },
            Error::DuplicateRecipient {
                institution: RESEARCH,
            },
        ),
        (
            Terms {
                recipients: vec![RESEARCH, HOSPITAL],
                ..terms()
            },
            Error::CustodianIsRecipient,
        ),
        (
            Terms {
                purposes: PurposeSet::empty(),
                ..terms()
            },
            Error::NoPurposes,
        ),
        (
            Terms {
                purposes: PurposeSet(0b100_0001),
                ..terms()
            },
            Error::UnknownPurposes { bits: 0b100_0000 },
        ),
        (
            Terms {
                categories: CategorySet::empty(),
                ..terms()
            },
            Error::NoCategories,
        ),
        (
            Terms {
                categories: CategorySet(0x8004),
                ..terms()
            },
            Error::UnknownCategories { bits: 0x8000 },
        ),
        (
            Terms {
                valid_from: 5_000,
                valid_until: 5_000,
                ..terms()
            },
            Error::EmptyPeriod,
        ),
        (
            Terms {
                valid_from: 0,
                valid_until: 1_000,
                ..terms()
            },
            Error::PeriodOver {
                valid_until: 1_000,
                now: 1_000,
            },
        ),
        (
            Terms {
                record_cap: Some(0),
                ..terms()
            },
            Error::ZeroRecordCap,
        ),
    ];
    for (t, err) in cases {
        refused(&mut reg, err, |r| r.propose(t));
    }
    // Exactly MAX_RECIPIENTS is fine; the period may have started already.
    let t = Terms {
        recipients: (10..10 + MAX_RECIPIENTS as u32).collect(),
        valid_from: 0,
        valid_until: 1_001,
        ..terms()
    };
    assert_eq!(reg.propose(t), Ok(0));
}

#[ink::test]
fn proposer_must_be_a_party_and_a_custodian_must_hold_the_role() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_OTHER);
    refused(&mut reg, Error::NotAParty { institution: OTHER }, |r| {
        r.propose(terms())
    });
    as_(K_NOT_CUSTODIAN);
    let t = Terms {
        custodian: NOT_CUSTODIAN,
        ..terms()
    };
    refused(
        &mut reg,
        Error::CustodianLacksRole {
            institution: NOT_CUSTODIAN,
        },
        |r| r.propose(t.clone()),
    );
    // Proposed by the recipient, it still needs a custodian with the role to sign.
    as_(K_RESEARCH);
    let id = reg.propose(t).unwrap();
    as_(K_NOT_CUSTODIAN);
    refused(
        &mut reg,
        Error::CustodianLacksRole {
            institution: NOT_CUSTODIAN,
        },
        |r| r.sign(id),
    );
}

#[ink::test]
fn live_agreements_are_bounded_per_institution() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    for i in 0..MAX_LIVE_PER_INSTITUTION {
        assert_eq!(reg.propose(terms()), Ok(i as DuaId));
    }
    refused(
        &mut reg,
        Error::TooManyLiveAgreements {
            institution: HOSPITAL,
        },
        |r| r.propose(terms()),
    );
    // The error names the full party even when it is a recipient.
    as_(K_CLINIC);
    let t = Terms {
        custodian: CLINIC,
        ..terms()
    };
    refused(
        &mut reg,
        Error::TooManyLiveAgreements {
            institution: RESEARCH,
        },
        |r| r.propose(t.clone()),
    );
    // Ending one frees a slot for both parties.
    as_(K_RESEARCH);
    reg.terminate(5).unwrap();
    as_(K_CLINIC);
    assert_eq!(reg.propose(t), Ok(MAX_LIVE_PER_INSTITUTION as DuaId));
}

#[ink::test]
fn sign_refusals() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    let id = reg.propose(terms()).unwrap();
    refused(&mut reg, Error::UnknownAgreement { id: 9 }, |r| r.sign(9));
    refused(
        &mut reg,
        Error::AlreadySigned {
            institution: HOSPITAL,
        },
        |r| r.sign(id),
    );
    as_(K_OTHER);
    refused(&mut reg, Error::NotAParty { institution: OTHER }, |r| {
        r.sign(id)
    });
    as_(K_RESEARCH);
    at(10_000);
    refused(
        &mut reg,
        Error::PeriodOver {
            valid_until: 10_000,
            now: 10_000,
        },
        |r| r.sign(id),
    );
    at(1_000);
    reg.sign(id).unwrap();
    refused(&mut reg, Error::NotProposed { id }, |r| r.sign(id));
    reg.terminate(id).unwrap();
    refused(&mut reg, Error::NotProposed { id }, |r| r.sign(id));
}

#[ink::test]
fn terminate_refusals() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    as_(K_OTHER);
    refused(&mut reg, Error::NotAParty { institution: OTHER }, |r| {
        r.terminate(id)
    });
    refused(&mut reg, Error::UnknownAgreement { id: 9 }, |r| {
        r.terminate(9)
    });
    as_(K_HOSPITAL);
    reg.terminate(id).unwrap();
    refused(&mut reg, Error::AlreadyEnded { id }, |r| r.terminate(id));
}

#[ink::test]
fn expire_refusals() {
    let _c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    as_(K_OTHER);
    refused(&mut reg, Error::UnknownAgreement { id: 9 }, |r| r.expire(9));
    at(9_999);
    refused(
        &mut reg,
        Error::NotExpired {
            valid_until: 10_000,
        },
        |r| r.expire(id),
    );
    at(10_000);
    reg.expire(id).unwrap();
    refused(&mut reg, Error::AlreadyEnded { id }, |r| r.expire(id));
    as_(K_HOSPITAL);
    refused(&mut reg, Error::AlreadyEnded { id }, |r| r.terminate(id));
}

#[ink::test]
fn count_records_refusals() {
    let _c = chain();
    let mut reg = Registry::new();
    as_(K_HOSPITAL);
    let proposed = reg.propose(terms()).unwrap();
    at(3_000);
    refused(&mut reg, Error::NotInForce { id: proposed }, |r| {
        r.count_records(proposed, 1)
    });
    refused(&mut reg, Error::UnknownAgreement { id: 9 }, |r| {
        r.count_records(9, 1)
    });
    as_(K_RESEARCH);
    reg.sign(proposed).unwrap();
    refused(
        &mut reg,
        Error::NotTheCustodian {
            institution: RESEARCH,
        },
        |r| r.count_records(proposed, 1),
    );
    as_(K_HOSPITAL);
    refused(&mut reg, Error::ZeroRecords, |r| {
        r.count_records(proposed, 0)
    });
    // Signed, but before or after its period: not in force.
    at(1_999);
    refused(&mut reg, Error::NotInForce { id: proposed }, |r| {
        r.count_records(proposed, 1)
    });
    at(10_000);
    refused(&mut reg, Error::NotInForce { id: proposed }, |r| {
        r.count_records(proposed, 1)
    });
}

#[ink::test]
fn in_force_reads_the_chain_extension_only_for_callers() {
    // Queries take no caller check: the extension is used by messages only.
    let c = chain();
    let mut reg = Registry::new();
    let id = in_force_agreement(&mut reg);
    let before = c.calls().len();
    assert_eq!(
        reg.in_force(HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000),
        Some(id)
    );
    assert!(reg.get(id).is_some());
    assert_eq!(c.calls().len(), before);
}

#[ink::test]
fn allows_checks_the_named_agreement_not_just_the_lowest() {
    let _c = chain();
    let mut reg = Registry::new();
    let first = in_force_agreement(&mut reg);
    let second = in_force_agreement(&mut reg);
    assert_ne!(first, second);
    for id in [first, second] {
        assert!(reg.allows(id, HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000));
    }
    // Not for another custodian, recipient, purpose, category or time, nor an unknown id.
    assert!(!reg.allows(first, CLINIC, RESEARCH, Purpose::Research, labs(), 3_000));
    assert!(!reg.allows(first, HOSPITAL, LAB, Purpose::Research, labs(), 3_000));
    assert!(!reg.allows(first, HOSPITAL, RESEARCH, Purpose::Treatment, labs(), 3_000));
    let imaging = CategorySet::of(&[DataCategory::Imaging]);
    assert!(!reg.allows(first, HOSPITAL, RESEARCH, Purpose::Research, imaging, 3_000));
    assert!(!reg.allows(first, HOSPITAL, RESEARCH, Purpose::Research, labs(), 10_000));
    assert!(!reg.allows(99, HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000));
    // Terminated: no longer.
    as_(K_RESEARCH);
    reg.terminate(first).expect("a party terminates");
    assert!(!reg.allows(first, HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000));
    assert!(reg.allows(second, HOSPITAL, RESEARCH, Purpose::Research, labs(), 3_000));
}

#[ink::test]
fn consent_is_the_chain_extensions_decision_for_exactly_the_question_asked() {
    use consentry_ink_env::{Decision, DenyReason, SubjectRef};
    let c = chain();
    let reg = Registry::new();
    let question = (
        SubjectRef::Pseudonym([5; 32]),
        key(K_HOSPITAL),
        Purpose::Research,
        labs(),
    );
    let permit = Decision::Permit {
        subject: 42,
        consents: vec![7],
    };
    c.set_decision(question, permit.clone());
    let (subject, accessor, purpose, categories) = question;
    assert_eq!(reg.consent(subject, accessor, purpose, categories), permit);
    // Any other question gets the chain's answer for it (the mock's default: no consent).
    assert_eq!(
        reg.consent(subject, key(K_RESEARCH), purpose, categories),
        Decision::Deny {
            subject: None,
            reason: DenyReason::NoConsent
        }
    );
    // The contract passed the question through unchanged: extension function 2, these bytes.
    let (func, input) = c.calls().last().cloned().expect("a call");
    assert_eq!(func, consentry_ink_env::FUNC_DECIDE);
    assert_eq!(
        input,
        ink::scale::Encode::encode(&(subject, key(K_RESEARCH), purpose, categories))
    );
}
