//! QStash on stashd: durable HTTP messaging (publish, queues, schedules, URL groups, DLQ, flow
//! control), delivered with retries and signed with HS256 JWTs. State lives behind
//! `stashd_store::Store`; nothing here names an engine type.
//!
//! Layers: [`api`] (HTTP requests in, JSON out) calls the operations on [`Qstash`]
//! ([`publish`], [`messages`], [`queues`], [`schedules`], [`topics`], [`dlq`], [`flow_api`]);
//! the [`worker`] starts attempts through a [`transport::Transport`] and records their
//! outcomes. [`keys`] is the whole key layout in the store.

pub mod api;
pub mod core;
pub mod dlq;
pub mod egress;
pub mod error;
pub mod events;
pub mod flow;
pub mod flow_api;
pub mod http_client;
pub mod keys;
pub mod messages;
pub mod model;
pub mod options;
pub mod parse;
pub mod publish;
pub mod queues;
pub mod schedules;
pub mod signing;
pub mod topics;
pub mod transport;
pub mod worker;
pub mod workflow;

pub use crate::core::{Config, Qstash};
pub use crate::error::{ApiError, ApiResult};

#[cfg(test)]
mod tests;
