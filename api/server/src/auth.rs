//! Sessions by signed challenge. The caller asks for a one-time sign-in message
//! (`consentry-signin`: this API's origin, the caller's account, the chain's genesis hash, a nonce
//! and its times), signs its `<Bytes>…</Bytes>` form with its chain key (sr25519, as a wallet or
//! polkadot.js `signRaw` would), and gets a bearer token whose session carries the identity the
//! chain gives that key at the finalized head: an institution's service key (an auditor if the
//! institution holds the `Auditor` role) or a patient's account. The API keeps no user table: the
//! ledger is the directory, and it is asked again while a session lives
//! ([`IDENTITY_RECHECK`]), so a suspended institution, an auditor that lost the role or an erased
//! patient loses access within a block.
//!
//! Only accounts with an identity on the chain get challenges, at most
//! [`MAX_CHALLENGES_PER_ACCOUNT`] pending and [`MAX_SESSIONS_PER_ACCOUNT`] open each (the oldest
//! gives way), so the tables are bounded by the chain's own directory, not by what callers send.

use crate::{error::ApiError, AppState};
use axum::{extract::FromRequestParts, http::request::Parts};
use consentry_api_requests::{Body, SessionRequest, SignedChallenge};
use consentry_client::{
    runtime,
    subxt::utils::AccountId32,
    subxt_signer::sr25519::{self, PublicKey, Signature},
};
use consentry_primitives::{InstitutionId, Role, SubjectId};
use consentry_signin::SignInMessage;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use utoipa::ToSchema;

/// How long a challenge may wait for its signature.
const CHALLENGE_TTL: Duration = Duration::from_secs(120);
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(3600);
/// How long a session trusts the identity it last read from the chain (about one block).
pub const IDENTITY_RECHECK: Duration = Duration::from_secs(6);
/// Pending challenges per account; a newer request evicts the oldest.
pub const MAX_CHALLENGES_PER_ACCOUNT: usize = 4;
/// Open sessions per account; a newer sign-in ends the oldest.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 16;
/// A last bound on each table, whatever the chain's directory holds.
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
    /// Its on-chain identity, as last read from the finalized head.
    pub identity: Identity,
    /// The bearer token (to end the session).
    pub token: String,
    opened: Instant,
    expires: Instant,
    checked: Instant,
}

/// Pending challenges and live sessions of one API, which signs in for one origin and one chain.
pub struct Sessions {
    origin: String,
    genesis: [u8; 32],
    challenges: Mutex<HashMap<String, (AccountId32, Instant)>>,
    sessions: Mutex<HashMap<String, Session>>,
}

/// A challenge to sign.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// The sign-in message (`consentry-signin`). Sign its UTF-8 bytes wrapped as
    /// `<Bytes>…</Bytes>` (polkadot.js `signRaw`); a signature over the bare text is refused.
    pub challenge: String,
    /// Seconds until it expires.
    pub expires_in: u64,
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

/// The client library's spelling of an account the request parsers return.
pub fn client_account(a: sp_runtime::AccountId32) -> AccountId32 {
    AccountId32(a.into())
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Makes room for one more entry of an account: `age` gives the time of that account's entries
/// (`None` for others'); while it holds `keep` or more, its oldest give way.
fn evict_oldest<V>(
    table: &mut HashMap<String, V>,
    keep: usize,
    age: impl Fn(&V) -> Option<Instant>,
) {
    let mut mine: Vec<(Instant, String)> = table
        .iter()
        .filter_map(|(k, v)| age(v).map(|t| (t, k.clone())))
        .collect();
    if mine.len() < keep {
        return;
    }
    mine.sort();
    let excess = mine.len() + 1 - keep;
    for (_, k) in mine.into_iter().take(excess) {
        table.remove(&k);
    }
}

impl Sessions {
    /// Sessions for the API at `origin` (`scheme://host[:port]`, as its users reach it) on the
    /// chain with `genesis`.
    pub fn new(origin: String, genesis: [u8; 32]) -> Sessions {
        Sessions {
            origin,
            genesis,
            challenges: Mutex::default(),
            sessions: Mutex::default(),
        }
    }

    /// Issues a one-time challenge for `account` (whose identity the caller has checked).
    pub fn challenge(&self, account: AccountId32) -> Result<Challenge, ApiError> {
        let now = Instant::now();
        let mut pending = self.challenges.lock().expect("lock");
        pending.retain(|_, (_, exp)| *exp > now);
        evict_oldest(&mut pending, MAX_CHALLENGES_PER_ACCOUNT, |(a, exp)| {
            (*a == account).then_some(*exp)
        });
        if pending.len() >= MAX_PENDING {
            return Err(ApiError::Unavailable(
                "too many pending challenges; retry shortly".into(),
            ));
        }
        let issued_at = unix_now();
        let message = SignInMessage {
            origin: self.origin.clone(),
            account: account.to_string(),
            genesis: self.genesis,
            nonce: random32(),
            issued_at,
            expires_at: issued_at + CHALLENGE_TTL.as_secs(),
        };
        let text = message.to_string();
        pending.insert(text.clone(), (account, now + CHALLENGE_TTL));
        Ok(Challenge {
            challenge: text,
            expires_in: CHALLENGE_TTL.as_secs(),
        })
    }

    /// Checks the signature over a pending challenge and consumes it.
    pub fn redeem(&self, req: &SessionRequest) -> Result<AccountId32, ApiError> {
        let SignedChallenge { account, signature } = req.parse()?;
        let account = client_account(account);
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
        // Only the wrapped form: bare bytes chosen by a server could be a transaction payload.
        let signed = consentry_signin::wrap(&req.challenge);
        if !sr25519::verify(&Signature(signature), &signed, &PublicKey(account.0)) {
            return Err(ApiError::Unauthenticated(
                "signature does not verify for this account over `<Bytes>challenge</Bytes>` \
                 (a signature over the bare text is not accepted)"
                    .into(),
            ));
        }
        Ok(account)
    }

    /// Opens a session and returns its token.
    pub fn open(&self, account: AccountId32, identity: Identity) -> SessionGranted {
        let token = hex::encode(random32());
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("lock");
        sessions.retain(|_, s| s.expires > now);
        evict_oldest(&mut sessions, MAX_SESSIONS_PER_ACCOUNT, |s| {
            (s.account == account).then_some(s.opened)
        });
        sessions.insert(
            token.clone(),
            Session {
                account,
                identity: identity.clone(),
                token: token.clone(),
                opened: now,
                expires: now + SESSION_TTL,
                checked: now,
            },
        );
        SessionGranted {
            token,
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

    fn rechecked(&self, token: &str) {
        if let Some(s) = self.sessions.lock().expect("lock").get_mut(token) {
            s.checked = Instant::now();
        }
    }

    /// Ends the session of `token`; whether there was one.
    pub fn close(&self, token: &str) -> bool {
        self.sessions.lock().expect("lock").remove(token).is_some()
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
        let token = token.trim();
        let session = state
            .sessions
            .get(token)
            .ok_or_else(|| ApiError::Unauthenticated("unknown or expired session token".into()))?;
        if session.checked.elapsed() < IDENTITY_RECHECK {
            return Ok(session);
        }
        // The chain is the directory: ask it again. A changed or lost identity ends the session
        // (it must not keep rights the chain no longer gives, nor gain ones it never had).
        match identity_of(state, &session.account).await {
            Ok(now) if now == session.identity => {
                state.sessions.rechecked(token);
                Ok(session)
            }
            Ok(now) => {
                state.sessions.close(token);
                Err(ApiError::Unauthenticated(format!(
                    "the chain now gives this key another identity ({now:?}, was {:?}); sign in again",
                    session.identity
                )))
            }
            Err(ApiError::Forbidden(why)) => {
                state.sessions.close(token);
                Err(ApiError::Unauthenticated(format!("session ended: {why}")))
            }
            Err(e) => Err(e),
        }
    }
}
