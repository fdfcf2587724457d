//! The `Upstash-*` configuration of a publish, enqueue, batch item, schedule or DLQ retry,
//! parsed once from the request's headers (and from `upstash-*` query parameters, which webhook
//! senders use) into typed options. Unknown `Upstash-*` names are refused.

use crate::error::{ApiError, ApiResult};
use crate::model::{canonical_header, CallbackConfig, FlowControl, HeaderList};
use crate::parse::duration::parse_duration;
use crate::parse::flow_control::FlowControlValue;
use crate::parse::retry_delay::RetryDelay;

/// Default retries after the first attempt.
pub const DEFAULT_RETRIES: u32 = 3;

/// Everything a request configures.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// HTTP method of the delivery.
    pub method: Option<String>,
    /// `Upstash-Delay` (ms).
    pub delay_ms: Option<u64>,
    /// `Upstash-Not-Before` (unix s).
    pub not_before_s: Option<u64>,
    /// `Upstash-Retries`.
    pub retries: Option<u32>,
    /// `Upstash-Retry-Delay` (checked).
    pub retry_delay: Option<String>,
    /// `Upstash-Timeout` (ms).
    pub timeout_ms: Option<u64>,
    /// `Upstash-Callback` and its settings.
    pub callback: Option<CallbackConfig>,
    /// `Upstash-Failure-Callback` and its settings.
    pub failure_callback: Option<CallbackConfig>,
    /// Headers delivered to the destination (forwarded ones, Content-Type, workflow headers).
    pub forward: HeaderList,
    /// `Upstash-Deduplication-Id`.
    pub dedup_id: Option<String>,
    /// `Upstash-Content-Based-Deduplication: true`.
    pub content_dedup: bool,
    /// Flow control.
    pub flow_control: Option<FlowControl>,
    /// Labels.
    pub labels: Vec<String>,
    /// Redaction.
    pub redact: Vec<String>,
    /// `Upstash-Cron` (schedules).
    pub cron: Option<String>,
    /// `Upstash-Schedule-Id` (schedules).
    pub schedule_id: Option<String>,
    /// `Upstash-Queue-Name` (schedules).
    pub queue_name: Option<String>,
    /// Raw `Upstash-Workflow-*` / `Upstash-Feature-Set` headers, passed through unless a
    /// forwarded header of the same name (`Upstash-Forward-Upstash-Workflow-...`) says otherwise.
    protocol: HeaderList,
    /// Whether any callback-side setting came without its URL (kept for the error).
    callback_settings: CallbackSettings,
    failure_settings: CallbackSettings,
}

#[derive(Debug, Clone, Default)]
struct CallbackSettings {
    /// The callback's own failure callback (`Upstash-Callback-Failure-Callback` and its settings).
    failure: Option<Box<CallbackSettings>>,
    failure_url: Option<String>,
    flow_key: Option<String>,
    flow_value: Option<String>,
    headers: HeaderList,
    method: Option<String>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    timeout_ms: Option<u64>,
    delay_ms: Option<u64>,
}

impl CallbackSettings {
    fn into_config(self, url: String) -> CallbackConfig {
        let failure = match (self.failure_url, self.failure) {
            (Some(u), f) => Some(Box::new(f.map(|f| *f).unwrap_or_default().into_config(u))),
            (None, _) => None,
        };
        let flow_control = self.flow_key.map(|key| {
            let mut fc = FlowControl { key, ..FlowControl::default() };
            if let Some(v) = self.flow_value.as_deref().and_then(|v| FlowControlValue::parse(v).ok()) {
                fc.parallelism = v.parallelism;
                fc.rate = v.rate;
                fc.period = v.period_secs.or(v.rate.map(|_| 1));
            }
            fc
        });
        CallbackConfig {
            failure,
            flow_control,
            url,
            headers: self.headers,
            method: self.method,
            retries: self.retries,
            retry_delay: self.retry_delay,
            timeout_ms: self.timeout_ms,
            delay_ms: self.delay_ms,
        }
    }
}

/// Request headers QStash itself consumes and never forwards.
fn is_hop_or_auth(name: &str) -> bool {
    matches!(
        name,
        "authorization"
            | "host"
            | "content-length"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-authorization"
            | "proxy-connection"
            | "accept-encoding"
            | "expect"
    )
}

fn method(v: &str) -> ApiResult<String> {
    let m = v.trim().to_ascii_uppercase();
    match m.as_str() {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => Ok(m),
        _ => Err(ApiError::bad(format!("invalid method: {v:?}; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"))),
    }
}

fn retries(v: &str) -> ApiResult<u32> {
    v.trim().parse::<u32>().map_err(|_| ApiError::bad(format!("invalid retries: {v:?}, expected a non-negative integer")))
}

fn duration_ms(name: &str, v: &str) -> ApiResult<u64> {
    let d = parse_duration(v.trim()).map_err(|e| ApiError::bad(format!("invalid {name}: {e}")))?;
    Ok(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn retry_delay(v: &str) -> ApiResult<String> {
    RetryDelay::parse(v.trim()).map_err(|e| ApiError::bad(format!("invalid retry delay expression {v:?}: {e}")))?;
    Ok(v.trim().to_string())
}

fn truthy(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

/// Splits `a, b,c` into trimmed non-empty parts.
fn list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

impl Options {
    /// Parses the headers (lowercase names) and `upstash-*` query parameters of a request.
    /// `Upstash-Header-Forward: true` forwards every non-`Upstash-*` header as it came.
    pub fn parse(headers: &[(String, String)], query: &[(String, String)]) -> ApiResult<Options> {
        let mut o = Options::default();
        let header_forward = headers.iter().chain(query.iter()).any(|(k, v)| k.eq_ignore_ascii_case("upstash-header-forward") && truthy(v));
        let mut fc_key = None;
        let mut fc_value = None;
        for (name, value) in headers.iter().chain(query.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("upstash-"))) {
            let lower = name.to_ascii_lowercase();
            let Some(rest) = lower.strip_prefix("upstash-") else {
                if lower == "content-type" || (header_forward && !is_hop_or_auth(&lower)) {
                    o.forward.push((canonical_header(name), value.clone()));
                }
                continue;
            };
            o.apply(rest, name, value, &mut fc_key, &mut fc_value)?;
        }
        if let Some(key) = fc_key {
            let key: String = key;
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::bad("invalid flow control key: it must be 1 to 200 characters"));
            }
            let mut fc = FlowControl { key, ..FlowControl::default() };
            if let Some(v) = fc_value {
                let parsed = FlowControlValue::parse(&v).map_err(|e| ApiError::bad(format!("invalid flow control value {v:?}: {e}")))?;
                fc.parallelism = parsed.parallelism;
                fc.rate = parsed.rate;
                fc.period = parsed.period_secs.or(parsed.rate.map(|_| 1));
            }
            o.flow_control = Some(fc);
        } else if fc_value.is_some() {
            return Err(ApiError::bad("Upstash-Flow-Control-Value needs Upstash-Flow-Control-Key"));
        }
        // The workflow protocol rides on messages and must reach the destination as sent, once:
        // a forwarded copy of the same header wins (the SDK sends `Upstash-Workflow-Sdk-Version`
        // raw for the server and forwarded for the endpoint).
        for (k, v) in std::mem::take(&mut o.protocol) {
            if !o.forward.iter().any(|(fk, _)| fk.eq_ignore_ascii_case(&k)) {
                o.forward.push((k, v));
            }
        }
        Ok(o)
    }

    fn apply(&mut self, rest: &str, name: &str, value: &str, fc_key: &mut Option<String>, fc_value: &mut Option<String>) -> ApiResult<()> {
        let v = value.trim();
        match rest {
            "method" => self.method = Some(method(v)?),
            "delay" => self.delay_ms = Some(duration_ms("delay", v)?),
            "not-before" => {
                self.not_before_s = Some(v.parse().map_err(|_| ApiError::bad(format!("invalid not-before: {v:?}, expected unix seconds")))?)
            }
            "retries" => self.retries = Some(retries(v)?),
            "retry-delay" => self.retry_delay = Some(retry_delay(v)?),
            "timeout" => self.timeout_ms = Some(duration_ms("timeout", v)?),
            "callback" => self.callback = Some(CallbackConfig { url: check_url(v, "callback")?, ..Default::default() }),
            "failure-callback" => {
                self.failure_callback = Some(CallbackConfig { url: check_url(v, "failure callback")?, ..Default::default() })
            }
            "deduplication-id" => {
                if v.is_empty() {
                    return Err(ApiError::bad("invalid deduplication id: empty"));
                }
                self.dedup_id = Some(v.to_string())
            }
            "content-based-deduplication" => self.content_dedup = truthy(v),
            "flow-control-key" => *fc_key = Some(v.to_string()),
            "flow-control-value" => *fc_value = Some(v.to_string()),
            "label" => self.labels.extend(list(v)),
            "redact-fields" => {
                for f in list(v) {
                    let ok =
                        f == "body" || f == "header" || f == "headers" || (f.starts_with("header[") && f.ends_with(']') && f.len() > 8);
                    if !ok {
                        return Err(ApiError::bad(format!("invalid redact field {f:?}: use body, header or header[Name]")));
                    }
                    self.redact.push(f);
                }
            }
            "cron" => self.cron = Some(v.to_string()),
            "schedule-id" => self.schedule_id = Some(v.to_string()),
            "queue-name" => self.queue_name = Some(v.to_string()),
            "header-forward" => {}
            // The workflow protocol rides on messages and must reach the destination as sent.
            r if r.starts_with("workflow-") || r == "feature-set" => self.protocol.push((canonical_header(name), value.to_string())),
            r if r.starts_with("telemetry-") => {}
            r if r.starts_with("forward-") => {
                let h = &name["upstash-forward-".len()..];
                if !h.is_empty() {
                    self.forward.push((canonical_header(h), value.to_string()));
                }
            }
            r if r.starts_with("failure-callback-") => {
                let sub = &r["failure-callback-".len()..];
                let orig = &name[name.len() - sub.len()..];
                apply_callback(&mut self.failure_settings, sub, orig, value, "failure callback")?
            }
            r if r.starts_with("callback-") => {
                let sub = &r["callback-".len()..];
                let orig = &name[name.len() - sub.len()..];
                apply_callback(&mut self.callback_settings, sub, orig, value, "callback")?
            }
            _ => return Err(ApiError::bad(format!("unknown header {}: not a QStash setting", canonical_header(name)))),
        }
        Ok(())
    }

    /// Folds the callback settings into the callback configs. Settings without a callback URL
    /// are ignored (the SDKs send them only with the URL).
    pub fn finish(mut self) -> Options {
        let cs = std::mem::take(&mut self.callback_settings);
        let fs = std::mem::take(&mut self.failure_settings);
        self.callback = self.callback.take().map(|c| cs.into_config(c.url));
        self.failure_callback = self.failure_callback.take().map(|c| fs.into_config(c.url));
        self
    }
}

fn apply_callback(s: &mut CallbackSettings, sub: &str, orig: &str, value: &str, what: &str) -> ApiResult<()> {
    let v = value.trim();
    // `Upstash-Callback-Failure-Callback[-...]`: the callback message's own failure callback.
    if sub == "failure-callback" {
        s.failure_url = Some(check_url(v, &format!("{what} failure callback"))?);
        return Ok(());
    }
    if let Some(inner) = sub.strip_prefix("failure-callback-") {
        let orig_inner = &orig[orig.len() - inner.len()..];
        let nested = s.failure.get_or_insert_with(Default::default);
        return apply_callback(nested, inner, orig_inner, value, &format!("{what} failure callback"));
    }
    match sub {
        "flow-control-key" => {
            if v.is_empty() || v.len() > 200 {
                return Err(ApiError::bad(format!("invalid {what} flow control key: it must be 1 to 200 characters")));
            }
            s.flow_key = Some(v.to_string())
        }
        "flow-control-value" => {
            FlowControlValue::parse(v).map_err(|e| ApiError::bad(format!("invalid {what} flow control value {v:?}: {e}")))?;
            s.flow_value = Some(v.to_string())
        }
        "label" => {}
        "method" => s.method = Some(method(v)?),
        "retries" => s.retries = Some(retries(v)?),
        "retry-delay" => s.retry_delay = Some(retry_delay(v)?),
        "timeout" => s.timeout_ms = Some(duration_ms(&format!("{what} timeout"), v)?),
        "delay" => s.delay_ms = Some(duration_ms(&format!("{what} delay"), v)?),
        r if r.starts_with("forward-") => {
            let h = &orig["forward-".len()..];
            if !h.is_empty() {
                s.headers.push((canonical_header(h), value.to_string()));
            }
        }
        // Workflow headers meant for the callback's own delivery.
        r if r.starts_with("workflow-") || r == "feature-set" => {
            s.headers.push((canonical_header(&format!("upstash-{orig}")), value.to_string()))
        }
        _ => {
            return Err(ApiError::bad(format!(
                "unknown header Upstash-{}-{}: not a QStash setting",
                canonical_header(what).replace(' ', "-"),
                canonical_header(orig)
            )))
        }
    }
    Ok(())
}

/// Checks an absolute http(s) URL (callbacks, destinations).
pub fn check_url(v: &str, what: &str) -> ApiResult<String> {
    let v = v.trim();
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    match rest {
        None => Err(ApiError::bad(format!("invalid {what} url: endpoint has invalid scheme, add http:// or https://"))),
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            if host.is_empty() || host.contains(char::is_whitespace) {
                Err(ApiError::bad(format!("invalid {what} url: {v:?} has no host")))
            } else {
                Ok(v.to_string())
            }
        }
    }
}

impl Options {
    /// The settings a stored message was made with (for schedule runs and DLQ retries).
    pub fn of_message(m: &crate::model::Message) -> Options {
        Options {
            method: Some(m.method.clone()),
            retries: Some(m.max_retries),
            retry_delay: m.retry_delay.clone(),
            timeout_ms: m.timeout_ms,
            callback: m.callback.clone(),
            failure_callback: m.failure_callback.clone(),
            forward: m.headers.clone(),
            flow_control: m.flow_control.clone(),
            labels: m.labels.clone(),
            redact: m.redact.clone(),
            ..Options::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn forwards_and_settings() {
        let o = Options::parse(
            &h(&[
                ("content-type", "application/json"),
                ("upstash-forward-my-header", "x"),
                ("upstash-retries", "5"),
                ("upstash-delay", "1m"),
                ("upstash-callback", "https://cb.example/x"),
                ("upstash-callback-forward-token", "t"),
                ("upstash-callback-retries", "1"),
                ("upstash-flow-control-key", "k"),
                ("upstash-flow-control-value", "parallelism=2, rate=10"),
                ("upstash-label", "a,b"),
                ("upstash-telemetry-sdk", "js"),
                ("x-other", "dropped"),
            ]),
            &[],
        )
        .unwrap()
        .finish();
        assert_eq!(o.forward, vec![("Content-Type".into(), "application/json".into()), ("My-Header".into(), "x".into())]);
        assert_eq!(o.retries, Some(5));
        assert_eq!(o.delay_ms, Some(60_000));
        let cb = o.callback.unwrap();
        assert_eq!(cb.url, "https://cb.example/x");
        assert_eq!(cb.headers, vec![("Token".into(), "t".into())]);
        assert_eq!(cb.retries, Some(1));
        let fc = o.flow_control.unwrap();
        assert_eq!((fc.parallelism, fc.rate, fc.period), (Some(2), Some(10), Some(1)));
        assert_eq!(o.labels, vec!["a", "b"]);
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            ("upstash-retries", "-1"),
            ("upstash-delay", "soon"),
            ("upstash-method", "FETCH"),
            ("upstash-callback", "ftp://x"),
            ("upstash-nonsense", "1"),
            ("upstash-retry-delay", "pow(2,"),
            ("upstash-redact-fields", "everything"),
        ] {
            assert!(Options::parse(&h(&[bad]), &[]).is_err(), "{bad:?}");
        }
        assert!(Options::parse(&h(&[("upstash-flow-control-value", "rate=1")]), &[]).is_err());
    }

    #[test]
    fn header_forward_and_query_config() {
        let o = Options::parse(
            &h(&[("upstash-header-forward", "true"), ("x-github-event", "push"), ("authorization", "Bearer t")]),
            &h(&[("upstash-retries", "2"), ("ref", "kept-elsewhere")]),
        )
        .unwrap();
        assert_eq!(o.forward, vec![("X-Github-Event".into(), "push".into())]);
        assert_eq!(o.retries, Some(2));
    }
}
