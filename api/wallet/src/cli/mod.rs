//! `consentry wallet ...`, `consentry institution ...`, `consentry audit verify ...`,
//! `consentry contracts ...` and `consentry council ...`.
//!
//! The `consentry` binary flattens [`Command`] into its own subcommands and calls [`run`].
//! [`dispatch`] does the work and returns both renderings, so tests can check the JSON a script
//! would see without capturing stdout.

mod args;
#[cfg(test)]
mod tests;

pub use args::*;

use crate::{
    chain::Chain,
    contracts::{self, Kind},
    council, institution, jobs, keystore, names,
    patient::{self, AmendSpec, GrantSpec},
    proof::{self, ProofDoc},
    view::{ConsentView, RecordView},
};
use anyhow::{anyhow, bail, Context, Result};
use consentry_client::subxt::utils::{AccountId32, H256};
use consentry_primitives::{Grantee, Moment, Pseudonym};
use serde_json::json;
use std::{path::PathBuf, str::FromStr, time::Duration};

/// A command's result in both renderings.
#[derive(Debug)]
pub struct Output {
    /// For people.
    pub human: String,
    /// For `--json`.
    pub json: serde_json::Value,
    /// Whether to print JSON.
    pub as_json: bool,
}

/// Runs a command on its own tokio runtime and prints the result.
pub fn run(cmd: Command) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(dispatch(cmd))?;
    if out.as_json {
        println!("{}", serde_json::to_string_pretty(&out.json)?);
    } else {
        println!("{}", out.human);
    }
    Ok(())
}

/// Does the work of a command.
pub async fn dispatch(cmd: Command) -> Result<Output> {
    match cmd {
        Command::Wallet(a) => wallet(a.common, a.cmd).await,
        Command::Institution(a) => institution_cmd(a.common, a.cmd).await,
        Command::Audit(AuditArgs {
            cmd: AuditCmd::Verify(v),
        }) => verify(v).await,
        Command::Contracts(a) => contracts_cmd(a.common, a.cmd).await,
        Command::Council(a) => council_cmd(a.common, a.cmd).await,
    }
}

fn out(common: &Common, human: String, json: serde_json::Value) -> Output {
    Output {
        human,
        json,
        as_json: common.json,
    }
}

fn keystore_path(c: &Common) -> PathBuf {
    c.keystore.clone().unwrap_or_else(keystore::default_path)
}

/// The passphrase from `--passphrase-env`, `CONSENTRY_PASSPHRASE`, or a prompt.
fn passphrase(c: &Common, prompt: &str, confirm: bool) -> Result<String> {
    if let Some(var) = &c.passphrase_env {
        return std::env::var(var).map_err(|_| {
            anyhow!("--passphrase-env: environment variable {var} is not set (or not UTF-8)")
        });
    }
    if let Ok(p) = std::env::var("CONSENTRY_PASSPHRASE") {
        return Ok(p);
    }
    let p = rpassword::prompt_password(prompt)
        .context("cannot read the passphrase from the terminal; set --passphrase-env VAR")?;
    if confirm && rpassword::prompt_password("Repeat the passphrase: ")? != p {
        bail!("the passphrases differ; nothing was written");
    }
    Ok(p)
}

fn unlock(c: &Common) -> Result<keystore::Key> {
    let path = keystore_path(c);
    let file = keystore::read(&path)?;
    let pass = passphrase(
        c,
        &format!("Passphrase for {} ({}): ", path.display(), file.address),
        false,
    )?;
    keystore::open(&file, &pass).with_context(|| format!("--keystore {}", path.display()))
}

fn parse_account(flag: &str, s: &str) -> Result<AccountId32> {
    AccountId32::from_str(s.trim())
        .map_err(|_| anyhow!("{flag}: '{s}' is not an SS58 address (e.g. 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty)"))
}

/// Parses 64 hex digits (optional `0x`).
pub fn parse_pseudonym(s: &str) -> Result<Pseudonym> {
    let body = s.trim().strip_prefix("0x").unwrap_or(s.trim());
    let mut out = [0u8; 32];
    hex::decode_to_slice(body, &mut out)
        .map_err(|_| anyhow!("--pseudonym: expected 64 hex digits (32 bytes), got '{s}'"))?;
    Ok(out)
}

/// Parses an RFC 3339 time to milliseconds.
pub fn parse_time(flag: &str, s: &str) -> Result<Moment> {
    let t = chrono::DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        anyhow!("{flag}: '{s}' is not an RFC 3339 time ({e}); e.g. 2026-01-31T00:00:00Z")
    })?;
    let ms = t.timestamp_millis();
    if ms < 0 {
        bail!("{flag}: '{s}' is before 1970");
    }
    Ok(ms as Moment)
}

fn now_ms() -> Moment {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Moment)
        .unwrap_or(0)
}

const DAY_MS: Moment = 86_400_000;

fn tx_json(tx: &patient::TxInfo) -> serde_json::Value {
    json!({"hash": tx.hash, "block": tx.block})
}

async fn wallet(c: Common, cmd: WalletCmd) -> Result<Output> {
    let path = keystore_path(&c);
    match cmd {
        WalletCmd::New { words, force } => {
            let mnemonic = keystore::generate_mnemonic(words)?;
            keystore::ensure_writable(&path, force)?;
            let pass = passphrase(&c, "New keystore passphrase: ", true)?;
            let phrase = mnemonic.to_string();
            let file = keystore::seal(&phrase, &pass, keystore::KdfParams::DEFAULT)?;
            keystore::write(&path, &file, force)?;
            eprintln!(
                "Your recovery phrase (write it down now; it is not shown again and not stored unencrypted):\n\n    {phrase}\n"
            );
            Ok(out(
                &c,
                format!("created {} for {}", path.display(), file.address),
                json!({"keystore": path, "address": file.address}),
            ))
        }
        WalletCmd::Import {
            uri,
            mnemonic_env,
            force,
        } => {
            keystore::ensure_writable(&path, force)?;
            let secret = match (uri, mnemonic_env) {
                (Some(u), _) => u,
                (None, Some(var)) => std::env::var(&var).map_err(|_| {
                    anyhow!("--mnemonic-env: environment variable {var} is not set")
                })?,
                (None, None) => rpassword::prompt_password("Mnemonic: ")
                    .context("cannot read the mnemonic; use --mnemonic-env VAR")?,
            };
            let key = keystore::Key::from_secret_uri(&secret)
                .map_err(|e| anyhow!("--uri/--mnemonic-env: {e}"))?;
            let pass = passphrase(&c, "New keystore passphrase: ", true)?;
            let file = keystore::seal(&secret, &pass, keystore::KdfParams::DEFAULT)?;
            keystore::write(&path, &file, force)?;
            Ok(out(
                &c,
                format!("imported {} into {}", key.address(), path.display()),
                json!({"keystore": path, "address": key.address()}),
            ))
        }
        WalletCmd::Address => {
            let file = keystore::read(&path)?;
            Ok(out(
                &c,
                file.address.clone(),
                json!({"address": file.address}),
            ))
        }
        other => wallet_chain(c, other).await,
    }
}

async fn wallet_chain(c: Common, cmd: WalletCmd) -> Result<Output> {
    let key = unlock(&c)?;
    let chain = Chain::connect(&c.node, c.relay.clone(), &c.api_tls).await?;
    let me = key.account.clone();
    let kp = &key.keypair;
    match cmd {
        WalletCmd::Claim { pseudonym } => {
            let p = parse_pseudonym(&pseudonym)?;
            let r = patient::claim(&chain, kp, p).await?;
            Ok(out(
                &c,
                format!(
                    "claimed {}: you are subject {} (tx {:?})",
                    r.pseudonym, r.subject, r.tx.hash
                ),
                serde_json::to_value(&r)?,
            ))
        }
        WalletCmd::Guardian(GuardianCmd::Add { account }) => {
            let g = parse_account("--account", &account)?;
            let tx = patient::guardian_add(&chain, kp, g.clone()).await?;
            Ok(out(
                &c,
                format!("appointed guardian {g} (tx {:?})", tx.hash),
                json!({"guardian": g, "tx": tx_json(&tx)}),
            ))
        }
        WalletCmd::Guardian(GuardianCmd::Remove { account, subject }) => {
            let g = parse_account("--account", &account)?;
            let subject = patient::resolve_subject(&chain, &me, subject).await?;
            let tx = patient::guardian_remove(&chain, kp, subject, g.clone()).await?;
            Ok(out(
                &c,
                format!(
                    "removed guardian {g} of subject {subject} (tx {:?})",
                    tx.hash
                ),
                json!({"guardian": g, "subject": subject, "tx": tx_json(&tx)}),
            ))
        }
        WalletCmd::Grant(a) => {
            let spec = grant_spec(&chain, &me, &a).await?;
            let r = patient::grant(&chain, kp, &spec).await?;
            Ok(out(
                &c,
                format!(
                    "granted consent {} for subject {} (tx {:?})",
                    r.consent, r.subject, r.tx.hash
                ),
                serde_json::to_value(&r)?,
            ))
        }
        WalletCmd::Amend(a) => {
            let spec = AmendSpec {
                purposes: a
                    .purpose
                    .as_deref()
                    .map(|p| names::purposes("--purpose", p))
                    .transpose()?,
                categories: a
                    .categories
                    .as_deref()
                    .map(|p| names::categories("--categories", p))
                    .transpose()?,
                valid_until: match (&a.until, a.days) {
                    (Some(u), _) => Some(parse_time("--until", u)?),
                    (None, Some(d)) => Some(now_ms() + d as Moment * DAY_MS),
                    _ => None,
                },
                max_uses: a.max_uses,
            };
            let tx = patient::amend(&chain, kp, a.consent, &spec).await?;
            Ok(out(
                &c,
                format!("amended consent {} (tx {:?})", a.consent, tx.hash),
                json!({"consent": a.consent, "tx": tx_json(&tx)}),
            ))
        }
        WalletCmd::Revoke { consent } => {
            let tx = patient::revoke(&chain, kp, consent).await?;
            Ok(out(
                &c,
                format!("revoked consent {consent} (tx {:?})", tx.hash),
                json!({"consent": consent, "tx": tx_json(&tx)}),
            ))
        }
        WalletCmd::Consents { subject } => {
            let subject = patient::resolve_subject(&chain, &me, subject).await?;
            let list: Vec<ConsentView> = patient::consents(&chain, subject)
                .await?
                .iter()
                .map(|(id, c)| ConsentView::new(*id, c))
                .collect();
            let human = if list.is_empty() {
                format!("subject {subject} has no consents")
            } else {
                list.iter()
                    .map(ConsentView::line)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(out(
                &c,
                human,
                json!({"subject": subject, "consents": list}),
            ))
        }
        WalletCmd::Accesses { subject } => {
            let subject = patient::resolve_subject(&chain, &me, subject).await?;
            let list: Vec<RecordView> = patient::accesses(&chain, subject)
                .await?
                .iter()
                .map(RecordView::new)
                .collect();
            let human = if list.is_empty() {
                format!("no accesses to subject {subject}")
            } else {
                list.iter()
                    .map(RecordView::line)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(out(
                &c,
                human,
                json!({"subject": subject, "accesses": list}),
            ))
        }
        WalletCmd::Forget { subject, yes } => {
            if !yes {
                bail!("--yes: forgetting subject {subject} ends every consent and erases every pseudonym link, irreversibly; pass --yes to confirm");
            }
            let tx = patient::forget(&chain, kp, subject).await?;
            Ok(out(
                &c,
                format!("subject {subject} forgotten (tx {:?})", tx.hash),
                json!({"subject": subject, "tx": tx_json(&tx)}),
            ))
        }
        WalletCmd::New { .. } | WalletCmd::Import { .. } | WalletCmd::Address => {
            unreachable!("handled without the chain")
        }
    }
}

async fn grant_spec(chain: &Chain, me: &AccountId32, a: &GrantArgs) -> Result<GrantSpec> {
    let grantee = match (a.institution, &a.role) {
        (Some(i), None) => Grantee::Institution(i),
        (None, Some(r)) => Grantee::AnyWithRole(names::role("--role", r)?),
        _ => bail!("--institution/--role: give exactly one grantee"),
    };
    let purposes = names::purposes("--purpose", &a.purpose)?;
    let categories = names::categories("--categories", &a.categories)?;
    let valid_from = a
        .from
        .as_deref()
        .map(|f| parse_time("--from", f))
        .transpose()?;
    let start = valid_from.unwrap_or_else(now_ms);
    let valid_until = match (&a.until, a.days) {
        (Some(u), _) => Some(parse_time("--until", u)?),
        (None, Some(0)) => bail!("--days: must be at least 1"),
        (None, Some(d)) => Some(start + d as Moment * DAY_MS),
        _ => None,
    };
    if let Some(u) = valid_until {
        if u <= start || u <= now_ms() {
            bail!(
                "--until: the end ({}) must be in the future and after the start ({})",
                crate::view::rfc3339(u),
                crate::view::rfc3339(start)
            );
        }
    }
    if a.max_uses == Some(0) {
        bail!("--max-uses: must be at least 1 (revoke the consent to stop all use)");
    }
    let subject = patient::resolve_subject(chain, me, a.subject).await?;
    Ok(GrantSpec {
        subject,
        grantee,
        purposes,
        categories,
        valid_from,
        valid_until,
        max_uses: a.max_uses,
    })
}

async fn institution_cmd(c: Common, cmd: InstitutionCmd) -> Result<Output> {
    if let InstitutionCmd::Pepper(PepperCmd::New { path }) = &cmd {
        institution::new_pepper(path)?;
        return Ok(out(
            &c,
            format!(
                "wrote a new pepper to {} (mode 0600); keep it secret and backed up",
                path.display()
            ),
            json!({"pepper_file": path}),
        ));
    }
    // Check local input before asking for the passphrase.
    let enrolment = match &cmd {
        InstitutionCmd::Enrol {
            identifier,
            pepper_file,
            patient,
        } => {
            if identifier.trim().is_empty() {
                bail!("--identifier: must not be empty");
            }
            let pepper = institution::load_pepper(pepper_file)?;
            Some((
                institution::pseudonym(&pepper, identifier),
                parse_account("--patient", patient)?,
            ))
        }
        _ => None,
    };
    if let InstitutionCmd::Job {
        api,
        pseudonym,
        workload,
        params,
        no_wait,
        timeout,
    } = cmd
    {
        let spec = jobs::JobSpec {
            pseudonym: parse_pseudonym(&pseudonym)?,
            workload,
            params: parse_params(&params)?,
        };
        return job(
            &c,
            &api,
            spec,
            (!no_wait).then(|| Duration::from_secs(timeout)),
        )
        .await;
    }
    let key = unlock(&c)?;
    let chain = Chain::connect(&c.node, c.relay.clone(), &c.api_tls).await?;
    match cmd {
        InstitutionCmd::Enrol { .. } => {
            let (pseudonym, patient) = enrolment.expect("parsed above");
            let r = institution::enrol(&chain, &key.keypair, pseudonym, patient).await?;
            Ok(out(
                &c,
                format!("enrolled {} under pseudonym {} at institution {}; the patient claims it with `consentry wallet claim --pseudonym {}`", r.patient, r.pseudonym, r.institution, r.pseudonym),
                serde_json::to_value(&r)?,
            ))
        }
        InstitutionCmd::Key(KeyCmd::Add {
            institution: inst,
            account,
        }) => {
            let acct = parse_account("--account", &account)?;
            let tx = institution::key_add(&chain, &key.keypair, inst, acct.clone()).await?;
            Ok(out(
                &c,
                format!(
                    "added service key {acct} to institution {inst} (tx {:?})",
                    tx.hash
                ),
                json!({"institution": inst, "account": acct, "tx": tx_json(&tx)}),
            ))
        }
        InstitutionCmd::Key(KeyCmd::Remove { account }) => {
            let acct = parse_account("--account", &account)?;
            let tx = institution::key_remove(&chain, &key.keypair, acct.clone()).await?;
            Ok(out(
                &c,
                format!("withdrew service key {acct} (tx {:?})", tx.hash),
                json!({"account": acct, "tx": tx_json(&tx)}),
            ))
        }
        InstitutionCmd::Pepper(_) | InstitutionCmd::Job { .. } => unreachable!("handled above"),
    }
}

/// `--params`: a JSON object.
fn parse_params(s: &str) -> Result<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(s).map_err(|e| anyhow!("--params: not JSON: {e}"))?;
    if !v.is_object() {
        bail!("--params: expected a JSON object, got {v}");
    }
    Ok(v)
}

/// Signs in, queues the job and, given a timeout, waits for it to end.
async fn job(c: &Common, api: &str, spec: jobs::JobSpec, wait: Option<Duration>) -> Result<Output> {
    let key = unlock(c)?;
    let http = crate::session::api_client("--api", api, &c.api_tls)?;
    let genesis = crate::session::genesis_of(&c.node).await?;
    let token = crate::session::login(&http, api, &key.keypair, &genesis).await?;
    let queued = jobs::submit(&http, api, &token, &spec).await?;
    let id = queued["id"]
        .as_str()
        .ok_or_else(|| anyhow!("--api: the queued job has no id: {queued}"))?
        .to_string();
    let Some(timeout) = wait else {
        return Ok(out(c, format!("job {id} queued"), queued));
    };
    let ended = jobs::wait(&http, api, &token, &id, timeout).await?;
    Ok(out(c, jobs::summary(&ended), ended))
}

async fn verify(v: VerifyArgs) -> Result<Output> {
    let doc: ProofDoc = match (&v.proof_file, &v.api) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--proof-file: cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| {
                format!("--proof-file: {} is not a proof document", path.display())
            })?
        }
        (None, Some(api)) => {
            let id = v.id.ok_or_else(|| anyhow!("--id: required with --api"))?;
            let http = crate::session::api_client("--api", api, &v.api_tls)?;
            let token = match (&v.token_env, &v.keystore) {
                (Some(var), _) => {
                    Some(std::env::var(var).map_err(|_| {
                        anyhow!("--token-env: environment variable {var} is not set")
                    })?)
                }
                (None, Some(ks)) => {
                    let c = Common {
                        keystore: Some(ks.clone()),
                        passphrase_env: v.passphrase_env.clone(),
                        node: v.node.clone(),
                        relay: None,
                        api_tls: v.api_tls.clone(),
                        json: v.json,
                    };
                    let genesis = crate::session::genesis_of(&v.node).await?;
                    Some(crate::session::login(&http, api, &unlock(&c)?.keypair, &genesis).await?)
                }
                (None, None) => None,
            };
            let url = format!("{}/v1/access/{id}/proof", api.trim_end_matches('/'));
            let mut req = http.get(&url);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let resp = req
                .send()
                .await
                .with_context(|| format!("--api: cannot reach {url}"))?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && token.is_none() {
                bail!("--api: {url} wants a session; pass --keystore PATH (an auditor's or the patient's key) or --token-env VAR");
            }
            crate::session::answer(resp, &format!("GET {url}")).await?
        }
        (None, None) => bail!("--api or --proof-file: say where the proof comes from"),
    };
    if let Some(id) = v.id {
        if doc.id != id {
            bail!(
                "--id: the proof document is for record {}, not {id}",
                doc.id
            );
        }
    }
    let verified = proof::verify_at_node(&doc, &v.node)
        .await
        .map_err(|e| anyhow!("verification FAILED for access record {}: {e}", doc.id))?;
    let rec = RecordView::new(&verified.record);
    let human = format!(
        "verified: access record {} is in the finalized state of block #{} ({:?}; finalized head #{})\n{}",
        doc.id, verified.block_number, verified.block_hash, verified.finalized_number, rec.line()
    );
    Ok(Output {
        human,
        json: json!({
            "verified": true,
            "id": doc.id,
            "block_number": verified.block_number,
            "block_hash": verified.block_hash,
            "state_root": verified.state_root,
            "finalized_number": verified.finalized_number,
            "record": rec,
        }),
        as_json: v.json,
    })
}

/// A consortium's study as a person writes it (`contracts deploy --study FILE`): ε, δ and the
/// deadline in ordinary units, converted to the contract's fixed point here.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    /// The coordinating member's institution id.
    pub coordinator: u32,
    /// Member institution ids.
    pub members: Vec<u32>,
    /// The model's name.
    pub model: String,
    /// The architecture's description; its SHA-256 is ledgered.
    pub architecture: String,
    pub min_sites: u32,
    pub max_rounds: u32,
    /// How long a round may stay open, in seconds.
    pub round_deadline_secs: u64,
    /// The study's ε.
    pub epsilon: f64,
    /// The study's δ.
    pub delta: f64,
}

impl StudyFile {
    /// The contract's study: ε, δ in its fixed point (refused when they do not fit).
    pub fn to_study(&self) -> Result<consentry_client::contract_abi::consortium::Study> {
        use consentry_client::contract_abi::consortium::{
            Model, Study, DELTA_SCALE, EPSILON_SCALE,
        };
        use sha2::Digest as _;
        if !(self.epsilon.is_finite() && self.epsilon > 0.0 && self.epsilon < 1e6) {
            bail!(
                "--study: epsilon must be a number in (0, 1e6), got {}",
                self.epsilon
            );
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            bail!("--study: delta must be in (0, 1), got {}", self.delta);
        }
        Ok(Study {
            coordinator: self.coordinator,
            members: self.members.clone(),
            model: Model {
                name: self.model.clone(),
                architecture: sha2::Sha256::digest(self.architecture.as_bytes()).into(),
            },
            min_sites: self.min_sites,
            max_rounds: self.max_rounds,
            round_deadline_ms: self.round_deadline_secs.saturating_mul(1000),
            epsilon_budget: (self.epsilon * EPSILON_SCALE as f64).round() as u64,
            delta: (self.delta * DELTA_SCALE as f64).round() as u64,
        })
    }
}

fn contract_at(flag: &str, address: &str) -> Result<consentry_client::contracts::Contract> {
    Ok(consentry_client::contracts::Contract::at(parse_account(
        flag, address,
    )?))
}

async fn contracts_cmd(c: Common, cmd: ContractsCmd) -> Result<Output> {
    use consentry_client::contract_abi::{consortium, dua};
    if let ContractsCmd::Build { out: dir } = &cmd {
        let written = consentry_contracts::write_artifacts(dir)
            .with_context(|| format!("--out {}", dir.display()))?;
        return Ok(out(
            &c,
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            json!({"written": written}),
        ));
    }
    let key = unlock(&c)?;
    let chain = Chain::connect(&c.node, c.relay.clone(), &c.api_tls).await?;
    let kp = &key.keypair;
    let me = key.account.clone();
    match cmd {
        ContractsCmd::Build { .. } => unreachable!("handled above"),
        ContractsCmd::Deploy {
            contract,
            study,
            salt,
        } => {
            let salt = salt.unwrap_or_else(|| now_ms().to_string()).into_bytes();
            let d = match contract.as_str() {
                "dua" => {
                    if study.is_some() {
                        bail!("--study: only a consortium has a study");
                    }
                    contracts::propose_deploy(
                        &chain,
                        kp,
                        Kind::Dua,
                        consentry_contracts::DUA_WASM,
                        dua::New {},
                        salt,
                    )
                    .await?
                }
                "consortium" => {
                    let path = study.ok_or_else(|| {
                        anyhow!("--study: a consortium needs its study (a JSON file)")
                    })?;
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("--study {}", path.display()))?;
                    let file: StudyFile = serde_json::from_str(&text)
                        .with_context(|| format!("--study {}", path.display()))?;
                    let study = file.to_study()?;
                    contracts::propose_deploy(
                        &chain,
                        kp,
                        Kind::Consortium,
                        consentry_contracts::CONSORTIUM_WASM,
                        consortium::New { study },
                        salt,
                    )
                    .await?
                }
                other => {
                    bail!("--contract: '{other}' is not a contract; use `dua` or `consortium`")
                }
            };
            let human = match &d {
                contracts::Deploying::Deployed(d) => format!(
                    "deployed {} at {} (tx {:?})",
                    d.contract, d.address, d.tx.hash
                ),
                contracts::Deploying::Proposed(m) => format!(
                    "council motion {:?} (index {}) proposed: it needs {} ayes, yours is the first. \
                     The other members run `consentry council vote --motion {:?} --aye`; once it \
                     has the ayes, any member runs `consentry council close --motion {:?}`, which \
                     deploys the contract and prints its address.",
                    m.hash, m.index, m.threshold, m.hash, m.hash
                ),
            };
            Ok(out(&c, human, serde_json::to_value(&d)?))
        }
        ContractsCmd::Dua(cmd) => dua_cmd(&c, &chain, kp, &me, cmd).await,
        ContractsCmd::Consortium(cmd) => consortium_cmd(&c, &chain, kp, &me, cmd).await,
    }
}

/// A council motion's proposal hash, as `--motion` takes it.
pub(crate) fn parse_motion(text: &str) -> Result<H256> {
    let raw = hex::decode(text.trim_start_matches("0x"))
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| anyhow!("--motion: '{text}' is not a proposal hash (0x + 64 hex digits)"))?;
    Ok(H256::from_slice(&raw))
}

async fn council_cmd(c: Common, cmd: CouncilCmd) -> Result<Output> {
    // Input first: a bad hash is named before any network or passphrase.
    let hash = match &cmd {
        CouncilCmd::Vote { motion, .. } | CouncilCmd::Close { motion } => {
            Some(parse_motion(motion)?)
        }
        CouncilCmd::Motions => None,
    };
    let chain = Chain::connect(&c.node, c.relay.clone(), &c.api_tls).await?;
    match cmd {
        CouncilCmd::Motions => {
            let members = council::members(&chain).await?;
            let motions = council::motions(&chain).await?;
            let mut human = format!("council of {}:\n", members.len());
            for m in &members {
                human.push_str(&format!("  {m}\n"));
            }
            if motions.is_empty() {
                human.push_str("no open motion");
            }
            for m in &motions {
                human.push_str(&format!(
                    "motion {:?} (index {}): {}; {} of {} ayes, {} nays; ends at block {}{}\n",
                    m.hash,
                    m.index,
                    m.call,
                    m.ayes.len(),
                    m.threshold,
                    m.nays.len(),
                    m.end,
                    if m.carried() {
                        "; carried: it can be closed"
                    } else {
                        ""
                    }
                ));
            }
            Ok(out(
                &c,
                human.trim_end().to_string(),
                json!({"members": members, "motions": motions}),
            ))
        }
        CouncilCmd::Vote { aye, nay, .. } => {
            let hash = hash.expect("parsed above");
            debug_assert!(aye != nay, "clap makes them exclusive");
            let key = unlock(&c)?;
            let v = council::vote(&chain, &key.keypair, hash, aye).await?;
            Ok(out(
                &c,
                format!(
                    "voted {} on motion {:?}: {} of {} ayes, {} nays{} (tx {:?})",
                    if aye { "aye" } else { "nay" },
                    hash,
                    v.motion.ayes.len(),
                    v.motion.threshold,
                    v.motion.nays.len(),
                    if v.motion.carried() {
                        "; carried: any member may close it now"
                    } else {
                        ""
                    },
                    v.tx.hash
                ),
                serde_json::to_value(&v)?,
            ))
        }
        CouncilCmd::Close { .. } => {
            let hash = hash.expect("parsed above");
            let key = unlock(&c)?;
            let closed = council::close(&chain, &key.keypair, hash).await?;
            let human = match (&closed.approved, &closed.dispatch_error, &closed.contract) {
                (false, ..) => format!("motion {hash:?} was disapproved; nothing was dispatched"),
                (true, Some(e), _) => {
                    format!("motion {hash:?} was approved, but its call failed: {e}")
                }
                (true, None, Some(a)) => {
                    format!("motion {hash:?} was approved and executed: contract at {a}")
                }
                (true, None, None) => format!("motion {hash:?} was approved and executed"),
            };
            Ok(out(&c, human, serde_json::to_value(&closed)?))
        }
    }
}

async fn dua_cmd(
    c: &Common,
    chain: &Chain,
    kp: &consentry_client::subxt_signer::sr25519::Keypair,
    me: &AccountId32,
    cmd: DuaCmd,
) -> Result<Output> {
    use consentry_client::contract_abi::dua;
    use sha2::Digest as _;
    match cmd {
        DuaCmd::Propose {
            contract,
            custodian,
            recipients,
            purposes,
            categories,
            from,
            until,
            days,
            record_cap,
            text,
        } => {
            let contract = contract_at("--contract", &contract.address)?;
            let valid_from = match &from {
                Some(f) => parse_time("--from", f)?,
                None => now_ms(),
            };
            let valid_until = match (&until, days) {
                (Some(u), _) => parse_time("--until", u)?,
                (None, Some(d)) => valid_from + d * DAY_MS,
                (None, None) => bail!("--until or --days: the agreement needs an end"),
            };
            let legal =
                std::fs::read(&text).with_context(|| format!("--text {}", text.display()))?;
            let terms = dua::Terms {
                custodian,
                recipients,
                purposes: names::purposes("--purposes", &purposes)?,
                categories: names::categories("--categories", &categories)?,
                valid_from,
                valid_until,
                record_cap,
                text_digest: sha2::Sha256::digest(&legal).into(),
            };
            let p = contracts::dua_propose(chain, kp, &contract, terms).await?;
            Ok(out(
                c,
                format!(
                    "proposed agreement {} (tx {:?}); every other party must sign it",
                    p.id, p.tx.hash
                ),
                serde_json::to_value(&p)?,
            ))
        }
        DuaCmd::Sign { contract, id } => {
            let contract = contract_at("--contract", &contract.address)?;
            let s = contracts::dua_sign(chain, kp, &contract, id).await?;
            let state = if s.in_force {
                "now in force"
            } else {
                "waiting for other parties"
            };
            Ok(out(
                c,
                format!("signed agreement {id}: {state} (tx {:?})", s.tx.hash),
                serde_json::to_value(&s)?,
            ))
        }
        DuaCmd::Terminate { contract, id } => {
            let contract = contract_at("--contract", &contract.address)?;
            let tx = contracts::dua_terminate(chain, kp, &contract, id).await?;
            Ok(out(
                c,
                format!("terminated agreement {id} (tx {:?})", tx.hash),
                json!({"id": id, "tx": tx_json(&tx)}),
            ))
        }
        DuaCmd::Show { contract, id } => {
            let contract = contract_at("--contract", &contract.address)?;
            let a = contracts::read(chain, me, &contract, &dua::Get { id })
                .await?
                .ok_or_else(|| anyhow!("--id: there is no agreement {id}"))?;
            Ok(out(
                c,
                format!(
                    "agreement {id}: custodian {} → recipients {:?}, {:?}, signed by {:?}, {} records used",
                    a.terms.custodian, a.terms.recipients, a.status, a.signatories, a.records_used
                ),
                json!({"id": id, "agreement": a}),
            ))
        }
        DuaCmd::InForce {
            contract,
            custodian,
            recipient,
            purpose,
            categories,
        } => {
            let contract = contract_at("--contract", &contract.address)?;
            let purpose = consentry_primitives::Purpose::from_name(purpose.trim())
                .map_err(|e| anyhow!("--purpose: {e}"))?;
            let q = dua::InForceQuery {
                custodian,
                recipient,
                purpose,
                categories: names::categories("--categories", &categories)?,
                now: now_ms(),
            };
            let found = contracts::read(chain, me, &contract, &q).await?;
            Ok(out(
                c,
                match found {
                    Some(id) => format!("in force: agreement {id}"),
                    None => "no agreement in force allows it".to_owned(),
                },
                json!({"in_force": found.is_some(), "id": found}),
            ))
        }
    }
}

async fn consortium_cmd(
    c: &Common,
    chain: &Chain,
    kp: &consentry_client::subxt_signer::sr25519::Keypair,
    me: &AccountId32,
    cmd: ConsortiumCmd,
) -> Result<Output> {
    use consentry_client::contract_abi::consortium;
    match cmd {
        ConsortiumCmd::Show { contract } => {
            let contract = contract_at("--contract", &contract.address)?;
            let v = contracts::consortium_show(chain, me, &contract).await?;
            Ok(out(
                c,
                format!(
                    "study of {:?} coordinated by {}: sites {:?}, ε {}/{} (×1e-6), {} rounds opened",
                    v.study.model.name, v.study.coordinator, v.joined, v.epsilon_spent, v.epsilon_budget, v.rounds_opened
                ),
                serde_json::to_value(&v)?,
            ))
        }
        ConsortiumCmd::Join { contract } => {
            let contract = contract_at("--contract", &contract.address)?;
            let tx = contracts::consortium_join(chain, kp, &contract).await?;
            Ok(out(
                c,
                format!("joined (tx {:?})", tx.hash),
                json!({"tx": tx_json(&tx)}),
            ))
        }
        ConsortiumCmd::Round { contract, round } => {
            let contract = contract_at("--contract", &contract.address)?;
            let r = contracts::read(chain, me, &contract, &consortium::GetRound { round })
                .await?
                .ok_or_else(|| anyhow!("--round: there is no round {round}"))?;
            Ok(out(
                c,
                format!("round {round}: {:?}, sites {:?}", r.status, r.cohort_sites),
                json!({"round": round, "detail": r}),
            ))
        }
        ConsortiumCmd::Rounds { contract } => {
            let contract = contract_at("--contract", &contract.address)?;
            let rounds = contracts::consortium_rounds(chain, me, &contract).await?;
            let human = if rounds.is_empty() {
                "no round opened yet".to_string()
            } else {
                rounds
                    .iter()
                    .map(|r| {
                        format!(
                            "round {}: {:?}; cohort sites {:?}; ε {} → {} (×1e-6){}",
                            r.round,
                            r.detail.status,
                            r.detail.cohort_sites,
                            r.detail.epsilon_before,
                            r.detail.epsilon_after,
                            r.detail
                                .aggregate
                                .map(|a| format!("; aggregate 0x{}", hex::encode(a)))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(out(c, human, json!({ "rounds": rounds })))
        }
        ConsortiumCmd::Cohort {
            contract,
            round,
            site,
        } => {
            let contract = contract_at("--contract", &contract.address)?;
            let cohort =
                contracts::read(chain, me, &contract, &consortium::GetCohort { round, site })
                    .await?
                    .ok_or_else(|| {
                        anyhow!("--site: institution {site} submitted no cohort for round {round}")
                    })?;
            Ok(out(
                c,
                format!(
                    "round {round}, site {site}: {} access records (digest 0x{}), submitted at {} ms",
                    cohort.records,
                    hex::encode(cohort.records_digest),
                    cohort.submitted_at
                ),
                json!({"round": round, "site": site, "cohort": cohort}),
            ))
        }
        ConsortiumCmd::FailRound { contract, round } => {
            let contract = contract_at("--contract", &contract.address)?;
            let (status, tx) =
                contracts::consortium_fail_round(chain, kp, &contract, round).await?;
            Ok(out(
                c,
                format!("round {round}: {status:?} (tx {:?})", tx.hash),
                json!({"round": round, "status": status, "tx": tx_json(&tx)}),
            ))
        }
    }
}
