//! Erasure and what patients see: nothing on chain links a forgotten patient's account to them,
//! access stays refused and the log stays; records made before a patient claimed, or refused after
//! erasure, are found under the pseudonym and in the patient's records.

use super::*;

/// A patient account whose bytes occur nowhere else in the mock's state.
const ACCOUNT: u64 = 0x5EED_C0DE_1234_5678;
const MINE: [u8; 32] = [0x42; 32];
const OTHER: [u8; 32] = [0x43; 32];

/// Every storage key whose key or value contains `needle`, walking the whole state from the empty
/// key.
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

fn ids(records: &[RecordOf<Test>]) -> Vec<AccessId> {
    records.iter().map(|r| r.id).collect()
}

/// The patient's records as its wallet reads them, all pages of `limit`.
fn all_records_of(subject: SubjectId, limit: u32) -> Vec<AccessId> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let (page, next) = Audit::records_by_subject(Some(subject), before, limit);
        assert!(page.len() <= limit as usize);
        out.extend(ids(&page));
        match next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

#[test]
fn forget_leaves_no_link_to_the_account_anywhere_in_state_and_keeps_refusing() {
    new_test_ext().execute_with(|| {
        // A patient with two pseudonyms, a guardian, consents (one revoked) and records.
        enrol_and_claim(MINE, ACCOUNT);
        assert_ok!(identity::Pallet::<Test>::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            OTHER,
            ACCOUNT
        ));
        assert_ok!(identity::Pallet::<Test>::claim(
            RuntimeOrigin::signed(ACCOUNT),
            OTHER
        ));
        let subject = identity::SubjectOfAccount::<Test>::get(ACCOUNT).unwrap();
        assert_ok!(identity::Pallet::<Test>::appoint_guardian(
            RuntimeOrigin::signed(ACCOUNT),
            555
        ));
        for (purpose, revoke) in [(Purpose::Simulation, false), (Purpose::Research, true)] {
            let id = consent::NextConsentId::<Test>::get();
            assert_ok!(ConsentPallet::grant(
                RuntimeOrigin::signed(ACCOUNT),
                subject,
                Grantee::Institution(LAB),
                PurposeSet::of(&[purpose]),
                labs(),
                None,
                None,
                Some(5)
            ));
            if revoke {
                assert_ok!(ConsentPallet::revoke(RuntimeOrigin::signed(ACCOUNT), id));
            }
        }
        let granted = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, MINE));
        assert_eq!(state(granted), AccessState::Granted);
        let denied = NextAccessId::<Test>::get();
        assert_ok!(request_as(HOSPITAL_KEY, OTHER));
        assert_eq!(state(denied), AccessState::Denied(DenyReason::NoConsent));
        let needle = ACCOUNT.to_le_bytes();
        assert!(!keys_or_values_containing(&needle).is_empty());

        assert_ok!(identity::Pallet::<Test>::forget(
            RuntimeOrigin::signed(ACCOUNT),
            subject
        ));
        // Events are not state that stays: the next block starts without them.
        System::reset_events();
        assert_eq!(
            keys_or_values_containing(&needle),
            Vec::<Vec<u8>>::new(),
            "a key or value still holds the forgotten patient's account"
        );
        // No pseudonym maps to an account of the subject, and no account to the subject.
        for (_, link) in identity::Pseudonyms::<Test>::iter() {
            if link.subject == Some(subject) {
                assert_eq!((link.patient, link.erased), (None, true));
            }
        }
        assert!(identity::SubjectOfAccount::<Test>::iter().all(|(_, s)| s != subject));
        assert_eq!(
            identity::Subjects::<Test>::get(subject).unwrap().account,
            None
        );

        // Access stays refused, emergencies too, and the log stays.
        for (who, pseudonym) in [(LAB_KEY, MINE), (HOSPITAL_KEY, OTHER)] {
            let id = NextAccessId::<Test>::get();
            assert_ok!(request_as(who, pseudonym));
            assert_eq!(state(id), AccessState::Denied(DenyReason::SubjectErased));
        }
        let emergency = NextAccessId::<Test>::get();
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            MINE,
            labs(),
            WHY,
            JOB
        ));
        assert_eq!(
            state(emergency),
            AccessState::Denied(DenyReason::SubjectErased)
        );
        assert_eq!(state(granted), AccessState::Granted);
        assert_eq!(record(granted).subject, Some(subject));
        assert_eq!(state(denied), AccessState::Denied(DenyReason::NoConsent));
        // The refused emergency is stored under no subject and found by its pseudonym, and in the
        // forgotten subject's records with the rest.
        assert_eq!(record(emergency).subject, None);
        assert_eq!(
            ids(&Audit::records_by_pseudonym(MINE, None, 10).0),
            vec![emergency]
        );
        let all = all_records_of(subject, 10);
        assert_eq!(all, (granted..=emergency).rev().collect::<Vec<_>>());
        // The erased pseudonyms cannot be claimed again.
        assert_noop!(
            identity::Pallet::<Test>::claim(RuntimeOrigin::signed(ACCOUNT), MINE),
            identity::Error::<Test>::NotAddressee
        );
    });
}

#[test]
fn records_made_before_the_patient_claims_are_the_patients_once_claimed() {
    new_test_ext().execute_with(|| {
        assert_ok!(identity::Pallet::<Test>::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            MINE,
            ACCOUNT
        ));
        // Asked about before the patient claims: refused, under no subject.
        let early = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, MINE));
        let emergency = NextAccessId::<Test>::get();
        assert_ok!(Audit::emergency_access(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            MINE,
            labs(),
            WHY,
            JOB
        ));
        for id in [early, emergency] {
            assert_eq!(state(id), AccessState::Denied(DenyReason::UnknownSubject));
            assert_eq!(record(id).subject, None);
        }
        // Someone else's pseudonym, also unclaimed, stays out of this patient's records.
        let theirs = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, OTHER));
        assert_eq!(
            ids(&Audit::records_by_pseudonym(MINE, None, 10).0),
            vec![emergency, early]
        );

        assert_ok!(identity::Pallet::<Test>::claim(
            RuntimeOrigin::signed(ACCOUNT),
            MINE
        ));
        let subject = identity::SubjectOfAccount::<Test>::get(ACCOUNT).unwrap();
        let later = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, MINE));
        assert_eq!(record(later).subject, Some(subject));

        // The patient's records: the one under the subject and the two made before the claim,
        // newest first, on one page or across pages.
        let (page, next) = Audit::records_by_subject(Some(subject), None, 10);
        assert_eq!(ids(&page), vec![later, emergency, early]);
        assert_eq!(next, None);
        assert!(!ids(&page).contains(&theirs));
        assert_eq!(all_records_of(subject, 1), vec![later, emergency, early]);
        assert_eq!(all_records_of(subject, 2), vec![later, emergency, early]);
        let (page, next) = Audit::records_by_subject(Some(subject), Some(later), 1);
        assert_eq!((ids(&page), next), (vec![emergency], Some(emergency)));
        // The records themselves are where they were: proofs and the indexer name them the same.
        assert_eq!(Audit::record(None, early).unwrap().id, early);
        // Everything under no subject is still listed as such.
        assert_eq!(
            ids(&Audit::records_by_subject(None, None, 10).0),
            vec![theirs, emergency, early]
        );
    });
}

#[test]
fn a_refused_emergency_pays_for_its_pseudonym_index_and_a_granted_one_does_not() {
    new_test_ext().execute_with(|| {
        let write = <Test as frame_system::Config>::DbWeight::get().writes(1);
        let charged = cost::emergency::<Test>();
        assert_eq!(
            charged,
            <Test as Config>::WeightInfo::emergency_access() + write
        );
        let used = |pseudonym| {
            Audit::emergency_access(
                RuntimeOrigin::signed(HOSPITAL_KEY),
                pseudonym,
                labs(),
                WHY,
                JOB,
            )
            .unwrap()
            .actual_weight
            .unwrap()
        };
        // No page is written by the first records: that write is refunded in both cases.
        assert_eq!(used(MINE), charged - write);
        assert_eq!(PseudonymRecords::<Test>::iter_keys().count(), 1);
        assert_eq!(used(PSEUDONYM), charged - write - write);
        assert_eq!(PseudonymRecords::<Test>::iter_keys().count(), 1);
    });
}
