//! One error type for every handler. It becomes an RFC 9457 `application/problem+json` body, so
//! a client always gets a machine-readable reason and never a bare status line.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (relative to the API).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, and how to fix it.
    pub detail: String,
    /// The offending request field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    BadField { field: String, reason: String },
    /// The body, path or query could not be parsed at all.
    #[error("{0}")]
    BadRequest(String),
    /// No or an expired session.
    #[error("{0}")]
    Unauthenticated(String),
    /// The session's role may not see this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that id.
    #[error("{0}")]
    NotFound(String),
    /// The resource is not in a state that allows this (a stream session that is not open).
    #[error("{0}")]
    Conflict(String),
    /// The chain refused the transaction (pool validation or dispatch).
    #[error("{0}")]
    Rejected(String),
    /// A service this API forwards to (the institution's worker) failed or refused it.
    #[error("{0}")]
    BadGateway(String),
    /// The node or the database is unreachable; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("{0}")]
    Internal(String),
}

impl From<consentry_api_requests::FieldError> for ApiError {
    fn from(e: consentry_api_requests::FieldError) -> Self {
        ApiError::field(e.field, e.detail)
    }
}

impl ApiError {
    /// A field-level validation error.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::BadField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Wraps a failure talking to the node.
    pub fn node(e: impl std::fmt::Display) -> Self {
        ApiError::Unavailable(format!("node: {e}"))
    }

    /// Wraps a failure the client cannot fix.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadField { .. } => (StatusCode::BAD_REQUEST, "bad-field", "Invalid field"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Rejected(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                "Rejected by the chain",
            ),
            ApiError::BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                "bad-gateway",
                "Upstream service failed",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

/// Builds a problem response; also used by the fallbacks and the timeout layer.
pub fn problem(status: StatusCode, kind: &str, title: &str, detail: String) -> Response {
    problem_with_field(status, kind, title, detail, None)
}

fn problem_with_field(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: String,
    field: Option<String>,
) -> Response {
    let body = Problem {
        kind: format!("/problems/{kind}"),
        title: title.into(),
        status: status.as_u16(),
        detail,
        field,
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let detail = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "an internal error occurred; it has been logged".to_string()
            }
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, "dependency unavailable");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let field = match &self {
            ApiError::BadField { field, .. } => Some(field.clone()),
            _ => None,
        };
        problem_with_field(status, kind, title, detail, field)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::BadRequest(format!("request body: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(format!("query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(format!("path: {}", r.body_text()))
    }
}

/// `Json`, `Query` and `Path` whose rejections are problem documents, not plain text.
pub mod extract {
    use super::ApiError;
    use axum::extract::{FromRequest, FromRequestParts};

    /// A JSON body.
    #[derive(FromRequest)]
    #[from_request(via(axum::Json), rejection(ApiError))]
    pub struct Json<T>(pub T);

    /// A query string.
    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Query), rejection(ApiError))]
    pub struct Query<T>(pub T);

    /// Path parameters.
    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Path), rejection(ApiError))]
    pub struct Path<T>(pub T);
}
