//! DUMP and RESTORE (Redis `cluster.c`): values in Redis's serialization format (see
//! [`crate::rdb`]), so payloads move between stashd and redis-server in both directions.

use bytes::Bytes;

use crate::args::{self, int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::rdb;
use crate::{Ctx, Reply};

/// DUMP/RESTORE rows.
pub static COMMANDS: &[CommandSpec] =
    &[cmd!("dump", 2, READONLY, 1, 1, 1, dump, "keyspace"), cmd!("restore", -4, WRITE | DENYOOM, 1, 1, 1, restore, "keyspace")];

fn dump(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(e) = ctx.entry(&a[1]) else { return Ok(Reply::Nil) };
    match rdb::dump(&e.value) {
        Some(payload) => Ok(Reply::Bulk(Bytes::from(payload))),
        None => Err(CmdError::err(match &e.value {
            crate::value::Value::Array(_) => "DUMP of an array value is not supported by stashd yet".to_string(),
            v => format!("DUMP of a {} value is not supported by stashd yet", v.type_name()),
        })),
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`.
fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < a.len() {
        let more = j + 1 < a.len();
        if is(&a[j], "REPLACE") {
            replace = true;
        } else if is(&a[j], "ABSTTL") {
            absttl = true;
        } else if is(&a[j], "IDLETIME") && more && freq.is_none() {
            let n = int(&a[j + 1])?;
            if n < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            j += 1;
        } else if is(&a[j], "FREQ") && more && idle.is_none() {
            let n = int(&a[j + 1])?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(n);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = &a[1];
    if !replace && ctx.exists(key) {
        return Err(CmdError::Other("BUSYKEY Target key name already exists.".into()));
    }
    let ttl = int(&a[2])?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    if !rdb::verify(&a[3]) {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    let value = rdb::restore(&a[3]).map_err(|_| CmdError::err("Bad data format"))?;
    let deleted = replace && ctx.delete(key);
    let now = ctx.now;
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t as u64,
        t => now.saturating_add(t as u64),
    };
    if expire_at != 0 && expire_at <= now {
        // Already expired: nothing is created (an existing key was replaced by nothing).
        if deleted {
            ctx.dirty(1);
            ctx.propagate(vec![lit("DEL"), key.clone()]);
        } else {
            ctx.propagate_none();
        }
        return Ok(Reply::Ok);
    }
    ctx.set(key, value, expire_at);
    if let Some(idle) = idle {
        let now_s = (now / 1000) as u32;
        if let Some(e) = ctx.entry(key) {
            e.atime = now_s.saturating_sub(u32::try_from(idle).unwrap_or(u32::MAX));
        }
    }
    let mut logged = vec![lit("RESTORE"), key.clone(), args::int_bytes(expire_at as i64), a[3].clone(), lit("REPLACE")];
    if expire_at != 0 {
        logged.push(lit("ABSTTL"));
    }
    ctx.propagate(logged);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::testkit::{b, T};
    use crate::Reply;

    fn dumped(t: &mut T, key: &str) -> Bytes {
        match t.ok(&["DUMP", key]) {
            Reply::Bulk(p) => p,
            other => panic!("DUMP gave {other:?}"),
        }
    }

    /// RESTORE with the payload spliced in after `head` and `tail` options; the error text or OK.
    fn restore(t: &mut T, head: &[&str], payload: &Bytes, tail: &[&str]) -> Result<Reply, String> {
        let mut args: Vec<Bytes> = head.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect();
        args.push(payload.clone());
        args.extend(tail.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())));
        t.run_bytes(args).map_err(|e| e.to_string())
    }

    #[test]
    fn dump_restore_errors_and_ttl() {
        let mut t = T::new();
        assert_eq!(t.ok(&["DUMP", "nope"]), Reply::Nil);
        t.ok(&["RPUSH", "l", "a", "b", "3"]);
        let p = dumped(&mut t, "l");
        let err = |r: Result<Reply, String>| r.expect_err("should fail");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l", "0"], &p, &[])), "BUSYKEY Target key name already exists.");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "-1"], &p, &[])), "ERR Invalid TTL value, must be >= 0");
        let garbage = Bytes::from_static(b"garbage-payload");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "0"], &garbage, &[])), "ERR DUMP payload version or checksum are wrong");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "0"], &p, &["IDLETIME", "-1"])), "ERR Invalid IDLETIME value, must be >= 0");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "0"], &p, &["FREQ", "256"])), "ERR Invalid FREQ value, must be >= 0 and <= 255");
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "0"], &p, &["IDLETIME", "1", "FREQ", "1"])), "ERR syntax error");
        // A payload whose checksum is right but whose body is not a value.
        let mut bad = vec![99u8];
        bad.extend(crate::rdb::DUMP_VERSION.to_le_bytes());
        let crc = crate::rdb::crc64(&bad);
        bad.extend(crc.to_le_bytes());
        assert_eq!(err(restore(&mut t, &["RESTORE", "l2", "0"], &Bytes::from(bad), &[])), "ERR Bad data format");
        assert_eq!(t.ok(&["EXISTS", "l2"]), Reply::Int(0));
        assert_eq!(restore(&mut t, &["RESTORE", "l2", "5000"], &p, &["IDLETIME", "100"]), Ok(Reply::Ok));
        assert_eq!(t.ok(&["OBJECT", "IDLETIME", "l2"]), Reply::Int(100));
        assert_eq!(t.ok(&["LRANGE", "l2", "0", "-1"]), Reply::Array(vec![b("a"), b("b"), b("3")]));
        assert_eq!(t.ok(&["PTTL", "l2"]), Reply::Int(5000));
        // A TTL already in the past replaces the key by nothing.
        assert_eq!(restore(&mut t, &["RESTORE", "l2", "1"], &p, &["ABSTTL", "REPLACE"]), Ok(Reply::Ok));
        assert_eq!(t.ok(&["EXISTS", "l2"]), Reply::Int(0));
    }

    #[test]
    fn hashes_with_field_ttls_dump_as_rdb_12() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        t.ok(&["HPEXPIRE", "h", "5000", "FIELDS", "1", "a"]);
        t.ok(&["HPEXPIRE", "h", "9000", "FIELDS", "1", "c"]);
        let p = dumped(&mut t, "h");
        let n = p.len();
        assert_eq!(u16::from_le_bytes([p[n - 10], p[n - 9]]), crate::rdb::HFE_VERSION);
        assert_eq!(restore(&mut t, &["RESTORE", "h2", "0"], &p, &[]), Ok(Reply::Ok));
        assert_eq!(
            t.ok(&["HPTTL", "h2", "FIELDS", "3", "a", "b", "c"]),
            Reply::Array(vec![Reply::Int(5000), Reply::Int(-1), Reply::Int(9000)])
        );
        t.advance(6000);
        assert_eq!(t.ok(&["HGETALL", "h2"]), Reply::Map(vec![(b("b"), b("2")), (b("c"), b("3"))]));
    }

    #[test]
    fn every_type_round_trips_through_dump_and_restore() {
        let mut t = T::new();
        t.ok(&["SET", "s", "hello"]);
        t.ok(&["HSET", "h", "f", "1", "g", "two"]);
        t.ok(&["SADD", "set", "1", "2", "x"]);
        t.ok(&["ZADD", "z", "1.5", "a", "-3", "b"]);
        t.ok(&["XADD", "x", "1-1", "f", "v"]);
        t.ok(&["JSON.SET", "j", "$", r#"{"b":[1,2.5,"x",null,true],"a":{"n":1}}"#]);
        t.ok(&["XGROUP", "CREATE", "x", "g", "0"]);
        t.ok(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"]);
        for (key, probe, at) in [
            ("s", &["GET", "s2"][..], 1),
            ("h", &["HGETALL", "h2"], 1),
            ("set", &["SMEMBERS", "set2"], 1),
            ("z", &["ZRANGE", "z2", "0", "-1", "WITHSCORES"], 1),
            ("x", &["XINFO", "STREAM", "x2", "FULL"], 2),
            ("j", &["JSON.GET", "j2", "$"], 1),
        ] {
            let p = dumped(&mut t, key);
            let copy = format!("{key}2");
            assert_eq!(restore(&mut t, &["RESTORE", &copy, "0"], &p, &[]), Ok(Reply::Ok));
            let mut original = probe.to_vec();
            original[at] = key;
            assert_eq!(t.ok(probe), t.ok(&original), "{key}");
        }
    }
}
