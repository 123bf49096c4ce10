//! Genesis presets: `development` (one validator, Alice), `local_testnet` (four validators on one
//! machine) and [`consortium`], which the node fills from an institutions file.

use crate::{AccountId, BlockNumber, RuntimeGenesisConfig, SessionKeys};
use alloc::{vec, vec::Vec};
use consentry_primitives::{Role, RoleSet};
use core::str::FromStr;
use frame_support::build_struct_json_patch;
use pallet_grandpa::AuthorityId as GrandpaId;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// One institution at genesis: display name, roles, service keys.
pub type GenesisInstitution = (Vec<u8>, RoleSet, Vec<AccountId>);

/// Everything a chain's first block needs to know.
pub struct ChainSetup {
    /// The founding validators: each validator's account and its node's Aura and GRANDPA keys.
    /// Later changes go through governance (`ValidatorSet`) and `Session::set_keys`.
    pub authorities: Vec<(AccountId, AuraId, GrandpaId)>,
    /// Council members (one governance account per member institution).
    pub council: Vec<AccountId>,
    /// Sudo key: dev and test chains only; `None` in production.
    pub sudo: Option<AccountId>,
    /// Institutions with their roles and service keys.
    pub institutions: Vec<GenesisInstitution>,
    /// Nodes allowed to peer: libp2p peer id bytes and the owning account.
    pub nodes: Vec<(Vec<u8>, AccountId)>,
    /// Blocks per session; `None` keeps the runtime's default ([`crate::SESSION_LENGTH`]).
    pub session_length: Option<BlockNumber>,
}

/// The genesis patch for a chain set up this way.
pub fn consortium(setup: ChainSetup) -> Value {
    // Aura's and GRANDPA's own genesis authorities stay empty: the session pallet hands them
    // the founding validators' keys.
    let validators: Vec<AccountId> = setup.authorities.iter().map(|a| a.0.clone()).collect();
    let keys = setup
        .authorities
        .into_iter()
        .map(|(account, aura, grandpa)| (account.clone(), account, SessionKeys { aura, grandpa }))
        .collect::<Vec<_>>();
    build_struct_json_patch!(RuntimeGenesisConfig {
        validator_set: pallet_consentry_validators::GenesisConfig {
            validators,
            session_length: setup.session_length,
        },
        session: pallet_session::GenesisConfig { keys },
        sudo: pallet_sudo::GenesisConfig { key: setup.sudo },
        council_membership: pallet_membership::GenesisConfig {
            members: setup
                .council
                .try_into()
                .expect("at most 64 council members")
        },
        node_authorization: pallet_node_authorization::GenesisConfig {
            nodes: setup
                .nodes
                .into_iter()
                .map(|(peer, owner)| (sp_core::OpaquePeerId(peer), owner))
                .collect::<Vec<_>>(),
        },
        identity: pallet_consentry_identity::GenesisConfig {
            institutions: setup.institutions
        },
        // The keyless account council motions deploy contracts as; nothing else holds a token.
        balances: pallet_balances::GenesisConfig {
            balances: vec![(
                crate::contracts::Deployer::get(),
                crate::contracts::DEPLOYER_ENDOWMENT
            )],
        },
    })
}

/// A well-known dev account as a validator: its account and Aura (sr25519) and GRANDPA (ed25519)
/// keys, as `--alice` etc. put them into a node's keystore.
fn authority(name: &str) -> (AccountId, AuraId, GrandpaId) {
    let sr = Sr25519Keyring::from_str(name).expect("well-known sr25519 dev key");
    let ed = Ed25519Keyring::from_str(name).expect("well-known ed25519 dev key");
    (sr.to_account_id(), sr.public().into(), ed.public().into())
}

/// The well-known dev institutions: a hospital (custodian and researcher, worker key Bob), a
/// research institute (researcher, worker key Charlie) and an audit office (auditor, key Dave).
pub fn dev_institutions() -> Vec<GenesisInstitution> {
    vec![
        (
            b"St. Example University Hospital".to_vec(),
            RoleSet::of(&[Role::DataCustodian, Role::Researcher]),
            vec![Sr25519Keyring::Bob.to_account_id()],
        ),
        (
            b"Example Research Institute".to_vec(),
            RoleSet::of(&[Role::Researcher]),
            vec![Sr25519Keyring::Charlie.to_account_id()],
        ),
        (
            b"Example Audit Office".to_vec(),
            RoleSet::of(&[Role::Auditor]),
            vec![Sr25519Keyring::Dave.to_account_id()],
        ),
    ]
}

fn development() -> Value {
    consortium(ChainSetup {
        authorities: vec![authority("Alice")],
        council: vec![Sr25519Keyring::Alice.to_account_id()],
        sudo: Some(Sr25519Keyring::Alice.to_account_id()),
        institutions: dev_institutions(),
        nodes: vec![],
        session_length: None,
    })
}

fn local_testnet() -> Value {
    let validators = [
        Sr25519Keyring::Alice,
        Sr25519Keyring::Bob,
        Sr25519Keyring::Charlie,
        Sr25519Keyring::Dave,
    ];
    consortium(ChainSetup {
        authorities: ["Alice", "Bob", "Charlie", "Dave"]
            .into_iter()
            .map(authority)
            .collect(),
        council: validators.iter().map(|k| k.to_account_id()).collect(),
        sudo: Some(Sr25519Keyring::Alice.to_account_id()),
        institutions: dev_institutions(),
        nodes: LOCAL_NODE_PEER_IDS
            .iter()
            .zip(validators.iter())
            .map(|(peer, owner)| (peer.to_vec(), owner.to_account_id()))
            .collect(),
        session_length: Some(crate::TEST_SESSION_LENGTH),
    })
}

/// The libp2p peer ids (bytes) of the `local` network's four nodes, started with
/// `--node-key 000…01` … `000…04` (well-known test keys, like the dev accounts: never for a real
/// network). Node authorization admits only listed nodes, so the local network needs them.
pub const LOCAL_NODE_PEER_IDS: [[u8; 38]; 4] = [
    [
        0, 36, 8, 1, 18, 32, 76, 181, 171, 246, 173, 121, 251, 245, 171, 188, 202, 252, 194, 105,
        216, 92, 210, 101, 30, 212, 184, 133, 181, 134, 159, 36, 26, 237, 240, 165, 186, 41,
    ],
    [
        0, 36, 8, 1, 18, 32, 116, 34, 185, 136, 117, 152, 6, 142, 50, 196, 68, 138, 148, 154, 219,
        41, 13, 15, 78, 53, 185, 224, 27, 14, 229, 241, 161, 230, 0, 254, 38, 116,
    ],
    [
        0, 36, 8, 1, 18, 32, 243, 129, 98, 110, 65, 231, 2, 126, 164, 49, 191, 227, 0, 158, 148,
        189, 210, 90, 116, 107, 238, 196, 104, 148, 141, 108, 60, 124, 93, 201, 165, 75,
    ],
    [
        0, 36, 8, 1, 18, 32, 253, 80, 184, 227, 177, 68, 234, 36, 79, 191, 119, 55, 245, 80, 188,
        141, 208, 194, 101, 11, 188, 26, 173, 168, 51, 202, 23, 255, 141, 191, 50, 155,
    ],
];

/// The preset for `id`, serialized.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        sp_genesis_builder::DEV_RUNTIME_PRESET => development(),
        sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet(),
        _ => return None,
    };
    Some(
        serde_json::to_string(&patch)
            .expect("serializable genesis")
            .into_bytes(),
    )
}

/// The preset names this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
        PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}

/// Builds preset `id`'s genesis state into the current externalities, as a node's chain spec
/// would: the preset's patch merged over the default config (JSON objects key by key, anything
/// else replaced). For native tests and tools (the permission fuzz target) that need a preset's
/// state without a node.
#[cfg(feature = "std")]
pub fn build_preset_state(id: &str) -> Result<(), alloc::string::String> {
    use alloc::string::ToString;
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(base), Value::Object(patch)) => {
                for (k, v) in patch {
                    merge(base.entry(k).or_insert(Value::Null), v);
                }
            }
            (base, patch) => *base = patch,
        }
    }
    let preset = get_preset(&id.into()).ok_or_else(|| alloc::format!("no preset {id}"))?;
    let patch: Value = serde_json::from_slice(&preset).map_err(|e| e.to_string())?;
    let mut config =
        serde_json::to_value(RuntimeGenesisConfig::default()).map_err(|e| e.to_string())?;
    merge(&mut config, patch);
    frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
        serde_json::to_vec(&config).map_err(|e| e.to_string())?,
    )
}
