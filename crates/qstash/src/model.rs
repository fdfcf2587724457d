//! The records QStash keeps (messages, DLQ entries, queues, schedules, URL groups, flow-control
//! keys), as stored (serde JSON in the store) and as the API renders them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

/// A header list in delivery order: (canonical name, value).
pub type HeaderList = Vec<(String, String)>;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MsgState {
    /// Accepted, waiting for its delivery time (or its turn in a queue / flow-control key).
    #[default]
    Created,
    /// An attempt is in flight.
    Active,
    /// The last attempt failed; the next one is scheduled.
    Retry,
    /// Cancel was asked while an attempt was in flight; it ends as CANCELED.
    CancelRequested,
}

/// What a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MsgKind {
    /// A message a client published (or a schedule produced).
    #[default]
    Publish,
    /// A callback about an attempt of `source`.
    Callback,
    /// A failure callback about `source`, which went to the DLQ.
    FailureCallback,
}

/// How a callback or failure-callback message is to be sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallbackConfig {
    /// The URL.
    pub url: String,
    /// Forwarded headers.
    #[serde(default)]
    pub headers: HeaderList,
    /// Method (default POST).
    #[serde(default)]
    pub method: Option<String>,
    /// Retries (default: the message's).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Retry-delay expression.
    #[serde(default)]
    pub retry_delay: Option<String>,
    /// Per-attempt timeout (ms).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Delay before sending (ms).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// The callback message's own failure callback (`Upstash-Callback-Failure-Callback...`).
    #[serde(default)]
    pub failure: Option<Box<CallbackConfig>>,
    /// Flow control of the callback message (`Upstash-Failure-Callback-Flow-Control-*`).
    #[serde(default)]
    pub flow_control: Option<FlowControl>,
}

/// Flow-control settings a message carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowControl {
    /// The key.
    pub key: String,
    /// Max attempts in flight for the key.
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Max attempts started per period.
    #[serde(default)]
    pub rate: Option<u32>,
    /// The rate's period in seconds.
    #[serde(default)]
    pub period: Option<u64>,
}

/// A message, as stored (the body is kept apart, raw).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `msg_...`.
    pub id: String,
    /// The destination as published (what the API, logs and signatures show).
    pub url: String,
    /// The URL group it came from.
    #[serde(default)]
    pub topic_name: Option<String>,
    /// The group endpoint's name.
    #[serde(default)]
    pub endpoint_name: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Headers delivered with it (forwarded ones without their prefix, Content-Type).
    #[serde(default)]
    pub headers: HeaderList,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Failed attempts so far (the `Upstash-Retried` of the next attempt).
    #[serde(default)]
    pub retried: u32,
    /// Not delivered before (ms).
    pub not_before: u64,
    /// Accepted at (ms).
    pub created_at: u64,
    /// Callback after each attempt.
    #[serde(default)]
    pub callback: Option<CallbackConfig>,
    /// Callback after the last failed attempt.
    #[serde(default)]
    pub failure_callback: Option<CallbackConfig>,
    /// FIFO queue.
    #[serde(default)]
    pub queue_name: Option<String>,
    /// The schedule that produced it.
    #[serde(default)]
    pub schedule_id: Option<String>,
    /// The publisher's address.
    #[serde(default)]
    pub caller_ip: String,
    /// Retry-delay expression.
    #[serde(default)]
    pub retry_delay: Option<String>,
    /// Per-attempt timeout (ms).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Flow control.
    #[serde(default)]
    pub flow_control: Option<FlowControl>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Redaction asked for (`body`, `header`, `header[Name]`).
    #[serde(default)]
    pub redact: Vec<String>,
    /// State.
    #[serde(default)]
    pub state: MsgState,
    /// Kind.
    #[serde(default)]
    pub kind: MsgKind,
    /// For callbacks: the message they are about.
    #[serde(default)]
    pub source_message_id: Option<String>,
    /// The deduplication key it holds, if any.
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// Waiting in its queue for a turn (not in the due index).
    #[serde(default)]
    pub parked: bool,
    /// Its place in a workflow run.
    #[serde(default)]
    pub workflow: Option<crate::workflow::WfRef>,
}

impl Message {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Go's `CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`.
pub fn canonical_header(name: &str) -> String {
    if name.bytes().any(|b| !(b.is_ascii_alphanumeric() || b == b'-')) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
        upper = c == '-';
    }
    out
}

/// A header list as the API renders it: `{"Canonical-Name": ["v", ...]}`.
pub fn header_map(headers: &HeaderList) -> Json {
    let mut m = Map::new();
    for (k, v) in headers {
        let entry = m.entry(canonical_header(k)).or_insert_with(|| Json::Array(Vec::new()));
        if let Json::Array(a) = entry {
            a.push(Json::String(v.clone()));
        }
    }
    Json::Object(m)
}

/// `REDACTED:<sha256 hex>` for a redacted value.
fn redacted(v: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(v);
    let mut s = String::from("REDACTED:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Applies `Upstash-Redact-Fields` to headers for display.
pub fn shown_headers(headers: &HeaderList, redact: &[String]) -> HeaderList {
    let all = redact.iter().any(|r| r == "header" || r == "headers");
    headers
        .iter()
        .map(|(k, v)| {
            let named = redact
                .iter()
                .any(|r| r.strip_prefix("header[").and_then(|x| x.strip_suffix(']')).is_some_and(|n| n.eq_ignore_ascii_case(k)));
            if all || named {
                (k.clone(), redacted(v.as_bytes()))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Puts `body` (UTF-8) or `bodyBase64` into `o`, honouring body redaction.
pub fn put_body(o: &mut Map<String, Json>, body: &[u8], redact: &[String]) {
    if body.is_empty() {
        return;
    }
    if redact.iter().any(|r| r == "body") {
        o.insert("body".into(), Json::String(redacted(body)));
        return;
    }
    match std::str::from_utf8(body) {
        Ok(s) => {
            o.insert("body".into(), Json::String(s.into()));
        }
        Err(_) => {
            o.insert("bodyBase64".into(), Json::String(b64(body)));
        }
    }
}

/// Standard base64.
pub fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn put_opt(o: &mut Map<String, Json>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        o.insert(k.into(), Json::String(v.clone()));
    }
}

/// Message fields shared by `GET /v2/messages/{id}`, DLQ entries and schedules' messages.
pub fn message_json(m: &Message, body: &[u8]) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("messageId".into(), json!(m.id));
    o.insert("url".into(), json!(m.url));
    put_opt(&mut o, "topicName", &m.topic_name);
    put_opt(&mut o, "endpointName", &m.endpoint_name);
    o.insert("method".into(), json!(m.method));
    o.insert("header".into(), header_map(&shown_headers(&m.headers, &m.redact)));
    put_body(&mut o, body, &m.redact);
    o.insert("maxRetries".into(), json!(m.max_retries));
    o.insert("retried".into(), json!(m.retried));
    o.insert("notBefore".into(), json!(m.not_before));
    o.insert("createdAt".into(), json!(m.created_at));
    if let Some(cb) = &m.callback {
        o.insert("callback".into(), json!(cb.url));
        if !cb.headers.is_empty() {
            o.insert("callbackHeader".into(), header_map(&cb.headers));
        }
    }
    if let Some(cb) = &m.failure_callback {
        o.insert("failureCallback".into(), json!(cb.url));
        if !cb.headers.is_empty() {
            o.insert("failureCallbackHeader".into(), header_map(&cb.headers));
        }
    }
    put_opt(&mut o, "queueName", &m.queue_name);
    put_opt(&mut o, "scheduleId", &m.schedule_id);
    o.insert("callerIP".into(), json!(m.caller_ip));
    o.insert("callerIp".into(), json!(m.caller_ip));
    if let Some(r) = &m.retry_delay {
        o.insert("retryDelayExpression".into(), json!(r));
    }
    if let Some(t) = m.timeout_ms {
        o.insert("timeout".into(), json!(t / 1000));
    }
    put_flow(&mut o, &m.flow_control);
    put_labels(&mut o, &m.labels);
    o
}

/// `flowControlKey`, `parallelism`, `rate`, `period`.
pub fn put_flow(o: &mut Map<String, Json>, fc: &Option<FlowControl>) {
    if let Some(fc) = fc {
        o.insert("flowControlKey".into(), json!(fc.key));
        if let Some(p) = fc.parallelism {
            o.insert("parallelism".into(), json!(p));
        }
        if let Some(r) = fc.rate {
            o.insert("rate".into(), json!(r));
            o.insert("period".into(), json!(fc.period.unwrap_or(1)));
        }
    }
}

/// `label` (the first) and `labels`.
pub fn put_labels(o: &mut Map<String, Json>, labels: &[String]) {
    if let Some(first) = labels.first() {
        o.insert("label".into(), json!(first));
        o.insert("labels".into(), json!(labels));
    }
}

/// A DLQ entry, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DlqEntry {
    /// `<ms>-<seq>`.
    pub dlq_id: String,
    /// The failed message (its body is kept beside the entry).
    pub message: Message,
    /// The last attempt's status (0 when there was no HTTP response).
    pub response_status: u16,
    /// Its headers.
    #[serde(default)]
    pub response_headers: HeaderList,
    /// Its body (as much as was read).
    #[serde(default)]
    pub response_body: Vec<u8>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub error: Option<String>,
    /// When it failed (ms).
    pub failed_at: u64,
}

/// A FIFO queue's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Name.
    pub name: String,
    /// Created (ms).
    pub created_at: u64,
    /// Updated (ms).
    pub updated_at: u64,
    /// Messages in flight at once.
    pub parallelism: u32,
    /// Paused: messages wait.
    pub paused: bool,
}

/// A URL group endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Optional name.
    #[serde(default)]
    pub name: Option<String>,
    /// URL.
    pub url: String,
}

/// A URL group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// Name.
    pub name: String,
    /// Created (ms).
    pub created_at: u64,
    /// Updated (ms).
    pub updated_at: u64,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Default `Upstash-*` headers for publishes to the group (`PATCH /v2/topics/{name}`).
    #[serde(default)]
    pub headers: HeaderList,
}

impl Topic {
    /// The API shape.
    pub fn to_json(&self) -> Json {
        let eps: Vec<Json> = self
            .endpoints
            .iter()
            .map(|e| {
                let mut o = Map::new();
                if let Some(n) = &e.name {
                    o.insert("name".into(), json!(n));
                }
                o.insert("url".into(), json!(e.url));
                Json::Object(o)
            })
            .collect();
        json!({"name": self.name, "createdAt": self.created_at, "updatedAt": self.updated_at, "endpoints": eps})
    }
}

/// A flow-control key's durable state (counters live in memory).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// The key.
    pub key: String,
    /// Max in flight (0 = unlimited).
    pub parallelism: u32,
    /// Max starts per period (0 = unlimited).
    pub rate: u32,
    /// Period (s).
    pub period: u64,
    /// Paused: messages wait.
    pub paused: bool,
    /// Parallelism pinned (messages' own settings ignored).
    pub pinned_parallelism: bool,
    /// Rate pinned.
    pub pinned_rate: bool,
}

/// A schedule, as stored (its body apart).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// `scd_...` or the client's id.
    pub id: String,
    /// Trimmed cron text (with its `CRON_TZ=` prefix, if any).
    pub cron: String,
    /// Destination URL or URL group.
    pub destination: String,
    /// Created (ms).
    pub created_at: u64,
    /// Paused.
    pub paused: bool,
    /// Enqueue into this queue.
    #[serde(default)]
    pub queue_name: Option<String>,
    /// Template of the messages it produces (id, times and state are filled per run).
    pub template: Message,
    /// Delay of each produced message (s).
    #[serde(default)]
    pub delay_secs: u64,
    /// The last run (ms).
    #[serde(default)]
    pub last_schedule_time: Option<u64>,
    /// The next run (ms).
    #[serde(default)]
    pub next_schedule_time: Option<u64>,
    /// States of the last run's messages.
    #[serde(default)]
    pub last_states: Vec<(String, String)>,
    /// Why the last run could not produce messages.
    #[serde(default)]
    pub error: Option<String>,
}
