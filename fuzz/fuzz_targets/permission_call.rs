//! SCALE call data through the runtime's permission check: any bytes. The first byte picks the
//! signer, the rest is decoded as a `RuntimeCall` (with the depth limit extrinsics are decoded
//! with) and validated as the pool validates a transaction (`CheckPermission::validate`, then
//! `prepare` as a block would), against the development chain's state plus a claimed patient, its
//! guardian and a patient who was forgotten. Each input runs in a storage transaction that is
//! rolled back. Beyond not panicking, what each signer may get into the pool is the policy
//! written below (from issue 24 and `chain/runtime/src/permission`), stated here by pallet and
//! call name, apart from the runtime's own tables:
//! - a stranger and a forgotten patient get nothing in;
//! - no signer gets a `Balances` or `NodeAuthorization` call in;
//! - a patient or guardian only its own consent, guardian and identity calls;
//! - an institution's key only audit calls, its identity calls and contract calls;
//! - the council member (who is also the sudo key and the validator) only governance, session
//!   and contract calls.

#![no_main]

use codec::{DecodeLimit, Encode};
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use consentry_runtime::{
    permission::{following, CheckPermission},
    AccountId, Consent, Identity, Runtime, RuntimeCall, RuntimeOrigin,
};
use frame_support::{
    dispatch::GetDispatchInfo,
    pallet_prelude::TransactionSource,
    storage::{with_transaction, TransactionOutcome},
    traits::GetCallMetadata,
};
use libfuzzer_sys::fuzz_target;
use sp_keyring::Sr25519Keyring;
use sp_runtime::traits::{ImplicationParts, TransactionExtension, TxBaseImplication};
use std::cell::RefCell;

/// Who signs, by the input's first byte.
#[derive(Clone, Copy, Debug)]
enum Signer {
    Stranger,
    Patient,
    Guardian,
    Forgotten,
    Institution,
    Council,
}

const SIGNERS: [Signer; 6] = [
    Signer::Stranger,
    Signer::Patient,
    Signer::Guardian,
    Signer::Forgotten,
    Signer::Institution,
    Signer::Council,
];

fn account(name: &str) -> AccountId {
    AccountId::new(sp_core::blake2_256(name.as_bytes()))
}

impl Signer {
    fn account(self) -> AccountId {
        match self {
            Signer::Stranger => account("stranger"),
            Signer::Patient => account("patient"),
            Signer::Guardian => account("guardian"),
            Signer::Forgotten => account("forgotten"),
            // The development chain's hospital key and its sudo, council member and validator.
            Signer::Institution => Sr25519Keyring::Bob.to_account_id(),
            Signer::Council => Sr25519Keyring::Alice.to_account_id(),
        }
    }

    /// Whether this signer may get `pallet.call` into the pool at all (it may still be refused
    /// for this call's arguments).
    fn may_send(self, pallet: &str, call: &str) -> bool {
        match self {
            Signer::Stranger | Signer::Forgotten => false,
            Signer::Patient | Signer::Guardian => matches!(
                (pallet, call),
                ("Consent", "grant" | "amend" | "revoke")
                    | (
                        "Identity",
                        "claim" | "appoint_guardian" | "remove_guardian" | "forget"
                    )
            ),
            Signer::Institution => matches!(
                (pallet, call),
                ("Audit", _)
                    | (
                        "Identity",
                        "enrol" | "remove_service_key" | "set_transport_key"
                    )
                    | ("Contracts", "call")
            ),
            Signer::Council => matches!(
                (pallet, call),
                ("System", "remark" | "remark_with_event")
                    | ("Council" | "CouncilMembership" | "Sudo" | "Session", _)
                    | ("Contracts", "call")
            ),
        }
    }
}

/// The development chain, block 1, with a claimed patient who granted the hospital a consent and
/// appointed a guardian, and a second patient who claimed and was then forgotten.
fn state() -> sp_io::TestExternalities {
    let mut ext = sp_io::TestExternalities::new_empty();
    ext.execute_with(|| {
        consentry_runtime::genesis::build_preset_state("development").expect("the preset builds");
        frame_system::Pallet::<Runtime>::set_block_number(1);
        let hospital = Signer::Institution.account();
        for (pseudonym, who) in [([1u8; 32], Signer::Patient), ([2u8; 32], Signer::Forgotten)] {
            Identity::enrol(
                RuntimeOrigin::signed(hospital.clone()),
                pseudonym,
                who.account(),
            )
            .expect("enrol");
            Identity::claim(RuntimeOrigin::signed(who.account()), pseudonym).expect("claim");
        }
        let patient = Signer::Patient.account();
        let subject =
            pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&patient).expect("subject");
        Consent::grant(
            RuntimeOrigin::signed(patient.clone()),
            subject,
            Grantee::Institution(0),
            PurposeSet::of(&[Purpose::Research]),
            CategorySet::of(&[DataCategory::Labs]),
            None,
            None,
            None,
        )
        .expect("grant");
        Identity::appoint_guardian(RuntimeOrigin::signed(patient), Signer::Guardian.account())
            .expect("guardian");
        let forgotten = Signer::Forgotten.account();
        let gone = pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&forgotten)
            .expect("subject");
        Identity::forget(RuntimeOrigin::signed(forgotten), gone).expect("forget");
    });
    ext.commit_all().expect("commits");
    ext
}

thread_local! {
    static STATE: RefCell<sp_io::TestExternalities> = RefCell::new(state());
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, mut bytes)) = data.split_first() else {
        return;
    };
    let signer = SIGNERS[which as usize % SIGNERS.len()];
    let Ok(call) = RuntimeCall::decode_with_depth_limit(sp_api::MAX_EXTRINSIC_DEPTH, &mut bytes)
    else {
        return;
    };
    let who = signer.account();
    let info = call.get_dispatch_info();
    STATE.with(|state| {
        state.borrow_mut().execute_with(|| {
            with_transaction(|| {
                let nonce = frame_system::Pallet::<Runtime>::account_nonce(&who);
                let implication = ImplicationParts {
                    base: TxBaseImplication((0u8, &call)),
                    explicit: (following(nonce), ()),
                    implicit: (),
                };
                let admitted = CheckPermission.validate(
                    RuntimeOrigin::signed(who.clone()),
                    &call,
                    &info,
                    call.encoded_size(),
                    (),
                    &implication,
                    TransactionSource::External,
                );
                if let Ok((valid, val, origin)) = admitted {
                    let metadata = call.get_call_metadata();
                    assert!(
                        signer.may_send(metadata.pallet_name, metadata.function_name),
                        "{signer:?} got {}.{} into the pool",
                        metadata.pallet_name,
                        metadata.function_name
                    );
                    assert!(valid.priority > 0, "an admitted call has a role's priority");
                    // A block runs what the pool admitted: preparing it must not fail for a
                    // reason validation did not give.
                    CheckPermission
                        .prepare(val, &origin, &call, &info, call.encoded_size())
                        .expect("what validation admitted is prepared");
                }
                TransactionOutcome::Rollback(Ok::<(), sp_runtime::DispatchError>(()))
            })
            .expect("rolled back");
        })
    });
});
