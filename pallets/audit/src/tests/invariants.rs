//! Property tests: random sequences of grants, revocations, requests, batches, emergencies,
//! completions and time, after each of which the log's invariants must hold.

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
                        let r = Audit::record(Some(SUBJECT), before).unwrap();
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
                        let held = consent::SubjectConsents::<Test>::decode_len(SUBJECT).unwrap_or(0) as u32;
                        prop_assert!(Audit::request_access_batch(RuntimeOrigin::signed(LAB_KEY), batch, Purpose::Simulation, labs(), JOB, held).is_ok());
                        prop_assert_eq!(NextAccessId::<Test>::get(), before + n as u64);
                    }
                    Op::Emergency => {
                        prop_assert!(Audit::emergency_access(RuntimeOrigin::signed(HOSPITAL_KEY), PSEUDONYM, labs(), WHY, JOB).is_ok());
                        prop_assert_eq!(NextAccessId::<Test>::get(), before + 1);
                    }
                    Op::Complete(id, o) => {
                        let outcome = [Outcome::Completed, Outcome::Failed, Outcome::Aborted][o as usize];
                        for who in [LAB_KEY, HOSPITAL_KEY] {
                            let _ = Audit::complete_access(RuntimeOrigin::signed(who), SUBJECT, id as u64, outcome, Some(RESULT));
                        }
                        prop_assert_eq!(NextAccessId::<Test>::get(), before);
                    }
                    Op::Advance(ms) => { now += ms; pallet_timestamp::Now::<Test>::put(now); }
                }
                // Records that were final stay byte-for-byte the same.
                for (id, r) in &finals {
                    prop_assert_eq!(&Audit::record(Some(SUBJECT), *id).unwrap(), r);
                }
                finals = (0..NextAccessId::<Test>::get())
                    .filter_map(|id| Audit::record(Some(SUBJECT), id).map(|r| (id, r)))
                    .filter(|(_, r)| r.state != AccessState::Granted)
                    .collect();
            }
            // Counts agree with the records.
            let mut expected = [StateCounts::default(), StateCounts::default()];
            for id in 0..NextAccessId::<Test>::get() {
                let r = Audit::record(Some(SUBJECT), id).unwrap();
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
