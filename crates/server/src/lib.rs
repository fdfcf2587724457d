//! The stashd server: configuration, listeners, and the faces (RESP over TCP, Upstash REST over
//! HTTP) that translate wire requests into engine calls and engine replies back to the wire.

pub mod alloc;
pub mod config;
pub mod http;
pub mod render;
pub mod resp_face;
pub mod rest_face;
pub mod run;
pub mod sse;
