//! A hierarchical navigable small world graph (Malkov & Yashunin, 2016) over the slots of a
//! [`DenseIndex`](super::DenseIndex).
//!
//! The graph knows nodes only by slot number; the vectors live in the dense index and are reached
//! through a [`Space`]. Every comparison is a *key*: a similarity where higher means closer
//! (the cosine, the inner product, or the negated squared distance).
//!
//! * Level 0 keeps up to `2·M` links per node in one flat array; levels above keep up to `M`.
//! * Links are chosen with the paper's neighbour-selection heuristic (a candidate is kept when it
//!   is closer to the base node than to every link kept so far), for new nodes and when a node's
//!   list overflows.
//! * Levels come from a seeded SplitMix64 generator, so a given sequence of inserts always builds
//!   the same graph.
//! * Deleted nodes stay as tombstones: searches walk through them but never return them. A
//!   consolidation pass (FreshDiskANN's delete consolidation, applied per level) then rewires every
//!   node that links to a tombstone to the tombstone's own links, prunes with the heuristic and
//!   frees the tombstoned slots.
//! * Filtered searches walk the whole graph but admit only accepted nodes to the result set, so
//!   the search goes on until it holds `ef` accepted nodes (or runs out of graph or budget). The
//!   predicate is evaluated lazily, only for nodes that would enter the result set.
//! * Bulk inserts ([`Hnsw::insert_many`]) run in batches: every node of a batch searches the
//!   graph as it was before the batch, in parallel, and also considers the other nodes of its
//!   batch as neighbours; the links are then written in a fixed order, with the lists that
//!   overflow pruned in parallel. The result depends on the inputs only, not on thread timing.
//! * Searches reuse a per-thread visited set whose reset clears only the words it touched.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::similarity::{kernels, prefetch, Kernels, Similarity};

/// Highest level a node can get (the expected top level for a billion nodes at M=16 is ~7).
const MAX_LEVEL: usize = 15;

/// Bulk inserts go one by one until the graph has this many nodes (batches need a graph to search).
const SEQUENTIAL_PREFIX: usize = 1024;

/// A batch holds at most `nodes / BATCH_DIVISOR` new nodes, so that a node rarely has a close
/// neighbour in its own batch, which it cannot find in the graph.
const BATCH_DIVISOR: usize = 64;

/// Most nodes in one batch. Below `MAX_BATCH * BATCH_DIVISOR` nodes every node of a batch also
/// compares itself with the others of its batch (a few hundred comparisons at most); past that
/// the batch is under 1/64 of the graph and that is skipped.
const MAX_BATCH: usize = 1024;

/// How many vectors ahead of the one being compared the layer search prefetches.
const PREFETCH_AHEAD: usize = 3;

/// Nodes a worker takes from the shared counter at a time.
const GRAIN: usize = 8;

/// Read-only access to the vectors that graph nodes stand for.
pub(crate) struct Space<'a> {
    /// All vectors, `dim` floats per slot.
    pub data: &'a [f32],
    /// The dimension.
    pub dim: usize,
    /// Per slot, `1 / |v|` (0 for a zero vector); used by cosine.
    pub inv_norm: &'a [f32],
    /// The similarity function.
    pub sim: Similarity,
    /// The distance kernels.
    k: Kernels,
}

/// A vector to compare against the graph's nodes (a query, or a node being inserted).
#[derive(Clone, Copy)]
pub(crate) struct Probe<'a> {
    /// The vector.
    pub v: &'a [f32],
    /// `1 / |v|` (used by cosine only).
    pub inv_norm: f32,
}

impl<'a> Space<'a> {
    /// A view of `data` (`dim` floats per slot) with per-slot inverse norms.
    pub fn new(data: &'a [f32], dim: usize, inv_norm: &'a [f32], sim: Similarity) -> Self {
        Space { data, dim, inv_norm, sim, k: kernels() }
    }

    /// The vector in `slot`.
    #[inline]
    pub fn vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// The probe for the node in `slot`.
    #[inline]
    fn probe(&self, slot: u32) -> Probe<'_> {
        Probe { v: self.vector(slot), inv_norm: self.inv_norm[slot as usize] }
    }

    /// How close `slot` is to the probe (higher is closer).
    #[inline]
    pub fn key(&self, p: Probe<'_>, slot: u32) -> f32 {
        let v = self.vector(slot);
        match self.sim {
            Similarity::Cosine => self.k.dot(p.v, v) * p.inv_norm * self.inv_norm[slot as usize],
            Similarity::DotProduct => self.k.dot(p.v, v),
            Similarity::Euclidean => -self.k.l2(p.v, v),
        }
    }

    /// Starts loading what [`key`](Self::key) will read for `slot`.
    #[inline]
    fn prefetch(&self, slot: u32) {
        prefetch(self.vector(slot));
        if self.sim == Similarity::Cosine {
            prefetch(&self.inv_norm[slot as usize..slot as usize + 1]);
        }
    }

    /// How close two nodes are.
    #[inline]
    fn key_nodes(&self, a: u32, b: u32) -> f32 {
        self.key(self.probe(a), b)
    }
}

/// A node with its key; ordered by key, then by lower slot first (for determinism).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cand {
    /// Closeness to the probe.
    pub key: f32,
    /// The node.
    pub slot: u32,
}

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key).then_with(|| other.slot.cmp(&self.slot))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A set of visited slots as a bitset that remembers which words it set, so that emptying it
/// costs as much as the search that filled it.
#[derive(Clone, Default)]
pub(crate) struct Visited {
    bits: Vec<u64>,
    touched: Vec<u32>,
}

impl Visited {
    /// An empty set for slots below `n`.
    pub fn new(n: usize) -> Self {
        Visited { bits: vec![0; n.div_ceil(64)], touched: Vec::new() }
    }

    /// Empties the set and makes room for slots below `n`.
    fn reset(&mut self, n: usize) {
        for &w in &self.touched {
            self.bits[w as usize] = 0;
        }
        self.touched.clear();
        let words = n.div_ceil(64);
        if self.bits.len() < words {
            self.bits.resize(words, 0);
        }
    }

    /// Adds `slot`; true when it was not in the set.
    #[inline]
    fn insert(&mut self, slot: u32) -> bool {
        let (w, b) = (slot as usize / 64, slot as usize % 64);
        match self.bits.get_mut(w) {
            Some(word) => {
                let old = *word;
                if old & (1 << b) != 0 {
                    return false;
                }
                if old == 0 {
                    self.touched.push(w as u32);
                }
                *word = old | (1 << b);
                true
            }
            // Slots past the capacity are never in the graph; treat them as seen.
            None => false,
        }
    }

    /// Heap bytes held.
    fn memory_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.touched.capacity() * 4
    }
}

thread_local! {
    /// The visited set of searches on this thread.
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}

/// Runs `f(i, scratch)` for every `i` below `n` on up to `threads` threads (the caller's included),
/// each with its own visited set for `capacity` slots; results in order of `i`.
fn parallel_map<T: Send>(threads: usize, n: usize, capacity: usize, f: impl Fn(usize, &mut Visited) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.div_ceil(GRAIN).max(1));
    if threads == 1 {
        let mut v = Visited::new(capacity);
        return (0..n).map(|i| f(i, &mut v)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut v = Visited::new(capacity);
        let mut out = Vec::new();
        loop {
            let start = next.fetch_add(GRAIN, AtomicOrdering::Relaxed);
            if start >= n {
                return out;
            }
            for i in start..(start + GRAIN).min(n) {
                out.push((i, f(i, &mut v)));
            }
        }
    };
    let mut all: Vec<(usize, T)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (1..threads).map(|_| sc.spawn(work)).collect();
        let mut all = work();
        for h in handles {
            // A worker panics only on a bug; carry the panic over to the caller.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// The outcome of a layer search.
pub(crate) struct LayerResult {
    /// Accepted nodes found, at most `ef`, unordered.
    pub found: Vec<Cand>,
    /// Nodes whose key was computed (read by the calibration tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub visits: usize,
    /// True when the visit budget ran out before the search converged.
    pub exhausted: bool,
}

/// The graph.
#[derive(Clone)]
pub(crate) struct Hnsw {
    m: usize,
    m0: usize,
    ef_construction: usize,
    level_mult: f64,
    rng: u64,
    /// Per slot: whether the slot is a node.
    present: Vec<bool>,
    /// Per slot: the node's top level.
    level: Vec<u8>,
    /// Level-0 links, `m0 + 1` words per slot: the count, then the links.
    l0: Vec<u32>,
    /// Per slot, the links of levels 1..=level, `m + 1` words per level: the count, then the links.
    upper: Vec<Vec<u32>>,
    entry: Option<u32>,
    top: usize,
    nodes: usize,
    scratch: Visited,
}

impl Hnsw {
    /// An empty graph with room for `capacity` slots.
    pub fn new(m: usize, ef_construction: usize, seed: u64, capacity: usize) -> Self {
        let m = m.max(2);
        let mut g = Hnsw {
            m,
            m0: 2 * m,
            ef_construction: ef_construction.max(m),
            level_mult: 1.0 / (m as f64).ln(),
            rng: seed,
            present: Vec::new(),
            level: Vec::new(),
            l0: Vec::new(),
            upper: Vec::new(),
            entry: None,
            top: 0,
            nodes: 0,
            scratch: Visited::new(0),
        };
        g.ensure(capacity);
        g
    }

    /// Number of nodes (live and tombstoned).
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Number of slots the graph has room for.
    pub fn capacity(&self) -> usize {
        self.present.len()
    }

    /// Approximate heap bytes used by the links.
    pub fn memory_bytes(&self) -> usize {
        let upper: usize = self.upper.iter().map(|u| u.capacity() * 4 + 24).sum();
        self.l0.capacity() * 4 + upper + self.present.capacity() + self.level.capacity() + self.scratch.memory_bytes()
    }

    /// Grows the per-slot arrays to hold slots below `n`.
    fn ensure(&mut self, n: usize) {
        if n > self.present.len() {
            self.present.resize(n, false);
            self.level.resize(n, 0);
            self.l0.resize(n * (self.m0 + 1), 0);
            self.upper.resize_with(n, Vec::new);
        }
    }

    fn next_u64(&mut self) -> u64 {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A level drawn from the geometric distribution `floor(-ln(u) / ln(M))`.
    fn random_level(&mut self) -> usize {
        // u in (0, 1]: 53 random bits, plus one so that ln never sees 0.
        let u = ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let level = (-u.ln() * self.level_mult).floor();
        if level >= MAX_LEVEL as f64 {
            MAX_LEVEL
        } else {
            level as usize
        }
    }

    /// The links of `slot` at `level`.
    #[inline(always)]
    fn links(&self, slot: u32, level: usize) -> &[u32] {
        if level == 0 {
            let base = slot as usize * (self.m0 + 1);
            let n = self.l0[base] as usize;
            &self.l0[base + 1..base + 1 + n]
        } else {
            let u = &self.upper[slot as usize];
            let base = (level - 1) * (self.m + 1);
            match u.get(base) {
                Some(&n) => &u[base + 1..base + 1 + n as usize],
                None => &[],
            }
        }
    }

    /// Replaces the links of `slot` at `level` (at most the level's capacity are kept).
    fn set_links(&mut self, slot: u32, level: usize, links: &[u32]) {
        if level == 0 {
            let n = links.len().min(self.m0);
            let base = slot as usize * (self.m0 + 1);
            self.l0[base] = n as u32;
            self.l0[base + 1..base + 1 + n].copy_from_slice(&links[..n]);
        } else {
            let n = links.len().min(self.m);
            let base = (level - 1) * (self.m + 1);
            let u = &mut self.upper[slot as usize];
            if u.len() < base + self.m + 1 {
                u.resize(base + self.m + 1, 0);
            }
            u[base] = n as u32;
            u[base + 1..base + 1 + n].copy_from_slice(&links[..n]);
        }
    }

    /// Makes `slot` a node of the given level with no links.
    fn init_node(&mut self, slot: u32, level: usize) {
        let s = slot as usize;
        self.present[s] = true;
        self.level[s] = level as u8;
        self.l0[s * (self.m0 + 1)] = 0;
        self.upper[s] = vec![0; level * (self.m + 1)];
        self.nodes += 1;
    }

    /// Greedy walk at one level towards the probe, from `cur`.
    fn greedy(&self, space: &Space<'_>, p: Probe<'_>, mut cur: Cand, level: usize) -> Cand {
        loop {
            let mut moved = false;
            for &n in self.links(cur.slot, level) {
                let key = space.key(p, n);
                if key > cur.key {
                    cur = Cand { key, slot: n };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Best-first search of one level from `entries`, keeping the `ef` closest accepted nodes.
    /// Rejected nodes are still walked through. Stops after `budget` key computations.
    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        space: &Space<'_>,
        p: Probe<'_>,
        entries: &[Cand],
        ef: usize,
        level: usize,
        visited: &mut Visited,
        accept: &mut dyn FnMut(u32) -> bool,
        budget: usize,
    ) -> LayerResult {
        let ef = ef.max(1);
        let mut candidates: BinaryHeap<Cand> = BinaryHeap::with_capacity(ef * 2);
        let mut found: BinaryHeap<Reverse<Cand>> = BinaryHeap::with_capacity(ef + 1);
        let mut visits = 0usize;
        let mut fresh: Vec<u32> = Vec::with_capacity(self.m0);
        for &e in entries {
            if visited.insert(e.slot) {
                candidates.push(e);
                if accept(e.slot) {
                    found.push(Reverse(e));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut exhausted = false;
        'walk: while let Some(c) = candidates.pop() {
            if found.len() >= ef {
                if let Some(Reverse(worst)) = found.peek() {
                    if c.key < worst.key {
                        break;
                    }
                }
            }
            // Gather the unvisited links first: their vector loads then overlap in the loop below.
            fresh.clear();
            fresh.extend(self.links(c.slot, level).iter().copied().filter(|&n| visited.insert(n)));
            // Keep the loads of the next few vectors in flight while this one is compared.
            for &n in fresh.iter().take(PREFETCH_AHEAD) {
                space.prefetch(n);
            }
            for (j, &n) in fresh.iter().enumerate() {
                if let Some(&ahead) = fresh.get(j + PREFETCH_AHEAD) {
                    space.prefetch(ahead);
                }
                if visits >= budget {
                    exhausted = true;
                    break 'walk;
                }
                visits += 1;
                let key = space.key(p, n);
                let worst = found.peek().map(|r| r.0.key);
                if found.len() < ef || worst.is_some_and(|w| key > w) {
                    let cand = Cand { key, slot: n };
                    candidates.push(cand);
                    if accept(n) {
                        found.push(Reverse(cand));
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        LayerResult { found: found.into_iter().map(|r| r.0).collect(), visits, exhausted }
    }

    /// The neighbour-selection heuristic: from candidates sorted closest first (keys relative to
    /// the base node), keep each one that is closer to the base than to every one kept so far.
    fn select(&self, space: &Space<'_>, sorted: &[Cand], m: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for c in sorted {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|&r| space.key_nodes(c.slot, r) <= c.key) {
                kept.push(c.slot);
            }
        }
        kept
    }

    /// Adds a link `from → to` at `level`, pruning `from`'s list with the heuristic on overflow.
    fn add_link(&mut self, space: &Space<'_>, from: u32, to: u32, level: usize) {
        let cap = if level == 0 { self.m0 } else { self.m };
        let links = self.links(from, level);
        if links.contains(&to) {
            return;
        }
        if links.len() < cap {
            let mut v = links.to_vec();
            v.push(to);
            self.set_links(from, level, &v);
            return;
        }
        let base = space.probe(from);
        let mut cands: Vec<Cand> = links.iter().chain(std::iter::once(&to)).map(|&s| Cand { key: space.key(base, s), slot: s }).collect();
        cands.sort_unstable_by(|a, b| b.cmp(a));
        let kept = self.select(space, &cands, cap);
        self.set_links(from, level, &kept);
    }

    /// Inserts the vector in `slot` as a node. `excluded[s]` marks tombstones, which are walked
    /// through but not linked to.
    pub fn insert(&mut self, space: &Space<'_>, slot: u32, excluded: &[bool]) {
        self.ensure(slot as usize + 1);
        if self.present[slot as usize] {
            return;
        }
        let level = self.random_level();
        if self.entry.is_none() {
            self.init_node(slot, level);
            self.entry = Some(slot);
            self.top = level;
            return;
        }
        let mut visited = std::mem::take(&mut self.scratch);
        let plan = self.plan_links(space, slot, level, &[], &[], excluded, &mut visited);
        self.scratch = visited;
        self.init_node(slot, level);
        for (l, links) in plan.iter().enumerate() {
            self.set_links(slot, l, links);
            for &n in links {
                self.add_link(space, n, slot, l);
            }
        }
        if level > self.top {
            self.entry = Some(slot);
            self.top = level;
        }
    }

    /// The links, per level `0..=level`, that a new node in `slot` gets: the heuristic's choice
    /// among the `ef_construction` closest live nodes of the graph at each level and the members
    /// of its batch (`batch`, of levels `levels`) on that level. Reads the graph only.
    #[allow(clippy::too_many_arguments)]
    fn plan_links(
        &self,
        space: &Space<'_>,
        slot: u32,
        level: usize,
        batch: &[u32],
        levels: &[u8],
        excluded: &[bool],
        visited: &mut Visited,
    ) -> Vec<Vec<u32>> {
        let mut plan = vec![Vec::new(); level + 1];
        let Some(entry) = self.entry else {
            return plan;
        };
        let p = space.probe(slot);
        let mut ep = Cand { key: space.key(p, entry), slot: entry };
        for l in (level + 1..=self.top).rev() {
            ep = self.greedy(space, p, ep, l);
        }
        let mut entries = vec![ep];
        let cap = self.capacity();
        let mut peers: Vec<Cand> = Vec::new();
        for l in (0..=level).rev() {
            let mut found = Vec::new();
            if l <= self.top {
                visited.reset(cap);
                visited.insert(slot);
                let mut live = |s: u32| !excluded.get(s as usize).copied().unwrap_or(false);
                found = self.search_layer(space, p, &entries, self.ef_construction, l, visited, &mut live, usize::MAX).found;
                if found.is_empty() {
                    // Only tombstones around: link to them rather than leave the node unreachable.
                    visited.reset(cap);
                    visited.insert(slot);
                    found = self.search_layer(space, p, &entries, self.ef_construction, l, visited, &mut |_| true, usize::MAX).found;
                }
                if !found.is_empty() {
                    entries.clone_from(&found);
                }
            }
            // The closest `m` members of the batch on this level are candidates too.
            peers.clear();
            peers.extend(
                batch
                    .iter()
                    .zip(levels)
                    .filter(|&(&o, &lv)| o != slot && lv as usize >= l)
                    .map(|(&o, _)| Cand { key: space.key(p, o), slot: o }),
            );
            if peers.len() > self.m {
                peers.select_nth_unstable_by(self.m - 1, |a, b| b.cmp(a));
                peers.truncate(self.m);
            }
            found.extend_from_slice(&peers);
            found.sort_unstable_by(|a, b| b.cmp(a));
            plan[l] = self.select(space, &found, self.m);
        }
        plan
    }

    /// Inserts the nodes in `slots`, in order, with up to `threads` threads (see the module
    /// documentation). With one thread this is [`insert`](Self::insert) for each slot.
    pub fn insert_many(&mut self, space: &Space<'_>, slots: &[u32], excluded: &[bool], threads: usize) {
        if let Some(&max) = slots.iter().max() {
            self.ensure(max as usize + 1);
        }
        let mut i = 0;
        while i < slots.len() {
            if threads <= 1 || self.nodes < SEQUENTIAL_PREFIX {
                self.insert(space, slots[i], excluded);
                i += 1;
                continue;
            }
            let n = (self.nodes / BATCH_DIVISOR).clamp(1, MAX_BATCH).min(slots.len() - i);
            self.insert_batch(space, &slots[i..i + n], excluded, threads);
            i += n;
        }
    }

    /// One batch of [`insert_many`](Self::insert_many): plan every node's links against the graph
    /// as it is (in parallel), write them, then add the reverse links, pruning overflowing lists
    /// in parallel.
    fn insert_batch(&mut self, space: &Space<'_>, slots: &[u32], excluded: &[bool], threads: usize) {
        let batch: Vec<u32> = slots.iter().copied().filter(|&s| !self.present[s as usize]).collect();
        let levels: Vec<u8> = batch.iter().map(|_| self.random_level() as u8).collect();
        let cap = self.capacity();
        let peers: &[u32] = if self.nodes < MAX_BATCH * BATCH_DIVISOR { &batch } else { &[] };
        let plans = {
            let this = &*self;
            parallel_map(threads, batch.len(), cap, |i, visited| {
                this.plan_links(space, batch[i], levels[i] as usize, peers, &levels, excluded, visited)
            })
        };
        // Forward links, then the reverse ones grouped by (target, level).
        let mut reverse: Vec<(u32, u8, u32)> = Vec::new();
        for ((&slot, &level), plan) in batch.iter().zip(&levels).zip(&plans) {
            self.init_node(slot, level as usize);
            for (l, links) in plan.iter().enumerate() {
                self.set_links(slot, l, links);
                reverse.extend(links.iter().map(|&t| (t, l as u8, slot)));
            }
        }
        reverse.sort_unstable();
        let mut overflow: Vec<(u32, usize, Vec<u32>)> = Vec::new();
        for group in reverse.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
            let (target, level) = (group[0].0, group[0].1 as usize);
            let mut links = self.links(target, level).to_vec();
            for &(_, _, source) in group {
                if !links.contains(&source) {
                    links.push(source);
                }
            }
            let limit = if level == 0 { self.m0 } else { self.m };
            if links.len() <= limit {
                self.set_links(target, level, &links);
            } else {
                overflow.push((target, level, links));
            }
        }
        let pruned = {
            let this = &*self;
            parallel_map(threads, overflow.len(), 0, |i, _| {
                let (target, level, links) = &overflow[i];
                let base = space.probe(*target);
                let mut cands: Vec<Cand> = links.iter().map(|&s| Cand { key: space.key(base, s), slot: s }).collect();
                cands.sort_unstable_by(|a, b| b.cmp(a));
                this.select(space, &cands, if *level == 0 { this.m0 } else { this.m })
            })
        };
        for ((target, level, _), links) in overflow.iter().zip(&pruned) {
            self.set_links(*target, *level, links);
        }
        for (&slot, &level) in batch.iter().zip(&levels) {
            if self.entry.is_none() || level as usize > self.top {
                self.entry = Some(slot);
                self.top = level as usize;
            }
        }
    }

    /// Searches for the `ef` accepted nodes closest to the probe. `budget` bounds the key
    /// computations at level 0 (the result says whether it ran out).
    pub fn search(&self, space: &Space<'_>, p: Probe<'_>, ef: usize, accept: &mut dyn FnMut(u32) -> bool, budget: usize) -> LayerResult {
        let Some(entry) = self.entry else {
            return LayerResult { found: Vec::new(), visits: 0, exhausted: false };
        };
        let mut ep = Cand { key: space.key(p, entry), slot: entry };
        for l in (1..=self.top).rev() {
            ep = self.greedy(space, p, ep, l);
        }
        let cap = self.capacity();
        let mut run = |visited: &mut Visited| {
            visited.reset(cap);
            self.search_layer(space, p, &[ep], ef, 0, visited, &mut *accept, budget)
        };
        // The thread's set, unless a search is already using it (a filter that searches).
        VISITED.with(|cell| match cell.try_borrow_mut() {
            Ok(mut visited) => run(&mut visited),
            Err(_) => run(&mut Visited::new(cap)),
        })
    }

    /// Removes the nodes marked in `removed` (tombstones), rewiring their in-neighbours to their
    /// out-neighbours level by level and pruning with the heuristic.
    pub fn consolidate(&mut self, space: &Space<'_>, removed: &[bool]) {
        let is_removed = |s: u32| removed.get(s as usize).copied().unwrap_or(false);
        let cap = self.capacity();
        let mut cands: Vec<u32> = Vec::new();
        for s in 0..cap as u32 {
            if !self.present[s as usize] || is_removed(s) {
                continue;
            }
            for l in 0..=self.level[s as usize] as usize {
                let links = self.links(s, l);
                if !links.iter().any(|&n| is_removed(n)) {
                    continue;
                }
                cands.clear();
                for &n in links {
                    if is_removed(n) {
                        cands.extend(self.links(n, l).iter().copied().filter(|&x| x != s && !is_removed(x)));
                    } else {
                        cands.push(n);
                    }
                }
                cands.sort_unstable();
                cands.dedup();
                let base = space.probe(s);
                let mut keyed: Vec<Cand> = cands.iter().map(|&n| Cand { key: space.key(base, n), slot: n }).collect();
                keyed.sort_unstable_by(|a, b| b.cmp(a));
                let limit = if l == 0 { self.m0 } else { self.m };
                let kept = self.select(space, &keyed, limit);
                self.set_links(s, l, &kept);
            }
        }
        for s in 0..cap {
            if self.present[s] && removed.get(s).copied().unwrap_or(false) {
                self.present[s] = false;
                self.level[s] = 0;
                self.l0[s * (self.m0 + 1)] = 0;
                self.upper[s] = Vec::new();
                self.nodes -= 1;
            }
        }
        if self.entry.is_some_and(|e| !self.present[e as usize]) {
            // The highest remaining node (lowest slot among equals) becomes the entry point.
            let mut best: Option<(u8, u32)> = None;
            for s in 0..cap {
                if self.present[s] && best.is_none_or(|(lv, _)| self.level[s] > lv) {
                    best = Some((self.level[s], s as u32));
                }
            }
            self.entry = best.map(|(_, s)| s);
            self.top = best.map_or(0, |(lv, _)| lv as usize);
        }
    }

    /// Checks the structural invariants (tests only): links point at present nodes of a high
    /// enough level, no self links or duplicates, counts within capacity.
    #[cfg(test)]
    pub fn check(&self) -> Result<(), String> {
        let mut count = 0;
        for s in 0..self.capacity() as u32 {
            if !self.present[s as usize] {
                continue;
            }
            count += 1;
            for l in 0..=self.level[s as usize] as usize {
                let links = self.links(s, l);
                let cap = if l == 0 { self.m0 } else { self.m };
                if links.len() > cap {
                    return Err(format!("node {s} level {l}: {} links", links.len()));
                }
                let mut sorted = links.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != links.len() {
                    return Err(format!("node {s} level {l}: duplicate links"));
                }
                for &n in links {
                    if n == s || !self.present[n as usize] || (self.level[n as usize] as usize) < l {
                        return Err(format!("node {s} level {l}: bad link to {n}"));
                    }
                }
            }
        }
        if count != self.nodes {
            return Err(format!("{count} nodes present, {} counted", self.nodes));
        }
        match self.entry {
            Some(e) if !self.present[e as usize] || self.level[e as usize] as usize != self.top => {
                Err(format!("entry {e} is not a top-level node"))
            }
            None if self.nodes > 0 => Err("no entry point".into()),
            _ => Ok(()),
        }
    }
}
