//! Sorted-set commands (Redis `t_zset.c`).

use std::ops::Bound;

use bytes::Bytes;
use rand::Rng;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::cmd::keys::{parse_scan, scan_all, scan_collection};
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Db;
use crate::reply::format_double;
use crate::value::{Map, Set, Value};
use crate::zset::ZSet;
use crate::{Ctx, Reply};

/// Sorted-set command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("zadd", -4, WRITE | DENYOOM | FAST, 1, 1, 1, zadd, "sortedset"),
    cmd!("zincrby", 4, WRITE | DENYOOM | FAST, 1, 1, 1, zincrby, "sortedset"),
    cmd!("zrem", -3, WRITE | FAST, 1, 1, 1, zrem, "sortedset"),
    cmd!("zcard", 2, READONLY | FAST, 1, 1, 1, zcard, "sortedset"),
    cmd!("zscore", 3, READONLY | FAST, 1, 1, 1, zscore, "sortedset"),
    cmd!("zmscore", -3, READONLY | FAST, 1, 1, 1, zmscore, "sortedset"),
    cmd!("zrank", -3, READONLY | FAST, 1, 1, 1, zrank, "sortedset"),
    cmd!("zrevrank", -3, READONLY | FAST, 1, 1, 1, zrank, "sortedset"),
    cmd!("zcount", 4, READONLY | FAST, 1, 1, 1, zcount, "sortedset"),
    cmd!("zlexcount", 4, READONLY | FAST, 1, 1, 1, zlexcount, "sortedset"),
    cmd!("zrange", -4, READONLY, 1, 1, 1, zrange, "sortedset"),
    cmd!("zrangestore", -5, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, 2, 1, zrangestore, "sortedset"),
    cmd!("zrangebyscore", -4, READONLY, 1, 1, 1, zrangebyscore, "sortedset"),
    cmd!("zrevrangebyscore", -4, READONLY, 1, 1, 1, zrevrangebyscore, "sortedset"),
    cmd!("zrangebylex", -4, READONLY, 1, 1, 1, zrangebylex, "sortedset"),
    cmd!("zrevrangebylex", -4, READONLY, 1, 1, 1, zrevrangebylex, "sortedset"),
    cmd!("zrevrange", -4, READONLY, 1, 1, 1, zrevrange, "sortedset"),
    cmd!("zremrangebyrank", 4, WRITE, 1, 1, 1, zremrangebyrank, "sortedset"),
    cmd!("zremrangebyscore", 4, WRITE, 1, 1, 1, zremrangebyscore, "sortedset"),
    cmd!("zremrangebylex", 4, WRITE, 1, 1, 1, zremrangebylex, "sortedset"),
    cmd!("zpopmin", -2, WRITE | FAST, 1, 1, 1, zpopmin, "sortedset"),
    cmd!("zpopmax", -2, WRITE | FAST, 1, 1, 1, zpopmax, "sortedset"),
    cmd!("zmpop", -4, WRITE, 0, 0, 0, zmpop, "sortedset"),
    cmd!("bzpopmin", -3, WRITE | FAST | BLOCKING, 1, -2, 1, bzpopmin, "sortedset"),
    cmd!("bzpopmax", -3, WRITE | FAST | BLOCKING, 1, -2, 1, bzpopmax, "sortedset"),
    cmd!("bzmpop", -5, WRITE | BLOCKING, 0, 0, 0, bzmpop, "sortedset"),
    cmd!("zrandmember", -2, READONLY | RANDOM, 1, 1, 1, zrandmember, "sortedset"),
    cmd!("zunion", -3, READONLY, 0, 0, 0, zunion, "sortedset"),
    cmd!("zinter", -3, READONLY, 0, 0, 0, zinter, "sortedset"),
    cmd!("zdiff", -3, READONLY, 0, 0, 0, zdiff, "sortedset"),
    cmd!("zunionstore", -4, WRITE | DENYOOM, 1, 1, 1, zunionstore, "sortedset"),
    cmd!("zinterstore", -4, WRITE | DENYOOM, 1, 1, 1, zinterstore, "sortedset"),
    cmd!("zdiffstore", -4, WRITE | DENYOOM, 1, 1, 1, zdiffstore, "sortedset"),
    cmd!("zintercard", -3, READONLY, 0, 0, 0, zintercard, "sortedset"),
    cmd!("zscan", -3, READONLY, 1, 1, 1, zscan, "sortedset"),
];

// ---------------------------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------------------------

/// Parses a float the way Redis's `getDoubleFromObject` does: like [`args::parse_float`] but
/// also rejecting values that overflow to infinity or underflow to zero (`strtod` ERANGE).
fn strict_float(arg: &[u8]) -> Option<f64> {
    let v = args::parse_float(arg)?;
    let mantissa = arg.split(|&c| c == b'e' || c == b'E').next().unwrap_or_default();
    if v.is_infinite() && !arg.iter().any(|c| c.eq_ignore_ascii_case(&b'i')) {
        return None;
    }
    if v == 0.0 && mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    Some(v)
}

/// A float argument (`ERR value is not a valid float`).
fn float_arg(arg: &[u8]) -> CmdResult<f64> {
    strict_float(arg).ok_or(CmdError::NotFloat)
}

/// Parses one end of a score range: `1.5`, `(1.5`, `-inf`, `+inf` (`strtod` semantics).
fn parse_score_bound(arg: &[u8]) -> Option<Bound<f64>> {
    let (excl, rest) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let v = if rest.is_empty() {
        0.0
    } else {
        let start = rest.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(rest.len());
        args::parse_float(&rest[start..])?
    };
    Some(if excl { Bound::Excluded(v) } else { Bound::Included(v) })
}

/// Parses a `min max` score range (`ERR min or max is not a float`).
fn parse_score_range(min: &[u8], max: &[u8]) -> CmdResult<(Bound<f64>, Bound<f64>)> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(lo), Some(hi)) => Ok((lo, hi)),
        _ => Err(CmdError::err("min or max is not a float")),
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone)]
enum Lex {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[value`
    Incl(Bytes),
    /// `(value`
    Excl(Bytes),
}

/// A lexicographic range `[min, max]` with per-end exclusivity.
#[derive(Debug, Clone)]
struct LexRange {
    min: Lex,
    max: Lex,
}

impl LexRange {
    /// True if `m` is at or above the lower end.
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(v) => m >= &v[..],
            Lex::Excl(v) => m > &v[..],
        }
    }
    /// True if `m` is at or below the upper end.
    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(v) => m <= &v[..],
            Lex::Excl(v) => m < &v[..],
        }
    }
}

/// Parses one end of a lex range: `-`, `+`, `[value`, `(value`.
fn parse_lex_bound(arg: &Bytes) -> Option<Lex> {
    match arg.first()? {
        b'+' if arg.len() == 1 => Some(Lex::Max),
        b'-' if arg.len() == 1 => Some(Lex::Min),
        b'[' => Some(Lex::Incl(arg.slice(1..))),
        b'(' => Some(Lex::Excl(arg.slice(1..))),
        _ => None,
    }
}

/// Parses a `min max` lex range (`ERR min or max not valid string range item`).
fn parse_lex_range(min: &Bytes, max: &Bytes) -> CmdResult<LexRange> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(CmdError::err("min or max not valid string range item")),
    }
}

/// Parses a blocking timeout in (float) seconds into ms; 0 means forever.
fn parse_timeout(arg: &[u8]) -> CmdResult<u64> {
    let secs = args::parse_float(arg).ok_or(CmdError::BadTimeout)?;
    let ms = (secs * 1000.0).ceil();
    if ms >= i64::MAX as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(CmdError::NegativeTimeout);
    }
    Ok(ms as u64)
}

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

/// What a range selects.
#[derive(Debug, Clone)]
enum Range {
    /// Ranks `start..=end` (negative from the end).
    Rank(i64, i64),
    /// Scores between the bounds.
    Score(Bound<f64>, Bound<f64>),
    /// Members between the lex bounds.
    Lex(LexRange),
}

/// How a range argument pair is interpreted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

type Members<'a> = Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a>;

/// Iterates the members a range selects, ascending or (with `rev`) descending.
fn range_iter<'a>(z: &'a ZSet, range: &'a Range, rev: bool) -> Members<'a> {
    match range {
        Range::Rank(start, end) => match args::range(*start, *end, z.len()) {
            None => Box::new(std::iter::empty()),
            Some((s, e)) if rev => Box::new(z.iter().rev().skip(s).take(e - s + 1)),
            Some((s, e)) => Box::new(z.iter().skip(s).take(e - s + 1)),
        },
        Range::Score(min, max) => {
            let it = z.range_by_score(*min, *max);
            if rev {
                Box::new(it.rev())
            } else {
                Box::new(it)
            }
        }
        Range::Lex(r) if rev => Box::new(z.iter().rev().skip_while(move |(m, _)| !r.lte_max(m)).take_while(move |(m, _)| r.gte_min(m))),
        Range::Lex(r) => Box::new(z.iter().skip_while(move |(m, _)| !r.gte_min(m)).take_while(move |(m, _)| r.lte_max(m))),
    }
}

/// Collects a range with an optional `LIMIT offset count` (negative offset: nothing; negative
/// count: everything after the offset).
fn collect_range(z: &ZSet, range: &Range, rev: bool, limit: Option<(i64, i64)>) -> Vec<(Bytes, f64)> {
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 {
        return Vec::new();
    }
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    range_iter(z, range, rev).skip(offset as usize).take(take).map(|(m, s)| (m.clone(), s)).collect()
}

/// A parsed `Z*RANGE*` request.
struct RangeSpec {
    range: Range,
    rev: bool,
    withscores: bool,
    limit: Option<(i64, i64)>,
}

/// A `Z*RANGE*` variant: its range type and direction when fixed by the command name, or `None`
/// when chosen by options (ZRANGE, ZRANGESTORE).
#[derive(Clone, Copy)]
struct Variant {
    by: Option<By>,
    rev: Option<bool>,
}

/// Parses `key min max [BYSCORE|BYLEX] [REV] [LIMIT o c] [WITHSCORES]` with the key at `key_idx`.
fn parse_range_cmd(a: &[Bytes], key_idx: usize, v: Variant, store: bool) -> CmdResult<RangeSpec> {
    let (mut by, mut rev, mut withscores, mut limit) = (v.by, v.rev, false, None);
    let mut j = key_idx + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = &a[j];
        if !store && is(o, "WITHSCORES") {
            withscores = true;
        } else if is(o, "LIMIT") && left >= 2 {
            limit = Some((int(&a[j + 1])?, int(&a[j + 2])?));
            j += 2;
        } else if rev.is_none() && is(o, "REV") {
            rev = Some(true);
        } else if by.is_none() && is(o, "BYLEX") {
            by = Some(By::Lex);
        } else if by.is_none() && is(o, "BYSCORE") {
            by = Some(By::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (by_kind, rev) = (by.unwrap_or(By::Rank), rev.unwrap_or(false));
    if by_kind == By::Rank && v.by.is_some() {
        // Only ZRANGE/ZRANGESTORE accept LIMIT on an index range (hosted-service quirk); the fixed
        // rank variants keep Redis's check, which ignores a LIMIT whose count is -1.
        match limit {
            Some((_, count)) if count != -1 => {
                return Err(CmdError::err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"))
            }
            _ => limit = None,
        }
    }
    if withscores && by_kind == By::Lex {
        return Err(CmdError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let (lo, hi) = if rev && by_kind != By::Rank { (&a[key_idx + 2], &a[key_idx + 1]) } else { (&a[key_idx + 1], &a[key_idx + 2]) };
    let range = match by_kind {
        By::Rank => Range::Rank(int(lo)?, int(hi)?),
        By::Score => {
            let (min, max) = parse_score_range(lo, hi)?;
            Range::Score(min, max)
        }
        By::Lex => Range::Lex(parse_lex_range(lo, hi)?),
    };
    Ok(RangeSpec { range, rev, withscores, limit })
}

// ---------------------------------------------------------------------------------------------
// Replies and storage
// ---------------------------------------------------------------------------------------------

/// The flat `[member, score, member, score...]` (or members only) reply.
fn flat_reply(items: impl IntoIterator<Item = (Bytes, f64)>, withscores: bool) -> Reply {
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        if withscores {
            out.push(Reply::Double(s));
        }
    }
    Reply::Array(out)
}

/// A WITHSCORES reply as Redis 7 sends it: flat in RESP2, `[member, score]` pairs in RESP3.
fn scored_reply(ctx: &Ctx, items: impl IntoIterator<Item = (Bytes, f64)>, withscores: bool) -> Reply {
    if withscores && ctx.session.protocol == stashd_resp::Protocol::Resp3 {
        return Reply::Array(items.into_iter().map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect());
    }
    flat_reply(items, withscores)
}

/// Replaces `dst` with `z` (deleting it when `z` is empty); replies with the size.
fn store_result(ctx: &mut Ctx, dst: &Bytes, z: ZSet) -> CmdResult {
    let n = z.len();
    if n > 0 {
        ctx.set(dst, Value::ZSet(std::sync::Arc::new(z)), 0);
        ctx.dirty(1);
    } else if ctx.delete(dst) {
        ctx.dirty(1);
    }
    Ok(Reply::Int(n as i64))
}

/// A sorted set built from (member, score) pairs.
fn zset_from(items: Vec<(Bytes, f64)>) -> ZSet {
    let mut z = ZSet::new();
    for (m, s) in items {
        z.insert(m, s);
    }
    z
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY / ZREM
// ---------------------------------------------------------------------------------------------

/// ZADD's flags.
#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What `zset_add` did to one member.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Added {
    New,
    Updated,
    Unchanged,
    Skipped,
}

/// Adds or updates one member under ZADD's rules; returns what happened and the final score.
fn zset_add(z: &mut ZSet, member: &Bytes, score: f64, f: AddFlags) -> CmdResult<(Added, f64)> {
    let nan = || CmdError::err("resulting score is not a number (NaN)");
    match z.locate(member) {
        Some(_) if f.nx => Ok((Added::Skipped, 0.0)),
        Some((at, cur)) => {
            let new = if f.incr { score + cur } else { score };
            if new.is_nan() {
                return Err(nan());
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok((Added::Skipped, 0.0));
            }
            if new == cur {
                return Ok((Added::Unchanged, new));
            }
            z.set_score_at(at, new);
            Ok((Added::Updated, new))
        }
        None if f.xx => Ok((Added::Skipped, 0.0)),
        None => {
            z.insert_new(member.clone(), score);
            Ok((Added::New, score))
        }
    }
}

/// Parses ZADD's leading flags; returns them and the index of the first score.
fn parse_add_flags(a: &[Bytes]) -> (AddFlags, usize) {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if is(o, "NX") {
            f.nx = true;
        } else if is(o, "XX") {
            f.xx = true;
        } else if is(o, "GT") {
            f.gt = true;
        } else if is(o, "LT") {
            f.lt = true;
        } else if is(o, "CH") {
            f.ch = true;
        } else if is(o, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    (f, i)
}

/// ZADD with NX/XX/CH for commands built on sorted sets (GEOADD): `pairs` alternates score and
/// member, as in ZADD.
pub(crate) fn zadd_flags(ctx: &mut Ctx, key: &Bytes, nx: bool, xx: bool, ch: bool, pairs: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, key, AddFlags { nx, xx, ch, ..Default::default() }, pairs)
}

/// The shared body of ZADD and ZINCRBY: `pairs` alternates score and member.
fn zadd_generic(ctx: &mut Ctx, key: &Bytes, f: AddFlags, pairs: &[Bytes]) -> CmdResult {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err("XX and NX options at the same time are not compatible"));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::err("INCR option supports a single increment-element pair"));
    }
    let scores = pairs.iter().step_by(2).map(|s| float_arg(s)).collect::<CmdResult<Vec<f64>>>()?;
    let skipped_reply = if f.incr { Reply::Nil } else { Reply::Int(0) };
    if ctx.get_zset(key)?.is_none() && f.xx {
        return Ok(skipped_reply);
    }
    let z = ctx.zset_or_create(key)?;
    let (mut added, mut updated, mut last) = (0u64, 0u64, None);
    let mut result = Ok(());
    for (score, member) in scores.iter().zip(pairs.iter().skip(1).step_by(2)) {
        match zset_add(z, member, *score, f) {
            Ok((what, new)) => {
                match what {
                    Added::New => added += 1,
                    Added::Updated => updated += 1,
                    _ => {}
                }
                last = (what != Added::Skipped).then_some(new);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    ctx.delete_if_empty(key);
    if added + updated > 0 {
        ctx.dirty(added + updated);
    }
    result?;
    Ok(match (f.incr, last) {
        (true, Some(score)) => Reply::Double(score),
        (true, None) => Reply::Nil,
        (false, _) => Reply::Int((if f.ch { added + updated } else { added }) as i64),
    })
}

fn zadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (f, first) = parse_add_flags(a);
    zadd_generic(ctx, &a[1], f, &a[first..])
}

fn zincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, &a[1], AddFlags { incr: true, ..Default::default() }, &a[2..])
}

fn zrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(z) = ctx.get_zset_mut(&a[1])? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|m| z.remove(m).is_some()).count();
    ctx.removed(&a[1], n);
    Ok(Reply::Int(n as i64))
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

fn zcard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_zset(&a[1])?.map_or(0, |z| z.len() as i64)))
}

fn zscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(ctx.get_zset(&a[1])?.and_then(|z| z.score(&a[2])).map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let z = ctx.get_zset(&a[1])?;
    Ok(Reply::Array(a[2..].iter().map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double)).collect()))
}

fn zrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    if a.len() > 4 {
        return Err(CmdError::WrongArgs(name));
    }
    let withscore = match a.get(3) {
        None => false,
        Some(o) if is(o, "WITHSCORE") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let missing = if withscore { Reply::NilArray } else { Reply::Nil };
    let Some(z) = ctx.get_zset(&a[1])? else {
        return Ok(missing);
    };
    let (Some(rank), Some(score)) = (z.rank(&a[2]), z.score(&a[2])) else {
        return Ok(missing);
    };
    let rank = if name == "zrevrank" { z.len() - 1 - rank } else { rank };
    Ok(if withscore { Reply::Array(vec![Reply::Int(rank as i64), Reply::Double(score)]) } else { Reply::Int(rank as i64) })
}

fn zcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_score_range(&a[2], &a[3])?;
    Ok(Reply::Int(ctx.get_zset(&a[1])?.map_or(0, |z| z.range_by_score(min, max).count() as i64)))
}

fn zlexcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let range = Range::Lex(parse_lex_range(&a[2], &a[3])?);
    Ok(Reply::Int(ctx.get_zset(&a[1])?.map_or(0, |z| range_iter(z, &range, false).count() as i64)))
}

/// The shared body of the reading `Z*RANGE*` commands.
fn zrange_generic(ctx: &mut Ctx, a: &[Bytes], v: Variant) -> CmdResult {
    let spec = parse_range_cmd(a, 1, v, false)?;
    let Some(z) = ctx.get_zset(&a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let items = collect_range(z, &spec.range, spec.rev, spec.limit);
    Ok(scored_reply(ctx, items, spec.withscores))
}

fn zrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: None, rev: None })
}

fn zrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: Some(By::Score), rev: Some(false) })
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: Some(By::Score), rev: Some(true) })
}

fn zrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: Some(By::Lex), rev: Some(false) })
}

fn zrevrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: Some(By::Lex), rev: Some(true) })
}

fn zrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, Variant { by: Some(By::Rank), rev: Some(true) })
}

fn zrangestore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let spec = parse_range_cmd(a, 2, Variant { by: None, rev: None }, true)?;
    let items = match ctx.get_zset(&a[2])? {
        Some(z) => collect_range(z, &spec.range, spec.rev, spec.limit),
        None => Vec::new(),
    };
    store_result(ctx, &a[1], zset_from(items))
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*
// ---------------------------------------------------------------------------------------------

/// Removes every member `range` selects from the set at `key`.
fn zremrange_generic(ctx: &mut Ctx, key: &Bytes, range: Range) -> CmdResult {
    let Some(z) = ctx.get_zset_mut(key)? else {
        return Ok(Reply::Int(0));
    };
    let victims = collect_range(z, &range, false, None);
    for (m, _) in &victims {
        z.remove(m);
    }
    if !victims.is_empty() {
        ctx.delete_if_empty(key);
        ctx.dirty(victims.len() as u64);
    }
    Ok(Reply::Int(victims.len() as i64))
}

fn zremrangebyrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let range = Range::Rank(int(&a[2])?, int(&a[3])?);
    zremrange_generic(ctx, &a[1], range)
}

fn zremrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_score_range(&a[2], &a[3])?;
    zremrange_generic(ctx, &a[1], Range::Score(min, max))
}

fn zremrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let range = parse_lex_range(&a[2], &a[3])?;
    zremrange_generic(ctx, &a[1], Range::Lex(range))
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// Pops up to `n` lowest (or highest) members of the set at `key`, counting and cleaning up.
fn pop_from(ctx: &mut Ctx, key: &Bytes, max: bool, n: usize) -> CmdResult<Vec<(Bytes, f64)>> {
    let Some(z) = ctx.get_zset_mut(key)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(n.min(z.len()));
    while out.len() < n {
        let end = if max { z.last() } else { z.first() };
        let Some((m, s)) = end.map(|(m, s)| (m.clone(), s)) else { break };
        z.remove(&m);
        out.push((m, s));
    }
    if !out.is_empty() {
        ctx.delete_if_empty(key);
        ctx.dirty(out.len() as u64);
    }
    Ok(out)
}

/// The first of `keys` holding a non-empty sorted set (WRONGTYPE on a key of another type).
fn first_nonempty(ctx: &mut Ctx, keys: &[Bytes]) -> CmdResult<Option<Bytes>> {
    for k in keys {
        if ctx.get_zset(k)?.is_some_and(|z| !z.is_empty()) {
            return Ok(Some(k.clone()));
        }
    }
    Ok(None)
}

/// ZPOPMIN/ZPOPMAX `key [count]`.
fn zpop_generic(ctx: &mut Ctx, a: &[Bytes], max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match a.get(2) {
        None => 1,
        Some(c) => {
            int(c).ok().and_then(|c| usize::try_from(c).ok()).ok_or_else(|| CmdError::err("value is out of range, must be positive"))?
        }
    };
    let popped = pop_from(ctx, &a[1], max, count)?;
    // With a count, RESP3 gets [member, score] pairs (Redis's use_nested_array); RESP2 a flat array.
    if a.len() == 3 {
        return Ok(scored_reply(ctx, popped, true));
    }
    Ok(flat_reply(popped, true))
}

fn zpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, a, false)
}

fn zpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, a, true)
}

/// BZPOPMIN/BZPOPMAX `key [key...] timeout`.
fn bzpop_generic(ctx: &mut Ctx, a: &[Bytes], max: bool) -> CmdResult {
    let timeout = parse_timeout(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    let Some(key) = first_nonempty(ctx, keys)? else {
        ctx.block_on(keys.to_vec(), timeout);
        return Ok(Reply::NilArray);
    };
    let popped = pop_from(ctx, &key, max, 1)?;
    ctx.propagate(vec![lit(if max { "ZPOPMAX" } else { "ZPOPMIN" }), key.clone()]);
    let mut out = vec![Reply::Bulk(key)];
    for (m, s) in popped {
        out.push(Reply::Bulk(m));
        out.push(Reply::Double(s));
    }
    Ok(Reply::Array(out))
}

fn bzpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, a, false)
}

fn bzpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, a, true)
}

/// A parsed `numkeys key... MIN|MAX [COUNT n]`.
struct MPop {
    keys: Vec<Bytes>,
    max: bool,
    count: usize,
}

/// Parses ZMPOP/BZMPOP arguments from the `numkeys` at `idx`.
fn parse_mpop(a: &[Bytes], idx: usize) -> CmdResult<MPop> {
    let numkeys_err = || CmdError::err("numkeys should be greater than 0");
    let n = int(&a[idx]).map_err(|_| numkeys_err())?;
    if n < 1 {
        return Err(numkeys_err());
    }
    let where_idx = usize::try_from(n).ok().and_then(|n| n.checked_add(idx + 1)).filter(|&w| w < a.len()).ok_or(CmdError::Syntax)?;
    let max = match &a[where_idx] {
        w if is(w, "MIN") => false,
        w if is(w, "MAX") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && is(&a[j], "COUNT") && j + 1 < a.len() {
            let c = int(&a[j + 1]).ok().filter(|&c| c >= 1).ok_or_else(|| CmdError::err("count should be greater than 0"))?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MPop { keys: a[idx + 1..where_idx].to_vec(), max, count: count.unwrap_or(1) })
}

/// Pops from `key` for ZMPOP/BZMPOP, logging the equivalent ZPOPMIN/ZPOPMAX.
fn mpop_from(ctx: &mut Ctx, key: Bytes, p: &MPop) -> CmdResult {
    let popped = pop_from(ctx, &key, p.max, p.count)?;
    ctx.signal(&key);
    ctx.propagate(vec![
        lit(if p.max { "ZPOPMAX" } else { "ZPOPMIN" }),
        key.clone(),
        args::int_bytes(p.count.min(i64::MAX as usize) as i64),
    ]);
    let pairs = popped.into_iter().map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect();
    Ok(Reply::Array(vec![Reply::Bulk(key), Reply::Array(pairs)]))
}

fn zmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let p = parse_mpop(a, 1)?;
    match first_nonempty(ctx, &p.keys)? {
        Some(key) => mpop_from(ctx, key, &p),
        None => Ok(Reply::NilArray),
    }
}

fn bzmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&a[1])?;
    let p = parse_mpop(a, 2)?;
    match first_nonempty(ctx, &p.keys)? {
        Some(key) => mpop_from(ctx, key, &p),
        None => {
            ctx.block_on(p.keys, timeout);
            Ok(Reply::NilArray)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER / ZSCAN
// ---------------------------------------------------------------------------------------------

fn zrandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    if a.len() == 2 {
        let Some(z) = ctx.get_zset(&a[1])? else {
            return Ok(Reply::Nil);
        };
        if z.is_empty() {
            return Ok(Reply::Nil);
        }
        return Ok(Reply::opt_bulk(z.get_index(rng.gen_range(0..z.len())).map(|(m, _)| m.clone())));
    }
    let count = int(&a[2])?;
    if count == i64::MIN {
        return Err(CmdError::err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    if a.len() > 4 || (a.len() == 4 && !is(&a[3], "WITHSCORES")) {
        return Err(CmdError::Syntax);
    }
    let withscores = a.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some(z) = ctx.get_zset(&a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let len = z.len();
    let picked: Vec<(Bytes, f64)> = if count == 0 || len == 0 {
        Vec::new()
    } else if count < 0 {
        (0..count.unsigned_abs()).filter_map(|_| z.get_index(rng.gen_range(0..len)).map(|(m, s)| (m.clone(), s))).collect()
    } else if count as u64 >= len as u64 {
        z.iter().map(|(m, s)| (m.clone(), s)).collect()
    } else {
        rand::seq::index::sample(&mut rng, len, count as usize)
            .into_iter()
            .filter_map(|i| z.get_index(i).map(|(m, s)| (m.clone(), s)))
            .collect()
    };
    Ok(scored_reply(ctx, picked, withscores))
}

fn zscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if std::str::from_utf8(&a[2]).ok().and_then(|s| s.parse::<u64>().ok()).is_none() {
        return Err(CmdError::err("invalid cursor"));
    }
    let empty = || Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
    let enc = ctx.shared.config.read().encodings;
    let Some(z) = ctx.get_zset(&a[1])? else {
        return Ok(empty());
    };
    let o = parse_scan(a, 2, false, false)?;
    let with = |m: &Bytes, s: f64| (m.clone(), Some(Reply::Bulk(Bytes::from(format_double(s)))));
    if crate::value::zset_is_listpack(z, &enc) {
        // A listpack in Redis: everything at once, by score.
        return Ok(scan_all(&o, z.iter().map(|(m, s)| with(m, s))));
    }
    Ok(scan_collection(z.len(), &o, |i| z.get_index(i).map(|(m, s)| with(m, s))))
}

// ---------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (+STORE) / ZINTERCARD
// ---------------------------------------------------------------------------------------------

/// The set operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of a member present in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// Combines `val` into `target` (a NaN sum becomes 0, as in Redis).
fn aggregate(target: &mut f64, val: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if val < *target {
                *target = val;
            }
        }
        Agg::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// NaN (e.g. `0 * inf`) becomes 0.
fn nan0(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// One input of a set operation: a sorted set, a plain set (scores 1) or nothing.
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set<Bytes>),
}

impl<'a> Src<'a> {
    fn of(db: &'a Db, key: &[u8]) -> Self {
        match db.map.get(key).map(|e| &e.value) {
            Some(Value::ZSet(z)) => Src::Z(z),
            Some(Value::Set(s)) => Src::S(s),
            _ => Src::Missing,
        }
    }
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
    fn iter(&self) -> Members<'a> {
        match *self {
            Src::Missing => Box::new(std::iter::empty()),
            Src::Z(z) => Box::new(z.iter()),
            Src::S(s) => Box::new(s.iter().map(|m| (m, 1.0))),
        }
    }
}

/// Parsed set-operation arguments.
struct SetOpArgs {
    keys: Vec<Bytes>,
    weights: Vec<f64>,
    agg: Agg,
    withscores: bool,
    limit: usize,
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]` (the
/// options each command allows), type-checking the inputs first as Redis does.
fn parse_setop(ctx: &mut Ctx, a: &[Bytes], idx: usize, op: SetOp, card: bool, store: bool) -> CmdResult<SetOpArgs> {
    let n = int(&a[idx])?;
    if n < 1 {
        let name = args::text(&a[0]).to_ascii_lowercase();
        return Err(CmdError::err(format!("at least 1 input key is needed for '{name}' command")));
    }
    let first = idx + 1;
    if n as u64 > (a.len() - first) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let keys = a[first..first + n].to_vec();
    for k in &keys {
        if !matches!(ctx.lookup(k), None | Some(Value::ZSet(_)) | Some(Value::Set(_))) {
            return Err(CmdError::WrongType);
        }
    }
    let mut o = SetOpArgs { keys, weights: vec![1.0; n], agg: Agg::Sum, withscores: false, limit: 0 };
    let mut j = first + n;
    while j < a.len() {
        let remaining = a.len() - j;
        let arg = &a[j];
        if op != SetOp::Diff && !card && remaining > n && is(arg, "WEIGHTS") {
            for (w, s) in o.weights.iter_mut().zip(&a[j + 1..]) {
                *w = strict_float(s).ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += n + 1;
        } else if op != SetOp::Diff && !card && remaining >= 2 && is(arg, "AGGREGATE") {
            let v = &a[j + 1];
            o.agg = if is(v, "SUM") {
                Agg::Sum
            } else if is(v, "MIN") {
                Agg::Min
            } else if is(v, "MAX") {
                Agg::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card && is(arg, "WITHSCORES") {
            o.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && is(arg, "LIMIT") {
            let l = int(&a[j + 1]).ok().filter(|&l| l >= 0).ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
            o.limit = usize::try_from(l).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// The inputs with their weights; union and intersection go smallest first, as Redis does.
fn sources<'a>(db: &'a Db, o: &SetOpArgs, op: SetOp) -> Vec<(Src<'a>, f64)> {
    let mut srcs: Vec<(Src, f64)> = o.keys.iter().zip(&o.weights).map(|(k, w)| (Src::of(db, k), *w)).collect();
    if op != SetOp::Diff {
        srcs.sort_by_key(|(s, _)| s.len());
    }
    srcs
}

/// The aggregated score of `m` (from the first source) if every other source holds it.
fn inter_score(m: &[u8], s0: f64, srcs: &[(Src, f64)], agg: Agg) -> Option<f64> {
    let mut score = nan0(srcs[0].1 * s0);
    for (src, w) in &srcs[1..] {
        aggregate(&mut score, src.score(m)? * w, agg);
    }
    Some(score)
}

/// Computes a union, intersection or difference.
fn compute_setop(db: &Db, o: &SetOpArgs, op: SetOp) -> ZSet {
    let srcs = sources(db, o, op);
    let mut out = ZSet::new();
    match op {
        SetOp::Union => {
            let mut acc: Map<Bytes, f64> = Map::default();
            for (src, w) in &srcs {
                for (m, s) in src.iter() {
                    let v = nan0(w * s);
                    match acc.get_mut(&m[..]) {
                        Some(t) => aggregate(t, v, o.agg),
                        None => {
                            acc.insert(m.clone(), v);
                        }
                    }
                }
            }
            for (m, s) in acc {
                out.insert(m, nan0(s));
            }
        }
        SetOp::Inter => {
            for (m, s) in srcs[0].0.iter() {
                if let Some(score) = inter_score(m, s, &srcs, o.agg) {
                    out.insert(m.clone(), nan0(score));
                }
            }
        }
        SetOp::Diff => {
            for (m, s) in srcs[0].0.iter() {
                if !srcs[1..].iter().any(|(src, _)| src.score(m).is_some()) {
                    out.insert(m.clone(), s);
                }
            }
        }
    }
    out
}

/// ZUNION/ZINTER/ZDIFF (`dst` None) and their STORE forms.
fn setop_generic(ctx: &mut Ctx, a: &[Bytes], dst: Option<&Bytes>, idx: usize, op: SetOp) -> CmdResult {
    let o = parse_setop(ctx, a, idx, op, false, dst.is_some())?;
    let z = compute_setop(&ctx.ks.dbs[ctx.session.db], &o, op);
    match dst {
        Some(dst) => store_result(ctx, dst, z),
        None => {
            let items: Vec<(Bytes, f64)> = z.iter().map(|(m, s)| (m.clone(), s)).collect();
            Ok(scored_reply(ctx, items, o.withscores))
        }
    }
}

fn zunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Union)
}

fn zinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Inter)
}

fn zdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Diff)
}

fn zunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Union)
}

fn zinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Inter)
}

fn zdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, Some(&a[1]), 2, SetOp::Diff)
}

fn zintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let o = parse_setop(ctx, a, 1, SetOp::Inter, true, false)?;
    let srcs = sources(&ctx.ks.dbs[ctx.session.db], &o, SetOp::Inter);
    let mut n = 0usize;
    for (m, s) in srcs[0].0.iter() {
        if inter_score(m, s, &srcs, o.agg).is_some() {
            n += 1;
            if n == o.limit {
                break;
            }
        }
    }
    Ok(Reply::Int(n as i64))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::testkit::{arr, b, T};
    use crate::value::{Set, Value};
    use crate::Reply;

    fn d(v: f64) -> Reply {
        Reply::Double(v)
    }

    /// A flat [member, score...] reply.
    fn ws(items: &[(&str, f64)]) -> Reply {
        Reply::Array(items.iter().flat_map(|(m, s)| [b(m), d(*s)]).collect())
    }

    fn setup(t: &mut T) {
        t.ok(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    }

    use crate::testkit::WRONGTYPE;

    #[test]
    fn zadd_options() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ZADD", "z", "1", "a", "2", "b"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZADD", "z", "NX", "5", "a", "3", "c"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZSCORE", "z", "a"]), d(1.0));
        assert_eq!(t.ok(&["ZADD", "z", "XX", "CH", "10", "a", "9", "new"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZSCORE", "z", "new"]), Reply::Nil);
        assert_eq!(t.ok(&["ZADD", "z", "GT", "CH", "5", "a", "5", "b"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZMSCORE", "z", "a", "b", "x"]), Reply::Array(vec![d(10.0), d(5.0), Reply::Nil]));
        assert_eq!(t.ok(&["ZADD", "z", "LT", "CH", "1", "a", "7", "b"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZADD", "z", "INCR", "2.5", "a"]), d(3.5));
        assert_eq!(t.ok(&["ZADD", "z", "NX", "INCR", "1", "a"]), Reply::Nil);
        assert_eq!(t.ok(&["ZADD", "z", "GT", "INCR", "-1", "a"]), Reply::Nil);
        assert_eq!(t.ok(&["ZINCRBY", "z", "-0.5", "a"]), d(3.0));
        assert_eq!(t.ok(&["ZINCRBY", "z", "4", "fresh"]), d(4.0));
        assert_eq!(t.ok(&["ZADD", "missing", "XX", "1", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "missing"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZADD", "z", "inf", "big"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZSCORE", "z", "big"]), d(f64::INFINITY));
        assert_eq!(t.err(&["ZINCRBY", "z", "-inf", "big"]), "ERR resulting score is not a number (NaN)");
        assert_eq!(t.err(&["ZADD", "z", "NX", "XX", "1", "a"]), "ERR XX and NX options at the same time are not compatible");
        assert_eq!(t.err(&["ZADD", "z", "GT", "LT", "1", "a"]), "ERR GT, LT, and/or NX options at the same time are not compatible");
        assert_eq!(t.err(&["ZADD", "z", "NX", "GT", "1", "a"]), "ERR GT, LT, and/or NX options at the same time are not compatible");
        assert_eq!(t.err(&["ZADD", "z", "INCR", "1", "a", "2", "b"]), "ERR INCR option supports a single increment-element pair");
        assert_eq!(t.err(&["ZADD", "z", "1", "a", "2"]), "ERR syntax error");
        assert_eq!(t.err(&["ZADD", "z", "x", "a"]), "ERR value is not a valid float");
        assert_eq!(t.err(&["ZADD", "z", "nan", "a"]), "ERR value is not a valid float");
        assert_eq!(t.err(&["ZADD", "z", "1e400", "a"]), "ERR value is not a valid float");
        assert_eq!(t.err(&["ZADD", "z"]), "ERR wrong number of arguments for 'zadd' command");
    }

    #[test]
    fn zrem_card_rank_and_empty_deletion() {
        let mut t = T::new();
        setup(&mut t);
        assert_eq!(t.ok(&["ZCARD", "z"]), Reply::Int(5));
        assert_eq!(t.ok(&["ZRANK", "z", "c"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZREVRANK", "z", "c", "WITHSCORE"]), Reply::Array(vec![Reply::Int(2), d(3.0)]));
        assert_eq!(t.ok(&["ZREVRANK", "z", "a"]), Reply::Int(4));
        assert_eq!(t.ok(&["ZRANK", "z", "x"]), Reply::Nil);
        assert_eq!(t.ok(&["ZRANK", "z", "x", "WITHSCORE"]), Reply::NilArray);
        assert_eq!(t.err(&["ZRANK", "z", "a", "foo"]), "ERR syntax error");
        assert_eq!(t.err(&["ZRANK", "z", "a", "WITHSCORE", "x"]), "ERR wrong number of arguments for 'zrank' command");
        assert_eq!(t.ok(&["ZREM", "z", "a", "b", "x"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZREM", "z", "c", "d", "e"]), Reply::Int(3));
        assert_eq!(t.ok(&["EXISTS", "z"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZREM", "z", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZCARD", "z"]), Reply::Int(0));
    }

    #[test]
    fn zrange_all_forms() {
        let mut t = T::new();
        setup(&mut t);
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "b", "c", "d", "e"]));
        assert_eq!(t.ok(&["ZRANGE", "z", "-2", "100", "WITHSCORES"]), ws(&[("d", 4.0), ("e", 5.0)]));
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "1", "REV"]), arr(&["e", "d"]));
        assert_eq!(t.ok(&["ZREVRANGE", "z", "0", "1", "WITHSCORES"]), ws(&[("e", 5.0), ("d", 4.0)]));
        assert_eq!(t.ok(&["ZRANGE", "z", "3", "1"]), arr(&[]));
        assert_eq!(t.ok(&["ZRANGE", "z", "(1", "3", "BYSCORE"]), arr(&["b", "c"]));
        assert_eq!(t.ok(&["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"]), arr(&["b", "c"]));
        assert_eq!(t.ok(&["ZRANGE", "z", "(4", "2", "BYSCORE", "REV", "WITHSCORES"]), ws(&[("c", 3.0), ("b", 2.0)]));
        assert_eq!(t.ok(&["ZRANGEBYSCORE", "z", "2", "(4", "WITHSCORES"]), ws(&[("b", 2.0), ("c", 3.0)]));
        assert_eq!(t.ok(&["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "3", "-1"]), arr(&["d", "e"]));
        assert_eq!(t.ok(&["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "-1", "2"]), arr(&[]));
        assert_eq!(t.ok(&["ZREVRANGEBYSCORE", "z", "+inf", "(3", "LIMIT", "0", "1"]), arr(&["e"]));
        assert_eq!(t.ok(&["ZRANGEBYSCORE", "z", "5", "1"]), arr(&[]));
        assert_eq!(t.ok(&["ZCOUNT", "z", "(1", "+inf"]), Reply::Int(4));
        assert_eq!(t.ok(&["ZCOUNT", "nokey", "0", "1"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZRANGE", "nokey", "0", "-1"]), arr(&[]));
        assert_eq!(t.err(&["ZRANGE", "z", "x", "1", "BYSCORE"]), "ERR min or max is not a float");
        assert_eq!(t.err(&["ZCOUNT", "z", "1", "((2"]), "ERR min or max is not a float");
        assert_eq!(t.err(&["ZRANGE", "z", "a", "1"]), "ERR value is not an integer or out of range");
        assert_eq!(t.err(&["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"]), "ERR syntax error");
        assert_eq!(t.err(&["ZRANGE", "z", "0", "1", "REV", "REV"]), "ERR syntax error");
        assert_eq!(t.err(&["ZRANGEBYSCORE", "z", "0", "1", "REV"]), "ERR syntax error");
        assert_eq!(t.err(&["ZRANGE", "z", "0", "1", "LIMIT", "1"]), "ERR syntax error");
        assert_eq!(
            t.err(&["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"]),
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        );
    }

    #[test]
    fn zrange_limit_without_byscore_quirk() {
        let mut t = T::new();
        setup(&mut t);
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "-1", "LIMIT", "1", "2"]), arr(&["b", "c"]));
        assert_eq!(t.ok(&["ZRANGE", "z", "1", "-1", "LIMIT", "1", "-1"]), arr(&["c", "d", "e"]));
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "-1", "REV", "LIMIT", "0", "2", "WITHSCORES"]), ws(&[("e", 5.0), ("d", 4.0)]));
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "-1", "LIMIT", "10", "2"]), arr(&[]));
        assert_eq!(t.ok(&["ZRANGESTORE", "dst", "z", "0", "-1", "LIMIT", "3", "5"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), ws(&[("d", 4.0), ("e", 5.0)]));
    }

    #[test]
    fn lex_ranges() {
        let mut t = T::new();
        t.ok(&["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"]);
        assert_eq!(t.ok(&["ZRANGEBYLEX", "l", "-", "+"]), arr(&["a", "b", "c", "d", "e"]));
        assert_eq!(t.ok(&["ZRANGEBYLEX", "l", "[b", "(d"]), arr(&["b", "c"]));
        assert_eq!(t.ok(&["ZRANGEBYLEX", "l", "(b", "+", "LIMIT", "1", "2"]), arr(&["d", "e"]));
        assert_eq!(t.ok(&["ZREVRANGEBYLEX", "l", "[c", "-"]), arr(&["c", "b", "a"]));
        assert_eq!(t.ok(&["ZRANGE", "l", "+", "[c", "BYLEX", "REV", "LIMIT", "0", "2"]), arr(&["e", "d"]));
        assert_eq!(t.ok(&["ZRANGEBYLEX", "l", "+", "-"]), arr(&[]));
        assert_eq!(t.ok(&["ZRANGEBYLEX", "l", "[d", "[b"]), arr(&[]));
        assert_eq!(t.ok(&["ZLEXCOUNT", "l", "(a", "[c"]), Reply::Int(2));
        assert_eq!(t.err(&["ZRANGEBYLEX", "l", "a", "+"]), "ERR min or max not valid string range item");
        assert_eq!(t.err(&["ZLEXCOUNT", "l", "-", "++"]), "ERR min or max not valid string range item");
        assert_eq!(
            t.err(&["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"]),
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
        );
        assert_eq!(t.ok(&["ZREMRANGEBYLEX", "l", "[b", "[d"]), Reply::Int(3));
        assert_eq!(t.ok(&["ZRANGE", "l", "0", "-1"]), arr(&["a", "e"]));
    }

    #[test]
    fn zremrange_and_store() {
        let mut t = T::new();
        setup(&mut t);
        assert_eq!(t.ok(&["ZREMRANGEBYRANK", "z", "0", "1"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZREMRANGEBYSCORE", "z", "(3", "4"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "-1"]), arr(&["c", "e"]));
        assert_eq!(t.ok(&["ZREMRANGEBYRANK", "z", "5", "10"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), Reply::Int(2));
        assert_eq!(t.ok(&["EXISTS", "z"]), Reply::Int(0));
        setup(&mut t);
        t.ok(&["SET", "dst", "x"]);
        t.ok(&["EXPIRE", "dst", "100"]);
        assert_eq!(t.ok(&["ZRANGESTORE", "dst", "z", "(1", "3", "BYSCORE"]), Reply::Int(2));
        assert_eq!(t.ok(&["TTL", "dst"]), Reply::Int(-1));
        assert_eq!(t.ok(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), ws(&[("b", 2.0), ("c", 3.0)]));
        assert_eq!(t.ok(&["ZRANGESTORE", "dst", "z", "10", "20"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
        assert_eq!(t.err(&["ZRANGESTORE", "dst", "z", "0", "1", "WITHSCORES"]), "ERR syntax error");
    }

    #[test]
    fn set_operations() {
        let mut t = T::new();
        t.ok(&["ZADD", "z1", "1", "a", "2", "b", "3", "c"]);
        t.ok(&["ZADD", "z2", "10", "b", "20", "c", "30", "d"]);
        let mut s = Set::default();
        s.insert(Bytes::from_static(b"c"));
        s.insert(Bytes::from_static(b"x"));
        t.engine.shared.ks.lock().dbs[0].insert(b"s", Value::Set(std::sync::Arc::new(s)), 0, 0);
        assert_eq!(t.ok(&["ZUNION", "2", "z1", "z2", "WITHSCORES"]), ws(&[("a", 1.0), ("b", 12.0), ("c", 23.0), ("d", 30.0)]));
        assert_eq!(t.ok(&["ZINTER", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES"]), ws(&[("b", 2.0), ("c", 3.0)]));
        assert_eq!(t.ok(&["ZINTER", "2", "z1", "z2", "WEIGHTS", "2", "0.5", "WITHSCORES"]), ws(&[("b", 9.0), ("c", 16.0)]));
        assert_eq!(t.ok(&["ZINTER", "3", "z1", "z2", "s", "AGGREGATE", "MAX", "WITHSCORES"]), ws(&[("c", 20.0)]));
        assert_eq!(t.ok(&["ZDIFF", "2", "z1", "z2", "WITHSCORES"]), ws(&[("a", 1.0)]));
        assert_eq!(t.ok(&["ZDIFF", "2", "z1", "nokey"]), arr(&["a", "b", "c"]));
        assert_eq!(t.ok(&["ZUNIONSTORE", "out", "2", "z1", "s", "WEIGHTS", "1", "5"]), Reply::Int(4));
        assert_eq!(t.ok(&["ZRANGE", "out", "0", "-1", "WITHSCORES"]), ws(&[("a", 1.0), ("b", 2.0), ("x", 5.0), ("c", 8.0)]));
        assert_eq!(t.ok(&["ZINTERSTORE", "out", "2", "z1", "z2", "AGGREGATE", "MAX"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZRANGE", "out", "0", "-1", "WITHSCORES"]), ws(&[("b", 10.0), ("c", 20.0)]));
        assert_eq!(t.ok(&["ZDIFFSTORE", "out", "2", "z2", "z1"]), Reply::Int(1));
        assert_eq!(t.ok(&["ZINTERSTORE", "out", "2", "z1", "nokey"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "out"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZINTERCARD", "2", "z1", "z2"]), Reply::Int(2));
        assert_eq!(t.ok(&["ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"]), Reply::Int(1));
        assert_eq!(t.err(&["ZINTERCARD", "2", "z1", "z2", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
        assert_eq!(t.err(&["ZUNIONSTORE", "out", "0", "z1"]), "ERR at least 1 input key is needed for 'zunionstore' command");
        assert_eq!(t.err(&["ZINTER", "0", "z1"]), "ERR at least 1 input key is needed for 'zinter' command");
        assert_eq!(t.err(&["ZUNION", "3", "z1", "z2"]), "ERR syntax error");
        assert_eq!(t.err(&["ZUNION", "2", "z1", "z2", "WEIGHTS", "1"]), "ERR syntax error");
        assert_eq!(t.err(&["ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x"]), "ERR weight value is not a float");
        assert_eq!(t.err(&["ZUNION", "2", "z1", "z2", "AGGREGATE", "AVG"]), "ERR syntax error");
        assert_eq!(t.err(&["ZDIFF", "2", "z1", "z2", "WEIGHTS", "1", "1"]), "ERR syntax error");
        assert_eq!(t.err(&["ZUNIONSTORE", "out", "1", "z1", "WITHSCORES"]), "ERR syntax error");
        t.ok(&["SET", "str", "v"]);
        assert_eq!(t.err(&["ZUNION", "2", "z1", "str"]), WRONGTYPE);
    }

    #[test]
    fn pops() {
        let mut t = T::new();
        setup(&mut t);
        assert_eq!(t.ok(&["ZPOPMIN", "z"]), ws(&[("a", 1.0)]));
        assert_eq!(t.ok(&["ZPOPMAX", "z", "2"]), ws(&[("e", 5.0), ("d", 4.0)]));
        assert_eq!(t.ok(&["ZPOPMIN", "z", "0"]), arr(&[]));
        assert_eq!(t.err(&["ZPOPMIN", "z", "-1"]), "ERR value is out of range, must be positive");
        assert_eq!(t.err(&["ZPOPMIN", "z", "1", "2"]), "ERR syntax error");
        assert_eq!(t.ok(&["ZPOPMIN", "nokey"]), arr(&[]));
        let nested = Reply::Array(vec![b("z"), Reply::Array(vec![Reply::Array(vec![b("b"), d(2.0)]), Reply::Array(vec![b("c"), d(3.0)])])]);
        assert_eq!(t.ok(&["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "10"]), nested);
        assert_eq!(t.ok(&["EXISTS", "z"]), Reply::Int(0));
        assert_eq!(t.ok(&["ZMPOP", "1", "z", "MAX"]), Reply::NilArray);
        assert_eq!(t.err(&["ZMPOP", "0", "z", "MIN"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["ZMPOP", "2", "z", "MIN"]), "ERR syntax error");
        assert_eq!(t.err(&["ZMPOP", "1", "z", "MID"]), "ERR syntax error");
        assert_eq!(t.err(&["ZMPOP", "1", "z", "MIN", "COUNT", "0"]), "ERR count should be greater than 0");
        assert_eq!(t.err(&["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"]), "ERR syntax error");
    }

    #[test]
    fn blocking_pops() {
        let mut t = T::new();
        assert_eq!(t.ok(&["BZPOPMIN", "z", "0"]), Reply::NilArray);
        assert_eq!(t.ok(&["BZMPOP", "0.5", "1", "z", "MIN"]), Reply::NilArray);
        assert_eq!(t.err(&["BZPOPMIN", "z", "x"]), "ERR timeout is not a float or out of range");
        assert_eq!(t.err(&["BZPOPMAX", "z", "-1"]), "ERR timeout is negative");
        t.ok(&["ZADD", "z2", "1", "a", "2", "b"]);
        assert_eq!(t.ok(&["BZPOPMAX", "z", "z2", "0"]), Reply::Array(vec![b("z2"), b("b"), d(2.0)]));
        let nested = Reply::Array(vec![b("z2"), Reply::Array(vec![Reply::Array(vec![b("a"), d(1.0)])])]);
        assert_eq!(t.ok(&["BZMPOP", "1", "2", "z", "z2", "MIN", "COUNT", "5"]), nested);
        assert_eq!(t.ok(&["EXISTS", "z2"]), Reply::Int(0));
        t.ok(&["SET", "s", "v"]);
        assert_eq!(t.err(&["BZPOPMIN", "s", "0"]), WRONGTYPE);
    }

    #[test]
    fn randmember_and_scan() {
        let mut t = T::new();
        setup(&mut t);
        assert!(matches!(t.ok(&["ZRANDMEMBER", "z"]), Reply::Bulk(_)));
        assert_eq!(t.ok(&["ZRANDMEMBER", "nokey"]), Reply::Nil);
        let Reply::Array(all) = t.ok(&["ZRANDMEMBER", "z", "10", "WITHSCORES"]) else { panic!() };
        assert_eq!(all.len(), 10);
        let Reply::Array(three) = t.ok(&["ZRANDMEMBER", "z", "3"]) else { panic!() };
        let distinct: std::collections::HashSet<_> = three.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(distinct.len(), 3);
        let Reply::Array(rep) = t.ok(&["ZRANDMEMBER", "z", "-8"]) else { panic!() };
        assert_eq!(rep.len(), 8);
        assert_eq!(t.ok(&["ZRANDMEMBER", "z", "0"]), arr(&[]));
        assert_eq!(t.err(&["ZRANDMEMBER", "z", "1", "x"]), "ERR syntax error");
        let Reply::Array(parts) = t.ok(&["ZSCAN", "z", "0", "MATCH", "c"]) else { panic!() };
        assert_eq!(parts, vec![b("0"), arr(&["c", "3"])]);
        let Reply::Array(parts) = t.ok(&["ZSCAN", "z", "0"]) else { panic!() };
        // A small sorted set comes whole, by score, as Redis's listpack does.
        assert_eq!(parts[1], Reply::Array(vec![b("a"), b("1"), b("b"), b("2"), b("c"), b("3"), b("d"), b("4"), b("e"), b("5")]));
        assert_eq!(t.ok(&["ZSCAN", "nokey", "0"]), Reply::Array(vec![b("0"), arr(&[])]));
        assert_eq!(t.err(&["ZSCAN", "z", "x"]), "ERR invalid cursor");
    }

    #[test]
    fn wrongtype() {
        let mut t = T::new();
        t.ok(&["SET", "s", "v"]);
        for cmd in [
            vec!["ZADD", "s", "1", "a"],
            vec!["ZSCORE", "s", "a"],
            vec!["ZCARD", "s"],
            vec!["ZRANGE", "s", "0", "-1"],
            vec!["ZREM", "s", "a"],
            vec!["ZPOPMIN", "s"],
            vec!["ZRANK", "s", "a"],
            vec!["ZRANDMEMBER", "s"],
            vec!["ZSCAN", "s", "0"],
            vec!["ZRANGESTORE", "d", "s", "0", "1"],
        ] {
            assert_eq!(t.err(&cmd), WRONGTYPE, "{cmd:?}");
        }
    }
}
