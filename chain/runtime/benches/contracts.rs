//! What each contract message and each chain-extension function costs in this runtime: the gas
//! (weight: ref time and proof size) pallet-contracts charges, and the wall time of the call,
//! on the real contract binaries in the dev chain's genesis state (`TestExternalities`, the
//! native runtime; a block would run the same calls in Wasm).
//!
//! `cargo bench --locked --workspace --bench contracts` (`-- --quick` for fewer repetitions).
//! Every call is repeated on the same state: each run is rolled back.

use codec::Encode;
use consentry_contract_abi::{consortium, decode_answer, dua, Message};
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet, SubjectRef};
use consentry_runtime::{
    contracts::{extension, Deployer},
    AccountId, Contracts, Runtime, RuntimeGenesisConfig,
};
use frame_support::{storage::with_transaction, weights::Weight};
use sp_keyring::Sr25519Keyring;
use sp_runtime::TransactionOutcome;
use std::time::Instant;

fn gas() -> Weight {
    consentry_runtime::contracts::max_contract_gas() / 10
}

fn dev_chain() -> sp_io::TestExternalities {
    let preset =
        consentry_runtime::genesis::get_preset(&sp_genesis_builder::DEV_RUNTIME_PRESET.into())
            .expect("the dev preset");
    // A preset is a patch over the default genesis config, as the node applies it.
    let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("json");
    merge(
        &mut config,
        serde_json::from_slice(&preset).expect("the preset is JSON"),
    );
    let preset = serde_json::to_vec(&config).expect("json");
    let mut ext = sp_io::TestExternalities::new_empty();
    ext.execute_with(|| {
        frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(preset)
            .expect("the dev genesis builds");
        frame_system::Pallet::<Runtime>::set_block_number(1);
        pallet_timestamp::Now::<Runtime>::put(1_750_000_000_000);
    });
    ext
}

/// `patch` merged into `base` object by object (what the node does with a preset).
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

fn instantiate(name: &str, input: Vec<u8>) -> AccountId {
    let c = consentry_contracts::CONTRACTS
        .iter()
        .find(|c| c.name == name)
        .expect("built");
    let res = Contracts::bare_instantiate(
        Deployer::get(),
        0,
        gas(),
        // The contract's existential deposit is all the storage deposit there is.
        Some(consentry_runtime::contracts::EXISTENTIAL_DEPOSIT),
        pallet_contracts::Code::Upload(c.wasm.to_vec()),
        input,
        vec![],
        pallet_contracts::DebugInfo::Skip,
        pallet_contracts::CollectEvents::Skip,
    );
    let ok = res.result.expect("instantiates");
    assert!(!ok.result.did_revert(), "{name}'s constructor reverted");
    ok.account_id
}

/// Runs `msg` as `who` and returns the gas it consumed (asserting it did what was meant).
fn call<M: Message>(who: &AccountId, contract: &AccountId, msg: &M) -> (Weight, M::Output) {
    let res = Contracts::bare_call(
        who.clone(),
        contract.clone(),
        0,
        gas(),
        None,
        msg.input(),
        pallet_contracts::DebugInfo::Skip,
        pallet_contracts::CollectEvents::Skip,
        pallet_contracts::Determinism::Enforced,
    );
    let ret = res.result.expect("the call runs");
    (
        res.gas_consumed,
        decode_answer::<M>(&ret.data).expect("decodes"),
    )
}

struct Row {
    what: String,
    gas: Weight,
    median_us: f64,
}

/// The median wall time of `f` over `n` runs, each rolled back.
fn time<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut samples: Vec<f64> = (0..n)
        .map(|_| {
            with_transaction(|| {
                let t = Instant::now();
                std::hint::black_box(f());
                let us = t.elapsed().as_secs_f64() * 1e6;
                TransactionOutcome::Rollback(Ok::<_, sp_runtime::DispatchError>(us))
            })
            .expect("rolled back")
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn bench<M: Message>(
    rows: &mut Vec<Row>,
    n: usize,
    what: &str,
    who: &AccountId,
    contract: &AccountId,
    msg: &M,
    check: impl Fn(&M::Output) -> bool,
) {
    let (gas, out) = with_transaction(|| {
        TransactionOutcome::Rollback(Ok::<_, sp_runtime::DispatchError>(call(who, contract, msg)))
    })
    .expect("rolled back");
    assert!(check(&out), "{what}: unexpected answer");
    let median_us = time(n, || call(who, contract, msg));
    rows.push(Row {
        what: what.to_owned(),
        gas,
        median_us,
    });
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 20 } else { 200 };
    let mut rows = Vec::new();
    dev_chain().execute_with(|| {
        let bob = Sr25519Keyring::Bob.to_account_id();
        let charlie = Sr25519Keyring::Charlie.to_account_id();
        let now = pallet_timestamp::Now::<Runtime>::get();
        let registry = instantiate("dua", dua::New {}.input());
        let terms = dua::Terms {
            custodian: 0,
            recipients: vec![1],
            purposes: PurposeSet::of(&[Purpose::Research]),
            categories: CategorySet::of(&[DataCategory::Labs]),
            valid_from: now,
            valid_until: now + 86_400_000,
            record_cap: Some(1_000),
            text_digest: [1; 32],
        };
        let propose = dua::Propose {
            terms: terms.clone(),
        };
        bench(
            &mut rows,
            n,
            "dua.propose",
            &bob,
            &registry,
            &propose,
            |r| r.is_ok(),
        );
        // Agreement 0, proposed for the messages that need one.
        call(&bob, &registry, &propose).1.expect("proposed");
        bench(
            &mut rows,
            n,
            "dua.sign (last signature)",
            &charlie,
            &registry,
            &dua::Sign { id: 0 },
            |r| r.is_ok(),
        );
        call(&charlie, &registry, &dua::Sign { id: 0 })
            .1
            .expect("signed");
        let labs = CategorySet::of(&[DataCategory::Labs]);
        bench(
            &mut rows,
            n,
            "dua.in_force",
            &bob,
            &registry,
            &dua::InForceQuery {
                custodian: 0,
                recipient: 1,
                purpose: Purpose::Research,
                categories: labs,
                now,
            },
            |r| *r == Some(0),
        );
        bench(
            &mut rows,
            n,
            "dua.allows",
            &bob,
            &registry,
            &dua::Allows {
                id: 0,
                custodian: 0,
                recipient: 1,
                purpose: Purpose::Research,
                categories: labs,
                now,
            },
            |r| *r,
        );
        bench(
            &mut rows,
            n,
            "dua.get",
            &bob,
            &registry,
            &dua::Get { id: 0 },
            |r| r.is_some(),
        );
        bench(
            &mut rows,
            n,
            "dua.count_records",
            &bob,
            &registry,
            &dua::CountRecords { id: 0, records: 10 },
            |r| r.is_ok(),
        );
        bench(
            &mut rows,
            n,
            "dua.consent (extension decide)",
            &bob,
            &registry,
            &dua::Consent {
                subject: SubjectRef::Subject(0),
                accessor: bob.clone(),
                purpose: Purpose::Research,
                categories: labs,
            },
            |d| !d.is_permit(),
        );
        bench(
            &mut rows,
            n,
            "dua.terminate",
            &bob,
            &registry,
            &dua::Terminate { id: 0 },
            |r| r.is_ok(),
        );

        let study = consortium::Study {
            coordinator: 0,
            members: vec![0, 1],
            model: consortium::Model {
                name: "bench".into(),
                architecture: [2; 32],
            },
            min_sites: 1,
            max_rounds: 10,
            round_deadline_ms: 3_600_000,
            epsilon_budget: 8 * consortium::EPSILON_SCALE,
            delta: consortium::DELTA_SCALE / 100_000,
        };
        let study_addr = instantiate("consortium", consortium::New { study }.input());
        bench(
            &mut rows,
            n,
            "consortium.join",
            &bob,
            &study_addr,
            &consortium::Join {},
            |r| r.is_ok(),
        );
        call(&bob, &study_addr, &consortium::Join {})
            .1
            .expect("joined");
        let accountant = consortium::Accountant {
            sampling_rate: consortium::RATE_SCALE / 100,
            noise_multiplier: consortium::REAL_SCALE,
            clipping_norm: consortium::REAL_SCALE,
            steps: 100,
        };
        bench(
            &mut rows,
            n,
            "consortium.open_round",
            &bob,
            &study_addr,
            &consortium::OpenRound {
                global_model: [3; 32],
                accountant,
                epsilon_after: consortium::EPSILON_SCALE,
            },
            |r| r.is_ok(),
        );
        bench(
            &mut rows,
            n,
            "consortium.study",
            &bob,
            &study_addr,
            &consortium::GetStudy {},
            |s| s.members.len() == 2,
        );

        // The extension's functions on their own, as the extension runs them after charging
        // (decoding the input, reading, encoding the output): what each is charged, its time.
        let run = |func, input: Vec<u8>| {
            move || extension::run(func, &input, now).expect("the extension answers")
        };
        let decide_input = (
            SubjectRef::Pseudonym([9; 32]),
            bob.clone(),
            Purpose::Research,
            labs,
        );
        let ext_rows = [
            (
                "extension institution_of",
                extension::cost::institution_of(),
                time(n * 10, run(extension::func::INSTITUTION_OF, bob.encode())),
            ),
            (
                "extension is_council_member",
                extension::cost::is_council_member(),
                time(
                    n * 10,
                    run(extension::func::IS_COUNCIL_MEMBER, bob.encode()),
                ),
            ),
            (
                "extension decide",
                extension::cost::decide(),
                time(n * 10, run(extension::func::DECIDE, decide_input.encode())),
            ),
        ];
        for (what, gas, median_us) in ext_rows {
            rows.push(Row {
                what: what.to_owned(),
                gas,
                median_us,
            });
        }
    });
    println!(
        "| message or function | gas ref_time (ps) | gas proof_size (B) | median µs (native) |"
    );
    println!("|---|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} |",
            r.what,
            r.gas.ref_time(),
            r.gas.proof_size(),
            r.median_us
        );
    }
}
