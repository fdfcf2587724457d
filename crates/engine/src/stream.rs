//! The stream type (Redis `t_stream.c`'s data): entries ordered by `<ms>-<seq>` ids, the
//! metadata `XINFO` and `XSETID` expose (last id, entries ever added, largest deleted id), and
//! consumer groups with their pending entries lists (PELs).
//!
//! Redis stores entries in listpack nodes of a radix tree, and `~` trimming removes whole nodes
//! only, so what `XADD ... MAXLEN ~ n` keeps depends on where the node boundaries fall. The
//! stream models them ([`Node`]): each node's first (master) id, its master fields, how many live
//! entries it holds, the deleted ones it still carries (their data too, so DUMP writes the same
//! listpacks Redis would) and its listpack size in bytes, maintained by the same rules as
//! Redis 7's `streamAppendItem`, `streamTrim` and `streamIteratorRemoveEntry`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

use crate::rdb::listpack::{element_size, int_element_size};

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
    /// Redis's listpack nodes, by master (first) id.
    pub nodes: BTreeMap<StreamId, Node>,
}

/// How large a listpack node may grow (`stream-node-max-entries`, `stream-node-max-bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Entries per node, deleted ones included (0 = no limit).
    pub max_entries: u64,
    /// Bytes per node (0 = Redis's hard cap of 1 GB).
    pub max_bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_entries: 100, max_bytes: 4096 }
    }
}

/// `STREAM_LISTPACK_MAX_SIZE`: the largest node whatever `stream-node-max-bytes` says.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;
/// Entry flag bits in a node (`STREAM_ITEM_FLAG_*`).
pub const FLAG_DELETED: i64 = 1;
/// Entry flag: the entry's field names are the master entry's.
pub const FLAG_SAMEFIELDS: i64 = 2;

/// One listpack node of Redis's layout: live entries are in [`Stream::entries`] (ids from the
/// node's key to `last`), deleted ones it still holds in `tombstones`.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// The id of the last entry written into the node (deleted or not).
    pub last: StreamId,
    /// Live entries in the node (the master entry's `count`).
    pub live: u64,
    /// The master entry's field names (those of the entry that opened the node).
    pub master_fields: Vec<Bytes>,
    /// Entries marked deleted, still in the listpack (the master entry's `deleted`).
    pub tombstones: BTreeMap<StreamId, Vec<Bytes>>,
    /// Listpack bytes other than the two counters (header, master entry, entries, terminator).
    pub body: u64,
}

impl Node {
    /// A node opened by an entry with these fields (not yet counted).
    fn open(fields: &[Bytes]) -> Node {
        let master_fields: Vec<Bytes> = fields.iter().step_by(2).cloned().collect();
        // Header (total bytes, element count), the master entry without its two counters
        // (num-fields, names, the zero terminator), and the listpack terminator.
        let body = 6
            + int_element_size(master_fields.len() as i64)
            + master_fields.iter().map(|f| element_size(f)).sum::<usize>()
            + int_element_size(0)
            + 1;
        Node { last: StreamId::MIN, live: 0, master_fields, tombstones: BTreeMap::new(), body: body as u64 }
    }

    /// The listpack's size in bytes (`lpBytes`).
    pub fn bytes(&self) -> u64 {
        self.body + int_element_size(self.live as i64) as u64 + int_element_size(self.tombstones.len() as i64) as u64
    }

    /// True if an entry with these fields stores only its values (`SAMEFIELDS`).
    pub fn same_fields(&self, fields: &[Bytes]) -> bool {
        fields.len() == 2 * self.master_fields.len() && fields.iter().step_by(2).zip(&self.master_fields).all(|(a, b)| a == b)
    }

    /// Bytes an entry takes in this node whose master id is `master`.
    fn entry_bytes(&self, master: StreamId, id: StreamId, fields: &[Bytes]) -> u64 {
        let pairs = fields.len() / 2;
        let same = self.same_fields(fields);
        let mut n = int_element_size(if same { FLAG_SAMEFIELDS } else { 0 })
            + int_element_size(id.ms.wrapping_sub(master.ms) as i64)
            + int_element_size(id.seq.wrapping_sub(master.seq) as i64);
        if same {
            n += fields.iter().skip(1).step_by(2).map(|v| element_size(v)).sum::<usize>();
            n += int_element_size(pairs as i64 + 3);
        } else {
            n += int_element_size(pairs as i64) + fields.iter().map(|x| element_size(x)).sum::<usize>();
            n += int_element_size(2 * pairs as i64 + 4);
        }
        n as u64
    }
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
        if explicit_ms {
            // `<ms>-*` never moves to the next millisecond: past the last sequence it fails.
            return if ms < last.ms { None } else { last.seq.checked_add(1).map(|seq| StreamId::new(ms, seq)) };
        }
        last.next()
    }

    /// Appends an entry (the id must be greater than the last id) to the tail node, or to a new
    /// node when the tail is full by `limits` (Redis 7's `streamAppendItem`: a node is full when
    /// its entries, deleted ones included, reach `max_entries`, or when its bytes plus the new
    /// entry's field and value lengths reach `max_bytes`).
    pub fn add(&mut self, id: StreamId, fields: Vec<Bytes>, limits: NodeLimits) {
        let raw: u64 = fields.iter().map(|f| f.len() as u64).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE { LISTPACK_MAX_SIZE } else { limits.max_bytes };
        let full = match self.nodes.last_key_value() {
            None => true,
            Some((_, n)) => {
                n.bytes().saturating_add(raw) >= max_bytes
                    || (limits.max_entries != 0 && n.live + n.tombstones.len() as u64 >= limits.max_entries)
            }
        };
        if full {
            self.nodes.insert(id, Node::open(&fields));
        }
        if let Some(mut tail) = self.nodes.last_entry() {
            let master = *tail.key();
            let node = tail.get_mut();
            node.body += node.entry_bytes(master, id, &fields);
            node.live += 1;
            node.last = id;
        }
        self.entries.insert(id, fields);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// The node holding `id` (its master id).
    fn node_of(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// Deletes one entry (XDEL); true if it existed. The entry stays in its node as deleted,
    /// and a node left with no live entries goes (`streamIteratorRemoveEntry`).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(fields) = self.entries.remove(&id) else { return false };
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if let Some(key) = self.node_of(id) {
            if let Some(node) = self.nodes.get_mut(&key) {
                if node.live <= 1 {
                    self.nodes.remove(&key);
                } else {
                    node.live -= 1;
                    node.tombstones.insert(id, fields);
                }
            }
        }
        true
    }

    /// Marks a live entry deleted inside its node (trimming within a node); the node stays even
    /// when it holds no live entry any more, as in Redis's `streamTrim`.
    fn mark_deleted(&mut self, id: StreamId, policy: RefPolicy) {
        let Some(fields) = self.entries.remove(&id) else { return };
        if let Some(node) = self.node_of(id).and_then(|k| self.nodes.get_mut(&k)) {
            node.live = node.live.saturating_sub(1);
            node.tombstones.insert(id, fields);
        }
        if policy == RefPolicy::DelRef {
            self.forget(id);
        }
    }

    /// Removes the first node and its entries; returns how many live entries went.
    fn remove_first_node(&mut self, policy: RefPolicy) -> u64 {
        let Some((key, node)) = self.nodes.pop_first() else { return 0 };
        let ids: Vec<StreamId> = self.entries.range(key..=node.last).map(|(id, _)| *id).collect();
        for id in &ids {
            self.entries.remove(id);
            if policy == RefPolicy::DelRef {
                self.forget(*id);
            }
        }
        ids.len() as u64
    }

    /// Trims from the oldest end as Redis's `streamTrim` does, returning how many entries went.
    /// Whole nodes go first (with `MAXLEN`, while the entries left stay at or above the
    /// threshold; with `MINID`, while the node's last id is below it); `approx` (`~`) stops
    /// there, otherwise entries of the next node are removed one by one. `limit` caps the
    /// entries removed, counted by whole nodes (0 = no cap). Trimming, unlike XDEL, leaves
    /// `max_deleted_id` alone. With [`RefPolicy::Acked`] entries some group still needs stay;
    /// with [`RefPolicy::DelRef`] the groups forget removed entries.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64, policy: RefPolicy) -> u64 {
        if policy == RefPolicy::Acked && !self.groups.is_empty() {
            return self.trim_acked(how, approx, limit);
        }
        let mut removed = 0;
        while let Some((&key, node)) = self.nodes.first_key_value() {
            let len = self.entries.len() as u64;
            if matches!(how, Trim::MaxLen(n) if len <= n) {
                break;
            }
            let live = node.live;
            if limit != 0 && removed + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(n) => len - live >= n,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                removed += self.remove_first_node(policy);
                continue;
            }
            if approx {
                break;
            }
            let ids: Vec<StreamId> = self.entries.range(key..=node.last).map(|(id, _)| *id).collect();
            for id in ids {
                let stop = match how {
                    Trim::MaxLen(n) => self.entries.len() as u64 <= n,
                    Trim::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                self.mark_deleted(id, policy);
                removed += 1;
            }
            break;
        }
        removed
    }

    /// `ACKED` trimming: only entries no group needs go. With `approx` whole nodes only (each
    /// with no entry still needed); otherwise entry by entry, past the ones still needed.
    fn trim_acked(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        if approx {
            let mut removed = 0;
            while let Some((&key, node)) = self.nodes.first_key_value() {
                let len = self.entries.len() as u64;
                let live = node.live;
                let done = match how {
                    Trim::MaxLen(n) => len <= n || len - live < n,
                    Trim::MinId(min) => node.last >= min,
                };
                let needed = self.entries.range(key..=node.last).any(|(id, _)| self.referenced(*id));
                if done || needed || (limit != 0 && removed + live > limit) {
                    break;
                }
                removed += self.remove_first_node(RefPolicy::KeepRef);
            }
            return removed;
        }
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
            self.mark_deleted(id, RefPolicy::KeepRef);
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

    /// How many entries the group has not read yet (`lag`), when it can be known. Like Redis,
    /// a plain difference: negative when `XGROUP SETID ... ENTRIESREAD` claimed more reads than
    /// entries were ever added.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let lag = |read: u64| (self.entries_added as i64).wrapping_sub(read as i64);
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(lag(read));
            }
        }
        self.estimate_read_counter(g.last_id).map(lag)
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
        let nodes: usize = self.nodes.values().map(|n| 64 + n.master_fields.len() * 16 + n.tombstones.len() * 64).sum();
        entries + groups + nodes
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
            s.add(id, vec![Bytes::from("f"), Bytes::from(i.to_string())], NodeLimits::default());
        }
        assert_eq!(s.next_id(99, true), None);
        assert_eq!(s.next_id(99, false), Some(StreamId::new(100, 10)));
        assert_eq!(s.trim(Trim::MaxLen(7), false, 0, RefPolicy::KeepRef), 3);
        assert_eq!(s.len(), 7);
        assert_eq!(s.max_deleted_id, StreamId::MIN);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(100, 5)), false, 0, RefPolicy::KeepRef), 2);
        let r = s.range(StreamId::MIN, StreamId::MAX, Some(2), true);
        assert_eq!(r.iter().map(|(id, _)| id.seq).collect::<Vec<_>>(), vec![9, 8]);
        assert_eq!(s.entries_added, 10);
        // Trimmed entries stay in their node as deleted ones.
        assert_eq!(s.nodes.len(), 1);
        assert_eq!(s.nodes.values().next().map(|n| (n.live, n.tombstones.len())), Some((5, 5)));
    }

    fn filled(n: u64, limits: NodeLimits) -> Stream {
        let mut s = Stream::default();
        for i in 1..=n {
            s.add(StreamId::new(i, 0), vec![Bytes::from("f"), Bytes::from("v")], limits);
        }
        s
    }

    fn node_sizes(s: &Stream) -> Vec<(u64, usize)> {
        s.nodes.values().map(|n| (n.live, n.tombstones.len())).collect()
    }

    #[test]
    fn approximate_trimming_removes_whole_nodes_only() {
        // 111 entries: nodes of 100 and 11; removing the first would leave 11 < 30.
        let mut s = filled(111, NodeLimits::default());
        assert_eq!(node_sizes(&s), [(100, 0), (11, 0)]);
        assert_eq!(s.trim(Trim::MaxLen(30), true, 10_000, RefPolicy::KeepRef), 0);
        assert_eq!(s.trim(Trim::MaxLen(10), true, 99, RefPolicy::KeepRef), 0, "LIMIT below a node");
        assert_eq!(s.trim(Trim::MaxLen(10), true, 0, RefPolicy::KeepRef), 100);
        assert_eq!(s.len(), 11);
        // MINID: a node goes when its last id (deleted entries included) is below the minimum.
        let mut s = filled(300, NodeLimits::default());
        s.delete(StreamId::new(200, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(200, 0)), true, 0, RefPolicy::KeepRef), 100);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(201, 0)), true, 0, RefPolicy::KeepRef), 99);
        assert_eq!(s.first_id(), StreamId::new(201, 0));
    }

    #[test]
    fn nodes_fill_by_entries_deleted_ones_included_and_by_bytes() {
        let mut s = filled(99, NodeLimits::default());
        s.delete(StreamId::new(50, 0));
        s.add(StreamId::new(100, 0), vec![Bytes::from("f"), Bytes::from("v")], NodeLimits::default());
        s.add(StreamId::new(101, 0), vec![Bytes::from("f"), Bytes::from("v")], NodeLimits::default());
        assert_eq!(node_sizes(&s), [(99, 1), (1, 0)]);
        // Deleting a node's last live entry removes the node.
        s.delete(StreamId::new(101, 0));
        assert_eq!(node_sizes(&s), [(99, 1)]);
        // 1000-byte values: a node takes 4 (4066 bytes, and 4066 + 1001 >= 4096).
        let mut s = Stream::default();
        let v = Bytes::from(vec![b'x'; 1000]);
        for i in 1..=6 {
            s.add(StreamId::new(i, 0), vec![Bytes::from("f"), v.clone()], NodeLimits::default());
        }
        assert_eq!(node_sizes(&s), [(4, 0), (2, 0)]);
        assert_eq!(s.nodes.values().next().map(Node::bytes), Some(4066));
        // No entry limit: bytes alone decide.
        let s = filled(300, NodeLimits { max_entries: 0, max_bytes: 4096 });
        assert!(s.nodes.len() < 3, "{:?}", node_sizes(&s));
    }

    #[test]
    fn partial_sequence_at_its_maximum_does_not_roll_over() {
        let mut s = Stream::default();
        s.add(StreamId::new(5, u64::MAX), vec![Bytes::from("f"), Bytes::from("v")], NodeLimits::default());
        assert_eq!(s.next_id(5, true), None);
        assert_eq!(s.next_id(6, true), Some(StreamId::new(6, 0)));
        assert_eq!(s.next_id(1, false), Some(StreamId::new(6, 0)));
    }
}
