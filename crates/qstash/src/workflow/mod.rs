//! Workflow on QStash (`@upstash/workflow`): the server keeps, per run, an ordered step log
//! and the run's configuration; the SDK keeps nothing. Every message published with
//! `Upstash-Workflow-RunId` belongs to a run: the init message creates it (step 0 = the initial
//! payload), later step messages append to its log, and a delivery to the workflow URL carries
//! the log from the start up to and including its own step, as `[{messageId, body (base64),
//! callType}]`. Runs end by `DELETE /v2/workflows/runs/{id}` (finish or cancel) or by a
//! dead-lettered step (failure callback with the run's initial payload).
//!
//! runs.rs: binding messages to runs at accept time, delivery bodies and headers, finish,
//! cancel, failure. waits.rs: waitForEvent, notify, webhooks. logs.rs: `client.logs()`.
//! dlq.rs: failed runs resumed, restarted, their failure callback re-run. trigger.rs: the REST
//! triggers.

pub mod dlq;
pub mod logs;
pub mod runs;
pub mod trigger;
pub mod waits;

use serde::{Deserialize, Serialize};

use crate::model::{CallbackConfig, FlowControl, HeaderList, Message};

/// A message's place in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WfRef {
    /// The run.
    pub run_id: String,
    /// Its index in the run's step log (the delivery carries steps `0..=index`).
    pub index: usize,
    /// Whether its delivery is a step delivery (the log prefix as body) rather than a raw
    /// one (a `context.call` request, a call's callback, a failure call).
    pub step_delivery: bool,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunState {
    /// Running.
    #[default]
    Started,
    /// Finished by the SDK (`DELETE ...?cancel=false`).
    Success,
    /// A step was dead-lettered.
    Failed,
    /// Canceled.
    Canceled,
}

impl RunState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Started => "RUN_STARTED",
            RunState::Success => "RUN_SUCCESS",
            RunState::Failed => "RUN_FAILED",
            RunState::Canceled => "RUN_CANCELED",
        }
    }
}

/// The configuration captured at trigger time and re-applied to every later step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Forwarded user headers (not the `Upstash-Workflow-*` protocol headers).
    #[serde(default)]
    pub headers: HeaderList,
    /// Retries.
    #[serde(default)]
    pub retries: Option<u32>,
    /// Retry-delay expression.
    #[serde(default)]
    pub retry_delay: Option<String>,
    /// Flow control.
    #[serde(default)]
    pub flow_control: Option<FlowControl>,
    /// Failure callback (URL and its header set).
    #[serde(default)]
    pub failure_callback: Option<CallbackConfig>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Redaction.
    #[serde(default)]
    pub redact: Vec<String>,
}

/// Who invoked a run (`context.invoke`), to be told when it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoker {
    /// The invoking run.
    pub run_id: String,
    /// Its workflow URL.
    pub url: String,
    /// Its creation time (ms).
    pub created_at: u64,
    /// The invoke step (JSON), completed with `out` when the child ends.
    pub step: serde_json::Value,
    /// The headers to deliver the result with.
    #[serde(default)]
    pub headers: HeaderList,
}

/// One entry of a run's step log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawStep {
    /// The message that carried it.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// base64 of the step's body.
    pub body: String,
    /// `step`, `toCallback`, `fromCallback`...
    #[serde(rename = "callType")]
    pub call_type: String,
}

/// The outcome of a run's failure callback.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureFunction {
    /// `CALLBACK_INPROGRESS`, `CALLBACK_SUCCESS`, `CALLBACK_FAIL`.
    pub state: String,
    /// The callback message.
    pub message_id: String,
    /// The response body.
    #[serde(default)]
    pub response_body: Option<String>,
    /// The response status.
    #[serde(default)]
    pub response_status: Option<u16>,
}

/// A run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// `wfr_...`.
    pub id: String,
    /// The workflow endpoint.
    pub url: String,
    /// Created (ms).
    pub created_at: u64,
    /// State.
    pub state: RunState,
    /// Ended (ms).
    #[serde(default)]
    pub completed_at: Option<u64>,
    /// The route's return value (`DELETE ...?cancel=false` body).
    #[serde(default)]
    pub result: Option<String>,
    /// Configuration.
    pub config: RunConfig,
    /// The invoker, for invoked runs.
    #[serde(default)]
    pub invoker: Option<Invoker>,
    /// Invoke depth.
    #[serde(default)]
    pub invoke_count: u32,
    /// The DLQ entry of the failed step.
    #[serde(default)]
    pub dlq_id: Option<String>,
    /// The failure callback's outcome.
    #[serde(default)]
    pub failure_function: Option<FailureFunction>,
    /// The caller's address.
    #[serde(default)]
    pub caller_ip: String,
}

/// The protocol headers of a message (as forwarded, canonical names).
#[derive(Debug, Clone, Default)]
pub struct WfHeaders {
    /// `Upstash-Workflow-RunId`.
    pub run_id: Option<String>,
    /// `Upstash-Workflow-Init: true`.
    pub init: bool,
    /// `Upstash-Workflow-Url`.
    pub url: Option<String>,
    /// `Upstash-Workflow-CallType`.
    pub call_type: Option<String>,
    /// `Upstash-Workflow-Invoke: true`.
    pub invoke: bool,
    /// `Upstash-Workflow-Trigger-By-Sdk: true` (the unknown-SDK handshake).
    pub trigger_by_sdk: bool,
}

fn header<'a>(list: &'a HeaderList, name: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

impl WfHeaders {
    /// Reads the protocol headers of a message's forwarded header list.
    pub fn of(headers: &HeaderList) -> WfHeaders {
        let yes = |n: &str| header(headers, n).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        WfHeaders {
            run_id: header(headers, "Upstash-Workflow-RunId").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            init: yes("Upstash-Workflow-Init"),
            url: header(headers, "Upstash-Workflow-Url").map(String::from),
            call_type: header(headers, "Upstash-Workflow-CallType").map(String::from),
            invoke: yes("Upstash-Workflow-Invoke"),
            trigger_by_sdk: yes("Upstash-Workflow-Trigger-By-Sdk"),
        }
    }
}

/// Whether a forwarded header is part of the workflow protocol (kept per message, never part
/// of the run's user headers).
pub fn is_protocol_header(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("upstash-workflow-") || l == "upstash-feature-set"
}

/// The message's run, when it belongs to one.
pub fn run_of(m: &Message) -> Option<&WfRef> {
    m.workflow.as_ref()
}
