//! Signing locally and submitting: straight to a node, or through the API's relay.
//!
//! Either way the transaction is signed here with the wallet's key (the relay never sees a key)
//! and the wallet waits until the block holding it is finalized, then reports success or the
//! dispatch error by name (`Consent::WideningNotAllowed`), with a hint where the fix is known.
//! Through a relay the wallet still reads the chain from `--node` (nonce, metadata, events); only
//! the submission goes through the API, e.g. where the node's RPC is not open for writes.

use anyhow::{anyhow, bail, Context, Result};
use consentry_client::{
    subxt::{
        blocks::ExtrinsicEvents,
        error::{DispatchError, Error as SubxtError},
        tx::Payload,
        utils::H256,
    },
    subxt_signer::sr25519::Keypair,
    Client, ConsentryConfig,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where the wallet reads from and submits to.
pub struct Chain {
    /// The node client (reads, nonces, metadata, and submission when there is no relay).
    pub client: Client,
    /// `<relay>/v1/relay` base URL and the HTTP client for it, if submissions go through the API.
    pub relay: Option<(String, reqwest::Client)>,
}

/// A finalized, successful transaction.
pub struct Submitted {
    /// The extrinsic's hash.
    pub hash: H256,
    /// The finalized block holding it.
    pub block: H256,
    /// Its events.
    pub events: ExtrinsicEvents<ConsentryConfig>,
}

#[derive(Serialize)]
struct RelayRequest {
    extrinsic: String,
}

#[derive(Deserialize)]
struct RelayResponse {
    hash: String,
}

impl Chain {
    /// Connects to `node` (and remembers the relay URL).
    pub async fn connect(
        node: &str,
        relay: Option<String>,
        tls: &crate::session::ApiTls,
    ) -> Result<Chain> {
        let relay = match relay {
            Some(url) => {
                let http = crate::session::api_client("--relay", &url, tls)?;
                Some((url, http))
            }
            None => None,
        };
        let client = consentry_client::connect(node).await.map_err(|e| {
            anyhow!(
                "--node {node}: cannot connect ({e}); is the node running and is the URL right?"
            )
        })?;
        Ok(Chain { client, relay })
    }

    /// Signs `call` with `signer`, submits it and waits for finality.
    pub async fn submit<C: Payload>(&self, call: &C, signer: &Keypair) -> Result<Submitted> {
        match &self.relay {
            None => {
                let progress = self
                    .client
                    .tx()
                    .sign_and_submit_then_watch_default(call, signer)
                    .await
                    .map_err(explain)?;
                let in_block = progress.wait_for_finalized().await.map_err(explain)?;
                let block = in_block.block_hash();
                let events = in_block.wait_for_success().await.map_err(explain)?;
                Ok(Submitted {
                    hash: events.extrinsic_hash(),
                    block,
                    events,
                })
            }
            Some((relay, http)) => self.submit_via_relay(relay, http, call, signer).await,
        }
    }

    async fn submit_via_relay<C: Payload>(
        &self,
        relay: &str,
        http: &reqwest::Client,
        call: &C,
        signer: &Keypair,
    ) -> Result<Submitted> {
        let tx = self
            .client
            .tx()
            .create_signed(call, signer, Default::default())
            .await
            .map_err(explain)?;
        let hash = tx.hash();
        // Subscribe before submitting so the block holding it cannot be missed.
        let mut finalized = self
            .client
            .blocks()
            .subscribe_finalized()
            .await
            .map_err(explain)?;
        let url = format!("{}/v1/relay", relay.trim_end_matches('/'));
        let resp = http
            .post(&url)
            .json(&RelayRequest {
                extrinsic: format!("0x{}", hex::encode(tx.encoded())),
            })
            .send()
            .await
            .with_context(|| format!("--relay: cannot reach {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!("--relay: {url} refused the transaction ({status}): {body}");
        }
        let reply: RelayResponse = resp
            .json()
            .await
            .with_context(|| format!("--relay: {url} did not answer {{\"hash\":\"0x..\"}}"))?;
        let claimed = reply.hash.trim_start_matches("0x").to_ascii_lowercase();
        if claimed != hex::encode(hash.0) {
            bail!(
                "--relay: {url} reported hash 0x{claimed}, but the signed transaction's hash is {hash:?}"
            );
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let next = tokio::time::timeout_at(deadline, finalized.next())
                .await
                .map_err(|_| {
                    anyhow!("transaction {hash:?} was relayed but not finalized within 120 s")
                })?;
            let block = next
                .ok_or_else(|| anyhow!("the node closed the block subscription"))?
                .map_err(explain)?;
            let extrinsics = block.extrinsics().await.map_err(explain)?;
            if let Some(ext) = extrinsics.iter().find(|e| e.hash() == hash) {
                let events = ext.events().await.map_err(explain)?;
                for ev in events.iter() {
                    let ev = ev.map_err(explain)?;
                    if ev.pallet_name() == "System" && ev.variant_name() == "ExtrinsicFailed" {
                        let err =
                            DispatchError::decode_from(ev.field_bytes(), self.client.metadata())
                                .map_err(explain)?;
                        return Err(explain(err.into()));
                    }
                }
                return Ok(Submitted {
                    hash,
                    block: block.hash(),
                    events,
                });
            }
        }
    }
}

/// Turns a subxt error into a message naming the dispatch error, with the fix where known.
pub fn explain(err: SubxtError) -> anyhow::Error {
    if let SubxtError::Runtime(DispatchError::Module(m)) = &err {
        if let Ok(d) = m.details() {
            let name = format!("{}::{}", d.pallet.name(), d.variant.name);
            let docs = d.variant.docs.join(" ");
            let hint = hint(&name).map(|h| format!("; {h}")).unwrap_or_default();
            return anyhow!("the chain refused the call: {name} ({docs}){hint}");
        }
    }
    let text = err.to_string();
    if text.contains("Inability to pay") {
        return anyhow!(
            "the node's pool refused the transaction ({text}): the signing account has no account on chain; only enrolled patients, guardians, service keys and governance accounts the chain knows can sign"
        );
    }
    if text.contains("Transaction call is not expected") {
        return anyhow!(
            "the node's pool refused the transaction ({text}): this account may not send this call (a patient acts only on its own consents and guardians, and claims only an unclaimed enrolment addressed to it)"
        );
    }
    if text.contains("1010") || text.contains("Invalid Transaction") {
        return anyhow!(
            "the node's pool refused the transaction ({text}); an account the chain does not know may only claim an enrolment addressed to it"
        );
    }
    anyhow!("{text}")
}

fn hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "Identity::UnknownPseudonym" => {
            "check --pseudonym, or ask the institution to enrol you first"
        }
        "Identity::NotAddressee" => {
            "this enrolment is addressed to another account: check --keystore"
        }
        "Identity::AlreadyClaimed" => "this enrolment is already claimed; nothing to do",
        "Identity::NotPatient" => {
            "this key has no subject yet: claim an enrolment first (`consentry wallet claim`)"
        }
        "Identity::NotPatientOrGuardian" => {
            "sign with the patient's key or an appointed guardian's, or check --subject"
        }
        "Identity::PseudonymTaken" => {
            "this identifier is already enrolled (same pepper and identifier)"
        }
        "Identity::KeyInUse" => {
            "that account is already a service key or a patient; use a fresh account"
        }
        "Identity::UnknownKey" | "Identity::NotCustodian" => {
            "sign with a service key of an active data-custodian institution"
        }
        "Consent::WideningNotAllowed" => {
            "amend can only narrow a consent; grant a new consent to widen"
        }
        "Consent::UnknownGrantee" => "check --institution (no such institution)",
        "Consent::BadPeriod" => {
            "check --from/--until/--days: the end must be in the future and after the start"
        }
        "Consent::NotActive" => "the consent is already revoked or erased",
        "Consent::UnknownConsent" => {
            "check --consent (list yours with `consentry wallet consents`)"
        }
        _ => return None,
    })
}
