//! ink! contracts on a chain without fees: pallet-contracts (Wasm), and the balances it needs.
//!
//! Institutions put their agreements with each other (data-use agreements, federated-learning
//! consortia) in ink! contracts (`contracts/`). pallet-contracts 40.1.0 is the Wasm contracts
//! pallet of this SDK release that ink! 5 serves; `contracts/README.md` says why not revive.
//!
//! **Balances without tokens.** pallet-contracts takes storage deposits in a fungible currency,
//! so the runtime has pallet-balances, configured so that nobody ever needs or moves a token:
//! - its balances live in its own storage map ([`frame_support::traits::StorageMapShim`]), so
//!   `System::Account` keeps `AccountData = ()` and needs no migration;
//! - every deposit is zero, so a contract call costs its caller nothing; calling needs no
//!   balance at all (a zero withdrawal is always possible);
//! - no signed `Balances` call enters the pool ([`crate::permission::is_refused`]);
//! - the only holder is [`Deployer`], a keyless account endowed at genesis, which pays each new
//!   contract's existential deposit (the one token a contract account needs to exist).
//!
//! **Who does what.** Code is uploaded and contracts instantiated only by council motion (or the
//! dev chain's sudo key): [`DeployOrigin`] maps that origin to [`Deployer`]. Contract calls are
//! admitted into the pool only from active institutions' service keys and council members
//! ([`crate::permission`]); contracts dispatch no runtime calls ([`Config::CallFilter`] is
//! `Nothing`) and read Consentry's state only through the read-only [`extension`].

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
pub mod extension;
pub mod migration;
#[cfg(test)]
mod tests;

use crate::{
    configs::CouncilCollective, AccountId, Balances, Runtime, RuntimeCall, RuntimeEvent,
    RuntimeFreezeReason, RuntimeHoldReason, Timestamp,
};
use frame_support::{
    parameter_types,
    traits::{ConstBool, ConstU32, EitherOf, MapSuccess, Nothing, Randomness},
    PalletId,
};
use frame_system::EnsureRootWithSuccess;
use pallet_contracts::Config;
use sp_runtime::{
    traits::{AccountIdConversion, Replace},
    Perbill,
};

/// Token amounts. ink!'s default environment uses `u128`; nothing is ever priced in it.
pub type Balance = u128;

/// The one token a contract's account holds so that it exists.
pub const EXISTENTIAL_DEPOSIT: Balance = 1;

/// What [`Deployer`] holds from genesis: an existential deposit for every contract the
/// consortium could ever instantiate. No key controls it, so it cannot be spent otherwise. (At
/// most `u64::MAX`: genesis presets travel as JSON numbers.)
pub const DEPLOYER_ENDOWMENT: Balance = u64::MAX as Balance;

/// The pallet id the deployer's account is derived from.
pub const DEPLOYER_ID: PalletId = PalletId(*b"cnsy/dep");

parameter_types! {
    /// The keyless account council motions upload and instantiate contracts as.
    pub Deployer: AccountId = DEPLOYER_ID.into_account_truncating();
    /// Nothing is held for storage: the chain has no fees, and each contract bounds its own
    /// storage instead.
    pub const DepositPerByte: Balance = 0;
    pub const DepositPerItem: Balance = 0;
    pub const DefaultDepositLimit: Balance = 0;
    pub const CodeHashLockupDepositPercent: Perbill = Perbill::zero();
    /// The SDK's schedule with storage values of at most 8 KiB (the default is 16): with this
    /// chain's 2 s blocks and cheap ParityDB writes, 16 KiB values would let one call fill more
    /// storage than a validator's memory bound allows (pallet-contracts' integrity test). The
    /// contracts' largest value is an agreement or a round, well under 1 KiB.
    pub ContractsSchedule: pallet_contracts::Schedule<Runtime> = {
        let mut s = pallet_contracts::Schedule::<Runtime>::default();
        s.limits.payload_len = 8 * 1024;
        s
    };
}

/// Who may upload code and instantiate contracts: root (dev chains' sudo) or two thirds of the
/// council, both acting as [`Deployer`].
pub type DeployOrigin = EitherOf<
    EnsureRootWithSuccess<AccountId, Deployer>,
    MapSuccess<
        pallet_collective::EnsureProportionAtLeast<AccountId, CouncilCollective, 2, 3>,
        Replace<Deployer>,
    >,
>;

/// The gas a dry run may use when the client names none: what one ordinary transaction may
/// take of a block.
pub fn max_contract_gas() -> frame_support::weights::Weight {
    crate::configs::RuntimeBlockWeights::get()
        .get(frame_support::dispatch::DispatchClass::Normal)
        .max_extrinsic
        .unwrap_or_default()
}

/// The randomness contracts could ask for. `seal_random` is deprecated in pallet-contracts: no
/// constructor may use it, and Consentry's contracts use it nowhere. A contract the council
/// admits that called it would get this fixed, obviously non-random value rather than a weak
/// one that looked random.
pub struct NoRandomness;

impl Randomness<crate::Hash, crate::BlockNumber> for NoRandomness {
    fn random(_subject: &[u8]) -> (crate::Hash, crate::BlockNumber) {
        (Default::default(), 0)
    }
}

impl pallet_balances::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
    type Balance = Balance;
    type DustRemoval = ();
    type ExistentialDeposit = frame_support::traits::ConstU128<EXISTENTIAL_DEPOSIT>;
    // Its own map: `frame_system::Config::AccountData` stays `()`.
    type AccountStore = frame_support::traits::StorageMapShim<
        pallet_balances::Account<Runtime>,
        AccountId,
        pallet_balances::AccountData<Balance>,
    >;
    type ReserveIdentifier = [u8; 8];
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxLocks = ConstU32<0>;
    type MaxReserves = ConstU32<0>;
    type MaxFreezes = ConstU32<0>;
    type DoneSlashHandler = ();
}

impl Config for Runtime {
    type Time = Timestamp;
    type Randomness = NoRandomness;
    type Currency = Balances;
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type RuntimeHoldReason = RuntimeHoldReason;
    // Contracts dispatch no runtime calls.
    type CallFilter = Nothing;
    // Gas is weight; it is never converted to tokens.
    type WeightPrice = ();
    type WeightInfo = pallet_contracts::weights::SubstrateWeight<Runtime>;
    type ChainExtension = extension::ConsentryExtension;
    type Schedule = ContractsSchedule;
    type CallStack = [pallet_contracts::Frame<Self>; 5];
    type DepositPerByte = DepositPerByte;
    type DefaultDepositLimit = DefaultDepositLimit;
    type DepositPerItem = DepositPerItem;
    type CodeHashLockupDepositPercent = CodeHashLockupDepositPercent;
    type AddressGenerator = pallet_contracts::DefaultAddressGenerator;
    type MaxCodeLen = ConstU32<{ 123 * 1024 }>;
    type MaxStorageKeyLen = ConstU32<128>;
    type MaxTransientStorageSize = ConstU32<{ 64 * 1024 }>;
    type MaxDelegateDependencies = ConstU32<32>;
    type UnsafeUnstableInterface = ConstBool<false>;
    type MaxDebugBufferLen = ConstU32<{ 64 * 1024 }>;
    type UploadOrigin = DeployOrigin;
    type InstantiateOrigin = DeployOrigin;
    type Migrations = ();
    type Debug = ();
    type Environment = ();
    type ApiVersion = ();
    type Xcm = ();
}
