//! Unit tests: every call's success path and every error variant.

use crate::{mock::*, *};
use consentry_primitives::{Role, RoleSet};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::{BuildStorage, DispatchError};

pub(crate) const HOSPITAL_KEY: u64 = 10;
const LAB_KEY: u64 = 20;
const PATIENT: u64 = 100;
const GUARDIAN: u64 = 200;
const P1: [u8; 32] = [1; 32];
const P2: [u8; 32] = [2; 32];

fn custodian() -> RoleSet {
    RoleSet::of(&[Role::DataCustodian])
}

/// Hospital (id 0, custodian, key 10) and research lab (id 1, researcher, key 20).
pub(crate) fn setup() {
    assert_ok!(Identity::register_institution(
        RuntimeOrigin::root(),
        b"Hospital".to_vec(),
        custodian()
    ));
    assert_ok!(Identity::add_service_key(
        RuntimeOrigin::root(),
        0,
        HOSPITAL_KEY
    ));
    assert_ok!(Identity::register_institution(
        RuntimeOrigin::root(),
        b"Lab".to_vec(),
        RoleSet::of(&[Role::Researcher])
    ));
    assert_ok!(Identity::add_service_key(RuntimeOrigin::root(), 1, LAB_KEY));
}

fn enrolled_and_claimed() -> SubjectId {
    setup();
    assert_ok!(Identity::enrol(
        RuntimeOrigin::signed(HOSPITAL_KEY),
        P1,
        PATIENT
    ));
    assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), P1));
    SubjectOfAccount::<Test>::get(PATIENT).unwrap()
}

#[test]
fn governance_registers_institutions_and_only_governance() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::signed(1), b"X".to_vec(), custodian()),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::root(), vec![], custodian()),
            Error::<Test>::BadName
        );
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::root(), vec![b'a'; 33], custodian()),
            Error::<Test>::BadName
        );
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::root(), b"X".to_vec(), RoleSet::empty()),
            Error::<Test>::BadRoles
        );
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::root(), b"X".to_vec(), RoleSet(0x80)),
            Error::<Test>::BadRoles
        );
        assert_ok!(Identity::register_institution(
            RuntimeOrigin::root(),
            b"Hospital".to_vec(),
            custodian()
        ));
        let i = Institutions::<Test>::get(0).unwrap();
        assert_eq!(i.name.to_vec(), b"Hospital".to_vec());
        assert_eq!(i.status, InstitutionStatus::Active);
        System::assert_last_event(
            Event::InstitutionRegistered {
                institution: 0,
                roles: custodian(),
            }
            .into(),
        );
        assert_eq!(NextInstitutionId::<Test>::get(), 1);
    });
}

#[test]
fn roles_suspension_and_reinstatement() {
    new_test_ext().execute_with(|| {
        setup();
        let both = RoleSet::of(&[Role::DataCustodian, Role::Auditor]);
        assert_ok!(Identity::set_roles(RuntimeOrigin::root(), 0, both));
        assert_eq!(Institutions::<Test>::get(0).unwrap().roles, both);
        assert_noop!(
            Identity::set_roles(RuntimeOrigin::root(), 9, both),
            Error::<Test>::UnknownInstitution
        );
        assert_noop!(
            Identity::set_roles(RuntimeOrigin::root(), 0, RoleSet::empty()),
            Error::<Test>::BadRoles
        );
        assert_noop!(
            Identity::set_roles(RuntimeOrigin::signed(HOSPITAL_KEY), 0, both),
            DispatchError::BadOrigin
        );

        assert_noop!(
            Identity::reinstate_institution(RuntimeOrigin::root(), 0),
            Error::<Test>::NotSuspended
        );
        assert_ok!(Identity::suspend_institution(RuntimeOrigin::root(), 0));
        assert_eq!(
            Identity::accessor_status(&HOSPITAL_KEY),
            AccessorStatus::Suspended { institution: 0 }
        );
        assert_noop!(
            Identity::suspend_institution(RuntimeOrigin::root(), 0),
            Error::<Test>::AlreadySuspended
        );
        assert_noop!(
            Identity::suspend_institution(RuntimeOrigin::root(), 7),
            Error::<Test>::UnknownInstitution
        );
        // A suspended custodian cannot enrol.
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), P1, PATIENT),
            Error::<Test>::Suspended
        );
        assert_ok!(Identity::reinstate_institution(RuntimeOrigin::root(), 0));
        assert_noop!(
            Identity::reinstate_institution(RuntimeOrigin::root(), 7),
            Error::<Test>::UnknownInstitution
        );
        assert_eq!(
            Identity::accessor_status(&HOSPITAL_KEY),
            AccessorStatus::Active {
                institution: 0,
                roles: both
            }
        );
    });
}

#[test]
fn service_keys_are_unique_bounded_and_give_a_provider() {
    new_test_ext().execute_with(|| {
        setup();
        assert_eq!(System::providers(&HOSPITAL_KEY), 1);
        assert_noop!(
            Identity::add_service_key(RuntimeOrigin::root(), 1, HOSPITAL_KEY),
            Error::<Test>::KeyInUse
        );
        assert_noop!(
            Identity::add_service_key(RuntimeOrigin::root(), 5, 11),
            Error::<Test>::UnknownInstitution
        );
        assert_ok!(Identity::add_service_key(RuntimeOrigin::root(), 0, 11));
        assert_ok!(Identity::add_service_key(RuntimeOrigin::root(), 0, 12));
        assert_noop!(
            Identity::add_service_key(RuntimeOrigin::root(), 0, 13),
            Error::<Test>::TooManyKeys
        );
        // Another key of the same institution may retire a key; a foreign key may not.
        assert_noop!(
            Identity::remove_service_key(RuntimeOrigin::signed(LAB_KEY), 11),
            Error::<Test>::UnknownKey
        );
        assert_ok!(Identity::remove_service_key(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            11
        ));
        assert_eq!(System::providers(&11), 0);
        assert_eq!(
            Identity::accessor_status(&11),
            AccessorStatus::NotRegistered
        );
        assert_noop!(
            Identity::remove_service_key(RuntimeOrigin::root(), 11),
            Error::<Test>::UnknownKey
        );
        assert_ok!(Identity::remove_service_key(RuntimeOrigin::root(), 12));
        assert_eq!(
            Institutions::<Test>::get(0).unwrap().service_keys.to_vec(),
            vec![HOSPITAL_KEY]
        );
    });
}

#[test]
fn removing_an_institution_withdraws_its_keys_but_keeps_pseudonyms() {
    new_test_ext().execute_with(|| {
        let subject = enrolled_and_claimed();
        assert_noop!(
            Identity::remove_institution(RuntimeOrigin::signed(1), 0),
            DispatchError::BadOrigin
        );
        assert_ok!(Identity::remove_institution(RuntimeOrigin::root(), 0));
        assert_noop!(
            Identity::remove_institution(RuntimeOrigin::root(), 0),
            Error::<Test>::UnknownInstitution
        );
        assert_eq!(
            Identity::accessor_status(&HOSPITAL_KEY),
            AccessorStatus::NotRegistered
        );
        assert_eq!(System::providers(&HOSPITAL_KEY), 0);
        assert_eq!(Identity::resolve(&P1), Ok(subject));
    });
}

/// The TLS key federated peers are pinned to: set by the institution's own key while active, or by
/// governance; rotated by setting again; gone with the institution.
#[test]
fn an_institution_sets_its_own_transport_key_while_active() {
    new_test_ext().execute_with(|| {
        setup();
        let set = |origin, institution, key| Identity::set_transport_key(origin, institution, key);
        assert_noop!(
            set(RuntimeOrigin::signed(LAB_KEY), 0, [1; 32]),
            Error::<Test>::UnknownKey
        );
        assert_noop!(
            set(RuntimeOrigin::signed(PATIENT), 0, [1; 32]),
            Error::<Test>::UnknownKey
        );
        assert_noop!(
            set(RuntimeOrigin::root(), 7, [1; 32]),
            Error::<Test>::UnknownInstitution
        );
        assert_ok!(set(RuntimeOrigin::signed(HOSPITAL_KEY), 0, [1; 32]));
        System::assert_last_event(
            Event::TransportKeySet {
                institution: 0,
                key: [1; 32],
            }
            .into(),
        );
        assert_eq!(TransportKeys::<Test>::get(0), Some([1; 32]));
        assert_eq!(TransportKeys::<Test>::get(1), None);
        // Rotated.
        assert_ok!(set(RuntimeOrigin::signed(HOSPITAL_KEY), 0, [2; 32]));
        assert_eq!(TransportKeys::<Test>::get(0), Some([2; 32]));
        // Suspended: its own keys cannot re-key it, governance can.
        assert_ok!(Identity::suspend_institution(RuntimeOrigin::root(), 0));
        assert_noop!(
            set(RuntimeOrigin::signed(HOSPITAL_KEY), 0, [3; 32]),
            Error::<Test>::Suspended
        );
        assert_ok!(set(RuntimeOrigin::root(), 0, [4; 32]));
        assert_eq!(TransportKeys::<Test>::get(0), Some([4; 32]));
        assert_ok!(Identity::remove_institution(RuntimeOrigin::root(), 0));
        assert_eq!(TransportKeys::<Test>::get(0), None);
    });
}

#[test]
fn enrol_needs_an_active_custodian_and_a_fresh_pseudonym() {
    new_test_ext().execute_with(|| {
        setup();
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(999), P1, PATIENT),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(LAB_KEY), P1, PATIENT),
            Error::<Test>::NotCustodian
        );
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), P1, LAB_KEY),
            Error::<Test>::KeyInUse
        );
        assert_eq!(System::providers(&PATIENT), 0);
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            P1,
            PATIENT
        ));
        System::assert_last_event(
            Event::Enrolled {
                pseudonym: P1,
                institution: 0,
                patient: PATIENT,
            }
            .into(),
        );
        // The addressee can now sign its claim, but is not yet a registered account.
        assert_eq!(System::providers(&PATIENT), 1);
        assert!(!Identity::is_registered_account(&PATIENT));
        assert!(Identity::is_claimable_by(&P1, &PATIENT));
        assert!(!Identity::is_claimable_by(&P1, &GUARDIAN));
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), P1, 101),
            Error::<Test>::PseudonymTaken
        );
        assert_eq!(
            Identity::resolve(&P1),
            Err(false),
            "unclaimed pseudonyms do not resolve"
        );
    });
}

#[test]
fn claim_links_every_pseudonym_of_a_patient_to_one_subject() {
    new_test_ext().execute_with(|| {
        setup();
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            P1,
            PATIENT
        ));
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            P2,
            PATIENT
        ));
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(PATIENT), [9; 32]),
            Error::<Test>::UnknownPseudonym
        );
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(GUARDIAN), P1),
            Error::<Test>::NotAddressee
        );
        assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), P1));
        let subject = SubjectOfAccount::<Test>::get(PATIENT).unwrap();
        System::assert_last_event(
            Event::Claimed {
                pseudonym: P1,
                subject,
                patient: PATIENT,
            }
            .into(),
        );
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(PATIENT), P1),
            Error::<Test>::AlreadyClaimed
        );
        assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), P2));
        assert_eq!(Identity::resolve(&P1), Ok(subject));
        assert_eq!(Identity::resolve(&P2), Ok(subject));
        assert_eq!(
            Subjects::<Test>::get(subject).unwrap().pseudonyms.to_vec(),
            vec![P1, P2]
        );
        assert!(Identity::is_registered_account(&PATIENT));
        // One provider for the subject; the pending enrolments' references are gone.
        assert_eq!(System::providers(&PATIENT), 1);
        assert_eq!(AccountRefs::<Test>::get(PATIENT), 0);
    });
}

#[test]
fn a_subject_holds_a_bounded_number_of_pseudonyms() {
    new_test_ext().execute_with(|| {
        setup();
        // Enrolled and claimed one at a time (an account holds at most as many unclaimed
        // enrolments as a subject may hold pseudonyms).
        for p in 1..=4u8 {
            assert_ok!(Identity::enrol(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                [p; 32],
                PATIENT
            ));
            if p < 4 {
                assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), [p; 32]));
            }
        }
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(PATIENT), [4; 32]),
            Error::<Test>::TooManyPseudonyms
        );
    });
}

#[test]
fn guardians_are_appointed_by_the_patient_and_act_only_while_appointed() {
    new_test_ext().execute_with(|| {
        let subject = enrolled_and_claimed();
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(GUARDIAN), 300),
            Error::<Test>::NotPatient
        );
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(PATIENT), PATIENT),
            Error::<Test>::BadGuardian
        );
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(PATIENT), HOSPITAL_KEY),
            Error::<Test>::BadGuardian
        );
        assert_noop!(
            Identity::ensure_patient_or_guardian(&GUARDIAN, subject),
            Error::<Test>::NotPatientOrGuardian
        );
        assert_ok!(Identity::appoint_guardian(
            RuntimeOrigin::signed(PATIENT),
            GUARDIAN
        ));
        System::assert_last_event(
            Event::GuardianAppointed {
                subject,
                guardian: GUARDIAN,
            }
            .into(),
        );
        assert!(Identity::is_registered_account(&GUARDIAN));
        assert_eq!(System::providers(&GUARDIAN), 1);
        assert_ok!(Identity::ensure_patient_or_guardian(&GUARDIAN, subject));
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(PATIENT), GUARDIAN),
            Error::<Test>::AlreadyGuardian
        );
        assert_ok!(Identity::appoint_guardian(
            RuntimeOrigin::signed(PATIENT),
            201
        ));
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(PATIENT), 202),
            Error::<Test>::TooManyGuardians
        );
        // Only the patient or the guardian itself may remove a guardian.
        assert_noop!(
            Identity::remove_guardian(RuntimeOrigin::signed(201), subject, GUARDIAN),
            Error::<Test>::NotPatientOrGuardian
        );
        assert_noop!(
            Identity::remove_guardian(RuntimeOrigin::signed(PATIENT), 77, GUARDIAN),
            Error::<Test>::UnknownSubject
        );
        assert_ok!(Identity::remove_guardian(
            RuntimeOrigin::signed(GUARDIAN),
            subject,
            GUARDIAN
        ));
        assert_noop!(
            Identity::remove_guardian(RuntimeOrigin::signed(PATIENT), subject, GUARDIAN),
            Error::<Test>::NotGuardian
        );
        assert_noop!(
            Identity::ensure_patient_or_guardian(&GUARDIAN, subject),
            Error::<Test>::NotPatientOrGuardian
        );
        assert!(!Identity::is_registered_account(&GUARDIAN));
        assert_eq!(System::providers(&GUARDIAN), 0);
    });
}

#[test]
fn forget_erases_links_removes_guardians_and_tells_dependents() {
    new_test_ext().execute_with(|| {
        let subject = enrolled_and_claimed();
        assert_ok!(Identity::appoint_guardian(
            RuntimeOrigin::signed(PATIENT),
            GUARDIAN
        ));
        assert_noop!(
            Identity::forget(RuntimeOrigin::signed(LAB_KEY), subject),
            Error::<Test>::NotPatientOrGuardian
        );
        assert_noop!(
            Identity::forget(RuntimeOrigin::signed(GUARDIAN), 55),
            Error::<Test>::UnknownSubject
        );
        assert_ok!(Identity::forget(RuntimeOrigin::signed(GUARDIAN), subject));
        System::assert_last_event(
            Event::Forgotten {
                subject,
                by: GUARDIAN,
            }
            .into(),
        );
        assert_eq!(Erased::get(), vec![subject]);
        assert_eq!(Identity::resolve(&P1), Err(true));
        assert!(Identity::is_erased(subject));
        assert!(!Guardians::<Test>::contains_key(subject, GUARDIAN));
        // Nothing more can be done for a forgotten subject, by anyone.
        assert_noop!(
            Identity::forget(RuntimeOrigin::signed(PATIENT), subject),
            Error::<Test>::SubjectErased
        );
        // The account is no longer linked to the subject: it is no patient any more, and a new
        // enrolment addressed to it would start a new subject (the old links stay erased).
        assert_eq!(SubjectOfAccount::<Test>::get(PATIENT), None);
        assert_eq!(Subjects::<Test>::get(subject).unwrap().account, None);
        assert_eq!(Pseudonyms::<Test>::get(P1).unwrap().patient, None);
        assert!(!Identity::is_registered_account(&PATIENT));
        assert_eq!(System::providers(&PATIENT), 0);
        assert_noop!(
            Identity::appoint_guardian(RuntimeOrigin::signed(PATIENT), 300),
            Error::<Test>::NotPatient
        );
    });
}

/// Erasure leaves nothing in the whole state that names the patient's account: not in a key, not
/// in a value (the pallet's links and subject, `SubjectOfAccount`, `frame_system`'s account), while
/// the erased links still refuse to resolve.
#[test]
fn forget_leaves_no_trace_of_the_account_in_state() {
    const ACCOUNT: u64 = 0x5EED_C0DE_1234_5678;
    new_test_ext().execute_with(|| {
        setup();
        for p in [P1, P2] {
            assert_ok!(Identity::enrol(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                p,
                ACCOUNT
            ));
            assert_ok!(Identity::claim(RuntimeOrigin::signed(ACCOUNT), p));
        }
        let subject = SubjectOfAccount::<Test>::get(ACCOUNT).unwrap();
        assert_ok!(Identity::appoint_guardian(
            RuntimeOrigin::signed(ACCOUNT),
            GUARDIAN
        ));
        // An enrolment at a third institution the patient has not claimed yet.
        let pending = [3; 32];
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            pending,
            ACCOUNT
        ));
        let needle = ACCOUNT.to_le_bytes();
        assert!(!keys_or_values_containing(&needle).is_empty());
        assert_ok!(Identity::forget(RuntimeOrigin::signed(ACCOUNT), subject));
        // Events are not kept: the next block starts without them.
        System::reset_events();
        assert_eq!(keys_or_values_containing(&needle), Vec::<Vec<u8>>::new());
        for p in [P1, P2] {
            let link = Pseudonyms::<Test>::get(p).unwrap();
            assert_eq!(
                (link.patient, link.subject, link.erased),
                (None, Some(subject), true)
            );
            assert_eq!(Identity::resolve(&p), Err(true));
        }
        let link = Pseudonyms::<Test>::get(pending).unwrap();
        assert_eq!(
            (link.patient, link.subject, link.erased),
            (None, None, true)
        );
        assert_eq!(Identity::resolve(&pending), Err(true));
        assert!(Identity::is_erased(subject));
        for p in [P1, pending] {
            assert_noop!(
                Identity::claim(RuntimeOrigin::signed(ACCOUNT), p),
                Error::<Test>::NotAddressee
            );
        }
    });
}

/// Every storage key whose key or value contains `needle`, walking the whole state.
fn keys_or_values_containing(needle: &[u8]) -> Vec<Vec<u8>> {
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut found = Vec::new();
    let mut key = Vec::new();
    while let Some(next) = sp_io::storage::next_key(&key) {
        let value = sp_io::storage::get(&next).unwrap_or_default();
        if contains(&next) || contains(&value) {
            found.push(next.clone());
        }
        key = next;
    }
    found
}

/// The consent decision trusts `resolve` alone for a subject's liveness (it skips reading the
/// subject): a pseudonym that resolves must never name a forgotten subject, whichever of the
/// subject's links, claimed before or pending at the time of forgetting, is asked about.
#[test]
fn a_resolving_pseudonym_never_names_a_forgotten_subject() {
    new_test_ext().execute_with(|| {
        let subject = enrolled_and_claimed();
        let p3 = [3; 32];
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            P2,
            PATIENT
        ));
        assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), P2));
        // Pending when the patient is forgotten.
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            p3,
            PATIENT
        ));
        assert_eq!(Identity::resolve(&P2), Ok(subject));
        assert_ok!(Identity::forget(RuntimeOrigin::signed(PATIENT), subject));
        assert_eq!(Identity::resolve(&P1), Err(true));
        assert_eq!(Identity::resolve(&P2), Err(true));
        // The enrolment pending at the time named the account too: it is erased with the rest,
        // and the erased account cannot claim it into a new subject.
        assert_eq!(Identity::resolve(&p3), Err(true));
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(PATIENT), p3),
            Error::<Test>::NotAddressee
        );
        assert_eq!(PendingEnrolments::<Test>::iter_prefix(PATIENT).count(), 0);
        // A hospital may enrol the person again, under a new pseudonym: that starts a new subject.
        let p4 = [4; 32];
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            p4,
            PATIENT
        ));
        assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), p4));
        let fresh = Identity::resolve(&p4).unwrap();
        assert_ne!(fresh, subject);
        assert!(!Identity::is_erased(fresh));
        assert_eq!(Identity::resolve(&P1), Err(true));
    });
}

/// An account holds at most `MaxPseudonymsPerSubject` unclaimed enrolments (what `forget` has to
/// erase is bounded); claiming one frees its place.
#[test]
fn pending_enrolments_are_bounded_per_account_and_claims_free_them() {
    new_test_ext().execute_with(|| {
        setup();
        let max =
            <<Test as Config>::MaxPseudonymsPerSubject as frame_support::traits::Get<u32>>::get()
                as u8;
        for i in 0..max {
            assert_ok!(Identity::enrol(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                [10 + i; 32],
                PATIENT
            ));
        }
        assert_eq!(
            PendingEnrolments::<Test>::iter_prefix(PATIENT).count(),
            usize::from(max)
        );
        assert_noop!(
            Identity::enrol(RuntimeOrigin::signed(HOSPITAL_KEY), [99; 32], PATIENT),
            Error::<Test>::TooManyPending
        );
        // Another account is not affected.
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [98; 32],
            PATIENT + 1
        ));
        assert_ok!(Identity::claim(RuntimeOrigin::signed(PATIENT), [10; 32]));
        assert!(!PendingEnrolments::<Test>::contains_key(PATIENT, [10; 32]));
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [99; 32],
            PATIENT
        ));
    });
}

#[test]
fn genesis_registers_institutions_with_keys() {
    let mut t = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    crate::GenesisConfig::<Test> {
        institutions: vec![(b"Genesis Hospital".to_vec(), custodian(), vec![7, 8])],
    }
    .assimilate_storage(&mut t)
    .unwrap();
    sp_io::TestExternalities::new(t).execute_with(|| {
        assert_eq!(ServiceKeys::<Test>::get(7), Some(0));
        assert_eq!(ServiceKeys::<Test>::get(8), Some(0));
        assert_eq!(System::providers(&7), 1);
        assert!(Identity::is_registered_account(&8));
    });
}

#[test]
fn id_counters_refuse_to_overflow() {
    new_test_ext().execute_with(|| {
        NextInstitutionId::<Test>::put(u32::MAX);
        assert_noop!(
            Identity::register_institution(RuntimeOrigin::root(), b"Last".to_vec(), custodian()),
            Error::<Test>::Overflow
        );
        NextInstitutionId::<Test>::put(0);
        setup();
        assert_ok!(Identity::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            P1,
            PATIENT
        ));
        NextSubjectId::<Test>::put(u64::MAX);
        assert_noop!(
            Identity::claim(RuntimeOrigin::signed(PATIENT), P1),
            Error::<Test>::Overflow
        );
    });
}
