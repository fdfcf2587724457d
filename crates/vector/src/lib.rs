//! Vector on stashd (Upstash Vector's API): indexes of dense, sparse and hybrid vectors with
//! metadata, queried by similarity with metadata filters, kept durably through the store.
//!
//! * [`filter`]: the metadata filter language, parsed once into a typed tree.
//! * [`index`]: the in-memory search structures (HNSW/exact dense, inverted sparse, fusion).
//! * [`embed`]: text embedders (a BERT model run with candle; BM25).
//! * [`service`] and [`ops`]: the catalog of indexes and their operations, on the store.
//! * [`api`]: the HTTP API (`/vector/{name}/...` and the Developer API's `/v2/vector/...`).

pub mod api;
pub mod codec;
pub mod embed;
pub mod error;
pub mod filter;
pub mod index;
pub mod keys;
pub mod model;
pub mod namespace;
pub mod ops;
pub mod resumable;
pub mod service;

pub use error::VectorError;
pub use service::{IndexSpec, Models, Vector, VectorConfig};
