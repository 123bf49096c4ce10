use super::*;
use crate::mock::MockChain;
use ink::scale::{Decode, Encode};
use std::collections::BTreeMap;

/// The golden file: case name → bytes.
fn golden() -> BTreeMap<String, Vec<u8>> {
    let text: &str = include_str!("../golden/extension.txt");
    let mut cases = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, hex) = line.split_once(' ').expect("`name hex`");
        let bytes = hex::decode(hex.trim()).expect("hex");
        assert!(
            cases.insert(name.to_string(), bytes).is_none(),
            "case {name} twice"
        );
    }
    cases
}

/// `value` encodes to the golden case `name` and decodes back from it, consuming every byte.
fn check<T: Encode + Decode + PartialEq + core::fmt::Debug>(name: &str, value: T) {
    let cases = golden();
    let want = cases
        .get(name)
        .unwrap_or_else(|| panic!("no golden case {name}"));
    assert_eq!(
        hex::encode(value.encode()),
        hex::encode(want),
        "encoding of {name}"
    );
    let mut input = &want[..];
    assert_eq!(
        T::decode(&mut input).expect(name),
        value,
        "decoding of {name}"
    );
    assert!(input.is_empty(), "{name}: bytes left after decoding");
}

fn acc(b: u8) -> AccountId {
    AccountId::from([b; 32])
}

fn decision_permit() -> Decision {
    Decision::Permit {
        subject: 42,
        consents: vec![1, 258],
    }
}

#[test]
fn mirrored_types_match_the_golden_vectors() {
    check(
        "decide_input_subject",
        (
            SubjectRef::Subject(7),
            acc(1),
            Purpose::FederatedTraining,
            CategorySet::of(&[DataCategory::Demographics, DataCategory::Labs]),
        ),
    );
    check(
        "decide_input_pseudonym",
        (
            SubjectRef::Pseudonym([0xab; 32]),
            acc(2),
            Purpose::Research,
            CategorySet::of(&[DataCategory::Genomic, DataCategory::Imaging]),
        ),
    );
    check("account_input", acc(1));
    check("decision_permit", decision_permit());
    check(
        "decision_deny_with_subject",
        Decision::Deny {
            subject: Some(42),
            reason: DenyReason::CategoryNotCovered,
        },
    );
    check(
        "decision_deny_without_subject",
        Decision::Deny {
            subject: None,
            reason: DenyReason::UnknownSubject,
        },
    );
    check(
        "institution_some_active",
        Some(InstitutionInfo {
            id: 3,
            roles: RoleSet::of(&[Role::DataCustodian, Role::Researcher]),
            active: true,
        }),
    );
    check(
        "institution_some_suspended",
        Some(InstitutionInfo {
            id: 258,
            roles: RoleSet::of(&[Role::Auditor]),
            active: false,
        }),
    );
    check("institution_none", None::<InstitutionInfo>);
    check("bool_true", true);
    check("bool_false", false);
}

#[test]
fn every_golden_case_is_checked() {
    // A case added to the file without a check here would pin nothing on this side.
    let names: Vec<String> = golden().into_keys().collect();
    assert_eq!(
        names,
        [
            "account_input",
            "bool_false",
            "bool_true",
            "decide_input_pseudonym",
            "decide_input_subject",
            "decision_deny_with_subject",
            "decision_deny_without_subject",
            "decision_permit",
            "institution_none",
            "institution_some_active",
            "institution_some_suspended",
        ]
    );
}

#[test]
fn enum_indices_are_the_primitives_ones() {
    for (i, p) in Purpose::ALL.iter().enumerate() {
        assert_eq!(p.encode(), vec![i as u8]);
    }
    let reasons = [
        DenyReason::AccessorNotRegistered,
        DenyReason::AccessorSuspended,
        DenyReason::UnknownSubject,
        DenyReason::SubjectErased,
        DenyReason::NoConsent,
        DenyReason::Revoked,
        DenyReason::NotYetValid,
        DenyReason::Expired,
        DenyReason::UsesExhausted,
        DenyReason::PurposeNotCovered,
        DenyReason::CategoryNotCovered,
    ];
    for (i, r) in reasons.iter().enumerate() {
        assert_eq!(r.encode(), vec![i as u8]);
    }
    assert_eq!(CategorySet::all(), CategorySet(0b11_1111));
    assert_eq!(PurposeSet::all(), PurposeSet(0b11_1111));
    assert_eq!(RoleSet::all(), RoleSet(0b111));
    assert!(!CategorySet(1 << 6).is_valid());
    assert!(PurposeSet::of(&[Purpose::Research]).contains(Purpose::Research));
    assert!(CategorySet::all().includes(CategorySet(0b101)));
    assert!(!CategorySet(0b001).includes(CategorySet(0b101)));
}

/// Calls through ink!'s generated extension methods reach the runtime with exactly the golden
/// input bytes, and the runtime's golden output bytes decode to the expected values.
#[ink::test]
fn extension_calls_carry_the_golden_bytes() {
    let chain = MockChain::install();
    let question = (
        SubjectRef::Pseudonym([0xab; 32]),
        acc(2),
        Purpose::Research,
        CategorySet::of(&[DataCategory::Genomic, DataCategory::Imaging]),
    );
    chain.set_decision(question, decision_permit());
    chain.set_key(
        acc(1),
        3,
        RoleSet::of(&[Role::DataCustodian, Role::Researcher]),
        true,
    );
    chain.add_council_member(acc(1));

    fn ext() -> <ConsentryExt as ink::ChainExtensionInstance>::Instance {
        <ConsentryExt as ink::ChainExtensionInstance>::instantiate()
    }
    assert_eq!(
        ext().decide(question.0, question.1, question.2, question.3),
        decision_permit()
    );
    assert_eq!(
        ext().institution_of(acc(1)),
        Some(InstitutionInfo {
            id: 3,
            roles: RoleSet(0b11),
            active: true
        })
    );
    assert_eq!(ext().institution_of(acc(9)), None);
    assert!(ext().is_council_member(acc(1)));
    assert!(!ext().is_council_member(acc(2)));
    // A question the chain has no consent for is denied.
    assert_eq!(
        ext().decide(
            SubjectRef::Subject(7),
            acc(1),
            Purpose::FederatedTraining,
            CategorySet(5)
        ),
        Decision::Deny {
            subject: None,
            reason: DenyReason::NoConsent
        }
    );

    let g = golden();
    let calls = chain.calls();
    assert_eq!(calls.len(), 6);
    assert_eq!(calls[0], (FUNC_DECIDE, g["decide_input_pseudonym"].clone()));
    assert_eq!(calls[1], (FUNC_INSTITUTION_OF, g["account_input"].clone()));
    assert_eq!(
        calls[3],
        (FUNC_IS_COUNCIL_MEMBER, g["account_input"].clone())
    );
    assert_eq!(calls[5], (FUNC_DECIDE, g["decide_input_subject"].clone()));
}
