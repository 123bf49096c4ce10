//! Helpers for the load binaries (`throughput`, `cohort_round`): cohorts enrolled and consenting
//! in bulk, and pre-signed transactions submitted all at once, so that what they time is the
//! chain, not signing or one RPC round trip per transaction.

use consentry_client::{
    runtime,
    subxt::{config::polkadot::PolkadotExtrinsicParamsBuilder as Params, utils::AccountId32},
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_primitives::{CategorySet, Grantee, PurposeSet};
use futures::StreamExt;
use std::{
    str::FromStr,
    time::{Duration, Instant},
};

/// Plain `author_submitExtrinsic`: no per-transaction subscription.
pub use consentry_client::Rpc;

/// The plain RPC methods of the node at `ws_url`.
pub async fn rpc(ws_url: &str) -> anyhow::Result<Rpc> {
    Ok(Rpc::new(
        consentry_client::subxt::backend::rpc::RpcClient::from_insecure_url(ws_url).await?,
    ))
}

/// Pseudonym of load patient `i`.
pub fn pseudonym(i: usize) -> [u8; 32] {
    let mut p = [0x42; 32];
    p[..4].copy_from_slice(&(i as u32).to_le_bytes());
    p
}

/// Submits pre-signed transactions concurrently (one at a time, the RPC round trip, not the
/// chain, would be measured).
pub async fn submit_all(rpc: &Rpc, txs: &[Vec<u8>]) -> anyhow::Result<()> {
    let submitted: Vec<_> =
        futures::stream::iter(txs.iter().map(|tx| rpc.author_submit_extrinsic(tx)))
            .buffer_unordered(256)
            .collect()
            .await;
    for s in submitted {
        s?;
    }
    Ok(())
}

/// Waits until every account in `who` has a nonce of at least `nonce` at the finalized head.
pub async fn wait_nonces(api: &Client, who: &[sr25519::Keypair], nonce: u64) -> anyhow::Result<()> {
    let mut finalized = api.blocks().subscribe_finalized().await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    'blocks: while Instant::now() < deadline {
        let block = finalized.next().await.expect("finalized stream")?;
        for k in who {
            let info = api
                .storage()
                .at(block.hash())
                .fetch(
                    &runtime::storage()
                        .system()
                        .account(AccountId32::from(k.public_key())),
                )
                .await?;
            if info.map_or(0, |i| u64::from(i.nonce)) < nonce {
                continue 'blocks;
            }
        }
        return Ok(());
    }
    anyhow::bail!("set-up transactions were not all finalized within 300 s")
}

/// `call` signed by `who` with `nonce`, encoded for `author_submitExtrinsic`.
pub fn offline<C: consentry_client::subxt::tx::Payload>(
    api: &Client,
    call: &C,
    who: &sr25519::Keypair,
    nonce: u64,
) -> anyhow::Result<Vec<u8>> {
    let params = Params::new().nonce(nonce).build();
    Ok(api
        .tx()
        .create_signed_offline(call, who, params)?
        .into_encoded())
}

/// A cohort patient: the pseudonym the institution enrolled and the subject the claim made.
#[derive(Clone, Copy, Debug)]
pub struct Patient {
    pub pseudonym: [u8; 32],
    pub subject: u64,
}

/// Enrols load patients `patients` (by index: keys `//Bench/Patient/{i}`, pseudonyms
/// [`pseudonym`]) under `custodian`, a service key of `institution`; has each claim and consent to
/// `purposes` over `categories` by that institution, with no end and no use limit.
pub async fn enrol_cohort(
    api: &Client,
    rpc: &Rpc,
    custodian: &sr25519::Keypair,
    institution: u32,
    patients: std::ops::Range<usize>,
    purposes: PurposeSet,
    categories: CategorySet,
) -> anyhow::Result<Vec<Patient>> {
    use consentry_client::subxt::utils::Static;
    let keys = patients
        .clone()
        .map(|i| {
            let uri = SecretUri::from_str(&format!("//Bench/Patient/{i}"))?;
            Ok(sr25519::Keypair::from_uri(&uri)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pseudonyms: Vec<_> = patients.map(pseudonym).collect();
    let first = api
        .tx()
        .account_nonce(&custodian.public_key().into())
        .await?;
    let enrols = keys
        .iter()
        .zip(&pseudonyms)
        .enumerate()
        .map(|(i, (k, p))| {
            let call = runtime::tx().identity().enrol(*p, k.public_key().into());
            offline(api, &call, custodian, first + i as u64)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(rpc, &enrols).await?;
    wait_nonces(
        api,
        std::slice::from_ref(custodian),
        first + keys.len() as u64,
    )
    .await?;
    let claims = keys
        .iter()
        .zip(&pseudonyms)
        .map(|(k, p)| offline(api, &runtime::tx().identity().claim(*p), k, 0))
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(rpc, &claims).await?;
    wait_nonces(api, &keys, 1).await?;
    let at = api.runtime_api().at_latest().await?;
    let mut cohort = Vec::with_capacity(keys.len());
    let mut grants = Vec::with_capacity(keys.len());
    for (k, p) in keys.iter().zip(&pseudonyms) {
        let subject = at
            .call(runtime::apis().consent_api().subject_of(*p))
            .await?
            .ok_or_else(|| anyhow::anyhow!("a claimed pseudonym does not resolve"))?;
        let grant = runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(institution)),
            Static(purposes),
            Static(categories),
            None,
            None,
            None,
        );
        grants.push(offline(api, &grant, k, 1)?);
        cohort.push(Patient {
            pseudonym: *p,
            subject,
        });
    }
    submit_all(rpc, &grants).await?;
    wait_nonces(api, &keys, 2).await?;
    Ok(cohort)
}

/// A block that held a load run's records: when, and how full.
#[derive(Clone, Copy, Debug)]
pub struct BlockLoad {
    /// Its timestamp (the start of its slot), ms since the Unix epoch.
    pub at_ms: u64,
    /// Its normal-class weight as a share of the class's limit (to tell whether weights or the
    /// author's time bound a block).
    pub weight: f64,
}

/// The timestamp and normal-class fill of block `hash`.
pub async fn block_load(
    api: &Client,
    hash: <consentry_client::ConsentryConfig as consentry_client::subxt::Config>::Hash,
) -> anyhow::Result<BlockLoad> {
    let normal_limit = api
        .constants()
        .at(&runtime::constants().system().block_weights())?
        .per_class
        .normal
        .max_total
        .map(|w| w.ref_time as f64)
        .ok_or_else(|| anyhow::anyhow!("the runtime sets no normal-class block limit"))?;
    let state = api.storage().at(hash);
    let at_ms = state
        .fetch(&runtime::storage().timestamp().now())
        .await?
        .ok_or_else(|| anyhow::anyhow!("block without a timestamp"))?;
    let weight = state
        .fetch(&runtime::storage().system().block_weight())
        .await?
        .map_or(0.0, |w| w.normal.ref_time as f64 / normal_limit);
    Ok(BlockLoad { at_ms, weight })
}
