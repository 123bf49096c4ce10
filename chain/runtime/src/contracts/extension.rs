//! The chain extension through which contracts read Consentry's state, never copying it.
//!
//! Extension id [`EXTENSION_ID`]; every function reads only, and is charged its worst case
//! before it reads anything (a contract that runs out of gas has read nothing):
//!
//! | func | input (SCALE)                                          | output (SCALE)            |
//! |------|--------------------------------------------------------|---------------------------|
//! | 1    | `AccountId`                                            | `Option<InstitutionInfo>` |
//! | 2    | `(SubjectRef, AccountId, Purpose, CategorySet)`        | `Decision`                |
//! | 3    | `AccountId`                                            | `bool`                    |
//!
//! Function 2 is the very decision the audit pallet records ([`ConsentCheck::decide`] at the
//! block's timestamp), but it consumes no use: a contract may ask whether an access would be
//! permitted, only the audit log grants one. The same decision is public through the
//! `ConsentApi` runtime API, so the extension reveals nothing new. The types are those of
//! `consentry-primitives`; the contracts' mirror of them (`contracts/env`) is pinned to the same
//! bytes by the golden vectors in `contracts/env/golden/extension.txt`, which both sides test.

use crate::{AccountId, Runtime};
use codec::{Decode, Encode};
use consentry_primitives::{CategorySet, ConsentCheck, Purpose, RoleSet, SubjectRef};
use frame_support::weights::Weight;
use pallet_consentry_identity::InstitutionStatus;
use pallet_contracts::chain_extension::{ChainExtension, Environment, Ext, InitState, RetVal};
use scale_info::TypeInfo;
use sp_runtime::DispatchError;

/// The extension's id (ink!'s `#[ink::chain_extension(extension = 1)]`).
pub const EXTENSION_ID: u16 = 1;

/// Function ids.
pub mod func {
    /// `institution_of(account) -> Option<InstitutionInfo>`.
    pub const INSTITUTION_OF: u16 = 1;
    /// `decide(subject, accessor, purpose, categories) -> Decision`.
    pub const DECIDE: u16 = 2;
    /// `is_council_member(account) -> bool`.
    pub const IS_COUNCIL_MEMBER: u16 = 3;
}

/// The longest input any function takes: a pseudonym reference (33 bytes), an account (32), a
/// purpose (1) and a category set (2). Longer input is refused before it is read.
pub const MAX_INPUT: u32 = 33 + 32 + 1 + 2;

/// What a contract learns about an account's institution.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct InstitutionInfo {
    /// The institution's id.
    pub id: consentry_primitives::InstitutionId,
    /// Its roles.
    pub roles: RoleSet,
    /// Whether its keys are honoured (not suspended).
    pub active: bool,
}

/// The institution `who` is a service key of, if any.
pub fn institution_of(who: &AccountId) -> Option<InstitutionInfo> {
    let id = pallet_consentry_identity::ServiceKeys::<Runtime>::get(who)?;
    let inst = pallet_consentry_identity::Institutions::<Runtime>::get(id)?;
    Some(InstitutionInfo {
        id,
        roles: inst.roles,
        active: inst.status == InstitutionStatus::Active,
    })
}

pub use crate::permission::is_council_member;

/// What each function is charged before it reads: its storage reads at the worst case, plus
/// decoding and encoding, which are bounded by [`MAX_INPUT`] and the output's size.
pub mod cost {
    use super::*;
    use frame_support::{traits::Get, weights::RuntimeDbWeight};

    fn reads(n: u64) -> Weight {
        <<Runtime as frame_system::Config>::DbWeight as Get<RuntimeDbWeight>>::get().reads(n)
    }

    /// A service-key lookup and the institution it names.
    pub fn institution_of() -> Weight {
        reads(2)
    }

    /// The council's member list.
    pub fn is_council_member() -> Weight {
        reads(1)
    }

    /// The accessor's status (two reads), the pseudonym and the subject it resolves to, the
    /// erasure mark, the patient's consent index and every consent in it at the index's bound.
    pub fn decide() -> Weight {
        let consents = <pallet_consentry_consent::Pallet<Runtime> as ConsentCheck<AccountId>>::max_consents_read();
        reads(6 + u64::from(consents))
    }
}

/// The runtime's [`ChainExtension`] for Consentry's contracts.
#[derive(Default)]
pub struct ConsentryExtension;

fn refuse(why: &'static str) -> DispatchError {
    DispatchError::Other(why)
}

impl ChainExtension<Runtime> for ConsentryExtension {
    fn call<E: Ext<T = Runtime>>(
        &mut self,
        env: Environment<E, InitState>,
    ) -> Result<RetVal, DispatchError> {
        if env.ext_id() != EXTENSION_ID {
            return Err(pallet_contracts::Error::<Runtime>::NoChainExtension.into());
        }
        let func_id = env.func_id();
        let mut env = env.buf_in_buf_out();
        if env.in_len() > MAX_INPUT {
            return Err(refuse("consentry extension: input too long"));
        }
        let output = match func_id {
            func::INSTITUTION_OF => {
                env.charge_weight(cost::institution_of())?;
                let who: AccountId = env.read_as_unbounded(env.in_len())?;
                institution_of(&who).encode()
            }
            func::DECIDE => {
                env.charge_weight(cost::decide())?;
                let (subject, accessor, purpose, categories): (
                    SubjectRef,
                    AccountId,
                    Purpose,
                    CategorySet,
                ) = env.read_as_unbounded(env.in_len())?;
                let now = *env.ext().now();
                <pallet_consentry_consent::Pallet<Runtime> as ConsentCheck<AccountId>>::decide(
                    subject, &accessor, purpose, categories, now,
                )
                .encode()
            }
            func::IS_COUNCIL_MEMBER => {
                env.charge_weight(cost::is_council_member())?;
                let who: AccountId = env.read_as_unbounded(env.in_len())?;
                is_council_member(&who).encode()
            }
            _ => return Err(refuse("consentry extension: unknown function")),
        };
        env.write(&output, false, None)?;
        Ok(RetVal::Converging(0))
    }
}
