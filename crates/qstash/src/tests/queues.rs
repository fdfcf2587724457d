//! FIFO queues: order, waiting for the head's retries, pause/resume, parallelism.

use serde_json::json;

use super::*;

const URL: &str = "https://example.com/q";

fn bodies(t: &Scripted) -> Vec<String> {
    t.requests().iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect()
}

#[tokio::test]
async fn strict_order_and_the_next_waits_for_the_retries_of_the_first() {
    let hs = harness().await;
    hs.q.upsert_queue("q1", Some(1), None).await.unwrap();
    // The first request (message 1) fails once.
    hs.t.script(URL, [Step::Reply(status(500))]);
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(hs.enqueue("q1", URL, &[], i.to_string().as_bytes()).await);
    }
    let q = hs.q.get_queue("q1").await.unwrap();
    assert_eq!(q["lag"], json!(5));
    assert_eq!(q["parallelism"], json!(1));

    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1"], "message 2 waits while message 1 retries");
    assert_eq!(hs.states_of(&ids[0]).await[0], "RETRY");
    assert_eq!(hs.states_of(&ids[1]).await, ["CREATED"]);
    assert_eq!(hs.q.get_queue("q1").await.unwrap()["lag"], json!(5));

    hs.advance(12_000);
    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1", "1", "2", "3", "4", "5"]);
    for id in &ids {
        assert!(hs.is_gone(id).await);
        assert_eq!(hs.states_of(id).await[0], "DELIVERED");
    }
    let evs = hs.events_of(&ids[2]).await;
    assert!(evs.iter().all(|e| e["queueName"] == json!("q1")));
    assert_eq!(hs.q.get_queue("q1").await.unwrap()["lag"], json!(0));
}

#[tokio::test]
async fn enqueue_creates_the_queue_with_parallelism_1() {
    let hs = harness().await;
    hs.enqueue("auto", URL, &[], b"a").await;
    let q = hs.q.get_queue("auto").await.unwrap();
    assert_eq!(q["name"], json!("auto"));
    assert_eq!(q["parallelism"], json!(1));
    assert_eq!(q["paused"], json!(false));
    for k in ["createdAt", "updatedAt", "lag"] {
        assert!(q.get(k).is_some(), "{k}");
    }
    assert_eq!(hs.q.list_queues().await.unwrap().as_array().unwrap().len(), 1);
    // Invalid queue names are refused.
    let e = hs.try_publish(URL, Some("bad name"), &[], b"a").await.unwrap_err();
    assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pause_stops_new_starts_and_resume_continues() {
    let hs = harness().await;
    hs.q.upsert_queue("q2", Some(1), None).await.unwrap();
    hs.t.script(URL, [Step::Hold]);
    for i in 1..=3 {
        hs.enqueue("q2", URL, &[], i.to_string().as_bytes()).await;
    }
    hs.settle().await;
    assert_eq!(hs.t.held_count(), 1);
    hs.q.set_queue_paused("q2", true).await.unwrap();
    assert_eq!(hs.q.get_queue("q2").await.unwrap()["paused"], json!(true));
    // The one in flight finishes; nothing new starts.
    hs.t.release(ok());
    hs.settle().await;
    hs.advance(3_600_000);
    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1"]);
    // A paused queue still accepts messages.
    hs.enqueue("q2", URL, &[], b"4").await;
    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1"]);
    // Pausing twice is fine.
    hs.q.set_queue_paused("q2", true).await.unwrap();

    hs.q.set_queue_paused("q2", false).await.unwrap();
    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1", "2", "3", "4"]);
}

#[tokio::test]
async fn pause_before_the_first_start() {
    let hs = harness().await;
    hs.q.upsert_queue("q3", Some(1), Some(true)).await.unwrap();
    hs.enqueue("q3", URL, &[], b"1").await;
    hs.enqueue("q3", URL, &[], b"2").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    hs.q.set_queue_paused("q3", false).await.unwrap();
    hs.settle().await;
    assert_eq!(bodies(&hs.t), ["1", "2"]);
}

#[tokio::test]
async fn parallelism_2_allows_two_in_flight() {
    let hs = harness().await;
    hs.q.upsert_queue("q4", Some(2), None).await.unwrap();
    hs.t.script(URL, [Step::Hold, Step::Hold, Step::Hold, Step::Hold]);
    let mut ids = Vec::new();
    for i in 1..=4 {
        ids.push(hs.enqueue("q4", URL, &[], i.to_string().as_bytes()).await);
    }
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [ids[0].clone(), ids[1].clone()]);
    assert_eq!(hs.q.get_queue("q4").await.unwrap()["lag"], json!(2));
    // The second finishes first: the third starts, still two in flight.
    hs.t.release_id(&ids[1], ok());
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [ids[0].clone(), ids[2].clone()]);
    hs.t.release_id(&ids[0], ok());
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [ids[2].clone(), ids[3].clone()]);
    hs.t.release(ok());
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.t.count(), 4);
    assert_eq!(hs.q.inflight(), 0);
}

#[tokio::test]
async fn raising_parallelism_starts_waiting_messages() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold, Step::Hold]);
    let a = hs.enqueue("q5", URL, &[], b"1").await;
    let b = hs.enqueue("q5", URL, &[], b"2").await;
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&a));
    hs.q.upsert_queue("q5", Some(2), None).await.unwrap();
    hs.settle().await;
    assert_eq!(hs.t.held_ids(), [a, b]);
    hs.t.release(ok());
    hs.t.release(ok());
    hs.settle().await;
}

#[tokio::test]
async fn deleting_a_queue_cancels_its_waiting_messages() {
    let hs = harness().await;
    hs.q.upsert_queue("q6", Some(1), Some(true)).await.unwrap();
    let a = hs.enqueue("q6", URL, &[], b"1").await;
    hs.q.delete_queue("q6").await.unwrap();
    assert!(hs.is_gone(&a).await);
    assert_eq!(hs.states_of(&a).await[0], "CANCELED");
    assert_eq!(hs.q.get_queue("q6").await.unwrap_err().status, http::StatusCode::NOT_FOUND);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
}
