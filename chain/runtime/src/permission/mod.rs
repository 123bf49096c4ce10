//! Permissioned transactions: who may get a signed transaction into the pool.
//!
//! The chain has no fees, so the pool must refuse strangers itself, at validation, before a
//! transaction can take block space. Admitted signers: institution service keys, patients,
//! guardians, council members and (on dev chains) the sudo key; a validator's account may send
//! session-key calls. An account the chain does not know may send exactly one kind of call:
//! claiming an enrolment addressed to it. And one pallet's calls no signer may send at all: nodes
//! join the consortium by council vote only (see [`is_refused`]).

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;

use crate::{
    weights::check_permission::{SubstrateWeight, WeightInfo},
    AccountId, Runtime, RuntimeCall, RuntimeOrigin,
};
use codec::{Decode, DecodeWithMemTracking, Encode};
use frame_support::{pallet_prelude::TransactionSource, weights::Weight};
use scale_info::TypeInfo;
use sp_runtime::{
    impl_tx_ext_default,
    traits::{
        AsSystemOriginSigner, DispatchInfoOf, Implication, TransactionExtension, ValidateResult,
    },
    transaction_validity::{InvalidTransaction, ValidTransaction},
};

/// The transaction extension that admits only known signers. It carries no data.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, Eq, PartialEq, Default, TypeInfo, Debug)]
pub struct CheckPermission;

/// The sudo key (dev chains only). pallet-sudo keeps its storage item private, so it is read by
/// name under the runtime's `Sudo` pallet prefix.
mod sudo {
    /// `Sudo::Key`: the alias's name is the storage item's name.
    #[frame_support::storage_alias]
    pub type Key = StorageValue<Sudo, crate::AccountId>;
}

/// Whether no signed transaction may carry `call`, whoever signs it.
///
/// Nodes join and leave the consortium by council vote (node-authorization's well-known-node
/// calls, which arrive under the council's origin, never signed). The pallet's owner calls
/// (`claim_node`, `add_connections`, ...) would let any registered account, patients included,
/// claim peer ids and grow a connection list the pallet does not bound, with no fees to pay;
/// signed well-known-node calls would only fail their origin check after taking block space.
pub fn is_refused(call: &RuntimeCall) -> bool {
    matches!(call, RuntimeCall::NodeAuthorization(_))
}

/// Whether `who` may sign `call`.
pub fn is_permitted(who: &AccountId, call: &RuntimeCall) -> bool {
    if pallet_consentry_identity::Pallet::<Runtime>::is_registered_account(who)
        || pallet_membership::Members::<Runtime, pallet_membership::Instance1>::get().contains(who)
        || sudo::Key::get().as_ref() == Some(who)
    {
        return true;
    }
    match call {
        RuntimeCall::Identity(pallet_consentry_identity::Call::claim { pseudonym }) => {
            pallet_consentry_identity::Pallet::<Runtime>::is_claimable_by(pseudonym, who)
        }
        // A validator's account registers (or purges) its node's session keys, nothing else.
        RuntimeCall::Session(_) => {
            pallet_consentry_validators::Pallet::<Runtime>::is_validator(who)
        }
        _ => false,
    }
}

impl TransactionExtension<RuntimeCall> for CheckPermission {
    const IDENTIFIER: &'static str = "CheckPermission";
    type Implicit = ();
    type Val = ();
    type Pre = ();

    fn weight(&self, _call: &RuntimeCall) -> Weight {
        // The signer is not known here, so every transaction pays for the longest admission: past
        // every list, to the validator set or the enrolment (see `benchmarking`).
        type W = SubstrateWeight<Runtime>;
        W::validator_session_keys().max(W::claimant())
    }

    fn validate(
        &self,
        origin: RuntimeOrigin,
        call: &RuntimeCall,
        _info: &DispatchInfoOf<RuntimeCall>,
        _len: usize,
        _self_implicit: (),
        _inherited_implication: &impl Implication,
        _source: TransactionSource,
    ) -> ValidateResult<(), RuntimeCall> {
        if let Some(who) = origin.as_system_origin_signer() {
            if is_refused(call) {
                return Err(InvalidTransaction::Call.into());
            }
            if !is_permitted(who, call) {
                return Err(InvalidTransaction::BadSigner.into());
            }
        }
        Ok((ValidTransaction::default(), (), origin))
    }

    impl_tx_ext_default!(RuntimeCall; prepare);
}
