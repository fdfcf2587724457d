//! The Vector face: `/vector/{index}/...` (the SDKs' data API) and `/v2/vector/...` (the
//! Developer API), handed to `stashd_vector::api`, which authenticates, routes and renders.

use std::sync::{Arc, OnceLock};

use http::{Request, StatusCode};
use hyper::body::Incoming;
use stashd_vector::api::{self, ApiRequest};
use stashd_vector::Vector;

use crate::http::{full, read_body, HttpResponse};

/// The service once it is open (it answers 503 while its indexes load).
pub type VectorSlot = Arc<OnceLock<Vector>>;

fn error(status: StatusCode, msg: &str) -> HttpResponse {
    let body = serde_json::json!({ "error": msg, "status": status.as_u16() });
    full(status, "application/json", body.to_string())
}

/// Whether a path belongs to this face.
pub fn owns(path: &str) -> bool {
    path.starts_with("/vector/") || path == "/vector" || path.starts_with("/v2/vector/") || path == "/v2/vector"
}

/// Serves one request.
pub async fn handle(slot: &VectorSlot, req: Request<Incoming>, max_body: usize) -> HttpResponse {
    let Some(v) = slot.get() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "Vector is starting: its indexes are being loaded");
    };
    let (parts, body) = req.into_parts();
    let Some(body) = read_body(&parts.headers, body, max_body).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body too large: the limit is {max_body} bytes"));
    };
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts.headers,
        body,
    };
    let resp = api::handle(v, request).await;
    full(resp.status, "application/json", resp.body)
}
