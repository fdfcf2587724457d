//! Deduplication: by id and by content, within the 10-minute window.

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::publish::DEDUP_WINDOW_MS;

const URL: &str = "https://example.com/dedup";

#[tokio::test]
async fn same_dedup_id_within_the_window_is_one_message() {
    let hs = harness().await;
    let first = hs.try_publish(URL, None, &[("Upstash-Deduplication-Id", "d1")], b"a").await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.json.get("deduplicated").is_none());
    let id = first.json["messageId"].as_str().unwrap().to_string();

    hs.advance(60_000);
    let dup = hs.try_publish(URL, None, &[("Upstash-Deduplication-Id", "d1")], b"other body").await.unwrap();
    assert_eq!(dup.status, StatusCode::ACCEPTED);
    assert_eq!(dup.json, json!({"messageId": id, "deduplicated": true}));
    assert!(dup.ids.is_empty());

    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert_eq!(&hs.t.requests()[0].body[..], b"a");

    // Still a duplicate after delivery, until the window (from the first publish) ends.
    hs.advance(DEDUP_WINDOW_MS - 60_000 - 1);
    let dup = hs.try_publish(URL, None, &[("Upstash-Deduplication-Id", "d1")], b"a").await.unwrap();
    assert_eq!(dup.status, StatusCode::ACCEPTED);
    hs.advance(1);
    let again = hs.try_publish(URL, None, &[("Upstash-Deduplication-Id", "d1")], b"a").await.unwrap();
    assert_eq!(again.status, StatusCode::OK);
    assert_ne!(again.json["messageId"], json!(id));
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);

    // Another id is another message.
    let other = hs.try_publish(URL, None, &[("Upstash-Deduplication-Id", "d2")], b"a").await.unwrap();
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn content_based_dedup() {
    let hs = harness().await;
    let cbd = ("Upstash-Content-Based-Deduplication", "True");
    let first = hs.try_publish(URL, None, &[cbd, ("Content-Type", "text/plain")], b"same").await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    let id = first.json["messageId"].clone();
    let dup = hs.try_publish(URL, None, &[cbd, ("Content-Type", "text/plain")], b"same").await.unwrap();
    assert_eq!(dup.status, StatusCode::ACCEPTED);
    assert_eq!(dup.json, json!({"messageId": id, "deduplicated": true}));

    // A different body, destination, forwarded header or content type is a different message.
    for (dest, headers, body) in [
        (URL, vec![cbd, ("Content-Type", "text/plain")], &b"different"[..]),
        ("https://example.com/other", vec![cbd, ("Content-Type", "text/plain")], b"same"),
        (URL, vec![cbd, ("Content-Type", "text/plain"), ("Upstash-Forward-X-A", "1")], b"same"),
        (URL, vec![cbd, ("Content-Type", "application/json")], b"same"),
    ] {
        let a = hs.try_publish(dest, None, &headers, body).await.unwrap();
        assert_eq!(a.status, StatusCode::OK, "{dest} {headers:?}");
    }
    // Without the flag, no dedup.
    let plain = hs.try_publish(URL, None, &[("Content-Type", "text/plain")], b"same").await.unwrap();
    assert_eq!(plain.status, StatusCode::OK);

    hs.settle().await;
    assert_eq!(hs.t.count(), 6);

    hs.advance(DEDUP_WINDOW_MS);
    let after = hs.try_publish(URL, None, &[cbd, ("Content-Type", "text/plain")], b"same").await.unwrap();
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.json["messageId"], id);
}

#[tokio::test]
async fn dedup_of_a_url_group_publish_answers_the_array() {
    let hs = harness().await;
    hs.q.add_endpoints(
        "grp",
        crate::topics::EndpointsIn {
            endpoints: vec![
                crate::topics::EndpointIn { url: Some("https://a.example/1".into()), name: None },
                crate::topics::EndpointIn { url: Some("https://b.example/2".into()), name: None },
            ],
        },
    )
    .await
    .unwrap();
    let first = hs.try_publish("grp", None, &[("Upstash-Deduplication-Id", "g")], b"x").await.unwrap();
    let dup = hs.try_publish("grp", None, &[("Upstash-Deduplication-Id", "g")], b"x").await.unwrap();
    assert_eq!(dup.status, StatusCode::ACCEPTED);
    let arr = dup.json.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for (a, b) in arr.iter().zip(first.json.as_array().unwrap()) {
        assert_eq!(a["messageId"], b["messageId"]);
        assert_eq!(a["url"], b["url"]);
        assert_eq!(a["deduplicated"], json!(true));
    }
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
}
