//! The delivery worker. One loop finds what is due (messages, schedule runs, flow-control
//! waiters), starts attempts (a task per attempt in flight, none per waiting message), and
//! sleeps until the next due time, a new message or a move of the clock. Each attempt's
//! outcome becomes one state transition: delivered, retry later, or failed into the DLQ, with
//! the callback and failure-callback messages those imply.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use stashd_store::{cmd, Cmd, Value};
use tokio::sync::watch;

use crate::core::{from_json, new_id, to_json, Qstash};
use crate::error::ApiResult;
use crate::events::Event;
use crate::flow::Blocked;
use crate::keys;
use crate::model::{b64, header_map, CallbackConfig, DlqEntry, FlowState, HeaderList, Message, MsgKind, MsgState};
use crate::parse::retry_delay::RetryDelay;
use crate::transport::{OutRequest, Outcome};

/// Headers a message may carry (forwarded by the publisher) that a delivery must not send as
/// they came: the connection's own (the client computes them from the request it sends) and the
/// ones the delivery sets itself (a forwarded stale copy would shadow the real one: an SDK that
/// forwards every header it received, as upstash-workflow's Python SDK does, would then see an
/// old signature first).
pub(crate) const NOT_FORWARDED: &[&str] = &[
    "content-length",
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "expect",
    "upstash-signature",
    "upstash-message-id",
    "upstash-retried",
    "upstash-region",
    "upstash-caller-ip",
    "upstash-topic-name",
    "upstash-schedule-id",
    "upstash-workflow-createdat",
];

/// The message's headers as a delivery sends them: without [`NOT_FORWARDED`] names, and with one
/// `Content-Type` (the last given: a forwarded one wins over the publish request's own).
fn delivered_headers(list: &HeaderList) -> HeaderList {
    let last_ct = list.iter().rposition(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    list.iter()
        .enumerate()
        .filter(|(i, (k, _))| {
            let l = k.to_ascii_lowercase();
            !NOT_FORWARDED.contains(&l.as_str()) && (l != "content-type" || Some(*i) == last_ct)
        })
        .map(|(_, h)| h.clone())
        .collect()
}

/// How many due messages one look at the index takes.
const DUE_BATCH: u32 = 256;
/// Longest sleep when nothing is due (a safety net; new work wakes the loop).
const IDLE_MS: u64 = 60_000;

impl Qstash {
    /// Runs the worker until `stop` fires.
    pub async fn run_worker(self, mut stop: watch::Receiver<bool>) {
        loop {
            let next = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "QStash worker step failed; trying again");
                    self.now() + 1_000
                }
            };
            let clock = self.inner.clock.clone();
            tokio::select! {
                _ = clock.sleep_until(next) => {}
                _ = self.inner.wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One pass: run due schedules, release flow-control waiters, start due attempts. Returns
    /// when the next pass is needed (ms).
    pub async fn tick(&self) -> ApiResult<u64> {
        let now = self.now();
        let next_schedule = self.inner.schedule_hint.due(now, || self.run_due_schedules(now)).await?;
        let next_flow = self.release_waiters(now).await?;
        let next_wait = self.inner.wait_hint.due(now, || self.run_due_waits(now)).await?;
        // Once a minute: forget ended workflow runs past their retention.
        if now.saturating_sub(self.inner.last_prune.load(Ordering::Relaxed)) >= 60_000 {
            self.inner.last_prune.store(now, Ordering::Relaxed);
            let dropped = self.prune_runs(now, self.config().run_retention_ms).await?;
            if dropped > 0 {
                tracing::debug!(dropped, "ended workflow runs past their retention dropped");
            }
        }
        loop {
            let room = self.config().global_parallelism.saturating_sub(self.inflight());
            if room == 0 {
                break;
            }
            let limit = room.min(DUE_BATCH);
            let ids = self.store().one(cmd!["ZRANGEBYSCORE", keys::DUE, "-inf", now, "LIMIT", 0, limit]).await?.into_bytes_list()?;
            for id in &ids {
                let id = String::from_utf8_lossy(id);
                if let Err(e) = self.start(&id).await {
                    // A record that cannot be read (corrupt, or written by an incompatible
                    // version) stayed first in the due index and failed every pass, so nothing
                    // behind it was ever delivered. Take it out of the index (the record stays
                    // for inspection) and go on; a store that is down stops the pass.
                    if e.status == http::StatusCode::SERVICE_UNAVAILABLE {
                        return Err(e);
                    }
                    tracing::error!(error = %e, id = %id, "cannot start this message; it is taken out of the delivery index");
                    self.store().one(cmd!["ZREM", keys::DUE, &*id]).await?;
                }
            }
            if (ids.len() as u32) < limit {
                break;
            }
        }
        let first = self.store().one(cmd!["ZRANGE", keys::DUE, 0, 0, "WITHSCORES"]).await?.into_bytes_list()?;
        let next_due = first.get(1).and_then(|s| std::str::from_utf8(s).ok()?.parse::<f64>().ok()).map(|s| s as u64);
        // When the global limit is reached, finishing attempts wake the loop: the due index
        // (whose head is then in the past) must not set the next pass, or the loop polled
        // the store every millisecond for as long as the limit held.
        let saturated = self.inflight() >= self.config().global_parallelism;
        let next_due = next_due.filter(|_| !saturated);
        let next = [next_due, next_schedule, next_flow, next_wait].into_iter().flatten().min().unwrap_or(now + IDLE_MS);
        Ok(next.max(now + 1).min(now + IDLE_MS))
    }

    /// Starts an attempt of message `id` if it may start (queue not paused, flow control).
    async fn start(&self, id: &str) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let Some((mut m, body)) = self.load_message(id).await? else {
            self.store().one(cmd!["ZREM", keys::DUE, id]).await?;
            return Ok(());
        };
        let now = self.now();
        let mut cmds: Vec<Cmd> = Vec::new();
        if m.state == MsgState::CancelRequested {
            drop(_g);
            return self.cancel(id).await.map(|_| ());
        }
        if let Some(qn) = &m.queue_name {
            if self.load_queue(qn).await?.is_some_and(|q| q.paused) {
                m.parked = true;
                cmds.push(cmd!["ZREM", keys::DUE, id]);
                cmds.push(Qstash::save_meta(&m));
                self.store().apply(cmds).await?;
                return Ok(());
            }
        }
        if let Some(fc) = &m.flow_control {
            let st = self.load_flow(&fc.key).await?;
            let verdict = self.inner.flows.lock().entry(fc.key.clone()).or_default().admit(&st, now);
            if let Err(why) = verdict {
                m.parked = true;
                if let Some(rt) = self.inner.flows.lock().get_mut(&fc.key) {
                    rt.waiting = true;
                }
                tracing::trace!(id, ?why, "waiting for flow control");
                cmds.push(cmd!["ZREM", keys::DUE, id]);
                cmds.push(cmd!["RPUSH", keys::flow_wait(&fc.key), id]);
                cmds.push(Qstash::save_meta(&m));
                self.store().apply(cmds).await?;
                let _ = Blocked::Paused;
                return Ok(());
            }
        }
        m.state = MsgState::Active;
        m.parked = false;
        cmds.push(cmd!["ZREM", keys::DUE, id]);
        cmds.push(cmd!["ZADD", keys::ACTIVE, now, id]);
        cmds.push(Qstash::save_meta(&m));
        cmds.push(self.event_cmd(&Event::new("ACTIVE", &m, &body, now)));
        self.store().apply(cmds).await?;
        self.inner.inflight.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = me.attempt(&m, body).await;
            if let Err(e) = me.finish(&m.id, outcome).await {
                tracing::warn!(error = %e, id = %m.id, "recording an attempt failed; it will be delivered again after a restart");
            }
            me.inner.inflight.fetch_sub(1, Ordering::Relaxed);
            me.wake();
        });
        Ok(())
    }

    /// The URL actually called: the first matching rewrite applied.
    pub fn rewrite(&self, url: &str) -> String {
        for (from, to) in &self.config().rewrites {
            if let Some(rest) = url.strip_prefix(from.as_str()) {
                return format!("{to}{rest}");
            }
        }
        url.to_string()
    }

    /// Sends one attempt of `m`.
    async fn attempt(&self, m: &Message, body: Bytes) -> Outcome {
        let now = self.now();
        let mut headers = delivered_headers(&m.headers);
        // A workflow step's delivery carries its run's log prefix and the run's headers.
        let body = match self.workflow_delivery(m, body, &mut headers).await {
            Ok(Some(b)) => b,
            Ok(None) => return Outcome::Dropped("the workflow run has ended".into()),
            Err(e) => return Outcome::Failed(format!("cannot read the workflow run: {e}")),
        };
        let key = self.inner.keys.read().current.clone();
        let signature = match crate::signing::sign(&key, &m.url, &body, now) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(format!("cannot sign: {e}")),
        };
        headers.push(("Upstash-Message-Id".into(), m.id.clone()));
        headers.push(("Upstash-Retried".into(), m.retried.to_string()));
        headers.push(("Upstash-Signature".into(), signature));
        headers.push(("Upstash-Region".into(), self.config().region.clone()));
        if !m.caller_ip.is_empty() {
            headers.push(("Upstash-Caller-Ip".into(), m.caller_ip.clone()));
        }
        if let Some(t) = &m.topic_name {
            headers.push(("Upstash-Topic-Name".into(), t.clone()));
        }
        if let Some(s) = &m.schedule_id {
            headers.push(("Upstash-Schedule-Id".into(), s.clone()));
        }
        let timeout = m.timeout_ms.unwrap_or(self.config().max_timeout_ms).max(1);
        let req =
            OutRequest { method: m.method.clone(), url: self.rewrite(&m.url), headers, body, timeout: Duration::from_millis(timeout) };
        self.inner.transport.send(req).await
    }

    /// Records the outcome of an attempt of message `id`.
    pub(crate) async fn finish(&self, id: &str, outcome: Outcome) -> ApiResult<()> {
        let guard = self.inner.lock.lock().await;
        let Some((mut m, body)) = self.load_message(id).await? else { return Ok(()) };
        let now = self.now();
        if let Some(fc) = &m.flow_control {
            if let Some(rt) = self.inner.flows.lock().get_mut(&fc.key) {
                rt.active = rt.active.saturating_sub(1);
            }
        }
        let mut cmds: Vec<Cmd> = vec![cmd!["ZREM", keys::ACTIVE, id]];
        let mut ev = Event::new("", &m, &body, now);
        if let Outcome::Response { status, headers, body } = &outcome {
            ev.response_status = Some(*status);
            ev.response_headers = Some(headers.clone());
            ev.response_body = Some(String::from_utf8_lossy(&body[..body.len().min(8 * 1024)]).into_owned());
        }
        if m.state == MsgState::CancelRequested || matches!(outcome, Outcome::Dropped(_)) {
            ev.state = "CANCELED".into();
            cmds.push(self.event_cmd(&ev));
            cmds.extend(Qstash::delete_cmds(id));
            self.store().apply(cmds).await?;
            drop(guard);
            self.after_done(&m).await?;
            return Ok(());
        }
        let non_retryable = matches!(&outcome, Outcome::Response { status: 489, .. })
            && outcome.header("Upstash-NonRetryable-Error").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let last_attempt = outcome.is_success() || non_retryable || m.retried >= m.max_retries;
        if let Some(cb) = &m.callback {
            // Plain QStash calls back after every attempt; a workflow `context.call` request
            // (`toCallback`) calls its workflow back once, after success or its last attempt
            // (workflow.md §3.5), or each failed attempt cost the run an extra step and call.
            let workflow_call =
                m.workflow.is_some() && crate::workflow::WfHeaders::of(&m.headers).call_type.as_deref() == Some("toCallback");
            if last_attempt || !workflow_call {
                let (cbm, cbb) = self.callback_message(&m, &body, cb, &outcome, MsgKind::Callback, None);
                cmds.extend(self.callback_cmds(&m, cbm, &cbb, now).await?);
            }
        }
        if outcome.is_success() {
            ev.state = "DELIVERED".into();
            cmds.push(self.event_cmd(&ev));
            cmds.extend(self.schedule_state_cmd(&m, "SUCCESS").await?);
            cmds.extend(self.workflow_failure_outcome(&m, true, ev.response_status, ev.response_body.clone()).await?);
            cmds.extend(Qstash::delete_cmds(id));
            self.store().apply(cmds).await?;
            drop(guard);
            self.after_done(&m).await?;
            return Ok(());
        }
        ev.state = "ERROR".into();
        ev.error = Some(match &outcome {
            Outcome::Response { status, .. } => format!("the destination answered {status}"),
            Outcome::Failed(e) | Outcome::Dropped(e) => e.clone(),
        });
        cmds.push(self.event_cmd(&ev));
        if last_attempt {
            let dlq_id = self.dead_letter(&m, &body, &outcome, ev.error.clone(), now, &mut cmds).await?;
            let mut failed = ev.clone();
            failed.state = "FAILED".into();
            failed.dlq_id = Some(dlq_id.clone());
            cmds.push(self.event_cmd(&failed));
            // A run's failed step fails the run; its failure callback is the run's.
            cmds.extend(self.workflow_failed(&mut m, &dlq_id).await?);
            cmds.extend(self.workflow_failure_outcome(&m, false, ev.response_status, ev.response_body.clone()).await?);
            if let Some(cb) = &m.failure_callback {
                let (cbm, mut cbb) = self.callback_message(&m, &body, cb, &outcome, MsgKind::FailureCallback, Some(&dlq_id));
                if m.workflow.is_some() {
                    if let Ok(mut j) = serde_json::from_slice::<serde_json::Value>(&cbb) {
                        self.workflow_failure_fields(&m, &mut j).await?;
                        cbb = Bytes::from(serde_json::to_vec(&j).unwrap_or_default());
                    }
                }
                cmds.extend(self.callback_cmds(&m, cbm, &cbb, now).await?);
            }
            cmds.extend(self.schedule_state_cmd(&m, "FAIL").await?);
            cmds.extend(Qstash::delete_cmds(id));
            self.store().apply(cmds).await?;
            drop(guard);
            self.after_done(&m).await?;
            return Ok(());
        }
        m.retried += 1;
        let delay = self.retry_delay_ms(&m, &outcome, now);
        m.not_before = now.saturating_add(delay);
        m.state = MsgState::Retry;
        let mut retry = Event::new("RETRY", &m, &body, now);
        retry.next_delivery_time = Some(m.not_before);
        cmds.push(self.event_cmd(&retry));
        cmds.push(Qstash::save_meta(&m));
        cmds.push(cmd!["ZADD", keys::DUE, m.not_before, id]);
        self.store().apply(cmds).await?;
        drop(guard);
        if let Some(fc) = &m.flow_control {
            self.promote_flow(&fc.key).await?;
        }
        Ok(())
    }

    /// The delay before the next attempt: a `Retry-After`-family header of the response (up to
    /// a day), else the message's `Upstash-Retry-Delay`, else the default backoff.
    fn retry_delay_ms(&self, m: &Message, outcome: &Outcome, now: u64) -> u64 {
        for h in ["Retry-After", "X-RateLimit-Reset", "X-RateLimit-Reset-Requests", "X-RateLimit-Reset-Tokens"] {
            if let Some(ms) = outcome.header(h).and_then(|v| crate::parse::retry_after::retry_after_ms(v, now)) {
                return ms;
            }
        }
        if let Some(expr) = &m.retry_delay {
            // `retried` is 0 on the first retry.
            if let Ok(ms) = RetryDelay::parse(expr).and_then(|r| r.eval(m.retried.saturating_sub(1))) {
                return ms;
            }
        }
        crate::parse::default_backoff_ms(m.retried)
    }

    /// Writes the DLQ entry of `m` (its own batch, so the id is known) and returns its id.
    async fn dead_letter(
        &self,
        m: &Message,
        body: &Bytes,
        outcome: &Outcome,
        error: Option<String>,
        now: u64,
        _cmds: &mut [Cmd],
    ) -> ApiResult<String> {
        let mut e = DlqEntry { message: m.clone(), error, failed_at: now, ..DlqEntry::default() };
        if let Outcome::Response { status, headers, body } = outcome {
            e.response_status = *status;
            e.response_headers = headers.clone();
            e.response_body = body.to_vec();
        }
        let id = self
            .store()
            .one(cmd!["XADD", keys::DLQ, "*", "meta", to_json(&e), "body", body])
            .await?
            .check()?
            .into_bytes()?
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(&id).into_owned())
    }

    /// A callback (or failure-callback) message about an attempt of `src`.
    pub(crate) fn callback_message(
        &self,
        src: &Message,
        src_body: &[u8],
        cb: &CallbackConfig,
        outcome: &Outcome,
        kind: MsgKind,
        dlq_id: Option<&str>,
    ) -> (Message, Bytes) {
        let now = self.now();
        let (status, headers, rbody) = match outcome {
            Outcome::Response { status, headers, body } => (*status, headers.clone(), body.clone()),
            Outcome::Failed(_) | Outcome::Dropped(_) => (0, Vec::new(), Bytes::new()),
        };
        let mut o = json!({
            "status": status,
            "header": header_map(&headers),
            "body": b64(&rbody),
            "retried": src.retried,
            "maxRetries": src.max_retries,
            "sourceMessageId": src.id,
            "url": src.url,
            "method": src.method,
            "sourceHeader": header_map(&src.headers),
            "sourceBody": b64(src_body),
            "notBefore": src.not_before,
            "createdAt": src.created_at,
            "callerIP": src.caller_ip,
        });
        if let Outcome::Failed(e) = outcome {
            o["error"] = json!(e);
        }
        for (k, v) in [
            ("topicName", &src.topic_name),
            ("endpointName", &src.endpoint_name),
            ("scheduleId", &src.schedule_id),
            ("queueName", &src.queue_name),
        ] {
            if let Some(v) = v {
                o[k] = json!(v);
            }
        }
        if let Some(d) = dlq_id {
            o["dlqId"] = json!(d);
        }
        let body = Bytes::from(serde_json::to_vec(&o).unwrap_or_default());
        let m = Message {
            id: new_id("msg_"),
            url: cb.url.clone(),
            method: cb.method.clone().unwrap_or_else(|| "POST".into()),
            headers: cb.headers.clone(),
            max_retries: cb.retries.unwrap_or(src.max_retries),
            not_before: now.saturating_add(cb.delay_ms.unwrap_or(0)),
            created_at: now,
            caller_ip: src.caller_ip.clone(),
            retry_delay: cb.retry_delay.clone().or_else(|| src.retry_delay.clone()),
            timeout_ms: cb.timeout_ms.or(src.timeout_ms),
            failure_callback: cb.failure.as_deref().cloned(),
            flow_control: cb.flow_control.clone(),
            kind,
            source_message_id: Some(src.id.clone()),
            ..Message::default()
        };
        (m, body)
    }

    /// Commands that create callback message `cbm` about `src`. A callback of a queued message
    /// joins the queue just ahead of it, so the queue's next message also waits for the callback
    /// (the hosted service's rule: "the next message waits for the current one's retries and its
    /// callbacks").
    pub(crate) async fn callback_cmds(&self, src: &Message, mut cbm: Message, body: &Bytes, now: u64) -> ApiResult<Vec<Cmd>> {
        let mut cmds = self.bind_created(&mut cbm, body).await?;
        if let Some(q) = &src.queue_name {
            cbm.queue_name = Some(q.clone());
            cmds.push(cmd!["LINSERT", keys::queue_list(q), "BEFORE", &src.id, &cbm.id]);
        }
        cmds.extend(Qstash::create_cmds(&cbm, body));
        cmds.push(self.event_cmd(&Event::new("CREATED", &cbm, body, now)));
        Ok(cmds)
    }

    /// The command recording the end of a schedule run's message in its schedule's
    /// `lastScheduleStates` (`SUCCESS` or `FAIL`), when that run is still the last one.
    async fn schedule_state_cmd(&self, m: &Message, state: &str) -> ApiResult<Option<Cmd>> {
        let Some(sid) = m.schedule_id.as_deref().filter(|_| m.kind == MsgKind::Publish) else { return Ok(None) };
        let Ok(Some((mut s, _))) = self.load_schedule(sid).await else { return Ok(None) };
        let Some(entry) = s.last_states.iter_mut().find(|(id, _)| *id == m.id) else { return Ok(None) };
        entry.1 = state.to_string();
        Ok(Some(cmd!["HSET", keys::schedule(sid), "meta", to_json(&s)]))
    }

    /// After a message is done (delivered, failed, canceled): its queue and flow-control key
    /// let the next ones go.
    pub(crate) async fn after_done(&self, m: &Message) -> ApiResult<()> {
        if let Some(qn) = &m.queue_name {
            self.store().one(cmd!["LREM", keys::queue_list(qn), 1, &m.id]).await?;
            self.promote_queue(qn).await?;
        }
        if let Some(fc) = &m.flow_control {
            if m.parked {
                self.store().one(cmd!["LREM", keys::flow_wait(&fc.key), 1, &m.id]).await?;
            }
            self.promote_flow(&fc.key).await?;
        }
        self.wake();
        Ok(())
    }

    /// Lets the first `parallelism` messages of queue `name` go (those still parked).
    pub(crate) async fn promote_queue(&self, name: &str) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let Some(q) = self.load_queue(name).await? else { return Ok(()) };
        if q.paused {
            return Ok(());
        }
        let head =
            self.store().one(cmd!["LRANGE", keys::queue_list(name), 0, i64::from(q.parallelism.max(1)) - 1]).await?.into_bytes_list()?;
        let mut cmds = Vec::new();
        for id in head {
            let id = String::from_utf8_lossy(&id).into_owned();
            if let Some((mut m, _)) = self.load_message(&id).await? {
                if m.parked && m.flow_control.is_none() {
                    m.parked = false;
                    cmds.push(Qstash::save_meta(&m));
                    cmds.push(cmd!["ZADD", keys::DUE, m.not_before, &id]);
                } else if m.parked {
                    // Parked by its queue only when not in the flow-control wait list.
                    let waiting = self
                        .store()
                        .one(cmd!["LPOS", keys::flow_wait(&m.flow_control.as_ref().map(|f| f.key.clone()).unwrap_or_default()), &id])
                        .await?;
                    if waiting == Value::Nil {
                        m.parked = false;
                        cmds.push(Qstash::save_meta(&m));
                        cmds.push(cmd!["ZADD", keys::DUE, m.not_before, &id]);
                    }
                }
            }
        }
        if !cmds.is_empty() {
            self.store().apply(cmds).await?;
            self.wake();
        }
        Ok(())
    }

    /// Reads a flow-control key's settings (defaults when unknown).
    pub(crate) async fn load_flow(&self, key: &str) -> ApiResult<FlowState> {
        match self.store().one(cmd!["GET", keys::flow(key)]).await?.into_bytes()? {
            Some(b) => from_json(&b),
            None => Ok(FlowState { key: key.into(), period: 1, ..FlowState::default() }),
        }
    }

    /// Moves as many waiters of flow-control key `key` back to the due index as may start.
    pub(crate) async fn promote_flow(&self, key: &str) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let st = self.load_flow(key).await?;
        let now = self.now();
        let room = self.inner.flows.lock().entry(key.to_string()).or_default().room(&st, now);
        if room == 0 {
            return Ok(());
        }
        let take = room.min(DUE_BATCH);
        let ids = self.store().one(cmd!["LPOP", keys::flow_wait(key), take]).await?.into_bytes_list()?;
        let remaining = self.store().one(cmd!["LLEN", keys::flow_wait(key)]).await?.into_int()?;
        if let Some(rt) = self.inner.flows.lock().get_mut(key) {
            rt.waiting = remaining > 0;
        }
        let mut cmds = Vec::new();
        for id in ids {
            let id = String::from_utf8_lossy(&id).into_owned();
            if let Some((mut m, _)) = self.load_message(&id).await? {
                m.parked = false;
                cmds.push(Qstash::save_meta(&m));
                cmds.push(cmd!["ZADD", keys::DUE, now.max(m.not_before), &id]);
            }
        }
        if !cmds.is_empty() {
            self.store().apply(cmds).await?;
            self.wake();
        }
        Ok(())
    }

    /// Releases waiters whose rate period ended; returns the earliest next period end.
    async fn release_waiters(&self, now: u64) -> ApiResult<Option<u64>> {
        let waiting: Vec<String> = self.inner.flows.lock().iter().filter(|(_, rt)| rt.waiting).map(|(k, _)| k.clone()).collect();
        let mut next: Option<u64> = None;
        for key in waiting {
            self.promote_flow(&key).await?;
            let st = self.load_flow(&key).await?;
            let end = self.inner.flows.lock().get(&key).filter(|rt| rt.waiting).and_then(|rt| rt.window_end(&st));
            if let Some(end) = end.filter(|e| *e > now) {
                next = Some(next.map_or(end, |n| n.min(end)));
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::*;

    const WF: &str = "https://app.example.com/api/wf";
    const EXT: &str = "https://third.example.com/api";

    /// A workflow run `run_id` at `WF`, its initial delivery done.
    async fn run(hs: &Harness, run_id: &str, extra: &[(&str, &str)]) {
        let mut headers = vec![("Upstash-Workflow-RunId", run_id), ("Upstash-Workflow-Init", "true"), ("Upstash-Workflow-Url", WF)];
        headers.extend_from_slice(extra);
        hs.publish(WF, &headers, b"initial").await;
        hs.settle().await;
    }

    #[tokio::test]
    async fn a_workflow_call_calls_back_once_after_its_last_attempt() {
        let hs = harness().await;
        run(&hs, "wfr_call", &[]).await;
        hs.t.script(EXT, [Step::Reply(status(503)), Step::Reply(status(503)), Step::Reply(ok())]);
        hs.publish(
            EXT,
            &[
                ("Upstash-Workflow-RunId", "wfr_call"),
                ("Upstash-Workflow-Init", "false"),
                ("Upstash-Workflow-CallType", "toCallback"),
                ("Upstash-Retries", "2"),
                ("Upstash-Retry-Delay", "1000"),
                ("Upstash-Callback", WF),
                ("Upstash-Callback-Workflow-RunId", "wfr_call"),
                ("Upstash-Callback-Workflow-CallType", "fromCallback"),
            ],
            b"call body",
        )
        .await;
        for _ in 0..3 {
            hs.settle().await;
            hs.advance(1_000);
        }
        hs.settle().await;
        assert_eq!(hs.t.requests_to(EXT).len(), 3);
        // The initial delivery and one callback, carrying the successful attempt.
        let to_wf = hs.t.requests_to(WF);
        assert_eq!(to_wf.len(), 2, "{:?}", to_wf.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect::<Vec<_>>());
        let cb = body_json(&to_wf[1]);
        assert_eq!(cb["status"], 200);
        assert_eq!(cb["retried"], 2);
    }

    #[tokio::test]
    async fn a_plain_callback_still_follows_every_attempt() {
        let hs = harness().await;
        hs.t.script(EXT, [Step::Reply(status(503)), Step::Reply(ok())]);
        hs.publish(EXT, &[("Upstash-Retries", "1"), ("Upstash-Retry-Delay", "1000"), ("Upstash-Callback", WF)], b"x").await;
        hs.settle().await;
        hs.advance(1_000);
        hs.settle().await;
        let statuses: Vec<_> = hs.t.requests_to(WF).iter().map(|r| body_json(r)["status"].clone()).collect();
        assert_eq!(statuses, [503, 200]);
    }

    #[tokio::test]
    async fn forwarded_framing_headers_are_not_sent() {
        let hs = harness().await;
        // The workflow SDK forwards a direct call's request headers, length included.
        run(
            &hs,
            "wfr_len",
            &[("Upstash-Forward-Content-Length", "3"), ("Upstash-Forward-Host", "elsewhere"), ("Upstash-Forward-X-User", "u")],
        )
        .await;
        let reqs = hs.t.requests_to(WF);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert!(hdr(r, "Content-Length").is_none() && hdr(r, "Host").is_none(), "{:?}", r.headers);
        assert_eq!(hdr(r, "X-User"), Some("u"));
        assert!(r.body.len() > 3);
    }
}
