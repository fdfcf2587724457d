//! The data operations of an index (what `/upsert`, `/query`, `/fetch`, ... do), on typed,
//! already-parsed requests. Reads search memory; writes follow the order described in
//! [`crate::service`].

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value as Json;
use stashd_store::{cmd, Cmd};

use crate::embed::DenseEmbedder;
use crate::error::{VResult, VectorError};
use crate::filter::Filter;
use crate::index::{Fusion, Hit, SparseVector, Weighting};
use crate::keys;
use crate::model::{IndexDef, IndexKind, Record, MAX_DATA_BYTES, MAX_ID_BYTES, MAX_METADATA_BYTES, MAX_PREFIX_FETCH, MAX_TOP_K};
use crate::namespace::{Namespace, Probe};
use crate::resumable::{Include, Resumable};
use crate::service::{IndexHandle, Vector};

/// One vector to write.
#[derive(Debug, Clone, Default)]
pub struct WriteItem {
    /// Id.
    pub id: String,
    /// Dense vector.
    pub dense: Option<Vec<f32>>,
    /// Sparse vector.
    pub sparse: Option<SparseVector>,
    /// Metadata.
    pub metadata: Option<Json>,
    /// `data` text.
    pub data: Option<String>,
}

/// Which components a text query uses on a hybrid index (`queryMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueryMode {
    /// Both (the default).
    #[default]
    Hybrid,
    /// Only the dense component.
    Dense,
    /// Only the sparse component.
    Sparse,
}

impl QueryMode {
    /// Parses `HYBRID`, `DENSE` or `SPARSE` (any case).
    pub fn parse(s: &str) -> Option<QueryMode> {
        match s.to_ascii_uppercase().as_str() {
            "HYBRID" => Some(QueryMode::Hybrid),
            "DENSE" => Some(QueryMode::Dense),
            "SPARSE" => Some(QueryMode::Sparse),
            _ => None,
        }
    }
}

/// What a query searches with.
#[derive(Debug, Clone)]
pub enum QueryInput {
    /// Vectors given by the client.
    Vectors {
        /// Dense.
        dense: Option<Vec<f32>>,
        /// Sparse.
        sparse: Option<SparseVector>,
    },
    /// Text to embed with the index's models.
    Text {
        /// The text.
        data: String,
        /// Components to use.
        mode: QueryMode,
    },
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// Input.
    pub input: QueryInput,
    /// Results wanted.
    pub top_k: usize,
    /// Returned fields.
    pub include: Include,
    /// Filter.
    pub filter: Filter,
    /// Sparse weighting (`None`: IDF for BM25 text queries, none otherwise).
    pub weighting: Option<Weighting>,
    /// Fusion.
    pub fusion: Fusion,
}

/// A vector as answered (with a score for query results).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Id.
    pub id: String,
    /// Score (queries only).
    pub score: Option<f32>,
    /// Dense vector, when asked for.
    pub dense: Option<Vec<f32>>,
    /// Sparse vector, when asked for.
    pub sparse: Option<SparseVector>,
    /// Metadata, when asked for and present.
    pub metadata: Option<Json>,
    /// Data, when asked for and present.
    pub data: Option<String>,
}

/// What `/delete` removes.
#[derive(Debug, Clone)]
pub enum DeleteBy {
    /// These ids.
    Ids(Vec<String>),
    /// Ids starting with this.
    Prefix(String),
    /// Vectors whose metadata the filter keeps.
    Filter(Filter),
}

/// A parsed `/update`.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// Id.
    pub id: String,
    /// New dense vector.
    pub dense: Option<Vec<f32>>,
    /// New sparse vector.
    pub sparse: Option<SparseVector>,
    /// New data (re-embedded on an index with models, unless vectors are given too).
    pub data: Option<String>,
    /// New metadata.
    pub metadata: Option<Json>,
    /// Merge-patch the metadata instead of replacing it.
    pub patch: bool,
}

/// The error of a `data` request on an index without an embedding model (Upstash's text).
pub const NO_MODEL: &str = "Embedding data for this index is not allowed. The index must be created with an embedding model to use it.";

fn check_id(id: &str) -> VResult<()> {
    if id.is_empty() {
        return Err(VectorError::bad_request("id must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(VectorError::bad_request(format!("id is {} bytes long; the limit is {MAX_ID_BYTES}", id.len())));
    }
    Ok(())
}

fn check_payload(metadata: Option<&Json>, data: Option<&str>) -> VResult<()> {
    if let Some(m) = metadata {
        let n = serde_json::to_vec(m).map_or(0, |v| v.len());
        if n > MAX_METADATA_BYTES {
            return Err(VectorError::bad_request(format!("metadata is {n} bytes; the limit is {MAX_METADATA_BYTES} bytes (48 KB)")));
        }
    }
    if let Some(d) = data {
        if d.len() > MAX_DATA_BYTES {
            return Err(VectorError::bad_request(format!("data is {} bytes; the limit is {MAX_DATA_BYTES} bytes (1 MB)", d.len())));
        }
    }
    Ok(())
}

/// Checks that a vector pair fits the index kind (`what` names the operation for the message).
fn check_shape(def: &IndexDef, dense: bool, sparse: bool, id: &str) -> VResult<()> {
    match def.kind {
        IndexKind::Dense if sparse => Err(VectorError::bad_request(format!(
            "sparse vector given for id {id}, but index {} is DENSE: it stores dense vectors only",
            def.name
        ))),
        IndexKind::Dense if !dense => Err(VectorError::bad_request(format!("vector is required for id {id}"))),
        IndexKind::Sparse if dense => Err(VectorError::bad_request(format!(
            "dense vector given for id {id}, but index {} is SPARSE: it stores sparse vectors only",
            def.name
        ))),
        IndexKind::Sparse if !sparse => Err(VectorError::bad_request(format!("sparseVector is required for id {id}"))),
        IndexKind::Hybrid if !(dense && sparse) => {
            Err(VectorError::bad_request(format!("both vector and sparseVector are required for id {id}: index {} is HYBRID", def.name)))
        }
        _ => Ok(()),
    }
}

fn check_dimension(def: &IndexDef, v: &[f32]) -> VResult<()> {
    if v.len() != def.dimension {
        return Err(VectorError::unprocessable(format!("Invalid vector dimension: {}, expected: {}", v.len(), def.dimension)));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(VectorError::bad_request("Vector values must be finite numbers"));
    }
    Ok(())
}

impl Vector {
    fn now_ms(&self) -> u64 {
        self.inner.store.clock().now_ms()
    }

    fn dense_model(&self, def: &IndexDef) -> VResult<Option<Arc<dyn DenseEmbedder>>> {
        match &def.dense_model {
            None => Ok(None),
            Some(name) => match &self.inner.models.dense {
                Some(m) => Ok(Some(m.clone())),
                None => Err(VectorError::unprocessable(format!(
                    "index {} uses the dense embedding model {name}, but no model is loaded: set --embedding-model-dir, \
                     STASHD_EMBEDDING_MODEL_DIR or [vector] embedding_model_dir (scripts/fetch-embedding-model.sh fetches it)",
                    def.name
                ))),
            },
        }
    }

    /// Embeds texts for storage: dense vectors (model) and sparse vectors (BM25 documents).
    async fn embed_documents(&self, def: &IndexDef, texts: Vec<String>) -> VResult<(Option<Vec<Vec<f32>>>, Option<Vec<SparseVector>>)> {
        if def.dense_model.is_none() && def.sparse_model.is_none() {
            return Err(VectorError::unprocessable(NO_MODEL));
        }
        if def.kind == IndexKind::Hybrid && (def.dense_model.is_none() || def.sparse_model.is_none()) {
            return Err(VectorError::unprocessable(format!(
                "index {} is HYBRID with only one embedding model: give vector and sparseVector, or create it with both models",
                def.name
            )));
        }
        let dense = match self.dense_model(def)? {
            Some(m) => Some(embed_blocking(m, texts.clone()).await?),
            None => None,
        };
        let sparse = match &def.sparse_model {
            Some(_) => {
                let bm25 = self.inner.models.bm25.clone();
                let mut out = Vec::with_capacity(texts.len());
                for t in &texts {
                    let (i, v) = bm25.document(t);
                    out.push(SparseVector::new_truncated(i, v)?);
                }
                Some(out)
            }
            None => None,
        };
        Ok((dense, sparse))
    }

    /// Writes vectors (`/upsert` and, with `from_data`, `/upsert-data`, which embeds `data`).
    pub async fn upsert(&self, h: &IndexHandle, ns: &str, mut items: Vec<WriteItem>, from_data: bool) -> VResult<()> {
        let def = h.def();
        // Items to embed: all of them for upsert-data; on upsert, those with data but no vectors.
        let mut to_embed = Vec::new();
        for (i, it) in items.iter().enumerate() {
            check_id(&it.id)?;
            check_payload(it.metadata.as_ref(), it.data.as_deref())?;
            if from_data {
                if it.data.is_none() {
                    return Err(VectorError::bad_request(format!("data is required for id {}", it.id)));
                }
                if it.dense.is_some() || it.sparse.is_some() {
                    return Err(VectorError::bad_request("upsert-data takes data, not vectors: use upsert for vectors"));
                }
                to_embed.push(i);
            } else if it.dense.is_none() && it.sparse.is_none() {
                if it.data.is_some() && (def.dense_model.is_some() || def.sparse_model.is_some()) {
                    to_embed.push(i);
                } else {
                    check_shape(&def, false, false, &it.id)?;
                }
            }
        }
        if !to_embed.is_empty() {
            let texts: Vec<String> = to_embed.iter().map(|&i| items[i].data.clone().unwrap_or_default()).collect();
            let (dense, sparse) = self.embed_documents(&def, texts).await?;
            for (k, &i) in to_embed.iter().enumerate() {
                items[i].dense = dense.as_ref().and_then(|d| d.get(k).cloned());
                items[i].sparse = sparse.as_ref().and_then(|s| s.get(k).cloned());
            }
        }
        for it in &items {
            check_shape(&def, it.dense.is_some(), it.sparse.is_some(), &it.id)?;
            if let Some(d) = &it.dense {
                check_dimension(&def, d)?;
            }
        }
        self.write_records(h, &def, ns, items.into_iter().map(|it| (it.id.clone(), it)).collect(), true).await
    }

    /// Stores records (new ids get the next sequence numbers; existing ids keep theirs).
    async fn write_records(
        &self,
        h: &IndexHandle,
        def: &IndexDef,
        ns: &str,
        items: Vec<(String, WriteItem)>,
        create_ns: bool,
    ) -> VResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let durability = {
            let _w = h.write.lock().await;
            let (records, new_ns) = {
                let spaces = h.spaces.read();
                let space = spaces.get(ns);
                let mut next = space.map_or(0, Namespace::next_seq);
                let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
                let mut records = Vec::with_capacity(items.len());
                for (id, it) in &items {
                    let seq = match seen.get(id.as_str()).copied().or_else(|| space.and_then(|s| s.seq_of(id))) {
                        Some(s) => s,
                        None => {
                            next += 1;
                            next - 1
                        }
                    };
                    seen.insert(id, seq);
                    records.push((
                        id.clone(),
                        Record {
                            seq,
                            dense: it.dense.clone(),
                            sparse: it.sparse.clone(),
                            metadata: it.metadata.clone(),
                            data: it.data.clone(),
                        },
                    ));
                }
                (records, space.is_none())
            };
            if new_ns && !create_ns {
                return Ok(());
            }
            let mut hset: Cmd = cmd!["HSET", keys::records(&def.id, ns)];
            for (id, rec) in &records {
                hset.push(stashd_store::arg(id.as_str()));
                hset.push(stashd_store::arg(crate::codec::encode(rec)));
            }
            let mut cmds = vec![hset];
            if new_ns && !ns.is_empty() {
                cmds.push(cmd!["HSET", keys::namespaces(&def.id), ns, "1"]);
            }
            let applied = self.inner.store.apply(cmds).await?;
            for r in applied.replies {
                r.check()?;
            }
            let mut spaces = h.spaces.write();
            if !spaces.contains_key(ns) {
                spaces.insert(ns.to_string(), Namespace::new(def)?);
            }
            if let Some(space) = spaces.get_mut(ns) {
                for (id, rec) in records {
                    space.put(&id, rec)?;
                }
            }
            applied.durability
        };
        self.inner.store.wait_durable(durability).await?;
        Ok(())
    }

    /// Resolves a query into a probe (embedding text as needed).
    async fn probe(&self, def: &IndexDef, q: &QueryRequest) -> VResult<Probe> {
        let (dense, sparse, text) = match &q.input {
            QueryInput::Vectors { dense, sparse } => (dense.clone(), sparse.clone(), false),
            QueryInput::Text { data, mode } => {
                if def.dense_model.is_none() && def.sparse_model.is_none() {
                    return Err(VectorError::unprocessable(NO_MODEL));
                }
                let use_dense = def.dense_model.is_some() && *mode != QueryMode::Sparse;
                let use_sparse = def.sparse_model.is_some() && *mode != QueryMode::Dense;
                let dense = match (use_dense, self.dense_model(def)?) {
                    (true, Some(m)) => embed_blocking(m, vec![data.clone()]).await?.into_iter().next(),
                    _ => None,
                };
                let sparse = if use_sparse {
                    let (i, v) = self.inner.models.bm25.query(data);
                    Some(SparseVector::new_truncated(i, v)?)
                } else {
                    None
                };
                if dense.is_none() && sparse.is_none() {
                    return Err(VectorError::bad_request(format!(
                        "queryMode selects a component index {} has no embedding model for",
                        def.name
                    )));
                }
                (dense, sparse, true)
            }
        };
        if dense.is_none() && sparse.is_none() {
            return Err(VectorError::bad_request(match def.kind {
                IndexKind::Dense => "vector is required to query a DENSE index",
                IndexKind::Sparse => "sparseVector is required to query a SPARSE index",
                IndexKind::Hybrid => "vector, sparseVector or both are required to query a HYBRID index",
            }));
        }
        if dense.is_some() && !def.kind.has_dense() {
            return Err(VectorError::bad_request(format!("index {} is SPARSE: query it with sparseVector", def.name)));
        }
        if sparse.is_some() && !def.kind.has_sparse() {
            return Err(VectorError::bad_request(format!("index {} is DENSE: query it with vector", def.name)));
        }
        if let Some(d) = &dense {
            check_dimension(def, d)?;
        }
        if q.top_k > MAX_TOP_K {
            return Err(VectorError::bad_request(format!("topK must be between 1 and {MAX_TOP_K}, got {}", q.top_k)));
        }
        let weighting = q.weighting.unwrap_or(if text && def.sparse_model.is_some() { Weighting::Idf } else { Weighting::None });
        Ok(Probe { dense, sparse, filter: q.filter.clone(), weighting, fusion: q.fusion })
    }

    fn found(space: &Namespace, def: &IndexDef, hit_id: &str, score: Option<f32>, inc: Include) -> Option<Found> {
        let e = space.entry(hit_id)?;
        Some(Found {
            id: hit_id.to_string(),
            score,
            dense: if inc.vectors && def.kind.has_dense() { space.dense_of(hit_id).map(<[f32]>::to_vec) } else { None },
            sparse: if inc.vectors && def.kind.has_sparse() { space.sparse_of(hit_id).cloned() } else { None },
            metadata: if inc.metadata { e.metadata.clone() } else { None },
            data: if inc.data { e.data.clone() } else { None },
        })
    }

    fn render_hits(space: &Namespace, def: &IndexDef, hits: Vec<Hit>, inc: Include) -> Vec<Found> {
        hits.into_iter().filter_map(|h| Self::found(space, def, &h.id, Some(h.score), inc)).collect()
    }

    /// `/query` and `/query-data`.
    pub async fn query(&self, h: &IndexHandle, ns: &str, q: &QueryRequest) -> VResult<Vec<Found>> {
        let def = h.def();
        let probe = self.probe(&def, q).await?;
        let spaces = h.spaces.read();
        let Some(space) = spaces.get(ns) else { return Ok(Vec::new()) };
        let hits = space.search(&probe, q.top_k, &|_| false, None)?;
        Ok(Self::render_hits(space, &def, hits, q.include))
    }

    /// `/resumable-query(-data)`: the first batch and the query's id.
    pub async fn resumable_start(&self, h: &IndexHandle, ns: &str, q: &QueryRequest, max_idle_s: u64) -> VResult<(String, Vec<Found>)> {
        let def = h.def();
        let probe = self.probe(&def, q).await?;
        let mut r = Resumable {
            index_id: def.id.clone(),
            namespace: ns.to_string(),
            probe,
            include: q.include,
            returned: HashSet::new(),
            max_idle_ms: max_idle_s.saturating_mul(1000),
            expires_at: 0,
        };
        let first = self.resumable_batch(h, &def, &mut r, q.top_k)?;
        let uuid = new_uuid();
        let now = self.now_ms();
        r.expires_at = now.saturating_add(r.max_idle_ms);
        if !self.inner.resumables.lock().insert(uuid.clone(), r, now) {
            return Err(VectorError::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "too many active resumable queries: end some with resumable-query-end",
            ));
        }
        Ok((uuid, first))
    }

    fn resumable_batch(&self, h: &IndexHandle, def: &IndexDef, r: &mut Resumable, k: usize) -> VResult<Vec<Found>> {
        if k > MAX_TOP_K {
            return Err(VectorError::bad_request(format!("additionalK must be between 1 and {MAX_TOP_K}, got {k}")));
        }
        let spaces = h.spaces.read();
        let Some(space) = spaces.get(&r.namespace) else { return Ok(Vec::new()) };
        let returned = &r.returned;
        let hits = match r.probe.fusion {
            // DBSF normalises each batch's own candidate lists.
            Fusion::Dbsf => space.search(&r.probe, k, &|id| returned.contains(id), Some(k))?,
            // RRF ranks over the whole lists, skipping what was returned.
            Fusion::Rrf => {
                let depth = (returned.len() + k) * 2 + 100;
                let mut all = space.search(&r.probe, returned.len() + k, &|_| false, Some(depth))?;
                all.retain(|hit| !returned.contains(&hit.id));
                all.truncate(k);
                all
            }
        };
        for hit in &hits {
            r.returned.insert(hit.id.clone());
        }
        Ok(Self::render_hits(space, def, hits, r.include))
    }

    /// `/resumable-query-next`.
    pub async fn resumable_next(&self, h: &IndexHandle, uuid: &str, additional_k: usize) -> VResult<Vec<Found>> {
        let def = h.def();
        let now = self.now_ms();
        // The guard must not live into the match: the arms lock again.
        let taken = self.inner.resumables.lock().take(uuid, now);
        let mut r = match taken {
            Some(r) if r.index_id == def.id => r,
            Some(r) => {
                self.inner.resumables.lock().put_back(uuid.to_string(), r, now);
                return Err(resumable_gone(uuid));
            }
            None => return Err(resumable_gone(uuid)),
        };
        let out = self.resumable_batch(h, &def, &mut r, additional_k);
        self.inner.resumables.lock().put_back(uuid.to_string(), r, self.now_ms());
        out
    }

    /// `/resumable-query-end`.
    pub fn resumable_end(&self, h: &IndexHandle, uuid: &str) -> VResult<()> {
        let def = h.def();
        let now = self.now_ms();
        let mut all = self.inner.resumables.lock();
        match all.take(uuid, now) {
            Some(r) if r.index_id == def.id => Ok(()),
            Some(r) => {
                all.put_back(uuid.to_string(), r, now);
                Err(resumable_gone(uuid))
            }
            None => Err(resumable_gone(uuid)),
        }
    }

    /// `/fetch` by ids (aligned, `None` for missing) or by prefix.
    pub fn fetch(
        &self,
        h: &IndexHandle,
        ns: &str,
        ids: Option<Vec<String>>,
        prefix: Option<String>,
        inc: Include,
    ) -> VResult<Vec<Option<Found>>> {
        let def = h.def();
        let spaces = h.spaces.read();
        let space = spaces.get(ns);
        match (ids, prefix) {
            (Some(_), Some(_)) => Err(VectorError::bad_request("Only one of ids or prefix must be provided.")),
            (Some(ids), None) => Ok(ids.iter().map(|id| space.and_then(|s| Self::found(s, &def, id, None, inc))).collect()),
            (None, Some(p)) => {
                let Some(s) = space else { return Ok(Vec::new()) };
                Ok(s.ids_with_prefix(&p, MAX_PREFIX_FETCH).iter().map(|id| Self::found(s, &def, id, None, inc)).collect())
            }
            (None, None) => Err(VectorError::bad_request("ids or prefix is required")),
        }
    }

    /// `/range`: a page in insertion order and the cursor of the next one (`""` at the end).
    pub fn range(&self, h: &IndexHandle, ns: &str, cursor: u64, limit: usize, prefix: &str, inc: Include) -> VResult<(String, Vec<Found>)> {
        let def = h.def();
        let spaces = h.spaces.read();
        let Some(space) = spaces.get(ns) else { return Ok((String::new(), Vec::new())) };
        let (ids, next) = space.range(cursor, limit, prefix);
        let found = ids.iter().filter_map(|id| Self::found(space, &def, id, None, inc)).collect();
        Ok((next.map(|n| n.to_string()).unwrap_or_default(), found))
    }

    /// `/delete`: the number of vectors removed.
    pub async fn delete(&self, h: &IndexHandle, ns: &str, by: DeleteBy) -> VResult<usize> {
        let def = h.def();
        let durability = {
            let _w = h.write.lock().await;
            let ids: Vec<String> = {
                let spaces = h.spaces.read();
                let Some(space) = spaces.get(ns) else { return Ok(0) };
                match &by {
                    DeleteBy::Ids(ids) => {
                        let mut seen = HashSet::new();
                        ids.iter().filter(|id| space.contains(id) && seen.insert(id.as_str())).cloned().collect()
                    }
                    DeleteBy::Prefix(p) => space.ids_with_prefix(p, usize::MAX),
                    DeleteBy::Filter(f) => space.ids_matching(f),
                }
            };
            if ids.is_empty() {
                return Ok(0);
            }
            let mut hdel: Cmd = cmd!["HDEL", keys::records(&def.id, ns)];
            hdel.extend(ids.iter().map(|id| stashd_store::arg(id.as_str())));
            let applied = self.inner.store.apply(vec![hdel]).await?;
            for r in applied.replies {
                r.check()?;
            }
            if let Some(space) = h.spaces.write().get_mut(ns) {
                for id in &ids {
                    space.remove(id);
                }
            }
            (ids.len(), applied.durability)
        };
        self.inner.store.wait_durable(durability.1).await?;
        Ok(durability.0)
    }

    /// `/update`: whether the id existed.
    pub async fn update(&self, h: &IndexHandle, ns: &str, mut u: UpdateRequest) -> VResult<bool> {
        let def = h.def();
        check_id(&u.id)?;
        check_payload(u.metadata.as_ref(), u.data.as_deref())?;
        if u.dense.is_none() && u.sparse.is_none() && u.data.is_none() && u.metadata.is_none() {
            return Err(VectorError::bad_request("update needs at least one of vector, sparseVector, data or metadata"));
        }
        if u.dense.is_some() || u.sparse.is_some() {
            if def.kind == IndexKind::Hybrid && (u.dense.is_none() || u.sparse.is_none()) {
                return Err(VectorError::bad_request(format!(
                    "index {} is HYBRID: update both vector and sparseVector, or neither",
                    def.name
                )));
            }
            check_shape(&def, u.dense.is_some(), u.sparse.is_some(), &u.id)?;
            if let Some(d) = &u.dense {
                check_dimension(&def, d)?;
            }
        } else if let Some(text) = &u.data {
            if def.dense_model.is_some() || def.sparse_model.is_some() {
                let (dense, sparse) = self.embed_documents(&def, vec![text.clone()]).await?;
                u.dense = dense.and_then(|d| d.into_iter().next());
                u.sparse = sparse.and_then(|s| s.into_iter().next());
            }
        }
        let Some(current) = h.spaces.read().get(ns).and_then(|s| s.record(&u.id)) else { return Ok(false) };
        let metadata = match (u.metadata, u.patch) {
            (None, _) => current.metadata,
            (Some(m), false) => Some(m),
            (Some(patch), true) => {
                let mut base = current.metadata.unwrap_or(Json::Null);
                merge_patch(&mut base, &patch);
                if base.is_null() {
                    None
                } else {
                    Some(base)
                }
            }
        };
        let item = WriteItem {
            id: u.id.clone(),
            dense: u.dense.or(current.dense),
            sparse: u.sparse.or(current.sparse),
            metadata,
            data: u.data.or(current.data),
        };
        check_payload(item.metadata.as_ref(), None)?;
        // The id may have been deleted meanwhile: write only into an existing namespace, and
        // report what was there when the update was read.
        self.write_records(h, &def, ns, vec![(u.id, item)], false).await?;
        Ok(true)
    }

    /// `/reset`: empties one namespace, or all (they keep existing).
    pub async fn reset(&self, h: &IndexHandle, ns: Option<&str>) -> VResult<()> {
        let def = h.def();
        let durability = {
            let _w = h.write.lock().await;
            let targets: Vec<String> = match ns {
                Some(n) => vec![n.to_string()],
                None => h.spaces.read().keys().cloned().collect(),
            };
            let cmds: Vec<Cmd> = targets.iter().map(|n| cmd!["DEL", keys::records(&def.id, n)]).collect();
            let applied = self.inner.store.apply(cmds).await?;
            let mut spaces = h.spaces.write();
            for n in &targets {
                if let Some(s) = spaces.get_mut(n) {
                    s.clear();
                }
            }
            applied.durability
        };
        self.inner.store.wait_durable(durability).await?;
        Ok(())
    }

    /// `/list-namespaces`.
    pub fn namespaces(&self, h: &IndexHandle) -> Vec<String> {
        h.spaces.read().keys().cloned().collect()
    }

    /// `/delete-namespace/{ns}`.
    pub async fn delete_namespace(&self, h: &IndexHandle, ns: &str) -> VResult<()> {
        let def = h.def();
        if ns.is_empty() {
            return Err(VectorError::bad_request("The default namespace cannot be deleted."));
        }
        let durability = {
            let _w = h.write.lock().await;
            if !h.spaces.read().contains_key(ns) {
                return Err(VectorError::not_found(format!("Namespace {ns} for the index {} does not exist", def.name)));
            }
            let applied =
                self.inner.store.apply(vec![cmd!["DEL", keys::records(&def.id, ns)], cmd!["HDEL", keys::namespaces(&def.id), ns]]).await?;
            h.spaces.write().remove(ns);
            applied.durability
        };
        self.inner.store.wait_durable(durability).await?;
        Ok(())
    }

    /// `/random`: one vector of the namespace, or none.
    pub fn random(&self, h: &IndexHandle, ns: &str) -> Option<Found> {
        let def = h.def();
        let spaces = h.spaces.read();
        let space = spaces.get(ns)?;
        if space.is_empty() {
            return None;
        }
        let pick = rand::random::<usize>() % space.len();
        let id = space.ids().nth(pick)?;
        Self::found(space, &def, id, None, Include { vectors: true, metadata: true, data: true })
    }

    /// `/rename-namespace`: moves a namespace's vectors under a new name (replacing an existing
    /// one only with `replace`).
    pub async fn rename_namespace(&self, h: &IndexHandle, from: &str, to: &str, replace: bool) -> VResult<()> {
        let def = h.def();
        if from.is_empty() || to.is_empty() {
            return Err(VectorError::bad_request("The default namespace cannot be renamed, nor replaced."));
        }
        if to.len() > crate::model::MAX_NAMESPACE_BYTES {
            return Err(VectorError::bad_request(format!("namespace names are at most {} bytes", crate::model::MAX_NAMESPACE_BYTES)));
        }
        let durability = {
            let _w = h.write.lock().await;
            {
                let spaces = h.spaces.read();
                if !spaces.contains_key(from) {
                    return Err(VectorError::not_found(format!("Namespace {from} for the index {} does not exist", def.name)));
                }
                if from == to {
                    return Ok(());
                }
                if spaces.contains_key(to) && !replace {
                    return Err(VectorError::bad_request(format!(
                        "Namespace {to} already exists in the index {}; pass deleteExisting to replace it",
                        def.name
                    )));
                }
            }
            let (src, dst) = (keys::records(&def.id, from), keys::records(&def.id, to));
            let cmds = vec![
                cmd!["DEL", dst.clone()],
                cmd!["HSET", keys::namespaces(&def.id), to, "1"],
                cmd!["HDEL", keys::namespaces(&def.id), from],
                // RENAME fails on a missing (empty) source: move through a copy that tolerates it.
                cmd!["COPY", src.clone(), dst],
                cmd!["DEL", src],
            ];
            let applied = self.inner.store.apply(cmds).await?;
            for r in applied.replies {
                r.check()?;
            }
            let mut spaces = h.spaces.write();
            if let Some(space) = spaces.remove(from) {
                spaces.insert(to.to_string(), space);
            }
            applied.durability
        };
        self.inner.store.wait_durable(durability).await?;
        Ok(())
    }

    /// `/info`.
    pub fn info(&self, h: &IndexHandle) -> Json {
        let def = h.def();
        let spaces = h.spaces.read();
        let mut namespaces = serde_json::Map::new();
        let mut total = 0usize;
        let mut size = 0usize;
        for (name, s) in spaces.iter() {
            total += s.len();
            size += s.memory_bytes();
            namespaces.insert(name.clone(), serde_json::json!({"vectorCount": s.len(), "pendingVectorCount": 0}));
        }
        let mut out = serde_json::json!({
            "vectorCount": total,
            "pendingVectorCount": 0,
            "indexSize": size,
            "dimension": def.dimension,
            "similarityFunction": def.similarity.as_str(),
            "indexType": def.kind.as_str(),
            "namespaces": namespaces,
        });
        if def.kind.has_dense() {
            out["denseIndex"] = serde_json::json!({
                "dimension": def.dimension,
                "similarityFunction": def.similarity.as_str(),
                "embeddingModel": def.dense_model.clone().unwrap_or_default(),
            });
        }
        if def.kind.has_sparse() {
            out["sparseIndex"] = serde_json::json!({"embeddingModel": def.sparse_model.clone().unwrap_or_default()});
        }
        out
    }
}

fn resumable_gone(uuid: &str) -> VectorError {
    VectorError::not_found(format!("Resumable query {uuid} does not exist: it was ended or expired (maxIdle)"))
}

async fn embed_blocking(model: Arc<dyn DenseEmbedder>, texts: Vec<String>) -> VResult<Vec<Vec<f32>>> {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        model.embed(&refs)
    })
    .await
    .map_err(|e| VectorError::unavailable(format!("embedding task failed: {e}")))?
    .map_err(|e| VectorError::unavailable(format!("embedding failed: {e}")))
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(serde_json::Map::new());
    }
    if let Json::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
    }
}

fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        let mut t = serde_json::json!([1]);
        merge_patch(&mut t, &serde_json::json!({"x": 1}));
        assert_eq!(t, serde_json::json!({"x": 1}));
    }
}
