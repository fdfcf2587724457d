//! Hash commands (Redis `t_hash.c`).

use bytes::Bytes;
use rand::Rng;
use stashd_resp::Protocol;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::cmd::keys::{parse_scan, scan_all, scan_collection};
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::hash::Hash;
use crate::notify;
use crate::{Ctx, Reply};

/// Hash command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("hset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, hset, "hash"),
    cmd!("hsetnx", 4, WRITE | DENYOOM | FAST, 1, 1, 1, hsetnx, "hash"),
    cmd!("hmset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, hset, "hash"),
    cmd!("hget", 3, READONLY | FAST, 1, 1, 1, hget, "hash"),
    cmd!("hmget", -3, READONLY | FAST, 1, 1, 1, hmget, "hash"),
    cmd!("hgetall", 2, READONLY, 1, 1, 1, hgetall, "hash"),
    cmd!("hdel", -3, WRITE | FAST, 1, 1, 1, hdel, "hash"),
    cmd!("hlen", 2, READONLY | FAST, 1, 1, 1, hlen, "hash"),
    cmd!("hstrlen", 3, READONLY | FAST, 1, 1, 1, hstrlen, "hash"),
    cmd!("hexists", 3, READONLY | FAST, 1, 1, 1, hexists, "hash"),
    cmd!("hkeys", 2, READONLY, 1, 1, 1, hkeys, "hash"),
    cmd!("hvals", 2, READONLY, 1, 1, 1, hvals, "hash"),
    cmd!("hincrby", 4, WRITE | DENYOOM | FAST, 1, 1, 1, hincrby, "hash"),
    cmd!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, 1, 1, 1, hincrbyfloat, "hash"),
    cmd!("hrandfield", -2, READONLY | RANDOM, 1, 1, 1, hrandfield, "hash"),
    cmd!("hscan", -3, READONLY, 1, 1, 1, hscan, "hash"),
    cmd!("hexpire", -6, WRITE | DENYOOM | FAST, 1, 1, 1, hexpire, "hash"),
    cmd!("hpexpire", -6, WRITE | DENYOOM | FAST, 1, 1, 1, hexpire, "hash"),
    cmd!("hexpireat", -6, WRITE | DENYOOM | FAST, 1, 1, 1, hexpire, "hash"),
    cmd!("hpexpireat", -6, WRITE | DENYOOM | FAST, 1, 1, 1, hexpire, "hash"),
    cmd!("httl", -5, READONLY | FAST, 1, 1, 1, httl, "hash"),
    cmd!("hpttl", -5, READONLY | FAST, 1, 1, 1, httl, "hash"),
    cmd!("hexpiretime", -5, READONLY | FAST, 1, 1, 1, httl, "hash"),
    cmd!("hpexpiretime", -5, READONLY | FAST, 1, 1, 1, httl, "hash"),
    cmd!("hpersist", -5, WRITE | FAST, 1, 1, 1, hpersist, "hash"),
    cmd!("hgetdel", -5, WRITE | FAST, 1, 1, 1, hgetdel, "hash"),
    cmd!("hgetex", -5, WRITE | FAST, 1, 1, 1, hgetex, "hash"),
    cmd!("hsetex", -6, WRITE | DENYOOM | FAST, 1, 1, 1, hsetex, "hash"),
];

/// Parses the count of HRANDFIELD/SRANDMEMBER: any i64 but `i64::MIN` (Redis's `-LONG_MAX..LONG_MAX`).
pub fn random_count(arg: &[u8]) -> CmdResult<i64> {
    let v = int(arg)?;
    if v == i64::MIN {
        return Err(CmdError::err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    Ok(v)
}

/// Picks indexes into a collection of `len` elements for the random-member commands: a negative
/// `count` picks `|count|` indexes with repeats, a positive one up to `count` distinct indexes
/// (all of them, in order, when `count >= len`). `len` must be non-zero for negative counts.
pub fn random_indexes(len: usize, count: i64) -> Vec<usize> {
    let mut rng = rand::thread_rng();
    if len == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs();
        let mut out = Vec::with_capacity(n.min(1 << 16) as usize);
        for _ in 0..n {
            out.push(rng.gen_range(0..len));
        }
        return out;
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= len {
        return (0..len).collect();
    }
    rand::seq::index::sample(&mut rng, len, count).into_vec()
}

/// The error for HSET/HMSET with an odd number of field/value arguments.
fn wrong_args(a: &[Bytes]) -> CmdError {
    CmdError::WrongArgs(args::text(&a[0]).to_ascii_lowercase())
}

fn hset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        return Err(wrong_args(a));
    }
    let h = ctx.hash_or_create(&a[1])?;
    let mut created = 0;
    for pair in a[2..].chunks(2) {
        if h.insert(pair[0].clone(), pair[1].clone()).is_none() {
            created += 1;
        }
    }
    ctx.dirty((a.len() / 2 - 1) as u64);
    Ok(if is(&a[0], "hmset") { Reply::Ok } else { Reply::Int(created) })
}

fn hsetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.get_hash(&a[1])?.is_some_and(|h| h.contains_key(&a[2])) {
        return Ok(Reply::Int(0));
    }
    ctx.hash_or_create(&a[1])?.insert(a[2].clone(), a[3].clone());
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(ctx.get_hash(&a[1])?.and_then(|h| h.get(&a[2]).cloned())))
}

fn hmget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let h = ctx.get_hash(&a[1])?;
    Ok(Reply::Array(a[2..].iter().map(|f| Reply::opt_bulk(h.and_then(|h| h.get(f).cloned()))).collect()))
}

fn hgetall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let pairs =
        ctx.get_hash(&a[1])?.map_or_else(Vec::new, |h| h.iter().map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone()))).collect());
    Ok(Reply::Map(pairs))
}

fn hdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(h) = ctx.get_hash_mut(&a[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = a[2..].iter().filter(|f| h.remove(f).is_some()).count();
    ctx.removed(&a[1], removed);
    Ok(Reply::Int(removed as i64))
}

fn hlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_hash(&a[1])?.map_or(0, |h| h.len() as i64)))
}

fn hstrlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_hash(&a[1])?.and_then(|h| h.get(&a[2])).map_or(0, |v| v.len() as i64)))
}

fn hexists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_hash(&a[1])?.is_some_and(|h| h.contains_key(&a[2])) as i64))
}

fn hkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::bulks(ctx.get_hash(&a[1])?.map_or_else(Vec::new, |h| h.keys().cloned().collect())))
}

fn hvals(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::bulks(ctx.get_hash(&a[1])?.map_or_else(Vec::new, |h| h.values().cloned().collect())))
}

/// The current value of `field` in the hash at `key` (None if the key or field is missing).
fn field_value(ctx: &mut Ctx, key: &[u8], field: &[u8]) -> CmdResult<Option<Bytes>> {
    Ok(ctx.get_hash(key)?.and_then(|h| h.get(field).cloned()))
}

fn hincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = int(&a[3])?;
    let cur = match field_value(ctx, &a[1], &a[2])? {
        None => 0,
        Some(v) => stashd_resp::parse_int(&v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    // Like Redis, an increment keeps the field's TTL.
    ctx.hash_or_create(&a[1])?.insert_keep_ttl(a[2].clone(), args::int_bytes(new));
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

/// HINCRBYFLOAT in `long double`, as Redis (see [`crate::longdouble`]).
fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    use crate::longdouble::{add, LdError};
    let errors = |e: LdError| match e {
        LdError::Current => CmdError::err("hash value is not a float"),
        LdError::Increment => CmdError::NotFloat,
        LdError::IncrementNotFinite => CmdError::err("value is NaN or Infinity"),
        LdError::NotFinite => CmdError::err("increment would produce NaN or Infinity"),
    };
    // The increment is checked before the hash, as Redis does.
    add(None, &a[3]).map_err(errors)?;
    let cur = field_value(ctx, &a[1], &a[2])?;
    let text = add(Some(cur.as_deref().unwrap_or(b"0")), &a[3]).map_err(errors)?;
    ctx.hash_or_create(&a[1])?.insert_keep_ttl(a[2].clone(), text.clone());
    ctx.dirty(1);
    // Logged with the final value; KEEPTTL so that replay keeps the field's TTL (as Redis).
    ctx.propagate(vec![lit("HSETEX"), a[1].clone(), lit("KEEPTTL"), lit("FIELDS"), lit("1"), a[2].clone(), text.clone()]);
    Ok(Reply::Bulk(text))
}

/// Renders HRANDFIELD's picks: RESP3 nests `[field, value]` pairs, RESP2 flattens them.
fn random_fields_reply(h: &Hash, picks: &[usize], with_values: bool, resp3: bool) -> Reply {
    let mut out = Vec::with_capacity(picks.len() * if with_values && !resp3 { 2 } else { 1 });
    for (k, v) in picks.iter().filter_map(|&i| h.get_index(i)) {
        let field = Reply::Bulk(k.clone());
        match (with_values, resp3) {
            (false, _) => out.push(field),
            (true, true) => out.push(Reply::Array(vec![field, Reply::Bulk(v.clone())])),
            (true, false) => {
                out.push(field);
                out.push(Reply::Bulk(v.clone()));
            }
        }
    }
    Reply::Array(out)
}

fn hrandfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 {
        let Some(h) = ctx.get_hash(&a[1])? else {
            return Ok(Reply::Nil);
        };
        let i = rand::thread_rng().gen_range(0..h.len().max(1));
        return Ok(Reply::opt_bulk(h.get_index(i).map(|(k, _)| k.clone())));
    }
    let count = random_count(&a[2])?;
    let with_values = match a.get(3) {
        None => false,
        Some(o) if a.len() == 4 && is(o, "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let resp3 = ctx.session.protocol == Protocol::Resp3;
    let Some(h) = ctx.get_hash(&a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let picks = random_indexes(h.len(), count);
    Ok(random_fields_reply(h, &picks, with_values, resp3))
}

fn hscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // The cursor is validated before the key, the options only when the key exists (as Redis).
    parse_scan(&a[..3], 2, false, true)?;
    let empty = || Reply::Array(vec![Reply::Bulk(lit("0")), Reply::Array(Vec::new())]);
    if ctx.get_hash(&a[1])?.is_none() {
        return Ok(empty());
    }
    let o = parse_scan(a, 2, false, true)?;
    let enc = ctx.shared.config.read().encodings;
    let Some(h) = ctx.get_hash(&a[1])? else {
        return Ok(empty());
    };
    let with = |k: &Bytes, v: &Bytes| (k.clone(), (!o.no_values).then(|| Reply::Bulk(v.clone())));
    if crate::value::hash_is_listpack(h, &enc) {
        // A listpack in Redis: everything at once, in order.
        return Ok(scan_all(&o, h.iter().map(|(k, v)| with(k, v))));
    }
    Ok(scan_collection(h.len(), &o, |i| h.get_index(i).map(|(k, v)| with(k, v))))
}

// ---- Hash field expiration (Redis 7.4 / 8) ----

/// The latest expiry a field may have (Redis's `EB_EXPIRE_TIME_MAX`, 2^48 - 1 ms).
const MAX_FIELD_EXPIRE_MS: i64 = (1 << 48) - 1;

/// Parses an expiry argument as Redis's hash commands do: non-negative, `seconds` scaled to
/// ms, `base` (now for relative forms, 0 for absolute) added; at most [`MAX_FIELD_EXPIRE_MS`].
fn field_expire_arg(arg: &[u8], seconds: bool, base: i64, cmd: &str) -> CmdResult<u64> {
    let mut v = int(arg)?;
    if v < 0 {
        return Err(CmdError::err("invalid expire time, must be >= 0"));
    }
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    if seconds {
        if v > MAX_FIELD_EXPIRE_MS / 1000 {
            // The hosted service accepts any far-future Unix time in seconds (HEXPIREAT, EXAT):
            // the field then keeps the latest expiry there is. Redis refuses it.
            if base != 0 {
                return Err(invalid());
            }
            v = MAX_FIELD_EXPIRE_MS / 1000;
        }
        v *= 1000;
    }
    if v > MAX_FIELD_EXPIRE_MS - base {
        return Err(invalid());
    }
    Ok((v + base) as u64)
}

/// Parses `FIELDS numfields field...` whose keyword is at `at` and whose fields run to the end.
fn fields_arg<'a>(a: &'a [Bytes], at: usize, count_error: &str) -> CmdResult<&'a [Bytes]> {
    if !a.get(at).is_some_and(|k| is(k, "FIELDS")) {
        return Err(CmdError::err("Mandatory argument FIELDS is missing or not at the right position"));
    }
    let Some(n) = a.get(at + 1) else {
        return Err(wrong_args(a));
    };
    let n = int(n).ok().filter(|&n| n >= 1).ok_or_else(|| CmdError::err(count_error))?;
    let fields = &a[at + 2..];
    if fields.len() as i64 != n {
        return Err(CmdError::err("The `numfields` parameter must match the number of arguments"));
    }
    Ok(fields)
}

/// `HDEL key fields...`, the logged form of fields removed by a command.
fn hdel_effect(key: &Bytes, fields: Vec<Bytes>) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(fields.len() + 2);
    out.push(lit("HDEL"));
    out.push(key.clone());
    out.extend(fields);
    out
}

/// `HPEXPIREAT key at FIELDS n fields...`, the logged form of TTLs a command set.
fn hpexpireat_effect(key: &Bytes, at: u64, fields: Vec<Bytes>) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(fields.len() + 5);
    out.extend([lit("HPEXPIREAT"), key.clone(), args::int_bytes(at as i64), lit("FIELDS"), args::int_bytes(fields.len() as i64)]);
    out.extend(fields);
    out
}

/// True if a TTL set at `at` is already in the past, so the field is deleted instead (Redis's
/// `checkAlreadyExpired`: never while the log is replayed, which must rebuild the TTL as it was).
fn already_expired(ctx: &Ctx, at: u64) -> bool {
    at <= ctx.now && ctx.session.face != crate::session::Face::Loading
}

/// What a TTL update did to one field (the reply codes of HEXPIRE).
#[derive(Debug, Clone, Copy, PartialEq)]
enum TtlSet {
    NoField = -2,
    NotMet = 0,
    Set = 1,
    Deleted = 2,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cond {
    None,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// Sets the TTL of one field under condition `cond` (a field without TTL counts as an infinite
/// one for GT/LT), deleting the field instead if `past`.
fn set_field_ttl(h: &mut Hash, field: &[u8], at: u64, cond: Cond, past: bool) -> TtlSet {
    if !h.contains_key(field) {
        return TtlSet::NoField;
    }
    let met = match (h.expire_at(field), cond) {
        (_, Cond::None) => true,
        (None, c) => matches!(c, Cond::Nx | Cond::Lt),
        (Some(_), Cond::Nx) => false,
        (Some(_), Cond::Xx) => true,
        (Some(cur), Cond::Gt) => at > cur,
        (Some(cur), Cond::Lt) => at < cur,
    };
    if !met {
        return TtlSet::NotMet;
    }
    if past {
        h.remove(field);
        TtlSet::Deleted
    } else {
        h.set_expire(field, at);
        TtlSet::Set
    }
}

/// Finishes a command that set TTLs on or deleted fields of the hash at `key`: counts the
/// changes, deletes the key if it emptied, registers it with the active expiry cycle, and logs
/// the deterministic form (`HDEL` for deleted fields, `HPEXPIREAT` for the TTLs set).
fn ttl_changes_done(ctx: &mut Ctx, key: &Bytes, at: u64, set: Vec<Bytes>, deleted: Vec<Bytes>) {
    let n = set.len() + deleted.len();
    if n == 0 {
        return;
    }
    ctx.dirty(n as u64);
    ctx.delete_if_empty(key);
    if !deleted.is_empty() {
        ctx.propagate(hdel_effect(key, deleted));
    }
    if !set.is_empty() {
        ctx.track_field_ttls(key);
        ctx.propagate(hpexpireat_effect(key, at, set));
    }
}

/// HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT key time [NX|XX|GT|LT] FIELDS numfields field...
fn hexpire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    let (seconds, absolute) = match name.as_str() {
        "hexpire" => (true, false),
        "hpexpire" => (false, false),
        "hexpireat" => (true, true),
        _ => (false, true),
    };
    let exists = ctx.get_hash(&a[1])?.is_some();
    let at = field_expire_arg(&a[2], seconds, if absolute { 0 } else { ctx.now as i64 }, &name)?;
    let cond = match &a[3] {
        c if is(c, "NX") => Cond::Nx,
        c if is(c, "XX") => Cond::Xx,
        c if is(c, "GT") => Cond::Gt,
        c if is(c, "LT") => Cond::Lt,
        _ => Cond::None,
    };
    let fields = fields_arg(a, if cond == Cond::None { 3 } else { 4 }, "Parameter `numFields` should be greater than 0")?;
    if !exists {
        return Ok(Reply::Array(vec![Reply::Int(TtlSet::NoField as i64); fields.len()]));
    }
    let past = already_expired(ctx, at);
    let Some(h) = ctx.get_hash_mut(&a[1])? else {
        return Ok(Reply::Array(vec![Reply::Int(TtlSet::NoField as i64); fields.len()]));
    };
    let (mut set, mut deleted, mut out) = (Vec::new(), Vec::new(), Vec::with_capacity(fields.len()));
    for f in fields {
        let r = set_field_ttl(h, f, at, cond, past);
        match r {
            TtlSet::Set => set.push(f.clone()),
            TtlSet::Deleted => deleted.push(f.clone()),
            _ => {}
        }
        out.push(Reply::Int(r as i64));
    }
    ctx.set_events(vec![(notify::HASH, if deleted.is_empty() { "hexpire" } else { "hdel" })]);
    ttl_changes_done(ctx, &a[1], at, set, deleted);
    Ok(Reply::Array(out))
}

/// HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME key FIELDS numfields field...
fn httl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    let now = ctx.now;
    let h = ctx.get_hash(&a[1])?;
    let fields = fields_arg(a, 2, "Number of fields must be a positive integer")?;
    let Some(h) = h else {
        return Ok(Reply::Array(vec![Reply::Int(-2); fields.len()]));
    };
    let out = fields
        .iter()
        .map(|f| {
            if !h.contains_key(f) {
                return Reply::Int(-2);
            }
            let Some(at) = h.expire_at(f) else {
                return Reply::Int(-1);
            };
            if crate::hash::field_expired(at, now) {
                return Reply::Int(-2);
            }
            let (at, now) = (at as i64, now as i64);
            Reply::Int(match name.as_str() {
                "httl" => (at + 999 - now) / 1000,
                "hpttl" => at - now,
                // Truncated to whole seconds, as the hosted service answers (Redis rounds up).
                "hexpiretime" => at / 1000,
                _ => at,
            })
        })
        .collect();
    Ok(Reply::Array(out))
}

/// HPERSIST key FIELDS numfields field...
fn hpersist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let exists = ctx.get_hash(&a[1])?.is_some();
    let fields = fields_arg(a, 2, "Number of fields must be a positive integer")?;
    let h = match ctx.get_hash_mut(&a[1])? {
        Some(h) if exists => h,
        _ => return Ok(Reply::Array(vec![Reply::Int(-2); fields.len()])),
    };
    let mut changed = false;
    let out = fields
        .iter()
        .map(|f| {
            Reply::Int(if !h.contains_key(f) {
                -2
            } else if h.clear_ttl(f) {
                changed = true;
                1
            } else {
                -1
            })
        })
        .collect();
    if changed {
        ctx.dirty(1);
    }
    Ok(Reply::Array(out))
}

/// HGETDEL key FIELDS numfields field...
fn hgetdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let exists = ctx.get_hash(&a[1])?.is_some();
    let fields = fields_arg(a, 2, "Number of fields must be a positive integer")?;
    let h = match ctx.get_hash_mut(&a[1])? {
        Some(h) if exists => h,
        _ => return Ok(Reply::Array(vec![Reply::Nil; fields.len()])),
    };
    let mut deleted = Vec::new();
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let v = h.remove(f);
        if v.is_some() {
            deleted.push(f.clone());
        }
        out.push(Reply::opt_bulk(v));
    }
    if !deleted.is_empty() {
        ctx.set_events(vec![(notify::HASH, "hdel")]);
        ctx.dirty(deleted.len() as u64);
        ctx.delete_if_empty(&a[1]);
        ctx.propagate(hdel_effect(&a[1], deleted));
    }
    Ok(Reply::Array(out))
}

/// What HGETEX does to the TTL of the fields it returns.
enum GetExTtl {
    Keep,
    Persist,
    At(u64),
}

/// HGETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST] FIELDS numfields field...
fn hgetex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let exists = ctx.get_hash(&a[1])?.is_some();
    let now = ctx.now as i64;
    let opt = &a[2];
    let (ttl, fields_at) = if is(opt, "EX") || is(opt, "PX") || is(opt, "EXAT") || is(opt, "PXAT") {
        let seconds = is(opt, "EX") || is(opt, "EXAT");
        let base = if is(opt, "EX") || is(opt, "PX") { now } else { 0 };
        (GetExTtl::At(field_expire_arg(&a[3], seconds, base, "hgetex")?), 4)
    } else if is(opt, "PERSIST") {
        (GetExTtl::Persist, 3)
    } else {
        (GetExTtl::Keep, 2)
    };
    let fields = fields_arg(a, fields_at, "Number of fields must be a positive integer")?;
    let past = matches!(ttl, GetExTtl::At(at) if already_expired(ctx, at));
    let h = match ctx.get_hash_mut(&a[1])? {
        Some(h) if exists => h,
        _ => return Ok(Reply::Array(vec![Reply::Nil; fields.len()])),
    };
    let (mut set, mut deleted, mut out) = (Vec::new(), Vec::new(), Vec::with_capacity(fields.len()));
    for f in fields {
        let v = h.get(&f[..]).cloned();
        if v.is_some() {
            match ttl {
                GetExTtl::Keep => {}
                GetExTtl::Persist => {
                    if h.clear_ttl(f) {
                        set.push(f.clone());
                    }
                }
                GetExTtl::At(at) => match set_field_ttl(h, f, at, Cond::None, past) {
                    TtlSet::Deleted => deleted.push(f.clone()),
                    TtlSet::Set => set.push(f.clone()),
                    _ => {}
                },
            }
        }
        out.push(Reply::opt_bulk(v));
    }
    match ttl {
        GetExTtl::Keep => {}
        GetExTtl::Persist if !set.is_empty() => {
            ctx.set_events(vec![(notify::HASH, "hpersist")]);
            ctx.dirty(set.len() as u64);
            let mut eff = vec![lit("HPERSIST"), a[1].clone(), lit("FIELDS"), args::int_bytes(set.len() as i64)];
            eff.extend(set);
            ctx.propagate(eff);
        }
        GetExTtl::Persist => {}
        GetExTtl::At(at) => {
            ctx.set_events(vec![(notify::HASH, if set.is_empty() { "hdel" } else { "hexpire" })]);
            ttl_changes_done(ctx, &a[1], at, set, deleted);
        }
    }
    Ok(Reply::Array(out))
}

/// The options of HSETEX.
#[derive(Default)]
struct SetExOpts {
    /// FNX (Some(false)) or FXX (Some(true)).
    must_exist: Option<bool>,
    /// EX/PX/EXAT/PXAT resolved to an absolute time.
    at: Option<u64>,
    keep_ttl: bool,
    /// Position of the first field.
    fields_at: usize,
}

fn hsetex_opts(ctx: &Ctx, a: &[Bytes]) -> CmdResult<SetExOpts> {
    let mut o = SetExOpts::default();
    let mut i = 2;
    while i < a.len() {
        let arg = &a[i];
        if is(arg, "FIELDS") {
            if i + 3 >= a.len() {
                return Err(wrong_args(a));
            }
            let n = int(&a[i + 1]).ok().filter(|n| (1..=i32::MAX as i64).contains(n));
            let n = n.ok_or_else(|| CmdError::err("invalid number of fields"))?;
            let remaining = a.len() - i - 2;
            if !remaining.is_multiple_of(2) || n as usize != remaining / 2 {
                return Err(wrong_args(a));
            }
            o.fields_at = i + 2;
            return Ok(o);
        } else if is(arg, "EX") || is(arg, "PX") || is(arg, "EXAT") || is(arg, "PXAT") || is(arg, "KEEPTTL") {
            if o.at.is_some() || o.keep_ttl {
                return Err(CmdError::err("Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"));
            }
            if is(arg, "KEEPTTL") {
                o.keep_ttl = true;
            } else {
                let Some(t) = a.get(i + 1) else {
                    return Err(CmdError::err("missing expire time"));
                };
                let seconds = is(arg, "EX") || is(arg, "EXAT");
                let base = if is(arg, "EX") || is(arg, "PX") { ctx.now as i64 } else { 0 };
                o.at = Some(field_expire_arg(t, seconds, base, "hsetex")?);
                i += 1;
            }
        } else if is(arg, "FNX") || is(arg, "FXX") {
            if o.must_exist.is_some() {
                return Err(CmdError::err("Only one of FXX or FNX arguments can be specified"));
            }
            o.must_exist = Some(is(arg, "FXX"));
        } else {
            return Err(CmdError::err(format!("unknown argument: {}", args::text(arg))));
        }
        i += 1;
    }
    Err(wrong_args(a))
}

/// HSETEX key [FNX|FXX] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL] FIELDS numfields field value...
fn hsetex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let o = hsetex_opts(ctx, a)?;
    let pairs: Vec<(&Bytes, &Bytes)> = a[o.fields_at..].chunks(2).filter_map(|p| Some((p.first()?, p.get(1)?))).collect();
    if let Some(must_exist) = o.must_exist {
        let h = ctx.get_hash(&a[1])?;
        let found = pairs.iter().filter(|(f, _)| h.is_some_and(|h| h.contains_key(&f[..]))).count();
        if (must_exist && found != pairs.len()) || (!must_exist && found != 0) {
            return Ok(Reply::Int(0));
        }
    }
    let past = o.at.is_some_and(|at| already_expired(ctx, at));
    let h = ctx.hash_or_create(&a[1])?;
    let (mut set, mut deleted) = (Vec::new(), Vec::new());
    for (f, v) in &pairs {
        if o.at.is_some() || o.keep_ttl {
            h.insert_keep_ttl((*f).clone(), (*v).clone());
        } else {
            h.insert((*f).clone(), (*v).clone());
        }
        if let Some(at) = o.at {
            match set_field_ttl(h, f, at, Cond::None, past) {
                TtlSet::Deleted => deleted.push((*f).clone()),
                TtlSet::Set => set.push((*f).clone()),
                _ => {}
            }
        }
    }
    let mut events = vec![(notify::HASH, "hset")];
    if !deleted.is_empty() || !set.is_empty() {
        events.push((notify::HASH, if deleted.is_empty() { "hexpire" } else { "hdel" }));
    }
    ctx.set_events(events);
    ctx.dirty(pairs.len() as u64);
    ctx.delete_if_empty(&a[1]);
    if !set.is_empty() {
        ctx.track_field_ttls(&a[1]);
    }
    if !deleted.is_empty() {
        // Every field was set and then deleted (one time for all): the deletion is the effect.
        ctx.propagate(hdel_effect(&a[1], deleted));
    } else {
        let mut eff = vec![lit("HSETEX"), a[1].clone()];
        match o.at {
            Some(at) => eff.extend([lit("PXAT"), args::int_bytes(at as i64)]),
            None if o.keep_ttl => eff.push(lit("KEEPTTL")),
            None => {}
        }
        eff.extend([lit("FIELDS"), args::int_bytes(pairs.len() as i64)]);
        eff.extend(pairs.iter().flat_map(|(f, v)| [(*f).clone(), (*v).clone()]));
        ctx.propagate(eff);
    }
    Ok(Reply::Int(1))
}

/// The commands that re-create the field TTLs of `h` after its `HSET`s in a log rewrite:
/// one `HPEXPIREAT key at FIELDS n ...` per distinct expiry time (ordered by time).
pub fn rewrite_field_ttls(key: &Bytes, h: &Hash) -> Vec<Vec<Bytes>> {
    let mut by_time: std::collections::BTreeMap<u64, Vec<Bytes>> = std::collections::BTreeMap::new();
    for (f, at) in h.ttls() {
        by_time.entry(at).or_default().push(f.clone());
    }
    let mut out = Vec::new();
    for (at, fields) in by_time {
        for chunk in fields.chunks(128) {
            out.push(hpexpireat_effect(key, at, chunk.to_vec()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::Reply;

    fn logged(t: &mut T, args: &[&str]) -> (Reply, Vec<Vec<String>>, u64) {
        t.logged_text(args)
    }

    #[test]
    fn dirty_and_propagation() {
        let mut t = T::new();
        let (_, fx, d) = logged(&mut t, &["HSET", "h", "a", "1", "n", "1.5"]);
        assert_eq!((fx, d), (vec![vec!["HSET".to_string(), "h".into(), "a".into(), "1".into(), "n".into(), "1.5".into()]], 2));
        let (r, fx, d) = logged(&mut t, &["HINCRBYFLOAT", "h", "n", "1"]);
        assert_eq!(r, b("2.5"));
        assert_eq!(
            (fx, d),
            (vec![vec!["HSETEX".to_string(), "h".into(), "KEEPTTL".into(), "FIELDS".into(), "1".into(), "n".into(), "2.5".into()]], 1)
        );
        for read in [
            &["HGET", "h", "a"][..],
            &["HGETALL", "h"],
            &["HRANDFIELD", "h", "-3"],
            &["HSCAN", "h", "0"],
            &["HDEL", "h", "zz"],
            &["HSETNX", "h", "a", "2"],
        ] {
            let (_, fx, d) = logged(&mut t, read);
            assert_eq!((fx.len(), d), (0, 0), "{read:?}");
        }
    }

    #[test]
    fn set_get_del() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HSET", "h", "a", "1", "b", "2"]), Reply::Int(2));
        assert_eq!(t.ok(&["HSET", "h", "a", "10", "c", "3"]), Reply::Int(1));
        assert_eq!(t.ok(&["HMSET", "h", "d", "4"]), Reply::Ok);
        assert_eq!(t.ok(&["HSETNX", "h", "a", "x"]), Reply::Int(0));
        assert_eq!(t.ok(&["HSETNX", "h", "e", "5"]), Reply::Int(1));
        assert_eq!(t.ok(&["HGET", "h", "a"]), b("10"));
        assert_eq!(t.ok(&["HGET", "h", "zz"]), Reply::Nil);
        assert_eq!(t.ok(&["HGET", "nokey", "a"]), Reply::Nil);
        assert_eq!(t.ok(&["HMGET", "h", "a", "zz", "b"]), Reply::Array(vec![b("10"), Reply::Nil, b("2")]));
        assert_eq!(t.ok(&["HMGET", "nokey", "a"]), Reply::Array(vec![Reply::Nil]));
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(5));
        assert_eq!(t.ok(&["HSTRLEN", "h", "a"]), Reply::Int(2));
        assert_eq!(t.ok(&["HSTRLEN", "h", "zz"]), Reply::Int(0));
        assert_eq!(t.ok(&["HEXISTS", "h", "a"]), Reply::Int(1));
        assert_eq!(t.ok(&["HEXISTS", "h", "zz"]), Reply::Int(0));
        assert_eq!(t.ok(&["HDEL", "h", "a", "zz", "b"]), Reply::Int(2));
        assert_eq!(t.ok(&["HKEYS", "h"]), arr(&["c", "d", "e"])); // listpack order, as Redis
        assert_eq!(t.ok(&["HDEL", "h", "c", "d", "e"]), Reply::Int(3));
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
        assert_eq!(t.ok(&["HDEL", "h", "c"]), Reply::Int(0));
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(0));
    }

    #[test]
    fn getall_keys_vals() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(t.ok(&["HGETALL", "h"]), Reply::Map(vec![(b("a"), b("1")), (b("b"), b("2"))]));
        assert_eq!(t.ok(&["HKEYS", "h"]), arr(&["a", "b"]));
        assert_eq!(t.ok(&["HVALS", "h"]), arr(&["1", "2"]));
        assert_eq!(t.ok(&["HGETALL", "none"]), Reply::Map(vec![]));
        assert_eq!(t.ok(&["HKEYS", "none"]), arr(&[]));
        assert_eq!(t.ok(&["HVALS", "none"]), arr(&[]));
    }

    #[test]
    fn errors_and_wrongtype() {
        let mut t = T::new();
        assert_eq!(t.err(&["HSET", "h", "a", "1", "b"]), "ERR wrong number of arguments for 'hset' command");
        assert_eq!(t.err(&["HMSET", "h", "a", "1", "b"]), "ERR wrong number of arguments for 'hmset' command");
        assert_eq!(t.err(&["HSET", "h", "a"]), "ERR wrong number of arguments for 'hset' command");
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
        t.ok(&["SET", "s", "x"]);
        for cmd in [
            &["HSET", "s", "a", "1"][..],
            &["HSETNX", "s", "a", "1"],
            &["HGET", "s", "a"],
            &["HMGET", "s", "a"],
            &["HGETALL", "s"],
            &["HDEL", "s", "a"],
            &["HLEN", "s"],
            &["HSTRLEN", "s", "a"],
            &["HEXISTS", "s", "a"],
            &["HKEYS", "s"],
            &["HVALS", "s"],
            &["HINCRBY", "s", "a", "1"],
            &["HINCRBYFLOAT", "s", "a", "1"],
            &["HRANDFIELD", "s"],
            &["HRANDFIELD", "s", "2"],
            &["HSCAN", "s", "0"],
        ] {
            assert_eq!(t.err(cmd), WRONGTYPE, "{cmd:?}");
        }
    }

    #[test]
    fn incr_family() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HINCRBY", "h", "n", "5"]), Reply::Int(5));
        assert_eq!(t.ok(&["HINCRBY", "h", "n", "-7"]), Reply::Int(-2));
        assert_eq!(t.err(&["HINCRBY", "h", "n", "x"]), "ERR value is not an integer or out of range");
        t.ok(&["HSET", "h", "s", "abc", "big", "9223372036854775807", "f", "1.5"]);
        assert_eq!(t.err(&["HINCRBY", "h", "s", "1"]), "ERR hash value is not an integer");
        assert_eq!(t.err(&["HINCRBY", "h", "f", "1"]), "ERR hash value is not an integer");
        assert_eq!(t.err(&["HINCRBY", "h", "big", "1"]), "ERR increment or decrement would overflow");
        assert_eq!(t.ok(&["HINCRBYFLOAT", "h", "f", "0.1"]), b("1.6"));
        assert_eq!(t.ok(&["HINCRBYFLOAT", "h", "g", "10.5"]), b("10.5"));
        assert_eq!(t.ok(&["HINCRBYFLOAT", "h", "n", "2"]), b("0"));
        assert_eq!(t.err(&["HINCRBYFLOAT", "h", "s", "1"]), "ERR hash value is not a float");
        assert_eq!(t.err(&["HINCRBYFLOAT", "h", "f", "x"]), "ERR value is not a valid float");
        assert_eq!(t.err(&["HINCRBYFLOAT", "h", "f", "inf"]), "ERR value is NaN or Infinity");
        assert_eq!(t.ok(&["HGET", "h", "f"]), b("1.6"));
        // A failing increment on a missing key must not create it.
        assert_eq!(t.err(&["HINCRBY", "new", "n", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.ok(&["EXISTS", "new"]), Reply::Int(0));
    }

    #[test]
    fn randfield() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HRANDFIELD", "none"]), Reply::Nil);
        assert_eq!(t.ok(&["HRANDFIELD", "none", "3"]), arr(&[]));
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        let Reply::Bulk(f) = t.ok(&["HRANDFIELD", "h"]) else { panic!() };
        assert!([&b"a"[..], b"b", b"c"].contains(&&f[..]));
        assert_eq!(t.ok(&["HRANDFIELD", "h", "0"]), arr(&[]));
        assert_eq!(t.ok(&["HRANDFIELD", "h", "10"]), arr(&["a", "b", "c"]));
        let Reply::Array(two) = t.ok(&["HRANDFIELD", "h", "2"]) else { panic!() };
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        let Reply::Array(many) = t.ok(&["HRANDFIELD", "h", "-10"]) else { panic!() };
        assert_eq!(many.len(), 10);
        let Reply::Array(wv) = t.ok(&["HRANDFIELD", "h", "-4", "WITHVALUES"]) else { panic!() };
        assert_eq!(wv.len(), 8);
        for pair in wv.chunks(2) {
            let (Reply::Bulk(f), Reply::Bulk(v)) = (&pair[0], &pair[1]) else { panic!() };
            assert_eq!(f[0] - b'a' + b'1', v[0]);
        }
        assert_eq!(t.err(&["HRANDFIELD", "h", "1", "WITHSCORES"]), "ERR syntax error");
        assert_eq!(t.err(&["HRANDFIELD", "h", "1", "WITHVALUES", "x"]), "ERR syntax error");
        assert_eq!(t.err(&["HRANDFIELD", "h", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.err(&["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"]), "ERR value is out of range");
    }

    #[test]
    fn randfield_resp3_pairs() {
        let mut t = T::new();
        t.session.protocol = stashd_resp::Protocol::Resp3;
        t.ok(&["HSET", "h", "a", "1"]);
        assert_eq!(t.ok(&["HRANDFIELD", "h", "1", "WITHVALUES"]), Reply::Array(vec![arr(&["a", "1"])]));
    }

    #[test]
    fn scan() {
        let mut t = T::new();
        for i in 0..30 {
            t.ok(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let Reply::Array(parts) = t.ok(&["HSCAN", "h", &cursor, "COUNT", "7"]) else { panic!() };
            let (Reply::Bulk(c), Reply::Array(items)) = (&parts[0], &parts[1]) else { panic!() };
            assert_eq!(items.len() % 2, 0);
            for pair in items.chunks(2) {
                seen.insert(format!("{:?}", pair[0]));
            }
            cursor = String::from_utf8(c.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 30);
        assert_eq!(t.ok(&["HSCAN", "h", "0", "MATCH", "f1"]), Reply::Array(vec![b("0"), arr(&["f1", "v1"])]));
        assert_eq!(t.ok(&["HSCAN", "h", "0", "MATCH", "f2", "NOVALUES"]), Reply::Array(vec![b("0"), arr(&["f2"])]));
        assert_eq!(t.ok(&["HSCAN", "none", "0"]), Reply::Array(vec![b("0"), arr(&[])]));
        assert_eq!(t.err(&["HSCAN", "h", "x"]), "ERR invalid cursor");
        assert_eq!(t.err(&["HSCAN", "h", "0", "COUNT", "0"]), "ERR syntax error");
        assert_eq!(t.err(&["HSCAN", "h", "0", "BOGUS"]), "ERR syntax error");
    }

    #[test]
    fn a_snapshot_keeps_its_view_while_writers_copy_on_write() {
        // The log rewrite clones the databases and serializes them while writes continue.
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1"]);
        t.ok(&["APPEND", "s", "a-string-longer-than-twenty-two-bytes"]);
        let snap = t.engine.shared.ks.lock().dbs.clone();
        t.ok(&["HSET", "h", "a", "2"]);
        t.ok(&["APPEND", "s", "!"]);
        let crate::value::Value::Hash(h) = &snap[0].map[&b"h"[..]].value else { panic!("hash expected") };
        assert_eq!(h.get(&b"a"[..]).map(|v| &v[..]), Some(&b"1"[..]));
        let crate::value::Value::Str(st) = &snap[0].map[&b"s"[..]].value else { panic!("string expected") };
        assert_eq!(&st[..], &b"a-string-longer-than-twenty-two-bytes"[..]);
        assert_eq!(t.ok(&["HGET", "h", "a"]), b("2"));
        assert_eq!(t.ok(&["STRLEN", "s"]), crate::Reply::Int(38));
    }

    // ---- Hash field expiration ----

    const NOW: u64 = 1_700_000_000_000;

    fn ints(v: &[i64]) -> Reply {
        Reply::Array(v.iter().map(|&n| Reply::Int(n)).collect())
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hexpire_family_replies_and_ttls() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(t.ok(&["HEXPIRE", "h", "100", "FIELDS", "3", "a", "b", "zz"]), ints(&[1, 1, -2]));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "3", "a", "c", "zz"]), ints(&[100, -1, -2]));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "1", "a"]), ints(&[100_000]));
        assert_eq!(t.ok(&["HPEXPIRETIME", "h", "FIELDS", "1", "a"]), ints(&[(NOW + 100_000) as i64]));
        assert_eq!(t.ok(&["HEXPIRETIME", "h", "FIELDS", "2", "a", "c"]), ints(&[((NOW + 100_000) / 1000) as i64, -1]));
        assert_eq!(t.ok(&["HTTL", "none", "FIELDS", "2", "a", "b"]), ints(&[-2, -2]));
        // HTTL rounds up: 1500 ms left is 2 s.
        assert_eq!(t.ok(&["HPEXPIRE", "h", "1500", "FIELDS", "1", "b"]), ints(&[1]));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "1", "b"]), ints(&[2]));
        assert_eq!(t.ok(&["HPEXPIREAT", "h", &(NOW + 5000).to_string(), "FIELDS", "1", "b"]), ints(&[1]));
        assert_eq!(t.ok(&["HEXPIREAT", "h", &(NOW / 1000 + 7).to_string(), "FIELDS", "1", "c"]), ints(&[1]));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "2", "b", "c"]), ints(&[5000, 7000]));
        // Conditions: a field without TTL is an infinite TTL for GT/LT.
        t.ok(&["HSET", "h", "d", "4"]);
        assert_eq!(t.ok(&["HEXPIRE", "h", "50", "NX", "FIELDS", "2", "a", "d"]), ints(&[0, 1]));
        assert_eq!(t.ok(&["HEXPIRE", "h", "60", "XX", "FIELDS", "3", "d", "zz", "a"]), ints(&[1, -2, 1]));
        t.ok(&["HSET", "h", "e", "5"]);
        assert_eq!(t.ok(&["HEXPIRE", "h", "70", "GT", "FIELDS", "3", "d", "a", "e"]), ints(&[1, 1, 0]));
        assert_eq!(t.ok(&["HEXPIRE", "h", "65", "GT", "FIELDS", "1", "d"]), ints(&[0]));
        assert_eq!(t.ok(&["HEXPIRE", "h", "65", "LT", "FIELDS", "3", "d", "e", "a"]), ints(&[1, 1, 1]));
        assert_eq!(t.ok(&["HEXPIRE", "h", "66", "LT", "FIELDS", "1", "d"]), ints(&[0]));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "3", "d", "e", "a"]), ints(&[65, 65, 65]));
        assert_eq!(t.ok(&["OBJECT", "ENCODING", "h"]), b("listpackex"));
    }

    #[test]
    fn past_times_delete_fields_and_the_emptied_key() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(t.ok(&["HEXPIRE", "h", "0", "FIELDS", "2", "a", "zz"]), ints(&[2, -2]));
        assert_eq!(t.ok(&["HPEXPIREAT", "h", &NOW.to_string(), "FIELDS", "1", "b"]), ints(&[2]));
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
        assert_eq!(t.ok(&["HEXPIRE", "h", "10", "FIELDS", "1", "a"]), ints(&[-2]));
    }

    #[test]
    fn expired_fields_are_invisible_and_reclaimed_on_access() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        t.ok(&["HPEXPIRE", "h", "1000", "FIELDS", "2", "a", "b"]);
        t.advance(1000);
        // A field lives through its expiry millisecond (Redis: expired when `at < now`).
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(3));
        t.advance(1);
        for (cmd, want) in [
            (&["HGET", "h", "a"][..], Reply::Nil),
            (&["HLEN", "h"], Reply::Int(1)),
            (&["HEXISTS", "h", "b"], Reply::Int(0)),
            (&["HSTRLEN", "h", "b"], Reply::Int(0)),
            (&["HKEYS", "h"], arr(&["c"])),
            (&["HVALS", "h"], arr(&["3"])),
            (&["HMGET", "h", "a", "c"], Reply::Array(vec![Reply::Nil, b("3")])),
            (&["HGETALL", "h"], Reply::Map(vec![(b("c"), b("3"))])),
            (&["HRANDFIELD", "h", "5"], arr(&["c"])),
            (&["HSCAN", "h", "0"], Reply::Array(vec![b("0"), arr(&["c", "3"])])),
            (&["HTTL", "h", "FIELDS", "2", "a", "c"], ints(&[-2, -1])),
        ] {
            assert_eq!(t.ok(cmd), want, "{cmd:?}");
        }
        // The first access reclaimed them (and logs it); the last field's expiry removes the key.
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        t.ok(&["HPEXPIRE", "h", "10", "FIELDS", "2", "a", "b"]);
        t.advance(11);
        let (r, fx, _) = t.logged_text(&["HGET", "h", "a"]);
        assert_eq!(r, Reply::Nil);
        assert_eq!(fx, vec![strs(&["HDEL", "h", "a", "b"])]);
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
        let info = format!("{:?}", t.ok(&["INFO", "stats"]));
        assert!(info.contains("expired_subkeys:2"), "{info}");
        // Key-level commands see a hash whose every field expired as gone, too.
        t.ok(&["HSET", "k", "a", "1"]);
        t.ok(&["HPEXPIRE", "k", "10", "FIELDS", "1", "a"]);
        t.advance(11);
        assert_eq!(t.ok(&["TYPE", "k"]), Reply::Status(bytes::Bytes::from_static(b"none")));
        assert_eq!(t.ok(&["EXISTS", "k"]), Reply::Int(0));
        // A write on the emptied hash starts a new one.
        t.ok(&["HSET", "w", "a", "1"]);
        t.ok(&["HPEXPIRE", "w", "10", "FIELDS", "1", "a"]);
        t.advance(11);
        assert_eq!(t.ok(&["HINCRBY", "w", "a", "5"]), Reply::Int(5));
        assert_eq!(t.ok(&["HTTL", "w", "FIELDS", "1", "a"]), ints(&[-1]));
    }

    #[test]
    fn writes_and_field_ttls() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "n", "1", "f", "1.5", "x", "1"]);
        t.ok(&["HEXPIRE", "h", "100", "FIELDS", "4", "a", "n", "f", "x"]);
        // HSET overwrites the field and its TTL; increments keep it; HSETNX does nothing.
        t.ok(&["HSET", "h", "a", "2"]);
        t.ok(&["HINCRBY", "h", "n", "2"]);
        t.ok(&["HINCRBYFLOAT", "h", "f", "1"]);
        t.ok(&["HSETNX", "h", "x", "2"]);
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "4", "a", "n", "f", "x"]), ints(&[-1, 100, 100, 100]));
        t.ok(&["HDEL", "h", "n"]);
        t.ok(&["HSET", "h", "n", "9"]);
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "1", "n"]), ints(&[-1]));
    }

    #[test]
    fn hpersist() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HPERSIST", "none", "FIELDS", "1", "a"]), ints(&[-2]));
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        t.ok(&["HEXPIRE", "h", "100", "FIELDS", "1", "a"]);
        let (r, fx, d) = t.logged_text(&["HPERSIST", "h", "FIELDS", "3", "a", "b", "zz"]);
        assert_eq!(r, ints(&[1, -1, -2]));
        assert_eq!((fx, d), (vec![strs(&["HPERSIST", "h", "FIELDS", "3", "a", "b", "zz"])], 1));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "1", "a"]), ints(&[-1]));
        let (r, fx, d) = t.logged_text(&["HPERSIST", "h", "FIELDS", "1", "a"]);
        assert_eq!((r, fx.len(), d), (ints(&[-1]), 0, 0));
    }

    #[test]
    fn hgetdel() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HGETDEL", "none", "FIELDS", "2", "a", "b"]), Reply::Array(vec![Reply::Nil, Reply::Nil]));
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        let (r, fx, d) = t.logged_text(&["HGETDEL", "h", "FIELDS", "3", "a", "zz", "a"]);
        assert_eq!(r, Reply::Array(vec![b("1"), Reply::Nil, Reply::Nil]));
        assert_eq!((fx, d), (vec![strs(&["HDEL", "h", "a"])], 1));
        assert_eq!(t.ok(&["HGETDEL", "h", "FIELDS", "2", "b", "c"]), arr(&["2", "3"]));
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
        let (_, fx, d) = t.logged_text(&["HGETDEL", "h", "FIELDS", "1", "a"]);
        assert_eq!((fx.len(), d), (0, 0));
    }

    #[test]
    fn hgetex() {
        let mut t = T::new();
        assert_eq!(t.ok(&["HGETEX", "none", "EX", "10", "FIELDS", "1", "a"]), Reply::Array(vec![Reply::Nil]));
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        let (r, fx, d) = t.logged_text(&["HGETEX", "h", "EX", "10", "FIELDS", "3", "a", "zz", "b"]);
        assert_eq!(r, Reply::Array(vec![b("1"), Reply::Nil, b("2")]));
        let at = (NOW + 10_000).to_string();
        assert_eq!((fx, d), (vec![strs(&["HPEXPIREAT", "h", &at, "FIELDS", "2", "a", "b"])], 2));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "2", "a", "c"]), ints(&[10_000, -1]));
        assert_eq!(t.ok(&["HGETEX", "h", "FIELDS", "1", "a"]), arr(&["1"]));
        assert_eq!(t.ok(&["HGETEX", "h", "PX", "500", "FIELDS", "1", "a"]), arr(&["1"]));
        assert_eq!(t.ok(&["HGETEX", "h", "EXAT", &(NOW / 1000 + 20).to_string(), "FIELDS", "1", "c"]), arr(&["3"]));
        assert_eq!(t.ok(&["HGETEX", "h", "PXAT", &(NOW + 30).to_string(), "FIELDS", "1", "b"]), arr(&["2"]));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "3", "a", "b", "c"]), ints(&[500, 30, 20_000]));
        let (r, fx, d) = t.logged_text(&["HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "zz"]);
        assert_eq!(r, Reply::Array(vec![b("1"), Reply::Nil]));
        assert_eq!((fx, d), (vec![strs(&["HPERSIST", "h", "FIELDS", "1", "a"])], 1));
        // A time in the past deletes what it returns.
        let (r, fx, d) = t.logged_text(&["HGETEX", "h", "PXAT", "1", "FIELDS", "2", "a", "b"]);
        assert_eq!(r, arr(&["1", "2"]));
        assert_eq!((fx, d), (vec![strs(&["HDEL", "h", "a", "b"])], 2));
        assert_eq!(t.ok(&["HKEYS", "h"]), arr(&["c"]));
        t.ok(&["HGETEX", "h", "EX", "0", "FIELDS", "1", "c"]);
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
    }

    #[test]
    fn hsetex() {
        let mut t = T::new();
        let (r, fx, d) = t.logged_text(&["HSETEX", "h", "EX", "10", "FIELDS", "2", "a", "1", "b", "2"]);
        assert_eq!(r, Reply::Int(1));
        let at = (NOW + 10_000).to_string();
        assert_eq!((fx, d), (vec![strs(&["HSETEX", "h", "PXAT", &at, "FIELDS", "2", "a", "1", "b", "2"])], 2));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "2", "a", "b"]), ints(&[10, 10]));
        // FNX: none may exist; FXX: all must exist.
        assert_eq!(t.ok(&["HSETEX", "h", "FNX", "FIELDS", "2", "a", "9", "c", "3"]), Reply::Int(0));
        assert_eq!(t.ok(&["HSETEX", "h", "FXX", "FIELDS", "2", "a", "9", "c", "3"]), Reply::Int(0));
        assert_eq!(t.ok(&["HSETEX", "nokey", "FXX", "FIELDS", "1", "a", "1"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "nokey"]), Reply::Int(0));
        assert_eq!(t.ok(&["HSETEX", "h", "FNX", "PX", "500", "FIELDS", "1", "c", "3"]), Reply::Int(1));
        // KEEPTTL keeps it; no option drops it (as HSET).
        assert_eq!(t.ok(&["HSETEX", "h", "FXX", "KEEPTTL", "FIELDS", "2", "a", "11", "c", "33"]), Reply::Int(1));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "2", "a", "c"]), ints(&[10_000, 500]));
        assert_eq!(t.ok(&["HSETEX", "h", "FIELDS", "1", "a", "111"]), Reply::Int(1));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "1", "a"]), ints(&[-1]));
        assert_eq!(t.ok(&["HMGET", "h", "a", "c"]), arr(&["111", "33"]));
        assert_eq!(t.ok(&["HSETEX", "h", "EXAT", &(NOW / 1000 + 100).to_string(), "FIELDS", "1", "a", "1"]), Reply::Int(1));
        assert_eq!(t.ok(&["HSETEX", "h", "PXAT", &(NOW + 100).to_string(), "FIELDS", "1", "b", "2"]), Reply::Int(1));
        assert_eq!(t.ok(&["HPTTL", "h", "FIELDS", "2", "a", "b"]), ints(&[100_000, 100]));
        // A past time: the fields are set and then deleted, logged as HDEL.
        let (r, fx, _) = t.logged_text(&["HSETEX", "h", "PXAT", "5", "FIELDS", "2", "a", "1", "new", "2"]);
        assert_eq!((r, fx), (Reply::Int(1), vec![strs(&["HDEL", "h", "a", "new"])]));
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(2));
        assert_eq!(t.ok(&["HEXISTS", "h", "a"]), Reply::Int(0));
        t.ok(&["HSETEX", "gone", "EX", "0", "FIELDS", "1", "a", "1"]);
        assert_eq!(t.ok(&["EXISTS", "gone"]), Reply::Int(0));
    }

    #[test]
    fn field_ttl_errors_change_nothing() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1"]);
        t.ok(&["SET", "s", "x"]);
        let errs: &[(&[&str], &str)] = &[
            (&["HEXPIRE", "h", "10", "FIELDS", "1"], "ERR wrong number of arguments for 'hexpire' command"),
            (&["HEXPIRE", "h", "x", "FIELDS", "1", "a"], "ERR value is not an integer or out of range"),
            (&["HEXPIRE", "h", "-1", "FIELDS", "1", "a"], "ERR invalid expire time, must be >= 0"),
            (&["HEXPIRE", "h", "281474976710656", "FIELDS", "1", "a"], "ERR invalid expire time in 'hexpire' command"),
            (&["HPEXPIRE", "h", "281474976710655", "FIELDS", "1", "a"], "ERR invalid expire time in 'hpexpire' command"),
            (&["HPEXPIREAT", "h", "281474976710656", "FIELDS", "1", "a"], "ERR invalid expire time in 'hpexpireat' command"),
            (&["HEXPIRE", "h", "10", "FIELDZ", "1", "a"], "ERR Mandatory argument FIELDS is missing or not at the right position"),
            (&["HEXPIRE", "h", "10", "XY", "FIELDS", "1", "a"], "ERR Mandatory argument FIELDS is missing or not at the right position"),
            (&["HEXPIRE", "h", "10", "FIELDS", "0", "a"], "ERR Parameter `numFields` should be greater than 0"),
            (&["HEXPIRE", "h", "10", "FIELDS", "x", "a"], "ERR Parameter `numFields` should be greater than 0"),
            (&["HEXPIRE", "h", "10", "FIELDS", "2", "a"], "ERR The `numfields` parameter must match the number of arguments"),
            (&["HEXPIRE", "h", "10", "NX", "FIELDS", "1"], "ERR The `numfields` parameter must match the number of arguments"),
            (&["HTTL", "h", "FIELDS", "0", "a"], "ERR Number of fields must be a positive integer"),
            (&["HTTL", "h", "FIELD", "1", "a"], "ERR Mandatory argument FIELDS is missing or not at the right position"),
            (&["HPTTL", "h", "FIELDS", "3", "a"], "ERR The `numfields` parameter must match the number of arguments"),
            (&["HPERSIST", "h", "FIELDS", "-1", "a"], "ERR Number of fields must be a positive integer"),
            (&["HGETDEL", "h", "FIELDS", "2", "a"], "ERR The `numfields` parameter must match the number of arguments"),
            (&["HGETDEL", "h", "a", "1", "a"], "ERR Mandatory argument FIELDS is missing or not at the right position"),
            (&["HGETEX", "h", "EX", "-5", "FIELDS", "1", "a"], "ERR invalid expire time, must be >= 0"),
            (&["HGETEX", "h", "PX", "x", "FIELDS", "1", "a"], "ERR value is not an integer or out of range"),
            (&["HGETEX", "h", "EX", "10", "FIELDS"], "ERR wrong number of arguments for 'hgetex' command"),
            (&["HGETEX", "h", "KEEPTTL", "FIELDS", "1", "a"], "ERR Mandatory argument FIELDS is missing or not at the right position"),
            (&["HGETEX", "h", "PERSIST", "FIELDS", "0", "a"], "ERR Number of fields must be a positive integer"),
            (&["HSETEX", "h", "FIELDS", "1", "a"], "ERR wrong number of arguments for 'hsetex' command"),
            (&["HSETEX", "h", "FIELDS", "2", "a", "1"], "ERR wrong number of arguments for 'hsetex' command"),
            (&["HSETEX", "h", "FIELDS", "0", "a", "1"], "ERR invalid number of fields"),
            (&["HSETEX", "h", "FIELDS", "1", "a", "1", "b"], "ERR wrong number of arguments for 'hsetex' command"),
            (
                &["HSETEX", "h", "EX", "1", "PX", "1", "FIELDS", "1", "a", "1"],
                "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
            ),
            (
                &["HSETEX", "h", "KEEPTTL", "EX", "1", "FIELDS", "1", "a", "1"],
                "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
            ),
            (&["HSETEX", "h", "FNX", "FXX", "FIELDS", "1", "a", "1"], "ERR Only one of FXX or FNX arguments can be specified"),
            (&["HSETEX", "h", "BOGUS", "FIELDS", "1", "a", "1"], "ERR unknown argument: BOGUS"),
            (&["HSETEX", "h", "EX", "-1", "FIELDS", "1", "a", "1"], "ERR invalid expire time, must be >= 0"),
            (&["HSETEX", "h", "EX", "281474976710656", "FIELDS", "1", "a", "1"], "ERR invalid expire time in 'hsetex' command"),
            (&["HSETEX", "h", "FNX", "FXX", "EX", "1"], "ERR Only one of FXX or FNX arguments can be specified"),
            (&["HSETEX", "h", "FNX", "KEEPTTL", "EX", "1"], "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"),
            (&["HSETEX", "h", "FNX", "KEEPTTL", "FNX", "x"], "ERR Only one of FXX or FNX arguments can be specified"),
            (&["HSETEX", "h", "FXX", "FNX", "PX", "1"], "ERR Only one of FXX or FNX arguments can be specified"),
            (&["HSETEX", "h", "FXX", "EX", "1", "PX"], "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"),
            (&["HSETEX", "h", "FXX", "FIELDS", "1", "EX"], "ERR wrong number of arguments for 'hsetex' command"),
        ];
        for (cmd, want) in errs {
            assert_eq!(t.err(cmd), *want, "{cmd:?}");
        }
        assert_eq!(t.ok(&["HGETALL", "h"]), Reply::Map(vec![(b("a"), b("1"))]));
        assert_eq!(t.ok(&["HTTL", "h", "FIELDS", "1", "a"]), ints(&[-1]));
        assert_eq!(t.ok(&["OBJECT", "ENCODING", "h"]), b("listpack"));
        for cmd in [
            &["HEXPIRE", "s", "10", "FIELDS", "1", "a"][..],
            &["HPEXPIREAT", "s", "10", "FIELDS", "1", "a"],
            &["HTTL", "s", "FIELDS", "1", "a"],
            &["HPEXPIRETIME", "s", "FIELDS", "1", "a"],
            &["HPERSIST", "s", "FIELDS", "1", "a"],
            &["HGETDEL", "s", "FIELDS", "1", "a"],
            &["HGETEX", "s", "FIELDS", "1", "a"],
            &["HSETEX", "s", "FIELDS", "1", "a", "1"],
            // The type is checked before the other arguments, as in Redis.
            &["HEXPIRE", "s", "x", "FIELDS", "1", "a"],
            &["HTTL", "s", "FIELDS", "0", "a"],
        ] {
            assert_eq!(t.err(cmd), WRONGTYPE, "{cmd:?}");
        }
        // HSETEX parses its options before looking at the key.
        assert_eq!(t.err(&["HSETEX", "s", "BOGUS", "FIELDS", "1", "a", "1"]), "ERR unknown argument: BOGUS");
        assert_eq!(t.ok(&["GET", "s"]), b("x"));
    }

    #[test]
    fn hexpire_logs_absolute_times_and_deletions() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        let at = (NOW + 10_000).to_string();
        let (_, fx, d) = t.logged_text(&["HEXPIRE", "h", "10", "NX", "FIELDS", "3", "a", "zz", "b"]);
        assert_eq!((fx, d), (vec![strs(&["HPEXPIREAT", "h", &at, "FIELDS", "2", "a", "b"])], 2));
        let (_, fx, d) = t.logged_text(&["HEXPIRE", "h", "10", "NX", "FIELDS", "1", "a"]);
        assert_eq!((fx.len(), d), (0, 0));
        let (_, fx, d) = t.logged_text(&["HPEXPIREAT", "h", "1", "FIELDS", "2", "a", "c"]);
        assert_eq!((fx, d), (vec![strs(&["HDEL", "h", "a", "c"])], 2));
    }

    #[test]
    fn replay_keeps_past_ttls_instead_of_deleting() {
        // While the log is replayed a TTL already in the past is stored as it was logged: the
        // fields die afterwards (through the logged HDELs or lazily), never early.
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        t.session.face = crate::Face::Loading;
        assert_eq!(t.ok(&["HPEXPIREAT", "h", "1", "FIELDS", "1", "a"]), ints(&[1]));
        assert_eq!(t.ok(&["HSETEX", "h", "PXAT", "1", "FIELDS", "1", "b", "3"]), Reply::Int(1));
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(2));
        t.session.face = crate::Face::Resp;
        assert_eq!(t.ok(&["HLEN", "h"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "h"]), Reply::Int(0));
    }

    #[test]
    fn active_expiry_reclaims_fields_and_empty_hashes() {
        let mut t = T::new();
        for i in 0..50 {
            let k = format!("h{i}");
            t.ok(&["HSET", &k, "a", "1", "b", "2"]);
            t.ok(&["HPEXPIRE", &k, "100", "FIELDS", "1", "a"]);
            if i % 2 == 0 {
                t.ok(&["HPEXPIRE", &k, "100", "FIELDS", "1", "b"]);
            }
        }
        // A plain hash is never registered.
        t.ok(&["HSET", "plain", "a", "1"]);
        assert_eq!(t.engine.shared.ks.lock().dbs[0].field_ttl_len(), 50);
        t.advance(101);
        let mut n = 0;
        for _ in 0..100 {
            n += t.engine.active_expire_cycle(std::time::Duration::from_secs(1));
        }
        assert_eq!(n, 75);
        let ks = t.engine.shared.ks.lock();
        assert_eq!(ks.dbs[0].len(), 26);
        assert_eq!(ks.dbs[0].field_ttl_len(), 0);
        assert_eq!(ks.stats.expired_subkeys, 75);
    }

    #[test]
    fn active_expiry_of_a_hash_whose_key_ttl_passed_too() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1"]);
        t.ok(&["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
        t.ok(&["PEXPIRE", "h", "50"]);
        t.advance(200);
        t.engine.active_expire_cycle(std::time::Duration::from_secs(1));
        let ks = t.engine.shared.ks.lock();
        assert_eq!((ks.dbs[0].len(), ks.dbs[0].field_ttl_len(), ks.dbs[0].ttl_len()), (0, 0, 0));
    }

    #[test]
    fn one_active_cycle_is_bounded() {
        let mut t = T::new();
        let mut args = vec!["HSET".to_string(), "big".into()];
        let mut fields = vec!["HPEXPIRE".to_string(), "big".into(), "10".into(), "FIELDS".into(), "3000".into()];
        for i in 0..3000 {
            args.extend([format!("f{i}"), "v".into()]);
            fields.push(format!("f{i}"));
        }
        t.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        t.ok(&fields.iter().map(String::as_str).collect::<Vec<_>>());
        t.advance(11);
        assert_eq!(t.engine.active_expire_cycle(std::time::Duration::from_secs(1)), crate::expire::FIELD_QUOTA);
        assert_eq!(t.ok(&["HLEN", "big"]), Reply::Int(0));
    }

    #[test]
    fn rename_copy_move_keep_field_ttls() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        t.ok(&["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
        t.ok(&["RENAME", "h", "r"]);
        t.ok(&["COPY", "r", "c"]);
        t.ok(&["COPY", "r", "d", "DB", "1"]);
        t.ok(&["MOVE", "c", "2"]);
        assert_eq!(t.ok(&["HPTTL", "r", "FIELDS", "2", "a", "b"]), ints(&[100, -1]));
        t.ok(&["SELECT", "2"]);
        assert_eq!(t.ok(&["HPTTL", "c", "FIELDS", "1", "a"]), ints(&[100]));
        t.ok(&["SELECT", "0"]);
        // The copy is independent of the original.
        t.ok(&["HPERSIST", "r", "FIELDS", "1", "a"]);
        t.advance(101);
        for _ in 0..10 {
            t.engine.active_expire_cycle(std::time::Duration::from_secs(1));
        }
        let ks = t.engine.shared.ks.lock();
        for (db, key, len) in [(0, "r", 2), (1, "d", 1), (2, "c", 1)] {
            let Some(crate::value::Value::Hash(h)) = ks.dbs[db].map.get(key.as_bytes()).map(|e| &e.value) else { panic!("{key}") };
            assert_eq!(h.len(), len, "{key}");
        }
    }

    #[test]
    fn overwriting_or_deleting_a_hash_unregisters_it() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1"]);
        t.ok(&["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
        t.ok(&["SET", "h", "x"]);
        assert_eq!(t.engine.shared.ks.lock().dbs[0].field_ttl_len(), 0);
        t.ok(&["HSET", "g", "a", "1"]);
        t.ok(&["HPEXPIRE", "g", "100", "FIELDS", "1", "a"]);
        t.ok(&["DEL", "g"]);
        assert_eq!(t.engine.shared.ks.lock().dbs[0].field_ttl_len(), 0);
        t.ok(&["HSET", "f", "a", "1"]);
        t.ok(&["HPEXPIRE", "f", "100", "FIELDS", "1", "a"]);
        t.ok(&["FLUSHDB"]);
        assert_eq!(t.engine.shared.ks.lock().dbs[0].field_ttl_len(), 0);
    }

    #[test]
    fn sort_by_hash_field_ignores_expired_fields() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "1", "2"]);
        t.ok(&["HSET", "w_1", "x", "b"]);
        t.ok(&["HSET", "w_2", "x", "a"]);
        t.ok(&["HPEXPIRE", "w_2", "10", "FIELDS", "1", "x"]);
        assert_eq!(t.ok(&["SORT", "l", "GET", "w_*->x"]), arr(&["b", "a"]));
        t.advance(11);
        assert_eq!(t.ok(&["SORT", "l", "GET", "w_*->x"]), Reply::Array(vec![b("b"), Reply::Nil]));
    }

    /// A field, its value and its TTL.
    type RawField = (Vec<u8>, Vec<u8>, Option<u64>);

    /// Every key's fields with their values and TTLs, straight from the keyspace.
    fn raw_hashes(t: &T) -> Vec<(Vec<u8>, Vec<RawField>)> {
        let ks = t.engine.shared.ks.lock();
        let mut out: Vec<_> = ks.dbs[0]
            .map
            .iter()
            .filter_map(|(k, e)| match &e.value {
                crate::value::Value::Hash(h) => {
                    let mut fields: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec(), h.expire_at(f))).collect();
                    fields.sort();
                    Some((k.to_vec(), fields))
                }
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_logged_effects_replay_to_the_same_hashes() {
        use rand::seq::SliceRandom;
        use rand::Rng;
        let mut rng = rand::thread_rng();
        for _round in 0..50 {
            let mut a = T::new();
            let mut effects: Vec<Vec<String>> = Vec::new();
            for _ in 0..300 {
                let key = format!("k{}", rng.gen_range(0..3));
                let f = |rng: &mut rand::rngs::ThreadRng| format!("f{}", rng.gen_range(0..6));
                let (f1, f2) = (f(&mut rng), f(&mut rng));
                let now = a.engine.shared.clock.now_ms();
                let past = rng.gen_range(0..now / 2).to_string();
                let cond = ["", "NX", "XX", "GT", "LT"].choose(&mut rng).copied().unwrap_or("");
                let mut cmd: Vec<String> = match rng.gen_range(0..14) {
                    0 => vec!["HSET".into(), key, f1, rng.gen_range(0..9).to_string()],
                    1 => vec!["HDEL".into(), key, f1],
                    2 => vec!["HEXPIRE".into(), key, rng.gen_range(0..30).to_string(), cond.into(), "FIELDS".into(), "2".into(), f1, f2],
                    3 => vec!["HPEXPIRE".into(), key, rng.gen_range(0..20_000).to_string(), cond.into(), "FIELDS".into(), "1".into(), f1],
                    4 => vec!["HPEXPIREAT".into(), key, past, "FIELDS".into(), "1".into(), f1],
                    5 => vec!["HPERSIST".into(), key, "FIELDS".into(), "2".into(), f1, f2],
                    6 => vec!["HGETDEL".into(), key, "FIELDS".into(), "1".into(), f1],
                    7 => {
                        let opt = [["EX", "3"], ["PX", "1500"], ["PXAT", &past], ["PERSIST", ""], ["", ""]]
                            .choose(&mut rng)
                            .map(|o| o.map(String::from));
                        let [o, v] = opt.unwrap_or_default();
                        vec!["HGETEX".into(), key, o, v, "FIELDS".into(), "2".into(), f1, f2]
                    }
                    8 => {
                        let c = ["", "FNX", "FXX"].choose(&mut rng).copied().unwrap_or("");
                        let opt = [["EX", "2"], ["PX", "700"], ["PXAT", &past], ["KEEPTTL", ""], ["", ""]]
                            .choose(&mut rng)
                            .map(|o| o.map(String::from));
                        let [o, v] = opt.unwrap_or_default();
                        vec!["HSETEX".into(), key, c.into(), o, v, "FIELDS".into(), "1".into(), f1, "x".into()]
                    }
                    9 => vec!["HINCRBY".into(), key, f1, "1".into()],
                    10 => vec!["HINCRBYFLOAT".into(), key, f1, "0.5".into()],
                    11 => vec!["HGET".into(), key, f1],
                    12 => vec!["HGETALL".into(), key],
                    _ => {
                        a.advance(rng.gen_range(0..2000));
                        continue;
                    }
                };
                cmd.retain(|x| !x.is_empty());
                let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
                let (r, fx, _) = a.try_logged(&args);
                if let Err(e) = r {
                    // Increments of non-numbers: the only errors these commands can meet.
                    assert!(e.to_string().contains("hash value is not"), "{args:?}: {e}");
                }
                effects.extend(fx.iter().map(|c| c.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect::<Vec<_>>()));
            }
            let mut b = T::new();
            b.advance(3_600_000); // replay happens later: nothing relative may leak into the log
            b.session.face = crate::Face::Loading;
            for e in &effects {
                let args: Vec<&str> = e.iter().map(String::as_str).collect();
                b.ok(&args);
            }
            assert_eq!(raw_hashes(&a), raw_hashes(&b), "effects: {effects:?}");
        }
    }

    /// Where the hosted service differs from Redis: far-future Unix seconds are accepted (the
    /// field keeps the latest expiry there is), and HEXPIRETIME truncates to whole seconds.
    #[test]
    fn hosted_field_expiry_rules() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(t.ok(&["HPEXPIREAT", "h", &(NOW + 1_500).to_string(), "FIELDS", "1", "a"]), ints(&[1]));
        assert_eq!(t.ok(&["HEXPIRETIME", "h", "FIELDS", "1", "a"]), ints(&[(NOW / 1000 + 1) as i64]));
        assert_eq!(t.ok(&["HPEXPIRETIME", "h", "FIELDS", "1", "a"]), ints(&[(NOW + 1_500) as i64]));
        let far = (NOW / 1000 * 1000).to_string(); // a time in ms passed as seconds
        assert_eq!(t.ok(&["HEXPIREAT", "h", &far, "FIELDS", "1", "b"]), ints(&[1]));
        assert_eq!(t.ok(&["HPEXPIRETIME", "h", "FIELDS", "1", "b"]), ints(&[super::MAX_FIELD_EXPIRE_MS / 1000 * 1000]));
        assert_eq!(t.ok(&["HGET", "h", "b"]), b("2"));
        assert_eq!(t.err(&["HEXPIRE", "h", &far, "FIELDS", "1", "b"]), "ERR invalid expire time in 'hexpire' command");
    }
}
