//! Recovering an engine from a data directory: replay the log into the live engine (which
//! answers `LOADING` meanwhile), then attach the log for new writes.

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::aof::{Aof, AofError, LoadReport};
use crate::clock::Clock;
use crate::config::RuntimeConfig;
use crate::engine::{Engine, ServerFacts, Tokens};
use crate::keyspace::Keyspace;
use crate::session::Face;

/// Replays the log in `dir` into `engine` and attaches it. The engine reports `LOADING` to
/// clients until this returns. On error the engine stays in the loading state.
pub fn recover_into(engine: &Engine, dir: &Path) -> Result<LoadReport, AofError> {
    let shared = &engine.shared;
    shared.loading.store(true, Ordering::Release);
    let mut session = engine.open_session(Face::Loading, "", "");
    let mut failures = 0u64;
    let policy = shared.config.read().appendfsync;
    let (aof, report) = Aof::open(dir, policy, &mut |effects| {
        let mut ks = shared.ks.lock();
        if let Err(e) = engine.replay(&mut ks, &effects, &mut session) {
            failures += 1;
            if failures <= 5 {
                tracing::warn!(error = %e, "a logged command failed on replay");
            }
        }
    })?;
    if failures > 0 {
        tracing::warn!(failures, "some logged commands failed on replay");
    }
    shared.attach_aof(aof);
    shared.loading.store(false, Ordering::Release);
    Ok(report)
}

/// The aclfile of a data directory.
pub const USERS_FILE: &str = "users.acl";

/// Loads the users kept in `dir` (if any), keeps the configured tokens valid, and from now on
/// writes every change of the users there.
pub fn attach_users(engine: &Engine, dir: &Path, tokens: &Tokens) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    engine.shared.acl.attach_file(&dir.join(USERS_FILE), tokens.full.as_deref(), tokens.readonly.as_deref())
}

/// Recovers the keyspace from `dir` and returns an engine that logs to it (blocking; for tools
/// and tests — the server uses [`recover_into`] so clients see `LOADING` meanwhile).
pub fn open_durable(
    dir: &Path,
    clock: impl Into<std::sync::Arc<Clock>>,
    config: RuntimeConfig,
    tokens: Tokens,
    facts: ServerFacts,
) -> Result<(Engine, LoadReport), AofError> {
    let engine = Engine::new(Keyspace::default(), clock, config, None, tokens.clone(), facts);
    attach_users(&engine, dir, &tokens).map_err(|e| AofError::Io { path: dir.join(USERS_FILE), source: std::io::Error::other(e) })?;
    let report = recover_into(&engine, dir)?;
    Ok((engine, report))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
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
        if let Some(aof) = engine.shared.aof() {
            aof.shutdown();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn replay_keeps_field_ttls_that_passed_since() {
        // A field TTL logged while the field was alive, then an increment that keeps it: replay
        // must not drop the field at the HPEXPIREAT (the HINCRBY would then resurrect it
        // without TTL).
        let dir = std::env::temp_dir().join(format!("stashd-replay-hfe-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let (aof, _) = Aof::open(&dir, FsyncPolicy::Always, &mut |_| {}).unwrap();
            aof.append(&[(0, cmd(&["HSET", "h", "a", "1", "b", "2"]))]);
            aof.append(&[(0, cmd(&["HPEXPIREAT", "h", "1000", "FIELDS", "1", "a"]))]);
            aof.append(&[(0, cmd(&["HINCRBY", "h", "a", "5"]))]);
            aof.shutdown();
        }
        let (engine, _) =
            open_durable(&dir, Clock::manual(5000), RuntimeConfig::default(), Tokens::default(), ServerFacts::default()).unwrap();
        {
            let ks = engine.shared.ks.lock();
            let Some(crate::value::Value::Hash(h)) = ks.dbs[0].map.get(&b"h"[..]).map(|e| &e.value) else { panic!("h replayed") };
            assert_eq!(h.get(&b"a"[..]).map(|v| &v[..]), Some(&b"6"[..]));
            assert_eq!(h.expire_at(b"a"), Some(1000));
        }
        let mut s = engine.open_session(Face::Resp, "", "");
        let r = engine.execute(&mut s, cmd(&["HGET", "h", "a"]));
        assert!(matches!(r, crate::Outcome::Done(Ok(crate::Reply::Nil))));
        if let Some(aof) = engine.shared.aof() {
            aof.shutdown();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn loading_answers_loading_except_for_ok_loading_commands() {
        let engine = Engine::in_memory(Clock::manual(0));
        engine.shared.loading.store(true, Ordering::Release);
        let mut s = engine.open_session(Face::Resp, "", "");
        let run = |s: &mut crate::Session, a: &[&str]| match engine.execute(s, cmd(a)) {
            crate::Outcome::Done(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(run(&mut s, &["GET", "k"]).unwrap_err().to_string(), "LOADING stashd is loading the dataset in memory");
        assert_eq!(run(&mut s, &["PING"]).unwrap_err().to_string(), "LOADING stashd is loading the dataset in memory");
        let Ok(crate::Reply::Verbatim(info)) = run(&mut s, &["INFO", "persistence"]) else { panic!() };
        assert!(String::from_utf8_lossy(&info).contains("loading:1"));
        engine.shared.loading.store(false, Ordering::Release);
        assert!(run(&mut s, &["GET", "k"]).is_ok());
    }
}
