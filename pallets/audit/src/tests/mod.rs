//! Unit tests for every call and error, and property tests of the log's invariants.

use crate::{mock::*, *};
use consentry_primitives::{CategorySet, DataCategory as C, Grantee, PurposeSet};
use frame_support::{assert_noop, assert_ok, weights::Weight, BoundedVec};
use pallet_consentry_consent as consent;
use pallet_consentry_identity as identity;

mod batches;
mod erasure;
mod invariants;
mod pages;
mod weights;

const JOB: [u8; 32] = [0xAB; 32];
const RESULT: [u8; 32] = [0xCD; 32];
const WHY: [u8; 32] = [0xEE; 32];

fn labs() -> CategorySet {
    CategorySet::of(&[C::Labs])
}

fn grant_lab(purpose: Purpose, max_uses: Option<u32>) -> u64 {
    let id = consent::NextConsentId::<Test>::get();
    assert_ok!(ConsentPallet::grant(
        RuntimeOrigin::signed(PATIENT),
        SUBJECT,
        Grantee::Institution(LAB),
        PurposeSet::of(&[purpose]),
        labs(),
        None,
        None,
        max_uses
    ));
    id
}

/// A second patient, `account`, enrolled by the hospital under `pseudonym`, with no consents.
fn enrol_and_claim(pseudonym: [u8; 32], account: u64) {
    assert_ok!(identity::Pallet::<Test>::enrol(
        RuntimeOrigin::signed(HOSPITAL_KEY),
        pseudonym,
        account
    ));
    assert_ok!(identity::Pallet::<Test>::claim(
        RuntimeOrigin::signed(account),
        pseudonym
    ));
}

/// `who` asks for lab data about `pseudonym`, for simulation.
fn request_as(
    who: u64,
    pseudonym: Pseudonym,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
    Audit::request_access(
        RuntimeOrigin::signed(who),
        pseudonym,
        Purpose::Simulation,
        labs(),
        JOB,
    )
}

fn request(who: u64) -> AccessId {
    let id = NextAccessId::<Test>::get();
    assert_ok!(request_as(who, PSEUDONYM));
    assert_eq!(
        NextAccessId::<Test>::get(),
        id + 1,
        "exactly one record per request"
    );
    id
}

/// Record `id`, wherever it is stored; checks it is stored under its own subject and id.
fn record(id: AccessId) -> RecordOf<Test> {
    let (subject, key, record) = Records::<Test>::iter()
        .find(|(_, _, r)| r.id == id)
        .unwrap_or_else(|| panic!("record {id} is stored"));
    assert_eq!((subject, key), (record.subject, NewestFirst::of(id)));
    record
}

fn state(id: AccessId) -> AccessState {
    record(id).state
}

#[test]
fn a_permitted_request_is_recorded_granted_with_its_consents() {
    new_test_ext().execute_with(|| {
        let c = grant_lab(Purpose::Simulation, None);
        let id = request(LAB_KEY);
        let r = record(id);
        assert_eq!(r.state, AccessState::Granted);
        assert_eq!(r.consents.to_vec(), vec![c]);
        assert_eq!(
            (r.institution, r.subject, r.requested_by, r.job_digest),
            (LAB, Some(SUBJECT), LAB_KEY, JOB)
        );
        assert_eq!((r.requested_at, r.block), (1_000, 1));
        System::assert_last_event(
            Event::AccessGranted {
                id,
                institution: LAB,
                subject: SUBJECT,
                purpose: Purpose::Simulation,
                categories: labs(),
            }
            .into(),
        );
        assert_eq!(Audit::counts(LAB).granted, 1);
    });
}

#[test]
fn a_denied_request_is_recorded_with_its_reason_and_the_call_succeeds() {
    new_test_ext().execute_with(|| {
        let id = request(LAB_KEY);
        assert_eq!(state(id), AccessState::Denied(DenyReason::NoConsent));
        System::assert_last_event(
            Event::AccessDenied {
                id,
                institution: LAB,
                subject: Some(SUBJECT),
                reason: DenyReason::NoConsent,
            }
            .into(),
        );
        assert_eq!(Audit::counts(LAB).denied, 1);
        assert_eq!(
            Audit::records_by_subject(Some(SUBJECT), None, 10).0.len(),
            1
        );
    });
}

#[test]
fn revoked_expired_exhausted_and_out_of_scope_consents_never_grant() {
    new_test_ext().execute_with(|| {
        let c = grant_lab(Purpose::Simulation, Some(1));
        assert_eq!(state(request(LAB_KEY)), AccessState::Granted);
        assert_eq!(
            state(request(LAB_KEY)),
            AccessState::Denied(DenyReason::UsesExhausted)
        );
        assert_ok!(ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), c));
        assert_eq!(
            state(request(LAB_KEY)),
            AccessState::Denied(DenyReason::Revoked)
        );
        assert_ok!(ConsentPallet::grant(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT,
            Grantee::Institution(LAB),
            PurposeSet::of(&[Purpose::Simulation]),
            labs(),
            None,
            Some(2_000),
            None
        ));
        assert_eq!(state(request(LAB_KEY)), AccessState::Granted);
        pallet_timestamp::Now::<Test>::put(2_000);
        assert_eq!(
            state(request(LAB_KEY)),
            AccessState::Denied(DenyReason::Expired)
        );
        grant_lab(Purpose::Inference, None);
        assert_eq!(
            state(request(LAB_KEY)),
            AccessState::Denied(DenyReason::PurposeNotCovered)
        );
    });
}

#[test]
fn requests_validate_input_and_caller() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            request_as(OUTSIDER, PSEUDONYM),
            Error::<Test>::NotRegistered
        );
        assert_noop!(request_as(PATIENT, PSEUDONYM), Error::<Test>::NotRegistered);
        assert_noop!(
            Audit::request_access(
                RuntimeOrigin::signed(LAB_KEY),
                PSEUDONYM,
                Purpose::Simulation,
                CategorySet::empty(),
                JOB
            ),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            Audit::request_access(
                RuntimeOrigin::signed(LAB_KEY),
                PSEUDONYM,
                Purpose::Simulation,
                CategorySet(1 << 14),
                JOB
            ),
            Error::<Test>::BadCategories
        );
        assert_eq!(NextAccessId::<Test>::get(), 0);
    });
}

#[test]
fn a_suspended_institution_is_recorded_denied() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        assert_ok!(identity::Pallet::<Test>::suspend_institution(
            RuntimeOrigin::root(),
            LAB
        ));
        let id = request(LAB_KEY);
        assert_eq!(
            state(id),
            AccessState::Denied(DenyReason::AccessorSuspended)
        );
    });
}

#[test]
fn unknown_and_forgotten_patients_are_denied() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let id = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, [0; 32]));
        assert_eq!(state(id), AccessState::Denied(DenyReason::UnknownSubject));
        assert_ok!(identity::Pallet::<Test>::forget(
            RuntimeOrigin::signed(PATIENT),
            SUBJECT
        ));
        assert_eq!(
            state(request(LAB_KEY)),
            AccessState::Denied(DenyReason::SubjectErased)
        );
        // Not even an emergency reopens a forgotten patient.
        let id = NextAccessId::<Test>::get();
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            PSEUDONYM,
            labs(),
            WHY,
            JOB
        ));
        assert_eq!(state(id), AccessState::Denied(DenyReason::SubjectErased));
        assert_eq!(Audit::counts(HOSPITAL).emergency, 0);
    });
}

#[test]
fn complete_closes_a_granted_record_once() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let id = request(LAB_KEY);
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                SUBJECT,
                id,
                Outcome::Completed,
                Some(RESULT)
            ),
            Error::<Test>::NotYourRecord
        );
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(OUTSIDER),
                SUBJECT,
                id,
                Outcome::Completed,
                Some(RESULT)
            ),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT,
                id,
                Outcome::Completed,
                None
            ),
            Error::<Test>::MissingResultDigest
        );
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT,
                99,
                Outcome::Failed,
                None
            ),
            Error::<Test>::UnknownAccess
        );
        // The record exists, but not under another patient.
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT + 1,
                id,
                Outcome::Failed,
                None
            ),
            Error::<Test>::UnknownAccess
        );
        pallet_timestamp::Now::<Test>::put(1_500);
        assert_ok!(Audit::complete_access(
            RuntimeOrigin::signed(LAB_KEY),
            SUBJECT,
            id,
            Outcome::Completed,
            Some(RESULT)
        ));
        System::assert_last_event(
            Event::AccessClosed {
                id,
                subject: SUBJECT,
                institution: LAB,
                outcome: Outcome::Completed,
                result_digest: Some(RESULT),
            }
            .into(),
        );
        let r = record(id);
        assert_eq!(
            (r.state, r.result_digest, r.closed_at),
            (
                AccessState::Closed(Outcome::Completed),
                Some(RESULT),
                Some(1_500)
            )
        );
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT,
                id,
                Outcome::Aborted,
                None
            ),
            Error::<Test>::NotOpen
        );
        let counts = Audit::counts(LAB);
        assert_eq!((counts.granted, counts.completed), (0, 1));
        // A denied record cannot be closed either.
        let denied = NextAccessId::<Test>::get();
        assert_ok!(Audit::request_access(
            RuntimeOrigin::signed(LAB_KEY),
            PSEUDONYM,
            Purpose::Research,
            labs(),
            JOB
        ));
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(LAB_KEY),
                SUBJECT,
                denied,
                Outcome::Failed,
                None
            ),
            Error::<Test>::NotOpen
        );
    });
}

#[test]
fn emergency_access_is_flagged_counted_and_announced() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Audit::emergency_access(RuntimeOrigin::signed(LAB_KEY), PSEUDONYM, labs(), WHY, JOB),
            Error::<Test>::NotCustodian
        );
        assert_noop!(
            Audit::emergency_access(RuntimeOrigin::signed(OUTSIDER), PSEUDONYM, labs(), WHY, JOB),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Audit::emergency_access(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                PSEUDONYM,
                CategorySet::empty(),
                WHY,
                JOB
            ),
            Error::<Test>::BadCategories
        );
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            PSEUDONYM,
            labs(),
            WHY,
            JOB
        ));
        System::assert_last_event(
            Event::EmergencyAccess {
                id: 0,
                institution: HOSPITAL,
                subject: SUBJECT,
                justification: WHY,
            }
            .into(),
        );
        let r = record(0);
        assert_eq!(
            (r.state, r.emergency, r.purpose),
            (AccessState::Granted, Some(WHY), Purpose::Treatment)
        );
        assert!(r.consents.is_empty());
        assert_eq!(Audit::counts(HOSPITAL).emergency, 1);
        // The second key of the same institution may close it.
        assert_ok!(Audit::complete_access(
            RuntimeOrigin::signed(HOSPITAL_KEY_2),
            SUBJECT,
            0,
            Outcome::Completed,
            Some(RESULT)
        ));
        // A suspended custodian's emergency is recorded, denied.
        assert_ok!(identity::Pallet::<Test>::suspend_institution(
            RuntimeOrigin::root(),
            HOSPITAL
        ));
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            PSEUDONYM,
            labs(),
            WHY,
            JOB
        ));
        assert_eq!(state(1), AccessState::Denied(DenyReason::AccessorSuspended));
        // Unknown pseudonyms are recorded denied too.
        assert_ok!(identity::Pallet::<Test>::reinstate_institution(
            RuntimeOrigin::root(),
            HOSPITAL
        ));
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [3; 32],
            labs(),
            WHY,
            JOB
        ));
        assert_eq!(state(2), AccessState::Denied(DenyReason::UnknownSubject));
    });
}
