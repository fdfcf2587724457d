//! Index structures and scoring for Vector.
//!
//! Everything here is in memory and storage-agnostic: a durable store keeps the records and
//! rebuilds these structures on start by upserting them again. The pieces:
//!
//! * [`similarity`]: the three similarity functions and Upstash's score formulas
//!   (COSINE `(1 + cos) / 2`, EUCLIDEAN `1 / (1 + d²)`, DOT_PRODUCT `(1 + a·b) / 2`).
//! * [`dense`]: [`DenseIndex`], ids to fixed-dimension vectors, searched by an exact scan while
//!   small and by an HNSW graph past a size threshold, with filters honoured during the search.
//! * [`sparse`]: [`SparseIndex`], an inverted index scored by inner product, optionally with
//!   BM25-style IDF weights.
//! * [`hybrid`]: fusion of ranked dense and sparse result lists by RRF or DBSF.
//!
//! Filters are opaque predicates over ids (`&dyn Fn(&str) -> bool`): the caller resolves an id to
//! its metadata and evaluates the filter language there. The indexes call the predicate while they
//! search, so a selective filter still yields `top_k` matches whenever that many exist.
//!
//! Ties in score are broken by id (ascending), never by internal slot numbers, so results do not
//! depend on the order in which a store replays its records on start.
//!
//! Driving the indexes (what the HTTP face and the store do):
//!
//! * One [`DenseIndex`] and/or [`SparseIndex`] per namespace, behind a lock (searches take `&self`,
//!   writes `&mut self`; both types are `Send + Sync + Clone`).
//! * Metadata, `data`, insertion order (for `range`) and the wire form of vectors stay in the store;
//!   [`DenseIndex::get`] returns the vector exactly as upserted, [`SparseIndex::get`] sorted by index.
//! * A hybrid query searches both indexes with candidate lists deeper than `top_k` and fuses them
//!   with [`fuse`]; a query with only one component returns that component's raw scores.
//! * Resumable queries can search again with a larger `top_k` and skip what was already returned.
//! * Dimension, `top_k` and id limits are the face's to enforce; the indexes only reject malformed
//!   vectors ([`IndexError`]).

pub mod dense;
mod hnsw;
pub mod hybrid;
pub mod similarity;
pub mod sparse;

pub use dense::{DenseIndex, DenseParams, DenseStats, SearchPlan};
pub use hybrid::{dbsf, fuse, rrf, Fusion, RRF_K};
pub use similarity::Similarity;
pub use sparse::{SparseIndex, SparseStats, SparseVector, Weighting, MAX_SPARSE_NON_ZEROS};

/// A filter over ids: `true` keeps the vector with that id in the results.
pub type IdFilter<'a> = &'a dyn Fn(&str) -> bool;

/// One search result: an id and its score (higher is better).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The vector's id.
    pub id: String,
    /// The score in Upstash's scale for the index kind (dense scores lie in [0, 1] for unit-length
    /// input; sparse and fused scores are unbounded sums).
    pub score: f32,
}

impl Hit {
    /// A hit from an id and a score.
    pub fn new(id: impl Into<String>, score: f32) -> Self {
        Hit { id: id.into(), score }
    }
}

/// Errors from index operations; every one is caused by the caller's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// A dense vector whose length differs from the index dimension (Upstash answers 422 with
    /// this exact text).
    #[error("Invalid vector dimension: {got}, expected: {expected}")]
    Dimension {
        /// The length that was given.
        got: usize,
        /// The index dimension.
        expected: usize,
    },
    /// A NaN or infinite component.
    #[error("Vector values must be finite numbers")]
    NonFinite,
    /// A sparse vector whose `indices` and `values` differ in length.
    #[error("Sparse vector indices and values must have the same length, got {indices} and {values}")]
    SparseLength {
        /// Number of indices.
        indices: usize,
        /// Number of values.
        values: usize,
    },
    /// A sparse vector with more than [`MAX_SPARSE_NON_ZEROS`] entries.
    #[error("Sparse vectors can have at most {max} non-zero values, got {got}")]
    TooManyNonZeros {
        /// Entries given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The same index twice in one sparse vector.
    #[error("Sparse vector has duplicate index {0}")]
    DuplicateIndex(u32),
    /// Index parameters out of range (zero dimension, `m < 2`, zero `ef`, ...).
    #[error("Invalid index parameter: {0}")]
    InvalidParam(&'static str),
}
