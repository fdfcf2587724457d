//! The event log: one entry per state change of a message (`CREATED`, `ACTIVE`, `DELIVERED`,
//! `ERROR`, `RETRY`, `FAILED`, `CANCEL_REQUESTED`, `CANCELED`), kept in a store stream, read
//! newest first with filters and cursor paging (`GET /v2/events`, `GET /v2/logs`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::model::{b64, header_map, put_flow, put_labels, shown_headers, HeaderList, Message};

/// Bodies larger than this are left out of events (the message keeps them).
const EVENT_BODY_MAX: usize = 8 * 1024;

/// One logged state change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When (ms).
    pub time: u64,
    /// The state entered.
    pub state: String,
    /// The message (as it was).
    pub message: Message,
    /// Its body (base64), when small.
    #[serde(default)]
    pub body: Option<String>,
    /// Why an attempt failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The next attempt (ms), on RETRY.
    #[serde(default)]
    pub next_delivery_time: Option<u64>,
    /// The response status, on ERROR/DELIVERED.
    #[serde(default)]
    pub response_status: Option<u16>,
    /// The response headers.
    #[serde(default)]
    pub response_headers: Option<HeaderList>,
    /// The response body (as text, invalid UTF-8 replaced).
    #[serde(default)]
    pub response_body: Option<String>,
    /// The DLQ entry, on FAILED.
    #[serde(default)]
    pub dlq_id: Option<String>,
}

impl Event {
    /// An event for `m` entering `state` at `time`.
    pub fn new(state: &str, m: &Message, body: &[u8], time: u64) -> Event {
        Event { time, state: state.into(), message: m.clone(), body: (body.len() <= EVENT_BODY_MAX).then(|| b64(body)), ..Event::default() }
    }

    /// The API shape (§6.3 of the reference).
    pub fn to_json(&self) -> Json {
        let m = &self.message;
        let mut o = Map::new();
        o.insert("time".into(), Json::from(self.time));
        o.insert("messageId".into(), Json::from(m.id.clone()));
        o.insert("state".into(), Json::from(self.state.clone()));
        o.insert("url".into(), Json::from(m.url.clone()));
        let put = |o: &mut Map<String, Json>, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                o.insert(k.into(), Json::from(v.clone()));
            }
        };
        put(&mut o, "topicName", &m.topic_name);
        put(&mut o, "endpointName", &m.endpoint_name);
        put(&mut o, "queueName", &m.queue_name);
        put(&mut o, "scheduleId", &m.schedule_id);
        put(&mut o, "error", &self.error);
        put(&mut o, "dlqId", &self.dlq_id);
        if let Some(t) = self.next_delivery_time {
            o.insert("nextDeliveryTime".into(), Json::from(t));
        }
        o.insert("header".into(), header_map(&shown_headers(&m.headers, &m.redact)));
        if let Some(b) = &self.body {
            if !b.is_empty() {
                let shown = if m.redact.iter().any(|r| r == "body") { b64(b"REDACTED") } else { b.clone() };
                o.insert("body".into(), Json::from(shown));
            }
        }
        if let Some(s) = self.response_status {
            o.insert("responseStatus".into(), Json::from(s));
        }
        if let Some(h) = &self.response_headers {
            o.insert("responseHeader".into(), header_map(h));
        }
        if let Some(b) = &self.response_body {
            o.insert("responseBody".into(), Json::from(b.clone()));
        }
        if let Some(t) = m.timeout_ms {
            o.insert("timeout".into(), Json::from(t / 1000));
        }
        o.insert("method".into(), Json::from(m.method.clone()));
        if let Some(cb) = &m.callback {
            o.insert("callback".into(), Json::from(cb.url.clone()));
            o.insert("callbackHeaders".into(), header_map(&cb.headers));
        }
        if let Some(cb) = &m.failure_callback {
            o.insert("failureCallback".into(), Json::from(cb.url.clone()));
            o.insert("failureCallbackHeaders".into(), header_map(&cb.headers));
        }
        o.insert("maxRetries".into(), Json::from(m.max_retries));
        o.insert("retried".into(), Json::from(m.retried));
        if let Some(r) = &m.retry_delay {
            o.insert("retryDelayExpression".into(), Json::from(r.clone()));
            o.insert("retryDelayExpr".into(), Json::from(r.clone()));
        }
        put_labels(&mut o, &m.labels);
        put_flow(&mut o, &m.flow_control);
        o.insert("callerIP".into(), Json::from(m.caller_ip.clone()));
        Json::Object(o)
    }
}

/// Filters shared by events, DLQ listing and bulk cancel: OR within a key, AND across keys.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `messageId`/`messageIds`.
    pub message_ids: Vec<String>,
    /// `state` (IN_PROGRESS = ACTIVE, RETRY or ERROR; CANCELLED reads as CANCELED).
    pub states: Vec<String>,
    /// `url`.
    pub urls: Vec<String>,
    /// `topicName`.
    pub topics: Vec<String>,
    /// `queueName`.
    pub queues: Vec<String>,
    /// `scheduleId`.
    pub schedules: Vec<String>,
    /// `label`.
    pub labels: Vec<String>,
    /// `host`.
    pub hosts: Vec<String>,
    /// `path`.
    pub paths: Vec<String>,
    /// `callerIp`.
    pub caller_ips: Vec<String>,
    /// `flowControlKey`.
    pub flow_keys: Vec<String>,
    /// `responseStatus` (DLQ).
    pub statuses: Vec<u16>,
    /// `fromDate` (ms).
    pub from: Option<u64>,
    /// `toDate` (ms).
    pub to: Option<u64>,
}

fn any_or_empty(list: &[String], v: Option<&str>) -> bool {
    list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
}

/// The host and the path of a URL.
pub fn host_and_path(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

impl Filter {
    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.message_ids.is_empty()
            && self.states.is_empty()
            && self.urls.is_empty()
            && self.topics.is_empty()
            && self.queues.is_empty()
            && self.schedules.is_empty()
            && self.labels.is_empty()
            && self.hosts.is_empty()
            && self.paths.is_empty()
            && self.caller_ips.is_empty()
            && self.flow_keys.is_empty()
            && self.statuses.is_empty()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// Whether message `m` (at `time`, in `state`) passes.
    pub fn matches(&self, m: &Message, state: Option<&str>, time: u64) -> bool {
        let (host, path) = host_and_path(&m.url);
        any_or_empty(&self.message_ids, Some(&m.id))
            && (self.states.is_empty()
                || state.is_some_and(|s| {
                    self.states.iter().any(|f| f == s || (f == "IN_PROGRESS" && matches!(s, "ACTIVE" | "RETRY" | "ERROR")))
                }))
            && any_or_empty(&self.urls, Some(&m.url))
            && any_or_empty(&self.topics, m.topic_name.as_deref())
            && any_or_empty(&self.queues, m.queue_name.as_deref())
            && any_or_empty(&self.schedules, m.schedule_id.as_deref())
            && (self.labels.is_empty() || m.labels.iter().any(|l| self.labels.contains(l)))
            && any_or_empty(&self.hosts, Some(host))
            && any_or_empty(&self.paths, Some(path))
            && any_or_empty(&self.caller_ips, Some(&m.caller_ip))
            && any_or_empty(&self.flow_keys, m.flow_control.as_ref().map(|f| f.key.as_str()))
            && self.from.is_none_or(|f| time >= f)
            && self.to.is_none_or(|t| time <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_path_split() {
        assert_eq!(host_and_path("https://a.example:8080/x/y?z=1"), ("a.example:8080", "/x/y"));
        assert_eq!(host_and_path("http://a"), ("a", "/"));
    }

    #[test]
    fn filters_or_within_and_across() {
        let m = Message { id: "msg_1".into(), url: "https://h/p".into(), labels: vec!["a".into()], ..Message::default() };
        let mut f = Filter { states: vec!["IN_PROGRESS".into()], ..Filter::default() };
        assert!(f.matches(&m, Some("RETRY"), 5));
        assert!(!f.matches(&m, Some("DELIVERED"), 5));
        f.labels = vec!["b".into(), "a".into()];
        assert!(f.matches(&m, Some("ACTIVE"), 5));
        f.hosts = vec!["other".into()];
        assert!(!f.matches(&m, Some("ACTIVE"), 5));
    }
}

/// A page of events.
#[derive(Debug)]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<Event>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

impl crate::core::Qstash {
    /// Events newest first, `count` (≤ 100) per page, those `filter` matches.
    pub async fn list_events(&self, filter: &Filter, cursor: Option<&str>, count: usize) -> crate::error::ApiResult<EventPage> {
        use stashd_store::{cmd, Value};
        let count = count.clamp(1, 100);
        let mut out = Vec::new();
        let mut from = match cursor {
            Some(c) if !c.is_empty() => format!("({c}"),
            _ => "+".into(),
        };
        loop {
            let chunk = self.store().one(cmd!["XREVRANGE", crate::keys::EVENTS, &from, "-", "COUNT", 500]).await?.check()?.into_array()?;
            let exhausted = chunk.len() < 500;
            for item in chunk {
                let mut parts = item.into_array()?.into_iter();
                let id = parts.next().map(Value::into_bytes).transpose()?.flatten().unwrap_or_default();
                let id = String::from_utf8_lossy(&id).into_owned();
                from = format!("({id}");
                let fields = parts.next().map(Value::into_array).transpose()?.unwrap_or_default();
                let Some(raw) = fields.into_iter().nth(1).map(Value::into_bytes).transpose()?.flatten() else { continue };
                let e: Event = crate::core::from_json(&raw)?;
                if filter.matches(&e.message, Some(&e.state), e.time) {
                    out.push(e);
                    if out.len() == count {
                        let more = self.store().one(cmd!["XREVRANGE", crate::keys::EVENTS, &from, "-", "COUNT", 1]).await?.into_array()?;
                        return Ok(EventPage { events: out, cursor: (!more.is_empty()).then_some(id) });
                    }
                }
            }
            if exhausted {
                return Ok(EventPage { events: out, cursor: None });
            }
        }
    }
}
