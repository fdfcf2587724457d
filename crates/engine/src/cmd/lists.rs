//! List commands (Redis `t_list.c`), including the blocking forms.
//!
//! Blocking commands first try to serve like their non-blocking twin; if nothing is available they
//! call [`Ctx::block_on`] and return the timeout reply. When they do serve, they log the equivalent
//! non-blocking command so that replaying the log is deterministic.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// List command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("lpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, lpush, "list"),
    cmd!("rpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, rpush, "list"),
    cmd!("lpushx", -3, WRITE | DENYOOM | FAST, 1, 1, 1, lpushx, "list"),
    cmd!("rpushx", -3, WRITE | DENYOOM | FAST, 1, 1, 1, rpushx, "list"),
    cmd!("lpop", -2, WRITE | FAST, 1, 1, 1, lpop, "list"),
    cmd!("rpop", -2, WRITE | FAST, 1, 1, 1, rpop, "list"),
    cmd!("llen", 2, READONLY | FAST, 1, 1, 1, llen, "list"),
    cmd!("lindex", 3, READONLY, 1, 1, 1, lindex, "list"),
    cmd!("lset", 4, WRITE | DENYOOM, 1, 1, 1, lset, "list"),
    cmd!("lrange", 4, READONLY, 1, 1, 1, lrange, "list"),
    cmd!("ltrim", 4, WRITE, 1, 1, 1, ltrim, "list"),
    cmd!("lrem", 4, WRITE, 1, 1, 1, lrem, "list"),
    cmd!("linsert", 5, WRITE | DENYOOM, 1, 1, 1, linsert, "list"),
    cmd!("lpos", -3, READONLY, 1, 1, 1, lpos, "list"),
    cmd!("lmove", 5, WRITE | DENYOOM, 1, 2, 1, lmove, "list"),
    cmd!("rpoplpush", 3, WRITE | DENYOOM, 1, 2, 1, rpoplpush, "list"),
    cmd!("lmpop", -4, WRITE, 0, 0, 0, lmpop, "list"),
    cmd!("blpop", -3, WRITE | BLOCKING, 1, -2, 1, blpop, "list"),
    cmd!("brpop", -3, WRITE | BLOCKING, 1, -2, 1, brpop, "list"),
    cmd!("blmove", 6, WRITE | DENYOOM | BLOCKING, 1, 2, 1, blmove, "list"),
    cmd!("brpoplpush", 4, WRITE | DENYOOM | BLOCKING, 1, 2, 1, brpoplpush, "list"),
    cmd!("blmpop", -5, WRITE | BLOCKING, 0, 0, 0, blmpop, "list"),
];

// ---------------------------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------------------------

/// Redis's `getRangeLongFromObjectOrReply` with a message: non-integers and values below `min`
/// both fail with `ERR <msg>`.
fn long_at_least(arg: &[u8], min: i64, msg: &str) -> CmdResult<i64> {
    match int(arg) {
        Ok(v) if v >= min => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// A non-negative count (`ERR value is out of range, must be positive` otherwise).
fn positive_count(arg: &[u8]) -> CmdResult<usize> {
    let v = long_at_least(arg, 0, "value is out of range, must be positive")?;
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

/// `LEFT` → true, `RIGHT` → false, anything else is a syntax error.
fn side(arg: &[u8]) -> CmdResult<bool> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The keyword naming a side, for logged commands.
fn side_name(left: bool) -> Bytes {
    lit(if left { "LEFT" } else { "RIGHT" })
}

/// The non-blocking pop that reproduces a pop from `left`/right.
fn pop_name(left: bool) -> Bytes {
    lit(if left { "LPOP" } else { "RPOP" })
}

/// Parses a blocking timeout in seconds (a float, 0 = forever) into ms, as Redis does.
fn timeout_ms(arg: &[u8]) -> CmdResult<u64> {
    let secs = args::parse_float(arg).ok_or(CmdError::BadTimeout)?;
    let ms = (secs * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(CmdError::NegativeTimeout);
    }
    Ok(ms as u64)
}

/// Resolves a possibly negative index against `len`.
fn resolve_index(idx: i64, len: usize) -> Option<usize> {
    let i = if idx < 0 { (len as i64).checked_add(idx)? } else { idx };
    (0..len as i64).contains(&i).then_some(i as usize)
}

// ---------------------------------------------------------------------------------------------
// Shared building blocks
// ---------------------------------------------------------------------------------------------

/// Pushes `elems` on the head (`left`) or tail of the list at `key` and returns its new length.
/// With `only_existing` a missing key is left alone and 0 is returned.
fn push_generic(ctx: &mut Ctx, key: &[u8], elems: &[Bytes], left: bool, only_existing: bool) -> CmdResult<usize> {
    if only_existing && ctx.get_list_mut(key)?.is_none() {
        return Ok(0);
    }
    let list = ctx.list_or_create(key)?;
    for e in elems {
        if left {
            list.push_front(e.clone());
        } else {
            list.push_back(e.clone());
        }
    }
    let len = list.len();
    ctx.dirty(elems.len() as u64);
    Ok(len)
}

/// Pops up to `n` elements (in pop order) from the head (`left`) or tail of the list at `key`.
/// `None` if the key is missing or empty. Counts the change and deletes the emptied key.
fn pop_n(ctx: &mut Ctx, key: &[u8], left: bool, n: usize) -> CmdResult<Option<Vec<Bytes>>> {
    let Some(list) = ctx.get_list_mut(key)? else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let k = n.min(list.len());
    let out: Vec<Bytes> = if left { list.drain(..k).collect() } else { (0..k).filter_map(|_| list.pop_back()).collect() };
    if k > 0 {
        ctx.dirty(k as u64);
    }
    ctx.delete_if_empty(key);
    Ok(Some(out))
}

/// Pops up to `n` elements from the first non-empty list among `keys`; WRONGTYPE stops the scan.
fn pop_first(ctx: &mut Ctx, keys: &[Bytes], left: bool, n: usize) -> CmdResult<Option<(Bytes, Vec<Bytes>)>> {
    for k in keys {
        if let Some(v) = pop_n(ctx, k, left, n)? {
            return Ok(Some((k.clone(), v)));
        }
    }
    Ok(None)
}

/// Moves one element from `src` to `dst` (rotating when they are the same key). `None` if `src`
/// is missing or empty. `dst` is type-checked before anything is popped.
fn move_one(ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> CmdResult<Option<Bytes>> {
    if ctx.get_list_mut(src)?.is_none_or(|l| l.is_empty()) {
        return Ok(None);
    }
    ctx.get_list_mut(dst)?;
    let popped = ctx.get_list_mut(src)?.and_then(|l| if from_left { l.pop_front() } else { l.pop_back() });
    let Some(v) = popped else {
        return Ok(None);
    };
    let d = ctx.list_or_create(dst)?;
    if to_left {
        d.push_front(v.clone());
    } else {
        d.push_back(v.clone());
    }
    ctx.delete_if_empty(src);
    ctx.dirty(1);
    Ok(Some(v))
}

/// Parsed `numkeys key [key ...] LEFT|RIGHT [COUNT n]` of LMPOP/BLMPOP.
struct MpopArgs<'a> {
    keys: &'a [Bytes],
    left: bool,
    count: usize,
}

/// Parses the LMPOP form whose `numkeys` is at `a[idx]`.
fn parse_mpop(a: &[Bytes], idx: usize) -> CmdResult<MpopArgs<'_>> {
    let numkeys = long_at_least(&a[idx], 1, "numkeys should be greater than 0")?;
    let avail = a.len().saturating_sub(idx + 1);
    if numkeys as u64 >= avail as u64 {
        return Err(CmdError::Syntax);
    }
    let n = numkeys as usize;
    let keys = &a[idx + 1..idx + 1 + n];
    let left = side(&a[idx + 1 + n])?;
    let mut count = None;
    let mut i = idx + 2 + n;
    while i < a.len() {
        if count.is_none() && is(&a[i], "COUNT") && i + 1 < a.len() {
            let c = long_at_least(&a[i + 1], 1, "count should be greater than 0")?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs { keys, left, count: count.unwrap_or(1) })
}

/// Serves an LMPOP/BLMPOP: pops from the first non-empty list, signals it and logs `[LR]POP key n`.
fn mpop_serve(ctx: &mut Ctx, m: &MpopArgs) -> CmdResult<Option<Reply>> {
    let Some((key, vals)) = pop_first(ctx, m.keys, m.left, m.count)? else {
        return Ok(None);
    };
    ctx.signal(&key);
    ctx.propagate(vec![pop_name(m.left), key.clone(), args::int_bytes(vals.len() as i64)]);
    Ok(Some(Reply::Array(vec![Reply::Bulk(key), Reply::bulks(vals)])))
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

fn lpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(push_generic(ctx, &a[1], &a[2..], true, false)? as i64))
}

fn rpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(push_generic(ctx, &a[1], &a[2..], false, false)? as i64))
}

fn lpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(push_generic(ctx, &a[1], &a[2..], true, true)? as i64))
}

fn rpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(push_generic(ctx, &a[1], &a[2..], false, true)? as i64))
}

/// LPOP/RPOP `key [count]`.
fn pop_cmd(ctx: &mut Ctx, a: &[Bytes], left: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::WrongArgs(args::text(&a[0]).to_ascii_lowercase()));
    }
    match a.get(2) {
        None => Ok(Reply::opt_bulk(pop_n(ctx, &a[1], left, 1)?.and_then(|v| v.into_iter().next()))),
        Some(c) => {
            let n = positive_count(c)?;
            Ok(pop_n(ctx, &a[1], left, n)?.map_or(Reply::NilArray, Reply::bulks))
        }
    }
}

fn lpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop_cmd(ctx, a, true)
}

fn rpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop_cmd(ctx, a, false)
}

fn llen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_list(&a[1])?.map_or(0, |l| l.len() as i64)))
}

fn lindex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(list) = ctx.get_list(&a[1])? else {
        return Ok(Reply::Nil);
    };
    let idx = int(&a[2])?;
    Ok(Reply::opt_bulk(resolve_index(idx, list.len()).and_then(|i| list.get(i)).cloned()))
}

fn lset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(list) = ctx.get_list_mut(&a[1])? else {
        return Err(CmdError::NoSuchKey);
    };
    let idx = int(&a[2])?;
    let i = resolve_index(idx, list.len()).ok_or(CmdError::IndexOutOfRange)?;
    list[i] = a[3].clone();
    ctx.dirty(1);
    Ok(Reply::Ok)
}

fn lrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (start, end) = (int(&a[2])?, int(&a[3])?);
    let Some(list) = ctx.get_list(&a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match args::range(start, end, list.len()) {
        Some((s, e)) => Reply::bulks(list.range(s..=e).cloned()),
        None => Reply::Array(Vec::new()),
    })
}

fn ltrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (start, end) = (int(&a[2])?, int(&a[3])?);
    let Some(list) = ctx.get_list_mut(&a[1])? else {
        return Ok(Reply::Ok);
    };
    let len = list.len();
    let removed = match args::range(start, end, len) {
        Some((s, e)) => {
            list.truncate(e + 1);
            list.drain(..s);
            len - list.len()
        }
        None => {
            list.clear();
            len
        }
    };
    ctx.removed(&a[1], removed);
    Ok(Reply::Ok)
}

/// Removes up to `limit` occurrences of `target`, from the tail when `from_tail`. Returns how many.
fn remove_matches(list: &mut VecDeque<Bytes>, target: &Bytes, limit: usize, from_tail: bool) -> usize {
    let mut skip = if from_tail { list.iter().filter(|e| *e == target).count().saturating_sub(limit) } else { 0 };
    let mut removed = 0;
    list.retain(|e| {
        if e != target || removed >= limit {
            return true;
        }
        if skip > 0 {
            skip -= 1;
            return true;
        }
        removed += 1;
        false
    });
    removed
}

fn lrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = int(&a[2])?;
    let Some(list) = ctx.get_list_mut(&a[1])? else {
        return Ok(Reply::Int(0));
    };
    let limit = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
    let removed = remove_matches(list, &a[3], limit, count < 0);
    ctx.removed(&a[1], removed);
    Ok(Reply::Int(removed as i64))
}

fn linsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let before = if is(&a[2], "BEFORE") {
        true
    } else if is(&a[2], "AFTER") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(list) = ctx.get_list_mut(&a[1])? else {
        return Ok(Reply::Int(0));
    };
    let Some(pos) = list.iter().position(|e| *e == a[3]) else {
        return Ok(Reply::Int(-1));
    };
    list.insert(if before { pos } else { pos + 1 }, a[4].clone());
    let len = list.len();
    ctx.dirty(1);
    Ok(Reply::Int(len as i64))
}

/// Parsed LPOS options.
struct LposOpts {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos(a: &[Bytes]) -> CmdResult<LposOpts> {
    let mut o = LposOpts { rank: 1, count: None, maxlen: 0 };
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if is(&a[i], "RANK") && more {
            let r = int(&a[i + 1])?;
            if r == i64::MIN {
                return Err(CmdError::err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
            }
            if r == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            o.rank = r;
        } else if is(&a[i], "COUNT") && more {
            let c = long_at_least(&a[i + 1], 0, "COUNT can't be negative")?;
            o.count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else if is(&a[i], "MAXLEN") && more {
            let m = long_at_least(&a[i + 1], 0, "MAXLEN can't be negative")?;
            o.maxlen = usize::try_from(m).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(o)
}

fn lpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let o = parse_lpos(a)?;
    let Some(list) = ctx.get_list(&a[1])? else {
        return Ok(if o.count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    let len = list.len();
    let from_tail = o.rank < 0;
    let skip = o.rank.unsigned_abs() - 1;
    let want = match o.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(c) => c,
    };
    let scan = if o.maxlen == 0 { len } else { o.maxlen.min(len) };
    let (mut seen, mut found) = (0u64, Vec::new());
    for j in 0..scan {
        let idx = if from_tail { len - 1 - j } else { j };
        if list[idx] == a[2] {
            seen += 1;
            if seen > skip {
                found.push(Reply::Int(idx as i64));
                if found.len() >= want {
                    break;
                }
            }
        }
    }
    Ok(match o.count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    })
}

fn lmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (from, to) = (side(&a[3])?, side(&a[4])?);
    Ok(Reply::opt_bulk(move_one(ctx, &a[1], &a[2], from, to)?))
}

fn rpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(move_one(ctx, &a[1], &a[2], false, true)?))
}

fn lmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let m = parse_mpop(a, 1)?;
    Ok(mpop_serve(ctx, &m)?.unwrap_or(Reply::NilArray))
}

/// BLPOP/BRPOP `key [key ...] timeout`.
fn bpop(ctx: &mut Ctx, a: &[Bytes], left: bool) -> CmdResult {
    let last = a.len() - 1;
    let timeout = timeout_ms(&a[last])?;
    let keys = &a[1..last];
    match pop_first(ctx, keys, left, 1)? {
        Some((key, vals)) => {
            ctx.propagate(vec![pop_name(left), key.clone()]);
            Ok(Reply::Array(std::iter::once(key).chain(vals).map(Reply::Bulk).collect()))
        }
        None => {
            ctx.block_on(keys.to_vec(), timeout);
            Ok(Reply::NilArray)
        }
    }
}

fn blpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bpop(ctx, a, true)
}

fn brpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bpop(ctx, a, false)
}

/// Serves a BLMOVE/BRPOPLPUSH, logging `log` when it moved something, else blocks on `src`.
fn bmove(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, dirs: (bool, bool), timeout: u64, log: Vec<Bytes>) -> CmdResult {
    match move_one(ctx, src, dst, dirs.0, dirs.1)? {
        Some(v) => {
            ctx.propagate(log);
            Ok(Reply::Bulk(v))
        }
        None => {
            ctx.block_on(vec![src.clone()], timeout);
            Ok(Reply::Nil)
        }
    }
}

fn blmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (from, to) = (side(&a[3])?, side(&a[4])?);
    let timeout = timeout_ms(&a[5])?;
    let log = vec![lit("LMOVE"), a[1].clone(), a[2].clone(), side_name(from), side_name(to)];
    bmove(ctx, &a[1], &a[2], (from, to), timeout, log)
}

fn brpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let timeout = timeout_ms(&a[3])?;
    let log = vec![lit("RPOPLPUSH"), a[1].clone(), a[2].clone()];
    bmove(ctx, &a[1], &a[2], (false, true), timeout, log)
}

fn blmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let m = parse_mpop(a, 2)?;
    let timeout = timeout_ms(&a[1])?;
    if let Some(r) = mpop_serve(ctx, &m)? {
        return Ok(r);
    }
    ctx.block_on(m.keys.to_vec(), timeout);
    Ok(Reply::NilArray)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use bytes::Bytes;

    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::{Face, Outcome, Reply};

    fn bytes(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    fn run_logged(t: &mut T, args: &[&str]) -> (Reply, Vec<Vec<Bytes>>, u64) {
        t.logged(args)
    }

    #[test]
    fn push_pop_len() {
        let mut t = T::new();
        assert_eq!(t.ok(&["RPUSH", "l", "a", "b", "c"]), Reply::Int(3));
        assert_eq!(t.ok(&["LPUSH", "l", "x", "y"]), Reply::Int(5));
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["y", "x", "a", "b", "c"]));
        assert_eq!(t.ok(&["LLEN", "l"]), Reply::Int(5));
        assert_eq!(t.ok(&["LPUSHX", "nope", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "nope"]), Reply::Int(0));
        assert_eq!(t.ok(&["RPUSHX", "l", "z"]), Reply::Int(6));
        assert_eq!(t.ok(&["LPOP", "l"]), b("y"));
        assert_eq!(t.ok(&["RPOP", "l"]), b("z"));
        assert_eq!(t.ok(&["LPOP", "l", "2"]), arr(&["x", "a"]));
        assert_eq!(t.ok(&["LPOP", "l", "0"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["RPOP", "l", "10"]), arr(&["c", "b"]));
        assert_eq!(t.ok(&["EXISTS", "l"]), Reply::Int(0));
        assert_eq!(t.ok(&["LPOP", "l"]), Reply::Nil);
        assert_eq!(t.ok(&["LPOP", "l", "2"]), Reply::NilArray);
        assert_eq!(t.ok(&["LPOP", "l", "0"]), Reply::NilArray);
        assert_eq!(t.ok(&["LLEN", "l"]), Reply::Int(0));
        assert_eq!(t.err(&["LPOP", "l", "-1"]), "ERR value is out of range, must be positive");
        assert_eq!(t.err(&["LPOP", "l", "x"]), "ERR value is out of range, must be positive");
        assert_eq!(t.err(&["LPOP", "l", "1", "2"]), "ERR wrong number of arguments for 'lpop' command");
        assert_eq!(t.err(&["LPUSH", "l"]), "ERR wrong number of arguments for 'lpush' command");
    }

    #[test]
    fn wrongtype_everywhere() {
        let mut t = T::new();
        t.ok(&["SET", "s", "v"]);
        t.ok(&["RPUSH", "l", "a"]);
        for cmd in [
            &["LPUSH", "s", "a"][..],
            &["RPUSHX", "s", "a"],
            &["LPOP", "s"],
            &["RPOP", "s", "2"],
            &["LLEN", "s"],
            &["LINDEX", "s", "0"],
            &["LSET", "s", "0", "x"],
            &["LRANGE", "s", "0", "-1"],
            &["LTRIM", "s", "0", "1"],
            &["LREM", "s", "0", "a"],
            &["LINSERT", "s", "BEFORE", "a", "b"],
            &["LPOS", "s", "a"],
            &["LMOVE", "s", "l", "LEFT", "LEFT"],
            &["LMOVE", "l", "s", "LEFT", "LEFT"],
            &["RPOPLPUSH", "l", "s"],
            &["LMPOP", "2", "nope", "s", "LEFT"],
            &["BLPOP", "nope", "s", "0"],
            &["BLMOVE", "l", "s", "LEFT", "RIGHT", "0"],
            &["BLMPOP", "0", "1", "s", "LEFT"],
        ] {
            assert_eq!(t.err(cmd), WRONGTYPE, "{cmd:?}");
        }
        // The source was not touched by the failed moves.
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["a"]));
        assert_eq!(t.ok(&["GET", "s"]), b("v"));
    }

    #[test]
    fn index_set_range_trim() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "a", "b", "c", "d"]);
        assert_eq!(t.ok(&["LINDEX", "l", "0"]), b("a"));
        assert_eq!(t.ok(&["LINDEX", "l", "-1"]), b("d"));
        assert_eq!(t.ok(&["LINDEX", "l", "4"]), Reply::Nil);
        assert_eq!(t.ok(&["LINDEX", "l", "-5"]), Reply::Nil);
        assert_eq!(t.ok(&["LINDEX", "nope", "x"]), Reply::Nil);
        assert_eq!(t.err(&["LINDEX", "l", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.ok(&["LSET", "l", "-2", "C"]), Reply::Ok);
        assert_eq!(t.err(&["LSET", "l", "4", "x"]), "ERR index out of range");
        assert_eq!(t.err(&["LSET", "nope", "0", "x"]), "ERR no such key");
        assert_eq!(t.ok(&["LRANGE", "l", "1", "2"]), arr(&["b", "C"]));
        assert_eq!(t.ok(&["LRANGE", "l", "-100", "100"]), arr(&["a", "b", "C", "d"]));
        assert_eq!(t.ok(&["LRANGE", "l", "3", "1"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["LRANGE", "nope", "0", "-1"]), Reply::Array(vec![]));
        assert_eq!(t.err(&["LRANGE", "l", "a", "1"]), "ERR value is not an integer or out of range");
        assert_eq!(t.ok(&["LTRIM", "l", "1", "-2"]), Reply::Ok);
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["b", "C"]));
        assert_eq!(t.ok(&["LTRIM", "nope", "0", "1"]), Reply::Ok);
        assert_eq!(t.ok(&["LTRIM", "l", "5", "10"]), Reply::Ok);
        assert_eq!(t.ok(&["EXISTS", "l"]), Reply::Int(0));
    }

    #[test]
    fn rem_insert_pos() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "a", "b", "a", "c", "a", "b"]);
        assert_eq!(t.ok(&["LREM", "l", "-2", "a"]), Reply::Int(2));
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["a", "b", "c", "b"]));
        assert_eq!(t.ok(&["LREM", "l", "1", "b"]), Reply::Int(1));
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["a", "c", "b"]));
        assert_eq!(t.ok(&["LREM", "l", "0", "zz"]), Reply::Int(0));
        assert_eq!(t.ok(&["LREM", "nope", "0", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["LINSERT", "l", "BEFORE", "c", "X"]), Reply::Int(4));
        assert_eq!(t.ok(&["LINSERT", "l", "after", "b", "Y"]), Reply::Int(5));
        assert_eq!(t.ok(&["LINSERT", "l", "AFTER", "zz", "Y"]), Reply::Int(-1));
        assert_eq!(t.ok(&["LINSERT", "nope", "AFTER", "a", "Y"]), Reply::Int(0));
        assert_eq!(t.err(&["LINSERT", "l", "MIDDLE", "a", "Y"]), "ERR syntax error");
        assert_eq!(t.ok(&["LRANGE", "l", "0", "-1"]), arr(&["a", "X", "c", "b", "Y"]));
        t.ok(&["DEL", "l"]);
        t.ok(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
        assert_eq!(t.ok(&["LPOS", "l", "c"]), Reply::Int(2));
        assert_eq!(t.ok(&["LPOS", "l", "c", "RANK", "2"]), Reply::Int(6));
        assert_eq!(t.ok(&["LPOS", "l", "c", "RANK", "-1"]), Reply::Int(7));
        assert_eq!(t.ok(&["LPOS", "l", "c", "COUNT", "2"]), Reply::Array(vec![Reply::Int(2), Reply::Int(6)]));
        assert_eq!(t.ok(&["LPOS", "l", "c", "COUNT", "0"]), Reply::Array(vec![Reply::Int(2), Reply::Int(6), Reply::Int(7)]));
        assert_eq!(t.ok(&["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]), Reply::Array(vec![Reply::Int(7), Reply::Int(6)]));
        assert_eq!(t.ok(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3"]), Reply::Array(vec![Reply::Int(2)]));
        assert_eq!(t.ok(&["LPOS", "l", "zz"]), Reply::Nil);
        assert_eq!(t.ok(&["LPOS", "l", "zz", "COUNT", "1"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["LPOS", "nope", "a"]), Reply::Nil);
        assert_eq!(t.ok(&["LPOS", "nope", "a", "COUNT", "0"]), Reply::Array(vec![]));
        assert!(t.err(&["LPOS", "l", "c", "RANK", "0"]).starts_with("ERR RANK can't be zero: use 1 to start"));
        assert_eq!(t.err(&["LPOS", "l", "c", "COUNT", "-1"]), "ERR COUNT can't be negative");
        assert_eq!(t.err(&["LPOS", "l", "c", "MAXLEN", "-1"]), "ERR MAXLEN can't be negative");
        assert_eq!(t.err(&["LPOS", "l", "c", "RANK"]), "ERR syntax error");
        assert_eq!(t.err(&["LPOS", "l", "c", "FOO", "1"]), "ERR syntax error");
    }

    #[test]
    fn lrem_deletes_emptied_key() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "a", "a"]);
        assert_eq!(t.ok(&["LREM", "l", "0", "a"]), Reply::Int(2));
        assert_eq!(t.ok(&["EXISTS", "l"]), Reply::Int(0));
    }

    #[test]
    fn lmove_and_rotation() {
        let mut t = T::new();
        t.ok(&["RPUSH", "src", "a", "b", "c"]);
        assert_eq!(t.ok(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), b("a"));
        assert_eq!(t.ok(&["RPOPLPUSH", "src", "dst"]), b("c"));
        assert_eq!(t.ok(&["LRANGE", "dst", "0", "-1"]), arr(&["c", "a"]));
        assert_eq!(t.ok(&["LMOVE", "src", "dst", "right", "left"]), b("b"));
        assert_eq!(t.ok(&["EXISTS", "src"]), Reply::Int(0));
        assert_eq!(t.ok(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), Reply::Nil);
        assert_eq!(t.err(&["LMOVE", "dst", "x", "UP", "LEFT"]), "ERR syntax error");
        // Rotation keeps the key (and its TTL), even with a single element.
        assert_eq!(t.ok(&["RPOPLPUSH", "dst", "dst"]), b("a"));
        assert_eq!(t.ok(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "b", "c"]));
        assert_eq!(t.ok(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"]), b("a"));
        assert_eq!(t.ok(&["LRANGE", "dst", "0", "-1"]), arr(&["b", "c", "a"]));
        t.ok(&["RPUSH", "one", "x"]);
        t.ok(&["EXPIRE", "one", "100"]);
        assert_eq!(t.ok(&["LMOVE", "one", "one", "LEFT", "RIGHT"]), b("x"));
        assert_eq!(t.ok(&["TTL", "one"]), Reply::Int(100));
    }

    #[test]
    fn lmpop_forms() {
        let mut t = T::new();
        t.ok(&["RPUSH", "b", "1", "2", "3"]);
        assert_eq!(t.ok(&["LMPOP", "2", "a", "b", "LEFT"]), Reply::Array(vec![b("b"), arr(&["1"])]));
        assert_eq!(t.ok(&["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"]), Reply::Array(vec![b("b"), arr(&["3", "2"])]));
        assert_eq!(t.ok(&["EXISTS", "b"]), Reply::Int(0));
        assert_eq!(t.ok(&["LMPOP", "2", "a", "b", "LEFT"]), Reply::NilArray);
        assert_eq!(t.err(&["LMPOP", "0", "a", "LEFT"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["LMPOP", "x", "a", "LEFT"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["LMPOP", "3", "a", "b", "LEFT"]), "ERR syntax error");
        assert_eq!(t.err(&["LMPOP", "1", "a", "UP"]), "ERR syntax error");
        assert_eq!(t.err(&["LMPOP", "1", "a", "LEFT", "COUNT", "0"]), "ERR count should be greater than 0");
        assert_eq!(t.err(&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]), "ERR syntax error");
        assert_eq!(t.err(&["LMPOP", "1", "a", "LEFT", "COUNT"]), "ERR syntax error");
        assert_eq!(t.err(&["LMPOP", "9223372036854775807", "a", "LEFT"]), "ERR syntax error");
    }

    #[test]
    fn blocking_serves_or_times_out() {
        let mut t = T::new();
        assert_eq!(t.ok(&["BLPOP", "a", "b", "0"]), Reply::NilArray);
        assert_eq!(t.ok(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.5"]), Reply::Nil);
        assert_eq!(t.ok(&["BRPOPLPUSH", "a", "b", "1"]), Reply::Nil);
        assert_eq!(t.ok(&["BLMPOP", "1", "2", "a", "b", "LEFT"]), Reply::NilArray);
        t.ok(&["RPUSH", "b", "1", "2", "3"]);
        assert_eq!(t.ok(&["BLPOP", "a", "b", "0"]), arr(&["b", "1"]));
        assert_eq!(t.ok(&["BRPOP", "a", "b", "0"]), arr(&["b", "3"]));
        assert_eq!(t.ok(&["BRPOPLPUSH", "b", "a", "0"]), b("2"));
        assert_eq!(t.ok(&["BLMOVE", "a", "a", "LEFT", "RIGHT", "0"]), b("2"));
        assert_eq!(t.ok(&["BLMPOP", "0", "2", "b", "a", "RIGHT", "COUNT", "3"]), Reply::Array(vec![b("a"), arr(&["2"])]));
        assert_eq!(t.ok(&["DBSIZE"]), Reply::Int(0));
        assert_eq!(t.err(&["BLPOP", "a", "x"]), "ERR timeout is not a float or out of range");
        assert_eq!(t.err(&["BLPOP", "a", "-1"]), "ERR timeout is negative");
        assert_eq!(t.err(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "nan"]), "ERR timeout is not a float or out of range");
        assert_eq!(t.err(&["BLMPOP", "-1", "1", "a", "LEFT"]), "ERR timeout is negative");
        assert_eq!(t.err(&["BLMPOP", "0", "0", "a", "LEFT"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["BLPOP", "a", "inf"]), "ERR timeout is out of range");
    }

    #[test]
    fn blocking_in_multi_returns_timeout_reply() {
        let mut t = T::new();
        t.ok(&["MULTI"]);
        t.ok(&["BLPOP", "a", "0"]);
        assert_eq!(t.ok(&["EXEC"]), Reply::Array(vec![Reply::NilArray]));
        assert!(t.engine.shared.ks.lock().blocked.is_empty());
    }

    #[test]
    fn blocked_outcome_is_woken_by_push() {
        let mut t = T::new();
        let outcome = t.engine.execute(&mut t.session, bytes(&["BLPOP", "q", "5"]));
        let Outcome::Blocked { args, notify, timeout_ms, timeout_reply } = outcome else {
            panic!("expected Blocked, got {outcome:?}");
        };
        assert_eq!(args, bytes(&["BLPOP", "q", "5"]));
        assert_eq!(timeout_ms, 5000);
        assert_eq!(timeout_reply, Reply::NilArray);
        assert!(!t.engine.shared.ks.lock().blocked.is_empty());

        let mut other = t.engine.open_session(Face::Resp, "other", "other");
        let pushed = t.engine.execute(&mut other, bytes(&["LPUSH", "q", "v"]));
        assert!(matches!(pushed, Outcome::Done(Ok(Reply::Int(1)))));
        assert!(t.engine.shared.ks.lock().blocked.is_empty());

        let mut fut = std::pin::pin!(notify.notified());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Ready(())));

        // The retried command now serves.
        assert_eq!(t.ok(&["BLPOP", "q", "5"]), arr(&["q", "v"]));
    }

    #[test]
    fn blmpop_registers_every_key() {
        let mut t = T::new();
        let outcome = t.engine.execute(&mut t.session, bytes(&["BLMPOP", "0", "2", "x", "y", "LEFT"]));
        let Outcome::Blocked { timeout_ms: 0, notify, .. } = outcome else {
            panic!("expected Blocked forever, got {outcome:?}");
        };
        assert_eq!(t.engine.shared.ks.lock().blocked.len(), 2);
        t.ok(&["RPUSH", "y", "1"]);
        // Only the pushed key's slot is woken; the sweep drops the rest once the waiter is gone.
        assert_eq!(t.engine.shared.ks.lock().blocked.len(), 1);
        drop(notify);
        t.engine.shared.ks.lock().sweep_blocked();
        assert!(t.engine.shared.ks.lock().blocked.is_empty());
        assert_eq!(t.ok(&["BLMPOP", "0", "2", "x", "y", "LEFT"]), Reply::Array(vec![b("y"), arr(&["1"])]));
    }

    #[test]
    fn blocking_commands_log_their_nonblocking_form() {
        let mut t = T::new();
        t.ok(&["RPUSH", "k2", "a", "b", "c", "d", "e"]);
        let (r, eff, dirty) = run_logged(&mut t, &["BLPOP", "k1", "k2", "0"]);
        assert_eq!((r, eff, dirty), (arr(&["k2", "a"]), vec![bytes(&["LPOP", "k2"])], 1));
        let (_, eff, _) = run_logged(&mut t, &["BRPOP", "k1", "k2", "0"]);
        assert_eq!(eff, vec![bytes(&["RPOP", "k2"])]);
        let (_, eff, _) = run_logged(&mut t, &["BLMOVE", "k2", "k3", "left", "right", "0"]);
        assert_eq!(eff, vec![bytes(&["LMOVE", "k2", "k3", "LEFT", "RIGHT"])]);
        let (_, eff, _) = run_logged(&mut t, &["BRPOPLPUSH", "k2", "k3", "0"]);
        assert_eq!(eff, vec![bytes(&["RPOPLPUSH", "k2", "k3"])]);
        let (_, eff, _) = run_logged(&mut t, &["BLMPOP", "0", "2", "k1", "k3", "LEFT", "COUNT", "10"]);
        assert_eq!(eff, vec![bytes(&["LPOP", "k3", "2"])]);
        let (_, eff, _) = run_logged(&mut t, &["LMPOP", "1", "k2", "RIGHT"]);
        assert_eq!(eff, vec![bytes(&["RPOP", "k2", "1"])]);
        // Nothing served: nothing logged, nothing dirty.
        let (r, eff, dirty) = run_logged(&mut t, &["BLPOP", "none", "0"]);
        assert_eq!((r, eff.len(), dirty), (Reply::NilArray, 0, 0));
        // Plain pops log themselves as received.
        t.ok(&["RPUSH", "p", "1"]);
        let (_, eff, _) = run_logged(&mut t, &["LPOP", "p"]);
        assert_eq!(eff, vec![bytes(&["LPOP", "p"])]);
    }

    #[test]
    fn unchanged_data_is_not_dirty() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "a", "b"]);
        for cmd in [
            &["LTRIM", "l", "0", "-1"][..],
            &["LREM", "l", "0", "zz"],
            &["LINSERT", "l", "BEFORE", "zz", "x"],
            &["LPUSHX", "nope", "x"],
            &["LPOP", "l", "0"],
            &["LPOP", "nope"],
            &["LMOVE", "nope", "l", "LEFT", "LEFT"],
            &["LMPOP", "1", "nope", "LEFT"],
        ] {
            let (_, eff, dirty) = run_logged(&mut t, cmd);
            assert_eq!((eff.len(), dirty), (0, 0), "{cmd:?}");
        }
        let (_, _, dirty) = run_logged(&mut t, &["RPUSH", "l", "c", "d"]);
        assert_eq!(dirty, 2);
    }
}
