//! Cancel: one message (delayed, in flight, unknown), many by ids, many by filter.

use serde_json::json;

use super::*;

const URL: &str = "https://example.com/c";

#[tokio::test]
async fn a_delayed_message_canceled_is_never_delivered() {
    let hs = harness().await;
    let id = hs.publish(URL, &[("Upstash-Delay", "1h")], b"x").await;
    assert_eq!(hs.q.get_message(&id).await.unwrap()["notBefore"], json!(T0 + 3_600_000));
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    assert!(hs.q.cancel(&id).await.unwrap());
    assert!(hs.is_gone(&id).await);
    assert_eq!(hs.states_of(&id).await, ["CANCELED", "CANCEL_REQUESTED", "CREATED"]);
    hs.advance(3_600_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    // A second cancel, and a cancel of an unknown id, find nothing.
    assert!(!hs.q.cancel(&id).await.unwrap());
    assert!(!hs.q.cancel("msg_unknown").await.unwrap());
}

#[tokio::test]
async fn cancel_in_flight_ends_as_canceled_without_retry() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let id = hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert_eq!(hs.t.held_count(), 1);
    assert!(hs.q.cancel(&id).await.unwrap());
    assert_eq!(hs.states_of(&id).await[0], "CANCEL_REQUESTED");
    hs.t.release(status(500));
    hs.settle().await;
    hs.advance(86_400_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert!(hs.is_gone(&id).await);
    assert_eq!(hs.states_of(&id).await, ["CANCELED", "CANCEL_REQUESTED", "ACTIVE", "CREATED"]);
}

#[tokio::test]
async fn cancel_while_waiting_for_a_retry() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(status(500))]);
    let id = hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert!(hs.q.cancel(&id).await.unwrap());
    hs.advance(86_400_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert_eq!(hs.states_of(&id).await[..2], ["CANCELED", "CANCEL_REQUESTED"]);
}

#[tokio::test]
async fn bulk_cancel_by_ids_and_by_filter() {
    let hs = harness().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(hs.publish(URL, &[("Upstash-Delay", "1h")], i.to_string().as_bytes()).await);
    }
    let other = hs.publish("https://other.example/x", &[("Upstash-Delay", "1h"), ("Upstash-Label", "blue")], b"o").await;
    let labeled = hs.publish(URL, &[("Upstash-Delay", "1h"), ("Upstash-Label", "red,green")], b"l").await;

    // By ids (an unknown id is not counted).
    let n = hs.q.cancel_many(&[ids[0].clone(), ids[1].clone(), "msg_nope".into()], &Filter::default(), None).await.unwrap();
    assert_eq!(n, 2);
    assert!(hs.is_gone(&ids[0]).await && hs.is_gone(&ids[1]).await);
    assert!(!hs.is_gone(&ids[2]).await);

    // By filter: a label, then a URL.
    let n = hs.q.cancel_many(&[], &Filter { labels: vec!["green".into()], ..Filter::default() }, None).await.unwrap();
    assert_eq!(n, 1);
    assert!(hs.is_gone(&labeled).await);
    let n = hs.q.cancel_many(&[], &Filter { urls: vec!["https://other.example/x".into()], ..Filter::default() }, None).await.unwrap();
    assert_eq!(n, 1);
    assert!(hs.is_gone(&other).await);

    // With a count, at most that many.
    let more = hs.publish(URL, &[("Upstash-Delay", "1h")], b"m").await;
    let n = hs.q.cancel_many(&[], &Filter::default(), Some(1)).await.unwrap();
    assert_eq!(n, 1);
    // No filter at all: everything left.
    let n = hs.q.cancel_many(&[], &Filter::default(), None).await.unwrap();
    assert_eq!(n, 1);
    assert!(hs.is_gone(&ids[2]).await && hs.is_gone(&more).await);

    hs.advance(3_600_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
}

#[tokio::test]
async fn canceling_twice_while_in_flight_keeps_the_slot_accounting() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold, Step::Hold]);
    let fc = [("Upstash-Flow-Control-Key", "ck"), ("Upstash-Flow-Control-Value", "parallelism=1")];
    let a = hs.enqueue("cq", URL, &fc, b"1").await;
    let b = hs.enqueue("cq", URL, &fc, b"2").await;
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&a));
    assert!(hs.q.cancel(&a).await.unwrap());
    // A second cancel (DELETE again, or a bulk cancel) while the attempt is still open.
    assert!(hs.q.cancel(&a).await.unwrap());
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&a), "the queue's next waits for the attempt in flight");
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&b), "the flow-control slot was given back");
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.states_of(&a).await[..2], ["CANCELED", "CANCEL_REQUESTED"]);
    assert_eq!(hs.states_of(&a).await.iter().filter(|s| *s == "CANCELED").count(), 1);
    assert_eq!(hs.states_of(&b).await[0], "DELIVERED");
    assert_eq!(hs.q.get_flow("ck").await.unwrap()["parallelismCount"], json!(0));
}
