//! `Dict`: the hash map behind the keyspace, hashes, sets and sorted sets. Insertion-ordered
//! with O(1) positional access (like `IndexMap`, whose API it follows where the engine uses it),
//! but no operation ever pays for a whole-table resize:
//!
//! * **Entries** live in fixed 64 KiB chunks (the first one grows like a `Vec` until it is
//!   full), so growing never copies the entries already stored. An entry's position is stable
//!   until a `swap_remove` moves the last entry into a hole, so positions serve the TTL index,
//!   random sampling and SCAN cursors.
//! * **The index** is Redis's `dict` layout with positions instead of pointers: a power-of-two
//!   array of chain heads (`u32` position + 1; 0 = empty) and a `next` link inside each entry,
//!   load factor 1. Resizing allocates the new array (zeroed by the OS, not written) and then
//!   moves a few old buckets per write (`STEP`, and [`Dict::rehash_some`] from the cron) until the
//!   old array is empty. An entry is in the old array exactly when its old bucket has not been
//!   moved yet, so a lookup probes one chain, never two.
//! * **Small dicts** (≤ [`SMALL`] entries) have no index: a lookup scans the entries' 32-bit
//!   hash tags, which is what a listpack costs and saves the array.
//!
//! Each entry stores 32 bits of its hash, so moving a bucket never hashes a key again.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use crate::value::Hasher;

/// Bytes per entry chunk (a size the allocator serves without rounding).
const CHUNK_BYTES: usize = 64 * 1024;
/// Up to this many entries a dict has no index and looks keys up by scanning.
pub const SMALL: usize = 8;
/// Non-empty old buckets moved per write while rehashing (at most 10× as many visited).
const STEP: usize = 2;

#[derive(Clone, Debug)]
struct Slot<K, V> {
    key: K,
    value: V,
    /// Low 32 bits of the key's hash.
    hash: u32,
    /// Next entry in the same bucket (position + 1), 0 at the end of the chain.
    next: u32,
}

/// An insertion-ordered hash map with incremental rehashing (see the module doc).
#[derive(Clone)]
pub struct Dict<K, V, S = Hasher> {
    chunks: Vec<Vec<Slot<K, V>>>,
    len: usize,
    /// Chain heads (position + 1); empty while the dict is small.
    table: Vec<u32>,
    /// The previous chain heads while a rehash is in progress, else empty.
    old: Vec<u32>,
    /// Buckets of `old` below this index have been moved to `table`.
    rehash_idx: usize,
    hasher: S,
}

impl<K, V, S: Default> Default for Dict<K, V, S> {
    fn default() -> Self {
        Dict { chunks: Vec::new(), len: 0, table: Vec::new(), old: Vec::new(), rehash_idx: 0, hasher: S::default() }
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug, S> std::fmt::Debug for Dict<K, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V, S> Dict<K, V, S> {
    /// Entries per chunk.
    const CAP: usize = {
        let s = std::mem::size_of::<Slot<K, V>>();
        if s == 0 || CHUNK_BYTES / s == 0 {
            1
        } else {
            CHUNK_BYTES / s
        }
    };

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True while an incremental rehash is in progress.
    pub fn is_rehashing(&self) -> bool {
        !self.old.is_empty()
    }
    /// Number of index buckets (0 while small), for tests and `DEBUG`-style reporting.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    fn slot(&self, pos: usize) -> Option<&Slot<K, V>> {
        self.chunks.get(pos / Self::CAP)?.get(pos % Self::CAP)
    }
    fn slot_mut(&mut self, pos: usize) -> Option<&mut Slot<K, V>> {
        self.chunks.get_mut(pos / Self::CAP)?.get_mut(pos % Self::CAP)
    }

    /// The entry at position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&K, &V)> {
        self.slot(i).map(|s| (&s.key, &s.value))
    }
    /// The entry at position `i`, value writable.
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&K, &mut V)> {
        self.slot_mut(i).map(|s| (&s.key, &mut s.value))
    }
    /// The first entry.
    pub fn first(&self) -> Option<(&K, &V)> {
        self.get_index(0)
    }
    /// The last entry.
    pub fn last(&self) -> Option<(&K, &V)> {
        self.len.checked_sub(1).and_then(|i| self.get_index(i))
    }

    /// Entries in order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter { inner: self.chunks.iter().flatten() }
    }
    /// Entries in order, values writable.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut { inner: self.chunks.iter_mut().flatten() }
    }
    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + Clone {
        self.chunks.iter().flatten().map(|s| &s.key)
    }
    /// Values in order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + Clone {
        self.chunks.iter().flatten().map(|s| &s.value)
    }
    /// Values in order, writable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> {
        self.chunks.iter_mut().flatten().map(|s| &mut s.value)
    }

    /// Drops every entry and the index.
    pub fn clear(&mut self) {
        self.chunks = Vec::new();
        self.len = 0;
        self.table = Vec::new();
        self.old = Vec::new();
        self.rehash_idx = 0;
    }

    /// Which chain holds hash `h`: (in the old array, bucket).
    fn bucket(&self, h: u32) -> (bool, usize) {
        if !self.old.is_empty() {
            let b = h as usize & (self.old.len() - 1);
            if b >= self.rehash_idx {
                return (true, b);
            }
        }
        (false, h as usize & self.table.len().wrapping_sub(1))
    }
    fn head(&self, h: u32) -> u32 {
        match self.bucket(h) {
            (true, b) => self.old[b],
            (false, b) => self.table[b],
        }
    }
    fn head_mut(&mut self, h: u32) -> &mut u32 {
        match self.bucket(h) {
            (true, b) => &mut self.old[b],
            (false, b) => &mut self.table[b],
        }
    }
    fn indexed(&self) -> bool {
        !self.table.is_empty()
    }

    /// Replaces the link `from` in the chain of hash `h` by `to`.
    fn relink(&mut self, h: u32, from: u32, to: u32) {
        let head = self.head_mut(h);
        if *head == from {
            *head = to;
            return;
        }
        let mut cur = *head;
        while cur != 0 {
            let Some(s) = self.slot_mut(cur as usize - 1) else { return };
            if s.next == from {
                s.next = to;
                return;
            }
            cur = s.next;
        }
        debug_assert!(false, "dict chain lost a link");
    }

    /// Moves up to `STEP` non-empty old buckets (visiting at most ten times as many).
    fn step(&mut self) {
        if !self.old.is_empty() {
            self.rehash_buckets(STEP, STEP * 10);
        }
    }

    /// Moves up to `moves` non-empty buckets, visiting at most `visits` buckets.
    fn rehash_buckets(&mut self, moves: usize, visits: usize) {
        let (mut moved, mut visited) = (0, 0);
        let mask = self.table.len().wrapping_sub(1);
        while self.rehash_idx < self.old.len() && moved < moves && visited < visits {
            let mut link = std::mem::take(&mut self.old[self.rehash_idx]);
            if link != 0 {
                moved += 1;
            }
            while link != 0 {
                let pos = link as usize - 1;
                let Some(s) = self.chunks.get_mut(pos / Self::CAP).and_then(|c| c.get_mut(pos % Self::CAP)) else { break };
                let next = s.next;
                let b = s.hash as usize & mask;
                s.next = self.table[b];
                self.table[b] = link;
                link = next;
            }
            self.rehash_idx += 1;
            visited += 1;
        }
        if self.rehash_idx >= self.old.len() {
            self.old = Vec::new();
            self.rehash_idx = 0;
        }
    }

    /// The cron's share (as Redis's `databasesCron`): starts a shrink the writes left pending,
    /// then does up to `buckets` bucket visits of a rehash in progress. Returns true if a rehash
    /// is still in progress.
    pub fn rehash_some(&mut self, buckets: usize) -> bool {
        if self.old.is_empty() {
            self.resize_if_needed();
        }
        if !self.old.is_empty() {
            self.rehash_buckets(buckets, buckets);
        }
        self.is_rehashing()
    }

    /// Starts moving to an index of `size` buckets (a power of two).
    fn start_rehash(&mut self, size: usize) {
        if !self.old.is_empty() {
            // Finish the previous one first (only reached when writes outran the steps).
            self.rehash_buckets(usize::MAX, usize::MAX);
        }
        self.old = std::mem::replace(&mut self.table, vec![0; size]);
        self.rehash_idx = 0;
    }

    /// Builds the index over all entries at once (small dicts crossing [`SMALL`], `retain`...).
    fn build_index(&mut self, size: usize) {
        self.old = Vec::new();
        self.rehash_idx = 0;
        self.table = vec![0; size];
        let mask = size - 1;
        let mut pos = 0u32;
        for chunk in self.chunks.iter_mut() {
            for s in chunk.iter_mut() {
                pos += 1;
                let b = s.hash as usize & mask;
                s.next = self.table[b];
                self.table[b] = pos;
            }
        }
    }

    /// Grows or shrinks the index after a change of length.
    fn resize_if_needed(&mut self) {
        if !self.indexed() {
            if self.len > SMALL {
                self.build_index((self.len + 1).next_power_of_two());
            }
            return;
        }
        if self.is_rehashing() {
            return;
        }
        let size = self.table.len();
        if self.len > size {
            self.start_rehash(size * 2);
        } else if self.len <= SMALL / 2 {
            self.table = Vec::new();
        } else if size > 16 && self.len * 8 < size {
            self.start_rehash(self.len.next_power_of_two().max(16));
        }
    }

    /// Appends a slot at the end of the entries.
    fn push_slot(&mut self, slot: Slot<K, V>) {
        let cap = Self::CAP;
        match self.chunks.last_mut() {
            Some(last) if last.len() < cap => {
                if last.len() == last.capacity() {
                    // Grow by half (small collections waste less than with doubling).
                    let want = (last.capacity() + last.capacity() / 2).clamp(4, cap);
                    last.reserve_exact(want - last.len());
                }
                last.push(slot);
            }
            _ => {
                if self.chunks.is_empty() {
                    self.chunks.reserve_exact(1);
                }
                let mut v = Vec::with_capacity(if self.chunks.is_empty() { 4.min(cap) } else { cap });
                v.push(slot);
                self.chunks.push(v);
            }
        }
    }

    /// Takes the last slot off the entries.
    fn pop_slot(&mut self) -> Option<Slot<K, V>> {
        let last = self.chunks.last_mut()?;
        let s = last.pop();
        if last.is_empty() && self.chunks.len() > 1 {
            self.chunks.pop();
        }
        s
    }

    /// Removes the entry at position `i`, moving the last entry into its place. O(1).
    pub fn swap_remove_index(&mut self, i: usize) -> Option<(K, V)> {
        if i >= self.len {
            return None;
        }
        self.step();
        let last = self.len - 1;
        if self.indexed() {
            let (h, next) = self.slot(i).map(|s| (s.hash, s.next))?;
            self.relink(h, i as u32 + 1, next);
            if i != last {
                let hl = self.slot(last).map(|s| s.hash)?;
                self.relink(hl, last as u32 + 1, i as u32 + 1);
            }
        }
        let tail = self.pop_slot()?;
        let removed = if i == last {
            tail
        } else {
            let dst = self.slot_mut(i)?;
            std::mem::replace(dst, tail)
        };
        self.len -= 1;
        self.resize_if_needed();
        Some((removed.key, removed.value))
    }

    /// Removes the entry at position `i`, shifting the later entries down (keeps the order;
    /// O(n), meant for small collections that mirror Redis's listpack order).
    pub fn shift_remove_index(&mut self, i: usize) -> Option<(K, V)> {
        if i >= self.len {
            return None;
        }
        // Finish any rehash so the index can be rebuilt over the new positions.
        let s = if self.chunks.len() == 1 {
            self.chunks[0].remove(i)
        } else {
            // Rare: a large dict asked to keep order. Flatten, remove, re-chunk.
            let mut all: Vec<Slot<K, V>> = std::mem::take(&mut self.chunks).into_iter().flatten().collect();
            let s = all.remove(i);
            let cap = Self::CAP;
            let mut it = all.into_iter().peekable();
            while it.peek().is_some() {
                self.chunks.push(it.by_ref().take(cap).collect());
            }
            s
        };
        self.len -= 1;
        if self.indexed() || self.is_rehashing() {
            if self.len <= SMALL / 2 {
                self.table = Vec::new();
                self.old = Vec::new();
                self.rehash_idx = 0;
            } else {
                let size = self.table.len().max(16);
                self.build_index(size);
                self.resize_if_needed();
            }
        }
        Some((s.key, s.value))
    }

    /// Keeps only the entries for which `keep` returns true, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let before = self.len;
        let mut kept = Dict::<K, V, ()> { chunks: Vec::new(), len: 0, table: Vec::new(), old: Vec::new(), rehash_idx: 0, hasher: () };
        for chunk in std::mem::take(&mut self.chunks) {
            for mut s in chunk {
                if keep(&s.key, &mut s.value) {
                    kept.push_slot(s);
                    kept.len += 1;
                }
            }
        }
        self.chunks = kept.chunks;
        self.len = kept.len;
        if self.len != before || self.indexed() {
            self.table = Vec::new();
            self.old = Vec::new();
            self.rehash_idx = 0;
            if self.len > SMALL {
                self.build_index((self.len * 2).next_power_of_two());
            }
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Dict<K, V, S> {
    /// An empty dict using `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        Dict { chunks: Vec::new(), len: 0, table: Vec::new(), old: Vec::new(), rehash_idx: 0, hasher }
    }

    fn hash_of<Q: Hash + ?Sized>(&self, q: &Q) -> u32 {
        self.hasher.hash_one(q) as u32
    }

    fn find<Q: Hash + Eq + ?Sized>(&self, h: u32, q: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        if !self.indexed() {
            let first = self.chunks.first()?;
            return first.iter().position(|s| s.hash == h && s.key.borrow() == q);
        }
        let mut link = self.head(h);
        while link != 0 {
            let pos = link as usize - 1;
            let s = self.slot(pos)?;
            if s.hash == h && s.key.borrow() == q {
                return Some(pos);
            }
            link = s.next;
        }
        None
    }

    /// Position of `key`.
    pub fn get_index_of<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        if self.len == 0 {
            return None;
        }
        self.find(self.hash_of(key), key)
    }
    /// True if `key` is present.
    pub fn contains_key<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.get_index_of(key).is_some()
    }
    /// The value of `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.get_index_of(key).and_then(|i| self.slot(i)).map(|s| &s.value)
    }
    /// The stored key and value of `key`.
    pub fn get_key_value<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        self.get_index_of(key).and_then(|i| self.get_index(i))
    }
    /// Position, stored key and value of `key`.
    pub fn get_full<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<(usize, &K, &V)>
    where
        K: Borrow<Q>,
    {
        let i = self.get_index_of(key)?;
        self.slot(i).map(|s| (i, &s.key, &s.value))
    }
    /// The value of `key`, writable.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.get_index_of(key)?;
        self.slot_mut(i).map(|s| &mut s.value)
    }
    /// Position, stored key and writable value of `key`.
    pub fn get_full_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<(usize, &K, &mut V)>
    where
        K: Borrow<Q>,
    {
        let i = self.get_index_of(key)?;
        self.slot_mut(i).map(|s| (i, &s.key, &mut s.value))
    }

    /// Inserts or replaces; returns the position and the previous value. A new key goes last.
    pub fn insert_full(&mut self, key: K, value: V) -> (usize, Option<V>) {
        let h = self.hash_of(&key);
        if self.len > 0 {
            if let Some(i) = self.find(h, &key) {
                let old = self.slot_mut(i).map(|s| std::mem::replace(&mut s.value, value));
                return (i, old);
            }
        }
        (self.push_new(h, key, value), None)
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.insert_full(key, value).1
    }

    /// Appends `key`, known to be absent, with its hash `h`; returns its position.
    fn push_new(&mut self, h: u32, key: K, value: V) -> usize {
        self.step();
        let pos = self.len;
        let mut slot = Slot { key, value, hash: h, next: 0 };
        if self.indexed() {
            let head = self.head_mut(h);
            slot.next = *head;
            *head = pos as u32 + 1;
        }
        self.push_slot(slot);
        self.len += 1;
        self.resize_if_needed();
        pos
    }

    /// The position of `key`, inserting `make()` first if it is absent (one hash of the key).
    /// Returns (position, inserted).
    pub fn index_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> (K, V)) -> (usize, bool)
    where
        K: Borrow<[u8]>,
    {
        let h = self.hash_of(key);
        if let Some(i) = self.find(h, key) {
            return (i, false);
        }
        let (k, v) = make();
        (self.push_new(h, k, v), true)
    }

    /// Removes `key`, moving the last entry into its place; returns (position, key, value).
    pub fn swap_remove_full<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<(usize, K, V)>
    where
        K: Borrow<Q>,
    {
        let i = self.get_index_of(key)?;
        self.swap_remove_index(i).map(|(k, v)| (i, k, v))
    }
    /// Removes `key`, moving the last entry into its place; returns its value.
    pub fn swap_remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.swap_remove_full(key).map(|(_, _, v)| v)
    }
    /// Removes `key`, moving the last entry into its place; returns the stored key and value.
    pub fn swap_remove_entry<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        self.swap_remove_full(key).map(|(_, k, v)| (k, v))
    }
    /// Removes `key` keeping the order of the others (O(n)); returns its value.
    pub fn shift_remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.get_index_of(key)?;
        self.shift_remove_index(i).map(|(_, v)| v)
    }
}

/// Iterator over a dict's entries.
pub struct Iter<'a, K, V> {
    inner: std::iter::Flatten<std::slice::Iter<'a, Vec<Slot<K, V>>>>,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|s| (&s.key, &s.value))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|s| (&s.key, &s.value))
    }
}
impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter { inner: self.inner.clone() }
    }
}

/// Iterator over a dict's entries, values writable.
pub struct IterMut<'a, K, V> {
    inner: std::iter::Flatten<std::slice::IterMut<'a, Vec<Slot<K, V>>>>,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|s| (&s.key, &mut s.value))
    }
}

impl<'a, K, V, S> IntoIterator for &'a Dict<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Owning iterator over a dict's entries.
pub struct IntoIter<K, V> {
    inner: std::iter::Flatten<std::vec::IntoIter<Vec<Slot<K, V>>>>,
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        self.inner.next().map(|s| (s.key, s.value))
    }
}

impl<K, V, S> IntoIterator for Dict<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        IntoIter { inner: self.chunks.into_iter().flatten() }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Extend<(K, V)> for Dict<K, V, S> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher + Default> FromIterator<(K, V)> for Dict<K, V, S> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut d = Dict::with_hasher(S::default());
        d.extend(iter);
        d
    }
}

impl<K, V, Q, S> std::ops::Index<&Q> for Dict<K, V, S>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ?Sized,
    S: BuildHasher,
{
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("Dict: key not found")
    }
}

impl<K, V, S> std::ops::Index<usize> for Dict<K, V, S> {
    type Output = V;
    fn index(&self, i: usize) -> &V {
        self.get_index(i).map(|(_, v)| v).expect("Dict: index out of bounds")
    }
}

/// An insertion-ordered hash set over [`Dict`] (same resizing and positional access).
#[derive(Clone, Default)]
pub struct DictSet<T, S = Hasher> {
    map: Dict<T, (), S>,
}

impl<T: std::fmt::Debug, S> std::fmt::Debug for DictSet<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T, S> DictSet<T, S> {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone {
        self.map.keys()
    }
    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<&T> {
        self.map.get_index(i).map(|(k, _)| k)
    }
    /// Removes the member at position `i`, moving the last into its place.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<T> {
        self.map.swap_remove_index(i).map(|(k, _)| k)
    }
    /// Removes the member at position `i`, keeping the order of the others (O(n)).
    pub fn shift_remove_index(&mut self, i: usize) -> Option<T> {
        self.map.shift_remove_index(i).map(|(k, _)| k)
    }
    /// Drops every member.
    pub fn clear(&mut self) {
        self.map.clear()
    }
    /// Does up to `buckets` bucket visits of a rehash in progress; true if one still is.
    pub fn rehash_some(&mut self, buckets: usize) -> bool {
        self.map.rehash_some(buckets)
    }
    /// Keeps the members for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.map.retain(|k, _| keep(k))
    }
}

impl<T: Hash + Eq, S: BuildHasher> DictSet<T, S> {
    /// Adds `value`; true if it was not there.
    pub fn insert(&mut self, value: T) -> bool {
        self.insert_full(value).1
    }
    /// Adds `value`; returns its position and whether it was new.
    pub fn insert_full(&mut self, value: T) -> (usize, bool) {
        let h = self.map.hash_of(&value);
        if let Some(i) = self.map.find(h, &value) {
            return (i, false);
        }
        (self.map.push_new(h, value, ()), true)
    }
    /// True if `value` is a member.
    pub fn contains<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.contains_key(value)
    }
    /// The stored member equal to `value`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
    {
        self.map.get_key_value(value).map(|(k, _)| k)
    }
    /// Position of `value`.
    pub fn get_index_of<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<usize>
    where
        T: Borrow<Q>,
    {
        self.map.get_index_of(value)
    }
    /// Removes `value`, moving the last member into its place; true if it was there.
    pub fn swap_remove<Q: Hash + Eq + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.swap_remove(value).is_some()
    }
    /// Removes `value` keeping the order of the others (O(n)); true if it was there.
    pub fn shift_remove<Q: Hash + Eq + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.map.shift_remove(value).is_some()
    }
    /// Removes and returns the stored member equal to `value`.
    pub fn swap_take<Q: Hash + Eq + ?Sized>(&mut self, value: &Q) -> Option<T>
    where
        T: Borrow<Q>,
    {
        self.map.swap_remove_entry(value).map(|(k, _)| k)
    }
}

impl<'a, T, S> IntoIterator for &'a DictSet<T, S> {
    type Item = &'a T;
    type IntoIter = std::iter::Map<Iter<'a, T, ()>, fn((&'a T, &'a ())) -> &'a T>;
    fn into_iter(self) -> Self::IntoIter {
        fn first<'b, T>(kv: (&'b T, &'b ())) -> &'b T {
            kv.0
        }
        self.map.iter().map(first as fn((&'a T, &'a ())) -> &'a T)
    }
}

impl<T, S> IntoIterator for DictSet<T, S> {
    type Item = T;
    type IntoIter = std::iter::Map<IntoIter<T, ()>, fn((T, ())) -> T>;
    fn into_iter(self) -> Self::IntoIter {
        fn first<T>(kv: (T, ())) -> T {
            kv.0
        }
        self.map.into_iter().map(first as fn((T, ())) -> T)
    }
}

impl<T: Hash + Eq, S: BuildHasher> Extend<T> for DictSet<T, S> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.insert(v);
        }
    }
}

impl<T: Hash + Eq, S: BuildHasher + Default> FromIterator<T> for DictSet<T, S> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut s = DictSet { map: Dict::with_hasher(S::default()) };
        s.extend(iter);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    type D = Dict<u64, u64>;

    /// Checks every structural invariant: each entry reachable from exactly the chain its hash
    /// selects, chain lengths add up, positions dense.
    fn check<K: Hash + Eq + Clone + std::fmt::Debug, V>(d: &Dict<K, V>) {
        let n: usize = d.chunks.iter().map(|c| c.len()).sum();
        assert_eq!(n, d.len);
        for (ci, c) in d.chunks.iter().enumerate() {
            if ci + 1 < d.chunks.len() {
                assert_eq!(c.len(), Dict::<K, V>::CAP, "only the last chunk may be partial");
            }
        }
        if !d.indexed() {
            assert!(d.len <= SMALL);
            assert!(d.old.is_empty());
        } else {
            let mut seen = vec![false; d.len];
            for (old, t) in [(true, &d.old), (false, &d.table)] {
                for (b, &head) in t.iter().enumerate() {
                    if old && b < d.rehash_idx {
                        assert_eq!(head, 0, "moved bucket not empty");
                    }
                    let mut link = head;
                    while link != 0 {
                        let pos = link as usize - 1;
                        assert!(!seen[pos], "entry linked twice");
                        seen[pos] = true;
                        let s = d.slot(pos).unwrap();
                        assert_eq!(d.bucket(s.hash), (old, b), "entry in the wrong chain");
                        link = s.next;
                    }
                }
            }
            assert!(seen.iter().all(|&x| x), "entry unreachable");
        }
        for (i, (k, _)) in d.iter().enumerate() {
            assert_eq!(d.get_index_of(k), Some(i));
        }
    }

    #[test]
    fn matches_a_hashmap_under_random_operations() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let mut d = D::default();
        let mut model: HashMap<u64, u64> = HashMap::new();
        for round in 0..60_000 {
            // Phases of growth and shrinkage so rehashes in both directions overlap writes.
            let grow = (round / 10_000) % 2 == 0;
            let k = rng.gen_range(0..20_000u64);
            match rng.gen_range(0..10) {
                0..=5 if grow => assert_eq!(d.insert(k, round), model.insert(k, round)),
                0..=1 => assert_eq!(d.insert(k, round), model.insert(k, round)),
                6 => {
                    if !d.is_empty() {
                        let i = rng.gen_range(0..d.len());
                        let (k, v) = d.swap_remove_index(i).unwrap();
                        assert_eq!(model.remove(&k), Some(v));
                    }
                }
                7 if d.len() < 200 => {
                    assert_eq!(d.shift_remove(&k), model.remove(&k));
                }
                _ => assert_eq!(d.swap_remove(&k), model.remove(&k)),
            }
            assert_eq!(d.len(), model.len());
            if round % 997 == 0 {
                check(&d);
                for (k, v) in &model {
                    assert_eq!(d.get(k), Some(v));
                }
            }
            if round % 5000 == 0 {
                d.rehash_some(100);
            }
        }
        check(&d);
        d.retain(|k, _| k % 3 == 0);
        model.retain(|k, _| k % 3 == 0);
        check(&d);
        assert_eq!(d.len(), model.len());
    }

    #[test]
    fn growth_is_spread_over_writes() {
        let mut d = D::default();
        let mut max_old = 0;
        for i in 0..100_000u64 {
            d.insert(i, i);
            // The old array is drained before the new one fills up: never two rehashes queued.
            assert!(d.len() <= d.buckets().max(SMALL) || d.is_rehashing());
            max_old = max_old.max(d.old.len());
        }
        assert!(max_old > 0);
        check(&d);
        for i in 0..99_990u64 {
            assert_eq!(d.swap_remove(&i), Some(i));
        }
        while d.rehash_some(1000) {}
        check(&d);
        assert!(d.buckets() <= 8 * d.len().max(16), "shrunk: {} buckets for {}", d.buckets(), d.len());
    }

    #[test]
    fn small_dicts_keep_order_and_have_no_index() {
        let mut d: Dict<Vec<u8>, u32> = Dict::default();
        for i in 0..SMALL as u32 {
            d.insert(format!("f{i}").into_bytes(), i);
        }
        assert_eq!(d.buckets(), 0);
        assert_eq!(d.shift_remove(&b"f2"[..]), Some(2));
        let order: Vec<u32> = d.values().copied().collect();
        assert_eq!(order, vec![0, 1, 3, 4, 5, 6, 7]);
        for i in 10..40u32 {
            d.insert(format!("f{i}").into_bytes(), i);
        }
        assert!(d.buckets() > 0);
        check(&d);
        assert_eq!(d[&b"f30"[..]], 30);
        let s: DictSet<u32> = (0..100).chain(0..50).collect();
        assert_eq!(s.len(), 100);
        assert!(s.contains(&99) && !s.contains(&100));
    }

    #[test]
    fn chunks_hold_positions_across_growth() {
        let mut d = D::default();
        let n = Dict::<u64, u64>::CAP * 3 + 7;
        for i in 0..n as u64 {
            d.insert(i, i * 2);
        }
        assert_eq!(d.chunks.len(), 4);
        for i in 0..n {
            assert_eq!(d.get_index(i), Some((&(i as u64), &(i as u64 * 2))));
        }
        while d.len() > Dict::<u64, u64>::CAP {
            d.swap_remove_index(0);
        }
        assert_eq!(d.chunks.len(), 1);
        check(&d);
    }
}
