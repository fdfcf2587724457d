//! `waitForEvent`, `notify` and webhooks. A wait registers a waiter for an event id (one per
//! run and event); a notify resolves the event's waiters with the event data; a waiter whose
//! deadline passes resolves as a timeout. Run-scoped notifies and webhooks that arrive before
//! their wait are kept (lookback) and resolve the wait when it registers.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use stashd_store::{cmd, Cmd};

use super::runs::header_pairs;
use super::{Run, RunState};
use crate::core::{from_json, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::{b64, header_map, HeaderList};

/// How long a run-scoped event waits for its wait (lookback).
pub const LOOKBACK_MS: u64 = 7 * 24 * 3600 * 1000;

/// A registered wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Waiter {
    /// The event.
    pub event_id: String,
    /// The waiting run.
    pub run_id: String,
    /// Where the event's step goes.
    pub url: String,
    /// The wait request's headers (settings and forwards, as a publish's).
    pub headers: HeaderList,
    /// Deadline (ms).
    pub deadline: u64,
    /// Where the timeout's step goes.
    pub timeout_url: String,
    /// Its headers.
    pub timeout_headers: HeaderList,
    /// The wait step (JSON), completed with `out` or `waitTimeout`.
    pub step: Json,
}

impl Waiter {
    /// The API shape (`GET /v2/waiters/{eventId}`, notify responses).
    pub fn to_json(&self) -> Json {
        json!({
            "url": self.url,
            "headers": header_map(&self.headers),
            "deadline": self.deadline / 1000,
            "timeoutUrl": self.timeout_url,
            "timeoutBody": "",
            "timeoutHeaders": header_map(&self.timeout_headers),
        })
    }
}

fn member(event_id: &str, run_id: &str) -> String {
    format!("{run_id}\n{event_id}")
}

impl Qstash {
    /// `POST /v2/wait/{eventId}`: registers run `run_id`'s wait (or resolves it at once from a
    /// lookback event).
    pub async fn wait(&self, event_id: &str, run_id: &str, headers: HeaderList, body: &Bytes) -> ApiResult<()> {
        let req: Json = serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid wait request: {e}")))?;
        let url = req.get("url").and_then(Json::as_str).ok_or_else(|| ApiError::bad("the wait request needs a url"))?;
        crate::options::check_url(url, "wait")?;
        let timeout = req.get("timeout").and_then(Json::as_str).unwrap_or("7d");
        let timeout_ms =
            crate::parse::duration::parse_duration(timeout).map_err(|e| ApiError::bad(format!("invalid wait timeout: {e}")))?.as_millis();
        let step = req.get("step").cloned().ok_or_else(|| ApiError::bad("the wait request needs a step"))?;
        let now = self.now();
        let w = Waiter {
            event_id: event_id.to_string(),
            run_id: run_id.to_string(),
            url: url.to_string(),
            headers,
            deadline: now.saturating_add(u64::try_from(timeout_ms).unwrap_or(u64::MAX)),
            timeout_url: req.get("timeoutUrl").and_then(Json::as_str).unwrap_or(url).to_string(),
            timeout_headers: header_pairs(req.get("timeoutHeaders")),
            step,
        };
        let _g = self.inner.lock.lock().await;
        let run = self.active_run(run_id).await?;
        let lookback = self.store().one(cmd!["GET", keys::lookback(run_id, event_id)]).await?.into_bytes()?;
        let cmds = match lookback {
            Some(data) => {
                let mut c = vec![cmd!["DEL", keys::lookback(run_id, event_id)]];
                c.extend(self.resolve_cmds(&run, &w, Some(&data)).await?);
                c
            }
            None => vec![
                cmd!["HSET", keys::waiters(event_id), run_id, to_json(&w)],
                cmd!["ZADD", keys::WAIT_DUE, w.deadline, member(event_id, run_id)],
                cmd!["SADD", keys::run_waits(run_id), event_id],
            ],
        };
        self.store().apply_durable(cmds).await?;
        self.inner.wait_hint.invalidate();
        self.wake();
        Ok(())
    }

    async fn active_run(&self, run_id: &str) -> ApiResult<Run> {
        let run = self.load_run(run_id).await?.ok_or_else(|| ApiError::not_found(format!("workflow run {run_id} not found")))?;
        if run.state != RunState::Started {
            return Err(ApiError::bad(super::runs::ENDED_RUN));
        }
        Ok(run)
    }

    /// Commands that resolve waiter `w` with the event `data` (or, without data, as a timeout).
    async fn resolve_cmds(&self, run: &Run, w: &Waiter, data: Option<&[u8]>) -> ApiResult<Vec<Cmd>> {
        let mut step = w.step.clone();
        let (url, headers) = match (data, &mut step) {
            (Some(d), Json::Object(o)) => {
                o.insert("out".into(), json!(b64(d)));
                (&w.url, &w.headers)
            }
            (None, Json::Object(o)) => {
                o.insert("waitTimeout".into(), json!(true));
                o.remove("out");
                (&w.timeout_url, if w.timeout_headers.is_empty() { &w.headers } else { &w.timeout_headers })
            }
            _ => (&w.url, &w.headers),
        };
        let body = Bytes::from(serde_json::to_vec(&step).unwrap_or_default());
        let mut cmds = vec![
            cmd!["HDEL", keys::waiters(&w.event_id), &w.run_id],
            cmd!["ZREM", keys::WAIT_DUE, member(&w.event_id, &w.run_id)],
            cmd!["SREM", keys::run_waits(&w.run_id), &w.event_id],
        ];
        cmds.extend(self.server_step(run, body, headers, url).await?);
        Ok(cmds)
    }

    /// The waiters of an event.
    pub async fn waiters(&self, event_id: &str) -> ApiResult<Vec<Waiter>> {
        let all = self.store().one(cmd!["HGETALL", keys::waiters(event_id)]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for pair in all.chunks(2) {
            if let [_, v] = pair {
                out.push(from_json::<Waiter>(v)?);
            }
        }
        out.sort_by(|a, b| a.deadline.cmp(&b.deadline).then(a.run_id.cmp(&b.run_id)));
        Ok(out)
    }

    /// Notifies event `event_id` with `data`: every waiter (or only run `run_id`'s) is resolved.
    /// A run-scoped notify with no waiter yet is kept for the wait to come (lookback). Returns
    /// the notify responses.
    pub async fn notify(&self, event_id: &str, data: &Bytes, run_id: Option<&str>) -> ApiResult<Vec<Json>> {
        let _g = self.inner.lock.lock().await;
        let mut waiters = self.waiters(event_id).await?;
        if let Some(r) = run_id {
            waiters.retain(|w| w.run_id == r);
        }
        let mut cmds = Vec::new();
        let mut out = Vec::new();
        for w in &waiters {
            let Some(run) = self.load_run(&w.run_id).await?.filter(|r| r.state == RunState::Started) else { continue };
            let before = cmds.len();
            cmds.extend(self.resolve_cmds(&run, w, Some(data)).await?);
            let message_id = first_message_id(&cmds[before..]);
            out.push(json!({
                "waiter": w.to_json(),
                "messageId": message_id,
                "deduplicated": false,
                "error": "",
                "workflowRunId": run.id,
                "workflowCreatedAt": run.created_at,
            }));
        }
        if out.is_empty() {
            if let Some(r) = run_id {
                let run = self.active_run(r).await?;
                cmds.push(cmd!["SET", keys::lookback(r, event_id), data, "PX", LOOKBACK_MS]);
                out.push(json!({"messageId": "", "deduplicated": false, "error": "", "workflowRunId": run.id, "workflowCreatedAt": run.created_at}));
            }
        }
        if !cmds.is_empty() {
            self.store().apply_durable(cmds).await?;
            self.wake();
        }
        Ok(out)
    }

    /// Commands that drop the waiters and lookback events of a run that ended.
    pub(crate) async fn drop_waiters_cmds(&self, run_id: &str) -> ApiResult<Vec<Cmd>> {
        let events = self.store().one(cmd!["SMEMBERS", keys::run_waits(run_id)]).await?.into_bytes_list()?;
        let mut cmds = Vec::new();
        for e in events {
            let e = String::from_utf8_lossy(&e).into_owned();
            cmds.push(cmd!["HDEL", keys::waiters(&e), run_id]);
            cmds.push(cmd!["ZREM", keys::WAIT_DUE, member(&e, run_id)]);
        }
        cmds.push(cmd!["DEL", keys::run_waits(run_id)]);
        Ok(cmds)
    }

    /// Resolves the waits whose deadline passed as timeouts; returns the next deadline.
    pub(crate) async fn run_due_waits(&self, now: u64) -> ApiResult<Option<u64>> {
        let due = self.store().one(cmd!["ZRANGEBYSCORE", keys::WAIT_DUE, "-inf", now, "LIMIT", 0, 100]).await?.into_bytes_list()?;
        for m in due {
            let m = String::from_utf8_lossy(&m).into_owned();
            let Some((run_id, event_id)) = m.split_once('\n') else {
                self.store().one(cmd!["ZREM", keys::WAIT_DUE, &m]).await?;
                continue;
            };
            let _g = self.inner.lock.lock().await;
            let w = self.store().one(cmd!["HGET", keys::waiters(event_id), run_id]).await?.into_bytes()?;
            let run = self.load_run(run_id).await?.filter(|r| r.state == RunState::Started);
            let cmds = match (w, run) {
                (Some(w), Some(run)) => {
                    let w: Waiter = from_json(&w)?;
                    self.resolve_cmds(&run, &w, None).await?
                }
                _ => vec![cmd!["ZREM", keys::WAIT_DUE, &m], cmd!["HDEL", keys::waiters(event_id), run_id]],
            };
            self.store().apply_durable(cmds).await?;
        }
        let first = self.store().one(cmd!["ZRANGE", keys::WAIT_DUE, 0, 0, "WITHSCORES"]).await?.into_bytes_list()?;
        Ok(first.get(1).and_then(|s| std::str::from_utf8(s).ok()?.parse::<f64>().ok()).map(|s| s as u64))
    }

    /// A webhook call (`/v2/workflows/hooks/{user}/{runId}/{eventId}`, no token): resolves the
    /// run's wait for the event with the request described as
    /// `{method, header, body (base64), proto, host, url}` (kept for a wait to come).
    pub async fn webhook(&self, run_id: &str, event_id: &str, described: Json) -> ApiResult<Vec<Json>> {
        let data = Bytes::from(serde_json::to_vec(&described).unwrap_or_default());
        self.notify(event_id, &data, Some(run_id)).await
    }
}

/// The id of the message a resolve batch creates (its `HSET` of a message record).
fn first_message_id(cmds: &[Cmd]) -> String {
    for c in cmds {
        if c.first().is_some_and(|n| n.as_ref() == b"HSET") {
            if let Some(k) = c.get(1) {
                let k = String::from_utf8_lossy(k);
                if let Some(id) = k.strip_prefix("qs:{qs}:m:") {
                    return id.to_string();
                }
            }
        }
    }
    String::new()
}
