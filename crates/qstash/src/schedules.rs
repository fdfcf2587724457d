//! Schedules: cron-driven publishes (to a URL, a URL group or into a queue). Runs are driven
//! by the shared clock: the worker fires every schedule whose next time has come, once even
//! when several runs were missed.

use bytes::Bytes;
use serde_json::{json, Map, Value as Json};
use stashd_store::{cmd, Cmd};

use crate::core::{check_name, from_json, new_id, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::{header_map, put_body, put_flow, put_labels, Message, Schedule};
use crate::options::{Options, DEFAULT_RETRIES};
use crate::parse::cron::CronSchedule;
use crate::publish::{PublishInput, Target};

impl Qstash {
    /// `POST /v2/schedules/{destination}`: creates, or replaces when `Upstash-Schedule-Id`
    /// names an existing one. Returns the id.
    pub async fn create_schedule(&self, destination: &str, opts: Options, body: Bytes, caller_ip: &str) -> ApiResult<String> {
        let target = Target::parse(destination)?;
        let cron_text = opts.cron.clone().ok_or_else(|| ApiError::bad("Upstash-Cron header is required for schedules"))?;
        let cron = CronSchedule::parse(cron_text.trim()).map_err(|e| ApiError::bad(format!("invalid cron {:?}: {e}", cron_text.trim())))?;
        if body.len() > self.config().max_body {
            return Err(ApiError::too_large(format!(
                "message body too large: {} bytes, the limit is {}",
                body.len(),
                self.config().max_body
            )));
        }
        if let Some(q) = &opts.queue_name {
            check_name("queue name", q)?;
        }
        let id = match &opts.schedule_id {
            Some(id) => {
                check_name("schedule id", id)?;
                id.clone()
            }
            None => new_id("scd_"),
        };
        if let Target::Topic(t) = &target {
            if self.load_topic(t).await?.is_none() {
                return Err(ApiError::not_found(format!("url group {t} not found")));
            }
        }
        let _g = self.inner.lock.lock().await;
        let now = self.now();
        let created_at = self.load_schedule(&id).await?.map_or(now, |(s, _)| s.created_at);
        let template = Message {
            url: destination.to_string(),
            method: opts.method.clone().unwrap_or_else(|| "POST".into()),
            headers: opts.forward.clone(),
            max_retries: opts.retries.unwrap_or(DEFAULT_RETRIES),
            callback: opts.callback.clone(),
            failure_callback: opts.failure_callback.clone(),
            queue_name: opts.queue_name.clone(),
            schedule_id: Some(id.clone()),
            caller_ip: caller_ip.to_string(),
            retry_delay: opts.retry_delay.clone(),
            timeout_ms: opts.timeout_ms,
            flow_control: opts.flow_control.clone(),
            labels: opts.labels.clone(),
            redact: opts.redact.clone(),
            ..Message::default()
        };
        let next = cron.next_after(now);
        let s = Schedule {
            id: id.clone(),
            cron: cron.as_str().to_string(),
            destination: destination.to_string(),
            created_at,
            paused: false,
            queue_name: opts.queue_name.clone(),
            template,
            delay_secs: opts.delay_ms.unwrap_or(0) / 1000,
            next_schedule_time: next,
            ..Schedule::default()
        };
        let mut cmds: Vec<Cmd> = vec![
            cmd!["DEL", keys::schedule(&id)],
            cmd!["HSET", keys::schedule(&id), "meta", to_json(&s), "body", &body],
            cmd!["ZADD", keys::SCHEDULES, created_at, &id],
            cmd!["ZREM", keys::SCHEDULES_DUE, &id],
        ];
        if let Some(n) = next {
            cmds.push(cmd!["ZADD", keys::SCHEDULES_DUE, n, &id]);
        }
        self.store().apply_durable(cmds).await?;
        self.inner.schedule_hint.invalidate();
        self.wake();
        Ok(id)
    }

    pub(crate) async fn load_schedule(&self, id: &str) -> ApiResult<Option<(Schedule, Bytes)>> {
        let v = self.store().one(cmd!["HMGET", keys::schedule(id), "meta", "body"]).await?.into_array()?;
        let mut it = v.into_iter();
        let meta = it.next().map(|v| v.into_bytes()).transpose()?.flatten();
        let body = it.next().map(|v| v.into_bytes()).transpose()?.flatten().unwrap_or_default();
        match meta {
            Some(m) => Ok(Some((from_json(&m)?, body))),
            None => Ok(None),
        }
    }

    /// The API shape of a schedule.
    fn schedule_json(s: &Schedule, body: &[u8]) -> Json {
        let t = &s.template;
        let mut o = Map::new();
        o.insert("scheduleId".into(), json!(s.id));
        o.insert("cron".into(), json!(s.cron));
        o.insert("destination".into(), json!(s.destination));
        o.insert("createdAt".into(), json!(s.created_at));
        o.insert("method".into(), json!(t.method));
        o.insert("header".into(), header_map(&crate::model::shown_headers(&t.headers, &t.redact)));
        put_body(&mut o, body, &t.redact);
        o.insert("retries".into(), json!(t.max_retries));
        if s.delay_secs > 0 {
            o.insert("delay".into(), json!(s.delay_secs));
        }
        if let Some(ms) = t.timeout_ms {
            o.insert("timeout".into(), json!(ms / 1000));
        }
        if let Some(cb) = &t.callback {
            o.insert("callback".into(), json!(cb.url));
            o.insert("callbackHeader".into(), header_map(&cb.headers));
        }
        if let Some(cb) = &t.failure_callback {
            o.insert("failureCallback".into(), json!(cb.url));
            o.insert("failureCallbackHeader".into(), header_map(&cb.headers));
        }
        o.insert("callerIP".into(), json!(t.caller_ip));
        o.insert("callerIp".into(), json!(t.caller_ip));
        o.insert("isPaused".into(), json!(s.paused));
        if let Some(q) = &s.queue_name {
            o.insert("queueName".into(), json!(q));
        }
        put_flow(&mut o, &t.flow_control);
        if let Some(r) = &t.retry_delay {
            o.insert("retryDelayExpression".into(), json!(r));
        }
        put_labels(&mut o, &t.labels);
        if let Some(l) = s.last_schedule_time {
            o.insert("lastScheduleTime".into(), json!(l));
        }
        if let Some(n) = s.next_schedule_time {
            o.insert("nextScheduleTime".into(), json!(n));
        }
        if !s.last_states.is_empty() {
            let m: Map<String, Json> = s.last_states.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            o.insert("lastScheduleStates".into(), Json::Object(m));
        }
        if let Some(e) = &s.error {
            o.insert("error".into(), json!(e));
        }
        Json::Object(o)
    }

    /// `GET /v2/schedules`.
    pub async fn list_schedules(&self) -> ApiResult<Json> {
        let ids = self.store().one(cmd!["ZRANGE", keys::SCHEDULES, 0, -1]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some((s, b)) = self.load_schedule(&String::from_utf8_lossy(&id)).await? {
                out.push(Qstash::schedule_json(&s, &b));
            }
        }
        Ok(Json::Array(out))
    }

    /// `GET /v2/schedules/{id}`.
    pub async fn get_schedule(&self, id: &str) -> ApiResult<Json> {
        let (s, b) = self.load_schedule(id).await?.ok_or_else(|| ApiError::not_found(format!("schedule {id} not found")))?;
        Ok(Qstash::schedule_json(&s, &b))
    }

    /// `DELETE /v2/schedules/{id}`.
    pub async fn delete_schedule(&self, id: &str) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let r = self
            .store()
            .apply_durable(vec![cmd!["DEL", keys::schedule(id)], cmd!["ZREM", keys::SCHEDULES, id], cmd!["ZREM", keys::SCHEDULES_DUE, id]])
            .await?;
        if r.into_iter().next().map(|v| v.into_int().unwrap_or(0)).unwrap_or(0) == 0 {
            return Err(ApiError::not_found(format!("schedule {id} not found")));
        }
        Ok(())
    }

    /// Pauses or resumes a schedule.
    pub async fn set_schedule_paused(&self, id: &str, paused: bool) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let (mut s, _) = self.load_schedule(id).await?.ok_or_else(|| ApiError::not_found(format!("schedule {id} not found")))?;
        s.paused = paused;
        self.store().apply_durable(vec![cmd!["HSET", keys::schedule(id), "meta", to_json(&s)]]).await?;
        Ok(())
    }

    /// Fires the schedules whose time has come; returns the next schedule time.
    pub(crate) async fn run_due_schedules(&self, now: u64) -> ApiResult<Option<u64>> {
        let due = self.store().one(cmd!["ZRANGEBYSCORE", keys::SCHEDULES_DUE, "-inf", now, "LIMIT", 0, 100]).await?.into_bytes_list()?;
        for id in due {
            let id = String::from_utf8_lossy(&id).into_owned();
            if let Err(e) = self.fire_schedule(&id, now).await {
                // As for messages (worker::tick): one unreadable schedule must not stop every
                // other schedule; it leaves the due index, a store that is down stops the pass.
                if e.status == http::StatusCode::SERVICE_UNAVAILABLE {
                    return Err(e);
                }
                tracing::error!(error = %e, id = %id, "cannot run this schedule; it is taken out of the schedule index");
                self.store().one(cmd!["ZREM", keys::SCHEDULES_DUE, &id]).await?;
            }
        }
        let first = self.store().one(cmd!["ZRANGE", keys::SCHEDULES_DUE, 0, 0, "WITHSCORES"]).await?.into_bytes_list()?;
        Ok(first.get(1).and_then(|s| std::str::from_utf8(s).ok()?.parse::<f64>().ok()).map(|s| s as u64))
    }

    async fn fire_schedule(&self, id: &str, now: u64) -> ApiResult<()> {
        let Some((mut s, body)) = self.load_schedule(id).await? else {
            self.store().one(cmd!["ZREM", keys::SCHEDULES_DUE, id]).await?;
            return Ok(());
        };
        let next = CronSchedule::parse(&s.cron).ok().and_then(|c| c.next_after(now));
        if !s.paused {
            let mut opts = Options::of_message(&s.template);
            opts.delay_ms = (s.delay_secs > 0).then(|| s.delay_secs * 1000);
            let input = PublishInput {
                target: Target::parse(&s.destination)?,
                queue: s.queue_name.clone(),
                opts,
                body: body.clone(),
                caller_ip: s.template.caller_ip.clone(),
                schedule_id: Some(s.id.clone()),
            };
            match self.accept(input).await {
                Ok(a) => {
                    s.last_states = a.ids.iter().map(|i| (i.clone(), "IN_PROGRESS".to_string())).collect();
                    s.error = None;
                }
                Err(e) => s.error = Some(e.message),
            }
            s.last_schedule_time = Some(now);
        }
        let _g = self.inner.lock.lock().await;
        // Deleted meanwhile: leave it deleted.
        let Some((mut cur, _)) = self.load_schedule(id).await? else { return Ok(()) };
        // Record the run on the schedule as it is now, not on the copy read before publishing
        // (outside the lock): a pause or an update (upsert) made meanwhile must stay. An
        // update that changed the cron has already set the next run from the new cron.
        cur.last_schedule_time = s.last_schedule_time;
        cur.last_states = s.last_states;
        cur.error = s.error;
        let mut cmds = Vec::new();
        if cur.cron == s.cron {
            cur.next_schedule_time = next;
            cmds.push(cmd!["ZREM", keys::SCHEDULES_DUE, id]);
            if let Some(n) = next {
                cmds.push(cmd!["ZADD", keys::SCHEDULES_DUE, n, id]);
            }
        }
        cmds.push(cmd!["HSET", keys::schedule(id), "meta", to_json(&cur)]);
        self.store().apply_durable(cmds).await?;
        Ok(())
    }
}
