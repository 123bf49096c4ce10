//! Chain time of a federated round's access records on a `--dev` node: every site asks for its
//! cohort with one `request_access_batch` (purpose `FederatedTraining`) and, once the round has
//! aggregated, closes it with one `complete_access_batch` citing the round's result, as the
//! worker's `fl::site` does.
//!
//! ```sh
//! cargo run --release --locked --workspace --bin cohort_round -- [sites] [cohort] [rounds]
//! ```
//! Defaults: 10 sites of 256 patients, 5 rounds. Each site is its own institution (registered
//! through the dev chain's sudo key) with its own service key and its own patients, who consent
//! to federated training by that site. Per round it reports, from the moment the sites submit
//! (pre-signed, all at once) until the last record is in a finalized block: the requests, the
//! closes, and the blocks they took. A worker waits for exactly this before it reads (requests)
//! and before it considers the round closed (closes). The secure aggregation and training in
//! between are measured by `federated/secagg/bench`, not here.

use consentry_client::{
    runtime::{
        self,
        runtime_types::{
            bounded_collections::bounded_vec::BoundedVec, consentry_runtime::RuntimeCall,
            pallet_consentry_identity::pallet::Call as IdentityCall,
        },
    },
    subxt::{
        events::Events,
        utils::{AccountId32, Static},
    },
    subxt_signer::{sr25519, SecretUri},
    Client, ConsentryConfig,
};
use consentry_e2e::{
    load::{block_load, enrol_cohort, offline, submit_all, wait_nonces, BlockLoad, Patient, Rpc},
    Node,
};
use consentry_primitives::{
    CategorySet, DataCategory, Outcome, Purpose, PurposeSet, Role, RoleSet,
};
use std::{
    collections::BTreeMap,
    str::FromStr,
    time::{Duration, Instant},
};

/// What a federated round reads of each patient (the worker's `fl::Plan::categories`).
fn categories() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Wearable,
        DataCategory::Ehr,
        DataCategory::Genomic,
    ])
}

/// A site: its institution, its service key and its consenting patients.
struct Site {
    institution: u32,
    key: sr25519::Keypair,
    cohort: Vec<Patient>,
}

/// Registers `n` institutions (custodians and researchers) with one service key each, through
/// the dev chain's sudo key, in one go: their ids are the next `n` the chain hands out.
async fn register_sites(
    api: &Client,
    rpc: &Rpc,
    n: usize,
) -> anyhow::Result<Vec<(u32, sr25519::Keypair)>> {
    let first_id = api
        .storage()
        .at_latest()
        .await?
        .fetch_or_default(&runtime::storage().identity().next_institution_id())
        .await?;
    let sudo = sr25519::dev::alice();
    let nonce = api.tx().account_nonce(&sudo.public_key().into()).await?;
    let mut sites = Vec::with_capacity(n);
    let mut txs = Vec::with_capacity(2 * n);
    for s in 0..n {
        let id = first_id + s as u32;
        let key = sr25519::Keypair::from_uri(&SecretUri::from_str(&format!("//Bench/Site/{s}"))?)?;
        let register = RuntimeCall::Identity(IdentityCall::register_institution {
            name: format!("Site {s}").into_bytes(),
            roles: Static(RoleSet::of(&[Role::DataCustodian, Role::Researcher])),
        });
        let add = RuntimeCall::Identity(IdentityCall::add_service_key {
            institution: id,
            key: key.public_key().into(),
        });
        for call in [register, add] {
            let n = nonce + txs.len() as u64;
            txs.push(offline(api, &runtime::tx().sudo().sudo(call), &sudo, n)?);
        }
        sites.push((id, key));
    }
    submit_all(rpc, &txs).await?;
    wait_nonces(api, &[sudo], nonce + txs.len() as u64).await?;
    // Sudo succeeds even when the call it dispatches fails: check the result, not the nonce.
    let at = api.storage().at_latest().await?;
    for (id, key) in &sites {
        let of = at
            .fetch(
                &runtime::storage()
                    .identity()
                    .service_keys(AccountId32::from(key.public_key())),
            )
            .await?;
        anyhow::ensure!(
            of == Some(*id),
            "site {id}'s service key was not registered"
        );
    }
    Ok(sites)
}

/// Watches finalized blocks after block `after` until `expected` events matched by `count` are
/// seen. Returns the blocks that held them.
async fn until_finalized(
    api: &Client,
    after: u32,
    expected: usize,
    mut count: impl FnMut(&Events<ConsentryConfig>) -> anyhow::Result<usize>,
) -> anyhow::Result<Vec<BlockLoad>> {
    // The stream starts at the current finalized block and fills any gap after it.
    let mut finalized = api.blocks().subscribe_finalized().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut seen, mut held) = (0, vec![]);
    while seen < expected {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {seen} of {expected} records were finalized within 120 s"
        );
        let block = finalized.next().await.expect("finalized stream")?;
        if block.number() <= after {
            continue;
        }
        let n = count(&block.events().await?)?;
        if n > 0 {
            held.push(block_load(api, block.hash()).await?);
        }
        seen += n;
    }
    anyhow::ensure!(
        seen == expected,
        "{seen} records where {expected} were expected"
    );
    Ok(held)
}

/// Milliseconds since the Unix epoch, the unit of block timestamps.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One phase of a round (the requests or the closes): submit → finalized, and where that time
/// went.
struct Phase {
    /// From the first submission to the finalization of the last record.
    total: Duration,
    /// The blocks that held the records.
    blocks: Vec<BlockLoad>,
    /// Submission time, ms since the Unix epoch (to compare with block timestamps).
    submitted_ms: u64,
}

impl Phase {
    /// "5.08 s: in 1 block, its slot 1.20 s after submission, 31 % of its weight".
    fn describe(&self) -> String {
        let slots: Vec<String> = self
            .blocks
            .iter()
            .map(|b| {
                format!(
                    "slot +{:.2} s, {:.0} % weight",
                    (b.at_ms as f64 - self.submitted_ms as f64) / 1000.0,
                    b.weight * 100.0
                )
            })
            .collect();
        format!(
            "{:.2} s ({} block(s): {})",
            self.total.as_secs_f64(),
            self.blocks.len(),
            slots.join("; ")
        )
    }
}

/// One round: every site's request, then every site's close.
async fn round(
    api: &Client,
    rpc: &Rpc,
    sites: &[Site],
    nonces: &mut [u64],
    r: u32,
) -> anyhow::Result<(Phase, Phase)> {
    let records: usize = sites.iter().map(|s| s.cohort.len()).sum();
    // Each site's job digest commits to (study, round, model): distinct per site and round here.
    let job = |s: usize| {
        let mut d = [0u8; 32];
        d[..4].copy_from_slice(&r.to_le_bytes());
        d[4..8].copy_from_slice(&(s as u32).to_le_bytes());
        d
    };
    let requests = sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let call = runtime::tx().audit().request_access_batch(
                BoundedVec(s.cohort.iter().map(|p| p.pseudonym).collect()),
                Static(Purpose::FederatedTraining),
                Static(categories()),
                job(i),
                // Each patient holds one consent.
                1,
            );
            nonces[i] += 1;
            offline(api, &call, &s.key, nonces[i] - 1)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let site_of: BTreeMap<u32, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.institution, i))
        .collect();
    let mut granted: Vec<Vec<(u64, u64)>> = vec![vec![]; sites.len()];
    let after = api.blocks().at_latest().await?.number();
    let (start, submitted_ms) = (Instant::now(), now_ms());
    submit_all(rpc, &requests).await?;
    let request_blocks = until_finalized(api, after, records, |events| {
        let mut n = 0;
        for e in events.find::<runtime::audit::events::AccessGranted>() {
            let e = e?;
            if let Some(&i) = site_of.get(&e.institution) {
                granted[i].push((e.subject, e.id));
                n += 1;
            }
        }
        for e in events.find::<runtime::audit::events::AccessDenied>() {
            let e = e?;
            anyhow::ensure!(
                !site_of.contains_key(&e.institution),
                "a consenting patient was denied: {:?}",
                e.reason
            );
        }
        Ok(n)
    })
    .await?;
    let requested = Phase {
        total: start.elapsed(),
        blocks: request_blocks,
        submitted_ms,
    };

    let result = [r as u8; 32];
    let closes = sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let call = runtime::tx().audit().complete_access_batch(
                BoundedVec(std::mem::take(&mut granted[i])),
                Static(Outcome::Completed),
                Some(result),
            );
            nonces[i] += 1;
            offline(api, &call, &s.key, nonces[i] - 1)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let after = api.blocks().at_latest().await?.number();
    let (start, submitted_ms) = (Instant::now(), now_ms());
    submit_all(rpc, &closes).await?;
    let close_blocks = until_finalized(api, after, records, |events| {
        let mut n = 0;
        for e in events.find::<runtime::audit::events::AccessClosed>() {
            if site_of.contains_key(&e?.institution) {
                n += 1;
            }
        }
        Ok(n)
    })
    .await?;
    let closed = Phase {
        total: start.elapsed(),
        blocks: close_blocks,
        submitted_ms,
    };
    Ok((requested, closed))
}

/// min / median / max of `xs`, in seconds.
fn spread(mut xs: Vec<Duration>) -> String {
    xs.sort();
    format!(
        "{:.2} / {:.2} / {:.2} s",
        xs[0].as_secs_f64(),
        xs[xs.len() / 2].as_secs_f64(),
        xs[xs.len() - 1].as_secs_f64()
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n_sites = *args.first().unwrap_or(&10);
    let per_site = *args.get(1).unwrap_or(&256);
    let rounds = *args.get(2).unwrap_or(&5);
    anyhow::ensure!(
        n_sites >= 1 && rounds >= 1,
        "at least one site and one round"
    );
    anyhow::ensure!(
        (1..=256).contains(&per_site),
        "a site's cohort is one batch: 1 to 256 patients"
    );

    let node = Node::dev_with(&["--pool-limit", "200000", "--pool-kbytes", "1000000"])?;
    let api = node.client().await?;
    let rpc = consentry_e2e::load::rpc(&node.ws_url()).await?;
    let registered = register_sites(&api, &rpc, n_sites).await?;
    let cohorts =
        futures::future::try_join_all(registered.iter().enumerate().map(|(s, (id, key))| {
            enrol_cohort(
                &api,
                &rpc,
                key,
                *id,
                s * per_site..(s + 1) * per_site,
                PurposeSet::of(&[Purpose::FederatedTraining]),
                categories(),
            )
        }))
        .await?;
    let sites: Vec<Site> = registered
        .into_iter()
        .zip(cohorts)
        .map(|((institution, key), cohort)| Site {
            institution,
            key,
            cohort,
        })
        .collect();
    println!("{n_sites} sites of {per_site} consenting patients each");
    let mut nonces = Vec::with_capacity(sites.len());
    for s in &sites {
        nonces.push(api.tx().account_nonce(&s.key.public_key().into()).await?);
    }
    let (mut requests, mut closes) = (vec![], vec![]);
    for r in 0..rounds as u32 {
        let (req, close) = round(&api, &rpc, &sites, &mut nonces, r).await?;
        println!(
            "round {r}, {} records: requested in {}; closed in {}",
            n_sites * per_site,
            req.describe(),
            close.describe()
        );
        requests.push(req.total);
        closes.push(close.total);
    }
    let totals = requests.iter().zip(&closes).map(|(a, b)| *a + *b).collect();
    println!(
        "requests, submit → finalized (min / median / max): {}",
        spread(requests)
    );
    println!(
        "closes,   submit → finalized (min / median / max): {}",
        spread(closes)
    );
    println!(
        "per round, both                (min / median / max): {}",
        spread(totals)
    );
    Ok(())
}
