//! The execution context a handler receives: the keyspace (with lazy expiry), the client's session,
//! the shared server state, the current time, and the effects to append to the log.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::compact::CompactBytes;
use crate::engine::Shared;
use crate::error::{CmdError, CmdResult};
use crate::hash::Hash;
use crate::keyspace::{Db, Keyspace};
use crate::session::{Face, Session};
use crate::value::{Entry, Set, Value};
use crate::zset::ZSet;

pub use crate::aof::EffectLog;

/// A write to record in the append-only log: the database and the command that reproduces it.
pub type Effect = (usize, Vec<Bytes>);

/// What a blocking command waits for: keys to be signalled, and its timeout in ms (0 = forever).
#[derive(Debug, Clone)]
pub struct BlockRequest {
    /// Keys (in the client's db) whose modification should retry the command.
    pub keys: Vec<Bytes>,
    /// Timeout in milliseconds; 0 waits forever.
    pub timeout_ms: u64,
    /// The command to retry instead of the one received (XREAD's `$` resolved to an id).
    pub rerun: Option<Vec<Bytes>>,
}

/// Everything a command handler works with.
pub struct Ctx<'a> {
    /// The whole keyspace (all databases).
    pub ks: &'a mut Keyspace,
    /// The calling client.
    pub session: &'a mut Session,
    /// Server-wide state (clock, config, log, clients).
    pub shared: &'a Shared,
    /// Time at the start of the command, in Unix ms (fixed for the whole command, as Redis does).
    pub now: u64,
    pub(crate) effects: EffectLog,
    pub(crate) custom_effects: bool,
    /// Whether effects are kept (a log is attached and this is not a replay).
    pub(crate) logging: bool,
    pub(crate) block: Option<BlockRequest>,
    /// Keys signalled beyond the declared ones, kept for keyspace notifications (only while
    /// notifications are on); `call()` drains them.
    pub(crate) notify_keys: Vec<(usize, Bytes)>,
    /// Keyspace events a handler chose for its first key, replacing the ones derived from the
    /// command name (hash field expiry commands name them after what happened to the fields).
    pub(crate) events: Option<Vec<(u32, &'static str)>>,
    /// Nesting of `call()` (EXEC and scripts run commands inside a command): the slow log takes
    /// only the outermost.
    pub(crate) depth: u32,
    /// Set by `call()` when the command it ran failed and was counted in `INFO errorstats`, so
    /// `dispatch()` does not count it again.
    pub(crate) counted_error: bool,
}

macro_rules! typed_access {
    ($get:ident, $get_mut:ident, $or_create:ident, $variant:ident, $ty:ty, $new:expr) => {
        typed_access!($get, $get_mut, $or_create, $variant, $ty, $new, |v| v);
    };
    ($get:ident, $get_mut:ident, $or_create:ident, $variant:ident, $ty:ty, $new:expr, boxed) => {
        typed_access!($get, $get_mut, $or_create, $variant, $ty, std::sync::Arc::new($new), |v| std::sync::Arc::make_mut(v));
    };
    ($get:ident, $get_mut:ident, $or_create:ident, $variant:ident, $ty:ty, $new:expr, |$v:ident| $unbox:expr) => {
        /// Reads the value at `key` if it has this type; `WRONGTYPE` if another type.
        pub fn $get(&mut self, key: &[u8]) -> CmdResult<Option<&$ty>> {
            match self.lookup(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(CmdError::WrongType),
            }
        }
        /// Mutable access to the value at `key` if it has this type; `WRONGTYPE` if another type.
        pub fn $get_mut(&mut self, key: &[u8]) -> CmdResult<Option<&mut $ty>> {
            match self.lookup_mut(key) {
                None => Ok(None),
                Some(Value::$variant($v)) => Ok(Some($unbox)),
                Some(_) => Err(CmdError::WrongType),
            }
        }
        /// Mutable access, creating an empty value (without TTL) when the key is missing.
        pub fn $or_create(&mut self, key: &[u8]) -> CmdResult<&mut $ty> {
            if self.live_index(key).is_none() {
                let now_s = (self.now / 1000) as u32;
                self.ks.stats.keyspace_misses += 1;
                self.db().insert(key, Value::$variant($new), 0, now_s);
            }
            match self.lookup_mut(key) {
                Some(Value::$variant($v)) => Ok($unbox),
                _ => Err(CmdError::WrongType),
            }
        }
    };
}

impl<'a> Ctx<'a> {
    /// A context for one top-level command.
    pub fn new(ks: &'a mut Keyspace, session: &'a mut Session, shared: &'a Shared, now: u64) -> Self {
        let logging = shared.aof().is_some() && session.face != Face::Loading;
        Ctx {
            ks,
            session,
            shared,
            now,
            effects: EffectLog::default(),
            custom_effects: false,
            logging,
            block: None,
            notify_keys: Vec::new(),
            events: None,
            depth: 0,
            counted_error: false,
        }
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.session.db]
    }

    /// Index of the selected database.
    pub fn db_index(&self) -> usize {
        self.session.db
    }

    /// True if an entry with this expiry is due. Never during log replay: the log holds what
    /// happened while keys were alive, so replay must see them as they were (like Redis, which
    /// does not expire keys while loading).
    fn is_expired(&self, expire_at: u64) -> bool {
        expire_at != 0 && expire_at <= self.now && self.session.face != Face::Loading
    }

    /// Deletes `key` if its TTL has passed (recording a `DEL` effect). Returns true if it did.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let dbi = self.session.db;
        let expired = matches!(self.ks.dbs[dbi].map.get(key), Some(e) if self.is_expired(e.expire_at));
        // While clients are paused keys do not expire: they read as missing but stay (Redis 7).
        if expired && self.shared.pause.expiry_allowed(self.now) {
            self.reclaim_expired(dbi, key);
        }
        expired
    }

    /// Removes an expired key of db `dbi`, counting it and logging a `DEL`.
    pub(crate) fn reclaim_expired(&mut self, dbi: usize, key: &[u8]) {
        let key = Bytes::copy_from_slice(key);
        self.ks.dbs[dbi].remove(&key);
        self.ks.stats.expired_keys += 1;
        self.ks.signal_modified(dbi, &key);
        let flags = self.shared.notify_flags.load(std::sync::atomic::Ordering::Relaxed);
        if flags & crate::notify::EXPIRED != 0 && self.session.face != Face::Loading {
            crate::notify::publish(self.shared, flags, crate::notify::EXPIRED, "expired", dbi, &key);
        }
        if self.logging {
            self.effects.push(dbi, &[&b"DEL"[..], &key[..]]);
        }
    }

    /// Position of the live entry at `key` in the selected db, reclaiming it if expired (and the
    /// expired fields of a hash). One hash probe; callers then reach the entry by position.
    fn live_index(&mut self, key: &[u8]) -> Option<usize> {
        let dbi = self.session.db;
        let (i, _, e) = self.ks.dbs[dbi].map.get_full(key)?;
        if self.is_expired(e.expire_at) {
            if self.shared.pause.expiry_allowed(self.now) {
                self.reclaim_expired(dbi, key);
            }
            return None;
        }
        // A hash reclaims its expired fields on any access, and goes away with the last one.
        let fields_due = matches!(&e.value, Value::Hash(h) if h.has_expired(self.now));
        if fields_due && self.reclaim_expired_fields(dbi, key, usize::MAX).1 {
            return None;
        }
        Some(i)
    }

    /// The live entry at `key` (after lazy expiry), without touching hit/miss statistics.
    pub fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let i = self.live_index(key)?;
        self.db().map.get_index_mut(i).map(|(_, e)| e)
    }

    /// The live value at `key` for reading (counts a keyspace hit or miss).
    pub fn lookup(&mut self, key: &[u8]) -> Option<&Value> {
        let now_s = (self.now / 1000) as u32;
        match self.live_index(key) {
            Some(i) => {
                self.ks.stats.keyspace_hits += 1;
                let e = self.db().map.get_index_mut(i).map(|(_, e)| e)?;
                e.atime = now_s;
                Some(&e.value)
            }
            None => {
                self.ks.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// [`Ctx::lookup`] without updating the key's access time (Redis's `LOOKUP_NOTOUCH`, for
    /// TYPE, EXISTS, TTL...): counts the keyspace hit or miss, leaves `OBJECT IDLETIME` alone.
    pub fn lookup_notouch(&mut self, key: &[u8]) -> Option<&Value> {
        match self.live_index(key) {
            Some(i) => {
                self.ks.stats.keyspace_hits += 1;
                self.db().map.get_index(i).map(|(_, e)| &e.value)
            }
            None => {
                self.ks.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// The live value at `key` for writing.
    pub fn lookup_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let now_s = (self.now / 1000) as u32;
        let e = self.entry(key)?;
        e.atime = now_s;
        Some(&mut e.value)
    }

    /// True if `key` exists (after lazy expiry).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.live_index(key).is_some()
    }

    /// Stores `value` at `key` with absolute expiry `expire_at` (0 = none), replacing any old value.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) {
        let now_s = (self.now / 1000) as u32;
        self.db().insert(key, value, expire_at, now_s);
    }

    /// Deletes `key`; returns true if it existed (and had not expired).
    pub fn delete(&mut self, key: &[u8]) -> bool {
        if self.expire_if_needed(key) {
            return false;
        }
        self.db().remove(key).is_some()
    }

    /// Deletes `key` if it holds an empty collection (Redis never keeps empty aggregates).
    pub fn delete_if_empty(&mut self, key: &[u8]) {
        let empty = match self.db().map.get(key).map(|e| &e.value) {
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty {
            self.db().remove(key);
        }
    }

    /// Finishes a removal of `n` elements from the collection at `key`: deletes the key if it
    /// became empty and counts the change. Does nothing when `n` is 0.
    pub fn removed(&mut self, key: &[u8], n: usize) {
        if n > 0 {
            self.delete_if_empty(key);
            self.dirty(n as u64);
        }
    }

    /// The key's absolute expiry (0 = none), or None if missing.
    pub fn expire_at(&mut self, key: &[u8]) -> Option<u64> {
        self.entry(key).map(|e| e.expire_at)
    }

    /// Sets (or with 0 clears) the expiry of an existing key.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        self.expire_if_needed(key);
        self.db().set_expire(key, at)
    }

    /// Counts `n` modifications (feeds the log, WATCH, the sync token).
    pub fn dirty(&mut self, n: u64) {
        self.ks.dirty += n;
    }

    /// Signals that `key` changed (WATCH versions, blocked clients) beyond the command's declared keys.
    pub fn signal(&mut self, key: &Bytes) {
        let dbi = self.session.db;
        self.ks.signal_modified(dbi, key);
        if self.shared.notify_flags.load(std::sync::atomic::Ordering::Relaxed) != 0 {
            self.notify_keys.push((dbi, key.clone()));
        }
    }

    /// Logs `args` (in the selected db) instead of the command as received, for commands whose
    /// effect must be made deterministic (relative TTLs, random picks, floats). May be called
    /// several times; calling it with nothing logs nothing.
    pub fn propagate(&mut self, args: Vec<Bytes>) {
        self.custom_effects = true;
        if self.logging {
            self.effects.push(self.session.db, &args);
        }
    }

    /// Declares that the command logs nothing of its own even though it counted as dirty.
    pub fn propagate_none(&mut self) {
        self.custom_effects = true;
    }

    /// Asks the face to park the client until one of `keys` changes or the timeout passes.
    /// The handler returns the reply to send if it times out.
    pub fn block_on(&mut self, keys: Vec<Bytes>, timeout_ms: u64) {
        self.block = Some(BlockRequest { keys, timeout_ms, rerun: None });
    }

    /// [`Ctx::block_on`], retrying `rerun` instead of the command received.
    pub fn block_on_rerun(&mut self, keys: Vec<Bytes>, timeout_ms: u64, rerun: Vec<Bytes>) {
        self.block = Some(BlockRequest { keys, timeout_ms, rerun: Some(rerun) });
    }

    /// Names the keyspace events of this command's first key (class, event), instead of the
    /// ones derived from the command name; `new`/`del` are still added from what happened.
    pub fn set_events(&mut self, events: Vec<(u32, &'static str)>) {
        self.events = Some(events);
    }

    /// Reclaims up to `limit` expired fields of the hash at `key` in db `dbi` (not while
    /// loading, and not if the key itself is past its TTL: that is the key's expiry to handle):
    /// logs one `HDEL`, publishes `hexpired` (and `del` if the hash emptied and went away),
    /// signals the key. Returns (fields reclaimed, key deleted).
    pub(crate) fn reclaim_expired_fields(&mut self, dbi: usize, key: &[u8], limit: usize) -> (usize, bool) {
        if self.session.face == Face::Loading {
            return (0, false);
        }
        let now = self.now;
        let Some(e) = self.ks.dbs[dbi].map.get_mut(key) else {
            return (0, false);
        };
        if e.expire_at != 0 && e.expire_at <= now {
            return (0, false);
        }
        let Value::Hash(h) = &mut e.value else {
            return (0, false);
        };
        if !h.has_expired(now) {
            return (0, false);
        }
        let h = std::sync::Arc::make_mut(h);
        let fields = h.take_expired(now, limit);
        let emptied = h.is_empty();
        let n = fields.len();
        let key = Bytes::copy_from_slice(key);
        if emptied {
            self.ks.dbs[dbi].remove(&key);
        }
        self.ks.stats.expired_subkeys += n as u64;
        self.ks.signal_modified(dbi, &key);
        let flags = self.shared.notify_flags.load(std::sync::atomic::Ordering::Relaxed);
        if flags != 0 {
            crate::notify::publish(self.shared, flags, crate::notify::HASH, "hexpired", dbi, &key);
            if emptied {
                crate::notify::publish(self.shared, flags, crate::notify::GENERIC, "del", dbi, &key);
            }
        }
        if self.logging {
            for chunk in fields.chunks(1024) {
                let mut args = Vec::with_capacity(chunk.len() + 2);
                args.push(Bytes::from_static(b"HDEL"));
                args.push(key.clone());
                args.extend_from_slice(chunk);
                self.effects.push(dbi, &args);
            }
        }
        (n, emptied)
    }

    /// Position of the live hash at `key` (its expired fields reclaimed by [`Ctx::live_index`]:
    /// None if it went with them); `WRONGTYPE` for another type.
    fn hash_index(&mut self, key: &[u8]) -> CmdResult<Option<usize>> {
        let Some(i) = self.live_index(key) else {
            return Ok(None);
        };
        match self.db().map.get_index(i).map(|(_, e)| &e.value) {
            Some(Value::Hash(_)) => Ok(Some(i)),
            Some(_) => Err(CmdError::WrongType),
            None => Ok(None),
        }
    }

    /// Reads the hash at `key` (expired fields reclaimed first); `WRONGTYPE` if another type.
    pub fn get_hash(&mut self, key: &[u8]) -> CmdResult<Option<&Hash>> {
        let now_s = (self.now / 1000) as u32;
        let Some(i) = self.hash_index(key)? else {
            self.ks.stats.keyspace_misses += 1;
            return Ok(None);
        };
        self.ks.stats.keyspace_hits += 1;
        match self.db().map.get_index_mut(i).map(|(_, e)| e) {
            Some(e) => {
                e.atime = now_s;
                match &e.value {
                    Value::Hash(h) => Ok(Some(h)),
                    _ => Err(CmdError::WrongType),
                }
            }
            None => Ok(None),
        }
    }

    /// Mutable access to the hash at `key` (expired fields reclaimed first).
    pub fn get_hash_mut(&mut self, key: &[u8]) -> CmdResult<Option<&mut Hash>> {
        let now_s = (self.now / 1000) as u32;
        let Some(i) = self.hash_index(key)? else {
            return Ok(None);
        };
        match self.db().map.get_index_mut(i).map(|(_, e)| e) {
            Some(e) => {
                e.atime = now_s;
                match &mut e.value {
                    Value::Hash(h) => Ok(Some(std::sync::Arc::make_mut(h))),
                    _ => Err(CmdError::WrongType),
                }
            }
            None => Ok(None),
        }
    }

    /// Mutable access to the hash at `key`, creating an empty one (without TTL) when missing.
    pub fn hash_or_create(&mut self, key: &[u8]) -> CmdResult<&mut Hash> {
        if self.hash_index(key)?.is_none() {
            let now_s = (self.now / 1000) as u32;
            self.ks.stats.keyspace_misses += 1;
            self.db().insert(key, Value::Hash(std::sync::Arc::new(Hash::new())), 0, now_s);
        }
        match self.get_hash_mut(key)? {
            Some(h) => Ok(h),
            None => Err(CmdError::WrongType),
        }
    }

    /// Registers the hash at `key` with the active expiry cycle after one of its fields got a TTL.
    pub fn track_field_ttls(&mut self, key: &[u8]) {
        self.db().track_field_ttls(key);
    }

    typed_access!(get_str, get_str_mut, str_or_create, Str, CompactBytes, CompactBytes::new());
    typed_access!(get_list, get_list_mut, list_or_create, List, VecDeque<Bytes>, VecDeque::new(), boxed);
    typed_access!(get_set, get_set_mut, set_or_create, Set, Set<Bytes>, Set::default(), boxed);
    typed_access!(get_zset, get_zset_mut, zset_or_create, ZSet, ZSet, ZSet::new(), boxed);
    typed_access!(get_json, get_json_mut, json_or_create, Json, crate::json::Json, crate::json::Json::Null, boxed);
    typed_access!(get_array, get_array_mut, array_or_create, Array, crate::array::SparseArray, crate::array::SparseArray::new(), boxed);
    typed_access!(get_stream, get_stream_mut, stream_or_create, Stream, crate::stream::Stream, crate::stream::Stream::default(), boxed);
}
