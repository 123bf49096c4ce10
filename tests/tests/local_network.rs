//! The four-validator `local` network on loopback: blocks finalize; with one validator killed
//! finality continues; with two it stalls (GRANDPA needs more than two thirds); restarted on their
//! databases they catch up and finality resumes with no finalized record lost. A node whose key
//! governance never authorized gets no peers.

use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519, Client, Rpc};
use consentry_e2e::{free_port, node_binary};
use consentry_primitives::{AccessState, CategorySet, DataCategory, Purpose};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The peer id of `--node-key 000…01` (validator Alice's node in the `local` spec).
const ALICE_PEER: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

struct Validator {
    name: &'static str,
    node_key: String,
    p2p: u16,
    rpc: u16,
    base: PathBuf,
    child: Option<Child>,
}

impl Validator {
    fn new(name: &'static str, index: u8, dir: &Path) -> Validator {
        Validator {
            name,
            node_key: format!("{index:064x}"),
            p2p: free_port(),
            rpc: free_port(),
            base: dir.join(name),
            child: None,
        }
    }

    fn start(&mut self, bootnode_port: Option<u16>, validator: bool) {
        let mut cmd = Command::new(node_binary());
        cmd.args(["--chain", "local", "--node-key", &self.node_key])
            .arg("--base-path")
            .arg(&self.base)
            .args(["--port", &self.p2p.to_string()])
            .args(["--rpc-port", &self.rpc.to_string()])
            .args(["--no-mdns", "--no-telemetry", "--no-prometheus"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if validator {
            cmd.arg(format!("--{}", self.name));
        }
        if let Some(port) = bootnode_port {
            cmd.args([
                "--bootnodes",
                &format!("/ip4/127.0.0.1/tcp/{port}/p2p/{ALICE_PEER}"),
            ]);
        }
        self.child = Some(cmd.spawn().expect("start node"));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc)
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn connect(url: &str) -> anyhow::Result<(Client, Rpc)> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match consentry_client::connect_with_rpc(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => anyhow::bail!("{url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

async fn finalized(rpc: &Rpc) -> anyhow::Result<u32> {
    let hash = rpc.chain_get_finalized_head().await?;
    Ok(rpc
        .chain_get_header(Some(hash))
        .await?
        .expect("header")
        .number)
}

async fn best(rpc: &Rpc) -> anyhow::Result<u32> {
    Ok(rpc.chain_get_header(None).await?.expect("header").number)
}

/// Waits until the finalized head reaches `at_least`.
async fn finalizes(rpc: &Rpc, at_least: u32, within: Duration) -> anyhow::Result<u32> {
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

#[tokio::test(flavor = "multi_thread")]
async fn finality_needs_three_of_four_validators_and_resumes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut nodes: Vec<Validator> = ["alice", "bob", "charlie", "dave"]
        .into_iter()
        .enumerate()
        .map(|(i, n)| Validator::new(n, i as u8 + 1, dir.path()))
        .collect();
    let boot = nodes[0].p2p;
    nodes[0].start(None, true);
    for v in nodes.iter_mut().skip(1) {
        v.start(Some(boot), true);
    }
    let (client, rpc) = connect(&nodes[0].url()).await?;
    finalizes(&rpc, 3, Duration::from_secs(120)).await?;

    // A record in a finalized block, to check nothing finalized is lost later.
    let request = runtime::tx().audit().request_access(
        [0x77; 32],
        Static(Purpose::Research),
        Static(CategorySet::of(&[DataCategory::Labs])),
        [1; 32],
    );
    let denied = client
        .tx()
        .sign_and_submit_then_watch_default(&request, &sr25519::dev::bob())
        .await?
        .wait_for_finalized_success()
        .await?
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("recorded")
        .id;

    // One validator down: three of four still finalize.
    nodes[3].kill();
    let f = finalized(&rpc).await?;
    finalizes(&rpc, f + 3, Duration::from_secs(90)).await?;

    // Two down: blocks are still authored, but nothing more is finalized.
    nodes[2].kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (stalled_at, best_before) = (finalized(&rpc).await?, best(&rpc).await?);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(best(&rpc).await? > best_before, "Aura keeps authoring");
    assert!(
        finalized(&rpc).await? <= stalled_at + 1,
        "finality must stall with two of four validators"
    );

    // Both back on their databases: finality resumes past the stall.
    nodes[2].start(Some(boot), true);
    nodes[3].start(Some(boot), true);
    finalizes(&rpc, stalled_at + 3, Duration::from_secs(180)).await?;

    // The finalized record is still there, unchanged, at the new finalized head, and on a
    // restarted node too.
    let at = rpc.chain_get_finalized_head().await?;
    let record = client
        .runtime_api()
        .at(at)
        .call(runtime::apis().audit_api().record(denied))
        .await?
        .expect("finalized record survives");
    assert!(matches!(record.state.0, AccessState::Denied(_)));
    let (dave, dave_rpc) = connect(&nodes[3].url()).await?;
    let dave_head = finalizes(&dave_rpc, stalled_at + 3, Duration::from_secs(120)).await?;
    assert!(dave_head > stalled_at);
    let on_dave = dave
        .runtime_api()
        .at(dave_rpc.chain_get_finalized_head().await?)
        .call(runtime::apis().audit_api().record(denied))
        .await?;
    assert_eq!(on_dave.map(|r| r.id), Some(denied));

    // A fifth node with a key governance never authorized: the consortium's nodes drop it.
    let mut stranger = Validator::new("ferdie", 5, dir.path());
    stranger.start(Some(boot), false);
    let (_, stranger_rpc) = connect(&stranger.url()).await?;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(stranger_rpc.system_health().await?.peers, 0);
    assert_eq!(best(&stranger_rpc).await?, 0, "it never syncs a block");
    assert!(
        rpc.system_health().await?.peers >= 2,
        "authorized nodes peer"
    );
    Ok(())
}
