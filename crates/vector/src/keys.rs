//! Where Vector keeps its data in the store. Every key of one batch shares a hash tag, so the
//! layout works unchanged on a Redis/Valkey Cluster: the catalog lives under `{vx}`, and each
//! index under `{vx:<index id>}`.
//!
//! * `{vx}:catalog` — hash: index id → the index definition (JSON).
//! * `{vx}:meta` — hash: `initialized` once the default index has been made (so deleting it
//!   through the Developer API is not undone on the next start).
//! * `{vx:<id>}:ns` — hash: namespace name → `1`, for every namespace that exists besides `""`.
//! * `{vx:<id>}:r:<namespace>` — hash: vector id → the record ([`crate::codec`]).

/// The catalog hash.
pub const CATALOG: &str = "{vx}:catalog";
/// The catalog's bookkeeping hash.
pub const META: &str = "{vx}:meta";
/// The `META` field set once the catalog was initialised.
pub const INITIALIZED: &str = "initialized";

/// The namespaces hash of an index.
pub fn namespaces(index_id: &str) -> String {
    format!("{{vx:{index_id}}}:ns")
}

/// The records hash of one namespace.
pub fn records(index_id: &str, namespace: &str) -> Vec<u8> {
    let mut k = format!("{{vx:{index_id}}}:r:").into_bytes();
    k.extend_from_slice(namespace.as_bytes());
    k
}
