//! Consentry's ink! environment: [`ConsentryEnv`] and the chain extension [`ConsentryExt`]
//! through which contracts read (never write) the chain's identity and consent state.
//!
//! The types here mirror `consentry-primitives` (`pallets/primitives/src/{lib,sets,consent}.rs`)
//! byte for byte in SCALE; they are copies, not imports, because the contracts workspace does not
//! depend on the Polkadot SDK. `golden/extension.txt` pins the encodings on both sides: the test
//! at the bottom of this file checks these mirrors against it, and a runtime test checks the real
//! primitives against the same file.
//!
//! The extension (id 1) has three read-only functions; each takes the SCALE encoding of its
//! argument (one argument as itself, several as a tuple) and returns the SCALE encoding of its
//! result in the output buffer, with status code 0 (`handle_status = false`: the status is not
//! read, a failing runtime function traps the contract instead):
//!
//! | func | call | input | output |
//! |---|---|---|---|
//! | 1 | `institution_of` | `AccountId` | `Option<InstitutionInfo>` |
//! | 2 | `decide` | `(SubjectRef, AccountId, Purpose, CategorySet)` | `Decision` |
//! | 3 | `is_council_member` | `AccountId` | `bool` |
//!
//! The 32-bit id the contract passes to `seal_call_chain_extension` is `(1 << 16) | func`.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// ink! generates `fn is_council_member(self, ..)` on the extension's by-value handle, and drops
// attributes on the trait, so the lint is allowed for this (small) crate.
#![allow(clippy::wrong_self_convention)]

extern crate alloc;

use alloc::vec::Vec;
use ink::env::{DefaultEnvironment, Environment};
use ink::primitives::AccountId;

/// The chain extension's id (the upper 16 bits of the id a contract passes to the runtime).
pub const EXTENSION_ID: u16 = 1;
/// Function ids (the lower 16 bits).
pub const FUNC_INSTITUTION_OF: u16 = 1;
/// See [`FUNC_INSTITUTION_OF`].
pub const FUNC_DECIDE: u16 = 2;
/// See [`FUNC_INSTITUTION_OF`].
pub const FUNC_IS_COUNCIL_MEMBER: u16 = 3;

/// Identifier of a registered institution (`consentry_primitives::InstitutionId`).
pub type InstitutionId = u32;
/// Identifier of a pseudonymous patient (`consentry_primitives::SubjectId`).
pub type SubjectId = u64;
/// Identifier of a consent policy (`consentry_primitives::ConsentId`).
pub type ConsentId = u64;
/// Time in milliseconds since the Unix epoch (`consentry_primitives::Moment`).
pub type Moment = u64;
/// A 32-byte digest.
pub type Digest = [u8; 32];

/// Which patient a decision is about (`consentry_primitives::SubjectRef`).
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SubjectRef {
    /// The subject itself.
    Subject(SubjectId),
    /// A pseudonym posted by an institution.
    Pseudonym([u8; 32]),
}

macro_rules! flags {
    ($(#[$meta:meta])* $name:ident, $set:ident, $bits:ty, [$($(#[$vmeta:meta])* $variant:ident = $bit:expr),+ $(,)?]) => {
        $(#[$meta])*
        #[ink::scale_derive(Encode, Decode, TypeInfo)]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
        #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
        pub enum $name {
            $($(#[$vmeta])* $variant = $bit),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's bit in a set.
            pub const fn bit(self) -> $bits {
                1 << (self as u8)
            }
        }

        #[doc = concat!("A set of [`", stringify!($name), "`] values: bit `v as u8` is set for each value `v`.")]
        #[ink::scale_derive(Encode, Decode, TypeInfo)]
        #[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
        #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
        pub struct $set(pub $bits);

        impl $set {
            /// The empty set.
            pub const fn empty() -> Self {
                Self(0)
            }
            /// The set of the given values.
            pub fn of(items: &[$name]) -> Self {
                Self(items.iter().fold(0, |acc, i| acc | i.bit()))
            }
            /// The set of every defined value.
            pub fn all() -> Self {
                Self::of($name::ALL)
            }
            /// Whether the set holds `item`.
            pub fn contains(self, item: $name) -> bool {
                self.0 & item.bit() != 0
            }
            /// Whether every value of `other` is in `self`.
            pub fn includes(self, other: Self) -> bool {
                other.0 & !self.0 == 0
            }
            /// Whether the set is empty.
            pub fn is_empty(self) -> bool {
                self.0 == 0
            }
            /// Whether only defined values are set.
            pub fn is_valid(self) -> bool {
                Self::all().includes(self)
            }
        }
    };
}

flags!(
    /// What an institution may do (`consentry_primitives::Role`).
    Role, RoleSet, u8, [
        /// Holds patient data.
        DataCustodian = 0,
        /// Runs research and model training.
        Researcher = 1,
        /// Reviews the audit log.
        Auditor = 2,
    ]
);

flags!(
    /// Why data is used (`consentry_primitives::Purpose`); encodes as its discriminant.
    Purpose, PurposeSet, u16, [
        /// Direct care.
        Treatment = 0,
        /// Drug-response inference.
        Inference = 1,
        /// Digital-twin simulation.
        Simulation = 2,
        /// A federated training round.
        FederatedTraining = 3,
        /// Research.
        Research = 4,
        /// Linking a pseudonym back to a person.
        ReIdentification = 5,
    ]
);

flags!(
    /// Which data is used (`consentry_primitives::DataCategory`).
    DataCategory, CategorySet, u16, [
        /// Age, sex, weight, height.
        Demographics = 0,
        /// Electronic health record.
        Ehr = 1,
        /// Laboratory results.
        Labs = 2,
        /// Genotypes.
        Genomic = 3,
        /// Vital signs and wearables.
        Wearable = 4,
        /// Imaging.
        Imaging = 5,
    ]
);

/// Why consent does not permit an access (`consentry_primitives::DenyReason`), in this order.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DenyReason {
    /// The accessor is not a service key of a registered institution.
    AccessorNotRegistered,
    /// The accessor's institution is suspended.
    AccessorSuspended,
    /// The pseudonym is unknown or unclaimed.
    UnknownSubject,
    /// The subject was erased.
    SubjectErased,
    /// No consent names this accessor.
    NoConsent,
    /// The consent was revoked.
    Revoked,
    /// The consent's period has not started.
    NotYetValid,
    /// The consent's period is over.
    Expired,
    /// The consent's use limit is reached.
    UsesExhausted,
    /// The purpose is not covered.
    PurposeNotCovered,
    /// A requested category is not covered.
    CategoryNotCovered,
}

/// A consent decision (`consentry_primitives::Decision`).
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Decision {
    /// Allowed by these consents.
    Permit {
        subject: SubjectId,
        consents: Vec<ConsentId>,
    },
    /// Refused, with the reason.
    Deny {
        subject: Option<SubjectId>,
        reason: DenyReason,
    },
}

impl Decision {
    /// Whether the decision permits the access.
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit { .. })
    }
}

/// What the chain knows about an account's institution: the answer of `institution_of` for a
/// service key (an account that is no institution's key gets `None`).
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InstitutionInfo {
    /// The institution's id.
    pub id: InstitutionId,
    /// Its roles.
    pub roles: RoleSet,
    /// `false` while the institution is suspended.
    pub active: bool,
}

/// The extension's error type. Every function is declared `handle_status = false`, so the status
/// code is never turned into this error; it exists because ink! requires an `ErrorCode`.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtError {
    /// The runtime returned this non-zero status code.
    Status(u32),
}

impl ink::env::chain_extension::FromStatusCode for ExtError {
    fn from_status_code(status_code: u32) -> Result<(), Self> {
        match status_code {
            0 => Ok(()),
            code => Err(ExtError::Status(code)),
        }
    }
}

/// Consentry's chain extension: read-only views of the identity, consent and council state.
#[ink::chain_extension(extension = 1)]
pub trait ConsentryExt {
    type ErrorCode = ExtError;

    /// The institution whose service key `who` is, with its roles and status.
    #[ink(function = 1, handle_status = false)]
    fn institution_of(who: AccountId) -> Option<InstitutionInfo>;

    /// The consent decision the audit pallet would take now (block timestamp) for `accessor`
    /// reading `categories` of `subject` for `purpose`; consumes no use.
    #[ink(function = 2, handle_status = false)]
    fn decide(
        subject: SubjectRef,
        accessor: AccountId,
        purpose: Purpose,
        categories: CategorySet,
    ) -> Decision;

    /// Whether `who` is a member of the governing council.
    #[ink(function = 3, handle_status = false)]
    fn is_council_member(who: AccountId) -> bool;
}

/// The environment of Consentry's contracts: ink!'s default types (which are the chain's:
/// `AccountId32`, `u128` balances, `H256`, `u64` ms timestamps, `u32` block numbers) and the
/// [`ConsentryExt`] chain extension.
#[derive(Clone, Debug, PartialEq, Eq)]
#[ink::scale_derive(TypeInfo)]
pub enum ConsentryEnv {}

impl Environment for ConsentryEnv {
    const MAX_EVENT_TOPICS: usize = <DefaultEnvironment as Environment>::MAX_EVENT_TOPICS;

    type AccountId = <DefaultEnvironment as Environment>::AccountId;
    type Balance = <DefaultEnvironment as Environment>::Balance;
    type Hash = <DefaultEnvironment as Environment>::Hash;
    type Timestamp = <DefaultEnvironment as Environment>::Timestamp;
    type BlockNumber = <DefaultEnvironment as Environment>::BlockNumber;

    type ChainExtension = ConsentryExt;
}

#[cfg(feature = "std")]
pub mod mock;

#[cfg(test)]
mod tests;
