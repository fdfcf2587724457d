//! Query strings: decoded parameters for filters and settings, and the destination's own
//! query rebuilt raw (less `qstash_token` and `upstash-*` settings).

use percent_encoding::percent_decode_str;

use crate::error::{ApiError, ApiResult};
use crate::events::Filter;

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    raw: String,
    pairs: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

impl Query {
    /// Parses `a=1&b=2&b=3`.
    pub fn parse(raw: &str) -> Query {
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        Query { raw: raw.to_string(), pairs }
    }

    /// The first value of `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, repeated or comma-joined.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>())
            .collect()
    }

    /// The `upstash-*` settings given as parameters (webhook senders).
    pub fn settings(&self) -> Vec<(String, String)> {
        self.pairs.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("upstash-")).cloned().collect()
    }

    /// The destination's own query: the raw parameters less `qstash_token` and `upstash-*`.
    pub fn destination_query(&self) -> String {
        self.raw
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let k = decode(p.split('=').next().unwrap_or("")).to_ascii_lowercase();
                k != "qstash_token" && !k.starts_with("upstash-")
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A numeric parameter.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.first(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ApiError::bad(format!("invalid {key}: {v:?}"))),
        }
    }

    /// A boolean parameter (`true`).
    pub fn flag(&self, key: &str) -> bool {
        self.first(key).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// The shared filters (events, DLQ, bulk cancel).
    pub fn filter(&self) -> ApiResult<Filter> {
        let mut message_ids = self.all("messageId");
        message_ids.extend(self.all("messageIds"));
        let states = self
            .all("state")
            .into_iter()
            .map(|s| {
                let s = s.to_ascii_uppercase();
                if s == "CANCELLED" {
                    "CANCELED".to_string()
                } else {
                    s
                }
            })
            .collect();
        let mut statuses = Vec::new();
        for s in self.all("responseStatus") {
            statuses.push(s.parse().map_err(|_| ApiError::bad(format!("invalid responseStatus: {s:?}")))?);
        }
        let mut topics = self.all("topicName");
        topics.extend(self.all("urlGroup"));
        Ok(Filter {
            message_ids,
            states,
            urls: self.all("url"),
            topics,
            queues: self.all("queueName"),
            schedules: self.all("scheduleId"),
            labels: self.all("label"),
            hosts: self.all("host"),
            paths: self.all("path"),
            caller_ips: self.all("callerIp").into_iter().chain(self.all("callerIP")).collect(),
            flow_keys: self.all("flowControlKey"),
            statuses,
            from: self.number("fromDate")?,
            to: self.number("toDate")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_query_keeps_the_rest_raw() {
        let q = Query::parse("x=1&qstash_token=t&upstash-retries=3&y=a%20b&Upstash-Delay=1s");
        assert_eq!(q.destination_query(), "x=1&y=a%20b");
        assert_eq!(q.first("qstash_token"), Some("t"));
        assert_eq!(q.settings().len(), 2);
    }

    #[test]
    fn multi_values() {
        let q = Query::parse("state=DELIVERED,ERROR&state=CANCELLED&count=5");
        let f = q.filter().unwrap();
        assert_eq!(f.states, vec!["DELIVERED", "ERROR", "CANCELED"]);
        assert_eq!(q.number::<usize>("count").unwrap(), Some(5));
        assert!(Query::parse("count=x").number::<usize>("count").is_err());
    }
}
