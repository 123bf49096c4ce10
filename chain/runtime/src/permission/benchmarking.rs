//! Benchmarks of [`CheckPermission`], for its generated weight
//! (`chain/runtime/src/weights/check_permission.rs`, `scripts/weights.sh permission`).
//!
//! Each admission runs as in the pool and in a block: validated with the nonce the transaction
//! carries (the pool budget reads the account's nonce), then prepared (a counted call writes its
//! block count). The lists a check reads are full: a full council and a full validator set, the
//! largest values the extension decodes. Measured: a validator managing its session keys, a
//! stranger claiming the enrolment addressed to it, and the longest patient-side check, a
//! guardian revoking its ward's consent by id (the consent, the subject, the guardianship).
//! The committed weights predate the last of these and the nonce and count; the extension's
//! `weight` adds what they lack at `DbWeight` until they are regenerated.

use super::{following, CheckPermission};
use crate::{AccountId, Identity, Runtime, RuntimeCall, RuntimeOrigin};
use alloc::vec::Vec;
use consentry_primitives::{
    CategorySet, DataCategory, Grantee, Purpose, PurposeSet, Role, RoleSet,
};
use frame_benchmarking::{account, v2::*};
use frame_support::{
    dispatch::GetDispatchInfo, pallet_prelude::TransactionSource, traits::Get, BoundedVec,
};
use sp_runtime::traits::{ImplicationParts, TransactionExtension, TxBaseImplication};

/// What the benchmark macros expect of a pallet; only the runtime implements it.
pub trait Config: frame_system::Config {}
impl Config for Runtime {}

/// The benchmarked "pallet": the runtime's permission extension.
pub struct Pallet<T: Config>(frame_system::Pallet<T>);

/// Fills the council with members other than `except` and the validator set up to its bound,
/// with `validator` in it when given.
pub(crate) fn full_lists(except: &AccountId, validator: Option<&AccountId>) {
    type MaxMembers =
        <Runtime as pallet_membership::Config<pallet_membership::Instance1>>::MaxMembers;
    let mut members: Vec<AccountId> = (0..<MaxMembers as Get<u32>>::get())
        .map(|i| account("member", i, 0))
        .filter(|m| m != except)
        .collect();
    members.sort();
    pallet_membership::Members::<Runtime, pallet_membership::Instance1>::put(
        BoundedVec::try_from(members).expect("within MaxMembers"),
    );
    type MaxValidators = <Runtime as pallet_consentry_validators::Config>::MaxValidators;
    let others = <MaxValidators as Get<u32>>::get() - u32::from(validator.is_some());
    let mut validators: Vec<AccountId> = (0..others).map(|i| account("validator", i, 1)).collect();
    validators.extend(validator.cloned());
    validators.sort();
    pallet_consentry_validators::Validators::<Runtime>::put(
        BoundedVec::try_from(validators).expect("within MaxValidators"),
    );
}

/// Validates `call` from `who` as the pipeline does (with the nonce after it), then prepares it.
fn admit(who: AccountId, call: RuntimeCall) {
    let info = call.get_dispatch_info();
    let nonce = frame_system::Pallet::<Runtime>::account_nonce(&who);
    let implication = ImplicationParts {
        base: TxBaseImplication((0u8, &call)),
        explicit: (following(nonce), ()),
        implicit: (),
    };
    let (_, val, origin) = CheckPermission
        .validate(
            RuntimeOrigin::signed(who),
            &call,
            &info,
            0,
            (),
            &implication,
            TransactionSource::External,
        )
        .expect("admitted");
    CheckPermission
        .prepare(val, &origin, &call, &info, 0)
        .expect("prepared");
}

/// Registers a custodian institution with one key, which enrols `pseudonym` for `patient`.
fn enrol(pseudonym: [u8; 32], patient: &AccountId) {
    let custodian: AccountId = account("custodian", 0, 0);
    let institution = pallet_consentry_identity::NextInstitutionId::<Runtime>::get();
    Identity::register_institution(
        RuntimeOrigin::root(),
        b"bench".to_vec(),
        RoleSet::of(&[Role::DataCustodian]),
    )
    .expect("register");
    Identity::add_service_key(RuntimeOrigin::root(), institution, custodian.clone()).expect("key");
    Identity::enrol(RuntimeOrigin::signed(custodian), pseudonym, patient.clone()).expect("enrol");
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// A validator's account (registered nowhere else) purging its node's session keys.
    #[benchmark]
    fn validator_session_keys() {
        let who: AccountId = account("operator", 0, 0);
        full_lists(&who, Some(&who));
        let call = RuntimeCall::Session(pallet_session::Call::purge_keys {});

        #[block]
        {
            admit(who, call);
        }
    }

    /// A stranger claiming the enrolment an institution addressed to it.
    #[benchmark]
    fn claimant() {
        let who: AccountId = account("patient", 0, 0);
        let pseudonym = [7u8; 32];
        enrol(pseudonym, &who);
        full_lists(&who, None);
        let call = RuntimeCall::Identity(pallet_consentry_identity::Call::claim { pseudonym });

        #[block]
        {
            admit(who, call);
        }
    }

    /// A guardian revoking its ward's consent, named by id: the consent, the subject and the
    /// guardianship are read before the budget.
    #[benchmark]
    fn guardian_revokes() {
        let patient: AccountId = account("patient", 0, 0);
        let guardian: AccountId = account("guardian", 0, 0);
        let pseudonym = [7u8; 32];
        enrol(pseudonym, &patient);
        Identity::claim(RuntimeOrigin::signed(patient.clone()), pseudonym).expect("claim");
        Identity::appoint_guardian(RuntimeOrigin::signed(patient.clone()), guardian.clone())
            .expect("guardian");
        let subject =
            pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(&patient).expect("claimed");
        let consent = pallet_consentry_consent::NextConsentId::<Runtime>::get();
        crate::Consent::grant(
            RuntimeOrigin::signed(patient),
            subject,
            Grantee::Institution(0),
            PurposeSet::of(&[Purpose::Research]),
            CategorySet::of(&[DataCategory::Labs]),
            None,
            None,
            None,
        )
        .expect("grant");
        full_lists(&guardian, None);
        let call = RuntimeCall::Consent(pallet_consentry_consent::Call::revoke { consent });

        #[block]
        {
            admit(guardian, call);
        }
    }

    impl_benchmark_test_suite!(Pallet, crate::tests::ext(), Runtime);
}
