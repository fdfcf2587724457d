//! Generic key commands (Redis `db.c`, `expire.c`).

use bytes::Bytes;
use rand::Rng;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::glob;
use crate::keyspace::NUM_DBS;
use crate::{Ctx, Reply};

/// Key command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("del", -2, WRITE, 1, -1, 1, del, "keyspace"),
    // The hosted service accepts UNLINK with no keys (answers 0).
    cmd!("unlink", -1, WRITE | FAST, 1, -1, 1, del, "keyspace"),
    cmd!("exists", -2, READONLY | FAST, 1, -1, 1, exists, "keyspace"),
    cmd!("touch", -2, READONLY | FAST, 1, -1, 1, exists, "keyspace"),
    cmd!("expire", -3, WRITE | FAST, 1, 1, 1, expire, "keyspace"),
    cmd!("pexpire", -3, WRITE | FAST, 1, 1, 1, expire, "keyspace"),
    cmd!("expireat", -3, WRITE | FAST, 1, 1, 1, expire, "keyspace"),
    cmd!("pexpireat", -3, WRITE | FAST, 1, 1, 1, expire, "keyspace"),
    cmd!("ttl", 2, READONLY | FAST, 1, 1, 1, ttl, "keyspace"),
    cmd!("pttl", 2, READONLY | FAST, 1, 1, 1, ttl, "keyspace"),
    cmd!("expiretime", 2, READONLY | FAST, 1, 1, 1, ttl, "keyspace"),
    cmd!("pexpiretime", 2, READONLY | FAST, 1, 1, 1, ttl, "keyspace"),
    cmd!("persist", 2, WRITE | FAST, 1, 1, 1, persist, "keyspace"),
    cmd!("type", 2, READONLY | FAST, 1, 1, 1, type_cmd, "keyspace"),
    cmd!("keys", 2, READONLY, 0, 0, 0, keys, "keyspace"),
    cmd!("scan", -2, READONLY, 0, 0, 0, scan, "keyspace"),
    cmd!("rename", 3, WRITE, 1, 2, 1, rename, "keyspace"),
    cmd!("renamenx", 3, WRITE | FAST, 1, 2, 1, rename, "keyspace"),
    cmd!("copy", -3, WRITE | DENYOOM, 1, 2, 1, copy, "keyspace"),
    cmd!("move", 3, WRITE | FAST, 1, 1, 1, move_cmd, "keyspace"),
    cmd!("randomkey", 1, READONLY | RANDOM, 0, 0, 0, randomkey, "keyspace"),
    cmd!("dbsize", 1, READONLY | FAST, 0, 0, 0, dbsize, "keyspace"),
    cmd!("flushdb", -1, WRITE, 0, 0, 0, flushdb, "keyspace"),
    cmd!("flushall", -1, WRITE, 0, 0, 0, flushall, "keyspace"),
    cmd!("swapdb", 3, WRITE | FAST, 0, 0, 0, swapdb, "keyspace"),
    cmd!("object", -2, READONLY, 2, 2, 1, object, "keyspace"),
];

fn del(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.delete(k) {
            n += 1;
        }
    }
    ctx.dirty(n);
    Ok(Reply::Int(n as i64))
}

fn exists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.lookup_notouch(k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn expire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    let (unit_ms, absolute) = match name.as_str() {
        "expire" => (false, false),
        "pexpire" => (true, false),
        "expireat" => (false, true),
        _ => (true, true),
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if is(o, "NX") {
            nx = true;
        } else if is(o, "XX") {
            xx = true;
        } else if is(o, "GT") {
            gt = true;
        } else if is(o, "LT") {
            lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", args::text(o))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Err(CmdError::err("GT and LT options at the same time are not compatible"));
    }
    let v = int(&a[2])?;
    let invalid = || CmdError::InvalidExpire(name.clone());
    let ms = if unit_ms { v } else { v.checked_mul(1000).ok_or_else(invalid)? };
    let at = if absolute { ms } else { ms.checked_add(ctx.now as i64).ok_or_else(invalid)? };
    let Some(cur) = ctx.expire_at(&a[1]) else {
        return Ok(Reply::Int(0));
    };
    let new = at.max(0) as u64;
    let cur_inf = cur == 0;
    let skip = (nx && !cur_inf) || (xx && cur_inf) || (gt && (cur_inf || new <= cur)) || (lt && !cur_inf && new >= cur);
    if skip {
        return Ok(Reply::Int(0));
    }
    ctx.dirty(1);
    if at <= ctx.now as i64 {
        ctx.delete(&a[1]);
        ctx.propagate(vec![lit("DEL"), a[1].clone()]);
    } else {
        ctx.set_expire(&a[1], new);
        ctx.propagate(vec![lit("PEXPIREAT"), a[1].clone(), args::int_bytes(at)]);
    }
    Ok(Reply::Int(1))
}

fn ttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let name = args::text(&a[0]).to_ascii_lowercase();
    // As Redis: a read that counts a hit or miss but leaves the access time alone.
    if ctx.lookup_notouch(&a[1]).is_none() {
        return Ok(Reply::Int(-2));
    }
    let Some(at) = ctx.expire_at(&a[1]) else {
        return Ok(Reply::Int(-2));
    };
    if at == 0 {
        return Ok(Reply::Int(-1));
    }
    let left = at.saturating_sub(ctx.now) as i64;
    Ok(Reply::Int(match name.as_str() {
        "ttl" => (left + 500) / 1000,
        "pttl" => left,
        "expiretime" => (at / 1000) as i64,
        _ => at as i64,
    }))
}

fn persist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match ctx.expire_at(&a[1]) {
        Some(at) if at != 0 => {
            ctx.set_expire(&a[1], 0);
            ctx.dirty(1);
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

fn type_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let t = ctx.lookup_notouch(&a[1]).map_or("none", |v| v.type_name());
    Ok(Reply::Status(Bytes::from_static(t.as_bytes())))
}

/// True if the key at index `i` of the selected db is live; reclaims it if expired.
fn live_key_at(ctx: &mut Ctx, i: usize) -> Option<Bytes> {
    let now = ctx.now;
    let dbi = ctx.db_index();
    let (k, e) = ctx.ks.dbs[dbi].map.get_index(i)?;
    let k = k.to_bytes();
    if e.expire_at != 0 && e.expire_at <= now {
        ctx.reclaim_expired(dbi, &k);
        return None;
    }
    Some(k)
}

fn keys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let pattern = &a[1];
    let all = &pattern[..] == b"*";
    let mut out = Vec::new();
    let mut i = ctx.db().map.len();
    while i > 0 {
        i -= 1;
        if i >= ctx.db().map.len() {
            continue;
        }
        if let Some(k) = live_key_at(ctx, i) {
            if all || glob::matches(pattern, &k) {
                out.push(Reply::Bulk(k));
            }
        }
    }
    Ok(Reply::Array(out))
}

/// Options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub struct ScanOpts {
    /// Cursor from the client.
    pub cursor: u64,
    /// MATCH pattern.
    pub pattern: Option<Bytes>,
    /// COUNT hint.
    pub count: usize,
    /// TYPE filter (SCAN only).
    pub type_filter: Option<String>,
    /// WITHTYPE (hosted-service extension, SCAN only).
    pub with_type: bool,
    /// NOVALUES (HSCAN only).
    pub no_values: bool,
}

/// Parses `cursor [MATCH p] [COUNT n] [TYPE t] [WITHTYPE] [NOVALUES]` starting at `a[start]`.
pub fn parse_scan(a: &[Bytes], start: usize, allow_type: bool, allow_novalues: bool) -> CmdResult<ScanOpts> {
    let cursor = std::str::from_utf8(&a[start]).ok().and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let mut o = ScanOpts { cursor, pattern: None, count: 10, type_filter: None, with_type: false, no_values: false };
    let mut i = start + 1;
    while i < a.len() {
        let has_arg = i + 1 < a.len();
        if is(&a[i], "MATCH") && has_arg {
            o.pattern = Some(a[i + 1].clone());
            i += 2;
        } else if is(&a[i], "COUNT") && has_arg {
            let c = int(&a[i + 1])?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = c as usize;
            i += 2;
        } else if allow_type && is(&a[i], "TYPE") && has_arg {
            o.type_filter = Some(args::text(&a[i + 1]).to_ascii_lowercase());
            i += 2;
        } else if allow_type && is(&a[i], "WITHTYPE") {
            o.with_type = true;
            i += 1;
        } else if allow_novalues && is(&a[i], "NOVALUES") {
            o.no_values = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// Scans a collection of `len` slots addressed by index, from the top down so that entries moved
/// by swap-removal are never skipped. Cursor `c` means "slots `0..c` remain" (0 starts over).
/// Visits until `count` matches were found; small collections are finished in one call, as the
/// hosted service does. Returns the next cursor (0 when complete).
pub fn scan_indexes(len: usize, opts: &ScanOpts, mut visit: impl FnMut(usize) -> bool) -> u64 {
    let mut pos = if opts.cursor == 0 { len } else { (opts.cursor as usize).min(len) };
    let filtered = opts.pattern.is_some() || opts.type_filter.is_some();
    let mut found = 0;
    let mut visited = 0;
    let budget = if filtered { opts.count.max(1000).saturating_mul(10) } else { usize::MAX };
    while pos > 0 && found < opts.count && visited < budget {
        pos -= 1;
        visited += 1;
        if visit(pos) {
            found += 1;
        }
    }
    if pos > 0 && filtered && len <= 1000 && found < opts.count {
        // Finish small collections in one call.
        while pos > 0 {
            pos -= 1;
            visit(pos);
        }
    }
    pos as u64
}

/// HSCAN/SSCAN/ZSCAN over an indexed collection: `at(i)` gives element `i`'s name and the
/// reply that follows it (value or score), if any. Returns the `[cursor, [items...]]` reply.
pub fn scan_collection(len: usize, opts: &ScanOpts, mut at: impl FnMut(usize) -> Option<(Bytes, Option<Reply>)>) -> Reply {
    let mut out = Vec::new();
    let next = scan_indexes(len, opts, |i| {
        let Some((name, extra)) = at(i) else { return false };
        if opts.pattern.as_ref().is_some_and(|p| !glob::matches(p, &name)) {
            return false;
        }
        out.push(Reply::Bulk(name));
        out.extend(extra);
        true
    });
    Reply::Array(vec![Reply::Bulk(args::int_bytes(next as i64)), Reply::Array(out)])
}

/// HSCAN/SSCAN/ZSCAN of a collection Redis keeps in a compact encoding (listpack, intset): the
/// whole collection in one reply, in its stored order, with cursor 0, whatever COUNT and the
/// cursor say (as Redis does for those encodings).
pub fn scan_all(opts: &ScanOpts, items: impl Iterator<Item = (Bytes, Option<Reply>)>) -> Reply {
    let mut out = Vec::new();
    for (name, extra) in items {
        if opts.pattern.as_ref().is_some_and(|p| !glob::matches(p, &name)) {
            continue;
        }
        out.push(Reply::Bulk(name));
        out.extend(extra);
    }
    Reply::Array(vec![Reply::Bulk(args::int_bytes(0)), Reply::Array(out)])
}

fn scan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let o = parse_scan(a, 1, true, false)?;
    let len = ctx.db().map.len();
    let mut out = Vec::new();
    let next = scan_indexes(len, &o, |i| {
        let Some(k) = live_key_at(ctx, i) else { return false };
        if let Some(p) = &o.pattern {
            if !glob::matches(p, &k) {
                return false;
            }
        }
        let tname = ctx.db().map.get(&k[..]).map_or("none", |e| e.value.type_name());
        if let Some(t) = &o.type_filter {
            if t != tname {
                return false;
            }
        }
        out.push(Reply::Bulk(k));
        if o.with_type {
            out.push(Reply::Bulk(Bytes::from_static(tname.as_bytes())));
        }
        true
    });
    Ok(Reply::Array(vec![Reply::Bulk(args::int_bytes(next as i64)), Reply::Array(out)]))
}

fn rename(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let nx = is(&a[0], "renamenx");
    let Some(e) = ctx.entry(&a[1]).cloned() else {
        return Err(CmdError::NoSuchKey);
    };
    if a[1] == a[2] {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    if nx && ctx.exists(&a[2]) {
        return Ok(Reply::Int(0));
    }
    ctx.delete(&a[1]);
    ctx.expire_if_needed(&a[2]);
    ctx.set(&a[2], e.value, e.expire_at);
    ctx.dirty(1);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

fn db_arg(arg: &[u8]) -> CmdResult<usize> {
    let d = int(arg)?;
    if d < 0 || d as usize >= NUM_DBS {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(d as usize)
}

fn copy(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut dst_db = ctx.db_index();
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "REPLACE") {
            replace = true;
        } else if is(&a[i], "DB") && i + 1 < a.len() {
            dst_db = db_arg(&a[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // The hosted service answers 0 for a copy onto itself (Redis errors).
    if a[1] == a[2] && dst_db == ctx.db_index() {
        return Ok(Reply::Int(0));
    }
    let Some(e) = ctx.entry(&a[1]).cloned() else {
        return Ok(Reply::Int(0));
    };
    let src_db = ctx.db_index();
    ctx.session.db = dst_db;
    let exists = ctx.exists(&a[2]);
    let result = if exists && !replace {
        0
    } else {
        ctx.set(&a[2], e.value, e.expire_at);
        ctx.signal(&a[2]);
        1
    };
    ctx.session.db = src_db;
    if result == 1 {
        ctx.dirty(1);
    }
    Ok(Reply::Int(result))
}

fn move_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let dst = db_arg(&a[2])?;
    let src = ctx.db_index();
    if dst == src {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let Some(e) = ctx.entry(&a[1]).cloned() else {
        return Ok(Reply::Int(0));
    };
    ctx.session.db = dst;
    let taken = ctx.exists(&a[1]);
    if !taken {
        ctx.set(&a[1], e.value, e.expire_at);
        ctx.signal(&a[1]);
    }
    ctx.session.db = src;
    if taken {
        return Ok(Reply::Int(0));
    }
    ctx.delete(&a[1]);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

fn randomkey(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let len = ctx.db().map.len();
        if len == 0 {
            return Ok(Reply::Nil);
        }
        if let Some(k) = live_key_at(ctx, rng.gen_range(0..len)) {
            return Ok(Reply::Bulk(k));
        }
    }
    Ok(Reply::Nil)
}

fn dbsize(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.db().len() as i64))
}

fn flush_mode(a: &[Bytes]) -> CmdResult<()> {
    match a.get(1) {
        None => Ok(()),
        Some(m) if a.len() == 2 && (is(m, "ASYNC") || is(m, "SYNC")) => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let dbi = ctx.db_index();
    let n = ctx.db().len() as u64;
    ctx.db().clear();
    ctx.ks.signal_db(Some(dbi));
    ctx.dirty(n.max(1));
    ctx.propagate(vec![lit("FLUSHDB")]);
    Ok(Reply::Ok)
}

fn flushall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let mut n = 0;
    for db in ctx.ks.dbs.iter_mut() {
        n += db.len() as u64;
        db.clear();
    }
    ctx.ks.signal_db(None);
    ctx.dirty(n.max(1));
    ctx.propagate(vec![lit("FLUSHALL")]);
    Ok(Reply::Ok)
}

fn swapdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let x = int(&a[1]).map_err(|_| CmdError::err("invalid first DB index"))?;
    let y = int(&a[2]).map_err(|_| CmdError::err("invalid second DB index"))?;
    if x < 0 || y < 0 || x as usize >= NUM_DBS || y as usize >= NUM_DBS {
        return Err(CmdError::DbIndexOutOfRange);
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        ctx.ks.dbs.swap(x, y);
        ctx.ks.signal_db(Some(x));
        ctx.ks.signal_db(Some(y));
    }
    ctx.dirty(1);
    Ok(Reply::Ok)
}

fn object(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    if sub == "help" {
        return Ok(Reply::Array(
            [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        ));
    }
    if !matches!(sub.as_str(), "encoding" | "freq" | "idletime" | "refcount") {
        return Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "OBJECT".into() });
    }
    if a.len() != 3 {
        return Err(CmdError::WrongArgs(format!("object|{sub}")));
    }
    let now_s = (ctx.now / 1000) as u32;
    let enc = ctx.shared.config.read().encodings;
    let Some(e) = ctx.entry(&a[2]) else {
        return Ok(Reply::Nil);
    };
    Ok(match sub.as_str() {
        "encoding" => Reply::Bulk(Bytes::from_static(e.value.encoding_with(&enc).as_bytes())),
        "idletime" => Reply::Int(now_s.saturating_sub(e.atime) as i64),
        "refcount" => Reply::Int(1),
        _ => {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T};
    use crate::Reply;

    #[test]
    fn ttl_type_exists_do_not_touch() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        t.advance(10_000);
        for cmd in [&["TTL", "k"][..], &["PTTL", "k"], &["EXPIRETIME", "k"], &["TYPE", "k"], &["EXISTS", "k"], &["OBJECT", "ENCODING", "k"]]
        {
            t.ok(cmd);
        }
        assert_eq!(t.ok(&["OBJECT", "IDLETIME", "k"]), Reply::Int(10));
        t.ok(&["GET", "k"]);
        assert_eq!(t.ok(&["OBJECT", "IDLETIME", "k"]), Reply::Int(0));
        assert_eq!(t.ok(&["TTL", "nokey"]), Reply::Int(-2));
    }

    #[test]
    fn del_exists_type_rename() {
        let mut t = T::new();
        t.ok(&["SET", "a", "1"]);
        t.ok(&["SET", "b", "2"]);
        assert_eq!(t.ok(&["EXISTS", "a", "b", "a", "zz"]), Reply::Int(3));
        assert_eq!(t.ok(&["DEL", "a", "zz"]), Reply::Int(1));
        assert_eq!(t.ok(&["UNLINK"]), Reply::Int(0));
        assert_eq!(t.ok(&["TYPE", "b"]), Reply::status("string"));
        assert_eq!(t.ok(&["TYPE", "nope"]), Reply::status("none"));
        assert_eq!(t.err(&["RENAME", "nope", "x"]), "ERR no such key");
        t.ok(&["EXPIRE", "b", "100"]);
        assert_eq!(t.ok(&["RENAME", "b", "c"]), Reply::Ok);
        assert_eq!(t.ok(&["TTL", "c"]), Reply::Int(100));
        t.ok(&["SET", "d", "x"]);
        assert_eq!(t.ok(&["RENAMENX", "c", "d"]), Reply::Int(0));
    }

    #[test]
    fn expire_options() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        assert_eq!(t.ok(&["EXPIRE", "k", "100", "XX"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXPIRE", "k", "100", "NX"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXPIRE", "k", "50", "GT"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXPIRE", "k", "200", "GT"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXPIRE", "k", "300", "LT"]), Reply::Int(0));
        assert_eq!(t.err(&["EXPIRE", "k", "1", "NX", "XX"]), "ERR NX and XX, GT or LT options at the same time are not compatible");
        assert_eq!(t.err(&["EXPIRE", "k", "1", "GT", "LT"]), "ERR GT and LT options at the same time are not compatible");
        assert_eq!(t.err(&["EXPIRE", "k", "9223372036854775807"]), "ERR invalid expire time in 'expire' command");
        assert_eq!(t.ok(&["PERSIST", "k"]), Reply::Int(1));
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(-1));
        assert_eq!(t.ok(&["EXPIRE", "k", "-1"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXISTS", "k"]), Reply::Int(0));
        assert_eq!(t.ok(&["TTL", "k"]), Reply::Int(-2));
        t.ok(&["SET", "k", "v"]);
        t.ok(&["PEXPIREAT", "k", "1700000005000"]);
        assert_eq!(t.ok(&["EXPIRETIME", "k"]), Reply::Int(1700000005));
        assert_eq!(t.ok(&["PEXPIRETIME", "k"]), Reply::Int(1700000005000));
    }

    #[test]
    fn scan_and_keys() {
        let mut t = T::new();
        for i in 0..25 {
            t.ok(&["SET", &format!("key:{i}"), "v"]);
        }
        t.ok(&["HSET", "hash", "f", "v"]);
        let mut all = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let Reply::Array(parts) = t.ok(&["SCAN", &cursor, "COUNT", "7"]) else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            let Reply::Array(keys) = &parts[1] else { panic!() };
            for k in keys {
                all.insert(format!("{k:?}"));
            }
            cursor = String::from_utf8(c.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(all.len(), 26);
        let one = t.ok(&["SCAN", "0", "COUNT", "1"]);
        let Reply::Array(parts) = one else { panic!() };
        assert_ne!(parts[0], b("0"));
        assert_eq!(t.ok(&["SCAN", "0", "MATCH", "hash"]), Reply::Array(vec![b("0"), arr(&["hash"])]));
        assert_eq!(t.ok(&["SCAN", "0", "TYPE", "hash", "WITHTYPE"]), Reply::Array(vec![b("0"), arr(&["hash", "hash"])]));
        let Reply::Array(k) = t.ok(&["KEYS", "key:1*"]) else { panic!() };
        assert_eq!(k.len(), 11);
        assert_eq!(t.ok(&["DBSIZE"]), Reply::Int(26));
        assert_eq!(t.err(&["SCAN", "x"]), "ERR invalid cursor");
    }

    #[test]
    fn copy_move_select() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        assert_eq!(t.ok(&["COPY", "k", "k"]), Reply::Int(0));
        assert_eq!(t.ok(&["COPY", "k", "k2"]), Reply::Int(1));
        assert_eq!(t.ok(&["COPY", "k", "k2"]), Reply::Int(0));
        assert_eq!(t.ok(&["COPY", "k", "k2", "REPLACE"]), Reply::Int(1));
        assert_eq!(t.ok(&["COPY", "k", "k", "DB", "1"]), Reply::Int(1));
        assert_eq!(t.ok(&["MOVE", "k2", "2"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXISTS", "k2"]), Reply::Int(0));
        t.ok(&["SELECT", "2"]);
        assert_eq!(t.ok(&["GET", "k2"]), b("v"));
        assert_eq!(t.err(&["SELECT", "16"]), "ERR DB index is out of range");
        t.ok(&["SELECT", "1"]);
        assert_eq!(t.ok(&["GET", "k"]), b("v"));
        assert_eq!(t.ok(&["OBJECT", "ENCODING", "k"]), b("embstr"));
        t.ok(&["FLUSHALL"]);
        assert_eq!(t.ok(&["DBSIZE"]), Reply::Int(0));
    }

    #[test]
    fn read_only_token_refuses_writes_and_whole_keyspace_reads() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        t.as_readonly();
        assert_eq!(t.ok(&["GET", "k"]), b("v"));
        assert_eq!(t.err(&["SET", "k", "w"]), "NOPERM User default_ro has no permissions to run the 'set' command");
        assert_eq!(t.err(&["KEYS", "*"]), "NOPERM User default_ro has no permissions to run the 'keys' command");
        assert_eq!(t.err(&["SCAN", "0"]), "NOPERM User default_ro has no permissions to run the 'scan' command");
        assert_eq!(t.ok(&["EXISTS", "k"]), Reply::Int(1));
    }

    /// One full SCAN-family iteration (`scan` gives the command for a cursor) while `churn`
    /// runs between calls; returns every name seen.
    fn scan_through(
        t: &mut T,
        scan: impl Fn(&str) -> Vec<String>,
        mut churn: impl FnMut(&mut T, usize),
    ) -> std::collections::HashSet<String> {
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        for round in 0.. {
            let args = scan(&cursor);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let Reply::Array(parts) = t.ok(&args) else { panic!("scan reply") };
            let [Reply::Bulk(c), Reply::Array(items)] = &parts[..] else { panic!("scan reply shape") };
            cursor = String::from_utf8(c.to_vec()).unwrap();
            // HSCAN/ZSCAN return name, value pairs: keep the names.
            let step = if args[0] == "HSCAN" || args[0] == "ZSCAN" { 2 } else { 1 };
            for item in items.iter().step_by(step) {
                let Reply::Bulk(name) = item else { panic!("bulk expected") };
                seen.insert(String::from_utf8(name.to_vec()).unwrap());
            }
            if cursor == "0" {
                break;
            }
            churn(t, round);
        }
        seen
    }

    #[test]
    fn scans_return_every_stable_element_while_tables_grow_and_shrink() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(1212);
        // Per family: how to add and remove element `name`, and the scan command.
        type Op = fn(&str) -> Vec<String>;
        let families: [(Op, Op, Op); 4] = [
            (
                |n| vec!["SET".into(), n.into(), "v".into()],
                |n| vec!["DEL".into(), n.into()],
                |c| vec!["SCAN".into(), c.into(), "COUNT".into(), "37".into()],
            ),
            (
                |n| vec!["HSET".into(), "h".into(), n.into(), "v".into()],
                |n| vec!["HDEL".into(), "h".into(), n.into()],
                |c| vec!["HSCAN".into(), "h".into(), c.into(), "COUNT".into(), "37".into()],
            ),
            (
                |n| vec!["SADD".into(), "s".into(), n.into()],
                |n| vec!["SREM".into(), "s".into(), n.into()],
                |c| vec!["SSCAN".into(), "s".into(), c.into(), "COUNT".into(), "37".into()],
            ),
            (
                |n| vec!["ZADD".into(), "z".into(), "1".into(), n.into()],
                |n| vec!["ZREM".into(), "z".into(), n.into()],
                |c| vec!["ZSCAN".into(), "z".into(), c.into(), "COUNT".into(), "37".into()],
            ),
        ];
        for (add, del, scan) in families {
            let mut t = T::new();
            let run = |t: &mut T, args: Vec<String>| {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                t.ok(&args);
            };
            let stable: Vec<String> = (0..3000).map(|i| format!("stable:{i}")).collect();
            for n in &stable {
                run(&mut t, add(n));
            }
            let mut churned: Vec<String> = Vec::new();
            let mut next = 0;
            let seen = scan_through(&mut t, scan, |t, round| {
                // Alternate bursts of growth (several resizes) and of shrinkage.
                if (round / 8) % 2 == 0 {
                    for _ in 0..rng.gen_range(200..900) {
                        let n = format!("churn:{next}");
                        next += 1;
                        run(t, add(&n));
                        churned.push(n);
                    }
                } else {
                    for _ in 0..rng.gen_range(200..900).min(churned.len()) {
                        let i = rng.gen_range(0..churned.len());
                        let n = churned.swap_remove(i);
                        run(t, del(&n));
                    }
                }
            });
            let missing: Vec<&String> = stable.iter().filter(|n| !seen.contains(*n)).collect();
            assert!(missing.is_empty(), "{}: {} stable elements never returned, e.g. {:?}", scan("0")[0], missing.len(), missing.first());
            assert!(next > 3000, "the churn grew the table several times over");
        }
    }
}
