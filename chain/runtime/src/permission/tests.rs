//! The permission extension's rules, each through the runtime: the call filter by role, erased
//! patients, priorities, the pool budget and the block budget.

use super::{
    admission, is_permitted, signed_nonce, CheckPermission, Role, ACCESS_PRIORITY,
    GOVERNANCE_PRIORITY, INSTITUTION_PRIORITY, PATIENT_BUDGET, PATIENT_PRIORITY,
};
use crate::{tests::ext, AccountId, Identity, Runtime, RuntimeCall, RuntimeOrigin};
use consentry_primitives::{
    CategorySet, ConsentId, DataCategory, Grantee, Purpose, PurposeSet, SubjectId,
};
use frame_support::dispatch::GetDispatchInfo;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
    traits::{DispatchTransaction, ImplicationParts, TxBaseImplication},
    transaction_validity::{
        InvalidTransaction, TransactionSource, TransactionValidityError, ValidTransaction,
    },
};

fn bob() -> AccountId {
    Sr25519Keyring::Bob.to_account_id()
}

fn alice() -> AccountId {
    Sr25519Keyring::Alice.to_account_id()
}

/// A patient account enrolled by the hospital (Bob) under pseudonym `[n; 32]` and claimed.
fn patient(n: u8) -> (AccountId, SubjectId) {
    let who = AccountId::new([n; 32]);
    Identity::enrol(RuntimeOrigin::signed(bob()), [n; 32], who.clone()).unwrap();
    Identity::claim(RuntimeOrigin::signed(who.clone()), [n; 32]).unwrap();
    let subject = pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&who).unwrap();
    (who, subject)
}

fn grant(subject: SubjectId) -> RuntimeCall {
    RuntimeCall::Consent(pallet_consentry_consent::Call::grant {
        subject,
        grantee: Grantee::Institution(0),
        purposes: PurposeSet::of(&[Purpose::Research]),
        categories: CategorySet::of(&[DataCategory::Labs]),
        valid_from: None,
        valid_until: None,
        max_uses: None,
    })
}

/// The consent `who` grants now for `subject`, by id.
fn granted(who: &AccountId, subject: SubjectId) -> ConsentId {
    let id = pallet_consentry_consent::NextConsentId::<Runtime>::get();
    crate::Consent::grant(
        RuntimeOrigin::signed(who.clone()),
        subject,
        Grantee::Institution(0),
        PurposeSet::of(&[Purpose::Research]),
        CategorySet::of(&[DataCategory::Labs]),
        None,
        None,
        None,
    )
    .unwrap();
    id
}

fn revoke(consent: ConsentId) -> RuntimeCall {
    RuntimeCall::Consent(pallet_consentry_consent::Call::revoke { consent })
}

fn remark() -> RuntimeCall {
    RuntimeCall::System(frame_system::Call::remark {
        remark: vec![0; 1024],
    })
}

fn request_access() -> RuntimeCall {
    RuntimeCall::Audit(pallet_consentry_audit::Call::request_access {
        pseudonym: [1; 32],
        purpose: Purpose::Research,
        categories: CategorySet::of(&[DataCategory::Labs]),
        job_digest: [0; 32],
    })
}

fn enrol(n: u8) -> RuntimeCall {
    RuntimeCall::Identity(pallet_consentry_identity::Call::enrol {
        pseudonym: [n; 32],
        patient: AccountId::new([n; 32]),
    })
}

fn identity(call: pallet_consentry_identity::Call<Runtime>) -> RuntimeCall {
    RuntimeCall::Identity(call)
}

/// The runtime's whole pipeline for a transaction with `nonce`.
fn pipeline(nonce: u32) -> crate::TxExtension {
    let (spec, tx, genesis, era, nonce, weight) = super::following(nonce);
    (
        frame_system::CheckNonZeroSender::new(),
        CheckPermission,
        spec,
        tx,
        genesis,
        era,
        nonce,
        weight,
    )
}

/// The pool's verdict on `call` from `who` with `nonce`.
fn pool(
    who: &AccountId,
    call: &RuntimeCall,
    nonce: u32,
) -> Result<ValidTransaction, TransactionValidityError> {
    let info = call.get_dispatch_info();
    pipeline(nonce)
        .validate_only(
            RuntimeOrigin::signed(who.clone()),
            call,
            &info,
            100,
            TransactionSource::External,
            0,
        )
        .map(|(valid, _, _)| valid)
}

/// Applies `call` from `who` with `nonce` in the current block, as the block builder does; the
/// call's own outcome is ignored.
fn apply(who: &AccountId, call: RuntimeCall, nonce: u32) -> Result<(), TransactionValidityError> {
    let info = call.get_dispatch_info();
    pipeline(nonce)
        .dispatch_transaction(RuntimeOrigin::signed(who.clone()), call, &info, 100, 0)
        .map(|_| ())
}

fn refused(e: InvalidTransaction) -> Result<Role, InvalidTransaction> {
    Err(e)
}

#[test]
fn a_patient_may_send_only_its_own_consent_and_identity_calls() {
    ext().execute_with(|| {
        let (p, subject) = patient(1);
        let (q, other) = patient(2);
        let theirs = granted(&q, other);
        let mine = granted(&p, subject);
        use pallet_consentry_identity::Call as I;
        for call in [
            grant(subject),
            revoke(mine),
            identity(I::appoint_guardian {
                guardian: Sr25519Keyring::Eve.to_account_id(),
            }),
            identity(I::forget { subject }),
        ] {
            assert_eq!(admission(&p, &call), Ok(Role::Patient), "{call:?}");
        }
        // Someone else's subject or consent, the council's remarks, institutions' and
        // governance's calls: refused as a call this signer may not send.
        for call in [
            grant(other),
            revoke(theirs),
            identity(I::forget { subject: other }),
            remark(),
            request_access(),
            enrol(9),
            identity(I::register_institution {
                name: b"mine".to_vec(),
                roles: consentry_primitives::RoleSet::of(&[consentry_primitives::Role::Auditor]),
            }),
        ] {
            assert_eq!(
                admission(&p, &call),
                refused(InvalidTransaction::Call),
                "{call:?}"
            );
        }
    });
}

#[test]
fn a_guardian_acts_for_its_ward_only() {
    ext().execute_with(|| {
        let (p, ward) = patient(1);
        let (_, other) = patient(2);
        let guardian = Sr25519Keyring::Eve.to_account_id();
        Identity::appoint_guardian(RuntimeOrigin::signed(p), guardian.clone()).unwrap();
        assert!(is_permitted(&guardian, &grant(ward)));
        assert!(is_permitted(
            &guardian,
            &identity(pallet_consentry_identity::Call::remove_guardian {
                subject: ward,
                guardian: guardian.clone(),
            })
        ));
        assert_eq!(
            admission(&guardian, &grant(other)),
            refused(InvalidTransaction::Call)
        );
        assert_eq!(
            admission(&guardian, &remark()),
            refused(InvalidTransaction::Call)
        );
        // A guardian is no patient: it has no subject to appoint guardians for.
        assert!(!is_permitted(
            &guardian,
            &identity(pallet_consentry_identity::Call::appoint_guardian { guardian: bob() })
        ));
    });
}

#[test]
fn remarks_and_the_councils_calls_are_the_councils() {
    ext().execute_with(|| {
        let (p, _) = patient(1);
        let stranger = Sr25519Keyring::Two.to_account_id();
        let vote = RuntimeCall::Council(pallet_collective::Call::vote {
            proposal: Default::default(),
            index: 0,
            approve: true,
        });
        let remark_with_event =
            RuntimeCall::System(frame_system::Call::remark_with_event { remark: vec![1] });
        for call in [&remark(), &remark_with_event, &vote] {
            assert_eq!(admission(&alice(), call), Ok(Role::Governance));
            assert_eq!(admission(&bob(), call), refused(InvalidTransaction::Call));
            assert_eq!(admission(&p, call), refused(InvalidTransaction::Call));
            assert_eq!(
                admission(&stranger, call),
                refused(InvalidTransaction::BadSigner)
            );
        }
    });
}

#[test]
fn institutions_send_their_own_calls_and_governance_goes_through_its_origins() {
    ext().execute_with(|| {
        let (_, subject) = patient(1);
        assert_eq!(admission(&bob(), &request_access()), Ok(Role::Institution));
        assert_eq!(admission(&bob(), &enrol(5)), Ok(Role::Institution));
        assert_eq!(
            admission(&bob(), &grant(subject)),
            refused(InvalidTransaction::Call)
        );
        let register = identity(pallet_consentry_identity::Call::register_institution {
            name: b"new".to_vec(),
            roles: consentry_primitives::RoleSet::of(&[consentry_primitives::Role::Auditor]),
        });
        // Governance calls arrive through sudo or a council motion, never signed directly.
        assert_eq!(
            admission(&alice(), &register),
            refused(InvalidTransaction::Call)
        );
        let sudo = RuntimeCall::Sudo(pallet_sudo::Call::sudo {
            call: Box::new(register),
        });
        assert_eq!(admission(&alice(), &sudo), Ok(Role::Governance));
        assert_eq!(admission(&bob(), &sudo), refused(InvalidTransaction::Call));
        // Inherents are the block author's.
        let timestamp = RuntimeCall::Timestamp(pallet_timestamp::Call::set { now: 1 });
        assert_eq!(
            admission(&alice(), &timestamp),
            refused(InvalidTransaction::Call)
        );
    });
}

#[test]
fn an_erased_patient_is_no_longer_admitted() {
    ext().execute_with(|| {
        let (p, subject) = patient(1);
        assert!(is_permitted(&p, &grant(subject)));
        Identity::forget(RuntimeOrigin::signed(p.clone()), subject).unwrap();
        for call in [
            grant(subject),
            remark(),
            identity(pallet_consentry_identity::Call::appoint_guardian { guardian: bob() }),
            identity(pallet_consentry_identity::Call::forget { subject }),
        ] {
            assert_eq!(
                admission(&p, &call),
                refused(InvalidTransaction::BadSigner),
                "{call:?}"
            );
        }
        // Its guardians went with the subject.
        let (q, ward) = patient(2);
        let guardian = Sr25519Keyring::Eve.to_account_id();
        Identity::appoint_guardian(RuntimeOrigin::signed(q.clone()), guardian.clone()).unwrap();
        Identity::forget(RuntimeOrigin::signed(q), ward).unwrap();
        assert_eq!(
            admission(&guardian, &grant(ward)),
            refused(InvalidTransaction::BadSigner)
        );
    });
}

#[test]
fn access_calls_come_first_then_governance_then_institutions_then_patients() {
    ext().execute_with(|| {
        let (p, subject) = patient(1);
        let complete = RuntimeCall::Audit(pallet_consentry_audit::Call::complete_access {
            subject,
            id: 0,
            outcome: consentry_primitives::Outcome::Completed,
            result_digest: None,
        });
        let complete_cohort =
            RuntimeCall::Audit(pallet_consentry_audit::Call::complete_access_batch {
                closes: vec![(subject, 0)].try_into().unwrap(),
                outcome: consentry_primitives::Outcome::Completed,
                result_digest: None,
            });
        let priority = |who: &AccountId, call: &RuntimeCall| pool(who, call, 0).unwrap().priority;
        // Through the whole pipeline: no other check adds to the priority.
        assert_eq!(priority(&bob(), &request_access()), ACCESS_PRIORITY);
        assert_eq!(priority(&bob(), &complete), ACCESS_PRIORITY);
        assert_eq!(priority(&bob(), &complete_cohort), ACCESS_PRIORITY);
        let governance = priority(&alice(), &remark());
        let institution = priority(&bob(), &enrol(5));
        let patient = priority(&p, &grant(subject));
        assert_eq!(
            (governance, institution, patient),
            (GOVERNANCE_PRIORITY, INSTITUTION_PRIORITY, PATIENT_PRIORITY)
        );
        let access = priority(&bob(), &request_access());
        assert!(access > governance && governance > institution && institution > patient);
    });
}

#[test]
fn a_patient_holds_at_most_its_pending_budget_in_the_pool() {
    ext().execute_with(|| {
        frame_system::Pallet::<Runtime>::set_block_number(1);
        let (p, subject) = patient(1);
        let pending = PATIENT_BUDGET.pending;
        for nonce in 0..pending {
            assert!(pool(&p, &grant(subject), nonce).is_ok(), "nonce {nonce}");
        }
        assert_eq!(
            pool(&p, &grant(subject), pending),
            Err(InvalidTransaction::ExhaustsResources.into())
        );
        assert_eq!(
            pool(&p, &grant(subject), 1000),
            Err(InvalidTransaction::ExhaustsResources.into())
        );
        // Once one is in a block, the next fits.
        apply(&p, grant(subject), 0).unwrap();
        assert!(pool(&p, &grant(subject), pending).is_ok());
        // An institution's workers may have far more pending.
        assert!(pool(&bob(), &request_access(), 10_000).is_ok());
    });
}

#[test]
fn a_block_holds_at_most_the_block_budget_of_a_patients_transactions() {
    ext().execute_with(|| {
        frame_system::Pallet::<Runtime>::set_block_number(1);
        let (p, subject) = patient(1);
        let per_block = PATIENT_BUDGET.per_block.unwrap();
        for nonce in 0..per_block {
            apply(&p, grant(subject), nonce).unwrap();
        }
        // The next waits for the next block (the author skips it and keeps it in the pool).
        assert_eq!(
            apply(&p, grant(subject), per_block),
            Err(InvalidTransaction::ExhaustsResources.into())
        );
        assert_eq!(
            frame_system::Pallet::<Runtime>::account_nonce(&p),
            per_block
        );
        frame_system::Pallet::<Runtime>::set_block_number(2);
        apply(&p, grant(subject), per_block).unwrap();
        // Institutions are not counted per block.
        for nonce in 0..5 {
            apply(&bob(), request_access(), nonce).unwrap();
        }
    });
}

#[test]
fn the_nonce_is_read_from_the_extensions_after_this_one() {
    let call = remark();
    let following = ImplicationParts {
        base: TxBaseImplication((0u8, &call)),
        explicit: (super::following(7), ()),
        implicit: (),
    };
    assert_eq!(signed_nonce(&following), Some(7));
    // Run on its own (benchmarks), it has no nonce to read.
    assert_eq!(signed_nonce(&TxBaseImplication((0u8, &call))), None);
}

#[test]
fn a_counted_call_is_charged_its_budget_reads_and_write() {
    use sp_runtime::traits::TransactionExtension;
    ext().execute_with(|| {
        let db = <Runtime as frame_system::Config>::DbWeight::get();
        let (_, subject) = patient(1);
        // The longest patient check (consent, subject, guardianship), the nonce, the count.
        let counted = CheckPermission.weight(&revoke(0));
        assert!(counted.ref_time() >= db.reads_writes(5, 1).ref_time());
        assert!(counted.ref_time() > CheckPermission.weight(&request_access()).ref_time());
        assert_eq!(CheckPermission.weight(&grant(subject)), counted);
    });
}
