//! Runtime APIs: what the node and clients may ask the runtime.

use crate::*;
use alloc::vec::Vec;
use consentry_primitives::{
    AccessId, AccessRecord, CategorySet, Consent as ConsentPolicy, ConsentCheck, ConsentId,
    Decision, InstitutionId, Moment, Pseudonym, Purpose, StateCounts, SubjectId, SubjectRef,
};
use frame_support::genesis_builder_helper::{build_state, get_preset};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
    traits::{Block as BlockT, NumberFor},
    transaction_validity::{TransactionSource, TransactionValidity},
    ApplyExtrinsicResult,
};

/// The event records contract dry runs return.
type ContractsEventRecord = frame_system::EventRecord<RuntimeEvent, Hash>;

impl_runtime_apis! {
    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }
        fn execute_block(block: Block) {
            Executive::execute_block(block);
        }
        fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> OpaqueMetadata {
            OpaqueMetadata::new(Runtime::metadata().into())
        }
        fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }
        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl frame_support::view_functions::runtime_api::RuntimeViewFunction<Block> for Runtime {
        fn execute_view_function(
            id: frame_support::view_functions::ViewFunctionId,
            input: Vec<u8>,
        ) -> Result<Vec<u8>, frame_support::view_functions::ViewFunctionDispatchError> {
            Runtime::execute_view_function(id, input)
        }
    }

    impl sp_block_builder::BlockBuilder<Block> for Runtime {
        fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
            Executive::apply_extrinsic(extrinsic)
        }
        fn finalize_block() -> <Block as BlockT>::Header {
            Executive::finalize_block()
        }
        fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
            data.create_extrinsics()
        }
        fn check_inherents(block: Block, data: sp_inherents::InherentData) -> sp_inherents::CheckInherentsResult {
            data.check_extrinsics(&block)
        }
    }

    impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
        fn validate_transaction(
            source: TransactionSource,
            tx: <Block as BlockT>::Extrinsic,
            block_hash: <Block as BlockT>::Hash,
        ) -> TransactionValidity {
            Executive::validate_transaction(source, tx, block_hash)
        }
    }

    impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
        fn offchain_worker(header: &<Block as BlockT>::Header) {
            Executive::offchain_worker(header)
        }
    }

    impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
        fn slot_duration() -> sp_consensus_aura::SlotDuration {
            sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
        }
        fn authorities() -> Vec<AuraId> {
            pallet_aura::Authorities::<Runtime>::get().into_inner()
        }
    }

    impl sp_session::SessionKeys<Block> for Runtime {
        fn generate_session_keys(seed: Option<Vec<u8>>) -> Vec<u8> {
            SessionKeys::generate(seed)
        }
        fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
            SessionKeys::decode_into_raw_public_keys(&encoded)
        }
    }

    impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
        fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
            Grandpa::grandpa_authorities()
        }
        fn current_set_id() -> sp_consensus_grandpa::SetId {
            Grandpa::current_set_id()
        }
        fn submit_report_equivocation_unsigned_extrinsic(
            _equivocation_proof: sp_consensus_grandpa::EquivocationProof<<Block as BlockT>::Hash, NumberFor<Block>>,
            _key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
        ) -> Option<()> {
            None
        }
        fn generate_key_ownership_proof(
            _set_id: sp_consensus_grandpa::SetId,
            _authority_id: GrandpaId,
        ) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
            None
        }
    }

    impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
        fn account_nonce(account: AccountId) -> Nonce {
            System::account_nonce(account)
        }
    }

    impl consentry_primitives::ConsentApi<Block, AccountId> for Runtime {
        fn decide(
            subject: SubjectRef,
            accessor: AccountId,
            purpose: Purpose,
            categories: CategorySet,
            at: Option<Moment>,
        ) -> Decision {
            let now = at.unwrap_or_else(pallet_timestamp::Now::<Runtime>::get);
            <Consent as ConsentCheck<AccountId>>::decide(subject, &accessor, purpose, categories, now)
        }
        fn subject_of(pseudonym: Pseudonym) -> Option<SubjectId> {
            Identity::resolve(&pseudonym).ok()
        }
        fn consents_of(subject: SubjectId) -> Vec<(ConsentId, ConsentPolicy<AccountId>)> {
            Consent::consents_of(subject)
        }
    }

    impl consentry_primitives::AuditApi<Block, AccountId, BlockNumber> for Runtime {
        fn record(subject: Option<SubjectId>, id: AccessId)
            -> Option<AccessRecord<AccountId, BlockNumber>>
        {
            Audit::record(subject, id)
        }
        fn records_by_subject(subject: SubjectId, before: Option<AccessId>, limit: u32)
            -> (Vec<AccessRecord<AccountId, BlockNumber>>, Option<AccessId>)
        {
            Audit::records_by_subject(Some(subject), before, limit)
        }
        fn records_by_institution(institution: InstitutionId, before: Option<u32>, limit: u32)
            -> (Vec<AccessRecord<AccountId, BlockNumber>>, Option<u32>)
        {
            Audit::records_by_institution(institution, before, limit)
        }
        fn counts_of(institution: InstitutionId) -> StateCounts {
            Audit::counts(institution)
        }
    }

    // Dry runs for clients (gas estimates, contract queries). Events are collected, since a dry
    // run's events tell a client what a call would do; the debug buffer is not (no contract here
    // prints, and off it costs nothing).
    impl pallet_contracts::ContractsApi<Block, AccountId, contracts::Balance, BlockNumber, Hash, ContractsEventRecord>
        for Runtime
    {
        fn call(
            origin: AccountId,
            dest: AccountId,
            value: contracts::Balance,
            gas_limit: Option<sp_weights::Weight>,
            storage_deposit_limit: Option<contracts::Balance>,
            input_data: Vec<u8>,
        ) -> pallet_contracts::ContractExecResult<contracts::Balance, ContractsEventRecord> {
            let gas_limit = gas_limit.unwrap_or(contracts::max_contract_gas());
            Contracts::bare_call(
                origin,
                dest,
                value,
                gas_limit,
                storage_deposit_limit,
                input_data,
                pallet_contracts::DebugInfo::Skip,
                pallet_contracts::CollectEvents::UnsafeCollect,
                pallet_contracts::Determinism::Enforced,
            )
        }

        fn instantiate(
            origin: AccountId,
            value: contracts::Balance,
            gas_limit: Option<sp_weights::Weight>,
            storage_deposit_limit: Option<contracts::Balance>,
            code: pallet_contracts::Code<Hash>,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> pallet_contracts::ContractInstantiateResult<AccountId, contracts::Balance, ContractsEventRecord> {
            let gas_limit = gas_limit.unwrap_or(contracts::max_contract_gas());
            Contracts::bare_instantiate(
                origin,
                value,
                gas_limit,
                storage_deposit_limit,
                code,
                data,
                salt,
                pallet_contracts::DebugInfo::Skip,
                pallet_contracts::CollectEvents::UnsafeCollect,
            )
        }

        fn upload_code(
            origin: AccountId,
            code: Vec<u8>,
            storage_deposit_limit: Option<contracts::Balance>,
            determinism: pallet_contracts::Determinism,
        ) -> pallet_contracts::CodeUploadResult<Hash, contracts::Balance> {
            Contracts::bare_upload_code(origin, code, storage_deposit_limit, determinism)
        }

        fn get_storage(address: AccountId, key: Vec<u8>) -> pallet_contracts::GetStorageResult {
            Contracts::get_storage(address, key)
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(extra: bool) -> (
            Vec<frame_benchmarking::BenchmarkList>,
            Vec<frame_support::traits::StorageInfo>,
        ) {
            use frame_benchmarking::{baseline, BenchmarkList};
            use frame_support::traits::StorageInfoTrait;
            use frame_system_benchmarking::Pallet as SystemBench;
            use frame_system_benchmarking::extensions::Pallet as SystemExtensionsBench;
            use crate::permission::benchmarking::Pallet as PermissionBench;
            use crate::contracts::benchmarking::Pallet as ExtensionBench;
            use crate::node_authorization_benchmarking::Pallet as NodeAuthorizationBench;
            use baseline::Pallet as BaselineBench;

            let mut list = Vec::<BenchmarkList>::new();
            list_benchmarks!(list, extra);
            let storage_info = AllPalletsWithSystem::storage_info();
            (list, storage_info)
        }

        #[allow(non_local_definitions)]
        fn dispatch_benchmark(
            config: frame_benchmarking::BenchmarkConfig
        ) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            use frame_benchmarking::{baseline, BenchmarkBatch};
            use sp_storage::TrackedStorageKey;
            use frame_system_benchmarking::Pallet as SystemBench;
            use frame_system_benchmarking::extensions::Pallet as SystemExtensionsBench;
            use crate::permission::benchmarking::Pallet as PermissionBench;
            use crate::contracts::benchmarking::Pallet as ExtensionBench;
            use crate::node_authorization_benchmarking::Pallet as NodeAuthorizationBench;
            use baseline::Pallet as BaselineBench;
            use frame_support::traits::WhitelistedStorageKeys;

            #[allow(non_local_definitions)]
            impl frame_system_benchmarking::Config for Runtime {}
            #[allow(non_local_definitions)]
            impl baseline::Config for Runtime {}

            let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
            let mut batches = Vec::<BenchmarkBatch>::new();
            let params = (&config, &whitelist);
            add_benchmarks!(params, batches);
            Ok(batches)
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }
        fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, crate::genesis::get_preset)
        }
        fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
            crate::genesis::preset_names()
        }
    }
}
