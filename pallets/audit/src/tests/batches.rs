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
