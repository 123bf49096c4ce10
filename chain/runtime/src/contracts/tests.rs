//! The contracts pallet as this runtime configures it: who may deploy and call, that nobody can
//! move a token, the chain extension's answers and SCALE layout, and the real contract binaries
//! (`consentry-contracts`) uploaded under `Determinism::Enforced` and run against the real
//! consent pallet.

use super::{extension, Deployer, DEPLOYER_ENDOWMENT};
use crate::{
    permission::{admission, is_permitted, Role},
    AccountId, Balances, Contracts, Runtime, RuntimeCall, RuntimeOrigin,
};
use codec::Encode;
use consentry_contract_abi::{decode_answer, dua, Message};
use consentry_primitives::{
    CategorySet, DataCategory, Decision, DenyReason, Purpose, PurposeSet, Role as InstitutionRole,
    RoleSet, SubjectRef,
};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{transaction_validity::InvalidTransaction, DispatchError};

/// The runtime's own `development` genesis preset (the node's dev chain), built for real.
pub(crate) fn dev_chain() -> sp_io::TestExternalities {
    let mut ext = sp_io::TestExternalities::new_empty();
    ext.execute_with(|| {
        crate::tests::build_preset(sp_genesis_builder::DEV_RUNTIME_PRESET);
        frame_system::Pallet::<Runtime>::set_block_number(1);
        pallet_timestamp::Now::<Runtime>::put(1_750_000_000_000);
    });
    ext
}

fn contract(name: &str) -> &'static consentry_contracts::Contract {
    consentry_contracts::CONTRACTS
        .iter()
        .find(|c| c.name == name)
        .expect("a built contract")
}

/// `patch` merged into `base` object by object (what the node does with a preset: RFC 7396
/// without deletions).
fn account(k: Sr25519Keyring) -> AccountId {
    k.to_account_id()
}

fn contract_call() -> RuntimeCall {
    RuntimeCall::Contracts(pallet_contracts::Call::call {
        dest: sp_runtime::MultiAddress::Id(account(Sr25519Keyring::Ferdie)),
        value: 0,
        gas_limit: frame_support::weights::Weight::from_parts(1_000_000_000, 100_000),
        storage_deposit_limit: None,
        data: vec![],
    })
}

fn upload_call() -> RuntimeCall {
    RuntimeCall::Contracts(pallet_contracts::Call::upload_code {
        code: vec![0; 8],
        storage_deposit_limit: None,
        determinism: pallet_contracts::Determinism::Enforced,
    })
}

#[test]
fn only_the_keyless_deployer_holds_tokens() {
    dev_chain().execute_with(|| {
        assert_eq!(Balances::balance(&Deployer::get()), DEPLOYER_ENDOWMENT);
        assert_eq!(Balances::total_issuance(), DEPLOYER_ENDOWMENT);
        for k in [
            Sr25519Keyring::Alice,
            Sr25519Keyring::Bob,
            Sr25519Keyring::Charlie,
        ] {
            assert_eq!(Balances::balance(&account(k)), 0);
        }
        // Balances keep their own map: `System::Account` data stays `()`.
        let _: () = frame_system::Account::<Runtime>::get(Deployer::get()).data;
    });
}

#[test]
fn no_signer_may_send_a_balances_call() {
    dev_chain().execute_with(|| {
        let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_allow_death {
            dest: sp_runtime::MultiAddress::Id(account(Sr25519Keyring::Bob)),
            value: 1,
        });
        // The sudo key and council member, an institution's key: refused alike.
        for k in [Sr25519Keyring::Alice, Sr25519Keyring::Bob] {
            assert_eq!(
                admission(&account(k), &transfer),
                Err(InvalidTransaction::Call)
            );
        }
    });
}

#[test]
fn contract_calls_are_for_active_institutions_and_the_council() {
    dev_chain().execute_with(|| {
        assert_eq!(
            admission(&account(Sr25519Keyring::Alice), &contract_call()),
            Ok(Role::ContractParty),
            "a council member"
        );
        assert_eq!(
            admission(&account(Sr25519Keyring::Bob), &contract_call()),
            Ok(Role::ContractParty),
            "the hospital's service key"
        );
        assert_eq!(
            admission(&account(Sr25519Keyring::Ferdie), &contract_call()),
            Err(InvalidTransaction::BadSigner),
            "a stranger"
        );
        // A suspended institution's keys may no longer call (the research institute is id 1).
        let charlie = account(Sr25519Keyring::Charlie);
        assert!(is_permitted(&charlie, &contract_call()));
        assert_ok!(crate::Identity::suspend_institution(
            RuntimeOrigin::root(),
            1
        ));
        assert_eq!(
            admission(&charlie, &contract_call()),
            Err(InvalidTransaction::Call)
        );
    });
}

#[test]
fn code_arrives_only_by_council_motion_or_root() {
    dev_chain().execute_with(|| {
        // Nobody may sign an upload or instantiation into the pool ...
        for k in [Sr25519Keyring::Alice, Sr25519Keyring::Bob] {
            assert_eq!(
                admission(&account(k), &upload_call()),
                Err(InvalidTransaction::Call)
            );
        }
        // ... and a signed origin is refused at dispatch too.
        assert_noop!(
            Contracts::upload_code(
                RuntimeOrigin::signed(account(Sr25519Keyring::Bob)),
                consentry_contracts::DUA_WASM.to_vec(),
                None,
                pallet_contracts::Determinism::Enforced,
            ),
            DispatchError::BadOrigin
        );
        // Governance uploads as the deployer.
        assert_ok!(Contracts::upload_code(
            RuntimeOrigin::root(),
            consentry_contracts::DUA_WASM.to_vec(),
            None,
            pallet_contracts::Determinism::Enforced,
        ));
        let hash = sp_core::H256(contract("dua").code_hash);
        let stored = frame_system::Pallet::<Runtime>::events()
            .into_iter()
            .find_map(|r| match r.event {
                crate::RuntimeEvent::Contracts(pallet_contracts::Event::CodeStored {
                    code_hash,
                    deposit_held,
                    uploader,
                }) => Some((code_hash, deposit_held, uploader)),
                _ => None,
            });
        assert_eq!(stored, Some((hash, 0, Deployer::get())));
    });
}

#[test]
fn the_contract_binaries_are_accepted_under_enforced_determinism() {
    dev_chain().execute_with(|| {
        for c in consentry_contracts::CONTRACTS {
            let (name, wasm, hash) = (c.name, c.wasm, c.code_hash);
            let uploaded = Contracts::bare_upload_code(
                Deployer::get(),
                wasm.to_vec(),
                None,
                pallet_contracts::Determinism::Enforced,
            )
            .unwrap_or_else(|e| panic!("{name} rejected: {e:?}"));
            assert_eq!(uploaded.code_hash.0, hash, "{name}'s code hash");
            assert_eq!(uploaded.deposit, 0, "{name}: no deposit");
        }
    });
}

#[test]
fn the_extension_reads_institutions_and_the_council() {
    dev_chain().execute_with(|| {
        assert_eq!(
            extension::institution_of(&account(Sr25519Keyring::Bob)),
            Some(extension::InstitutionInfo {
                id: 0,
                roles: RoleSet::of(&[InstitutionRole::DataCustodian, InstitutionRole::Researcher]),
                active: true,
            })
        );
        assert_eq!(
            extension::institution_of(&account(Sr25519Keyring::Ferdie)),
            None
        );
        assert!(extension::is_council_member(&account(
            Sr25519Keyring::Alice
        )));
        assert!(!extension::is_council_member(&account(Sr25519Keyring::Bob)));
    });
}

/// What a contract hands the extension is decoded exactly: a value with bytes after it, a value
/// cut short and an unknown function are refused, with nothing answered.
#[test]
fn the_extension_takes_exactly_one_value_per_call() {
    dev_chain().execute_with(|| {
        let bob = account(Sr25519Keyring::Bob).encode();
        let answer = extension::run(extension::func::INSTITUTION_OF, &bob, 0).expect("answers");
        assert_eq!(
            answer,
            extension::institution_of(&account(Sr25519Keyring::Bob)).encode()
        );
        let mut longer = bob.clone();
        longer.push(0);
        assert_eq!(
            extension::run(extension::func::INSTITUTION_OF, &longer, 0),
            Err(DispatchError::Other(
                "consentry extension: input longer than its value"
            ))
        );
        assert_eq!(
            extension::run(extension::func::IS_COUNCIL_MEMBER, &bob[..31], 0),
            Err(DispatchError::Other("consentry extension: malformed input"))
        );
        assert_eq!(
            extension::run(9, &bob, 0),
            Err(DispatchError::Other(
                "consentry extension: unknown function"
            ))
        );
        assert_eq!(extension::cost::of(9), None);
    });
}

/// Each function is charged at least its benchmarked weight at the worst case: `decide` at the
/// consent index's bound, whichever way the patient is named.
#[test]
fn the_extension_charges_its_benchmarked_weights() {
    use crate::weights::contracts_extension::{SubstrateWeight, WeightInfo};
    use consentry_primitives::ConsentCheck;
    type W = SubstrateWeight<Runtime>;
    let bound = <crate::Consent as ConsentCheck<AccountId>>::max_consents_read();
    assert_eq!(bound, 48);
    let decide = extension::cost::of(extension::func::DECIDE).expect("decide");
    for weight in [W::decide(bound), W::decide_by_subject(bound)] {
        assert!(decide.all_gte(weight), "{decide:?} < {weight:?}");
    }
    // The consents' share: the bound's, not an empty index's.
    assert!(decide.ref_time() > W::decide(0).ref_time());
    assert_eq!(
        extension::cost::of(extension::func::INSTITUTION_OF),
        Some(W::institution_of())
    );
    assert_eq!(
        extension::cost::of(extension::func::IS_COUNCIL_MEMBER),
        Some(W::is_council_member())
    );
    // Every function's charge carries a proof size: a contract's reads are in the block's proof.
    for func in [1, 2, 3] {
        assert!(extension::cost::of(func).expect("a function").proof_size() > 0);
    }
}

/// The extension's SCALE layout, pinned by the vectors the contracts' mirror types are tested
/// against too (`contracts/env/golden/extension.txt`): encoded here from the runtime's own types.
#[test]
fn extension_types_match_the_golden_vectors() {
    let path = crate::tests::manifest_dir().join("../../contracts/env/golden/extension.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let golden: std::collections::BTreeMap<&str, Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l.split_once(char::is_whitespace).expect("`name hex`");
            let hex = hex.trim().trim_start_matches("0x");
            (name, hex::decode(hex).expect("hex"))
        })
        .collect();
    let vector = |name: &str| -> &Vec<u8> {
        golden
            .get(name)
            .unwrap_or_else(|| panic!("no golden vector {name:?} in {path:?}"))
    };
    let acc = |b: u8| AccountId::from([b; 32]);
    let info = |id, roles, active| Some(extension::InstitutionInfo { id, roles, active });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "decide_input_subject",
            (
                SubjectRef::Subject(7),
                acc(1),
                Purpose::FederatedTraining,
                CategorySet::of(&[DataCategory::Demographics, DataCategory::Labs]),
            )
                .encode(),
        ),
        (
            "decide_input_pseudonym",
            (
                SubjectRef::Pseudonym([0xab; 32]),
                acc(2),
                Purpose::Research,
                CategorySet::of(&[DataCategory::Genomic, DataCategory::Imaging]),
            )
                .encode(),
        ),
        ("account_input", acc(1).encode()),
        (
            "decision_permit",
            Decision::Permit {
                subject: 42,
                consents: vec![1, 258],
            }
            .encode(),
        ),
        (
            "decision_deny_with_subject",
            Decision::Deny {
                subject: Some(42),
                reason: DenyReason::CategoryNotCovered,
            }
            .encode(),
        ),
        (
            "decision_deny_without_subject",
            Decision::Deny {
                subject: None,
                reason: DenyReason::UnknownSubject,
            }
            .encode(),
        ),
        (
            "institution_some_active",
            info(
                3,
                RoleSet::of(&[InstitutionRole::DataCustodian, InstitutionRole::Researcher]),
                true,
            )
            .encode(),
        ),
        (
            "institution_some_suspended",
            info(258, RoleSet::of(&[InstitutionRole::Auditor]), false).encode(),
        ),
        (
            "institution_none",
            None::<extension::InstitutionInfo>.encode(),
        ),
        ("bool_true", true.encode()),
        ("bool_false", false.encode()),
    ];
    for (name, encoded) in &cases {
        assert_eq!(
            &hex::encode(encoded),
            &hex::encode(vector(name)),
            "{name}: the runtime's encoding differs from the golden vector"
        );
    }
    assert_eq!(
        cases.len(),
        golden.len(),
        "every golden vector is checked against the runtime's types"
    );
}

#[test]
fn the_deployer_is_the_keyless_module_account_clients_derive() {
    // `consentry-wallet` derives the same bytes without the runtime: "modl" ++ "cnsy/dep".
    let mut raw = [0u8; 32];
    raw[..12].copy_from_slice(b"modlcnsy/dep");
    assert_eq!(Deployer::get(), AccountId::from(raw));
}

/// Gas for one message in these tests: a tenth of a block.
fn gas() -> frame_support::weights::Weight {
    super::max_contract_gas() / 10
}

/// Instantiates the DUA registry as governance does (the deployer), returning its address.
fn deploy_dua() -> AccountId {
    let res = Contracts::bare_instantiate(
        Deployer::get(),
        0,
        gas(),
        // The contract's existential deposit is all the storage deposit there is.
        Some(super::EXISTENTIAL_DEPOSIT),
        pallet_contracts::Code::Upload(contract("dua").wasm.to_vec()),
        dua::New {}.input(),
        vec![1],
        pallet_contracts::DebugInfo::UnsafeDebug,
        pallet_contracts::CollectEvents::UnsafeCollect,
    );
    let ok = res.result.expect("the registry instantiates");
    assert!(!ok.result.did_revert(), "constructor reverted");
    ok.account_id
}

/// Calls `msg` on `contract` as `who`, as a transaction would run it, and decodes the answer.
fn call<M: Message>(who: &AccountId, contract: &AccountId, msg: &M) -> M::Output {
    let res = Contracts::bare_call(
        who.clone(),
        contract.clone(),
        0,
        gas(),
        None,
        msg.input(),
        pallet_contracts::DebugInfo::UnsafeDebug,
        pallet_contracts::CollectEvents::UnsafeCollect,
        pallet_contracts::Determinism::Enforced,
    );
    let ret = res.result.unwrap_or_else(|e| {
        panic!(
            "{} trapped: {e:?}; debug: {}",
            M::LABEL,
            String::from_utf8_lossy(&res.debug_message)
        )
    });
    decode_answer::<M>(&ret.data).expect("the answer decodes")
}

fn terms(now: u64) -> dua::Terms {
    dua::Terms {
        custodian: 0,
        recipients: vec![1],
        purposes: PurposeSet::of(&[Purpose::Research]),
        categories: CategorySet::of(&[DataCategory::Labs]),
        valid_from: now,
        valid_until: now + 86_400_000,
        record_cap: None,
        text_digest: [7; 32],
    }
}

#[test]
fn a_data_use_agreement_is_in_force_once_both_institutions_sign() {
    dev_chain().execute_with(|| {
        let registry = deploy_dua();
        let now = pallet_timestamp::Now::<Runtime>::get();
        let (bob, charlie) = (
            account(Sr25519Keyring::Bob),
            account(Sr25519Keyring::Charlie),
        );
        let query = dua::InForceQuery {
            custodian: 0,
            recipient: 1,
            purpose: Purpose::Research,
            categories: CategorySet::of(&[DataCategory::Labs]),
            now,
        };
        // The hospital (custodian, id 0) proposes; the extension tells the contract who Bob is.
        assert_eq!(
            call(&bob, &registry, &dua::Propose { terms: terms(now) }),
            Ok(0)
        );
        assert_eq!(
            call(&bob, &registry, &query),
            None,
            "one signature is not enough"
        );
        // A stranger is refused by name, and the agreement is unchanged.
        assert_eq!(
            call(
                &account(Sr25519Keyring::Ferdie),
                &registry,
                &dua::Sign { id: 0 }
            ),
            Err(dua::Error::CallerNotRegistered)
        );
        // The research institute (id 1) signs: in force.
        assert_eq!(call(&charlie, &registry, &dua::Sign { id: 0 }), Ok(()));
        assert_eq!(call(&bob, &registry, &query), Some(0));
        let a = call(&bob, &registry, &dua::Get { id: 0 }).expect("stored");
        assert_eq!(a.signatories, vec![0, 1]);
        assert!(matches!(a.status, dua::Status::InForce { .. }));
        // Once the institute is suspended its key cannot act, though it is still a party.
        assert_ok!(crate::Identity::suspend_institution(
            RuntimeOrigin::root(),
            1
        ));
        assert_eq!(
            call(&charlie, &registry, &dua::Terminate { id: 0 }),
            Err(dua::Error::InstitutionSuspended { institution: 1 })
        );
        // Either party may end it.
        assert_eq!(call(&bob, &registry, &dua::Terminate { id: 0 }), Ok(()));
        assert_eq!(call(&bob, &registry, &query), None);
    });
}

/// What a chain's genesis gives contracts: the deployer's balance and provider reference, the
/// total issuance, both pallets' storage versions, and whether a contracts migration is under way
/// (which refuses every contract call).
fn contracts_state() -> (u128, u32, u128, u16, u16, bool) {
    use frame_support::traits::GetStorageVersion;
    let number = |v: frame_support::traits::StorageVersion| (0..=u16::MAX).find(|n| v == *n);
    let in_progress = frame_support::storage::storage_prefix(b"Contracts", b"MigrationInProgress");
    (
        Balances::balance(&Deployer::get()),
        frame_system::Pallet::<Runtime>::providers(&Deployer::get()),
        Balances::total_issuance(),
        number(Balances::on_chain_storage_version()).unwrap(),
        number(Contracts::on_chain_storage_version()).unwrap(),
        frame_support::storage::unhashed::exists(&in_progress),
    )
}

/// A chain that ran a runtime from before contracts (spec 110 or earlier) has no storage of
/// either pallet and no deployer account. Its upgrade, as the executive runs it (FRAME's stamping
/// of new pallets, the runtime's migrations, every pallet's hook), gives it what a new chain's
/// genesis gives, once. Without `EndowDeployer` the deployer holds nothing.
#[test]
fn a_chain_from_before_contracts_gets_what_their_genesis_gives() {
    let genesis = dev_chain().execute_with(contracts_state);
    assert_eq!(
        (genesis.0, genesis.1, genesis.2, genesis.5),
        (DEPLOYER_ENDOWMENT, 1, DEPLOYER_ENDOWMENT, false)
    );
    dev_chain().execute_with(|| {
        for pallet in [&b"Balances"[..], b"Contracts"] {
            let _ = frame_support::storage::unhashed::clear_prefix(
                &sp_io::hashing::twox_128(pallet),
                None,
                None,
            );
        }
        frame_system::Account::<Runtime>::remove(Deployer::get());
        assert_eq!(contracts_state(), (0, 0, 0, 0, 0, false));

        crate::Executive::execute_on_runtime_upgrade();
        assert_eq!(contracts_state(), genesis);
        crate::Executive::execute_on_runtime_upgrade();
        assert_eq!(contracts_state(), genesis);
    });
}

/// On a chain that had contracts from genesis the migration reads the issuance and does nothing.
#[test]
fn a_chain_with_contracts_from_genesis_is_left_alone() {
    use frame_support::traits::OnRuntimeUpgrade;
    dev_chain().execute_with(|| {
        let before = contracts_state();
        assert_eq!(
            super::migration::EndowDeployer::on_runtime_upgrade(),
            <Runtime as frame_system::Config>::DbWeight::get().reads(1)
        );
        assert_eq!(contracts_state(), before);
    });
}
