//! Unit-test helper: an in-memory engine with a manual clock and one RESP-like session.

use bytes::Bytes;

use crate::{Clock, CmdError, Engine, Face, Outcome, Reply, Session};

/// A test client.
pub struct T {
    /// The engine.
    pub engine: Engine,
    /// The client's session.
    pub session: Session,
}

impl T {
    /// A fresh engine at a fixed time.
    pub fn new() -> Self {
        let engine = Engine::in_memory(Clock::manual(1_700_000_000_000));
        let session = engine.open_session(Face::Resp, "test", "test");
        T { engine, session }
    }

    /// Makes the client act as the read-only token's user (`default_ro`'s rules).
    pub fn as_readonly(&mut self) {
        let user = crate::acl::User::with_rules("default_ro", crate::acl::READONLY_RULES).expect("valid rules");
        self.session.user = Some(std::sync::Arc::new(user));
        self.session.acl_epoch = self.engine.shared.acl.epoch();
    }

    /// Runs a command and returns its reply or error.
    pub fn run(&mut self, args: &[&str]) -> Result<Reply, CmdError> {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
        match self.engine.execute(&mut self.session, args) {
            Outcome::Done(r) => r,
            Outcome::Blocked { timeout_reply, .. } => Ok(timeout_reply),
        }
    }

    /// Runs a command given as raw byte arguments (binary payloads).
    pub fn run_bytes(&mut self, args: Vec<Bytes>) -> Result<Reply, CmdError> {
        match self.engine.execute(&mut self.session, args) {
            Outcome::Done(r) => r,
            Outcome::Blocked { timeout_reply, .. } => Ok(timeout_reply),
        }
    }

    /// Runs a command that must succeed.
    pub fn ok(&mut self, args: &[&str]) -> Reply {
        self.run(args).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
    }

    /// Runs a command that must fail; returns the error text.
    pub fn err(&mut self, args: &[&str]) -> String {
        match self.run(args) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("{args:?} should fail, got {r:?}"),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: i64) {
        self.engine.shared.clock.advance(ms);
    }
}

impl Default for T {
    fn default() -> Self {
        Self::new()
    }
}

/// The WRONGTYPE error text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

impl T {
    /// Runs a command through `dispatch` with a bare `Ctx`, returning the reply, the effects it
    /// would log, and how much it moved the dirty counter.
    pub fn logged(&mut self, args: &[&str]) -> (Reply, Vec<Vec<Bytes>>, u64) {
        let (reply, effects, delta) = self.try_logged(args);
        (reply.unwrap_or_else(|e| panic!("{args:?} failed: {e}")), effects, delta)
    }

    /// [`T::logged`] for a command that may fail (a failing command may still log effects,
    /// such as the reclaiming of expired hash fields it found).
    pub fn try_logged(&mut self, args: &[&str]) -> (Result<Reply, CmdError>, Vec<Vec<Bytes>>, u64) {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
        let shared = self.engine.shared.clone();
        let mut ks = shared.ks.lock();
        let before = ks.dirty;
        let now = shared.clock.now_ms();
        let mut ctx = crate::Ctx::new(&mut ks, &mut self.session, &shared, now);
        ctx.logging = true; // show what would be logged even though no log is attached
        let reply = crate::engine::dispatch(&mut ctx, &args);
        let effects = ctx.effects.decode().into_iter().map(|(_, a)| a).collect();
        drop(ctx);
        let delta = ks.dirty - before;
        (reply, effects, delta)
    }

    /// [`T::logged`] with the effects as strings.
    pub fn logged_text(&mut self, args: &[&str]) -> (Reply, Vec<Vec<String>>, u64) {
        let (r, fx, d) = self.logged(args);
        (r, fx.iter().map(|a| a.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect()).collect(), d)
    }
}

/// A bulk reply from text.
pub fn b(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

/// An array of bulk replies.
pub fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| b(s)).collect())
}
