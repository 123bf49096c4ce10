//! Signing in to the Consentry API: ask for a challenge, sign it with the wallet's key, get a
//! bearer token (`POST /v1/auth/challenge`, `POST /v1/auth/session`). The API keeps no passwords;
//! the chain says who the key is.

use anyhow::{bail, Context, Result};
use consentry_client::{subxt::utils::AccountId32, subxt_signer::sr25519::Keypair};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Challenge {
    challenge: String,
}

#[derive(Deserialize)]
struct Granted {
    token: String,
}

/// The API's JSON answer; on a 4xx/5xx an error naming `what` with the problem document's
/// `detail` (or the body as sent, when it is not one).
pub(crate) async fn answer<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    what: &str,
) -> Result<T> {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or(body);
        bail!("--api: {what} answered {status}: {detail}");
    }
    serde_json::from_str(&body).with_context(|| format!("--api: unexpected answer from {what}"))
}

async fn post<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> Result<T> {
    let resp = http
        .post(url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("--api: cannot reach {url}"))?;
    answer(resp, &format!("POST {url}")).await
}

/// Signs in as `key` and returns a bearer token.
pub async fn login(api: &str, key: &Keypair) -> Result<String> {
    let base = api.trim_end_matches('/');
    let account = AccountId32::from(key.public_key()).to_string();
    let http = reqwest::Client::new();
    let c: Challenge = post(
        &http,
        &format!("{base}/v1/auth/challenge"),
        json!({ "account": account }),
    )
    .await?;
    let signature = key.sign(c.challenge.as_bytes());
    let g: Granted = post(
        &http,
        &format!("{base}/v1/auth/session"),
        json!({
            "account": account,
            "challenge": c.challenge,
            "signature": format!("0x{}", hex::encode(signature.0)),
        }),
    )
    .await?;
    Ok(g.token)
}
