//! What must come from the chain itself, not from the index: storage proofs an auditor can check
//! against a header it fetches on its own, live consent decisions, and the relay that forwards
//! wallet-signed extrinsics to the node.

use crate::{
    auth::{client_account, Identity, Session},
    error::{
        extract::{Json, Path},
        ApiError, Problem,
    },
    routes::ledger::{may_see, owner},
    AppState,
};
use axum::extract::State;
use codec::Decode;
use consentry_api_requests::{Body, DecisionQuery, DecisionRequest, RelayRequest};
use consentry_client::{runtime, subxt::utils::AccountId32, subxt::utils::Static};
use consentry_primitives::{AccessRecord, Decision, NewestFirst, SubjectRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A storage proof of one access record at a finalized block: everything `consentry audit
/// verify` needs besides a header it fetches from a node itself.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProofDoc {
    /// The access record's id.
    pub id: u64,
    /// The record's subject, which it is stored under (`None`: a denial whose pseudonym named no
    /// live patient).
    pub subject: Option<u64>,
    /// The finalized block whose state the proof is taken from.
    pub block_number: u32,
    /// That block's hash.
    pub block_hash: String,
    /// The block that recorded the request.
    pub recorded_block_number: Option<u32>,
    /// Its hash.
    pub recorded_block_hash: Option<String>,
    /// The index of the extrinsic that recorded the request, within that block.
    pub extrinsic_index: Option<u32>,
    /// The storage key of `Audit::Records(subject, id)`.
    pub storage_key: String,
    /// The trie nodes of the proof, hex.
    pub proof: Vec<String>,
    /// The SCALE-encoded record value the proof proves.
    pub record: String,
    /// The same record, decoded, for people.
    #[schema(value_type = Object)]
    pub record_json: serde_json::Value,
}

/// A storage proof of an access record at the finalized head.
#[utoipa::path(get, path = "/v1/access/{id}/proof", tag = "audit",
    params(("id" = u64, Path, description = "Access record id")),
    security(("bearer" = [])),
    responses((status = 200, body = ProofDoc), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn proof(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<u64>,
) -> Result<axum::Json<ProofDoc>, ApiError> {
    // The chain stores a record under its subject; the index knows every finalized record's. Asked
    // before the head is read, so the record's block is at or below the head proven at.
    let indexed = state
        .store
        .access_record(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no access record {id} in the index (a record is indexed once its block is final)"
            ))
        })?;
    let hash = state
        .rpc
        .chain_get_finalized_head()
        .await
        .map_err(ApiError::node)?;
    let header = state
        .rpc
        .chain_get_header(Some(hash))
        .await
        .map_err(ApiError::node)?
        .ok_or_else(|| ApiError::node("finalized header missing"))?;
    let address = runtime::storage()
        .audit()
        .records(indexed.subject, Static(NewestFirst::of(id)));
    let key = state
        .client
        .storage()
        .address_bytes(&address)
        .map_err(ApiError::internal)?;
    let raw = state
        .client
        .storage()
        .at(hash)
        .fetch_raw(key.clone())
        .await
        .map_err(ApiError::node)?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "access record {id} is indexed but not on the chain at the finalized head"
            ))
        })?;
    let record = AccessRecord::<AccountId32, u32>::decode(&mut &raw[..])
        .map_err(|e| ApiError::internal(format!("record {id} does not decode: {e}")))?;
    let owner = owner(&state.store, record.subject, &hex::encode(record.pseudonym)).await?;
    if !may_see(&session.identity, record.institution, owner) {
        return Err(ApiError::Forbidden(format!(
            "access record {id} is not yours to see"
        )));
    }
    let read = state
        .rpc
        .state_get_read_proof([key.as_slice()], Some(hash))
        .await
        .map_err(ApiError::node)?;
    Ok(axum::Json(ProofDoc {
        id,
        subject: indexed.subject,
        block_number: header.number,
        block_hash: format!("{hash:?}"),
        recorded_block_number: Some(indexed.block_number),
        recorded_block_hash: Some(indexed.block_hash),
        extrinsic_index: indexed.extrinsic_index,
        storage_key: format!("0x{}", hex::encode(&key)),
        proof: read
            .proof
            .iter()
            .map(|n| format!("0x{}", hex::encode(&n.0)))
            .collect(),
        record: format!("0x{}", hex::encode(&raw)),
        record_json: serde_json::to_value(&record).map_err(ApiError::internal)?,
    }))
}

/// The chain's decision.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecisionResponse {
    /// `permit` or `deny`.
    pub decision: String,
    /// The subject, when the pseudonym resolved.
    pub subject: Option<u64>,
    /// The consents that permit it.
    pub consents: Vec<u64>,
    /// Why it was denied: the deny reason's canonical name (`no_consent`, `revoked`,
    /// `purpose_not_covered`, ...), as in the access records.
    pub reason: Option<String>,
    /// The finalized block the decision was taken at.
    pub block_hash: String,
}

/// What the chain would decide now (at the finalized head) for an access request. Nothing is
/// recorded: a real access goes through the worker's `request_access`.
#[utoipa::path(post, path = "/v1/decision", tag = "consent",
    request_body = DecisionRequest, security(("bearer" = [])),
    responses((status = 200, body = DecisionResponse), (status = 400, body = Problem),
        (status = 403, body = Problem)))]
pub async fn decision(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<DecisionRequest>,
) -> Result<axum::Json<DecisionResponse>, ApiError> {
    let DecisionQuery {
        pseudonym,
        purpose,
        categories,
        accessor,
    } = req.parse()?;
    let accessor = match (&session.identity, accessor.map(client_account)) {
        (_, None) => session.account.clone(),
        (Identity::Auditor { .. }, Some(a)) => a,
        (Identity::Institution { .. }, Some(a)) => {
            if a != session.account {
                return Err(ApiError::Forbidden(
                    "institutions may only ask decisions for their own key".into(),
                ));
            }
            a
        }
        (Identity::Patient { .. }, Some(_)) => {
            return Err(ApiError::Forbidden(
                "patients cannot ask decisions for an accessor".into(),
            ))
        }
    };
    if matches!(session.identity, Identity::Patient { .. }) {
        return Err(ApiError::Forbidden(
            "decisions are asked by institutions and auditors".into(),
        ));
    }
    let hash = state
        .rpc
        .chain_get_finalized_head()
        .await
        .map_err(ApiError::node)?;
    let decision = state
        .client
        .runtime_api()
        .at(hash)
        .call(runtime::apis().consent_api().decide(
            Static(SubjectRef::Pseudonym(pseudonym)),
            accessor,
            Static(purpose),
            Static(categories),
            None,
        ))
        .await
        .map_err(ApiError::node)?;
    let block_hash = format!("{hash:?}");
    Ok(axum::Json(match decision.0 {
        Decision::Permit { subject, consents } => DecisionResponse {
            decision: "permit".into(),
            subject: Some(subject),
            consents,
            reason: None,
            block_hash,
        },
        Decision::Deny { subject, reason } => DecisionResponse {
            decision: "deny".into(),
            subject,
            consents: vec![],
            reason: Some(reason.name().into()),
            block_hash,
        },
    }))
}

/// Accepted into the node's pool.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RelayResponse {
    /// The extrinsic's hash.
    pub hash: String,
}

/// Forwards an extrinsic a wallet signed to the node's transaction pool. The API adds nothing and
/// holds no key; the chain's permission check decides, exactly as for a direct submission. It is
/// asked first, through the runtime's own `TaggedTransactionQueue::validate_transaction` at the
/// best block, so what the pool would refuse (an unknown signer, a call the signer may not make,
/// a stale nonce) is refused here with the reason and never reaches the node's pool.
#[utoipa::path(post, path = "/v1/relay", tag = "chain", request_body = RelayRequest,
    responses((status = 200, body = RelayResponse), (status = 400, body = Problem),
        (status = 422, body = Problem)))]
pub async fn relay(
    State(state): State<AppState>,
    Json(req): Json<RelayRequest>,
) -> Result<axum::Json<RelayResponse>, ApiError> {
    let bytes = req.parse()?;
    validate(&state, &bytes).await?;
    match state.rpc.author_submit_extrinsic(&bytes).await {
        Ok(hash) => Ok(axum::Json(RelayResponse {
            hash: format!("{hash:?}"),
        })),
        // The node answers a JSON-RPC error for anything the pool refuses or cannot decode.
        Err(consentry_client::subxt::Error::Rpc(e)) => Err(ApiError::Rejected(format!(
            "the node refused the extrinsic: {e}"
        ))),
        Err(e) => Err(ApiError::node(e)),
    }
}

/// What the pool's validation says of `extrinsic` at the best block.
async fn validate(state: &AppState, extrinsic: &[u8]) -> Result<(), ApiError> {
    use sp_runtime::transaction_validity::{
        InvalidTransaction, TransactionSource, TransactionValidity, TransactionValidityError,
    };
    let best = state
        .rpc
        .chain_get_block_hash(None)
        .await
        .map_err(ApiError::node)?
        .ok_or_else(|| ApiError::Unavailable("node: no best block".into()))?;
    // The runtime API's arguments: (source, extrinsic, block hash); the extrinsic's own encoding
    // is what the wallet sent.
    let mut args = codec::Encode::encode(&TransactionSource::External);
    args.extend_from_slice(extrinsic);
    args.extend_from_slice(best.as_ref());
    let validity: TransactionValidity = state
        .client
        .runtime_api()
        .at(best)
        .call_raw("TaggedTransactionQueue_validate_transaction", Some(&args))
        .await
        .map_err(|e| match e {
            // The runtime could not decode it: not an extrinsic of this chain.
            consentry_client::subxt::Error::Rpc(e) => {
                tracing::debug!(error = %e, "relay: the runtime could not validate the extrinsic");
                ApiError::field(
                    "extrinsic",
                    "not a well-formed signed extrinsic of this chain (the runtime could not decode it)",
                )
            }
            e => ApiError::node(e),
        })?;
    match validity {
        Ok(_) => Ok(()),
        // A nonce ahead of the best block's: the pool keeps it until its predecessors land.
        Err(TransactionValidityError::Invalid(InvalidTransaction::Future)) => Ok(()),
        Err(e) => Err(ApiError::Rejected(format!(
            "the transaction pool would refuse this extrinsic: {e:?}"
        ))),
    }
}
