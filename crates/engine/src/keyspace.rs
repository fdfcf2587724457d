//! The keyspace: 16 databases of entries, expiry bookkeeping, WATCH versions and blocked-client wake-ups.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::compact::CompactBytes;
use crate::value::{Entry, Map, Set, Value};

/// Number of databases (`SELECT 0..15`).
pub const NUM_DBS: usize = 16;

/// One database: the key→entry map and the positions of the entries carrying a TTL.
///
/// The TTL index is a plain vector of map positions; each entry with a TTL records its slot in
/// it (`Entry::ttl_slot`), so adding, removing and sampling are O(1) at 4 bytes per key. Every
/// change of a key's presence or TTL must go through these methods to keep both in step.
#[derive(Debug, Default, Clone)]
pub struct Db {
    /// All live (and not yet reclaimed expired) keys.
    pub map: Map<CompactBytes, Entry>,
    /// Map positions of the entries whose `expire_at != 0`.
    ttl: Vec<u32>,
    /// Keys of hashes with field TTLs, sampled by the active expiry cycle. Added to whenever a
    /// hash gets a field TTL or is stored with some; removed from when the key goes away or the
    /// cycle finds the hash without TTLs.
    hexpires: Set<CompactBytes>,
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
    /// Number of keys with a TTL.
    pub fn ttl_len(&self) -> usize {
        self.ttl.len()
    }

    /// The expiry times of up to `n` keys with a TTL (`INFO keyspace`'s `avg_ttl` sample).
    pub fn ttl_sample(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        self.ttl.iter().take(n).filter_map(|&i| self.map.get_index(i as usize)).map(|(_, e)| e.expire_at)
    }
    /// The `i`-th key with a TTL (in no particular order), for sampling.
    pub fn ttl_key(&self, i: usize) -> Option<&CompactBytes> {
        let pos = *self.ttl.get(i)? as usize;
        self.map.get_index(pos).map(|(k, _)| k)
    }

    /// Number of keys registered as hashes with field TTLs.
    pub fn field_ttl_len(&self) -> usize {
        self.hexpires.len()
    }
    /// The `i`-th key registered as a hash with field TTLs, for sampling.
    pub fn field_ttl_key(&self, i: usize) -> Option<&CompactBytes> {
        self.hexpires.get_index(i)
    }
    /// Registers `key` as a hash with field TTLs (for the active expiry cycle).
    pub fn track_field_ttls(&mut self, key: &[u8]) {
        if !self.hexpires.contains(key) {
            self.hexpires.insert(CompactBytes::from_slice(key));
        }
    }
    /// Forgets `key` as a hash with field TTLs.
    pub fn untrack_field_ttls(&mut self, key: &[u8]) {
        if !self.hexpires.is_empty() {
            self.hexpires.swap_remove(key);
        }
    }

    fn ttl_add(&mut self, pos: usize) {
        if let Some((_, e)) = self.map.get_index_mut(pos) {
            e.ttl_slot = self.ttl.len() as u32;
            self.ttl.push(pos as u32);
        }
    }

    fn ttl_remove(&mut self, slot: u32) {
        let slot = slot as usize;
        if slot >= self.ttl.len() {
            return;
        }
        self.ttl.swap_remove(slot);
        if let Some(&moved) = self.ttl.get(slot) {
            if let Some((_, e)) = self.map.get_index_mut(moved as usize) {
                e.ttl_slot = slot as u32;
            }
        }
    }

    /// Inserts or replaces `key`, keeping the TTL index in sync.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64, now_s: u32) {
        match &value {
            Value::Hash(h) if h.ttl_count() > 0 => self.track_field_ttls(key),
            _ => self.untrack_field_ttls(key),
        }
        let mut value = Some(value);
        let (pos, inserted) = self.map.index_or_insert_with(key, || {
            let value = value.take().unwrap_or(Value::Str(CompactBytes::new()));
            (CompactBytes::from_slice(key), Entry { value, expire_at, atime: now_s, ttl_slot: 0 })
        });
        if inserted {
            if expire_at != 0 {
                self.ttl_add(pos);
            }
            return;
        }
        // Overwrite in place: keeps the key's position.
        let Some((_, e)) = self.map.get_index_mut(pos) else { return };
        let (had, slot) = (e.expire_at != 0, e.ttl_slot);
        if let Some(v) = value {
            e.value = v;
        }
        e.expire_at = expire_at;
        e.atime = now_s;
        match (had, expire_at != 0) {
            (false, true) => self.ttl_add(pos),
            (true, false) => self.ttl_remove(slot),
            _ => {}
        }
    }
    /// Removes `key`; returns the entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let pos = self.map.get_index_of(key)?;
        self.untrack_field_ttls(key);
        let last = self.map.len() - 1;
        if let Some((_, e)) = self.map.get_index(pos) {
            if e.expire_at != 0 {
                self.ttl_remove(e.ttl_slot);
            }
        }
        // swap_remove moves the last entry into `pos`: repoint its TTL slot first.
        if pos != last {
            if let Some((_, e)) = self.map.get_index(last) {
                if e.expire_at != 0 {
                    if let Some(p) = self.ttl.get_mut(e.ttl_slot as usize) {
                        *p = pos as u32;
                    }
                }
            }
        }
        self.map.swap_remove_index(pos).map(|(_, e)| e)
    }
    /// Sets or clears the expiry of an existing key. Returns false if the key is missing.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some((pos, _, e)) = self.map.get_full_mut(key) else {
            return false;
        };
        let (had, slot) = (e.expire_at != 0, e.ttl_slot);
        e.expire_at = at;
        match (had, at != 0) {
            (false, true) => self.ttl_add(pos),
            (true, false) => self.ttl_remove(slot),
            _ => {}
        }
        true
    }
    /// The cron's share of incremental rehashing: up to `buckets` bucket moves of the key table
    /// (and of the field-TTL registry). Returns true while a rehash is still in progress.
    pub fn rehash_some(&mut self, buckets: usize) -> bool {
        let keys = self.map.rehash_some(buckets);
        self.hexpires.rehash_some(buckets) || keys
    }
    /// Drops every key.
    pub fn clear(&mut self) {
        self.map = Map::default();
        self.ttl = Vec::new();
        self.hexpires = Set::default();
    }
}

/// Counters reported by `INFO stats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Keys reclaimed because their TTL passed.
    pub expired_keys: u64,
    /// Hash fields reclaimed because their TTL passed (`expired_subkeys`).
    pub expired_subkeys: u64,
    /// Successful key lookups by read commands.
    pub keyspace_hits: u64,
    /// Failed key lookups by read commands.
    pub keyspace_misses: u64,
    /// Commands executed.
    pub commands: u64,
    /// Per-command calls, time and latency histogram (`INFO commandstats`, `LATENCY HISTOGRAM`).
    pub cmds: crate::cmdstats::CommandStats,
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
    /// Keys signalled as modified since the engine last took them, kept only while some
    /// client tracks keys (`CLIENT TRACKING`); `None` otherwise.
    pub touched: Option<Vec<Bytes>>,
    /// Statistics.
    pub stats: Stats,
    /// The slow log (`SLOWLOG`).
    pub slowlog: crate::cmdstats::SlowLog,
    /// The Lua VM and script cache (taken out while a script runs, so the script can use the
    /// keyspace; `None` only during that time).
    pub scripting: Option<Box<crate::scripting::Scripting>>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace {
            dbs: (0..NUM_DBS).map(|_| Db::default()).collect(),
            dirty: 0,
            watched: HashMap::new(),
            blocked: HashMap::new(),
            touched: None,
            stats: Stats::default(),
            slowlog: Default::default(),
            scripting: Some(Box::default()),
        }
    }
}

impl Keyspace {
    /// Signals that `key` in `db` changed: bumps its WATCH version and wakes blocked clients.
    pub fn signal_modified(&mut self, db: usize, key: &Bytes) {
        if let Some(t) = self.touched.as_mut() {
            t.push(key.clone());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn check(db: &Db) {
        let with_ttl: Vec<usize> = (0..db.map.len()).filter(|&i| db.map[i].expire_at != 0).collect();
        assert_eq!(with_ttl.len(), db.ttl_len());
        for pos in with_ttl {
            let slot = db.map[pos].ttl_slot as usize;
            assert_eq!(db.ttl[slot] as usize, pos);
        }
    }

    #[test]
    fn ttl_index_stays_consistent_under_random_operations() {
        let mut db = Db::default();
        let mut rng = rand::thread_rng();
        for _ in 0..20_000 {
            let key = format!("k{}", rng.gen_range(0..200));
            match rng.gen_range(0..4) {
                0 => db.insert(key.as_bytes(), Value::Str(CompactBytes::new()), if rng.gen_bool(0.5) { 5 } else { 0 }, 0),
                1 => {
                    db.remove(key.as_bytes());
                }
                2 => {
                    db.set_expire(key.as_bytes(), if rng.gen_bool(0.5) { 7 } else { 0 });
                }
                _ => {
                    if rng.gen_bool(0.01) {
                        db.clear();
                    }
                }
            }
            check(&db);
        }
    }
}
