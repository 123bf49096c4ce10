//! The clap definitions of the wallet's commands.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The wallet's top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A patient's (or guardian's) wallet: keys, claim, consents, the access log, erasure.
    Wallet(WalletArgs),
    /// An institution's service key: pepper, enrolment, service keys.
    Institution(InstitutionArgs),
    /// Auditing: verify an access record's storage proof against your own node.
    Audit(AuditArgs),
    /// Institutions' ink! contracts: build, deploy by council motion, data-use agreements and
    /// federated-learning consortia.
    Contracts(ContractsArgs),
    /// The council's motions (governance acts such as deploying a contract): list the open ones,
    /// vote, close.
    Council(CouncilArgs),
}

/// `consentry council`.
#[derive(Args, Debug)]
pub struct CouncilArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub cmd: CouncilCmd,
}

/// Council subcommands (the keystore holds a council member's key for `vote` and `close`).
#[derive(Subcommand, Debug)]
pub enum CouncilCmd {
    /// The council's members and its open motions: what each dispatches, its votes, its end.
    Motions,
    /// Vote on an open motion.
    Vote {
        /// The motion's proposal hash (0x + 64 hex digits), as `contracts deploy` or `council
        /// motions` printed it.
        #[arg(long)]
        motion: String,
        /// Vote aye.
        #[arg(long, required_unless_present = "nay", conflicts_with = "nay")]
        aye: bool,
        /// Vote nay.
        #[arg(long)]
        nay: bool,
    },
    /// Close a motion that has its votes (it is then dispatched), or is past its end.
    Close {
        /// The motion's proposal hash.
        #[arg(long)]
        motion: String,
    },
}

/// Options shared by the wallet and institution commands.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The keystore file.
    #[arg(long, global = true, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// Read the passphrase from this environment variable (default: `CONSENTRY_PASSPHRASE` if set,
    /// else prompt).
    #[arg(long, global = true, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// The node's RPC endpoint.
    #[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    /// Submit through the API's relay (`<URL>/v1/relay`) instead of the node.
    #[arg(long, global = true, value_name = "URL")]
    pub relay: Option<String>,
    #[command(flatten)]
    pub api_tls: crate::session::ApiTls,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `consentry wallet`.
#[derive(Args, Debug)]
pub struct WalletArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub cmd: WalletCmd,
}

/// Wallet subcommands.
#[derive(Subcommand, Debug)]
pub enum WalletCmd {
    /// Create a new key (BIP-39 mnemonic, shown once on stderr) and store it encrypted.
    New {
        /// Mnemonic length: 12 or 24 words.
        #[arg(long, default_value_t = 12)]
        words: usize,
        /// Replace an existing keystore (its key is lost unless backed up).
        #[arg(long)]
        force: bool,
    },
    /// Import a key from a mnemonic (prompted, or from --mnemonic-env) or a dev URI (`//Alice`).
    Import {
        /// A secret URI, e.g. `//Alice` (dev chains only: the dev phrase is public).
        #[arg(long, value_name = "URI", conflicts_with = "mnemonic_env")]
        uri: Option<String>,
        /// Read the mnemonic from this environment variable.
        #[arg(long, value_name = "VAR")]
        mnemonic_env: Option<String>,
        /// Replace an existing keystore.
        #[arg(long)]
        force: bool,
    },
    /// Show the keystore's address (no passphrase needed).
    Address,
    /// Claim an enrolment addressed to this key.
    Claim {
        /// The pseudonym the institution enrolled you under (64 hex digits).
        #[arg(long)]
        pseudonym: String,
    },
    /// Appoint or remove a guardian.
    #[command(subcommand)]
    Guardian(GuardianCmd),
    /// Grant a consent.
    Grant(GrantArgs),
    /// Narrow a consent (fewer purposes or categories, an earlier end, fewer uses).
    Amend(AmendArgs),
    /// Revoke a consent.
    Revoke {
        /// The consent's id.
        #[arg(long)]
        consent: u64,
    },
    /// List the consents of your subject (or --subject).
    Consents {
        /// The subject (default: your own).
        #[arg(long)]
        subject: Option<u64>,
    },
    /// Who accessed your data and why: granted, denied and emergency accesses.
    Accesses {
        /// The subject (default: your own).
        #[arg(long)]
        subject: Option<u64>,
    },
    /// The right to be forgotten: end every consent and erase every pseudonym link. Irreversible.
    Forget {
        /// The subject to erase.
        #[arg(long)]
        subject: u64,
        /// Confirm that this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// Guardian subcommands.
#[derive(Subcommand, Debug)]
pub enum GuardianCmd {
    /// Appoint a guardian for your subject.
    Add {
        /// The guardian's account (SS58).
        #[arg(long)]
        account: String,
    },
    /// Remove a guardian (as the patient, or as the guardian resigning).
    Remove {
        /// The guardian's account (SS58).
        #[arg(long)]
        account: String,
        /// The subject (default: your own).
        #[arg(long)]
        subject: Option<u64>,
    },
}

/// `wallet grant`.
#[derive(Args, Debug)]
pub struct GrantArgs {
    /// Grant to this institution.
    #[arg(long, required_unless_present = "role", conflicts_with = "role")]
    pub institution: Option<u32>,
    /// Grant to every institution holding this role (data_custodian, researcher, auditor).
    #[arg(long)]
    pub role: Option<String>,
    /// Purposes, comma-separated (treatment, inference, simulation, federated_training, research,
    /// re_identification).
    #[arg(long)]
    pub purpose: String,
    /// Data categories, comma-separated (demographics, ehr, labs, genomic, wearable, imaging).
    #[arg(long)]
    pub categories: String,
    /// Start (RFC 3339; default now).
    #[arg(long)]
    pub from: Option<String>,
    /// End (RFC 3339).
    #[arg(long, conflicts_with = "days")]
    pub until: Option<String>,
    /// End N days after the start.
    #[arg(long)]
    pub days: Option<u32>,
    /// Use limit.
    #[arg(long)]
    pub max_uses: Option<u32>,
    /// The subject (default: your own; set it when acting as a guardian).
    #[arg(long)]
    pub subject: Option<u64>,
}

/// `wallet amend`.
#[derive(Args, Debug)]
pub struct AmendArgs {
    /// The consent's id.
    #[arg(long)]
    pub consent: u64,
    /// New (smaller) purpose list.
    #[arg(long)]
    pub purpose: Option<String>,
    /// New (smaller) category list.
    #[arg(long)]
    pub categories: Option<String>,
    /// New (earlier) end, RFC 3339.
    #[arg(long, conflicts_with = "days")]
    pub until: Option<String>,
    /// New end N days from now.
    #[arg(long)]
    pub days: Option<u32>,
    /// New (lower) use limit.
    #[arg(long)]
    pub max_uses: Option<u32>,
}

/// `consentry institution`.
#[derive(Args, Debug)]
pub struct InstitutionArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub cmd: InstitutionCmd,
}

/// Institution subcommands.
#[derive(Subcommand, Debug)]
pub enum InstitutionCmd {
    /// Enrol a patient: pseudonym = SHA-256(pepper ‖ identifier), addressed to the patient's wallet.
    Enrol {
        /// The local patient identifier (e.g. a medical record number).
        #[arg(long)]
        identifier: String,
        /// The institution's secret pepper file.
        #[arg(long, value_name = "PATH")]
        pepper_file: PathBuf,
        /// The patient's wallet address (SS58).
        #[arg(long)]
        patient: String,
    },
    /// Run a digital-twin job for an enrolled patient through the API, signed in with this
    /// service key, and wait for it to end. The worker reads nothing until the chain grants.
    Job {
        /// The API's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// The patient's pseudonym at this institution (64 hex digits), as `enrol` printed it.
        #[arg(long)]
        pseudonym: String,
        /// The workload: `simulation` (PK/PD twin) or `inference` (drug response).
        #[arg(long)]
        workload: String,
        /// The workload's parameters, a JSON object (e.g. `{"drug":"warfarin","dose_mg":5}`).
        #[arg(long, default_value = "{}")]
        params: String,
        /// Return once the job is queued instead of waiting for it to end.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for the job to end, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Pepper files.
    #[command(subcommand)]
    Pepper(PepperCmd),
    /// Service keys.
    #[command(subcommand)]
    Key(KeyCmd),
}

/// Pepper subcommands.
#[derive(Subcommand, Debug)]
pub enum PepperCmd {
    /// Create a new random pepper file (mode 0600); never overwrites.
    New {
        /// Where to write it.
        path: PathBuf,
    },
}

/// Service-key subcommands.
#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Add a service key (governance: signed with the sudo key, dev/test chains).
    Add {
        /// The institution.
        #[arg(long)]
        institution: u32,
        /// The new key's account (SS58).
        #[arg(long)]
        account: String,
    },
    /// Withdraw a service key (signed with another key of the same institution).
    Remove {
        /// The key to withdraw (SS58).
        #[arg(long)]
        account: String,
    },
}

/// `consentry audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub cmd: AuditCmd,
}

/// Audit subcommands.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Verify an access record's storage proof against your own node, trusting nothing the API says.
    Verify(VerifyArgs),
}

/// `audit verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The API to fetch `/v1/access/{id}/proof` from.
    #[arg(
        long,
        requires = "id",
        required_unless_present = "proof_file",
        conflicts_with = "proof_file"
    )]
    pub api: Option<String>,
    /// The access record's id.
    #[arg(long)]
    pub id: Option<u64>,
    /// Sign in to the API with this keystore's key (an auditor's service key, or the patient's).
    #[arg(long, value_name = "PATH", conflicts_with = "token_env")]
    pub keystore: Option<PathBuf>,
    /// The keystore's passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Use the API bearer token in this environment variable instead of signing in.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Read the proof document from a file instead of the API.
    #[arg(long, value_name = "PATH")]
    pub proof_file: Option<PathBuf>,
    /// Your node's RPC endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    #[command(flatten)]
    pub api_tls: crate::session::ApiTls,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `consentry contracts`.
#[derive(Args, Debug)]
pub struct ContractsArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub cmd: ContractsCmd,
}

/// Contract subcommands.
#[derive(Subcommand, Debug)]
pub enum ContractsCmd {
    /// Write the contracts' optimized Wasm binaries and ink! metadata (built with this binary)
    /// into a directory.
    Build {
        /// Where to write `dua.wasm`, `dua.json`, `consortium.wasm`, `consortium.json`.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Deploy a contract by council motion (the keystore holds a council member's key).
    Deploy {
        /// `dua` (the agreement registry) or `consortium` (one study; needs --study).
        #[arg(long)]
        contract: String,
        /// The consortium's study, a JSON file (coordinator, members, model, schedule, budget).
        #[arg(long, value_name = "PATH")]
        study: Option<PathBuf>,
        /// Distinguishes instances of the same code (default: the current time).
        #[arg(long)]
        salt: Option<String>,
    },
    /// Data-use agreements.
    #[command(subcommand)]
    Dua(DuaCmd),
    /// Federated-learning consortia.
    #[command(subcommand)]
    Consortium(ConsortiumCmd),
}

/// The DUA registry's address.
#[derive(Args, Debug, Clone)]
pub struct DuaContract {
    /// The agreement registry's address (SS58), as `contracts deploy` printed it.
    #[arg(long = "contract", env = "CONSENTRY_DUA_CONTRACT")]
    pub address: String,
}

/// Data-use agreement subcommands.
#[derive(Subcommand, Debug)]
pub enum DuaCmd {
    /// Propose an agreement, signed for your institution (a party to it).
    Propose {
        #[command(flatten)]
        contract: DuaContract,
        /// The data custodian's institution id.
        #[arg(long)]
        custodian: u32,
        /// A recipient's institution id (repeat for several).
        #[arg(long = "recipient", required = true)]
        recipients: Vec<u32>,
        /// Purposes it covers, comma-separated canonical names (e.g. `research,federated_training`).
        #[arg(long)]
        purposes: String,
        /// Data categories it covers, comma-separated (e.g. `labs,ehr`).
        #[arg(long)]
        categories: String,
        /// Start of the period (RFC 3339; default: now).
        #[arg(long)]
        from: Option<String>,
        /// End of the period (RFC 3339).
        #[arg(long, required_unless_present = "days", conflicts_with = "days")]
        until: Option<String>,
        /// Length of the period in days from its start.
        #[arg(long)]
        days: Option<u64>,
        /// Most access records the custodian may count against it.
        #[arg(long)]
        record_cap: Option<u64>,
        /// The legal text's file; its SHA-256 is what the parties sign.
        #[arg(long, value_name = "PATH")]
        text: PathBuf,
    },
    /// Sign an agreement for your institution.
    Sign {
        #[command(flatten)]
        contract: DuaContract,
        /// The agreement's id.
        #[arg(long)]
        id: u64,
    },
    /// Terminate an agreement your institution is a party to.
    Terminate {
        #[command(flatten)]
        contract: DuaContract,
        /// The agreement's id.
        #[arg(long)]
        id: u64,
    },
    /// Show an agreement.
    Show {
        #[command(flatten)]
        contract: DuaContract,
        /// The agreement's id.
        #[arg(long)]
        id: u64,
    },
    /// Whether an agreement in force lets a recipient use a custodian's data now.
    InForce {
        #[command(flatten)]
        contract: DuaContract,
        #[arg(long)]
        custodian: u32,
        #[arg(long)]
        recipient: u32,
        /// The purpose's canonical name.
        #[arg(long)]
        purpose: String,
        /// Data categories, comma-separated.
        #[arg(long)]
        categories: String,
    },
}

/// A consortium's address.
#[derive(Args, Debug, Clone)]
pub struct ConsortiumContract {
    /// The consortium's address (SS58), as `contracts deploy` printed it.
    #[arg(long = "contract", env = "CONSENTRY_CONSORTIUM_CONTRACT")]
    pub address: String,
}

/// Consortium subcommands.
#[derive(Subcommand, Debug)]
pub enum ConsortiumCmd {
    /// Show the study, its sites and its privacy budget.
    Show {
        #[command(flatten)]
        contract: ConsortiumContract,
    },
    /// Join the study as a site (your institution must be a member holding data).
    Join {
        #[command(flatten)]
        contract: ConsortiumContract,
    },
    /// Show a round.
    Round {
        #[command(flatten)]
        contract: ConsortiumContract,
        /// The round's index.
        #[arg(long)]
        round: u32,
    },
    /// Every round opened, oldest first: status, sites, ε before and after, aggregate.
    Rounds {
        #[command(flatten)]
        contract: ConsortiumContract,
    },
    /// A site's cohort in a round: how many access records, their digest, when submitted.
    Cohort {
        #[command(flatten)]
        contract: ConsortiumContract,
        /// The round's index.
        #[arg(long)]
        round: u32,
        /// The site's institution id.
        #[arg(long)]
        site: u32,
    },
    /// Fail an open round: the coordinator at any time; a joined site once the round's deadline
    /// passed (the round is then marked expired by that site).
    FailRound {
        #[command(flatten)]
        contract: ConsortiumContract,
        /// The round's index.
        #[arg(long)]
        round: u32,
    },
}
