//! Set commands (Redis `t_set.c`).

use bytes::Bytes;
use rand::Rng;

use crate::args::{int, is, lit};
use crate::cmd;
use crate::cmd::hashes::{random_count, random_indexes};
use crate::cmd::keys::{parse_scan, scan_all, scan_collection};
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::value::{Set, Value};
use crate::{Ctx, Reply};

/// Set command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("sadd", -3, WRITE | DENYOOM | FAST, 1, 1, 1, sadd, "set"),
    cmd!("srem", -3, WRITE | FAST, 1, 1, 1, srem, "set"),
    cmd!("scard", 2, READONLY | FAST, 1, 1, 1, scard, "set"),
    cmd!("sismember", 3, READONLY | FAST, 1, 1, 1, sismember, "set"),
    cmd!("smismember", -3, READONLY | FAST, 1, 1, 1, smismember, "set"),
    cmd!("smembers", 2, READONLY, 1, 1, 1, smembers, "set"),
    cmd!("spop", -2, WRITE | RANDOM | FAST, 1, 1, 1, spop, "set"),
    cmd!("srandmember", -2, READONLY | RANDOM, 1, 1, 1, srandmember, "set"),
    cmd!("smove", 4, WRITE | FAST, 1, 2, 1, smove, "set"),
    cmd!("sinter", -2, READONLY, 1, -1, 1, sinter, "set"),
    // Keys follow a numkeys argument, so no fixed key positions can be declared (read-only).
    cmd!("sintercard", -3, READONLY, 0, 0, 0, sintercard, "set"),
    cmd!("sinterstore", -3, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, -1, 1, sinterstore, "set"),
    cmd!("sunion", -2, READONLY, 1, -1, 1, sunion, "set"),
    cmd!("sunionstore", -3, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, -1, 1, sunionstore, "set"),
    cmd!("sdiff", -2, READONLY, 1, -1, 1, sdiff, "set"),
    cmd!("sdiffstore", -3, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, -1, 1, sdiffstore, "set"),
    cmd!("sscan", -3, READONLY, 1, 1, 1, sscan, "set"),
];

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let s = ctx.set_or_create(&a[1])?;
    let added = a[2..].iter().filter(|m| s.insert((*m).clone())).count();
    if added > 0 {
        ctx.dirty(added as u64);
    }
    Ok(Reply::Int(added as i64))
}

/// Up to this size Redis keeps a set in a listpack, whose order survives removals; stashd keeps
/// the order too (shifting), and swaps the last member in only for larger sets (O(1)).
const SMALL: usize = 128;

fn remove_member(s: &mut crate::value::Set<Bytes>, m: &[u8]) -> bool {
    if s.len() <= SMALL {
        s.shift_remove(m)
    } else {
        s.swap_remove(m)
    }
}

fn srem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(s) = ctx.get_set_mut(&a[1])? else {
        return Ok(Reply::Int(0));
    };
    let removed = a[2..].iter().filter(|m| remove_member(s, m)).count();
    ctx.removed(&a[1], removed);
    Ok(Reply::Int(removed as i64))
}

fn scard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_set(&a[1])?.map_or(0, |s| s.len() as i64)))
}

fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.get_set(&a[1])?.is_some_and(|s| s.contains(&a[2])) as i64))
}

fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let s = ctx.get_set(&a[1])?;
    Ok(Reply::Array(a[2..].iter().map(|m| Reply::Int(s.is_some_and(|s| s.contains(m)) as i64)).collect()))
}

fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(set_reply(ctx.get_set(&a[1])?.map_or_else(Vec::new, |s| s.iter().cloned().collect())))
}

/// A RESP3 set reply (RESP2 array) of bulk members.
fn set_reply(members: Vec<Bytes>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

/// Parses SPOP's count (`ERR value is out of range, must be positive` when negative).
fn positive_count(arg: &[u8]) -> CmdResult<usize> {
    let v = int(arg)?;
    usize::try_from(v).map_err(|_| CmdError::err("value is out of range, must be positive"))
}

fn spop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match a.len() {
        2 => spop_one(ctx, &a[1]),
        3 => spop_count(ctx, &a[1], positive_count(&a[2])?),
        _ => Err(CmdError::Syntax),
    }
}

/// Logs the removal of `popped` from `key` deterministically: `DEL` if the set is gone, else `SREM`.
fn propagate_pop(ctx: &mut Ctx, key: &Bytes, popped: &[Bytes]) {
    if ctx.exists(key) {
        let mut cmd = Vec::with_capacity(popped.len() + 2);
        cmd.push(lit("SREM"));
        cmd.push(key.clone());
        cmd.extend(popped.iter().cloned());
        ctx.propagate(cmd);
    } else {
        ctx.propagate(vec![lit("DEL"), key.clone()]);
    }
}

fn spop_one(ctx: &mut Ctx, key: &Bytes) -> CmdResult {
    let Some(s) = ctx.get_set_mut(key)? else {
        return Ok(Reply::Nil);
    };
    let i = rand::thread_rng().gen_range(0..s.len().max(1));
    let removed = if s.len() <= SMALL { s.shift_remove_index(i) } else { s.swap_remove_index(i) };
    let Some(m) = removed else {
        return Ok(Reply::Nil);
    };
    ctx.delete_if_empty(key);
    ctx.dirty(1);
    propagate_pop(ctx, key, std::slice::from_ref(&m));
    Ok(Reply::Bulk(m))
}

fn spop_count(ctx: &mut Ctx, key: &Bytes, count: usize) -> CmdResult {
    let Some(s) = ctx.get_set_mut(key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 || s.is_empty() {
        return Ok(Reply::Set(Vec::new()));
    }
    let popped: Vec<Bytes> = if count >= s.len() {
        std::mem::take(s).into_iter().collect()
    } else {
        let picks: Vec<Bytes> = random_indexes(s.len(), count as i64).into_iter().filter_map(|i| s.get_index(i).cloned()).collect();
        for m in &picks {
            remove_member(s, m);
        }
        picks
    };
    ctx.delete_if_empty(key);
    ctx.dirty(popped.len() as u64);
    propagate_pop(ctx, key, &popped);
    Ok(set_reply(popped))
}

fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match a.len() {
        2 => {
            let Some(s) = ctx.get_set(&a[1])? else {
                return Ok(Reply::Nil);
            };
            let i = rand::thread_rng().gen_range(0..s.len().max(1));
            Ok(Reply::opt_bulk(s.get_index(i).cloned()))
        }
        3 => {
            let count = random_count(&a[2])?;
            let Some(s) = ctx.get_set(&a[1])? else {
                return Ok(Reply::Array(Vec::new()));
            };
            let picks = random_indexes(s.len(), count);
            Ok(Reply::Array(picks.into_iter().filter_map(|i| s.get_index(i).cloned()).map(Reply::Bulk).collect()))
        }
        _ => Err(CmdError::Syntax),
    }
}

fn smove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&a[1], &a[2], &a[3]);
    let Some(s) = ctx.get_set(src)? else {
        return Ok(Reply::Int(0));
    };
    let present = s.contains(member);
    ctx.get_set(dst)?;
    if src == dst {
        return Ok(Reply::Int(present as i64));
    }
    if !present {
        return Ok(Reply::Int(0));
    }
    if let Some(s) = ctx.get_set_mut(src)? {
        remove_member(s, member);
    }
    ctx.delete_if_empty(src);
    ctx.set_or_create(dst)?.insert(member.clone());
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// Type-checks every key (WRONGTYPE wins even after a missing key), then borrows the sets:
/// `None` for a missing key, which the callers treat as an empty set.
fn load_sets<'c>(ctx: &'c mut Ctx, keys: &[Bytes]) -> CmdResult<Vec<Option<&'c Set<Bytes>>>> {
    for k in keys {
        ctx.get_set(k)?;
    }
    let db = &ctx.ks.dbs[ctx.session.db];
    Ok(keys
        .iter()
        .map(|k| match db.map.get(&k[..]).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect())
}

/// Members common to all `sets`, stopping after `limit` (0 = no limit).
fn intersect(sets: &[Option<&Set<Bytes>>], limit: usize) -> Vec<Bytes> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<_>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(m)) {
            out.push(m.clone());
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

/// Members of any of `sets`.
fn union(sets: &[Option<&Set<Bytes>>]) -> Vec<Bytes> {
    let mut out = Set::default();
    for s in sets.iter().flatten() {
        out.extend(s.iter().cloned());
    }
    out.into_iter().collect()
}

/// Members of the first set that are in none of the others.
fn difference(sets: &[Option<&Set<Bytes>>]) -> Vec<Bytes> {
    let Some((Some(first), rest)) = sets.split_first() else {
        return Vec::new();
    };
    first.iter().filter(|m| !rest.iter().flatten().any(|s| s.contains(*m))).cloned().collect()
}

/// A set algebra operation over loaded sets.
type SetOp = fn(&[Option<&Set<Bytes>>]) -> Vec<Bytes>;

fn intersect_all(sets: &[Option<&Set<Bytes>>]) -> Vec<Bytes> {
    intersect(sets, 0)
}

/// Runs `op` over the sets at `keys`.
fn compute(ctx: &mut Ctx, keys: &[Bytes], op: SetOp) -> CmdResult<Vec<Bytes>> {
    let sets = load_sets(ctx, keys)?;
    Ok(op(&sets))
}

/// Stores `members` at `dst` as a set without TTL, or deletes `dst` when empty; replies the size.
fn store(ctx: &mut Ctx, dst: &Bytes, members: Vec<Bytes>) -> CmdResult {
    let n = members.len();
    if n == 0 {
        if ctx.delete(dst) {
            ctx.dirty(1);
        }
        return Ok(Reply::Int(0));
    }
    let set: Set<Bytes> = members.into_iter().collect();
    ctx.set(dst, Value::Set(std::sync::Arc::new(set)), 0);
    ctx.dirty(1);
    Ok(Reply::Int(n as i64))
}

fn sinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(set_reply(compute(ctx, &a[1..], intersect_all)?))
}

fn sinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let members = compute(ctx, &a[2..], intersect_all)?;
    store(ctx, &a[1], members)
}

fn sunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(set_reply(compute(ctx, &a[1..], union)?))
}

fn sunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let members = compute(ctx, &a[2..], union)?;
    store(ctx, &a[1], members)
}

fn sdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(set_reply(compute(ctx, &a[1..], difference)?))
}

fn sdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let members = compute(ctx, &a[2..], difference)?;
    store(ctx, &a[1], members)
}

/// Parses `numkeys key... [LIMIT n]` of SINTERCARD: returns the keys and the limit (0 = none).
fn parse_intercard(a: &[Bytes]) -> CmdResult<(&[Bytes], usize)> {
    let numkeys = int(&a[1]).ok().filter(|&n| n > 0).ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > a.len() - 2 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < a.len() {
        if is(&a[i], "LIMIT") && i + 1 < a.len() {
            limit = int(&a[i + 1]).ok().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&a[2..2 + numkeys], limit))
}

fn sintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, limit) = parse_intercard(a)?;
    let sets = load_sets(ctx, keys)?;
    Ok(Reply::Int(intersect(&sets, limit).len() as i64))
}

fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // The cursor is validated before the key, the options only when the key exists (as Redis).
    parse_scan(&a[..3], 2, false, false)?;
    let empty = || Reply::Array(vec![Reply::Bulk(lit("0")), Reply::Array(Vec::new())]);
    if ctx.get_set(&a[1])?.is_none() {
        return Ok(empty());
    }
    let o = parse_scan(a, 2, false, false)?;
    let enc = ctx.shared.config.read().encodings;
    let Some(s) = ctx.get_set(&a[1])? else {
        return Ok(empty());
    };
    let encoding = crate::value::set_encoding(s, &enc);
    if encoding == "intset" {
        // An intset in Redis: everything at once, in ascending order.
        let mut ints: Vec<(i64, &Bytes)> = s.iter().filter_map(|m| stashd_resp::parse_int(m).map(|n| (n, m))).collect();
        ints.sort_unstable_by_key(|(n, _)| *n);
        return Ok(scan_all(&o, ints.into_iter().map(|(_, m)| (m.clone(), None))));
    }
    if encoding == "listpack" {
        // A listpack in Redis: everything at once, in order.
        return Ok(scan_all(&o, s.iter().map(|m| (m.clone(), None))));
    }
    Ok(scan_collection(s.len(), &o, |i| s.get_index(i).map(|m| (m.clone(), None))))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::Reply;

    fn logged(t: &mut T, args: &[&str]) -> (Reply, Vec<Vec<String>>, u64) {
        t.logged_text(args)
    }

    #[test]
    fn dirty_and_propagation() {
        let mut t = T::new();
        t.ok(&["SADD", "s", "a", "b", "c", "d"]);
        let (r, fx, d) = logged(&mut t, &["SPOP", "s"]);
        let Reply::Bulk(m) = r else { panic!() };
        assert_eq!((fx, d), (vec![vec!["SREM".to_string(), "s".into(), String::from_utf8_lossy(&m).into_owned()]], 1));
        let (r, fx, d) = logged(&mut t, &["SPOP", "s", "2"]);
        let mut popped = members(r);
        let mut logged_members = fx[0][2..].to_vec();
        popped.sort();
        logged_members.sort();
        assert_eq!((&fx[0][..2], logged_members, d), (&["SREM".to_string(), "s".to_string()][..], popped, 2));
        let (_, fx, d) = logged(&mut t, &["SPOP", "s", "5"]);
        assert_eq!((fx, d), (vec![vec!["DEL".to_string(), "s".into()]], 1));
        for noop in [
            &["SPOP", "s"][..],
            &["SPOP", "s", "3"],
            &["SREM", "s", "a"],
            &["SINTERSTORE", "d", "none"],
            &["SMEMBERS", "s"],
            &["SRANDMEMBER", "s", "-3"],
            &["SINTERCARD", "1", "s"],
            &["SMOVE", "none", "x", "a"],
        ] {
            let (_, fx, d) = logged(&mut t, noop);
            assert_eq!((fx.len(), d), (0, 0), "{noop:?}");
        }
        let (_, fx, d) = logged(&mut t, &["SADD", "x", "a"]);
        assert_eq!((fx.len(), d), (1, 1));
        let (_, _, d) = logged(&mut t, &["SADD", "x", "a"]);
        assert_eq!(d, 0);
    }

    /// The members of a set/array reply, sorted.
    fn members(r: Reply) -> Vec<String> {
        let items = match r {
            Reply::Set(v) | Reply::Array(v) => v,
            other => panic!("not a collection: {other:?}"),
        };
        let set: BTreeSet<String> = items
            .into_iter()
            .map(|i| match i {
                Reply::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
                other => panic!("not bulk: {other:?}"),
            })
            .collect();
        set.into_iter().collect()
    }

    #[test]
    fn add_rem_card() {
        let mut t = T::new();
        assert_eq!(t.ok(&["SADD", "s", "a", "b", "a"]), Reply::Int(2));
        assert_eq!(t.ok(&["SADD", "s", "b", "c"]), Reply::Int(1));
        assert_eq!(t.ok(&["SCARD", "s"]), Reply::Int(3));
        assert_eq!(t.ok(&["SCARD", "none"]), Reply::Int(0));
        assert_eq!(t.ok(&["SISMEMBER", "s", "a"]), Reply::Int(1));
        assert_eq!(t.ok(&["SISMEMBER", "s", "z"]), Reply::Int(0));
        assert_eq!(t.ok(&["SMISMEMBER", "s", "a", "z", "c"]), Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)]));
        assert_eq!(t.ok(&["SMISMEMBER", "none", "a"]), Reply::Array(vec![Reply::Int(0)]));
        assert_eq!(members(t.ok(&["SMEMBERS", "s"])), vec!["a", "b", "c"]);
        assert_eq!(t.ok(&["SMEMBERS", "none"]), Reply::Set(vec![]));
        assert_eq!(t.ok(&["SREM", "s", "a", "z"]), Reply::Int(1));
        assert_eq!(t.ok(&["SREM", "none", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["SREM", "s", "b", "c"]), Reply::Int(2));
        assert_eq!(t.ok(&["EXISTS", "s"]), Reply::Int(0));
    }

    #[test]
    fn wrongtype() {
        let mut t = T::new();
        t.ok(&["SET", "str", "x"]);
        t.ok(&["SADD", "s", "a"]);
        for cmd in [
            &["SADD", "str", "a"][..],
            &["SREM", "str", "a"],
            &["SCARD", "str"],
            &["SISMEMBER", "str", "a"],
            &["SMISMEMBER", "str", "a"],
            &["SMEMBERS", "str"],
            &["SPOP", "str"],
            &["SPOP", "str", "2"],
            &["SRANDMEMBER", "str"],
            &["SRANDMEMBER", "str", "2"],
            &["SMOVE", "str", "s", "a"],
            &["SMOVE", "s", "str", "a"],
            &["SINTER", "none", "str"],
            &["SINTERCARD", "2", "none", "str"],
            &["SINTERSTORE", "d", "s", "str"],
            &["SUNION", "s", "str"],
            &["SUNIONSTORE", "d", "s", "str"],
            &["SDIFF", "s", "str"],
            &["SDIFFSTORE", "d", "s", "str"],
            &["SSCAN", "str", "0"],
        ] {
            assert_eq!(t.err(cmd), WRONGTYPE, "{cmd:?}");
        }
        assert_eq!(t.ok(&["SMOVE", "none", "str", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "d"]), Reply::Int(0));
    }

    #[test]
    fn spop_and_srandmember() {
        let mut t = T::new();
        assert_eq!(t.ok(&["SPOP", "none"]), Reply::Nil);
        assert_eq!(t.ok(&["SPOP", "none", "2"]), Reply::Set(vec![]));
        assert_eq!(t.ok(&["SRANDMEMBER", "none"]), Reply::Nil);
        assert_eq!(t.ok(&["SRANDMEMBER", "none", "2"]), arr(&[]));
        t.ok(&["SADD", "s", "a", "b", "c", "d", "e"]);
        let Reply::Bulk(m) = t.ok(&["SRANDMEMBER", "s"]) else { panic!() };
        assert_eq!(t.ok(&["SISMEMBER", "s", std::str::from_utf8(&m).unwrap()]), Reply::Int(1));
        assert_eq!(members(t.ok(&["SRANDMEMBER", "s", "10"])), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(members(t.ok(&["SRANDMEMBER", "s", "3"])).len(), 3);
        let Reply::Array(rep) = t.ok(&["SRANDMEMBER", "s", "-20"]) else { panic!() };
        assert_eq!(rep.len(), 20);
        assert_eq!(t.ok(&["SRANDMEMBER", "s", "0"]), arr(&[]));
        assert_eq!(t.err(&["SRANDMEMBER", "s", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(t.err(&["SRANDMEMBER", "s", "1", "2"]), "ERR syntax error");
        assert_eq!(t.err(&["SPOP", "s", "-1"]), "ERR value is out of range, must be positive");
        assert_eq!(t.err(&["SPOP", "s", "1", "2"]), "ERR syntax error");
        assert_eq!(t.ok(&["SPOP", "s", "0"]), Reply::Set(vec![]));
        let Reply::Bulk(p) = t.ok(&["SPOP", "s"]) else { panic!() };
        assert_eq!(t.ok(&["SISMEMBER", "s", std::str::from_utf8(&p).unwrap()]), Reply::Int(0));
        let two = members(t.ok(&["SPOP", "s", "2"]));
        assert_eq!(two.len(), 2);
        assert_eq!(t.ok(&["SCARD", "s"]), Reply::Int(2));
        assert_eq!(members(t.ok(&["SPOP", "s", "5"])).len(), 2);
        assert_eq!(t.ok(&["EXISTS", "s"]), Reply::Int(0));
        t.ok(&["SADD", "one", "x"]);
        assert_eq!(t.ok(&["SPOP", "one"]), b("x"));
        assert_eq!(t.ok(&["EXISTS", "one"]), Reply::Int(0));
    }

    #[test]
    fn smove() {
        let mut t = T::new();
        t.ok(&["SADD", "a", "x", "y"]);
        assert_eq!(t.ok(&["SMOVE", "a", "b", "z"]), Reply::Int(0));
        assert_eq!(t.ok(&["SMOVE", "a", "a", "x"]), Reply::Int(1));
        assert_eq!(t.ok(&["SMOVE", "a", "a", "z"]), Reply::Int(0));
        assert_eq!(t.ok(&["SMOVE", "a", "b", "x"]), Reply::Int(1));
        assert_eq!(members(t.ok(&["SMEMBERS", "b"])), vec!["x"]);
        t.ok(&["SADD", "b", "y"]);
        assert_eq!(t.ok(&["SMOVE", "a", "b", "y"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXISTS", "a"]), Reply::Int(0));
        assert_eq!(members(t.ok(&["SMEMBERS", "b"])), vec!["x", "y"]);
        assert_eq!(t.ok(&["SMOVE", "none", "b", "x"]), Reply::Int(0));
    }

    #[test]
    fn algebra() {
        let mut t = T::new();
        t.ok(&["SADD", "k1", "a", "b", "c", "d"]);
        t.ok(&["SADD", "k2", "c", "d", "e"]);
        t.ok(&["SADD", "k3", "a", "c", "e"]);
        assert_eq!(members(t.ok(&["SINTER", "k1", "k2"])), vec!["c", "d"]);
        assert_eq!(members(t.ok(&["SINTER", "k1", "k2", "k3"])), vec!["c"]);
        assert_eq!(members(t.ok(&["SINTER", "k1", "none"])), Vec::<String>::new());
        assert_eq!(members(t.ok(&["SUNION", "k1", "k2", "none"])), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(members(t.ok(&["SDIFF", "k1", "k2", "k3"])), vec!["b"]);
        assert_eq!(members(t.ok(&["SDIFF", "k1", "none"])), vec!["a", "b", "c", "d"]);
        assert_eq!(members(t.ok(&["SDIFF", "none", "k1"])), Vec::<String>::new());
        assert_eq!(members(t.ok(&["SDIFF", "k1", "k1"])), Vec::<String>::new());
        assert!(matches!(t.ok(&["SINTER", "k1"]), Reply::Set(_)));
    }

    #[test]
    fn intercard() {
        let mut t = T::new();
        t.ok(&["SADD", "k1", "a", "b", "c", "d"]);
        t.ok(&["SADD", "k2", "b", "c", "d", "e"]);
        assert_eq!(t.ok(&["SINTERCARD", "2", "k1", "k2"]), Reply::Int(3));
        assert_eq!(t.ok(&["SINTERCARD", "2", "k1", "k2", "LIMIT", "2"]), Reply::Int(2));
        assert_eq!(t.ok(&["SINTERCARD", "2", "k1", "k2", "LIMIT", "0"]), Reply::Int(3));
        assert_eq!(t.ok(&["SINTERCARD", "1", "k1"]), Reply::Int(4));
        assert_eq!(t.ok(&["SINTERCARD", "2", "k1", "none"]), Reply::Int(0));
        assert_eq!(t.err(&["SINTERCARD", "0", "k1"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["SINTERCARD", "x", "k1"]), "ERR numkeys should be greater than 0");
        assert_eq!(t.err(&["SINTERCARD", "3", "k1", "k2"]), "ERR Number of keys can't be greater than number of args");
        assert_eq!(t.err(&["SINTERCARD", "2", "k1", "k2", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
        assert_eq!(t.err(&["SINTERCARD", "2", "k1", "k2", "LIMIT"]), "ERR syntax error");
        assert_eq!(t.err(&["SINTERCARD", "1", "k1", "k2"]), "ERR syntax error");
    }

    #[test]
    fn store_variants() {
        let mut t = T::new();
        t.ok(&["SADD", "k1", "a", "b", "c"]);
        t.ok(&["SADD", "k2", "b", "c", "d"]);
        t.ok(&["SET", "dst", "old", "EX", "100"]);
        assert_eq!(t.ok(&["SINTERSTORE", "dst", "k1", "k2"]), Reply::Int(2));
        assert_eq!(t.ok(&["TYPE", "dst"]), Reply::status("set"));
        assert_eq!(t.ok(&["TTL", "dst"]), Reply::Int(-1));
        assert_eq!(members(t.ok(&["SMEMBERS", "dst"])), vec!["b", "c"]);
        assert_eq!(t.ok(&["SUNIONSTORE", "dst", "k1", "k2"]), Reply::Int(4));
        assert_eq!(members(t.ok(&["SMEMBERS", "dst"])), vec!["a", "b", "c", "d"]);
        assert_eq!(t.ok(&["SDIFFSTORE", "dst", "k1", "k2"]), Reply::Int(1));
        assert_eq!(members(t.ok(&["SMEMBERS", "dst"])), vec!["a"]);
        // The destination may be a source.
        assert_eq!(t.ok(&["SUNIONSTORE", "k1", "k1", "k2"]), Reply::Int(4));
        // Empty results delete the destination.
        assert_eq!(t.ok(&["SINTERSTORE", "dst", "k1", "none"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
        t.ok(&["SADD", "dst", "z"]);
        assert_eq!(t.ok(&["SDIFFSTORE", "dst", "k2", "k1"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
        assert_eq!(t.ok(&["SUNIONSTORE", "dst", "none"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
    }

    #[test]
    fn scan() {
        let mut t = T::new();
        let names: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
        let mut cmd = vec!["SADD", "s"];
        cmd.extend(names.iter().map(String::as_str));
        t.ok(&cmd);
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_string();
        loop {
            let Reply::Array(parts) = t.ok(&["SSCAN", "s", &cursor, "COUNT", "9"]) else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            seen.extend(members(parts[1].clone()));
            cursor = String::from_utf8(c.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 40);
        let Reply::Array(parts) = t.ok(&["SSCAN", "s", "0", "MATCH", "m1?"]) else { panic!() };
        assert_eq!(members(parts[1].clone()).len(), 10);
        assert_eq!(t.ok(&["SSCAN", "none", "0"]), Reply::Array(vec![b("0"), arr(&[])]));
        assert_eq!(t.err(&["SSCAN", "s", "0", "NOVALUES"]), "ERR syntax error");
        assert_eq!(t.err(&["SSCAN", "s", "-1"]), "ERR invalid cursor");
    }
}
