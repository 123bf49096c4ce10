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
use alloc::vec::Vec;
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

/// What each function is charged before it reads: its benchmarked weight
/// (`weights/contracts_extension.rs`, `scripts/weights.sh extension`), which covers decoding the
/// input, the function's reads at their worst case and encoding the output ([`run`]). Copying
/// the input (at most [`MAX_INPUT`] bytes) in and the output out is not in it: pallet-contracts
/// charges neither, and two copies of a few dozen bytes are below what the benchmark resolves.
pub mod cost {
    use super::*;
    use crate::weights::contracts_extension::{SubstrateWeight, WeightInfo};

    type W = SubstrateWeight<Runtime>;

    /// A service-key lookup and the institution it names.
    pub fn institution_of() -> Weight {
        W::institution_of()
    }

    /// The council's member list, full.
    pub fn is_council_member() -> Weight {
        W::is_council_member()
    }

    /// The accessor's service key and institution, the patient's pseudonym link (or its subject
    /// record, when named by id), and the patient's consent index at its bound: every consent in
    /// it is weighed, live or not. Each way of naming the patient reads one record the other
    /// does not, so the charge is the costlier of the two.
    pub fn decide() -> Weight {
        let consents =
            <pallet_consentry_consent::Pallet<Runtime> as ConsentCheck<AccountId>>::max_consents_read();
        W::decide(consents).max(W::decide_by_subject(consents))
    }

    /// The charge for function `func`, or `None` for a function the extension does not have.
    pub fn of(func: u16) -> Option<Weight> {
        match func {
            func::INSTITUTION_OF => Some(institution_of()),
            func::DECIDE => Some(decide()),
            func::IS_COUNCIL_MEMBER => Some(is_council_member()),
            _ => None,
        }
    }
}

/// Runs function `func` on its SCALE `input` at time `now` (ms), returning its SCALE output.
/// This is everything the extension does after charging and before writing back: what the
/// benchmarks measure.
pub fn run(func: u16, mut input: &[u8], now: u64) -> Result<Vec<u8>, DispatchError> {
    fn decode<T: Decode>(input: &mut &[u8]) -> Result<T, DispatchError> {
        let value = T::decode(input).map_err(|_| refuse("consentry extension: malformed input"))?;
        if input.is_empty() {
            Ok(value)
        } else {
            Err(refuse("consentry extension: input longer than its value"))
        }
    }
    Ok(match func {
        func::INSTITUTION_OF => institution_of(&decode(&mut input)?).encode(),
        func::DECIDE => {
            let (subject, accessor, purpose, categories): (
                SubjectRef,
                AccountId,
                Purpose,
                CategorySet,
            ) = decode(&mut input)?;
            <pallet_consentry_consent::Pallet<Runtime> as ConsentCheck<AccountId>>::decide(
                subject, &accessor, purpose, categories, now,
            )
            .encode()
        }
        func::IS_COUNCIL_MEMBER => is_council_member(&decode(&mut input)?).encode(),
        _ => return Err(refuse("consentry extension: unknown function")),
    })
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
        let Some(weight) = cost::of(func_id) else {
            return Err(refuse("consentry extension: unknown function"));
        };
        env.charge_weight(weight)?;
        let input = env.read(env.in_len())?;
        let output = run(func_id, &input, *env.ext().now())?;
        env.write(&output, false, None)?;
        Ok(RetVal::Converging(0))
    }
}
