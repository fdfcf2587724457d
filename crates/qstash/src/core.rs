//! The QStash service: its state in the store, the operations the API calls, and the
//! transitions the delivery worker applies. Every state change is one atomic store batch,
//! made under one lock (`Inner::lock`) so that transitions of the same message never
//! interleave; the API answers 2xx only after its batch is durable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use rand::distributions::{Alphanumeric, DistString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use stashd_store::{cmd, Clock, Cmd, SharedStore, Value};
use tokio::sync::Notify;

use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::flow::FlowRuntime;
use crate::keys;
use crate::model::{Message, Queue, Topic};
use crate::signing::SigningKeys;
use crate::transport::Transport;

/// Settings of the QStash service.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API token (Bearer or `?qstash_token=`).
    pub token: String,
    /// Largest message body accepted (bytes).
    pub max_body: usize,
    /// Largest part of a response body read from a destination (bytes).
    pub max_response_body: usize,
    /// Longest attempt (ms) when the message sets no `Upstash-Timeout` (and the cap on it).
    pub max_timeout_ms: u64,
    /// Attempts in flight at once, over all messages.
    pub global_parallelism: u32,
    /// Events kept in the log (about).
    pub event_retention: u64,
    /// `Upstash-Region` sent with deliveries.
    pub region: String,
    /// Destination rewrites: URL prefix → URL prefix (the rewritten URL is called).
    pub rewrites: Vec<(String, String)>,
    /// Signing keys given by configuration (they replace the stored ones at start).
    pub signing_keys: Option<SigningKeys>,
    /// How long ended workflow runs stay for logs (ms).
    pub run_retention_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: String::new(),
            max_body: 1024 * 1024,
            max_response_body: 1024 * 1024,
            max_timeout_ms: 2 * 3600 * 1000,
            global_parallelism: 1000,
            event_retention: 10_000,
            region: "LOCAL".into(),
            rewrites: Vec::new(),
            signing_keys: None,
            run_retention_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// The QStash service. Cheap to clone.
#[derive(Clone)]
pub struct Qstash {
    pub(crate) inner: Arc<Inner>,
}

/// The worker's hint of when something kept in the store is next due, so it does not read the
/// store on every wake-up. 0 means "look"; writers that may bring an earlier time call
/// [`Hint::invalidate`].
#[derive(Debug, Default)]
pub(crate) struct Hint {
    next: std::sync::atomic::AtomicU64,
    generation: std::sync::atomic::AtomicU64,
}

impl Hint {
    /// Makes the next pass look in the store.
    pub fn invalidate(&self) {
        self.next.store(0, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The time to look again (`None`: nothing due as far as known), reading the store through
    /// `look` when the hint says so.
    pub async fn due<F, Fut>(&self, now: u64, look: F) -> ApiResult<Option<u64>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ApiResult<Option<u64>>>,
    {
        let next = self.next.load(Ordering::SeqCst);
        if next != 0 && now < next {
            return Ok((next != u64::MAX).then_some(next));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = look().await?;
        self.next.store(found.unwrap_or(u64::MAX).max(1), Ordering::SeqCst);
        // A write that brought an earlier time meanwhile: look again next time.
        if self.generation.load(Ordering::SeqCst) != generation {
            self.next.store(0, Ordering::SeqCst);
        }
        Ok(found)
    }
}

pub(crate) struct Inner {
    pub store: SharedStore,
    pub clock: Arc<Clock>,
    pub cfg: Config,
    /// Serialises state transitions.
    pub lock: tokio::sync::Mutex<()>,
    /// New due work for the worker.
    pub wake: Notify,
    pub keys: RwLock<SigningKeys>,
    pub flows: Mutex<HashMap<String, FlowRuntime>>,
    pub inflight: AtomicU32,
    /// When the next schedule run and the next wait deadline are due (hints that spare the
    /// worker two store reads per wake-up; see `Hint`).
    pub schedule_hint: Hint,
    pub wait_hint: Hint,
    /// When ended runs were last pruned (ms).
    pub last_prune: std::sync::atomic::AtomicU64,
    pub transport: Arc<dyn Transport>,
}

/// Base62 digits in ASCII order, so that fixed-width encodings sort like the numbers.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The last sequence [`new_id`] handed out.
static LAST_SEQ: AtomicU64 = AtomicU64::new(0);

/// A new id: `prefix` + 11 characters that grow with every id (wall-clock milliseconds and a
/// counter) + 11 random alphanumerics.
///
/// Ids sort in creation order. That matters: messages due at the same millisecond (a batch, a
/// fan-out, a burst of publishes) sit in the due index with equal scores, which the store
/// orders by member, i.e. by id; with random ids they started in random order, so flow-control
/// waiters and the heads of a queue with parallelism > 1 did not start first-in first-out.
pub fn new_id(prefix: &str) -> String {
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    // 12 bits of counter below the milliseconds: unique and increasing within the process, and
    // roughly time-ordered across restarts.
    let floor = wall << 12;
    let prev = LAST_SEQ.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| Some(p.saturating_add(1).max(floor))).unwrap_or(0);
    let mut seq = prev.saturating_add(1).max(floor);
    let mut ordered = [b'0'; 11];
    for c in ordered.iter_mut().rev() {
        *c = BASE62[(seq % 62) as usize];
        seq /= 62;
    }
    format!("{prefix}{}{}", String::from_utf8_lossy(&ordered), Alphanumeric.sample_string(&mut rand::thread_rng(), 11))
}

/// Queue names and schedule ids: `[A-Za-z0-9._-]`, 1 to 100 characters.
pub fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 100 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(ApiError::bad(format!("invalid {what} {name:?}: use 1 to 100 of the characters A-Z a-z 0-9 . _ -")));
    }
    Ok(())
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

pub(crate) fn from_json<T: DeserializeOwned>(b: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(b).map_err(|e| ApiError::internal(format!("corrupt record in the store: {e}")))
}

impl Qstash {
    /// Opens the service over `store`: loads (or creates) the signing keys and puts attempts
    /// that were in flight at the last stop back in line (they are delivered again).
    pub async fn open(store: SharedStore, cfg: Config, transport: Arc<dyn Transport>) -> ApiResult<Qstash> {
        let clock = store.clock().clone();
        let keys = load_keys(&store, cfg.signing_keys.clone()).await?;
        let q = Qstash {
            inner: Arc::new(Inner {
                store,
                clock,
                cfg,
                lock: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                keys: RwLock::new(keys),
                flows: Mutex::new(HashMap::new()),
                inflight: AtomicU32::new(0),
                schedule_hint: Hint::default(),
                wait_hint: Hint::default(),
                last_prune: std::sync::atomic::AtomicU64::new(0),
                transport,
            }),
        };
        q.requeue_in_flight().await?;
        q.restore_flow_waiters().await?;
        Ok(q)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.inner.clock
    }

    /// Now, in ms.
    pub fn now(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// Attempts in flight now.
    pub fn inflight(&self) -> u32 {
        self.inner.inflight.load(Ordering::Relaxed)
    }

    /// The signing keys.
    pub fn signing_keys(&self) -> SigningKeys {
        self.inner.keys.read().clone()
    }

    /// Rotates the signing keys (durably) and returns the new pair.
    pub async fn rotate_keys(&self) -> ApiResult<SigningKeys> {
        let _g = self.inner.lock.lock().await;
        let new = self.inner.keys.read().rotated();
        self.store().apply_durable(vec![cmd!["HSET", keys::SIGNING_KEYS, "current", &new.current, "next", &new.next]]).await?;
        *self.inner.keys.write() = new.clone();
        Ok(new)
    }

    async fn requeue_in_flight(&self) -> ApiResult<()> {
        let ids = self.store().one(cmd!["ZRANGE", keys::ACTIVE, 0, -1]).await?.into_bytes_list()?;
        if ids.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut cmds: Vec<Cmd> = Vec::new();
        for id in &ids {
            cmds.push(cmd!["ZREM", keys::ACTIVE, id]);
            cmds.push(cmd!["ZADD", keys::DUE, now, id]);
        }
        self.store().apply_durable(cmds).await?;
        tracing::info!(count = ids.len(), "attempts in flight at the last stop are delivered again");
        Ok(())
    }

    /// Marks the flow-control keys whose wait lists hold messages as waiting. The mark lives
    /// in memory only (the worker's `release_waiters` looks at marked keys alone), so without
    /// this a message waiting for a rate period at the last stop stayed in its wait list for
    /// good, unless another message of the same key came along.
    async fn restore_flow_waiters(&self) -> ApiResult<()> {
        let flow_keys = self.store().one(cmd!["ZRANGE", keys::FLOW_KEYS, 0, -1]).await?.into_bytes_list()?;
        for k in flow_keys {
            let k = String::from_utf8_lossy(&k).into_owned();
            if self.store().one(cmd!["LLEN", keys::flow_wait(&k)]).await?.into_int()? > 0 {
                self.inner.flows.lock().entry(k).or_default().waiting = true;
            }
        }
        Ok(())
    }

    /// Reads a message and its body.
    pub(crate) async fn load_message(&self, id: &str) -> ApiResult<Option<(Message, Bytes)>> {
        let v = self.store().one(cmd!["HMGET", keys::message(id), "meta", "body"]).await?.into_array()?;
        let mut it = v.into_iter();
        let meta = it.next().map(Value::into_bytes).transpose()?.flatten();
        let body = it.next().map(Value::into_bytes).transpose()?.flatten().unwrap_or_default();
        match meta {
            None => Ok(None),
            Some(m) => Ok(Some((from_json(&m)?, body))),
        }
    }

    /// Commands that write `m` (meta only).
    pub(crate) fn save_meta(m: &Message) -> Cmd {
        cmd!["HSET", keys::message(&m.id), "meta", to_json(m)]
    }

    /// Commands that create `m` with `body`: the record, the pending index, and either the due
    /// index or (queued behind others) nothing more.
    pub(crate) fn create_cmds(m: &Message, body: &Bytes) -> Vec<Cmd> {
        let mut c =
            vec![cmd!["HSET", keys::message(&m.id), "meta", to_json(m), "body", body], cmd!["ZADD", keys::PENDING, m.created_at, &m.id]];
        if !m.parked {
            c.push(cmd!["ZADD", keys::DUE, m.not_before, &m.id]);
        }
        c
    }

    /// Commands that remove message `id` from every index (not from its queue list).
    pub(crate) fn delete_cmds(id: &str) -> Vec<Cmd> {
        vec![cmd!["DEL", keys::message(id)], cmd!["ZREM", keys::DUE, id], cmd!["ZREM", keys::ACTIVE, id], cmd!["ZREM", keys::PENDING, id]]
    }

    /// An event for the log.
    pub(crate) fn event_cmd(&self, e: &Event) -> Cmd {
        cmd!["XADD", keys::EVENTS, "MAXLEN", "~", self.inner.cfg.event_retention, "*", "e", to_json(e)]
    }

    /// Wakes the worker (new due work).
    pub(crate) fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Reads a queue's settings.
    pub(crate) async fn load_queue(&self, name: &str) -> ApiResult<Option<Queue>> {
        match self.store().one(cmd!["GET", keys::queue(name)]).await?.into_bytes()? {
            None => Ok(None),
            Some(b) => Ok(Some(from_json(&b)?)),
        }
    }

    /// Reads a URL group.
    pub(crate) async fn load_topic(&self, name: &str) -> ApiResult<Option<Topic>> {
        match self.store().one(cmd!["HGET", keys::TOPICS, name]).await?.into_bytes()? {
            None => Ok(None),
            Some(b) => Ok(Some(from_json(&b)?)),
        }
    }
}

async fn load_keys(store: &SharedStore, configured: Option<SigningKeys>) -> ApiResult<SigningKeys> {
    if let Some(k) = configured {
        store.apply_durable(vec![cmd!["HSET", keys::SIGNING_KEYS, "current", &k.current, "next", &k.next]]).await?;
        return Ok(k);
    }
    let v = store.one(cmd!["HMGET", keys::SIGNING_KEYS, "current", "next"]).await?.into_array()?;
    let mut it = v.into_iter().map(|x| x.into_bytes().ok().flatten());
    if let (Some(Some(c)), Some(Some(n))) = (it.next(), it.next()) {
        return Ok(SigningKeys { current: String::from_utf8_lossy(&c).into(), next: String::from_utf8_lossy(&n).into() });
    }
    let k = SigningKeys::generate();
    store.apply_durable(vec![cmd!["HSET", keys::SIGNING_KEYS, "current", &k.current, "next", &k.next]]).await?;
    Ok(k)
}
