//! Harness for end-to-end tests: starts real `consentry-node` processes on loopback ports and
//! stops them when dropped.

pub mod load;
pub mod network;

use std::{
    collections::BTreeSet,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

/// The node binary: `$CONSENTRY_NODE`, or `consentry-node` next to the test executable's
/// profile directory (where `cargo build --release -p consentry-node` puts it).
pub fn node_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CONSENTRY_NODE") {
        return PathBuf::from(p);
    }
    // Test executables live in target/<profile>/deps, bench binaries in target/<profile>.
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("executable directory");
    [dir, dir.parent().unwrap_or(dir)]
        .iter()
        .map(|d| d.join("consentry-node"))
        .find(|p| p.exists())
        .unwrap_or_else(|| dir.join("consentry-node"))
}

/// Another workspace binary (`consentry-api`, `consentry-worker`, `consentry`) from the same
/// profile directory as the node, where `cargo test --workspace` builds them.
pub fn workspace_binary(name: &str) -> PathBuf {
    let node = node_binary();
    node.parent()
        .map(|d| d.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A file or directory of the repository, by its path from the root. The root is found when the
/// test runs: the nearest ancestor of the running package's directory (`CARGO_MANIFEST_DIR`, which
/// `cargo test` sets for the test process) that holds `Cargo.lock`. A path baked in at compile time
/// would name the clone that built the binary, which a shared target directory reuses across
/// clones.
pub fn repo_path(relative: &str) -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = package
        .ancestors()
        .find(|d| d.join("Cargo.lock").exists())
        .unwrap_or(&package);
    root.join(relative)
}

/// A free TCP port on 127.0.0.1, never one this process has handed out before.
///
/// The port is released before the child that is given it binds it, and a node takes seconds to
/// bind its RPC port: in that window the kernel may offer the same port to the next caller. Tests
/// in one binary run as threads of one process, so remembering what was handed out rules out two
/// children of the same test run being told the same port (one answered for the other in CI).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        if given.insert(port) {
            return port;
        }
    }
}

/// A running node process.
pub struct Node {
    child: Child,
    /// RPC port.
    pub rpc_port: u16,
    /// Prometheus exporter port (`/metrics`).
    pub prometheus_port: u16,
    /// Where its database lives (kept for restart tests).
    pub base: PathBuf,
    /// Its own arguments and peer-to-peer port, for [`Node::restart`].
    args: Vec<String>,
    p2p_port: u16,
    _tmp: Option<tempfile::TempDir>,
}

impl Node {
    /// A `--dev` node with its own temporary database, or on `$CONSENTRY_NODE_BASE` if set
    /// (kept afterwards: the storage benchmark measures a populated database).
    pub fn dev() -> anyhow::Result<Node> {
        Node::dev_with(&[])
    }

    /// [`Node::dev`] with extra command-line arguments.
    pub fn dev_with(extra: &[&str]) -> anyhow::Result<Node> {
        let args: Vec<&str> = std::iter::once("--dev")
            .chain(extra.iter().copied())
            .collect();
        if let Some(base) = std::env::var_os("CONSENTRY_NODE_BASE") {
            return Node::spawn(&args, PathBuf::from(base));
        }
        let tmp = tempfile::tempdir()?;
        let base = tmp.path().to_path_buf();
        let mut node = Node::spawn(&args, base)?;
        node._tmp = Some(tmp);
        Ok(node)
    }

    /// Starts the node binary with `args` plus loopback-only ports on `base`.
    pub fn spawn(args: &[&str], base: PathBuf) -> anyhow::Result<Node> {
        let bin = node_binary();
        anyhow::ensure!(
            bin.exists(),
            "node binary {} not found: run `cargo build --release -p consentry-node` (scripts/test.sh does)",
            bin.display()
        );
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
        let child = Node::start(&args, &base, rpc_port, p2p_port, prometheus_port)?;
        Ok(Node {
            child,
            rpc_port,
            prometheus_port,
            base,
            args,
            p2p_port,
            _tmp: None,
        })
    }

    fn start(
        args: &[String],
        base: &Path,
        rpc_port: u16,
        p2p_port: u16,
        prometheus_port: u16,
    ) -> anyhow::Result<Child> {
        Ok(Command::new(node_binary())
            .args(args)
            .arg("--base-path")
            .arg(base)
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--port", &p2p_port.to_string()])
            .args(["--prometheus-port", &prometheus_port.to_string()])
            .args([
                "--no-telemetry",
                "--no-mdns",
                "--rpc-max-connections",
                "1000",
            ])
            .stdout(Stdio::null())
            .stderr(match std::env::var_os("CONSENTRY_NODE_LOG") {
                // Set to a file path to keep the node's log for debugging (appended to, so a
                // restarted node's log follows the first one's).
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                ),
                None => Stdio::null(),
            })
            .spawn()?)
    }

    /// `kill -9`s the node and starts it again on the same database and ports, so clients
    /// configured with its URL find it again.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.child = Node::start(
            &self.args,
            &self.base,
            self.rpc_port,
            self.p2p_port,
            self.prometheus_port,
        )?;
        Ok(())
    }

    /// `kill -9`s the node (SIGKILL: no shutdown, no flush), and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The node's WebSocket RPC URL.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// Connects a client, waiting for the RPC server to come up.
    pub async fn client(&self) -> anyhow::Result<consentry_client::Client> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match consentry_client::connect(&self.ws_url()).await {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() > deadline => {
                    anyhow::bail!("node RPC did not come up: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Access record `id` of `subject` (as its events name it) as the latest block's runtime API
/// answers it (an error if there is none).
pub async fn record(
    api: &consentry_client::Client,
    subject: Option<u64>,
    id: u64,
) -> anyhow::Result<
    consentry_client::runtime::runtime_types::consentry_primitives::access::AccessRecord<
        consentry_client::subxt::utils::AccountId32,
        u32,
    >,
> {
    api.runtime_api()
        .at_latest()
        .await?
        .call(
            consentry_client::runtime::apis()
                .audit_api()
                .record(subject, id),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("no access record {id} of subject {subject:?}"))
}

/// Signs `call` with `signer`, submits it and waits until it succeeded in a finalized block.
pub async fn submit<C: consentry_client::subxt::tx::Payload>(
    api: &consentry_client::Client,
    call: &C,
    signer: &consentry_client::subxt_signer::sr25519::Keypair,
) -> anyhow::Result<
    consentry_client::subxt::blocks::ExtrinsicEvents<consentry_client::ConsentryConfig>,
> {
    Ok(api
        .tx()
        .sign_and_submit_then_watch_default(call, signer)
        .await?
        .wait_for_finalized_success()
        .await?)
}
