//! What an index is (its definition, kept in the catalog) and what a vector record holds.

use serde::{Deserialize, Serialize};

use crate::index::{Similarity, SparseVector};

/// The kind of an index (`index_type` in the Developer API, `indexType` in `/info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum IndexKind {
    /// Dense vectors only.
    #[default]
    Dense,
    /// Sparse vectors only.
    Sparse,
    /// A dense and a sparse vector per record; queries fuse both.
    Hybrid,
}

impl IndexKind {
    /// Parses `DENSE`, `SPARSE` or `HYBRID` (any case).
    pub fn parse(s: &str) -> Option<IndexKind> {
        match s.to_ascii_uppercase().as_str() {
            "DENSE" => Some(IndexKind::Dense),
            "SPARSE" => Some(IndexKind::Sparse),
            "HYBRID" => Some(IndexKind::Hybrid),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Dense => "DENSE",
            IndexKind::Sparse => "SPARSE",
            IndexKind::Hybrid => "HYBRID",
        }
    }

    /// Whether records carry a dense vector.
    pub fn has_dense(self) -> bool {
        matches!(self, IndexKind::Dense | IndexKind::Hybrid)
    }

    /// Whether records carry a sparse vector.
    pub fn has_sparse(self) -> bool {
        matches!(self, IndexKind::Sparse | IndexKind::Hybrid)
    }
}

/// The sparse text model stashd serves.
pub const BM25: &str = "BM25";

/// An index's definition, as kept in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Stable id (a UUID); keys in the store use it, so renaming is a catalog change only.
    pub id: String,
    /// The name in the URL (`/vector/{name}`).
    pub name: String,
    /// Dense, sparse or hybrid.
    pub kind: IndexKind,
    /// Dense dimension (0 for sparse indexes).
    pub dimension: usize,
    /// Dense similarity function.
    #[serde(with = "similarity_text")]
    pub similarity: Similarity,
    /// Dense embedding model name, if any.
    pub dense_model: Option<String>,
    /// Sparse embedding model name (`BM25`), if any.
    pub sparse_model: Option<String>,
    /// Read-write token.
    pub token: String,
    /// Read-only token.
    pub readonly_token: String,
    /// Creation time (Unix seconds).
    pub created: u64,
    /// Declared in the configuration file (tokens there are the configuration's business).
    #[serde(default)]
    pub from_config: bool,
}

/// One stored vector: what the store keeps under its id (besides the id itself).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// Insertion sequence number within the namespace (the `range` order and cursor).
    pub seq: u64,
    /// The dense vector (dense and hybrid indexes).
    pub dense: Option<Vec<f32>>,
    /// The sparse vector (sparse and hybrid indexes).
    pub sparse: Option<SparseVector>,
    /// Metadata (any JSON value; `None` when absent).
    pub metadata: Option<serde_json::Value>,
    /// The `data` text.
    pub data: Option<String>,
}

/// Largest id, in bytes.
pub const MAX_ID_BYTES: usize = 512;
/// Largest metadata, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 48 * 1024;
/// Largest `data`, in bytes.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Most items in one write or read request.
pub const MAX_BATCH: usize = 1000;
/// Largest `topK`.
pub const MAX_TOP_K: usize = 1000;
/// Largest dimension.
pub const MAX_DIMENSION: usize = 5376;
/// Most vectors a fetch by prefix returns.
pub const MAX_PREFIX_FETCH: usize = 1000;
/// Most resumable queries alive at once.
pub const MAX_RESUMABLE: usize = 10_000;
/// Longest name of a namespace, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 255;

/// Similarity as its wire name in the catalog.
mod similarity_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::index::Similarity;

    pub fn serialize<S: Serializer>(s: &Similarity, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Similarity, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
