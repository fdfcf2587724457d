//! Lua scripting: one embedded Lua 5.1 VM (as Redis embeds), the script cache keyed by SHA1 of
//! the exact bytes, library functions (`functions.rs`), `redis.call`/`redis.pcall` bridged into
//! the dispatcher, and Redis's reply conversions in both directions (`scripting_convert.rs`).
//! Scripts run with the keyspace lock held: atomic, and free to touch keys they did not declare.
//! While one runs, [`ScriptRun`] tells other clients (BUSY, SCRIPT KILL) what is going on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::chunk::ChunkMode;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue, VmState};
use parking_lot::Mutex;
use stashd_resp::Protocol;

use crate::command::{self, flags};
use crate::engine::call;
use crate::error::{CmdError, CmdResult};
use crate::reply::format_double;
use crate::scripting_convert as convert;
use crate::{Ctx, Reply};

/// How long FUNCTION LOAD may run a library's top-level code (Redis's limit too).
pub const LOAD_TIME_LIMIT: Duration = Duration::from_millis(500);

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

/// What kind of Lua code is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    Eval,
    Function,
    Load,
}

struct Running {
    started: Instant,
    kind: RunKind,
}

/// The Lua code running right now, shared with other clients (BUSY answers, SCRIPT/FUNCTION KILL)
/// and with the VM's instruction hook.
#[derive(Default)]
pub struct ScriptRun {
    current: Mutex<Option<Running>>,
    released: AtomicBool,
    wrote: AtomicBool,
    kill: AtomicBool,
    resp3: AtomicBool,
    /// What `redis.call`/`redis.pcall` act on during the current run.
    target: Mutex<Option<CallTarget>>,
}

/// The command context of the run in progress, for `redis.call`/`redis.pcall`. Those two are
/// created once with the VM (creating them per run, scoped, cost a quarter of a short script's
/// time), so they reach the run's `Ctx` through this pointer, set by [`run_with`] for exactly
/// the duration of the Lua call and cleared by [`TargetGuard`] when it returns or unwinds.
struct CallTarget {
    ctx: std::ptr::NonNull<Ctx<'static>>,
    no_writes: bool,
    dirty_before: u64,
    chunk: &'static str,
}

// SAFETY: the pointer is dereferenced only by `ScriptRun::call_command`, on the thread that runs
// the script, while `run_with` (which owns the `&mut Ctx` it was made from) waits in the Lua call.
unsafe impl Send for CallTarget {}

/// Clears [`ScriptRun::target`] when the Lua call ends, however it ends.
struct TargetGuard<'a>(&'a ScriptRun);

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        *self.0.target.lock() = None;
    }
}

impl std::fmt::Debug for ScriptRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScriptRun")
    }
}

impl ScriptRun {
    /// Runs one `redis.call`/`redis.pcall` command of the current run; `None` outside a run
    /// (library code at FUNCTION LOAD time, or a callback kept past its run).
    fn call_command(&self, args: MultiValue) -> Option<(Reply, &'static str)> {
        let mut guard = self.target.lock();
        let target = guard.as_mut()?;
        // SAFETY: see `CallTarget`: set from a live `&mut Ctx` that nothing else uses until the
        // Lua call returns, and cleared before that borrow ends; commands never re-enter Lua,
        // so this is the only reference made from it at any time.
        let ctx = unsafe { target.ctx.as_mut() };
        // Commands see the script's protocol, not the caller's: RESP2 unless the script called
        // `redis.setresp(3)` (Redis's Lua client has its own `resp`), so reply shapes such as
        // ZRANGE WITHSCORES are the same whatever protocol the client speaks.
        let script_protocol = if self.resp3.load(Ordering::Relaxed) { Protocol::Resp3 } else { Protocol::Resp2 };
        let caller_protocol = std::mem::replace(&mut ctx.session.protocol, script_protocol);
        let reply = redis_command(ctx, args, target.no_writes);
        ctx.session.protocol = caller_protocol;
        if ctx.ks.dirty != target.dirty_before {
            self.wrote.store(true, Ordering::Relaxed);
        }
        Some((reply, target.chunk))
    }

    /// If a script or function has been running for at least `threshold`: the BUSY error to
    /// answer other clients with.
    pub fn busy_error(&self, threshold: Duration) -> Option<CmdError> {
        let cur = self.current.lock();
        let r = cur.as_ref().filter(|r| r.kind != RunKind::Load && r.started.elapsed() >= threshold)?;
        Some(busy_text(r.kind))
    }

    /// `SCRIPT KILL` (`function` false) or `FUNCTION KILL` (true) sent while a script runs. As
    /// Redis's `scriptKill`: nothing running, then a script that wrote, then the wrong kind (the
    /// BUSY text naming the command that would work).
    pub fn kill(&self, function: bool) -> CmdResult {
        let cur = self.current.lock();
        match cur.as_ref() {
            Some(r) if r.kind != RunKind::Load => {
                if self.wrote.load(Ordering::Relaxed) {
                    return Err(CmdError::Other(
                        "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into(),
                    ));
                }
                if (r.kind == RunKind::Function) != function {
                    return Err(busy_text(r.kind));
                }
                self.kill.store(true, Ordering::Relaxed);
                Ok(Reply::Ok)
            }
            _ => Err(not_busy()),
        }
    }

    /// True while any Lua code runs.
    pub fn running(&self) -> bool {
        self.current.lock().is_some()
    }

    fn begin(&self, kind: RunKind) {
        *self.current.lock() = Some(Running { started: Instant::now(), kind });
        self.released.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::Relaxed);
        self.resp3.store(false, Ordering::Relaxed);
    }

    fn end(&self) {
        *self.current.lock() = None;
        self.kill.store(false, Ordering::Relaxed);
    }

    /// Called by the VM hook: an error stops the running code.
    fn check(&self) -> Result<(), String> {
        let Some((elapsed, kind)) = self.current.lock().as_ref().map(|r| (r.started.elapsed(), r.kind)) else {
            return Ok(());
        };
        // Until another worker has been seen running, try again at each check: a handoff that
        // did not take (the thread meant to take over got no CPU in time) leaves this thread
        // holding its worker while nobody polls the sockets (see `hand_off_worker`).
        if elapsed > RELEASE_AFTER && !self.released.load(Ordering::Relaxed) && hand_off_worker() {
            self.released.store(true, Ordering::Relaxed);
        }
        if kind == RunKind::Load && elapsed > LOAD_TIME_LIMIT {
            return Err("FUNCTION LOAD timeout".into());
        }
        if self.kill.load(Ordering::Relaxed) {
            // Redis 7.0 says SCRIPT KILL for a function killed with FUNCTION KILL too.
            return Err("Script killed by user with SCRIPT KILL...".into());
        }
        Ok(())
    }
}

/// A script running longer than this stops occupying its async worker (see [`release_worker`]).
const RELEASE_AFTER: Duration = Duration::from_millis(2);

/// Runs `wait` after handing this thread's async-worker duties (other connections, network
/// polling) to another thread (tokio's `block_in_place`), so that a long script, or a wait for
/// one, does not stall the server's I/O. The handoff sticks only if `wait` lasts long enough
/// for the other thread to start; otherwise this thread takes its duties back afterwards.
/// Outside a multi-threaded runtime (`--threads 1`, tests, recovery) it just runs `wait`.
pub fn release_worker<R>(wait: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(wait),
        _ => wait(),
    }
}

/// How long one handoff attempt waits for another worker to show it runs.
const HANDOFF_WAIT: Duration = Duration::from_millis(20);

/// Hands this thread's async-worker duties to another thread for the rest of a long script, and
/// returns true once another worker has been seen running (false: try again later).
///
/// A fixed pause is not enough: under CPU load the thread that should take the worker over may
/// not start within it, `block_in_place` then gives the worker back, and if the other worker
/// went to sleep on its condition variable while this one last polled the I/O driver, nobody
/// polls the sockets until the script ends: new connections (even AUTH) and SCRIPT KILL go
/// unanswered. So the pause lasts until a marker task, queued on the runtime's shared queue
/// (which wakes a sleeping worker), has run: some other worker is then awake and will poll the
/// driver when it next parks.
fn hand_off_worker() -> bool {
    let handle = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => h,
        _ => return true,
    };
    tokio::task::block_in_place(|| {
        let (seen, ran) = std::sync::mpsc::sync_channel::<()>(1);
        // No worker core is held here, so this goes to the shared queue and wakes a worker.
        drop(handle.spawn(async move {
            let _ = seen.try_send(());
        }));
        ran.recv_timeout(HANDOFF_WAIT).is_ok()
    })
}

/// Redis's BUSY error while `kind` runs, naming the command that can stop it.
fn busy_text(kind: RunKind) -> CmdError {
    let kill = if kind == RunKind::Function { "FUNCTION KILL" } else { "SCRIPT KILL" };
    CmdError::Other(format!("BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE."))
}

/// `NOTBUSY`: SCRIPT/FUNCTION KILL with nothing to kill.
pub fn not_busy() -> CmdError {
    CmdError::Other("NOTBUSY No scripts in execution right now.".into())
}

/// The VM, the script cache and the function libraries (lives in the keyspace, used under its lock).
#[derive(Default)]
pub struct Scripting {
    lua: Option<Lua>,
    /// The sealed environment, made with the VM (see [`PRELUDE`]).
    sandbox: Option<Sandbox>,
    cache: HashMap<String, Cached>,
    /// Libraries loaded with FUNCTION LOAD.
    pub functions: crate::functions::Functions,
    /// Makes library environments (see `functions.rs`); built with the VM.
    pub(crate) env_factory: Option<mlua::Function>,
    run: Arc<ScriptRun>,
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

/// Lua code run once per VM: the `redis` table's Lua-side functions, then the seal (Redis 7's
/// read-only globals and libraries, built without patching Lua's C).
///
/// The thread's real globals table stays the hidden *backing* table `B`: the host sets `KEYS` and
/// `ARGV` in it, and C functions see it as their environment. Code never gets hold of it or of
/// any library's real table:
/// - scripts (and `loadstring`ed chunks) run with the environment `G`, an empty table whose
///   metatable reads through to `B` (`__index` is the table itself: one extra hop, no call) and
///   refuses writes; `B`'s own metatable answers the nonexistent-global error;
/// - every table reachable from `B` (`redis`, `cjson`, `bit`, `struct`, `cmsgpack`, `string`,
///   `math`, `table`, `coroutine`, `_G`) is replaced in place by such a read-only proxy, and the
///   string metatable's `__index` is the `string` proxy;
/// - every metatable involved has a `__metatable` field, so `getmetatable`/`setmetatable` give
///   no writable handle (`getmetatable` of a proxy answers nil, as Redis does for its read-only
///   tables; of a string, a read-only view of the string metatable);
/// - the functions that bypass metatables are wrapped: `rawset` and `table.insert` refuse
///   proxies, `rawget`/`next`/`pairs` read through a proxy to its real table (whose table values
///   are all proxies), `getfenv` answers `G` instead of `B`, `loadstring`/`load` refuse bytecode
///   and give the chunk the caller's environment, and `setfenv` is gone.
///
/// Returns `G` (the scripts' environment) and the helpers function libraries build their
/// environments with (`functions.rs`).
const PRELUDE: &str = r#"
redis.error_reply = function(e) return { err = e } end
redis.status_reply = function(s) return { ok = s } end
redis.set_repl = function(_) end
redis.replicate_commands = function() return true end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
dofile, loadfile, print = nil, nil, nil

local B = _G
local error, type, tostring, pcall = error, type, tostring, pcall
local rawset, rawget, next, pairs = rawset, rawget, next, pairs
local getfenv, setfenv, setmetatable, getmetatable, loadstring = getfenv, setfenv, setmetatable, getmetatable, loadstring
local insert, concat, byte = table.insert, table.concat, string.byte
local RO = 'Attempt to modify a readonly table'

-- proxy -> the real table it shows (weak: a library's environment goes with the library)
local P = setmetatable({}, { __mode = 'k' })
local function ro() error(RO, 2) end
local function protect(real)
  local proxy = setmetatable({}, { __index = real, __newindex = ro, __metatable = false })
  P[proxy] = real
  return proxy
end
local function adopt(proxy, real) P[proxy] = real end

-- Environment of the code calling the wrapper that calls this (B is never handed out).
local G
local function caller_env()
  local ok, e = pcall(getfenv, 4)
  if not ok or e == B then e = G end
  return e
end
local function compile(s, name, env)
  if type(s) == 'string' and byte(s, 1) == 27 then return nil, 'attempt to load a binary chunk' end
  local f, err = loadstring(s, name)
  if not f then return nil, err end
  setfenv(f, env)
  return f
end

B.setfenv = nil
B.rawset = function(t, k, v)
  if P[t] then error(RO, 2) end
  local r = rawset(t, k, v)
  return r
end
B.rawget = function(t, k)
  local v = rawget(P[t] or t, k)
  return v
end
local function pnext(t, k)
  local k2, v = next(P[t] or t, k)
  return k2, v
end
B.next = pnext
B.pairs = function(t)
  if P[t] then return pnext, t, nil end
  local f, s, c = pairs(t)
  return f, s, c
end
B.setmetatable = function(t, mt)
  if P[t] then error(RO, 2) end
  local r = setmetatable(t, mt)
  return r
end
B.getmetatable = function(t)
  if P[t] then return nil end
  local mt = getmetatable(t)
  return mt
end
B.getfenv = function(f)
  if f == nil then f = 1 end
  if type(f) == 'number' and f > 0 then f = f + 1 end
  local e = getfenv(f)
  if e == B then e = G end
  return e
end
B.loadstring = function(s, name)
  local env = caller_env()
  local f, err = compile(s, name, env)
  return f, err
end
B.load = function(reader, name)
  if type(reader) ~= 'function' then error("bad argument #1 to 'load' (function expected, got " .. type(reader) .. ")", 2) end
  local env = caller_env()
  local parts = {}
  while true do
    local p = reader()
    if p == nil or p == '' then break end
    if type(p) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = p
  end
  local f, err = compile(concat(parts), name or '=(load)', env)
  return f, err
end
table.insert = function(t, ...)
  if P[t] then error(RO, 2) end
  insert(t, ...)
end

-- Replace every table reachable from B by its proxy (B's own proxy is G, so B._G becomes G).
local sealed = {}
local function seal(t)
  local p = sealed[t]
  if p then return p end
  p = protect(t)
  sealed[t] = p
  for k, v in next, t do
    if type(v) == 'table' then rawset(t, k, seal(v)) end
  end
  return p
end
G = seal(B)
local strmt = getmetatable('')
strmt.__index = B.string
strmt.__metatable = protect(strmt)

local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- Function libraries' globals: the same, less what the host sets per EVAL (KEYS, ARGV).
local L = {}
for k, v in next, B do L[k] = v end
local LG = protect(L)
L._G = LG
setmetatable(L, { __index = missing, __newindex = ro, __metatable = false })
setmetatable(B, { __index = missing, __newindex = ro, __metatable = false })
return G, { globals = L, protect = protect, adopt = adopt, readonly = ro }
"#;

/// What the seal hands the host (see [`PRELUDE`]).
pub(crate) struct Sandbox {
    /// The environment scripts run in: read-only, reads through to the globals.
    pub(crate) env: Table,
    /// Helpers for library environments: `globals`, `protect`, `adopt`, `readonly`.
    pub(crate) helpers: Table,
}

impl Scripting {
    /// The state other clients consult while a script runs.
    pub fn run_state(&self) -> Arc<ScriptRun> {
        self.run.clone()
    }

    pub(crate) fn vm(&mut self) -> CmdResult<&Lua> {
        Ok(self.sealed_vm()?.0)
    }

    /// The VM with its sandbox (both made on first use).
    pub(crate) fn sealed_vm(&mut self) -> CmdResult<(&Lua, &Sandbox)> {
        if self.lua.is_none() || self.sandbox.is_none() {
            let (lua, sandbox) = new_vm(self.run.clone()).map_err(|e| CmdError::err(format!("cannot start the Lua VM: {e}")))?;
            self.lua = Some(lua);
            self.sandbox = Some(sandbox);
        }
        match (&self.lua, &self.sandbox) {
            (Some(lua), Some(sandbox)) => Ok((lua, sandbox)),
            _ => Err(CmdError::err("Lua VM unavailable")),
        }
    }

    /// Number of cached scripts (`INFO` `number_of_cached_scripts`).
    pub fn cached_scripts(&self) -> usize {
        self.cache.len()
    }

    /// Memory the Lua VM uses, in bytes (`INFO` `used_memory_lua`).
    pub fn lua_memory(&self) -> usize {
        self.lua.as_ref().map_or(0, |l| l.used_memory())
    }

    /// True if a script with this SHA1 is cached.
    pub fn exists(&self, sha: &str) -> bool {
        self.cache.contains_key(&sha.to_ascii_lowercase())
    }

    /// Drops every cached script (SCRIPT FLUSH); library functions stay.
    pub fn flush(&mut self) {
        self.cache.clear();
        if let Some(lua) = &self.lua {
            let _ = lua.gc_collect();
        }
    }

    /// Runs library code at FUNCTION LOAD time, with the load time limit armed.
    pub(crate) fn run_loader<R>(&mut self, f: impl FnOnce(&Lua) -> R) -> CmdResult<R> {
        let run = self.run.clone();
        let lua = self.vm()?;
        run.begin(RunKind::Load);
        let r = f(lua);
        run.end();
        Ok(r)
    }

    /// Compiles `body` (if not cached) and returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> CmdResult<String> {
        let sha = sha1_hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = parse_shebang(body)?;
        let (lua, sandbox) = self.sealed_vm()?;
        let function = lua
            .load(&code[..])
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(sandbox.env.clone())
            .into_function()
            .map_err(|e| CmdError::err(format!("Error compiling script (new function): {}", lua_message(&e).trim_end())))?;
        self.cache.insert(sha.clone(), Cached { function, flags });
        Ok(sha)
    }
}

fn new_vm(run: Arc<ScriptRun>) -> mlua::Result<(Lua, Sandbox)> {
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
    // redis.call raises the command's error (marked, with the calling line); redis.pcall
    // returns it as {err=...}. Both are Rust functions, so a tail call keeps the caller's line.
    let call_run = run.clone();
    redis.set(
        "call",
        lua.create_function(move |lua, args: MultiValue| match call_run.call_command(args) {
            None => Err(mlua::Error::RuntimeError("redis.call is only available while a script runs".into())),
            Some((Reply::Error(e), chunk)) => {
                let line = lua.inspect_stack(1, |d| d.current_line()).flatten();
                let at = line.map_or(String::new(), |l| format!("{chunk}:{l}: "));
                Err(mlua::Error::RuntimeError(format!("{at}{CALL_ERROR_MARK}{e}")))
            }
            Some((reply, _)) => convert::reply_to_lua(lua, &reply, call_run.resp3.load(Ordering::Relaxed)),
        })?,
    )?;
    let pcall_run = run.clone();
    redis.set(
        "pcall",
        lua.create_function(move |lua, args: MultiValue| match pcall_run.call_command(args) {
            None => Err(mlua::Error::RuntimeError("redis.pcall is only available while a script runs".into())),
            Some((reply, _)) => convert::reply_to_lua(lua, &reply, pcall_run.resp3.load(Ordering::Relaxed)),
        })?,
    )?;
    let resp_run = run.clone();
    redis.set(
        "setresp",
        lua.create_function(move |_, v: i64| match v {
            2 | 3 => {
                resp_run.resp3.store(v == 3, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(mlua::Error::RuntimeError("RESP version must be 2 or 3.".into())),
        })?,
    )?;
    lua.globals().set("redis", redis)?;
    crate::scripting_libs::install(&lua)?;
    let (env, helpers) = lua.load(PRELUDE).set_name("@stashd_prelude").call::<(Table, Table)>(())?;
    lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| match run.check() {
        Ok(()) => Ok(VmState::Continue),
        Err(msg) => Err(mlua::Error::RuntimeError(msg)),
    })?;
    Ok((lua, Sandbox { env, helpers }))
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
pub(crate) fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        mlua::Error::ExternalError(x) => x.to_string(),
        other => other.to_string(),
    }
}

/// Turns an error that escaped a script into Redis's reply text; `label` is the script's SHA1 or
/// the function's name, `chunk` is `user_script` or `user_function`.
pub(crate) fn script_error(e: &mlua::Error, label: &str, chunk: &str) -> CmdError {
    let mut msg = lua_message(e);
    if let Some(cut) = msg.find("\nstack traceback:") {
        msg.truncate(cut);
    }
    // "user_script:LINE: rest" → location + message.
    let (line, rest) = match msg.strip_prefix(chunk).and_then(|r| r.strip_prefix(':')).and_then(|r| r.split_once(": ")) {
        Some((line, rest)) if line.chars().all(|c| c.is_ascii_digit()) => (Some(line.to_string()), rest.to_string()),
        _ => (None, msg.clone()),
    };
    let place = line.as_ref().map_or(String::new(), |l| format!(", on @{chunk}:{l}."));
    match rest.strip_prefix(CALL_ERROR_MARK) {
        // An error reply of a redis.call: the command's own error text.
        Some(cmd_err) => CmdError::Other(format!("{cmd_err} script: {label}{place}")),
        None => {
            let text = match &line {
                Some(l) => format!("{chunk}:{l}: {rest}"),
                None => rest,
            };
            CmdError::Other(format!("ERR {text} script: {label}{place}"))
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

/// What to run: a cached EVAL script (by SHA1) or a library function (by name).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// EVAL/EVALSHA: `KEYS`/`ARGV` are globals.
    Script(&'a str),
    /// FCALL: keys and arguments are the callback's two parameters.
    Function(&'a str),
}

/// Runs `target` with `keys`/`argv`. `read_only` is set by the `_RO` forms: write commands then
/// fail at run time (the hosted service's rule for FCALL_RO too).
pub fn run(ctx: &mut Ctx, target: Target, keys: &[Bytes], argv: &[Bytes], read_only: bool) -> CmdResult {
    let Some(mut scripting) = ctx.ks.scripting.take() else {
        return Err(CmdError::err("This Redis command is not allowed from script"));
    };
    let result = run_with(&mut scripting, ctx, target, keys, argv, read_only);
    ctx.ks.scripting = Some(scripting);
    result
}

fn run_with(sc: &mut Scripting, ctx: &mut Ctx, target: Target, keys: &[Bytes], argv: &[Bytes], read_only: bool) -> CmdResult {
    let (function, no_writes, label, chunk, kind) = match target {
        Target::Script(sha) => {
            let Some(cached) = sc.cache.get(sha) else {
                return Err(CmdError::Other("NOSCRIPT No matching script. Please use EVAL.".into()));
            };
            (cached.function.clone(), read_only || cached.flags.no_writes, sha.to_string(), "user_script", RunKind::Eval)
        }
        Target::Function(name) => {
            let Some(f) = sc.functions.get(name) else {
                return Err(CmdError::err("Function not found"));
            };
            (f.callback.clone(), read_only || f.no_writes, f.name.clone(), "user_function", RunKind::Function)
        }
    };
    let run = sc.run.clone();
    let lua = sc.vm()?;
    let globals = lua.globals();
    let setup = (|| -> mlua::Result<Option<(Table, Table)>> {
        let (keys, argv) = key_arg_tables(lua, keys, argv)?;
        let params = match kind {
            RunKind::Function => Some((keys, argv)),
            _ => {
                globals.raw_set("KEYS", keys)?;
                globals.raw_set("ARGV", argv)?;
                None
            }
        };
        Ok(params)
    })();
    let params = setup.map_err(|e| CmdError::err(format!("script setup failed: {}", lua_message(&e))))?;
    run.begin(kind);
    let dirty_before = ctx.ks.dirty;
    let target = CallTarget { ctx: std::ptr::NonNull::from(&mut *ctx).cast(), no_writes, dirty_before, chunk };
    *run.target.lock() = Some(target);
    let outcome = {
        let _clear = TargetGuard(&run);
        let value = match params {
            Some(p) => function.call::<LuaValue>(p),
            None => function.call::<LuaValue>(()),
        };
        value.map(|v| convert::lua_to_reply(&v, run.resp3.load(Ordering::Relaxed)))
    };
    run.end();
    // The script's writes were logged one by one as they happened; EVAL itself is not logged.
    ctx.propagate_none();
    match outcome {
        Ok(Reply::Error(e)) => Err(CmdError::Other(e)),
        Ok(reply) => Ok(reply),
        Err(e) => Err(script_error(&e, &label, chunk)),
    }
}

/// `KEYS` and `ARGV` as two new Lua tables of strings. Valid UTF-8 (the usual case) goes
/// through mlua's `&str` path, which pushes the bytes straight onto the Lua stack; other bytes
/// take the generic path (a registry round trip per string).
fn key_arg_tables(lua: &Lua, keys: &[Bytes], argv: &[Bytes]) -> mlua::Result<(Table, Table)> {
    let table = |items: &[Bytes]| match items.iter().map(|b| std::str::from_utf8(b)).collect::<Result<Vec<&str>, _>>() {
        Ok(texts) => lua.create_sequence_from(texts),
        Err(_) => lua.create_sequence_from(items.iter().map(|b| mlua::BString::from(&b[..]))),
    };
    Ok((table(keys)?, table(argv)?))
}

/// Whether scripts may not run this call: Redis's `noscript` flag of the command or of its
/// subcommand (`ACL HELP` may run, `ACL WHOAMI` may not; blocking commands may not), from
/// redis-server's command table where it has the command, else the table's flag.
fn not_for_scripts(spec: &'static command::CommandSpec, argv: &[Bytes]) -> bool {
    let rows = crate::keyspecs::rows();
    let sub = argv.get(1).filter(|_| crate::acl::categories::units().is_container(spec.name));
    let unit = sub.map(|s| format!("{}|{}", spec.name, String::from_utf8_lossy(s).to_ascii_lowercase()));
    let row = match unit.as_deref() {
        Some(u) => rows.get(u),
        None => rows.get(spec.name),
    };
    match row {
        Some(row) => row.flags.contains(&"noscript"),
        None => spec.has(flags::NOSCRIPT),
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
    if not_for_scripts(spec, &argv) {
        return Reply::Error("ERR This Redis command is not allowed from script".into());
    }
    // As Redis's scriptCall: permissions first, then the read-only rule.
    if let Err(e) = crate::acl::authorize(ctx.shared, ctx.session, spec, &argv, crate::acl::LogContext::Lua) {
        return Reply::Error(e.to_string());
    }
    if spec.has(flags::WRITE) && no_writes {
        return Reply::Error("ERR Write commands are not allowed from read-only scripts.".into());
    }
    let r = call(ctx, spec, &argv);
    // Blocking commands never block inside a script.
    ctx.block = None;
    r.unwrap_or_else(|e| Reply::Error(e.to_string()))
}
