//! The stream type (Redis `t_stream.c`'s data): entries ordered by `<ms>-<seq>` ids, plus the
//! metadata `XINFO` and `XSETID` expose (last id, entries ever added, largest deleted id).

use std::collections::BTreeMap;
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
    /// many were removed.
    pub fn trim(&mut self, how: Trim, limit: u64) -> u64 {
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
            self.entries.pop_first();
            if first > self.max_deleted_id {
                self.max_deleted_id = first;
            }
            removed += 1;
        }
        removed
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
        self.entries.values().map(|f| 48 + f.iter().map(|b| b.len() + 16).sum::<usize>()).sum()
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
        assert_eq!(s.trim(Trim::MaxLen(7), 2), 2);
        assert_eq!(s.trim(Trim::MaxLen(7), 0), 1);
        assert_eq!(s.len(), 7);
        assert_eq!(s.max_deleted_id, StreamId::new(100, 2));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(100, 5)), 0), 2);
        let r = s.range(StreamId::MIN, StreamId::MAX, Some(2), true);
        assert_eq!(r.iter().map(|(id, _)| id.seq).collect::<Vec<_>>(), vec![9, 8]);
        assert_eq!(s.entries_added, 10);
    }
}
