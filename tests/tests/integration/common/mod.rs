//! Shared by the whole-system tests (`system.rs`, `faults.rs`): the API and worker binaries as
//! child processes that can be killed and started again, and signed-challenge logins.

#![allow(dead_code)]

use consentry_client::{runtime, subxt::utils::Static, subxt_signer::sr25519, Client};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::{free_port, submit, workspace_binary};
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet};
use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A workspace binary run as a child process, killed when dropped.
pub struct Process {
    name: String,
    args: Vec<String>,
    child: Option<Child>,
}

impl Process {
    /// Starts workspace binary `name` with `args`.
    pub fn spawn(name: &str, args: &[String]) -> anyhow::Result<Process> {
        let mut p = Process {
            name: name.into(),
            args: args.to_vec(),
            child: None,
        };
        p.start()?;
        Ok(p)
    }

    /// Starts it again (after [`Process::kill`]) with the same arguments.
    pub fn start(&mut self) -> anyhow::Result<()> {
        let bin = workspace_binary(&self.name);
        anyhow::ensure!(
            bin.exists(),
            "{} not built (scripts/test.sh builds it)",
            bin.display()
        );
        // `CONSENTRY_SYSTEM_LOGS=DIR` keeps each binary's log as DIR/NAME.log (appended to, so a
        // restarted process's log follows the first one's).
        let stderr = match std::env::var_os("CONSENTRY_SYSTEM_LOGS") {
            Some(dir) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(Path::new(&dir).join(format!("{}.log", self.name)))?,
            ),
            None => Stdio::null(),
        };
        self.child = Some(
            Command::new(bin)
                .args(&self.args)
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()?,
        );
        Ok(())
    }

    /// `kill -9`s it (SIGKILL: no shutdown, no flush) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `url` answers a 2xx.
pub async fn wait_ok(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{url} never answered")
}

/// Signs in to the API at `api` as `key` (the wrapped challenge, as every wallet signs it);
/// the bearer token.
pub async fn login(
    http: &reqwest::Client,
    api: &str,
    key: &sr25519::Keypair,
) -> anyhow::Result<String> {
    let account = consentry_client::subxt::utils::AccountId32::from(key.public_key()).to_string();
    let c: Value = http
        .post(format!("{api}/v1/auth/challenge"))
        .json(&json!({ "account": account }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let challenge = c["challenge"].as_str().unwrap_or_default().to_string();
    let s: Value = http
        .post(format!("{api}/v1/auth/session"))
        .json(&json!({
            "account": account,
            "challenge": challenge,
            "signature": hex::encode(key.sign(&consentry_signin::wrap(&challenge)).0),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(s["token"].as_str().unwrap_or_default().to_string())
}

/// The hospital's patient store at `dir/patients.sqlite`: `count` synthetic patients of `seed`,
/// ingested under `pepper` as FHIR bundles and a genotype file. Its path and their pseudonyms.
pub fn patient_store(
    dir: &Path,
    seed: u64,
    count: u64,
    pepper: &Pepper,
) -> anyhow::Result<(PathBuf, Vec<[u8; 32]>)> {
    let summary = consentry_datastore::synth::write(seed, count, &dir.join("synth"), None)?;
    let path = dir.join("patients.sqlite");
    let mut store = Store::open(&path)?;
    for b in &summary.bundles {
        store.ingest_bundle_str(pepper, &std::fs::read_to_string(b)?)?;
    }
    store.ingest_genotypes(pepper, &std::fs::read_to_string(&summary.genotype_file)?)?;
    let pseudonyms = consentry_datastore::synth::generate(seed, count)
        .iter()
        .map(|p| pepper.pseudonym(&p.identifier))
        .collect();
    Ok((path, pseudonyms))
}

/// What the PK/PD twin reads.
pub fn sim_scope() -> CategorySet {
    CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ])
}

/// The hospital (Bob's key) enrols `pseudonym` for `patient`, who claims it and consents to
/// simulation over [`sim_scope`]; the subject.
pub async fn consenting_patient(
    chain: &Client,
    patient: &sr25519::Keypair,
    pseudonym: [u8; 32],
) -> anyhow::Result<u64> {
    enrol(chain, patient, pseudonym).await?;
    claim_and_grant(chain, patient, pseudonym).await
}

/// The hospital (Bob's key) enrols `pseudonym` for `patient`.
pub async fn enrol(
    chain: &Client,
    patient: &sr25519::Keypair,
    pseudonym: [u8; 32],
) -> anyhow::Result<()> {
    submit(
        chain,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &sr25519::dev::bob(),
    )
    .await?;
    Ok(())
}

/// `patient` claims its enrolment `pseudonym` and consents to simulation over [`sim_scope`]; the
/// subject. Patients' keys are their own, so several can do this at once.
pub async fn claim_and_grant(
    chain: &Client,
    patient: &sr25519::Keypair,
    pseudonym: [u8; 32],
) -> anyhow::Result<u64> {
    submit(chain, &runtime::tx().identity().claim(pseudonym), patient).await?;
    let subject = chain
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .ok_or_else(|| anyhow::anyhow!("a claimed pseudonym does not resolve"))?;
    submit(chain, &grant_simulation(subject), patient).await?;
    Ok(subject)
}

/// The grant [`consenting_patient`] makes.
pub fn grant_simulation(subject: u64) -> impl consentry_client::subxt::tx::Payload {
    runtime::tx().consent().grant(
        subject,
        Static(Grantee::Institution(0)),
        Static(PurposeSet::of(&[Purpose::Simulation])),
        Static(sim_scope()),
        None,
        None,
        None,
    )
}

/// The hospital's worker (Bob's service key, over the store at `store`) and its API (indexing
/// into `dir/index.db`, fronting the worker), as `scripts/start.sh` runs them, on free loopback
/// ports; the worker's job API takes only the API's credential.
pub struct Stack {
    pub worker: Process,
    pub api: Process,
    pub worker_url: String,
    pub api_url: String,
    /// The credential the API sends the worker (as a bearer token).
    pub credential: String,
}

impl Stack {
    /// Starts both against the node at `node_ws` and waits until they answer.
    pub async fn start(node_ws: &str, dir: &Path, store: &Path) -> anyhow::Result<Stack> {
        let worker_url = format!("http://127.0.0.1:{}", free_port());
        let api_port = free_port();
        let api_url = format!("http://127.0.0.1:{api_port}");
        let credential = "system-test-worker-credential-0123456789abcdef".to_string();
        let token_file = dir.join("worker.token");
        std::fs::write(&token_file, &credential)?;
        let token_file = token_file.display().to_string();
        let worker = Process::spawn(
            "consentry-worker",
            &[
                "--node".into(),
                node_ws.into(),
                "--dev".into(),
                "--key-uri".into(),
                "//Bob".into(),
                "--api-token-file".into(),
                token_file.clone(),
                "--store".into(),
                store.display().to_string(),
                "--jobs".into(),
                dir.join("jobs.sqlite").display().to_string(),
                "--listen".into(),
                worker_url.trim_start_matches("http://").into(),
            ],
        )?;
        let api = Process::spawn(
            "consentry-api",
            &[
                "--node".into(),
                node_ws.into(),
                "--database".into(),
                format!("sqlite://{}?mode=rwc", dir.join("index.db").display()),
                "--listen".into(),
                format!("127.0.0.1:{api_port}"),
                "--worker-url".into(),
                worker_url.clone(),
                "--worker-institution".into(),
                "0".into(),
                "--worker-token-file".into(),
                token_file,
            ],
        )?;
        let http = reqwest::Client::new();
        wait_ok(&http, &format!("{worker_url}/health")).await?;
        wait_ok(&http, &format!("{api_url}/ready")).await?;
        Ok(Stack {
            worker,
            api,
            worker_url,
            api_url,
            credential,
        })
    }
}
