//! Tests of the calls' rules: input validation, the live-consent cap, amendment only narrowing,
//! revocation (and who may revoke), erasure and the id counter.

use super::*;

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
            grant_labs_as(LAB_KEY, SUBJECT, Purpose::Simulation),
            identity::Error::<Test>::NotPatientOrGuardian
        );
        assert_noop!(
            grant_labs_as(PATIENT, 9, Purpose::Simulation),
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
        let g = || grant_labs_as(PATIENT, SUBJECT, Purpose::Research);
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
            grant_labs_as(GUARDIAN, SUBJECT, Purpose::Simulation),
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
        let revoked = grant_to(
            Grantee::Institution(HOSPITAL),
            &[Purpose::Treatment],
            &[C::Labs],
            None,
            None,
        );
        assert_ok!(ConsentPallet::revoke(
            RuntimeOrigin::signed(PATIENT),
            revoked
        ));
        assert_ok!(identity::Pallet::<Test>::forget(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT
        ));
        // No consent names the patient's account any more, ended or not, in either copy.
        let nobody: u64 = crate::erased_signer();
        assert_ne!(nobody, PATIENT);
        for c in [id, revoked] {
            assert_eq!(Consents::<Test>::get(c).unwrap().granted_by, nobody);
        }
        assert!(ConsentPallet::consents_of(SUBJECT)
            .iter()
            .all(|(_, c)| c.granted_by == nobody));
        assert!(matches!(
            Consents::<Test>::get(revoked).unwrap().status,
            ConsentStatus::Revoked { .. }
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
        // The index's copies ended with them.
        assert_eq!(
            ConsentPallet::consents_of(SUBJECT),
            vec![
                (id, Consents::<Test>::get(id).unwrap()),
                (revoked, Consents::<Test>::get(revoked).unwrap())
            ]
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
            grant_labs_as(PATIENT, SUBJECT, Purpose::Simulation),
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
            grant_labs_as(PATIENT, SUBJECT, Purpose::Simulation),
            Error::<Test>::Overflow
        );
    });
}
