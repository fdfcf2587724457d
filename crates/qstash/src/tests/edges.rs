//! Edge cases around the scenarios: interactions of cancel, queues, flow control, restarts and
//! the worker loop itself.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use super::*;

const URL: &str = "https://example.com/e";

#[tokio::test]
async fn ids_sort_in_creation_order() {
    let ids: Vec<String> = (0..2_000).map(|_| crate::core::new_id("msg_")).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(ids.iter().all(|i| i.len() == 4 + 22 && i[4..].bytes().all(|b| b.is_ascii_alphanumeric())));
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), ids.len());
}

#[tokio::test]
async fn canceling_a_flow_control_waiter_removes_it_from_the_wait_list() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let fc = [("Upstash-Flow-Control-Key", "ck"), ("Upstash-Flow-Control-Value", "parallelism=1")];
    let a = hs.publish(URL, &fc, b"1").await;
    let b = hs.publish(URL, &fc, b"2").await;
    let c = hs.publish(URL, &fc, b"3").await;
    hs.settle().await;
    assert_eq!(hs.q.get_flow("ck").await.unwrap()["waitListSize"], json!(2));
    assert!(hs.q.cancel(&b).await.unwrap());
    assert_eq!(hs.q.get_flow("ck").await.unwrap()["waitListSize"], json!(1));
    hs.t.release(ok());
    hs.settle().await;
    let ids: Vec<_> = hs.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(ids, [a, c]);
}

#[tokio::test]
async fn canceling_the_in_flight_head_of_a_queue_lets_the_next_go() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let a = hs.enqueue("cq", URL, &[], b"1").await;
    let b = hs.enqueue("cq", URL, &[], b"2").await;
    hs.settle().await;
    assert!(hs.q.cancel(&a).await.unwrap());
    hs.settle().await;
    assert_eq!(hs.t.count(), 1, "the head is still in flight");
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    assert_eq!(hs.states_of(&a).await[0], "CANCELED");
    assert_eq!(hs.states_of(&b).await[0], "DELIVERED");
}

#[tokio::test]
async fn a_failed_queue_head_lets_the_next_go() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Reply(status(500))]);
    let a = hs.enqueue("fq", URL, &[("Upstash-Retries", "0")], b"1").await;
    let b = hs.enqueue("fq", URL, &[], b"2").await;
    hs.settle().await;
    assert_eq!(hs.states_of(&a).await[0], "FAILED");
    assert_eq!(hs.states_of(&b).await[0], "DELIVERED");
}

#[tokio::test]
async fn cancel_requested_before_a_restart_is_not_delivered_again() {
    let hs = harness().await;
    hs.t.script(URL, [Step::Hold]);
    let id = hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert!(hs.q.cancel(&id).await.unwrap());
    let hs2 = hs.reopen().await;
    hs2.settle().await;
    assert_eq!(hs2.t.count(), 0);
    assert!(hs2.is_gone(&id).await);
    assert_eq!(hs2.states_of(&id).await[0], "CANCELED");
}

#[tokio::test]
async fn global_parallelism_bounds_attempts_in_flight() {
    let hs = harness_with(Config { token: "t".into(), global_parallelism: 2, ..Default::default() }).await;
    hs.t.script(URL, [Step::Hold, Step::Hold, Step::Hold]);
    for i in 0..3 {
        hs.publish(URL, &[], i.to_string().as_bytes()).await;
    }
    hs.settle().await;
    assert_eq!(hs.t.held_count(), 2);
    assert_eq!(hs.q.global_parallelism(), json!({"parallelismMax": 2, "parallelismCount": 2}));
    // Saturated: the worker sleeps until an attempt ends (which wakes it), it does not poll.
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 60_000);
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.t.held_count(), 2);
    assert_eq!(hs.t.count(), 3);
    hs.t.release(ok());
    hs.t.release(ok());
    hs.settle().await;
    assert_eq!(hs.q.inflight(), 0);
}

#[tokio::test]
async fn not_before_overrides_delay() {
    let hs = harness().await;
    let nb = (T0 / 1000 + 30).to_string();
    let id = hs.publish(URL, &[("Upstash-Delay", "1h"), ("Upstash-Not-Before", &nb)], b"x").await;
    assert_eq!(hs.q.get_message(&id).await.unwrap()["notBefore"], json!(T0 + 30_000));
    hs.advance(29_999);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    hs.advance(1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}

#[tokio::test]
async fn the_worker_wakes_at_the_next_due_time() {
    let hs = harness().await;
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 60_000, "idle: the safety-net wake-up");
    hs.publish(URL, &[("Upstash-Delay", "10s")], b"x").await;
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 10_000);
    let o = Options::parse(&h(&[("Upstash-Cron", "*/5 * * * *")]), &[]).unwrap().finish();
    hs.q.create_schedule(URL, o, Bytes::new(), CALLER).await.unwrap();
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 10_000);
    hs.advance(10_000);
    hs.settle().await;
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 70_000, "at most a minute of sleep");
    hs.advance(60_000);
    assert_eq!(hs.q.tick().await.unwrap(), T0 + 100_000, "the schedule's next run");
}

#[tokio::test]
async fn the_worker_loop_delivers_on_publish_and_on_clock_moves() {
    let hs = harness().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hs.q.clone().run_worker(stop_rx));
    async fn until(hs: &Harness, n: usize) -> bool {
        for _ in 0..10_000 {
            if hs.t.count() >= n && hs.q.inflight() == 0 {
                return true;
            }
            tokio::task::yield_now().await;
        }
        false
    }
    hs.publish(URL, &[], b"now").await;
    assert!(until(&hs, 1).await, "a publish wakes the worker");
    hs.publish(URL, &[("Upstash-Delay", "1h")], b"later").await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(hs.t.count(), 1);
    hs.advance(3_600_000);
    assert!(until(&hs, 2).await, "moving the clock wakes the worker");
    stop_tx.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn the_worker_loop_wakes_when_a_slot_frees() {
    let hs = harness_with(Config { token: "t".into(), global_parallelism: 1, ..Default::default() }).await;
    hs.t.script(URL, [Step::Hold, Step::Hold]);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hs.q.clone().run_worker(stop_rx));
    let a = hs.publish(URL, &[], b"1").await;
    let b = hs.publish(URL, &[], b"2").await;
    let mut seen = false;
    for _ in 0..10_000 {
        tokio::task::yield_now().await;
        if hs.t.held_count() == 1 {
            seen = true;
            break;
        }
    }
    assert!(seen);
    assert_eq!(hs.t.held_ids(), std::slice::from_ref(&a));
    hs.t.release(ok());
    let mut started = false;
    for _ in 0..10_000 {
        tokio::task::yield_now().await;
        if hs.t.held_ids() == std::slice::from_ref(&b) {
            started = true;
            break;
        }
    }
    assert!(started, "the end of the first attempt wakes the worker for the second");
    hs.t.release(ok());
    stop_tx.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn body_too_large_is_413() {
    let hs = harness().await;
    let big = vec![b'a'; hs.q.config().max_body + 1];
    let e = hs.try_publish(URL, None, &[], &big).await.unwrap_err();
    assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn redacted_fields_are_hidden_but_delivered() {
    let hs = harness().await;
    let id = hs
        .publish(
            URL,
            &[("Upstash-Redact-Fields", "body, header[X-Secret]"), ("Upstash-Forward-X-Secret", "s3cr3t"), ("Upstash-Forward-X-Open", "o")],
            b"private",
        )
        .await;
    let m = hs.q.get_message(&id).await.unwrap();
    assert!(m["body"].as_str().unwrap().starts_with("REDACTED:"));
    assert!(m["header"]["X-Secret"][0].as_str().unwrap().starts_with("REDACTED:"));
    assert_eq!(m["header"]["X-Open"], json!(["o"]));
    hs.settle().await;
    let r = &hs.t.requests()[0];
    assert_eq!(&r.body[..], b"private");
    assert_eq!(hdr(r, "X-Secret"), Some("s3cr3t"));
    let ev = &hs.events_of(&id).await[0];
    assert!(!ev.to_string().contains("s3cr3t"));
    assert!(!ev.to_string().contains(&b64(b"private")));
}

#[tokio::test]
async fn a_schedule_whose_group_was_deleted_records_the_error_and_moves_on() {
    let hs = harness().await;
    hs.q.add_endpoints(
        "sg",
        crate::topics::EndpointsIn { endpoints: vec![crate::topics::EndpointIn { url: Some("https://a.example/1".into()), name: None }] },
    )
    .await
    .unwrap();
    let o = Options::parse(&h(&[("Upstash-Cron", "*/5 * * * *")]), &[]).unwrap().finish();
    let id = hs.q.create_schedule("sg", o, Bytes::new(), CALLER).await.unwrap();
    hs.advance(100_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.q.delete_topic("sg").await.unwrap();
    hs.advance(300_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert!(s["error"].is_string());
    assert_eq!(s["nextScheduleTime"], json!(T0 + 700_000));
}

#[tokio::test]
async fn a_flow_controlled_queue() {
    let hs = harness().await;
    let fc = [("Upstash-Flow-Control-Key", "qk"), ("Upstash-Flow-Control-Value", "rate=1, period=10s")];
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(hs.enqueue("fcq", URL, &fc, i.to_string().as_bytes()).await);
    }
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(10_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);
    hs.advance(10_000);
    hs.settle().await;
    let order: Vec<_> = hs.t.requests().iter().map(|r| hdr(r, "Upstash-Message-Id").unwrap().to_string()).collect();
    assert_eq!(order, ids);
}

/// Runs `tick` in a task while the test holds the service lock, so that the schedule run is
/// read before, and written after, whatever the test queues behind it.
async fn tick_behind_the_lock(hs: &Harness, then: impl std::future::Future<Output = ()> + Send + 'static) {
    let guard = hs.q.inner.lock.lock().await;
    let q = hs.q.clone();
    let ticker = tokio::spawn(async move { q.tick().await.unwrap() });
    // The run has read the schedule and waits for the lock in accept().
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let other = tokio::spawn(then);
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    drop(guard);
    ticker.await.unwrap();
    other.await.unwrap();
}

#[tokio::test]
async fn a_pause_during_a_schedule_run_is_kept() {
    let hs = harness().await;
    let o = Options::parse(&h(&[("Upstash-Cron", "*/5 * * * *")]), &[]).unwrap().finish();
    let id = hs.q.create_schedule(URL, o, Bytes::new(), CALLER).await.unwrap();
    hs.advance(100_000);
    let (q, sid) = (hs.q.clone(), id.clone());
    tick_behind_the_lock(&hs, async move { q.set_schedule_paused(&sid, true).await.unwrap() }).await;
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!(s["isPaused"], json!(true), "the pause must not be undone by the run: {s}");
    assert_eq!(s["lastScheduleTime"], json!(T0 + 100_000));
    assert_eq!(s["nextScheduleTime"], json!(T0 + 400_000));
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(300_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1, "paused");
}

#[tokio::test]
async fn an_update_during_a_schedule_run_is_kept() {
    let hs = harness().await;
    let o = Options::parse(&h(&[("Upstash-Cron", "*/5 * * * *"), ("Upstash-Schedule-Id", "s")]), &[]).unwrap().finish();
    hs.q.create_schedule(URL, o, Bytes::new(), CALLER).await.unwrap();
    hs.advance(100_000);
    let q = hs.q.clone();
    tick_behind_the_lock(&hs, async move {
        let o = Options::parse(&h(&[("Upstash-Cron", "0 * * * *"), ("Upstash-Schedule-Id", "s")]), &[]).unwrap().finish();
        q.create_schedule("https://example.com/new", o, Bytes::new(), CALLER).await.unwrap();
    })
    .await;
    let s = hs.q.get_schedule("s").await.unwrap();
    assert_eq!(s["cron"], json!("0 * * * *"), "the update must not be undone by the run: {s}");
    assert_eq!(s["destination"], json!("https://example.com/new"));
    let top_of_hour = T0 - 13 * 60_000 - 20_000 + 3_600_000;
    assert_eq!(s["nextScheduleTime"], json!(top_of_hour));
    hs.settle().await;
    assert_eq!(hs.t.requests_to(URL).len(), 1, "the run that was under way");
    hs.advance(300_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1, "no more 5-minute runs");
    hs.advance(top_of_hour - hs.clock.now_ms());
    hs.settle().await;
    assert_eq!(hs.t.requests_to("https://example.com/new").len(), 1);
}

#[tokio::test]
async fn a_corrupt_message_record_does_not_stall_the_worker() {
    let hs = harness().await;
    hs.store
        .apply_durable(vec![
            stashd_store::cmd!["HSET", crate::keys::message("msg_0bad"), "meta", "{not json", "body", ""],
            stashd_store::cmd!["ZADD", crate::keys::DUE, T0 - 1, "msg_0bad"],
        ])
        .await
        .unwrap();
    let id = hs.publish(URL, &[], b"x").await;
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    assert!(hs.is_gone(&id).await);
}

#[tokio::test]
async fn a_corrupt_schedule_record_does_not_stop_the_others() {
    let hs = harness().await;
    hs.store
        .apply_durable(vec![
            stashd_store::cmd!["HSET", crate::keys::schedule("bad"), "meta", "{not json"],
            stashd_store::cmd!["ZADD", crate::keys::SCHEDULES_DUE, T0 + 1, "bad"],
        ])
        .await
        .unwrap();
    let o = Options::parse(&h(&[("Upstash-Cron", "*/5 * * * *")]), &[]).unwrap().finish();
    hs.q.create_schedule(URL, o, Bytes::new(), CALLER).await.unwrap();
    hs.advance(100_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}
