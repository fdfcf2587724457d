//! URL groups: fan-out, one message per endpoint, and unknown groups.

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::topics::{EndpointIn, EndpointsIn};

fn eps(list: &[(&str, Option<&str>)]) -> EndpointsIn {
    EndpointsIn { endpoints: list.iter().map(|(u, n)| EndpointIn { url: Some(u.to_string()), name: n.map(String::from) }).collect() }
}

#[tokio::test]
async fn publish_to_a_group_fans_out() {
    let hs = harness().await;
    hs.q.add_endpoints("grp", eps(&[("https://a.example/1", Some("ea")), ("https://b.example/2", None)])).await.unwrap();
    let g = hs.q.get_topic("grp").await.unwrap();
    assert_eq!(g["endpoints"], json!([{"name": "ea", "url": "https://a.example/1"}, {"url": "https://b.example/2"}]));

    hs.t.script("https://b.example/2", [Step::Reply(status(500))]);
    let a = hs.try_publish("grp", None, &[("Upstash-Retries", "1"), ("Upstash-Retry-Delay", "0")], b"fan").await.unwrap();
    assert_eq!(a.status, StatusCode::OK);
    let arr = a.json.as_array().expect("a bare JSON array").clone();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["url"], json!("https://a.example/1"));
    assert_eq!(arr[1]["url"], json!("https://b.example/2"));
    let (ida, idb) = (arr[0]["messageId"].as_str().unwrap().to_string(), arr[1]["messageId"].as_str().unwrap().to_string());
    assert_ne!(ida, idb);
    let ma = hs.q.get_message(&ida).await.unwrap();
    assert_eq!(ma["topicName"], json!("grp"));
    assert_eq!(ma["endpointName"], json!("ea"));

    hs.settle().await;
    // Each endpoint its own message with its own retries.
    let ra = hs.t.requests_to("https://a.example/1");
    let rb = hs.t.requests_to("https://b.example/2");
    assert_eq!(ra.len(), 1);
    assert_eq!(rb.len(), 2);
    for r in ra.iter().chain(rb.iter()) {
        assert_eq!(hdr(r, "Upstash-Topic-Name"), Some("grp"));
        assert_eq!(&r.body[..], b"fan");
        hs.verify(r);
    }
    assert_eq!(hdr(&ra[0], "Upstash-Message-Id"), Some(ida.as_str()));
    assert_eq!(hdr(&rb[1], "Upstash-Retried"), Some("1"));
    assert!(hs.events_of(&idb).await.iter().all(|e| e["topicName"] == json!("grp")));
}

#[tokio::test]
async fn unknown_group_is_404() {
    let hs = harness().await;
    let e = hs.try_publish("nope", None, &[], b"x").await.unwrap_err();
    assert_eq!(e.status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.get_topic("nope").await.unwrap_err().status, StatusCode::NOT_FOUND);
    let (st, body) = hs.api(http::Method::POST, "/v2/publish/nope", &[], b"x").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn removing_the_last_endpoint_deletes_the_group() {
    let hs = harness().await;
    hs.q.add_endpoints("g2", eps(&[("https://a.example/1", Some("ea")), ("https://b.example/2", None)])).await.unwrap();
    hs.q.remove_endpoints("g2", EndpointsIn { endpoints: vec![EndpointIn { url: None, name: Some("ea".into()) }] }).await.unwrap();
    assert_eq!(hs.q.get_topic("g2").await.unwrap()["endpoints"], json!([{"url": "https://b.example/2"}]));
    hs.q.remove_endpoints("g2", eps(&[("https://b.example/2", None)])).await.unwrap();
    assert_eq!(hs.q.get_topic("g2").await.unwrap_err().status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dlq_retry_of_a_group_message_goes_to_its_endpoint_and_keeps_the_group() {
    let hs = harness().await;
    hs.q.add_endpoints("grp2", eps(&[("https://a.example/ok", None), ("https://b.example/bad", Some("eb"))])).await.unwrap();
    hs.t.script("https://b.example/bad", [Step::Reply(status(500))]);
    hs.try_publish("grp2", None, &[("Upstash-Retries", "0")], b"x").await.unwrap();
    hs.settle().await;
    let page = hs.q.list_dlq(&[], &crate::events::Filter::default(), None, 10).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    let dlq_id = page.entries[0].0.dlq_id.clone();
    let id = hs.q.retry_dlq(&dlq_id, &crate::options::Options::default(), "127.0.0.1").await.unwrap();
    let m = hs.q.get_message(&id).await.unwrap();
    assert_eq!((m["topicName"].clone(), m["endpointName"].clone()), (json!("grp2"), json!("eb")));
    hs.settle().await;
    let rb = hs.t.requests_to("https://b.example/bad");
    assert_eq!(rb.len(), 2, "the retry goes to the failed endpoint only");
    assert_eq!(hs.t.requests_to("https://a.example/ok").len(), 1);
    assert_eq!(hdr(&rb[1], "Upstash-Topic-Name"), Some("grp2"));
}
