//! Hash commands (Redis `t_hash.c`).

use bytes::Bytes;
use rand::Rng;
use stashd_resp::Protocol;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::cmd::keys::{parse_scan, scan_collection};
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::value::Map;
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
    let removed = a[2..].iter().filter(|f| h.swap_remove(&f[..]).is_some()).count();
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
    ctx.hash_or_create(&a[1])?.insert(a[2].clone(), args::int_bytes(new));
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = args::float(&a[3])?;
    if !by.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let cur = match field_value(ctx, &a[1], &a[2])? {
        None => 0.0,
        Some(v) => args::parse_float(&v).ok_or_else(|| CmdError::err("hash value is not a float"))?,
    };
    let new = cur + by;
    if !new.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let text = crate::cmd::strings::format_incr_float(new);
    ctx.hash_or_create(&a[1])?.insert(a[2].clone(), text.clone());
    ctx.dirty(1);
    ctx.propagate(vec![lit("HSET"), a[1].clone(), a[2].clone(), text.clone()]);
    Ok(Reply::Bulk(text))
}

/// Renders HRANDFIELD's picks: RESP3 nests `[field, value]` pairs, RESP2 flattens them.
fn random_fields_reply(h: &Map<Bytes, Bytes>, picks: &[usize], with_values: bool, resp3: bool) -> Reply {
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
    let Some(h) = ctx.get_hash(&a[1])? else {
        return Ok(empty());
    };
    Ok(scan_collection(h.len(), &o, |i| h.get_index(i).map(|(k, v)| (k.clone(), (!o.no_values).then(|| Reply::Bulk(v.clone()))))))
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
        assert_eq!((fx, d), (vec![vec!["HSET".to_string(), "h".into(), "n".into(), "2.5".into()]], 1));
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
        assert_eq!(t.ok(&["HKEYS", "h"]), arr(&["e", "d", "c"]));
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
}
