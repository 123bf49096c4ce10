//! # Consentry runtime
//!
//! The state transition function the consortium's validators run: Aura block authoring, GRANDPA
//! finality, a council of member institutions that governs institutions, the validator set
//! (through session keys: `ValidatorSet` + `Session`) and which nodes may peer, and the Consentry identity, consent and audit pallets.
//!
//! Institutions' agreements with each other run as ink! contracts ([`contracts`]), deployed by
//! council motion and reading consent through a read-only chain extension.
//!
//! There are no fees and no tokens to move: patients never need any. (The balances pallet is
//! there only because contracts need an existential deposit; no signed call can touch it.) Instead, the
//! [`permission::CheckPermission`] transaction extension admits only accounts the chain knows
//! (institution service keys, patients, guardians, council members) into the pool, and an
//! unregistered account only to claim an enrolment addressed to it.
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` expands to large types.
#![recursion_limit = "256"]

extern crate alloc;

use alloc::vec::Vec;

// Declared before `apis` and `macro_use`d: `define_benchmarks!` there defines the
// `list_benchmarks!`/`add_benchmarks!` macros `apis` calls.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
pub mod apis;
pub mod configs;
pub mod contracts;
pub mod genesis;
#[cfg(feature = "runtime-benchmarks")]
pub mod node_authorization_benchmarking;
pub mod permission;
pub mod weights;

use sp_runtime::{
    generic, impl_opaque_keys,
    traits::{BlakeTwo256, IdentifyAccount, Verify},
    MultiAddress, MultiSignature,
};
#[cfg(feature = "std")]
use sp_version::NativeVersion;
use sp_version::RuntimeVersion;

pub use consentry_primitives as primitives;
pub use frame_system::Call as SystemCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Types the node needs without knowing the runtime's extrinsic format.
pub mod opaque {
    use super::*;
    pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

    /// Block header.
    pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
    /// Block.
    pub type Block = generic::Block<Header, UncheckedExtrinsic>;
    /// Block hash.
    pub type Hash = <BlakeTwo256 as sp_runtime::traits::Hash>::Output;
}

impl_opaque_keys! {
    /// The keys a validator registers for a session.
    pub struct SessionKeys {
        pub aura: Aura,
        pub grandpa: Grandpa,
    }
}

/// The runtime's version: bump `spec_version` on every runtime change that reaches a network.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: alloc::borrow::Cow::Borrowed("consentry"),
    impl_name: alloc::borrow::Cow::Borrowed("consentry"),
    authoring_version: 1,
    spec_version: 117,
    impl_version: 1,
    apis: apis::RUNTIME_API_VERSIONS,
    transaction_version: 2,
    system_version: 1,
};

/// Target block time. Two seconds keeps consent changes visible to workers within a few
/// seconds of finality on the consortium's hardware.
pub const MILLI_SECS_PER_BLOCK: u64 = 2000;
/// Aura slot length.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;
/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;
/// Session length of the dev chain and of consortium networks whose file sets none: ten minutes.
/// `pallet-session` marks each rotation block full, so a session costs one block of ordinary
/// transactions (1/300 of capacity here), and a validator-set change applies two rotations after
/// governance decides it (within about twenty minutes).
pub const SESSION_LENGTH: BlockNumber = 10 * MINUTES;
/// Session length of the `local` test network, whose tests change the validator set: a change
/// applies within about a minute, at the price of one block in fifteen.
pub const TEST_SESSION_LENGTH: BlockNumber = 15;

/// The native version, for the node.
#[cfg(feature = "std")]
pub fn native_version() -> NativeVersion {
    NativeVersion {
        runtime_version: VERSION,
        can_author_with: Default::default(),
    }
}

/// Signatures: sr25519 by default (wallets), ed25519 and ecdsa accepted.
pub type Signature = MultiSignature;
/// Account ids: the public key of the signer.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Transaction counter per account.
pub type Nonce = u32;
/// Block hash.
pub type Hash = sp_core::H256;
/// Block number.
pub type BlockNumber = u32;
/// Address format in extrinsics.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// Checks every signed transaction passes, in order; the first to refuse names the reason. The
/// permission check comes before the nonce check: an account the chain has never seen has no
/// nonce either, and `CheckNonce` would refuse it as unable to pay fees, on a chain without fees.
/// (Transaction version 2 moved it there.)
pub type TxExtension = (
    frame_system::CheckNonZeroSender<Runtime>,
    permission::CheckPermission,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
);

/// Extrinsic format.
pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// What a signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run at the first block of this runtime version, in order. Each runs only
/// while its pallet's on-chain storage version is the one it migrates from, then stamps the next,
/// so a chain started at this version (whose genesis stamps every pallet's current version) runs
/// none. Identity's first comes before consent's, which reads identity's version 1 layout. A chain
/// that started before contracts (spec 110 or earlier) gets what their genesis would have given.
pub type Migrations = (
    pallet_consentry_identity::migrations::v1::MigrateV0ToV1<Runtime>,
    pallet_consentry_consent::migrations::v1::MigrateV0ToV1<Runtime>,
    pallet_consentry_audit::migrations::v1::MigrateV0ToV1<Runtime>,
    pallet_consentry_validators::migrations::v1::MigrateV0ToV1<Runtime>,
    pallet_consentry_identity::migrations::v2::MigrateV1ToV2<Runtime>,
    contracts::migration::EndowDeployer,
);

/// Block execution.
pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
    Migrations,
>;

#[frame_support::runtime]
mod runtime {
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type Timestamp = pallet_timestamp;
    #[runtime::pallet_index(2)]
    pub type Aura = pallet_aura;
    #[runtime::pallet_index(3)]
    pub type Grandpa = pallet_grandpa;
    /// Dev and test chains only: production chain specs set no key.
    #[runtime::pallet_index(4)]
    pub type Sudo = pallet_sudo;
    /// The consortium council: one seat per member institution.
    #[runtime::pallet_index(5)]
    pub type Council = pallet_collective<Instance1>;
    #[runtime::pallet_index(6)]
    pub type CouncilMembership = pallet_membership<Instance1>;
    /// Which nodes may peer.
    #[runtime::pallet_index(7)]
    pub type NodeAuthorization = pallet_node_authorization;
    /// The validator set the council decides on; declared before `Session`, whose genesis asks it.
    #[runtime::pallet_index(8)]
    pub type ValidatorSet = pallet_consentry_validators;
    /// Turns the validator set into Aura and GRANDPA authorities at session boundaries.
    #[runtime::pallet_index(9)]
    pub type Session = pallet_session;
    #[runtime::pallet_index(10)]
    pub type Identity = pallet_consentry_identity;
    #[runtime::pallet_index(11)]
    pub type Consent = pallet_consentry_consent;
    #[runtime::pallet_index(12)]
    pub type Audit = pallet_consentry_audit;
    /// Non-transferable balances, only for contracts' existential deposits (see [`contracts`]).
    #[runtime::pallet_index(13)]
    pub type Balances = pallet_balances;
    /// ink! contracts: institutions' data-use agreements and federated-learning consortia.
    #[runtime::pallet_index(14)]
    pub type Contracts = pallet_contracts;
}

#[cfg(test)]
mod tests;
