//! How many data-use agreement checks a worker can make against a dev node: the registry's
//! `allows` dry-run (`ContractsApi` at the latest finalized block), as the worker asks it before
//! every cross-institution access request, one at a time and from concurrent tasks.
//!
//! `cargo bench --locked --workspace --bench dua_checks` (`-- --quick`: 3 s per setting).

use consentry_client::{contract_abi::dua, contracts::Contract, subxt_signer::sr25519};
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use consentry_wallet::{
    chain::Chain,
    contracts::{self, Kind},
};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let window = Duration::from_secs(if quick { 3 } else { 15 });
    let node = Node::dev()?;
    node.client().await?;
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let registry = contracts::deploy(
        &chain,
        &sr25519::dev::alice(),
        Kind::Dua,
        consentry_contracts::DUA_WASM,
        dua::New {},
        b"bench".to_vec(),
    )
    .await?
    .address;
    let contract = Contract::at(registry);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let labs = CategorySet::of(&[DataCategory::Labs]);
    let terms = dua::Terms {
        custodian: 0,
        recipients: vec![1],
        purposes: PurposeSet::of(&[Purpose::Simulation]),
        categories: labs,
        valid_from: now - 60_000,
        valid_until: now + 3_600_000,
        record_cap: None,
        text_digest: [0; 32],
    };
    let id = contracts::dua_propose(&chain, &sr25519::dev::bob(), &contract, terms)
        .await?
        .id;
    contracts::dua_sign(&chain, &sr25519::dev::charlie(), &contract, id).await?;
    let worker: consentry_client::subxt::utils::AccountId32 =
        sr25519::dev::bob().public_key().into();
    let check = dua::Allows {
        id,
        custodian: 0,
        recipient: 1,
        purpose: Purpose::Simulation,
        categories: labs,
        now: now + 1_000,
    };
    println!("| concurrent checks | checks/s | median ms |");
    println!("|---:|---:|---:|");
    for tasks in [1usize, 4, 16] {
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let (client, contract, worker, check) = (
                chain.client.clone(),
                contract.clone(),
                worker.clone(),
                check.clone(),
            );
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while start.elapsed() < window {
                    let t = Instant::now();
                    let ok = contract.query(&client, &worker, &check).await?.output;
                    anyhow::ensure!(ok, "the agreement should allow it");
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                anyhow::Ok(lat)
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await??);
        }
        all.sort_by(f64::total_cmp);
        let rate = all.len() as f64 / start.elapsed().as_secs_f64();
        println!("| {tasks} | {rate:.0} | {:.2} |", all[all.len() / 2]);
    }
    Ok(())
}
