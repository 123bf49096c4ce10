//! Unit tests for every call and error, and a property test against a reference model.

use crate::{mock::*, *};
use consentry_primitives::{DataCategory as C, Role};
use frame_support::{assert_noop, assert_ok};
use pallet_consentry_identity as identity;

mod model;

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

/// Uses are counted only for consents with a limit; a limit set later counts from then on.
#[test]
fn unlimited_consents_count_no_uses_until_limited() {
    new_test_ext().execute_with(|| {
        let labs = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Labs],
            None,
            None,
        );
        let genomic = grant_to(
            Grantee::Institution(LAB),
            &[Purpose::Simulation],
            &[C::Genomic],
            None,
            Some(5),
        );
        let permit = || match decide(LAB_KEY, Purpose::Simulation, &[C::Labs, C::Genomic]) {
            Decision::Permit { consents, .. } => consents,
            other => panic!("expected a permit, got {other:?}"),
        };
        let uses = |id| Consents::<Test>::get(id).unwrap().uses;
        for _ in 0..3 {
            let consents = permit();
            assert_eq!(consents.len(), 2);
            // One of the two cited consents is limited: one use counted (one write).
            assert_eq!(
                <ConsentPallet as ConsentCheck<u64>>::consume(SUBJECT, &consents),
                1
            );
        }
        assert_eq!((uses(labs), uses(genomic)), (0, 3));
        // The patient limits the labs consent to two uses: both are still available.
        assert_ok!(ConsentPallet::amend(
            RuntimeOrigin::signed(PATIENT),
            labs,
            purposes(&[Purpose::Simulation]),
            cats(&[C::Labs]),
            None,
            Some(2)
        ));
        for _ in 0..2 {
            assert_eq!(
                <ConsentPallet as ConsentCheck<u64>>::consume(SUBJECT, &permit()),
                2
            );
        }
        assert_eq!((uses(labs), uses(genomic)), (2, 5));
        assert_eq!(
            decide(LAB_KEY, Purpose::Simulation, &[C::Labs]),
            denied(DenyReason::UsesExhausted)
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
            assert_eq!(
                <ConsentPallet as ConsentCheck<u64>>::consume(SUBJECT, &consents),
                1
            );
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
        assert!(!SubjectConsents::<Test>::get(SUBJECT)
            .iter()
            .any(|(id, _)| *id == ids[0]));
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
        // The index's copy ended with it.
        assert_eq!(
            ConsentPallet::consents_of(SUBJECT),
            vec![(id, Consents::<Test>::get(id).unwrap())]
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
