//! Workflow runs on the core: the init creates the run, steps append to its log, a step's
//! delivery carries the log prefix, ending and pruning.

use base64::Engine as _;
use serde_json::Value as Json;

use super::*;

const WF: &str = "https://app.example/wf";

fn wf_headers<'a>(run: &'a str, init: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Upstash-Workflow-RunId", run),
        ("Upstash-Workflow-Init", init),
        ("Upstash-Workflow-Url", WF),
        ("Upstash-Forward-Upstash-Workflow-Sdk-Version", "1"),
        ("Upstash-Workflow-Sdk-Version", "1"),
        ("Upstash-Forward-User-Header", "u"),
    ]
}

fn steps_of(req: &OutRequest) -> Vec<Json> {
    serde_json::from_slice::<Vec<Json>>(&req.body).expect("a JSON array of raw steps")
}

fn b64d(s: &Json) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s.as_str().unwrap_or_default()).expect("base64")
}

#[tokio::test]
async fn steps_deliver_the_log_prefix_with_the_runs_headers_and_the_run_ends() {
    let hs = harness().await;
    let m0 = hs.publish(WF, &wf_headers("wfr_a", "true"), br#"{"x":7}"#).await;
    hs.settle().await;
    // A repeated init is deduplicated to the first message.
    let again = hs.try_publish(WF, None, &wf_headers("wfr_a", "true"), b"again").await.unwrap();
    assert_eq!(again.json["messageId"], serde_json::json!(m0));
    assert_eq!(again.json["deduplicated"], serde_json::json!(true));
    // The next step: no user header of its own; the run's is applied.
    let mut step = wf_headers("wfr_a", "false");
    step.retain(|(k, _)| *k != "Upstash-Forward-User-Header");
    let m1 = hs.publish(WF, &step, br#"{"stepId":1,"stepName":"s1","stepType":"Run","out":"\"a\"","concurrent":1}"#).await;
    hs.settle().await;
    let reqs = hs.t.requests_to(WF);
    assert_eq!(reqs.len(), 2);
    let first = steps_of(&reqs[0]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["messageId"], serde_json::json!(m0));
    assert_eq!(b64d(&first[0]["body"]), br#"{"x":7}"#);
    let second = steps_of(&reqs[1]);
    assert_eq!(second.len(), 2);
    assert_eq!(second[1]["messageId"], serde_json::json!(m1));
    assert_eq!(second[1]["callType"], serde_json::json!("step"));
    for r in &reqs {
        assert_eq!(hdr(r, "User-Header"), Some("u"), "the run's user header on every step");
        assert_eq!(r.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Upstash-Workflow-Sdk-Version")).count(), 1);
        assert!(hdr(r, "Upstash-Workflow-CreatedAt").is_some());
        hs.verify(r);
    }
    // Lazy fetch up to the first message.
    let lazy = hs.q.lazy_fetch("wfr_a", Some(&m0)).await.unwrap();
    assert_eq!(lazy.as_array().map(Vec::len), Some(1));
    // Finish: the run answers 404 to lazy fetches and 400 to new steps.
    hs.q.end_run("wfr_a", false, Some("\"done\"".into())).await.unwrap();
    assert_eq!(hs.q.lazy_fetch("wfr_a", None).await.unwrap_err().status, StatusCode::NOT_FOUND);
    let e = hs.try_publish(WF, None, &wf_headers("wfr_a", "false"), b"{}").await.unwrap_err();
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("can not append"));
    let run = hs.q.load_run("wfr_a").await.unwrap().unwrap();
    assert_eq!(run.result.as_deref(), Some("\"done\""));
}

#[tokio::test]
async fn ended_runs_are_pruned_after_their_retention_and_running_ones_stay() {
    let hs = harness().await;
    hs.publish(WF, &wf_headers("wfr_old", "true"), b"{}").await;
    hs.publish(WF, &wf_headers("wfr_running", "true"), b"{}").await;
    hs.settle().await;
    hs.q.end_run("wfr_old", true, None).await.unwrap();
    hs.advance(8 * 24 * 3600 * 1000);
    hs.q.tick().await.unwrap();
    assert!(hs.q.load_run("wfr_old").await.unwrap().is_none());
    assert!(hs.q.run_steps("wfr_old", None).await.unwrap().is_empty());
    assert!(hs.q.load_run("wfr_running").await.unwrap().is_some());
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_creates_nothing() {
    let hs = harness().await;
    // Unknown runs: ending one, fetching its log, waiting in it, a webhook to it.
    assert_eq!(hs.q.end_run("wfr_none", false, None).await.unwrap_err().status, StatusCode::NOT_FOUND);
    assert_eq!(hs.q.lazy_fetch("wfr_none", None).await.unwrap_err().status, StatusCode::NOT_FOUND);
    let wait = bytes::Bytes::from_static(br#"{"url":"https://app.example/wf","step":{"stepId":1}}"#);
    assert_eq!(hs.q.wait("ev", "wfr_none", Vec::new(), &wait).await.unwrap_err().status, StatusCode::NOT_FOUND);
    let hook = hs.q.webhook("wfr_none", "ev", serde_json::json!({"method": "POST"})).await.unwrap_err();
    assert_eq!(hook.status, StatusCode::NOT_FOUND);
    // A step into an unknown run is refused and leaves nothing behind.
    let e = hs.try_publish(WF, None, &wf_headers("wfr_none", "false"), b"{}").await.unwrap_err();
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert!(hs.q.load_run("wfr_none").await.unwrap().is_none());
    hs.settle().await;
    assert_eq!(hs.t.count(), 0);
    // A notify nobody waits for resolves nothing; a malformed wait request is refused.
    assert!(hs.q.notify("nobody", &bytes::Bytes::from_static(b"x"), None).await.unwrap().is_empty());
    hs.publish(WF, &wf_headers("wfr_b", "true"), b"{}").await;
    let bad = hs.q.wait("ev", "wfr_b", Vec::new(), &bytes::Bytes::from_static(b"not json")).await.unwrap_err();
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(hs.q.waiters("ev").await.unwrap().is_empty());
    // A malformed invoke envelope creates no run.
    let mut inv = wf_headers("wfr_c", "true");
    inv.push(("Upstash-Workflow-Invoke", "true"));
    assert_eq!(hs.try_publish(WF, None, &inv, b"{oops").await.unwrap_err().status, StatusCode::BAD_REQUEST);
    assert!(hs.q.load_run("wfr_c").await.unwrap().is_none());
    // A step body that is not JSON is kept as sent (the SDK owns its format) and logs still read.
    hs.publish(WF, &wf_headers("wfr_b", "false"), b"\xff not a step").await;
    hs.settle().await;
    let logs = hs.q.workflow_logs(&crate::api::Query::parse("workflowRunId=wfr_b")).await.unwrap();
    assert_eq!(logs["runs"].as_array().map(Vec::len), Some(1));
}
