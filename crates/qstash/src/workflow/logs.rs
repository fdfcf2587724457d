//! `GET /v2/workflows/events` (the SDK's `client.logs()`) and `/v2/workflows/logs`: runs newest
//! first, each with its steps grouped as the SDK's `WorkflowRunLog` expects (`sequential`,
//! `parallel`, and `next` for what is still in flight), paged by a cursor.

use base64::Engine as _;
use serde_json::{json, Map, Value as Json};
use stashd_store::cmd;

use super::{RawStep, Run, RunState};
use crate::api::Query;
use crate::core::Qstash;
use crate::error::ApiResult;
use crate::keys;
use crate::model::{header_map, MsgState};

/// Runs per page by default, and at most.
const DEFAULT_COUNT: usize = 10;
const MAX_COUNT: usize = 100;

fn decode(b: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default()
}

impl Qstash {
    /// One page of run logs.
    pub async fn workflow_logs(&self, query: &Query) -> ApiResult<Json> {
        let count = query.number::<usize>("count")?.unwrap_or(DEFAULT_COUNT).clamp(1, MAX_COUNT);
        let start: usize = query.first("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let run_ids = query.all("workflowRunId");
        let states = query.all("state");
        let urls = query.all("workflowUrl");
        let labels = query.all("label");
        let created: Option<u64> = query.number("workflowCreatedAt")?;
        let from: Option<u64> = query.number("fromDate")?;
        let to: Option<u64> = query.number("toDate")?;
        let ids = self.store().one(cmd!["ZREVRANGE", keys::RUNS, 0, -1]).await?.into_bytes_list()?;
        let mut runs = Vec::new();
        let mut next = None;
        let mut matched = 0usize;
        for id in ids {
            let Some(run) = self.load_run(&String::from_utf8_lossy(&id)).await? else { continue };
            let ok = (run_ids.is_empty() || run_ids.contains(&run.id))
                && (states.is_empty() || states.iter().any(|s| s == run.state.as_str()))
                && (urls.is_empty() || urls.contains(&run.url))
                && (labels.is_empty() || run.config.labels.iter().any(|l| labels.contains(l)))
                && created.is_none_or(|c| run.created_at == c)
                && from.is_none_or(|f| run.created_at >= f)
                && to.is_none_or(|t| run.created_at <= t);
            if !ok {
                continue;
            }
            matched += 1;
            if matched <= start {
                continue;
            }
            if runs.len() == count {
                next = Some((start + count).to_string());
                break;
            }
            runs.push(self.run_log(&run).await?);
        }
        let mut o = json!({ "runs": runs });
        if let Some(c) = next {
            o["cursor"] = json!(c);
        }
        Ok(o)
    }

    /// One run's log.
    async fn run_log(&self, run: &Run) -> ApiResult<Json> {
        let steps = self.run_steps(&run.id, None).await?;
        let mut o = Map::new();
        o.insert("workflowRunId".into(), json!(run.id));
        o.insert("workflowUrl".into(), json!(run.url));
        o.insert("workflowState".into(), json!(run.state.as_str()));
        o.insert("workflowRunCreatedAt".into(), json!(run.created_at));
        o.insert("workflowRunCallerIp".into(), json!(run.caller_ip));
        if let Some(t) = run.completed_at {
            o.insert("workflowRunCompletedAt".into(), json!(t));
        }
        if let Some(r) = &run.result {
            o.insert("workflowRunResponse".into(), json!(r));
        }
        if let Some(inv) = &run.invoker {
            o.insert(
                "invoker".into(),
                json!({"workflowRunId": inv.run_id, "workflowUrl": inv.url, "workflowRunCreatedAt": inv.created_at}),
            );
        }
        if let Some(d) = &run.dlq_id {
            o.insert("dlqId".into(), json!(d));
        }
        if let Some(first) = run.config.labels.first() {
            o.insert("label".into(), json!(first));
            o.insert("labels".into(), json!(run.config.labels));
        }
        if let Some(fc) = &run.config.flow_control {
            o.insert("flowControlKey".into(), json!(fc.key));
        }
        if let Some(ff) = self.failure_function_log(run).await? {
            o.insert("failureFunction".into(), ff);
        }
        let mut groups = group_steps(run, &steps);
        if let Some(next) = self.next_group(run).await? {
            groups.push(next);
        }
        o.insert("steps".into(), Json::Array(groups));
        Ok(Json::Object(o))
    }

    /// The failure function's state (in progress until its callback reports back).
    async fn failure_function_log(&self, run: &Run) -> ApiResult<Option<Json>> {
        if run.state != RunState::Failed {
            return Ok(None);
        }
        let Some(cb) = &run.config.failure_callback else { return Ok(None) };
        let mut o =
            json!({"url": cb.url, "state": "CALLBACK_INPROGRESS", "messageId": "", "failHeaders": {}, "failStatus": 0, "failResponse": ""});
        if let Some(d) = &run.dlq_id {
            o["dlqId"] = json!(d);
            if let Some((e, _)) = self.load_dlq(d).await? {
                o["failHeaders"] = header_map(&e.response_headers);
                o["failStatus"] = json!(e.response_status);
                o["failResponse"] = json!(String::from_utf8_lossy(&e.response_body));
            }
        }
        if let Some(ff) = &run.failure_function {
            o["state"] = json!(ff.state);
            o["messageId"] = json!(ff.message_id);
            if let Some(b) = &ff.response_body {
                o["responseBody"] = json!(b);
            }
            if let Some(s) = ff.response_status {
                o["responseStatus"] = json!(s);
            }
        }
        Ok(Some(o))
    }

    /// The `next` group: the run's messages still pending (in flight or waiting to retry).
    async fn next_group(&self, run: &Run) -> ApiResult<Option<Json>> {
        if run.state != RunState::Started {
            return Ok(None);
        }
        let pending = self.store().one(cmd!["ZRANGE", keys::PENDING, 0, -1]).await?.into_bytes_list()?;
        let mut steps = Vec::new();
        for id in pending {
            let id = String::from_utf8_lossy(&id).into_owned();
            let Some((m, _)) = self.load_message(&id).await? else { continue };
            if m.workflow.as_ref().is_none_or(|w| w.run_id != run.id) {
                continue;
            }
            let state = if m.state == MsgState::Retry { "STEP_RETRY" } else { "STEP_PROGRESS" };
            let mut errors = Vec::new();
            let f = crate::events::Filter { message_ids: vec![id.clone()], states: vec!["ERROR".into()], ..Default::default() };
            for e in self.list_events(&f, None, 100).await?.events {
                errors.push(json!({
                    "error": e.error.clone().unwrap_or_default(),
                    "body": e.response_body.clone().unwrap_or_default(),
                    "headers": header_map(&e.response_headers.clone().unwrap_or_default()),
                    "status": e.response_status.unwrap_or(0),
                    "time": e.time,
                }));
            }
            let mut s = json!({"messageId": id, "state": state, "retries": m.max_retries});
            if let Some(r) = &m.retry_delay {
                s["retryDelay"] = json!(r);
            }
            if !errors.is_empty() {
                s["errors"] = Json::Array(errors);
            }
            steps.push(s);
        }
        Ok((!steps.is_empty()).then(|| json!({"type": "next", "steps": steps})))
    }
}

/// The run's completed steps, grouped: one `sequential` group per step, one `parallel` group per
/// block of concurrent results. Plan steps and `context.call` plumbing are left out.
fn group_steps(run: &Run, steps: &[RawStep]) -> Vec<Json> {
    let mut groups: Vec<Json> = Vec::new();
    let mut parallel: Vec<Json> = Vec::new();
    let mut want = 0u64;
    for (i, raw) in steps.iter().enumerate() {
        if raw.call_type != "step" {
            continue;
        }
        let body = decode(&raw.body);
        let mut log = Map::new();
        log.insert("messageId".into(), json!(raw.message_id));
        log.insert("callType".into(), json!(raw.call_type));
        log.insert("state".into(), json!("STEP_SUCCESS"));
        log.insert("retries".into(), json!(run.config.retries.unwrap_or(3)));
        log.insert("createdAt".into(), json!(run.created_at));
        if i == 0 {
            log.insert("stepId".into(), json!(0));
            log.insert("stepName".into(), json!("init"));
            log.insert("stepType".into(), json!("Initial"));
            log.insert("out".into(), json!(String::from_utf8_lossy(&body)));
            log.insert("concurrent".into(), json!(1));
            groups.push(json!({"type": "sequential", "steps": [Json::Object(log)]}));
            continue;
        }
        let Ok(Json::Object(step)) = serde_json::from_slice::<Json>(&body) else { continue };
        let step_id = step.get("stepId").and_then(Json::as_u64).unwrap_or(0);
        if step_id == 0 {
            continue; // a parallel plan step
        }
        for k in [
            "stepId",
            "stepName",
            "stepType",
            "out",
            "concurrent",
            "sleepFor",
            "sleepUntil",
            "callUrl",
            "callMethod",
            "callHeaders",
            "callBody",
            "waitEventId",
            "waitTimeout",
        ] {
            if let Some(v) = step.get(k) {
                log.insert(k.into(), v.clone());
            }
        }
        if !log.contains_key("concurrent") {
            log.insert("concurrent".into(), json!(1));
        }
        let concurrent = step.get("concurrent").and_then(Json::as_u64).unwrap_or(1);
        if concurrent > 1 {
            if parallel.is_empty() {
                want = concurrent;
            }
            parallel.push(Json::Object(log));
            if parallel.len() as u64 >= want {
                groups.push(json!({"type": "parallel", "steps": std::mem::take(&mut parallel)}));
            }
        } else {
            if !parallel.is_empty() {
                groups.push(json!({"type": "parallel", "steps": std::mem::take(&mut parallel)}));
            }
            groups.push(json!({"type": "sequential", "steps": [Json::Object(log)]}));
        }
    }
    if !parallel.is_empty() {
        groups.push(json!({"type": "parallel", "steps": parallel}));
    }
    groups
}
