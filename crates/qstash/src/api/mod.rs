//! The QStash HTTP API under `/v2/...`: the request as the router hands it over (raw,
//! unnormalised path and query), authentication (one check, before any route), routing, and
//! the JSON answers. Errors render once, here, as `{"error": "..."}` with their status.

mod query;
mod routes;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value as Json;

use crate::core::Qstash;
use crate::error::ApiError;

pub use query::Query;

/// One API request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// Method.
    pub method: Method,
    /// The raw path as it came on the request line (`/v2/publish/https://a.example/x`).
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The client's address.
    pub caller_ip: String,
}

/// One API answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status.
    pub status: StatusCode,
    /// JSON body (empty for endpoints whose body the SDKs ignore).
    pub body: Bytes,
}

impl ApiResponse {
    /// A JSON answer.
    pub fn json(status: StatusCode, v: &Json) -> Self {
        ApiResponse { status, body: Bytes::from(serde_json::to_vec(v).unwrap_or_default()) }
    }

    /// 200 with an empty body.
    pub fn ok_empty() -> Self {
        ApiResponse { status: StatusCode::OK, body: Bytes::new() }
    }

    fn error(e: &ApiError) -> Self {
        ApiResponse { status: e.status, body: Bytes::from(e.body()) }
    }
}

/// Constant-time equality of two tokens.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The one authentication check of the QStash face: the bearer token or `?qstash_token=`
/// must be the QStash token. (One principal today: the token grants the whole API.)
pub fn authenticate(q: &Qstash, headers: &HeaderMap, query: &Query) -> Result<(), ApiError> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let given = bearer.or_else(|| query.first("qstash_token"));
    match given {
        None => Err(ApiError::unauthorized("missing token: send Authorization: Bearer <QSTASH_TOKEN>")),
        Some(t) if same(t.as_bytes(), q.config().token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::unauthorized("invalid token")),
    }
}

/// Serves one request.
pub async fn handle(q: &Qstash, req: ApiRequest) -> ApiResponse {
    let query = Query::parse(req.query.as_deref().unwrap_or(""));
    // Workflow webhooks are called by third parties without the token: the URL (with its
    // run id and event id) is the capability.
    let webhook = req.path.starts_with("/v2/workflows/hooks/");
    if !webhook {
        if let Err(e) = authenticate(q, &req.headers, &query) {
            return ApiResponse::error(&e);
        }
    }
    match routes::route(q, &req, &query).await {
        Ok(r) => r,
        Err(e) => ApiResponse::error(&e),
    }
}
