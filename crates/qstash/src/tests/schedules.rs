//! Schedules: cron firing on the shared clock, pause, queues, upsert, invalid cron.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use super::*;

const URL: &str = "https://example.com/cron";
/// T0 is 22:13:20; the next 5-minute boundary is 22:15:00.
const NEXT: u64 = T0 + 100_000;
const FIVE_MIN: u64 = 300_000;

async fn schedule(hs: &Harness, dest: &str, headers: &[(&str, &str)], body: &[u8]) -> ApiResult<String> {
    let o = Options::parse(&h(headers), &[])?.finish();
    hs.q.create_schedule(dest, o, Bytes::copy_from_slice(body), CALLER).await
}

#[tokio::test]
async fn fires_once_at_each_boundary() {
    let hs = harness().await;
    let id = schedule(&hs, URL, &[("Upstash-Cron", "*/5 * * * * "), ("Content-Type", "text/plain"), ("Upstash-Forward-X-A", "1")], b"tick")
        .await
        .unwrap();
    assert!(id.starts_with("scd_"));
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!(s["cron"], json!("*/5 * * * *"), "trimmed");
    assert_eq!(s["destination"], json!(URL));
    assert_eq!(s["nextScheduleTime"], json!(NEXT));
    assert_eq!(s["retries"], json!(3));
    assert_eq!(s["method"], json!("POST"));
    assert_eq!(s["body"], json!("tick"));
    assert_eq!(s["header"], json!({"Content-Type": ["text/plain"], "X-A": ["1"]}));
    assert_eq!(s["isPaused"], json!(false));
    assert_eq!(s["createdAt"], json!(T0));

    hs.settle().await;
    hs.advance(NEXT - T0 - 1);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    hs.advance(1);
    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(hdr(&reqs[0], "Upstash-Schedule-Id"), Some(id.as_str()));
    assert_eq!(hdr(&reqs[0], "X-A"), Some("1"));
    assert_eq!(&reqs[0].body[..], b"tick");
    hs.verify(&reqs[0]);
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!(s["lastScheduleTime"], json!(NEXT));
    assert_eq!(s["nextScheduleTime"], json!(NEXT + FIVE_MIN));
    let mid = hdr(&reqs[0], "Upstash-Message-Id").unwrap();
    assert!(s["lastScheduleStates"].get(mid).is_some());
    let evs = hs.events_of(mid).await;
    assert!(evs.iter().all(|e| e["scheduleId"] == json!(id)));

    // A few seconds later nothing more; at the next boundary one more.
    hs.advance(60_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
    hs.advance(FIVE_MIN - 60_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 2);

    // Missed runs fire once.
    hs.advance(3 * FIVE_MIN);
    hs.settle().await;
    assert_eq!(hs.t.count(), 3);
}

#[tokio::test]
async fn pause_skips_runs() {
    let hs = harness().await;
    let id = schedule(&hs, URL, &[("Upstash-Cron", "*/5 * * * *")], b"").await.unwrap();
    hs.q.set_schedule_paused(&id, true).await.unwrap();
    assert_eq!(hs.q.get_schedule(&id).await.unwrap()["isPaused"], json!(true));
    hs.advance(NEXT - T0);
    hs.settle().await;
    hs.advance(FIVE_MIN);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!(s["nextScheduleTime"], json!(NEXT + 2 * FIVE_MIN), "paused schedules keep their times moving");
    assert!(s.get("body").is_none(), "an empty body is omitted");
    hs.q.set_schedule_paused(&id, false).await.unwrap();
    assert_eq!(hs.q.get_schedule(&id).await.unwrap()["isPaused"], json!(false));
    hs.advance(FIVE_MIN);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}

#[tokio::test]
async fn a_schedule_into_a_queue() {
    let hs = harness().await;
    let id = schedule(&hs, URL, &[("Upstash-Cron", "*/5 * * * *"), ("Upstash-Queue-Name", "sq")], b"q").await.unwrap();
    assert_eq!(hs.q.get_schedule(&id).await.unwrap()["queueName"], json!("sq"));
    hs.advance(NEXT - T0);
    hs.settle().await;
    let reqs = hs.t.requests();
    assert_eq!(reqs.len(), 1);
    let mid = hdr(&reqs[0], "Upstash-Message-Id").unwrap();
    let evs = hs.events_of(mid).await;
    assert!(evs.iter().all(|e| e["queueName"] == json!("sq") && e["scheduleId"] == json!(id)));
    assert_eq!(hs.q.get_queue("sq").await.unwrap()["parallelism"], json!(1));
}

#[tokio::test]
async fn upsert_by_id_replaces_every_field() {
    let hs = harness().await;
    let id = schedule(
        &hs,
        URL,
        &[
            ("Upstash-Cron", "*/5 * * * *"),
            ("Upstash-Schedule-Id", "my-sched"),
            ("Upstash-Retries", "5"),
            ("Upstash-Callback", "https://cb.example/x"),
            ("Upstash-Delay", "30s"),
        ],
        b"first",
    )
    .await
    .unwrap();
    assert_eq!(id, "my-sched");
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!((s["retries"].clone(), s["delay"].clone(), s["callback"].clone()), (json!(5), json!(30), json!("https://cb.example/x")));
    hs.advance(60_000);
    let id2 = schedule(&hs, "https://example.com/other", &[("Upstash-Cron", "0 * * * *"), ("Upstash-Schedule-Id", "my-sched")], b"")
        .await
        .unwrap();
    assert_eq!(id2, id);
    let s = hs.q.get_schedule(&id).await.unwrap();
    assert_eq!(s["cron"], json!("0 * * * *"));
    assert_eq!(s["destination"], json!("https://example.com/other"));
    assert_eq!(s["retries"], json!(3));
    assert_eq!(s["createdAt"], json!(T0), "createdAt survives the update");
    for k in ["body", "callback", "delay"] {
        assert!(s.get(k).is_none(), "{k} must be gone: {s}");
    }
    assert_eq!(hs.q.list_schedules().await.unwrap().as_array().unwrap().len(), 1);
    // The old 5-minute run does not happen; the hourly one (23:00) does.
    hs.advance(NEXT - T0);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    let top_of_hour = T0 - 13 * 60_000 - 20_000 + 3_600_000;
    hs.advance(top_of_hour - hs.clock.now_ms());
    hs.settle().await;
    assert_eq!(hs.t.requests_to("https://example.com/other").len(), 1);
}

#[tokio::test]
async fn delayed_schedule_messages() {
    let hs = harness().await;
    schedule(&hs, URL, &[("Upstash-Cron", "*/5 * * * *"), ("Upstash-Delay", "30s")], b"d").await.unwrap();
    hs.advance(NEXT - T0);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    hs.advance(30_000);
    hs.settle().await;
    assert_eq!(hs.t.count(), 1);
}

#[tokio::test]
async fn invalid_input_is_refused() {
    let hs = harness().await;
    for cron in ["* * * *", "61 * * * *", "not a cron", "* * * * * *"] {
        let e = schedule(&hs, URL, &[("Upstash-Cron", cron)], b"").await.unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{cron}");
    }
    let e = schedule(&hs, URL, &[], b"").await.unwrap_err();
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    let e = schedule(&hs, URL, &[("Upstash-Cron", "* * * * *"), ("Upstash-Schedule-Id", "bad id!")], b"").await.unwrap_err();
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    let e = schedule(&hs, "no-such-group", &[("Upstash-Cron", "* * * * *")], b"").await.unwrap_err();
    assert_eq!(e.status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.get_schedule("nope").await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.delete_schedule("nope").await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.set_schedule_paused("nope", true).await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.list_schedules().await.unwrap(), json!([]));
}

#[tokio::test]
async fn deleted_schedules_do_not_fire() {
    let hs = harness().await;
    let id = schedule(&hs, URL, &[("Upstash-Cron", "*/5 * * * *")], b"").await.unwrap();
    hs.q.delete_schedule(&id).await.unwrap();
    hs.advance(NEXT - T0);
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
}
