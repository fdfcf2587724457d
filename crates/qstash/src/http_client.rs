//! The real transport: one pooled `reqwest` client (rustls), whose resolver applies the
//! egress policy to every resolved address; address literals are checked before sending and on
//! every redirect. Response bodies are read only up to a bound.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::egress::Egress;
use crate::transport::{OutRequest, Outcome, Transport};

/// Delivers over HTTP(S).
pub struct HttpTransport {
    client: reqwest::Client,
    egress: Arc<Egress>,
    max_body: usize,
}

struct PolicyResolver {
    egress: Arc<Egress>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = self.egress.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let verdict = egress.check_host(&host);
            if verdict == Some(false) {
                return Err(format!("destination {host} is refused by the egress policy").into());
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| egress.check_ip(a.ip(), verdict == Some(true))).collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = if addrs.is_empty() {
                    format!("{host} does not resolve").into()
                } else {
                    format!("destination {host} resolves only to addresses the egress policy refuses").into()
                };
                return Err(err);
            }
            let it: Addrs = Box::new(allowed.into_iter());
            Ok(it)
        })
    }
}

/// Whether the URL's host, when it is an address literal, may be called.
fn literal_allowed(egress: &Egress, url: &reqwest::Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(d)) => {
            if egress.check_host(d) == Some(false) {
                return Err(format!("destination {d} is refused by the egress policy"));
            }
            return Ok(());
        }
        None => return Err("the URL has no host".into()),
    };
    if egress.check_ip(ip, false) {
        Ok(())
    } else {
        Err(format!("destination {ip} is refused by the egress policy"))
    }
}

impl HttpTransport {
    /// A transport with `egress` rules, reading at most `max_body` bytes of each response.
    pub fn new(egress: Egress, max_body: usize) -> Result<Self, String> {
        let egress = Arc::new(egress);
        let redirect_egress = egress.clone();
        let client = reqwest::Client::builder()
            .user_agent("Upstash-QStash")
            .dns_resolver(Arc::new(PolicyResolver { egress: egress.clone() }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 10 {
                    return attempt.error("too many redirects");
                }
                match literal_allowed(&redirect_egress, attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpTransport { client, egress, max_body })
    }

    async fn attempt(&self, req: OutRequest) -> Result<Outcome, String> {
        let url = reqwest::Url::parse(&req.url).map_err(|e| format!("invalid destination url: {e}"))?;
        literal_allowed(&self.egress, &url)?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.client.request(method, url).timeout(req.timeout).body(req.body);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let mut resp = rb.send().await.map_err(describe)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (crate::model::canonical_header(k.as_str()), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = BytesMut::new();
        while body.len() < self.max_body {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_body - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                // The status decides; a body cut short does not fail a 2xx.
                Err(_) => break,
            }
        }
        Ok(Outcome::Response { status, headers, body: Bytes::from(body) })
    }
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "timeout: the destination did not answer in time".into();
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[async_trait::async_trait]
impl Transport for HttpTransport {
    async fn send(&self, req: OutRequest) -> Outcome {
        match self.attempt(req).await {
            Ok(o) => o,
            Err(e) => Outcome::Failed(e),
        }
    }
}
