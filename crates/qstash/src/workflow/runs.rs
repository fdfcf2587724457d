//! Runs: binding messages to runs when they are accepted (creating the run on init, appending
//! to its step log otherwise), what their deliveries carry, and how runs end.

use bytes::Bytes;
use serde_json::{json, Value as Json};
use stashd_store::{cmd, Cmd, Value};

use super::{is_protocol_header, Invoker, RawStep, Run, RunConfig, RunState, WfHeaders, WfRef};
use crate::core::{from_json, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::{b64, HeaderList, Message, MsgKind};
use crate::options::Options;

/// The hosted service's text for a publish into a run that ended (the SDK swallows the 400).
pub const ENDED_RUN: &str = "failed to publish to url: can not append to a a cancelled workflow";

/// What accepting a workflow init found.
pub enum InitCheck {
    /// No run with that id: create it.
    New,
    /// The run exists: answer its first message id, deduplicated.
    Duplicate(String),
}

impl Qstash {
    /// Reads a run.
    pub async fn load_run(&self, id: &str) -> ApiResult<Option<Run>> {
        match self.store().one(cmd!["GET", keys::run(id)]).await?.into_bytes()? {
            Some(b) => Ok(Some(from_json(&b)?)),
            None => Ok(None),
        }
    }

    /// The run's step log, entries `0..=upto` (all when `None`).
    pub async fn run_steps(&self, id: &str, upto: Option<usize>) -> ApiResult<Vec<RawStep>> {
        let end = upto.map_or(-1, |u| i64::try_from(u).unwrap_or(i64::MAX));
        let raw = self.store().one(cmd!["LRANGE", keys::run_steps(id), 0, end]).await?.into_bytes_list()?;
        raw.iter().map(|b| from_json(b)).collect()
    }

    /// For an init message: whether its run already exists (and is not re-triggered by the SDK's
    /// unknown-SDK handshake). Called under the lock.
    pub(crate) async fn check_init(&self, h: &WfHeaders) -> ApiResult<InitCheck> {
        let Some(run_id) = &h.run_id else { return Ok(InitCheck::New) };
        if !h.init || h.trigger_by_sdk {
            return Ok(InitCheck::New);
        }
        if self.load_run(run_id).await?.is_none() {
            return Ok(InitCheck::New);
        }
        let first = self.run_steps(run_id, Some(0)).await?;
        Ok(InitCheck::Duplicate(first.into_iter().next().map(|s| s.message_id).unwrap_or_default()))
    }

    /// Binds a message being accepted to its run: creates the run on init, else appends to the
    /// run's log and applies the run's configuration where the message sets none. Returns the
    /// commands to add to the accept batch. Called under the lock, once per message.
    pub(crate) async fn bind_workflow(&self, m: &mut Message, body: &Bytes, opts: &Options) -> ApiResult<Vec<Cmd>> {
        let h = WfHeaders::of(&m.headers);
        let Some(run_id) = h.run_id.clone() else { return Ok(Vec::new()) };
        let now = self.now();
        if h.init {
            return self.create_run(m, body, &h, &run_id, now).await;
        }
        let run = self.load_run(&run_id).await?.ok_or_else(|| ApiError::bad(format!("workflow run {run_id} not found")))?;
        if run.state != RunState::Started {
            return Err(ApiError::bad(ENDED_RUN));
        }
        let call_type = h.call_type.clone().unwrap_or_else(|| "step".into());
        let to_callback = call_type == "toCallback";
        if !to_callback {
            apply_config(m, &run.config, opts);
        }
        let index = self.store().one(cmd!["LLEN", keys::run_steps(&run_id)]).await?.into_int()?;
        let step = RawStep { message_id: m.id.clone(), body: b64(body), call_type };
        m.workflow = Some(WfRef { run_id: run_id.clone(), index: usize::try_from(index).unwrap_or(0), step_delivery: !to_callback });
        Ok(vec![cmd!["RPUSH", keys::run_steps(&run_id), to_json(&step)]])
    }

    async fn create_run(&self, m: &mut Message, body: &Bytes, h: &WfHeaders, run_id: &str, now: u64) -> ApiResult<Vec<Cmd>> {
        if let Some(existing) = self.load_run(run_id).await? {
            // The unknown-SDK handshake re-publishes the init of an existing run: deliver step 0 again.
            if existing.state != RunState::Started {
                return Err(ApiError::bad(ENDED_RUN));
            }
            m.workflow = Some(WfRef { run_id: run_id.to_string(), index: 0, step_delivery: true });
            return Ok(Vec::new());
        }
        let mut payload = body.clone();
        let mut invoker = None;
        if h.invoke {
            let env: Json = serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid invoke body: {e}")))?;
            payload = Bytes::from(env.get("body").and_then(Json::as_str).unwrap_or_default().to_string());
            invoker = Some(Invoker {
                run_id: env.get("workflowRunId").and_then(Json::as_str).unwrap_or_default().to_string(),
                url: env.get("workflowUrl").and_then(Json::as_str).unwrap_or_default().to_string(),
                created_at: env.get("workflowRunCreatedAt").and_then(Json::as_u64).unwrap_or(0),
                step: env.get("step").cloned().unwrap_or(Json::Null),
                headers: header_pairs(env.get("headers")),
            });
        }
        let invoke_count = m
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Upstash-Workflow-Invoke-Count"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let run = Run {
            id: run_id.to_string(),
            url: h.url.clone().unwrap_or_else(|| m.url.clone()),
            created_at: now,
            state: RunState::Started,
            config: RunConfig {
                headers: m
                    .headers
                    .iter()
                    .filter(|(k, _)| {
                        !is_protocol_header(k)
                            && !k.eq_ignore_ascii_case("Content-Type")
                            && !crate::worker::NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str())
                    })
                    .cloned()
                    .collect(),
                retries: Some(m.max_retries),
                retry_delay: m.retry_delay.clone(),
                flow_control: m.flow_control.clone(),
                failure_callback: m.failure_callback.clone(),
                labels: m.labels.clone(),
                redact: m.redact.clone(),
            },
            invoker,
            invoke_count,
            caller_ip: m.caller_ip.clone(),
            ..Run::default()
        };
        m.workflow = Some(WfRef { run_id: run_id.to_string(), index: 0, step_delivery: true });
        let step0 = RawStep { message_id: m.id.clone(), body: b64(&payload), call_type: "step".into() };
        Ok(vec![
            cmd!["SET", keys::run(run_id), to_json(&run)],
            cmd!["DEL", keys::run_steps(run_id)],
            cmd!["RPUSH", keys::run_steps(run_id), to_json(&step0)],
            cmd!["ZADD", keys::RUNS, now, run_id],
        ])
    }

    /// Binds a callback message the server creates (a `context.call`'s callback, a failure
    /// call) to the run its headers name: appended to the log as a raw (not step) delivery.
    pub(crate) async fn bind_created(&self, m: &mut Message, body: &Bytes) -> ApiResult<Vec<Cmd>> {
        let h = WfHeaders::of(&m.headers);
        let Some(run_id) = h.run_id else { return Ok(Vec::new()) };
        let Some(run) = self.load_run(&run_id).await? else { return Ok(Vec::new()) };
        if m.kind == MsgKind::FailureCallback {
            // The failure call is not part of the log; it reports back to the run when done.
            m.workflow = Some(WfRef { run_id, index: 0, step_delivery: false });
            return Ok(Vec::new());
        }
        if run.state != RunState::Started {
            return Ok(Vec::new());
        }
        let index = self.store().one(cmd!["LLEN", keys::run_steps(&run_id)]).await?.into_int()?;
        let step = RawStep { message_id: m.id.clone(), body: b64(body), call_type: h.call_type.unwrap_or_else(|| "fromCallback".into()) };
        m.workflow = Some(WfRef { run_id: run_id.clone(), index: usize::try_from(index).unwrap_or(0), step_delivery: false });
        Ok(vec![cmd!["RPUSH", keys::run_steps(&run_id), to_json(&step)]])
    }

    /// What a delivery of a run's message carries: for step deliveries the log prefix as body;
    /// for every delivery but a `context.call` request, the run's user headers it lacks and
    /// `Upstash-Workflow-CreatedAt`. `None` when the run is gone.
    pub(crate) async fn workflow_delivery(&self, m: &Message, body: Bytes, headers: &mut HeaderList) -> ApiResult<Option<Bytes>> {
        let Some(w) = &m.workflow else { return Ok(Some(body)) };
        let Some(run) = self.load_run(&w.run_id).await? else { return Ok(Some(body)) };
        let to_callback = WfHeaders::of(&m.headers).call_type.as_deref() == Some("toCallback");
        if !to_callback {
            for (k, v) in &run.config.headers {
                let kept = !crate::worker::NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str());
                if kept && !headers.iter().any(|(hk, _)| hk.eq_ignore_ascii_case(k)) {
                    headers.push((k.clone(), v.clone()));
                }
            }
            headers.push(("Upstash-Workflow-CreatedAt".into(), run.created_at.to_string()));
        }
        if !w.step_delivery {
            return Ok(Some(body));
        }
        if run.state != RunState::Started {
            return Ok(None);
        }
        let steps = self.run_steps(&w.run_id, Some(w.index)).await?;
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("Content-Type")) {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Ok(Some(Bytes::from(serde_json::to_vec(&steps).unwrap_or_default())))
    }

    /// The failure-callback fields of a run's failed message: `sourceBody` is the run's
    /// initial payload; `workflowRunId` and `workflowCreatedAt` are added.
    pub(crate) async fn workflow_failure_fields(&self, src: &Message, body: &mut Json) -> ApiResult<()> {
        let Some(w) = &src.workflow else { return Ok(()) };
        let Some(run) = self.load_run(&w.run_id).await? else { return Ok(()) };
        let first = self.run_steps(&w.run_id, Some(0)).await?;
        if let Some(s) = first.first() {
            body["sourceBody"] = json!(s.body);
        }
        body["workflowRunId"] = json!(run.id);
        body["workflowCreatedAt"] = json!(run.created_at);
        body["url"] = json!(run.url);
        Ok(())
    }

    /// Commands recording that a run's step was dead-lettered: the run failed. Returns the
    /// failure callback to use (the message's own, else the run's).
    pub(crate) async fn workflow_failed(&self, m: &mut Message, dlq_id: &str) -> ApiResult<Vec<Cmd>> {
        let Some(w) = m.workflow.clone() else { return Ok(Vec::new()) };
        if WfHeaders::of(&m.headers).call_type.as_deref() == Some("toCallback") || m.kind == MsgKind::FailureCallback {
            return Ok(Vec::new());
        }
        let Some(mut run) = self.load_run(&w.run_id).await? else { return Ok(Vec::new()) };
        if run.state != RunState::Started {
            return Ok(Vec::new());
        }
        if m.failure_callback.is_none() {
            m.failure_callback = run.config.failure_callback.clone();
        }
        run.state = RunState::Failed;
        run.completed_at = Some(self.now());
        run.dlq_id = Some(dlq_id.to_string());
        let mut cmds = vec![cmd!["SET", keys::run(&run.id), to_json(&run)]];
        cmds.extend(self.resolve_invoker(&run, None, true, false).await?);
        Ok(cmds)
    }

    /// Commands recording a failure call's outcome on its run.
    pub(crate) async fn workflow_failure_outcome(
        &self,
        m: &Message,
        ok: bool,
        status: Option<u16>,
        body: Option<String>,
    ) -> ApiResult<Vec<Cmd>> {
        if m.kind != MsgKind::FailureCallback {
            return Ok(Vec::new());
        }
        let Some(w) = &m.workflow else { return Ok(Vec::new()) };
        let Some(mut run) = self.load_run(&w.run_id).await? else { return Ok(Vec::new()) };
        run.failure_function = Some(super::FailureFunction {
            state: if ok { "CALLBACK_SUCCESS" } else { "CALLBACK_FAIL" }.into(),
            message_id: m.id.clone(),
            response_body: body,
            response_status: status,
        });
        Ok(vec![cmd!["SET", keys::run(&run.id), to_json(&run)]])
    }

    /// `DELETE /v2/workflows/runs/{id}?cancel=...`: finishes the run with `result`, or cancels
    /// it (its waiting messages and waiters go). The invoker, if any, is told.
    pub async fn end_run(&self, run_id: &str, cancel: bool, result: Option<String>) -> ApiResult<()> {
        let to_cancel = {
            let _g = self.inner.lock.lock().await;
            let mut run = self.load_run(run_id).await?.ok_or_else(|| ApiError::not_found(format!("workflow run {run_id} not found")))?;
            if run.state != RunState::Started {
                return Err(ApiError::bad(format!("workflow run {run_id} has already ended ({})", run.state.as_str())));
            }
            run.state = if cancel { RunState::Canceled } else { RunState::Success };
            run.completed_at = Some(self.now());
            if !cancel {
                run.result = result.clone();
            }
            let mut cmds = vec![cmd!["SET", keys::run(run_id), to_json(&run)]];
            cmds.extend(self.resolve_invoker(&run, result.as_deref(), false, cancel).await?);
            cmds.extend(self.drop_waiters_cmds(run_id).await?);
            self.store().apply_durable(cmds).await?;
            if cancel {
                self.run_pending(run_id).await?
            } else {
                Vec::new()
            }
        };
        for id in to_cancel {
            self.cancel(&id).await?;
        }
        self.wake();
        Ok(())
    }

    /// The pending messages of a run.
    async fn run_pending(&self, run_id: &str) -> ApiResult<Vec<String>> {
        let all = self.store().one(cmd!["ZRANGE", keys::PENDING, 0, -1]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for id in all {
            let id = String::from_utf8_lossy(&id).into_owned();
            if let Some((m, _)) = self.load_message(&id).await? {
                if m.workflow.as_ref().is_some_and(|w| w.run_id == run_id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// When a run that was invoked ends: the invoke step, completed with the child's outcome,
    /// appended to the invoker's log and delivered to it.
    async fn resolve_invoker(&self, run: &Run, result: Option<&str>, failed: bool, canceled: bool) -> ApiResult<Vec<Cmd>> {
        let Some(inv) = &run.invoker else { return Ok(Vec::new()) };
        let Some(parent) = self.load_run(&inv.run_id).await? else { return Ok(Vec::new()) };
        if parent.state != RunState::Started {
            return Ok(Vec::new());
        }
        let out = json!({"body": result.or(run.result.as_deref()), "isFailed": failed, "isCanceled": canceled}).to_string();
        let mut step = inv.step.clone();
        if let Json::Object(o) = &mut step {
            o.insert("out".into(), json!(out));
        }
        let body = Bytes::from(serde_json::to_vec(&step).unwrap_or_default());
        self.server_step(&parent, body, &inv.headers, &inv.url).await
    }

    /// Commands that create a step the server itself produces (an invoke result, a wait's
    /// event or timeout) for run `run`: appended to its log and delivered to `url` with
    /// `headers` (given as a publish would give them: `Upstash-*` settings and forwards).
    pub(crate) async fn server_step(&self, run: &Run, body: Bytes, headers: &HeaderList, url: &str) -> ApiResult<Vec<Cmd>> {
        let pairs: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
        let opts = Options::parse(&pairs, &[]).unwrap_or_default().finish();
        let now = self.now();
        let mut m = Message {
            id: crate::core::new_id("msg_"),
            url: url.to_string(),
            method: "POST".into(),
            headers: opts.forward.clone(),
            max_retries: opts.retries.or(run.config.retries).unwrap_or(crate::options::DEFAULT_RETRIES),
            not_before: now,
            created_at: now,
            caller_ip: run.caller_ip.clone(),
            ..Message::default()
        };
        if !m.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("Upstash-Workflow-RunId")) {
            m.headers.push(("Upstash-Workflow-RunId".into(), run.id.clone()));
        }
        apply_config(&mut m, &run.config, &opts);
        let index = self.store().one(cmd!["LLEN", keys::run_steps(&run.id)]).await?.into_int()?;
        let step = RawStep { message_id: m.id.clone(), body: b64(&body), call_type: "step".into() };
        m.workflow = Some(WfRef { run_id: run.id.clone(), index: usize::try_from(index).unwrap_or(0), step_delivery: true });
        let mut cmds = vec![cmd!["RPUSH", keys::run_steps(&run.id), to_json(&step)]];
        cmds.extend(Qstash::create_cmds(&m, &body));
        cmds.push(self.event_cmd(&crate::events::Event::new("CREATED", &m, &body, now)));
        Ok(cmds)
    }

    /// The running runs a bulk cancel's filters name (`workflowUrl` as a prefix unless
    /// `workflowUrlExactMatch=true`, `label`, `fromDate`, `toDate`, `callerIp`,
    /// `flowControlKey`, `host` and `path` of the workflow URL), at most `count` (default 100).
    pub async fn find_runs(&self, query: &crate::api::Query) -> ApiResult<Vec<String>> {
        let count: usize = query.number("count")?.unwrap_or(100);
        let exact = query.flag("workflowUrlExactMatch");
        let urls = query.all("workflowUrl");
        let labels = query.all("label");
        let ips = query.all("callerIp");
        let fcs = query.all("flowControlKey");
        // `host`/`path` (workflow-js `HostPathFilterFields`): without them a host-only filter
        // matched every run and `client.cancel({filter: {host}})` cancelled them all.
        let hosts = query.all("host");
        let paths = query.all("path");
        let from: Option<u64> = query.number("fromDate")?;
        let to: Option<u64> = query.number("toDate")?;
        let ids = self.store().one(cmd!["ZREVRANGE", keys::RUNS, 0, -1]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for id in ids {
            if out.len() >= count {
                break;
            }
            let Some(run) = self.load_run(&String::from_utf8_lossy(&id)).await? else { continue };
            let ok = run.state == RunState::Started
                && (urls.is_empty() || urls.iter().any(|u| if exact { run.url == *u } else { run.url.starts_with(u.as_str()) }))
                && (labels.is_empty() || run.config.labels.iter().any(|l| labels.contains(l)))
                && (ips.is_empty() || ips.contains(&run.caller_ip))
                && (fcs.is_empty() || run.config.flow_control.as_ref().is_some_and(|f| fcs.contains(&f.key)))
                && (hosts.is_empty() || hosts.iter().any(|h| url_host_matches(&run.url, h)))
                && (paths.is_empty() || paths.iter().any(|p| url_path(&run.url) == p.as_str()))
                && from.is_none_or(|f| run.created_at >= f)
                && to.is_none_or(|t| run.created_at <= t);
            if ok {
                out.push(run.id);
            }
        }
        Ok(out)
    }

    /// Drops runs that ended more than `retention_ms` ago (their record and step log; their
    /// DLQ entries stay until deleted). Runs still going are kept whatever their age.
    pub(crate) async fn prune_runs(&self, now: u64, retention_ms: u64) -> ApiResult<usize> {
        let cutoff = now.saturating_sub(retention_ms);
        let old = self.store().one(cmd!["ZRANGEBYSCORE", keys::RUNS, "-inf", cutoff, "LIMIT", 0, 500]).await?.into_bytes_list()?;
        let mut dropped = 0;
        for id in old {
            let id = String::from_utf8_lossy(&id).into_owned();
            let _g = self.inner.lock.lock().await;
            match self.load_run(&id).await? {
                Some(run) if run.state == RunState::Started || run.completed_at.is_some_and(|t| t > cutoff) => continue,
                _ => {}
            }
            self.store().apply(vec![cmd!["DEL", keys::run(&id), keys::run_steps(&id)], cmd!["ZREM", keys::RUNS, &id]]).await?;
            dropped += 1;
        }
        Ok(dropped)
    }

    /// `GET /v2/workflows/runs/{id}` (LazyFetch): the log up to and including `message_id`
    /// (all of it without one). 404 once the run has ended.
    pub async fn lazy_fetch(&self, run_id: &str, message_id: Option<&str>) -> ApiResult<Json> {
        let run = self.load_run(run_id).await?.ok_or_else(|| ApiError::not_found(format!("workflow run {run_id} not found")))?;
        if run.state != RunState::Started {
            return Err(ApiError::not_found(format!("workflow run {run_id} has ended")));
        }
        let steps = self.run_steps(run_id, None).await?;
        let upto = match message_id {
            Some(mid) => steps.iter().position(|s| s.message_id == mid).map_or(steps.len(), |i| i + 1),
            None => steps.len(),
        };
        Ok(serde_json::to_value(&steps[..upto]).unwrap_or(Json::Null))
    }
}

/// The authority (`host[:port]`) and the path (`/` when empty) of an absolute URL.
fn url_parts(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// Whether a URL's host is `want`: the authority with or without its port, any case.
fn url_host_matches(url: &str, want: &str) -> bool {
    let (authority, _) = url_parts(url);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let bare = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    authority.eq_ignore_ascii_case(want) || bare.eq_ignore_ascii_case(want)
}

/// A URL's path (`/` when empty).
fn url_path(url: &str) -> &str {
    url_parts(url).1
}

/// Applies a run's configuration to a message where the request set none.
fn apply_config(m: &mut Message, c: &RunConfig, opts: &Options) {
    for (k, v) in &c.headers {
        if !m.headers.iter().any(|(hk, _)| hk.eq_ignore_ascii_case(k)) {
            m.headers.push((k.clone(), v.clone()));
        }
    }
    if opts.retries.is_none() {
        if let Some(r) = c.retries {
            m.max_retries = r;
        }
    }
    if opts.retry_delay.is_none() && c.retry_delay.is_some() {
        m.retry_delay = c.retry_delay.clone();
    }
    if opts.flow_control.is_none() && c.flow_control.is_some() {
        m.flow_control = c.flow_control.clone();
    }
    if opts.failure_callback.is_none() && c.failure_callback.is_some() {
        m.failure_callback = c.failure_callback.clone();
    }
    if opts.labels.is_empty() && !c.labels.is_empty() {
        m.labels = c.labels.clone();
    }
    if opts.redact.is_empty() && !c.redact.is_empty() {
        m.redact = c.redact.clone();
    }
}

/// `{"Name": ["v"], "Other": "w"}` → header pairs.
pub fn header_pairs(v: Option<&Json>) -> HeaderList {
    let mut out = Vec::new();
    if let Some(Json::Object(o)) = v {
        for (k, val) in o {
            match val {
                Json::String(s) => out.push((k.clone(), s.clone())),
                Json::Array(a) => out.extend(a.iter().filter_map(|x| x.as_str()).map(|s| (k.clone(), s.to_string()))),
                _ => {}
            }
        }
    }
    out
}

/// Whether a store reply is nil.
pub fn is_nil(v: &Value) -> bool {
    *v == Value::Nil
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_path_filters() {
        let u = "http://127.0.0.1:8080/api/wf/one?x=1";
        assert!(url_host_matches(u, "127.0.0.1:8080"));
        assert!(url_host_matches(u, "127.0.0.1"));
        assert!(!url_host_matches(u, "127.0.0.2"));
        assert!(url_host_matches("https://App.Example.com/wf", "app.example.com"));
        assert!(url_host_matches("http://[::1]:9/wf", "[::1]"));
        assert_eq!(url_path(u), "/api/wf/one");
        assert_eq!(url_path("https://app.example.com"), "/");
        assert_eq!(url_path("https://app.example.com?q=1"), "/");
    }
}
