//! The Array value (Redis 8.8's `sparsearray.c` and the cursor logic of `t_array.c`): a sparse
//! map from unsigned 64-bit indexes to strings, plus the insert cursor that ARINSERT, ARRING,
//! ARNEXT, ARSEEK and ARLASTITEMS share.
//!
//! Storage is an ordered map of the set slots only, so memory follows the number of elements,
//! never the index values: `ARSET k 18446744073709551614 x` costs one entry. Redis's slices,
//! directory and super-directory are not reproduced; [`SparseArray::layout`] derives the numbers
//! `ARINFO` reports from the elements as Redis's layout rules would place them.

use std::collections::BTreeMap;

use bytes::Bytes;

/// The largest index a slot can have (Redis reserves `u64::MAX`).
pub const MAX_INDEX: u64 = u64::MAX - 1;

/// Redis's fixed cap on replies made of positions rather than elements (ARGETRANGE,
/// ARLASTITEMS): one million items.
pub const MAX_REPLY_ITEMS: u64 = 1_000_000;

/// Slice size Redis uses by default (`AR_SLICE_SIZE_DEFAULT`), reported by ARINFO.
pub const SLICE_SIZE: u64 = 4096;

/// Slices per super-directory block (`AR_SUPER_BLOCK_SLOTS`).
const SUPER_BLOCK_SLOTS: u64 = 2048;

/// Most elements a sparse slice holds before Redis makes it dense (`array-sparse-kmax`).
const SPARSE_KMAX: u64 = 10;

/// The cursor would run past the last index (`insert index overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorOverflow;

/// A sparse array with its insert cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseArray {
    items: BTreeMap<u64, Bytes>,
    /// Last index ARINSERT/ARRING wrote, or where ARSEEK put the cursor minus one; None is
    /// Redis's `AR_INSERT_IDX_NONE` ("the next write goes to 0").
    insert_idx: Option<u64>,
    /// Redis switches to its super-directory once an index past 2048 slices is written and
    /// never switches back; ARINFO shows which directory is in use.
    superdir: bool,
}

/// The numbers ARINFO reports about the layout Redis would use for these elements.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Layout {
    /// Allocated slices (groups of [`SLICE_SIZE`] indexes holding at least one element).
    pub slices: u64,
    /// Flat directory length, or super-directory capacity.
    pub directory_size: u64,
    /// Super-directory blocks in use (0 with a flat directory).
    pub super_dir_entries: u64,
    /// Slices holding more than the sparse limit.
    pub dense_slices: u64,
    /// The other slices.
    pub sparse_slices: u64,
    /// Sum of the dense windows (power-of-two spans of their elements).
    pub dense_window_total: u64,
    /// Elements in dense slices.
    pub dense_count_total: u64,
    /// Sum of the sparse capacities (4, 8 or 10).
    pub sparse_cap_total: u64,
}

impl SparseArray {
    /// An empty array with no insert cursor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of set slots (ARCOUNT).
    pub fn count(&self) -> u64 {
        self.items.len() as u64
    }

    /// True if no slot is set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Highest set index plus one, 0 when empty (ARLEN).
    pub fn len(&self) -> u64 {
        self.items.last_key_value().map_or(0, |(&i, _)| i + 1)
    }

    /// The value at `idx`.
    pub fn get(&self, idx: u64) -> Option<&Bytes> {
        self.items.get(&idx)
    }

    /// Sets `idx` to `value`; true if the slot was empty.
    pub fn set(&mut self, idx: u64, value: Bytes) -> bool {
        if idx >= SLICE_SIZE * SUPER_BLOCK_SLOTS {
            self.superdir = true;
        }
        self.items.insert(idx, value).is_none()
    }

    /// Clears `idx`; true if it was set.
    pub fn del(&mut self, idx: u64) -> bool {
        self.items.remove(&idx).is_some()
    }

    /// Clears every slot in `lo..=hi` (`lo <= hi`); returns how many were set. Costs the
    /// elements removed, not the span.
    pub fn delete_range(&mut self, lo: u64, hi: u64) -> u64 {
        if lo > hi || self.items.is_empty() {
            return 0;
        }
        let mut middle = self.items.split_off(&lo);
        let mut tail = match hi.checked_add(1) {
            Some(end) => middle.split_off(&end),
            None => BTreeMap::new(),
        };
        let removed = middle.len() as u64;
        self.items.append(&mut tail);
        removed
    }

    /// Set slots within `lo..=hi` (either order: `start > end` walks downwards), as
    /// (index, value), visiting only stored elements.
    pub fn scan(&self, start: u64, end: u64) -> Box<dyn Iterator<Item = (u64, &Bytes)> + '_> {
        let (lo, hi) = if start <= end { (start, end) } else { (end, start) };
        let it = self.items.range(lo..=hi).map(|(&i, v)| (i, v));
        if start <= end {
            Box::new(it)
        } else {
            Box::new(it.rev())
        }
    }

    /// Every set slot in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Bytes)> {
        self.items.iter().map(|(&i, v)| (i, v))
    }

    /// The raw cursor: the last index written by ARINSERT/ARRING (None before any write or
    /// after `ARSEEK key 0`).
    pub fn insert_idx(&self) -> Option<u64> {
        self.insert_idx
    }

    /// The index ARINSERT would write next, None once the index space is exhausted (ARNEXT).
    pub fn next_insert(&self) -> Option<u64> {
        match self.insert_idx {
            None => Some(0),
            Some(i) if i >= MAX_INDEX => None,
            Some(i) => Some(i + 1),
        }
    }

    /// Moves the cursor so that the next ARINSERT writes at `idx` (ARSEEK; `idx` may be
    /// `u64::MAX`, the exhausted state).
    pub fn seek(&mut self, idx: u64) {
        self.insert_idx = idx.checked_sub(1);
    }

    /// ARINSERT: writes `values` at consecutive indexes from the cursor and leaves the cursor
    /// on the last one, which it returns. Fails without writing if the batch would pass
    /// [`MAX_INDEX`].
    pub fn insert(&mut self, values: &[Bytes]) -> Result<u64, CursorOverflow> {
        let start = match self.insert_idx {
            None => 0,
            Some(i) if i >= MAX_INDEX => return Err(CursorOverflow),
            Some(i) => i + 1,
        };
        let n = values.len() as u64;
        let last = match n.checked_sub(1).and_then(|k| start.checked_add(k)) {
            Some(l) if l <= MAX_INDEX => l,
            _ => return Err(CursorOverflow),
        };
        for (k, v) in values.iter().enumerate() {
            self.set(start + k as u64, v.clone());
        }
        self.insert_idx = Some(last);
        Ok(last)
    }

    /// The slot ARRING writes next, before reducing it modulo the ring size.
    fn ring_next(&self) -> u64 {
        self.insert_idx.map_or(0, |i| i.saturating_add(1))
    }

    /// Whether ARRING with `size` must first rebuild the ring, and if so (old span, how many
    /// positions to keep at most): when shrinking below the current span, or when growing a
    /// ring that has already wrapped.
    fn ring_rework_plan(&self, size: u64) -> Option<(u64, u64)> {
        let span = self.len();
        if span == 0 || size == span {
            return None;
        }
        if size < span {
            return Some((span, size));
        }
        if self.insert_idx.is_some() && self.ring_next() < span {
            return Some((span, span));
        }
        None
    }

    /// Rebuilds the ring: walking back from the cursor (wrapping within the old span), keep up
    /// to `keep` values until the first hole, and lay them out again oldest first from index 0.
    fn ring_rework(&self, span: u64, keep: u64) -> SparseArray {
        let anchor = match self.insert_idx {
            None => span - 1,
            Some(i) => i % span,
        };
        let mut retained = 0u64;
        let mut src = anchor;
        while retained < keep && self.items.contains_key(&src) {
            retained += 1;
            src = if src == 0 { span - 1 } else { src - 1 };
        }
        src += 1;
        if src == span {
            src = 0;
        }
        let mut out = SparseArray::new();
        for dst in 0..retained {
            if let Some(v) = self.items.get(&src) {
                out.set(dst, v.clone());
            }
            src += 1;
            if src == span {
                src = 0;
            }
        }
        out.insert_idx = retained.checked_sub(1);
        out
    }

    /// ARRING: writes `values` into a ring of `size` (> 0) slots, resizing the ring first if
    /// the size changed; returns the last slot written.
    pub fn ring(&mut self, size: u64, values: &[Bytes]) -> u64 {
        if let Some((span, keep)) = self.ring_rework_plan(size) {
            *self = self.ring_rework(span, keep);
        }
        let mut cursor = 0;
        for v in values {
            cursor = self.ring_next();
            if cursor >= size {
                cursor %= size;
            }
            self.set(cursor, v.clone());
            self.insert_idx = Some(cursor);
        }
        cursor
    }

    /// ARLASTITEMS: how many positions it walks for `count` (> 0): at most the array's length.
    pub fn last_items_span(&self, count: u64) -> u64 {
        count.min(self.len())
    }

    /// ARLASTITEMS: the `n` positions ending at the cursor (or at the tail if the cursor is
    /// unset or past it), walking backwards and wrapping within the length; newest first.
    pub fn last_items(&self, n: u64) -> Vec<Option<Bytes>> {
        let len = self.len();
        let n = n.min(len);
        if n == 0 {
            return Vec::new();
        }
        let mut idx = match self.insert_idx {
            Some(i) if i < len => i,
            _ => len - 1,
        };
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            out.push(self.items.get(&idx).cloned());
            idx = if idx == 0 { len - 1 } else { idx - 1 };
        }
        out
    }

    /// What ARINFO reports about the slices and directory Redis would use for these elements
    /// (default slice size 4096, sparse slices up to 10 elements). One pass over the elements.
    pub fn layout(&self) -> Layout {
        let mut l = Layout::default();
        let mut blocks = 0u64;
        let mut last_block = None;
        let mut highest_slice = 0u64;
        let mut slice: Option<(u64, u64, u64, u64)> = None; // (id, count, min offset, max offset)
        let close = |l: &mut Layout, s: (u64, u64, u64, u64)| {
            let (_, count, lo, hi) = s;
            l.slices += 1;
            if count > SPARSE_KMAX {
                l.dense_slices += 1;
                l.dense_count_total += count;
                l.dense_window_total += (hi - lo + 1).next_power_of_two().clamp(8, SLICE_SIZE);
            } else {
                l.sparse_slices += 1;
                l.sparse_cap_total += match count {
                    0..=4 => 4,
                    5..=8 => 8,
                    _ => SPARSE_KMAX,
                };
            }
        };
        for &i in self.items.keys() {
            let (id, off) = (i / SLICE_SIZE, i % SLICE_SIZE);
            match slice.as_mut() {
                Some(s) if s.0 == id => {
                    s.1 += 1;
                    s.3 = off;
                }
                _ => {
                    if let Some(s) = slice.take() {
                        close(&mut l, s);
                    }
                    slice = Some((id, 1, off, off));
                    let block = id / SUPER_BLOCK_SLOTS;
                    if last_block != Some(block) {
                        blocks += 1;
                        last_block = Some(block);
                    }
                }
            }
            highest_slice = id;
        }
        if let Some(s) = slice.take() {
            close(&mut l, s);
        }
        if self.superdir {
            l.super_dir_entries = blocks;
            l.directory_size = blocks.next_power_of_two().max(4);
        } else if !self.items.is_empty() {
            l.directory_size = (highest_slice + 1).next_power_of_two();
        }
        l
    }

    /// Rough heap footprint in bytes.
    pub fn approx_size(&self) -> usize {
        self.items.values().map(|v| v.len() + 40).sum::<usize>() + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn vals(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| b(s)).collect()
    }

    fn all(a: &SparseArray) -> Vec<(u64, String)> {
        a.iter().map(|(i, v)| (i, String::from_utf8_lossy(v).into_owned())).collect()
    }

    #[test]
    fn len_and_count_follow_the_highest_slot() {
        let mut a = SparseArray::new();
        assert_eq!((a.len(), a.count()), (0, 0));
        assert!(a.set(0, b("a")));
        assert!(a.set(1_000_000, b("b")));
        assert!(!a.set(0, b("c")));
        assert_eq!((a.len(), a.count()), (1_000_001, 2));
        assert!(a.del(1_000_000));
        assert!(!a.del(1_000_000));
        assert_eq!(a.len(), 1);
        assert!(a.set(MAX_INDEX, b("top")));
        assert_eq!(a.len(), u64::MAX);
    }

    #[test]
    fn delete_range_costs_elements_not_span() {
        let mut a = SparseArray::new();
        for i in [0, 5, 10, 4096, MAX_INDEX] {
            a.set(i, b("x"));
        }
        assert_eq!(a.delete_range(1, 4096), 3);
        assert_eq!(all(&a).iter().map(|e| e.0).collect::<Vec<_>>(), vec![0, MAX_INDEX]);
        assert_eq!(a.delete_range(0, u64::MAX), 2);
        assert!(a.is_empty());
        assert_eq!(a.delete_range(0, 10), 0);
    }

    #[test]
    fn scan_walks_either_way() {
        let mut a = SparseArray::new();
        for i in [1, 3, 7] {
            a.set(i, b(&i.to_string()));
        }
        assert_eq!(a.scan(0, 5).map(|e| e.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(a.scan(7, 2).map(|e| e.0).collect::<Vec<_>>(), vec![7, 3]);
        assert_eq!(a.scan(8, u64::MAX).count(), 0);
    }

    #[test]
    fn insert_advances_the_cursor_and_refuses_overflow() {
        let mut a = SparseArray::new();
        assert_eq!(a.next_insert(), Some(0));
        assert_eq!(a.insert(&vals(&["a", "b"])), Ok(1));
        assert_eq!(a.next_insert(), Some(2));
        a.seek(10);
        assert_eq!(a.insert(&vals(&["c"])), Ok(10));
        a.seek(0);
        assert_eq!(a.insert_idx(), None);
        assert_eq!(a.insert(&vals(&["z"])), Ok(0));
        a.seek(MAX_INDEX);
        assert_eq!(a.insert(&vals(&["y", "w"])), Err(CursorOverflow));
        assert_eq!(a.insert(&vals(&["y"])), Ok(MAX_INDEX));
        assert_eq!(a.next_insert(), None);
        assert_eq!(a.insert(&vals(&["v"])), Err(CursorOverflow));
        a.seek(u64::MAX);
        assert_eq!(a.next_insert(), None);
    }

    #[test]
    fn ring_wraps_and_resizes_keeping_the_newest() {
        let mut a = SparseArray::new();
        assert_eq!(a.ring(3, &vals(&["a", "b", "c", "d"])), 0);
        assert_eq!(all(&a), vec![(0, "d".into()), (1, "b".into()), (2, "c".into())]);
        // Shrink to 2: keeps the two newest (c, d) oldest first.
        assert_eq!(a.ring(2, &vals(&["e"])), 0);
        assert_eq!(all(&a), vec![(0, "e".into()), (1, "d".into())]);
        // Grow after a wrap: repacked (d, e) then extends.
        assert_eq!(a.ring(4, &vals(&["f"])), 2);
        assert_eq!(all(&a), vec![(0, "d".into()), (1, "e".into()), (2, "f".into())]);
        assert_eq!(a.last_items(3).into_iter().map(|v| v.unwrap_or_default()).collect::<Vec<_>>(), vals(&["f", "e", "d"]));
    }

    #[test]
    fn ring_rework_stops_at_holes() {
        let mut a = SparseArray::new();
        a.ring(5, &vals(&["a", "b", "c", "d", "e"]));
        a.del(2);
        // Shrink to 4 from anchor 4: e, d, then the hole at 2 stops the walk.
        assert_eq!(a.ring(4, &vals(&["x"])), 2);
        assert_eq!(all(&a), vec![(0, "d".into()), (1, "e".into()), (2, "x".into())]);
    }

    #[test]
    fn last_items_walks_positions_with_holes() {
        let mut a = SparseArray::new();
        a.set(0, b("a"));
        a.set(2, b("c"));
        assert_eq!(a.last_items(5), vec![Some(b("c")), None, Some(b("a"))]);
        a.insert(&vals(&["n"])).ok();
        assert_eq!(a.last_items(2), vec![Some(b("n")), Some(b("c"))]);
    }

    #[test]
    fn layout_counts_slices_and_blocks() {
        let mut a = SparseArray::new();
        a.set(0, b("a"));
        let l = a.layout();
        assert_eq!((l.slices, l.directory_size, l.super_dir_entries, l.sparse_slices), (1, 1, 0, 1));
        for i in 4096..4096 + 20 {
            a.set(i, b("x"));
        }
        let l = a.layout();
        assert_eq!((l.slices, l.directory_size, l.dense_slices, l.dense_window_total), (2, 2, 1, 32));
        a.set(1 << 40, b("far"));
        let l = a.layout();
        assert_eq!((l.slices, l.super_dir_entries, l.directory_size), (3, 2, 4));
    }
}
