//! Unit tests for every call and error, and a property test against a reference model.

use crate::{mock::*, *};
use consentry_primitives::{DataCategory as C, Role};
use frame_support::{assert_noop, assert_ok};
use pallet_consentry_identity as identity;

const SUBJECT: SubjectId = 0;

fn cats(c: &[C]) -> CategorySet {
    CategorySet::of(c)
}
fn purposes(p: &[Purpose]) -> PurposeSet {
    PurposeSet::of(p)
}

fn grant_to(
    grantee: Grantee,
    p: &[Purpose],
    c: &[C],
    until: Option<u64>,
    uses: Option<u32>,
) -> ConsentId {
    let id = NextConsentId::<Test>::get();
    assert_ok!(ConsentPallet::grant(
        RuntimeOrigin::signed(PATIENT),
        SUBJECT,
        grantee,
        purposes(p),
        cats(c),
        None,
        until,
        uses
    ));
    id
}

fn decide(accessor: u64, purpose: Purpose, c: &[C]) -> Decision {
    <ConsentPallet as ConsentCheck<u64>>::decide(
        SubjectRef::Pseudonym(PSEUDONYM),
        &accessor,
        purpose,
        cats(c),
        pallet_timestamp::Now::<Test>::get(),
    )
}

fn denied(reason: DenyReason) -> Decision {
    Decision::Deny {
        subject: Some(SUBJECT),
        reason,
    }
}

#[test]
fn grant_permits_exactly_what_it_names() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs, C::Genomic],
            None,
            None,
        );
        System::assert_last_event(
            Event::ConsentGranted {
                consent: id,
                subject: SUBJECT,
                grantee: Grantee::Institution(LAB),
                by: PATIENT,
            }
            .into(),
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            Decision::Permit {
                subject: SUBJECT,
                consents: vec![id]
            }
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Inference, &[C::Labs]),
            denied(DenyReason::PurposeNotCovered)
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs, C::Ehr]),
            denied(DenyReason::CategoryNotCovered)
        );
        assert_eq!(
            decide(HOSPITAL_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::NoConsent)
        );
        assert_eq!(
            decide(OUTSIDER, Purpose::Simulation, &[C::Labs]),
            Decision::Deny {
                subject: None,
                reason: DenyReason::AccessorNotRegistered
            }
        );
        let c = Consents::<Test>::get(id).unwrap();
        assert_eq!(
            (c.valid_from, c.granted_at, c.granted_by),
            (1_000, 1_000, PATIENT)
        );
    });
}

#[test]
fn role_grantees_match_any_active_institution_with_the_role() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::AnyWithRole(Role::Researcher),
            &[Purpose::Research],
            &[C::Labs],
            None,
            None,
        );
        assert!(decide(LAB_KEY, Purpose::Research, &[C::Labs]).is_permit());
        assert_eq!(
            decide(HOSPITAL_KEY, Purpose::Research, &[C::Labs]),
            denied(DenyReason::NoConsent)
        );
        assert_ok!(identity::Pallet::<Test>::suspend_institution(
            RuntimeOrigin::root(),
            LAB
        ));
        assert_eq!(
            decide(LAB_KEY, Purpose::Research, &[C::Labs]),
            Decision::Deny {
                subject: None,
                reason: DenyReason::AccessorSuspended
            }
        );
        assert!(ConsentPallet::in_force(&id, 1_000));
    });
}

#[test]
fn several_consents_together_cover_the_categories() {
    new_test_ext().execute_with(|| {
        let a = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Inference],
            &[C::Labs],
            None,
            None,
        );
        let b = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Inference],
            &[C::Genomic, C::Labs],
            None,
            None,
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Inference, &[C::Labs, C::Genomic]),
            Decision::Permit {
                subject: SUBJECT,
                consents: vec![a, b]
            }
        );
    });
}

#[test]
fn validity_period_takes_effect_by_time_alone() {
    new_test_ext().execute_with(|| {
        assert_ok!(ConsentPallet::grant(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT,
            Grantee::Institution(LAB),
            purposes(&[Purpose::Simulation]),
            cats(&[C::Labs]),
            Some(5_000),
            Some(10_000),
            None
        ));
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::NotYetValid)
        );
        set_time(5_000);
        assert!(decide(LAB_KEY, Purpose::Simulation, &[C::Labs]).is_permit());
        set_time(9_999);
        assert!(decide(LAB_KEY, Purpose::Simulation, &[C::Labs]).is_permit());
        set_time(10_000);
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::Expired)
        );
    });
}

#[test]
fn use_limits_are_consumed_and_then_deny() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs],
            None,
            Some(2),
        );
        for _ in 0..2 {
            let Decision::Permit { consents, .. } =
                decide(LAB_KEY, Purpose::Simulation, &[C::Labs])
            else {
                panic!("expected a permit")
            };
            <ConsentPallet as ConsentCheck<u64>>::consume(&consents);
        }
        assert_eq!(Consents::<Test>::get(id).unwrap().uses, 2);
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::UsesExhausted)
        );
    });
}

#[test]
fn a_decision_reads_every_indexed_consent_revoked_ones_included() {
    new_test_ext().execute_with(|| {
        let read = || <ConsentPallet as ConsentCheck<u64>>::consents_read(SUBJECT);
        assert_eq!(read(), 0);
        let first = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs],
            None,
            None,
        );
        grant_to(
            Grantee::Institution(HOSPITAL),
            &[Purpose::Treatment],
            &[C::Ehr],
            None,
            None,
        );
        assert_eq!(read(), 2);
        // A revoked consent stays indexed (so a denial can say "revoked") and is still read.
        assert_ok!(ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), first));
        assert_eq!(read(), 2);
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::Revoked)
        );
        assert!(read() <= <ConsentPallet as ConsentCheck<u64>>::max_consents_read());
    });
}

#[test]
fn grant_validates_its_input() {
    new_test_ext().execute_with(|| {
        let g = |grantee, p: PurposeSet, c: CategorySet, from, until, uses| {
            ConsentPallet::grant(
                RuntimeOrigin::signed(PATIENT),
                SUBJECT,
                grantee,
                p,
                c,
                from,
                until,
                uses,
            )
        };
        let lab = Grantee::Institution(LAB);
        let sim = purposes(&[Purpose::Simulation]);
        let labs = cats(&[C::Labs]);
        assert_noop!(
            g(lab, PurposeSet::empty(), labs, None, None, None),
            Error::<Test>::BadPurposes
        );
        assert_noop!(
            g(lab, PurposeSet(1 << 12), labs, None, None, None),
            Error::<Test>::BadPurposes
        );
        assert_noop!(
            g(lab, sim, CategorySet::empty(), None, None, None),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            g(lab, sim, CategorySet(1 << 12), None, None, None),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            g(lab, sim, labs, Some(5_000), Some(5_000), None),
            Error::<Test>::BadPeriod
        );
        assert_noop!(
            g(lab, sim, labs, None, Some(500), None),
            Error::<Test>::BadPeriod
        );
        assert_noop!(
            g(lab, sim, labs, None, None, Some(0)),
            Error::<Test>::BadUseLimit
        );
        assert_noop!(
            g(Grantee::Institution(42), sim, labs, None, None, None),
            Error::<Test>::UnknownGrantee
        );
        assert_noop!(
            g(
                Grantee::AnyWithRole(Role::Researcher),
                purposes(&[Purpose::ReIdentification]),
                labs,
                None,
                None,
                None
            ),
            Error::<Test>::ReIdentificationNeedsNamedGrantee
        );
        // Only the patient or a guardian may grant.
        assert_noop!(
            ConsentPallet::grant(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT,
                lab,
                sim,
                labs,
                None,
                None,
                None
            ),
            identity::Error::<Test>::NotPatientOrGuardian
        );
        assert_noop!(
            ConsentPallet::grant(
                RuntimeOrigin::signed(PATIENT),
                9,
                lab,
                sim,
                labs,
                None,
                None,
                None
            ),
            identity::Error::<Test>::UnknownSubject
        );
    });
}

#[test]
fn live_consents_are_capped_and_ended_ones_make_room() {
    new_test_ext().execute_with(|| {
        let ids: Vec<_> = (0..4)
            .map(|_| {
                grant_to(
                    Grantee::Institution(LAB),
                    &[Purpose::Research],
                    &[C::Labs],
                    None,
                    None,
                )
            })
            .collect();
        let g = || {
            ConsentPallet::grant(
                RuntimeOrigin::signed(PATIENT),
                SUBJECT,
                Grantee::Institution(LAB),
                purposes(&[Purpose::Research]),
                cats(&[C::Labs]),
                None,
                None,
                None,
            )
        };
        assert_noop!(g(), Error::<Test>::TooManyConsents);
        // Revoke and re-grant until the index (6) is full of ended consents: the oldest ended one
        // leaves the index but its record stays.
        for id in &ids[..3] {
            assert_ok!(ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), *id));
            assert_ok!(g());
        }
        assert_eq!(SubjectConsents::<Test>::get(SUBJECT).len(), 6);
        assert!(!SubjectConsents::<Test>::get(SUBJECT).contains(&ids[0]));
        assert!(Consents::<Test>::contains_key(ids[0]));
    });
}

#[test]
fn amend_only_narrows() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation, Purpose::Inference],
            &[C::Labs, C::Genomic],
            Some(50_000),
            Some(5),
        );
        let a = |who: u64, p: &[Purpose], c: &[C], until, uses| {
            ConsentPallet::amend(
                RuntimeOrigin::signed(who),
                id,
                purposes(p),
                cats(c),
                until,
                uses,
            )
        };
        let (sim, labs) = (&[Purpose::Simulation][..], &[C::Labs][..]);
        assert_noop!(
            a(PATIENT, &[Purpose::Research], labs, Some(50_000), Some(5)),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, sim, &[C::Ehr], Some(50_000), Some(5)),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, sim, labs, Some(60_000), Some(5)),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, sim, labs, None, Some(5)),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, sim, labs, Some(50_000), Some(6)),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, sim, labs, Some(50_000), None),
            Error::<Test>::WideningNotAllowed
        );
        assert_noop!(
            a(PATIENT, &[], labs, Some(50_000), Some(5)),
            Error::<Test>::BadPurposes
        );
        assert_noop!(
            a(PATIENT, sim, &[], Some(50_000), Some(5)),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            a(PATIENT, sim, labs, Some(50_000), Some(0)),
            Error::<Test>::BadUseLimit
        );
        assert_noop!(
            a(PATIENT, sim, labs, Some(1_000), Some(5)),
            Error::<Test>::BadPeriod
        );
        assert_noop!(
            a(LAB_KEY, sim, labs, Some(50_000), Some(5)),
            identity::Error::<Test>::NotPatientOrGuardian
        );
        assert_noop!(
            ConsentPallet::amend(
                RuntimeOrigin::signed(PATIENT),
                99,
                purposes(sim),
                cats(labs),
                None,
                None
            ),
            Error::<Test>::UnknownConsent
        );
        assert_ok!(a(PATIENT, sim, labs, Some(20_000), Some(1)));
        System::assert_last_event(
            Event::ConsentAmended {
                consent: id,
                subject: SUBJECT,
                by: PATIENT,
            }
            .into(),
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Inference, &[C::Labs]),
            denied(DenyReason::PurposeNotCovered)
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Genomic]),
            denied(DenyReason::CategoryNotCovered)
        );
        assert!(decide(LAB_KEY, Purpose::Simulation, &[C::Labs]).is_permit());
        set_time(20_000);
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::Expired)
        );
    });
}

#[test]
fn revoke_ends_a_consent_once_and_guardians_act_only_while_appointed() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs],
            None,
            None,
        );
        assert_noop!(
            ConsentPallet::revoke(RuntimeOrigin::signed(GUARDIAN), id),
            identity::Error::<Test>::NotPatientOrGuardian
        );
        assert_ok!(identity::Pallet::<Test>::appoint_guardian(
            RuntimeOrigin::signed(PATIENT),
            GUARDIAN
        ));
        assert_ok!(ConsentPallet::revoke(RuntimeOrigin::signed(GUARDIAN), id));
        System::assert_last_event(
            Event::ConsentRevoked {
                consent: id,
                subject: SUBJECT,
                by: GUARDIAN,
            }
            .into(),
        );
        assert_noop!(
            ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), id),
            Error::<Test>::NotActive
        );
        assert_noop!(
            ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), 77),
            Error::<Test>::UnknownConsent
        );
        assert_noop!(
            ConsentPallet::amend(
                RuntimeOrigin::signed(PATIENT),
                id,
                purposes(&[Purpose::Simulation]),
                cats(&[C::Labs]),
                None,
                None
            ),
            Error::<Test>::NotActive
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::Revoked)
        );
        // Once removed, the guardian can no longer grant.
        assert_ok!(identity::Pallet::<Test>::remove_guardian(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT,
            GUARDIAN
        ));
        assert_noop!(
            ConsentPallet::grant(
                RuntimeOrigin::signed(GUARDIAN),
                SUBJECT,
                Grantee::Institution(LAB),
                purposes(&[Purpose::Simulation]),
                cats(&[C::Labs]),
                None,
                None,
                None
            ),
            identity::Error::<Test>::NotPatientOrGuardian
        );
    });
}

#[test]
fn a_forgotten_patient_is_never_granted_again() {
    new_test_ext().execute_with(|| {
        let id = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs],
            None,
            None,
        );
        assert_ok!(identity::Pallet::<Test>::forget(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT
        ));
        System::assert_has_event(
            Event::ConsentsErased {
                subject: SUBJECT,
                count: 1,
            }
            .into(),
        );
        assert_eq!(
            Consents::<Test>::get(id).unwrap().status,
            ConsentStatus::Erased { at: 1_000 }
        );
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::SubjectErased)
        );
        let by_subject = <ConsentPallet as ConsentCheck<u64>>::decide(
            SubjectRef::Subject(SUBJECT),
            &LAB_KEY,
            Purpose::Simulation,
            cats(&[C::Labs]),
            1_000,
        );
        assert_eq!(by_subject, denied(DenyReason::SubjectErased));
        assert_noop!(
            ConsentPallet::grant(
                RuntimeOrigin::signed(PATIENT),
                SUBJECT,
                Grantee::Institution(LAB),
                purposes(&[Purpose::Simulation]),
                cats(&[C::Labs]),
                None,
                None,
                None
            ),
            identity::Error::<Test>::SubjectErased
        );
    });
}

#[test]
fn unknown_or_unclaimed_subjects_are_denied() {
    new_test_ext().execute_with(|| {
        let d = |s| {
            <ConsentPallet as ConsentCheck<u64>>::decide(
                s,
                &LAB_KEY,
                Purpose::Research,
                cats(&[C::Labs]),
                1_000,
            )
        };
        assert_eq!(
            d(SubjectRef::Pseudonym([0; 32])),
            Decision::Deny {
                subject: None,
                reason: DenyReason::UnknownSubject
            }
        );
        assert_eq!(
            d(SubjectRef::Subject(55)),
            Decision::Deny {
                subject: None,
                reason: DenyReason::UnknownSubject
            }
        );
        assert_ok!(identity::Pallet::<Test>::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [8; 32],
            101
        ));
        assert_eq!(
            d(SubjectRef::Pseudonym([8; 32])),
            Decision::Deny {
                subject: None,
                reason: DenyReason::UnknownSubject
            }
        );
    });
}

/// The property test: random grant / amend / revoke / request / time sequences, compared with a
/// reference model of the consent rules written independently of the pallet.
mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct M {
        grantee: Grantee,
        purposes: u16,
        categories: u16,
        from: u64,
        until: Option<u64>,
        max_uses: Option<u32>,
        uses: u32,
        revoked: bool,
    }

    #[derive(Clone, Debug)]
    enum Op {
        Grant {
            grantee: Grantee,
            purposes: u16,
            categories: u16,
            from: Option<u64>,
            until: Option<u64>,
            max_uses: Option<u32>,
        },
        Amend {
            which: usize,
            purposes: u16,
            categories: u16,
            until: Option<u64>,
            max_uses: Option<u32>,
        },
        Revoke {
            which: usize,
        },
        Request {
            accessor: u64,
            purpose: u8,
            categories: u16,
        },
        Advance {
            ms: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        let grantee = prop_oneof![
            Just(Grantee::Institution(HOSPITAL)),
            Just(Grantee::Institution(LAB)),
            Just(Grantee::AnyWithRole(Role::Researcher)),
            Just(Grantee::AnyWithRole(Role::Auditor)),
        ];
        prop_oneof![
            (
                grantee,
                1u16..32,
                1u16..64,
                proptest::option::of(0u64..6_000),
                proptest::option::of(1u64..12_000),
                proptest::option::of(1u32..4)
            )
                .prop_map(|(grantee, purposes, categories, from, until, max_uses)| {
                    Op::Grant {
                        grantee,
                        purposes,
                        categories,
                        from,
                        until,
                        max_uses,
                    }
                }),
            (
                0usize..8,
                0u16..64,
                0u16..64,
                proptest::option::of(1u64..12_000),
                proptest::option::of(1u32..4)
            )
                .prop_map(|(which, purposes, categories, until, max_uses)| Op::Amend {
                    which,
                    purposes,
                    categories,
                    until,
                    max_uses
                }),
            (0usize..8).prop_map(|which| Op::Revoke { which }),
            (
                prop_oneof![Just(HOSPITAL_KEY), Just(LAB_KEY), Just(OUTSIDER)],
                0u8..5,
                0u16..64
            )
                .prop_map(|(accessor, purpose, categories)| Op::Request {
                    accessor,
                    purpose,
                    categories
                }),
            (1u64..3_000).prop_map(|ms| Op::Advance { ms }),
        ]
    }

    fn ended(m: &M, now: u64) -> bool {
        m.revoked || m.until.is_some_and(|u| now >= u) || m.max_uses.is_some_and(|x| m.uses >= x)
    }

    /// The rules, as the pallet's documentation states them.
    fn model_decide(
        all: &[(u64, M)],
        index: &[u64],
        accessor: u64,
        purpose: u8,
        req: u16,
        now: u64,
    ) -> Result<Vec<u64>, DenyReason> {
        let (inst, role) = match accessor {
            HOSPITAL_KEY => (HOSPITAL, Role::DataCustodian),
            LAB_KEY => (LAB, Role::Researcher),
            _ => return Err(DenyReason::AccessorNotRegistered),
        };
        let mut stage_best: Option<DenyReason> = None;
        let mut ok: Vec<(u64, u16)> = vec![];
        for id in index {
            let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
            let named = match m.grantee {
                Grantee::Institution(i) => i == inst,
                Grantee::AnyWithRole(r) => r == role,
            };
            if !named {
                continue;
            }
            let r = if m.revoked {
                Some(DenyReason::Revoked)
            } else if now < m.from {
                Some(DenyReason::NotYetValid)
            } else if m.until.is_some_and(|u| now >= u) {
                Some(DenyReason::Expired)
            } else if m.max_uses.is_some_and(|x| m.uses >= x) {
                Some(DenyReason::UsesExhausted)
            } else if m.purposes & (1 << purpose) == 0 {
                Some(DenyReason::PurposeNotCovered)
            } else {
                None
            };
            match r {
                None => ok.push((*id, m.categories)),
                Some(r) => stage_best = Some(stage_best.map_or(r, |b| b.max(r))),
            }
        }
        if ok.is_empty() {
            return Err(stage_best.unwrap_or(DenyReason::NoConsent));
        }
        let union = ok.iter().fold(0, |a, (_, c)| a | c);
        if req == 0 || req & !union != 0 {
            return Err(DenyReason::CategoryNotCovered);
        }
        let mut out = vec![];
        for bit in 0..16 {
            if req & (1 << bit) != 0 {
                let id = ok.iter().find(|(_, c)| c & (1 << bit) != 0).unwrap().0;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn pallet_decisions_match_the_reference_model(ops in proptest::collection::vec(op(), 1..40)) {
            new_test_ext().execute_with(|| {
                let mut all: Vec<(u64, M)> = vec![];
                let mut index: Vec<u64> = vec![];
                let mut now = 1_000u64;
                for op in ops {
                    match op {
                        Op::Grant { grantee, purposes, categories, from, until, max_uses } => {
                            let from_abs = from.map(|f| now + f);
                            let until_abs = until.map(|u| now + u);
                            let res = ConsentPallet::grant(RuntimeOrigin::signed(PATIENT), SUBJECT, grantee,
                                PurposeSet(purposes), CategorySet(categories), from_abs, until_abs, max_uses);
                            let start = from_abs.unwrap_or(now);
                            let valid = until_abs.is_none_or(|u| u > start && u > now);
                            let live = index.iter().filter(|id| {
                                let m = &all.iter().find(|(i, _)| i == *id).unwrap().1;
                                !ended(m, now)
                            }).count();
                            let has_room = index.len() < 6 || index.iter().any(|id| {
                                let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
                                ended(m, now)
                            });
                            let expect_ok = valid && live < 4 && has_room;
                            prop_assert_eq!(res.is_ok(), expect_ok, "grant {:?}", res);
                            if expect_ok {
                                if index.len() == 6 {
                                    let pos = index.iter().position(|id| {
                                        let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
                                        ended(m, now)
                                    }).unwrap();
                                    index.remove(pos);
                                }
                                let id = all.len() as u64;
                                all.push((id, M { grantee, purposes, categories, from: start, until: until_abs,
                                    max_uses, uses: 0, revoked: false }));
                                index.push(id);
                            }
                        }
                        Op::Amend { which, purposes, categories, until, max_uses } => {
                            let Some((id, m)) = all.get(which).cloned() else { continue };
                            let p = m.purposes & purposes;
                            let c = m.categories & categories;
                            let until_abs = until.map(|u| now + u);
                            let res = ConsentPallet::amend(RuntimeOrigin::signed(PATIENT), id, PurposeSet(p), CategorySet(c), until_abs, max_uses);
                            let narrower_until = match (m.until, until_abs) { (_, None) => m.until.is_none(), (None, Some(_)) => true, (Some(o), Some(n)) => n <= o };
                            let narrower_uses = match (m.max_uses, max_uses) { (_, None) => m.max_uses.is_none(), (None, Some(_)) => true, (Some(o), Some(n)) => n <= o };
                            let expect_ok = !m.revoked && p != 0 && c != 0 && narrower_until && narrower_uses
                                && until_abs.is_none_or(|u| u > m.from);
                            prop_assert_eq!(res.is_ok(), expect_ok, "amend {:?}", res);
                            if expect_ok {
                                let mm = &mut all[which].1;
                                mm.purposes = p; mm.categories = c; mm.until = until_abs; mm.max_uses = max_uses;
                            }
                        }
                        Op::Revoke { which } => {
                            let Some((id, m)) = all.get(which).cloned() else { continue };
                            let res = ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), id);
                            prop_assert_eq!(res.is_ok(), !m.revoked);
                            all[which].1.revoked = true;
                        }
                        Op::Request { accessor, purpose, categories } => {
                            let purpose_enum = Purpose::ALL[purpose as usize];
                            let got = <ConsentPallet as ConsentCheck<u64>>::decide(SubjectRef::Pseudonym(PSEUDONYM),
                                &accessor, purpose_enum, CategorySet(categories), now);
                            let want = model_decide(&all, &index, accessor, purpose, categories, now);
                            match (&got, &want) {
                                (Decision::Permit { consents, .. }, Ok(ids)) => {
                                    prop_assert_eq!(consents, ids);
                                    <ConsentPallet as ConsentCheck<u64>>::consume(consents);
                                    for id in ids { all[*id as usize].1.uses += 1; }
                                }
                                (Decision::Deny { reason, .. }, Err(r)) => prop_assert_eq!(reason, r),
                                _ => prop_assert!(false, "pallet {:?} vs model {:?}", got, want),
                            }
                        }
                        Op::Advance { ms } => {
                            now += ms;
                            set_time(now);
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
}

#[test]
fn the_consent_counter_refuses_to_overflow() {
    new_test_ext().execute_with(|| {
        NextConsentId::<Test>::put(u64::MAX);
        assert_noop!(
            ConsentPallet::grant(
                RuntimeOrigin::signed(PATIENT),
                SUBJECT,
                Grantee::Institution(LAB),
                purposes(&[Purpose::Simulation]),
                cats(&[C::Labs]),
                None,
                None,
                None
            ),
            Error::<Test>::Overflow
        );
    });
}
