//! HyperLogLog commands (Redis `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE, over string values
//! in Redis's own byte format (see [`crate::hll`]).

use bytes::Bytes;

use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::compact::CompactBytes;
use crate::error::{CmdError, CmdResult};
use crate::hll::{self, Corrupted};
use crate::value::Value;
use crate::{Ctx, Reply};

/// HyperLogLog command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("pfadd", -2, WRITE | DENYOOM | FAST, 1, 1, 1, pfadd, "hyperloglog"),
    cmd!("pfcount", -2, READONLY, 1, -1, 1, pfcount, "hyperloglog"),
    cmd!("pfmerge", -2, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, -1, 1, pfmerge, "hyperloglog"),
];

fn not_hll() -> CmdError {
    CmdError::Other("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
}

fn corrupted(_: Corrupted) -> CmdError {
    CmdError::Other("INVALIDOBJ Corrupted HLL object detected".into())
}

/// The HLL bytes at `key` (None if missing); errors for other types and non-HLL strings.
fn read(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Vec<u8>>> {
    match ctx.get_str(key)? {
        None => Ok(None),
        Some(s) if hll::is_hll(s) => Ok(Some(s.as_slice().to_vec())),
        Some(_) => Err(not_hll()),
    }
}

fn store(ctx: &mut Ctx, key: &Bytes, v: &[u8]) {
    let expire = ctx.expire_at(key).unwrap_or(0);
    ctx.set(key, Value::Str(CompactBytes::from_slice(v)), expire);
}

/// Checks that `key` holds an HLL (or nothing); true if it exists.
fn check(ctx: &mut Ctx, key: &[u8]) -> CmdResult<bool> {
    match ctx.get_str(key)? {
        None => Ok(false),
        Some(s) if hll::is_hll(s) => Ok(true),
        Some(_) => Err(not_hll()),
    }
}

/// PFADD updates the stored HLL in place (a dense one is 12 KB: no copy per call).
fn pfadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut updated = false;
    if !check(ctx, &a[1])? {
        ctx.set(&a[1], Value::Str(CompactBytes::from_slice(&hll::new_sparse())), 0);
        updated = true;
    }
    if a.len() > 2 {
        let Some(s) = ctx.get_str_mut(&a[1])? else { return Err(not_hll()) };
        let v = s.make_growable();
        for e in &a[2..] {
            updated |= hll::add(v, e).map_err(corrupted)?;
        }
    }
    if updated {
        ctx.dirty(1);
    }
    Ok(Reply::Int(updated as i64))
}

fn pfcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 {
        let (card, fresh) = match ctx.get_str(&a[1])? {
            None => return Ok(Reply::Int(0)),
            Some(s) if hll::is_hll(s) => hll::count(s).map_err(corrupted)?,
            Some(_) => return Err(not_hll()),
        };
        if fresh {
            // Refresh the cache in place, as Redis does; not a logged change.
            if let Some(s) = ctx.get_str_mut(&a[1])? {
                hll::store_cache(s.make_growable(), card);
            }
        }
        return Ok(Reply::Int(card as i64));
    }
    let mut regs = [0u8; hll::REGISTERS];
    for k in &a[1..] {
        match ctx.get_str(k)? {
            None => {}
            Some(s) if hll::is_hll(s) => hll::merge_into(&mut regs, s).map_err(corrupted)?,
            Some(_) => return Err(not_hll()),
        }
    }
    Ok(Reply::Int(hll::estimate(&regs) as i64))
}

fn pfmerge(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut regs = [0u8; hll::REGISTERS];
    let mut dense = false;
    for k in &a[1..] {
        if let Some(v) = read(ctx, k)? {
            dense |= hll::is_dense(&v);
            hll::merge_into(&mut regs, &v).map_err(corrupted)?;
        }
    }
    let mut dst = read(ctx, &a[1])?.unwrap_or_else(hll::new_sparse);
    hll::store_merged(&mut dst, &regs, dense).map_err(corrupted)?;
    store(ctx, &a[1], &dst);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

#[cfg(test)]
mod tests {
    use crate::testkit::T;
    use crate::Reply;

    #[test]
    fn add_count_merge_and_errors() {
        let mut t = T::new();
        assert_eq!(t.ok(&["PFADD", "h1", "a", "b", "c"]), Reply::Int(1));
        assert_eq!(t.ok(&["PFADD", "h1", "a"]), Reply::Int(0));
        assert_eq!(t.ok(&["PFADD", "h0"]), Reply::Int(1));
        assert_eq!(t.ok(&["PFCOUNT", "h1"]), Reply::Int(3));
        assert_eq!(t.ok(&["PFADD", "h2", "c", "d"]), Reply::Int(1));
        assert_eq!(t.ok(&["PFCOUNT", "h1", "h2", "missing"]), Reply::Int(4));
        assert_eq!(t.ok(&["PFMERGE", "m", "h1", "h2"]), Reply::Ok);
        assert_eq!(t.ok(&["PFCOUNT", "m"]), Reply::Int(4));
        assert_eq!(t.ok(&["TYPE", "m"]), Reply::status("string"));
        t.ok(&["SET", "s", "not an hll"]);
        assert_eq!(t.err(&["PFADD", "s", "x"]), "WRONGTYPE Key is not a valid HyperLogLog string value.");
        assert_eq!(t.err(&["PFCOUNT", "s"]), "WRONGTYPE Key is not a valid HyperLogLog string value.");
        // A stale cache and opcodes that no longer cover 16384 registers.
        t.ok(&["PFADD", "bad", "x"]);
        t.ok(&["SETRANGE", "bad", "16", "\u{1}"]);
        assert_eq!(t.err(&["PFCOUNT", "bad"]), "INVALIDOBJ Corrupted HLL object detected");
        t.ok(&["LPUSH", "l", "x"]);
        assert!(t.err(&["PFADD", "l", "x"]).starts_with("WRONGTYPE Operation"));
    }
}
