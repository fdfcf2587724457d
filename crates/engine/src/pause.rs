//! Server-wide client state read without the keyspace lock: `CLIENT PAUSE` (which commands of
//! RESP clients wait, and that expiry stops meanwhile) and the parked clients `CLIENT UNBLOCK`
//! can wake.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::command::{flags, CommandSpec};
use crate::session::Session;

/// `CLIENT PAUSE` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseMode {
    /// Commands that may write (and EVAL, FCALL, PUBLISH, PFCOUNT...) wait.
    Write = 1,
    /// Every command waits.
    All = 2,
}

/// The `CLIENT PAUSE` state. A new pause replaces the previous one (mode and end), as in Redis 7.
#[derive(Default)]
pub struct Pause {
    mode: AtomicU8,
    until_ms: AtomicU64,
    /// Fired when a pause is lifted by `CLIENT UNPAUSE` (waiters also watch the end time).
    pub lifted: Notify,
}

impl Pause {
    /// Pauses until `until_ms` (engine clock).
    pub fn start(&self, mode: PauseMode, until_ms: u64) {
        self.until_ms.store(until_ms, Ordering::Release);
        self.mode.store(mode as u8, Ordering::Release);
    }

    /// `CLIENT UNPAUSE`: lifts the pause and wakes the waiting clients.
    pub fn end(&self) {
        self.mode.store(0, Ordering::Release);
        self.lifted.notify_waiters();
    }

    /// The pause in effect at `now_ms`, if any (one atomic load when there is none).
    pub fn active(&self, now_ms: u64) -> Option<PauseMode> {
        match self.mode.load(Ordering::Acquire) {
            0 => None,
            _ if now_ms >= self.until_ms.load(Ordering::Acquire) => None,
            1 => Some(PauseMode::Write),
            _ => Some(PauseMode::All),
        }
    }

    /// Milliseconds until the pause ends by itself.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.until_ms.load(Ordering::Acquire).saturating_sub(now_ms)
    }

    /// Whether keys may expire now: not while clients are paused (Redis 7 stops both lazy and
    /// active expiry, so the data set stays as it is, and expired keys just read as missing).
    pub fn expiry_allowed(&self, now_ms: u64) -> bool {
        self.active(now_ms).is_none()
    }

    /// Whether `args` (a command of `session`, already looked up as `spec`) must wait for the
    /// pause to end: in ALL mode every command; in WRITE mode commands that may write or
    /// replicate, as Redis 7 decides (`CMD_WRITE | CMD_MAY_REPLICATE`): EVAL/EVALSHA (unless the
    /// script's shebang says `no-writes`), FCALL, PUBLISH, SPUBLISH, PFCOUNT, FUNCTION's writing
    /// subcommands, and EXEC of a transaction that queued one of these.
    pub fn holds(&self, now_ms: u64, session: &Session, spec: &CommandSpec, args: &[Bytes]) -> bool {
        match self.active(now_ms) {
            None => false,
            Some(PauseMode::All) => true,
            Some(PauseMode::Write) => {
                if spec.name == "exec" {
                    return session
                        .multi
                        .as_ref()
                        .is_some_and(|m| m.queue.iter().any(|q| crate::command::lookup(&q[0]).is_some_and(|s| may_replicate(s, q))));
                }
                may_replicate(spec, args)
            }
        }
    }
}

/// Redis's `CMD_WRITE | CMD_MAY_REPLICATE` for a call.
fn may_replicate(spec: &CommandSpec, args: &[Bytes]) -> bool {
    if spec.has(flags::WRITE) {
        return true;
    }
    match spec.name {
        "eval" => !args.get(1).is_some_and(|body| declares_no_writes(body)),
        "evalsha" | "fcall" | "publish" | "spublish" | "pfcount" => true,
        "function" => args.get(1).is_some_and(|sub| ["delete", "flush", "load", "restore"].iter().any(|s| crate::args::is(sub, s))),
        _ => false,
    }
}

/// Whether a script body starts with a `#!lua` shebang that carries the `no-writes` flag.
fn declares_no_writes(body: &[u8]) -> bool {
    let line = body.split(|&c| c == b'\n').next().unwrap_or_default();
    let Some(rest) = line.strip_prefix(b"#!") else { return false };
    let text = String::from_utf8_lossy(rest);
    text.split_whitespace().filter_map(|w| w.strip_prefix("flags=")).any(|f| f.split(',').any(|x| x == "no-writes"))
}

/// How `CLIENT UNBLOCK` asks a parked client to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockReason {
    /// As if the command timed out.
    Timeout = 1,
    /// With `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error = 2,
}

/// A client parked in a blocking command (BLPOP, XREAD BLOCK...), as its face registered it.
struct Parked {
    notify: Arc<Notify>,
    reason: Arc<AtomicU8>,
}

/// The clients parked in blocking commands, by client id (`CLIENT UNBLOCK`).
#[derive(Default)]
pub struct ParkedClients {
    by_id: Mutex<HashMap<u64, Parked>>,
}

impl ParkedClients {
    /// Registers client `id` as parked on `notify`; the returned cell holds the
    /// [`UnblockReason`] (0 while none) once `CLIENT UNBLOCK` wakes it.
    pub fn park(&self, id: u64, notify: Arc<Notify>) -> Arc<AtomicU8> {
        let reason = Arc::new(AtomicU8::new(0));
        self.by_id.lock().insert(id, Parked { notify, reason: reason.clone() });
        reason
    }

    /// The client stopped waiting.
    pub fn unpark(&self, id: u64) {
        self.by_id.lock().remove(&id);
    }

    /// `CLIENT UNBLOCK id reason`: wakes client `id` if it is parked; returns whether it was.
    pub fn unblock(&self, id: u64, reason: UnblockReason) -> bool {
        let Some(p) = self.by_id.lock().remove(&id) else { return false };
        p.reason.store(reason as u8, Ordering::Release);
        p.notify.notify_one();
        true
    }

    /// Reads an unblock cell.
    pub fn reason(cell: &AtomicU8) -> Option<UnblockReason> {
        match cell.load(Ordering::Acquire) {
            1 => Some(UnblockReason::Timeout),
            2 => Some(UnblockReason::Error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_modes_and_end() {
        let p = Pause::default();
        assert_eq!(p.active(0), None);
        p.start(PauseMode::Write, 100);
        assert_eq!(p.active(50), Some(PauseMode::Write));
        assert_eq!(p.active(100), None);
        assert!(!p.expiry_allowed(50));
        p.start(PauseMode::All, 200);
        assert_eq!(p.active(150), Some(PauseMode::All));
        p.end();
        assert_eq!(p.active(150), None);
        assert!(p.expiry_allowed(150));
    }

    #[test]
    fn no_writes_shebang() {
        assert!(declares_no_writes(b"#!lua flags=no-writes\nreturn 1"));
        assert!(declares_no_writes(b"#!lua flags=allow-oom,no-writes\nreturn 1"));
        assert!(!declares_no_writes(b"#!lua\nreturn 1"));
        assert!(!declares_no_writes(b"return 1 -- flags=no-writes"));
    }

    #[test]
    fn unblock_wakes_only_parked_clients() {
        let parked = ParkedClients::default();
        assert!(!parked.unblock(7, UnblockReason::Timeout));
        let n = Arc::new(Notify::new());
        let cell = parked.park(7, n);
        assert_eq!(ParkedClients::reason(&cell), None);
        assert!(parked.unblock(7, UnblockReason::Error));
        assert_eq!(ParkedClients::reason(&cell), Some(UnblockReason::Error));
        assert!(!parked.unblock(7, UnblockReason::Error));
    }
}
