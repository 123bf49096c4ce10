//! Permissioned transactions: who may get which signed transaction into the pool, how many, and
//! in what order.
//!
//! The chain has no fees, so the pool must refuse strangers and spam itself, at validation,
//! before a transaction can take block space. [`CheckPermission`] decides four things.
//!
//! **Who may send which call** ([`role_of`], [`admission`]). Every call belongs to one [`Role`],
//! and only a signer holding that role for that call is admitted:
//!
//! - *institutions* (an institution's service key): the access log's calls (`Audit::*`),
//!   enrolment and withdrawing a service key;
//! - *governance*: the council's members send the council's and its membership's calls and the
//!   only remarks the chain takes (`System::remark`, `remark_with_event`); the sudo key (dev
//!   chains) sends `Sudo` calls;
//! - *validators*: a validator's account sends its node's session-key calls;
//! - *contract parties*: an active institution's service key or a council member calls ink!
//!   contracts (`Contracts::call`; a suspended institution's keys may not). Code reaches the chain
//!   and contracts are instantiated only by council motion (see [`crate::contracts`]);
//! - *patients*: a patient or an appointed guardian sends consent calls and the identity calls
//!   for a subject it acts for (its own, or its ward's: checked here with the same
//!   `ensure_patient_or_guardian` the pallets check at dispatch), a patient appoints guardians,
//!   and the addressee of a pending enrolment (an account the chain does not otherwise know, or
//!   a patient enrolled elsewhere) may claim it.
//!
//! Calls no signer may send are refused for everyone: node authorization (nodes join and leave
//! by council vote, [`is_refused`]), every `Balances` call (the chain has no tokens to move: see
//! [`crate::contracts`]), and calls whose origin is governance or the block author
//! (they arrive as council motions, through sudo or as inherents; signed, they could only fail
//! their origin check after taking block space). A patient whose subject was forgotten is no
//! longer a patient: its account is dropped from the permitted set, whether or not the identity
//! pallet still maps it to the erased subject. The pallets still check ownership at dispatch;
//! this filter keeps strangers' calls out of blocks. A refused signer the chain does not know is
//! told `BadSigner` (a validator's account outside its session keys counts as unknown, as it did
//! before roles); one that holds some other role is told `Call`.
//!
//! **How many transactions an account may have pending** ([`Budget::pending`]). The pool keeps
//! no per-sender limit, but nonces serialize one account's transactions: only the one whose
//! nonce is the account's next can go into a block. So a transaction is refused
//! (`ExhaustsResources`) when its nonce is `pending` or more ahead of the account's nonce on
//! chain, which bounds what one account holds in the pool (ready and future queues alike) to
//! `pending` transactions. This extension carries no data (clients do not change), so it reads
//! the transaction's nonce from the explicit data of the extensions after it in the pipeline
//! (`CheckNonce`'s), which the SDK hands every extension as its implication; the pipeline's shape
//! is checked at compile time ([`Following`]).
//!
//! **How many of an account's transactions a block may hold** ([`Budget::per_block`]). A patient
//! could refill its pending budget every block; a per-block count (storage `CheckPermission::
//! BlockShare`, the account's last block and its count there) refuses its transactions past the
//! budget with `ExhaustsResources` while a block is built, so the author skips them (they stay
//! in the pool for the next block; a skipped transaction's successors are skipped with it). At
//! pool validation the count is always that of an earlier block, so nothing is refused there
//! for it. Only patients are counted: their number is open-ended and they are anonymous, where
//! institutions, council members and validators are few, governed and accountable, and a
//! hospital's worker legitimately fills whole blocks with access requests (the throughput
//! benchmark holds tens of thousands of one key's requests in the pool). Counting costs a read
//! and a write per counted transaction, charged in [`CheckPermission`]'s weight.
//!
//! **Priority** ([`priority`]). The pool orders ready transactions, and the author fills blocks,
//! by priority; no other extension of this runtime sets one (`CheckNonce` and `CheckWeight` give
//! 0, and priorities add up across the pipeline). Institutions' access calls (requests, batches,
//! emergencies and completions) come first, so a worker's request is never starved by patients;
//! then governance and validators; then institutions' other calls; patients last.

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
#[cfg(test)]
mod tests;

use crate::{
    weights::check_permission::{SubstrateWeight, WeightInfo},
    AccountId, BlockNumber, Nonce, Runtime, RuntimeCall, RuntimeOrigin,
};
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode};
use frame_support::{pallet_prelude::TransactionSource, weights::Weight, Blake2_128Concat};
use pallet_consentry_identity::{Call as IdentityCall, Pallet as IdentityPallet};
use scale_info::TypeInfo;
use sp_runtime::{
    traits::{
        AsSystemOriginSigner, DispatchInfoOf, Implication, TransactionExtension, ValidateResult,
    },
    transaction_validity::{
        InvalidTransaction, TransactionPriority, TransactionValidityError, ValidTransaction,
    },
};

/// The transaction extension that admits only known signers, for their own calls, within their
/// budgets, at their role's priority. It carries no data.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, Eq, PartialEq, Default, TypeInfo, Debug)]
pub struct CheckPermission;

/// The sudo key (dev chains only). pallet-sudo keeps its storage item private, so it is read by
/// name under the runtime's `Sudo` pallet prefix.
mod sudo {
    /// `Sudo::Key`: the alias's name is the storage item's name.
    #[frame_support::storage_alias]
    pub type Key = StorageValue<Sudo, crate::AccountId>;
}

/// Each counted account's last block with a transaction of its and how many it had there.
/// Runtime storage outside any pallet (prefix `CheckPermission`); one small entry per account
/// that ever sent a counted transaction.
#[frame_support::storage_alias(verbatim)]
pub type BlockShare = StorageMap<CheckPermission, Blake2_128Concat, AccountId, (BlockNumber, u32)>;

/// What a signer sends a call as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An institution's service key, for its institution's calls.
    Institution,
    /// A council member, or the sudo key, for governance calls.
    Governance,
    /// A validator's account, for its node's session keys.
    Validator,
    /// A patient or guardian for a subject it acts for, or an addressee claiming its enrolment.
    Patient,
    /// An active institution's service key or a council member, calling a contract.
    ContractParty,
}

/// How many transactions an account acting in a role may have pending, and may have in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Transactions pending in the pool: nonces from the account's on-chain nonce to this many
    /// ahead of it (exclusive) are admitted.
    pub pending: u32,
    /// Transactions in one block; `None`: not counted (only the pool budget and the block's
    /// weight bound the account).
    pub per_block: Option<u32>,
}

/// A patient's (or guardian's) budget: a wallet sends one transaction and waits for it; a few
/// pending leave room for a claim, a grant and an amendment in a row.
pub const PATIENT_BUDGET: Budget = Budget {
    pending: 4,
    per_block: Some(2),
};
/// An institution's: its workers pre-sign whole cohorts' requests (the throughput benchmark holds
/// 30,000 of one key's in the pool), so only the node's pool limits bound it in practice.
pub const INSTITUTION_BUDGET: Budget = Budget {
    pending: 1 << 17,
    per_block: None,
};
/// A council member's or the sudo key's: motions, votes and the dev chain's set-up.
pub const GOVERNANCE_BUDGET: Budget = Budget {
    pending: 64,
    per_block: None,
};
/// A validator account's: session keys change rarely.
pub const VALIDATOR_BUDGET: Budget = Budget {
    pending: 4,
    per_block: None,
};

/// A contract party's: agreements are signed and rounds run by a few messages at a time, and a
/// contract call can take much of a block's weight, so one key holds few in the pool.
pub const CONTRACT_PARTY_BUDGET: Budget = Budget {
    pending: 16,
    per_block: None,
};

/// Institutions' access calls: a worker's request, cohort request, emergency or completion.
pub const ACCESS_PRIORITY: TransactionPriority = 400;
/// Governance's calls and validators' session keys.
pub const GOVERNANCE_PRIORITY: TransactionPriority = 300;
/// Institutions' other calls (enrolment, withdrawing a key).
pub const INSTITUTION_PRIORITY: TransactionPriority = 200;
/// Patients' and guardians' calls.
pub const PATIENT_PRIORITY: TransactionPriority = 100;

impl Role {
    /// The role's budget.
    pub const fn budget(self) -> Budget {
        match self {
            Role::Institution => INSTITUTION_BUDGET,
            Role::Governance => GOVERNANCE_BUDGET,
            Role::Validator => VALIDATOR_BUDGET,
            Role::Patient => PATIENT_BUDGET,
            Role::ContractParty => CONTRACT_PARTY_BUDGET,
        }
    }
}

/// Whether no signed transaction may carry `call`, whoever signs it.
///
/// Nodes join and leave the consortium by council vote (node-authorization's well-known-node
/// calls, which arrive under the council's origin, never signed). The pallet's owner calls
/// (`claim_node`, `add_connections`, ...) would let any registered account, patients included,
/// claim peer ids and grow a connection list the pallet does not bound, with no fees to pay;
/// signed well-known-node calls would only fail their origin check after taking block space.
pub fn is_refused(call: &RuntimeCall) -> bool {
    matches!(
        call,
        RuntimeCall::NodeAuthorization(_) | RuntimeCall::Balances(_)
    )
}

/// The role a signer must hold to send `call`, by the call alone; `None`: no signer may.
pub fn role_of(call: &RuntimeCall) -> Option<Role> {
    use frame_system::Call as System;
    match call {
        RuntimeCall::Audit(_)
        | RuntimeCall::Identity(
            IdentityCall::enrol { .. }
            | IdentityCall::remove_service_key { .. }
            | IdentityCall::set_transport_key { .. },
        ) => Some(Role::Institution),
        RuntimeCall::Identity(
            IdentityCall::claim { .. }
            | IdentityCall::appoint_guardian { .. }
            | IdentityCall::remove_guardian { .. }
            | IdentityCall::forget { .. },
        )
        | RuntimeCall::Consent(
            pallet_consentry_consent::Call::grant { .. }
            | pallet_consentry_consent::Call::amend { .. }
            | pallet_consentry_consent::Call::revoke { .. },
        ) => Some(Role::Patient),
        RuntimeCall::System(System::remark { .. } | System::remark_with_event { .. })
        | RuntimeCall::Council(_)
        | RuntimeCall::CouncilMembership(_)
        | RuntimeCall::Sudo(_) => Some(Role::Governance),
        RuntimeCall::Session(_) => Some(Role::Validator),
        // Only the current call: uploads and instantiation come by council motion, and the
        // pre-`Weight v2` variant duplicates this one.
        RuntimeCall::Contracts(pallet_contracts::Call::call { .. }) => Some(Role::ContractParty),
        // Governance-origin calls (identity's institution management, the validator set,
        // System's root calls, node authorization), inherents (Timestamp) and the rest.
        _ => None,
    }
}

/// The priority of `call` sent in `role`.
pub fn priority(role: Role, call: &RuntimeCall) -> TransactionPriority {
    use pallet_consentry_audit::Call as Audit;
    match (role, call) {
        (
            Role::Institution,
            RuntimeCall::Audit(
                Audit::request_access { .. }
                | Audit::request_access_batch { .. }
                | Audit::emergency_access { .. }
                | Audit::complete_access { .. }
                | Audit::complete_access_batch { .. },
            ),
        ) => ACCESS_PRIORITY,
        (Role::Governance | Role::Validator, _) => GOVERNANCE_PRIORITY,
        (Role::Institution | Role::ContractParty, _) => INSTITUTION_PRIORITY,
        (Role::Patient, _) => PATIENT_PRIORITY,
    }
}

/// Whether `who` sits on the council.
pub fn is_council_member(who: &AccountId) -> bool {
    pallet_membership::Members::<Runtime, pallet_membership::Instance1>::get().contains(who)
}

fn is_sudo(who: &AccountId) -> bool {
    sudo::Key::get().as_ref() == Some(who)
}

fn is_service_key(who: &AccountId) -> bool {
    pallet_consentry_identity::ServiceKeys::<Runtime>::contains_key(who)
}

/// Whether `who` may act for `subject` now: its live patient or an appointed guardian.
fn acts_for(who: &AccountId, subject: consentry_primitives::SubjectId) -> bool {
    IdentityPallet::<Runtime>::ensure_patient_or_guardian(who, subject).is_ok()
}

/// The live (not forgotten) subject `who` is the patient of.
fn live_subject_of(who: &AccountId) -> Option<consentry_primitives::SubjectId> {
    pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(who)
        .filter(|s| !IdentityPallet::<Runtime>::is_erased(*s))
}

/// Whether `who` holds the role `call` needs (see [`role_of`]) for this very call.
fn holds(who: &AccountId, role: Role, call: &RuntimeCall) -> bool {
    use pallet_consentry_consent::{Call as Consent, Consents};
    match (role, call) {
        (Role::Institution, _) => is_service_key(who),
        (Role::ContractParty, _) => {
            is_council_member(who)
                || crate::contracts::extension::institution_of(who).is_some_and(|i| i.active)
        }
        (Role::Governance, RuntimeCall::Sudo(_)) => is_sudo(who),
        (Role::Governance, _) => is_council_member(who),
        (Role::Validator, _) => pallet_consentry_validators::Pallet::<Runtime>::is_validator(who),
        (Role::Patient, RuntimeCall::Identity(IdentityCall::claim { pseudonym })) => {
            // An account whose subject was forgotten claims nothing more under it.
            IdentityPallet::<Runtime>::is_claimable_by(pseudonym, who)
                && pallet_consentry_identity::SubjectOfAccount::<Runtime>::get(who)
                    .is_none_or(|s| !IdentityPallet::<Runtime>::is_erased(s))
        }
        (Role::Patient, RuntimeCall::Identity(IdentityCall::appoint_guardian { .. })) => {
            live_subject_of(who).is_some()
        }
        (
            Role::Patient,
            RuntimeCall::Identity(
                IdentityCall::remove_guardian { subject, .. } | IdentityCall::forget { subject },
            ),
        )
        | (Role::Patient, RuntimeCall::Consent(Consent::grant { subject, .. })) => {
            acts_for(who, *subject)
        }
        (
            Role::Patient,
            RuntimeCall::Consent(Consent::amend { consent, .. } | Consent::revoke { consent }),
        ) => Consents::<Runtime>::get(consent).is_some_and(|c| acts_for(who, c.subject)),
        (Role::Patient, _) => false,
    }
}

/// Whether the chain knows `who` at all: a service key, a live patient, a guardian, a council
/// member or the sudo key (a refused call of such a signer is refused as `Call`, a stranger's as
/// `BadSigner`). A validator account that is nothing else counts as a stranger outside its
/// session-key calls, and so does an account whose subject was forgotten.
fn is_known(who: &AccountId) -> bool {
    is_service_key(who)
        || live_subject_of(who).is_some()
        || pallet_consentry_identity::Guardianships::<Runtime>::contains_key(who)
        || is_council_member(who)
        || is_sudo(who)
}

/// The role `who` sends `call` in, or why it may not.
pub fn admission(who: &AccountId, call: &RuntimeCall) -> Result<Role, InvalidTransaction> {
    if is_refused(call) {
        return Err(InvalidTransaction::Call);
    }
    match role_of(call) {
        Some(role) if holds(who, role, call) => Ok(role),
        _ if is_known(who) => Err(InvalidTransaction::Call),
        _ => Err(InvalidTransaction::BadSigner),
    }
}

/// Whether `who` may sign `call` (budgets aside).
pub fn is_permitted(who: &AccountId, call: &RuntimeCall) -> bool {
    admission(who, call).is_ok()
}

/// The extensions after this one in [`crate::TxExtension`], whose explicit data (era and nonce)
/// follow the call in the implication this extension is handed.
pub type Following = (
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
);

/// The pipeline [`Following`] assumes: the non-zero-sender check, this extension, then exactly
/// [`Following`]'s extensions.
type AssumedPipeline = (
    frame_system::CheckNonZeroSender<Runtime>,
    CheckPermission,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
);

/// Fails to compile unless the runtime's pipeline is [`AssumedPipeline`]: the nonce is read from
/// where that shape puts it.
const _: fn(crate::TxExtension) -> AssumedPipeline = |x| x;

/// The extensions after [`CheckPermission`] as a transaction with `nonce` carries them (immortal).
pub fn following(nonce: Nonce) -> Following {
    (
        frame_system::CheckSpecVersion::new(),
        frame_system::CheckTxVersion::new(),
        frame_system::CheckGenesis::new(),
        frame_system::CheckEra::from(sp_runtime::generic::Era::Immortal),
        frame_system::CheckNonce::from(nonce),
        frame_system::CheckWeight::new(),
    )
}

/// The nonce the transaction carries, from the explicit data of the extensions after this one in
/// `implication`; `None` when they are not [`Following`] (this extension run on its own, as its
/// benchmarks and some tests do).
pub fn signed_nonce(implication: &impl Implication) -> Option<Nonce> {
    let explicit = implication.parts().explicit.encode();
    let (_, _, _, _, nonce, _) = Following::decode_all(&mut &explicit[..]).ok()?;
    Some(nonce.0)
}

/// Whether `call` is counted per block when admitted (a patient's).
fn counted(call: &RuntimeCall) -> bool {
    role_of(call).is_some_and(|r| r.budget().per_block.is_some())
}

fn exhausted() -> TransactionValidityError {
    InvalidTransaction::ExhaustsResources.into()
}

impl TransactionExtension<RuntimeCall> for CheckPermission {
    const IDENTIFIER: &'static str = "CheckPermission";
    type Implicit = ();
    /// For a counted transaction: its signer, the block and the signer's count with it.
    type Val = Option<(AccountId, BlockNumber, u32)>;
    type Pre = ();

    fn weight(&self, call: &RuntimeCall) -> Weight {
        // The signer is not known here, so every transaction pays for the longest admission the
        // benchmarks measured: past every list of the chain (see `benchmarking`), which is longer
        // than any single role's check of a call (at most the consent, the subject and the
        // guardianship). Not yet in the generated weights: the nonce read of the pool budget, and
        // a counted call's count, read and written (`scripts/weights.sh permission`).
        type W = SubstrateWeight<Runtime>;
        let db = <Runtime as frame_system::Config>::DbWeight::get();
        let budget = if counted(call) {
            db.reads_writes(2, 1)
        } else {
            db.reads(1)
        };
        W::validator_session_keys()
            .max(W::claimant())
            .saturating_add(budget)
    }

    fn validate(
        &self,
        origin: RuntimeOrigin,
        call: &RuntimeCall,
        _info: &DispatchInfoOf<RuntimeCall>,
        _len: usize,
        _self_implicit: (),
        inherited_implication: &impl Implication,
        _source: TransactionSource,
    ) -> ValidateResult<Self::Val, RuntimeCall> {
        let Some(who) = origin.as_system_origin_signer() else {
            return Ok((ValidTransaction::default(), None, origin));
        };
        let role = admission(who, call)?;
        let budget = role.budget();
        if let Some(nonce) = signed_nonce(inherited_implication) {
            let next = frame_system::Pallet::<Runtime>::account_nonce(who);
            if nonce.saturating_sub(next) >= budget.pending {
                return Err(exhausted());
            }
        }
        let mut val = None;
        if let Some(limit) = budget.per_block {
            let now = frame_system::Pallet::<Runtime>::block_number();
            let spent = match BlockShare::get(who) {
                Some((at, n)) if at == now => n,
                _ => 0,
            };
            if spent >= limit {
                return Err(exhausted());
            }
            val = Some((who.clone(), now, spent.saturating_add(1)));
        }
        let valid = ValidTransaction {
            priority: priority(role, call),
            ..Default::default()
        };
        Ok((valid, val, origin))
    }

    fn prepare(
        self,
        val: Self::Val,
        _origin: &RuntimeOrigin,
        _call: &RuntimeCall,
        _info: &DispatchInfoOf<RuntimeCall>,
        _len: usize,
    ) -> Result<(), TransactionValidityError> {
        if let Some((who, now, spent)) = val {
            BlockShare::insert(who, (now, spent));
        }
        Ok(())
    }
}
