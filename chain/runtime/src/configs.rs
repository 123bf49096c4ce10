//! Pallet configuration.

use crate::weights::{block_weights::BlockExecutionWeight, extrinsic_weights::ExtrinsicBaseWeight};
use crate::*;
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{ConstBool, ConstU32, ConstU64, EitherOfDiverse},
    weights::{constants::WEIGHT_REF_TIME_PER_SECOND, Weight},
};
use frame_system::{
    limits::{BlockLength, BlockWeights},
    EnsureRoot,
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::Perbill;

/// Share of a block for ordinary transactions; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// Share of a block's weight its `on_initialize` hooks are assumed to take (the SDK's figure).
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(10);

/// Blocks get the whole slot's compute budget (the author has the full two seconds).
const MAXIMUM_BLOCK_WEIGHT: Weight =
    Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX);

parameter_types! {
    pub const Version: RuntimeVersion = VERSION;
    /// The SDK's `with_sensible_defaults` split of a block between classes, with this chain's own
    /// base weights of a block and of an extrinsic (`benchmark overhead`, see `weights`).
    pub RuntimeBlockWeights: BlockWeights = {
        let normal = NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT;
        BlockWeights::builder()
            .base_block(BlockExecutionWeight::get())
            .for_class(DispatchClass::all(), |w| w.base_extrinsic = ExtrinsicBaseWeight::get())
            .for_class(DispatchClass::Normal, |w| w.max_total = Some(normal))
            .for_class(DispatchClass::Operational, |w| {
                w.max_total = Some(MAXIMUM_BLOCK_WEIGHT);
                w.reserved = Some(MAXIMUM_BLOCK_WEIGHT - normal);
            })
            .avg_block_initialization(AVERAGE_ON_INITIALIZE_RATIO)
            .build_or_panic()
    };
    pub RuntimeBlockLength: BlockLength = BlockLength::max_with_normal_ratio(5 * 1024 * 1024, NORMAL_DISPATCH_RATIO);
    pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountId = AccountId;
    type Nonce = Nonce;
    type Hash = Hash;
    type BlockHashCount = ConstU32<2400>;
    // A read and a write of this chain's ParityDB state, measured on the reference machine with
    // writes committed as blocks commit them (`weights/db_weights.rs`), where the SDK's
    // `ParityDbWeight` was measured elsewhere with every write committed on its own.
    type DbWeight = crate::weights::db_weights::ConsentryDbWeight;
    // Generated here, so the nonce write is priced at ParityDB's cost, not the SDK default's
    // RocksDB one.
    type ExtensionsWeightInfo = crate::weights::frame_system_extensions::WeightInfo<Runtime>;
    // `remark` and the root calls, generated here (the SDK default `()` prices them at RocksDB).
    type SystemWeightInfo = crate::weights::frame_system::WeightInfo<Runtime>;
    type Version = Version;
    type AccountData = ();
    type SS58Prefix = SS58Prefix;
    type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
    type Moment = u64;
    type OnTimestampSet = Aura;
    type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
    // The SDK's benchmarked execution priced at this chain's `DbWeight` (`()` prices it at RocksDB).
    type WeightInfo = pallet_timestamp::weights::SubstrateWeight<Runtime>;
}

impl pallet_aura::Config for Runtime {
    type AuthorityId = AuraId;
    type DisabledValidators = ();
    type MaxAuthorities = ConstU32<32>;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type WeightInfo = ();
    type MaxAuthorities = ConstU32<32>;
    type MaxNominators = ConstU32<0>;
    type MaxSetIdSessionEntries = ConstU64<0>;
    type KeyOwnerProof = sp_core::Void;
    type EquivocationReportSystem = ();
}

impl pallet_sudo::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

/// The council instance.
pub type CouncilCollective = pallet_collective::Instance1;

parameter_types! {
    pub MaxProposalWeight: Weight = Perbill::from_percent(50) * RuntimeBlockWeights::get().max_block;
}

/// Root (dev chains' sudo) or at least two thirds of the council.
pub type CouncilOrRoot = EitherOfDiverse<
    EnsureRoot<AccountId>,
    pallet_collective::EnsureProportionAtLeast<AccountId, CouncilCollective, 2, 3>,
>;

impl pallet_collective::Config<CouncilCollective> for Runtime {
    type RuntimeOrigin = RuntimeOrigin;
    type Proposal = RuntimeCall;
    type RuntimeEvent = RuntimeEvent;
    type MotionDuration = ConstU32<{ 3 * DAYS }>;
    type MaxProposals = ConstU32<100>;
    type MaxMembers = ConstU32<64>;
    type DefaultVote = pallet_collective::PrimeDefaultVote;
    type WeightInfo = pallet_collective::weights::SubstrateWeight<Runtime>;
    type SetMembersOrigin = EnsureRoot<AccountId>;
    type MaxProposalWeight = MaxProposalWeight;
    type DisapproveOrigin = CouncilOrRoot;
    type KillOrigin = CouncilOrRoot;
    type Consideration = ();
}

impl pallet_membership::Config<pallet_membership::Instance1> for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type AddOrigin = CouncilOrRoot;
    type RemoveOrigin = CouncilOrRoot;
    type SwapOrigin = CouncilOrRoot;
    type ResetOrigin = CouncilOrRoot;
    type PrimeOrigin = CouncilOrRoot;
    type MembershipInitialized = CouncilAccounts;
    type MembershipChanged = CouncilAccounts;
    type MaxMembers = ConstU32<64>;
    type WeightInfo = pallet_membership::weights::SubstrateWeight<Runtime>;
}

/// Forwards council membership to the collective and keeps each member's account alive: without
/// balances, an account exists only through a provider reference, and one that does not exist
/// cannot sign (its nonce check fails), so council members could not propose or vote.
pub struct CouncilAccounts;

impl frame_support::traits::InitializeMembers<AccountId> for CouncilAccounts {
    fn initialize_members(members: &[AccountId]) {
        for m in members {
            frame_system::Pallet::<Runtime>::inc_providers(m);
        }
        <Council as frame_support::traits::InitializeMembers<AccountId>>::initialize_members(
            members,
        );
    }
}

impl frame_support::traits::ChangeMembers<AccountId> for CouncilAccounts {
    fn change_members_sorted(incoming: &[AccountId], outgoing: &[AccountId], new: &[AccountId]) {
        for m in incoming {
            frame_system::Pallet::<Runtime>::inc_providers(m);
        }
        for m in outgoing {
            // Fails only while the account has consumers; it then stays alive, which is harmless
            // (it can no longer act as a council member).
            let _ = frame_system::Pallet::<Runtime>::dec_providers(m);
        }
        <Council as frame_support::traits::ChangeMembers<AccountId>>::change_members_sorted(
            incoming, outgoing, new,
        );
    }

    fn set_prime(prime: Option<AccountId>) {
        <Council as frame_support::traits::ChangeMembers<AccountId>>::set_prime(prime);
    }

    fn get_prime() -> Option<AccountId> {
        <Council as frame_support::traits::ChangeMembers<AccountId>>::get_prime()
    }
}

impl pallet_node_authorization::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type MaxWellKnownNodes = ConstU32<64>;
    type MaxPeerIdLength = ConstU32<128>;
    type AddOrigin = CouncilOrRoot;
    type RemoveOrigin = CouncilOrRoot;
    type SwapOrigin = CouncilOrRoot;
    type ResetOrigin = CouncilOrRoot;
    // Benchmarked by the runtime (`node_authorization_benchmarking.rs`): the SDK ships none.
    type WeightInfo = crate::weights::pallet_node_authorization::WeightInfo<Runtime>;
}

impl pallet_session::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    // A validator is identified by its account: the account registers the node's session keys.
    type ValidatorId = AccountId;
    type ValidatorIdOf = sp_runtime::traits::ConvertInto;
    // Sessions end every `SessionLength` blocks: set per chain at genesis, changed by the council.
    type ShouldEndSession = ValidatorSet;
    type NextSessionRotation = ValidatorSet;
    type SessionManager = ValidatorSet;
    type SessionHandler = <SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
    type Keys = SessionKeys;
    type DisablingStrategy = ();
    type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
}

/// Whether an account has registered session keys for its node.
pub struct HasSessionKeys;

impl frame_support::traits::Contains<AccountId> for HasSessionKeys {
    fn contains(who: &AccountId) -> bool {
        pallet_session::NextKeys::<Runtime>::contains_key(who)
    }
}

impl pallet_consentry_validators::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = CouncilOrRoot;
    type HasSessionKeys = HasSessionKeys;
    // Aura's and GRANDPA's authority bound.
    type MaxValidators = ConstU32<32>;
    type MinValidators = ConstU32<1>;
    type DefaultSessionLength = ConstU32<SESSION_LENGTH>;
    type WeightInfo = pallet_consentry_validators::weights::SubstrateWeight<Runtime>;
}

impl pallet_consentry_identity::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type GovernanceOrigin = CouncilOrRoot;
    type Time = Timestamp;
    type OnErasure = Consent;
    type MaxNameLen = ConstU32<128>;
    type MaxServiceKeys = ConstU32<16>;
    type MaxPseudonymsPerSubject = ConstU32<16>;
    type MaxGuardians = ConstU32<4>;
    type WeightInfo = pallet_consentry_identity::weights::SubstrateWeight<Runtime>;
}

impl pallet_consentry_consent::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type MaxLiveConsents = ConstU32<32>;
    type MaxIndexedConsents = ConstU32<48>;
    type WeightInfo = pallet_consentry_consent::weights::SubstrateWeight<Runtime>;
}

impl pallet_consentry_audit::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type ConsentCheck = Consent;
    type MaxBatch = ConstU32<256>;
    type IndexPage = ConstU32<64>;
    type WeightInfo = pallet_consentry_audit::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::AuditHelper;
}
