//! Sparse vectors and their inverted index.
//!
//! A sparse vector is a list of `(index, value)` pairs; the score of a stored vector `d` for a
//! query `q` is the inner product over the indices both have non-zero:
//!
//! ```text
//! score(q, d) = Σ_{t ∈ q ∩ d} q_t · d_t · w_t
//! ```
//!
//! with `w_t = 1` by default, or with [`Weighting::Idf`] Upstash's (BM25) inverse document
//! frequency
//!
//! ```text
//! w_t = ln( (N − n_t + 0.5) / (n_t + 0.5) + 1 )
//! ```
//!
//! where `N` is the number of sparse vectors in the index and `n_t` the number of them with a
//! non-zero value at index `t`. Only vectors sharing at least one non-zero index with the query
//! are results. Sums are computed in f64 and returned as f32.
//!
//! The index keeps, per index `t`, a posting list of `(slot, value)`. Deletes are lazy: the slot's
//! id is unlinked at once (so it is never returned and no longer counts in `N` or `n_t`), and its
//! postings are dropped in a batch compaction once dead postings outnumber live ones. The search is
//! exhaustive over the query's posting lists, so the filter is applied to every candidate, best
//! first, and `top_k` matches come back whenever that many matching vectors share an index with
//! the query.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::{Hit, IdFilter, IndexError};

/// Most non-zero values a sparse vector may have.
pub const MAX_SPARSE_NON_ZEROS: usize = 1000;

/// Fewest dead postings that trigger a compaction.
const MIN_COMPACT: usize = 1024;

/// A sparse vector: strictly increasing indices with their values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseVector {
    /// A sparse vector from parallel lists, sorted by index. Errors on different lengths, a
    /// repeated index, a non-finite value, or more than [`MAX_SPARSE_NON_ZEROS`] non-zero values.
    /// Explicit zeros are kept (and never match anything).
    pub fn new(indices: Vec<u32>, values: Vec<f32>) -> Result<Self, IndexError> {
        if indices.len() != values.len() {
            return Err(IndexError::SparseLength { indices: indices.len(), values: values.len() });
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(IndexError::NonFinite);
        }
        let non_zeros = values.iter().filter(|v| **v != 0.0).count();
        if non_zeros > MAX_SPARSE_NON_ZEROS {
            return Err(IndexError::TooManyNonZeros { got: non_zeros, max: MAX_SPARSE_NON_ZEROS });
        }
        let sorted = indices.windows(2).all(|w| w[0] < w[1]);
        let (indices, values) = if sorted {
            (indices, values)
        } else {
            let mut pairs: Vec<(u32, f32)> = indices.into_iter().zip(values).collect();
            pairs.sort_unstable_by_key(|p| p.0);
            if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(IndexError::DuplicateIndex(w[0].0));
            }
            pairs.into_iter().unzip()
        };
        Ok(SparseVector { indices, values })
    }

    /// Like [`new`](Self::new), but a vector with more than [`MAX_SPARSE_NON_ZEROS`] entries
    /// keeps only the largest in magnitude (what a long BM25 document needs).
    pub fn new_truncated(indices: Vec<u32>, values: Vec<f32>) -> Result<Self, IndexError> {
        if indices.len() <= MAX_SPARSE_NON_ZEROS || indices.len() != values.len() {
            return Self::new(indices, values);
        }
        let mut pairs: Vec<(u32, f32)> = indices.into_iter().zip(values).collect();
        pairs.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        pairs.truncate(MAX_SPARSE_NON_ZEROS);
        let (i, v) = pairs.into_iter().unzip();
        Self::new(i, v)
    }

    /// The indices, increasing.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The values, aligned with [`indices`](Self::indices).
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// `(index, value)` pairs, by increasing index.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices.iter().copied().zip(self.values.iter().copied())
    }

    /// The entries with a non-zero value.
    fn non_zeros(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.iter().filter(|e| e.1 != 0.0)
    }

    /// The parallel lists.
    pub fn into_parts(self) -> (Vec<u32>, Vec<f32>) {
        (self.indices, self.values)
    }

    /// The inner product with another sparse vector (in f64).
    pub fn dot(&self, other: &SparseVector) -> f64 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0f64);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    sum += f64::from(self.values[i]) * f64::from(other.values[j]);
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

/// How query terms are weighted (`weightingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Weighting {
    /// Plain inner product.
    #[default]
    None,
    /// Each matched index weighted by its inverse document frequency (see the module docs).
    Idf,
}

impl fmt::Display for Weighting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Weighting::None => "NONE",
            Weighting::Idf => "IDF",
        })
    }
}

/// The error of parsing an unknown weighting strategy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown weighting strategy: {0}")]
pub struct UnknownWeighting(pub String);

impl FromStr for Weighting {
    type Err = UnknownWeighting;

    /// Parses `IDF` (or `NONE`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "IDF" => Ok(Weighting::Idf),
            "NONE" => Ok(Weighting::None),
            _ => Err(UnknownWeighting(s.to_string())),
        }
    }
}

/// The BM25 inverse document frequency `ln((N − n + 0.5) / (n + 0.5) + 1)` of an index present in
/// `n` of `total` vectors.
pub fn idf(total: usize, n: usize) -> f64 {
    let (big_n, n) = (total as f64, n as f64);
    ((big_n - n + 0.5) / (n + 0.5) + 1.0).ln()
}

/// The postings of one index.
#[derive(Debug, Clone, Default)]
struct Term {
    /// `(slot, value)`, including dead slots until the next compaction.
    postings: Vec<(u32, f32)>,
    /// Live vectors with this index non-zero (`n_t`).
    live: u32,
}

/// Counters describing a [`SparseIndex`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseStats {
    /// Live vectors.
    pub len: usize,
    /// Distinct indices with at least one posting.
    pub terms: usize,
    /// Postings, live and dead.
    pub postings: usize,
    /// Postings of deleted vectors awaiting compaction.
    pub dead_postings: usize,
    /// Approximate heap bytes used.
    pub memory_bytes: usize,
}

/// An inverted index of sparse vectors. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct SparseIndex {
    /// Per slot: the id, `None` for a dead or free slot.
    ids: Vec<Option<Arc<str>>>,
    /// Per slot: the vector (empty for a dead or free slot).
    vectors: Vec<SparseVector>,
    /// Per slot: deleted, postings not yet compacted (not reusable).
    dead: Vec<bool>,
    slots: HashMap<Arc<str>, u32>,
    free: Vec<u32>,
    terms: HashMap<u32, Term>,
    postings: usize,
    dead_postings: usize,
}

impl SparseIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of vectors (`N` of the IDF formula).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// True when a vector with this id exists.
    pub fn contains(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// The vector stored under `id` (sorted by index).
    pub fn get(&self, id: &str) -> Option<&SparseVector> {
        self.slots.get(id).map(|&s| &self.vectors[s as usize])
    }

    /// The ids, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids.iter().filter_map(|id| id.as_deref())
    }

    /// Number of vectors with a non-zero value at `index` (`n_t` of the IDF formula).
    pub fn document_frequency(&self, index: u32) -> usize {
        self.terms.get(&index).map_or(0, |t| t.live as usize)
    }

    /// The IDF weight of `index` in the current index.
    pub fn idf(&self, index: u32) -> f64 {
        idf(self.len(), self.document_frequency(index))
    }

    /// Counters and memory use.
    pub fn stats(&self) -> SparseStats {
        let vectors: usize = self.vectors.iter().map(|v| v.indices.capacity() * 8 + 48).sum();
        let terms: usize = self.terms.values().map(|t| t.postings.capacity() * 8 + 48).sum();
        let ids: usize = self.slots.keys().map(|k| k.len() + 16 + 8 + 24).sum();
        SparseStats {
            len: self.len(),
            terms: self.terms.len(),
            postings: self.postings,
            dead_postings: self.dead_postings,
            memory_bytes: vectors + terms + ids + self.ids.capacity() * 16 + self.dead.capacity() + self.free.capacity() * 4,
        }
    }

    /// Inserts `vector` under `id`, or replaces the vector already there. Returns true when the id
    /// is new.
    pub fn upsert(&mut self, id: &str, vector: SparseVector) -> bool {
        let (id, new) = match self.slots.get_key_value(id) {
            Some((key, &slot)) => {
                if self.vectors[slot as usize] == vector {
                    return false;
                }
                let key = key.clone();
                self.remove_slot(slot);
                (key, false)
            }
            None => (Arc::from(id), true),
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.ids.push(None);
                self.vectors.push(SparseVector::default());
                self.dead.push(false);
                (self.ids.len() - 1) as u32
            }
        };
        for (index, value) in vector.non_zeros() {
            let term = self.terms.entry(index).or_default();
            term.postings.push((slot, value));
            term.live += 1;
            self.postings += 1;
        }
        self.vectors[slot as usize] = vector;
        self.ids[slot as usize] = Some(id.clone());
        self.slots.insert(id, slot);
        self.maybe_compact();
        new
    }

    /// Deletes the vector with this id; true when it existed.
    pub fn delete(&mut self, id: &str) -> bool {
        let Some(&slot) = self.slots.get(id) else {
            return false;
        };
        self.remove_slot(slot);
        self.maybe_compact();
        true
    }

    /// Deletes everything.
    pub fn clear(&mut self) {
        *self = SparseIndex::default();
    }

    fn remove_slot(&mut self, slot: u32) {
        let s = slot as usize;
        if let Some(id) = self.ids[s].take() {
            self.slots.remove(&id);
        }
        let vector = std::mem::take(&mut self.vectors[s]);
        let mut had_postings = false;
        for (index, _) in vector.non_zeros() {
            if let Some(term) = self.terms.get_mut(&index) {
                term.live = term.live.saturating_sub(1);
            }
            self.dead_postings += 1;
            had_postings = true;
        }
        if had_postings {
            self.dead[s] = true;
        } else {
            self.free.push(slot);
        }
    }

    fn maybe_compact(&mut self) {
        if self.dead_postings >= MIN_COMPACT && self.dead_postings * 2 >= self.postings {
            self.compact();
        }
    }

    /// Drops the postings of deleted vectors now and frees their slots (normally automatic).
    pub fn compact(&mut self) {
        let ids = &self.ids;
        self.terms.retain(|_, term| {
            term.postings.retain(|&(slot, _)| ids[slot as usize].is_some());
            !term.postings.is_empty()
        });
        self.postings -= self.dead_postings;
        self.dead_postings = 0;
        for (s, dead) in self.dead.iter_mut().enumerate() {
            if *dead {
                *dead = false;
                self.free.push(s as u32);
            }
        }
    }

    /// The `top_k` vectors with the highest inner product with `query` (weighted as asked) among
    /// those that share a non-zero index with it and that the filter keeps, best first; ties by id.
    pub fn search(&self, query: &SparseVector, top_k: usize, weighting: Weighting, filter: Option<IdFilter<'_>>) -> Vec<Hit> {
        if top_k == 0 || self.is_empty() {
            return Vec::new();
        }
        let n = self.ids.len();
        let mut acc = vec![0.0f64; n];
        let mut seen = vec![0u64; n.div_ceil(64)];
        let mut touched: Vec<u32> = Vec::new();
        let total = self.len();
        for (index, q) in query.non_zeros() {
            let Some(term) = self.terms.get(&index) else { continue };
            if term.live == 0 {
                continue;
            }
            let weight = match weighting {
                Weighting::None => f64::from(q),
                Weighting::Idf => f64::from(q) * idf(total, term.live as usize),
            };
            for &(slot, value) in &term.postings {
                let s = slot as usize;
                if self.ids[s].is_none() {
                    continue;
                }
                acc[s] += weight * f64::from(value);
                let (w, b) = (s / 64, 1u64 << (s % 64));
                if seen[w] & b == 0 {
                    seen[w] |= b;
                    touched.push(slot);
                }
            }
        }
        let mut heap: BinaryHeap<Ranked<'_>> =
            touched.iter().filter_map(|&s| self.ids[s as usize].as_deref().map(|id| Ranked { score: acc[s as usize], id })).collect();
        let mut hits = Vec::with_capacity(top_k.min(heap.len()));
        while hits.len() < top_k {
            let Some(best) = heap.pop() else { break };
            if filter.is_none_or(|f| f(best.id)) {
                hits.push(Hit { id: best.id.to_string(), score: best.score as f32 });
            }
        }
        hits
    }
}

/// A scored candidate ordered by score, then by smaller id first.
struct Ranked<'a> {
    score: f64,
    id: &'a str,
}

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked<'_> {}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.id.cmp(self.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(pairs: &[(u32, f32)]) -> SparseVector {
        SparseVector::new(pairs.iter().map(|p| p.0).collect(), pairs.iter().map(|p| p.1).collect()).unwrap()
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn vectors_are_validated_and_sorted() {
        let v = SparseVector::new(vec![5, 1, 3], vec![0.5, 0.1, 0.3]).unwrap();
        assert_eq!(v.indices(), [1, 3, 5]);
        assert_eq!(v.values(), [0.1, 0.3, 0.5]);
        assert_eq!(SparseVector::new(vec![1, 2], vec![0.1]), Err(IndexError::SparseLength { indices: 2, values: 1 }));
        assert_eq!(SparseVector::new(vec![4, 2, 4], vec![0.1, 0.2, 0.3]), Err(IndexError::DuplicateIndex(4)));
        assert_eq!(SparseVector::new(vec![1], vec![f32::NAN]), Err(IndexError::NonFinite));
        let many: Vec<u32> = (0..1001).collect();
        assert_eq!(SparseVector::new(many.clone(), vec![1.0; 1001]), Err(IndexError::TooManyNonZeros { got: 1001, max: 1000 }));
        assert!(SparseVector::new(many[..1000].to_vec(), vec![1.0; 1000]).is_ok());
        assert!(SparseVector::new(vec![], vec![]).unwrap().is_empty());
        assert_eq!(sv(&[(1, 2.0), (3, 4.0)]).dot(&sv(&[(0, 9.0), (3, 0.5), (7, 1.0)])), 2.0);
    }

    #[test]
    fn inner_product_scores_and_matching() {
        let mut idx = SparseIndex::new();
        assert!(idx.upsert("a", sv(&[(0, 0.1), (1, 0.2)])));
        assert!(idx.upsert("b", sv(&[(1, 0.2), (2, 0.3)])));
        assert!(idx.upsert("c", sv(&[(2, 0.3), (3, 0.4)])));
        let q = sv(&[(0, 0.1), (1, 0.2)]);
        let hits = idx.search(&q, 5, Weighting::None, None);
        // Only vectors sharing an index: topK 5 over 3 vectors returns 2 here.
        assert_eq!(ids(&hits), ["a", "b"]);
        assert_eq!(hits[0].score, (f64::from(0.1f32) * f64::from(0.1f32) + f64::from(0.2f32) * f64::from(0.2f32)) as f32);
        assert_eq!(hits[1].score, (f64::from(0.2f32) * f64::from(0.2f32)) as f32);
        assert!((hits[0].score - 0.05).abs() < 1e-7 && (hits[1].score - 0.04).abs() < 1e-7);
        // A query touching everything returns everything.
        assert_eq!(idx.search(&sv(&[(1, 1.0), (3, 1.0)]), 5, Weighting::None, None).len(), 3);
        // Nothing in common: nothing.
        assert!(idx.search(&sv(&[(9, 1.0)]), 5, Weighting::None, None).is_empty());
        // Negative products still match (a shared index, a negative score).
        let hits = idx.search(&sv(&[(3, -1.0)]), 5, Weighting::None, None);
        assert_eq!(hits, [Hit::new("c", -0.4)]);
    }

    #[test]
    fn idf_matches_the_reference_example() {
        // Upstash (vector-py resumable query test): query {0:0.1, 1:0.2} over
        // {0:.1,1:.2}, {1:.2,2:.3}, {2:.3,3:.4} with IDF → 0.028608438, 0.018800145.
        let mut idx = SparseIndex::new();
        idx.upsert("id0", sv(&[(0, 0.1), (1, 0.2)]));
        idx.upsert("id1", sv(&[(1, 0.2), (2, 0.3)]));
        idx.upsert("id2", sv(&[(2, 0.3), (3, 0.4)]));
        assert_eq!(idx.document_frequency(1), 2);
        // By hand: idf(0) = ln(2.5/1.5 + 1) = 0.98083, idf(1) = ln(1.5/2.5 + 1) = 0.47000.
        assert!((idx.idf(0) - (8.0f64 / 3.0).ln()).abs() < 1e-12);
        assert!((idx.idf(1) - 1.6f64.ln()).abs() < 1e-12);
        let hits = idx.search(&sv(&[(0, 0.1), (1, 0.2)]), 10, Weighting::Idf, None);
        assert_eq!(hits, [Hit::new("id0", 0.028_608_438), Hit::new("id1", 0.018_800_145)]);
        assert_eq!(hits[0].score.to_string(), "0.028608438");
        assert_eq!(hits[1].score.to_string(), "0.018800145");
    }

    #[test]
    fn idf_follows_deletes() {
        let mut idx = SparseIndex::new();
        idx.upsert("a", sv(&[(7, 1.0)]));
        idx.upsert("b", sv(&[(7, 1.0), (8, 1.0)]));
        idx.upsert("c", sv(&[(8, 1.0)]));
        assert_eq!((idx.len(), idx.document_frequency(7)), (3, 2));
        assert!(idx.delete("a"));
        assert!(!idx.delete("a"));
        assert_eq!((idx.len(), idx.document_frequency(7)), (2, 1));
        let hits = idx.search(&sv(&[(7, 1.0)]), 10, Weighting::Idf, None);
        assert_eq!(hits, [Hit::new("b", idf(2, 1) as f32)]);
    }

    #[test]
    fn upsert_replaces_and_get_returns_sorted() {
        let mut idx = SparseIndex::new();
        assert!(idx.upsert("x", sv(&[(3, 1.0), (1, 2.0)])));
        assert!(!idx.upsert("x", sv(&[(4, 1.0)])));
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.get("x"), Some(&sv(&[(4, 1.0)])));
        assert!(idx.search(&sv(&[(1, 1.0)]), 10, Weighting::None, None).is_empty());
        assert_eq!(ids(&idx.search(&sv(&[(4, 1.0)]), 10, Weighting::None, None)), ["x"]);
        assert_eq!(idx.document_frequency(1), 0);
        idx.clear();
        assert!(idx.is_empty());
    }

    #[test]
    fn filter_applies_during_search_with_ties_by_id() {
        let mut idx = SparseIndex::new();
        for i in 0..1000u32 {
            idx.upsert(&format!("d{i:04}"), sv(&[(1, 1.0), (2, (i % 10) as f32)]));
        }
        let q = sv(&[(1, 1.0), (2, 1.0)]);
        // The best 100 all score 10; a 1% filter still yields 10 hits, best first.
        let rare = |id: &str| id.ends_with("37");
        let hits = idx.search(&q, 10, Weighting::None, Some(&rare));
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| rare(&h.id)));
        assert_eq!(hits[0], Hit::new("d0037", 8.0));
        assert_eq!(hits[9], Hit::new("d0937", 8.0));
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        // Ties by id.
        let hits = idx.search(&q, 3, Weighting::None, None);
        assert_eq!(ids(&hits), ["d0009", "d0019", "d0029"]);
        assert!(hits.iter().all(|h| h.score == 10.0));
    }

    #[test]
    fn lazy_deletes_compact() {
        let mut idx = SparseIndex::new();
        for i in 0..3000u32 {
            idx.upsert(&i.to_string(), sv(&[(i % 7, 1.0), (100 + i % 3, 2.0)]));
        }
        assert_eq!(idx.stats().postings, 6000);
        for i in 0..2000u32 {
            assert!(idx.delete(&i.to_string()));
        }
        let st = idx.stats();
        assert_eq!(st.len, 1000);
        assert!(st.dead_postings < st.postings / 2 + 1, "{st:?}");
        // Only live vectors count and come back.
        let hits = idx.search(&sv(&[(100, 1.0)]), 5000, Weighting::None, None);
        assert_eq!(hits.len(), (2000..3000).filter(|i| i % 3 == 0).count());
        assert!(hits.iter().all(|h| h.id.parse::<u32>().unwrap() >= 2000));
        assert_eq!(idx.document_frequency(100), hits.len());
        idx.compact();
        assert_eq!(idx.stats().postings, 2000);
        assert_eq!(idx.stats().dead_postings, 0);
        // Slots are reused.
        for i in 0..2000u32 {
            idx.upsert(&format!("n{i}"), sv(&[(5, 1.0)]));
        }
        assert_eq!(idx.len(), 3000);
        assert_eq!(idx.search(&sv(&[(5, 1.0)]), 5000, Weighting::None, None).len(), 2000 + (2000..3000).filter(|i| i % 7 == 5).count());
    }

    #[test]
    fn weighting_names() {
        assert_eq!("idf".parse::<Weighting>(), Ok(Weighting::Idf));
        assert_eq!(Weighting::Idf.to_string(), "IDF");
        assert!("BM42".parse::<Weighting>().is_err());
    }
}

/// Latency on a larger seeded set; run with `cargo test --release -- --nocapture`.
#[cfg(test)]
mod release_tests {
    use std::time::Instant;

    use super::*;

    #[test]
    #[cfg_attr(debug_assertions, ignore = "release-mode test: cargo test --release")]
    fn search_100k_zipf_documents() {
        // 100k documents of 40 terms drawn Zipf-like from a 30k vocabulary; queries of 5 terms.
        let mut s = 42u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let term = |next: &mut dyn FnMut() -> u64| {
            // Inverse-CDF of ~1/rank: exp(u · ln(V)).
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            ((30_000f64).ln() * u).exp() as u32
        };
        let mut idx = SparseIndex::new();
        let t = Instant::now();
        for d in 0..100_000 {
            let mut terms: Vec<u32> = (0..40).map(|_| term(&mut next)).collect();
            terms.sort_unstable();
            terms.dedup();
            let values = terms.iter().map(|t| 1.0 / (1.0 + *t as f32).ln()).collect();
            idx.upsert(&format!("doc-{d}"), SparseVector::new(terms, values).unwrap());
        }
        eprintln!("sparse build 100k docs: {:.2} s, {:?}", t.elapsed().as_secs_f64(), idx.stats());
        let queries: Vec<SparseVector> = (0..200)
            .map(|_| {
                let mut terms: Vec<u32> = (0..5).map(|_| term(&mut next)).collect();
                terms.sort_unstable();
                terms.dedup();
                let n = terms.len();
                SparseVector::new(terms, vec![1.0; n]).unwrap()
            })
            .collect();
        for weighting in [Weighting::None, Weighting::Idf] {
            let t = Instant::now();
            for q in &queries {
                assert!(!idx.search(q, 10, weighting, None).is_empty());
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
            eprintln!("sparse search {weighting}: {us:.0} µs/query");
        }
        let rare = |id: &str| id.ends_with("99");
        let t = Instant::now();
        for q in &queries {
            let _ = idx.search(q, 10, Weighting::Idf, Some(&rare));
        }
        eprintln!("sparse search IDF, 1% filter: {:.0} µs/query", t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64);
    }
}
