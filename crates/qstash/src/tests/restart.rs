//! Restart over the same store: at-least-once delivery of attempts that were in flight, and
//! waiting messages (queues, flow control, delays, retries) that carry on.

use serde_json::json;

use super::*;

const URL: &str = "https://example.com/r";

#[tokio::test]
async fn in_flight_attempt_is_delivered_again_after_a_restart() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let id = hs.publish(URL, &[], b"body").await;
    hs.settle().await;
    assert_eq!(hs.t.held_count(), 1);
    let keys = hs.q.signing_keys();

    // The process stops with the request open (its task never finishes); a new one starts.
    let hs2 = hs.reopen().await;
    assert_eq!(hs2.q.signing_keys(), keys, "signing keys survive");
    hs2.settle().await;
    let reqs = hs2.t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(hdr(&reqs[0], "Upstash-Message-Id"), Some(id.as_str()));
    assert_eq!(&reqs[0].body[..], b"body");
    hs2.verify(&reqs[0]);
    assert!(hs2.is_gone(&id).await);
    assert_eq!(hs2.states_of(&id).await, ["DELIVERED", "ACTIVE", "ACTIVE", "CREATED"]);
    drop(hs);
}

#[tokio::test]
async fn waiting_messages_carry_on_after_a_restart() {
    let hs = harness().await;
    // A queue whose head is in flight, a retry, a delayed message.
    hs.t.script(URL, [Step::Hold]);
    hs.t.script("https://example.com/retry", [Step::Reply(status(500))]);
    let q1 = hs.enqueue("rq", URL, &[], b"1").await;
    let q2 = hs.enqueue("rq", URL, &[], b"2").await;
    let retry = hs.publish("https://example.com/retry", &[], b"r").await;
    let delayed = hs.publish("https://example.com/delayed", &[("Upstash-Delay", "1m")], b"d").await;
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&q1));

    let hs2 = hs.reopen().await;
    hs2.settle().await;
    let ids: Vec<_> = hs2.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(ids, [q1.clone(), q2.clone()]);
    hs2.advance(60_000);
    hs2.settle().await;
    let ids: Vec<_> = hs2.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&retry) && ids.contains(&delayed));
    let retried = hs2.t.requests_to("https://example.com/retry");
    assert_eq!(hdr(&retried[0], "Upstash-Retried"), Some("1"));
    for id in [q1, q2, retry, delayed] {
        assert!(hs2.is_gone(&id).await);
    }
}

#[tokio::test]
async fn flow_control_waiters_are_released_after_a_restart() {
    let hs = harness().await;
    let fc = [("Upstash-Flow-Control-Key", "rk"), ("Upstash-Flow-Control-Value", "rate=1, period=1m")];
    let a = hs.publish(URL, &fc, b"1").await;
    let b = hs.publish(URL, &fc, b"2").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert_eq!(hs.q.get_flow("rk").await.unwrap()["waitListSize"], json!(1));

    let hs2 = hs.reopen().await;
    hs2.advance(60_000);
    hs2.settle().await;
    let reqs = hs2.t.requests();
    assert_eq!(reqs.len(), 1, "the waiter is not stuck in the wait list");
    assert_eq!(hdr(&reqs[0], "Upstash-Message-Id"), Some(b.as_str()));
    assert!(hs2.is_gone(&a).await && hs2.is_gone(&b).await);
    assert_eq!(hs2.q.get_flow("rk").await.unwrap()["waitListSize"], json!(0));
}

#[tokio::test]
async fn flow_control_in_flight_and_waiting_after_a_restart() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let fc = [("Upstash-Flow-Control-Key", "pk"), ("Upstash-Flow-Control-Value", "parallelism=1")];
    let a = hs.publish(URL, &fc, b"1").await;
    let b = hs.publish(URL, &fc, b"2").await;
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&a));

    let hs2 = hs.reopen().await;
    hs2.settle().await;
    let ids: Vec<_> = hs2.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(ids, [a, b]);
}
