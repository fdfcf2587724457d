//! Opening an engine over a data directory: replay the log, then attach it for new writes.

use std::path::Path;

use crate::aof::{Aof, AofError, LoadReport};
use crate::clock::Clock;
use crate::config::RuntimeConfig;
use crate::engine::{Engine, ServerFacts, Tokens};
use crate::keyspace::Keyspace;
use crate::session::Face;

/// Recovers the keyspace from `dir` and returns an engine that logs to it.
pub fn open_durable(
    dir: &Path,
    clock: Clock,
    config: RuntimeConfig,
    tokens: Tokens,
    facts: ServerFacts,
) -> Result<(Engine, LoadReport), AofError> {
    let loader = Engine::new(Keyspace::default(), Clock::system(), config.clone(), None, Tokens::default(), facts.clone());
    let mut session = loader.open_session(Face::Loading, "", "");
    let mut failures = 0u64;
    let (aof, report) = Aof::open(dir, config.appendfsync, &mut |effects| {
        let mut ks = loader.shared.ks.lock();
        if let Err(e) = loader.replay(&mut ks, &effects, &mut session) {
            failures += 1;
            if failures <= 5 {
                tracing::warn!(error = %e, "a logged command failed on replay");
            }
        }
    })?;
    if failures > 0 {
        tracing::warn!(failures, "some logged commands failed on replay");
    }
    let ks = std::mem::take(&mut *loader.shared.ks.lock());
    Ok((Engine::new(ks, clock, config, Some(aof), tokens, facts), report))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::aof::Aof;
    use crate::config::FsyncPolicy;

    fn cmd(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    #[test]
    fn replay_does_not_expire_keys_midway() {
        // Logged while the key was alive: a TTL that has passed by restart time, then an INCR.
        let dir = std::env::temp_dir().join(format!("stashd-replay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let (aof, _) = Aof::open(&dir, FsyncPolicy::Always, &mut |_| {}).unwrap();
            aof.append(&[(0, cmd(&["SET", "k", "1", "PXAT", "1000"]))]);
            aof.append(&[(0, cmd(&["INCR", "k"]))]);
            aof.append(&[(0, cmd(&["SET", "live", "x"]))]);
            aof.shutdown();
        }
        let (engine, _) = open_durable(&dir, Clock::system(), RuntimeConfig::default(), Tokens::default(), ServerFacts::default()).unwrap();
        {
            let ks = engine.shared.ks.lock();
            let e = ks.dbs[0].map.get(&b"k"[..]).expect("k replayed as in the original run");
            assert!(matches!(&e.value, crate::value::Value::Str(s) if &s[..] == b"2"));
            assert_eq!(e.expire_at, 1000);
        }
        // Once running, the expired key is gone on access.
        let mut s = engine.open_session(Face::Resp, "", "");
        let r = engine.execute(&mut s, cmd(&["GET", "k"]));
        assert!(matches!(r, crate::Outcome::Done(Ok(crate::Reply::Nil))));
        if let Some(aof) = engine.shared.aof.as_ref() {
            aof.shutdown();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
