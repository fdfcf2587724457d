//! How an attempt reaches its destination: the [`Transport`] trait (one HTTP request in, its
//! outcome out), so the worker's logic is tested with a scripted transport and runs with the
//! real HTTP client ([`crate::http_client::HttpTransport`]).

use std::time::Duration;

use bytes::Bytes;

use crate::model::HeaderList;

/// One outgoing request.
#[derive(Debug, Clone)]
pub struct OutRequest {
    /// Method.
    pub method: String,
    /// The URL to call (after rewrites).
    pub url: String,
    /// Headers, in order.
    pub headers: HeaderList,
    /// Body.
    pub body: Bytes,
    /// Cut the attempt off after this long.
    pub timeout: Duration,
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An HTTP response (the body read up to the configured bound).
    Response {
        /// Status.
        status: u16,
        /// Headers.
        headers: HeaderList,
        /// Body (possibly truncated).
        body: Bytes,
    },
    /// No response: connection refused, timeout, refused by the egress policy...
    Failed(String),
    /// Not sent: the message no longer has anywhere to go (its workflow run ended). It ends
    /// as CANCELED.
    Dropped(String),
}

impl Outcome {
    /// Whether the attempt succeeded (2xx).
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Response { status, .. } if (200..300).contains(status))
    }

    /// The first response header named `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            Outcome::Response { headers, .. } => headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()),
            Outcome::Failed(_) | Outcome::Dropped(_) => None,
        }
    }
}

/// Sends one attempt.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Performs `req` and reports what happened. Never panics; every failure is an [`Outcome::Failed`].
    async fn send(&self, req: OutRequest) -> Outcome;
}
