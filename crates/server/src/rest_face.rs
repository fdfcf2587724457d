//! The Upstash Redis REST face: `POST /` (one command as a JSON array), the path form
//! (`GET /set/foo/bar`), `/pipeline`, `/multi-exec`, with Bearer or `?_token=` auth,
//! `Upstash-Encoding: base64`, `Upstash-Response-Format: resp2` and `upstash-sync-token`.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use percent_encoding::percent_decode;
use serde_json::value::RawValue;
use stashd_engine::pubsub::Kind;
use std::sync::Arc;

use stashd_engine::acl::User;
use stashd_engine::{CmdError, Engine, Face, Outcome, Reply, Session};

use crate::http::{full, HttpResponse};
use crate::render;

/// Shared state of the HTTP face.
#[derive(Clone)]
pub struct RestState {
    /// The engine.
    pub engine: Engine,
    /// Largest accepted body.
    pub max_request_size: usize,
}

/// How the client wants replies encoded.
#[derive(Clone, Copy)]
struct Format {
    base64: bool,
    resp2: bool,
}

/// A failure before any command ran, answered with a JSON error and a status.
#[derive(Debug)]
pub struct HttpError(pub StatusCode, pub String);

impl HttpError {
    fn bad(msg: impl Into<String>) -> Self {
        HttpError(StatusCode::BAD_REQUEST, msg.into())
    }
}

/// Serves one request of the REST face (the router sends every path here, because the path form
/// makes any path a potential command); every answer carries `upstash-sync-token`.
pub async fn handle(st: &RestState, req: Request<Incoming>) -> HttpResponse {
    let (mut resp, seen) = match handle_inner(st, req).await {
        Ok(r) => r,
        // Nothing ran: read the counter (the only extra lock, on error paths).
        Err(HttpError(status, msg)) => (json_response(status, |o| render::json_error(o, &msg)), st.engine.dirty()),
    };
    resp.headers_mut().insert("upstash-sync-token", HeaderValue::from(seen));
    resp
}

/// Serves one request; returns the response and the write counter the session saw last.
async fn handle_inner(st: &RestState, req: Request<Incoming>) -> Result<(HttpResponse, u64), HttpError> {
    let (parts, body) = req.into_parts();
    if !matches!(parts.method, Method::GET | Method::POST | Method::PUT | Method::HEAD) {
        return Err(HttpError(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("ERR method {} is not allowed; use GET, POST, PUT or HEAD", parts.method),
        ));
    }
    let query = parts.uri.query().unwrap_or("");
    let user = authenticate(&st.engine, &parts.headers, query)?;
    let format = response_format(&parts.headers)?;
    let too_large = || HttpError(StatusCode::PAYLOAD_TOO_LARGE, "ERR max request size exceeded".into());
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.max_request_size as u64) {
        return Err(too_large());
    }
    let body = Limited::new(body, st.max_request_size).collect().await.map_err(|_| too_large())?.to_bytes();
    let segments: Vec<&str> = parts.uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let mut session = st.engine.open_session(Face::Rest, "", "");
    session.set_user(user, &st.engine.shared.acl);
    let response = route(st, &parts.method, &segments, query, body, format, &mut session)?;
    Ok((response, session.dirty_seen))
}

fn route(
    st: &RestState,
    method: &Method,
    segments: &[&str],
    query: &str,
    body: Bytes,
    format: Format,
    session: &mut Session,
) -> Result<HttpResponse, HttpError> {
    match segments {
        [] => {
            if body.is_empty() {
                return Err(HttpError::bad("ERR no command given: POST a JSON array such as [\"GET\",\"key\"]"));
            }
            let cmd = parse_command(&body)?;
            let r = run_one(&st.engine, session, cmd);
            let status = if r.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            Ok(single_response(status, &r, format))
        }
        ["pipeline"] => {
            let cmds = parse_commands(&body)?;
            let results = run_pipeline(&st.engine, session, cmds);
            Ok(list_response(&results, format))
        }
        ["multi-exec"] => {
            if format.resp2 {
                return Err(HttpError::bad("ERR Upstash-Response-Format: resp2 is not supported for /multi-exec"));
            }
            let cmds = parse_commands(&body)?;
            if let Some(c) = cmds.iter().find(|c| is_transaction_control(&c[0])) {
                return Err(HttpError::bad(format!(
                    "ERR {} is not allowed in /multi-exec: the request body is already one transaction",
                    String::from_utf8_lossy(&c[0]).to_ascii_uppercase()
                )));
            }
            let results = run_multi(&st.engine, session, cmds)?;
            Ok(list_response(&results, format))
        }
        [kind @ ("subscribe" | "psubscribe"), names @ ..] => {
            let kind = if *kind == "psubscribe" { Kind::Pattern } else { Kind::Channel };
            let names: Vec<Bytes> = names.iter().map(|s| decode_segment(s)).collect();
            // The same check as the command over RESP: the user's rules and channel patterns.
            let mut call = vec![Bytes::from_static(if kind == Kind::Pattern { b"psubscribe" } else { b"subscribe" })];
            call.extend(names.iter().cloned());
            if let Err(e) = st.engine.authorize(session, &call) {
                return Err(HttpError(StatusCode::FORBIDDEN, e.to_string()));
            }
            let session = std::mem::replace(session, st.engine.open_session(Face::Rest, "", ""));
            Ok(crate::sse::subscribe(&st.engine, session, kind, names))
        }
        ["monitor"] => {
            let monitor = [Bytes::from_static(b"monitor")];
            if let Err(e) = st.engine.authorize(session, &monitor) {
                return Err(HttpError(StatusCode::FORBIDDEN, e.to_string()));
            }
            let session = std::mem::replace(session, st.engine.open_session(Face::Rest, "", ""));
            Ok(crate::sse::monitor(&st.engine, session))
        }
        ["monitor", ..] => Err(HttpError::bad("ERR wrong number of arguments for 'monitor' command")),
        [cmd, rest @ ..] => {
            let mut args = Vec::with_capacity(rest.len() + 2);
            args.push(decode_segment(cmd));
            args.extend(rest.iter().map(|s| decode_segment(s)));
            if matches!(*method, Method::POST | Method::PUT) && !body.is_empty() {
                args.push(body);
            }
            args.extend(query_args(query));
            let r = run_one(&st.engine, session, args);
            let status = if r.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            Ok(single_response(status, &r, format))
        }
    }
}

/// Commands that would break out of a `/multi-exec` transaction.
fn is_transaction_control(name: &[u8]) -> bool {
    ["multi", "exec", "discard", "watch", "unwatch", "reset", "quit"].iter().any(|c| name.eq_ignore_ascii_case(c.as_bytes()))
}

/// The user a request acts as: the bearer token's (`Authorization: Bearer` or `?_token=`), or
/// `default` when it needs no password.
fn authenticate(engine: &Engine, headers: &HeaderMap, query: &str) -> Result<Arc<User>, HttpError> {
    let acl = &engine.shared.acl;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| acl.bearer(t.trim().as_bytes()));
    let from_query = || form_pairs(query).find(|(k, _)| k.as_slice() == b"_token").map(|(_, v)| acl.bearer(&v));
    match bearer.or_else(from_query).flatten().or_else(|| acl.initial_user()) {
        Some(u) => Ok(u),
        None => Err(HttpError(StatusCode::UNAUTHORIZED, "WRONGPASS invalid or missing auth token".into())),
    }
}

fn response_format(headers: &HeaderMap) -> Result<Format, HttpError> {
    let base64 = headers.get("upstash-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("base64"));
    let resp2 = match headers.get("upstash-response-format").map(|v| v.to_str().unwrap_or("").to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "json" => false,
        Some(v) if v == "resp2" => true,
        Some(v) => return Err(HttpError::bad(format!("ERR invalid Upstash-Response-Format {v:?}: use json or resp2"))),
    };
    if base64 && resp2 {
        return Err(HttpError::bad("ERR Upstash-Encoding: base64 cannot be combined with Upstash-Response-Format: resp2"));
    }
    Ok(Format { base64, resp2 })
}

/// Splits a query string into decoded (key, value) pairs.
fn form_pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode_form(k), decode_form(v))
    })
}

fn decode_form(s: &str) -> Vec<u8> {
    let plus = s.replace('+', " ");
    percent_decode(plus.as_bytes()).collect()
}

fn decode_segment(s: &str) -> Bytes {
    Bytes::from(percent_decode(s.as_bytes()).collect::<Vec<u8>>())
}

/// Query parameters become trailing arguments: `?EX=100&NX` → `EX 100 NX` (`_token` excluded).
fn query_args(query: &str) -> Vec<Bytes> {
    let mut out = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (part, None),
        };
        let k = decode_form(k);
        if k == b"_token" {
            continue;
        }
        out.push(Bytes::from(k));
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.push(Bytes::from(decode_form(v)));
        }
    }
    out
}

/// Converts one JSON array element into an argument, keeping numbers' exact text.
fn json_arg(raw: &RawValue) -> Result<Bytes, HttpError> {
    let text = raw.get().trim();
    let bad = |e: serde_json::Error| HttpError::bad(format!("ERR failed to parse command: {e}"));
    Ok(match text.as_bytes().first() {
        // Already validated JSON: a string without escapes is its own text between the quotes.
        Some(b'"') if !text.contains('\\') => Bytes::copy_from_slice(&text.as_bytes()[1..text.len() - 1]),
        Some(b'"') => Bytes::from(serde_json::from_str::<String>(text).map_err(bad)?),
        Some(b'[' | b'{') => Bytes::from(serde_json::from_str::<serde_json::Value>(text).map_err(bad)?.to_string()),
        _ => Bytes::copy_from_slice(text.as_bytes()),
    })
}

fn to_command(raw: &RawValue) -> Result<Vec<Bytes>, HttpError> {
    let arr: Vec<&RawValue> =
        serde_json::from_str(raw.get()).map_err(|_| HttpError::bad("ERR a command must be a JSON array of arguments"))?;
    array_command(arr)
}

fn array_command(arr: Vec<&RawValue>) -> Result<Vec<Bytes>, HttpError> {
    if arr.is_empty() {
        return Err(HttpError::bad("ERR empty command"));
    }
    if !arr[0].get().trim_start().starts_with('"') {
        return Err(HttpError::bad("ERR the command name must be a string"));
    }
    arr.into_iter().map(json_arg).collect()
}

/// Parses the body of `POST /`.
pub fn parse_command(body: &[u8]) -> Result<Vec<Bytes>, HttpError> {
    // The usual case in one pass; anything else is parsed again for the precise error.
    if let Ok(arr) = serde_json::from_slice::<Vec<&RawValue>>(body) {
        return array_command(arr);
    }
    let raw: &RawValue = serde_json::from_slice(body).map_err(|e| HttpError::bad(format!("ERR failed to parse command: {e}")))?;
    to_command(raw)
}

/// Parses the body of `/pipeline` and `/multi-exec`.
fn parse_commands(body: &[u8]) -> Result<Vec<Vec<Bytes>>, HttpError> {
    let arr: Vec<&RawValue> =
        serde_json::from_slice(body).map_err(|e| HttpError::bad(format!("ERR failed to parse pipeline request: {e}")))?;
    if arr.is_empty() {
        return Err(HttpError::bad("ERR empty pipeline"));
    }
    arr.into_iter().map(to_command).collect()
}

fn outcome_result(o: Outcome) -> Result<Reply, CmdError> {
    match o {
        Outcome::Done(r) => r,
        // The engine never parks REST sessions; answer like a timed-out blocking call.
        Outcome::Blocked { timeout_reply, .. } => Ok(timeout_reply),
    }
}

fn run_one(engine: &Engine, session: &mut Session, args: Vec<Bytes>) -> Result<Reply, CmdError> {
    outcome_result(engine.execute(session, args))
}

fn run_pipeline(engine: &Engine, session: &mut Session, cmds: Vec<Vec<Bytes>>) -> Vec<Result<Reply, CmdError>> {
    let mut queue: VecDeque<Vec<Bytes>> = cmds.into();
    let mut outs = Vec::with_capacity(queue.len());
    while !queue.is_empty() {
        engine.execute_batch(session, &mut queue, &mut outs);
    }
    outs.into_iter().map(outcome_result).collect()
}

/// Runs MULTI, the commands and EXEC under one lock. A command rejected while queueing discards
/// the transaction and becomes the single error of the response.
fn run_multi(engine: &Engine, session: &mut Session, cmds: Vec<Vec<Bytes>>) -> Result<Vec<Result<Reply, CmdError>>, HttpError> {
    let n = cmds.len();
    let mut queue: VecDeque<Vec<Bytes>> = VecDeque::with_capacity(n + 2);
    queue.push_back(vec![Bytes::from_static(b"MULTI")]);
    queue.extend(cmds);
    queue.push_back(vec![Bytes::from_static(b"EXEC")]);
    let mut outs = Vec::with_capacity(n + 2);
    while !queue.is_empty() {
        engine.execute_batch(session, &mut queue, &mut outs);
    }
    let mut results: Vec<Result<Reply, CmdError>> = outs.into_iter().map(outcome_result).collect();
    for r in &results[..results.len().saturating_sub(1)] {
        if let Err(e) = r {
            return Err(HttpError::bad(e.to_string()));
        }
    }
    match results.pop() {
        Some(Ok(Reply::Array(items))) => Ok(items.into_iter().map(Ok).collect()),
        Some(Ok(_)) => Err(HttpError::bad("ERR transaction aborted")),
        Some(Err(e)) => Err(HttpError::bad(e.to_string())),
        None => Err(HttpError::bad("ERR empty transaction")),
    }
}

fn json_response(status: StatusCode, fill: impl FnOnce(&mut Vec<u8>)) -> HttpResponse {
    let mut out = Vec::with_capacity(64);
    fill(&mut out);
    full(status, "application/json", out)
}

fn resp2_response(status: StatusCode, fill: impl FnOnce(&mut BytesMut)) -> HttpResponse {
    let mut out = BytesMut::with_capacity(64);
    fill(&mut out);
    full(status, "application/octet-stream", out.freeze())
}

fn resp2_item(out: &mut BytesMut, r: &Result<Reply, CmdError>) {
    match r {
        Ok(reply) => render::resp(out, reply, stashd_resp::Protocol::Resp2),
        Err(e) => render::resp_error(out, e),
    }
}

fn single_response(status: StatusCode, r: &Result<Reply, CmdError>, f: Format) -> HttpResponse {
    if f.resp2 {
        return resp2_response(status, |o| resp2_item(o, r));
    }
    json_response(status, |o| render::json_result(o, r, f.base64))
}

fn list_response(results: &[Result<Reply, CmdError>], f: Format) -> HttpResponse {
    if f.resp2 {
        return resp2_response(StatusCode::OK, |o| results.iter().for_each(|r| resp2_item(o, r)));
    }
    json_response(StatusCode::OK, |o| {
        o.push(b'[');
        for (i, r) in results.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            render::json_result(o, r, f.base64);
        }
        o.push(b']');
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_args_keep_exact_text() {
        let cmd = parse_command(br#"["set","k",1.50,true,null,12345678901234567890,{"a": 1},1e3,"\u00e9"]"#).map_err(|e| e.1).unwrap();
        let texts: Vec<&[u8]> = cmd.iter().map(|b| &b[..]).collect();
        assert_eq!(
            texts,
            vec![&b"set"[..], b"k", b"1.50", b"true", b"null", b"12345678901234567890", br#"{"a":1}"#, b"1e3", "é".as_bytes()]
        );
        assert!(parse_command(b"[]").is_err());
        assert!(parse_command(b"[1,2]").is_err());
        assert!(parse_command(b"{").is_err());
        // the one-pass path still refuses what JSON refuses
        assert!(parse_command(b"[\"set\",\"a\x01b\"]").is_err());
        assert!(parse_command(b"[\"set\",\"a\xffb\"]").is_err());
        assert!(parse_command(br#"["set","a\qb"]"#).is_err());
        let cmd = parse_command(br#" [ "set" , "a\"b" ] "#).map_err(|e| e.1).unwrap();
        assert_eq!(&cmd[1][..], b"a\"b");
    }

    #[test]
    fn query_becomes_trailing_args() {
        let a = query_args("EX=100&NX&_token=secret&a%20b=c+d");
        let texts: Vec<&[u8]> = a.iter().map(|b| &b[..]).collect();
        assert_eq!(texts, vec![&b"EX"[..], b"100", b"NX", b"a b", b"c d"]);
    }
}
