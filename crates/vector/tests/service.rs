//! The Vector service on a real embedded store: writes, reads, namespaces, resumable queries,
//! the catalog, and recovery of everything after the store is reopened.

use std::sync::Arc;

use serde_json::json;
use stashd_store::{Clock, Embedded, SharedStore};
use stashd_vector::api::{self, ApiRequest};
use stashd_vector::embed::Bm25;
use stashd_vector::model::IndexKind;
use stashd_vector::{IndexSpec, Models, Vector, VectorConfig};

fn config(indexes: Vec<IndexSpec>) -> VectorConfig {
    VectorConfig {
        admin_token: "admin".into(),
        models: Models { dense: None, dense_name: "ALL_MINILM_L6_V2".into(), bm25: Arc::new(Bm25::new()) },
        indexes,
    }
}

fn spec(name: &str, kind: IndexKind, dim: usize) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        kind,
        dimension: (dim > 0).then_some(dim),
        token: Some(format!("{name}-rw")),
        readonly_token: Some(format!("{name}-ro")),
        ..IndexSpec::default()
    }
}

/// Calls the HTTP API as an SDK would; returns (status, JSON body).
async fn call(v: &Vector, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    let req = ApiRequest { method: http::Method::POST, path, query, headers, body: body.to_string().into() };
    let resp = api::handle(v, req).await;
    (resp.status.as_u16(), serde_json::from_slice(&resp.body).unwrap())
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stashd-vector-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[tokio::test]
async fn everything_written_survives_a_reopen() {
    let dir = temp_dir("reopen");
    let clock = Arc::new(Clock::system());
    let specs = vec![spec("d", IndexKind::Dense, 3), spec("h", IndexKind::Hybrid, 2)];
    {
        let store: SharedStore = Arc::new(Embedded::open(&dir, clock.clone()).unwrap());
        let v = Vector::open(store, config(specs.clone())).await.unwrap();
        let items: Vec<_> = (0..50).map(|i| json!({"id": format!("v{i}"), "vector": [i as f32, 1.0, 0.5], "metadata": {"i": i}})).collect();
        assert_eq!(call(&v, "d-rw", "/vector/d/upsert", json!(items)).await.0, 200);
        assert_eq!(call(&v, "d-rw", "/vector/d/upsert/ns", json!({"id": "x", "vector": [1, 2, 3], "data": "text"})).await.0, 200);
        assert_eq!(call(&v, "d-rw", "/vector/d/delete", json!({"filter": "i >= 40"})).await.1["result"]["deleted"], 10);
        let (s, b) = call(&v, "d-rw", "/vector/d/update", json!({"id": "v1", "metadata": {"j": 2}, "metadataUpdateMode": "PATCH"})).await;
        assert_eq!((s, &b["result"]["updated"]), (200, &json!(1)));
        let hybrid = json!({"id": "a", "vector": [0.1, 0.2], "sparseVector": {"indices": [5, 1], "values": [0.5, 0.25]}});
        assert_eq!(call(&v, "h-rw", "/vector/h/upsert", hybrid).await.0, 200);
        let created = api::handle(
            &v,
            ApiRequest {
                method: http::Method::POST,
                path: "/v2/vector/index".into(),
                query: None,
                headers: [(http::header::AUTHORIZATION, "Bearer admin".parse().unwrap())].into_iter().collect(),
                body: json!({"name": "late", "similarity_function": "EUCLIDEAN", "dimension_count": 2}).to_string().into(),
            },
        )
        .await;
        assert_eq!(created.status, 200);
    }
    let store: SharedStore = Arc::new(Embedded::open(&dir, clock).unwrap());
    let v = Vector::open(store, config(specs)).await.unwrap();
    let (_, info) = call(&v, "d-ro", "/vector/d/info", json!(null)).await;
    assert_eq!(info["result"]["vectorCount"], 41);
    assert_eq!(info["result"]["namespaces"]["ns"]["vectorCount"], 1);
    let (_, page) = call(&v, "d-ro", "/vector/d/range", json!({"cursor": 0, "limit": 3, "includeMetadata": true})).await;
    let ids: Vec<_> = page["result"]["vectors"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["v0", "v1", "v2"], "insertion order survives");
    assert_eq!(page["result"]["vectors"][1]["metadata"], json!({"i": 1, "j": 2}));
    assert_eq!(page["result"]["nextCursor"], "3");
    let (_, f) = call(&v, "d-ro", "/vector/d/fetch/ns", json!({"ids": ["x"], "includeVectors": true, "includeData": true})).await;
    assert_eq!(f["result"][0], json!({"id": "x", "vector": [1.0, 2.0, 3.0], "data": "text"}));
    let (_, f) = call(&v, "h-ro", "/vector/h/fetch", json!({"ids": ["a"], "includeVectors": true})).await;
    assert_eq!(f["result"][0]["sparseVector"], json!({"indices": [1, 5], "values": [0.25, 0.5]}));
    assert!(v.index("late").is_some(), "an index created at run time is in the catalog");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn read_only_tokens_never_write_and_bad_input_changes_nothing() {
    let store: SharedStore = Arc::new(Embedded::in_memory(Arc::new(Clock::system())));
    let v = Vector::open(store, config(vec![spec("d", IndexKind::Dense, 2)])).await.unwrap();
    assert_eq!(call(&v, "d-rw", "/vector/d/upsert", json!({"id": "a", "vector": [1, 0]})).await.0, 200);
    for (path, body) in [
        ("upsert", json!({"id": "b", "vector": [1, 0]})),
        ("delete", json!({"ids": ["a"]})),
        ("reset?all", json!(null)),
        ("update", json!({"id": "a", "metadata": {}})),
        ("delete-namespace/x", json!(null)),
    ] {
        let (s, b) = call(&v, "d-ro", &format!("/vector/d/{path}"), body).await;
        assert_eq!(s, 403, "{path}: {b}");
    }
    assert_eq!(call(&v, "nope", "/vector/d/info", json!(null)).await.0, 401);
    let batch = json!([{"id": "ok", "vector": [1, 1]}, {"id": "bad", "vector": [1, 1, 1]}]);
    let (s, b) = call(&v, "d-rw", "/vector/d/upsert", batch).await;
    assert_eq!((s, b["error"].as_str().unwrap()), (422, "Invalid vector dimension: 3, expected: 2"));
    let (s, b) = call(&v, "d-rw", "/vector/d/query", json!({"vector": [1, 0], "filter": "a = 1 AND"})).await;
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("column 10"), "{b}");
    let (_, info) = call(&v, "d-ro", "/vector/d/info", json!(null)).await;
    assert_eq!(info["result"]["vectorCount"], 1, "nothing of the refused batch was written");
}

#[tokio::test]
async fn resumable_queries_continue_and_expire() {
    let clock = Arc::new(Clock::manual(1_000_000));
    let store: SharedStore = Arc::new(Embedded::in_memory(clock.clone()));
    let v = Vector::open(store, config(vec![spec("d", IndexKind::Dense, 2)])).await.unwrap();
    let items: Vec<_> = (0..10).map(|i| json!({"id": format!("v{i}"), "vector": [1.0, i as f32 / 10.0]})).collect();
    call(&v, "d-rw", "/vector/d/upsert", json!(items)).await;
    let (_, start) = call(&v, "d-ro", "/vector/d/resumable-query", json!({"vector": [1, 0], "topK": 3, "maxIdle": 60})).await;
    let uuid = start["result"]["uuid"].as_str().unwrap().to_string();
    let first: Vec<_> = start["result"]["scores"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert_eq!(first, [json!("v0"), json!("v1"), json!("v2")]);
    let (_, next) = call(&v, "d-ro", "/vector/d/resumable-query-next", json!({"uuid": uuid, "additionalK": 3})).await;
    let ids: Vec<_> = next["result"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert_eq!(ids, [json!("v3"), json!("v4"), json!("v5")]);
    clock.advance(61_000);
    let (s, _) = call(&v, "d-ro", "/vector/d/resumable-query-next", json!({"uuid": uuid, "additionalK": 3})).await;
    assert_eq!(s, 404, "expired after maxIdle");
}

#[tokio::test]
async fn delete_takes_a_raw_id_but_refuses_malformed_json() {
    let store: SharedStore = Arc::new(Embedded::in_memory(Arc::new(Clock::system())));
    let v = Vector::open(store, config(vec![spec("d", IndexKind::Dense, 2)])).await.unwrap();
    call(&v, "d-rw", "/vector/d/upsert", json!([{"id": "id-0", "vector": [1, 0]}, {"id": "id-1", "vector": [0, 1]}])).await;
    let raw = |body: &'static str| ApiRequest {
        method: http::Method::POST,
        path: "/vector/d/delete".into(),
        query: None,
        headers: [(http::header::AUTHORIZATION, "Bearer d-rw".parse().unwrap())].into_iter().collect(),
        body: body.into(),
    };
    let resp = api::handle(&v, raw("{\"ids\": [\"id-1\"")).await;
    assert_eq!(resp.status, 400, "malformed JSON is an error, not an id");
    let resp = api::handle(&v, raw("id-0")).await;
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body["result"]["deleted"], 1);
    let (_, info) = call(&v, "d-ro", "/vector/d/info", json!(null)).await;
    assert_eq!(info["result"]["vectorCount"], 1);
}
