//! The one error type of the Vector service: an HTTP status and the message the SDKs show.
//! It is rendered once, at the API edge, as `{"error": "...", "status": n}`.

use http::StatusCode;

/// An error answered to a Vector client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct VectorError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message (Upstash's text where the reference gives one).
    pub message: String,
}

impl VectorError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        VectorError { status, message: message.into() }
    }

    /// 400: the request cannot be executed as sent.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422: well-formed but unusable input (wrong dimension, data on an index without a model).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 404: no such index, namespace or resumable query.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401 with Upstash's text.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized: Invalid auth token")
    }

    /// 403: a read-only token tried to write.
    pub fn read_only(command: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, format!("Forbidden: the read-only token cannot run {command}; use the index's read-write token"))
    }

    /// 503: the store is not available (recovering, failing).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl From<stashd_store::StoreError> for VectorError {
    fn from(e: stashd_store::StoreError) -> Self {
        VectorError::unavailable(format!("storage error: {e}"))
    }
}

impl From<crate::index::IndexError> for VectorError {
    fn from(e: crate::index::IndexError) -> Self {
        match e {
            crate::index::IndexError::Dimension { .. } => VectorError::unprocessable(e.to_string()),
            other => VectorError::bad_request(other.to_string()),
        }
    }
}

/// Results of the Vector service.
pub type VResult<T> = Result<T, VectorError>;
