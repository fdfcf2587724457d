//! The embedded store: a second engine instance, private to the products, with its own
//! append-only log under `<data-dir>/store/` (fsync always, group commit). A user's `FLUSHALL`
//! or `DEBUG RELOAD` on the Redis face never reaches it: it is another keyspace.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use stashd_engine::clock::Clock;
use stashd_engine::config::{FsyncPolicy, RuntimeConfig};
use stashd_engine::engine::ServerFacts;
use stashd_engine::keyspace::Keyspace;
use stashd_engine::{Engine, Face, Outcome, Reply, Tokens};

use crate::{Applied, Cmd, Durability, Store, StoreError, Value};

/// The store's subdirectory of the data directory.
pub const STORE_DIR: &str = "store";

/// The embedded store. Cheap to clone.
#[derive(Clone)]
pub struct Embedded {
    engine: Engine,
    clock: Arc<Clock>,
}

impl Embedded {
    /// A store that keeps nothing across restarts (`stashd dev`, `--in-memory`, tests).
    pub fn in_memory(clock: Arc<Clock>) -> Self {
        let engine = Engine::new(Keyspace::default(), clock.clone(), RuntimeConfig::default(), None, Tokens::default(), facts());
        Embedded { engine, clock }
    }

    /// Opens (recovering if present) the store under `<data_dir>/store/`. Blocking: replays the log.
    pub fn open(data_dir: &Path, clock: Arc<Clock>) -> Result<Self, StoreError> {
        let dir = data_dir.join(STORE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
        let config = RuntimeConfig { appendfsync: FsyncPolicy::Always, ..RuntimeConfig::default() };
        let engine = Engine::new(Keyspace::default(), clock.clone(), config, None, Tokens::default(), facts());
        let report = stashd_engine::persist::recover_into(&engine, &dir).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // fsync for the batches someone waits on (group commit), not after every batch.
        if let Some(aof) = engine.shared.aof() {
            aof.set_sync_on_demand(true);
        }
        tracing::info!(records = report.records, dir = %dir.display(), "store recovered");
        Ok(Embedded { engine, clock })
    }

    /// Background upkeep until `stop` resolves: expiring keys with a TTL (deduplication
    /// windows), and rewriting the log when it has grown. Call once.
    pub async fn maintain(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return,
            }
            let e = self.engine.clone();
            let _ = tokio::task::spawn_blocking(move || {
                e.active_expire_cycle(Duration::from_millis(10));
                if e.maybe_rewrite() {
                    tracing::info!("store log rewrite started");
                }
            })
            .await;
        }
    }

    /// Commands run so far (the server counts them as activity: an allocator purge waits for
    /// an idle second of both engines).
    pub fn commands(&self) -> u64 {
        self.engine.shared.ks.lock().stats.commands
    }

    /// Flushes and closes the log (at shutdown).
    pub fn shutdown(&self) {
        if let Some(aof) = self.engine.shared.aof() {
            aof.shutdown();
        }
    }

    /// Runs the batch under the engine's lock (MULTI/EXEC when it has more than one command).
    fn run(&self, cmds: Vec<Cmd>) -> Result<Applied, StoreError> {
        let n = cmds.len();
        if n == 0 {
            return Ok(Applied { replies: Vec::new(), durability: Durability::default() });
        }
        let mut session = self.engine.open_session(Face::Internal, "", "");
        let mut queue: VecDeque<Vec<Bytes>> = VecDeque::with_capacity(n + 2);
        if n > 1 {
            queue.push_back(vec![Bytes::from_static(b"MULTI")]);
        }
        queue.extend(cmds);
        if n > 1 {
            queue.push_back(vec![Bytes::from_static(b"EXEC")]);
        }
        let mut out = Vec::with_capacity(queue.len());
        self.engine.execute_batch(&mut session, &mut queue, &mut out);
        let durability = Durability(session.last_write_offset);
        let last = out.pop().ok_or_else(|| StoreError::Unavailable("no reply".into()))?;
        let reply = match last {
            Outcome::Done(r) => r,
            Outcome::Blocked { .. } => return Err(StoreError::Refused("a blocking command in a store batch".into())),
        };
        let replies = match reply {
            Err(e) if e.to_string().starts_with("LOADING") => return Err(StoreError::Unavailable(e.to_string())),
            Err(e) if n > 1 => {
                // EXECABORT: say which queued command was refused.
                let why = out
                    .into_iter()
                    .find_map(|o| match o {
                        Outcome::Done(Err(e)) => Some(e.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| e.to_string());
                return Err(StoreError::Refused(why));
            }
            Err(e) => vec![Value::Error(e.to_string())],
            Ok(r) if n > 1 => match convert(r) {
                Value::Array(v) => v,
                other => return Err(StoreError::Shape(format!("EXEC answered {other:?}"))),
            },
            Ok(r) => vec![convert(r)],
        };
        Ok(Applied { replies, durability })
    }
}

fn facts() -> ServerFacts {
    ServerFacts::default()
}

/// Engine reply → store value (RESP2 shapes: maps and sets flattened, doubles as text).
fn convert(r: Reply) -> Value {
    match r {
        Reply::Ok => Value::Status("OK".into()),
        Reply::Status(s) => Value::Status(String::from_utf8_lossy(&s).into_owned()),
        Reply::Error(e) => Value::Error(e),
        Reply::Int(n) => Value::Int(n),
        Reply::UInt(n) => Value::Int(i64::try_from(n).unwrap_or(i64::MAX)),
        Reply::Bulk(b) => Value::Bytes(b),
        Reply::Nil | Reply::NilArray => Value::Nil,
        Reply::Array(v) | Reply::Set(v) => Value::Array(v.into_iter().map(convert).collect()),
        Reply::Map(kv) => Value::Array(kv.into_iter().flat_map(|(k, v)| [convert(k), convert(v)]).collect()),
        Reply::Double(d) => Value::Bytes(Bytes::from(format!("{d}"))),
        Reply::DoubleText(b) => Value::Bytes(b),
        Reply::Bool(b) => Value::Int(i64::from(b)),
        other => Value::Bytes(Bytes::from(format!("{other:?}"))),
    }
}

#[async_trait::async_trait]
impl Store for Embedded {
    async fn apply(&self, cmds: Vec<Cmd>) -> Result<Applied, StoreError> {
        self.run(cmds)
    }

    async fn wait_durable(&self, at: Durability) -> Result<(), StoreError> {
        let Some(aof) = self.engine.shared.aof() else { return Ok(()) };
        if at.0 > aof.durable_offset() {
            aof.wait_durable(at.0).await;
        }
        Ok(())
    }

    fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    fn is_durable(&self) -> bool {
        self.engine.shared.aof().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn batches_are_atomic_and_reply_per_command() {
        rt().block_on(async {
            let s = Embedded::in_memory(Arc::new(Clock::manual(1_000)));
            let r = s.apply_durable(vec![cmd!["SET", "a", "1"], cmd!["INCR", "a"], cmd!["HSET", "a", "f", "v"]]).await.unwrap();
            assert_eq!(r[0], Value::Status("OK".into()));
            assert_eq!(r[1], Value::Int(2));
            assert!(matches!(&r[2], Value::Error(e) if e.starts_with("WRONGTYPE")));
            assert_eq!(s.one(cmd!["GET", "a"]).await.unwrap(), Value::Bytes(Bytes::from_static(b"2")));
            // A batch with a refused command changes nothing.
            let err = s.apply(vec![cmd!["SET", "b", "1"], cmd!["NOSUCH"]]).await.unwrap_err();
            assert!(matches!(err, StoreError::Refused(_)));
            assert_eq!(s.one(cmd!["EXISTS", "b"]).await.unwrap(), Value::Int(0));
        });
    }

    #[test]
    fn expiry_follows_the_shared_clock() {
        rt().block_on(async {
            let clock = Arc::new(Clock::manual(1_000));
            let s = Embedded::in_memory(clock.clone());
            s.one(cmd!["SET", "k", "v", "PX", 500u64]).await.unwrap();
            clock.advance(499);
            assert_eq!(s.one(cmd!["EXISTS", "k"]).await.unwrap(), Value::Int(1));
            clock.advance(1);
            assert_eq!(s.one(cmd!["EXISTS", "k"]).await.unwrap(), Value::Int(0));
        });
    }

    #[test]
    fn durable_store_survives_reopen() {
        let dir = std::env::temp_dir().join(format!("stashd-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        rt().block_on(async {
            let s = Embedded::open(&dir, Arc::new(Clock::system())).unwrap();
            assert!(s.is_durable());
            s.apply_durable(vec![cmd!["ZADD", "{q}:due", 5u64, "m1"], cmd!["SET", "{q}:m1", "body"]]).await.unwrap();
            s.shutdown();
        });
        rt().block_on(async {
            let s = Embedded::open(&dir, Arc::new(Clock::system())).unwrap();
            let v = s.one(cmd!["ZRANGE", "{q}:due", 0, -1, "WITHSCORES"]).await.unwrap();
            assert_eq!(v.into_bytes_list().unwrap(), vec![Bytes::from_static(b"m1"), Bytes::from_static(b"5")]);
            s.shutdown();
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
