//! RFC 9457 problem documents, as the API server writes them, so a site always learns why a
//! request was refused.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// An RFC 9457 `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `/problems/site-mismatch`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
}

/// Why the aggregator refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The body does not decode as the stage's message, or the path is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The TLS peer is not (or no longer) admitted: suspended or key rotated mid-connection.
    #[error("{0}")]
    PeerRefused(String),
    /// The TLS peer is admitted but is not a participant of this round.
    #[error("{0}")]
    NotAParticipant(String),
    /// The body names another site than the TLS peer's.
    #[error("{0}")]
    SiteMismatch(String),
    /// No round with that number is open here.
    #[error("{0}")]
    NoSuchRound(String),
    /// No model with that digest was published here.
    #[error("{0}")]
    UnknownModel(String),
    /// The stage this message belongs to is not open (not yet, or closed by its deadline).
    #[error("{0}")]
    WrongStage(String),
    /// The site is not in the set the requested data is for (e.g. dropped at an earlier stage).
    #[error("{0}")]
    Dropped(String),
    /// The secure-aggregation state machine refused the message.
    #[error("{0}")]
    Protocol(String),
    /// The round was aborted (too few sites); nothing more will happen in it.
    #[error("{0}")]
    Aborted(String),
    /// A server-side failure.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::PeerRefused(_) => (
                StatusCode::FORBIDDEN,
                "peer-refused",
                "TLS peer not admitted",
            ),
            ApiError::NotAParticipant(_) => (
                StatusCode::FORBIDDEN,
                "not-a-participant",
                "Institution not in this round",
            ),
            ApiError::SiteMismatch(_) => (
                StatusCode::FORBIDDEN,
                "site-mismatch",
                "Body names another site than the TLS peer",
            ),
            ApiError::NoSuchRound(_) => (StatusCode::NOT_FOUND, "no-such-round", "No such round"),
            ApiError::UnknownModel(_) => (StatusCode::NOT_FOUND, "unknown-model", "No such model"),
            ApiError::WrongStage(_) => (StatusCode::CONFLICT, "wrong-stage", "Stage not open"),
            ApiError::Dropped(_) => (StatusCode::CONFLICT, "dropped", "Site dropped from round"),
            ApiError::Protocol(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "protocol",
                "Refused by secure aggregation",
            ),
            ApiError::Aborted(_) => (StatusCode::GONE, "round-aborted", "Round aborted"),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            serde_json::to_vec(&problem).unwrap_or_default(),
        )
            .into_response()
    }
}
