//! Client-side caching (`CLIENT TRACKING`), as Redis 7's `tracking.c`: the keys each tracking
//! client read (default mode) or the prefixes it follows (BCAST), and the invalidation messages
//! writes, expiry and flushes send: a RESP3 push `invalidate [keys]`, or over RESP2 a message on
//! `__redis__:invalidate` to the client named by REDIRECT (when it is subscribed).
//!
//! Nothing is kept or checked while no client tracks: [`Tracking::active`] is one atomic load,
//! and the keyspace records written keys ([`crate::keyspace::Keyspace::touched`]) only then.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;

/// A client's `CLIENT TRACKING` options (kept in its session while tracking is on).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientTracking {
    /// REDIRECT target (0 = the client itself).
    pub redirect: u64,
    /// BCAST: follow prefixes instead of the keys read.
    pub bcast: bool,
    /// OPTIN: remember keys only after `CLIENT CACHING yes`.
    pub optin: bool,
    /// OPTOUT: remember keys unless `CLIENT CACHING no`.
    pub optout: bool,
    /// NOLOOP: no invalidations for the client's own writes.
    pub noloop: bool,
    /// BCAST prefixes (empty = every key).
    pub prefixes: Vec<Bytes>,
    /// `CLIENT CACHING yes|no` given for the next command.
    pub caching: bool,
}

/// Where a tracking client's invalidations go, and its NOLOOP flag (for writers' lookups).
#[derive(Debug, Clone)]
struct Tracker {
    redirect: u64,
    bcast: bool,
    noloop: bool,
}

#[derive(Default)]
struct Inner {
    /// Default mode: key → clients that read it (Redis's TrackingTable; key names, any db).
    keys: HashMap<Bytes, HashSet<u64>>,
    /// BCAST: prefix → clients (lexicographic, as Redis's PrefixTable).
    prefixes: BTreeMap<Bytes, HashSet<u64>>,
    /// Clients with tracking on.
    clients: HashMap<u64, Tracker>,
}

/// An invalidation to deliver: to client `to`, keys (None = everything, after a flush).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalidation {
    /// Client that receives it (the tracking client or its REDIRECT target).
    pub to: u64,
    /// The tracking client it is for.
    pub owner: u64,
    /// The keys; `None` after FLUSHALL/FLUSHDB.
    pub keys: Option<Vec<Bytes>>,
}

/// The server's tracking tables.
#[derive(Default)]
pub struct Tracking {
    count: AtomicUsize,
    inner: Mutex<Inner>,
}

impl Tracking {
    /// True if any client tracks (one atomic load).
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Turns tracking on (or updates it) for client `id`.
    pub fn enable(&self, id: u64, t: &ClientTracking) {
        let mut h = self.inner.lock();
        for p in &t.prefixes {
            h.prefixes.entry(p.clone()).or_default().insert(id);
        }
        h.clients.insert(id, Tracker { redirect: t.redirect, bcast: t.bcast, noloop: t.noloop });
        self.count.store(h.clients.len(), Ordering::Relaxed);
    }

    /// Turns tracking off for client `id` (its remembered keys are dropped lazily, as Redis).
    pub fn disable(&self, id: u64, t: &ClientTracking) {
        let mut h = self.inner.lock();
        for p in &t.prefixes {
            if let Some(set) = h.prefixes.get_mut(p) {
                set.remove(&id);
                if set.is_empty() {
                    h.prefixes.remove(p);
                }
            }
        }
        h.clients.remove(&id);
        self.count.store(h.clients.len(), Ordering::Relaxed);
    }

    /// Remembers that client `id` read `keys` (default mode).
    pub fn remember(&self, id: u64, keys: impl Iterator<Item = Bytes>) {
        let mut h = self.inner.lock();
        for k in keys {
            h.keys.entry(k).or_default().insert(id);
        }
    }

    /// The invalidations for `keys` written by client `writer` (0 = the server: expiry): in
    /// default mode one message per key and reader, the key forgotten; in BCAST mode one
    /// message per prefix and follower with its keys (sorted, once each).
    pub fn invalidate(&self, writer: u64, keys: &[Bytes]) -> Vec<Invalidation> {
        let mut h = self.inner.lock();
        let mut out = Vec::new();
        for k in keys {
            let Some(readers) = h.keys.remove(k) else { continue };
            let mut readers: Vec<u64> = readers.into_iter().collect();
            readers.sort_unstable();
            for id in readers {
                let Some(t) = h.clients.get(&id) else { continue };
                if t.bcast || (t.noloop && id == writer) {
                    continue;
                }
                out.push(Invalidation { to: target(id, t), owner: id, keys: Some(vec![k.clone()]) });
            }
        }
        for (prefix, followers) in &h.prefixes {
            let mut matched: Vec<Bytes> = keys.iter().filter(|k| k.starts_with(prefix)).cloned().collect();
            if matched.is_empty() {
                continue;
            }
            matched.sort();
            matched.dedup();
            let mut followers: Vec<u64> = followers.iter().copied().collect();
            followers.sort_unstable();
            for id in followers {
                let Some(t) = h.clients.get(&id) else { continue };
                // NOLOOP: the follower's own writes are left out (they are all of them here).
                if t.noloop && id == writer {
                    continue;
                }
                out.push(Invalidation { to: target(id, t), owner: id, keys: Some(matched.clone()) });
            }
        }
        out
    }

    /// FLUSHALL/FLUSHDB: every tracking client gets a null invalidation; the tables empty.
    pub fn flush(&self) -> Vec<Invalidation> {
        let mut h = self.inner.lock();
        h.keys.clear();
        let mut ids: Vec<(u64, Tracker)> = h.clients.iter().map(|(id, t)| (*id, t.clone())).collect();
        ids.sort_unstable_by_key(|(id, _)| *id);
        ids.into_iter().map(|(id, t)| Invalidation { to: target(id, &t), owner: id, keys: None }).collect()
    }
}

fn target(id: u64, t: &Tracker) -> u64 {
    if t.redirect != 0 {
        t.redirect
    } else {
        id
    }
}

/// The keys of an invalidation as a RESP array (a push's or message's payload); empty for the
/// null of a flush (each face writes its protocol's null).
pub fn keys_frame(keys: &Option<Vec<Bytes>>) -> Bytes {
    let Some(keys) = keys else { return Bytes::new() };
    let mut out = BytesMut::new();
    out.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
    for k in keys {
        stashd_resp::encode::bulk(&mut out, k);
    }
    out.freeze()
}

/// Checks BCAST prefixes as Redis does: none may be a prefix of another, among the new ones and
/// against the client's current ones.
pub fn check_prefixes(current: &[Bytes], new: &[Bytes]) -> Result<(), String> {
    for (i, p) in new.iter().enumerate() {
        for q in current.iter().chain(new.iter().skip(i + 1)).chain(new.iter().take(i)) {
            if p != q && (p.starts_with(q) || q.starts_with(p)) {
                let is_current = current.contains(q);
                return Err(format!(
                    "Prefix '{}' overlaps with {} prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    if is_current { "an existing" } else { "another provided" },
                    String::from_utf8_lossy(q)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn default_mode_invalidates_readers_once() {
        let t = Tracking::default();
        assert!(!t.active());
        t.enable(1, &ClientTracking::default());
        t.enable(2, &ClientTracking { redirect: 9, noloop: true, ..Default::default() });
        assert!(t.active());
        t.remember(1, [b("k")].into_iter());
        t.remember(2, [b("k")].into_iter());
        let inv = t.invalidate(2, &[b("k"), b("other")]);
        assert_eq!(inv, vec![Invalidation { to: 1, owner: 1, keys: Some(vec![b("k")]) }]);
        assert!(t.invalidate(3, &[b("k")]).is_empty());
        t.remember(2, [b("k")].into_iter());
        assert_eq!(t.invalidate(3, &[b("k")]), vec![Invalidation { to: 9, owner: 2, keys: Some(vec![b("k")]) }]);
        assert_eq!(t.flush().len(), 2);
        t.disable(1, &ClientTracking::default());
        t.disable(2, &ClientTracking::default());
        assert!(!t.active());
    }

    #[test]
    fn bcast_groups_keys_by_prefix() {
        let t = Tracking::default();
        t.enable(1, &ClientTracking { bcast: true, prefixes: vec![b("a"), b("b")], ..Default::default() });
        let inv = t.invalidate(5, &[b("b2"), b("a1"), b("c"), b("a0"), b("a1")]);
        assert_eq!(
            inv,
            vec![
                Invalidation { to: 1, owner: 1, keys: Some(vec![b("a0"), b("a1")]) },
                Invalidation { to: 1, owner: 1, keys: Some(vec![b("b2")]) },
            ]
        );
        assert_eq!(keys_frame(&Some(vec![b("a")])), Bytes::from_static(b"*1\r\n$1\r\na\r\n"));
        assert!(keys_frame(&None).is_empty());
    }

    #[test]
    fn overlapping_prefixes_are_refused_with_redis_text() {
        assert_eq!(
            check_prefixes(&[], &[b("ab"), b("a")]).unwrap_err(),
            "Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap."
        );
        assert!(check_prefixes(&[b("a")], &[b("ab")]).unwrap_err().contains("an existing prefix 'a'"));
        assert!(check_prefixes(&[b("a")], &[b("b"), b("c")]).is_ok());
    }
}
