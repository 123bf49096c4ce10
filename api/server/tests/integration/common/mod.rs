//! Shared by the API's end-to-end tests: a real dev node, the real `consentry-api` binary on a
//! loopback port with its own SQLite index, and signed-challenge logins over real HTTP.

#![allow(dead_code)]

use consentry_client::{
    runtime,
    subxt::utils::Static,
    subxt_signer::{sr25519, SecretUri},
    Client,
};
pub use consentry_e2e::submit;
use consentry_e2e::{free_port, Node};
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    str::FromStr,
    time::{Duration, Instant},
};

/// The dev chain's hospital (institution 0) signs with Bob's key.
pub const HOSPITAL: u32 = 0;

/// A running `consentry-api` process.
pub struct Api {
    child: Child,
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where its index lives.
    pub db: PathBuf,
    /// The node it follows.
    pub node_url: String,
}

impl Api {
    /// Starts the API binary against `node_url` with the SQLite index at `db`.
    pub fn start(node_url: &str, db: &Path) -> Api {
        Api::start_with(node_url, db, &[])
    }

    /// Same, with extra command-line arguments; `https` in them (a `--tls-cert`) makes the URL
    /// `https://localhost:PORT`.
    pub fn start_with(node_url: &str, db: &Path, extra: &[&str]) -> Api {
        let port = free_port();
        let tls = extra.contains(&"--tls-cert");
        let url = if tls {
            format!("https://localhost:{port}")
        } else {
            format!("http://127.0.0.1:{port}")
        };
        let child = Command::new(env!("CARGO_BIN_EXE_consentry-api"))
            .args(["--node", node_url, "--public-url", &url])
            .args(extra)
            .args(["--database", &format!("sqlite://{}?mode=rwc", db.display())])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(match std::env::var_os("CONSENTRY_API_LOG") {
                Some(p) => Stdio::from(std::fs::File::create(p).expect("log file")),
                None => Stdio::null(),
            })
            .spawn()
            .expect("start consentry-api");
        Api {
            child,
            url,
            db: db.to_path_buf(),
            node_url: node_url.to_string(),
        }
    }

    /// The API process's exit status, if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `/ready` answers 200.
    pub async fn wait_ready(&self, http: &reqwest::Client) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = http.get(format!("{}/ready", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(r.json().await?);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "API never became ready");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Logs `key` in by signing the API's challenge; returns the bearer token and identity.
    pub async fn login(
        &self,
        http: &reqwest::Client,
        key: &sr25519::Keypair,
    ) -> anyhow::Result<(String, Value)> {
        let account =
            consentry_client::subxt::utils::AccountId32::from(key.public_key()).to_string();
        let c: Value = http
            .post(format!("{}/v1/auth/challenge", self.url))
            .json(&json!({ "account": account }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let challenge = c["challenge"].as_str().expect("challenge").to_string();
        // The wallet's own checks and signing, as `consentry` signs in.
        let genesis = consentry_wallet::session::genesis_of(&self.node_url).await?;
        let signature =
            consentry_wallet::session::sign_challenge(&self.url, key, &genesis, &challenge)?;
        let s: Value = http
            .post(format!("{}/v1/auth/session", self.url))
            .json(&json!({
                "account": account,
                "challenge": challenge,
                "signature": signature,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok((
            s["token"].as_str().expect("token").to_string(),
            s["identity"].clone(),
        ))
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A dev key from a derivation path.
pub fn key(uri: &str) -> sr25519::Keypair {
    sr25519::Keypair::from_uri(&SecretUri::from_str(uri).expect("uri")).expect("key")
}

/// The ids of the granted and the denied record of the standard story.
pub struct Story {
    pub pseudonym: [u8; 32],
    pub subject: u64,
    pub granted: u64,
    pub denied: u64,
}

/// Enrol, claim, grant, request (granted), revoke, request again (denied), all finalized.
pub async fn consent_story(
    api: &Client,
    patient: &sr25519::Keypair,
    pseudonym: [u8; 32],
) -> anyhow::Result<Story> {
    let worker = sr25519::dev::bob();
    let scope = CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic]);
    submit(
        api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &worker,
    )
    .await?;
    submit(api, &runtime::tx().identity().claim(pseudonym), patient).await?;
    let subject = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");
    let events = submit(
        api,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(HOSPITAL)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(scope),
            None,
            None,
            None,
        ),
        patient,
    )
    .await?;
    let consent = events
        .find_first::<runtime::consent::events::ConsentGranted>()?
        .expect("ConsentGranted")
        .consent;
    let request = runtime::tx().audit().request_access(
        pseudonym,
        Static(Purpose::Simulation),
        Static(scope),
        [7; 32],
    );
    let granted = submit(api, &request, &worker)
        .await?
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("AccessGranted")
        .id;
    submit(api, &runtime::tx().consent().revoke(consent), patient).await?;
    let denied = submit(api, &request, &worker)
        .await?
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("AccessDenied")
        .id;
    Ok(Story {
        pseudonym,
        subject,
        granted,
        denied,
    })
}

/// Starts a dev node and connects to it.
pub async fn dev_node() -> anyhow::Result<(Node, Client)> {
    let node = Node::dev()?;
    let client = node.client().await?;
    Ok((node, client))
}

/// Validates FHIR R4 resources with the official R4 models (`api/indexer/scripts/fhir_validate.py`)
/// when `CONSENTRY_FHIR_PYTHON` names a python that has them; `Ok(false)` when none is configured,
/// which `CONSENTRY_REQUIRE_FHIR_VALIDATOR=1` (set by scripts/test.sh) turns into a failure.
pub fn fhir_validate(resources: &[Value]) -> anyhow::Result<bool> {
    let Ok(python) = std::env::var("CONSENTRY_FHIR_PYTHON") else {
        anyhow::ensure!(
            std::env::var_os("CONSENTRY_REQUIRE_FHIR_VALIDATOR").is_none(),
            "CONSENTRY_REQUIRE_FHIR_VALIDATOR is set but CONSENTRY_FHIR_PYTHON is not \
             (export CONSENTRY_FHIR_PYTHON=$(api/indexer/scripts/fhir-venv.sh))"
        );
        return Ok(false);
    };
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, serde_json::to_vec(r)?)?;
        files.push(path);
    }
    let script = consentry_e2e::repo_path("api/indexer/scripts/fhir_validate.py");
    let out = Command::new(python).arg(script).args(&files).output()?;
    anyhow::ensure!(
        out.status.success(),
        "FHIR R4 validation failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(true)
}
