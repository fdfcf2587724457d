//! String commands (Redis `t_string.c`).

use bytes::Bytes;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::compact::CompactBytes;
use crate::error::{CmdError, CmdResult};
use crate::value::Value;
use crate::{Ctx, Reply};

/// String command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("get", 2, READONLY | FAST, 1, 1, 1, get, "string"),
    cmd!("set", -3, WRITE | DENYOOM, 1, 1, 1, set, "string"),
    cmd!("setnx", 3, WRITE | DENYOOM | FAST, 1, 1, 1, setnx, "string"),
    cmd!("setex", 4, WRITE | DENYOOM, 1, 1, 1, setex, "string"),
    cmd!("psetex", 4, WRITE | DENYOOM, 1, 1, 1, setex, "string"),
    cmd!("getset", 3, WRITE | DENYOOM | FAST, 1, 1, 1, getset, "string"),
    cmd!("getdel", 2, WRITE | FAST, 1, 1, 1, getdel, "string"),
    cmd!("getex", -2, WRITE | FAST, 1, 1, 1, getex, "string"),
    cmd!("mget", -2, READONLY | FAST, 1, -1, 1, mget, "string"),
    cmd!("mset", -3, WRITE | DENYOOM, 1, -1, 2, mset, "string"),
    cmd!("msetnx", -3, WRITE | DENYOOM, 1, -1, 2, msetnx, "string"),
    cmd!("append", 3, WRITE | DENYOOM | FAST, 1, 1, 1, append, "string"),
    cmd!("strlen", 2, READONLY | FAST, 1, 1, 1, strlen, "string"),
    cmd!("incr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, incr, "string"),
    cmd!("decr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, decr, "string"),
    cmd!("incrby", 3, WRITE | DENYOOM | FAST, 1, 1, 1, incrby, "string"),
    cmd!("decrby", 3, WRITE | DENYOOM | FAST, 1, 1, 1, decrby, "string"),
    cmd!("incrbyfloat", 3, WRITE | DENYOOM | FAST, 1, 1, 1, incrbyfloat, "string"),
    cmd!("setrange", 4, WRITE | DENYOOM, 1, 1, 1, setrange, "string"),
    cmd!("getrange", 4, READONLY, 1, 1, 1, getrange, "string"),
    cmd!("substr", 4, READONLY, 1, 1, 1, getrange, "string"),
    cmd!("lcs", -3, READONLY, 1, 2, 1, lcs, "string"),
];

fn get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(ctx.get_str(&a[1])?.map(|s| s.to_bytes())))
}

/// Checks a value against `proto-max-bulk-len`.
fn check_size(ctx: &Ctx, len: usize) -> CmdResult<()> {
    if len as i64 > ctx.shared.config.read().proto_max_bulk_len {
        return Err(CmdError::TooBig);
    }
    Ok(())
}

/// Converts an `EX`/`PX`/`EXAT`/`PXAT` argument to an absolute ms time.
pub fn expire_arg(ctx: &Ctx, unit_ms: bool, absolute: bool, arg: &[u8], cmd: &str) -> CmdResult<u64> {
    let v = int(arg)?;
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    if v <= 0 {
        return Err(invalid());
    }
    let ms = if unit_ms { v } else { v.checked_mul(1000).ok_or_else(invalid)? };
    let at = if absolute { ms } else { ms.checked_add(ctx.now as i64).ok_or_else(invalid)? };
    Ok(at as u64)
}

fn set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<u64> = None;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let next = a.get(i + 1);
        if is(o, "NX") && !xx {
            nx = true;
        } else if is(o, "XX") && !nx {
            xx = true;
        } else if is(o, "GET") {
            get = true;
        } else if is(o, "KEEPTTL") && expire.is_none() {
            keepttl = true;
        } else if (is(o, "EX") || is(o, "PX") || is(o, "EXAT") || is(o, "PXAT")) && expire.is_none() && !keepttl && next.is_some() {
            let unit_ms = is(o, "PX") || is(o, "PXAT");
            let absolute = is(o, "EXAT") || is(o, "PXAT");
            expire = Some(expire_arg(ctx, unit_ms, absolute, next.map_or(&[][..], |n| &n[..]), "set")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    check_size(ctx, a[2].len())?;
    let old = if get {
        match ctx.lookup(&a[1]) {
            None => None,
            Some(Value::Str(s)) => Some(s.to_bytes()),
            Some(_) => return Err(CmdError::WrongType),
        }
    } else {
        None
    };
    let exists = ctx.exists(&a[1]);
    if (nx && exists) || (xx && !exists) {
        return Ok(if get { Reply::opt_bulk(old) } else { Reply::Nil });
    }
    let expire_at = match (expire, keepttl) {
        (Some(at), _) => at,
        (None, true) => ctx.expire_at(&a[1]).unwrap_or(0),
        (None, false) => 0,
    };
    ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&a[2])), expire_at);
    ctx.dirty(1);
    if expire.is_some() {
        ctx.propagate(vec![lit("SET"), a[1].clone(), a[2].clone(), lit("PXAT"), args::int_bytes(expire_at as i64)]);
    } else if keepttl {
        ctx.propagate(vec![lit("SET"), a[1].clone(), a[2].clone(), lit("KEEPTTL")]);
    }
    // Otherwise the command as received replays to the same state (NX/XX/GET included).
    Ok(if get { Reply::opt_bulk(old) } else { Reply::Ok })
}

fn setnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    check_size(ctx, a[2].len())?;
    if ctx.exists(&a[1]) {
        return Ok(Reply::Int(0));
    }
    ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&a[2])), 0);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

fn setex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    let at = expire_arg(ctx, name == "psetex", false, &a[2], &name)?;
    check_size(ctx, a[3].len())?;
    ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&a[3])), at);
    ctx.dirty(1);
    ctx.propagate(vec![lit("SET"), a[1].clone(), a[3].clone(), lit("PXAT"), args::int_bytes(at as i64)]);
    Ok(Reply::Ok)
}

fn getset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let old = ctx.get_str(&a[1])?.map(|s| s.to_bytes());
    check_size(ctx, a[2].len())?;
    ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&a[2])), 0);
    ctx.dirty(1);
    Ok(Reply::opt_bulk(old))
}

fn getdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let old = ctx.get_str(&a[1])?.map(|s| s.to_bytes());
    if old.is_some() {
        ctx.delete(&a[1]);
        ctx.dirty(1);
    }
    Ok(Reply::opt_bulk(old))
}

fn getex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    enum Op {
        Keep,
        Persist,
        At(u64),
    }
    let mut op = Op::Keep;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if is(o, "PERSIST") && matches!(op, Op::Keep) {
            op = Op::Persist;
        } else if (is(o, "EX") || is(o, "PX") || is(o, "EXAT") || is(o, "PXAT")) && matches!(op, Op::Keep) && i + 1 < a.len() {
            let unit_ms = is(o, "PX") || is(o, "PXAT");
            let absolute = is(o, "EXAT") || is(o, "PXAT");
            op = Op::At(expire_arg(ctx, unit_ms, absolute, &a[i + 1], "getex")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(v) = ctx.get_str(&a[1])?.map(|s| s.to_bytes()) else {
        return Ok(Reply::Nil);
    };
    match op {
        Op::Keep => {}
        Op::Persist => {
            if ctx.expire_at(&a[1]).unwrap_or(0) != 0 {
                ctx.set_expire(&a[1], 0);
                ctx.dirty(1);
                ctx.propagate(vec![lit("PERSIST"), a[1].clone()]);
            }
        }
        Op::At(at) => {
            ctx.dirty(1);
            if at <= ctx.now {
                ctx.delete(&a[1]);
                ctx.propagate(vec![lit("DEL"), a[1].clone()]);
            } else {
                ctx.set_expire(&a[1], at);
                ctx.propagate(vec![lit("PEXPIREAT"), a[1].clone(), args::int_bytes(at as i64)]);
            }
        }
    }
    Ok(Reply::Bulk(v))
}

fn mget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        out.push(match ctx.lookup(k) {
            Some(Value::Str(s)) => Reply::Bulk(s.to_bytes()),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

fn mset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::WrongArgs(args::text(&a[0]).to_ascii_lowercase()));
    }
    for pair in a[1..].chunks(2) {
        check_size(ctx, pair[1].len())?;
    }
    for pair in a[1..].chunks(2) {
        ctx.set(&pair[0], Value::Str(CompactBytes::from_slice(&pair[1])), 0);
    }
    ctx.dirty((a.len() / 2) as u64);
    Ok(Reply::Ok)
}

fn msetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::WrongArgs("msetnx".into()));
    }
    for pair in a[1..].chunks(2) {
        if ctx.exists(&pair[0]) {
            return Ok(Reply::Int(0));
        }
    }
    mset(ctx, a)?;
    Ok(Reply::Int(1))
}

fn append(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cur_len = ctx.get_str(&a[1])?.map_or(0, |s| s.len());
    check_size(ctx, cur_len + a[2].len())?;
    let s = ctx.str_or_create(&a[1])?;
    s.make_growable().extend_from_slice(&a[2]);
    let n = s.len();
    ctx.dirty(1);
    Ok(Reply::Int(n as i64))
}

fn strlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_str(&a[1])?.map_or(0, |s| s.len() as i64)))
}

/// Adds `by` to the integer at `key` (creating it as 0), in place so the TTL is kept.
fn incr_generic(ctx: &mut Ctx, key: &Bytes, by: i64) -> CmdResult {
    let mut buf = itoa::Buffer::new();
    let new = match ctx.lookup_mut(key) {
        Some(Value::Str(s)) => {
            let new = int(s)?.checked_add(by).ok_or(CmdError::Overflow)?;
            *s = CompactBytes::from_slice(buf.format(new).as_bytes());
            new
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            ctx.set(key, Value::Str(CompactBytes::from_slice(buf.format(by).as_bytes())), 0);
            by
        }
    };
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

fn incr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &a[1], 1)
}

fn decr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &a[1], -1)
}

fn incrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &a[1], int(&a[2])?)
}

fn decrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = int(&a[2])?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_generic(ctx, &a[1], -by)
}

/// INCRBYFLOAT in `long double`, as Redis (see [`crate::longdouble`]).
fn incrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    use crate::longdouble::{add, LdError};
    let sum = add(ctx.get_str(&a[1])?.map(|s| s.as_slice()), &a[2]);
    let text = match sum {
        Ok(t) => t,
        Err(LdError::Current | LdError::Increment) => return Err(CmdError::NotFloat),
        Err(LdError::IncrementNotFinite | LdError::NotFinite) => {
            return Err(CmdError::err("increment would produce NaN or Infinity"));
        }
    };
    let keep = ctx.expire_at(&a[1]).unwrap_or(0);
    ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&text)), keep);
    ctx.dirty(1);
    ctx.propagate(vec![lit("SET"), a[1].clone(), text.clone(), lit("KEEPTTL")]);
    Ok(Reply::Bulk(text))
}

fn setrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let offset = int(&a[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as usize;
    let exists = ctx.get_str(&a[1])?.is_some();
    if a[3].is_empty() {
        return Ok(Reply::Int(ctx.get_str(&a[1])?.map_or(0, |s| s.len() as i64)));
    }
    check_size(ctx, offset + a[3].len())?;
    if !exists {
        ctx.set(&a[1], Value::Str(CompactBytes::new()), 0);
    }
    let s = ctx.str_or_create(&a[1])?.make_growable();
    if s.len() < offset + a[3].len() {
        s.resize(offset + a[3].len(), 0);
    }
    s[offset..offset + a[3].len()].copy_from_slice(&a[3]);
    let n = s.len();
    ctx.dirty(1);
    Ok(Reply::Int(n as i64))
}

fn getrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (start, end) = (int(&a[2])?, int(&a[3])?);
    let Some(s) = ctx.get_str(&a[1])? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(match args::range(start, end, s.len()) {
        Some((s0, e0)) => Bytes::copy_from_slice(&s[s0..=e0]),
        None => Bytes::new(),
    }))
}

fn lcs(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut want_len, mut idx, mut withmatchlen, mut minlen) = (false, false, false, 0i64);
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "LEN") {
            want_len = true;
        } else if is(&a[i], "IDX") {
            idx = true;
        } else if is(&a[i], "WITHMATCHLEN") {
            withmatchlen = true;
        } else if is(&a[i], "MINMATCHLEN") && i + 1 < a.len() {
            minlen = int(&a[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if want_len && idx {
        return Err(CmdError::err("If you want both the length and indexes, please just use IDX."));
    }
    let x = ctx
        .get_str(&a[1])
        .map_err(|_| CmdError::err("The specified keys must contain string values"))?
        .map(|s| s.to_bytes())
        .unwrap_or_default();
    let y = ctx
        .get_str(&a[2])
        .map_err(|_| CmdError::err("The specified keys must contain string values"))?
        .map(|s| s.to_bytes())
        .unwrap_or_default();
    let cells = (x.len() as u64 + 1).saturating_mul(y.len() as u64 + 1).saturating_mul(4);
    if cells > ctx.shared.config.read().proto_max_bulk_len as u64 {
        return Err(CmdError::err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let (n, m) = (x.len(), y.len());
    let w = m + 1;
    let mut dp = vec![0u32; (n + 1) * (m + 1)];
    for i in 1..=n {
        for j in 1..=m {
            dp[i * w + j] = if x[i - 1] == y[j - 1] { dp[(i - 1) * w + j - 1] + 1 } else { dp[(i - 1) * w + j].max(dp[i * w + j - 1]) };
        }
    }
    let total = dp[n * w + m] as usize;
    if want_len {
        return Ok(Reply::Int(total as i64));
    }
    // Walk back from the end, collecting the common string and the matching ranges.
    let mut result = vec![0u8; total];
    let mut k = total;
    let (mut i, mut j) = (n, m);
    let mut matches: Vec<Reply> = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None; // (a_start, a_end, b_start, b_end)
    let push_range = |r: (usize, usize, usize, usize), matches: &mut Vec<Reply>| {
        let len = r.1 - r.0 + 1;
        if len as i64 >= minlen {
            let mut item = vec![
                Reply::Array(vec![Reply::Int(r.0 as i64), Reply::Int(r.1 as i64)]),
                Reply::Array(vec![Reply::Int(r.2 as i64), Reply::Int(r.3 as i64)]),
            ];
            if withmatchlen {
                item.push(Reply::Int(len as i64));
            }
            matches.push(Reply::Array(item));
        }
    };
    while i > 0 && j > 0 {
        if x[i - 1] == y[j - 1] {
            k -= 1;
            result[k] = x[i - 1];
            let (ai, bi) = (i - 1, j - 1);
            range = match range {
                Some((s1, e1, s2, e2)) if s1 == ai + 1 && s2 == bi + 1 => Some((ai, e1, bi, e2)),
                Some(r) => {
                    push_range(r, &mut matches);
                    Some((ai, ai, bi, bi))
                }
                None => Some((ai, ai, bi, bi)),
            };
            i -= 1;
            j -= 1;
        } else if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some(r) = range {
        push_range(r, &mut matches);
    }
    if idx {
        return Ok(Reply::Map(vec![(Reply::bulk("matches"), Reply::Array(matches)), (Reply::bulk("len"), Reply::Int(total as i64))]));
    }
    Ok(Reply::Bulk(Bytes::from(result)))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn set_get_options() {
        let mut t = T::new();
        assert_eq!(t.ok(&["SET", "k", "v"]), Reply::Ok);
        assert_eq!(t.ok(&["GET", "k"]), b("v"));
        assert_eq!(t.ok(&["SET", "k", "w", "NX"]), Reply::Nil);
        assert_eq!(t.ok(&["SET", "k", "w", "XX", "GET"]), b("v"));
        assert_eq!(t.ok(&["SET", "n", "1", "XX"]), Reply::Nil);
        assert_eq!(t.err(&["SET", "k", "v", "NX", "XX"]), "ERR syntax error");
        assert_eq!(t.err(&["SET", "k", "v", "EX", "0"]), "ERR invalid expire time in 'set' command");
        assert_eq!(t.err(&["SET", "k", "v", "EX", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.err(&["SET", "k", "v", "EX", "10", "PX", "10"]), "ERR syntax error");
        assert_eq!(t.err(&["GET"]), "ERR wrong number of arguments for 'get' command");
    }

    #[test]
    fn expiry_with_manual_clock() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v", "PX", "100"]);
        assert_eq!(t.ok(&["PTTL", "k"]), Reply::Int(100));
        t.advance(99);
        assert_eq!(t.ok(&["GET", "k"]), b("v"));
        t.advance(1);
        assert_eq!(t.ok(&["GET", "k"]), Reply::Nil);
        t.ok(&["SET", "k", "v", "EX", "10"]);
        t.ok(&["SET", "k", "v2", "KEEPTTL"]);
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(10));
        t.ok(&["SET", "k", "v3"]);
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(-1));
    }

    #[test]
    fn incr_family() {
        let mut t = T::new();
        assert_eq!(t.ok(&["INCR", "c"]), Reply::Int(1));
        assert_eq!(t.ok(&["INCRBY", "c", "10"]), Reply::Int(11));
        assert_eq!(t.ok(&["DECRBY", "c", "20"]), Reply::Int(-9));
        t.ok(&["SET", "big", "9223372036854775807"]);
        assert_eq!(t.err(&["INCR", "big"]), "ERR increment or decrement would overflow");
        t.ok(&["SET", "s", "abc"]);
        assert_eq!(t.err(&["INCR", "s"]), "ERR value is not an integer or out of range");
        assert_eq!(t.ok(&["INCRBYFLOAT", "f", "10.5"]), b("10.5"));
        assert_eq!(t.ok(&["INCRBYFLOAT", "f", "0.1"]), b("10.6"));
        assert_eq!(t.ok(&["INCRBYFLOAT", "f", "-10.6"]), b("0"));
        t.ok(&["LPUSH", "l", "x"]);
        assert_eq!(t.err(&["INCR", "l"]), "WRONGTYPE Operation against a key holding the wrong kind of value");
    }

    #[test]
    fn ranges_append_lcs() {
        let mut t = T::new();
        assert_eq!(t.ok(&["APPEND", "s", "Hello"]), Reply::Int(5));
        assert_eq!(t.ok(&["APPEND", "s", " World"]), Reply::Int(11));
        assert_eq!(t.ok(&["GETRANGE", "s", "0", "4"]), b("Hello"));
        assert_eq!(t.ok(&["GETRANGE", "s", "-5", "-1"]), b("World"));
        assert_eq!(t.ok(&["GETRANGE", "s", "5", "1"]), b(""));
        assert_eq!(t.ok(&["SETRANGE", "s", "6", "Redis"]), Reply::Int(11));
        assert_eq!(t.ok(&["GET", "s"]), b("Hello Redis"));
        assert_eq!(t.ok(&["SETRANGE", "z", "3", "x"]), Reply::Int(4));
        assert_eq!(t.ok(&["GET", "z"]), Reply::Bulk(bytes::Bytes::from_static(b"\0\0\0x")));
        t.ok(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
        assert_eq!(t.ok(&["LCS", "key1", "key2"]), b("mytext"));
        assert_eq!(t.ok(&["LCS", "key1", "key2", "LEN"]), Reply::Int(6));
        let idx = t.ok(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]);
        let expected = Reply::Map(vec![
            (
                b("matches"),
                Reply::Array(vec![Reply::Array(vec![
                    Reply::Array(vec![Reply::Int(4), Reply::Int(7)]),
                    Reply::Array(vec![Reply::Int(5), Reply::Int(8)]),
                    Reply::Int(4),
                ])]),
            ),
            (b("len"), Reply::Int(6)),
        ]);
        assert_eq!(idx, expected);
    }

    #[test]
    fn getex_getdel_msetnx() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        assert_eq!(t.ok(&["GETEX", "k", "EX", "100"]), b("v"));
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(100));
        assert_eq!(t.ok(&["GETEX", "k", "PERSIST"]), b("v"));
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(-1));
        assert_eq!(t.ok(&["GETDEL", "k"]), b("v"));
        assert_eq!(t.ok(&["EXISTS", "k"]), Reply::Int(0));
        assert_eq!(t.ok(&["MSETNX", "a", "1", "b", "2"]), Reply::Int(1));
        assert_eq!(t.ok(&["MSETNX", "b", "3", "c", "4"]), Reply::Int(0));
        assert_eq!(t.ok(&["MGET", "a", "b", "c"]), Reply::Array(vec![b("1"), b("2"), Reply::Nil]));
        assert_eq!(t.err(&["MSET", "a"]), "ERR wrong number of arguments for 'mset' command");
        assert_eq!(t.err(&["MSET", "a", "1", "b"]), "ERR wrong number of arguments for 'mset' command");
    }
}
