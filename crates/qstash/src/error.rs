//! The one error type of the QStash API, rendered once at the edge as `{"error": "..."}` with
//! its HTTP status.

use http::StatusCode;
use stashd_store::StoreError;

/// An API failure: a status and a message for the client.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message, rendered as `{"error": message}`.
    pub message: String,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::UNAUTHORIZED, message: message.into() }
    }

    /// 413 Payload Too Large.
    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::PAYLOAD_TOO_LARGE, message: message.into() }
    }

    /// 405 Method Not Allowed.
    pub fn method(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::METHOD_NOT_ALLOWED, message: message.into() }
    }

    /// 500: the store failed (the message says so; nothing the client sent was wrong).
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "error": self.message })).unwrap_or_default()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError { status: StatusCode::SERVICE_UNAVAILABLE, message: format!("store unavailable: {m}") },
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<crate::parse::ParseError> for ApiError {
    fn from(e: crate::parse::ParseError) -> Self {
        ApiError::bad(e.to_string())
    }
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
