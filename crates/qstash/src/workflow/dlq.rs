//! Failed runs in the DLQ: listed with their workflow fields, resumed (a new run keeping the
//! steps that succeeded), restarted (a new run from the initial payload), their failure callback
//! re-run, deleted.

use bytes::Bytes;
use serde_json::{json, Value as Json};
use stashd_store::cmd;

use super::{RunState, WfRef};
use crate::core::{new_id, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::events::{Event, Filter};
use crate::keys;
use crate::model::{DlqEntry, HeaderList, Message, MsgKind, MsgState};
use crate::options::Options;
use crate::transport::Outcome;

/// Sets every header named `name` in `list` to `value` (adding it when absent).
fn set_header(list: &mut HeaderList, name: &str, value: &str) {
    let mut found = false;
    for (k, v) in list.iter_mut() {
        if k.eq_ignore_ascii_case(name) {
            *v = value.to_string();
            found = true;
        }
    }
    if !found {
        list.push((name.to_string(), value.to_string()));
    }
}

impl Qstash {
    /// The workflow fields of a DLQ entry (added to its JSON).
    pub async fn workflow_dlq_fields(&self, e: &DlqEntry, o: &mut Json) -> ApiResult<()> {
        let Some(w) = &e.message.workflow else { return Ok(()) };
        let run = self.load_run(&w.run_id).await?;
        o["workflowRunId"] = json!(w.run_id);
        if let Some(run) = run {
            o["workflowUrl"] = json!(run.url);
            o["workflowCreatedAt"] = json!(run.created_at);
            if let Some(cb) = &run.config.failure_callback {
                o["failureCallback"] = json!(cb.url);
                let state = run.failure_function.as_ref().map_or("CALLBACK_INPROGRESS", |f| f.state.as_str());
                o["failureFunctionState"] = json!(state);
                o["failureCallbackInfo"] = json!({"state": state});
            }
        }
        Ok(())
    }

    /// Whether a DLQ entry passes the workflow filters of `query` (only workflow entries do).
    pub async fn workflow_dlq_matches(&self, e: &DlqEntry, query: &crate::api::Query) -> ApiResult<bool> {
        let Some(w) = &e.message.workflow else { return Ok(false) };
        let run = self.load_run(&w.run_id).await?;
        let ids = query.all("workflowRunId");
        let urls = query.all("workflowUrl");
        let created: Option<u64> = query.number("workflowCreatedAt")?;
        let states = query.all("failureFunctionState");
        let ok = (ids.is_empty() || ids.contains(&w.run_id))
            && (urls.is_empty() || run.as_ref().is_some_and(|r| urls.contains(&r.url)))
            && created.is_none_or(|c| run.as_ref().is_some_and(|r| r.created_at == c))
            && (states.is_empty()
                || run.as_ref().is_some_and(|r| {
                    let s = r.failure_function.as_ref().map_or("CALLBACK_INPROGRESS", |f| f.state.as_str());
                    states.iter().any(|x| x == s)
                }));
        Ok(ok)
    }

    /// The DLQ ids a bulk workflow DLQ action names: `dlqIds`, else a page of the filtered
    /// workflow entries. Returns them and the cursor of the next page.
    pub async fn workflow_dlq_targets(&self, query: &crate::api::Query, body_ids: Vec<String>) -> ApiResult<(Vec<String>, Option<String>)> {
        if !body_ids.is_empty() {
            return Ok((body_ids, None));
        }
        let count = query.number::<usize>("count")?.unwrap_or(100).clamp(1, 100);
        let filter = query.filter()?;
        let mut cursor = query.first("cursor").filter(|c| !c.is_empty()).map(String::from);
        let mut out = Vec::new();
        loop {
            let page = self.list_dlq(&[], &filter, cursor.as_deref(), 100).await?;
            for (e, _) in &page.entries {
                if out.len() == count {
                    return Ok((out, Some(e.dlq_id.clone())));
                }
                if self.workflow_dlq_matches(e, query).await? {
                    out.push(e.dlq_id.clone());
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok((out, None)),
            }
        }
    }

    /// Resumes (keeping the steps up to the failed one) or restarts (from the initial payload)
    /// the failed run of DLQ entry `dlq_id`, as a new run. Returns `(new run id, created at)`.
    pub async fn resume_run(&self, dlq_id: &str, restart: bool, overrides: &Options) -> ApiResult<(String, u64)> {
        let (e, body) = self.load_dlq(dlq_id).await?.ok_or_else(|| ApiError::not_found(format!("dlq message {dlq_id} not found")))?;
        let w = e.message.workflow.clone().ok_or_else(|| ApiError::bad(format!("dlq message {dlq_id} is not a workflow run's")))?;
        let _g = self.inner.lock.lock().await;
        let old = self.load_run(&w.run_id).await?.ok_or_else(|| ApiError::not_found(format!("workflow run {} not found", w.run_id)))?;
        let now = self.now();
        let new_run_id = new_id("wfr_");
        let upto = if restart { 0 } else { w.index };
        let steps = self.run_steps(&old.id, Some(upto)).await?;
        let mut run = old.clone();
        run.id = new_run_id.clone();
        run.created_at = now;
        run.state = RunState::Started;
        run.completed_at = None;
        run.result = None;
        run.dlq_id = None;
        run.failure_function = None;
        if overrides.retries.is_some() {
            run.config.retries = overrides.retries;
        }
        if overrides.retry_delay.is_some() {
            run.config.retry_delay = overrides.retry_delay.clone();
        }
        if overrides.flow_control.is_some() {
            run.config.flow_control = overrides.flow_control.clone();
        }
        if !overrides.labels.is_empty() {
            run.config.labels = overrides.labels.clone();
        }
        if overrides.failure_callback.is_some() {
            run.config.failure_callback = overrides.failure_callback.clone();
        }
        if let Some(cb) = &mut run.config.failure_callback {
            set_header(&mut cb.headers, "Upstash-Workflow-RunId", &new_run_id);
        }
        let m0 = &e.message;
        let mut m = Message {
            id: new_id("msg_"),
            retried: 0,
            state: MsgState::Created,
            not_before: now.saturating_add(overrides.delay_ms.unwrap_or(0)),
            created_at: now,
            kind: MsgKind::Publish,
            parked: false,
            dedup_key: None,
            queue_name: None,
            ..m0.clone()
        };
        if restart {
            m.url = run.url.clone();
            m.method = "POST".into();
        }
        set_header(&mut m.headers, "Upstash-Workflow-RunId", &new_run_id);
        m.max_retries = run.config.retries.unwrap_or(m.max_retries);
        m.retry_delay = run.config.retry_delay.clone().or(m.retry_delay);
        m.flow_control = run.config.flow_control.clone();
        m.failure_callback = run.config.failure_callback.clone();
        m.labels = run.config.labels.clone();
        let step_delivery = restart || w.step_delivery;
        m.workflow = Some(WfRef { run_id: new_run_id.clone(), index: steps.len().saturating_sub(1), step_delivery });
        let mut cmds = vec![cmd!["SET", keys::run(&new_run_id), to_json(&run)], cmd!["ZADD", keys::RUNS, now, &new_run_id]];
        for s in &steps {
            cmds.push(cmd!["RPUSH", keys::run_steps(&new_run_id), to_json(s)]);
        }
        cmds.extend(Qstash::create_cmds(&m, &body));
        cmds.push(self.event_cmd(&Event::new("CREATED", &m, &body, now)));
        cmds.push(cmd!["XDEL", keys::DLQ, dlq_id]);
        self.store().apply_durable(cmds).await?;
        self.wake();
        Ok((new_run_id, now))
    }

    /// Re-runs the failure callback of the failed run of DLQ entry `dlq_id`.
    pub async fn retry_failure_function(&self, dlq_id: &str) -> ApiResult<Json> {
        let (e, body) = self.load_dlq(dlq_id).await?.ok_or_else(|| ApiError::not_found(format!("dlq message {dlq_id} not found")))?;
        let w = e.message.workflow.clone().ok_or_else(|| ApiError::bad(format!("dlq message {dlq_id} is not a workflow run's")))?;
        let _g = self.inner.lock.lock().await;
        let mut run = self.load_run(&w.run_id).await?.ok_or_else(|| ApiError::not_found(format!("workflow run {} not found", w.run_id)))?;
        let cb = e
            .message
            .failure_callback
            .clone()
            .or_else(|| run.config.failure_callback.clone())
            .ok_or_else(|| ApiError::bad(format!("workflow run {} has no failure callback", run.id)))?;
        let outcome = Outcome::Response {
            status: e.response_status,
            headers: e.response_headers.clone(),
            body: Bytes::from(e.response_body.clone()),
        };
        let (cbm, cbb) = self.callback_message(&e.message, &body, &cb, &outcome, MsgKind::FailureCallback, Some(dlq_id));
        let mut j: Json = serde_json::from_slice(&cbb).unwrap_or(Json::Null);
        self.workflow_failure_fields(&e.message, &mut j).await?;
        let cbb = Bytes::from(serde_json::to_vec(&j).unwrap_or_default());
        run.failure_function = None;
        let mut cmds = vec![cmd!["SET", keys::run(&run.id), to_json(&run)]];
        cmds.extend(self.callback_cmds(&e.message, cbm, &cbb, self.now()).await?);
        self.store().apply_durable(cmds).await?;
        self.wake();
        Ok(json!({"workflowRunId": run.id, "workflowCreatedAt": run.created_at}))
    }
}

/// The workflow DLQ listing filter that the shared DLQ filters cover (`url`, `label`, dates...).
pub fn shared_filter(query: &crate::api::Query) -> ApiResult<Filter> {
    query.filter()
}
