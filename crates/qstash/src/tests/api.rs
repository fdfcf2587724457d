//! End to end through `api::handle`: raw paths and queries, auth, the JSON shapes.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn publish_with_the_destinations_own_query() {
    let hs = harness().await;
    let (st, body) = hs
        .api(
            Method::POST,
            "/v2/publish/https://example.com/a?x=1&qstash_token=t&upstash-retries=0",
            &[("Content-Type", "application/json")],
            b"{\"k\":1}",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let id = body["messageId"].as_str().unwrap().to_string();
    assert!(body.get("deduplicated").is_none());
    let (st, m) = hs.api(Method::GET, &format!("/v2/messages/{id}"), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(m["url"], json!("https://example.com/a?x=1"));
    assert_eq!(m["maxRetries"], json!(0));
    assert_eq!(m["body"], json!("{\"k\":1}"));

    hs.t.script("https://example.com/a?x=1", [Step::Reply(status(500))]);
    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url, "https://example.com/a?x=1");
    assert_eq!(hs.verify(&reqs[0]).sub, "https://example.com/a?x=1");
    assert_eq!(hdr(&reqs[0], "Content-Type"), Some("application/json"));
    // upstash-retries=0 from the query: failed after one attempt.
    assert_eq!(hs.states_of(&id).await[0], "FAILED");
    let (st, _) = hs.api(Method::GET, &format!("/v2/messages/{id}"), &[], b"").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn auth_is_checked_first() {
    let hs = harness().await;
    let (st, body) = hs.api(Method::POST, "/v2/publish/https://example.com/a?qstash_token=wrong", &[], b"").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body["error"].is_string());
    let (st, _) = hs.api(Method::GET, "/v2/events?qstash_token=", &[], b"").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = hs.api(Method::GET, "/v2/events", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(hs.t.count(), 0);
}

#[tokio::test]
async fn bad_publishes_are_400() {
    let hs = harness().await;
    for (path, headers) in [
        ("/v2/publish/ftp://example.com/a", vec![]),
        ("/v2/publish/https://example.com/a", vec![("Upstash-Retries", "many")]),
        ("/v2/publish/https://example.com/a", vec![("Upstash-Nonsense", "1")]),
        ("/v2/publish/https://example.com/a", vec![("Upstash-Delay", "soon")]),
    ] {
        let (st, body) = hs.api(Method::POST, path, &headers, b"").await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path} {headers:?}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn dedup_through_the_api_is_202() {
    let hs = harness().await;
    let hdrs = [("Upstash-Deduplication-Id", "abc")];
    let (st, first) = hs.api(Method::POST, "/v2/publish/https://example.com/d", &hdrs, b"x").await;
    assert_eq!(st, StatusCode::OK);
    let (st, dup) = hs.api(Method::POST, "/v2/publish/https://example.com/d", &hdrs, b"x").await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(dup, json!({"messageId": first["messageId"], "deduplicated": true}));
}

#[tokio::test]
async fn events_paging_omits_the_cursor_on_the_last_page() {
    let hs = harness().await;
    let id = hs.publish("https://example.com/e", &[], b"x").await;
    hs.settle().await;
    // CREATED, ACTIVE, DELIVERED: 2 + 1.
    let (st, p1) = hs.api(Method::GET, "/v2/events?count=2", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let evs = p1["events"].as_array().unwrap();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0]["state"], json!("DELIVERED"));
    assert_eq!(evs[1]["state"], json!("ACTIVE"));
    for e in evs {
        assert_eq!(e["messageId"], json!(id));
        assert!(e["time"].is_u64());
        assert_eq!(e["url"], json!("https://example.com/e"));
    }
    let cursor = p1["cursor"].as_str().expect("a cursor on a non-last page").to_string();
    let (st, p2) = hs.api(Method::GET, &format!("/v2/events?count=2&cursor={cursor}"), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let evs = p2["events"].as_array().unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["state"], json!("CREATED"));
    assert!(p2.as_object().unwrap().get("cursor").is_none(), "no cursor key on the last page: {p2}");

    // Exactly a page's worth: still no cursor on it.
    let (_, p) = hs.api(Method::GET, "/v2/events?count=3", &[], b"").await;
    assert_eq!(p["events"].as_array().unwrap().len(), 3);
    assert!(p.get("cursor").is_none());

    // /v2/logs answers the same under "logs"; filters apply.
    let (_, logs) = hs.api(Method::GET, "/v2/logs?state=DELIVERED", &[], b"").await;
    assert_eq!(logs["logs"].as_array().unwrap().len(), 1);
    let (_, f) = hs.api(Method::GET, &format!("/v2/events?messageId={id}&state=CREATED,ACTIVE"), &[], b"").await;
    assert_eq!(f["events"].as_array().unwrap().len(), 2);
    let (_, none) = hs.api(Method::GET, "/v2/events?messageId=msg_other", &[], b"").await;
    assert_eq!(none, json!({"events": []}));
}

#[tokio::test]
async fn bulk_cancel_with_ids_in_the_query_and_in_a_json_body() {
    let hs = harness().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(hs.publish("https://example.com/b", &[("Upstash-Delay", "1h")], i.to_string().as_bytes()).await);
    }
    // JS: ids in the query, repeated.
    let (st, body) = hs.api(Method::DELETE, &format!("/v2/messages?messageIds={}&messageIds={}", ids[0], ids[1]), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body, json!({"cancelled": 2}));
    // Python/Go: a JSON body.
    let jb = serde_json::to_vec(&json!({"messageIds": [ids[2], ids[3]]})).unwrap();
    let (st, body) = hs.api(Method::DELETE, "/v2/messages", &[("Content-Type", "application/json")], &jb).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body, json!({"cancelled": 2}));
    assert!(!hs.is_gone(&ids[4]).await);
    // One by id: a JSON answer; then 404 for it.
    let (st, body) = hs.api(Method::DELETE, &format!("/v2/messages/{}", ids[4]), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.is_object());
    let (st, _) = hs.api(Method::DELETE, &format!("/v2/messages/{}", ids[4]), &[], b"").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for id in &ids {
        assert!(hs.is_gone(id).await);
        assert_eq!(hs.states_of(id).await[0], "CANCELED");
    }
    // Python's cancel_all: a bare DELETE cancels everything.
    hs.publish("https://example.com/b", &[("Upstash-Delay", "1h")], b"x").await;
    let (_, body) = hs.api(Method::DELETE, "/v2/messages", &[], b"").await;
    assert_eq!(body, json!({"cancelled": 1}));
}

#[tokio::test]
async fn schedule_pause_via_patch_and_post() {
    let hs = harness().await;
    let (st, body) = hs
        .api(
            Method::POST,
            "/v2/schedules/https://example.com/s?a=b",
            &[("Upstash-Cron", "*/5 * * * *"), ("Upstash-Schedule-Id", "s1")],
            b"hi",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body, json!({"scheduleId": "s1"}));
    let (_, s) = hs.api(Method::GET, "/v2/schedules/s1", &[], b"").await;
    assert_eq!(s["destination"], json!("https://example.com/s?a=b"));
    for (m, action, paused) in
        [(Method::PATCH, "pause", true), (Method::PATCH, "resume", false), (Method::POST, "pause", true), (Method::POST, "resume", false)]
    {
        let (st, _) = hs.api(m.clone(), &format!("/v2/schedules/s1/{action}"), &[], b"").await;
        assert_eq!(st, StatusCode::OK, "{m} {action}");
        let (_, s) = hs.api(Method::GET, "/v2/schedules/s1", &[], b"").await;
        assert_eq!(s["isPaused"], json!(paused), "{m} {action}");
    }
    let (st, _) = hs.api(Method::PATCH, "/v2/schedules/nope/pause", &[], b"").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = hs.api(Method::GET, "/v2/schedules", &[], b"").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // It fires to the URL with its query.
    hs.advance(100_000);
    hs.settle().await;
    assert_eq!(hs.t.requests_to("https://example.com/s?a=b").len(), 1);
    let (st, _) = hs.api(Method::DELETE, "/v2/schedules/s1", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = hs.api(Method::GET, "/v2/schedules/s1", &[], b"").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn url_group_publish_answers_a_bare_array() {
    let hs = harness().await;
    let eps =
        serde_json::to_vec(&json!({"endpoints": [{"url": "https://a.example/1", "name": "a"}, {"url": "https://b.example/2"}]})).unwrap();
    let (st, _) = hs.api(Method::POST, "/v2/topics/grp/endpoints", &[], &eps).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = hs.api(Method::POST, "/v2/publish/grp", &[], b"x").await;
    assert_eq!(st, StatusCode::OK);
    let arr = body.as_array().expect("bare array");
    assert_eq!(arr.len(), 2);
    assert!(arr.iter().all(|i| i["messageId"].is_string() && i["url"].is_string()));
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
}

#[tokio::test]
async fn enqueue_and_queue_routes() {
    let hs = harness().await;
    let (st, body) = hs.api(Method::POST, "/v2/enqueue/test-queue/https://example.com/q", &[], b"1").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body["messageId"].is_string());
    let (st, q) = hs.api(Method::GET, "/v2/queues/test-queue", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    for k in ["name", "createdAt", "updatedAt", "parallelism", "lag", "paused"] {
        assert!(q.get(k).is_some(), "{k}");
    }
    let (st, _) = hs.api(Method::POST, "/v2/queues/test-queue/pause", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    let (st, _) = hs.api(Method::POST, "/v2/queues/test-queue/resume", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}

#[tokio::test]
async fn dlq_routes() {
    let hs = harness().await;
    hs.t.script("https://example.com/f", [Step::Reply(response(500, &[], "no")), Step::Reply(response(500, &[], "no"))]);
    hs.publish("https://example.com/f", &[("Upstash-Retries", "0")], b"1").await;
    hs.publish("https://example.com/f", &[("Upstash-Retries", "0")], b"2").await;
    hs.settle().await;
    let (st, list) = hs.api(Method::GET, "/v2/dlq?count=1", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let msgs = list["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["responseStatus"], json!(500));
    let cursor = list["cursor"].as_str().unwrap().to_string();
    let (_, list2) = hs.api(Method::GET, &format!("/v2/dlq?count=1&cursor={cursor}"), &[], b"").await;
    assert_eq!(list2["messages"].as_array().unwrap().len(), 1);
    assert!(list2.get("cursor").is_none());
    let d1 = msgs[0]["dlqId"].as_str().unwrap().to_string();
    let d2 = list2["messages"][0]["dlqId"].as_str().unwrap().to_string();

    let (st, one) = hs.api(Method::GET, &format!("/v2/dlq/{d1}"), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["dlqId"], json!(d1));
    let (st, r) = hs.api(Method::POST, &format!("/v2/dlq/retry/{d1}"), &[], b"").await;
    assert_eq!(st, StatusCode::CREATED);
    assert!(r["messageId"].is_string());
    let (st, _) = hs.api(Method::DELETE, &format!("/v2/dlq/{d2}"), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = hs.api(Method::DELETE, &format!("/v2/dlq/{d2}"), &[], b"").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a second delete is 404");
    let (_, list) = hs.api(Method::GET, "/v2/dlq", &[], b"").await;
    assert_eq!(list, json!({"messages": []}));
    hs.settle().await;
    assert_eq!(hs.t.count(), 3);
}

#[tokio::test]
async fn keys_and_rotation() {
    let hs = harness().await;
    let (_, k) = hs.api(Method::GET, "/v2/keys", &[], b"").await;
    let (_, r) = hs.api(Method::POST, "/v2/keys/rotate", &[], b"").await;
    assert_eq!(r["current"], k["next"]);
    assert_ne!(r["next"], k["next"]);
    // Deliveries are signed with the new current key.
    hs.publish("https://example.com/k", &[], b"x").await;
    hs.settle().await;
    verify_with(r["current"].as_str().unwrap(), &hs.t.requests()[0]);
}

#[tokio::test]
async fn batch_items_are_published_enqueued_and_fanned_out() {
    let hs = harness().await;
    let eps = serde_json::to_vec(&json!({"endpoints": [{"url": "https://a.example/1"}, {"url": "https://b.example/2"}]})).unwrap();
    hs.api(Method::POST, "/v2/topics/bg/endpoints", &[], &eps).await;
    let items = json!([
        {"destination": "https://example.com/b1", "headers": {"content-type": "text/plain", "upstash-forward-x-a": "1", "upstash-delay": "10s"}, "body": "one"},
        {"destination": "https://example.com/b2", "queue": "bq", "body": "two"},
        {"destination": "bg", "body": "three"},
    ]);
    let (st, body) = hs.api(Method::POST, "/v2/batch", &[("Content-Type", "application/json")], &serde_json::to_vec(&items).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    let arr = body.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert!(arr[0]["messageId"].is_string());
    assert!(arr[1]["messageId"].is_string());
    let group = arr[2].as_array().expect("a nested array for the URL-group item");
    assert_eq!(group.len(), 2);
    let (_, q) = hs.api(Method::GET, "/v2/queues/bq", &[], b"").await;
    assert_eq!(q["name"], json!("bq"));
    hs.settle().await;
    assert_eq!(hs.t.count(), 3, "the delayed item waits");
    hs.advance(10_000);
    hs.settle().await;
    let b1 = &hs.t.requests_to("https://example.com/b1")[0];
    assert_eq!(hdr(b1, "X-A"), Some("1"));
    assert_eq!(hdr(b1, "Content-Type"), Some("text/plain"));
    assert_eq!(&b1.body[..], b"one");
}

#[tokio::test]
async fn message_json_through_the_api() {
    let hs = harness().await;
    let (_, body) = hs
        .api(
            Method::POST,
            "/v2/publish/https://example.com/m",
            &[
                ("Upstash-Delay", "1m"),
                ("Upstash-Label", "a,b"),
                ("Upstash-Flow-Control-Key", "fk"),
                ("Upstash-Flow-Control-Value", "parallelism=2, rate=5, period=1m"),
                ("Upstash-Timeout", "20s"),
                ("Upstash-Callback", "https://cb.example/c"),
                ("Upstash-Failure-Callback", "https://cb.example/f"),
                ("Upstash-Telemetry-Sdk", "upstash-qstash-js@2"),
            ],
            b"hello",
        )
        .await;
    let id = body["messageId"].as_str().unwrap();
    let (st, m) = hs.api(Method::GET, &format!("/v2/messages/{id}"), &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    for k in ["messageId", "url", "method", "maxRetries", "notBefore", "createdAt"] {
        assert!(m.get(k).is_some(), "{k} is required by the Python parser: {m}");
    }
    assert_eq!(m["notBefore"], json!(T0 + 60_000));
    assert_eq!(m["body"], json!("hello"));
    assert_eq!(m["label"], json!("a"));
    assert_eq!(m["labels"], json!(["a", "b"]));
    assert_eq!(m["flowControlKey"], json!("fk"));
    assert_eq!((m["parallelism"].clone(), m["rate"].clone(), m["period"].clone()), (json!(2), json!(5), json!(60)));
    assert_eq!(m["timeout"], json!(20));
    assert_eq!(m["callback"], json!("https://cb.example/c"));
    assert_eq!(m["failureCallback"], json!("https://cb.example/f"));
    assert_eq!(m["header"], json!({}), "telemetry headers are neither stored nor forwarded");
}

#[tokio::test]
async fn the_qstash_token_is_never_forwarded() {
    let hs = harness().await;
    let (st, _) =
        hs.api(Method::POST, "/v2/publish/https://example.com/auth", &[("Upstash-Forward-Authorization", "Bearer user")], b"x").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = hs
        .api(
            Method::POST,
            "/v2/publish/https://example.com/plain?qstash_token=t",
            &[("Upstash-Header-Forward", "true"), ("X-Hook", "h")],
            b"x",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    hs.settle().await;
    let r = &hs.t.requests_to("https://example.com/auth")[0];
    assert_eq!(hdr(r, "Authorization"), Some("Bearer user"));
    let r = &hs.t.requests_to("https://example.com/plain")[0];
    assert_eq!(hdr(r, "X-Hook"), Some("h"));
    assert!(hdr(r, "Authorization").is_none());
    assert!(hs.t.requests().iter().all(|r| r.headers.iter().all(|(_, v)| !v.contains("Bearer t"))));
}

#[tokio::test]
async fn dlq_bulk_routes() {
    let hs = harness().await;
    hs.t.script_any((0..4).map(|_| Step::Reply(status(500))));
    for i in 0..4 {
        hs.publish("https://example.com/bulk", &[("Upstash-Retries", "0")], i.to_string().as_bytes()).await;
    }
    hs.settle().await;
    let (_, list) = hs.api(Method::GET, "/v2/dlq", &[], b"").await;
    let ids: Vec<String> = list["messages"].as_array().unwrap().iter().map(|m| m["dlqId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 4);
    // JS: ids in the query; Python: a JSON body.
    let (st, r) = hs.api(Method::POST, &format!("/v2/dlq/retry?dlqIds={}&dlqIds={}", ids[0], ids[1]), &[], b"").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(r["responses"].as_array().unwrap().len(), 2);
    assert_eq!(r["cursor"], json!(""));
    let jb = serde_json::to_vec(&json!({"dlqIds": [ids[2]]})).unwrap();
    let (st, r) = hs.api(Method::DELETE, "/v2/dlq", &[("Content-Type", "application/json")], &jb).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r, json!({"deleted": 1}));
    let (_, r) = hs.api(Method::DELETE, "/v2/dlq?count=100", &[], b"").await;
    assert_eq!(r, json!({"deleted": 1}));
    let (_, list) = hs.api(Method::GET, "/v2/dlq", &[], b"").await;
    assert_eq!(list["messages"], json!([]));
    hs.settle().await;
    assert_eq!(hs.t.count(), 6, "the two retried entries were delivered");
}
