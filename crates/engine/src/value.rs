//! Stored values: one variant per Redis data type.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::compact::CompactBytes;
use crate::zset::ZSet;

/// The hasher used by every keyspace and collection map (randomly seeded per process).
pub type Hasher = ahash::RandomState;
/// Insertion-ordered hash map with O(1) random access and incremental rehashing (used for the
/// keyspace, hashes and sorted sets).
pub type Map<K, V> = crate::dict::Dict<K, V, Hasher>;
/// Insertion-ordered hash set with O(1) random access and incremental rehashing (used for sets).
pub type Set<T> = crate::dict::DictSet<T, Hasher>;

/// A Redis value. Aggregates sit behind a reference-counted pointer so that the common case, a
/// short string, keeps the whole value in 24 bytes, and so that a snapshot (log rewrite) shares
/// them: writers copy an aggregate only if a snapshot still holds it (`Arc::make_mut`).
#[derive(Debug, Clone)]
pub enum Value {
    /// String (also integers and floats in text form).
    Str(CompactBytes),
    /// List.
    List(Arc<VecDeque<Bytes>>),
    /// Hash (fields and their optional expiry times).
    Hash(Arc<crate::hash::Hash>),
    /// Set.
    Set(Arc<Set<Bytes>>),
    /// Sorted set.
    ZSet(Arc<ZSet>),
    /// Stream.
    Stream(Arc<crate::stream::Stream>),
    /// JSON document (the RedisJSON commands).
    Json(Arc<crate::json::Json>),
    /// Sparse array (Redis 8.8's Array type).
    Array(Arc<crate::array::SparseArray>),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
            // The hosted service reports `json` (a redis-server with the module says `ReJSON-RL`).
            Value::Json(_) => "json",
            Value::Array(_) => "array",
        }
    }

    /// The encoding `OBJECT ENCODING` reports under Redis's default thresholds.
    pub fn encoding(&self) -> &'static str {
        self.encoding_with(&crate::config::Encodings::default())
    }

    /// The encoding `OBJECT ENCODING` reports under the configured thresholds
    /// (`hash-max-listpack-entries` and the like).
    pub fn encoding_with(&self, enc: &crate::config::Encodings) -> &'static str {
        match self {
            Value::Str(b) => {
                if b.len() <= 20
                    && std::str::from_utf8(b).ok().and_then(|s| s.parse::<i64>().ok()).is_some_and(|n| n.to_string().as_bytes() == &b[..])
                {
                    "int"
                } else if b.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => {
                if list_is_listpack(l, enc) {
                    "listpack"
                } else {
                    "quicklist"
                }
            }
            Value::Hash(h) => {
                if hash_is_listpack(h, enc) {
                    // Redis 7.4 turns a small hash into `listpackex` once a field gets a TTL.
                    if h.has_ttl_index() {
                        "listpackex"
                    } else {
                        "listpack"
                    }
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => set_encoding(s, enc),
            Value::ZSet(z) => {
                if zset_is_listpack(z, enc) {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
            Value::Stream(_) => "stream",
            // Redis reports module values as `raw`.
            Value::Json(_) => "raw",
            Value::Array(_) => "sliced-array",
        }
    }

    /// Rough heap footprint in bytes (for `MEMORY USAGE`-style reporting).
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
            Value::List(l) => l.iter().map(|e| e.len() + 16).sum(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>() + h.ttl_approx_size(),
            Value::Set(s) => s.iter().map(|m| m.len() + 40).sum(),
            Value::ZSet(z) => z.iter().map(|(m, _)| m.len() * 2 + 64).sum(),
            Value::Stream(s) => s.approx_size(),
            Value::Json(j) => j.approx_size(),
            Value::Array(a) => a.approx_size(),
        }
    }
}

/// True if `b` is the canonical text of an i64.
pub fn is_int_text(b: &[u8]) -> bool {
    stashd_resp::parse_int(b).is_some_and(|n| {
        let mut buf = itoa::Buffer::new();
        buf.format(n).as_bytes() == b
    })
}

/// A keyspace entry: the value and its absolute expiry time in ms (0 = none).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, or 0 for none. Change it only through
    /// [`Db::set_expire`](crate::keyspace::Db::set_expire) / `Db::insert`, which keep the TTL index.
    pub expire_at: u64,
    /// Last access time in Unix seconds (for `OBJECT IDLETIME`).
    pub atime: u32,
    /// This entry's slot in its database's TTL index (meaningful while `expire_at != 0`).
    pub(crate) ttl_slot: u32,
}

/// Whether Redis keeps this list as one listpack under `list-max-listpack-size` (positive: at
/// most that many entries; negative: -1..-5 = 4..64 KB of listpack bytes, estimated).
pub fn list_is_listpack(l: &VecDeque<Bytes>, enc: &crate::config::Encodings) -> bool {
    let bytes: usize = 7 + l.iter().map(|e| e.len() + if e.len() < 64 { 2 } else { 4 }).sum::<usize>();
    if enc.list_max_listpack_size >= 0 {
        l.len() as i64 <= enc.list_max_listpack_size && bytes <= 8192
    } else {
        let level = (-enc.list_max_listpack_size).clamp(1, 5) as u32;
        bytes <= 4096usize << (level - 1)
    }
}

/// Whether Redis keeps this hash as a listpack (`hash-max-listpack-entries`/`-value`).
pub fn hash_is_listpack(h: &crate::hash::Hash, enc: &crate::config::Encodings) -> bool {
    h.len() as u64 <= enc.hash_max_listpack_entries
        && h.iter().all(|(k, v)| k.len() as u64 <= enc.hash_max_listpack_value && v.len() as u64 <= enc.hash_max_listpack_value)
}

/// The encoding Redis gives this set: `intset` (`set-max-intset-entries`), `listpack`
/// (`set-max-listpack-entries`/`-value`) or `hashtable`.
pub fn set_encoding(s: &Set<Bytes>, enc: &crate::config::Encodings) -> &'static str {
    if s.len() as u64 <= enc.set_max_intset_entries && s.iter().all(|m| is_int_text(m)) {
        "intset"
    } else if s.len() as u64 <= enc.set_max_listpack_entries && s.iter().all(|m| m.len() as u64 <= enc.set_max_listpack_value) {
        "listpack"
    } else {
        "hashtable"
    }
}

/// Whether Redis keeps this sorted set as a listpack (`zset-max-listpack-entries`/`-value`).
pub fn zset_is_listpack(z: &ZSet, enc: &crate::config::Encodings) -> bool {
    z.len() as u64 <= enc.zset_max_listpack_entries && z.iter().all(|(m, _)| m.len() as u64 <= enc.zset_max_listpack_value)
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_footprint() {
        // A short string value fits in the compact string's 24 bytes; keep entries small.
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
        eprintln!("Entry = {} bytes", std::mem::size_of::<super::Entry>());
    }
}
