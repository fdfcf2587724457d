//! The dead-letter queue: messages whose retries ran out (or that a destination refused with
//! 489 + `Upstash-NonRetryable-Error`). List with filters and cursor paging, get, delete (one or
//! many), and retry (one or many) as new messages.

use bytes::Bytes;
use serde_json::{json, Value as Json};
use stashd_store::{cmd, Value};

use crate::core::{from_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::events::Filter;
use crate::keys;
use crate::model::{header_map, message_json, DlqEntry};
use crate::options::Options;
use crate::publish::{PublishInput, Target};

/// A page of DLQ entries.
#[derive(Debug)]
pub struct DlqPage {
    /// Entries, newest first.
    pub entries: Vec<(DlqEntry, Bytes)>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

fn entry_from(fields: Vec<Value>) -> ApiResult<Option<(DlqEntry, Bytes)>> {
    let mut meta = None;
    let mut body = Bytes::new();
    let mut it = fields.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        match k.into_bytes()?.as_deref() {
            Some(b"meta") => meta = v.into_bytes()?,
            Some(b"body") => body = v.into_bytes()?.unwrap_or_default(),
            _ => {}
        }
    }
    match meta {
        Some(m) => Ok(Some((from_json(&m)?, body))),
        None => Ok(None),
    }
}

/// Parses an XRANGE-style reply into entries.
fn entries(v: Value) -> ApiResult<Vec<(String, DlqEntry, Bytes)>> {
    let mut out = Vec::new();
    for item in v.into_array()? {
        let mut parts = item.into_array()?.into_iter();
        let id = parts.next().map(Value::into_bytes).transpose()?.flatten().unwrap_or_default();
        let fields = parts.next().map(Value::into_array).transpose()?.unwrap_or_default();
        if let Some((e, b)) = entry_from(fields)? {
            out.push((String::from_utf8_lossy(&id).into_owned(), e, b));
        }
    }
    Ok(out)
}

/// The API shape of a DLQ entry.
pub fn dlq_json(e: &DlqEntry, body: &[u8]) -> Json {
    let mut o = message_json(&e.message, body);
    o.insert("dlqId".into(), json!(e.dlq_id));
    o.insert("responseStatus".into(), json!(e.response_status));
    o.insert("responseHeader".into(), header_map(&e.response_headers));
    if !e.response_body.is_empty() {
        match std::str::from_utf8(&e.response_body) {
            Ok(s) => o.insert("responseBody".into(), json!(s)),
            Err(_) => o.insert("responseBodyBase64".into(), json!(crate::model::b64(&e.response_body))),
        };
    }
    if let Some(err) = &e.error {
        o.insert("error".into(), json!(err));
    }
    Json::Object(o)
}

impl Qstash {
    /// Lists entries newest first: those named by `ids`, or those `filter` matches, `count` per page.
    pub async fn list_dlq(&self, ids: &[String], filter: &Filter, cursor: Option<&str>, count: usize) -> ApiResult<DlqPage> {
        let count = count.clamp(1, 100);
        if !ids.is_empty() {
            let mut out = Vec::new();
            for id in ids {
                if let Some(e) = self.load_dlq(id).await? {
                    out.push(e);
                }
            }
            return Ok(DlqPage { entries: out, cursor: None });
        }
        let mut out = Vec::new();
        let mut from = cursor.map(|c| format!("({c}")).unwrap_or_else(|| "+".into());
        loop {
            let chunk = entries(self.store().one(cmd!["XREVRANGE", keys::DLQ, &from, "-", "COUNT", 500]).await?.check()?)?;
            let exhausted = chunk.len() < 500;
            for (id, mut e, b) in chunk {
                from = format!("({id}");
                e.dlq_id = id.clone();
                if filter.matches(&e.message, None, e.failed_at)
                    && (filter.statuses.is_empty() || filter.statuses.contains(&e.response_status))
                {
                    out.push((e, b));
                    if out.len() == count {
                        let more = self.store().one(cmd!["XREVRANGE", keys::DLQ, &from, "-", "COUNT", 1]).await?.into_array()?;
                        return Ok(DlqPage { entries: out, cursor: (!more.is_empty()).then_some(id) });
                    }
                }
            }
            if exhausted {
                return Ok(DlqPage { entries: out, cursor: None });
            }
        }
    }

    /// One entry.
    pub async fn load_dlq(&self, id: &str) -> ApiResult<Option<(DlqEntry, Bytes)>> {
        if !valid_stream_id(id) {
            return Ok(None);
        }
        let mut v = entries(self.store().one(cmd!["XRANGE", keys::DLQ, id, id]).await?.check()?)?;
        Ok(v.pop().map(|(id, mut e, b)| {
            e.dlq_id = id;
            (e, b)
        }))
    }

    /// `GET /v2/dlq/{id}`.
    pub async fn get_dlq(&self, id: &str) -> ApiResult<Json> {
        let (e, b) = self.load_dlq(id).await?.ok_or_else(|| ApiError::not_found(format!("dlq message {id} not found")))?;
        Ok(dlq_json(&e, &b))
    }

    /// Deletes one entry; false when it was not there.
    pub async fn delete_dlq(&self, id: &str) -> ApiResult<bool> {
        if !valid_stream_id(id) {
            return Ok(false);
        }
        let _g = self.inner.lock.lock().await;
        let r = self.store().apply_durable(vec![cmd!["XDEL", keys::DLQ, id]]).await?;
        Ok(r.into_iter().next().map(|v| v.into_int().unwrap_or(0)).unwrap_or(0) > 0)
    }

    /// Retries one entry as a new message (settings in `overrides` win); the entry goes.
    pub async fn retry_dlq(&self, id: &str, overrides: &Options, caller_ip: &str) -> ApiResult<String> {
        let (e, body) = self.load_dlq(id).await?.ok_or_else(|| ApiError::not_found(format!("dlq message {id} not found")))?;
        let m = &e.message;
        let mut opts = Options::of_message(m);
        let o = overrides;
        if o.method.is_some() {
            opts.method = o.method.clone();
        }
        if o.retries.is_some() {
            opts.retries = o.retries;
        }
        if o.retry_delay.is_some() {
            opts.retry_delay = o.retry_delay.clone();
        }
        if o.timeout_ms.is_some() {
            opts.timeout_ms = o.timeout_ms;
        }
        opts.delay_ms = o.delay_ms;
        opts.not_before_s = o.not_before_s;
        if o.callback.is_some() {
            opts.callback = o.callback.clone();
        }
        if o.failure_callback.is_some() {
            opts.failure_callback = o.failure_callback.clone();
        }
        let input = PublishInput {
            target: match &m.topic_name {
                Some(topic) => Target::GroupEndpoint { url: m.url.clone(), topic: topic.clone(), name: m.endpoint_name.clone() },
                None => Target::Url(m.url.clone()),
            },
            queue: m.queue_name.clone(),
            opts,
            body,
            caller_ip: caller_ip.to_string(),
            schedule_id: m.schedule_id.clone(),
        };
        let accepted = self.accept(input).await?;
        self.delete_dlq(id).await?;
        accepted.ids.into_iter().next().ok_or_else(|| ApiError::internal("retry produced no message"))
    }
}

/// Whether `id` looks like a stream id (`<ms>-<seq>` or `<ms>`).
fn valid_stream_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '-');
    let ms = parts.next().unwrap_or("");
    let ok = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    ok(ms) && parts.next().is_none_or(ok)
}
