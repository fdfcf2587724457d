//! The Vector service: the catalog of indexes (open, create, rename, delete) and each index's
//! state. Data operations are in [`crate::ops`]; the HTTP API in [`crate::api`].
//!
//! State lives twice: durably in the store (see [`crate::keys`]) and, for searching, in memory
//! ([`Namespace`]). A write takes the index's write lock, applies its store batch, updates
//! memory, releases the lock and only then waits for the batch to be durable — so concurrent
//! writers share fsyncs and nothing is acknowledged before it is on disk.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use stashd_store::{cmd, SharedStore, Value};

use crate::embed::{Bm25, DenseEmbedder};
use crate::error::{VResult, VectorError};
use crate::index::Similarity;
use crate::keys;
use crate::model::{IndexDef, IndexKind, BM25, MAX_DIMENSION};
use crate::namespace::Namespace;
use crate::resumable::Resumables;

/// An index as declared in the configuration or asked for through the Developer API.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexSpec {
    /// Name (`/vector/{name}`).
    pub name: String,
    /// Kind.
    pub kind: IndexKind,
    /// Dense dimension (defaults to the dense model's).
    pub dimension: Option<usize>,
    /// Similarity.
    pub similarity: Similarity,
    /// Dense model name.
    pub dense_model: Option<String>,
    /// Sparse model name.
    pub sparse_model: Option<String>,
    /// Read-write token (generated when unset).
    pub token: Option<String>,
    /// Read-only token (generated when unset).
    pub readonly_token: Option<String>,
}

/// The embedding models this server runs.
#[derive(Clone)]
pub struct Models {
    /// The dense model, when a model directory was given.
    pub dense: Option<Arc<dyn DenseEmbedder>>,
    /// The name the dense model answers to (`ALL_MINILM_L6_V2`).
    pub dense_name: String,
    /// BM25 for sparse text.
    pub bm25: Arc<Bm25>,
}

/// The dimension of the dense model stashd ships a fetch script for (all-MiniLM-L6-v2).
pub const DEFAULT_MODEL_DIMENSION: usize = 384;

/// The name of the dense model stashd serves by default.
pub const DEFAULT_DENSE_MODEL: &str = "ALL_MINILM_L6_V2";

/// Start-up configuration of the service.
#[derive(Clone)]
pub struct VectorConfig {
    /// Token of the Developer API.
    pub admin_token: String,
    /// The models.
    pub models: Models,
    /// Indexes from the configuration file; when empty, a `default` index is made once.
    pub indexes: Vec<IndexSpec>,
}

/// One index: its definition, its write lock and its namespaces in memory.
pub struct IndexHandle {
    pub(crate) def: RwLock<IndexDef>,
    pub(crate) write: tokio::sync::Mutex<()>,
    pub(crate) spaces: RwLock<BTreeMap<String, Namespace>>,
}

impl IndexHandle {
    /// A copy of the definition.
    pub fn def(&self) -> IndexDef {
        self.def.read().clone()
    }
}

pub(crate) struct Inner {
    pub(crate) store: SharedStore,
    pub(crate) models: Models,
    pub(crate) admin_token: String,
    pub(crate) indexes: RwLock<HashMap<String, Arc<IndexHandle>>>,
    pub(crate) admin: tokio::sync::Mutex<()>,
    pub(crate) resumables: Mutex<Resumables>,
    pub(crate) public_base: RwLock<String>,
}

/// The Vector service (cheap to clone).
#[derive(Clone)]
pub struct Vector {
    pub(crate) inner: Arc<Inner>,
}

/// A random token: 43 alphanumerics.
pub fn generate_token() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
}

fn generate_id() -> String {
    let b: [u8; 16] = rand::random();
    let mut h = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        let x = match i {
            6 => (x & 0x0f) | 0x40,
            8 => (x & 0x3f) | 0x80,
            _ => *x,
        };
        if matches!(i, 4 | 6 | 8 | 10) {
            h.push('-');
        }
        h.push_str(&format!("{x:02x}"));
    }
    h
}

/// Whether `name` can name an index (it becomes a URL path segment).
pub fn valid_index_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Vector {
    /// Opens the service: reads the catalog, reconciles it with the configured indexes (making
    /// the `default` index on first start when none is configured), and rebuilds every index in
    /// memory from the store. Fails with a message on a configuration that contradicts stored
    /// indexes (an index's kind, dimension or similarity cannot change).
    pub async fn open(store: SharedStore, cfg: VectorConfig) -> Result<Vector, String> {
        let started = Instant::now();
        let v = Vector {
            inner: Arc::new(Inner {
                store,
                models: cfg.models,
                admin_token: cfg.admin_token,
                indexes: RwLock::new(HashMap::new()),
                admin: tokio::sync::Mutex::new(()),
                resumables: Mutex::new(Resumables::default()),
                public_base: RwLock::new(String::new()),
            }),
        };
        let mut defs = v.read_catalog().await.map_err(|e| e.message)?;
        let initialized = v.inner.store.one(cmd!["HGET", keys::META, keys::INITIALIZED]).await.map_err(|e| e.to_string())?;
        let mut specs: Vec<(IndexSpec, bool)> = cfg.indexes.into_iter().map(|s| (s, true)).collect();
        if specs.is_empty() && matches!(initialized, Value::Nil) && !defs.iter().any(|d| d.name == "default") {
            let dense_model = v.inner.models.dense.as_ref().map(|_| v.inner.models.dense_name.clone());
            let spec = IndexSpec {
                name: "default".into(),
                kind: IndexKind::Dense,
                dimension: Some(v.inner.models.dense.as_ref().map_or(DEFAULT_MODEL_DIMENSION, |m| m.dimension())),
                dense_model,
                ..IndexSpec::default()
            };
            specs.push((spec, false));
        }
        for (spec, from_config) in specs {
            match defs.iter_mut().find(|d| d.name == spec.name) {
                Some(existing) => {
                    let wanted = v.definition(&spec, from_config).map_err(|e| format!("vector index {:?}: {}", spec.name, e.message))?;
                    if existing.kind != wanted.kind
                        || existing.dimension != wanted.dimension
                        || existing.similarity != wanted.similarity
                        || existing.dense_model != wanted.dense_model
                        || existing.sparse_model != wanted.sparse_model
                    {
                        return Err(format!(
                            "vector index {:?} is stored as {} dimension {} {} (models {:?}/{:?}) but configured as {} dimension {} {} (models {:?}/{:?}); \
                             an index cannot change shape: delete it through the Developer API or use another name",
                            spec.name,
                            existing.kind.as_str(),
                            existing.dimension,
                            existing.similarity,
                            existing.dense_model,
                            existing.sparse_model,
                            wanted.kind.as_str(),
                            wanted.dimension,
                            wanted.similarity,
                            wanted.dense_model,
                            wanted.sparse_model,
                        ));
                    }
                    let mut changed = false;
                    if let Some(t) = spec.token.as_ref().filter(|t| **t != existing.token) {
                        existing.token = t.clone();
                        changed = true;
                    }
                    if let Some(t) = spec.readonly_token.as_ref().filter(|t| **t != existing.readonly_token) {
                        existing.readonly_token = t.clone();
                        changed = true;
                    }
                    if existing.from_config != from_config {
                        existing.from_config = from_config;
                        changed = true;
                    }
                    if changed {
                        v.write_def(existing).await.map_err(|e| e.message)?;
                    }
                }
                None => {
                    let def = v.definition(&spec, from_config).map_err(|e| format!("vector index {:?}: {}", spec.name, e.message))?;
                    v.write_def(&def).await.map_err(|e| e.message)?;
                    defs.push(def);
                }
            }
        }
        v.inner.store.apply_durable(vec![cmd!["HSET", keys::META, keys::INITIALIZED, "1"]]).await.map_err(|e| e.to_string())?;
        let mut vectors = 0usize;
        for def in defs {
            let handle = v.load_index(def).await.map_err(|e| e.message)?;
            vectors += handle.spaces.read().values().map(Namespace::len).sum::<usize>();
            let name = handle.def.read().name.clone();
            v.inner.indexes.write().insert(name, handle);
        }
        tracing::info!(indexes = v.inner.indexes.read().len(), vectors, ms = started.elapsed().as_millis() as u64, "vector indexes loaded");
        Ok(v)
    }

    /// Sets the `host:port` the Developer API reports as each index's endpoint.
    pub fn set_public_base(&self, base: String) {
        *self.inner.public_base.write() = base;
    }

    /// The `host:port/vector/{name}` of an index (no scheme, like Upstash's `endpoint`).
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/vector/{name}", self.inner.public_base.read())
    }

    /// The Developer API token.
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    /// The index with this name.
    pub fn index(&self, name: &str) -> Option<Arc<IndexHandle>> {
        self.inner.indexes.read().get(name).cloned()
    }

    /// Every index definition, by name.
    pub fn definitions(&self) -> Vec<IndexDef> {
        let mut defs: Vec<IndexDef> = self.inner.indexes.read().values().map(|h| h.def()).collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        defs
    }

    /// The models.
    pub fn models(&self) -> &Models {
        &self.inner.models
    }

    /// A full definition from a spec: validated, with tokens and id generated.
    fn definition(&self, spec: &IndexSpec, from_config: bool) -> VResult<IndexDef> {
        if !valid_index_name(&spec.name) {
            return Err(VectorError::bad_request(format!("invalid index name {:?}: use 1 to 64 letters, digits, '-' or '_'", spec.name)));
        }
        let models = &self.inner.models;
        if let Some(m) = &spec.dense_model {
            if !spec.kind.has_dense() {
                return Err(VectorError::bad_request("a dense embedding model needs a DENSE or HYBRID index"));
            }
            if !m.eq_ignore_ascii_case(&models.dense_name) {
                return Err(VectorError::bad_request(format!(
                    "dense embedding model {m} is not available: this server serves {} (set [vector] embedding_model to rename it)",
                    models.dense_name
                )));
            }
        }
        if let Some(m) = &spec.sparse_model {
            if !spec.kind.has_sparse() {
                return Err(VectorError::bad_request("a sparse embedding model needs a SPARSE or HYBRID index"));
            }
            if !m.eq_ignore_ascii_case(BM25) {
                return Err(VectorError::bad_request(format!("sparse embedding model {m} is not available: this server serves BM25")));
            }
        }
        let dimension = if spec.kind.has_dense() {
            let model_dim = spec.dense_model.as_ref().map(|_| models.dense.as_ref().map_or(DEFAULT_MODEL_DIMENSION, |m| m.dimension()));
            let d = match (spec.dimension, model_dim) {
                (Some(d), Some(m)) if d != m => {
                    return Err(VectorError::bad_request(format!("dimension {d} does not match the dense model's dimension {m}")))
                }
                (Some(d), _) => d,
                (None, Some(m)) => m,
                (None, None) => return Err(VectorError::bad_request("a DENSE or HYBRID index needs a dimension")),
            };
            if d == 0 || d > MAX_DIMENSION {
                return Err(VectorError::bad_request(format!("dimension must be between 1 and {MAX_DIMENSION}, got {d}")));
            }
            d
        } else {
            0
        };
        let now = self.inner.store.clock().now_ms() / 1000;
        Ok(IndexDef {
            id: generate_id(),
            name: spec.name.clone(),
            kind: spec.kind,
            dimension,
            similarity: spec.similarity,
            dense_model: spec.dense_model.as_ref().map(|_| models.dense_name.clone()),
            sparse_model: spec.sparse_model.as_ref().map(|_| BM25.to_string()),
            token: spec.token.clone().unwrap_or_else(generate_token),
            readonly_token: spec.readonly_token.clone().unwrap_or_else(generate_token),
            created: now,
            from_config,
        })
    }

    async fn read_catalog(&self) -> VResult<Vec<IndexDef>> {
        let flat = self.inner.store.one(cmd!["HGETALL", keys::CATALOG]).await?.check()?.into_bytes_list()?;
        let mut defs = Vec::new();
        for pair in flat.chunks_exact(2) {
            let def: IndexDef =
                serde_json::from_slice(&pair[1]).map_err(|e| VectorError::unavailable(format!("corrupt vector catalog entry: {e}")))?;
            defs.push(def);
        }
        Ok(defs)
    }

    async fn write_def(&self, def: &IndexDef) -> VResult<()> {
        let json = serde_json::to_vec(def).map_err(|e| VectorError::unavailable(e.to_string()))?;
        self.inner.store.apply_durable(vec![cmd!["HSET", keys::CATALOG, def.id.as_str(), json]]).await?;
        Ok(())
    }

    /// Reads an index's records from the store and builds its namespaces.
    async fn load_index(&self, def: IndexDef) -> VResult<Arc<IndexHandle>> {
        let store = &self.inner.store;
        let mut names = vec![String::new()];
        for n in store.one(cmd!["HKEYS", keys::namespaces(&def.id)]).await?.check()?.into_bytes_list()? {
            names.push(String::from_utf8_lossy(&n).into_owned());
        }
        let mut spaces = BTreeMap::new();
        for ns in names {
            let key = keys::records(&def.id, &ns);
            let mut raw: Vec<(String, Bytes)> = Vec::new();
            let mut cursor = "0".to_string();
            loop {
                let reply = store.one(cmd!["HSCAN", key.clone(), cursor.as_str(), "COUNT", "2000"]).await?.check()?.into_array()?;
                let mut it = reply.into_iter();
                let next = it.next().and_then(|c| c.into_bytes().ok().flatten()).map(|b| String::from_utf8_lossy(&b).into_owned());
                let items = it.next().map(Value::into_bytes_list).transpose()?.unwrap_or_default();
                for pair in items.chunks_exact(2) {
                    raw.push((String::from_utf8_lossy(&pair[0]).into_owned(), pair[1].clone()));
                }
                match next {
                    Some(c) if c != "0" => cursor = c,
                    _ => break,
                }
            }
            let def2 = def.clone();
            let ns_name = ns.clone();
            let built = tokio::task::spawn_blocking(move || build_namespace(&def2, &ns_name, raw))
                .await
                .map_err(|e| VectorError::unavailable(e.to_string()))??;
            spaces.insert(ns, built);
        }
        Ok(Arc::new(IndexHandle { def: RwLock::new(def), write: tokio::sync::Mutex::new(()), spaces: RwLock::new(spaces) }))
    }

    /// Creates an index at run time (Developer API).
    pub async fn create_index(&self, spec: IndexSpec) -> VResult<IndexDef> {
        let _admin = self.inner.admin.lock().await;
        if self.index(&spec.name).is_some() {
            return Err(VectorError::new(http::StatusCode::CONFLICT, format!("an index named {} already exists", spec.name)));
        }
        let def = self.definition(&spec, false)?;
        self.write_def(&def).await?;
        let ns = Namespace::new(&def)?;
        let handle = IndexHandle {
            def: RwLock::new(def.clone()),
            write: tokio::sync::Mutex::new(()),
            spaces: RwLock::new(BTreeMap::from([(String::new(), ns)])),
        };
        self.inner.indexes.write().insert(def.name.clone(), Arc::new(handle));
        Ok(def)
    }

    /// The index with this id.
    pub fn by_id(&self, id: &str) -> Option<Arc<IndexHandle>> {
        self.inner.indexes.read().values().find(|h| h.def.read().id == id).cloned()
    }

    fn require_id(&self, id: &str) -> VResult<Arc<IndexHandle>> {
        self.by_id(id).ok_or_else(|| VectorError::not_found(format!("index {id} not found")))
    }

    /// Deletes an index and all its data (Developer API).
    pub async fn delete_index(&self, id: &str) -> VResult<()> {
        let _admin = self.inner.admin.lock().await;
        let handle = self.require_id(id)?;
        let _w = handle.write.lock().await;
        let def = handle.def();
        let mut cmds = vec![cmd!["DEL", keys::namespaces(&def.id)]];
        for ns in handle.spaces.read().keys() {
            cmds.push(cmd!["DEL", keys::records(&def.id, ns)]);
        }
        self.inner.store.apply_durable(vec![cmd!["HDEL", keys::CATALOG, def.id.as_str()]]).await?;
        self.inner.store.apply_durable(cmds).await?;
        self.inner.indexes.write().remove(&def.name);
        self.inner.resumables.lock().drop_index(&def.id);
        Ok(())
    }

    /// Renames an index (its URL changes; data and tokens stay).
    pub async fn rename_index(&self, id: &str, name: &str) -> VResult<()> {
        let _admin = self.inner.admin.lock().await;
        let handle = self.require_id(id)?;
        if !valid_index_name(name) {
            return Err(VectorError::bad_request(format!("invalid index name {name:?}: use 1 to 64 letters, digits, '-' or '_'")));
        }
        let old = handle.def();
        if old.name == name {
            return Ok(());
        }
        if self.index(name).is_some() {
            return Err(VectorError::new(http::StatusCode::CONFLICT, format!("an index named {name} already exists")));
        }
        let mut def = old.clone();
        def.name = name.to_string();
        self.write_def(&def).await?;
        *handle.def.write() = def;
        let mut map = self.inner.indexes.write();
        map.remove(&old.name);
        map.insert(name.to_string(), handle.clone());
        Ok(())
    }

    /// Replaces both tokens of an index with new ones.
    pub async fn reset_tokens(&self, id: &str) -> VResult<IndexDef> {
        let _admin = self.inner.admin.lock().await;
        let handle = self.require_id(id)?;
        let mut def = handle.def();
        def.token = generate_token();
        def.readonly_token = generate_token();
        self.write_def(&def).await?;
        *handle.def.write() = def.clone();
        Ok(def)
    }
}

fn build_namespace(def: &IndexDef, ns: &str, raw: Vec<(String, Bytes)>) -> VResult<Namespace> {
    let mut recs = Vec::with_capacity(raw.len());
    for (id, bytes) in raw {
        match crate::codec::decode(&bytes) {
            Ok(r) => recs.push((id, r)),
            Err(e) => return Err(VectorError::unavailable(format!("index {} namespace {ns:?} record {id:?}: {e}", def.name))),
        }
    }
    recs.sort_by_key(|(_, r)| r.seq);
    let mut space = Namespace::new(def)?;
    space.load(recs)?;
    Ok(space)
}
