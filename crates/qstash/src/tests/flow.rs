//! Flow control: parallelism, rate per period, pause/resume, pin/unpin, reset, the JSON shape.

use http::StatusCode;
use serde_json::json;

use super::*;

const URL: &str = "https://example.com/fc";

async fn publish_fc(hs: &Harness, value: &str, body: &str) -> String {
    publish_key(hs, "k", value, body).await
}

async fn publish_key(hs: &Harness, key: &str, value: &str, body: &str) -> String {
    hs.publish(URL, &[("Upstash-Flow-Control-Key", key), ("Upstash-Flow-Control-Value", value)], body.as_bytes()).await
}

#[tokio::test]
async fn parallelism_1_keeps_one_in_flight() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold, Step::Hold, Step::Hold]);
    let mut ids = Vec::new();
    for i in 1..=3 {
        ids.push(publish_fc(&hs, "parallelism=1", &i.to_string()).await);
    }
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [ids[0].clone()]);
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["flowControlKey"], json!("k"));
    assert_eq!(f["parallelismMax"], json!(1));
    assert_eq!(f["parallelismCount"], json!(1));
    assert_eq!(f["waitListSize"], json!(2));
    assert_eq!(f["rateMax"], json!(0));
    assert_eq!(f["isPaused"], json!(false));

    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [ids[1].clone()]);
    hs.t.release(status(500));
    hs.settle().await;
    // A failed attempt frees the slot while it waits for its retry.
    assert_eq!(hs.t.held_ids(), [ids[2].clone()]);
    hs.t.release(ok());
    hs.settle().await;
    hs.advance(12_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 4);
    for id in &ids {
        assert!(hs.is_gone(id).await, "{id}");
    }
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["parallelismCount"], json!(0));
    assert_eq!(f["waitListSize"], json!(0));
}

#[tokio::test]
async fn rate_limits_starts_per_period() {
    let hs = harness().await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(publish_fc(&hs, "rate=2, period=10s", &i.to_string()).await);
    }
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["rateMax"], json!(2));
    assert_eq!(f["ratePeriod"], json!(10));
    assert_eq!(f["rateCount"], json!(2));
    assert_eq!(f["ratePeriodStart"], json!(T0 / 1000));
    assert_eq!(f["waitListSize"], json!(3));

    hs.advance(9_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 4);
    hs.advance(10_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 5);
    let order: Vec<_> = hs.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(order, ids, "waiters start in order");
}

#[tokio::test]
async fn rate_waiter_is_released_by_tick_when_the_period_ends() {
    // The worker's next wake-up is the end of the period.
    let hs = harness().await;
    publish_fc(&hs, "rate=1, period=1m", "1").await;
    publish_fc(&hs, "rate=1, period=1m", "2").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    let next = hs.q.tick().await.unwrap();
    assert_eq!(next, T0 + 60_000);
    hs.advance(60_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
}

#[tokio::test]
async fn pause_and_resume() {
    let hs = harness().await;
    publish_fc(&hs, "parallelism=5", "1").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.q.set_flow_paused("k", true).await.unwrap();
    assert_eq!(hs.q.get_flow("k").await.unwrap()["isPaused"], json!(true));
    publish_fc(&hs, "parallelism=5", "2").await;
    publish_fc(&hs, "parallelism=5", "3").await;
    hs.settle().await;
    hs.advance(60_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert_eq!(hs.q.get_flow("k").await.unwrap()["waitListSize"], json!(2));
    hs.q.set_flow_paused("k", false).await.unwrap();
    hs.settle().await;
    assert_eq!(hs.t.count(), 3);
    assert_eq!(hs.q.get_flow("k").await.unwrap()["isPaused"], json!(false));
}

#[tokio::test]
async fn pin_unpin_and_reset() {
    let hs = harness().await;
    publish_fc(&hs, "parallelism=1", "1").await;
    hs.settle().await;
    hs.q.pin_flow("k", Some(3), Some(20), Some(120)).await.unwrap();
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["parallelismMax"], json!(3));
    assert_eq!(f["rateMax"], json!(20));
    assert_eq!(f["ratePeriod"], json!(120));
    assert_eq!(f["isPinnedParallelism"], json!(true));
    assert_eq!(f["isPinnedRate"], json!(true));
    assert_eq!(f["rateCount"], json!(0), "pinning resets the rate count");

    // A message's own settings do not change a pinned key.
    publish_fc(&hs, "parallelism=1, rate=1", "2").await;
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!((f["parallelismMax"].clone(), f["rateMax"].clone(), f["ratePeriod"].clone()), (json!(3), json!(20), json!(120)));

    // Unpinned: the last settings stay until a message brings new ones.
    hs.q.unpin_flow("k", true, true).await.unwrap();
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["isPinnedParallelism"], json!(false));
    assert_eq!(f["isPinnedRate"], json!(false));
    assert_eq!(f["parallelismMax"], json!(3));
    assert_eq!(f["rateMax"], json!(20));
    publish_fc(&hs, "parallelism=2", "3").await;
    let f = hs.q.get_flow("k").await.unwrap();
    assert_eq!(f["parallelismMax"], json!(2));
    assert_eq!(f["rateMax"], json!(0));
    hs.settle().await;
    assert_eq!(hs.t.count(), 3);

    // Reset: the rate count clears and the waiting message starts at once.
    for i in 4..=5 {
        publish_key(&hs, "r", "rate=1, period=1h", &i.to_string()).await;
    }
    hs.settle().await;
    assert_eq!(hs.t.count(), 4);
    let f = hs.q.get_flow("r").await.unwrap();
    assert_eq!((f["rateCount"].clone(), f["waitListSize"].clone()), (json!(1), json!(1)));
    hs.advance(5_000);
    hs.q.reset_flow_rate("r").await.unwrap();
    hs.settle().await;
    assert_eq!(hs.t.count(), 5);
    let f = hs.q.get_flow("r").await.unwrap();
    assert_eq!(f["ratePeriodStart"], json!((T0 + 5_000) / 1000), "the period restarts at the reset");

    // Unknown keys.
    assert_eq!(hs.q.get_flow("nope").await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.set_flow_paused("nope", true).await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.list_flows(None).await.unwrap().as_array().unwrap().len(), 2);
    assert_eq!(hs.q.list_flows(Some("zz")).await.unwrap().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn flow_control_through_the_api() {
    let hs = harness().await;
    let (st, _) = hs
        .api(
            http::Method::POST,
            "/v2/publish/https://example.com/fc",
            &[("Upstash-Flow-Control-Key", "k"), ("Upstash-Flow-Control-Value", "parallelism=1")],
            b"x",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = hs.api(http::Method::POST, "/v2/flowControl/k/pin?parallelism=3&rate=20&period=120", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let (st, f) = hs.api(http::Method::GET, "/v2/flowControl/k", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((f["parallelismMax"].clone(), f["rateMax"].clone(), f["ratePeriod"].clone()), (json!(3), json!(20), json!(120)));
    assert_eq!((f["isPinnedParallelism"].clone(), f["isPinnedRate"].clone()), (json!(true), json!(true)));
    let (st, _) = hs.api(http::Method::POST, "/v2/flowControl/k/unpin?parallelism=true&rate=true", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let (_, f) = hs.api(http::Method::GET, "/v2/flowControl/k", &[], b"").await;
    assert_eq!((f["isPinnedParallelism"].clone(), f["isPinnedRate"].clone()), (json!(false), json!(false)));
    let (st, _) = hs.api(http::Method::POST, "/v2/flowControl/k/resetRate", &[], b"").await;
    assert_eq!(st, StatusCode::OK);
    let (_, all) = hs.api(http::Method::GET, "/v2/flowControl", &[], b"").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (_, gp) = hs.api(http::Method::GET, "/v2/globalParallelism", &[], b"").await;
    assert!(gp.get("parallelismMax").is_some() && gp.get("parallelismCount").is_some());
}

#[tokio::test]
async fn reading_a_key_does_not_start_its_rate_period() {
    let hs = harness().await;
    publish_fc(&hs, "rate=1, period=10s", "1").await;
    hs.q.set_flow_paused("k", true).await.unwrap();
    // Read at T0; the first start is at T0 + 9 s, so the period runs to T0 + 19 s.
    assert_eq!(hs.q.get_flow("k").await.unwrap()["rateCount"], json!(0));
    hs.advance(9_000);
    hs.q.set_flow_paused("k", false).await.unwrap();
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    publish_fc(&hs, "rate=1, period=10s", "2").await;
    hs.advance(1_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1, "the period began at the first start, not at the read");
    hs.advance(9_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
}
