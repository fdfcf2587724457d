//! Stream consumer groups (Redis `t_stream.c`): XGROUP, XREADGROUP (blocking over RESP), XACK,
//! XACKDEL, XPENDING, XCLAIM and XAUTOCLAIM.
//!
//! Delivery times and counts depend on the clock, so these commands log their effects the way
//! Redis replicates them: each delivery or claim as `XCLAIM key group consumer 0 id TIME t
//! RETRYCOUNT n FORCE JUSTID`, a moved group cursor as `XGROUP SETID ... ENTRIESREAD n`, and an
//! entry dropped from a PEL as `XACK`. Replaying the log rebuilds the same PELs.
//!
//! Where the hosted service differs from Redis (a `NOACK` read does not create its consumer),
//! the hosted behaviour wins.

use bytes::Bytes;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::cmd::streams::{count_applied, entry_reply, parse_read, policy_and_ids, read_reply, strict_id};
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::stream::{Group, Pending, Stream, StreamId};
use crate::{Ctx, Reply};

/// Consumer-group command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("xgroup", -2, WRITE, 2, 2, 1, xgroup, "stream"),
    cmd!("xreadgroup", -7, WRITE | BLOCKING, 0, 0, 0, xreadgroup, "stream"),
    cmd!("xack", -4, WRITE | FAST, 1, 1, 1, xack, "stream"),
    cmd!("xackdel", -6, WRITE | FAST, 1, 1, 1, xackdel, "stream"),
    cmd!("xpending", -3, READONLY, 1, 1, 1, xpending, "stream"),
    cmd!("xclaim", -6, WRITE | FAST, 1, 1, 1, xclaim, "stream"),
    cmd!("xautoclaim", -6, WRITE | FAST, 1, 1, 1, xautoclaim, "stream"),
];

/// `NOGROUP` as XPENDING, XCLAIM and XAUTOCLAIM word it.
fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// `XGROUP SETID key group id ENTRIESREAD n` for the group's current cursor (log form).
fn setid_effect(key: &Bytes, name: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        lit("XGROUP"),
        lit("SETID"),
        key.clone(),
        name.clone(),
        g.last_id.to_bytes(),
        lit("ENTRIESREAD"),
        args::int_bytes(g.entries_read.map_or(-1, |n| n as i64)),
    ]
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID` (log form of a delivery).
fn claim_effect(key: &Bytes, group: &Bytes, id: StreamId, p: &Pending) -> Vec<Bytes> {
    vec![
        lit("XCLAIM"),
        key.clone(),
        group.clone(),
        p.consumer.clone(),
        lit("0"),
        id.to_bytes(),
        lit("TIME"),
        args::int_bytes(p.delivery_time as i64),
        lit("RETRYCOUNT"),
        args::int_bytes(p.delivery_count as i64),
        lit("FORCE"),
        lit("JUSTID"),
    ]
}

fn xgroup_help() -> Reply {
    Reply::Array(
        [
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Print this help.",
        ]
        .iter()
        .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
        .collect(),
    )
}

/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...`.
fn xgroup(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let arity_ok = match sub.as_str() {
        "help" => return if a.len() == 2 { Ok(xgroup_help()) } else { Err(CmdError::WrongArgs("xgroup|help".into())) },
        "create" | "setid" => a.len() >= 5,
        "destroy" => a.len() == 4,
        "createconsumer" | "delconsumer" => a.len() == 5,
        _ => return Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "XGROUP".into() }),
    };
    if !arity_ok {
        return Err(CmdError::WrongArgs(format!("xgroup|{sub}")));
    }
    let subcommand_syntax =
        || CmdError::err(format!("unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.", args::text(&a[1])));
    // Options of CREATE (MKSTREAM, ENTRIESREAD) and SETID (ENTRIESREAD).
    let mut mkstream = false;
    let mut entries_read: Option<i64> = None;
    if sub == "create" && a.len() > 8 || sub == "setid" && a.len() != 5 && a.len() != 7 {
        return Err(subcommand_syntax());
    }
    if sub == "create" || sub == "setid" {
        let mut i = 5;
        while i < a.len() {
            if sub == "create" && is(&a[i], "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if is(&a[i], "ENTRIESREAD") && i + 1 < a.len() {
                let n = int(&a[i + 1])?;
                if n < -1 {
                    return Err(CmdError::err("value for ENTRIESREAD must be positive or -1"));
                }
                entries_read = Some(n);
                i += 2;
            } else {
                return Err(if sub == "setid" { CmdError::Syntax } else { subcommand_syntax() });
            }
        }
    }
    let (key, name) = (&a[2], &a[3]);
    let exists = ctx.get_stream(key)?.is_some();
    if !exists && !mkstream {
        return Err(CmdError::err(
            "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    let group_missing = !exists || ctx.get_stream(key)?.is_some_and(|s| !s.groups.contains_key(name));
    if group_missing && matches!(sub.as_str(), "setid" | "createconsumer" | "delconsumer") {
        return Err(CmdError::Other(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(key)
        )));
    }
    let now = ctx.now;
    match sub.as_str() {
        "create" => {
            let id = match &a[4][..] {
                b"$" => ctx.get_stream(key)?.map_or(StreamId::MIN, |s| s.last_id),
                arg => strict_id(arg, 0)?,
            };
            if !group_missing {
                return Err(CmdError::Other("BUSYGROUP Consumer Group name already exists".into()));
            }
            let s = ctx.stream_or_create(key)?;
            let read = entries_read.and_then(|n| u64::try_from(n).ok());
            s.groups.insert(name.clone(), Group::new(id, read));
            let mut effect = vec![lit("XGROUP"), lit("CREATE"), key.clone(), name.clone(), id.to_bytes()];
            if mkstream {
                effect.push(lit("MKSTREAM"));
            }
            effect.extend([lit("ENTRIESREAD"), args::int_bytes(read.map_or(-1, |n| n as i64))]);
            ctx.propagate(effect);
            ctx.dirty(1);
            Ok(Reply::Ok)
        }
        "setid" => {
            let id = match &a[4][..] {
                b"$" => ctx.get_stream(key)?.map_or(StreamId::MIN, |s| s.last_id),
                arg => range_id(arg, 0)?,
            };
            let Some(s) = ctx.get_stream_mut(key)? else { return Err(CmdError::NoSuchKey) };
            let Some(g) = s.groups.get_mut(name) else { return Err(CmdError::NoSuchKey) };
            g.last_id = id;
            g.entries_read = entries_read.and_then(|n| u64::try_from(n).ok());
            let effect = setid_effect(key, name, g);
            ctx.propagate(effect);
            ctx.dirty(1);
            Ok(Reply::Ok)
        }
        "destroy" => {
            let removed = ctx.get_stream_mut(key)?.is_some_and(|s| s.groups.remove(name).is_some());
            if removed {
                ctx.dirty(1);
            }
            Ok(Reply::Int(removed as i64))
        }
        "createconsumer" => {
            let consumer = &a[4];
            let Some(g) = ctx.get_stream_mut(key)?.and_then(|s| s.groups.get_mut(name)) else { return Ok(Reply::Int(0)) };
            if g.consumers.contains_key(consumer) {
                return Ok(Reply::Int(0));
            }
            g.consumer_or_create(consumer, now);
            ctx.dirty(1);
            Ok(Reply::Int(1))
        }
        _ => {
            let consumer = &a[4];
            let Some(g) = ctx.get_stream_mut(key)?.and_then(|s| s.groups.get_mut(name)) else { return Ok(Reply::Int(0)) };
            let Some(c) = g.consumers.remove(consumer) else { return Ok(Reply::Int(0)) };
            for id in &c.pending {
                g.pel.remove(id);
            }
            ctx.dirty(1);
            Ok(Reply::Int(c.pending.len() as i64))
        }
    }
}

/// An id where `-` and `+` are allowed too (XGROUP SETID).
fn range_id(arg: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => strict_id(arg, missing_seq),
    }
}

/// What XREADGROUP reads from one stream.
enum ReadFrom {
    /// `>`: entries never delivered to the group.
    New,
    /// An id: the consumer's own pending entries after it.
    History(StreamId),
}

/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...`.
fn xreadgroup(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let r = parse_read(a, true)?;
    let Some((group, consumer)) = r.group else { return Err(CmdError::Syntax) };
    // Check every stream, group and id first, so an error changes nothing.
    let mut plan = Vec::with_capacity(r.keys.len());
    for (key, arg) in r.keys.iter().zip(r.ids) {
        let has_group = ctx.get_stream(key)?.is_some_and(|s| s.groups.contains_key(group));
        if !has_group {
            return Err(CmdError::Other(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(group)
            )));
        }
        plan.push(match &arg[..] {
            b"$" => {
                return Err(CmdError::err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ))
            }
            b">" => ReadFrom::New,
            _ => ReadFrom::History(strict_id(arg, 0)?),
        });
    }
    let now = ctx.now;
    let limit = if r.count == 0 { usize::MAX } else { r.count };
    let mut found: Vec<(Bytes, Reply)> = Vec::new();
    let mut effects: Vec<Vec<Bytes>> = Vec::new();
    let mut changed = false;
    for (key, from) in r.keys.iter().zip(plan) {
        let Some(s) = ctx.get_stream_mut(key)? else { continue };
        let Some(g) = s.groups.get_mut(group) else { continue };
        // Served now: a history read, or new entries past the group's cursor. Otherwise the
        // read blocks or answers nil, and (as in Redis) creates no consumer yet.
        let serve = match from {
            ReadFrom::History(_) => true,
            ReadFrom::New => s.entries.last_key_value().is_some_and(|(top, _)| *top > g.last_id),
        };
        if !serve {
            continue;
        }
        // The hosted service does not create a consumer for a NOACK read.
        if !r.noack && !g.consumers.contains_key(consumer) {
            g.consumer_or_create(consumer, now);
            effects.push(vec![lit("XGROUP"), lit("CREATECONSUMER"), key.clone(), group.clone(), consumer.clone()]);
            changed = true;
        }
        if let Some(c) = g.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        match from {
            ReadFrom::History(after) => {
                let entries = read_history(s, group, consumer, after, limit, now, key, &mut effects);
                changed |= entries.iter().any(|(_, present)| *present);
                found.push((key.clone(), Reply::Array(entries.into_iter().map(|(r, _)| r).collect())));
            }
            ReadFrom::New => {
                let last = g.last_id;
                if s.entries.last_key_value().is_none_or(|(top, _)| *top <= last) {
                    continue;
                }
                let Some(start) = last.next() else { continue };
                let ids: Vec<StreamId> = s.entries.range(start..).take(limit).map(|(id, _)| *id).collect();
                let mut replies = Vec::with_capacity(ids.len());
                for id in ids {
                    s.advance_group(group, id);
                    if let Some(fields) = s.entries.get(&id) {
                        replies.push(entry_reply(id, fields));
                    }
                    let Some(g) = s.groups.get_mut(group) else { continue };
                    if !r.noack {
                        g.assign(id, consumer, now, 1, now);
                        if let Some(c) = g.consumers.get_mut(consumer) {
                            c.active_time = Some(now);
                        }
                        if let Some(p) = g.pel.get(&id) {
                            effects.push(claim_effect(key, group, id, p));
                        }
                    }
                }
                if let Some(g) = s.groups.get(group) {
                    effects.push(setid_effect(key, group, g));
                }
                changed = true;
                found.push((key.clone(), Reply::Array(replies)));
            }
        }
    }
    if changed {
        for key in r.keys {
            ctx.signal(key);
        }
        ctx.dirty(1);
    }
    if effects.is_empty() {
        ctx.propagate_none();
    }
    for e in effects {
        ctx.propagate(e);
    }
    if found.is_empty() {
        if let Some(timeout) = r.block {
            ctx.block_on_rerun(r.keys.to_vec(), timeout, a.to_vec());
        }
        return Ok(Reply::NilArray);
    }
    Ok(read_reply(ctx, found))
}

/// The consumer's pending entries after `after` (each re-delivered: time now, count + 1), as
/// `[id, fields]` replies (`[id, nil]` for entries deleted meanwhile) with whether each exists.
#[allow(clippy::too_many_arguments)]
fn read_history(
    s: &mut Stream,
    group: &Bytes,
    consumer: &Bytes,
    after: StreamId,
    limit: usize,
    now: u64,
    key: &Bytes,
    effects: &mut Vec<Vec<Bytes>>,
) -> Vec<(Reply, bool)> {
    let Some(g) = s.groups.get_mut(group) else { return Vec::new() };
    let Some(c) = g.consumers.get(consumer) else { return Vec::new() };
    let Some(start) = after.next() else { return Vec::new() };
    let ids: Vec<StreamId> = c.pending.range(start..).take(limit).copied().collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.entries.get(&id) {
            Some(fields) => {
                out.push((entry_reply(id, fields), true));
                if let Some(p) = g.pel.get_mut(&id) {
                    p.delivery_time = now;
                    p.delivery_count += 1;
                    effects.push(claim_effect(key, group, id, p));
                }
            }
            None => out.push((Reply::Array(vec![Reply::Bulk(id.to_bytes()), Reply::NilArray]), false)),
        }
    }
    out
}

/// `XACK key group id ...`.
fn xack(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // A missing key or group acknowledges nothing, before the ids are even checked.
    if !ctx.get_stream(&a[1])?.is_some_and(|s| s.groups.contains_key(&a[2])) {
        return Ok(Reply::Int(0));
    }
    count_applied(ctx, &a[1], &a[3..], |s, id| s.groups.get_mut(&a[2]).is_some_and(|g| g.ack(id)))
}

/// `XACKDEL key group [KEEPREF|DELREF|ACKED] IDS numids id ...`: acknowledges each id in the
/// group, then deletes it as XDELEX would: per id -1 (no such entry), 1 (deleted) or 2 (kept
/// because a group still needs it, under ACKED).
///
/// Hosted-service behaviour: a group that does not exist is not an error (Redis 8.2 answers
/// `NOGROUP`); there is nothing to acknowledge, and each id gets its deletion result.
fn xackdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (policy, ids) = policy_and_ids(a, 3)?;
    let key = &a[1];
    let Some(s) = ctx.get_stream_mut(key)? else {
        return Ok(Reply::Array(ids.iter().map(|_| Reply::Int(-1)).collect()));
    };
    let mut out = Vec::with_capacity(ids.len());
    let mut changed = 0;
    for id in ids {
        if s.groups.get_mut(&a[2]).is_some_and(|g| g.ack(id)) {
            changed += 1;
        }
        let code = crate::cmd::streams::delete_with_policy(s, id, policy);
        if code == 1 {
            changed += 1;
        }
        out.push(Reply::Int(code));
    }
    if changed > 0 {
        ctx.dirty(changed);
    }
    Ok(Reply::Array(out))
}

/// `XPENDING key group [[IDLE min-idle] start end count [consumer]]`.
fn xpending(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() != 3 && (a.len() < 6 || a.len() > 9) {
        return Err(CmdError::Syntax);
    }
    let mut extended = None;
    if a.len() >= 6 {
        let mut at = 3;
        let mut min_idle = None;
        if is(&a[3], "IDLE") {
            min_idle = Some(int(&a[4])?);
            if a.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at = 5;
        }
        let count = int(&a[at + 2])?.max(0) as usize;
        let start = interval_bound(&a[at], true)?;
        let end = interval_bound(&a[at + 1], false)?;
        let consumer = a.get(at + 3);
        if at + 4 < a.len() {
            return Err(CmdError::Syntax);
        }
        extended = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now;
    let (key, name) = (&a[1], &a[2]);
    let Some(g) = ctx.get_stream(key)?.and_then(|s| s.groups.get(name)) else { return Err(no_group(key, name)) };
    let Some((min_idle, start, end, count, consumer)) = extended else {
        return Ok(pending_summary(g));
    };
    let mut out = Vec::new();
    if count == 0 || start > end {
        return Ok(Reply::Array(out));
    }
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => Box::new(c.pending.range(start..=end).copied()),
            None => return Ok(Reply::Array(out)),
        },
        None => Box::new(g.pel.range(start..=end).map(|(id, _)| *id)),
    };
    for id in ids {
        let Some(p) = g.pel.get(&id) else { continue };
        let idle = now.saturating_sub(p.delivery_time);
        if min_idle.is_some_and(|m| (idle as i64) < m) {
            continue;
        }
        out.push(Reply::Array(vec![
            Reply::Bulk(id.to_bytes()),
            Reply::Bulk(p.consumer.clone()),
            Reply::Int(idle as i64),
            Reply::Int(p.delivery_count as i64),
        ]));
        if out.len() == count {
            break;
        }
    }
    Ok(Reply::Array(out))
}

/// XPENDING's summary: `[count, first id, last id, [[consumer, count] ...]]`.
fn pending_summary(g: &Group) -> Reply {
    let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value()) else {
        return Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]);
    };
    let consumers = g
        .consumers
        .iter()
        .filter(|(_, c)| !c.pending.is_empty())
        .map(|(name, c)| Reply::Array(vec![Reply::Bulk(name.clone()), Reply::Bulk(args::int_bytes(c.pending.len() as i64))]))
        .collect();
    Reply::Array(vec![Reply::Int(g.pel.len() as i64), Reply::Bulk(first.to_bytes()), Reply::Bulk(last.to_bytes()), Reply::Array(consumers)])
}

/// A range bound for XPENDING/XAUTOCLAIM: `-`, `+`, an id, or `(id` (exclusive).
fn interval_bound(arg: &[u8], start: bool) -> CmdResult<StreamId> {
    let missing_seq = if start { 0 } else { u64::MAX };
    match arg.strip_prefix(b"(") {
        Some(rest) => {
            let id = strict_id(rest, missing_seq)?;
            let stepped = if start { id.next() } else { id.prev() };
            stepped.ok_or_else(|| CmdError::err(format!("invalid {} ID for the interval", if start { "start" } else { "end" })))
        }
        None => range_id(arg, missing_seq),
    }
}

/// Options shared by XCLAIM's claiming loop.
struct Claim {
    delivery_time: u64,
    retry_count: Option<u64>,
    force: bool,
    justid: bool,
}

/// Claims pending entry `id` for `consumer` if it is idle long enough; returns its reply, or
/// `None` if it was not claimed. An entry gone from the stream leaves the PEL (logged as XACK).
#[allow(clippy::too_many_arguments)]
fn claim_one(
    s: &mut Stream,
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    id: StreamId,
    min_idle: u64,
    opts: &Claim,
    now: u64,
    effects: &mut Vec<Vec<Bytes>>,
) -> Option<Reply> {
    let exists = s.entries.contains_key(&id);
    let g = s.groups.get_mut(group)?;
    if !exists {
        if g.ack(id) {
            effects.push(vec![lit("XACK"), key.clone(), group.clone(), id.to_bytes()]);
        }
        return None;
    }
    let count = match g.pel.get(&id) {
        Some(p) => {
            if min_idle > 0 && now.saturating_sub(p.delivery_time) < min_idle {
                return None;
            }
            p.delivery_count
        }
        // A PEL entry made by FORCE starts as one delivery (Redis's new NACK).
        None if opts.force => 1,
        None => return None,
    };
    let count = match opts.retry_count {
        Some(n) => n,
        None if opts.justid => count,
        None => count + 1,
    };
    g.assign(id, consumer, opts.delivery_time, count, now);
    if let Some(c) = g.consumers.get_mut(consumer) {
        c.seen_time = now;
        c.active_time = Some(now);
    }
    if let Some(p) = g.pel.get(&id) {
        effects.push(claim_effect(key, group, id, p));
    }
    let fields = s.entries.get(&id)?;
    Some(if opts.justid { Reply::Bulk(id.to_bytes()) } else { entry_reply(id, fields) })
}

/// `XCLAIM key group consumer min-idle-time id ... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]`.
fn xclaim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (key, group, consumer) = (&a[1], &a[2], &a[3]);
    if !ctx.get_stream(key)?.is_some_and(|s| s.groups.contains_key(group)) {
        return Err(no_group(key, group));
    }
    let min_idle = int(&a[4]).map_err(|_| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?.max(0) as u64;
    let mut j = 5;
    let mut ids = Vec::new();
    while j < a.len() {
        match strict_id(&a[j], 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now;
    let mut delivery: Option<i64> = None;
    let mut retry_count: Option<i64> = None;
    let (mut force, mut justid) = (false, false);
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = j + 1 < a.len();
        let opt = &a[j];
        if is(opt, "FORCE") {
            force = true;
        } else if is(opt, "JUSTID") {
            justid = true;
        } else if is(opt, "IDLE") && more {
            j += 1;
            let idle = int(&a[j]).map_err(|_| CmdError::err("Invalid IDLE option argument for XCLAIM"))?;
            delivery = Some((now as i64).saturating_sub(idle));
        } else if is(opt, "TIME") && more {
            j += 1;
            delivery = Some(int(&a[j]).map_err(|_| CmdError::err("Invalid TIME option argument for XCLAIM"))?);
        } else if is(opt, "RETRYCOUNT") && more {
            j += 1;
            retry_count = Some(int(&a[j]).map_err(|_| CmdError::err("Invalid RETRYCOUNT option argument for XCLAIM"))?);
        } else if is(opt, "LASTID") && more {
            j += 1;
            last_id = strict_id(&a[j], 0)?;
        } else {
            return Err(CmdError::err(format!("Unrecognized XCLAIM option '{}'", args::text(opt))));
        }
        j += 1;
    }
    let delivery_time = match delivery {
        Some(t) if t >= 0 && t as u64 <= now => t as u64,
        _ => now,
    };
    let opts = Claim { delivery_time, retry_count: retry_count.and_then(|n| u64::try_from(n).ok()), force, justid };
    let Some(s) = ctx.get_stream_mut(key)? else { return Err(no_group(key, group)) };
    let mut effects = Vec::new();
    let mut moved_cursor = false;
    if let Some(g) = s.groups.get_mut(group) {
        if last_id > g.last_id {
            g.last_id = last_id;
            moved_cursor = true;
        }
    }
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = claim_one(s, key, group, consumer, id, min_idle, &opts, now, &mut effects) {
            out.push(r);
        }
    }
    if moved_cursor {
        if let Some(g) = s.groups.get(group) {
            effects.push(setid_effect(key, group, g));
        }
    }
    finish_effects(ctx, effects);
    Ok(Reply::Array(out))
}

/// Logs `effects` as the command's effects (nothing if empty) and marks the change.
fn finish_effects(ctx: &mut Ctx, effects: Vec<Vec<Bytes>>) {
    if effects.is_empty() {
        ctx.propagate_none();
        return;
    }
    ctx.dirty(effects.len() as u64);
    for e in effects {
        ctx.propagate(e);
    }
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`: claims up to
/// `count` entries idle long enough, scanning at most ten times that many PEL entries; replies
/// `[next start id, claimed, deleted ids]`.
fn xautoclaim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (key, group, consumer) = (&a[1], &a[2], &a[3]);
    let min_idle = int(&a[4]).map_err(|_| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0) as u64;
    let start = interval_bound(&a[5], true)?;
    const ATTEMPTS_FACTOR: i64 = 10;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        if is(&a[j], "COUNT") && j + 1 < a.len() {
            j += 1;
            count = int(&a[j])
                .ok()
                .filter(|n| *n >= 1 && *n <= i64::MAX / ATTEMPTS_FACTOR)
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))?;
        } else if is(&a[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !ctx.get_stream(key)?.is_some_and(|s| s.groups.contains_key(group)) {
        return Err(no_group(key, group));
    }
    let now = ctx.now;
    let opts = Claim { delivery_time: now, retry_count: None, force: false, justid };
    let Some(s) = ctx.get_stream_mut(key)? else { return Err(no_group(key, group)) };
    let mut attempts = count * ATTEMPTS_FACTOR;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut effects = Vec::new();
    let mut cursor = Some(start);
    // Like Redis, entries found deleted count against COUNT as well as claimed ones.
    while let Some(from) = cursor {
        if attempts <= 0 || (claimed.len() + deleted.len()) as i64 >= count {
            break;
        }
        let Some(id) = s.groups.get(group).and_then(|g| g.pel.range(from..).next().map(|(id, _)| *id)) else {
            cursor = None;
            break;
        };
        attempts -= 1;
        cursor = id.next();
        if !s.entries.contains_key(&id) {
            deleted.push(Reply::Bulk(id.to_bytes()));
        }
        if let Some(r) = claim_one(s, key, group, consumer, id, min_idle, &opts, now, &mut effects) {
            claimed.push(r);
        }
    }
    // The next start is the next PEL entry after the last one examined, or 0-0 at the end.
    let next =
        cursor.and_then(|from| s.groups.get(group).and_then(|g| g.pel.range(from..).next().map(|(id, _)| *id))).unwrap_or(StreamId::MIN);
    finish_effects(ctx, effects);
    Ok(Reply::Array(vec![Reply::Bulk(next.to_bytes()), Reply::Array(claimed), Reply::Array(deleted)]))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::Reply;

    fn entry(id: &str, fields: &[&str]) -> Reply {
        Reply::Array(vec![b(id), arr(fields)])
    }

    fn read(key: &str, entries: Vec<Reply>) -> Reply {
        Reply::Array(vec![Reply::Array(vec![b(key), Reply::Array(entries)])])
    }

    fn stream_with(t: &mut T, n: u64) {
        for i in 1..=n {
            t.ok(&["XADD", "s", &format!("{i}-0"), "f", &i.to_string()]);
        }
    }

    /// Runs `cmds` on a fresh engine whose clock is `ahead` ms later, returning it (for
    /// replaying logged effects, as a restart does later).
    fn replay(cmds: &[Vec<String>], ahead: i64) -> T {
        let mut t = T::new();
        t.advance(ahead);
        for c in cmds {
            let args: Vec<&str> = c.iter().map(|s| s.as_str()).collect();
            t.ok(&args);
        }
        t
    }

    #[test]
    fn xgroup_subcommands_and_errors() {
        let mut t = T::new();
        assert_eq!(
            t.err(&["XGROUP", "CREATE", "s", "g", "$"]),
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
        );
        assert_eq!(t.ok(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]), Reply::Ok);
        assert_eq!(t.err(&["XGROUP", "CREATE", "s", "g", "0"]), "BUSYGROUP Consumer Group name already exists");
        assert_eq!(t.err(&["XGROUP", "CREATE", "s", "h", "x"]), "ERR Invalid stream ID specified as stream command argument");
        assert_eq!(t.err(&["XGROUP", "CREATE", "s", "h", "0", "ENTRIESREAD", "-2"]), "ERR value for ENTRIESREAD must be positive or -1");
        assert_eq!(
            t.err(&["XGROUP", "CREATE", "s", "h", "0", "BOGUS"]),
            "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."
        );
        assert_eq!(t.err(&["XGROUP", "SETID", "s", "nope", "0"]), "NOGROUP No such consumer group 'nope' for key name 's'");
        assert_eq!(t.err(&["XGROUP", "DESTROY", "s"]), "ERR wrong number of arguments for 'xgroup|destroy' command");
        assert_eq!(t.err(&["XGROUP", "FOO", "s"]), "ERR unknown subcommand 'FOO'. Try XGROUP HELP.");
        assert_eq!(t.ok(&["XGROUP", "CREATECONSUMER", "s", "g", "c"]), Reply::Int(1));
        assert_eq!(t.ok(&["XGROUP", "CREATECONSUMER", "s", "g", "c"]), Reply::Int(0));
        assert_eq!(t.ok(&["XGROUP", "DELCONSUMER", "s", "g", "c"]), Reply::Int(0));
        assert_eq!(t.ok(&["XGROUP", "DESTROY", "s", "g"]), Reply::Int(1));
        assert_eq!(t.ok(&["XGROUP", "DESTROY", "s", "g"]), Reply::Int(0));
        t.ok(&["SET", "str", "v"]);
        assert_eq!(t.err(&["XGROUP", "CREATE", "str", "g", "$"]), WRONGTYPE);
    }

    #[test]
    fn xreadgroup_delivers_tracks_pending_and_replays_history() {
        let mut t = T::new();
        stream_with(&mut t, 3);
        t.ok(&["XGROUP", "CREATE", "s", "g", "0"]);
        assert_eq!(
            t.err(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"]).split(':').next().map(str::to_owned),
            Some("ERR The $ ID is meaningless in the context of XREADGROUP".to_owned())
        );
        assert_eq!(
            t.err(&["XREADGROUP", "GROUP", "x", "c", "STREAMS", "s", ">"]),
            "NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option"
        );
        assert_eq!(t.err(&["XREADGROUP", "COUNT", "1", "STREAMS", "s", ">"]), "ERR wrong number of arguments for 'xreadgroup' command");
        assert_eq!(t.err(&["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"]), "ERR Missing GROUP option for XREADGROUP");
        assert_eq!(
            t.ok(&["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"]),
            read("s", vec![entry("1-0", &["f", "1"]), entry("2-0", &["f", "2"])])
        );
        t.advance(100);
        assert_eq!(t.ok(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]), read("s", vec![entry("3-0", &["f", "3"])]));
        assert_eq!(t.ok(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]), Reply::NilArray);
        // History: the consumer's own pending entries, each delivery counted.
        assert_eq!(
            t.ok(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"]),
            read("s", vec![entry("1-0", &["f", "1"]), entry("2-0", &["f", "2"])])
        );
        assert_eq!(t.ok(&["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"]), read("s", vec![]));
        let summary = t.ok(&["XPENDING", "s", "g"]);
        assert_eq!(
            summary,
            Reply::Array(vec![Reply::Int(3), b("1-0"), b("3-0"), Reply::Array(vec![arr(&["alice", "2"]), arr(&["bob", "1"])]),])
        );
        t.advance(50);
        let ext = t.ok(&["XPENDING", "s", "g", "-", "+", "10"]);
        assert_eq!(
            ext,
            Reply::Array(vec![
                Reply::Array(vec![b("1-0"), b("alice"), Reply::Int(50), Reply::Int(2)]),
                Reply::Array(vec![b("2-0"), b("alice"), Reply::Int(50), Reply::Int(2)]),
                Reply::Array(vec![b("3-0"), b("bob"), Reply::Int(50), Reply::Int(1)]),
            ])
        );
        assert_eq!(t.ok(&["XPENDING", "s", "g", "IDLE", "60", "-", "+", "10"]), Reply::Array(vec![]));
        assert_eq!(
            t.ok(&["XPENDING", "s", "g", "(1-0", "+", "1", "alice"]),
            Reply::Array(vec![Reply::Array(vec![b("2-0"), b("alice"), Reply::Int(50), Reply::Int(2)])])
        );
        assert_eq!(t.err(&["XPENDING", "s", "nope"]), "NOGROUP No such key 's' or consumer group 'nope'");
        assert_eq!(t.err(&["XPENDING", "s", "g", "IDLE", "5", "-", "+"]), "ERR syntax error");
        // Acknowledge; a deleted pending entry shows as [id, nil] in history.
        assert_eq!(t.ok(&["XACK", "s", "g", "1-0", "9-9"]), Reply::Int(1));
        assert_eq!(t.err(&["XACK", "s", "g", "bad"]), "ERR Invalid stream ID specified as stream command argument");
        t.ok(&["XDEL", "s", "2-0"]);
        assert_eq!(
            t.ok(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"]),
            read("s", vec![Reply::Array(vec![b("2-0"), Reply::NilArray])])
        );
        assert_eq!(t.ok(&["XGROUP", "DELCONSUMER", "s", "g", "alice"]), Reply::Int(1));
        assert_eq!(
            t.ok(&["XPENDING", "s", "g"]).clone(),
            Reply::Array(vec![Reply::Int(1), b("3-0"), b("3-0"), Reply::Array(vec![arr(&["bob", "1"])])])
        );
    }

    #[test]
    fn noack_reads_move_the_cursor_without_pending_or_consumer() {
        let mut t = T::new();
        stream_with(&mut t, 2);
        t.ok(&["XGROUP", "CREATE", "s", "g", "0"]);
        assert_eq!(
            t.ok(&["XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "s", ">"]).clone(),
            read("s", vec![entry("1-0", &["f", "1"]), entry("2-0", &["f", "2"])])
        );
        assert_eq!(t.ok(&["XPENDING", "s", "g"]), Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]));
        assert_eq!(t.ok(&["XINFO", "CONSUMERS", "s", "g"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["XINFO", "CONSUMERS", "s", "missing"]), Reply::Array(vec![]));
    }

    #[test]
    fn xclaim_and_xautoclaim_move_idle_entries() {
        let mut t = T::new();
        stream_with(&mut t, 4);
        t.ok(&["XGROUP", "CREATE", "s", "g", "0"]);
        t.ok(&["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"]);
        t.advance(1000);
        assert_eq!(t.ok(&["XCLAIM", "s", "g", "b", "2000", "1-0"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["XCLAIM", "s", "g", "b", "500", "1-0", "2-0", "JUSTID"]), arr(&["1-0", "2-0"]));
        assert_eq!(t.err(&["XCLAIM", "s", "g", "b", "x", "1-0"]), "ERR Invalid min-idle-time argument for XCLAIM");
        assert_eq!(t.err(&["XCLAIM", "s", "g", "b", "0", "1-0", "BOGUS"]), "ERR Unrecognized XCLAIM option 'BOGUS'");
        assert_eq!(t.err(&["XCLAIM", "s", "nope", "b", "0", "1-0"]), "NOGROUP No such key 's' or consumer group 'nope'");
        // JUSTID does not count a delivery; a plain claim does.
        let ext = t.ok(&["XPENDING", "s", "g", "-", "+", "10", "b"]);
        assert_eq!(
            ext,
            Reply::Array(vec![
                Reply::Array(vec![b("1-0"), b("b"), Reply::Int(0), Reply::Int(1)]),
                Reply::Array(vec![b("2-0"), b("b"), Reply::Int(0), Reply::Int(1)]),
            ])
        );
        assert_eq!(
            t.ok(&["XCLAIM", "s", "g", "c", "0", "3-0", "RETRYCOUNT", "7", "IDLE", "30"]),
            Reply::Array(vec![entry("3-0", &["f", "3"])])
        );
        assert_eq!(
            t.ok(&["XPENDING", "s", "g", "3-0", "3-0", "1"]),
            Reply::Array(vec![Reply::Array(vec![b("3-0"), b("c"), Reply::Int(30), Reply::Int(7)])])
        );
        t.ok(&["XDEL", "s", "4-0"]);
        t.advance(10);
        assert_eq!(
            t.ok(&["XAUTOCLAIM", "s", "g", "d", "20", "0", "COUNT", "1"]),
            Reply::Array(vec![b("4-0"), Reply::Array(vec![entry("3-0", &["f", "3"])]), Reply::Array(vec![])])
        );
        assert_eq!(
            t.ok(&["XAUTOCLAIM", "s", "g", "d", "0", "4-0", "JUSTID"]),
            Reply::Array(vec![b("0-0"), Reply::Array(vec![]), arr(&["4-0"])])
        );
        assert_eq!(t.err(&["XAUTOCLAIM", "s", "g", "d", "0", "0", "COUNT", "0"]), "ERR COUNT must be > 0");
        assert_eq!(
            t.ok(&["XPENDING", "s", "g"]).clone(),
            Reply::Array(vec![Reply::Int(3), b("1-0"), b("3-0"), Reply::Array(vec![arr(&["b", "2"]), arr(&["d", "1"])]),])
        );
    }

    #[test]
    fn effects_replay_to_the_same_groups() {
        let mut t = T::new();
        let mut log: Vec<Vec<String>> = Vec::new();
        let mut run = |t: &mut T, cmd: &[&str]| {
            let (_, fx, _) = t.logged_text(cmd);
            if fx.is_empty() && !cmd[0].starts_with("XREADGROUP") && !cmd[0].starts_with("XCLAIM") && !cmd[0].starts_with("XAUTOCLAIM") {
                log.push(cmd.iter().map(|s| s.to_string()).collect());
            } else {
                log.extend(fx);
            }
        };
        for i in 1..=5 {
            run(&mut t, &["XADD", "s", &format!("{i}-0"), "f", "v"]);
        }
        run(&mut t, &["XGROUP", "CREATE", "s", "g", "$"]);
        run(&mut t, &["XGROUP", "SETID", "s", "g", "0"]);
        run(&mut t, &["XREADGROUP", "GROUP", "g", "a", "COUNT", "3", "STREAMS", "s", ">"]);
        t.advance(500);
        run(&mut t, &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "0"]);
        run(&mut t, &["XREADGROUP", "GROUP", "g", "b", "NOACK", "STREAMS", "s", ">"]);
        run(&mut t, &["XCLAIM", "s", "g", "b", "100", "2-0", "LASTID", "9-0"]);
        run(&mut t, &["XACK", "s", "g", "1-0"]);
        let mut r = replay(&log, 500);
        for probe in [&["XPENDING", "s", "g", "-", "+", "10"][..], &["XINFO", "GROUPS", "s"], &["XPENDING", "s", "g"]] {
            assert_eq!(t.ok(probe), r.ok(probe), "{probe:?} after replaying {log:?}");
        }
    }

    #[test]
    fn rewrite_rebuilds_groups_nodes_and_dangling_pending_entries() {
        let mut t = T::new();
        stream_with(&mut t, 250);
        t.ok(&["XGROUP", "CREATE", "s", "g", "0"]);
        t.ok(&["XGROUP", "CREATE", "s", "h", "$", "ENTRIESREAD", "4"]);
        t.ok(&["XGROUP", "CREATECONSUMER", "s", "h", "idle"]);
        t.ok(&["XREADGROUP", "GROUP", "g", "a", "COUNT", "120", "STREAMS", "s", ">"]);
        t.ok(&["XDEL", "s", "2-0", "150-0"]);
        // Trimming leaves pending entries whose stream entry is gone (1-0 .. 100-0), and a node
        // partly marked deleted (101-0 .. 110-0).
        assert_eq!(t.ok(&["XTRIM", "s", "MINID", "111"]), Reply::Int(109));
        t.advance(700);
        let s = t.engine.shared.ks.lock().dbs[0].map.get(&b"s"[..]).and_then(|e| match &e.value {
            crate::value::Value::Stream(s) => Some(crate::stream::Stream::clone(s)),
            _ => None,
        });
        let s = s.expect("stream");
        let cmds = super::super::streams::rewrite_commands(&bytes::Bytes::from_static(b"s"), &s);
        let mut r = T::new();
        r.advance(700);
        for c in cmds {
            r.run_bytes(c).expect("rewrite command runs");
        }
        for probe in [
            &["XPENDING", "s", "g", "-", "+", "200"][..],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "CONSUMERS", "s", "h"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XRANGE", "s", "-", "+"],
            &["XINFO", "STREAM", "s"],
            &["DUMP", "s"],
            &["XTRIM", "s", "MAXLEN", "~", "30"],
            &["XLEN", "s"],
        ] {
            assert_eq!(t.ok(probe), r.ok(probe), "{probe:?}");
        }
    }

    #[test]
    fn lag_and_entries_read() {
        let mut t = T::new();
        stream_with(&mut t, 3);
        t.ok(&["XGROUP", "CREATE", "s", "g", "0"]);
        t.ok(&["XGROUP", "CREATE", "s", "h", "$"]);
        let groups = t.ok(&["XINFO", "GROUPS", "s"]);
        let Reply::Array(gs) = groups else { panic!() };
        let fields = |g: &Reply| match g {
            Reply::Map(m) => m.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            _ => panic!(),
        };
        assert_eq!(fields(&gs[0]), vec![b("g"), Reply::Int(0), Reply::Int(0), b("0-0"), Reply::Nil, Reply::Int(3)]);
        assert_eq!(fields(&gs[1]), vec![b("h"), Reply::Int(0), Reply::Int(0), b("3-0"), Reply::Nil, Reply::Int(0)]);
        t.ok(&["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"]);
        let Reply::Array(gs) = t.ok(&["XINFO", "GROUPS", "s"]) else { panic!() };
        assert_eq!(fields(&gs[0])[4..], [Reply::Int(1), Reply::Int(2)]);
    }

    #[test]
    fn xdelex_xackdel_and_trim_policies() {
        let mut t = T::new();
        stream_with(&mut t, 4);
        t.ok(&["XGROUP", "CREATE", "s", "g1", "0"]);
        t.ok(&["XGROUP", "CREATE", "s", "g2", "0"]);
        t.ok(&["XREADGROUP", "GROUP", "g1", "c", "COUNT", "2", "STREAMS", "s", ">"]);
        assert_eq!(t.ok(&["XDELEX", "s", "ACKED", "IDS", "2", "1-0", "9-0"]), Reply::Array(vec![Reply::Int(2), Reply::Int(-1)]));
        assert_eq!(t.err(&["XDELEX", "s", "IDS", "2", "1-0"]), "ERR The `numids` parameter must match the number of arguments");
        assert_eq!(t.err(&["XDELEX", "s", "IDS", "0", "1-0"]), "ERR Number of IDs must be a positive integer");
        assert_eq!(t.err(&["XDELEX", "s", "BOGUS", "IDS", "1", "1-0"]), "ERR syntax error");
        // g2 has not read 1-0 yet: ACKED keeps it even once g1 acknowledges.
        assert_eq!(t.ok(&["XACKDEL", "s", "g1", "ACKED", "IDS", "1", "1-0"]), Reply::Array(vec![Reply::Int(2)]));
        t.ok(&["XREADGROUP", "GROUP", "g2", "c", "NOACK", "COUNT", "1", "STREAMS", "s", ">"]);
        assert_eq!(t.ok(&["XDELEX", "s", "ACKED", "IDS", "1", "1-0"]), Reply::Array(vec![Reply::Int(1)]));
        // DELREF removes g1's pending reference to 2-0 along with the entry.
        assert_eq!(t.ok(&["XDELEX", "s", "DELREF", "IDS", "1", "2-0"]), Reply::Array(vec![Reply::Int(1)]));
        assert_eq!(t.ok(&["XPENDING", "s", "g1"]), Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]));
        // ACKED trimming skips entries a group still needs (g1, g2 have not read 3-0, 4-0).
        assert_eq!(t.ok(&["XTRIM", "s", "MAXLEN", "0", "ACKED"]), Reply::Int(0));
        assert_eq!(t.ok(&["XTRIM", "s", "MAXLEN", "0", "KEEPREF"]), Reply::Int(2));
        assert_eq!(t.ok(&["XADD", "s", "DELREF", "MAXLEN", "0", "5-0", "f", "5"]), b("5-0"));
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(0));
    }
}
