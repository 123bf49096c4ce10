//! Unit tests for every call and error, and a property test against a reference model.

use crate::{mock::*, *};
use consentry_primitives::{DataCategory as C, Role};
use frame_support::{assert_noop, assert_ok, pallet_prelude::DispatchResult};
use pallet_consentry_identity as identity;

mod calls;
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

/// `who` grants `LAB` simulation or research over labs for `subject`, without limits: the plain
/// grant whose refusals the call tests check.
fn grant_labs_as(who: u64, subject: SubjectId, purpose: Purpose) -> DispatchResult {
    ConsentPallet::grant(
        RuntimeOrigin::signed(who),
        subject,
        Grantee::Institution(LAB),
        purposes(&[purpose]),
        cats(&[C::Labs]),
        None,
        None,
        None,
    )
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
