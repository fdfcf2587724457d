//! EVAL, EVALSHA, their `_RO` forms and SCRIPT (Redis `eval.c`).

use bytes::Bytes;

use crate::args::{self, int};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::scripting;
use crate::{Ctx, Reply};

/// Scripting command rows. Keys are given by `numkeys`, so key positions are declared as none;
/// the commands a script runs signal their own keys.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("eval", -3, NOSCRIPT, 0, 0, 0, eval, "scripting"),
    cmd!("evalsha", -3, NOSCRIPT, 0, 0, 0, evalsha, "scripting"),
    cmd!("eval_ro", -3, NOSCRIPT | READONLY, 0, 0, 0, eval_ro, "scripting"),
    cmd!("evalsha_ro", -3, NOSCRIPT | READONLY, 0, 0, 0, evalsha_ro, "scripting"),
    cmd!("script", -2, NOSCRIPT, 0, 0, 0, script, "scripting"),
];

/// The script cache (absent only while a script runs, and scripts cannot call these commands).
fn scripts<'c>(ctx: &'c mut Ctx) -> CmdResult<&'c mut scripting::Scripting> {
    ctx.ks.scripting.as_deref_mut().ok_or_else(|| CmdError::err("This Redis command is not allowed from script"))
}

/// Splits `numkeys key... arg...` starting at `a[2]`.
pub(crate) fn keys_and_args(a: &[Bytes]) -> CmdResult<(&[Bytes], &[Bytes])> {
    let n = int(&a[2])?;
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let n = n as usize;
    if n > a.len() - 3 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    Ok((&a[3..3 + n], &a[3 + n..]))
}

fn eval_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let (keys, argv) = keys_and_args(a)?;
    let sha = scripts(ctx)?.load(&a[1])?;
    scripting::run(ctx, scripting::Target::Script(&sha), keys, argv, read_only)
}

fn evalsha_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let (keys, argv) = keys_and_args(a)?;
    let sha = args::text(&a[1]).to_ascii_lowercase();
    scripting::run(ctx, scripting::Target::Script(&sha), keys, argv, read_only)
}

fn eval(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    eval_generic(ctx, a, false)
}

fn eval_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    eval_generic(ctx, a, true)
}

fn evalsha(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    evalsha_generic(ctx, a, false)
}

fn evalsha_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    evalsha_generic(ctx, a, true)
}

fn script(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let wrong = || CmdError::WrongArgs(format!("script|{sub}"));
    match sub.as_str() {
        "load" => {
            if a.len() != 3 {
                return Err(wrong());
            }
            let sha = scripts(ctx)?.load(&a[2])?;
            Ok(Reply::Bulk(Bytes::from(sha)))
        }
        "exists" => {
            if a.len() < 3 {
                return Err(wrong());
            }
            let sc = scripts(ctx)?;
            Ok(Reply::Array(a[2..].iter().map(|s| Reply::Int(sc.exists(&args::text(s)) as i64)).collect()))
        }
        "flush" => {
            match a.get(2) {
                None => {}
                Some(m) if a.len() == 3 && (args::is(m, "ASYNC") || args::is(m, "SYNC")) => {}
                _ => return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option")),
            }
            scripts(ctx)?.flush();
            Ok(Reply::Ok)
        }
        // Scripts run to completion under the keyspace lock, so none is ever running when
        // another command executes.
        "kill" => Err(CmdError::Other("NOTBUSY No scripts in execution right now.".into())),
        "help" => Ok(Reply::Array(
            [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]",
                "FLUSH [ASYNC|SYNC]",
                "KILL",
                "LOAD <script>",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "SCRIPT".into() }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::scripting::sha1_hex;
    use crate::testkit::{arr, b, T};
    use crate::Reply;

    #[test]
    fn reply_conversions_follow_redis() {
        let mut t = T::new();
        let r = t.ok(&["EVAL", "return {1, 2.9, -2.7, true, false, 'x', {3}}", "0"]);
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Int(2),
                Reply::Int(-2),
                Reply::Int(1),
                Reply::Nil,
                b("x"),
                Reply::Array(vec![Reply::Int(3)])
            ])
        );
        assert_eq!(t.ok(&["EVAL", "return redis.status_reply('FINE')", "0"]), Reply::Status("FINE".into()));
        assert_eq!(t.err(&["EVAL", "return redis.error_reply('MY fault')", "0"]), "MY fault");
        assert_eq!(t.ok(&["EVAL", "return tostring(2^53)", "0"]), b("9.007199254741e+15"));
        assert_eq!(t.ok(&["EVAL", "return _VERSION", "0"]), b("Lua 5.1"));
        assert_eq!(t.ok(&["EVAL", "return nil", "0"]), Reply::Nil);
    }

    #[test]
    fn keys_argv_and_redis_call() {
        let mut t = T::new();
        let r = t.ok(&["EVAL", "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', 'n', 3.5); redis.call('SET', 'i', 10); return redis.call('GET', KEYS[1])", "1", "k", "v"]);
        assert_eq!(r, b("v"));
        assert_eq!(t.ok(&["GET", "n"]), b("3.5"));
        assert_eq!(t.ok(&["GET", "i"]), b("10"));
        // Undeclared keys are fine (ratelimit's reset script scans and deletes by pattern).
        assert_eq!(t.ok(&["EVAL", "return redis.call('GET', 'i')", "0"]), b("10"));
        assert_eq!(t.ok(&["EVAL", "return redis.call('HGETALL', 'nohash')", "0"]), arr(&[]));
        assert_eq!(t.ok(&["EVAL", "return redis.call('GET', 'missing') == false", "0"]), Reply::Int(1));
        assert_eq!(t.err(&["EVAL", "return 1", "2", "a"]), "ERR Number of keys can't be greater than number of args");
        assert_eq!(t.err(&["EVAL", "return 1", "-1"]), "ERR Number of keys can't be negative");
    }

    #[test]
    fn script_cache_and_noscript() {
        let mut t = T::new();
        let body = "\n  return ARGV[1]\n";
        let sha = sha1_hex(body.as_bytes());
        assert_eq!(t.err(&["EVALSHA", &sha, "0", "x"]), "NOSCRIPT No matching script. Please use EVAL.");
        assert_eq!(t.ok(&["EVAL", body, "0", "x"]), b("x"));
        assert_eq!(t.ok(&["EVALSHA", &sha.to_uppercase(), "0", "y"]), b("y"));
        assert_eq!(t.ok(&["SCRIPT", "LOAD", "return 1"]), b(&sha1_hex(b"return 1")));
        assert_eq!(t.ok(&["SCRIPT", "EXISTS", &sha, "0000"]), Reply::Array(vec![Reply::Int(1), Reply::Int(0)]));
        assert_eq!(t.ok(&["SCRIPT", "FLUSH"]), Reply::Ok);
        assert_eq!(t.ok(&["SCRIPT", "EXISTS", &sha]), Reply::Array(vec![Reply::Int(0)]));
        assert_eq!(t.err(&["SCRIPT", "KILL"]), "NOTBUSY No scripts in execution right now.");
    }

    #[test]
    fn errors_carry_script_and_line() {
        let mut t = T::new();
        t.ok(&["SET", "s", "abc"]);
        let body = "local x = 1\nreturn redis.call('INCR', 's')";
        let sha = sha1_hex(body.as_bytes());
        assert_eq!(t.err(&["EVAL", body, "0"]), format!("ERR value is not an integer or out of range script: {sha}, on @user_script:2."));
        assert_eq!(
            t.ok(&["EVAL", "local r = redis.pcall('INCR', 's'); return r.err", "0"]),
            b("ERR value is not an integer or out of range")
        );
        let e = t.err(&["EVAL", "x = 1", "0"]);
        assert!(e.starts_with("ERR user_script:1: Attempt to modify a readonly table script:"), "{e}");
        let e = t.err(&["EVAL", "return os.time()", "0"]);
        assert!(e.contains("Script attempted to access nonexistent global variable 'os'"), "{e}");
        let e = t.err(&["EVAL", "return loadfile", "0"]);
        assert!(e.contains("nonexistent global variable 'loadfile'"), "{e}");
        let e = t.err(&["EVAL", "return 1 +", "0"]);
        assert!(e.starts_with("ERR Error compiling script (new function): user_script:1:"), "{e}");
        assert_eq!(
            t.err(&["EVAL", "return redis.call('EVAL', 'return 1', '0')", "0"]).split(" script:").next(),
            Some("ERR This Redis command is not allowed from script")
        );
        assert_eq!(
            t.err(&["EVAL", "return redis.call('NOSUCH')", "0"]).split(" script:").next(),
            Some("ERR Unknown Redis command called from script")
        );
        // The VM is still usable after errors.
        assert_eq!(t.ok(&["EVAL", "return 7", "0"]), Reply::Int(7));
    }

    #[test]
    fn read_only_forms_and_shebang_flags() {
        let mut t = T::new();
        t.ok(&["SET", "k", "1"]);
        assert_eq!(t.ok(&["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"]), b("1"));
        let e = t.err(&["EVAL_RO", "return redis.call('SET', 'k', '2')", "0"]);
        assert!(e.starts_with("ERR Write commands are not allowed from read-only scripts."), "{e}");
        assert_eq!(t.ok(&["EVAL", "#!lua flags=allow-key-locking\nreturn redis.call('INCR', 'k')", "0"]), Reply::Int(2));
        let e = t.err(&["EVAL", "#!lua flags=no-writes\nreturn redis.call('INCR', 'k')", "0"]);
        assert!(e.starts_with("ERR Write commands are not allowed from read-only scripts."), "{e}");
        assert_eq!(t.err(&["EVAL", "#!lua flags=bogus\nreturn 1", "0"]), "ERR Unexpected flag in script shebang: bogus");
        assert_eq!(t.err(&["EVAL", "#!python\nreturn 1", "0"]), "ERR Unexpected engine in script shebang: python");
        let e = t.err(&["EVAL", "#!lua\nreturn x", "0"]);
        assert!(e.contains("@user_script:2."), "line numbers survive the shebang: {e}");
    }

    #[test]
    fn writes_are_logged_as_commands_and_blocking_commands_are_refused() {
        let mut t = T::new();
        let (r, fx, dirty) = t.logged_text(&["EVAL", "redis.call('SET', 'a', '1'); return redis.call('INCR', 'a')", "0"]);
        assert_eq!(r, Reply::Int(2));
        assert_eq!(fx, vec![vec!["SET".to_string(), "a".into(), "1".into()], vec!["INCR".to_string(), "a".into()]]);
        assert_eq!(dirty, 2);
        // Blocking commands are `noscript` since Redis 7 (redis-server 7.0.15 refuses them too).
        assert!(t
            .err(&["EVAL", "return redis.call('BLPOP', 'nolist', 0)", "0"])
            .starts_with("ERR This Redis command is not allowed from script"));
        // ... while a container's harmless subcommand may run (Redis flags ACL HELP, not ACL WHOAMI).
        assert!(matches!(t.ok(&["EVAL", "return redis.call('ACL', 'HELP')", "0"]), Reply::Array(_)));
        assert!(t
            .err(&["EVAL", "return redis.call('ACL', 'WHOAMI')", "0"])
            .starts_with("ERR This Redis command is not allowed from script"));
        t.ok(&["MULTI"]);
        t.ok(&["EVAL", "return redis.call('INCR', 'a')", "0"]);
        assert_eq!(t.ok(&["EXEC"]), Reply::Array(vec![Reply::Int(3)]));
    }

    #[test]
    fn cjson_roundtrip() {
        let mut t = T::new();
        assert_eq!(t.ok(&["EVAL", "return cjson.encode(cjson.decode(ARGV[1]))", "0", r#"{"a":[1,2.5,"x"]}"#]), b(r#"{"a":[1,2.5,"x"]}"#));
        assert_eq!(t.ok(&["EVAL", "return cjson.decode('[true, null]')[2] == cjson.null", "0"]), Reply::Int(1));
        assert!(t.err(&["EVAL", "return cjson.decode('{')", "0"]).contains("cjson.decode"));
    }

    #[test]
    fn bit_struct_and_cmsgpack_libraries() {
        let mut t = T::new();
        let ev = |t: &mut T, body: &str| t.ok(&["EVAL", body, "0"]);
        assert_eq!(ev(&mut t, "return bit.tohex(65535)"), b("0000ffff"));
        assert_eq!(ev(&mut t, "return bit.tohex(-1, -4)"), b("FFFF"));
        assert_eq!(
            ev(&mut t, "return {bit.band(255, 15), bit.bor(1, 2, 4), bit.bxor(3, 1), bit.bnot(0)}"),
            Reply::Array(vec![Reply::Int(15), Reply::Int(7), Reply::Int(2), Reply::Int(-1)])
        );
        assert_eq!(
            ev(&mut t, "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.tobit(4294967297)}"),
            Reply::Array(vec![Reply::Int(-2147483648), Reply::Int(15), Reply::Int(-16), Reply::Int(1)])
        );
        assert_eq!(ev(&mut t, "return bit.tohex(bit.bswap(0x01020304))"), b("04030201"));
        assert_eq!(ev(&mut t, "return struct.pack('>I2', 258)"), Reply::Bulk(bytes::Bytes::from_static(&[1, 2])));
        assert_eq!(ev(&mut t, "return {struct.unpack('<i4', struct.pack('<i4', -5))}"), Reply::Array(vec![Reply::Int(-5), Reply::Int(5)]));
        assert_eq!(ev(&mut t, "return struct.size('>iI2d')"), Reply::Int(14));
        assert_eq!(ev(&mut t, "return struct.pack('sB', 'ab', 7)"), Reply::Bulk(bytes::Bytes::from_static(b"ab\0\x07")));
        assert_eq!(
            ev(&mut t, "local a, b, n = struct.unpack('>c2d', struct.pack('>c2d', 'xy', 2.5)); return {a, tostring(b), n}"),
            Reply::Array(vec![b("xy"), b("2.5"), Reply::Int(11)])
        );
        assert!(t.err(&["EVAL", "return struct.pack('q', 1)", "0"]).contains("invalid format option 'q'"));
        assert!(t.err(&["EVAL", "return struct.unpack('>i4', 'ab')", "0"]).contains("data string too short"));
        assert_eq!(ev(&mut t, "return cmsgpack.pack({1, 2, 3})"), Reply::Bulk(bytes::Bytes::from_static(&[0x93, 1, 2, 3])));
        assert_eq!(
            ev(&mut t, "return cmsgpack.pack('a', -1, 300, 1.5)"),
            Reply::Bulk(bytes::Bytes::from_static(&[0xa1, b'a', 0xff, 0xcd, 0x01, 0x2c, 0xca, 0x3f, 0xc0, 0, 0]))
        );
        assert_eq!(
            ev(&mut t, "local t = cmsgpack.unpack(cmsgpack.pack({a = {1, 'x'}, b = true})); return {t.a[2], t.b}"),
            Reply::Array(vec![b("x"), Reply::Int(1)])
        );
        assert_eq!(ev(&mut t, "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 0)}"), Reply::Array(vec![Reply::Int(1), Reply::Int(1)]));
        assert!(t.err(&["EVAL", "return cmsgpack.unpack('\\205')", "0"]).contains("Missing bytes in input."));
    }

    #[test]
    fn setresp_3_converts_both_ways() {
        let mut t = T::new();
        t.ok(&["HSET", "h", "f", "v"]);
        t.ok(&["ZADD", "z", "1.5", "m"]);
        assert_eq!(t.ok(&["EVAL", "redis.setresp(3); return redis.call('HGETALL', 'h').map.f", "0"]), b("v"));
        assert_eq!(t.ok(&["EVAL", "redis.setresp(3); return redis.call('GET', 'nokey') == nil", "0"]), Reply::Bool(true));
        assert_eq!(t.ok(&["EVAL", "return {double = 3.5}", "0"]), Reply::Double(3.5));
        assert_eq!(t.ok(&["EVAL", "return {map = {a = 1}}", "0"]), Reply::Map(vec![(b("a"), Reply::Int(1))]));
        assert_eq!(t.ok(&["EVAL", "redis.setresp(3); return false", "0"]), Reply::Bool(false));
        // The next script starts in RESP2 again.
        assert_eq!(t.ok(&["EVAL", "return redis.call('GET', 'nokey')", "0"]), Reply::Nil);
        assert!(t.err(&["EVAL", "redis.setresp(4)", "0"]).contains("RESP version must be 2 or 3."));
    }

    #[test]
    fn script_replies_are_resp2_shaped_on_a_resp3_connection() {
        let mut t = T::new();
        t.session.protocol = stashd_resp::Protocol::Resp3;
        t.ok(&["ZADD", "z", "1.5", "a", "2", "b"]);
        t.ok(&["ZADD", "z2", "1", "a"]);
        t.ok(&["HSET", "h", "f", "v"]);
        t.ok(&["XADD", "s", "1-1", "k", "v"]);
        let flat = arr(&["a", "1.5", "b", "2"]);
        for call in [
            "redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')",
            "redis.call('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'WITHSCORES')",
            "redis.call('ZUNION', 1, 'z', 'WITHSCORES')",
        ] {
            assert_eq!(t.ok(&["EVAL", &format!("return {call}"), "0"]), flat, "{call}");
        }
        assert_eq!(t.ok(&["EVAL", "return redis.call('ZREVRANGE', 'z', 0, -1, 'WITHSCORES')", "0"]), arr(&["b", "2", "a", "1.5"]));
        assert_eq!(t.ok(&["EVAL", "return redis.call('ZINTER', 2, 'z', 'z2', 'WITHSCORES')", "0"]), arr(&["a", "2.5"]));
        assert_eq!(t.ok(&["EVAL", "return redis.call('ZRANDMEMBER', 'z2', 1, 'WITHSCORES')", "0"]), arr(&["a", "1"]));
        assert_eq!(t.ok(&["EVAL", "return redis.call('HRANDFIELD', 'h', 1, 'WITHVALUES')", "0"]), arr(&["f", "v"]));
        assert_eq!(t.ok(&["EVAL", "return redis.call('XREAD', 'STREAMS', 's', '0')[1][1]", "0"]), b("s"));
        // After redis.setresp(3) the script sees RESP3 shapes (pairs, doubles, maps)...
        assert_eq!(
            t.ok(&["EVAL", "redis.setresp(3); local r = redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES'); return {#r, r[1][1], tostring(r[1][2].double)}", "0"]),
            arr_mixed(&[Reply::Int(2), b("a"), b("1.5")])
        );
        assert_eq!(t.ok(&["EVAL", "redis.setresp(3); return redis.call('XREAD', 'STREAMS', 's', '0').map.s[1][1]", "0"]), b("1-1"));
        // ...and the caller's own protocol is untouched afterwards.
        assert_eq!(t.session.protocol, stashd_resp::Protocol::Resp3);
        assert_eq!(t.ok(&["ZRANGE", "z", "0", "0", "WITHSCORES"]), Reply::Array(vec![Reply::Array(vec![b("a"), Reply::Double(1.5)])]));
        // A RESP2 caller that asks for RESP3 inside the script gets it too.
        t.session.protocol = stashd_resp::Protocol::Resp2;
        assert_eq!(t.ok(&["EVAL", "redis.setresp(3); return #redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')", "0"]), Reply::Int(2));
        assert_eq!(t.session.protocol, stashd_resp::Protocol::Resp2);
    }

    #[test]
    fn self_referencing_tables_stop_at_the_depth_limit() {
        // On a thread with a tokio worker's default stack (2 MiB), as the server runs scripts.
        let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
            let mut t = T::new();
            let mut r = t.ok(&["EVAL", "local t = {}; t[1] = t; return t", "0"]);
            let mut depth = 0;
            while let Reply::Array(mut items) = r {
                assert_eq!(items.len(), 1);
                r = items.remove(0);
                depth += 1;
            }
            assert_eq!(depth, crate::scripting_convert::MAX_REPLY_DEPTH);
            assert_eq!(r, Reply::Error("ERR reached lua stack limit".into()));
            // Maps nest the same way; the VM is fine afterwards.
            let r = t.ok(&["EVAL", "redis.setresp(3); local m = {}; m.map = {k = m}; return m", "0"]);
            assert!(matches!(r, Reply::Map(_)));
            assert_eq!(t.ok(&["EVAL", "return 1", "0"]), Reply::Int(1));
        });
        assert!(worker.and_then(|w| w.join().map_err(|_| std::io::Error::other("panicked"))).is_ok());
    }

    fn arr_mixed(v: &[Reply]) -> Reply {
        Reply::Array(v.to_vec())
    }

    /// Each sealed table with one of its members and a Lua expression that shows the member
    /// still works (as a string).
    pub(crate) const SEALED: &[(&str, &str, &str, &str)] = &[
        ("redis", "call", "(redis.call('SET', 'sealk', 'ok') and redis.call('GET', 'sealk'))", "ok"),
        ("redis", "sha1hex", "redis.sha1hex('')", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("cjson", "encode", "cjson.encode({1, 'a'})", "[1,\"a\"]"),
        ("bit", "band", "tostring(bit.band(6, 3))", "2"),
        ("struct", "pack", "struct.pack('>I2', 16706)", "AB"),
        ("cmsgpack", "pack", "cmsgpack.unpack(cmsgpack.pack('ok'))", "ok"),
        ("string", "len", "tostring(string.len('abc')) .. tostring(('abcd'):len())", "34"),
        ("math", "floor", "tostring(math.floor(2.5))", "2"),
        ("table", "concat", "table.concat({'a', 'b'}, '-')", "a-b"),
        ("coroutine", "wrap", "coroutine.wrap(function() return 'co' end)()", "co"),
    ];

    const READONLY: &str = "ERR user_script:1: Attempt to modify a readonly table script:";

    fn eval_err(t: &mut T, body: &str) -> String {
        t.err(&["EVAL", body, "0"])
    }

    #[test]
    fn library_tables_are_read_only() {
        let mut t = T::new();
        for &(lib, member, check, want) in SEALED {
            for body in [
                format!("{lib}.{member} = function() return 'hijacked' end"),
                format!("{lib}.{member} = nil"),
                format!("{lib}.brand_new = 1"),
                format!("local l = {lib}; l.{member} = 1"),
                format!("rawset({lib}, '{member}', function() return 'hijacked' end)"),
                format!("setmetatable({lib}, nil)"),
                format!("table.insert({lib}, 1)"),
                format!("{lib} = {{}}"),
                format!("_G.{lib} = nil"),
                format!("rawset(_G, '{lib}', {{}})"),
            ] {
                let e = eval_err(&mut t, &body);
                assert!(e.starts_with(READONLY), "{body}: {e}");
            }
            // A failed attempt inside pcall changes nothing either.
            let body = format!("return tostring(pcall(function() {lib}.{member} = 1 end))");
            assert_eq!(t.ok(&["EVAL", &body, "0"]), b("false"));
            let body = format!("return {check}");
            assert_eq!(t.ok(&["EVAL", &body, "0"]), b(want), "{lib}.{member}");
            let body = format!("return tostring(rawget({lib}, 'brand_new'))");
            assert_eq!(t.ok(&["EVAL", &body, "0"]), b("nil"), "{lib}");
        }
    }

    #[test]
    fn globals_are_read_only_and_missing_ones_fail() {
        let mut t = T::new();
        for body in [
            "x = 1",
            "_G.x = 1",
            "_G._G = nil",
            "redis = {}",
            "tostring = nil",
            "rawset(_G, 'x', 1)",
            "getfenv(0).redis = 1",
            "getfenv(1).redis = 1",
            "getfenv().x = 1",
            "getfenv(redis.call).redis = 1",
            "getfenv(redis.error_reply).redis = 1",
            "getfenv(pairs).x = 1",
            "coroutine.wrap(function() getfenv(0).redis = 1 end)()",
            "loadstring('redis = 1')()",
            "loadstring('rawset(getfenv(0), \"redis\", 1)')()",
            "load(function() return nil end)(); local s = 'x = 1'; load(function() local r = s; s = nil; return r end)()",
            "getmetatable('').__index.len = function() return 0 end",
            "getmetatable('').__index = {}",
            "rawset(getmetatable(''), '__index', {})",
            "setmetatable(_G, nil)",
            "setmetatable(getmetatable(''), {})",
        ] {
            // (Chunks from loadstring name their own position; coroutine.wrap adds one.)
            let e = eval_err(&mut t, body);
            assert!(e.starts_with("ERR ") && e.contains("Attempt to modify a readonly table script:"), "{body}: {e}");
        }
        // Reading a missing global fails, however it is read.
        for (body, name) in [("return nosuch", "nosuch"), ("return _G.nosuch", "nosuch"), ("return getfenv(0).nope", "nope")] {
            let e = eval_err(&mut t, body);
            assert!(e.starts_with("ERR user_script:1: Script attempted to access nonexistent global variable"), "{body}: {e}");
            assert!(e.contains(&format!("'{name}'")), "{body}: {e}");
        }
        // Removed or never allowed.
        for name in ["setfenv", "dofile", "loadfile", "print", "os", "io", "debug", "require", "module", "package"] {
            let e = eval_err(&mut t, &format!("return {name}"));
            assert!(e.contains(&format!("nonexistent global variable '{name}'")), "{name}: {e}");
        }
        // Redis 7's allow list (newproxy included).
        for name in [
            "xpcall",
            "tostring",
            "getfenv",
            "setmetatable",
            "next",
            "assert",
            "tonumber",
            "rawequal",
            "collectgarbage",
            "getmetatable",
            "rawset",
            "rawget",
            "pcall",
            "coroutine",
            "type",
            "_G",
            "select",
            "unpack",
            "gcinfo",
            "pairs",
            "loadstring",
            "load",
            "ipairs",
            "error",
            "newproxy",
            "_VERSION",
        ] {
            assert_eq!(t.ok(&["EVAL", &format!("return {name} ~= nil"), "0"]), Reply::Int(1), "{name}");
        }
        // No writable handle on any metatable; no bytecode.
        assert_eq!(
            t.ok(&["EVAL", "return {getmetatable(redis) == nil, getmetatable(_G) == nil, getmetatable(getfenv(1)) == nil}", "0"]),
            arr_ints(&[1, 1, 1])
        );
        assert_eq!(t.ok(&["EVAL", "return getmetatable('').__index == string", "0"]), Reply::Int(1));
        assert_eq!(t.ok(&["EVAL", "return getfenv(0) == _G and getfenv(1) == _G and getfenv(redis.call) == _G", "0"]), Reply::Int(1));
        assert_eq!(
            t.ok(&["EVAL", "local f, e = loadstring(string.dump(function() return 1 end)); return {tostring(f), e}", "0"]),
            arr(&["nil", "attempt to load a binary chunk"])
        );
        assert!(eval_err(&mut t, "\x1bLua\x51\x00").starts_with("ERR Error compiling script"));
        // After all this, the globals are what they were.
        assert_eq!(t.ok(&["EVAL", "return redis.call('PING')", "0"]), Reply::Status("PONG".into()));
        for &(_, _, check, want) in SEALED {
            assert_eq!(t.ok(&["EVAL", &format!("return {check}"), "0"]), b(want));
        }
    }

    fn arr_ints(v: &[i64]) -> Reply {
        Reply::Array(v.iter().map(|&i| Reply::Int(i)).collect())
    }

    #[test]
    fn ordinary_scripts_still_work() {
        let mut t = T::new();
        let ev = |t: &mut T, body: &str| t.ok(&["EVAL", body, "2", "k1", "k2", "a1"]);
        assert_eq!(
            ev(&mut t, "return {('abc'):upper(), ('x'):rep(3), #'abcd', (('a,b'):find(','))}"),
            Reply::Array(vec![b("ABC"), b("xxx"), Reply::Int(4), Reply::Int(2)])
        );
        assert_eq!(ev(&mut t, "local s = 'hello world'; return s:gsub('o', '0')"), b("hell0 w0rld"));
        assert_eq!(ev(&mut t, "return string.format('%s=%d', KEYS[2], #ARGV)"), b("k2=1"));
        assert_eq!(
            ev(&mut t, "local t = {a = 1, b = 2}; local n = 0; for k, v in pairs(t) do n = n + v end; for i, v in ipairs({5, 6}) do n = n + i * v end; return n"),
            Reply::Int(20)
        );
        assert_eq!(ev(&mut t, "local n = 0; for k in next, {1, 2, 3} do n = n + 1 end; return n"), Reply::Int(3));
        assert_eq!(ev(&mut t, "local t = {}; table.insert(t, 'a'); table.insert(t, 1, 'b'); return table.concat(t)"), b("ba"));
        assert_eq!(ev(&mut t, "local t = {}; rawset(t, 'x', 1); return rawget(t, 'x') + #KEYS"), Reply::Int(3));
        assert_eq!(ev(&mut t, "KEYS[1] = 'changed'; ARGV[2] = 'new'; return {KEYS[1], ARGV[2]}"), arr(&["changed", "new"]));
        assert_eq!(ev(&mut t, "return KEYS[1]"), b("k1"));
        assert_eq!(
            ev(
                &mut t,
                "local function counter() local n = 0; return function() n = n + 1; return n end end; local c = counter(); c(); return c()"
            ),
            Reply::Int(2)
        );
        assert_eq!(ev(&mut t, "local ok, e = pcall(error, 'boom'); return {tostring(ok), e}"), arr(&["false", "boom"]));
        assert_eq!(ev(&mut t, "local ok, e = pcall(function() error({code = 7}) end); return e.code"), Reply::Int(7));
        assert_eq!(
            ev(&mut t, "local ok, e = xpcall(function() return nosuch end, function(m) return 'handled' end); return e"),
            b("handled")
        );
        assert_eq!(ev(&mut t, "local C = {}; C.__index = C; function C.get(self) return self.v end; local o = setmetatable({v = 9}, C); return {o:get(), getmetatable(o) == C}"), arr_ints(&[9, 1]));
        assert_eq!(ev(&mut t, "return cjson.decode(cjson.encode({a = {1, 2}, b = 'x'})).a[2]"), Reply::Int(2));
        assert_eq!(ev(&mut t, "local v = cmsgpack.unpack(cmsgpack.pack({1, {x = 'y'}})); return v[2].x"), b("y"));
        assert_eq!(ev(&mut t, "return loadstring('return 1 + ...')(2)"), Reply::Int(3));
        assert_eq!(ev(&mut t, "return loadstring('return KEYS[2]')()"), b("k2"));
        assert_eq!(ev(&mut t, "local f, e = loadstring('return +'); return e ~= nil and f == nil"), Reply::Int(1));
        assert_eq!(
            ev(&mut t, "local p = {'return ', '40 + 2'}; local i = 0; return load(function() i = i + 1; return p[i] end)()"),
            Reply::Int(42)
        );
        assert_eq!(ev(&mut t, "return coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b end)(1)"), Reply::Int(2));
        assert_eq!(ev(&mut t, "return getfenv().redis == redis and _G.redis == redis and rawget(_G, 'redis') == redis"), Reply::Int(1));
        assert_eq!(ev(&mut t, "return rawget(_G, 'undefined_thing') == nil"), Reply::Int(1));
        assert_eq!(ev(&mut t, "return {unpack({1, 2})}"), arr_ints(&[1, 2]));
        assert_eq!(ev(&mut t, "return tostring(tonumber('10') + math.max(1, 2))"), b("12"));
        // pairs/next over a library or the globals see the real members.
        assert_eq!(ev(&mut t, "local n = {}; for k, v in pairs(string) do n[#n + 1] = k end; return #n > 10"), Reply::Int(1));
        assert_eq!(
            ev(&mut t, "local seen = {}; for k, v in pairs(_G) do seen[k] = v end; return seen.redis == redis and seen.KEYS == KEYS"),
            Reply::Int(1)
        );
        assert_eq!(ev(&mut t, "local k, v = next(redis, nil); return k ~= nil"), Reply::Int(1));
        // What pairs/next hand out is a proxy too, never the real table.
        assert!(eval_err(&mut t, "for k, v in pairs(_G) do if k == 'redis' then v.call = 1 end end")
            .contains("Attempt to modify a readonly table"));
        assert!(eval_err(&mut t, "local f, s = pairs(redis); s.call = 1").contains("Attempt to modify a readonly table"));
    }
}
