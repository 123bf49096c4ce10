//! Benchmarks of [`CheckPermission`], for its generated weight
//! (`chain/runtime/src/weights/check_permission.rs`, `scripts/weights.sh permission`).
//!
//! The extension admits a signer at the first list that holds it, so the costliest admissions
//! are the two that come after every list: a validator that is nothing else managing its session
//! keys, and a stranger claiming the enrolment addressed to it. Both run against a full council
//! and a full validator set, the largest values the extension decodes.

use super::CheckPermission;
use crate::{AccountId, Identity, Runtime, RuntimeCall, RuntimeOrigin};
use alloc::vec::Vec;
use consentry_primitives::{Role, RoleSet};
use frame_benchmarking::{account, v2::*};
use frame_support::{dispatch::GetDispatchInfo, traits::Get, BoundedVec};
use sp_runtime::traits::DispatchTransaction;

/// What the benchmark macros expect of a pallet; only the runtime implements it.
pub trait Config: frame_system::Config {}
impl Config for Runtime {}

/// The benchmarked "pallet": the runtime's permission extension.
pub struct Pallet<T: Config>(frame_system::Pallet<T>);

/// Fills the council with members other than `except` and the validator set up to its bound,
/// with `validator` in it when given.
fn full_lists(except: &AccountId, validator: Option<&AccountId>) {
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

fn admit(who: AccountId, call: RuntimeCall) {
    let info = call.get_dispatch_info();
    CheckPermission
        .test_run(RuntimeOrigin::signed(who), &call, &info, 0, 0, |_| {
            Ok(().into())
        })
        .expect("admitted")
        .expect("dispatched");
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
        let custodian: AccountId = account("custodian", 0, 0);
        let institution = pallet_consentry_identity::NextInstitutionId::<Runtime>::get();
        Identity::register_institution(
            RuntimeOrigin::root(),
            b"bench".to_vec(),
            RoleSet::of(&[Role::DataCustodian]),
        )
        .expect("register");
        Identity::add_service_key(RuntimeOrigin::root(), institution, custodian.clone())
            .expect("key");
        let pseudonym = [7u8; 32];
        Identity::enrol(RuntimeOrigin::signed(custodian), pseudonym, who.clone()).expect("enrol");
        full_lists(&who, None);
        let call = RuntimeCall::Identity(pallet_consentry_identity::Call::claim { pseudonym });

        #[block]
        {
            admit(who, call);
        }
    }

    impl_benchmark_test_suite!(Pallet, crate::tests::ext(), Runtime);
}
