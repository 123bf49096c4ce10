//! An allowlisted JSON-RPC proxy to the node, for browsers (`POST /rpc`, JSON-RPC 2.0 over HTTP).
//!
//! Browsers must not reach a validator's RPC. The web app reads the chain through this proxy
//! instead: the read-only methods a client needs to decode the chain from its own metadata (the
//! metadata, runtime version, headers, blocks, storage, runtime API calls, read proofs, account
//! nonces). Nothing that writes: extrinsics go through `POST /v1/relay`, which asks the runtime's
//! pool validation first. Node-operator methods (`author_*` key management, `system_addPeer`,
//! `offchain_*`, unsafe methods) are refused by name with JSON-RPC error -32601, as is any method
//! not listed. One request per call (no batches), bodies bounded by the API's body limit.

use axum::{extract::State, routing::post, Json, Router};
use consentry_client::subxt::backend::rpc::{RpcClient, RpcParams};
use serde_json::{json, Value};

/// Where the proxy answers.
pub const PATH: &str = "/rpc";

/// The methods a browser may call.
pub const ALLOWED: &[&str] = &[
    "rpc_methods",
    "system_chain",
    "system_chainType",
    "system_name",
    "system_version",
    "system_properties",
    "system_health",
    "system_accountNextIndex",
    "chain_getBlockHash",
    "chain_getFinalizedHead",
    "chain_getHeader",
    "chain_getBlock",
    "state_getMetadata",
    "state_getRuntimeVersion",
    "state_call",
    "state_getStorage",
    "state_getStorageHash",
    "state_getStorageSize",
    "state_getKeysPaged",
    "state_queryStorageAt",
    "state_getReadProof",
];

/// The node connection the proxy forwards over.
#[derive(Clone)]
pub struct RpcProxy {
    rpc: RpcClient,
}

impl RpcProxy {
    /// Connects to the node's RPC at `url`.
    pub async fn connect(url: &str) -> anyhow::Result<RpcProxy> {
        Ok(RpcProxy {
            rpc: RpcClient::from_insecure_url(url).await?,
        })
    }
}

/// The proxy's route, `POST /rpc`.
pub fn route<S: Clone + Send + Sync + 'static>(proxy: RpcProxy) -> Router<S> {
    Router::new().route(PATH, post(handle)).with_state(proxy)
}

fn error(id: Value, code: i64, message: impl Into<String>) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}}))
}

/// One JSON-RPC call, forwarded when its method is allowed. JSON-RPC errors are answered with
/// HTTP 200, as JSON-RPC over HTTP does.
pub async fn handle(State(proxy): State<RpcProxy>, body: axum::body::Bytes) -> Json<Value> {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(Value::Null, -32700, "parse error: the body is not JSON");
    };
    let Some(obj) = req.as_object() else {
        return error(
            Value::Null,
            -32600,
            "invalid request: one JSON-RPC request object per call (no batches)",
        );
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return error(id, -32600, "invalid request: no method");
    };
    if !ALLOWED.contains(&method) {
        return error(
            id,
            -32601,
            format!(
                "method '{method}' is not available through this proxy (read-only chain methods \
                 only; submit extrinsics with POST /v1/relay)"
            ),
        );
    }
    let mut params = RpcParams::new();
    match obj.get("params") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                if params.push(item).is_err() {
                    return error(id, -32602, "invalid params");
                }
            }
        }
        Some(_) => return error(id, -32602, "invalid params: positional (an array) only"),
    }
    match proxy.rpc.request::<Value>(method, params).await {
        Ok(result) => Json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Err(e) => {
            tracing::debug!(method, error = %e, "rpc proxy: the node refused");
            error(id, -32000, format!("node: {e}"))
        }
    }
}
