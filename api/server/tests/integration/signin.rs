//! Sign-in and sessions against a real dev node and the real `consentry-api` binary: the signed
//! form, replay, relay through a hostile API, a crafted payload, the per-account bounds, sessions
//! that follow the chain (an erased patient loses access), sign-out, per-client limits, and HTTPS
//! (TLS 1.3 only) with the wallet trusting a given CA.

use crate::common;

use axum::{body::Bytes, extract::State, http::Method, routing::any, Router};
use common::{consent_story, dev_node, key, submit, Api};
use consentry_client::{
    runtime,
    subxt::utils::AccountId32,
    subxt_signer::sr25519::{self, Keypair},
};
use consentry_signin::SignInMessage;
use consentry_wallet::session::{api_client, login, ApiTls};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn account(key: &Keypair) -> String {
    AccountId32::from(key.public_key()).to_string()
}

async fn challenge(http: &reqwest::Client, api: &Api, key: &Keypair) -> (StatusCode, Value) {
    let r = http
        .post(format!("{}/v1/auth/challenge", api.url))
        .json(&json!({ "account": account(key) }))
        .send()
        .await
        .expect("POST challenge");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn redeem(
    http: &reqwest::Client,
    api: &Api,
    key: &Keypair,
    text: &str,
    signed: &[u8],
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{}/v1/auth/session", api.url))
        .json(&json!({
            "account": account(key),
            "challenge": text,
            "signature": hex::encode(key.sign(signed).0),
        }))
        .send()
        .await
        .expect("POST session");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A hostile API in front of the real one: forwards every request, and with `craft` set answers
/// a challenge request with a transaction-sized payload of its own.
#[derive(Clone)]
struct Hostile {
    upstream: String,
    craft: bool,
}

async fn forward(
    State(h): State<Hostile>,
    method: Method,
    uri: axum::http::Uri,
    body: Bytes,
) -> (StatusCode, String) {
    if h.craft && uri.path() == "/v1/auth/challenge" {
        let payload = format!("0x{}", "0a".repeat(300));
        return (
            StatusCode::OK,
            json!({ "challenge": payload, "expires_in": 60 }).to_string(),
        );
    }
    let r = reqwest::Client::new()
        .request(method, format!("{}{}", h.upstream, uri))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("upstream");
    (r.status(), r.text().await.unwrap_or_default())
}

async fn hostile(upstream: &str, craft: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(any(forward)).with_state(Hostile {
        upstream: upstream.to_string(),
        craft,
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_is_bound_to_this_api_this_chain_and_the_wrapped_form() -> anyhow::Result<()> {
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let api = Api::start(&node.ws_url(), &tmp.path().join("index.db"));
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;
    let bob = sr25519::dev::bob();
    let genesis = client.genesis_hash().0;

    // An account the chain does not know gets no challenge (so none can fill the table).
    let (status, problem) = challenge(&http, &api, &key("//Nobody")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    // The message names this API's origin, the key and this chain.
    let (status, c) = challenge(&http, &api, &bob).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let text = c["challenge"].as_str().unwrap().to_string();
    let msg = SignInMessage::parse(&text)?;
    assert_eq!(msg.origin, api.url);
    assert_eq!(msg.account, account(&bob));
    assert_eq!(msg.genesis, genesis);

    // A signature over the bare text is refused (and the challenge is spent).
    let (status, problem) = redeem(&http, &api, &bob, &text, text.as_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("<Bytes>"),
        "{problem}"
    );

    // The wrapped form opens a session, once: the same signed body again is a replay.
    let (_, c) = challenge(&http, &api, &bob).await;
    let text = c["challenge"].as_str().unwrap().to_string();
    let wrapped = consentry_signin::wrap(&text);
    let (status, granted) = redeem(&http, &api, &bob, &text, &wrapped).await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(
        granted["identity"],
        json!({"role": "institution", "institution": 0})
    );
    let (status, problem) = redeem(&http, &api, &bob, &text, &wrapped).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");

    // At most four pending challenges per account: a fifth evicts the oldest.
    let mut texts = Vec::new();
    for _ in 0..5 {
        let (_, c) = challenge(&http, &api, &bob).await;
        texts.push(c["challenge"].as_str().unwrap().to_string());
    }
    let (status, _) = redeem(
        &http,
        &api,
        &bob,
        &texts[0],
        &consentry_signin::wrap(&texts[0]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the oldest challenge was evicted"
    );
    let (status, _) = redeem(
        &http,
        &api,
        &bob,
        &texts[4],
        &consentry_signin::wrap(&texts[4]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Relay: a hostile API passes on the real API's challenge; the wallet sees the origin is
    // not the API it talks to and signs nothing.
    let proxy = hostile(&api.url, false).await;
    let err = login(&http, &proxy, &bob, &genesis).await.unwrap_err();
    assert!(err.to_string().contains("origin"), "{err}");
    // Through the real API the same wallet signs in.
    login(&http, &api.url, &bob, &genesis).await?;
    // A crafted "challenge" the size of a transaction payload is not signed either.
    let crafty = hostile(&api.url, true).await;
    let err = login(&http, &crafty, &bob, &genesis).await.unwrap_err();
    assert!(err.to_string().contains("refusing to sign"), "{err}");
    // A wallet on another chain refuses this one's messages.
    let err = login(&http, &api.url, &bob, &[0; 32]).await.unwrap_err();
    assert!(err.to_string().contains("chain"), "{err}");

    // The relay asks the runtime's pool validation first: a stranger's signed transaction is
    // refused with the pool's reason and never reaches the node's pool; bytes that are no
    // extrinsic of this chain are the caller's error.
    let stranger = client
        .tx()
        .create_signed(
            &runtime::tx().system().remark(b"fill the block".to_vec()),
            &key("//Stranger"),
            Default::default(),
        )
        .await?;
    let relay = |hex: String| {
        http.post(format!("{}/v1/relay", api.url))
            .json(&json!({ "extrinsic": hex }))
            .send()
    };
    let r = relay(format!("0x{}", hex::encode(stranger.encoded()))).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await?;
    assert!(
        problem["detail"].as_str().unwrap().contains("BadSigner"),
        "{problem}"
    );
    use consentry_client::subxt::backend::rpc::{rpc_params, RpcClient};
    let rpc = RpcClient::from_insecure_url(node.ws_url()).await?;
    let pending: Vec<String> = rpc
        .request("author_pendingExtrinsics", rpc_params![])
        .await?;
    assert!(pending.is_empty(), "nothing reached the pool: {pending:?}");
    let r = relay("0x0102".into()).await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem: Value = r.json().await?;
    assert_eq!(problem["field"], "extrinsic", "{problem}");
    Ok(())
}

async fn access_status(http: &reqwest::Client, api: &Api, token: &str) -> (StatusCode, Value) {
    let r = http
        .get(format!("{}/v1/access", api.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /v1/access");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_follow_the_chain_and_end_on_sign_out() -> anyhow::Result<()> {
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let api = Api::start(&node.ws_url(), &tmp.path().join("index.db"));
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;
    let patient = key("//SessionPatient");
    let story = consent_story(&client, &patient, [0x5e; 32]).await?;

    // Sign-out ends that session only.
    let (kept, _) = api.login(&http, &patient).await?;
    let (leaving, _) = api.login(&http, &patient).await?;
    assert_eq!(access_status(&http, &api, &leaving).await.0, StatusCode::OK);
    let r = http
        .delete(format!("{}/v1/auth/session", api.url))
        .bearer_auth(&leaving)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        access_status(&http, &api, &leaving).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(access_status(&http, &api, &kept).await.0, StatusCode::OK);

    // The patient is erased on chain: the open session ends within a block or two, and no new
    // challenge is issued for the account.
    submit(
        &client,
        &runtime::tx().identity().forget(story.subject),
        &patient,
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let problem = loop {
        let (status, body) = access_status(&http, &api, &kept).await;
        if status == StatusCode::UNAUTHORIZED {
            break body;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            Instant::now() < deadline,
            "the erased patient's session still works"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("session ended"),
        "{problem}"
    );
    assert_eq!(
        challenge(&http, &api, &patient).await.0,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_rate_gets_429_and_https_is_tls13_only() -> anyhow::Result<()> {
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;

    // A self-signed certificate for localhost, as a consortium's CA would issue one.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let cert_path = tmp.path().join("cert.pem");
    let key_path = tmp.path().join("key.pem");
    std::fs::write(&cert_path, cert.serialize_pem()?)?;
    std::fs::write(&key_path, cert.serialize_private_key_pem())?;
    let api = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("index.db"),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
            "--rate-per-second",
            "1",
            "--rate-burst",
            "30",
        ],
    );
    assert!(api.url.starts_with("https://localhost:"));
    let trusted = ApiTls {
        insecure: false,
        api_ca: Some(cert_path.clone()),
    };
    let https = api_client("--api", &api.url, &trusted)?;
    api.wait_ready(&https).await?;

    // The wallet signs in over TLS 1.3 to an API whose CA it was given.
    let genesis = client.genesis_hash().0;
    let token = login(&https, &api.url, &sr25519::dev::dave(), &genesis).await?;
    let r = https
        .get(format!("{}/v1/summary", api.url))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);

    // Without the CA the certificate is not trusted; a TLS 1.2-only client gets no handshake;
    // plain HTTP to the TLS port gets no answer.
    let untrusting = api_client("--api", &api.url, &ApiTls::default())?;
    assert!(untrusting
        .get(format!("{}/health", api.url))
        .send()
        .await
        .is_err());
    let pem = std::fs::read(&cert_path)?;
    let tls12 = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()?;
    assert!(tls12
        .get(format!("{}/health", api.url))
        .send()
        .await
        .is_err());
    let plain = api.url.replace("https://", "http://");
    assert!(reqwest::Client::new()
        .get(format!("{plain}/health"))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true));

    // Past its burst, a client is told to slow down with a problem document and Retry-After.
    let mut limited = None;
    for _ in 0..60 {
        let r = https.get(format!("{}/health", api.url)).send().await?;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = limited.expect("a client 30 requests over its burst is limited");
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "a problem document"
    );
    let body: Value = r.json().await?;
    assert_eq!(body["status"], 429);

    Ok(())
}
