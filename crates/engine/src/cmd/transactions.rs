//! MULTI/EXEC/DISCARD/WATCH/UNWATCH (Redis `multi.c`).

use bytes::Bytes;

use crate::cmd;
use crate::command::flags::*;
use crate::command::{self, CommandSpec};
use crate::engine::call;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Keyspace;
use crate::session::{MultiState, Session};
use crate::{Ctx, Reply};

/// Transaction command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("multi", 1, NO_MULTI_QUEUE | FAST | NOSCRIPT, 0, 0, 0, multi, "transaction"),
    cmd!("exec", 1, NO_MULTI_QUEUE | NOSCRIPT, 0, 0, 0, exec, "transaction"),
    cmd!("discard", 1, NO_MULTI_QUEUE | FAST | NOSCRIPT, 0, 0, 0, discard, "transaction"),
    cmd!("watch", -2, NO_MULTI_QUEUE | FAST | NOSCRIPT, 1, -1, 1, watch, "transaction"),
    cmd!("unwatch", 1, NO_MULTI_QUEUE | FAST | NOSCRIPT, 0, 0, 0, unwatch, "transaction"),
];

fn multi(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(CmdError::NestedMulti);
    }
    ctx.session.multi = Some(MultiState::default());
    Ok(Reply::Ok)
}

fn discard(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.session.multi.take().is_none() {
        return Err(CmdError::WithoutMulti("DISCARD"));
    }
    unwatch_all(ctx.ks, ctx.session);
    Ok(Reply::Ok)
}

/// Drops every WATCH of `session`.
pub fn unwatch_all(ks: &mut Keyspace, session: &mut Session) {
    for (db, key, _) in session.watched.drain(..) {
        let slot = (db, key);
        if let Some((n, _)) = ks.watched.get_mut(&slot) {
            *n -= 1;
            if *n == 0 {
                ks.watched.remove(&slot);
            }
        }
    }
}

fn watch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(CmdError::WatchInMulti);
    }
    let db = ctx.db_index();
    for k in &a[1..] {
        if ctx.session.watched.iter().any(|(d, key, _)| *d == db && key == k) {
            continue;
        }
        // An expired key counts as missing from the start, as in Redis.
        ctx.expire_if_needed(k);
        let slot = ctx.ks.watched.entry((db, k.clone())).or_insert((0, 0));
        slot.0 += 1;
        let v = slot.1;
        ctx.session.watched.push((db, k.clone(), v));
    }
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.ks, ctx.session);
    Ok(Reply::Ok)
}

/// True if a watched key changed (or expired) since WATCH.
fn watch_broken(ctx: &mut Ctx) -> bool {
    let watched = ctx.session.watched.clone();
    let cur_db = ctx.session.db;
    let mut broken = false;
    for (db, key, v) in watched {
        ctx.session.db = db;
        ctx.expire_if_needed(&key);
        if ctx.ks.watch_version(db, &key) != v {
            broken = true;
        }
    }
    ctx.session.db = cur_db;
    broken
}

fn exec(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let Some(state) = ctx.session.multi.take() else {
        return Err(CmdError::WithoutMulti("EXEC"));
    };
    if state.failed {
        unwatch_all(ctx.ks, ctx.session);
        return Err(CmdError::ExecAbort);
    }
    if watch_broken(ctx) {
        unwatch_all(ctx.ks, ctx.session);
        return Ok(Reply::NilArray);
    }
    unwatch_all(ctx.ks, ctx.session);
    let replies = run_queue(ctx, &state.queue);
    ctx.propagate_none();
    Ok(Reply::Array(replies))
}

/// Runs queued commands atomically (the caller holds the keyspace), each error becoming an
/// error element. Permissions are checked again, as Redis does at EXEC (the user's rules may
/// have changed since the command was queued). Blocking commands behave as non-blocking.
pub fn run_queue(ctx: &mut Ctx, queue: &[Vec<Bytes>]) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(queue.len());
    for args in queue {
        let r = match command::lookup(&args[0]) {
            Some(spec) => match crate::acl::authorize(ctx.shared, ctx.session, spec, args, crate::acl::LogContext::Multi) {
                Ok(()) => call(ctx, spec, args),
                Err(e) => Err(e),
            },
            None => Err(CmdError::err("unknown command")),
        };
        ctx.block = None;
        replies.push(r.unwrap_or_else(|e| Reply::Error(e.to_string())));
    }
    replies
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn multi_exec_discard() {
        let mut t = T::new();
        assert_eq!(t.ok(&["MULTI"]), Reply::Ok);
        assert_eq!(t.ok(&["SET", "a", "1"]), Reply::status("QUEUED"));
        assert_eq!(t.ok(&["INCR", "a"]), Reply::status("QUEUED"));
        t.ok(&["LPUSH", "a", "x"]);
        let r = t.ok(&["EXEC"]);
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::Ok,
                Reply::Int(2),
                Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
            ])
        );
        assert_eq!(t.err(&["EXEC"]), "ERR EXEC without MULTI");
        t.ok(&["MULTI"]);
        assert_eq!(t.err(&["MULTI"]), "ERR MULTI calls can not be nested");
        assert_eq!(t.err(&["NOSUCH"]), "ERR unknown command 'NOSUCH', with args beginning with: ");
        assert_eq!(t.err(&["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
        t.ok(&["MULTI"]);
        t.ok(&["SET", "a", "9"]);
        assert_eq!(t.ok(&["DISCARD"]), Reply::Ok);
        assert_eq!(t.ok(&["GET", "a"]), b("2"));
    }

    #[test]
    fn watch_aborts_on_change() {
        let mut t = T::new();
        t.ok(&["SET", "w", "1"]);
        t.ok(&["WATCH", "w"]);
        // Another client writes the key.
        let mut other = t.engine.open_session(crate::Face::Resp, "o", "o");
        let _ = t.engine.execute(&mut other, vec!["SET".into(), "w".into(), "2".into()]);
        t.ok(&["MULTI"]);
        t.ok(&["SET", "w", "3"]);
        assert_eq!(t.ok(&["EXEC"]), Reply::NilArray);
        assert_eq!(t.ok(&["GET", "w"]), b("2"));
        t.ok(&["WATCH", "w"]);
        t.ok(&["MULTI"]);
        t.ok(&["SET", "w", "4"]);
        assert_eq!(t.ok(&["EXEC"]), Reply::Array(vec![Reply::Ok]));
        assert!(t.engine.shared.ks.lock().watched.is_empty());
        t.ok(&["SET", "e", "1", "PX", "10"]);
        t.ok(&["WATCH", "e"]);
        t.advance(20);
        t.ok(&["MULTI"]);
        t.ok(&["SET", "x", "1"]);
        assert_eq!(t.ok(&["EXEC"]), Reply::NilArray);
    }
}
