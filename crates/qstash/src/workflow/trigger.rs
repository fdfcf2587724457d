//! The REST triggers: `POST /v2/trigger/{workflowUrl}` and `POST /v2/batch/trigger` start runs
//! without an SDK on the caller's side. The first delivery goes straight to the endpoint as a
//! run's init step (with `Upstash-Workflow-Sdk-Version: 1`), and failures call the endpoint's
//! failure function unless `Upstash-Failure-Callback` names another URL.

use bytes::Bytes;
use serde_json::{json, Value as Json};

use crate::core::{new_id, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::model::CallbackConfig;
use crate::options::{check_url, Options};
use crate::publish::{PublishInput, Target};

/// The feature set the SDK announces for workflow messages.
pub const FEATURE_SET: &str = "LazyFetch,InitialBody,WF_DetectTrigger,WF_TriggerOnConfig";

impl Qstash {
    /// Starts a run of the workflow at `url` with `body`, configured by `opts` (the request's
    /// `Upstash-*` headers). `run_id` is the caller's (`Upstash-Workflow-RunId`) or a new one.
    /// Returns `(run id, created at, deduplicated)`.
    pub async fn trigger_run(
        &self,
        url: &str,
        run_id: Option<String>,
        mut opts: Options,
        body: Bytes,
        caller_ip: &str,
    ) -> ApiResult<(String, u64, bool)> {
        let url = check_url(url, "workflow")?;
        let run_id = run_id.filter(|r| !r.is_empty()).unwrap_or_else(|| new_id("wfr_"));
        let protocol = [
            ("Upstash-Workflow-RunId", run_id.as_str()),
            ("Upstash-Workflow-Init", "true"),
            ("Upstash-Workflow-Url", url.as_str()),
            ("Upstash-Workflow-Sdk-Version", "1"),
            ("Upstash-Feature-Set", FEATURE_SET),
        ];
        opts.forward.retain(|(k, _)| !protocol.iter().any(|(p, _)| k.eq_ignore_ascii_case(p)));
        opts.forward.extend(protocol.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        // The endpoint's own failure function unless another URL is named.
        let mut cb = opts.failure_callback.take().unwrap_or(CallbackConfig { url: url.clone(), ..CallbackConfig::default() });
        for (k, v) in [
            ("Upstash-Workflow-Is-Failure", "true"),
            ("Upstash-Workflow-Failure-Callback", "true"),
            ("Upstash-Workflow-RunId", run_id.as_str()),
            ("Upstash-Workflow-Init", "false"),
            ("Upstash-Workflow-Url", url.as_str()),
            ("Upstash-Workflow-CallType", "failureCall"),
            ("Upstash-Feature-Set", FEATURE_SET),
        ] {
            if !cb.headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
                cb.headers.push((k.to_string(), v.to_string()));
            }
        }
        opts.failure_callback = Some(cb);
        let input = PublishInput { target: Target::Url(url), queue: None, opts, body, caller_ip: caller_ip.to_string(), schedule_id: None };
        let accepted = self.accept(input).await?;
        let deduplicated = accepted.json.get("deduplicated").and_then(Json::as_bool).unwrap_or(false);
        let created = self.load_run(&run_id).await?.map_or(0, |r| r.created_at);
        Ok((run_id, created, deduplicated))
    }

    /// `POST /v2/batch/trigger`: items `{workflowUrl | destination | url, body, headers,
    /// workflowRunId}`; answers one `{workflowRunId, workflowCreatedAt, deduplicated}` per item
    /// (an item that cannot start answers `{"error"}` in its slot).
    pub async fn batch_trigger(&self, items: Vec<Json>, caller_ip: &str) -> ApiResult<Json> {
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let Json::Object(o) = item else { return Err(ApiError::bad(format!("batch item {i} is not an object"))) };
            let url =
                ["workflowUrl", "destination", "url"].iter().find_map(|k| o.get(*k).and_then(Json::as_str)).unwrap_or_default().to_string();
            let headers = super::runs::header_pairs(o.get("headers"));
            let body = match o.get("body") {
                Some(Json::String(s)) => Bytes::from(s.clone()),
                Some(Json::Null) | None => Bytes::new(),
                Some(other) => Bytes::from(other.to_string()),
            };
            let pairs: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
            let run_id = o
                .get("workflowRunId")
                .and_then(Json::as_str)
                .map(String::from)
                .or_else(|| pairs.iter().find(|(k, _)| k == "upstash-workflow-runid").map(|(_, v)| v.clone()));
            let started = match Options::parse(&pairs, &[]) {
                Ok(opts) => self.trigger_run(&url, run_id, opts.finish(), body, caller_ip).await,
                Err(e) => Err(e),
            };
            match started {
                Ok((id, created, dedup)) => out.push(json!({"workflowRunId": id, "workflowCreatedAt": created, "deduplicated": dedup})),
                Err(e) => out.push(json!({"error": e.message})),
            }
        }
        Ok(Json::Array(out))
    }
}
