//! Shared by the worker's end-to-end tests: a real dev node, the real `consentry-worker` binary,
//! real SQLite stores filled from the datastore's synthetic patients, and a consent story signed
//! by real keys.

#![allow(dead_code)]

pub use consentry_e2e::submit;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use consentry_client::{
    runtime::{self, runtime_types::consentry_primitives::access::AccessRecord},
    subxt::{utils::AccountId32, utils::Static},
    subxt_signer::{sr25519, SecretUri},
    Client,
};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::free_port;
use consentry_primitives::{CategorySet, Grantee, PurposeSet};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The dev chain's hospital (institution 0) signs with Bob's key.
pub const HOSPITAL: u32 = 0;

/// The bearer credential the tests' workers are started with (as the API would hold it).
pub const API_TOKEN: &str = "worker-test-credential-0123456789abcdef";

/// The dev key flags: Bob, the dev chain's hospital.
pub const DEV_KEY: &[&str] = &["--dev", "--key-uri", "//Bob"];

/// The worker binary with no credential or key in its environment.
pub fn worker_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_consentry-worker"));
    for v in [
        "CONSENTRY_WORKER_API_TOKEN",
        "CONSENTRY_WORKER_PASSPHRASE",
        "CONSENTRY_WORKER_KEYSTORE",
        "CONSENTRY_WORKER_MAX_GRANT_AGE_SECS",
    ] {
        c.env_remove(v);
    }
    c
}

/// Runs the worker binary with `args` until it exits (for start-up refusals); returns whether
/// it succeeded and its standard error.
pub fn worker_exit(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<(bool, String)> {
    let mut c = worker_command();
    c.args(args).stdout(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A running `consentry-worker` process.
pub struct Worker {
    child: Child,
    /// Base URL.
    pub url: String,
    /// The credential `/jobs` requests carry.
    pub token: String,
}

impl Worker {
    /// Starts the worker binary against `node` with the given stores and extra flags, signing
    /// with the dev key (`--dev --key-uri //Bob`).
    pub fn start(node: &str, store: &Path, jobs: &Path, extra: &[&str]) -> Worker {
        Self::start_with_key_env(node, store, jobs, DEV_KEY, &[], extra)
    }

    /// [`Worker::start`] with the key given by `key` (e.g. `--keystore F --passphrase-file P`)
    /// and `env` added to the worker's environment.
    pub fn start_with_key_env(
        node: &str,
        store: &Path,
        jobs: &Path,
        key: &[&str],
        env: &[(&str, &str)],
        extra: &[&str],
    ) -> Worker {
        let port = free_port();
        let mut cmd = worker_command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .args(["--node", node])
            .args(key)
            .env("CONSENTRY_WORKER_API_TOKEN", API_TOKEN)
            .arg("--store")
            .arg(store)
            .arg("--jobs")
            .arg(jobs)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(match std::env::var_os("CONSENTRY_WORKER_LOG") {
                // Set to a file path to keep the worker's log (appended across restarts).
                Some(p) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)
                        .expect("log file"),
                ),
                None => Stdio::null(),
            })
            .spawn()
            .expect("start consentry-worker");
        Worker {
            child,
            url: format!("http://127.0.0.1:{port}"),
            token: API_TOKEN.to_string(),
        }
    }

    /// Whether the process is still running (it was never restarted behind the test's back).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET {path}` with the credential.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        path: &str,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?)
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `/health` answers.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("worker exited early: {status}");
            }
            if let Ok(r) = http.get(format!("{}/health", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(r.json().await?);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "worker never became ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `POST /jobs`; returns status, content type and body.
    pub async fn post(
        &self,
        http: &reqwest::Client,
        body: &Value,
    ) -> anyhow::Result<(u16, String, Value)> {
        let r = http
            .post(format!("{}/jobs", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Ok((status, ct, r.json().await?))
    }

    /// `GET /jobs/{id}`.
    pub async fn job(&self, http: &reqwest::Client, id: &str) -> anyhow::Result<Value> {
        Ok(http
            .get(format!("{}/jobs/{id}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Polls a job until `done(state)`.
    pub async fn wait_job(
        &self,
        http: &reqwest::Client,
        id: &str,
        done: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let j = self.job(http, id).await?;
            if done(j["state"].as_str().unwrap_or_default()) {
                return Ok(j);
            }
            anyhow::ensure!(Instant::now() < deadline, "job {id} stuck: {j}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A finished job state.
pub fn terminal(s: &str) -> bool {
    matches!(
        s,
        "denied" | "refused" | "completed" | "failed" | "aborted" | "error"
    )
}

/// A patient store with synthetic patients, and the pepper and identifiers behind it.
pub struct Patients {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub jobs: PathBuf,
    pub pepper: Pepper,
    pub identifiers: Vec<String>,
}

impl Patients {
    /// `n` synthetic patients (seed 5) ingested under a fresh pepper.
    pub fn new(n: u64) -> anyhow::Result<Patients> {
        let dir = tempfile::tempdir()?;
        let synth = dir.path().join("synth");
        let summary = consentry_datastore::synth::write(5, n, &synth, None)?;
        let pepper = Pepper::from_bytes(b"worker-test-pepper-0123456789abcdef".to_vec())?;
        let store = dir.path().join("store.sqlite");
        let mut s = Store::open(&store)?;
        for b in &summary.bundles {
            s.ingest_bundle_str(&pepper, &std::fs::read_to_string(b)?)?;
        }
        s.ingest_genotypes(&pepper, &std::fs::read_to_string(&summary.genotype_file)?)?;
        let identifiers = consentry_datastore::synth::generate(5, n)
            .into_iter()
            .map(|p| p.identifier)
            .collect();
        let jobs = dir.path().join("jobs.sqlite");
        Ok(Patients {
            dir,
            store,
            jobs,
            pepper,
            identifiers,
        })
    }

    /// The pseudonym of patient `i`.
    pub fn pseudonym(&self, i: usize) -> [u8; 32] {
        self.pepper.pseudonym(&self.identifiers[i])
    }

    /// Opens the patient store (for read-log checks).
    pub fn open(&self) -> Store {
        Store::open(&self.store).expect("store")
    }
}

/// A key from a derivation path.
pub fn key(uri: &str) -> sr25519::Keypair {
    sr25519::Keypair::from_uri(&SecretUri::from_str(uri).expect("uri")).expect("key")
}

/// Bob (the hospital) enrols `pseudonym` for `patient`, who claims it; returns the subject id.
pub async fn enrol(
    api: &Client,
    patient: &sr25519::Keypair,
    pseudonym: [u8; 32],
) -> anyhow::Result<u64> {
    submit(
        api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &sr25519::dev::bob(),
    )
    .await?;
    submit(api, &runtime::tx().identity().claim(pseudonym), patient).await?;
    Ok(api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed"))
}

/// The patient grants the hospital `purposes` over `categories`; returns the consent id.
pub async fn grant(
    api: &Client,
    patient: &sr25519::Keypair,
    subject: u64,
    purposes: PurposeSet,
    categories: CategorySet,
) -> anyhow::Result<u64> {
    grant_uses(api, patient, subject, purposes, categories, None).await
}

/// [`grant`] with at most `max_uses` accesses (`None`: unlimited).
pub async fn grant_uses(
    api: &Client,
    patient: &sr25519::Keypair,
    subject: u64,
    purposes: PurposeSet,
    categories: CategorySet,
    max_uses: Option<u32>,
) -> anyhow::Result<u64> {
    let events = submit(
        api,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(HOSPITAL)),
            Static(purposes),
            Static(categories),
            None,
            None,
            max_uses,
        ),
        patient,
    )
    .await?;
    Ok(events
        .find_first::<runtime::consent::events::ConsentGranted>()?
        .expect("ConsentGranted")
        .consent)
}

/// A decided job's access record at the latest finalized block, found where the job's view
/// says it is stored (its `subject` and `access_id`).
pub async fn record(api: &Client, job: &Value) -> anyhow::Result<AccessRecord<AccountId32, u32>> {
    let id = job["access_id"]
        .as_u64()
        .expect("a decided job has an access id");
    consentry_e2e::record(api, job["subject"].as_u64(), id).await
}

/// Every `AccessClosed` event for `id` in finalized blocks `from..=head`, read block by block.
pub async fn closed_events(
    node_url: &str,
    id: u64,
    from: u32,
) -> anyhow::Result<Vec<runtime::audit::events::AccessClosed>> {
    let (api, rpc) = consentry_client::connect_with_rpc(node_url).await?;
    let head = api.blocks().at_latest().await?.number();
    let mut out = Vec::new();
    for n in from..=head {
        let hash = rpc
            .chain_get_block_hash(Some(n.into()))
            .await?
            .expect("finalized block hash");
        for ev in api
            .events()
            .at(hash)
            .await?
            .find::<runtime::audit::events::AccessClosed>()
        {
            let ev = ev?;
            if ev.id == id {
                out.push(ev);
            }
        }
    }
    Ok(out)
}

/// A number as ECMAScript's `Number.prototype.toString` writes it (RFC 8785 §3.2.2.3), from
/// the shortest round-trip digits Rust's `{:e}` gives.
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    // The decimal point sits after `n` digits.
    let n = exp.parse::<i32>().expect("exponent") + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        match &digits[1..] {
            "" => format!("{}e{e}", &digits[..1]),
            rest => format!("{}.{rest}e{e}", &digits[..1]),
        }
    };
    format!("{sign}{body}")
}

/// Canonical JSON (RFC 8785) written independently of the worker: keys sorted (ASCII keys, so
/// byte order is UTF-16 order), no whitespace, numbers as ECMAScript writes them.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        Value::Number(x) => match (x.as_i64(), x.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => ecmascript_number(x.as_f64().expect("a finite number")),
        },
        other => other.to_string(),
    }
}

/// SHA-256 of [`canonical`].
pub fn sha256_json(v: &Value) -> [u8; 32] {
    Sha256::digest(canonical(v).as_bytes()).into()
}

/// Chain time (ms) at the latest finalized block.
pub async fn finalized_now(api: &Client) -> anyhow::Result<u64> {
    Ok(api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().timestamp().now())
        .await?
        .unwrap_or(0))
}

/// Every record of the hospital naming `job_digest`, at the latest finalized block.
pub async fn records_with_digest(
    api: &Client,
    job_digest: [u8; 32],
) -> anyhow::Result<Vec<AccessRecord<AccountId32, u32>>> {
    let (page, _) = api
        .runtime_api()
        .at_latest()
        .await?
        .call(
            runtime::apis()
                .audit_api()
                .records_by_institution(HOSPITAL, None, 1000),
        )
        .await?;
    Ok(page
        .into_iter()
        .filter(|r| r.job_digest == job_digest)
        .collect())
}

/// The state of one access record at the latest block.
pub async fn state_of(
    api: &Client,
    access: consentry_primitives::RecordKey,
) -> anyhow::Result<consentry_primitives::AccessState> {
    Ok(consentry_e2e::record(api, access.subject, access.id)
        .await?
        .state
        .0)
}

/// `institution`'s access records by state, at the latest block.
pub async fn counts_of(
    api: &Client,
    institution: u32,
) -> anyhow::Result<consentry_primitives::StateCounts> {
    Ok(api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().audit_api().counts_of(institution))
        .await?
        .0)
}

/// How many access records `institution` has made (every state), at the latest block.
pub async fn records_of(api: &Client, institution: u32) -> anyhow::Result<u32> {
    let c = counts_of(api, institution).await?;
    Ok(c.granted + c.denied + c.completed + c.failed + c.aborted)
}

/// The council (Alice, the dev chain's only member) deploys a consortium study with `rules`.
pub async fn deploy_study(
    wallet: &consentry_wallet::chain::Chain,
    rules: consentry_client::contract_abi::consortium::Study,
    salt: &[u8],
) -> anyhow::Result<consentry_client::contracts::Contract> {
    let address = consentry_wallet::contracts::deploy(
        wallet,
        &sr25519::dev::alice(),
        consentry_wallet::contracts::Kind::Consortium,
        consentry_contracts::CONSORTIUM_WASM,
        consentry_client::contract_abi::consortium::New { study: rules },
        salt.to_vec(),
    )
    .await?
    .address;
    Ok(consentry_client::contracts::Contract::at(address))
}
