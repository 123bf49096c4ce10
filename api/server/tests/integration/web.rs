//! The browser app's serving and its RPC proxy, against a real dev node and the real
//! `consentry-api` binary: `/` redirects to `/app/`, files and app routes are served with the
//! security headers (a CSP with no inline script and no eval, no framing, nosniff, no referrer),
//! paths outside the app's directory are not, `/app/config.json` names the proxy, and the proxy
//! answers read-only chain methods and refuses the rest. (The app itself is tested in a browser:
//! api/web/e2e.)

use crate::common;

use common::{dev_node, Api};
use reqwest::{redirect::Policy, StatusCode};
use serde_json::{json, Value};

fn web_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>t</title><script type=module src=/app/assets/a.js></script>",
    )
    .unwrap();
    std::fs::write(dir.path().join("assets/a.js"), "export {};").unwrap();
    dir
}

fn assert_secure(resp: &reqwest::Response) {
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_is_served_with_strict_headers_and_a_read_only_rpc_proxy() -> anyhow::Result<()> {
    let (node, _client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let web = web_dir();
    let node_http = node.ws_url().replace("ws://", "http://");
    let api = Api::start_with(
        &node.ws_url(),
        &tmp.path().join("index.db"),
        &[
            "--web-dir",
            web.path().to_str().unwrap(),
            "--web-verify-node",
            &node_http,
        ],
    );
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()?;
    api.wait_ready(&http).await?;

    let root = http.get(format!("{}/", api.url)).send().await?;
    assert_eq!(root.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(root.headers()["location"], "/app/");

    let index = http.get(format!("{}/app/", api.url)).send().await?;
    assert_eq!(index.status(), StatusCode::OK);
    assert_secure(&index);
    assert!(index.headers()["content-type"]
        .to_str()?
        .starts_with("text/html"));
    assert_eq!(index.headers()["cache-control"], "no-cache");
    // The verification node is the one other origin the page may fetch from.
    let csp = index.headers()["content-security-policy"]
        .to_str()?
        .to_string();
    assert!(
        csp.contains(&format!(
            "connect-src 'self' {};",
            node_http.trim_end_matches('/')
        )),
        "{csp}"
    );

    // An app route (no extension) is the app; a missing asset is a 404, not HTML.
    let route = http.get(format!("{}/app/audit", api.url)).send().await?;
    assert_eq!(route.status(), StatusCode::OK);
    assert!(route.text().await?.contains("<!doctype html>"));
    let asset = http
        .get(format!("{}/app/assets/a.js", api.url))
        .send()
        .await?;
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(asset.headers()["content-type"]
        .to_str()?
        .starts_with("text/javascript"));
    assert!(asset.headers()["cache-control"]
        .to_str()?
        .contains("immutable"));
    let missing = http
        .get(format!("{}/app/assets/gone.js", api.url))
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    for sneaky in [
        "/app/../Cargo.toml",
        "/app/%2e%2e/%2e%2e/etc/passwd",
        "/app/.hidden",
    ] {
        let r = http.get(format!("{}{sneaky}", api.url)).send().await?;
        assert_ne!(r.status(), StatusCode::OK, "{sneaky}");
    }

    // API answers carry the headers too.
    let health = http.get(format!("{}/health", api.url)).send().await?;
    assert_secure(&health);
    assert_eq!(health.headers()["cache-control"], "no-store");

    let config: Value = http
        .get(format!("{}/app/config.json", api.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(config["rpc"], "/rpc");
    assert_eq!(config["verify_nodes"][0], node_http.trim_end_matches('/'));

    let rpc = |method: &str, params: Value| {
        let http = http.clone();
        let url = format!("{}/rpc", api.url);
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await?
                .json::<Value>()
                .await
        }
    };
    let genesis = rpc("chain_getBlockHash", json!([0])).await?;
    assert_eq!(genesis["id"], 7);
    assert!(
        genesis["result"].as_str().unwrap().starts_with("0x"),
        "{genesis}"
    );
    let version = rpc("state_getRuntimeVersion", json!([])).await?;
    assert!(version["result"]["specName"].is_string(), "{version}");
    for refused in [
        "author_submitExtrinsic",
        "author_rotateKeys",
        "author_insertKey",
        "system_addReservedPeer",
        "offchain_localStorageSet",
        "chainHead_v1_follow",
    ] {
        let r = rpc(refused, json!([])).await?;
        assert_eq!(r["error"]["code"], -32601, "{refused}: {r}");
    }
    let batch: Value = http
        .post(format!("{}/rpc", api.url))
        .json(&json!([{"jsonrpc": "2.0", "id": 1, "method": "system_health"}]))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(batch["error"]["code"], -32600, "{batch}");
    Ok(())
}
