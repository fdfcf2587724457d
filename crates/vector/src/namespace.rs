//! One namespace of an index in memory: the dense and/or sparse search structures, and per id
//! the metadata, `data` and insertion sequence (the `range` order). The store holds the same
//! records durably; on start they are replayed into these structures.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::filter::Filter;
use crate::index::{DenseIndex, Fusion, Hit, IndexError, SparseIndex, SparseVector, Weighting};
use crate::model::{IndexDef, Record};

/// What a namespace keeps per id besides the vectors.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Insertion sequence number.
    pub seq: u64,
    /// Metadata.
    pub metadata: Option<Json>,
    /// `data`.
    pub data: Option<String>,
}

/// A namespace's in-memory state.
#[derive(Debug, Clone)]
pub struct Namespace {
    dense: Option<DenseIndex>,
    sparse: Option<SparseIndex>,
    entries: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    next_seq: u64,
}

/// A query against one namespace, already validated against the index.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Dense query vector.
    pub dense: Option<Vec<f32>>,
    /// Sparse query vector.
    pub sparse: Option<SparseVector>,
    /// Metadata filter.
    pub filter: Filter,
    /// Sparse weighting.
    pub weighting: Weighting,
    /// Fusion of the two components.
    pub fusion: Fusion,
}

/// How deep the component lists of a hybrid query go, at least.
const MIN_FUSION_DEPTH: usize = 100;

impl Namespace {
    /// An empty namespace shaped for the index.
    pub fn new(def: &IndexDef) -> Result<Namespace, IndexError> {
        let dense = if def.kind.has_dense() { Some(DenseIndex::new(def.dimension, def.similarity)?) } else { None };
        let sparse = if def.kind.has_sparse() { Some(SparseIndex::new()) } else { None };
        Ok(Namespace { dense, sparse, entries: HashMap::new(), order: BTreeMap::new(), next_seq: 0 })
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the namespace holds no vector.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sequence number the next new id gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The sequence number of an existing id.
    pub fn seq_of(&self, id: &str) -> Option<u64> {
        self.entries.get(id).map(|e| e.seq)
    }

    /// Whether the id exists.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// Checks that `put` of this record would succeed (so a batch is refused whole).
    pub fn check(&self, rec: &Record) -> Result<(), IndexError> {
        if let (Some(d), Some(v)) = (&self.dense, &rec.dense) {
            if v.len() != d.dimension() {
                return Err(IndexError::Dimension { got: v.len(), expected: d.dimension() });
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(IndexError::NonFinite);
            }
        }
        Ok(())
    }

    /// Inserts or replaces a record (its `seq` decides its place in `range`).
    pub fn put(&mut self, id: &str, rec: Record) -> Result<(), IndexError> {
        if let Some(old) = self.entries.get(id) {
            if old.seq != rec.seq {
                self.order.remove(&old.seq);
            }
        }
        if let (Some(d), Some(v)) = (self.dense.as_mut(), rec.dense.as_deref()) {
            d.upsert(id, v)?;
        }
        if let (Some(s), Some(v)) = (self.sparse.as_mut(), rec.sparse) {
            s.upsert(id, v);
        }
        self.order.insert(rec.seq, id.to_string());
        self.next_seq = self.next_seq.max(rec.seq + 1);
        self.entries.insert(id.to_string(), Entry { seq: rec.seq, metadata: rec.metadata, data: rec.data });
        Ok(())
    }

    /// Loads records sorted by `seq` into an empty namespace (start-up): the dense graph is
    /// built in one parallel bulk insert.
    pub fn load(&mut self, records: Vec<(String, Record)>) -> Result<(), IndexError> {
        let mut dense = Vec::new();
        for (id, mut rec) in records {
            if let Some(v) = rec.dense.take() {
                dense.push((id.clone(), v));
            }
            self.put(&id, rec)?;
        }
        if let Some(d) = self.dense.as_mut() {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            d.upsert_many(&dense, threads)?;
        }
        Ok(())
    }

    /// Removes an id; whether it existed.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(e) = self.entries.remove(id) else { return false };
        self.order.remove(&e.seq);
        if let Some(d) = self.dense.as_mut() {
            d.delete(id);
        }
        if let Some(s) = self.sparse.as_mut() {
            s.delete(id);
        }
        true
    }

    /// Empties the namespace (it keeps existing).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.next_seq = 0;
        if let Some(d) = self.dense.as_mut() {
            d.clear();
        }
        if let Some(s) = self.sparse.as_mut() {
            s.clear();
        }
    }

    /// The whole record of an id.
    pub fn record(&self, id: &str) -> Option<Record> {
        let e = self.entries.get(id)?;
        Some(Record {
            seq: e.seq,
            dense: self.dense.as_ref().and_then(|d| d.get(id)).map(<[f32]>::to_vec),
            sparse: self.sparse.as_ref().and_then(|s| s.get(id)).cloned(),
            metadata: e.metadata.clone(),
            data: e.data.clone(),
        })
    }

    /// The metadata and data of an id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// The dense vector of an id.
    pub fn dense_of(&self, id: &str) -> Option<&[f32]> {
        self.dense.as_ref().and_then(|d| d.get(id))
    }

    /// The sparse vector of an id.
    pub fn sparse_of(&self, id: &str) -> Option<&SparseVector> {
        self.sparse.as_ref().and_then(|s| s.get(id))
    }

    /// Ids in insertion order from sequence `from` on, at most `limit` of them with the prefix,
    /// and the sequence to continue from (None at the end).
    pub fn range(&self, from: u64, limit: usize, prefix: &str) -> (Vec<&str>, Option<u64>) {
        let mut out = Vec::new();
        for (&seq, id) in self.order.range(from..) {
            if !id.starts_with(prefix) {
                continue;
            }
            if out.len() == limit {
                return (out, Some(seq));
            }
            out.push(id.as_str());
        }
        (out, None)
    }

    /// Ids with a prefix, in insertion order, at most `limit`.
    pub fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Vec<String> {
        self.order.values().filter(|id| id.starts_with(prefix)).take(limit).cloned().collect()
    }

    /// Ids whose metadata the filter keeps.
    pub fn ids_matching(&self, filter: &Filter) -> Vec<String> {
        self.order.values().filter(|id| self.keeps(filter, id)).cloned().collect()
    }

    fn keeps(&self, filter: &Filter, id: &str) -> bool {
        if filter.is_match_all() {
            return true;
        }
        match self.entries.get(id) {
            Some(Entry { metadata: Some(m), .. }) => filter.matches(m),
            Some(_) => filter.matches(&Json::Null),
            None => false,
        }
    }

    /// Every id in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.order.values().map(String::as_str)
    }

    /// Approximate bytes used by the search structures.
    pub fn memory_bytes(&self) -> usize {
        let dense = self.dense.as_ref().map_or(0, |d| d.stats().memory_bytes);
        let sparse = self.sparse.as_ref().map_or(0, |s| s.stats().memory_bytes);
        dense + sparse + self.entries.len() * 64
    }

    /// The best `top_k` hits for the probe among ids the filter keeps and `skip` does not name.
    /// `fused_depth` is how deep each component list of a hybrid query goes (`None`: deeper than
    /// `top_k` by a margin, for plain queries).
    pub fn search(
        &self,
        probe: &Probe,
        top_k: usize,
        skip: &dyn Fn(&str) -> bool,
        fused_depth: Option<usize>,
    ) -> Result<Vec<Hit>, IndexError> {
        if top_k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let keep = |id: &str| !skip(id) && self.keeps(&probe.filter, id);
        let filter: Option<&dyn Fn(&str) -> bool> = Some(&keep);
        match (&probe.dense, &probe.sparse, &self.dense, &self.sparse) {
            (Some(q), Some(sq), Some(d), Some(s)) => {
                let depth = fused_depth.unwrap_or_else(|| (top_k * 4).max(MIN_FUSION_DEPTH));
                let dense_hits = d.search(q, depth, filter)?;
                let sparse_hits = s.search(sq, depth, probe.weighting, filter);
                Ok(crate::index::fuse(probe.fusion, &[&dense_hits, &sparse_hits], top_k))
            }
            (Some(q), _, Some(d), _) => d.search(q, top_k, filter),
            (_, Some(sq), _, Some(s)) => Ok(s.search(sq, top_k, probe.weighting, filter)),
            _ => Ok(Vec::new()),
        }
    }
}
