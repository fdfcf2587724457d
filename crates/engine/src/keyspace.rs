//! The keyspace: 16 databases of entries, expiry bookkeeping, WATCH versions and blocked-client wake-ups.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::value::{Entry, Map, Set, Value};

/// Number of databases (`SELECT 0..15`).
pub const NUM_DBS: usize = 16;

/// One database: the key→entry map and the set of keys carrying a TTL.
#[derive(Debug, Default, Clone)]
pub struct Db {
    /// All live (and not yet reclaimed expired) keys.
    pub map: Map<Bytes, Entry>,
    /// Keys whose entry has `expire_at != 0`; sampled by the active expiry cycle.
    pub expires: Set<Bytes>,
}

impl Db {
    /// Number of keys (including expired keys not yet reclaimed, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True if no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Inserts or replaces `key`, keeping the expires index in sync.
    pub fn insert(&mut self, key: Bytes, value: Value, expire_at: u64, now_s: u32) {
        if expire_at != 0 {
            self.expires.insert(key.clone());
        } else if !self.expires.is_empty() {
            self.expires.swap_remove(&key);
        }
        self.map.insert(key, Entry { value, expire_at, atime: now_s });
    }
    /// Removes `key`; returns the entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.map.swap_remove(key)?;
        if e.expire_at != 0 {
            self.expires.swap_remove(key);
        }
        Some(e)
    }
    /// Sets or clears the expiry of an existing key. Returns false if the key is missing.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some((_, k, e)) = self.map.get_full_mut(key) else {
            return false;
        };
        if at == 0 {
            if e.expire_at != 0 {
                e.expire_at = 0;
                self.expires.swap_remove(key);
            }
        } else {
            if e.expire_at == 0 {
                self.expires.insert(k.clone());
            }
            e.expire_at = at;
        }
        true
    }
    /// Drops every key.
    pub fn clear(&mut self) {
        self.map = Map::default();
        self.expires = Set::default();
    }
}

/// Counters reported by `INFO stats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Keys reclaimed because their TTL passed.
    pub expired_keys: u64,
    /// Successful key lookups by read commands.
    pub keyspace_hits: u64,
    /// Failed key lookups by read commands.
    pub keyspace_misses: u64,
    /// Commands executed.
    pub commands: u64,
}

/// All databases plus the cross-cutting state commands touch.
#[derive(Debug)]
pub struct Keyspace {
    /// The databases.
    pub dbs: Vec<Db>,
    /// Write counter: grows with every modification (feeds the REST sync token and `INFO`).
    pub dirty: u64,
    /// Per watched key: (number of watchers, version). Versions grow on every modification.
    pub watched: HashMap<(usize, Bytes), (usize, u64)>,
    /// Clients parked on a key by a blocking command.
    pub blocked: HashMap<(usize, Bytes), Vec<Arc<Notify>>>,
    /// Statistics.
    pub stats: Stats,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace {
            dbs: (0..NUM_DBS).map(|_| Db::default()).collect(),
            dirty: 0,
            watched: HashMap::new(),
            blocked: HashMap::new(),
            stats: Stats::default(),
        }
    }
}

impl Keyspace {
    /// Signals that `key` in `db` changed: bumps its WATCH version and wakes blocked clients.
    pub fn signal_modified(&mut self, db: usize, key: &Bytes) {
        if !self.watched.is_empty() {
            if let Some((_, v)) = self.watched.get_mut(&(db, key.clone())) {
                *v += 1;
            }
        }
        if !self.blocked.is_empty() {
            if let Some(waiters) = self.blocked.remove(&(db, key.clone())) {
                for w in waiters {
                    w.notify_one();
                }
            }
        }
    }

    /// Bumps the WATCH version of every watched key of `db` (FLUSHDB, SWAPDB); `None` = every db.
    pub fn signal_db(&mut self, db: Option<usize>) {
        for ((d, _), (_, v)) in self.watched.iter_mut() {
            if db.is_none_or(|x| x == *d) {
                *v += 1;
            }
        }
        let keys: Vec<_> = self.blocked.keys().filter(|(d, _)| db.is_none_or(|x| x == *d)).cloned().collect();
        for k in keys {
            if let Some(ws) = self.blocked.remove(&k) {
                ws.into_iter().for_each(|w| w.notify_one());
            }
        }
    }

    /// Drops registrations of clients that stopped waiting (timed out or disconnected): the face
    /// holds the only other reference to a waiter's `Notify` while it waits.
    pub fn sweep_blocked(&mut self) {
        self.blocked.retain(|_, waiters| {
            waiters.retain(|w| Arc::strong_count(w) > 1);
            !waiters.is_empty()
        });
    }

    /// Current WATCH version of a key (registers nothing).
    pub fn watch_version(&self, db: usize, key: &Bytes) -> u64 {
        self.watched.get(&(db, key.clone())).map_or(0, |(_, v)| *v)
    }
}
