//! Batch and cohort requests: each patient decided on its own, a cohort held to its consents bound.

use super::*;

#[test]
fn batch_requests_decide_each_patient_on_its_own() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::FederatedTraining, None);
        // A second patient without consent, and an unknown pseudonym.
        enrol_and_claim([8; 32], 101);
        let batch: BoundedVec<_, _> = vec![PSEUDONYM, [8; 32], [9; 32]].try_into().unwrap();
        assert_ok!(Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            batch,
            Purpose::FederatedTraining,
            labs(),
            JOB,
            1
        ));
        assert_eq!(NextAccessId::<Test>::get(), 3);
        assert_eq!(state(0), AccessState::Granted);
        assert_eq!(state(1), AccessState::Denied(DenyReason::NoConsent));
        assert_eq!(state(2), AccessState::Denied(DenyReason::UnknownSubject));
        assert_noop!(
            Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                BoundedVec::new(),
                Purpose::Research,
                labs(),
                JOB,
                1
            ),
            Error::<Test>::EmptyBatch
        );
        assert_noop!(
            Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                vec![PSEUDONYM].try_into().unwrap(),
                Purpose::Research,
                CategorySet::empty(),
                JOB,
                1
            ),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            Audit::request_access_batch(
                RuntimeOrigin::signed(OUTSIDER),
                vec![PSEUDONYM].try_into().unwrap(),
                Purpose::Research,
                labs(),
                JOB,
                1
            ),
            Error::<Test>::NotRegistered
        );
    });
}

/// A cohort request names the most consents a patient holds; one patient holding more fails the
/// whole request and keeps nothing of it, records decided before that patient included.
#[test]
fn a_cohort_request_holds_its_patients_to_its_consents_bound() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        grant_lab(Purpose::Research, None);
        enrol_and_claim([8; 32], 101);
        // The patient without consents first, then PSEUDONYM's, who holds two.
        let cohort = || -> BoundedVec<_, _> { vec![[8; 32], PSEUDONYM].try_into().unwrap() };
        let request = |bound| {
            Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                cohort(),
                Purpose::Simulation,
                labs(),
                JOB,
                bound,
            )
        };
        assert_noop!(request(1), Error::<Test>::ConsentsBoundTooLow);
        assert_ok!(request(2));
        assert_eq!(NextAccessId::<Test>::get(), 2);
        assert_eq!(state(0), AccessState::Denied(DenyReason::NoConsent));
        assert_eq!(state(1), AccessState::Granted);
    });
}

/// A cohort's granted records closed together, citing one result: all of them or none.
#[test]
fn a_cohort_is_closed_in_one_call_or_not_at_all() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::FederatedTraining, None);
        enrol_and_claim([8; 32], 101);
        assert_ok!(ConsentPallet::grant(
            RuntimeOrigin::signed(101),
            identity::Pallet::<Test>::resolve(&[8; 32]).unwrap(),
            Grantee::Institution(LAB),
            PurposeSet::of(&[Purpose::FederatedTraining]),
            labs(),
            None,
            None,
            None
        ));
        let batch: BoundedVec<_, _> = vec![PSEUDONYM, [8; 32]].try_into().unwrap();
        assert_ok!(Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            batch,
            Purpose::FederatedTraining,
            labs(),
            JOB,
            1
        ));
        let (a, b) = (record(0), record(1));
        assert_eq!(
            (a.state, b.state),
            (AccessState::Granted, AccessState::Granted)
        );
        let both = || -> BoundedVec<_, _> {
            vec![(a.subject.unwrap(), 0), (b.subject.unwrap(), 1)]
                .try_into()
                .unwrap()
        };
        let close = |who, closes, digest| {
            Audit::complete_access_batch(
                RuntimeOrigin::signed(who),
                closes,
                Outcome::Completed,
                digest,
            )
        };
        assert_noop!(
            close(LAB_KEY, BoundedVec::new(), Some(RESULT)),
            Error::<Test>::EmptyBatch
        );
        assert_noop!(
            close(LAB_KEY, both(), None),
            Error::<Test>::MissingResultDigest
        );
        assert_noop!(
            close(OUTSIDER, both(), Some(RESULT)),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            close(HOSPITAL_KEY, both(), Some(RESULT)),
            Error::<Test>::NotYourRecord
        );
        // A record named twice: the second close finds it closed, and the first is undone.
        let twice: BoundedVec<_, _> = vec![(a.subject.unwrap(), 0), (a.subject.unwrap(), 0)]
            .try_into()
            .unwrap();
        assert_noop!(close(LAB_KEY, twice, Some(RESULT)), Error::<Test>::NotOpen);
        // An unknown record after a good one: nothing is closed.
        let unknown: BoundedVec<_, _> = vec![(a.subject.unwrap(), 0), (b.subject.unwrap(), 7)]
            .try_into()
            .unwrap();
        assert_noop!(
            close(LAB_KEY, unknown, Some(RESULT)),
            Error::<Test>::UnknownAccess
        );
        assert_eq!(Audit::counts(LAB).granted, 2);

        pallet_timestamp::Now::<Test>::put(2_000);
        assert_ok!(close(LAB_KEY, both(), Some(RESULT)));
        for id in [0, 1] {
            let r = record(id);
            assert_eq!(
                (r.state, r.result_digest, r.closed_at),
                (
                    AccessState::Closed(Outcome::Completed),
                    Some(RESULT),
                    Some(2_000)
                )
            );
        }
        let counts = Audit::counts(LAB);
        assert_eq!((counts.granted, counts.completed), (0, 2));
        // Closed once: again is refused.
        assert_noop!(close(LAB_KEY, both(), Some(RESULT)), Error::<Test>::NotOpen);
    });
}
