//! Deterministic tests of the QStash core: a scripted [`Transport`], an in-memory store on a
//! manual clock, and a harness that drives the worker by hand (`tick`, then let the spawned
//! attempt tasks run). Nothing here sleeps on the wall clock: QStash time moves only with
//! `clock.advance`.

mod api;
mod cancel;
mod dedup;
mod delivery;
mod edges;
mod flow;
mod queues;
mod restart;
mod schedules;
mod topics;
mod workflow;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use parking_lot::Mutex;
use serde_json::Value as Json;
use stashd_store::{Clock, Embedded, SharedStore};
use tokio::sync::oneshot;

use crate::api::ApiRequest;
use crate::core::{Config, Qstash};
use crate::error::ApiResult;
use crate::events::Filter;
use crate::model::HeaderList;
use crate::options::Options;
use crate::publish::{Accepted, PublishInput, Target};
use crate::signing::Claims;
use crate::transport::{OutRequest, Outcome, Transport};

/// 2023-11-14 22:13:20 UTC: 100 s before a 5-minute boundary.
pub const T0: u64 = 1_700_000_000_000;

/// The caller address the harness publishes from.
pub const CALLER: &str = "203.0.113.7";

/// What the scripted transport does with one request.
pub enum Step {
    /// Answer at once.
    Reply(Outcome),
    /// Keep the request open until the test releases it ([`Scripted::release`]).
    Hold,
}

/// A request held open by the transport.
pub struct HeldReq {
    /// Its `Upstash-Message-Id`.
    pub message_id: String,
    tx: oneshot::Sender<Outcome>,
}

/// A transport that records every request and answers from a script: first the steps queued
/// for the exact URL, then the general queue, then 200 with an empty body.
#[derive(Default)]
pub struct Scripted {
    log: Mutex<Vec<OutRequest>>,
    by_url: Mutex<HashMap<String, VecDeque<Step>>>,
    general: Mutex<VecDeque<Step>>,
    held: Mutex<Vec<HeldReq>>,
}

impl Scripted {
    /// Queues `steps` for requests to `url` (exact, with its query).
    pub fn script(&self, url: &str, steps: impl IntoIterator<Item = Step>) {
        self.by_url.lock().entry(url.to_string()).or_default().extend(steps);
    }

    /// Queues `steps` for requests to any URL without a script of its own.
    pub fn script_any(&self, steps: impl IntoIterator<Item = Step>) {
        self.general.lock().extend(steps);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<OutRequest> {
        self.log.lock().clone()
    }

    /// The requests sent to `url`.
    pub fn requests_to(&self, url: &str) -> Vec<OutRequest> {
        self.log.lock().iter().filter(|r| r.url == url).cloned().collect()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.log.lock().len()
    }

    /// How many requests are held open now.
    pub fn held_count(&self) -> usize {
        self.held.lock().len()
    }

    /// The message ids of the requests held open now, in arrival order.
    pub fn held_ids(&self) -> Vec<String> {
        self.held.lock().iter().map(|h| h.message_id.clone()).collect()
    }

    /// Releases the oldest held request with `outcome`.
    pub fn release(&self, outcome: Outcome) {
        let h = self.held.lock().remove(0);
        let _ = h.tx.send(outcome);
    }

    /// Releases the held request of message `id` with `outcome`.
    pub fn release_id(&self, id: &str, outcome: Outcome) {
        let mut held = self.held.lock();
        let i = held.iter().position(|h| h.message_id == id).expect("no held request for that message");
        let h = held.remove(i);
        drop(held);
        let _ = h.tx.send(outcome);
    }
}

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn send(&self, req: OutRequest) -> Outcome {
        let step = {
            let mut by_url = self.by_url.lock();
            by_url.get_mut(&req.url).and_then(VecDeque::pop_front)
        };
        let step = step.or_else(|| self.general.lock().pop_front());
        let message_id = hdr(&req, "Upstash-Message-Id").unwrap_or_default().to_string();
        self.log.lock().push(req);
        match step {
            None => ok(),
            Some(Step::Reply(o)) => o,
            Some(Step::Hold) => {
                let (tx, rx) = oneshot::channel();
                self.held.lock().push(HeldReq { message_id, tx });
                rx.await.unwrap_or_else(|_| Outcome::Failed("the test dropped the held request".into()))
            }
        }
    }
}

/// 200 with an empty body.
pub fn ok() -> Outcome {
    status(200)
}

/// `code` with an empty body.
pub fn status(code: u16) -> Outcome {
    Outcome::Response { status: code, headers: Vec::new(), body: Bytes::new() }
}

/// A full response.
pub fn response(code: u16, headers: &[(&str, &str)], body: &str) -> Outcome {
    Outcome::Response {
        status: code,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

/// The first header `name` of `req` (case-insensitive).
pub fn hdr<'a>(req: &'a OutRequest, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Header pairs as `Options::parse` wants them (lowercase names).
pub fn h(pairs: &[(&str, &str)]) -> HeaderList {
    pairs.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect()
}

/// The service, its store, clock and transport.
pub struct Harness {
    pub clock: Arc<Clock>,
    pub store: SharedStore,
    pub t: Arc<Scripted>,
    pub q: Qstash,
}

/// A service over a fresh in-memory store at [`T0`].
pub async fn harness() -> Harness {
    harness_with(Config { token: "t".into(), ..Default::default() }).await
}

/// A service with `cfg` over a fresh in-memory store at [`T0`].
pub async fn harness_with(cfg: Config) -> Harness {
    let clock = Arc::new(Clock::manual(T0));
    let store: SharedStore = Arc::new(Embedded::in_memory(clock.clone()));
    let t = Arc::new(Scripted::default());
    let q = Qstash::open(store.clone(), cfg, t.clone()).await.expect("open");
    Harness { clock, store, t, q }
}

impl Harness {
    /// A second service over the same store (a restart), with a fresh transport.
    pub async fn reopen(&self) -> Harness {
        let t = Arc::new(Scripted::default());
        let q = Qstash::open(self.store.clone(), Config { token: "t".into(), ..Default::default() }, t.clone()).await.expect("reopen");
        Harness { clock: self.clock.clone(), store: self.store.clone(), t, q }
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: u64) {
        self.clock.advance(i64::try_from(ms).expect("small"));
    }

    /// Publishes (or enqueues, with `queue`) to `dest` with `headers`, as the API does.
    pub async fn try_publish(&self, dest: &str, queue: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> ApiResult<Accepted> {
        let opts = Options::parse(&h(headers), &[])?.finish();
        self.q
            .accept(PublishInput {
                target: Target::parse(dest)?,
                queue: queue.map(String::from),
                opts,
                body: Bytes::copy_from_slice(body),
                caller_ip: CALLER.into(),
                schedule_id: None,
            })
            .await
    }

    /// Publishes to a URL; returns the message id.
    pub async fn publish(&self, dest: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        let a = self.try_publish(dest, None, headers, body).await.expect("publish");
        assert_eq!(a.status, StatusCode::OK);
        a.json["messageId"].as_str().expect("messageId").to_string()
    }

    /// Enqueues into `queue`; returns the message id.
    pub async fn enqueue(&self, queue: &str, dest: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        let a = self.try_publish(dest, Some(queue), headers, body).await.expect("enqueue");
        a.json["messageId"].as_str().expect("messageId").to_string()
    }

    /// Runs the worker until it is quiet: tick, let the attempt tasks run to completion (or to
    /// a held request), and again while that produced new requests (callbacks, queued and
    /// flow-control successors are then started too). Does not move the clock.
    pub async fn settle(&self) {
        let mut quiet = 0;
        for _ in 0..100 {
            let before = self.t.count();
            self.q.tick().await.expect("tick");
            for _ in 0..1_000 {
                tokio::task::yield_now().await;
                if self.q.inflight() as usize <= self.t.held_count() {
                    break;
                }
            }
            // A few more turns so that finished tasks have woken and recorded everything.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            if self.t.count() == before {
                quiet += 1;
                if quiet >= 2 {
                    return;
                }
            } else {
                quiet = 0;
            }
        }
        panic!("the worker did not settle");
    }

    /// Events of message `id`, newest first.
    pub async fn events_of(&self, id: &str) -> Vec<Json> {
        let f = Filter { message_ids: vec![id.to_string()], ..Filter::default() };
        self.q.list_events(&f, None, 100).await.expect("events").events.iter().map(|e| e.to_json()).collect()
    }

    /// The states of message `id`'s events, newest first.
    pub async fn states_of(&self, id: &str) -> Vec<String> {
        self.events_of(id).await.iter().map(|e| e["state"].as_str().unwrap_or_default().to_string()).collect()
    }

    /// Whether message `id` is gone (404).
    pub async fn is_gone(&self, id: &str) -> bool {
        match self.q.get_message(id).await {
            Ok(_) => false,
            Err(e) => {
                assert_eq!(e.status, StatusCode::NOT_FOUND);
                true
            }
        }
    }

    /// Verifies a delivery's `Upstash-Signature` with the current key and returns its claims.
    pub fn verify(&self, req: &OutRequest) -> Claims {
        verify_with(&self.q.signing_keys().current, req)
    }

    /// One API request through `api::handle`: `target` is the raw path with its raw query.
    /// Adds the bearer token unless the query carries `qstash_token`.
    pub async fn api(&self, method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> (StatusCode, Json) {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).expect("name"), HeaderValue::from_str(v).expect("value"));
        }
        if !query.as_deref().unwrap_or("").contains("qstash_token=") {
            map.insert(http::header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        }
        let req = ApiRequest { method, path, query, headers: map, body: Bytes::copy_from_slice(body), caller_ip: CALLER.into() };
        let r = crate::api::handle(&self.q, req).await;
        let json = if r.body.is_empty() { Json::Null } else { serde_json::from_slice(&r.body).expect("JSON answer") };
        (r.status, json)
    }
}

/// Verifies `req`'s signature with `key` (HS256, issuer Upstash, `sub` = the URL called, `body` =
/// base64url(SHA-256(body))) and returns the claims.
pub fn verify_with(key: &str, req: &OutRequest) -> Claims {
    use base64::Engine as _;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use sha2::Digest;
    let sig = hdr(req, "Upstash-Signature").expect("Upstash-Signature");
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&["Upstash"]);
    v.set_required_spec_claims(&["iss", "sub", "exp", "nbf"]);
    // The manual clock is not the wall clock: check the times by hand below.
    v.validate_exp = false;
    v.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(sig, &DecodingKey::from_secret(key.as_bytes()), &v).expect("signature verifies");
    let c = data.claims;
    assert_eq!(c.sub, req.url, "sub is the URL called");
    let want = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&req.body));
    assert_eq!(c.body.trim_end_matches('='), want, "body claim is base64url(sha256(body))");
    assert_eq!(c.exp, c.iat + 300);
    assert_eq!(c.nbf, c.iat);
    assert!(c.jti.starts_with("jwt_"));
    c
}

/// The body of `req` as JSON.
pub fn body_json(req: &OutRequest) -> Json {
    serde_json::from_slice(&req.body).expect("JSON body")
}

/// Standard base64.
pub fn b64(b: &[u8]) -> String {
    crate::model::b64(b)
}
