//! Accepting messages: publish (to a URL or a URL group), enqueue, batch items, schedule runs
//! and DLQ retries all end in [`Qstash::accept`], which deduplicates, builds the messages,
//! writes them in one durable batch and wakes the worker.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value as Json};
use sha2::Digest;
use stashd_store::{cmd, Cmd};

use crate::core::{check_name, from_json, new_id, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::keys;
use crate::model::{FlowState, Message, Queue};
use crate::options::{check_url, Options, DEFAULT_RETRIES};

/// Deduplication window.
pub const DEDUP_WINDOW_MS: u64 = 10 * 60 * 1000;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A URL (`http://` or `https://`).
    Url(String),
    /// A URL group.
    Topic(String),
    /// One endpoint of a URL group (a DLQ retry of a message that came from a group: it goes
    /// to that endpoint only and keeps its group and endpoint names).
    GroupEndpoint {
        /// The endpoint's URL.
        url: String,
        /// The group.
        topic: String,
        /// The endpoint's name.
        name: Option<String>,
    },
}

impl Target {
    /// Reads a destination: a URL or a URL-group name.
    pub fn parse(dest: &str) -> ApiResult<Target> {
        if dest.starts_with("http://") || dest.starts_with("https://") {
            return Ok(Target::Url(check_url(dest, "destination")?));
        }
        if dest.is_empty() {
            return Err(ApiError::bad("invalid destination: empty; give a URL (http:// or https://) or a URL group name"));
        }
        if dest.contains("://") || dest.contains('/') {
            return Err(ApiError::bad("invalid destination url: endpoint has invalid scheme, add http:// or https://"));
        }
        Ok(Target::Topic(dest.to_string()))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        match self {
            Target::Url(u) | Target::Topic(u) | Target::GroupEndpoint { url: u, .. } => u,
        }
    }
}

/// A message to accept.
#[derive(Debug, Clone)]
pub struct PublishInput {
    /// Destination.
    pub target: Target,
    /// FIFO queue (enqueue).
    pub queue: Option<String>,
    /// `Upstash-*` settings.
    pub opts: Options,
    /// Raw body.
    pub body: Bytes,
    /// Publisher's address.
    pub caller_ip: String,
    /// Set by schedule runs.
    pub schedule_id: Option<String>,
}

/// The answer: status (200, or 202 for a duplicate) and the JSON the SDKs read.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// 200 or 202.
    pub status: StatusCode,
    /// `{"messageId"...}` or, for a URL group, `[{"messageId","url"...}]`.
    pub json: Json,
    /// The new messages' ids.
    pub ids: Vec<String>,
}

fn content_key(input: &PublishInput) -> String {
    let mut h = sha2::Sha256::new();
    h.update(input.target.as_str().as_bytes());
    h.update([0]);
    for (k, v) in &input.opts.forward {
        h.update(k.to_ascii_lowercase().as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.update(&input.body);
    let d = h.finalize();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl Qstash {
    /// Accepts one publish: durable when it returns.
    pub async fn accept(&self, input: PublishInput) -> ApiResult<Accepted> {
        if input.body.len() > self.config().max_body {
            return Err(ApiError::too_large(format!(
                "message body too large: {} bytes, the limit is {}",
                input.body.len(),
                self.config().max_body
            )));
        }
        if let Some(q) = &input.queue {
            check_name("queue name", q)?;
        }
        let dedup_key = match (&input.opts.dedup_id, input.opts.content_dedup) {
            (Some(id), _) => Some(format!("id:{id}")),
            (None, true) => Some(format!("content:{}", content_key(&input))),
            _ => None,
        };
        let applied = {
            // A new message has no transitions to race with: the lock is needed only for the
            // read-then-write steps (the dedup check, the queue's length, the flow-control
            // settings). Plain publishes skip it, so they never wait behind the worker.
            let wf = crate::workflow::WfHeaders::of(&input.opts.forward);
            let needs_lock = dedup_key.is_some() || input.queue.is_some() || input.opts.flow_control.is_some() || wf.run_id.is_some();
            let _g = if needs_lock { Some(self.inner.lock.lock().await) } else { None };
            // A repeated trigger of an existing run answers its first message, deduplicated.
            if let crate::workflow::runs::InitCheck::Duplicate(first) = self.check_init(&wf).await? {
                return Ok(Accepted { status: StatusCode::OK, json: json!({"messageId": first, "deduplicated": true}), ids: Vec::new() });
            }
            if let Some(k) = &dedup_key {
                if let Some(prev) = self.store().one(cmd!["GET", keys::dedup(k)]).await?.into_bytes()? {
                    let mut json: Json = from_json(&prev)?;
                    mark_deduplicated(&mut json);
                    return Ok(Accepted { status: StatusCode::ACCEPTED, json, ids: Vec::new() });
                }
            }
            let (messages, cmds, json) = self.build(&input, dedup_key.as_deref()).await?;
            let mut cmds = cmds;
            if let Some(k) = &dedup_key {
                cmds.push(cmd!["SET", keys::dedup(k), to_json(&json), "PX", DEDUP_WINDOW_MS]);
            }
            let applied = self.store().apply(cmds).await?;
            (applied, messages, json)
        };
        let (applied, ids, json) = applied;
        self.store().wait_durable(applied.durability).await?;
        self.wake();
        Ok(Accepted { status: StatusCode::OK, json, ids })
    }

    /// Builds the messages of one publish and the commands that store them (under the lock).
    async fn build(&self, input: &PublishInput, dedup_key: Option<&str>) -> ApiResult<(Vec<String>, Vec<Cmd>, Json)> {
        let now = self.now();
        let o = &input.opts;
        let not_before = match o.not_before_s {
            Some(s) => s.saturating_mul(1000),
            None => now.saturating_add(o.delay_ms.unwrap_or(0)),
        };
        let timeout_ms = o.timeout_ms.map(|t| t.min(self.config().max_timeout_ms));
        let targets: Vec<(String, Option<String>, Option<String>)> = match &input.target {
            Target::Url(u) => vec![(u.clone(), None, None)],
            Target::GroupEndpoint { url, topic, name } => vec![(url.clone(), Some(topic.clone()), name.clone())],
            Target::Topic(name) => {
                let topic = self.load_topic(name).await?.ok_or_else(|| ApiError::not_found(format!("url group {name} not found")))?;
                if topic.endpoints.is_empty() {
                    return Err(ApiError::bad(format!("url group {name} has no endpoints")));
                }
                topic.endpoints.iter().map(|e| (e.url.clone(), Some(name.clone()), e.name.clone())).collect()
            }
        };
        let mut cmds: Vec<Cmd> = Vec::new();
        // The queue, created on first use (parallelism 1), and how many wait in it already.
        let mut queue_state: Option<(Queue, i64)> = None;
        if let Some(qn) = &input.queue {
            let q = match self.load_queue(qn).await? {
                Some(q) => q,
                None => {
                    let q = Queue { name: qn.clone(), created_at: now, updated_at: now, parallelism: 1, paused: false };
                    cmds.push(cmd!["SET", keys::queue(qn), to_json(&q)]);
                    cmds.push(cmd!["ZADD", keys::QUEUES, now, qn]);
                    q
                }
            };
            let len = self.store().one(cmd!["LLEN", keys::queue_list(qn)]).await?.into_int()?;
            queue_state = Some((q, len));
        }
        if let Some(fc) = &o.flow_control {
            cmds.extend(self.flow_update_cmds(fc).await?);
        }
        let mut ids = Vec::new();
        let mut items = Vec::new();
        for (url, topic, endpoint) in targets {
            let id = new_id("msg_");
            let mut m = Message {
                id: id.clone(),
                url: url.clone(),
                topic_name: topic,
                endpoint_name: endpoint,
                method: o.method.clone().unwrap_or_else(|| "POST".into()),
                headers: o.forward.clone(),
                max_retries: o.retries.unwrap_or(DEFAULT_RETRIES),
                not_before,
                created_at: now,
                callback: o.callback.clone(),
                failure_callback: o.failure_callback.clone(),
                queue_name: input.queue.clone(),
                schedule_id: input.schedule_id.clone(),
                caller_ip: input.caller_ip.clone(),
                retry_delay: o.retry_delay.clone(),
                timeout_ms,
                flow_control: o.flow_control.clone(),
                labels: o.labels.clone(),
                redact: o.redact.clone(),
                dedup_key: dedup_key.map(String::from),
                ..Message::default()
            };
            cmds.extend(self.bind_workflow(&mut m, &input.body, o).await?);
            if let Some((q, len)) = &mut queue_state {
                m.parked = q.paused || *len >= i64::from(q.parallelism.max(1));
                *len += 1;
                cmds.push(cmd!["RPUSH", keys::queue_list(&q.name), &id]);
            }
            cmds.extend(Qstash::create_cmds(&m, &input.body));
            cmds.push(self.event_cmd(&Event::new("CREATED", &m, &input.body, now)));
            let mut item = json!({"messageId": id});
            if matches!(input.target, Target::Topic(_)) {
                item["url"] = json!(url);
            }
            items.push(item);
            ids.push(id);
        }
        let json = match input.target {
            Target::Url(_) | Target::GroupEndpoint { .. } => items.into_iter().next().unwrap_or(Json::Null),
            Target::Topic(_) => Json::Array(items),
        };
        Ok((ids, cmds, json))
    }

    /// Commands that record the settings a message brings for its flow-control key (unless
    /// pinned): "the last config stays until a message brings a new one".
    async fn flow_update_cmds(&self, fc: &crate::model::FlowControl) -> ApiResult<Vec<Cmd>> {
        let key = keys::flow(&fc.key);
        let existing: Option<FlowState> = match self.store().one(cmd!["GET", &key]).await?.into_bytes()? {
            Some(b) => Some(from_json(&b)?),
            None => None,
        };
        let mut st = existing.clone().unwrap_or_else(|| FlowState { key: fc.key.clone(), ..FlowState::default() });
        if !st.pinned_parallelism {
            st.parallelism = fc.parallelism.unwrap_or(0);
        }
        if !st.pinned_rate {
            st.rate = fc.rate.unwrap_or(0);
            st.period = fc.period.unwrap_or(1);
        }
        let mut cmds = Vec::new();
        if existing.as_ref() != Some(&st) {
            cmds.push(cmd!["SET", key, to_json(&st)]);
        }
        if existing.is_none() {
            cmds.push(cmd!["ZADD", keys::FLOW_KEYS, self.now(), &fc.key]);
        }
        Ok(cmds)
    }
}

fn mark_deduplicated(json: &mut Json) {
    match json {
        Json::Object(o) => {
            o.insert("deduplicated".into(), Json::Bool(true));
        }
        Json::Array(a) => a.iter_mut().for_each(mark_deduplicated),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::parse("https://a.example/x?y=1").unwrap(), Target::Url("https://a.example/x?y=1".into()));
        assert_eq!(Target::parse("my-group").unwrap(), Target::Topic("my-group".into()));
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("https://").is_err());
        assert!(Target::parse("").is_err());
    }
}
