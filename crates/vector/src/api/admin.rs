//! The Developer API's vector-index endpoints (`/v2/vector/index...`), so infrastructure tools
//! that create Upstash Vector indexes work against stashd. Authentication: the admin token, as
//! `Authorization: Bearer <token>` or as the password of Basic auth (any user name, as the
//! hosted API's `EMAIL:API_KEY`).

use base64::Engine as _;
use http::{Method, StatusCode};
use serde_json::Value as Json;

use super::{bearer, parse, same, ApiRequest, ApiResponse};
use crate::error::{VResult, VectorError};
use crate::index::Similarity;
use crate::model::{IndexDef, IndexKind, BM25};
use crate::service::{IndexSpec, Vector};

fn authorized(v: &Vector, req: &ApiRequest) -> bool {
    let admin = v.admin_token().as_bytes();
    if let Some(t) = bearer(&req.headers) {
        return same(t.as_bytes(), admin);
    }
    let basic = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' ').filter(|(s, _)| s.eq_ignore_ascii_case("basic")).map(|(_, rest)| rest.trim().to_string()))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((_, password)) => same(password.as_bytes(), admin),
        None => false,
    }
}

/// The Developer API's `VectorIndex`.
pub fn render(v: &Vector, d: &IndexDef) -> Json {
    let mut out = serde_json::json!({
        "customer_id": "stashd",
        "id": d.id,
        "name": d.name,
        "similarity_function": d.similarity.as_str(),
        "dimension_count": d.dimension,
        "endpoint": v.endpoint(&d.name),
        "token": d.token,
        "read_only_token": d.readonly_token,
        "type": "payg",
        "region": "local",
        "index_type": d.kind.as_str(),
        "max_vector_count": 0,
        "max_daily_updates": 0,
        "max_daily_queries": 0,
        "max_monthly_bandwidth": 0,
        "max_writes_per_second": 0,
        "max_query_per_second": 0,
        "max_reads_per_request": crate::model::MAX_BATCH,
        "max_writes_per_request": crate::model::MAX_BATCH,
        "max_total_metadata_size": 0,
        "reserved_price": 0,
        "creation_time": d.created,
    });
    if let Some(m) = &d.dense_model {
        out["embedding_model"] = Json::String(m.clone());
    }
    if let Some(m) = &d.sparse_model {
        out["sparse_embedding_model"] = Json::String(m.clone());
    }
    out
}

fn ok() -> ApiResponse {
    ApiResponse { status: StatusCode::OK, body: bytes::Bytes::from_static(b"\"OK\"") }
}

fn json(v: &Json) -> ApiResponse {
    ApiResponse { status: StatusCode::OK, body: bytes::Bytes::from(v.to_string()) }
}

/// Parses the create request (`CreateIndexRequest` of the Developer API).
fn spec(body: &Json) -> VResult<IndexSpec> {
    let text = |name: &str| -> VResult<Option<String>> {
        match parse::field(body, name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(VectorError::bad_request(format!("{name} must be a string"))),
        }
    };
    let name = text("name")?.ok_or_else(|| VectorError::bad_request("name is required"))?;
    let kind = match text("index_type")? {
        None => IndexKind::Dense,
        Some(k) => {
            IndexKind::parse(&k).ok_or_else(|| VectorError::bad_request(format!("index_type must be DENSE, SPARSE or HYBRID, got {k}")))?
        }
    };
    let similarity = match text("similarity_function")? {
        None => Similarity::default(),
        Some(s) => s.parse::<Similarity>().map_err(|e| VectorError::bad_request(e.to_string()))?,
    };
    let dimension = match parse::field(body, "dimension_count") {
        None => None,
        Some(d) => {
            Some(d.as_u64().filter(|d| *d > 0).ok_or_else(|| VectorError::bad_request("dimension_count must be a positive integer"))?
                as usize)
        }
    };
    let dense_model = text("embedding_model")?.filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("NONE"));
    let sparse_model = text("sparse_embedding_model")?.filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("NONE"));
    if let Some(m) = &sparse_model {
        if !m.eq_ignore_ascii_case(BM25) {
            return Err(VectorError::bad_request(format!("sparse_embedding_model {m} is not available: this server serves BM25")));
        }
    }
    Ok(IndexSpec {
        name,
        kind,
        dimension: if kind.has_dense() { dimension } else { None },
        similarity,
        dense_model,
        sparse_model,
        token: None,
        readonly_token: None,
    })
}

/// Serves `/v2/vector/index...`.
pub async fn handle(v: &Vector, req: &ApiRequest) -> VResult<ApiResponse> {
    if !authorized(v, req) {
        return Err(VectorError::unauthorized());
    }
    let rest = req.path.strip_prefix("/v2/vector").unwrap_or("");
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match (&req.method, parts.as_slice()) {
        (&Method::GET, ["index"]) | (&Method::GET, ["indexes"]) => {
            let list: Vec<Json> = v.definitions().iter().map(|d| render(v, d)).collect();
            Ok(json(&Json::Array(list)))
        }
        (&Method::POST, ["index"]) => {
            let body = parse::body_json(&req.body)?;
            let def = v.create_index(spec(&body)?).await?;
            Ok(json(&render(v, &def)))
        }
        (&Method::GET, ["index", id]) => {
            let h = v.by_id(id).ok_or_else(|| VectorError::not_found(format!("index {id} not found")))?;
            Ok(json(&render(v, &h.def())))
        }
        (&Method::DELETE, ["index", id]) => {
            v.delete_index(id).await?;
            Ok(ok())
        }
        (&Method::POST, ["index", id, "rename"]) => {
            let body = parse::body_json(&req.body)?;
            let name = parse::field(&body, "name").and_then(Json::as_str).ok_or_else(|| VectorError::bad_request("name is required"))?;
            v.rename_index(id, name).await?;
            Ok(ok())
        }
        (&Method::POST, ["index", id, "reset-password"]) => {
            v.reset_tokens(id).await?;
            Ok(ok())
        }
        _ => Err(VectorError::not_found(format!(
            "{} {} is not a Developer API vector endpoint stashd serves (index: list, create, get, delete, rename, reset-password)",
            req.method, req.path
        ))),
    }
}
