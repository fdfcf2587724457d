//! Tolerant parsing of request bodies into the typed requests of [`crate::ops`]: the SDKs send
//! numbers or strings for ids, explicit `null`s for absent fields, and `[]`, `{}`, `null` or no
//! body at all for commands without arguments.

use serde_json::Value as Json;

use crate::error::{VResult, VectorError};
use crate::filter::Filter;
use crate::index::{Fusion, SparseVector, Weighting};
use crate::model::{MAX_BATCH, MAX_TOP_K};
use crate::ops::{DeleteBy, QueryInput, QueryMode, QueryRequest, UpdateRequest, WriteItem};
use crate::resumable::Include;

fn bad(msg: impl Into<String>) -> VectorError {
    VectorError::bad_request(msg)
}

/// The body as JSON (`Null` when empty); a body that is not JSON is an error.
pub fn body_json(body: &[u8]) -> VResult<Json> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Null);
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("Invalid request body: {e}")))
}

/// A field, with `null` read as absent.
pub fn field<'a>(obj: &'a Json, name: &str) -> Option<&'a Json> {
    obj.get(name).filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Json, what: &str) -> VResult<&'a serde_json::Map<String, Json>> {
    v.as_object().ok_or_else(|| bad(format!("{what} must be a JSON object")))
}

/// An id: a string, or a number rendered as a string.
pub fn id(v: &Json) -> VResult<String> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(bad("id must be a string or a number")),
    }
}

fn bool_field(obj: &Json, name: &str) -> VResult<bool> {
    match field(obj, name) {
        None => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("{name} must be true or false"))),
    }
}

fn str_field<'a>(obj: &'a Json, name: &str) -> VResult<Option<&'a str>> {
    match field(obj, name) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

fn uint_field(obj: &Json, name: &str) -> VResult<Option<u64>> {
    match field(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64))
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| bad(format!("{name} must be a non-negative integer"))),
    }
}

/// Which fields to return.
pub fn include(obj: &Json) -> VResult<Include> {
    Ok(Include {
        vectors: bool_field(obj, "includeVectors")?,
        metadata: bool_field(obj, "includeMetadata")?,
        data: bool_field(obj, "includeData")?,
    })
}

/// A dense vector: an array of finite numbers.
pub fn dense(v: &Json) -> VResult<Vec<f32>> {
    let arr = v.as_array().ok_or_else(|| bad("vector must be an array of numbers"))?;
    let mut out = Vec::with_capacity(arr.len());
    for x in arr {
        let f = x.as_f64().ok_or_else(|| bad("vector must be an array of numbers"))?;
        let g = f as f32;
        if !g.is_finite() {
            return Err(bad("Vector values must be finite numbers"));
        }
        out.push(g);
    }
    Ok(out)
}

/// A sparse vector `{indices, values}`.
pub fn sparse(v: &Json) -> VResult<SparseVector> {
    let indices = field(v, "indices").and_then(Json::as_array).ok_or_else(|| bad("sparseVector.indices must be an array of integers"))?;
    let values = field(v, "values").and_then(Json::as_array).ok_or_else(|| bad("sparseVector.values must be an array of numbers"))?;
    let mut idx = Vec::with_capacity(indices.len());
    for i in indices {
        let n = i.as_i64().ok_or_else(|| bad("sparseVector.indices must be integers"))?;
        // Signed 32-bit on the wire; kept as their bits (rendered back as signed).
        let n = i32::try_from(n).map_err(|_| bad(format!("sparse vector index {n} is out of range (a signed 32-bit integer)")))?;
        idx.push(n as u32);
    }
    let mut vals = Vec::with_capacity(values.len());
    for x in values {
        let f = x.as_f64().ok_or_else(|| bad("sparseVector.values must be numbers"))? as f32;
        vals.push(f);
    }
    Ok(SparseVector::new(idx, vals)?)
}

fn metadata(obj: &Json) -> VResult<Option<Json>> {
    match field(obj, "metadata") {
        None => Ok(None),
        Some(m @ Json::Object(_)) => Ok(Some(m.clone())),
        Some(_) => Err(bad("metadata must be a JSON object")),
    }
}

fn data(obj: &Json) -> VResult<Option<String>> {
    Ok(str_field(obj, "data")?.map(str::to_string))
}

/// One object or an array of them, at most [`MAX_BATCH`].
pub fn one_or_many(body: &Json) -> VResult<Vec<&Json>> {
    let items: Vec<&Json> = match body {
        Json::Array(a) => a.iter().collect(),
        Json::Object(_) => vec![body],
        Json::Null => return Err(bad("request body is required")),
        _ => return Err(bad("request body must be an object or an array of objects")),
    };
    if items.len() > MAX_BATCH {
        return Err(bad(format!("a request can carry at most {MAX_BATCH} items, got {}", items.len())));
    }
    Ok(items)
}

/// Items of `/upsert` (`from_data`: of `/upsert-data`).
pub fn upserts(body: &Json) -> VResult<Vec<WriteItem>> {
    one_or_many(body)?
        .into_iter()
        .map(|it| {
            object(it, "each vector")?;
            Ok(WriteItem {
                id: field(it, "id").map(id).transpose()?.ok_or_else(|| bad("id is required"))?,
                dense: field(it, "vector").map(dense).transpose()?,
                sparse: field(it, "sparseVector").map(sparse).transpose()?,
                metadata: metadata(it)?,
                data: data(it)?,
            })
        })
        .collect()
}

/// One query object (`text`: `/query-data` style, with `data`).
pub fn query(obj: &Json, text: bool) -> VResult<QueryRequest> {
    object(obj, "a query")?;
    let top_k = uint_field(obj, "topK")?.unwrap_or(10);
    if top_k == 0 || top_k > MAX_TOP_K as u64 {
        return Err(bad(format!("topK must be between 1 and {MAX_TOP_K}, got {top_k}")));
    }
    let filter_text = str_field(obj, "filter")?.unwrap_or("");
    let filter = Filter::parse(filter_text).map_err(|e| bad(format!("Invalid filter: {e}")))?;
    let weighting = match str_field(obj, "weightingStrategy")? {
        None => None,
        Some(s) => Some(s.parse::<Weighting>().map_err(|e| bad(e.to_string()))?),
    };
    let fusion = match str_field(obj, "fusionAlgorithm")? {
        None => Fusion::default(),
        Some(s) => s.parse::<Fusion>().map_err(|e| bad(e.to_string()))?,
    };
    let input = if text {
        let data = str_field(obj, "data")?.ok_or_else(|| bad("data is required"))?.to_string();
        let mode = match str_field(obj, "queryMode")? {
            None => QueryMode::default(),
            Some(m) => QueryMode::parse(m).ok_or_else(|| bad(format!("Unknown queryMode: {m} (HYBRID, DENSE or SPARSE)")))?,
        };
        QueryInput::Text { data, mode }
    } else {
        if field(obj, "data").is_some() && field(obj, "vector").is_none() && field(obj, "sparseVector").is_none() {
            return Err(bad("query takes vector or sparseVector; use query-data to query by data"));
        }
        QueryInput::Vectors {
            dense: field(obj, "vector").map(dense).transpose()?,
            sparse: field(obj, "sparseVector").map(sparse).transpose()?,
        }
    };
    Ok(QueryRequest { input, top_k: top_k as usize, include: include(obj)?, filter, weighting, fusion })
}

/// `maxIdle` of a resumable query, in seconds (default one hour).
pub fn max_idle(obj: &Json) -> VResult<u64> {
    Ok(uint_field(obj, "maxIdle")?.unwrap_or(3600))
}

/// `/resumable-query-next`: the uuid and how many more.
pub fn resumable_next(obj: &Json) -> VResult<(String, usize)> {
    let uuid = str_field(obj, "uuid")?.ok_or_else(|| bad("uuid is required"))?.to_string();
    let k = uint_field(obj, "additionalK")?.ok_or_else(|| bad("additionalK is required"))?;
    if k == 0 || k > MAX_TOP_K as u64 {
        return Err(bad(format!("additionalK must be between 1 and {MAX_TOP_K}, got {k}")));
    }
    Ok((uuid, k as usize))
}

/// `/resumable-query-end`: the uuid.
pub fn uuid(obj: &Json) -> VResult<String> {
    Ok(str_field(obj, "uuid")?.ok_or_else(|| bad("uuid is required"))?.to_string())
}

fn ids(v: &Json) -> VResult<Vec<String>> {
    let list: Vec<String> = match v {
        Json::Array(a) => a.iter().map(id).collect::<VResult<_>>()?,
        other => vec![id(other)?],
    };
    if list.len() > MAX_BATCH {
        return Err(bad(format!("a request can name at most {MAX_BATCH} ids, got {}", list.len())));
    }
    Ok(list)
}

/// `/fetch`: ids or prefix, and the includes.
pub fn fetch(body: &Json) -> VResult<(Option<Vec<String>>, Option<String>, Include)> {
    if let Json::Array(_) = body {
        return Ok((Some(ids(body)?), None, Include::default()));
    }
    object(body, "fetch")?;
    let ids = field(body, "ids").map(ids).transpose()?;
    let prefix = str_field(body, "prefix")?.map(str::to_string);
    Ok((ids, prefix, include(body)?))
}

/// `/range`: cursor, limit, prefix and the includes.
pub fn range(body: &Json) -> VResult<(u64, usize, String, Include)> {
    object(body, "range")?;
    let cursor = match field(body, "cursor") {
        None => 0,
        Some(Json::String(s)) if s.is_empty() => 0,
        Some(Json::String(s)) => s.parse().map_err(|_| bad(format!("invalid cursor {s:?}")))?,
        Some(v) => v.as_u64().ok_or_else(|| bad("cursor must be a string or a non-negative integer"))?,
    };
    let limit = uint_field(body, "limit")?.ok_or_else(|| bad("limit is required"))?;
    if limit > MAX_BATCH as u64 {
        return Err(bad(format!("limit must be at most {MAX_BATCH}, got {limit}")));
    }
    let prefix = str_field(body, "prefix")?.unwrap_or("").to_string();
    Ok((cursor, limit as usize, prefix, include(body)?))
}

/// `/delete`: ids, prefix or filter; also a bare array, a JSON string or a raw id.
pub fn delete(raw: &[u8]) -> VResult<DeleteBy> {
    let body = match body_json(raw) {
        Ok(b) => b,
        // A raw id (vector-go's `Delete(id)`), unless it was meant as JSON and is malformed.
        Err(e) if raw.trim_ascii_start().first().is_some_and(|c| matches!(c, b'{' | b'[' | b'"')) => return Err(e),
        Err(_) => return Ok(DeleteBy::Ids(vec![String::from_utf8_lossy(raw).trim().to_string()])),
    };
    match &body {
        Json::Array(_) | Json::String(_) | Json::Number(_) => return Ok(DeleteBy::Ids(ids(&body)?)),
        Json::Object(_) => {}
        _ => return Err(bad("delete needs ids, prefix or filter")),
    }
    let given = [field(&body, "ids"), field(&body, "prefix"), field(&body, "filter")];
    if given.iter().filter(|g| g.is_some()).count() != 1 {
        return Err(bad("Only and only one of the ids, prefix, or filter must be provided."));
    }
    if let Some(v) = given[0] {
        return Ok(DeleteBy::Ids(ids(v)?));
    }
    if given[1].is_some() {
        let p = str_field(&body, "prefix")?.unwrap_or("");
        if p.is_empty() {
            return Err(bad("prefix must not be empty"));
        }
        return Ok(DeleteBy::Prefix(p.to_string()));
    }
    let f = str_field(&body, "filter")?.unwrap_or("");
    if f.trim().is_empty() {
        return Err(bad("filter must not be empty"));
    }
    Ok(DeleteBy::Filter(Filter::parse(f).map_err(|e| bad(format!("Invalid filter: {e}")))?))
}

/// `/update`.
pub fn update(body: &Json) -> VResult<UpdateRequest> {
    object(body, "update")?;
    let patch = match str_field(body, "metadataUpdateMode")? {
        None => false,
        Some(m) if m.eq_ignore_ascii_case("OVERWRITE") => false,
        Some(m) if m.eq_ignore_ascii_case("PATCH") => true,
        Some(m) => return Err(bad(format!("Unknown metadataUpdateMode: {m} (OVERWRITE or PATCH)"))),
    };
    Ok(UpdateRequest {
        id: field(body, "id").map(id).transpose()?.ok_or_else(|| bad("id is required"))?,
        dense: field(body, "vector").map(dense).transpose()?,
        sparse: field(body, "sparseVector").map(sparse).transpose()?,
        data: data(body)?,
        metadata: metadata(body)?,
        patch,
    })
}
