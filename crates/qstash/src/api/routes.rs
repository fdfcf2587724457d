//! The route table: method and path segments to the service's operations.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{ApiRequest, ApiResponse, Query};
use crate::core::Qstash;
use crate::error::{ApiError, ApiResult};
use crate::events::Filter;
use crate::options::Options;
use crate::publish::{PublishInput, Target};
use crate::topics::EndpointsIn;

/// The request's headers as (lowercase name, value) pairs.
fn header_pairs(req: &ApiRequest) -> Vec<(String, String)> {
    req.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// The destination in a path tail, with the request's own query (less settings) appended.
fn destination(tail: &str, query: &Query) -> String {
    let mut d = tail.to_string();
    // Some clients collapse `//` in paths; put the scheme back together.
    for scheme in ["https:/", "http:/"] {
        if d.starts_with(scheme) && !d.starts_with(&format!("{scheme}/")) {
            d.insert(scheme.len(), '/');
        }
    }
    let q = query.destination_query();
    if !q.is_empty() && (d.starts_with("http://") || d.starts_with("https://")) {
        d.push('?');
        d.push_str(&q);
    }
    d
}

/// Refuses the deprecated Upstash LLM destination (`api/llm`, `api/...`) with a clear message
/// instead of a URL-scheme complaint about a destination the SDK built itself.
fn refuse_api_destination(dest: &str) -> ApiResult<()> {
    if dest == "api" || dest.starts_with("api/") {
        return Err(ApiError::bad(format!(
            "unsupported destination {dest:?}: the deprecated Upstash LLM API (api/llm) is not served here; publish to a URL or a URL group"
        )));
    }
    Ok(())
}

fn options(req: &ApiRequest, query: &Query) -> ApiResult<Options> {
    Ok(Options::parse(&header_pairs(req), &query.settings())?.finish())
}

fn body_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

fn not_found(req: &ApiRequest) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method, req.path))
}

/// Ids from the query (`key`, repeated or comma-joined) or a JSON body `{"<key>": [...]}`.
fn ids_from(req: &ApiRequest, query: &Query, key: &str) -> ApiResult<Vec<String>> {
    let mut ids = query.all(key);
    if ids.is_empty() && !req.body.is_empty() {
        let v: Json = body_json(&req.body)?;
        if let Some(arr) = v.get(key).and_then(Json::as_array) {
            ids = arr.iter().filter_map(|x| x.as_str().map(String::from)).collect();
        }
    }
    Ok(ids)
}

/// Routes one authenticated request.
pub async fn route(q: &Qstash, req: &ApiRequest, query: &Query) -> ApiResult<ApiResponse> {
    if req.path.starts_with("/llm/") {
        return Err(ApiError::bad(
            "the deprecated Upstash LLM API (/llm/v1/chat/completions) is not served by stashd; call the model provider directly",
        ));
    }
    let Some(rest) = req.path.strip_prefix("/v2/") else { return Err(not_found(req)) };
    let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let m = &req.method;
    match head {
        "publish" if *m == Method::POST => publish(q, req, query, None, tail).await,
        "enqueue" if *m == Method::POST => {
            let (queue, dest) = tail.split_once('/').ok_or_else(|| ApiError::bad("enqueue needs /v2/enqueue/{queue}/{destination}"))?;
            publish(q, req, query, Some(queue.to_string()), dest).await
        }
        "batch" if *m == Method::POST && tail.is_empty() => batch(q, req).await,
        "batch" if *m == Method::POST && tail == "trigger" => {
            let items: Vec<Json> = body_json(&req.body)?;
            Ok(ApiResponse::json(StatusCode::OK, &q.batch_trigger(items, &req.caller_ip).await?))
        }
        "trigger" if *m == Method::POST && !tail.is_empty() => {
            let run_id = req.headers.get("upstash-workflow-runid").and_then(|v| v.to_str().ok()).map(String::from);
            let opts = options(req, query)?;
            let (id, created, _) = q.trigger_run(&destination(tail, query), run_id, opts, req.body.clone(), &req.caller_ip).await?;
            Ok(ApiResponse::json(StatusCode::OK, &json!({"workflowRunId": id, "workflowCreatedAt": created})))
        }
        "messages" => messages(q, req, query, tail).await,
        "queues" => queues(q, req, tail).await,
        "schedules" => schedules(q, req, query, tail).await,
        "topics" => topics(q, req, tail).await,
        "events" | "logs" if *m == Method::GET && tail.is_empty() => {
            let count = query.number::<usize>("count")?.unwrap_or(100);
            let page = q.list_events(&query.filter()?, query.first("cursor"), count).await?;
            let key = if head == "events" { "events" } else { "logs" };
            let mut o = json!({ key: page.events.iter().map(|e| e.to_json()).collect::<Vec<_>>() });
            if let Some(c) = page.cursor {
                o["cursor"] = json!(c);
            }
            Ok(ApiResponse::json(StatusCode::OK, &o))
        }
        "dlq" => dlq(q, req, query, tail).await,
        "workflows" => workflows(q, req, query, tail).await,
        "wait" if *m == Method::POST && !tail.is_empty() && !tail.contains('/') => {
            let run_id = req
                .headers
                .get("upstash-workflow-runid")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::bad("a wait needs the Upstash-Workflow-RunId header"))?;
            let headers: crate::model::HeaderList = header_pairs(req)
                .into_iter()
                .filter(|(k, _)| k.starts_with("upstash-") && !k.starts_with("upstash-telemetry-"))
                .map(|(k, v)| (crate::model::canonical_header(&k), v))
                .collect();
            q.wait(tail, run_id, headers, &req.body).await?;
            Ok(ApiResponse::json(StatusCode::OK, &json!({})))
        }
        "notify" if *m == Method::POST && !tail.is_empty() => match tail.split_once('/') {
            Some((run_id, event_id)) if !event_id.contains('/') => {
                let mut out = q.notify(event_id, &req.body, Some(run_id)).await?;
                Ok(ApiResponse::json(StatusCode::CREATED, &out.pop().unwrap_or(Json::Null)))
            }
            Some(_) => Err(not_found(req)),
            None => Ok(ApiResponse::json(StatusCode::CREATED, &Json::Array(q.notify(tail, &req.body, None).await?))),
        },
        "waiters" if *m == Method::GET && !tail.is_empty() && !tail.contains('/') => {
            Ok(ApiResponse::json(StatusCode::OK, &Json::Array(q.waiters(tail).await?.iter().map(|w| w.to_json()).collect())))
        }
        "flowControl" => flow(q, req, query, tail).await,
        "globalParallelism" if *m == Method::GET => Ok(ApiResponse::json(StatusCode::OK, &q.global_parallelism())),
        "keys" if *m == Method::GET && tail.is_empty() => Ok(ApiResponse::json(StatusCode::OK, &json!(q.signing_keys()))),
        "keys" if *m == Method::POST && tail == "rotate" => Ok(ApiResponse::json(StatusCode::OK, &json!(q.rotate_keys().await?))),
        _ => Err(not_found(req)),
    }
}

async fn publish(q: &Qstash, req: &ApiRequest, query: &Query, queue: Option<String>, tail: &str) -> ApiResult<ApiResponse> {
    refuse_api_destination(tail)?;
    let target = Target::parse(&destination(tail, query))?;
    let pairs = with_group_defaults(q, &target, header_pairs(req)).await?;
    let opts = Options::parse(&pairs, &query.settings())?.finish();
    let input = PublishInput { target, queue, opts, body: req.body.clone(), caller_ip: req.caller_ip.clone(), schedule_id: None };
    let a = q.accept(input).await?;
    Ok(ApiResponse::json(a.status, &a.json))
}

/// A URL group's default `Upstash-*` headers (`PATCH /v2/topics/{name}`) under the request's
/// own: the request wins where both name a header.
async fn with_group_defaults(q: &Qstash, target: &Target, mut pairs: Vec<(String, String)>) -> ApiResult<Vec<(String, String)>> {
    if let Target::Topic(name) = target {
        if let Some(t) = q.get_topic_defaults(name).await? {
            for (k, v) in t {
                let k = k.to_ascii_lowercase();
                if !pairs.iter().any(|(rk, _)| *rk == k) {
                    pairs.push((k, v));
                }
            }
        }
    }
    Ok(pairs)
}

#[derive(Deserialize)]
struct BatchItem {
    destination: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    method: Option<String>,
}

/// Checks one batch item and makes its input.
async fn batch_input(q: &Qstash, req: &ApiRequest, item: BatchItem) -> ApiResult<PublishInput> {
    refuse_api_destination(&item.destination)?;
    let target = Target::parse(&item.destination)?;
    let pairs: Vec<(String, String)> = item.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let pairs = with_group_defaults(q, &target, pairs).await?;
    let mut opts = Options::parse(&pairs, &[])?.finish();
    if let Some(m) = item.method {
        opts.method = Some(m.to_ascii_uppercase());
    }
    let queue = item.queue.filter(|s| !s.is_empty());
    if let Some(qn) = &queue {
        crate::core::check_name("queue name", qn)?;
    }
    let body = Bytes::from(item.body.unwrap_or_default());
    Ok(PublishInput { target, queue, opts, body, caller_ip: req.caller_ip.clone(), schedule_id: None })
}

/// `POST /v2/batch`: malformed JSON fails the whole batch (nothing is created); an item that
/// cannot be accepted (bad URL, bad header, unknown group) answers `{"error"}` in its slot while
/// the others go out, as the hosted service documents.
async fn batch(q: &Qstash, req: &ApiRequest) -> ApiResult<ApiResponse> {
    let items: Vec<BatchItem> = body_json(&req.body)?;
    // A batch of one (what the workflow SDKs send for each step and trigger) answers its item's
    // refusal as the request's: they ignore error slots, so a refused step would leave its run
    // stuck without a word.
    if items.len() == 1 {
        if let Some(item) = items.into_iter().next() {
            let a = q.accept(batch_input(q, req, item).await?).await?;
            return Ok(ApiResponse::json(StatusCode::OK, &Json::Array(vec![a.json])));
        }
        return Ok(ApiResponse::json(StatusCode::OK, &Json::Array(Vec::new())));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let accepted = match batch_input(q, req, item).await {
            Ok(input) => q.accept(input).await,
            Err(e) => Err(e),
        };
        match accepted {
            Ok(a) => out.push(a.json),
            Err(e) => out.push(json!({"error": e.message})),
        }
    }
    Ok(ApiResponse::json(StatusCode::OK, &Json::Array(out)))
}

async fn messages(q: &Qstash, req: &ApiRequest, query: &Query, tail: &str) -> ApiResult<ApiResponse> {
    match (&req.method, tail) {
        (&Method::GET, id) if !id.is_empty() && !id.contains('/') => Ok(ApiResponse::json(StatusCode::OK, &q.get_message(id).await?)),
        (&Method::DELETE, "") => {
            let ids = ids_from(req, query, "messageIds")?;
            let filter = if ids.is_empty() { query.filter()? } else { Filter::default() };
            let n = q.cancel_many(&ids, &filter, query.number("count")?).await?;
            Ok(ApiResponse::json(StatusCode::OK, &crate::messages::cancelled_json(n)))
        }
        (&Method::DELETE, id) if !id.contains('/') => {
            if !q.cancel(id).await? {
                return Err(ApiError::not_found(format!("message {id} not found")));
            }
            Ok(ApiResponse::json(StatusCode::OK, &crate::messages::cancelled_json(1)))
        }
        _ => Err(not_found(req)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueIn {
    queue_name: String,
    #[serde(default)]
    parallelism: Option<u32>,
    #[serde(default)]
    paused: Option<bool>,
}

async fn queues(q: &Qstash, req: &ApiRequest, tail: &str) -> ApiResult<ApiResponse> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, parts.as_slice()) {
        (&Method::POST, []) => {
            let b: QueueIn = body_json(&req.body)?;
            q.upsert_queue(&b.queue_name, b.parallelism, b.paused).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::GET, []) => Ok(ApiResponse::json(StatusCode::OK, &q.list_queues().await?)),
        (&Method::GET, [name]) => Ok(ApiResponse::json(StatusCode::OK, &q.get_queue(name).await?)),
        (&Method::DELETE, [name]) => {
            q.delete_queue(name).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::POST, [name, "pause"]) => {
            q.set_queue_paused(name, true).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::POST, [name, "resume"]) => {
            q.set_queue_paused(name, false).await?;
            Ok(ApiResponse::ok_empty())
        }
        _ => Err(not_found(req)),
    }
}

async fn schedules(q: &Qstash, req: &ApiRequest, query: &Query, tail: &str) -> ApiResult<ApiResponse> {
    let is_dest = tail.starts_with("http://") || tail.starts_with("https://") || tail.starts_with("https:/") || tail.starts_with("http:/");
    let parts: Vec<&str> = if is_dest { Vec::new() } else { tail.split('/').filter(|s| !s.is_empty()).collect() };
    match (&req.method, parts.as_slice()) {
        (&Method::POST, [id, action @ ("pause" | "resume")]) | (&Method::PATCH, [id, action @ ("pause" | "resume")]) => {
            q.set_schedule_paused(id, *action == "pause").await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::POST, _) if !tail.is_empty() => {
            let opts = options(req, query)?;
            let id = q.create_schedule(&destination(tail, query), opts, req.body.clone(), &req.caller_ip).await?;
            Ok(ApiResponse::json(StatusCode::OK, &json!({ "scheduleId": id })))
        }
        (&Method::GET, []) if tail.is_empty() => Ok(ApiResponse::json(StatusCode::OK, &q.list_schedules().await?)),
        (&Method::GET, [id]) => Ok(ApiResponse::json(StatusCode::OK, &q.get_schedule(id).await?)),
        (&Method::DELETE, [id]) => {
            q.delete_schedule(id).await?;
            Ok(ApiResponse::ok_empty())
        }
        _ => Err(not_found(req)),
    }
}

/// `/v2/workflows/...`: runs (lazy fetch, finish, cancel, bulk cancel) and webhooks.
async fn workflows(q: &Qstash, req: &ApiRequest, query: &Query, tail: &str) -> ApiResult<ApiResponse> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, parts.as_slice()) {
        (_, ["hooks", _user, run_id, event_id]) => {
            let url = match &req.query {
                Some(qs) => format!("{}?{qs}", req.path),
                None => req.path.clone(),
            };
            let headers: crate::model::HeaderList =
                header_pairs(req).into_iter().map(|(k, v)| (crate::model::canonical_header(&k), v)).collect();
            let host = req.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let described = json!({
                "method": req.method.as_str(),
                "header": crate::model::header_map(&headers),
                "body": crate::model::b64(&req.body),
                // The SDK rebuilds the URL as `${proto}://${host}${url}`: the scheme, as Go's
                // reverse proxies put it in X-Forwarded-Proto.
                "proto": req.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http"),
                "host": host,
                "url": url,
            });
            q.webhook(run_id, event_id, described).await?;
            Ok(ApiResponse::json(StatusCode::OK, &json!({})))
        }
        (&Method::GET, ["events" | "logs"]) => Ok(ApiResponse::json(StatusCode::OK, &q.workflow_logs(query).await?)),
        (&Method::GET, ["dlq"]) => workflow_dlq_list(q, query).await,
        (&Method::GET, ["dlq", id]) => {
            let (e, b) = q
                .load_dlq(id)
                .await?
                .filter(|(e, _)| e.message.workflow.is_some())
                .ok_or_else(|| ApiError::not_found(format!("dlq message {id} not found")))?;
            let mut o = crate::dlq::dlq_json(&e, &b);
            q.workflow_dlq_fields(&e, &mut o).await?;
            Ok(ApiResponse::json(StatusCode::OK, &o))
        }
        (&Method::DELETE, ["dlq", id]) => {
            if !q.delete_dlq(id).await? {
                return Err(ApiError::not_found(format!("dlq message {id} not found")));
            }
            Ok(ApiResponse::ok_empty())
        }
        (&Method::DELETE, ["dlq"]) => {
            let (ids, cursor) = q.workflow_dlq_targets(query, ids_from(req, query, "dlqIds")?).await?;
            delete_dlq_entries(q, ids, cursor).await
        }
        (&Method::POST, ["dlq", action @ ("resume" | "restart"), rest @ ..]) if rest.len() <= 1 => {
            let opts = options(req, query)?;
            let (ids, cursor) = match rest {
                [id] => (vec![id.to_string()], None),
                _ => q.workflow_dlq_targets(query, ids_from(req, query, "dlqIds")?).await?,
            };
            let mut runs = Vec::new();
            for id in ids {
                let (run_id, created) = q.resume_run(&id, *action == "restart", &opts).await?;
                runs.push(json!({"workflowRunId": run_id, "workflowCreatedAt": created}));
            }
            if let [_] = rest {
                return Ok(ApiResponse::json(StatusCode::OK, runs.first().unwrap_or(&Json::Null)));
            }
            let mut o = json!({ "workflowRuns": runs });
            if let Some(c) = cursor {
                o["cursor"] = json!(c);
            }
            Ok(ApiResponse::json(StatusCode::OK, &o))
        }
        (&Method::POST, ["dlq", "callback", id]) => Ok(ApiResponse::json(StatusCode::OK, &q.retry_failure_function(id).await?)),
        (&Method::GET, ["runs", id]) => {
            let mid = req.headers.get("upstash-message-id").and_then(|v| v.to_str().ok());
            Ok(ApiResponse::json(StatusCode::OK, &q.lazy_fetch(id, mid).await?))
        }
        (&Method::DELETE, ["runs", id]) => {
            let cancel = query.first("cancel").is_none_or(|v| v.eq_ignore_ascii_case("true"));
            let result = (!req.body.is_empty()).then(|| String::from_utf8_lossy(&req.body).into_owned());
            q.end_run(id, cancel, result).await?;
            Ok(ApiResponse::json(StatusCode::OK, &json!({})))
        }
        (&Method::DELETE, ["runs"]) => {
            let mut ids = ids_from(req, query, "workflowRunIds")?;
            if ids.is_empty() {
                ids = q.find_runs(query).await?;
            }
            let mut n = 0u64;
            for id in ids {
                match q.end_run(&id, true, None).await {
                    Ok(()) => n += 1,
                    Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::BAD_REQUEST => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(ApiResponse::json(StatusCode::OK, &json!({ "cancelled": n })))
        }
        _ => Err(not_found(req)),
    }
}

/// The workflow entries of the DLQ (`GET /v2/dlq?source=workflow`, `GET /v2/workflows/dlq`).
async fn workflow_dlq_list(q: &Qstash, query: &Query) -> ApiResult<ApiResponse> {
    let ids = query.all("dlqIds");
    let (ids, cursor) = q.workflow_dlq_targets(query, ids).await?;
    let mut messages = Vec::new();
    for id in ids {
        if let Some((e, b)) = q.load_dlq(&id).await? {
            let mut o = crate::dlq::dlq_json(&e, &b);
            q.workflow_dlq_fields(&e, &mut o).await?;
            messages.push(o);
        }
    }
    let mut o = json!({ "messages": messages });
    if let Some(c) = cursor {
        o["cursor"] = json!(c);
    }
    Ok(ApiResponse::json(StatusCode::OK, &o))
}

/// `PATCH /v2/topics/{name}` body: default headers for publishes to the group.
#[derive(Deserialize)]
struct TopicPatch {
    #[serde(default)]
    headers: serde_json::Map<String, Json>,
}

async fn topics(q: &Qstash, req: &ApiRequest, tail: &str) -> ApiResult<ApiResponse> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, parts.as_slice()) {
        (&Method::POST, [name, "endpoints"]) => {
            q.add_endpoints(name, body_json::<EndpointsIn>(&req.body)?).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::DELETE, [name, "endpoints"]) => {
            q.remove_endpoints(name, body_json::<EndpointsIn>(&req.body)?).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::GET, []) => Ok(ApiResponse::json(StatusCode::OK, &q.list_topics().await?)),
        (&Method::GET, [name]) => Ok(ApiResponse::json(StatusCode::OK, &q.get_topic(name).await?)),
        (&Method::DELETE, [name]) => {
            q.delete_topic(name).await?;
            Ok(ApiResponse::ok_empty())
        }
        (&Method::PATCH, [name]) => {
            let b: TopicPatch = body_json(&req.body)?;
            let mut list = Vec::new();
            for (k, v) in b.headers {
                match v {
                    Json::String(s) => list.push((k, s)),
                    Json::Array(a) => list.extend(a.into_iter().filter_map(|x| x.as_str().map(|s| (k.clone(), s.to_string())))),
                    other => {
                        return Err(ApiError::bad(format!("invalid value for header {k}: {other}; give a string or a list of strings")))
                    }
                }
            }
            // The defaults must be valid settings themselves.
            let lower: Vec<(String, String)> = list.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
            Options::parse(&lower, &[])?;
            q.set_topic_defaults(name, list).await?;
            Ok(ApiResponse::ok_empty())
        }
        _ => Err(not_found(req)),
    }
}

async fn dlq(q: &Qstash, req: &ApiRequest, query: &Query, tail: &str) -> ApiResult<ApiResponse> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let count = || -> ApiResult<usize> { Ok(query.number::<usize>("count")?.unwrap_or(100)) };
    match (&req.method, parts.as_slice()) {
        (&Method::GET, []) if query.first("source") == Some("workflow") => workflow_dlq_list(q, query).await,
        (&Method::GET, []) => {
            let count = count()?;
            let ids = query.all("dlqIds");
            let page = q.list_dlq(&ids, &query.filter()?, query.first("cursor").filter(|c| !c.is_empty()), count).await?;
            let mut o = json!({"messages": page.entries.iter().map(|(e, b)| crate::dlq::dlq_json(e, b)).collect::<Vec<_>>()});
            if let Some(c) = page.cursor {
                o["cursor"] = json!(c);
            }
            Ok(ApiResponse::json(StatusCode::OK, &o))
        }
        (&Method::GET, [id]) => Ok(ApiResponse::json(StatusCode::OK, &q.get_dlq(id).await?)),
        (&Method::DELETE, [id]) => {
            if !q.delete_dlq(id).await? {
                return Err(ApiError::not_found(format!("dlq message {id} not found")));
            }
            Ok(ApiResponse::ok_empty())
        }
        (&Method::DELETE, []) => {
            let ids = ids_from(req, query, "dlqIds")?;
            let (targets, cursor) = bulk_targets(q, &ids, query, count()?).await?;
            delete_dlq_entries(q, targets, cursor).await
        }
        (&Method::POST, ["retry", id]) => {
            let opts = options(req, query)?;
            let mid = q.retry_dlq(id, &opts, &req.caller_ip).await?;
            Ok(ApiResponse::json(StatusCode::CREATED, &json!({ "messageId": mid })))
        }
        (&Method::POST, ["retry"]) => {
            let ids = ids_from(req, query, "dlqIds")?;
            let opts = options(req, query)?;
            let (targets, cursor) = bulk_targets(q, &ids, query, count()?).await?;
            let mut responses = Vec::new();
            for id in targets {
                match q.retry_dlq(&id, &opts, &req.caller_ip).await {
                    Ok(mid) => responses.push(json!({ "messageId": mid })),
                    Err(e) if e.status == StatusCode::NOT_FOUND => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(ApiResponse::json(StatusCode::CREATED, &json!({ "cursor": cursor.unwrap_or_default(), "responses": responses })))
        }
        _ => Err(not_found(req)),
    }
}

/// Deletes DLQ entries; answers `{"deleted": n, "cursor"?}`.
async fn delete_dlq_entries(q: &Qstash, ids: Vec<String>, cursor: Option<String>) -> ApiResult<ApiResponse> {
    let mut n = 0u64;
    for id in ids {
        if q.delete_dlq(&id).await? {
            n += 1;
        }
    }
    let mut o = json!({ "deleted": n });
    if let Some(c) = cursor {
        o["cursor"] = json!(c);
    }
    Ok(ApiResponse::json(StatusCode::OK, &o))
}

/// The DLQ entries a bulk operation acts on: the named ids, or a page of the filtered list.
async fn bulk_targets(q: &Qstash, ids: &[String], query: &Query, count: usize) -> ApiResult<(Vec<String>, Option<String>)> {
    if !ids.is_empty() {
        return Ok((ids.to_vec(), None));
    }
    let page = q.list_dlq(&[], &query.filter()?, query.first("cursor").filter(|c| !c.is_empty()), count).await?;
    Ok((page.entries.into_iter().map(|(e, _)| e.dlq_id).collect(), page.cursor))
}

async fn flow(q: &Qstash, req: &ApiRequest, query: &Query, tail: &str) -> ApiResult<ApiResponse> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let done = || Ok(ApiResponse::ok_empty());
    match (&req.method, parts.as_slice()) {
        (&Method::GET, []) => Ok(ApiResponse::json(StatusCode::OK, &q.list_flows(query.first("search")).await?)),
        (&Method::GET, [key]) => Ok(ApiResponse::json(StatusCode::OK, &q.get_flow(key).await?)),
        (&Method::POST, [key, "pause"]) => {
            q.set_flow_paused(key, true).await?;
            done()
        }
        (&Method::POST, [key, "resume"]) => {
            q.set_flow_paused(key, false).await?;
            done()
        }
        (&Method::POST, [key, "pin"]) => {
            q.pin_flow(key, query.number("parallelism")?, query.number("rate")?, query.number("period")?).await?;
            done()
        }
        (&Method::POST, [key, "unpin"]) => {
            q.unpin_flow(key, query.flag("parallelism"), query.flag("rate")).await?;
            done()
        }
        (&Method::POST, [key, "resetRate" | "reset"]) => {
            q.reset_flow_rate(key).await?;
            done()
        }
        _ => Err(not_found(req)),
    }
}
