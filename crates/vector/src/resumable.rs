//! Resumable queries: a query whose results are handed out in batches (`resumable-query`, then
//! `resumable-query-next` until `resumable-query-end`). Each keeps the ids it already returned,
//! so later batches continue below them; an idle one expires after its `maxIdle`.

use std::collections::{HashMap, HashSet};

use crate::model::MAX_RESUMABLE;
use crate::namespace::Probe;

/// What to return with each hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    /// `includeVectors`.
    pub vectors: bool,
    /// `includeMetadata`.
    pub metadata: bool,
    /// `includeData`.
    pub data: bool,
}

/// One open resumable query.
#[derive(Debug, Clone)]
pub struct Resumable {
    /// The index's id.
    pub index_id: String,
    /// The namespace.
    pub namespace: String,
    /// The query.
    pub probe: Probe,
    /// Returned fields.
    pub include: Include,
    /// Ids already returned.
    pub returned: HashSet<String>,
    /// Idle time allowed, in ms.
    pub max_idle_ms: u64,
    /// When it expires (clock ms).
    pub expires_at: u64,
}

/// The open resumable queries.
#[derive(Debug, Default)]
pub struct Resumables {
    open: HashMap<String, Resumable>,
}

impl Resumables {
    /// Drops the expired ones.
    pub fn sweep(&mut self, now_ms: u64) {
        self.open.retain(|_, r| r.expires_at > now_ms);
    }

    /// Registers a query; `false` when too many are open.
    pub fn insert(&mut self, uuid: String, r: Resumable, now_ms: u64) -> bool {
        self.sweep(now_ms);
        if self.open.len() >= MAX_RESUMABLE {
            return false;
        }
        self.open.insert(uuid, r);
        true
    }

    /// Takes a live query out (to run its next batch without holding the lock).
    pub fn take(&mut self, uuid: &str, now_ms: u64) -> Option<Resumable> {
        self.sweep(now_ms);
        self.open.remove(uuid)
    }

    /// Puts a query back after a batch, with a fresh idle deadline.
    pub fn put_back(&mut self, uuid: String, mut r: Resumable, now_ms: u64) {
        r.expires_at = now_ms.saturating_add(r.max_idle_ms);
        self.open.insert(uuid, r);
    }

    /// Ends a query; whether it was open.
    pub fn end(&mut self, uuid: &str, now_ms: u64) -> bool {
        self.sweep(now_ms);
        self.open.remove(uuid).is_some()
    }

    /// Forgets the queries of a deleted index.
    pub fn drop_index(&mut self, index_id: &str) {
        self.open.retain(|_, r| r.index_id != index_id);
    }
}
