//! stashd's engine: the keyspace, the data types, the command table and dispatcher, expiry,
//! transactions and the append-only log. It has no sockets: faces call [`Engine::execute`] with a
//! [`Session`] and render the protocol-neutral [`Reply`].

pub mod acl;
pub mod aof;
pub mod args;
pub mod array;
pub mod clock;
pub mod cmd;
pub mod cmdstats;
pub mod command;
pub mod compact;
pub mod config;
pub mod ctx;
pub mod dict;
pub mod engine;
pub mod error;
pub mod expire;
pub mod functions;
pub mod glob;
pub mod hash;
pub mod hll;
pub mod json;
pub mod keyspace;
pub mod keyspecs;
pub mod longdouble;
pub mod notify;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod rdb;
pub mod reply;
pub mod scripting;
pub mod scripting_convert;
pub mod scripting_libs;
pub mod session;
pub mod stream;
pub mod tracking;
pub mod value;
pub mod zset;

#[cfg(test)]
mod compat_doc;
#[cfg(test)]
pub mod testkit;

pub use clock::Clock;
pub use ctx::Ctx;
pub use engine::{Engine, Outcome, Tokens};
pub use error::{CmdError, CmdResult};
pub use reply::Reply;
pub use session::{Face, Session};
