//! The storage interface of the products built on stashd (QStash, Workflow, Vector).
//!
//! It is deliberately narrow: a product sends **atomic batches of Redis commands** and gets
//! their replies back, then waits, when it must, until the batch is **durable**. That is all a
//! product may know about storage, so the same product code runs on the embedded
//! implementation ([`Embedded`]: a second engine instance with its own log under the data
//! directory, outside the user's 16 databases) and, later, on an external Redis/Valkey
//! (Cluster). For the cluster case every key a batch names carries the same hash tag
//! (`{...}`); products keep their key layout in one module so that rule is checked in one place.
//!
//! The store also hands out the process's one [`Clock`], so products, the engine and the tests
//! move time together.

mod embedded;
mod value;

use std::sync::Arc;

use bytes::Bytes;

pub use embedded::Embedded;
pub use stashd_engine::clock::Clock;
pub use value::Value;

/// One Redis command: its name and arguments.
pub type Cmd = Vec<Bytes>;

/// Builds a [`Cmd`] from anything byte-like: `cmd!["HSET", key, "field", value]`.
#[macro_export]
macro_rules! cmd {
    ($($arg:expr),+ $(,)?) => {
        vec![$($crate::arg($arg)),+]
    };
}

/// One argument of a [`Cmd`].
pub fn arg(a: impl Into<Arg>) -> Bytes {
    a.into().0
}

/// Anything that can be a command argument (text, bytes, integers).
pub struct Arg(Bytes);

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg(Bytes::copy_from_slice(s.as_bytes()))
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg(Bytes::from(s))
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg(Bytes::copy_from_slice(s.as_bytes()))
    }
}
impl From<Bytes> for Arg {
    fn from(b: Bytes) -> Self {
        Arg(b)
    }
}
impl From<&Bytes> for Arg {
    fn from(b: &Bytes) -> Self {
        Arg(b.clone())
    }
}
impl From<Vec<u8>> for Arg {
    fn from(b: Vec<u8>) -> Self {
        Arg(Bytes::from(b))
    }
}
impl From<&[u8]> for Arg {
    fn from(b: &[u8]) -> Self {
        Arg(Bytes::copy_from_slice(b))
    }
}
macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg(Bytes::from(n.to_string()))
            }
        }
    )*};
}
int_arg!(i64, u64, u32, i32, usize, f64);

/// Why a batch could not run. Command-level errors (a `WRONGTYPE` inside the batch) are not
/// store errors: they come back as [`Value::Error`] in that command's slot, like `EXEC`'s.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The batch was refused as a whole (an unknown command or a wrong arity: a bug in the
    /// product, never the user's input).
    #[error("store refused the batch: {0}")]
    Refused(String),
    /// The store is not reachable or not ready (recovering, shutting down).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A reply did not have the shape the caller expected.
    #[error("unexpected store reply: {0}")]
    Shape(String),
}

/// A position in the store's log: once [`Store::wait_durable`] returns for it, every batch
/// applied before it was issued is on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Durability(pub u64);

/// The replies of an applied batch and where it sits in the log.
#[derive(Debug)]
pub struct Applied {
    /// One reply per command, in order.
    pub replies: Vec<Value>,
    /// Wait on this (with [`Store::wait_durable`]) before acknowledging anything the batch wrote.
    pub durability: Durability,
}

/// The storage interface. Implementations run each batch atomically (no other batch sees a
/// part of it) and in order.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Runs `cmds` as one atomic unit and returns their replies. The writes are visible at
    /// once but durable only after [`Store::wait_durable`] on the returned position.
    async fn apply(&self, cmds: Vec<Cmd>) -> Result<Applied, StoreError>;

    /// Waits until everything up to `at` is on disk (at once when nothing is persisted).
    /// Concurrent waiters share fsyncs (group commit).
    async fn wait_durable(&self, at: Durability) -> Result<(), StoreError>;

    /// The process's clock.
    fn clock(&self) -> &Arc<Clock>;

    /// Whether writes survive a restart (false in memory).
    fn is_durable(&self) -> bool;

    /// Applies `cmds` and waits until they are durable: what an API call does before it
    /// answers 2xx.
    async fn apply_durable(&self, cmds: Vec<Cmd>) -> Result<Vec<Value>, StoreError> {
        let applied = self.apply(cmds).await?;
        self.wait_durable(applied.durability).await?;
        Ok(applied.replies)
    }

    /// Runs one command (atomic by itself) and returns its reply; for reads.
    async fn one(&self, cmd: Cmd) -> Result<Value, StoreError> {
        let applied = self.apply(vec![cmd]).await?;
        applied.replies.into_iter().next().ok_or_else(|| StoreError::Shape("no reply".into()))
    }
}

/// A shared store handle.
pub type SharedStore = Arc<dyn Store>;
