//! Unit tests for every call and error, and property tests of the log's invariants.

use crate::{mock::*, *};
use consentry_primitives::{CategorySet, DataCategory as C, Grantee, PurposeSet};
use frame_support::{assert_noop, assert_ok, weights::Weight, BoundedVec};
use pallet_consentry_consent as consent;
use pallet_consentry_identity as identity;

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

fn request(who: u64) -> AccessId {
    let id = NextAccessId::<Test>::get();
    assert_ok!(Audit::request_access(
        RuntimeOrigin::signed(who),
        PSEUDONYM,
        Purpose::Simulation,
        labs(),
        JOB
    ));
    assert_eq!(
        NextAccessId::<Test>::get(),
        id + 1,
        "exactly one record per request"
    );
    id
}

fn state(id: AccessId) -> AccessState {
    Records::<Test>::get(id).unwrap().state
}

#[test]
fn a_permitted_request_is_recorded_granted_with_its_consents() {
    new_test_ext().execute_with(|| {
        let c = grant_lab(Purpose::Simulation, None);
        let id = request(LAB_KEY);
        let r = Records::<Test>::get(id).unwrap();
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
        assert_eq!(Audit::records_by_subject(SUBJECT, None, 10).0.len(), 1);
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
            Audit::request_access(
                RuntimeOrigin::signed(OUTSIDER),
                PSEUDONYM,
                Purpose::Simulation,
                labs(),
                JOB
            ),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Audit::request_access(
                RuntimeOrigin::signed(PATIENT),
                PSEUDONYM,
                Purpose::Simulation,
                labs(),
                JOB
            ),
            Error::<Test>::NotRegistered
        );
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
        assert_ok!(Audit::request_access(
            RuntimeOrigin::signed(LAB_KEY),
            [0; 32],
            Purpose::Simulation,
            labs(),
            JOB
        ));
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
                id,
                Outcome::Completed,
                Some(RESULT)
            ),
            Error::<Test>::NotYourRecord
        );
        assert_noop!(
            Audit::complete_access(
                RuntimeOrigin::signed(OUTSIDER),
                id,
                Outcome::Completed,
                Some(RESULT)
            ),
            Error::<Test>::NotRegistered
        );
        assert_noop!(
            Audit::complete_access(RuntimeOrigin::signed(LAB_KEY), id, Outcome::Completed, None),
            Error::<Test>::MissingResultDigest
        );
        assert_noop!(
            Audit::complete_access(RuntimeOrigin::signed(LAB_KEY), 99, Outcome::Failed, None),
            Error::<Test>::UnknownAccess
        );
        pallet_timestamp::Now::<Test>::put(1_500);
        assert_ok!(Audit::complete_access(
            RuntimeOrigin::signed(LAB_KEY),
            id,
            Outcome::Completed,
            Some(RESULT)
        ));
        System::assert_last_event(
            Event::AccessClosed {
                id,
                institution: LAB,
                outcome: Outcome::Completed,
                result_digest: Some(RESULT),
            }
            .into(),
        );
        let r = Records::<Test>::get(id).unwrap();
        assert_eq!(
            (r.state, r.result_digest, r.closed_at),
            (
                AccessState::Closed(Outcome::Completed),
                Some(RESULT),
                Some(1_500)
            )
        );
        assert_noop!(
            Audit::complete_access(RuntimeOrigin::signed(LAB_KEY), id, Outcome::Aborted, None),
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
        let r = Records::<Test>::get(0).unwrap();
        assert_eq!(
            (r.state, r.emergency, r.purpose),
            (AccessState::Granted, Some(WHY), Purpose::Treatment)
        );
        assert!(r.consents.is_empty());
        assert_eq!(Audit::counts(HOSPITAL).emergency, 1);
        // The second key of the same institution may close it.
        assert_ok!(Audit::complete_access(
            RuntimeOrigin::signed(HOSPITAL_KEY_2),
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

#[test]
fn batch_requests_decide_each_patient_on_its_own() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::FederatedTraining, None);
        // A second patient without consent, and an unknown pseudonym.
        assert_ok!(identity::Pallet::<Test>::enrol(
            RuntimeOrigin::signed(HOSPITAL_KEY),
            [8; 32],
            101
        ));
        assert_ok!(identity::Pallet::<Test>::claim(
            RuntimeOrigin::signed(101),
            [8; 32]
        ));
        let batch: BoundedVec<_, _> = vec![PSEUDONYM, [8; 32], [9; 32]].try_into().unwrap();
        assert_ok!(Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            batch,
            Purpose::FederatedTraining,
            labs(),
            JOB
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
                JOB
            ),
            Error::<Test>::EmptyBatch
        );
        assert_noop!(
            Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                vec![PSEUDONYM].try_into().unwrap(),
                Purpose::Research,
                CategorySet::empty(),
                JOB
            ),
            Error::<Test>::BadCategories
        );
        assert_noop!(
            Audit::request_access_batch(
                RuntimeOrigin::signed(OUTSIDER),
                vec![PSEUDONYM].try_into().unwrap(),
                Purpose::Research,
                labs(),
                JOB
            ),
            Error::<Test>::NotRegistered
        );
    });
}

#[test]
fn pages_run_newest_first_with_stable_cursors() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let ids: Vec<_> = (0..5).map(|_| request(LAB_KEY)).collect();
        let (page1, cursor) = Audit::records_by_subject(SUBJECT, None, 2);
        assert_eq!(
            page1.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ids[4], ids[3]]
        );
        let (page2, cursor) = Audit::records_by_subject(SUBJECT, cursor, 2);
        assert_eq!(
            page2.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ids[2], ids[1]]
        );
        // New records do not shift an existing cursor.
        request(LAB_KEY);
        let (page3, cursor) = Audit::records_by_subject(SUBJECT, cursor, 2);
        assert_eq!(page3.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]]);
        assert_eq!(cursor, None);
        assert_eq!(Audit::records_by_institution(LAB, None, 100).0.len(), 6);
        assert!(Audit::records_by_institution(HOSPITAL, None, 100)
            .0
            .is_empty());
    });
}

#[test]
fn indexes_move_full_tails_to_pages_and_read_across_them() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        // The mock's pages hold four ids: ten records make two full pages and a tail of two.
        let ids: Vec<_> = (0..10).map(|_| request(LAB_KEY)).collect();
        let subject = SubjectIndex::<Test>::get(SUBJECT);
        assert_eq!(
            (subject.count, subject.tail.to_vec()),
            (10, ids[8..].to_vec())
        );
        assert_eq!(
            SubjectPages::<Test>::get(SUBJECT, 0).unwrap().to_vec(),
            ids[..4]
        );
        assert_eq!(
            SubjectPages::<Test>::get(SUBJECT, 1).unwrap().to_vec(),
            ids[4..8]
        );
        assert!(!SubjectPages::<Test>::contains_key(SUBJECT, 2));
        assert_eq!(InstitutionIndex::<Test>::get(LAB).index, subject);
        let newest_first: Vec<_> = ids.iter().rev().copied().collect();
        let all = |page: (Vec<RecordOf<Test>>, Option<u32>)| {
            page.0.iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert_eq!(
            all(Audit::records_by_subject(SUBJECT, None, 100)),
            newest_first
        );
        assert_eq!(
            all(Audit::records_by_institution(LAB, None, 100)),
            newest_first
        );
        // A page of three from position 7 straddles the second page and the first.
        assert_eq!(
            Audit::records_by_subject(SUBJECT, Some(7), 3)
                .0
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            vec![ids[6], ids[5], ids[4]]
        );
    });
}

#[test]
fn page_writes_charged_up_front_are_refunded_when_not_made() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let write = <Test as frame_system::Config>::DbWeight::get().writes(1);
        assert!(write.ref_time() > 0);
        // The benchmarked case for one consent read and cited.
        let charged = <Test as Config>::WeightInfo::request_access();
        let call = || {
            Audit::request_access(
                RuntimeOrigin::signed(LAB_KEY),
                PSEUDONYM,
                Purpose::Simulation,
                labs(),
                JOB,
            )
            .unwrap()
            .actual_weight
            .unwrap()
        };
        // Records 0..3 fill the (subject and institution) tails; 4 flushes both.
        for _ in 0..4 {
            assert_eq!(call(), charged - write - write);
        }
        assert_eq!(call(), charged);
        // A batch of three new records after that: the tails hold one, so none flushes.
        let batch: BoundedVec<_, _> = vec![PSEUDONYM; 3].try_into().unwrap();
        let charged = <Test as Config>::WeightInfo::request_access_batch(3);
        let used = Audit::request_access_batch(
            RuntimeOrigin::signed(LAB_KEY),
            batch,
            Purpose::Simulation,
            labs(),
            JOB,
        )
        .unwrap()
        .actual_weight
        .unwrap();
        // At most three subject pages and one institution page could have been written.
        assert_eq!(used, charged - write.saturating_mul(4));
    });
}

fn grant(grantee: Grantee, categories: CategorySet) {
    assert_ok!(ConsentPallet::grant(
        RuntimeOrigin::signed(PATIENT),
        SUBJECT,
        grantee,
        PurposeSet::of(&[Purpose::Simulation]),
        categories,
        None,
        None,
        None
    ));
}

fn used(call: frame_support::dispatch::DispatchResultWithPostInfo) -> Weight {
    call.unwrap().actual_weight.unwrap()
}

#[test]
fn requests_pay_for_every_consent_read_and_cited_and_no_more_than_charged() {
    use frame_support::dispatch::GetDispatchInfo;
    new_test_ext().execute_with(|| {
        let w = |c, k| <Test as Config>::WeightInfo::request_access_consents(c, k);
        let single = |categories| {
            used(Audit::request_access(
                RuntimeOrigin::signed(LAB_KEY),
                PSEUDONYM,
                Purpose::Simulation,
                categories,
                JOB,
            ))
        };
        let charged = crate::Call::<Test>::request_access {
            pseudonym: PSEUDONYM,
            purpose: Purpose::Simulation,
            categories: labs(),
            job_digest: JOB,
        }
        .get_dispatch_info()
        .call_weight;
        // Records 0 to 2: no index page fills, so all three carry the same page refund.
        grant_lab(Purpose::Simulation, None);
        let one = single(labs());
        // A consent to another institution is read by the decision, not cited.
        grant(Grantee::Institution(HOSPITAL), labs());
        let two_read = single(labs());
        assert_eq!(two_read - one, w(1, 1) - w(0, 1));
        // A second category needs a second consent: three read, two cited.
        grant(Grantee::Institution(LAB), CategorySet::of(&[C::Genomic]));
        let two_cited = single(CategorySet::of(&[C::Labs, C::Genomic]));
        assert_eq!(two_cited - one, w(1, 2) - w(0, 1));
        assert!(two_read.ref_time() > one.ref_time());
        assert!(two_cited.ref_time() > two_read.ref_time());
        for actual in [one, two_read] {
            assert!(actual.all_lte(charged), "{actual:?} above {charged:?}");
        }
        // The charge covers a patient whose consent index is full, the permit citing one consent
        // per requested category; a request over more categories is charged for more.
        let max = <ConsentPallet as ConsentCheck<u64>>::max_consents_read();
        let full = w(max - 1, 1) - w(0, 1);
        assert!((<Test as Config>::WeightInfo::request_access() + full).all_lte(charged));
        let two_categories = crate::Call::<Test>::request_access {
            pseudonym: PSEUDONYM,
            purpose: Purpose::Simulation,
            categories: CategorySet::of(&[C::Labs, C::Genomic]),
            job_digest: JOB,
        }
        .get_dispatch_info()
        .call_weight;
        assert!(two_categories.ref_time() > charged.ref_time());
        assert!(two_cited.all_lte(two_categories));
    });
}

#[test]
fn batches_pay_for_every_consent_read_beyond_one_per_record() {
    new_test_ext().execute_with(|| {
        let batch = || {
            let pseudonyms: BoundedVec<_, _> = vec![PSEUDONYM; 2].try_into().unwrap();
            used(Audit::request_access_batch(
                RuntimeOrigin::signed(LAB_KEY),
                pseudonyms,
                Purpose::Simulation,
                labs(),
                JOB,
            ))
        };
        let w = |c, k| <Test as Config>::WeightInfo::request_access_consents(c, k);
        // Records 0-1 and 2-3: neither batch fills a tail.
        grant_lab(Purpose::Simulation, None);
        let one_each = batch();
        grant(Grantee::Institution(HOSPITAL), labs());
        let two_each = batch();
        // Each of the two records read one consent more.
        assert_eq!(two_each - one_each, w(2, 2) - w(0, 2));
        assert!(two_each.ref_time() > one_each.ref_time());
    });
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Grant(u8),
        Revoke(u8),
        Request(bool),
        Batch(u8),
        Emergency,
        Complete(u8, u8),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..5).prop_map(Op::Grant),
            (0u8..8).prop_map(Op::Revoke),
            any::<bool>().prop_map(Op::Request),
            (1u8..5).prop_map(Op::Batch),
            Just(Op::Emergency),
            (0u8..30, 0u8..3).prop_map(|(i, o)| Op::Complete(i, o)),
            (1u64..500).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        /// Every request makes exactly one record per patient; no call edits a closed or denied
        /// record; nothing is ever granted under a revoked, expired or exhausted consent; and the
        /// per-state counts agree with the records.
        #[test]
        fn the_log_is_append_only_and_consistent(ops in proptest::collection::vec(op(), 1..40)) {
            new_test_ext().execute_with(|| {
                let mut now = 1_000u64;
                let mut finals: Vec<(AccessId, RecordOf<Test>)> = vec![];
                for op in ops {
                    let before = NextAccessId::<Test>::get();
                    match op {
                        Op::Grant(p) => {
                            let _ = ConsentPallet::grant(RuntimeOrigin::signed(PATIENT), SUBJECT, Grantee::Institution(LAB),
                                PurposeSet::of(&[Purpose::ALL[p as usize]]), labs(), None, Some(now + 800), Some(2));
                        }
                        Op::Revoke(c) => { let _ = ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), c as u64); }
                        Op::Request(lab) => {
                            let who = if lab { LAB_KEY } else { HOSPITAL_KEY };
                            prop_assert!(Audit::request_access(RuntimeOrigin::signed(who), PSEUDONYM, Purpose::Simulation, labs(), JOB).is_ok());
                            prop_assert_eq!(NextAccessId::<Test>::get(), before + 1);
                            let r = Records::<Test>::get(before).unwrap();
                            if r.state == AccessState::Granted {
                                for c in r.consents.iter() {
                                    let c = consent::Consents::<Test>::get(c).unwrap();
                                    prop_assert_eq!(c.status, consent::ConsentStatus::Active);
                                    prop_assert!(c.valid_until.is_none_or(|u| now < u));
                                    prop_assert!(c.uses <= c.max_uses.unwrap_or(u32::MAX));
                                }
                            }
                        }
                        Op::Batch(n) => {
                            let batch: BoundedVec<_, _> = vec![PSEUDONYM; n as usize].try_into().unwrap();
                            prop_assert!(Audit::request_access_batch(RuntimeOrigin::signed(LAB_KEY), batch, Purpose::Simulation, labs(), JOB).is_ok());
                            prop_assert_eq!(NextAccessId::<Test>::get(), before + n as u64);
                        }
                        Op::Emergency => {
                            prop_assert!(Audit::emergency_access(RuntimeOrigin::signed(HOSPITAL_KEY), PSEUDONYM, labs(), WHY, JOB).is_ok());
                            prop_assert_eq!(NextAccessId::<Test>::get(), before + 1);
                        }
                        Op::Complete(id, o) => {
                            let outcome = [Outcome::Completed, Outcome::Failed, Outcome::Aborted][o as usize];
                            for who in [LAB_KEY, HOSPITAL_KEY] {
                                let _ = Audit::complete_access(RuntimeOrigin::signed(who), id as u64, outcome, Some(RESULT));
                            }
                            prop_assert_eq!(NextAccessId::<Test>::get(), before);
                        }
                        Op::Advance(ms) => { now += ms; pallet_timestamp::Now::<Test>::put(now); }
                    }
                    // Records that were final stay byte-for-byte the same.
                    for (id, r) in &finals {
                        prop_assert_eq!(&Records::<Test>::get(id).unwrap(), r);
                    }
                    finals = (0..NextAccessId::<Test>::get())
                        .filter_map(|id| Records::<Test>::get(id).map(|r| (id, r)))
                        .filter(|(_, r)| r.state != AccessState::Granted)
                        .collect();
                }
                // Counts agree with the records.
                let mut expected = [StateCounts::default(), StateCounts::default()];
                for id in 0..NextAccessId::<Test>::get() {
                    let r = Records::<Test>::get(id).unwrap();
                    let c = &mut expected[r.institution as usize];
                    match r.state {
                        AccessState::Granted => c.granted += 1,
                        AccessState::Denied(_) => c.denied += 1,
                        AccessState::Closed(Outcome::Completed) => c.completed += 1,
                        AccessState::Closed(Outcome::Failed) => c.failed += 1,
                        AccessState::Closed(Outcome::Aborted) => c.aborted += 1,
                    }
                    if r.emergency.is_some() && !matches!(r.state, AccessState::Denied(_)) {
                        c.emergency += 1;
                    }
                }
                prop_assert_eq!(Audit::counts(HOSPITAL), expected[0]);
                prop_assert_eq!(Audit::counts(LAB), expected[1]);
                Ok(())
            })?;
        }
    }
}
