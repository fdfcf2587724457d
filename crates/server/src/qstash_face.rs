//! The QStash face: `/v2/...` requests with their raw, unnormalised path and query, handed to
//! `stashd_qstash::api` (which authenticates, routes and renders `{"error": ...}` itself).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use http::{Request, StatusCode};
use hyper::body::Incoming;
use stashd_qstash::api::{self, ApiRequest};
use stashd_qstash::Qstash;

use crate::http::{full, read_body, HttpResponse};

/// The service once it is open (it answers 503 while the store recovers).
pub type QstashSlot = Arc<OnceLock<Qstash>>;

fn error(status: StatusCode, msg: &str) -> HttpResponse {
    full(status, "application/json", serde_json::to_vec(&serde_json::json!({ "error": msg })).unwrap_or_default())
}

/// Serves one `/v2/...` request.
pub async fn handle(slot: &QstashSlot, req: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
    let Some(q) = slot.get() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "QStash is starting: its store is being recovered");
    };
    let (parts, body) = req.into_parts();
    // Room for a batch of bodies at the limit is the batch's business; the whole request is
    // bounded by a few times the message limit.
    let limit = q.config().max_body.saturating_mul(4).saturating_add(64 * 1024);
    let Some(body) = read_body(&parts.headers, body, limit).await else {
        let msg = format!("request body too large: the limit is {} bytes per message", q.config().max_body);
        return error(StatusCode::PAYLOAD_TOO_LARGE, &msg);
    };
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts.headers,
        body,
        caller_ip: peer.ip().to_string(),
    };
    let resp = api::handle(q, request).await;
    full(resp.status, "application/json", resp.body)
}
