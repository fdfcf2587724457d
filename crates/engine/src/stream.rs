//! The stream type (Redis `t_stream.c`'s data): entries ordered by `<ms>-<seq>` ids, the
//! metadata `XINFO` and `XSETID` expose (last id, entries ever added, largest deleted id), and
//! consumer groups with their pending entries lists (PELs).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

/// A stream entry id, `<ms>-<seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The smallest id, `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id.
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    /// A new id.
    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next id, if there is one.
    pub fn next(self) -> Option<Self> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The previous id, if there is one.
    pub fn prev(self) -> Option<Self> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_sub(1).map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    /// The id as reply bytes.
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An id argument as written: `<ms>`, `<ms>-<seq>` or `<ms>-*` (the sequence left to the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdSpec {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part: `None` if absent (a bare `<ms>`) or `*`.
    pub seq: Option<u64>,
    /// The sequence was `*`.
    pub seq_auto: bool,
}

/// Parses `<ms>[-<seq>]`, also `<ms>-*` when `allow_auto_seq`. `None` if malformed.
pub fn parse_id(arg: &[u8], allow_auto_seq: bool) -> Option<IdSpec> {
    let text = std::str::from_utf8(arg).ok()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('-') {
        None if digits(text) => Some(IdSpec { ms: text.parse().ok()?, seq: None, seq_auto: false }),
        Some((ms, "*")) if allow_auto_seq && digits(ms) => Some(IdSpec { ms: ms.parse().ok()?, seq: None, seq_auto: true }),
        Some((ms, seq)) if digits(ms) && digits(seq) => {
            Some(IdSpec { ms: ms.parse().ok()?, seq: Some(seq.parse().ok()?), seq_auto: false })
        }
        _ => None,
    }
}

/// A stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Entries by id; each a flat list of field, value, field, value ...
    pub entries: BTreeMap<StreamId, Vec<Bytes>>,
    /// The largest id ever added (or set with `XSETID`).
    pub last_id: StreamId,
    /// The largest id ever deleted.
    pub max_deleted_id: StreamId,
    /// How many entries were ever added.
    pub entries_added: u64,
    /// Consumer groups by name (name order, as Redis's radix tree lists them).
    pub groups: BTreeMap<Bytes, Group>,
}

/// A consumer group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The last id delivered to the group (`>` reads entries after it).
    pub last_id: StreamId,
    /// The group's logical read counter (`entries-read`); `None` when unknown.
    pub entries_read: Option<u64>,
    /// Entries delivered and not yet acknowledged, by id.
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// A pending (delivered, unacknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The consumer that owns it.
    pub consumer: Bytes,
    /// When it was last delivered (unix ms).
    pub delivery_time: u64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default)]
pub struct Consumer {
    /// Last time it tried to read or claim (unix ms).
    pub seen_time: u64,
    /// Last time a read or claim gave it entries (unix ms), if ever.
    pub active_time: Option<u64>,
    /// Ids of its pending entries.
    pub pending: BTreeSet<StreamId>,
}

impl Group {
    /// A new group whose last delivered id is `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        Group { last_id, entries_read, ..Default::default() }
    }

    /// The consumer `name`, created (at `now`) if missing.
    pub fn consumer_or_create(&mut self, name: &Bytes, now: u64) -> &mut Consumer {
        self.consumers.entry(name.clone()).or_insert_with(|| Consumer { seen_time: now, active_time: None, pending: BTreeSet::new() })
    }

    /// Removes `id` from the PEL (and its consumer's); true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pending.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Makes `consumer` the owner of pending entry `id` (creating the PEL entry if missing) with
    /// the given delivery time and count.
    pub fn assign(&mut self, id: StreamId, consumer: &Bytes, delivery_time: u64, delivery_count: u64, now: u64) {
        if let Some(old) = self.pel.get(&id).map(|p| p.consumer.clone()) {
            if old != *consumer {
                if let Some(c) = self.consumers.get_mut(&old) {
                    c.pending.remove(&id);
                }
            }
        }
        self.consumer_or_create(consumer, now).pending.insert(id);
        self.pel.insert(id, Pending { consumer: consumer.clone(), delivery_time, delivery_count });
    }

    /// True if the group still needs entry `id`: pending, or not yet delivered.
    pub fn references(&self, id: StreamId) -> bool {
        id > self.last_id || self.pel.contains_key(&id)
    }
}

/// What trimming and deleting do with the groups' references to removed entries
/// (Redis 8.2's `KEEPREF | DELREF | ACKED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefPolicy {
    /// Remove entries, leave pending references in place.
    #[default]
    KeepRef,
    /// Remove entries and every group's pending references to them.
    DelRef,
    /// Remove only entries no group still needs (delivered to all and acknowledged).
    Acked,
}

/// How to trim (XADD's and XTRIM's `MAXLEN`/`MINID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with an id below this.
    MinId(StreamId),
}

impl Stream {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The id the next `XADD *` (or `<ms>-*`) gets, or `None` if it would not be greater than
    /// the last id. `ms` is the wanted milliseconds (the clock for `*`); `explicit_ms` tells a
    /// given `<ms>-*` (which must not be below the last id's) from `*` (which follows the last
    /// id when the clock is behind it).
    pub fn next_id(&self, ms: u64, explicit_ms: bool) -> Option<StreamId> {
        let last = self.last_id;
        if ms > last.ms {
            return Some(StreamId::new(ms, 0));
        }
        if explicit_ms && ms < last.ms {
            return None;
        }
        last.next()
    }

    /// Appends an entry (the id must be greater than the last id).
    pub fn add(&mut self, id: StreamId, fields: Vec<Bytes>) {
        self.entries.insert(id, fields);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Deletes one entry; true if it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let found = self.entries.remove(&id).is_some();
        if found && id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        found
    }

    /// Trims from the oldest end; `limit` caps how many entries go (0 = no cap). Returns how
    /// many were removed. With [`RefPolicy::Acked`] entries some group still needs stay (and
    /// trimming goes on past them); with [`RefPolicy::DelRef`] the groups forget removed entries.
    pub fn trim(&mut self, how: Trim, limit: u64, policy: RefPolicy) -> u64 {
        if policy == RefPolicy::Acked && !self.groups.is_empty() {
            return self.trim_acked(how, limit);
        }
        let mut removed = 0;
        loop {
            if limit != 0 && removed >= limit {
                break;
            }
            let Some((&first, _)) = self.entries.first_key_value() else { break };
            let drop = match how {
                Trim::MaxLen(n) => self.entries.len() as u64 > n,
                Trim::MinId(min) => first < min,
            };
            if !drop {
                break;
            }
            // Trimming, unlike XDEL, leaves `max_deleted_id` alone (as Redis does).
            self.entries.pop_first();
            if policy == RefPolicy::DelRef {
                self.forget(first);
            }
            removed += 1;
        }
        removed
    }

    fn trim_acked(&mut self, how: Trim, limit: u64) -> u64 {
        let candidates: Vec<StreamId> = match how {
            Trim::MaxLen(n) => {
                let excess = (self.entries.len() as u64).saturating_sub(n) as usize;
                self.entries.keys().copied().filter(|id| !self.referenced(*id)).take(excess).collect()
            }
            Trim::MinId(min) => self.entries.range(..min).map(|(id, _)| *id).filter(|id| !self.referenced(*id)).collect(),
        };
        let cap = if limit == 0 { usize::MAX } else { limit as usize };
        let mut removed = 0;
        for id in candidates.into_iter().take(cap) {
            self.entries.remove(&id);
            removed += 1;
        }
        removed
    }

    /// True if some group still needs entry `id` (pending there, or not delivered yet).
    pub fn referenced(&self, id: StreamId) -> bool {
        self.groups.values().any(|g| g.references(id))
    }

    /// Removes every group's pending reference to `id`.
    pub fn forget(&mut self, id: StreamId) {
        for g in self.groups.values_mut() {
            g.ack(id);
        }
    }

    /// The first entry's id, or `0-0` when empty (`recorded-first-entry-id`).
    pub fn first_id(&self) -> StreamId {
        self.entries.first_key_value().map_or(StreamId::MIN, |(id, _)| *id)
    }

    /// The last entry's id, or `0-0` when empty.
    pub fn last_entry_id(&self) -> StreamId {
        self.entries.last_key_value().map_or(StreamId::MIN, |(id, _)| *id)
    }

    /// True if a deleted entry (tombstone) may lie at or after `start` among the entries.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.entries.is_empty() || self.max_deleted_id == StreamId::MIN || self.first_id() > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The logical position (`entries-read` counter) of `id`, when it can be known.
    pub fn estimate_read_counter(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.entries.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let first = self.first_id();
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < first {
            if id < first {
                return Some(self.entries_added - self.len() as u64);
            }
            if id == first {
                return Some(self.entries_added - self.len() as u64 + 1);
            }
        }
        None
    }

    /// How many entries the group has not read yet (`lag`), when it can be known.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(self.entries_added.saturating_sub(read));
            }
        }
        self.estimate_read_counter(g.last_id).map(|read| self.entries_added.saturating_sub(read))
    }

    /// Moves the group's last delivered id forward to `id` (an entry being delivered), keeping
    /// its read counter as Redis does.
    pub fn advance_group(&mut self, group: &Bytes, id: StreamId) {
        let tombstones = self.has_tombstones_from(id);
        let estimate = self.estimate_read_counter(id);
        let added = self.entries_added;
        let Some(g) = self.groups.get_mut(group) else { return };
        if id <= g.last_id {
            return;
        }
        match g.entries_read {
            Some(n) if !tombstones => g.entries_read = Some(n + 1),
            _ if added > 0 => g.entries_read = estimate,
            _ => {}
        }
        g.last_id = id;
    }

    /// Entries with ids in `[start, end]`, oldest first (`rev`: newest first), at most `count`.
    pub fn range(&self, start: StreamId, end: StreamId, count: Option<usize>, rev: bool) -> Vec<(StreamId, &Vec<Bytes>)> {
        if start > end {
            return Vec::new();
        }
        let it = self.entries.range(start..=end).map(|(id, f)| (*id, f));
        let n = count.unwrap_or(usize::MAX);
        if rev {
            it.rev().take(n).collect()
        } else {
            it.take(n).collect()
        }
    }

    /// Rough heap footprint in bytes.
    pub fn approx_size(&self) -> usize {
        let entries: usize = self.entries.values().map(|f| 48 + f.iter().map(|b| b.len() + 16).sum::<usize>()).sum();
        let groups: usize = self.groups.iter().map(|(name, g)| 96 + name.len() + g.pel.len() * 96 + g.consumers.len() * 64).sum();
        entries + groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_order_and_step() {
        assert_eq!(parse_id(b"5", false), Some(IdSpec { ms: 5, seq: None, seq_auto: false }));
        assert_eq!(parse_id(b"5-3", false), Some(IdSpec { ms: 5, seq: Some(3), seq_auto: false }));
        assert_eq!(parse_id(b"5-*", true), Some(IdSpec { ms: 5, seq: None, seq_auto: true }));
        assert_eq!(parse_id(b"5-*", false), None);
        for bad in [&b""[..], b"-1", b"a-1", b"1-", b"1-2-3", b"18446744073709551616"] {
            assert_eq!(parse_id(bad, true), None, "{bad:?}");
        }
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::MIN.prev(), None);
    }

    #[test]
    fn add_trim_and_range() {
        let mut s = Stream::default();
        for i in 1..=10 {
            let id = s.next_id(100, false).unwrap();
            assert_eq!(id, StreamId::new(100, if i == 1 { 0 } else { i - 1 }));
            s.add(id, vec![Bytes::from("f"), Bytes::from(i.to_string())]);
        }
        assert_eq!(s.next_id(99, true), None);
        assert_eq!(s.next_id(99, false), Some(StreamId::new(100, 10)));
        assert_eq!(s.trim(Trim::MaxLen(7), 2, RefPolicy::KeepRef), 2);
        assert_eq!(s.trim(Trim::MaxLen(7), 0, RefPolicy::KeepRef), 1);
        assert_eq!(s.len(), 7);
        assert_eq!(s.max_deleted_id, StreamId::MIN);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(100, 5)), 0, RefPolicy::KeepRef), 2);
        let r = s.range(StreamId::MIN, StreamId::MAX, Some(2), true);
        assert_eq!(r.iter().map(|(id, _)| id.seq).collect::<Vec<_>>(), vec![9, 8]);
        assert_eq!(s.entries_added, 10);
    }
}
