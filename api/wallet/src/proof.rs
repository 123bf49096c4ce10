//! Storage proofs of access records, and their verification without trusting whoever served them.
//!
//! A [`ProofDoc`] is what the HTTP API serves at `GET /v1/access/{id}/proof`: the SCALE bytes of
//! `Audit::Records(subject, id)`, the trie nodes proving them and the block they were read at. The
//! API may be wrong or hostile, so nothing in the document is taken on its word:
//!
//! - the storage key is recomputed here from the subject and id ([`records_key`]), and the proven
//!   record must carry both (ids are unique, so naming the wrong subject proves nothing);
//! - the proof is checked against a state root the caller got from a node it chose
//!   ([`verify_proof`]), and the block hash and finality are checked against that node
//!   ([`verify_at_node`]);
//! - the record shown to the user is decoded from the proven bytes, never from `record_json`.

use codec::{Decode, Encode};
use consentry_client::subxt::utils::AccountId32;
use consentry_primitives::{AccessId, AccessRecord, NewestFirst, SubjectId};
use serde::{Deserialize, Serialize};
use sp_core::{
    hashing::{twox_128, twox_64},
    H256,
};
use std::fmt;

/// An access record as stored on chain (AccountId32 accounts, u32 block numbers).
pub type Record = AccessRecord<AccountId32, u32>;

/// Bytes that travel as `0x`-prefixed hex in JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HexBytes(pub Vec<u8>);

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let body = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(body)
            .map(HexBytes)
            .map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
    }
}

/// The proof document served by the API for one access record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProofDoc {
    /// The access record's id.
    pub id: AccessId,
    /// The record's subject (`None`: a denial whose pseudonym named no live patient), which the
    /// record is stored under.
    #[serde(default)]
    pub subject: Option<SubjectId>,
    /// The block whose state the proof was read at.
    pub block_number: u32,
    /// That block's hash.
    pub block_hash: H256,
    /// The block that recorded the request, where the API's index knows it.
    #[serde(default)]
    pub recorded_block_number: Option<u32>,
    /// That block's hash.
    #[serde(default)]
    pub recorded_block_hash: Option<H256>,
    /// The index of the extrinsic that created the record in its block, where known.
    #[serde(default)]
    pub extrinsic_index: Option<u32>,
    /// The storage key of `Audit::Records(subject, id)`.
    pub storage_key: HexBytes,
    /// The trie nodes of the read proof (`state_getReadProof`).
    pub proof: Vec<HexBytes>,
    /// The SCALE-encoded record: the storage value.
    pub record: HexBytes,
    /// The record as JSON, for display by clients that do not verify; never trusted here.
    #[serde(default)]
    pub record_json: Option<serde_json::Value>,
}

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The document names a storage key other than `Audit::Records(subject, id)`.
    #[error("the proof is for storage key {found}, not for Audit::Records({subject:?}, {id}) ({expected})")]
    WrongStorageKey {
        /// The subject in the document.
        subject: Option<SubjectId>,
        /// The id in the document.
        id: AccessId,
        /// The key computed from the subject and id.
        expected: String,
        /// The key in the document.
        found: String,
    },
    /// The trie nodes do not prove anything under the state root (a node was altered, missing or
    /// belongs to another state).
    #[error("the storage proof does not check out against the block's state root: {0}")]
    BadProof(String),
    /// The proof is valid and shows that the subject has no record with this id at that block.
    #[error("the proof shows no access record {1} of subject {0:?} exists at that block")]
    Absent(Option<SubjectId>, AccessId),
    /// The proven value differs from the `record` bytes in the document.
    #[error("the record in the document differs from the value proven on chain")]
    RecordMismatch,
    /// The proven bytes are not an access record.
    #[error("the proven value does not decode as an access record: {0}")]
    Undecodable(String),
    /// The decoded record carries another id or subject than its key.
    #[error("the proven record is {found:?}, not {expected:?} (subject, id)")]
    IdMismatch {
        /// The subject and id asked for.
        expected: (Option<SubjectId>, AccessId),
        /// The subject and id in the record.
        found: (Option<SubjectId>, AccessId),
    },
    /// The record claims to have been created after the block it was proven at.
    #[error("the record claims block {record_block}, after the proof's block {proof_block}")]
    BlockOrder {
        /// `record.block`.
        record_block: u32,
        /// The proof's block.
        proof_block: u32,
    },
    /// The proof's block is not final on the node.
    #[error("block #{block} is not finalized on the node (finalized head is #{finalized}); try again once it is")]
    NotFinalized {
        /// The proof's block number.
        block: u32,
        /// The node's finalized number.
        finalized: u32,
    },
    /// The node has another block (or none) at that height.
    #[error("the node's block #{number} is {node}, not {claimed} as the document says")]
    WrongBlockHash {
        /// The height.
        number: u32,
        /// What the document claims.
        claimed: String,
        /// What the node has (or "missing").
        node: String,
    },
    /// The document's `recorded_block_number` is not the block the proven record names.
    #[error("the document says the record was made in block #{claimed}, the proven record says #{proven}")]
    RecordedBlockMismatch {
        /// `recorded_block_number`.
        claimed: u32,
        /// `record.block`.
        proven: u32,
    },
    /// Talking to the node failed.
    #[error("node: {0}")]
    Node(String),
}

/// The storage key of `Audit::Records(subject, id)`: `twox128("Audit") ++ twox128("Records") ++
/// twox64(subject) ++ subject ++ NewestFirst(id)` (`Twox64Concat` over the SCALE `Option`, then
/// the id's newest-first bytes unhashed), computed here so a proof for another item cannot be
/// passed off as this record's.
pub fn records_key(subject: Option<SubjectId>, id: AccessId) -> Vec<u8> {
    let subject = subject.encode();
    let mut key = Vec::with_capacity(32 + 8 + subject.len() + 8);
    key.extend_from_slice(&twox_128(b"Audit"));
    key.extend_from_slice(&twox_128(b"Records"));
    key.extend_from_slice(&twox_64(&subject));
    key.extend_from_slice(&subject);
    key.extend_from_slice(&NewestFirst::of(id).encode());
    key
}

/// Checks `doc` against a state root the caller trusts (the `state_root` of the header of
/// `doc.block_hash`, fetched from the caller's own node) and returns the proven record.
pub fn verify_proof(doc: &ProofDoc, state_root: H256) -> Result<Record, VerifyError> {
    let key = records_key(doc.subject, doc.id);
    if doc.storage_key.0 != key {
        return Err(VerifyError::WrongStorageKey {
            subject: doc.subject,
            id: doc.id,
            expected: format!("0x{}", hex::encode(&key)),
            found: format!("0x{}", hex::encode(&doc.storage_key.0)),
        });
    }
    let nodes = doc.proof.iter().map(|n| n.0.clone());
    let proven = sp_state_machine::read_proof_check::<sp_runtime::traits::BlakeTwo256, _>(
        state_root,
        sp_trie::StorageProof::new(nodes),
        [key.as_slice()],
    )
    .map_err(|e| VerifyError::BadProof(e.to_string()))?;
    let value = proven
        .get(&key)
        .cloned()
        .flatten()
        .ok_or(VerifyError::Absent(doc.subject, doc.id))?;
    if value != doc.record.0 {
        return Err(VerifyError::RecordMismatch);
    }
    let record =
        Record::decode(&mut &value[..]).map_err(|e| VerifyError::Undecodable(e.to_string()))?;
    if (record.subject, record.id) != (doc.subject, doc.id) {
        return Err(VerifyError::IdMismatch {
            expected: (doc.subject, doc.id),
            found: (record.subject, record.id),
        });
    }
    if record.block > doc.block_number {
        return Err(VerifyError::BlockOrder {
            record_block: record.block,
            proof_block: doc.block_number,
        });
    }
    Ok(record)
}

/// What [`verify_at_node`] established.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// The proven record.
    pub record: Record,
    /// The block it was proven at.
    pub block_number: u32,
    /// That block's hash (as the node reports it).
    pub block_hash: H256,
    /// The node's finalized head number at the time of the check.
    pub finalized_number: u32,
    /// The state root the proof was checked against.
    pub state_root: H256,
}

/// Verifies `doc` with a node the caller trusts at `node_url`: the block is finalized there, the
/// node's block at that height has the document's hash, and the proof checks against that block's
/// state root.
pub async fn verify_at_node(doc: &ProofDoc, node_url: &str) -> Result<Verified, VerifyError> {
    use consentry_client::{
        subxt::backend::{legacy::LegacyRpcMethods, rpc::RpcClient},
        ConsentryConfig,
    };
    let node = |e: consentry_client::subxt::Error| VerifyError::Node(e.to_string());
    let rpc = RpcClient::from_insecure_url(node_url)
        .await
        .map_err(|e| VerifyError::Node(format!("--node {node_url}: cannot connect: {e}")))?;
    let legacy = LegacyRpcMethods::<ConsentryConfig>::new(rpc);
    let finalized_hash = legacy.chain_get_finalized_head().await.map_err(node)?;
    let finalized = legacy
        .chain_get_header(Some(finalized_hash))
        .await
        .map_err(node)?
        .ok_or_else(|| VerifyError::Node("the finalized head has no header".into()))?;
    if doc.block_number > finalized.number {
        return Err(VerifyError::NotFinalized {
            block: doc.block_number,
            finalized: finalized.number,
        });
    }
    let at_height = legacy
        .chain_get_block_hash(Some(doc.block_number.into()))
        .await
        .map_err(node)?;
    let claimed = H256(doc.block_hash.0);
    if at_height.map(|h| h.0) != Some(claimed.0) {
        return Err(VerifyError::WrongBlockHash {
            number: doc.block_number,
            claimed: format!("{claimed:?}"),
            node: at_height.map_or("missing".into(), |h| format!("{h:?}")),
        });
    }
    let header = legacy
        .chain_get_header(at_height)
        .await
        .map_err(node)?
        .ok_or_else(|| VerifyError::Node(format!("no header for block {claimed:?}")))?;
    let state_root = H256(header.state_root.0);
    let record = verify_proof(doc, state_root)?;
    // The optional pointers to where the record was made must agree with the proven record and
    // with the node, so an auditor following them lands on the right block.
    if let Some(claimed) = doc.recorded_block_number {
        if claimed != record.block {
            return Err(VerifyError::RecordedBlockMismatch {
                claimed,
                proven: record.block,
            });
        }
    }
    if let Some(claimed) = doc.recorded_block_hash {
        let node_hash = legacy
            .chain_get_block_hash(Some(record.block.into()))
            .await
            .map_err(node)?;
        if node_hash.map(|h| h.0) != Some(claimed.0) {
            return Err(VerifyError::WrongBlockHash {
                number: record.block,
                claimed: format!("{claimed:?}"),
                node: node_hash.map_or("missing".into(), |h| format!("{h:?}")),
            });
        }
    }
    Ok(Verified {
        record,
        block_number: doc.block_number,
        block_hash: claimed,
        finalized_number: finalized.number,
        state_root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_key_layout() {
        // twox128("Audit") and twox128("Records") are fixed 16-byte prefixes; then twox64 of the
        // subject's SCALE `Option`, the `Option` itself (Some(3): 0x01 and 3 as u64 LE) and
        // u64::MAX - 5 big-endian.
        let key = records_key(Some(3), 5);
        assert_eq!(key.len(), 16 + 16 + 8 + 9 + 8);
        assert_eq!(&key[40..49], &[1, 3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            &key[49..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfa]
        );
        // A subject's records share everything up to the id; other subjects differ before it.
        assert_eq!(records_key(Some(3), 5)[..49], records_key(Some(3), 6)[..49]);
        assert_ne!(records_key(Some(3), 5)[..40], records_key(Some(4), 5)[..40]);
        assert_eq!(records_key(Some(3), 5)[..32], records_key(None, 5)[..32]);
        // No subject: a one-byte `None`.
        assert_eq!(records_key(None, 5).len(), 16 + 16 + 8 + 1 + 8);
        assert_eq!(records_key(None, 5)[40], 0);
    }

    #[test]
    fn hex_bytes_round_trip_and_reject_garbage() {
        let v: HexBytes = serde_json::from_str("\"0x00ff\"").unwrap();
        assert_eq!(v.0, vec![0, 255]);
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"0x00ff\"");
        assert!(serde_json::from_str::<HexBytes>("\"0xzz\"").is_err());
    }

    #[test]
    fn reads_the_document_the_api_serves() {
        // The shape of `api/server/src/routes/chain.rs::ProofDoc`, hashes as `{:?}` prints them.
        let json = r#"{
            "id": 7, "subject": 3, "block_number": 42,
            "block_hash": "0x00000000000000000000000000000000000000000000000000000000000000ab",
            "recorded_block_number": 40,
            "recorded_block_hash": "0x00000000000000000000000000000000000000000000000000000000000000cd",
            "extrinsic_index": 1,
            "storage_key": "0x0102", "proof": ["0x03", "0x0405"], "record": "0x06",
            "record_json": {"id": 7}
        }"#;
        let doc: ProofDoc = serde_json::from_str(json).unwrap();
        assert_eq!((doc.id, doc.subject), (7, Some(3)));
        assert_eq!(doc.block_hash.0[31], 0xab);
        assert_eq!(doc.recorded_block_number, Some(40));
        assert_eq!(doc.recorded_block_hash.unwrap().0[31], 0xcd);
        assert_eq!(doc.proof, vec![HexBytes(vec![3]), HexBytes(vec![4, 5])]);
        // And back: the same shape.
        let again: serde_json::Value = serde_json::to_value(&doc).unwrap();
        let original: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(again, original);
    }
}
