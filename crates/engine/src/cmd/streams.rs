//! Stream commands (Redis `t_stream.c`): XADD, XRANGE, XREVRANGE, XLEN, XDEL, XDELEX, XTRIM,
//! XSETID and XREAD (blocking over RESP). Consumer groups are in `stream_groups.rs`, XINFO in
//! `stream_info.rs`.
//!
//! Ids the server chooses (`*`, `<ms>-*`) are logged as the explicit id, so replaying the log
//! gives the same stream. `~` trimming removes whole listpack nodes only, as Redis does (see
//! [`crate::stream`]); like Redis, it is logged as exact trimming (`=`) to what it left (the
//! length for `MAXLEN`, the first node's id for `MINID`), so replay does not depend on the node
//! settings at replay time.

use bytes::Bytes;
use stashd_resp::Protocol;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::stream::{parse_id, NodeLimits, RefPolicy, Stream, StreamId, Trim};
use crate::{Ctx, Reply};

/// Stream command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("xadd", -5, WRITE | DENYOOM | FAST, 1, 1, 1, xadd, "stream"),
    cmd!("xrange", -4, READONLY, 1, 1, 1, xrange, "stream"),
    cmd!("xrevrange", -4, READONLY, 1, 1, 1, xrevrange, "stream"),
    cmd!("xlen", 2, READONLY | FAST, 1, 1, 1, xlen, "stream"),
    cmd!("xdel", -3, WRITE | FAST, 1, 1, 1, xdel, "stream"),
    cmd!("xdelex", -5, WRITE | FAST, 1, 1, 1, xdelex, "stream"),
    cmd!("xtrim", -4, WRITE, 1, 1, 1, xtrim, "stream"),
    cmd!("xsetid", -3, WRITE | DENYOOM | FAST, 1, 1, 1, xsetid, "stream"),
    cmd!("xread", -4, READONLY | BLOCKING, 0, 0, 0, xread, "stream"),
];

pub(crate) fn invalid_id() -> CmdError {
    CmdError::err("Invalid stream ID specified as stream command argument")
}

/// `KEEPREF`, `DELREF` or `ACKED`, if `arg` is one.
pub(crate) fn ref_policy(arg: &[u8]) -> Option<RefPolicy> {
    if is(arg, "KEEPREF") {
        Some(RefPolicy::KeepRef)
    } else if is(arg, "DELREF") {
        Some(RefPolicy::DelRef)
    } else if is(arg, "ACKED") {
        Some(RefPolicy::Acked)
    } else {
        None
    }
}

/// `[KEEPREF|DELREF|ACKED] IDS numids id ...` starting at `a[i]` (XDELEX, XACKDEL).
pub(crate) fn policy_and_ids(a: &[Bytes], i: usize) -> CmdResult<(RefPolicy, Vec<StreamId>)> {
    match ref_policy(&a[i]) {
        Some(p) => Ok((p, ids_block(a, i + 1)?)),
        None => Ok((RefPolicy::KeepRef, ids_block(a, i)?)),
    }
}

/// `IDS numids id ...` starting at `a[i]`, to the end of the arguments.
pub(crate) fn ids_block(a: &[Bytes], i: usize) -> CmdResult<Vec<StreamId>> {
    if !a.get(i).is_some_and(|t| is(t, "IDS")) {
        return Err(CmdError::Syntax);
    }
    let n = a.get(i + 1).ok_or(CmdError::Syntax)?;
    let n = int(n).ok().filter(|n| *n > 0).ok_or_else(|| CmdError::err("Number of IDs must be a positive integer"))?;
    let ids = &a[i + 2..];
    if n as usize != ids.len() {
        return Err(CmdError::err("The `numids` parameter must match the number of arguments"));
    }
    ids.iter().map(|x| strict_id(x, 0)).collect()
}

/// A complete id: `<ms>-<seq>`, or `<ms>` with `missing_seq` as the sequence.
pub(crate) fn strict_id(arg: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    let spec = parse_id(arg, false).ok_or_else(invalid_id)?;
    Ok(StreamId::new(spec.ms, spec.seq.unwrap_or(missing_seq)))
}

/// A parsed `MAXLEN|MINID [=|~] threshold [LIMIT count]` clause.
#[derive(Debug, Clone, Copy)]
struct TrimArgs {
    how: Trim,
    /// `~`: whole nodes only.
    approx: bool,
    /// Entries removed at most (0 = no cap): `LIMIT`, else 100 nodes' worth for `~`.
    limit: u64,
    /// Where the clause starts and ends in the arguments.
    span: (usize, usize),
}

/// The node settings in force (`stream-node-max-entries`, `stream-node-max-bytes`).
pub(crate) fn node_limits(ctx: &Ctx) -> NodeLimits {
    let c = ctx.shared.config.read();
    NodeLimits { max_entries: c.stream_node_max_entries, max_bytes: c.stream_node_max_bytes }
}

/// `MAXLEN|MINID [=|~] threshold [LIMIT count]` starting at `a[i]`, or `None` if `a[i]` does
/// not start one. `~` without `LIMIT` caps the work at 100 nodes (Redis's default).
fn parse_trim(a: &[Bytes], i: usize, limits: NodeLimits) -> CmdResult<Option<TrimArgs>> {
    let maxlen = is(&a[i], "MAXLEN");
    if !maxlen && !is(&a[i], "MINID") {
        return Ok(None);
    }
    let mut j = i + 1;
    let mut approx = false;
    if a.get(j).is_some_and(|t| &t[..] == b"~" || &t[..] == b"=") {
        approx = &a[j][..] == b"~";
        j += 1;
    }
    let threshold = a.get(j).ok_or(CmdError::Syntax)?;
    let how = if maxlen {
        let n = int(threshold)?;
        if n < 0 {
            return Err(CmdError::err("The MAXLEN argument must be >= 0."));
        }
        Trim::MaxLen(n as u64)
    } else {
        Trim::MinId(strict_id(threshold, 0)?)
    };
    j += 1;
    let mut limit = None;
    if a.get(j).is_some_and(|t| is(t, "LIMIT")) {
        let n = int(a.get(j + 1).ok_or(CmdError::Syntax)?)?;
        if n < 0 {
            return Err(CmdError::err("The LIMIT argument must be >= 0."));
        }
        if !approx {
            return Err(CmdError::err("syntax error, LIMIT cannot be used without the special ~ option"));
        }
        limit = Some(n as u64);
        j += 2;
    }
    let limit = match limit {
        Some(n) => n,
        None if approx => match limits.max_entries.saturating_mul(100) {
            0 => 10_000,
            n => n.min(1_000_000),
        },
        None => 0,
    };
    Ok(Some(TrimArgs { how, approx, limit, span: (i, j) }))
}

/// The exact clause a `~` trim is logged as: what it left, so replay removes the same nodes.
fn exact_trim_clause(s: &Stream, how: Trim) -> [Bytes; 3] {
    match how {
        Trim::MaxLen(_) => [lit("MAXLEN"), lit("="), args::int_bytes(s.len() as i64)],
        Trim::MinId(_) => {
            let first = s.nodes.first_key_value().map_or(StreamId::MAX, |(k, _)| *k);
            [lit("MINID"), lit("="), first.to_bytes()]
        }
    }
}

/// `args` with the trim clause at `span` replaced by `clause`.
fn with_clause(args: &[Bytes], span: (usize, usize), clause: [Bytes; 3]) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(args.len());
    out.extend_from_slice(&args[..span.0]);
    out.extend(clause);
    out.extend_from_slice(&args[span.1..]);
    out
}

/// `XADD key [NOMKSTREAM] [KEEPREF|DELREF|ACKED] [MAXLEN|MINID [=|~] threshold [LIMIT count]]
/// <*|id> field value ...`
fn xadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let limits = node_limits(ctx);
    let mut i = 2;
    let mut nomkstream = false;
    let mut trim = None;
    let mut policy = RefPolicy::KeepRef;
    loop {
        let arg = a.get(i).ok_or_else(|| CmdError::WrongArgs("xadd".into()))?;
        if is(arg, "NOMKSTREAM") {
            nomkstream = true;
            i += 1;
        } else if let Some(p) = ref_policy(arg) {
            policy = p;
            i += 1;
        } else if let Some(t) = parse_trim(a, i, limits)? {
            i = t.span.1;
            trim = Some(t);
        } else {
            break;
        }
    }
    let id_pos = i;
    let fields = &a[id_pos + 1..];
    if fields.is_empty() || !fields.len().is_multiple_of(2) {
        return Err(CmdError::WrongArgs("xadd".into()));
    }
    let wanted = if &a[id_pos][..] == b"*" { None } else { Some(parse_id(&a[id_pos], true).ok_or_else(invalid_id)?) };
    if let Some(w) = wanted {
        if !w.seq_auto && w.ms == 0 && w.seq.unwrap_or(0) == 0 {
            return Err(CmdError::err("The ID specified in XADD must be greater than 0-0"));
        }
    }
    if nomkstream && ctx.get_stream(&a[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    let now = ctx.now;
    let s = ctx.stream_or_create(&a[1])?;
    // Whatever the id, a stream at the last possible id takes nothing more (Redis checks this
    // before looking at the id).
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err("The stream has exhausted the last possible ID, unable to add more items"));
    }
    let too_small = || CmdError::err("The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match wanted {
        None => s.next_id(now, false).ok_or_else(too_small)?,
        Some(w) if w.seq_auto => s.next_id(w.ms, true).ok_or_else(too_small)?,
        Some(w) => {
            let id = StreamId::new(w.ms, w.seq.unwrap_or(0));
            if id <= s.last_id {
                return Err(too_small());
            }
            id
        }
    };
    s.add(id, fields.to_vec(), limits);
    let mut logged = a.to_vec();
    logged[id_pos] = id.to_bytes();
    if let Some(t) = trim {
        s.trim(t.how, t.approx, t.limit, policy);
        if t.approx && policy != RefPolicy::Acked {
            logged = with_clause(&logged, t.span, exact_trim_clause(s, t.how));
        }
    }
    ctx.dirty(1);
    ctx.propagate(logged);
    Ok(Reply::Bulk(id.to_bytes()))
}

/// One entry as Redis replies it: `[id, [field, value, ...]]`.
pub(crate) fn entry_reply(id: StreamId, fields: &[Bytes]) -> Reply {
    Reply::Array(vec![Reply::Bulk(id.to_bytes()), Reply::Array(fields.iter().cloned().map(Reply::Bulk).collect())])
}

/// A range bound: `-`, `+`, `<ms>[-<seq>]`, or `(<id>` (exclusive).
fn range_bound(arg: &[u8], start: bool) -> CmdResult<StreamId> {
    match arg {
        b"-" => return Ok(StreamId::MIN),
        b"+" => return Ok(StreamId::MAX),
        _ => {}
    }
    let missing_seq = if start { 0 } else { u64::MAX };
    match arg.strip_prefix(b"(") {
        Some(rest) => {
            let id = strict_id(rest, missing_seq)?;
            let stepped = if start { id.next() } else { id.prev() };
            stepped.ok_or_else(|| CmdError::err(format!("invalid {} ID for the interval", if start { "start" } else { "end" })))
        }
        None => strict_id(arg, missing_seq),
    }
}

fn range_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let start = range_bound(start_arg, true)?;
    let end = range_bound(end_arg, false)?;
    let mut count: Option<i64> = None;
    let mut i = 4;
    while i < a.len() {
        if is(&a[i], "COUNT") && i + 1 < a.len() {
            count = Some(int(&a[i + 1])?.max(0));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = ctx.get_stream(&a[1])? else { return Ok(Reply::Array(Vec::new())) };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    let entries = s.range(start, end, count.map(|c| c as usize), rev);
    Ok(Reply::Array(entries.into_iter().map(|(id, f)| entry_reply(id, f)).collect()))
}

fn xrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_generic(ctx, a, false)
}

fn xrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_generic(ctx, a, true)
}

fn xlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_stream(&a[1])?.map_or(0, |s| s.len() as i64)))
}

fn xdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // A missing key deletes nothing, before the ids are even checked (as Redis).
    if ctx.get_stream(&a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    count_applied(ctx, &a[1], &a[2..], |s, id| s.delete(id))
}

/// XDEL and XACK: parses every id first (one bad id changes nothing), applies `apply` to each on
/// the stream at `key`, and answers how many it applied to, marking that many changes.
pub(crate) fn count_applied(ctx: &mut Ctx, key: &[u8], ids: &[Bytes], mut apply: impl FnMut(&mut Stream, StreamId) -> bool) -> CmdResult {
    let ids = ids.iter().map(|x| strict_id(x, 0)).collect::<CmdResult<Vec<_>>>()?;
    let Some(s) = ctx.get_stream_mut(key)? else { return Ok(Reply::Int(0)) };
    let n = ids.into_iter().filter(|id| apply(s, *id)).count();
    if n > 0 {
        ctx.dirty(n as u64);
    }
    Ok(Reply::Int(n as i64))
}

/// `XDELEX key [KEEPREF|DELREF|ACKED] IDS numids id ...`: per id -1 (no such entry), 1
/// (deleted) or 2 (kept: some group still needs it, under ACKED).
fn xdelex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (policy, ids) = policy_and_ids(a, 2)?;
    let Some(s) = ctx.get_stream_mut(&a[1])? else {
        return Ok(Reply::Array(ids.iter().map(|_| Reply::Int(-1)).collect()));
    };
    let mut out = Vec::with_capacity(ids.len());
    let mut deleted = 0;
    for id in ids {
        out.push(Reply::Int(delete_with_policy(s, id, policy)));
        if matches!(out.last(), Some(Reply::Int(1))) {
            deleted += 1;
        }
    }
    if deleted > 0 {
        ctx.dirty(deleted);
    }
    Ok(Reply::Array(out))
}

/// Deletes entry `id` under `policy`: -1 if there is no such entry, 2 if `ACKED` keeps it,
/// 1 if deleted.
pub(crate) fn delete_with_policy(s: &mut Stream, id: StreamId, policy: RefPolicy) -> i64 {
    if !s.entries.contains_key(&id) {
        return -1;
    }
    if policy == RefPolicy::Acked && s.referenced(id) {
        return 2;
    }
    s.delete(id);
    if policy == RefPolicy::DelRef {
        s.forget(id);
    }
    1
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] [KEEPREF|DELREF|ACKED]`.
fn xtrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let limits = node_limits(ctx);
    let t = parse_trim(a, 2, limits)?.ok_or(CmdError::Syntax)?;
    let mut next = t.span.1;
    let mut policy = RefPolicy::KeepRef;
    while next < a.len() {
        policy = ref_policy(&a[next]).ok_or(CmdError::Syntax)?;
        next += 1;
    }
    let Some(s) = ctx.get_stream_mut(&a[1])? else { return Ok(Reply::Int(0)) };
    let n = s.trim(t.how, t.approx, t.limit, policy);
    if n > 0 {
        if t.approx && policy != RefPolicy::Acked {
            let logged = with_clause(a, t.span, exact_trim_clause(s, t.how));
            ctx.propagate(logged);
        }
        ctx.dirty(n);
    }
    Ok(Reply::Int(n as i64))
}

/// `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]`.
fn xsetid(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = strict_id(&a[2], 0)?;
    let (mut added, mut max_deleted) = (None, None);
    let mut i = 3;
    while i < a.len() {
        match a.get(i + 1) {
            Some(v) if is(&a[i], "ENTRIESADDED") => {
                let n = int(v)?;
                if n < 0 {
                    return Err(CmdError::err("entries_added must be positive"));
                }
                added = Some(n as u64);
            }
            Some(v) if is(&a[i], "MAXDELETEDID") => max_deleted = Some(strict_id(v, 0)?),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    if max_deleted.is_some_and(|m| id < m) {
        return Err(CmdError::err("The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
    }
    let Some(s) = ctx.get_stream_mut(&a[1])? else { return Err(CmdError::NoSuchKey) };
    if added.is_some_and(|n| n < s.len() as u64) {
        return Err(CmdError::err("The entries_added specified in XSETID is smaller than the target stream length"));
    }
    if s.entries.last_key_value().is_some_and(|(top, _)| id < *top) {
        return Err(CmdError::err("The ID specified in XSETID is smaller than the target stream top item"));
    }
    s.last_id = id;
    if let Some(n) = added {
        s.entries_added = n;
    }
    if let Some(m) = max_deleted {
        s.max_deleted_id = m;
    }
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// The parsed options of XREAD and XREADGROUP.
pub(crate) struct ReadArgs<'a> {
    /// `COUNT` (0 = no limit).
    pub count: usize,
    /// `BLOCK` timeout in ms.
    pub block: Option<u64>,
    /// `GROUP group consumer` (XREADGROUP).
    pub group: Option<(&'a Bytes, &'a Bytes)>,
    /// `NOACK` (XREADGROUP).
    pub noack: bool,
    /// The stream keys.
    pub keys: &'a [Bytes],
    /// One id argument per key.
    pub ids: &'a [Bytes],
}

/// Parses `[GROUP g c] [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...` as Redis's
/// `xreadCommand` does, with its errors.
pub(crate) fn parse_read(a: &[Bytes], xreadgroup: bool) -> CmdResult<ReadArgs<'_>> {
    let mut r = ReadArgs { count: 0, block: None, group: None, noack: false, keys: &[], ids: &[] };
    let mut streams_at = None;
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        let arg = &a[i];
        if is(arg, "BLOCK") && more > 0 {
            i += 1;
            let ms = int(&a[i]).map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::NegativeTimeout);
            }
            r.block = Some(ms as u64);
        } else if is(arg, "COUNT") && more > 0 {
            i += 1;
            r.count = int(&a[i])?.max(0) as usize;
        } else if is(arg, "STREAMS") && more > 0 {
            let rest = &a[i + 1..];
            if !rest.len().is_multiple_of(2) {
                let (name, symbol) = if xreadgroup { ("xreadgroup", '>') } else { ("xread", '$') };
                return Err(CmdError::err(format!(
                    "Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                )));
            }
            streams_at = Some(i + 1);
            break;
        } else if is(arg, "GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::err("The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
            }
            r.group = Some((&a[i + 1], &a[i + 2]));
            i += 2;
        } else if is(arg, "NOACK") {
            if !xreadgroup {
                return Err(CmdError::err("The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else { return Err(CmdError::Syntax) };
    if xreadgroup && r.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let rest = &a[at..];
    let (keys, ids) = rest.split_at(rest.len() / 2);
    r.keys = keys;
    r.ids = ids;
    Ok(r)
}

/// The reply of XREAD/XREADGROUP: per stream `[key, entries]` (RESP2) or a map (RESP3).
pub(crate) fn read_reply(ctx: &Ctx, found: Vec<(Bytes, Reply)>) -> Reply {
    match ctx.session.protocol {
        Protocol::Resp3 => Reply::Map(found.into_iter().map(|(k, v)| (Reply::Bulk(k), v)).collect()),
        Protocol::Resp2 => Reply::Array(found.into_iter().map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v])).collect()),
    }
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...`.
fn xread(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let r = parse_read(a, false)?;
    let (keys, count, block) = (r.keys, r.count, r.block);
    // Resolve every id first (`$` = the stream's last id now), so errors change nothing.
    let mut after = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(r.ids) {
        let stream = ctx.get_stream(key)?;
        let id = match &arg[..] {
            b"$" => stream.map_or(StreamId::MIN, |s| s.last_id),
            b"+" => match stream.and_then(|s| s.entries.last_key_value()) {
                Some((top, _)) => top.prev().unwrap_or(StreamId::MIN),
                None => stream.map_or(StreamId::MIN, |s| s.last_id),
            },
            b">" => {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ))
            }
            _ => strict_id(arg, 0)?,
        };
        after.push(id);
    }
    let limit = if count == 0 { None } else { Some(count) };
    let mut found: Vec<(Bytes, Reply)> = Vec::new();
    for (key, id) in keys.iter().zip(&after) {
        let Some(s) = ctx.get_stream(key)? else { continue };
        let Some(start) = id.next() else { continue };
        let entries = s.range(start, StreamId::MAX, limit, false);
        if !entries.is_empty() {
            found.push((key.clone(), Reply::Array(entries.into_iter().map(|(id, f)| entry_reply(id, f)).collect())));
        }
    }
    if found.is_empty() {
        if let Some(timeout) = block {
            // Wait for new entries after the ids resolved now (`$` must not move on retries).
            let mut rerun = vec![lit("XREAD")];
            if count > 0 {
                rerun.extend([lit("COUNT"), args::int_bytes(count as i64)]);
            }
            rerun.extend([lit("BLOCK"), args::int_bytes(timeout as i64), lit("STREAMS")]);
            rerun.extend(keys.iter().cloned());
            rerun.extend(after.iter().map(|id| id.to_bytes()));
            ctx.block_on_rerun(keys.to_vec(), timeout, rerun);
        }
        return Ok(Reply::NilArray);
    }
    Ok(read_reply(ctx, found))
}

/// Rebuild commands for a stream in a log rewrite: one `RESTORE key 0 payload` of its full
/// serialization ([`crate::rdb::dump_stream_exact`]), which keeps what commands could not
/// rebuild: the listpack node layout with its deleted entries (so later `~` trims match),
/// pending entries whose stream entry is gone, and consumers' seen and active times.
pub fn rewrite_commands(key: &Bytes, s: &Stream) -> Vec<Vec<Bytes>> {
    vec![vec![lit("RESTORE"), key.clone(), lit("0"), Bytes::from(crate::rdb::dump_stream_exact(s))]]
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T};
    use crate::Reply;

    fn entry(id: &str, fields: &[&str]) -> Reply {
        Reply::Array(vec![b(id), arr(fields)])
    }

    #[test]
    fn xadd_ids_trim_and_ranges() {
        let mut t = T::new();
        assert_eq!(t.ok(&["XADD", "s", "1-1", "a", "1"]), b("1-1"));
        assert_eq!(t.ok(&["XADD", "s", "1-*", "b", "2"]), b("1-2"));
        assert_eq!(t.ok(&["XADD", "s", "5", "c", "3"]), b("5-0"));
        for (cmd, e) in [
            (&["XADD", "s", "5-0", "d", "4"][..], "ERR The ID specified in XADD is equal or smaller than the target stream top item"),
            (&["XADD", "s", "4-*", "d", "4"], "ERR The ID specified in XADD is equal or smaller than the target stream top item"),
            (&["XADD", "s", "0-0", "d", "4"], "ERR The ID specified in XADD must be greater than 0-0"),
            (&["XADD", "s", "1-x", "d", "4"], "ERR Invalid stream ID specified as stream command argument"),
            (&["XADD", "s", "*", "d"], "ERR wrong number of arguments for 'xadd' command"),
            (&["XADD", "s", "MAXLEN", "-1", "*", "d", "4"], "ERR The MAXLEN argument must be >= 0."),
            (
                &["XADD", "s", "MAXLEN", "2", "LIMIT", "1", "*", "d", "4"],
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ),
            (&["XRANGE", "s", "(-", "+"], "ERR Invalid stream ID specified as stream command argument"),
            (&["XRANGE", "s", "-", "+", "LIMIT", "1"], "ERR syntax error"),
        ] {
            assert_eq!(t.err(cmd), e, "{cmd:?}");
        }
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(3));
        assert_eq!(t.ok(&["XRANGE", "s", "(1-1", "+", "COUNT", "1"]), Reply::Array(vec![entry("1-2", &["b", "2"])]));
        assert_eq!(t.ok(&["XRANGE", "s", "1", "1"]), Reply::Array(vec![entry("1-1", &["a", "1"]), entry("1-2", &["b", "2"])]));
        assert_eq!(t.ok(&["XREVRANGE", "s", "+", "-", "COUNT", "1"]), Reply::Array(vec![entry("5-0", &["c", "3"])]));
        assert_eq!(t.ok(&["XRANGE", "s", "-", "+", "COUNT", "0"]), Reply::NilArray);
        assert_eq!(t.ok(&["XADD", "s", "MAXLEN", "=", "2", "9-0", "e", "5"]), b("9-0"));
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(2));
        assert_eq!(t.ok(&["XDEL", "s", "5-0", "7-0"]), Reply::Int(1));
        assert_eq!(t.ok(&["XTRIM", "s", "MINID", "10"]), Reply::Int(1));
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(0));
        assert_eq!(t.ok(&["TYPE", "s"]), Reply::status("stream"));
        assert_eq!(
            t.err(&["XADD", "s", "9-0", "f", "6"]),
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        );
        assert_eq!(t.ok(&["XADD", "nos", "NOMKSTREAM", "*", "f", "6"]), Reply::Nil);
        assert_eq!(t.ok(&["EXISTS", "nos"]), Reply::Int(0));
        assert_eq!(t.ok(&["SET", "str", "v"]), Reply::Ok);
        assert!(t.err(&["XADD", "str", "*", "f", "v"]).starts_with("WRONGTYPE"));
    }

    #[test]
    fn generated_ids_are_logged_explicitly() {
        let mut t = T::new();
        let (r, fx, _) = t.logged_text(&["XADD", "s", "MAXLEN", "~", "5", "*", "f", "v"]);
        assert_eq!(r, b("1700000000000-0"));
        // `~` trimming is logged as the exact trim to what it left.
        assert_eq!(fx, vec![vec!["XADD", "s", "MAXLEN", "=", "1", "1700000000000-0", "f", "v"]]);
        let (r, _, _) = t.logged_text(&["XADD", "s", "*", "f", "v"]);
        assert_eq!(r, b("1700000000000-1"));
    }

    #[test]
    fn approximate_trims_follow_redis_nodes_and_log_exactly() {
        let mut t = T::new();
        for i in 1..=111 {
            t.ok(&["XADD", "s", &format!("{i}-0"), "f", "v"]);
        }
        // The first node holds 100 entries: removing it would leave 12 < 30.
        let (r, fx, _) = t.logged_text(&["XADD", "s", "MAXLEN", "~", "30", "112-0", "f", "v"]);
        assert_eq!(r, b("112-0"));
        assert_eq!(fx, vec![vec!["XADD", "s", "MAXLEN", "=", "112", "112-0", "f", "v"]]);
        assert_eq!(t.ok(&["XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "99"]), Reply::Int(0));
        let (r, fx, _) = t.logged_text(&["XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "100"]);
        assert_eq!(r, Reply::Int(100));
        assert_eq!(fx, vec![vec!["XTRIM", "s", "MAXLEN", "=", "12"]]);
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(12));
        assert_eq!(t.ok(&["XTRIM", "s", "MINID", "~", "200"]), Reply::Int(12));
        let (_, fx, _) = t.logged_text(&["XADD", "s", "MINID", "~", "0", "300-0", "f", "v"]);
        assert_eq!(fx, vec![vec!["XADD", "s", "MINID", "=", "300-0", "300-0", "f", "v"]]);
        // The node settings are the config parameters.
        assert_eq!(t.ok(&["CONFIG", "SET", "stream-node-max-entries", "5"]), Reply::Ok);
        for i in 301..=310 {
            t.ok(&["XADD", "s", &format!("{i}-0"), "f", "v"]);
        }
        assert_eq!(t.ok(&["XTRIM", "s", "MAXLEN", "~", "4"]), Reply::Int(5));
        assert_eq!(t.ok(&["XLEN", "s"]), Reply::Int(6));
    }

    #[test]
    fn xadd_at_the_id_limits() {
        let mut t = T::new();
        t.ok(&["XADD", "s", "5-18446744073709551615", "f", "v"]);
        assert_eq!(
            t.err(&["XADD", "s", "5-*", "f", "v"]),
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        );
        assert_eq!(t.ok(&["XADD", "s", "6-*", "f", "v"]), b("6-0"));
        t.ok(&["XADD", "m", "18446744073709551615-18446744073709551615", "f", "v"]);
        for id in ["*", "18446744073709551615-*", "1-1"] {
            assert_eq!(
                t.err(&["XADD", "m", id, "f", "v"]),
                "ERR The stream has exhausted the last possible ID, unable to add more items",
                "{id}"
            );
        }
        assert_eq!(t.ok(&["XLEN", "m"]), Reply::Int(1));
    }

    #[test]
    fn xread_reads_after_ids_and_resolves_dollar_for_blocking() {
        let mut t = T::new();
        t.ok(&["XADD", "a", "1-0", "f", "1"]);
        t.ok(&["XADD", "a", "2-0", "f", "2"]);
        let r = t.ok(&["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"]);
        assert_eq!(r, Reply::Array(vec![Reply::Array(vec![b("a"), Reply::Array(vec![entry("1-0", &["f", "1"])])])]));
        assert_eq!(
            t.ok(&["XREAD", "STREAMS", "a", "+"]),
            Reply::Array(vec![Reply::Array(vec![b("a"), Reply::Array(vec![entry("2-0", &["f", "2"])])])])
        );
        assert_eq!(t.ok(&["XREAD", "STREAMS", "a", "$"]), Reply::NilArray);
        assert_eq!(
            t.err(&["XREAD", "STREAMS", "a", "b", "0"]),
            "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
        );
        let args: Vec<bytes::Bytes> = ["XREAD", "BLOCK", "0", "STREAMS", "a", "$"].iter().map(|s| bytes::Bytes::from(*s)).collect();
        match t.engine.execute(&mut t.session, args) {
            crate::Outcome::Blocked { args, .. } => {
                assert_eq!(
                    args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>(),
                    ["XREAD", "BLOCK", "0", "STREAMS", "a", "2-0"]
                );
            }
            other => panic!("expected to block, got {other:?}"),
        }
    }
}
