//! Pub/sub: the hub that maps channels and patterns to subscribers' bounded queues, and feeds
//! `MONITOR` clients the same way.
//!
//! Publishing never waits: each subscriber has a bounded queue, and a subscriber whose queue is
//! full is evicted (unsubscribed everywhere and flagged, so its face closes the connection), as
//! Redis does with `client-output-buffer-limit pubsub`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::glob;

/// Messages a subscriber may have queued before it is considered too slow and evicted.
pub const QUEUE_LIMIT: usize = 8192;

/// A message delivered to a subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct PubMessage {
    /// The matching pattern, for pattern subscriptions.
    pub pattern: Option<Bytes>,
    /// The channel it was published on.
    pub channel: Bytes,
    /// The payload.
    pub payload: Bytes,
    /// True for `SPUBLISH` (delivered as `smessage`).
    pub shard: bool,
    /// True for a `MONITOR` line (the payload; no channel).
    pub monitor: bool,
    /// True for a client-side caching invalidation (`CLIENT TRACKING`): the payload is the RESP
    /// array of keys, empty for the null of a flush; the face writes a RESP3 `invalidate` push,
    /// or for a subscribed RESP2 client a message on `__redis__:invalidate`.
    pub invalidate: bool,
    /// [`PubMessage::resp_frame`], encoded once by the first RESP subscriber that needs it.
    pub frame: std::sync::OnceLock<Bytes>,
}

impl PubMessage {
    /// A channel or pattern message, shared by every subscriber it goes to.
    pub fn new(pattern: Option<Bytes>, channel: Bytes, payload: Bytes, shard: bool) -> Delivery {
        Arc::new(PubMessage { pattern, channel, payload, shard, monitor: false, invalidate: false, frame: Default::default() })
    }

    /// The RESP2 frame, encoded on first use and shared after.
    pub fn resp2(&self) -> &Bytes {
        self.frame.get_or_init(|| {
            let mut out = bytes::BytesMut::with_capacity(32 + self.channel.len() + self.payload.len());
            self.resp_frame(&mut out);
            out.freeze()
        })
    }

    /// The message as a RESP2 array (`*3` message / `*4` pmessage / smessage); a RESP3 client
    /// gets the same bytes with `>` for the first one.
    pub fn resp_frame(&self, out: &mut bytes::BytesMut) {
        use stashd_resp::encode;
        match (&self.pattern, self.shard) {
            (Some(p), _) => {
                out.extend_from_slice(b"*4\r\n$8\r\npmessage\r\n");
                encode::bulk(out, p);
            }
            (None, true) => out.extend_from_slice(b"*3\r\n$8\r\nsmessage\r\n"),
            (None, false) => out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n"),
        }
        encode::bulk(out, &self.channel);
        encode::bulk(out, &self.payload);
    }
}

/// What a subscriber's queue carries: one allocation per published message, shared by all
/// the subscribers it reaches (a reference-count increment each).
pub type Delivery = Arc<PubMessage>;

/// One subscriber's delivery end, as the hub holds it.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::Sender<Delivery>,
    evicted: Arc<AtomicBool>,
}

/// A client's pub/sub state (kept in its session).
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Subscribed channels.
    pub channels: HashSet<Bytes>,
    /// Subscribed patterns.
    pub patterns: HashSet<Bytes>,
    /// Subscribed shard channels.
    pub shard_channels: HashSet<Bytes>,
    tx: Option<mpsc::Sender<Delivery>>,
    /// The receiving end, created with the first subscription; the face takes it.
    pub inbox: Option<mpsc::Receiver<Delivery>>,
    /// Set when the hub evicted this subscriber for being too slow.
    pub evicted: Arc<AtomicBool>,
    /// The client ran `MONITOR`.
    pub monitoring: bool,
}

impl Subscriptions {
    /// Channel plus pattern subscriptions (the count Redis reports).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// True if subscribed to anything (RESP2 subscribed mode).
    pub fn active(&self) -> bool {
        self.count() + self.shard_channels.len() > 0
    }

    fn outbox(&mut self) -> Outbox {
        let tx = match &self.tx {
            Some(tx) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::channel(QUEUE_LIMIT);
                self.tx = Some(tx.clone());
                self.inbox = Some(rx);
                tx
            }
        };
        Outbox { tx, evicted: self.evicted.clone() }
    }
}

#[derive(Default)]
struct HubInner {
    channels: HashMap<Bytes, HashMap<u64, Outbox>>,
    patterns: HashMap<Bytes, HashMap<u64, Outbox>>,
    shard_channels: HashMap<Bytes, HashMap<u64, Outbox>>,
    monitors: HashMap<u64, Outbox>,
    /// Every client with a delivery queue, by id (invalidations are sent to a client by id).
    by_id: HashMap<u64, Outbox>,
}

/// One client's subscriptions, as `CLIENT LIST` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientSubs {
    /// SUBSCRIBE channels.
    pub channels: usize,
    /// PSUBSCRIBE patterns.
    pub patterns: usize,
    /// SSUBSCRIBE shard channels.
    pub shard_channels: usize,
    /// A MONITOR client.
    pub monitor: bool,
}

impl ClientSubs {
    /// Subscribed to anything (Redis's `CLIENT_PUBSUB`: client type `pubsub`, flag `P`).
    pub fn pubsub(&self) -> bool {
        self.channels + self.patterns + self.shard_channels > 0
    }
}

/// The pub/sub hub (one per server).
#[derive(Default)]
pub struct Hub {
    inner: Mutex<HubInner>,
    /// Number of MONITOR clients (checked on every command without the lock).
    monitor_count: AtomicUsize,
}

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE.
    Shard,
}

fn remove_from(map: &mut HashMap<Bytes, HashMap<u64, Outbox>>, name: &[u8], id: u64) {
    if let Some(subs) = map.get_mut(name) {
        subs.remove(&id);
        if subs.is_empty() {
            map.remove(name);
        }
    }
}

impl Hub {
    /// Subscribes client `id` to `name`; returns false if it already was.
    pub fn subscribe(&self, id: u64, subs: &mut Subscriptions, kind: Kind, name: &Bytes) -> bool {
        let set = match kind {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard_channels,
        };
        if !set.insert(name.clone()) {
            return false;
        }
        let outbox = subs.outbox();
        let mut h = self.inner.lock();
        h.by_id.entry(id).or_insert_with(|| outbox.clone());
        let map = match kind {
            Kind::Channel => &mut h.channels,
            Kind::Pattern => &mut h.patterns,
            Kind::Shard => &mut h.shard_channels,
        };
        map.entry(name.clone()).or_default().insert(id, outbox);
        true
    }

    /// Unsubscribes client `id` from `name`; returns false if it was not subscribed.
    pub fn unsubscribe(&self, id: u64, subs: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        let set = match kind {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard_channels,
        };
        if !set.remove(name) {
            return false;
        }
        let mut h = self.inner.lock();
        let map = match kind {
            Kind::Channel => &mut h.channels,
            Kind::Pattern => &mut h.patterns,
            Kind::Shard => &mut h.shard_channels,
        };
        remove_from(map, name, id);
        true
    }

    /// Makes client `id` a MONITOR client.
    pub fn monitor(&self, id: u64, subs: &mut Subscriptions) {
        if subs.monitoring {
            return;
        }
        subs.monitoring = true;
        let outbox = subs.outbox();
        let mut h = self.inner.lock();
        h.by_id.entry(id).or_insert_with(|| outbox.clone());
        h.monitors.insert(id, outbox);
        self.monitor_count.store(h.monitors.len(), Ordering::Relaxed);
    }

    /// True if any client runs MONITOR.
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Sends one MONITOR line (see [`monitor_line`]) to every MONITOR client.
    pub fn feed_monitors(&self, line: Bytes) {
        let mut h = self.inner.lock();
        let mut evict = Vec::new();
        for (id, outbox) in &h.monitors {
            let m = Arc::new(PubMessage {
                pattern: None,
                channel: Bytes::new(),
                payload: line.clone(),
                shard: false,
                monitor: true,
                invalidate: false,
                frame: Default::default(),
            });
            if let Err(mpsc::error::TrySendError::Full(_)) = outbox.tx.try_send(m) {
                evict.push(*id);
            }
        }
        for id in evict {
            evict_locked(&mut h, id);
        }
        self.monitor_count.store(h.monitors.len(), Ordering::Relaxed);
    }

    /// Drops every subscription of client `id` (disconnect, RESET).
    pub fn unsubscribe_all(&self, id: u64, subs: &mut Subscriptions) {
        let mut h = self.inner.lock();
        h.by_id.remove(&id);
        if std::mem::take(&mut subs.monitoring) {
            h.monitors.remove(&id);
            self.monitor_count.store(h.monitors.len(), Ordering::Relaxed);
        }
        for c in subs.channels.drain() {
            remove_from(&mut h.channels, &c, id);
        }
        for p in subs.patterns.drain() {
            remove_from(&mut h.patterns, &p, id);
        }
        for s in subs.shard_channels.drain() {
            remove_from(&mut h.shard_channels, &s, id);
        }
    }

    /// Publishes; returns how many subscribers received the message.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes, shard: bool) -> usize {
        let mut h = self.inner.lock();
        let mut delivered = 0;
        let mut evict: Vec<u64> = Vec::new();
        let mut send = |outbox: &Outbox, id: u64, msg: Delivery| match outbox.tx.try_send(msg) {
            Ok(()) => delivered += 1,
            Err(mpsc::error::TrySendError::Full(_)) => evict.push(id),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        };
        let direct = if shard { &h.shard_channels } else { &h.channels };
        if let Some(subs) = direct.get(channel) {
            let msg = PubMessage::new(None, channel.clone(), payload.clone(), shard);
            for (id, outbox) in subs {
                send(outbox, *id, msg.clone());
            }
        }
        if !shard {
            for (pattern, subs) in &h.patterns {
                if glob::matches(pattern, channel) {
                    let msg = PubMessage::new(Some(pattern.clone()), channel.clone(), payload.clone(), shard);
                    for (id, outbox) in subs {
                        send(outbox, *id, msg.clone());
                    }
                }
            }
        }
        for id in evict {
            evict_locked(&mut h, id);
        }
        delivered
    }

    /// Gives client `id` a delivery queue (if it has none) that [`Hub::send_invalidation`]
    /// reaches: a client that turns `CLIENT TRACKING` on.
    pub fn register(&self, id: u64, subs: &mut Subscriptions) {
        let outbox = subs.outbox();
        self.inner.lock().by_id.entry(id).or_insert(outbox);
    }

    /// Queues an invalidation (see [`PubMessage::invalidate`]) for client `id`; false if it has
    /// no queue (a client that never subscribed nor tracked) or is gone.
    pub fn send_invalidation(&self, id: u64, keys: Bytes) -> bool {
        let h = self.inner.lock();
        let Some(o) = h.by_id.get(&id) else { return false };
        let m = Arc::new(PubMessage {
            pattern: None,
            channel: Bytes::from_static(b"__redis__:invalidate"),
            payload: keys,
            shard: false,
            monitor: false,
            invalidate: true,
            frame: Default::default(),
        });
        o.tx.try_send(m).is_ok()
    }

    /// Active channels (optionally matching a pattern).
    pub fn channels(&self, pattern: Option<&[u8]>, shard: bool) -> Vec<Bytes> {
        let h = self.inner.lock();
        let map = if shard { &h.shard_channels } else { &h.channels };
        map.keys().filter(|c| pattern.is_none_or(|p| glob::matches(p, c))).cloned().collect()
    }

    /// Subscriber count of a channel.
    pub fn numsub(&self, channel: &[u8], shard: bool) -> usize {
        let h = self.inner.lock();
        let map = if shard { &h.shard_channels } else { &h.channels };
        map.get(channel).map_or(0, |s| s.len())
    }

    /// Number of distinct subscribed patterns.
    pub fn numpat(&self) -> usize {
        self.inner.lock().patterns.len()
    }

    /// Per client with subscriptions or MONITOR: its channel, pattern and shard-channel
    /// subscription counts and whether it monitors (`CLIENT LIST`'s sub/psub/ssub and flags).
    pub fn client_counts(&self) -> HashMap<u64, ClientSubs> {
        let h = self.inner.lock();
        let mut out: HashMap<u64, ClientSubs> = HashMap::new();
        for (map, which) in [(&h.channels, 0), (&h.patterns, 1), (&h.shard_channels, 2)] {
            for subs in map.values() {
                for id in subs.keys() {
                    let c = out.entry(*id).or_default();
                    match which {
                        0 => c.channels += 1,
                        1 => c.patterns += 1,
                        _ => c.shard_channels += 1,
                    }
                }
            }
        }
        for id in h.monitors.keys() {
            out.entry(*id).or_default().monitor = true;
        }
        out
    }
}

/// Removes a too-slow subscriber everywhere and flags it so its face disconnects it.
fn evict_locked(h: &mut HubInner, id: u64) {
    if let Some(o) = h.monitors.remove(&id) {
        o.evicted.store(true, Ordering::Release);
    }
    for map in [&mut h.channels, &mut h.patterns, &mut h.shard_channels] {
        let mut flagged = None;
        map.retain(|_, subs| {
            if let Some(o) = subs.remove(&id) {
                flagged = Some(o.evicted.clone());
            }
            !subs.is_empty()
        });
        if let Some(f) = flagged {
            f.store(true, Ordering::Release);
        }
    }
    tracing::warn!(client = id, limit = QUEUE_LIMIT, "pub/sub subscriber too slow: disconnected (queue limit reached)");
}

/// A MONITOR line as Redis writes it: `<unix s>.<us> [<db> <addr>] "CMD" "arg" ...`, arguments
/// quoted and escaped like `sdscatrepr`; `origin` is the client address or `lua`.
pub fn monitor_line(db: usize, origin: &str, name: &str, args: &[Bytes]) -> Bytes {
    use std::fmt::Write as _;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let origin = if origin.is_empty() { "0.0.0.0:0" } else { origin };
    let mut s = String::with_capacity(48 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    let _ = write!(s, "{}.{:06} [{db} {origin}]", now.as_secs(), now.subsec_micros());
    // AUTH, HELLO and ACL carry secrets: Redis shows them redacted.
    let redact = crate::acl::carries_secrets(name);
    for (i, a) in args.iter().enumerate() {
        s.push_str(" \"");
        if redact && i > 0 {
            s.push_str("(redacted)");
        } else {
            for &c in a.iter() {
                match c {
                    b'\\' => s.push_str("\\\\"),
                    b'"' => s.push_str("\\\""),
                    b'\n' => s.push_str("\\n"),
                    b'\r' => s.push_str("\\r"),
                    b'\t' => s.push_str("\\t"),
                    7 => s.push_str("\\a"),
                    8 => s.push_str("\\b"),
                    0x20..=0x7e => s.push(c as char),
                    _ => {
                        let _ = write!(s, "\\x{c:02x}");
                    }
                }
            }
        }
        s.push('"');
    }
    Bytes::from(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn monitor_lines_quote_like_redis() {
        let args: Vec<Bytes> = vec![Bytes::from("SET"), Bytes::from("k\"1"), Bytes::from(&b"a\nb\x01"[..])];
        let line = monitor_line(3, "127.0.0.1:5000", "set", &args);
        let text = std::str::from_utf8(&line).unwrap();
        let (ts, rest) = text.split_once(' ').unwrap();
        assert!(ts.contains('.') && ts.len() > 11, "{ts}");
        assert_eq!(rest, r#"[3 127.0.0.1:5000] "SET" "k\"1" "a\nb\x01""#);
        let auth = monitor_line(0, "", "auth", &[Bytes::from("AUTH"), Bytes::from("secret")]);
        assert!(std::str::from_utf8(&auth).unwrap().ends_with(r#"[0 0.0.0.0:0] "AUTH" "(redacted)""#));
    }

    use super::*;

    #[test]
    fn publish_reaches_channels_and_patterns_and_evicts_slow_subscribers() {
        let hub = Hub::default();
        let mut a = Subscriptions::default();
        let mut b = Subscriptions::default();
        assert!(hub.subscribe(1, &mut a, Kind::Channel, &Bytes::from("news")));
        assert!(!hub.subscribe(1, &mut a, Kind::Channel, &Bytes::from("news")));
        assert!(hub.subscribe(2, &mut b, Kind::Pattern, &Bytes::from("n*")));
        assert_eq!(hub.publish(&Bytes::from("news"), &Bytes::from("hi"), false), 2);
        assert_eq!(hub.publish(&Bytes::from("other"), &Bytes::from("x"), false), 0);
        let mut rx = b.inbox.take().unwrap();
        let m = rx.try_recv().unwrap();
        assert_eq!(m.pattern.as_deref(), Some(&b"n*"[..]));
        assert_eq!(hub.numsub(b"news", false), 1);
        assert_eq!(hub.numpat(), 1);
        // b stops reading: once its queue is full it is evicted and flagged.
        for _ in 0..QUEUE_LIMIT + 1 {
            hub.publish(&Bytes::from("nope"), &Bytes::from("x"), false);
        }
        assert!(b.evicted.load(Ordering::Acquire));
        assert_eq!(hub.numpat(), 0);
        hub.unsubscribe_all(1, &mut a);
        assert!(hub.channels(None, false).is_empty());
    }
}
