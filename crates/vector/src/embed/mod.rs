//! Text embedders: Upstash Vector's built-in embedding models, turning `data` into vectors.
//!
//! * [`DenseEmbedder`] is what the index needs from a dense text model: a fixed dimension, a
//!   token budget past which inputs are truncated, and a batch `embed` returning one
//!   L2-normalised vector per text.
//! * [`BertEmbedder`] implements it with a BERT sentence-transformers model (all-MiniLM-L6-v2, the
//!   BGE family, ...) loaded from a local directory and run on the CPU with candle. The directory
//!   holds `config.json`, `tokenizer.json`, `model.safetensors` and `1_Pooling/config.json`
//!   (`scripts/fetch-embedding-model.sh` fetches all-MiniLM-L6-v2). Nothing is downloaded at run
//!   time.
//! * [`Bm25`] is Upstash's BM25 sparse embedder: English tokens, stop words dropped, Snowball
//!   stems hashed to term ids, weighted by BM25's term-frequency part for documents and 1 for
//!   queries (the index applies IDF at query time). Its output feeds
//!   [`SparseVector::new`](crate::index::sparse::SparseVector::new).
//! * [`EmbedError`] says why a model could not be loaded (naming the file) or a text embedded.

mod bert;
mod bm25;

use std::path::PathBuf;

pub use bert::{BertEmbedder, Pooling};
pub use bm25::{term_id, Bm25, BM25_AVGDL, BM25_B, BM25_K1, ENGLISH_STOP_WORDS};

/// A dense text embedding model.
pub trait DenseEmbedder: Send + Sync {
    /// Length of the vectors [`embed`](Self::embed) returns.
    fn dimension(&self) -> usize;

    /// Most tokens of a text the model reads (special tokens included); longer inputs are
    /// truncated.
    fn max_tokens(&self) -> usize;

    /// One L2-normalised vector of [`dimension`](Self::dimension) values per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Why an embedding model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A file the model needs is not in its directory.
    #[error("embedding model file {file} not found in {}", dir.display())]
    MissingFile {
        /// The file, relative to the model directory.
        file: String,
        /// The model directory.
        dir: PathBuf,
    },
    /// A model file exists but could not be read.
    #[error("cannot read embedding model file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A model file was read but its content is not valid.
    #[error("invalid embedding model file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Tokenizing a text failed.
    #[error("tokenizing text for embedding failed: {0}")]
    Tokenize(String),
    /// Running the model failed.
    #[error("embedding inference failed: {0}")]
    Inference(String),
}
