//! Sessions by signed challenge. The caller asks for a one-time challenge, signs it with its chain
//! key (sr25519, as a wallet or polkadot.js `signRaw` would), and gets a bearer token whose session
//! carries the identity the chain gives that key at the finalized head: an institution's service
//! key (an auditor if the institution holds the `Auditor` role) or a patient's account. The API
//! keeps no user table: the ledger is the directory.

use crate::{error::ApiError, AppState};
use axum::{extract::FromRequestParts, http::request::Parts};
use consentry_client::{
    runtime,
    subxt::utils::AccountId32,
    subxt_signer::sr25519::{self, PublicKey, Signature},
};
use consentry_primitives::{InstitutionId, Role, SubjectId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    str::FromStr,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use utoipa::ToSchema;

/// How long a challenge may wait for its signature.
const CHALLENGE_TTL: Duration = Duration::from_secs(120);
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(3600);
/// Bounds the in-memory tables so an unauthenticated caller cannot grow them without limit.
const MAX_PENDING: usize = 100_000;

/// Who the chain says the caller is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Identity {
    /// A patient (the account that claimed the subject).
    Patient { subject: SubjectId },
    /// An institution's service key.
    Institution { institution: InstitutionId },
    /// A service key of an institution with the `Auditor` role: sees everything.
    Auditor { institution: InstitutionId },
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Session {
    /// The account that signed the challenge.
    pub account: AccountId32,
    /// Its on-chain identity when the session began.
    pub identity: Identity,
    expires: Instant,
}

/// Pending challenges and live sessions.
#[derive(Default)]
pub struct Sessions {
    challenges: Mutex<HashMap<String, (AccountId32, Instant)>>,
    sessions: Mutex<HashMap<String, Session>>,
}

/// `POST /v1/auth/challenge` body.
#[derive(Deserialize, ToSchema)]
pub struct ChallengeRequest {
    /// The caller's account, SS58.
    pub account: String,
}

/// A challenge to sign.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// The exact text to sign (UTF-8 bytes; a `<Bytes>…</Bytes>` wrapper is also accepted).
    pub challenge: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// `POST /v1/auth/session` body.
#[derive(Deserialize, ToSchema)]
pub struct SessionRequest {
    /// The account that signs, SS58.
    pub account: String,
    /// The challenge text as received.
    pub challenge: String,
    /// The sr25519 signature, hex (64 bytes).
    pub signature: String,
}

/// A new session.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SessionGranted {
    /// Bearer token for the `Authorization` header.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Who the chain says the caller is.
    pub identity: Identity,
}

/// Parses an SS58 account, naming the field on failure.
pub fn parse_account(field: &str, s: &str) -> Result<AccountId32, ApiError> {
    AccountId32::from_str(s.trim())
        .map_err(|_| ApiError::field(field, format!("'{s}' is not an SS58 account address")))
}

/// Parses `0x`-prefixed or bare hex of an exact length.
pub fn parse_hex<const N: usize>(field: &str, s: &str) -> Result<[u8; N], ApiError> {
    let raw = hex::decode(s.trim().trim_start_matches("0x"))
        .map_err(|e| ApiError::field(field, format!("not hex: {e}")))?;
    raw.try_into().map_err(|v: Vec<u8>| {
        ApiError::field(field, format!("expected {N} bytes, got {}", v.len()))
    })
}

fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// Issues a one-time challenge for `account`.
    pub fn challenge(&self, account: AccountId32) -> Result<Challenge, ApiError> {
        let now = Instant::now();
        let mut pending = self.challenges.lock().expect("lock");
        pending.retain(|_, (_, exp)| *exp > now);
        if pending.len() >= MAX_PENDING {
            return Err(ApiError::Unavailable(
                "too many pending challenges; retry shortly".into(),
            ));
        }
        let issued = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        // The text names the service and the account, so a signature cannot be replayed
        // elsewhere or by another account.
        let text = format!("consentry-auth:{account}:{issued}:{}", token());
        pending.insert(text.clone(), (account, now + CHALLENGE_TTL));
        Ok(Challenge {
            challenge: text,
            expires_in: CHALLENGE_TTL.as_secs(),
        })
    }

    /// Checks the signature over a pending challenge and consumes it.
    pub fn redeem(&self, req: &SessionRequest) -> Result<AccountId32, ApiError> {
        let account = parse_account("account", &req.account)?;
        let sig = parse_hex::<64>("signature", &req.signature)?;
        let (owner, expires) = self
            .challenges
            .lock()
            .expect("lock")
            .remove(&req.challenge)
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "unknown or already used challenge; ask for a new one".into(),
                )
            })?;
        if expires < Instant::now() {
            return Err(ApiError::Unauthenticated(
                "challenge expired; ask for a new one".into(),
            ));
        }
        if owner != account {
            return Err(ApiError::field(
                "account",
                "the challenge was issued to another account",
            ));
        }
        let public = PublicKey(account.0);
        let wrapped = format!("<Bytes>{}</Bytes>", req.challenge);
        let ok = sr25519::verify(&Signature(sig), req.challenge.as_bytes(), &public)
            || sr25519::verify(&Signature(sig), wrapped.as_bytes(), &public);
        if !ok {
            return Err(ApiError::Unauthenticated(
                "signature does not verify for this account and challenge".into(),
            ));
        }
        Ok(account)
    }

    /// Opens a session and returns its token.
    pub fn open(&self, account: AccountId32, identity: Identity) -> SessionGranted {
        let t = token();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("lock");
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            t.clone(),
            Session {
                account,
                identity: identity.clone(),
                expires: now + SESSION_TTL,
            },
        );
        SessionGranted {
            token: t,
            expires_in: SESSION_TTL.as_secs(),
            identity,
        }
    }

    fn get(&self, token: &str) -> Option<Session> {
        let sessions = self.sessions.lock().expect("lock");
        sessions
            .get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }
}

/// Looks up the identity the chain gives `account` at the finalized head.
pub async fn identity_of(state: &AppState, account: &AccountId32) -> Result<Identity, ApiError> {
    let hash = state
        .rpc
        .chain_get_finalized_head()
        .await
        .map_err(ApiError::node)?;
    let storage = state.client.storage().at(hash);
    let key = storage
        .fetch(&runtime::storage().identity().service_keys(account.clone()))
        .await
        .map_err(ApiError::node)?;
    if let Some(institution) = key {
        let inst = storage
            .fetch(&runtime::storage().identity().institutions(institution))
            .await
            .map_err(ApiError::node)?
            .ok_or_else(|| ApiError::internal("service key of a missing institution"))?;
        use runtime::runtime_types::pallet_consentry_identity::types::InstitutionStatus;
        if !matches!(inst.status, InstitutionStatus::Active) {
            return Err(ApiError::Forbidden(format!(
                "institution {institution} is not active"
            )));
        }
        return Ok(if inst.roles.0.contains(Role::Auditor) {
            Identity::Auditor { institution }
        } else {
            Identity::Institution { institution }
        });
    }
    let subject = storage
        .fetch(
            &runtime::storage()
                .identity()
                .subject_of_account(account.clone()),
        )
        .await
        .map_err(ApiError::node)?;
    match subject {
        Some(subject) => Ok(Identity::Patient { subject }),
        None => Err(ApiError::Forbidden(
            "this account has no identity on the chain (not a service key, not a claimed patient)"
                .into(),
        )),
    }
}

#[axum::async_trait]
impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "missing `Authorization: Bearer <token>`; get one from /v1/auth/challenge and /v1/auth/session".into(),
                )
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated("Authorization must be `Bearer <token>`".into())
            })?;
        state
            .sessions
            .get(token.trim())
            .ok_or_else(|| ApiError::Unauthenticated("unknown or expired session token".into()))
    }
}
