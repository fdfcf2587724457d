//! Array commands (Redis 8.8 `t_array.c`): the 18 `AR*` commands over [`SparseArray`].
//!
//! Every write is deterministic given the array it finds (ARINSERT and ARRING follow the stored
//! cursor), so writes are logged as received; the log rewrite re-creates an array with ARMSET
//! and puts its cursor back with ARSEEK ([`rewrite_commands`]).

use bytes::Bytes;
use regex::bytes::{Regex, RegexBuilder};

use crate::args::{int, is, lit};
use crate::array::{SparseArray, MAX_INDEX, MAX_REPLY_ITEMS, SLICE_SIZE};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{glob, Ctx, Reply};

/// Array command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("arcount", 2, READONLY | FAST, 1, 1, 1, arcount, "array"),
    cmd!("ardel", -3, WRITE | FAST, 1, 1, 1, ardel, "array"),
    cmd!("ardelrange", -4, WRITE, 1, 1, 1, ardelrange, "array"),
    cmd!("arget", 3, READONLY | FAST, 1, 1, 1, arget, "array"),
    cmd!("argetrange", 4, READONLY, 1, 1, 1, argetrange, "array"),
    cmd!("argrep", -6, READONLY, 1, 1, 1, argrep, "array"),
    cmd!("arinfo", -2, READONLY, 1, 1, 1, arinfo, "array"),
    cmd!("arinsert", -3, WRITE | DENYOOM | FAST, 1, 1, 1, arinsert, "array"),
    cmd!("arlastitems", -3, READONLY, 1, 1, 1, arlastitems, "array"),
    cmd!("arlen", 2, READONLY | FAST, 1, 1, 1, arlen, "array"),
    cmd!("armget", -3, READONLY | FAST, 1, 1, 1, armget, "array"),
    cmd!("armset", -4, WRITE | DENYOOM, 1, 1, 1, armset, "array"),
    cmd!("arnext", 2, READONLY | FAST, 1, 1, 1, arnext, "array"),
    cmd!("arop", -5, READONLY, 1, 1, 1, arop, "array"),
    cmd!("arring", -4, WRITE | DENYOOM, 1, 1, 1, arring, "array"),
    cmd!("arscan", -4, READONLY, 1, 1, 1, arscan, "array"),
    cmd!("arseek", 3, WRITE | FAST, 1, 1, 1, arseek, "array"),
    cmd!("arset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, arset, "array"),
];

/// Redis's `invalid array index`.
fn bad_index() -> CmdError {
    CmdError::err("invalid array index")
}

fn wrong_args(a: &[Bytes]) -> CmdError {
    CmdError::WrongArgs(crate::args::text(&a[0]).to_ascii_lowercase())
}

/// `strtoull(s, &end, 10)` accepting the whole argument, as Redis's `string2ull` falls back to:
/// leading whitespace, an optional sign (a minus negates modulo 2^64), at least one digit.
fn strtoull(arg: &[u8]) -> Option<u64> {
    let mut s = arg;
    while let Some((&c, rest)) = s.split_first() {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            s = rest;
        } else {
            break;
        }
    }
    let neg = match s.first() {
        Some(b'-') => {
            s = &s[1..];
            true
        }
        Some(b'+') => {
            s = &s[1..];
            false
        }
        _ => false,
    };
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// An array index as Redis parses it (`getArrayIndexFromObject`): an integer that is not
/// negative, else whatever `strtoull` accepts; `u64::MAX` only when `allow_max` (ARSEEK).
fn parse_index(arg: &[u8], allow_max: bool) -> Option<u64> {
    let v = match stashd_resp::parse_int(arg) {
        Some(n) if n < 0 => return None,
        Some(n) => n as u64,
        None => strtoull(arg)?,
    };
    (allow_max || v != u64::MAX).then_some(v)
}

/// A slot index argument (0 to 2^64-2), or `ERR invalid array index`.
fn index(arg: &[u8]) -> CmdResult<u64> {
    parse_index(arg, false).ok_or_else(bad_index)
}

fn value_reply(v: Option<&Bytes>) -> Reply {
    v.map_or(Reply::Nil, |v| Reply::Bulk(v.clone()))
}

/// The commands that rebuild `a` at `key` in the log rewrite: ARMSET in chunks of 64 pairs,
/// then ARSEEK to restore the insert cursor.
pub fn rewrite_commands(key: &Bytes, a: &SparseArray) -> Vec<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut cmd: Vec<Bytes> = Vec::new();
    for (i, v) in a.iter() {
        if cmd.is_empty() {
            cmd = vec![lit("ARMSET"), key.clone()];
        }
        cmd.push(Bytes::from(i.to_string()));
        cmd.push(v.clone());
        if cmd.len() >= 2 + 128 {
            out.push(std::mem::take(&mut cmd));
        }
    }
    if !cmd.is_empty() {
        out.push(cmd);
    }
    let seek = a.insert_idx().map_or(0, |i| i + 1);
    out.push(vec![lit("ARSEEK"), key.clone(), Bytes::from(seek.to_string())]);
    out
}

/// `ARSET key index value [value ...]`
fn arset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = index(&a[2])?;
    let n = (a.len() - 3) as u64;
    match start.checked_add(n - 1) {
        Some(last) if last <= MAX_INDEX => {}
        _ => return Err(CmdError::err("array index overflow")),
    }
    let arr = ctx.array_or_create(&a[1])?;
    let mut added = 0i64;
    for (k, v) in a[3..].iter().enumerate() {
        added += arr.set(start + k as u64, v.clone()) as i64;
    }
    ctx.dirty(n);
    Ok(Reply::Int(added))
}

/// `ARMSET key index value [index value ...]`
fn armset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !(a.len() - 2).is_multiple_of(2) {
        return Err(wrong_args(a));
    }
    let pairs = a[2..].chunks(2).map(|p| Ok((index(&p[0])?, p[1].clone()))).collect::<CmdResult<Vec<_>>>()?;
    let arr = ctx.array_or_create(&a[1])?;
    let mut added = 0i64;
    for (i, v) in &pairs {
        added += arr.set(*i, v.clone()) as i64;
    }
    ctx.dirty(pairs.len() as u64);
    Ok(Reply::Int(added))
}

/// `ARGET key index`
fn arget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let arr = ctx.get_array(&a[1])?;
    let i = index(&a[2])?;
    Ok(value_reply(arr.and_then(|arr| arr.get(i))))
}

/// `ARMGET key index [index ...]`
fn armget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let arr = ctx.get_array(&a[1])?;
    let idx = a[2..].iter().map(|x| index(x)).collect::<CmdResult<Vec<_>>>()?;
    Ok(Reply::Array(idx.into_iter().map(|i| value_reply(arr.and_then(|arr| arr.get(i)))).collect()))
}

/// `ARDEL key index [index ...]`
fn ardel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let idx = a[2..].iter().map(|x| index(x)).collect::<CmdResult<Vec<_>>>()?;
    let Some(arr) = ctx.get_array_mut(&a[1])? else { return Ok(Reply::Int(0)) };
    let deleted = idx.into_iter().filter(|&i| arr.del(i)).count();
    ctx.removed(&a[1], deleted);
    Ok(Reply::Int(deleted as i64))
}

/// `ARDELRANGE key start end [start end ...]`
fn ardelrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !(a.len() - 2).is_multiple_of(2) {
        return Err(wrong_args(a));
    }
    let ranges = a[2..].chunks(2).map(|p| Ok((index(&p[0])?, index(&p[1])?))).collect::<CmdResult<Vec<_>>>()?;
    let Some(arr) = ctx.get_array_mut(&a[1])? else { return Ok(Reply::Int(0)) };
    let mut deleted = 0u64;
    for (s, e) in ranges {
        deleted += arr.delete_range(s.min(e), s.max(e));
    }
    ctx.removed(&a[1], deleted as usize);
    Ok(Reply::uint(deleted))
}

/// `ARLEN key`
fn arlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::uint(ctx.get_array(&a[1])?.map_or(0, |arr| arr.len())))
}

/// `ARCOUNT key`
fn arcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::uint(ctx.get_array(&a[1])?.map_or(0, |arr| arr.count())))
}

/// `ARGETRANGE key start end`: every position, holes as nulls, at most a million.
fn argetrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = index(&a[2])?;
    let end = index(&a[3])?;
    let arr = ctx.get_array(&a[1])?;
    let (lo, hi) = (start.min(end), start.max(end));
    let len = hi - lo + 1;
    if len > MAX_REPLY_ITEMS {
        return Err(CmdError::err(format!("range exceeds maximum of {MAX_REPLY_ITEMS} items")));
    }
    let mut out = vec![Reply::Nil; len as usize];
    if let Some(arr) = arr {
        for (i, v) in arr.scan(lo, hi) {
            let pos = if start <= end { i - lo } else { hi - i };
            out[pos as usize] = Reply::Bulk(v.clone());
        }
    }
    Ok(Reply::Array(out))
}

/// A `LIMIT count` value: a positive integer.
fn limit(arg: &[u8]) -> CmdResult<u64> {
    let n = int(arg)?;
    if n <= 0 {
        return Err(CmdError::err("LIMIT must be positive"));
    }
    Ok(n as u64)
}

/// `ARSCAN key start end [LIMIT count]`: set slots as [index, value] pairs.
fn arscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = index(&a[2])?;
    let end = index(&a[3])?;
    let max = match a.len() {
        6 if is(&a[4], "LIMIT") => limit(&a[5])?,
        6 => return Err(CmdError::Syntax),
        4 => u64::MAX,
        _ => return Err(wrong_args(a)),
    };
    let Some(arr) = ctx.get_array(&a[1])? else { return Ok(Reply::Array(Vec::new())) };
    let items = arr
        .scan(start, end)
        .take(usize::try_from(max).unwrap_or(usize::MAX))
        .map(|(i, v)| Reply::Array(vec![Reply::uint(i), Reply::Bulk(v.clone())]))
        .collect();
    Ok(Reply::Array(items))
}

/// One ARGREP predicate.
enum Pred {
    Exact(Bytes),
    Match(Bytes),
    Glob(Bytes),
    Re(Bytes, Option<Regex>),
}

const MAX_PREDICATES: usize = 250;
const MAX_RE_LEN: usize = 2048;

/// ARGREP's `-` (start of the array), `+` (its end) or an index.
enum Bound {
    Start,
    End,
    At(u64),
}

fn bound(arg: &[u8]) -> CmdResult<Bound> {
    match arg {
        b"-" => Ok(Bound::Start),
        b"+" => Ok(Bound::End),
        _ => index(arg).map(Bound::At),
    }
}

/// True if a POSIX extended regex uses a backreference (`\1`..`\9` outside a bracket).
fn has_backref(p: &[u8]) -> bool {
    let mut i = 0;
    let mut in_bracket = false;
    while i < p.len() {
        match p[i] {
            b'\\' if !in_bracket => {
                if p.get(i + 1).is_some_and(|c| (b'1'..=b'9').contains(c)) {
                    return true;
                }
                i += 2;
                continue;
            }
            b'[' if !in_bracket => {
                in_bracket = true;
                // A `]` (after an optional `^`) first in the bracket is literal.
                if p.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if p.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'[' if in_bracket && matches!(p.get(i + 1), Some(b':' | b'.' | b'=')) => {
                // [:class:], [.coll.], [=equiv=]: skip to the closing pair.
                let close = p[i + 1];
                let mut j = i + 2;
                while j + 1 < p.len() && !(p[j] == close && p[j + 1] == b']') {
                    j += 1;
                }
                i = j + 2;
                continue;
            }
            b']' if in_bracket => in_bracket = false,
            _ => {}
        }
        i += 1;
    }
    false
}

fn compile(p: &[u8], nocase: bool) -> CmdResult<Regex> {
    if p.is_empty() {
        return Err(CmdError::err("regular expression is empty"));
    }
    if has_backref(p) {
        return Err(CmdError::err("regular expression backreferences are not supported"));
    }
    let text = std::str::from_utf8(p).map_err(|_| CmdError::err("invalid regular expression: invalid UTF-8 in pattern"))?;
    RegexBuilder::new(text).unicode(false).case_insensitive(nocase).size_limit(1 << 22).dfa_size_limit(1 << 22).build().map_err(|e| {
        let msg = match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or("syntax error").trim_start_matches("error: ").to_string(),
            regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
            _ => "invalid pattern".to_string(),
        };
        CmdError::err(format!("invalid regular expression: {msg}"))
    })
}

fn ascii_contains(hay: &[u8], needle: &[u8], nocase: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    if nocase {
        hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
    } else {
        memchr::memmem::find(hay, needle).is_some()
    }
}

impl Pred {
    fn matches(&self, v: &[u8], nocase: bool) -> bool {
        match self {
            Pred::Exact(p) if nocase => v.eq_ignore_ascii_case(p),
            Pred::Exact(p) => v == &p[..],
            Pred::Match(p) => ascii_contains(v, p, nocase),
            Pred::Glob(p) if nocase => glob::matches_nocase(p, v),
            Pred::Glob(p) => glob::matches(p, v),
            Pred::Re(_, Some(re)) => re.is_match(v),
            Pred::Re(_, None) => false,
        }
    }
}

/// `ARGREP key start end (EXACT|MATCH|GLOB|RE pattern)... [AND|OR] [LIMIT n] [WITHVALUES]
/// [NOCASE]` (predicates and options in any order; the last of a repeated option wins).
fn argrep(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = bound(&a[2])?;
    let end = bound(&a[3])?;
    let mut preds: Vec<Pred> = Vec::new();
    let (mut and, mut withvalues, mut nocase, mut max) = (false, false, false, u64::MAX);
    let mut j = 4;
    while j < a.len() {
        let t = &a[j];
        let kind = ["EXACT", "MATCH", "GLOB", "RE"].into_iter().position(|k| is(t, k));
        if let Some(kind) = kind {
            let p = a.get(j + 1).ok_or(CmdError::Syntax)?.clone();
            if preds.len() >= MAX_PREDICATES {
                return Err(CmdError::err(format!("too many predicates, maximum is {MAX_PREDICATES}")));
            }
            if kind == 3 && p.len() > MAX_RE_LEN {
                return Err(CmdError::err(format!("regular expression is too long, maximum is {MAX_RE_LEN} bytes")));
            }
            preds.push(match kind {
                0 => Pred::Exact(p),
                1 => Pred::Match(p),
                2 => Pred::Glob(p),
                _ => Pred::Re(p, None),
            });
            j += 2;
        } else if is(t, "LIMIT") {
            max = limit(a.get(j + 1).ok_or(CmdError::Syntax)?)?;
            j += 2;
        } else if is(t, "WITHVALUES") {
            withvalues = true;
            j += 1;
        } else if is(t, "NOCASE") {
            nocase = true;
            j += 1;
        } else if is(t, "AND") || is(t, "OR") {
            and = is(t, "AND");
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if preds.is_empty() {
        return Err(CmdError::Syntax);
    }
    for p in preds.iter_mut() {
        if let Pred::Re(src, re) = p {
            *re = Some(compile(src, nocase)?);
        }
    }
    let Some(arr) = ctx.get_array(&a[1])? else { return Ok(Reply::Array(Vec::new())) };
    let len = arr.len();
    if len == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let resolve = |b: &Bound| match b {
        Bound::Start => 0,
        Bound::End => len - 1,
        Bound::At(i) => *i,
    };
    let mut out = Vec::new();
    for (i, v) in arr.scan(resolve(&start), resolve(&end)) {
        if out.len() as u64 >= max {
            break;
        }
        let hit = if and { preds.iter().all(|p| p.matches(v, nocase)) } else { preds.iter().any(|p| p.matches(v, nocase)) };
        if hit {
            out.push(if withvalues { Reply::Array(vec![Reply::uint(i), Reply::Bulk(v.clone())]) } else { Reply::uint(i) });
        }
    }
    Ok(Reply::Array(out))
}

/// AROP's operations.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Sum,
    Min,
    Max,
    And,
    Or,
    Xor,
    Match,
    Used,
}

/// An element as a number the way AROP reads it: an integer (Redis's `string2ll`), else a
/// float (`strtold` rules); None for anything else.
fn numeric(v: &[u8]) -> Option<(f64, Option<i64>)> {
    if let Some(n) = int(v).ok().filter(|n| itoa::Buffer::new().format(*n).as_bytes() == v) {
        return Some((n as f64, Some(n)));
    }
    crate::args::parse_float(v).map(|f| (f, None))
}

/// `AROP key start end SUM|MIN|MAX|AND|OR|XOR|USED|MATCH value`
fn arop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = index(&a[2])?;
    let end = index(&a[3])?;
    let ops = [
        ("SUM", Op::Sum),
        ("MIN", Op::Min),
        ("MAX", Op::Max),
        ("AND", Op::And),
        ("OR", Op::Or),
        ("XOR", Op::Xor),
        ("MATCH", Op::Match),
        ("USED", Op::Used),
    ];
    let op = ops.iter().find(|(n, _)| is(&a[4], n)).map(|&(_, o)| o).ok_or_else(|| CmdError::err("unknown operation"))?;
    if op == Op::Match {
        if a.len() != 6 {
            return Err(CmdError::err("MATCH requires a value argument"));
        }
    } else if a.len() != 5 {
        return Err(wrong_args(a));
    }
    let Some(arr) = ctx.get_array(&a[1])? else {
        return Ok(if matches!(op, Op::Match | Op::Used) { Reply::Int(0) } else { Reply::Nil });
    };
    let items = arr.scan(start, end);
    match op {
        Op::Used => Ok(Reply::Int(items.count() as i64)),
        Op::Match => Ok(Reply::Int(items.filter(|(_, v)| v[..] == a[5][..]).count() as i64)),
        Op::And | Op::Or | Op::Xor => {
            let mut acc: Option<i64> = None;
            for (_, v) in items {
                let Some((f, n)) = numeric(v) else { continue };
                let n = match n {
                    Some(n) => n,
                    // Floats count by their integer part, if it fits in 64 bits.
                    None if (i64::MIN as f64..-(i64::MIN as f64)).contains(&f) => f.trunc() as i64,
                    None => continue,
                };
                acc = Some(match (acc, op) {
                    (None, _) => n,
                    (Some(x), Op::And) => x & n,
                    (Some(x), Op::Or) => x | n,
                    (Some(x), _) => x ^ n,
                });
            }
            Ok(acc.map_or(Reply::Nil, Reply::Int))
        }
        Op::Sum | Op::Min | Op::Max => {
            let mut acc: Option<f64> = None;
            for (_, v) in items {
                let Some((f, _)) = numeric(v) else { continue };
                acc = Some(match (acc, op) {
                    (None, _) => f,
                    (Some(x), Op::Sum) => x + f,
                    (Some(x), Op::Min) => x.min(f),
                    (Some(x), _) => x.max(f),
                });
            }
            Ok(acc.map_or(Reply::Nil, |x| Reply::Bulk(Bytes::from(crate::reply::format_double(x)))))
        }
    }
}

/// `ARINSERT key value [value ...]`: writes at the cursor; replies with the last index written.
fn arinsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let arr = ctx.array_or_create(&a[1])?;
    let result = arr.insert(&a[2..]);
    let empty = arr.is_empty();
    match result {
        Ok(last) => {
            ctx.dirty((a.len() - 2) as u64);
            Ok(Reply::uint(last))
        }
        Err(_) => {
            if empty {
                // Never reached (a new array starts at 0), but never leave an empty key.
                ctx.delete_if_empty(&a[1]);
            }
            Err(CmdError::err("insert index overflow"))
        }
    }
}

/// `ARRING key size value [value ...]`: writes into a ring of `size` slots.
fn arring(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let size = int(&a[2]).map_err(|_| CmdError::err("invalid size"))?;
    if size <= 0 {
        return Err(CmdError::err("size must be positive"));
    }
    let arr = ctx.array_or_create(&a[1])?;
    let last = arr.ring(size as u64, &a[3..]);
    ctx.dirty((a.len() - 3) as u64);
    Ok(Reply::uint(last))
}

/// `ARNEXT key`: the index ARINSERT would use next (null once exhausted).
fn arnext(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(arr) = ctx.get_array(&a[1])? else { return Ok(Reply::Int(0)) };
    Ok(arr.next_insert().map_or(Reply::Nil, Reply::uint))
}

/// `ARSEEK key index`: moves the cursor; 0 if the key does not exist.
fn arseek(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let i = parse_index(&a[2], true).ok_or_else(bad_index)?;
    let Some(arr) = ctx.get_array_mut(&a[1])? else { return Ok(Reply::Int(0)) };
    arr.seek(i);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `ARLASTITEMS key count [REV]`: the last `count` positions up to the cursor, oldest first
/// (newest first with REV); holes are nulls.
fn arlastitems(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = int(&a[2]).map_err(|_| CmdError::err("invalid COUNT"))?;
    if count <= 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let rev = match a.len() {
        4 if is(&a[3], "REV") => true,
        4 => return Err(CmdError::Syntax),
        3 => false,
        _ => return Err(wrong_args(a)),
    };
    let Some(arr) = ctx.get_array(&a[1])? else { return Ok(Reply::Array(Vec::new())) };
    let span = arr.last_items_span(count as u64);
    if span > arr.count() && span > MAX_REPLY_ITEMS {
        return Err(CmdError::err(format!("count exceeds maximum of {MAX_REPLY_ITEMS} items")));
    }
    let mut items: Vec<Reply> = arr.last_items(span).into_iter().map(|v| value_reply(v.as_ref())).collect();
    if !rev {
        items.reverse();
    }
    Ok(Reply::Array(items))
}

/// `ARINFO key [FULL]`
fn arinfo(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let full = match a.len() {
        2 => false,
        3 if is(&a[2], "FULL") => true,
        _ => return Err(CmdError::Syntax),
    };
    let Some(arr) = ctx.get_array(&a[1])? else { return Err(CmdError::NoSuchKey) };
    let l = arr.layout();
    let field = |s: &'static str| Reply::Bulk(lit(s));
    let next = match arr.insert_idx() {
        Some(i) if i < MAX_INDEX => i + 1,
        _ => 0,
    };
    let mut m = vec![
        (field("count"), Reply::uint(arr.count())),
        (field("len"), Reply::uint(arr.len())),
        (field("next-insert-index"), Reply::uint(next)),
        (field("slices"), Reply::uint(l.slices)),
        (field("directory-size"), Reply::uint(l.directory_size)),
        (field("super-dir-entries"), Reply::uint(l.super_dir_entries)),
        (field("slice-size"), Reply::uint(SLICE_SIZE)),
    ];
    if full {
        let ratio = |n: u64, d: u64| if d > 0 { n as f64 / d as f64 } else { 0.0 };
        m.extend([
            (field("dense-slices"), Reply::uint(l.dense_slices)),
            (field("sparse-slices"), Reply::uint(l.sparse_slices)),
            (field("avg-dense-size"), Reply::Double(ratio(l.dense_window_total, l.dense_slices))),
            (field("avg-dense-fill"), Reply::Double(ratio(l.dense_count_total, l.dense_window_total))),
            (field("avg-sparse-size"), Reply::Double(ratio(l.sparse_cap_total, l.sparse_slices))),
        ]);
    }
    Ok(Reply::Map(m))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::Reply;

    fn int(n: i64) -> Reply {
        Reply::Int(n)
    }

    fn pairs(items: &[(i64, &str)]) -> Reply {
        Reply::Array(items.iter().map(|&(i, v)| Reply::Array(vec![Reply::Int(i), b(v)])).collect())
    }

    #[test]
    fn set_get_len_count() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ARSET", "a", "0", "hello"]), int(1));
        assert_eq!(t.ok(&["ARSET", "a", "2", "x", "y", "z"]), int(3));
        assert_eq!(t.ok(&["ARSET", "a", "3", "Y", "Z", "W"]), int(1));
        assert_eq!(t.ok(&["ARGET", "a", "0"]), b("hello"));
        assert_eq!(t.ok(&["ARGET", "a", "1"]), Reply::Nil);
        assert_eq!(t.ok(&["ARGET", "nokey", "1"]), Reply::Nil);
        assert_eq!(t.ok(&["ARLEN", "a"]), int(6));
        assert_eq!(t.ok(&["ARCOUNT", "a"]), int(5));
        assert_eq!(t.ok(&["ARLEN", "nokey"]), int(0));
        assert_eq!(t.ok(&["ARCOUNT", "nokey"]), int(0));
        assert_eq!(t.ok(&["TYPE", "a"]), Reply::status("array"));
        assert_eq!(t.ok(&["ARSET", "big", "18446744073709551614", "top"]), int(1));
        assert_eq!(t.ok(&["ARLEN", "big"]), Reply::UInt(u64::MAX));
        assert_eq!(t.ok(&["ARGET", "big", "18446744073709551614"]), b("top"));
    }

    #[test]
    fn index_validation_like_redis() {
        let mut t = T::new();
        for bad in ["-1", "abc", "18446744073709551615", "18446744073709551616", "1.5", ""] {
            assert_eq!(t.err(&["ARSET", "a", bad, "v"]), "ERR invalid array index", "{bad}");
            assert_eq!(t.err(&["ARGET", "a", bad]), "ERR invalid array index", "{bad}");
        }
        // strtoull's leniency: leading zeros, a plus sign, leading blanks.
        assert_eq!(t.ok(&["ARSET", "a", "007", "v"]), int(1));
        assert_eq!(t.ok(&["ARGET", "a", "+7"]), b("v"));
        assert_eq!(t.ok(&["ARGET", "a", " 7"]), b("v"));
        assert_eq!(t.err(&["ARSET", "a", "18446744073709551613", "x", "y", "z"]), "ERR array index overflow");
        assert_eq!(t.ok(&["ARCOUNT", "a"]), int(1));
        assert_eq!(t.err(&["ARSET", "a", "1"]), "ERR wrong number of arguments for 'arset' command");
        assert_eq!(t.err(&["ARMSET", "a", "1", "x", "2"]), "ERR wrong number of arguments for 'armset' command");
        assert_eq!(t.err(&["ARMSET", "a", "1", "x", "-2", "y"]), "ERR invalid array index");
        assert_eq!(t.ok(&["ARGET", "a", "1"]), Reply::Nil);
        t.ok(&["SET", "s", "x"]);
        assert_eq!(t.err(&["ARSET", "s", "0", "v"]), WRONGTYPE);
        assert_eq!(t.err(&["ARGET", "s", "0"]), WRONGTYPE);
        assert_eq!(t.err(&["ARLEN", "s"]), WRONGTYPE);
        // An index error comes before the type check for reads of a single index.
        assert_eq!(t.err(&["ARGET", "s", "x"]), WRONGTYPE);
        assert_eq!(t.err(&["ARDEL", "s", "x"]), "ERR invalid array index");
    }

    #[test]
    fn mset_mget_del() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ARMSET", "m", "0", "10", "5", "20", "100", "30"]), int(3));
        assert_eq!(t.ok(&["ARMGET", "m", "0", "5", "100", "999"]), Reply::Array(vec![b("10"), b("20"), b("30"), Reply::Nil]));
        assert_eq!(t.ok(&["ARMGET", "nokey", "0", "1"]), Reply::Array(vec![Reply::Nil, Reply::Nil]));
        assert_eq!(t.err(&["ARMGET", "m", "0", "x"]), "ERR invalid array index");
        assert_eq!(t.ok(&["ARDEL", "m", "0", "1", "0"]), int(1));
        assert_eq!(t.ok(&["ARDEL", "nokey", "0"]), int(0));
        assert_eq!(t.ok(&["ARDELRANGE", "m", "200", "50"]), int(1));
        assert_eq!(t.ok(&["ARLEN", "m"]), int(6));
        assert_eq!(t.ok(&["ARDELRANGE", "m", "0", "10", "20", "30"]), int(1));
        assert_eq!(t.ok(&["EXISTS", "m"]), int(0));
        assert_eq!(t.err(&["ARDELRANGE", "m", "0"]), "ERR wrong number of arguments for 'ardelrange' command");
        assert_eq!(t.err(&["ARDELRANGE", "m", "0", "1", "2"]), "ERR wrong number of arguments for 'ardelrange' command");
    }

    #[test]
    fn getrange_and_scan() {
        let mut t = T::new();
        t.ok(&["ARMSET", "r", "1", "a", "3", "c"]);
        assert_eq!(t.ok(&["ARGETRANGE", "r", "0", "3"]), Reply::Array(vec![Reply::Nil, b("a"), Reply::Nil, b("c")]));
        assert_eq!(t.ok(&["ARGETRANGE", "r", "3", "1"]), Reply::Array(vec![b("c"), Reply::Nil, b("a")]));
        assert_eq!(t.ok(&["ARGETRANGE", "nokey", "0", "1"]), Reply::Array(vec![Reply::Nil, Reply::Nil]));
        assert_eq!(t.err(&["ARGETRANGE", "r", "0", "1000000"]), "ERR range exceeds maximum of 1000000 items");
        assert_eq!(t.ok(&["ARGETRANGE", "r", "0", "999999"]).clone(), {
            let mut v = vec![Reply::Nil; 1_000_000];
            v[1] = b("a");
            v[3] = b("c");
            Reply::Array(v)
        });
        assert_eq!(t.ok(&["ARSCAN", "r", "0", "18446744073709551614"]), pairs(&[(1, "a"), (3, "c")]));
        assert_eq!(t.ok(&["ARSCAN", "r", "10", "0", "LIMIT", "1"]), pairs(&[(3, "c")]));
        assert_eq!(t.ok(&["ARSCAN", "nokey", "0", "10"]), Reply::Array(vec![]));
        assert_eq!(t.err(&["ARSCAN", "r", "0", "1", "LIMIT", "0"]), "ERR LIMIT must be positive");
        assert_eq!(t.err(&["ARSCAN", "r", "0", "1", "LIMIT", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.err(&["ARSCAN", "r", "0", "1", "COUNT", "1"]), "ERR syntax error");
        assert_eq!(t.err(&["ARSCAN", "r", "0", "1", "LIMIT"]), "ERR wrong number of arguments for 'arscan' command");
    }

    #[test]
    fn grep_predicates() {
        let mut t = T::new();
        t.ok(&["ARSET", "g", "0", "apple", "Banana", "cherry", "apricot", "x1y"]);
        assert_eq!(t.ok(&["ARGREP", "g", "-", "+", "MATCH", "an"]), Reply::Array(vec![int(1)]));
        assert_eq!(t.ok(&["ARGREP", "g", "-", "+", "EXACT", "banana", "NOCASE"]), Reply::Array(vec![int(1)]));
        assert_eq!(t.ok(&["ARGREP", "g", "-", "+", "GLOB", "a*"]), Reply::Array(vec![int(0), int(3)]));
        assert_eq!(t.ok(&["ARGREP", "g", "+", "-", "GLOB", "a*", "LIMIT", "1"]), Reply::Array(vec![int(3)]));
        assert_eq!(t.ok(&["ARGREP", "g", "0", "10", "RE", "^[a-c]", "AND", "MATCH", "e"]), Reply::Array(vec![int(0), int(2)]));
        assert_eq!(t.ok(&["ARGREP", "g", "0", "10", "RE", "[[:digit:]]", "WITHVALUES"]), pairs(&[(4, "x1y")]));
        assert_eq!(t.ok(&["ARGREP", "g", "0", "10", "RE", "^b", "NOCASE"]), Reply::Array(vec![int(1)]));
        assert_eq!(t.ok(&["ARGREP", "nokey", "-", "+", "MATCH", "a"]), Reply::Array(vec![]));
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "LIMIT", "1"]), "ERR syntax error");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "MATCH"]), "ERR wrong number of arguments for 'argrep' command");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "MATCH", "a", "RE"]), "ERR syntax error");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "FOO", "a"]), "ERR syntax error");
        assert_eq!(t.err(&["ARGREP", "g", "x", "+", "MATCH", "a"]), "ERR invalid array index");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "RE", ""]), "ERR regular expression is empty");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "RE", "(a)\\1"]), "ERR regular expression backreferences are not supported");
        assert!(t.err(&["ARGREP", "g", "-", "+", "RE", "(a"]).starts_with("ERR invalid regular expression: "));
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "RE", &"a".repeat(2049)]), "ERR regular expression is too long, maximum is 2048 bytes");
        assert_eq!(t.err(&["ARGREP", "g", "-", "+", "MATCH", "a", "LIMIT", "-1"]), "ERR LIMIT must be positive");
        let mut many = vec!["ARGREP", "g", "-", "+"];
        for _ in 0..251 {
            many.extend(["MATCH", "a"]);
        }
        assert_eq!(t.err(&many), "ERR too many predicates, maximum is 250");
        t.ok(&["SET", "s", "x"]);
        assert_eq!(t.err(&["ARGREP", "s", "-", "+", "MATCH", "a"]), WRONGTYPE);
    }

    #[test]
    fn op_aggregates() {
        let mut t = T::new();
        t.ok(&["ARSET", "o", "0", "1", "2.5", "abc", "-4", "6"]);
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "SUM"]), b("5.5"));
        assert_eq!(t.ok(&["AROP", "o", "10", "0", "MIN"]), b("-4"));
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "max"]), b("6"));
        assert_eq!(t.ok(&["AROP", "o", "0", "1", "AND"]), int(0));
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "OR"]), int(1 | 2 | -4 | 6));
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "XOR"]), int(1 ^ 2 ^ -4 ^ 6));
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "MATCH", "abc"]), int(1));
        assert_eq!(t.ok(&["AROP", "o", "0", "10", "USED"]), int(5));
        assert_eq!(t.ok(&["AROP", "o", "2", "2", "SUM"]), Reply::Nil);
        assert_eq!(t.ok(&["AROP", "o", "2", "2", "XOR"]), Reply::Nil);
        assert_eq!(t.ok(&["AROP", "nokey", "0", "1", "SUM"]), Reply::Nil);
        assert_eq!(t.ok(&["AROP", "nokey", "0", "1", "USED"]), int(0));
        assert_eq!(t.err(&["AROP", "o", "0", "1", "AVG"]), "ERR unknown operation");
        assert_eq!(t.err(&["AROP", "o", "0", "1", "MATCH"]), "ERR MATCH requires a value argument");
        assert_eq!(t.err(&["AROP", "o", "0", "1", "SUM", "x"]), "ERR wrong number of arguments for 'arop' command");
        assert_eq!(t.err(&["AROP", "o", "-1", "1", "SUM"]), "ERR invalid array index");
    }

    #[test]
    fn insert_next_seek() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ARNEXT", "c"]), int(0));
        assert_eq!(t.ok(&["ARINSERT", "c", "alpha"]), int(0));
        assert_eq!(t.ok(&["ARINSERT", "c", "beta", "gamma"]), int(2));
        assert_eq!(t.ok(&["ARNEXT", "c"]), int(3));
        assert_eq!(t.ok(&["ARSEEK", "c", "10"]), int(1));
        assert_eq!(t.ok(&["ARINSERT", "c", "x"]), int(10));
        assert_eq!(t.ok(&["ARSEEK", "nokey", "10"]), int(0));
        assert_eq!(t.ok(&["EXISTS", "nokey"]), int(0));
        assert_eq!(t.err(&["ARSEEK", "c", "-1"]), "ERR invalid array index");
        assert_eq!(t.ok(&["ARSEEK", "c", "18446744073709551615"]), int(1));
        assert_eq!(t.ok(&["ARNEXT", "c"]), Reply::Nil);
        assert_eq!(t.err(&["ARINSERT", "c", "y"]), "ERR insert index overflow");
        assert_eq!(t.ok(&["ARSEEK", "c", "18446744073709551614"]), int(1));
        assert_eq!(t.ok(&["ARNEXT", "c"]), Reply::UInt(18446744073709551614));
        assert_eq!(t.err(&["ARINSERT", "c", "y", "z"]), "ERR insert index overflow");
        assert_eq!(t.ok(&["ARINSERT", "c", "y"]), Reply::UInt(18446744073709551614));
        assert_eq!(t.ok(&["ARCOUNT", "c"]), int(5));
    }

    #[test]
    fn ring_and_last_items() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ARRING", "r", "3", "a", "b", "c", "d"]), int(0));
        assert_eq!(t.ok(&["ARLASTITEMS", "r", "3"]), arr(&["b", "c", "d"]));
        assert_eq!(t.ok(&["ARLASTITEMS", "r", "2", "REV"]), arr(&["d", "c"]));
        assert_eq!(t.ok(&["ARLASTITEMS", "r", "0", "junk", "more"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["ARLASTITEMS", "nokey", "3"]), Reply::Array(vec![]));
        assert_eq!(t.err(&["ARLASTITEMS", "r", "x"]), "ERR invalid COUNT");
        assert_eq!(t.err(&["ARLASTITEMS", "r", "1", "FWD"]), "ERR syntax error");
        assert_eq!(t.err(&["ARLASTITEMS", "r", "1", "REV", "x"]), "ERR wrong number of arguments for 'arlastitems' command");
        assert_eq!(t.ok(&["ARRING", "r", "2", "e"]), int(0));
        assert_eq!(t.ok(&["ARGETRANGE", "r", "0", "2"]), Reply::Array(vec![b("e"), b("d"), Reply::Nil]));
        assert_eq!(t.err(&["ARRING", "r", "x", "v"]), "ERR invalid size");
        assert_eq!(t.err(&["ARRING", "r", "0", "v"]), "ERR size must be positive");
        assert_eq!(t.ok(&["ARNEXT", "r"]), int(1));
        t.ok(&["ARSET", "sp", "5000000", "x"]);
        assert_eq!(t.err(&["ARLASTITEMS", "sp", "2000000"]), "ERR count exceeds maximum of 1000000 items");
    }

    #[test]
    fn info_fields() {
        let mut t = T::new();
        assert_eq!(t.err(&["ARINFO", "nokey"]), "ERR no such key");
        t.ok(&["ARINSERT", "i", "a", "b"]);
        let Reply::Map(m) = t.ok(&["ARINFO", "i"]) else { panic!() };
        let names: Vec<_> = m.iter().map(|(k, _)| k.clone()).collect();
        let want = ["count", "len", "next-insert-index", "slices", "directory-size", "super-dir-entries", "slice-size"];
        assert_eq!(names, want.iter().map(|s| b(s)).collect::<Vec<_>>());
        assert_eq!(m[2].1, int(2));
        assert_eq!(m[6].1, int(4096));
        let Reply::Map(m) = t.ok(&["ARINFO", "i", "full"]) else { panic!() };
        assert_eq!(m.len(), 12);
        assert_eq!(m[9].1, Reply::Double(0.0));
        assert_eq!(m[11].1, Reply::Double(4.0));
        assert_eq!(t.err(&["ARINFO", "i", "FULL", "x"]), "ERR syntax error");
        assert_eq!(t.err(&["ARINFO", "i", "x"]), "ERR syntax error");
    }

    #[test]
    fn writes_log_as_received_and_rewrite_rebuilds() {
        let mut t = T::new();
        let (_, fx, d) = t.logged_text(&["ARSET", "k", "3", "a", "b"]);
        assert_eq!((fx, d), (vec![vec!["ARSET".to_string(), "k".into(), "3".into(), "a".into(), "b".into()]], 2));
        let (_, fx, d) = t.logged_text(&["ARDEL", "k", "9"]);
        assert_eq!((fx.len(), d), (0, 0));
        let (_, fx, _) = t.logged_text(&["ARSEEK", "nokey", "9"]);
        assert!(fx.is_empty());
        t.ok(&["ARINSERT", "k", "z"]);
        let shared = t.engine.shared.clone();
        let ks = shared.ks.lock();
        let Some(crate::value::Value::Array(a)) = ks.dbs[0].map.get(&b"k"[..]).map(|e| &e.value) else { panic!() };
        let cmds = super::rewrite_commands(&bytes::Bytes::from_static(b"k"), a);
        let text: Vec<Vec<String>> = cmds.iter().map(|c| c.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect()).collect();
        assert_eq!(text, vec![vec!["ARMSET", "k", "0", "z", "3", "a", "4", "b"], vec!["ARSEEK", "k", "1"]]);
    }

    #[test]
    fn strtoull_edges() {
        assert_eq!(super::parse_index(b"-0", false), Some(0));
        assert_eq!(super::parse_index(b" -5", false), Some(u64::MAX - 4));
        assert_eq!(super::parse_index(b"18446744073709551615", true), Some(u64::MAX));
        assert_eq!(super::parse_index(b"5 ", false), None);
        assert_eq!(super::parse_index(b"+", false), None);
    }
}
