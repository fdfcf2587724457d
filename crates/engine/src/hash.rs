//! The hash value: fields in insertion order, plus per-field expiry times (Redis 7.4's hash
//! field expiration) kept in a side structure that only hashes which ever had a field TTL
//! allocate, so a plain hash costs what a bare map costs.
//!
//! Reads go through `Deref` to the field map. Every change goes through the methods here, which
//! keep the TTL index in step with the fields (there is deliberately no `DerefMut`).

use std::collections::{BTreeSet, HashMap};
use std::ops::Deref;

use bytes::Bytes;

use crate::value::{Hasher, Map};

/// True if a field whose expiry is `at` is gone at `now` (Redis: a field lives through its
/// expiry millisecond, `expire < now` means expired).
pub fn field_expired(at: u64, now: u64) -> bool {
    at < now
}

/// Expiry times of the fields that have one.
#[derive(Debug, Clone, Default)]
struct FieldTtls {
    /// Field → absolute expiry (Unix ms).
    at: HashMap<Bytes, u64, Hasher>,
    /// The same, ordered by time, to find what is due without scanning.
    by_time: BTreeSet<(u64, Bytes)>,
}

/// A Redis hash.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    fields: Map<Bytes, Bytes>,
    /// Allocated the first time a field gets a TTL and kept afterwards (as Redis keeps the
    /// `listpackex` encoding), so `OBJECT ENCODING` stays stable.
    ttl: Option<Box<FieldTtls>>,
}

impl Deref for Hash {
    type Target = Map<Bytes, Bytes>;
    fn deref(&self) -> &Map<Bytes, Bytes> {
        &self.fields
    }
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Hash::default()
    }

    /// Sets `field` to `value` and drops its TTL (HSET). Returns the old value.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> Option<Bytes> {
        self.clear_ttl(&field);
        self.fields.insert(field, value)
    }

    /// Sets `field` to `value`, keeping its TTL if it has one (HINCRBY, HSETEX KEEPTTL).
    pub fn insert_keep_ttl(&mut self, field: Bytes, value: Bytes) -> Option<Bytes> {
        self.fields.insert(field, value)
    }

    /// Removes `field` (and its TTL). Returns its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Bytes> {
        // Small hashes keep their order like Redis's listpacks; larger ones swap (O(1)).
        let v = if self.fields.len() <= 128 { self.fields.shift_remove(field)? } else { self.fields.swap_remove(field)? };
        self.clear_ttl(field);
        Some(v)
    }

    /// The field's expiry (Unix ms), None if it has none or does not exist.
    pub fn expire_at(&self, field: &[u8]) -> Option<u64> {
        self.ttl.as_ref()?.at.get(field).copied()
    }

    /// Sets the expiry of an existing field; false if the field does not exist.
    pub fn set_expire(&mut self, field: &[u8], at: u64) -> bool {
        let Some((_, name, _)) = self.fields.get_full(field) else {
            return false;
        };
        let name = name.clone();
        let t = self.ttl.get_or_insert_with(Box::default);
        if let Some(old) = t.at.insert(name.clone(), at) {
            t.by_time.remove(&(old, name.clone()));
        }
        t.by_time.insert((at, name));
        true
    }

    /// Drops the field's TTL; true if it had one.
    pub fn clear_ttl(&mut self, field: &[u8]) -> bool {
        let Some(t) = self.ttl.as_mut() else {
            return false;
        };
        match t.at.remove_entry(field) {
            Some((name, at)) => {
                t.by_time.remove(&(at, name));
                true
            }
            None => false,
        }
    }

    /// Number of fields with a TTL.
    pub fn ttl_count(&self) -> usize {
        self.ttl.as_ref().map_or(0, |t| t.at.len())
    }

    /// True if the hash ever had a field TTL (Redis's `listpackex` or HFE hashtable).
    pub fn has_ttl_index(&self) -> bool {
        self.ttl.is_some()
    }

    /// The earliest field expiry, if any field has one.
    pub fn min_expire(&self) -> Option<u64> {
        self.ttl.as_ref()?.by_time.first().map(|(at, _)| *at)
    }

    /// True if some field has expired at `now`.
    pub fn has_expired(&self, now: u64) -> bool {
        self.min_expire().is_some_and(|at| field_expired(at, now))
    }

    /// The value of `field` unless it has expired at `now` (for readers outside the hash
    /// commands, which see the hash without reclaiming it, as SORT's `->` lookups).
    pub fn get_live(&self, field: &[u8], now: u64) -> Option<&Bytes> {
        let v = self.fields.get(field)?;
        match self.expire_at(field) {
            Some(at) if field_expired(at, now) => None,
            _ => Some(v),
        }
    }

    /// Removes up to `limit` fields expired at `now`, earliest first; returns their names.
    pub fn take_expired(&mut self, now: u64, limit: usize) -> Vec<Bytes> {
        let mut out = Vec::new();
        let Some(t) = self.ttl.as_mut() else {
            return out;
        };
        while out.len() < limit {
            match t.by_time.first() {
                Some((at, _)) if field_expired(*at, now) => {}
                _ => break,
            }
            let Some((_, name)) = t.by_time.pop_first() else { break };
            t.at.remove(&name);
            if self.fields.len() <= 128 {
                self.fields.shift_remove(&name);
            } else {
                self.fields.swap_remove(&name);
            }
            out.push(name);
        }
        out
    }

    /// Fields with a TTL and their expiry, in no particular order.
    pub fn ttls(&self) -> impl Iterator<Item = (&Bytes, u64)> {
        self.ttl.iter().flat_map(|t| t.at.iter().map(|(f, at)| (f, *at)))
    }

    /// Rough heap footprint of the TTL index.
    pub fn ttl_approx_size(&self) -> usize {
        self.ttl.as_ref().map_or(0, |t| t.at.keys().map(|f| 2 * f.len() + 64).sum::<usize>() + 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn check(h: &Hash) {
        if let Some(t) = &h.ttl {
            assert_eq!(t.at.len(), t.by_time.len());
            for (at, f) in &t.by_time {
                assert_eq!(t.at.get(f), Some(at));
                assert!(h.fields.contains_key(f), "TTL of a missing field");
            }
        }
    }

    #[test]
    fn ttl_index_follows_the_fields() {
        let mut h = Hash::new();
        assert!(!h.has_ttl_index());
        h.insert(b("a"), b("1"));
        h.insert(b("b"), b("2"));
        assert!(!h.set_expire(b"zz", 5));
        assert!(h.set_expire(b"a", 10));
        assert!(h.set_expire(b"b", 5));
        assert_eq!(h.min_expire(), Some(5));
        assert!(h.set_expire(b"b", 20));
        assert_eq!(h.min_expire(), Some(10));
        h.insert_keep_ttl(b("a"), b("x"));
        assert_eq!(h.expire_at(b"a"), Some(10));
        h.insert(b("a"), b("y"));
        assert_eq!(h.expire_at(b"a"), None);
        assert_eq!(h.get_live(b"b", 20), Some(&b("2")));
        assert_eq!(h.get_live(b"b", 21), None);
        assert!(h.has_expired(21) && !h.has_expired(20));
        assert_eq!(h.take_expired(21, 10), vec![b("b")]);
        assert_eq!(h.len(), 1);
        assert!(h.has_ttl_index());
        assert_eq!(h.ttl_count(), 0);
        check(&h);
    }

    #[test]
    fn random_operations_keep_the_index_consistent() {
        let mut h = Hash::new();
        let mut rng = rand::thread_rng();
        for _ in 0..20_000 {
            let f = b(&format!("f{}", rng.gen_range(0..50)));
            match rng.gen_range(0..6) {
                0 => {
                    h.insert(f, b("v"));
                }
                1 => {
                    h.insert_keep_ttl(f, b("w"));
                }
                2 => {
                    h.remove(&f);
                }
                3 => {
                    h.set_expire(&f, rng.gen_range(0..1000));
                }
                4 => {
                    h.clear_ttl(&f);
                }
                _ => {
                    let now = rng.gen_range(0..1000);
                    for g in h.take_expired(now, rng.gen_range(0..5)) {
                        assert!(!h.contains_key(&g));
                    }
                }
            }
            check(&h);
        }
    }
}
