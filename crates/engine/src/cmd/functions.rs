//! FUNCTION and FCALL/FCALL_RO (Redis `functions.c`). The libraries live with the Lua VM in
//! [`Scripting`](crate::scripting::Scripting); see `functions.rs` for loading.

use bytes::Bytes;

use crate::args::{self, lit};
use crate::cmd;
use crate::cmd::scripting::keys_and_args;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::scripting::{self, Scripting, Target};
use crate::{Ctx, Reply};

/// Function command rows. FCALL's keys are given by `numkeys`; the commands it runs signal theirs.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("fcall", -3, NOSCRIPT, 0, 0, 0, fcall, "scripting"),
    cmd!("fcall_ro", -3, NOSCRIPT | READONLY, 0, 0, 0, fcall_ro, "scripting"),
    cmd!("function", -2, NOSCRIPT, 0, 0, 0, function, "scripting"),
];

fn fcall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, a, false)
}

/// FCALL_RO follows the hosted service: any function may run, its writes fail at run time.
fn fcall_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, a, true)
}

/// As Redis's `fcallCommandGeneric`: the function is looked up first, then `numkeys` is checked
/// (with FCALL's own text for one that is not an integer).
fn fcall_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let name = args::text(&a[1]);
    if lib(ctx)?.functions.get(&name).is_none() {
        return Err(CmdError::err("Function not found"));
    }
    if args::int(&a[2]).is_err() {
        return Err(CmdError::err("Bad number of keys provided"));
    }
    let (keys, argv) = keys_and_args(a)?;
    scripting::run(ctx, Target::Function(&name), keys, argv, read_only)
}

fn lib<'c>(ctx: &'c mut Ctx) -> CmdResult<&'c mut Scripting> {
    ctx.ks.scripting.as_deref_mut().ok_or_else(|| CmdError::err("This Redis command is not allowed from script"))
}

/// Subcommands that change the libraries: logged, dirtying (who may run them is the ACL's
/// business: they are `@write`).
fn changes(ctx: &mut Ctx, _sub: &str) -> CmdResult<()> {
    ctx.ks.dirty += 1;
    Ok(())
}

fn function(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let wrong = || CmdError::WrongArgs(format!("function|{sub}"));
    match sub.as_str() {
        "load" => {
            let (replace, code) = match a.len() {
                3 => (false, &a[2]),
                4 if args::is(&a[2], "REPLACE") => (true, &a[3]),
                4 => return Err(CmdError::err(format!("Unknown option given: {}", args::text(&a[2])))),
                _ => return Err(wrong()),
            };
            let name = lib(ctx)?.load_library(code, replace)?;
            changes(ctx, &sub)?;
            Ok(Reply::Bulk(Bytes::from(name)))
        }
        "delete" => {
            if a.len() != 3 {
                return Err(wrong());
            }
            if !lib(ctx)?.functions.delete(&args::text(&a[2])) {
                return Err(CmdError::err("Library not found"));
            }
            changes(ctx, &sub)?;
            Ok(Reply::Ok)
        }
        "flush" => {
            match a.get(2) {
                None => {}
                Some(m) if a.len() == 3 && (args::is(m, "ASYNC") || args::is(m, "SYNC")) => {}
                _ => return Err(CmdError::err("FUNCTION FLUSH only supports SYNC|ASYNC option")),
            }
            lib(ctx)?.functions.clear();
            changes(ctx, &sub)?;
            Ok(Reply::Ok)
        }
        "list" => list(ctx, a),
        "stats" => {
            if a.len() != 2 {
                return Err(wrong());
            }
            let f = &lib(ctx)?.functions;
            let lua = Reply::Map(vec![
                (Reply::Bulk(lit("libraries_count")), Reply::Int(f.libraries.len() as i64)),
                (Reply::Bulk(lit("functions_count")), Reply::Int(f.function_count() as i64)),
            ]);
            // Under the keyspace lock nothing else runs; a running function is reported to
            // other clients only through BUSY.
            Ok(Reply::Map(vec![
                (Reply::Bulk(lit("running_script")), Reply::Nil),
                (Reply::Bulk(lit("engines")), Reply::Map(vec![(Reply::Bulk(lit("LUA")), lua)])),
            ]))
        }
        "kill" => Err(scripting::not_busy()),
        "dump" => {
            if a.len() != 2 {
                return Err(wrong());
            }
            let libs: Vec<Bytes> = lib(ctx)?.functions.libraries.values().map(|l| l.code.clone()).collect();
            Ok(Reply::Bulk(Bytes::from(crate::rdb::dump_functions(&libs))))
        }
        "restore" => restore(ctx, a, &sub),
        "help" => Ok(Reply::Array(
            [
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LOAD [REPLACE] <FUNCTION CODE>",
                "DELETE <LIBRARY NAME>",
                "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
                "FLUSH [ASYNC|SYNC]",
                "DUMP",
                "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
                "STATS",
                "KILL",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "FUNCTION".into() }),
    }
}

/// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`: all libraries of the payload or none.
fn restore(ctx: &mut Ctx, a: &[Bytes], sub: &str) -> CmdResult {
    if a.len() < 3 || a.len() > 4 {
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            args::text(&a[1])
        )));
    }
    let (flush, replace) = match a.get(3) {
        None => (false, false),
        Some(p) if args::is(p, "APPEND") => (false, false),
        Some(p) if args::is(p, "REPLACE") => (false, true),
        Some(p) if args::is(p, "FLUSH") => (true, false),
        Some(_) => return Err(CmdError::err("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")),
    };
    if !crate::rdb::verify(&a[2]) {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    let codes = crate::rdb::restore_functions(&a[2]).map_err(CmdError::err)?;
    let scripting = lib(ctx)?;
    if !flush && !replace {
        // APPEND: a library that exists already stops the whole restore (Redis's wording).
        for code in &codes {
            let (name, _) = crate::functions::parse_metadata(code)?;
            if scripting.functions.libraries.contains_key(&name) {
                return Err(CmdError::err(format!("Library {name} already exists")));
            }
        }
    }
    let before: Vec<Bytes> = scripting.functions.libraries.values().map(|l| l.code.clone()).collect();
    if flush {
        scripting.functions.clear();
    }
    let mut failure = None;
    for code in &codes {
        if let Err(e) = scripting.load_library(code, replace) {
            failure = Some(e);
            break;
        }
    }
    if let Some(e) = failure {
        // Put the libraries back as they were (they loaded before, so they load again).
        scripting.functions.clear();
        for code in &before {
            let _ = scripting.load_library(code, true);
        }
        return Err(e);
    }
    changes(ctx, sub)?;
    Ok(Reply::Ok)
}

fn list(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut pattern: Option<&Bytes> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < a.len() {
        if args::is(&a[i], "WITHCODE") && !with_code {
            with_code = true;
            i += 1;
        } else if args::is(&a[i], "LIBRARYNAME") && pattern.is_none() {
            pattern = Some(a.get(i + 1).ok_or_else(|| CmdError::err("library name argument was not given"))?);
            i += 2;
        } else {
            return Err(CmdError::err(format!("Unknown argument {}", args::text(&a[i]))));
        }
    }
    let f = &lib(ctx)?.functions;
    let mut out = Vec::new();
    for (name, library) in &f.libraries {
        if pattern.is_some_and(|p| !crate::glob::matches(p, name.as_bytes())) {
            continue;
        }
        let functions = library
            .functions
            .iter()
            .filter_map(|fname| f.get(fname).map(|lf| (fname, lf)))
            .map(|(fname, lf)| {
                Reply::Map(vec![
                    (Reply::Bulk(lit("name")), Reply::Bulk(Bytes::from(fname.clone()))),
                    (Reply::Bulk(lit("description")), Reply::opt_bulk(lf.description.clone())),
                    (Reply::Bulk(lit("flags")), Reply::Set(lf.flags.iter().map(|x| Reply::Bulk(Bytes::from(x.clone()))).collect())),
                ])
            })
            .collect();
        let mut entry = vec![
            (Reply::Bulk(lit("library_name")), Reply::Bulk(Bytes::from(name.clone()))),
            (Reply::Bulk(lit("engine")), Reply::Bulk(lit("LUA"))),
            (Reply::Bulk(lit("functions")), Reply::Array(functions)),
        ];
        if with_code {
            entry.push((Reply::Bulk(lit("library_code")), Reply::Bulk(library.code.clone())));
        }
        out.push(Reply::Map(entry));
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    const LIB: &str = "#!lua name=mylib\n\
        local function get(keys, args) return redis.call('GET', keys[1]) end\n\
        redis.register_function('myget', get)\n\
        redis.register_function{function_name='myset', callback=function(keys, args) return redis.call('SET', keys[1], args[1]) end, description='sets'}\n\
        redis.register_function{function_name='ro', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n";

    #[test]
    fn load_call_list_delete() {
        let mut t = T::new();
        assert_eq!(t.ok(&["FUNCTION", "LOAD", LIB]), b("mylib"));
        assert_eq!(t.err(&["FUNCTION", "LOAD", LIB]), "ERR Library 'mylib' already exists");
        assert_eq!(t.ok(&["FUNCTION", "LOAD", "REPLACE", LIB]), b("mylib"));
        assert_eq!(t.ok(&["FCALL", "myset", "1", "k", "v"]), Reply::Status("OK".into()));
        assert_eq!(t.ok(&["FCALL", "myget", "1", "k"]), b("v"));
        assert_eq!(t.ok(&["FCALL_RO", "ro", "1", "k"]), b("v"));
        // The hosted rule: FCALL_RO runs any function; its writes fail.
        assert_eq!(t.ok(&["FCALL_RO", "myget", "1", "k"]), b("v"));
        let e = t.err(&["FCALL_RO", "myset", "1", "k", "w"]);
        assert!(e.starts_with("ERR Write commands are not allowed from read-only scripts. script: myset, on @user_function:4."), "{e}");
        assert_eq!(t.err(&["FCALL", "nosuch", "0"]), "ERR Function not found");
        let list = t.ok(&["FUNCTION", "LIST", "WITHCODE"]);
        let Reply::Array(libs) = list else { panic!("{list:?}") };
        assert_eq!(libs.len(), 1);
        let Reply::Map(fields) = &libs[0] else { panic!() };
        assert_eq!(fields[0].1, b("mylib"));
        assert_eq!(fields[3].1, b(LIB));
        assert_eq!(t.ok(&["FUNCTION", "LIST", "LIBRARYNAME", "other*"]), Reply::Array(vec![]));
        let stats = t.ok(&["FUNCTION", "STATS"]);
        assert!(format!("{stats:?}").contains("Int(3)"), "{stats:?}");
        assert_eq!(t.ok(&["FUNCTION", "DELETE", "mylib"]), Reply::Ok);
        assert_eq!(t.err(&["FUNCTION", "DELETE", "mylib"]), "ERR Library not found");
        assert_eq!(t.err(&["FCALL", "myget", "1", "k"]), "ERR Function not found");
    }

    #[test]
    fn bad_libraries_change_nothing() {
        let mut t = T::new();
        assert_eq!(t.err(&["FUNCTION", "LOAD", "return 1"]), "ERR Missing library metadata");
        assert_eq!(t.err(&["FUNCTION", "LOAD", "#!py name=x\n"]), "ERR Engine 'py' not found");
        assert_eq!(t.err(&["FUNCTION", "LOAD", "#!lua\nreturn 1"]), "ERR Library name was not given");
        assert_eq!(t.err(&["FUNCTION", "LOAD", "#!lua name=a foo=bar\n"]), "ERR Invalid metadata value given: foo=bar");
        assert_eq!(t.err(&["FUNCTION", "LOAD", "#!lua name=a\nlocal x = 1"]), "ERR No functions registered");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function() end, 3)"]);
        assert!(e.starts_with("ERR Error registering functions: user_function:2: wrong number of arguments"), "{e}");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nredis.call('SET', 'x', '1')"]);
        assert!(e.starts_with("ERR Error registering functions:"), "{e}");
        let e = t.err(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}",
        ]);
        assert!(e.contains("unknown flag given"), "{e}");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('bad-name', function() end)"]);
        assert!(e.starts_with("ERR Function names can only contain letters"), "{e}");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nx = 1"]);
        assert!(e.contains("Attempt to modify a readonly table"), "{e}");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nreturn +"]);
        assert!(e.starts_with("ERR Error compiling function: user_function:2:"), "{e}");
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=a\nwhile true do end"]);
        assert!(e.contains("FUNCTION LOAD timeout"), "{e}");
        t.ok(&["FUNCTION", "LOAD", "#!lua name=one\nredis.register_function('f', function() return 1 end)"]);
        assert_eq!(
            t.err(&["FUNCTION", "LOAD", "#!lua name=two\nredis.register_function('f', function() return 2 end)"]),
            "ERR Function f already exists"
        );
        assert_eq!(t.ok(&["FCALL", "f", "0"]), Reply::Int(1));
        assert_eq!(t.err(&["FCALL", "f", "1"]), "ERR Number of keys can't be greater than number of args");
        assert_eq!(t.ok(&["FUNCTION", "FLUSH"]), Reply::Ok);
        assert_eq!(t.ok(&["FUNCTION", "LIST"]), Reply::Array(vec![]));
    }

    #[test]
    fn runtime_errors_name_the_function() {
        let mut t = T::new();
        t.ok(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=e\nredis.register_function('boom', function(keys, args)\n  return redis.call('INCR', keys[1])\nend)",
        ]);
        t.ok(&["SET", "s", "x"]);
        assert_eq!(t.err(&["FCALL", "boom", "1", "s"]), "ERR value is not an integer or out of range script: boom, on @user_function:3.");
        // Functions and EVAL scripts do not see each other's globals or KEYS.
        let e = t.err(&["EVAL", "return boom", "0"]);
        assert!(e.contains("nonexistent global variable 'boom'"), "{e}");
    }

    #[test]
    fn function_load_is_logged_and_replays() {
        let mut t = T::new();
        let lib = "#!lua name=l\nredis.register_function('one', function() return 1 end)";
        let (_, fx, _) = t.logged_text(&["FUNCTION", "LOAD", lib]);
        assert_eq!(fx, vec![vec!["FUNCTION".to_string(), "LOAD".into(), lib.into()]]);
        let (_, fx, _) = t.logged_text(&["FCALL", "one", "0"]);
        assert!(fx.is_empty());
    }

    #[test]
    fn libraries_cannot_alter_shared_tables_or_globals() {
        use crate::cmd::scripting::tests::SEALED;
        let mut t = T::new();
        // One function per sealed table, reporting that its member works; and one that runs
        // any code in the library's environment.
        let mut lib = String::from("#!lua name=chk\n");
        for (i, &(_, _, check, _)) in SEALED.iter().enumerate() {
            lib.push_str(&format!("redis.register_function('chk{i}', function() return {check} end)\n"));
        }
        lib.push_str("redis.register_function('run', function(keys, args) return loadstring(args[1])() end)\n");
        lib.push_str("redis.register_function('env', function(keys, args) return tostring(getfenv(1) == getfenv(0)) end)\n");
        assert_eq!(t.ok(&["FUNCTION", "LOAD", &lib]), b("chk"));
        for (i, &(table, member, _, want)) in SEALED.iter().enumerate() {
            // At load time, from a callback, and through loadstring inside a callback.
            for code in [
                format!("{table}.{member} = function() return 'hijacked' end"),
                format!("{table}.new_member = 1"),
                format!("rawset({table}, '{member}', 1)"),
                format!("{table} = {{}}"),
            ] {
                let bad = format!("#!lua name=bad\n{code}\nredis.register_function('bad', function() return 1 end)");
                let e = t.err(&["FUNCTION", "LOAD", &bad]);
                assert!(
                    e.starts_with("ERR Error registering functions: user_function:2: Attempt to modify a readonly table"),
                    "{code}: {e}"
                );
                let bad = format!("#!lua name=bad\nredis.register_function('bad', function() {code} end)");
                assert_eq!(t.ok(&["FUNCTION", "LOAD", &bad]), b("bad"));
                let e = t.err(&["FCALL", "bad", "0"]);
                assert!(e.starts_with("ERR user_function:2: Attempt to modify a readonly table script: bad"), "{code}: {e}");
                assert_eq!(t.ok(&["FUNCTION", "DELETE", "bad"]), Reply::Ok);
                let e = t.err(&["FCALL", "run", "0", &code]);
                assert!(e.contains("Attempt to modify a readonly table"), "{code}: {e}");
            }
            assert_eq!(t.ok(&["FCALL", &format!("chk{i}"), "0"]), b(want), "{table}.{member} in FCALL");
            let body = format!("return {}", SEALED[i].2);
            assert_eq!(t.ok(&["EVAL", &body, "0"]), b(want), "{table}.{member} in EVAL");
        }
        for code in [
            "x = 1",
            "_G.redis = nil",
            "rawset(_G, 'redis', 1)",
            "getfenv(1).x = 1",
            "getfenv(0).redis = 1",
            "rawset(getfenv(1), 'x', 1)",
            "setmetatable(getfenv(1), nil)",
            "getmetatable('').__index.len = nil",
        ] {
            let e = t.err(&["FCALL", "run", "0", code]);
            assert!(e.contains("Attempt to modify a readonly table"), "{code}: {e}");
        }
        // The loader API is read-only as well, and gone once the library has loaded.
        let e = t.err(&["FUNCTION", "LOAD", "#!lua name=bad\nredis.register_function = nil"]);
        assert!(e.contains("user_function:2: Attempt to modify a readonly table"), "{e}");
        assert_eq!(t.ok(&["FCALL", "run", "0", "return tostring(redis.register_function)"]), b("nil"));
        // Library code sees neither EVAL's KEYS nor nonexistent globals.
        t.ok(&["EVAL", "return KEYS[1]", "1", "k"]);
        let e = t.err(&["FCALL", "run", "0", "return KEYS"]);
        assert!(e.contains("Script attempted to access nonexistent global variable 'KEYS'"), "{e}");
        let e = t.err(&["FCALL", "run", "0", "return setfenv"]);
        assert!(e.contains("nonexistent global variable 'setfenv'"), "{e}");
        assert_eq!(t.ok(&["FCALL", "run", "0", "return redis.call('PING')"]), Reply::Status("PONG".into()));
        assert_eq!(t.ok(&["FCALL", "run", "0", "return ('abc'):upper()"]), b("ABC"));
        assert_eq!(t.ok(&["FCALL", "env", "0"]), b("false"));
    }
}
