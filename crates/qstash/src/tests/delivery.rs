//! Delivery: headers and signature, retries and their delays, exhaustion into the DLQ with the
//! failure callback, callbacks after each attempt, timeouts.

use std::time::Duration;

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::parse::default_backoff_ms;

const URL: &str = "https://example.com/hook";

#[tokio::test]
async fn publish_delivers_once_with_headers_and_signature() {
    let hs = harness().await;
    let body: &[u8] = b"{\"a\":1}\xff\x00 raw";
    let id = hs
        .publish(
            URL,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Upstash-Forward-X-Custom", "abc"),
                ("Upstash-Method", "PUT"),
                ("X-Not-Forwarded", "1"),
            ],
            body,
        )
        .await;
    assert!(id.starts_with("msg_"));

    // Before delivery: the message, with the §6.1 fields.
    let m = hs.q.get_message(&id).await.unwrap();
    assert_eq!(m["messageId"], json!(id));
    assert_eq!(m["url"], json!(URL));
    assert_eq!(m["method"], json!("PUT"));
    assert_eq!(m["header"], json!({"Content-Type": ["application/octet-stream"], "X-Custom": ["abc"]}));
    assert_eq!(m["bodyBase64"], json!(b64(body)));
    assert!(m.get("body").is_none());
    assert_eq!(m["maxRetries"], json!(3));
    assert_eq!(m["notBefore"], json!(T0));
    assert_eq!(m["createdAt"], json!(T0));
    assert_eq!(m["callerIP"], json!(CALLER));

    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.url, URL);
    assert_eq!(&r.body[..], body, "raw body, byte-exact");
    assert_eq!(hdr(r, "Upstash-Message-Id"), Some(id.as_str()));
    assert_eq!(hdr(r, "Upstash-Retried"), Some("0"));
    assert_eq!(hdr(r, "X-Custom"), Some("abc"));
    assert_eq!(hdr(r, "Content-Type"), Some("application/octet-stream"));
    assert_eq!(hdr(r, "Upstash-Caller-Ip"), Some(CALLER));
    assert!(hdr(r, "X-Not-Forwarded").is_none());
    assert!(r.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("upstash-forward")), "{:?}", r.headers);
    let claims = hs.verify(r);
    assert_eq!(claims.iss, "Upstash");
    assert_eq!(claims.iat, T0 / 1000);

    assert_eq!(hs.states_of(&id).await, ["DELIVERED", "ACTIVE", "CREATED"]);
    let evs = hs.events_of(&id).await;
    assert_eq!(evs[0]["responseStatus"], json!(200));
    assert_eq!(evs[2]["body"], json!(b64(body)), "events report the body base64-encoded");
    assert!(hs.is_gone(&id).await);

    // Nothing more happens later.
    hs.advance(86_400_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}

#[tokio::test]
async fn retries_follow_the_default_backoff() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(status(500)), Step::Reply(status(500)), Step::Reply(ok())]);
    let id = hs.publish(URL, &[("Upstash-Retries", "3")], b"x").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    let evs = hs.events_of(&id).await;
    assert_eq!(evs[0]["state"], json!("RETRY"));
    assert_eq!(evs[0]["nextDeliveryTime"], json!(T0 + 12_000));
    assert_eq!(evs[1]["state"], json!("ERROR"));
    assert_eq!(evs[1]["responseStatus"], json!(500));
    assert_eq!(hs.q.get_message(&id).await.unwrap()["retried"], json!(1));

    // Not before the default backoff of the first retry (12 s).
    hs.advance(11_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);

    // The second retry waits e^5 s.
    assert_eq!(default_backoff_ms(2), 148_000);
    hs.advance(147_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    hs.advance(1);
    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 3);
    let retried: Vec<_> = reqs.iter().map(|r| hdr(r, "Upstash-Retried").unwrap().to_string()).collect();
    assert_eq!(retried, ["0", "1", "2"]);
    assert!(reqs.iter().all(|r| hdr(r, "Upstash-Message-Id") == Some(id.as_str())));
    // Each attempt is signed at its own time.
    assert_eq!(hs.verify(&reqs[2]).iat, (T0 + 160_000) / 1000);
    assert_eq!(hs.states_of(&id).await, ["DELIVERED", "ACTIVE", "RETRY", "ERROR", "ACTIVE", "RETRY", "ERROR", "ACTIVE", "CREATED"]);
    assert!(hs.is_gone(&id).await);
}

#[tokio::test]
async fn retry_delay_expression_sets_the_waits() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(status(500)), Step::Reply(status(503)), Step::Reply(ok())]);
    let id = hs.publish(URL, &[("Upstash-Retry-Delay", "1000 * (retried + 1)")], b"x").await;
    hs.settle().await;
    // `retried` is 0 on the first retry: 1 s, then 2 s.
    hs.advance(999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    hs.advance(1_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 3);
    assert!(hs.is_gone(&id).await);
    let evs = hs.events_of(&id).await;
    let e = evs.iter().find(|e| e["state"] == json!("CREATED")).unwrap();
    assert_eq!(e["retryDelayExpression"], json!("1000 * (retried + 1)"));
    assert_eq!(e["retryDelayExpr"], json!("1000 * (retried + 1)"));
}

#[tokio::test]
async fn retry_after_header_wins_over_the_expression() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(response(429, &[("Retry-After", "5")], "slow down")), Step::Reply(ok())]);
    let id = hs.publish(URL, &[("Upstash-Retry-Delay", "100")], b"x").await;
    hs.settle().await;
    let evs = hs.events_of(&id).await;
    assert_eq!(evs[0]["nextDeliveryTime"], json!(T0 + 5_000));
    hs.advance(4_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    assert!(hs.is_gone(&id).await);
}

#[tokio::test]
async fn exhaustion_goes_to_the_dlq_and_calls_the_failure_callback() {
    let hs = harness().await;
    let fail_cb = "https://cb.example/failed";
    hs.t.script(URL, [Step::Reply(response(500, &[("X-Why", "down")], "boom")), Step::Reply(response(500, &[("X-Why", "down")], "boom"))]);
    let body = b"original body";
    let id = hs
        .publish(
            URL,
            &[
                ("Upstash-Retries", "1"),
                ("Upstash-Retry-Delay", "1000"),
                ("Upstash-Failure-Callback", fail_cb),
                ("Upstash-Failure-Callback-Forward-Token", "secret"),
                ("Content-Type", "text/plain"),
            ],
            body,
        )
        .await;
    hs.settle().await;
    hs.advance(1_000);
    hs.settle().await;
    assert_eq!(hs.t.requests_to(URL).len(), 2);
    assert_eq!(hs.states_of(&id).await, ["FAILED", "ERROR", "ACTIVE", "RETRY", "ERROR", "ACTIVE", "CREATED"]);
    assert!(hs.is_gone(&id).await);

    // The DLQ entry.
    let page = hs.q.list_dlq(&[], &Filter::default(), None, 100).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert!(page.cursor.is_none());
    let dlq_id = page.entries[0].0.dlq_id.clone();
    let failed_event = &hs.events_of(&id).await[0];
    assert_eq!(failed_event["dlqId"], json!(dlq_id));
    let d = hs.q.get_dlq(&dlq_id).await.unwrap();
    assert_eq!(d["dlqId"], json!(dlq_id));
    assert_eq!(d["messageId"], json!(id));
    assert_eq!(d["url"], json!(URL));
    assert_eq!(d["responseStatus"], json!(500));
    assert_eq!(d["responseBody"], json!("boom"));
    assert_eq!(d["responseHeader"], json!({"X-Why": ["down"]}));
    assert_eq!(d["body"], json!("original body"));
    assert_eq!(d["maxRetries"], json!(1));

    // The failure callback, signed for its own URL, with the §5.3 body.
    let cbs = hs.t.requests_to(fail_cb);
    assert_eq!(cbs.len(), 1);
    let cb = &cbs[0];
    assert_eq!(cb.method, "POST");
    assert_eq!(hdr(cb, "Token"), Some("secret"));
    assert_ne!(hdr(cb, "Upstash-Message-Id"), Some(id.as_str()));
    hs.verify(cb);
    let b = body_json(cb);
    assert_eq!(b["status"], json!(500));
    assert_eq!(b["sourceMessageId"], json!(id));
    assert_eq!(b["sourceBody"], json!(b64(body)));
    assert_eq!(b["body"], json!(b64(b"boom")));
    assert_eq!(b["header"], json!({"X-Why": ["down"]}));
    assert_eq!(b["sourceHeader"], json!({"Content-Type": ["text/plain"]}));
    assert_eq!(b["dlqId"], json!(dlq_id));
    assert_eq!(b["retried"], b["maxRetries"]);
    assert_eq!(b["maxRetries"], json!(1));
    assert_eq!(b["url"], json!(URL));

    // Retrying the entry: a new message that succeeds; the entry goes.
    let new_id = hs.q.retry_dlq(&dlq_id, &Options::default(), CALLER).await.unwrap();
    assert_ne!(new_id, id);
    hs.settle().await;
    let to_url = hs.t.requests_to(URL);
    assert_eq!(to_url.len(), 3);
    assert_eq!(hdr(&to_url[2], "Upstash-Message-Id"), Some(new_id.as_str()));
    assert_eq!(hdr(&to_url[2], "Upstash-Retried"), Some("0"));
    assert_eq!(&to_url[2].body[..], body);
    assert_eq!(hs.states_of(&new_id).await, ["DELIVERED", "ACTIVE", "CREATED"]);
    assert_eq!(hs.q.get_dlq(&dlq_id).await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert!(hs.q.list_dlq(&[], &Filter::default(), None, 100).await.unwrap().entries.is_empty());
    assert_eq!(hs.q.retry_dlq(&dlq_id, &Options::default(), CALLER).await.unwrap_err().status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn non_retryable_489_fails_at_once() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(response(489, &[("Upstash-NonRetryable-Error", "true")], "no"))]);
    let id = hs.publish(URL, &[("Upstash-Retries", "3")], b"x").await;
    hs.settle().await;
    hs.advance(86_400_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert_eq!(hs.states_of(&id).await, ["FAILED", "ERROR", "ACTIVE", "CREATED"]);
    let page = hs.q.list_dlq(&[], &Filter::default(), None, 100).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].0.response_status, 489);

    // 489 without the header is an ordinary failure.
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(status(489))]);
    let id = hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert_eq!(hs.states_of(&id).await[0], "RETRY");
}

#[tokio::test]
async fn callback_after_each_attempt() {
    let hs = harness().await;
    let cb_url = "https://cb.example/each";
    hs.t.script(URL, [Step::Reply(response(500, &[], "first")), Step::Reply(response(201, &[("X-R", "v")], "second"))]);
    let id = hs
        .publish(
            URL,
            &[
                ("Upstash-Retries", "1"),
                ("Upstash-Retry-Delay", "0"),
                ("Upstash-Callback", cb_url),
                ("Upstash-Callback-Forward-X-Token", "tok"),
                ("Upstash-Callback-Method", "PUT"),
            ],
            b"payload",
        )
        .await;
    let m = hs.q.get_message(&id).await.unwrap();
    assert_eq!(m["callback"], json!(cb_url));
    assert_eq!(m["callbackHeader"], json!({"X-Token": ["tok"]}));
    hs.settle().await;
    assert_eq!(hs.t.requests_to(URL).len(), 2);
    let cbs = hs.t.requests_to(cb_url);
    assert_eq!(cbs.len(), 2, "one callback per attempt");
    for (i, cb) in cbs.iter().enumerate() {
        assert_eq!(cb.method, "PUT");
        assert_eq!(hdr(cb, "X-Token"), Some("tok"));
        assert_eq!(hdr(cb, "Upstash-Retried"), Some("0"));
        hs.verify(cb);
        let b = body_json(cb);
        assert_eq!(b["sourceMessageId"], json!(id));
        assert_eq!(b["retried"], json!(i));
        assert_eq!(b["maxRetries"], json!(1));
        assert_eq!(b["sourceBody"], json!(b64(b"payload")));
        assert_eq!(b["url"], json!(URL));
        assert_eq!(b["method"], json!("POST"));
        assert!(b.get("dlqId").is_none());
    }
    let (b0, b1) = (body_json(&cbs[0]), body_json(&cbs[1]));
    assert_eq!(b0["status"], json!(500));
    assert_eq!(b0["body"], json!(b64(b"first")));
    assert_eq!(b1["status"], json!(201));
    assert_eq!(b1["body"], json!(b64(b"second")));
    assert_eq!(b1["header"], json!({"X-R": ["v"]}));
    assert!(hs.is_gone(&id).await);
}

#[tokio::test]
async fn timeouts_count_as_failures_and_retry() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(Outcome::Failed("timeout: the destination did not answer in time".into())), Step::Reply(ok())]);
    let id = hs.publish(URL, &[("Upstash-Timeout", "30s"), ("Upstash-Retry-Delay", "2000")], b"x").await;
    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].timeout, Duration::from_secs(30));
    let evs = hs.events_of(&id).await;
    assert_eq!(evs[0]["state"], json!("RETRY"));
    assert_eq!(evs[1]["state"], json!("ERROR"));
    assert!(evs[1]["error"].as_str().unwrap().starts_with("timeout"));
    assert!(evs[1].get("responseStatus").is_none());
    hs.advance(2_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    assert!(hs.is_gone(&id).await);

    // Without Upstash-Timeout the configured maximum applies.
    let hs = harness().await;
    hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert_eq!(hs.t.requests()[0].timeout, Duration::from_millis(hs.q.config().max_timeout_ms));
}

#[tokio::test]
async fn network_failures_exhaust_into_the_dlq_with_status_0() {
    let hs = harness().await;
    hs.t.script_any([Step::Reply(Outcome::Failed("connection refused".into()))]);
    let id = hs.publish(URL, &[("Upstash-Retries", "0"), ("Upstash-Failure-Callback", "https://cb.example/f")], b"x").await;
    hs.settle().await;
    assert_eq!(hs.states_of(&id).await[0], "FAILED");
    let page = hs.q.list_dlq(&[], &Filter::default(), None, 100).await.unwrap();
    let d = crate::dlq::dlq_json(&page.entries[0].0, &page.entries[0].1);
    assert_eq!(d["responseStatus"], json!(0), "Python requires responseStatus even without a response");
    assert_eq!(d["error"], json!("connection refused"));
    let cb = body_json(&hs.t.requests_to("https://cb.example/f")[0]);
    assert_eq!(cb["status"], json!(0));
    assert_eq!(cb["retried"], json!(0));
    assert_eq!(cb["maxRetries"], json!(0));
}
