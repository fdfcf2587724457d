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
