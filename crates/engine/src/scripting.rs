//! Lua scripting: one embedded Lua 5.1 VM (as Redis embeds), the script cache keyed by SHA1 of
//! the exact bytes, `redis.call`/`redis.pcall` bridged into the dispatcher, and Redis's reply
//! conversions in both directions. Scripts run with the keyspace lock held: atomic, and free to
//! touch keys they did not declare.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue, VmState};
use parking_lot::Mutex;

use crate::command::{self, flags};
use crate::engine::call;
use crate::error::{CmdError, CmdResult};
use crate::reply::format_double;
use crate::{Ctx, Reply};

/// A script running longer than this without having written is aborted (Redis's
/// `busy-reply-threshold` is 5 s; stashd stops the script instead of answering BUSY).
pub const SCRIPT_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Marks errors raised by `redis.call`, so they are reported as the command's error.
const CALL_ERROR_MARK: char = '\u{1}';

/// Flags from a script's `#!lua flags=...` shebang.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptFlags {
    /// `no-writes`: write commands fail inside the script.
    pub no_writes: bool,
}

struct Cached {
    function: mlua::Function,
    flags: ScriptFlags,
}

/// Shared with the VM's instruction hook: when the running script started, whether it wrote.
#[derive(Default)]
struct RunState {
    started: Mutex<Option<Instant>>,
    wrote: AtomicBool,
}

/// The VM and the script cache (lives in the keyspace, used under its lock).
#[derive(Default)]
pub struct Scripting {
    lua: Option<Lua>,
    cache: HashMap<String, Cached>,
    run: Arc<RunState>,
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scripting {{ scripts: {} }}", self.cache.len())
    }
}

/// Lowercase hex SHA1 of `body`.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Lua code run once per VM: the `redis` table's Lua-side functions and the global protection.
const PRELUDE: &str = r#"
redis.error_reply = function(e) return { err = e } end
redis.status_reply = function(s) return { ok = s } end
redis.set_repl = function(_) end
redis.replicate_commands = function() return true end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
dofile, loadfile, print = nil, nil, nil
setmetatable(_G, {
  __newindex = function(_, k, _) error("Attempt to modify a readonly table", 2) end,
  __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
})
"#;

impl Scripting {
    fn vm(&mut self) -> CmdResult<&Lua> {
        if self.lua.is_none() {
            self.lua = Some(new_vm(self.run.clone()).map_err(|e| CmdError::err(format!("cannot start the Lua VM: {e}")))?);
        }
        self.lua.as_ref().ok_or_else(|| CmdError::err("Lua VM unavailable"))
    }

    /// True if a script with this SHA1 is cached.
    pub fn exists(&self, sha: &str) -> bool {
        self.cache.contains_key(&sha.to_ascii_lowercase())
    }

    /// Drops every cached script and the VM (SCRIPT FLUSH).
    pub fn flush(&mut self) {
        self.cache.clear();
        self.lua = None;
    }

    /// Compiles `body` (if not cached) and returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> CmdResult<String> {
        let sha = sha1_hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = parse_shebang(body)?;
        let lua = self.vm()?;
        let function = lua
            .load(&code[..])
            .set_name("@user_script")
            .into_function()
            .map_err(|e| CmdError::err(format!("Error compiling script (new function): {}", lua_message(&e).trim_end())))?;
        self.cache.insert(sha.clone(), Cached { function, flags });
        Ok(sha)
    }
}

fn new_vm(run: Arc<RunState>) -> mlua::Result<Lua> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
    let redis = lua.create_table()?;
    redis.set("sha1hex", lua.create_function(|lua, s: mlua::LuaString| lua.create_string(sha1_hex(&s.as_bytes())))?)?;
    redis.set(
        "log",
        lua.create_function(|_, (level, msg): (i64, mlua::LuaString)| {
            tracing::info!(target: "stashd::script", level, "{}", String::from_utf8_lossy(&msg.as_bytes()));
            Ok(())
        })?,
    )?;
    redis.set(
        "setresp",
        lua.create_function(|_, v: i64| match v {
            2 => Ok(()),
            3 => Err(mlua::Error::RuntimeError("RESP3 replies inside scripts are not supported by stashd yet".into())),
            _ => Err(mlua::Error::RuntimeError("RESP version must be 2 or 3.".into())),
        })?,
    )?;
    lua.globals().set("redis", redis)?;
    lua.globals().set("cjson", crate::scripting_libs::cjson(&lua)?)?;
    lua.load(PRELUDE).set_name("@stashd_prelude").exec()?;
    lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
        let started = *run.started.lock();
        match started {
            Some(t) if t.elapsed() > SCRIPT_TIME_LIMIT && !run.wrote.load(Ordering::Relaxed) => Err(mlua::Error::RuntimeError(format!(
                "Script killed: it ran longer than {} ms without writing",
                SCRIPT_TIME_LIMIT.as_millis()
            ))),
            _ => Ok(VmState::Continue),
        }
    })?;
    Ok(lua)
}

/// Splits off a `#!lua flags=...` first line (replaced by an empty line so line numbers hold).
pub fn parse_shebang(body: &[u8]) -> CmdResult<(ScriptFlags, Vec<u8>)> {
    let mut flags = ScriptFlags::default();
    if !body.starts_with(b"#!") {
        return Ok((flags, body.to_vec()));
    }
    let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]).into_owned();
    let mut parts = line.split_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        return Err(CmdError::err(format!("Unexpected engine in script shebang: {engine}")));
    }
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {part}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                // Accepted: allow-key-locking is the hosted service's; the rest are Redis's.
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" | "allow-key-locking" => {}
                other => return Err(CmdError::err(format!("Unexpected flag in script shebang: {other}"))),
            }
        }
    }
    // Keep the newline that ended the shebang, so the script's line numbers stay the same.
    Ok((flags, body[end..].to_vec()))
}

/// Text of a Lua error without mlua's traceback decoration.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        mlua::Error::ExternalError(x) => x.to_string(),
        other => other.to_string(),
    }
}

/// Turns an error that escaped a script into Redis's reply text.
fn script_error(e: &mlua::Error, sha: &str) -> CmdError {
    let mut msg = lua_message(e);
    if let Some(cut) = msg.find("\nstack traceback:") {
        msg.truncate(cut);
    }
    // "user_script:LINE: rest" → location + message.
    let (line, rest) = match msg.strip_prefix("user_script:").and_then(|r| r.split_once(": ")) {
        Some((line, rest)) if line.chars().all(|c| c.is_ascii_digit()) => (Some(line.to_string()), rest.to_string()),
        _ => (None, msg.clone()),
    };
    let place = line.as_ref().map_or(String::new(), |l| format!(", on @user_script:{l}."));
    match rest.strip_prefix(CALL_ERROR_MARK) {
        // An error reply of a redis.call: the command's own error text.
        Some(cmd_err) => CmdError::Other(format!("{cmd_err} script: {sha}{place}")),
        None => {
            let text = match &line {
                Some(l) => format!("user_script:{l}: {rest}"),
                None => rest,
            };
            CmdError::Other(format!("ERR {text} script: {sha}{place}"))
        }
    }
}

/// Formats a Lua number the way Redis passes it to commands (integers exactly, else shortest).
fn number_arg(n: f64) -> Bytes {
    if n.fract() == 0.0 && n.abs() < 1e17 {
        Bytes::from((n as i64).to_string())
    } else {
        Bytes::from(format_double(n))
    }
}

/// Runs cached script `sha` with `keys`/`argv`. `read_only` is set by EVAL_RO/EVALSHA_RO.
pub fn run(ctx: &mut Ctx, sha: &str, keys: &[Bytes], argv: &[Bytes], read_only: bool) -> CmdResult {
    let Some(mut scripting) = ctx.ks.scripting.take() else {
        return Err(CmdError::err("scripts cannot run scripts"));
    };
    let result = run_with(&mut scripting, ctx, sha, keys, argv, read_only);
    ctx.ks.scripting = Some(scripting);
    result
}

fn run_with(sc: &mut Scripting, ctx: &mut Ctx, sha: &str, keys: &[Bytes], argv: &[Bytes], read_only: bool) -> CmdResult {
    let Some(cached) = sc.cache.get(sha) else {
        return Err(CmdError::Other("NOSCRIPT No matching script. Please use EVAL.".into()));
    };
    let function = cached.function.clone();
    let no_writes = read_only || cached.flags.no_writes;
    let run = sc.run.clone();
    let lua = sc.vm()?;
    let to_table = |items: &[Bytes]| -> mlua::Result<Table> { lua.create_sequence_from(items.iter().map(|b| mlua::BString::from(&b[..]))) };
    let globals = lua.globals();
    let setup = (|| -> mlua::Result<Table> {
        globals.raw_set("KEYS", to_table(keys)?)?;
        globals.raw_set("ARGV", to_table(argv)?)?;
        globals.raw_get::<Table>("redis")
    })();
    let redis = setup.map_err(|e| CmdError::err(format!("script setup failed: {}", lua_message(&e))))?;
    *run.started.lock() = Some(Instant::now());
    run.wrote.store(false, Ordering::Relaxed);
    let dirty_before = ctx.ks.dirty;
    let cell = RefCell::new(ctx);
    let exec = |args: MultiValue| {
        let mut ctx = cell.borrow_mut();
        let reply = redis_command(&mut ctx, args, no_writes);
        if ctx.ks.dirty != dirty_before {
            run.wrote.store(true, Ordering::Relaxed);
        }
        reply
    };
    let outcome = lua.scope(|scope| {
        // redis.call raises the command's error (marked, with the calling line); redis.pcall
        // returns it as {err=...}. Both are Rust functions, so a tail call keeps the caller's line.
        let call_fn = scope.create_function(|lua, args: MultiValue| match exec(args) {
            Reply::Error(e) => {
                let line = lua.inspect_stack(1, |d| d.current_line()).flatten();
                let at = line.map_or(String::new(), |l| format!("user_script:{l}: "));
                Err(mlua::Error::RuntimeError(format!("{at}{CALL_ERROR_MARK}{e}")))
            }
            reply => reply_to_lua(lua, &reply),
        })?;
        let pcall_fn = scope.create_function(|lua, args: MultiValue| reply_to_lua(lua, &exec(args)))?;
        redis.raw_set("call", call_fn)?;
        redis.raw_set("pcall", pcall_fn)?;
        let value = function.call::<LuaValue>(())?;
        Ok(lua_to_reply(&value))
    });
    // redis.call/pcall now point at destroyed scoped callbacks; the next run replaces them.
    *run.started.lock() = None;
    let ctx = cell.into_inner();
    // The script's writes were logged one by one as they happened; EVAL itself is not logged.
    ctx.propagate_none();
    match outcome {
        Ok(Reply::Error(e)) => Err(CmdError::Other(e)),
        Ok(reply) => Ok(reply),
        Err(e) => Err(script_error(&e, sha)),
    }
}

/// Runs one `redis.call`/`redis.pcall` command; errors come back as error replies.
fn redis_command(ctx: &mut Ctx, args: MultiValue, no_writes: bool) -> Reply {
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        match a {
            LuaValue::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            LuaValue::Integer(i) => argv.push(Bytes::from(i.to_string())),
            LuaValue::Number(n) => argv.push(number_arg(*n)),
            _ => return Reply::Error("ERR Lua redis lib command arguments must be strings or integers".into()),
        }
    }
    if argv.is_empty() {
        return Reply::Error("ERR Please specify at least one argument for this redis lib call".into());
    }
    let Some(spec) = command::lookup(&argv[0]) else {
        return Reply::Error("ERR Unknown Redis command called from script".into());
    };
    if !spec.arity_ok(argv.len()) {
        return Reply::Error("ERR Wrong number of args calling Redis command from script".into());
    }
    if spec.has(flags::NOSCRIPT) {
        return Reply::Error("ERR This Redis command is not allowed from script".into());
    }
    if spec.has(flags::WRITE) && no_writes {
        return Reply::Error("ERR Write commands are not allowed from read-only scripts.".into());
    }
    if ctx.session.access == crate::Access::ReadOnly && (spec.has(flags::WRITE) || spec.has(flags::ADMIN)) {
        return Reply::Error(CmdError::NoPerm { user: "default_ro".into(), cmd: spec.name.into() }.to_string());
    }
    let r = call(ctx, spec, &argv);
    // Blocking commands never block inside a script.
    ctx.block = None;
    r.unwrap_or_else(|e| Reply::Error(e.to_string()))
}

/// Redis → Lua conversion (RESP2 rules).
fn reply_to_lua(lua: &Lua, r: &Reply) -> mlua::Result<LuaValue> {
    Ok(match r {
        Reply::Int(n) => LuaValue::Number(*n as f64),
        Reply::Bulk(b) | Reply::Verbatim(b) => LuaValue::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray => LuaValue::Boolean(false),
        Reply::Ok => status_table(lua, b"OK")?,
        Reply::Status(s) => status_table(lua, s)?,
        Reply::Error(e) => {
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(e)?)?;
            LuaValue::Table(t)
        }
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Seq(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, it) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, it)?)?;
            }
            LuaValue::Table(t)
        }
        Reply::Map(pairs) => {
            let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (k, v)) in pairs.iter().enumerate() {
                t.raw_set(2 * i + 1, reply_to_lua(lua, k)?)?;
                t.raw_set(2 * i + 2, reply_to_lua(lua, v)?)?;
            }
            LuaValue::Table(t)
        }
        Reply::Double(d) => LuaValue::String(lua.create_string(format_double(*d))?),
        Reply::Bool(b) => LuaValue::Number(if *b { 1.0 } else { 0.0 }),
    })
}

fn status_table(lua: &Lua, s: &[u8]) -> mlua::Result<LuaValue> {
    let t = lua.create_table()?;
    t.raw_set("ok", lua.create_string(s)?)?;
    Ok(LuaValue::Table(t))
}

/// Lua → Redis conversion: numbers truncate to integers, `true` → 1, `false` → nil, `{err=}` and
/// `{ok=}` tables → error/status, other tables → arrays up to the first nil.
pub fn lua_to_reply(v: &LuaValue) -> Reply {
    match v {
        LuaValue::Nil | LuaValue::Boolean(false) => Reply::Nil,
        LuaValue::Boolean(true) => Reply::Int(1),
        LuaValue::Integer(i) => Reply::Int(*i),
        LuaValue::Number(n) => Reply::Int(if n.is_finite() { n.trunc() as i64 } else { 0 }),
        LuaValue::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        LuaValue::Table(t) => {
            if let Ok(LuaValue::String(e)) = t.raw_get::<LuaValue>("err") {
                return Reply::Error(String::from_utf8_lossy(&e.as_bytes()).into_owned());
            }
            if let Ok(LuaValue::String(s)) = t.raw_get::<LuaValue>("ok") {
                return Reply::Status(Bytes::copy_from_slice(&s.as_bytes()));
            }
            let mut out = Vec::new();
            for i in 1.. {
                match t.raw_get::<LuaValue>(i) {
                    Ok(LuaValue::Nil) | Err(_) => break,
                    Ok(item) => out.push(lua_to_reply(&item)),
                }
            }
            Reply::Array(out)
        }
        _ => Reply::Nil,
    }
}
