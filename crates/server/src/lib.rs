//! The stashd server: configuration, listeners, and the faces (RESP over TCP, Upstash REST and
//! QStash and Vector over HTTP) that translate wire requests into calls of the engine or the products.

pub mod alloc;
pub mod config;
pub mod http;
pub mod qstash_face;
pub mod render;
pub mod resp_face;
pub mod rest_face;
pub mod run;
pub mod sse;
pub mod vector_face;
