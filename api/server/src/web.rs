//! The browser app (`api/web`, built by Vite into `api/web/dist`) served by the API under `/app/`,
//! with the security headers every response carries.
//!
//! The app is static files: `index.html`, and hashed bundles under `assets/`. It learns where to
//! send chain JSON-RPC from `/app/config.json` (this API's allowlisted proxy, `/rpc`, see
//! [`crate::rpc_proxy`]), so the Content-Security-Policy's `connect-src 'self'` and the app agree:
//! the page talks to nothing but this origin.
//!
//! Every response, API JSON included, carries a CSP with no inline script and no `eval`
//! (`script-src 'self'`), `frame-ancestors 'none'`, `nosniff` and `no-referrer`.

use axum::{
    body::Body,
    extract::{Path as UrlPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use std::path::{Component, Path, PathBuf};

/// The policy: scripts, styles, workers and fetches only from this origin; no inline script, no
/// `eval`, no plugins, no framing, no `<base>`; images also as `data:` (QR codes, chart exports).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     object-src 'none'";

/// The browser app's files, and the nodes its auditors may check proofs against.
#[derive(Clone)]
pub struct Web {
    dir: PathBuf,
    verify_nodes: Vec<String>,
}

impl Web {
    /// Serves the built app in `dir` (`api/web/dist`); fails when it holds no `index.html`.
    pub fn new(dir: PathBuf) -> anyhow::Result<Web> {
        anyhow::ensure!(
            dir.join("index.html").is_file(),
            "--web-dir: {} has no index.html (build it: cd api/web && npm run build)",
            dir.display()
        );
        Ok(Web {
            dir,
            verify_nodes: Vec::new(),
        })
    }

    /// Lets the page fetch headers from these nodes' HTTP RPC (`http(s)://host:port`, origins
    /// only), so an auditor can check a proof against a node that is not this API's: they are
    /// offered in `/app/config.json` and allowed by the CSP's `connect-src`, nothing else is.
    pub fn with_verify_nodes(mut self, nodes: &[String]) -> anyhow::Result<Web> {
        for n in nodes {
            let origin = consentry_signin::origin_of(n)
                .map_err(|e| anyhow::anyhow!("--web-verify-node: {e}"))?;
            anyhow::ensure!(
                origin.starts_with("http://") || origin.starts_with("https://"),
                "--web-verify-node: {n} is not an http(s) URL (the node's JSON-RPC over HTTP)"
            );
            self.verify_nodes.push(origin);
        }
        Ok(self)
    }

    /// The Content-Security-Policy: [`CSP`], with the verification nodes in `connect-src`.
    pub fn csp(&self) -> String {
        if self.verify_nodes.is_empty() {
            return CSP.to_string();
        }
        CSP.replace(
            "connect-src 'self';",
            &format!("connect-src 'self' {};", self.verify_nodes.join(" ")),
        )
    }

    /// `/` (redirects to `/app/`), `/app/…` (the files; an unknown path without an extension is
    /// the app's own route and gets `index.html`), `/app/config.json`.
    pub fn routes<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new()
            .route("/", get(|| async { Redirect::permanent("/app/") }))
            .route("/app", get(|| async { Redirect::permanent("/app/") }))
            .route("/app/", get(index))
            .route(
                "/app/config.json",
                get({
                    let nodes = self.verify_nodes.clone();
                    move || config(nodes)
                }),
            )
            .route("/app/*path", get(file))
            .with_state(self)
    }
}

/// What the app reads at start.
#[derive(serde::Serialize)]
struct AppConfig {
    /// The chain's JSON-RPC endpoint for the browser (this API's allowlisted proxy).
    rpc: &'static str,
    /// The API's base path.
    api: &'static str,
    /// Nodes (HTTP JSON-RPC origins) an auditor may check proofs against besides `rpc`.
    verify_nodes: Vec<String>,
}

async fn config(verify_nodes: Vec<String>) -> Response {
    no_cache(
        Json(AppConfig {
            rpc: crate::rpc_proxy::PATH,
            api: "/v1",
            verify_nodes,
        })
        .into_response(),
    )
}

async fn index(State(web): State<Web>) -> Response {
    serve(&web.dir.join("index.html"), false).await
}

async fn file(State(web): State<Web>, UrlPath(path): UrlPath<String>) -> Response {
    let Some(rel) = safe_relative(&path) else {
        return crate::error::problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such file".to_string(),
        );
    };
    let full = web.dir.join(&rel);
    if full.is_file() {
        return serve(&full, rel.starts_with("assets")).await;
    }
    // A missing asset is a 404 (a stale bundle must not get HTML as JavaScript); a path without
    // an extension is one of the app's own pages.
    if rel.extension().is_some() {
        return crate::error::problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no file /app/{path}"),
        );
    }
    serve(&web.dir.join("index.html"), false).await
}

/// `path` as a relative path of plain components only (no `..`, no root, no drive).
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => {
                let s = s.to_str()?;
                if s.starts_with('.') {
                    return None;
                }
                out.push(s)
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

fn no_cache(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn serve(path: &Path, immutable: bool) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if immutable {
                    // Vite names them by content hash.
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                }),
            );
            resp
        }
        Err(e) => {
            crate::error::ApiError::internal(format!("{}: {e}", path.display())).into_response()
        }
    }
}

/// Adds the security headers to every response, with the policy `csp` (a handler's own
/// `Cache-Control` is kept; API answers without one get `no-store`).
pub async fn security_headers(
    State(csp): State<HeaderValue>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    // The camera for this origin only: the patient's page reads the enrolment's QR code with
    // it (api/web/src/qrscan.ts); nothing embedded may use it, and nothing else is allowed.
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=(), payment=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_served() {
        assert_eq!(
            safe_relative("assets/index-abc.js"),
            Some(PathBuf::from("assets/index-abc.js"))
        );
        assert_eq!(safe_relative("../secret"), None);
        assert_eq!(safe_relative("assets/../../x"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative(".env"), None);
        assert_eq!(safe_relative(""), None);
    }

    #[test]
    fn verification_nodes_are_origins_in_connect_src_only() {
        let web = Web {
            dir: PathBuf::from("."),
            verify_nodes: vec![],
        }
        .with_verify_nodes(&["http://127.0.0.1:9944/".into()])
        .unwrap();
        assert!(web
            .csp()
            .contains("connect-src 'self' http://127.0.0.1:9944;"));
        assert!(web.csp().contains("script-src 'self';"));
        assert!(Web {
            dir: PathBuf::from("."),
            verify_nodes: vec![],
        }
        .with_verify_nodes(&["ws://127.0.0.1:9944".into()])
        .is_err());
    }

    #[test]
    fn the_policy_allows_no_inline_script_nor_eval() {
        assert!(CSP.contains("script-src 'self';"));
        assert!(!CSP.contains("unsafe-inline"));
        assert!(!CSP.contains("unsafe-eval"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
