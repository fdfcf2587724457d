//! The HTTP API of Vector: `/vector/{index}/{command}[/{namespace}]` (what `@upstash/vector`
//! and `upstash-vector` call, one base URL per index) and the Developer API's
//! `/v2/vector/index...` (see [`admin`]). Authentication, routing and rendering happen here;
//! errors render once, as `{"error": "...", "status": n}`.

pub mod admin;
pub mod parse;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{VResult, VectorError};
use crate::ops::Found;
use crate::service::{IndexHandle, Vector};

/// One request, as the router hands it over.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// Method.
    pub method: Method,
    /// Raw path (`/vector/docs/query/ns`).
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// One answer: a status and a JSON body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Bytes,
}

impl ApiResponse {
    /// `{"result": value}` with 200.
    pub fn result<T: Serialize>(value: T) -> Self {
        #[derive(Serialize)]
        struct Wrap<T> {
            result: T,
        }
        ApiResponse { status: StatusCode::OK, body: Bytes::from(serde_json::to_vec(&Wrap { result: value }).unwrap_or_default()) }
    }

    /// The error's status and `{"error", "status"}` body.
    pub fn error(e: &VectorError) -> Self {
        let body = serde_json::json!({"error": e.message, "status": e.status.as_u16()});
        ApiResponse { status: e.status, body: Bytes::from(body.to_string()) }
    }
}

/// Serves one request under `/vector/` or `/v2/vector/`.
pub async fn handle(v: &Vector, req: ApiRequest) -> ApiResponse {
    let out = if req.path.starts_with("/v2/vector/") || req.path == "/v2/vector" {
        admin::handle(v, &req).await
    } else {
        data_plane(v, &req).await
    };
    match out {
        Ok(r) => r,
        Err(e) => ApiResponse::error(&e),
    }
}

/// Constant-time equality of two tokens.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Commands a read-only token may run.
const READ_ONLY_COMMANDS: &[&str] = &[
    "query",
    "query-data",
    "resumable-query",
    "resumable-query-data",
    "resumable-query-next",
    "resumable-query-end",
    "fetch",
    "range",
    "info",
    "list-namespaces",
    "random",
];

/// Commands that need the read-write token.
const WRITE_COMMANDS: &[&str] = &["upsert", "upsert-data", "update", "delete", "reset", "delete-namespace", "rename-namespace"];

async fn data_plane(v: &Vector, req: &ApiRequest) -> VResult<ApiResponse> {
    let rest = req.path.strip_prefix("/vector/").unwrap_or("");
    let (name, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let name = percent_decode(name);
    let (command, ns) = rest.split_once('/').unwrap_or((rest, ""));
    let ns = percent_decode(ns);
    let h = v.index(&name).ok_or_else(|| VectorError::not_found(format!("Vector index {name} does not exist")))?;
    let def = h.def();
    let token = bearer(&req.headers).ok_or_else(VectorError::unauthorized)?;
    let read_only = if same(token.as_bytes(), def.token.as_bytes()) {
        false
    } else if same(token.as_bytes(), def.readonly_token.as_bytes()) {
        true
    } else {
        return Err(VectorError::unauthorized());
    };
    if !matches!(req.method, Method::GET | Method::POST | Method::PUT | Method::DELETE | Method::HEAD) {
        return Err(VectorError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method {} is not allowed", req.method)));
    }
    if !READ_ONLY_COMMANDS.contains(&command) && !WRITE_COMMANDS.contains(&command) {
        return Err(VectorError::bad_request(if command.is_empty() {
            "a command is required: POST <index url>/<command>, e.g. /upsert or /query".to_string()
        } else {
            format!("Invalid command: {command}")
        }));
    }
    if read_only && WRITE_COMMANDS.contains(&command) {
        return Err(VectorError::read_only(command));
    }
    if ns.len() > crate::model::MAX_NAMESPACE_BYTES {
        return Err(VectorError::bad_request(format!("namespace names are at most {} bytes", crate::model::MAX_NAMESPACE_BYTES)));
    }
    run(v, &h, command, &ns, req).await
}

/// A vector as JSON, with f32 printed shortest.
#[derive(Serialize)]
struct Out<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<&'a [f32]>,
    #[serde(rename = "sparseVector", skip_serializing_if = "Option::is_none")]
    sparse: Option<SparseOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a str>,
}

#[derive(Serialize)]
struct SparseOut {
    indices: Vec<i32>,
    values: Vec<f32>,
}

/// A sparse vector as the SDKs see it: signed indices, ascending.
fn sparse_out(s: &crate::index::SparseVector) -> SparseOut {
    let mut pairs: Vec<(i32, f32)> = s.indices().iter().map(|&i| i as i32).zip(s.values().iter().copied()).collect();
    pairs.sort_unstable_by_key(|p| p.0);
    let (indices, values) = pairs.into_iter().unzip();
    SparseOut { indices, values }
}

fn out(f: &Found) -> Out<'_> {
    Out {
        id: &f.id,
        score: f.score,
        vector: f.dense.as_deref(),
        sparse: f.sparse.as_ref().map(sparse_out),
        metadata: f.metadata.as_ref(),
        data: f.data.as_deref(),
    }
}

fn outs(list: &[Found]) -> Vec<Out<'_>> {
    list.iter().map(out).collect()
}

async fn run(v: &Vector, h: &IndexHandle, command: &str, ns: &str, req: &ApiRequest) -> VResult<ApiResponse> {
    let body = || parse::body_json(&req.body);
    match command {
        "upsert" | "upsert-data" => {
            let items = parse::upserts(&body()?)?;
            v.upsert(h, ns, items, command == "upsert-data").await?;
            Ok(ApiResponse::result("Success"))
        }
        "query" | "query-data" => {
            let text = command == "query-data";
            let b = body()?;
            match &b {
                Json::Array(items) => {
                    if items.len() > crate::model::MAX_BATCH {
                        return Err(VectorError::bad_request(format!("a batch holds at most {} queries", crate::model::MAX_BATCH)));
                    }
                    let mut all = Vec::with_capacity(items.len());
                    for q in items {
                        // A query in a batch may name its own namespace? No SDK does; the path's holds.
                        all.push(v.query(h, ns, &parse::query(q, text)?).await?);
                    }
                    if all.len() == 1 {
                        return Ok(ApiResponse::result(outs(&all[0])));
                    }
                    Ok(ApiResponse::result(all.iter().map(|r| outs(r)).collect::<Vec<_>>()))
                }
                _ => {
                    let found = v.query(h, ns, &parse::query(&b, text)?).await?;
                    Ok(ApiResponse::result(outs(&found)))
                }
            }
        }
        "resumable-query" | "resumable-query-data" => {
            let b = body()?;
            let q = parse::query(&b, command == "resumable-query-data")?;
            let (uuid, first) = v.resumable_start(h, ns, &q, parse::max_idle(&b)?).await?;
            #[derive(Serialize)]
            struct Started<'a> {
                uuid: String,
                scores: Vec<Out<'a>>,
            }
            Ok(ApiResponse::result(Started { uuid, scores: outs(&first) }))
        }
        "resumable-query-next" => {
            let (uuid, k) = parse::resumable_next(&body()?)?;
            let found = v.resumable_next(h, &uuid, k).await?;
            Ok(ApiResponse::result(outs(&found)))
        }
        "resumable-query-end" => {
            v.resumable_end(h, &parse::uuid(&body()?)?)?;
            Ok(ApiResponse::result("Success"))
        }
        "fetch" => {
            let (ids, prefix, inc) = parse::fetch(&body()?)?;
            let found = v.fetch(h, ns, ids, prefix, inc)?;
            Ok(ApiResponse::result(found.iter().map(|f| f.as_ref().map(out)).collect::<Vec<_>>()))
        }
        "range" => {
            let (cursor, limit, prefix, inc) = parse::range(&body()?)?;
            let (next, found) = v.range(h, ns, cursor, limit, &prefix, inc)?;
            #[derive(Serialize)]
            struct Page<'a> {
                #[serde(rename = "nextCursor")]
                next_cursor: String,
                vectors: Vec<Out<'a>>,
            }
            Ok(ApiResponse::result(Page { next_cursor: next, vectors: outs(&found) }))
        }
        "delete" => {
            let by = parse::delete(&req.body)?;
            let deleted = v.delete(h, ns, by).await?;
            Ok(ApiResponse::result(serde_json::json!({ "deleted": deleted })))
        }
        "update" => {
            let u = parse::update(&body()?)?;
            let updated = v.update(h, ns, u).await?;
            Ok(ApiResponse::result(serde_json::json!({ "updated": u8::from(updated) })))
        }
        "reset" => {
            let all = req.query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "all" || p.starts_with("all=")));
            v.reset(h, if all { None } else { Some(ns) }).await?;
            Ok(ApiResponse::result("Success"))
        }
        "info" => Ok(ApiResponse::result(v.info(h))),
        "list-namespaces" => Ok(ApiResponse::result(v.namespaces(h))),
        "delete-namespace" => {
            v.delete_namespace(h, ns).await?;
            Ok(ApiResponse::result("Success"))
        }
        "random" => {
            let found = v.random(h, ns);
            Ok(ApiResponse::result(found.as_ref().map(out)))
        }
        "rename-namespace" => {
            let b = body()?;
            let from =
                parse::field(&b, "namespace").and_then(Json::as_str).ok_or_else(|| VectorError::bad_request("namespace is required"))?;
            let to = parse::field(&b, "newNamespace")
                .and_then(Json::as_str)
                .ok_or_else(|| VectorError::bad_request("newNamespace is required"))?;
            let replace = parse::field(&b, "deleteExisting").and_then(Json::as_bool).unwrap_or(false);
            v.rename_namespace(h, from, to, replace).await?;
            Ok(ApiResponse::result(serde_json::json!({ "renamed": true })))
        }
        other => Err(VectorError::bad_request(format!("Invalid command: {other}"))),
    }
}
