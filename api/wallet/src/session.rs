//! Signing in to the Consentry API: ask for a sign-in message, check it, sign its `<Bytes>` form
//! with the wallet's key, get a bearer token (`POST /v1/auth/challenge`, `POST /v1/auth/session`).
//! The API keeps no passwords; the chain says who the key is.
//!
//! The wallet signs nothing it has not read: the message must be a `consentry-signin` message for
//! the API this wallet is talking to (so a hostile API cannot relay another API's challenge), for
//! this key, on the chain the wallet's node follows, issued now. And it talks to an API over TLS
//! 1.3, or over plain HTTP only on this machine's loopback unless told `--insecure`.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use consentry_client::{subxt::utils::AccountId32, subxt_signer::sr25519::Keypair};
use consentry_signin::SignInMessage;
use serde::Deserialize;
use serde_json::json;
use std::{
    net::IpAddr,
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

/// How the wallet reaches an API (`--api`, `--relay`).
#[derive(Args, Debug, Clone, Default)]
pub struct ApiTls {
    /// Allow plain `http://` to an API that is not on this machine's loopback (bearer tokens
    /// and signed requests then travel in the clear).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Also trust this PEM CA certificate for the API's TLS certificate (e.g. a consortium's
    /// own CA, or a self-signed development certificate).
    #[arg(long, global = true, value_name = "PATH")]
    pub api_ca: Option<PathBuf>,
}

/// An HTTP client for the API at `url` (named `flag` in errors): TLS 1.3 only (rustls), and plain
/// HTTP refused unless the host is loopback or `tls.insecure` is set.
pub fn api_client(flag: &str, url: &str, tls: &ApiTls) -> Result<reqwest::Client> {
    let parsed =
        reqwest::Url::parse(url).with_context(|| format!("{flag}: '{url}' is not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if !loopback && !tls.insecure {
                bail!(
                    "{flag}: {url} is plain http to another machine; tokens and requests would \
                     travel in the clear. Use https://, or pass --insecure to allow it"
                );
            }
        }
        other => bail!("{flag}: scheme '{other}' is not http or https"),
    }
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .min_tls_version(reqwest::tls::Version::TLS_1_3);
    if let Some(ca) = &tls.api_ca {
        let pem =
            std::fs::read(ca).with_context(|| format!("--api-ca: cannot read {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("--api-ca: {} is not a PEM certificate", ca.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().context("building the HTTP client")
}

/// The genesis hash of the chain the node at `node` follows (what sign-in messages must name).
pub async fn genesis_of(node: &str) -> Result<[u8; 32]> {
    let client = consentry_client::connect(node)
        .await
        .map_err(|e| anyhow!("--node {node}: cannot connect ({e}); is the node running?"))?;
    Ok(client.genesis_hash().0)
}

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

/// Checks `challenge` as a sign-in to the API at `api` for `key` on the chain with `genesis`, now,
/// and signs its wrapped form; the signature as `0x` hex.
pub fn sign_challenge(
    api: &str,
    key: &Keypair,
    genesis: &[u8; 32],
    challenge: &str,
) -> Result<String> {
    let origin = consentry_signin::origin_of(api).map_err(|e| anyhow!("--api: {e}"))?;
    let account = AccountId32::from(key.public_key()).to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    SignInMessage::parse(challenge)
        .and_then(|m| m.check(&origin, &account, genesis, now))
        .map_err(|e| anyhow!("--api: refusing to sign the API's challenge: {e}"))?;
    let signature = key.sign(&consentry_signin::wrap(challenge));
    Ok(format!("0x{}", hex::encode(signature.0)))
}

/// Signs in to the API at `api` as `key`, on the chain with `genesis`; returns a bearer token.
pub async fn login(
    http: &reqwest::Client,
    api: &str,
    key: &Keypair,
    genesis: &[u8; 32],
) -> Result<String> {
    let base = api.trim_end_matches('/');
    let account = AccountId32::from(key.public_key()).to_string();
    let c: Challenge = post(
        http,
        &format!("{base}/v1/auth/challenge"),
        json!({ "account": account }),
    )
    .await?;
    let signature = sign_challenge(api, key, genesis, &c.challenge)?;
    let g: Granted = post(
        http,
        &format!("{base}/v1/auth/session"),
        json!({
            "account": account,
            "challenge": c.challenge,
            "signature": signature,
        }),
    )
    .await?;
    Ok(g.token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_client::subxt_signer::sr25519;

    fn tls() -> ApiTls {
        ApiTls::default()
    }

    #[test]
    fn plain_http_is_only_for_loopback_unless_insecure() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "https://api.hospital.example",
        ] {
            assert!(api_client("--api", ok, &tls()).is_ok(), "{ok}");
        }
        let err = api_client("--api", "http://10.1.2.3:8080", &tls()).unwrap_err();
        assert!(err.to_string().contains("--insecure"), "{err}");
        assert!(err.to_string().starts_with("--api:"), "{err}");
        assert!(api_client(
            "--api",
            "http://10.1.2.3:8080",
            &ApiTls {
                insecure: true,
                ..tls()
            }
        )
        .is_ok());
        assert!(api_client("--relay", "ftp://x", &tls()).is_err());
    }

    fn message(origin: &str, account: &str, genesis: [u8; 32]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        SignInMessage {
            origin: origin.into(),
            account: account.into(),
            genesis,
            nonce: [1; 32],
            issued_at: now,
            expires_at: now + 120,
        }
        .to_string()
    }

    #[test]
    fn the_wallet_signs_only_the_wrapped_form_of_a_checked_message() {
        let key = sr25519::dev::alice();
        let me = AccountId32::from(key.public_key()).to_string();
        let text = message("http://127.0.0.1:8080", &me, [3; 32]);
        let sig = sign_challenge("http://127.0.0.1:8080/", &key, &[3; 32], &text).unwrap();
        let sig: [u8; 64] = hex::decode(&sig[2..]).unwrap().try_into().unwrap();
        let sig = sr25519::Signature(sig);
        assert!(sr25519::verify(
            &sig,
            format!("<Bytes>{text}</Bytes>").as_bytes(),
            &key.public_key()
        ));
        assert!(!sr25519::verify(&sig, text.as_bytes(), &key.public_key()));
    }

    #[test]
    fn the_wallet_refuses_relayed_foreign_and_crafted_challenges() {
        let key = sr25519::dev::alice();
        let me = AccountId32::from(key.public_key()).to_string();
        // Relay: a hostile API at evil.example passes on the real API's message.
        let real = message("https://api.hospital.example", &me, [3; 32]);
        let err = sign_challenge("https://evil.example", &key, &[3; 32], &real).unwrap_err();
        assert!(err.to_string().contains("origin"), "{err}");
        // Another chain, another account.
        assert!(sign_challenge("https://api.hospital.example", &key, &[4; 32], &real).is_err());
        let bob = AccountId32::from(sr25519::dev::bob().public_key()).to_string();
        let theirs = message("https://api.hospital.example", &bob, [3; 32]);
        assert!(sign_challenge("https://api.hospital.example", &key, &[3; 32], &theirs).is_err());
        // A transaction's signing payload over 256 bytes, which a signer would hash and sign.
        let payload = format!("0x{}", "07".repeat(300));
        assert!(sign_challenge("https://api.hospital.example", &key, &[3; 32], &payload).is_err());
    }
}
