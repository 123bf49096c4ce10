//! Nodes of the four-validator `local` network on loopback, and the finality checks the network
//! tests share.

use crate::{free_port, node_binary};
use consentry_client::{Client, Rpc};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The peer id of `--node-key 000…01` (validator Alice's node in the `local` spec), the bootnode.
pub const ALICE_PEER: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// How a node is started.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// A validator with its well-known dev keys in the keystore (`--alice`, `--bob`, ...).
    DevKeys,
    /// A validator with an empty keystore: its keys come from `author_rotateKeys`.
    Rotated,
    /// A full node, no keys.
    None,
}

/// One node of a `local` network, restartable on its database.
pub struct LocalNode {
    /// Dev account name (`alice`, ...): the keys `--<name>` inserts, and the database folder.
    pub name: &'static str,
    /// `--node-key`: 32 bytes, hex; `index` 1..=4 are the spec's authorized nodes.
    pub node_key: String,
    /// libp2p port.
    pub p2p: u16,
    /// RPC port.
    pub rpc: u16,
    base: PathBuf,
    child: Option<Child>,
}

impl LocalNode {
    /// A node named `name` with node key `index`, keeping its database under `dir`.
    pub fn new(name: &'static str, index: u8, dir: &Path) -> LocalNode {
        LocalNode {
            name,
            node_key: format!("{index:064x}"),
            p2p: free_port(),
            rpc: free_port(),
            base: dir.join(name),
            child: None,
        }
    }

    /// Starts (or restarts) the node, booting from Alice's node at `bootnode_port` if given.
    pub fn start(&mut self, bootnode_port: Option<u16>, keys: Keys) {
        let mut cmd = Command::new(node_binary());
        cmd.args(["--chain", "local", "--node-key", &self.node_key])
            .arg("--base-path")
            .arg(&self.base)
            .args(["--port", &self.p2p.to_string()])
            .args(["--rpc-port", &self.rpc.to_string()])
            .args(["--no-mdns", "--no-telemetry", "--no-prometheus"])
            .stdout(Stdio::null())
            .stderr(match std::env::var_os("CONSENTRY_NODE_LOG") {
                // Set to a folder to keep each node's log for debugging.
                Some(dir) => Stdio::from(
                    std::fs::File::create(Path::new(&dir).join(format!("{}.log", self.name)))
                        .expect("log file"),
                ),
                None => Stdio::null(),
            });
        match keys {
            Keys::DevKeys => {
                cmd.arg(format!("--{}", self.name));
            }
            Keys::Rotated => {
                cmd.arg("--validator");
            }
            Keys::None => {}
        }
        if let Some(port) = bootnode_port {
            cmd.args([
                "--bootnodes",
                &format!("/ip4/127.0.0.1/tcp/{port}/p2p/{ALICE_PEER}"),
            ]);
        }
        self.child = Some(cmd.spawn().expect("start node"));
    }

    /// Kills the process (kill -9), keeping the database.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The node's WebSocket RPC URL.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc)
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The four validators of the `local` spec (Alice, Bob, Charlie, Dave with node keys 1..=4),
/// started with their dev keys, Alice's node the bootnode.
pub fn start_local_network(dir: &Path) -> Vec<LocalNode> {
    let mut nodes: Vec<LocalNode> = ["alice", "bob", "charlie", "dave"]
        .into_iter()
        .enumerate()
        .map(|(i, n)| LocalNode::new(n, i as u8 + 1, dir))
        .collect();
    let boot = nodes[0].p2p;
    nodes[0].start(None, Keys::DevKeys);
    for v in nodes.iter_mut().skip(1) {
        v.start(Some(boot), Keys::DevKeys);
    }
    nodes
}

/// Connects a typed client and the raw RPC, waiting for the RPC server to come up.
pub async fn connect(url: &str) -> anyhow::Result<(Client, Rpc)> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match consentry_client::connect_with_rpc(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => anyhow::bail!("{url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// The finalized head's number.
pub async fn finalized(rpc: &Rpc) -> anyhow::Result<u32> {
    let hash = rpc.chain_get_finalized_head().await?;
    Ok(rpc
        .chain_get_header(Some(hash))
        .await?
        .expect("header")
        .number)
}

/// The best block's number.
pub async fn best(rpc: &Rpc) -> anyhow::Result<u32> {
    Ok(rpc.chain_get_header(None).await?.expect("header").number)
}

/// Waits until the finalized head reaches `at_least`; fails after `within`.
pub async fn finalizes(rpc: &Rpc, at_least: u32, within: Duration) -> anyhow::Result<u32> {
    let deadline = Instant::now() + within;
    loop {
        let n = finalized(rpc).await?;
        if n >= at_least {
            return Ok(n);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "finalized head stuck at {n}, wanted {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Finality advances by at least three blocks within `within`.
pub async fn finality_continues(rpc: &Rpc, within: Duration) -> anyhow::Result<()> {
    let from = finalized(rpc).await?;
    finalizes(rpc, from + 3, within).await?;
    Ok(())
}
