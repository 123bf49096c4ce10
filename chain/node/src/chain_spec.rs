//! Chain specifications: `dev`, `local`, and a consortium built from an institutions file.
//!
//! A consortium file is how real institutions start a network together: each lists its name,
//! roles, validator keys (Aura sr25519, GRANDPA ed25519), governance account, service keys and
//! node peer id. See `docs/CONSORTIUM.md` for the step-by-step procedure.

use consentry_runtime::{
    genesis::{consortium, ChainSetup},
    primitives::{Role, RoleSet},
    AccountId,
};
use consentry_runtime_wasm::WASM_BINARY;
use sc_service::ChainType;
use serde::Deserialize;
use sp_core::crypto::Ss58Codec;
use std::path::Path;

/// The chain spec type.
pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm() -> Result<&'static [u8], String> {
    WASM_BINARY.ok_or_else(|| "the runtime wasm was not built (SKIP_WASM_BUILD set?)".to_string())
}

/// One validator, Alice, with a sudo key and three example institutions.
pub fn development() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("Consentry Development")
        .with_id("consentry_dev")
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
        .build())
}

/// Four validators (Alice, Bob, Charlie, Dave) on one machine.
pub fn local() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("Consentry Local Testnet")
        .with_id("consentry_local")
        .with_chain_type(ChainType::Local)
        .with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
        .with_boot_nodes(vec![])
        .build())
}

/// A consortium's institutions file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumFile {
    /// Human-readable network name.
    pub name: String,
    /// Network id (used in database paths and protocol names).
    pub id: String,
    /// The founding institutions.
    pub institutions: Vec<InstitutionEntry>,
    /// Blocks per session (at least 1); default ten minutes. Shorter sessions apply
    /// validator-set changes sooner; each session costs one block of ordinary transactions.
    #[serde(default)]
    pub session_blocks: Option<u32>,
}

/// One founding institution.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionEntry {
    /// Display name.
    pub name: String,
    /// Roles: `DataCustodian`, `Researcher`, `Auditor`.
    pub roles: Vec<Role>,
    /// Governance account (council seat), SS58.
    pub governance: String,
    /// Worker and service keys, SS58.
    #[serde(default)]
    pub service_keys: Vec<String>,
    /// Validator keys, if the institution runs a validator.
    #[serde(default)]
    pub validator: Option<ValidatorEntry>,
}

/// A validator's keys and network identity.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    /// Aura (block authoring) sr25519 public key, SS58.
    pub aura: String,
    /// GRANDPA (finality) ed25519 public key, SS58.
    pub grandpa: String,
    /// libp2p peer id of the validator node (base58, `12D3KooW...`).
    pub peer_id: String,
}

fn account(field: &str, s: &str) -> Result<AccountId, String> {
    AccountId::from_ss58check(s)
        .map_err(|e| format!("{field}: `{s}` is not an SS58 account ({e:?})"))
}

/// Reads a consortium file and builds its chain spec (no sudo key: governance is the council).
pub fn consortium_from_file(path: &Path) -> Result<ChainSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: ConsortiumFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a consortium file: {e}", path.display()))?;
    if file.institutions.is_empty() {
        return Err("institutions: at least one institution is needed".into());
    }
    let mut setup = ChainSetup {
        authorities: vec![],
        council: vec![],
        sudo: None,
        institutions: vec![],
        nodes: vec![],
        session_length: match file.session_blocks {
            Some(0) => return Err("session_blocks: must be at least 1".into()),
            other => other,
        },
    };
    for (i, inst) in file.institutions.iter().enumerate() {
        let at = |f: &str| format!("institutions[{i}].{f}");
        let governance = account(&at("governance"), &inst.governance)?;
        setup.council.push(governance.clone());
        let keys = inst
            .service_keys
            .iter()
            .map(|k| account(&at("service_keys"), k))
            .collect::<Result<Vec<_>, _>>()?;
        if inst.roles.is_empty() {
            return Err(format!("{}: at least one role is needed", at("roles")));
        }
        setup.institutions.push((
            inst.name.clone().into_bytes(),
            RoleSet::of(&inst.roles),
            keys,
        ));
        if let Some(v) = &inst.validator {
            let aura = sp_core::sr25519::Public::from_ss58check(&v.aura).map_err(|e| {
                format!("{}: not an sr25519 SS58 key ({e:?})", at("validator.aura"))
            })?;
            let grandpa = sp_core::ed25519::Public::from_ss58check(&v.grandpa).map_err(|e| {
                format!(
                    "{}: not an ed25519 SS58 key ({e:?})",
                    at("validator.grandpa")
                )
            })?;
            let peer = bs58::decode(&v.peer_id)
                .into_vec()
                .map_err(|e| format!("{}: not a base58 peer id ({e})", at("validator.peer_id")))?;
            // The institution's governance account is its validator's account: it registers
            // the node's later session keys (`Session::set_keys`).
            setup
                .authorities
                .push((governance.clone(), aura.into(), grandpa.into()));
            setup.nodes.push((peer, governance));
        }
    }
    if setup.authorities.is_empty() {
        return Err("institutions: at least one institution must run a validator".into());
    }
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name(&file.name)
        .with_id(&file.id)
        .with_chain_type(ChainType::Live)
        .with_genesis_config_patch(consortium(setup))
        .build())
}

/// Resolves `--chain`: `dev`, `local`, a consortium file, or a chain spec file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
    Ok(match id {
        "dev" => Box::new(development()?),
        "" | "local" => Box::new(local()?),
        path => {
            let path = Path::new(path);
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .get("institutions")
                .is_some()
            {
                Box::new(consortium_from_file(path)?)
            } else {
                Box::new(ChainSpec::from_json_file(path.to_path_buf())?)
            }
        }
    })
}
