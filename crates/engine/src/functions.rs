//! Library functions (Redis 7 `FUNCTION LOAD` / `FCALL`): a library is Lua code starting with
//! `#!lua name=<lib>` whose top level calls `redis.register_function`. Its code runs once, in its
//! own environment where `redis` is the loader API; afterwards the registered callbacks see the
//! ordinary `redis` table, so they call commands exactly as scripts do.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use mlua::{Lua, Table, Value as LuaValue};

use crate::error::{CmdError, CmdResult};
use crate::scripting::{lua_message, Scripting};

/// The flags a function may declare (Redis's; `allow-key-locking` is the hosted service's).
const KNOWN_FLAGS: &[&str] = &["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "allow-key-locking"];

/// One loaded library.
#[derive(Debug, Clone)]
pub struct Library {
    /// The code as loaded, shebang included (FUNCTION LIST WITHCODE, log rewrites).
    pub code: Bytes,
    /// Names of its functions, in registration order.
    pub functions: Vec<String>,
}

/// One registered function.
#[derive(Debug, Clone)]
pub struct LibFunction {
    /// Its name as registered (lookups ignore case, as Redis's function dictionary does).
    pub name: String,
    /// The library it belongs to.
    pub library: String,
    /// The Lua callback, called with (keys, args).
    pub callback: mlua::Function,
    /// Flags as declared.
    pub flags: Vec<String>,
    /// Optional description.
    pub description: Option<Bytes>,
    /// Declared `no-writes`.
    pub no_writes: bool,
}

/// All libraries and their functions.
#[derive(Debug, Default)]
pub struct Functions {
    /// Libraries by name (sorted, as FUNCTION LIST shows them).
    pub libraries: BTreeMap<String, Library>,
    /// Functions by lowercased name: FCALL MyFunc finds `myfunc`, and two names differing only
    /// in case clash (Redis 7's function dictionaries compare case-insensitively).
    functions: HashMap<String, LibFunction>,
}

impl Functions {
    /// A function by name, whatever its case.
    pub fn get(&self, name: &str) -> Option<&LibFunction> {
        self.functions.get(&name.to_ascii_lowercase())
    }

    /// Number of functions over all libraries.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// Removes a library and its functions; false if there was none.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(lib) = self.libraries.remove(name) else { return false };
        for f in lib.functions {
            self.functions.remove(&f.to_ascii_lowercase());
        }
        true
    }

    /// Removes everything (FUNCTION FLUSH).
    pub fn clear(&mut self) {
        self.libraries.clear();
        self.functions.clear();
    }
}

/// Builds a library environment (called with the sandbox's helpers, then the known flags): a
/// read-only table whose globals are the sealed ones (less EVAL's `KEYS`/`ARGV`); `redis` is the
/// loader API, itself read-only, while the library loads, and the shared `redis` proxy
/// afterwards, when the environment's `__index` becomes the globals table itself (no call per
/// global read in callbacks).
const ENV_FACTORY: &str = r#"
local helpers = ...
local G, protect, adopt, readonly = helpers.globals, helpers.protect, helpers.adopt, helpers.readonly
local real_redis = rawget(G, 'redis')
local error, type, select, next, tostring, rawget, setmetatable = error, type, select, next, tostring, rawget, setmetatable
local known = {}
for i = 2, select('#', ...) do known[select(i, ...)] = true end
return function()
  local registered = {}
  local loader = {
    log = real_redis.log, sha1hex = real_redis.sha1hex, setresp = real_redis.setresp,
    error_reply = real_redis.error_reply, status_reply = real_redis.status_reply,
    LOG_DEBUG = real_redis.LOG_DEBUG, LOG_VERBOSE = real_redis.LOG_VERBOSE,
    LOG_NOTICE = real_redis.LOG_NOTICE, LOG_WARNING = real_redis.LOG_WARNING,
  }
  loader.register_function = function(...)
    local n = select('#', ...)
    local name, callback, flags, description
    if n == 1 and type((...)) == 'table' then
      local t = ...
      for k in next, t do
        if k ~= 'function_name' and k ~= 'callback' and k ~= 'flags' and k ~= 'description' then
          error('unknown argument given to redis.register_function', 2)
        end
      end
      name, callback, flags, description = t.function_name, t.callback, t.flags, t.description
    elseif n == 2 then
      name, callback = ...
    else
      error('wrong number of arguments to redis.register_function', 2)
    end
    if type(name) ~= 'string' then error('function_name argument given to redis.register_function must be a string', 2) end
    if type(callback) ~= 'function' then error('callback argument given to redis.register_function must be a function', 2) end
    if flags ~= nil and type(flags) ~= 'table' then error('flags argument to redis.register_function must be a table representing function flags', 2) end
    if description ~= nil and type(description) ~= 'string' then error('description argument given to redis.register_function must be a string', 2) end
    for _, f in next, flags or {} do
      if not known[f] then error('unknown flag given', 2) end
    end
    registered[#registered + 1] = { name = name, callback = callback, flags = flags or {}, description = description }
  end
  local api = protect(loader)
  local meta = { __newindex = readonly, __metatable = false }
  meta.__index = function(_, k)
    if k == 'redis' then return api end
    local v = rawget(G, k)
    if v == nil then error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
    return v
  end
  local env = setmetatable({}, meta)
  adopt(env, G)
  return env, registered, function() meta.__index = G end
end
"#;

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses `#!lua name=<lib>`; returns the library name and the code after the shebang line.
pub fn parse_metadata(code: &[u8]) -> CmdResult<(String, &[u8])> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split_whitespace();
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(CmdError::err(format!("Invalid metadata value given: {part}"))),
        }
    }
    let name = name.ok_or_else(|| CmdError::err("Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::err(
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    // Keep the newline that ended the shebang so line numbers stay the same.
    Ok((name, &code[end..]))
}

struct Registered {
    name: String,
    callback: mlua::Function,
    flags: Vec<String>,
    description: Option<Bytes>,
}

/// Runs the library's top level and collects what it registered.
fn evaluate(lua: &Lua, factory: &mlua::Function, body: &[u8]) -> Result<Vec<Registered>, CmdError> {
    let (env, registered, done): (Table, Table, mlua::Function) =
        factory.call(()).map_err(|e| CmdError::err(format!("cannot prepare the library environment: {}", lua_message(&e))))?;
    let chunk = lua
        .load(body)
        .set_name("@user_function")
        .set_mode(mlua::chunk::ChunkMode::Text)
        .set_environment(env)
        .into_function()
        .map_err(|e| CmdError::err(format!("Error compiling function: {}", lua_message(&e).trim_end())))?;
    let ran = chunk.call::<()>(());
    let _ = done.call::<()>(());
    ran.map_err(|e| {
        let msg = lua_message(&e);
        let msg = msg.split("\nstack traceback:").next().unwrap_or("").to_string();
        CmdError::err(format!("Error registering functions: {msg}"))
    })?;
    let mut out = Vec::new();
    for item in registered.sequence_values::<Table>() {
        let item = item.map_err(|e| CmdError::err(lua_message(&e)))?;
        let get = |e: mlua::Error| CmdError::err(lua_message(&e));
        let name: String = item.get("name").map_err(get)?;
        let callback: mlua::Function = item.get("callback").map_err(get)?;
        let flag_table: Table = item.get("flags").map_err(get)?;
        let flags = flag_table.sequence_values::<String>().filter_map(Result::ok).collect();
        let description = match item.get::<LuaValue>("description").map_err(get)? {
            LuaValue::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
            _ => None,
        };
        out.push(Registered { name, callback, flags, description });
    }
    Ok(out)
}

impl Scripting {
    /// FUNCTION LOAD: compiles and registers a library; returns its name.
    pub fn load_library(&mut self, code: &Bytes, replace: bool) -> CmdResult<String> {
        let (name, body) = parse_metadata(code)?;
        if self.functions.libraries.contains_key(&name) && !replace {
            return Err(CmdError::err(format!("Library '{name}' already exists")));
        }
        let factory = self.env_factory()?;
        let registered = self.run_loader(|lua| evaluate(lua, &factory, body))??;
        if registered.is_empty() {
            return Err(CmdError::err("No functions registered"));
        }
        let mut seen = std::collections::HashSet::new();
        for r in &registered {
            if !valid_name(&r.name) {
                return Err(CmdError::err(
                    "Function names can only contain letters, numbers, or underscores(_) and must be at least one character long",
                ));
            }
            // Within a library names compare exactly (redis-server 7.0.15 loads `f` and `F`).
            if !seen.insert(r.name.as_str()) {
                return Err(CmdError::err("Function already exists in the library"));
            }
            if let Some(other) = self.functions.get(&r.name) {
                if other.library != name {
                    return Err(CmdError::err(format!("Function {} already exists", r.name)));
                }
            }
        }
        self.functions.delete(&name);
        let mut names = Vec::with_capacity(registered.len());
        for r in registered {
            let no_writes = r.flags.iter().any(|f| f == "no-writes");
            names.push(r.name.clone());
            self.functions.functions.insert(
                r.name.to_ascii_lowercase(),
                LibFunction {
                    name: r.name,
                    library: name.clone(),
                    callback: r.callback,
                    flags: r.flags,
                    description: r.description,
                    no_writes,
                },
            );
        }
        self.functions.libraries.insert(name.clone(), Library { code: code.clone(), functions: names });
        Ok(name)
    }

    fn env_factory(&mut self) -> CmdResult<mlua::Function> {
        if let Some(f) = &self.env_factory {
            return Ok(f.clone());
        }
        let (lua, sandbox) = self.sealed_vm()?;
        let mut args = vec![LuaValue::Table(sandbox.helpers.clone())];
        for flag in KNOWN_FLAGS {
            args.push(LuaValue::String(lua.create_string(flag).map_err(|e| CmdError::err(lua_message(&e)))?));
        }
        let f: mlua::Function = lua
            .load(ENV_FACTORY)
            .set_name("@stashd_functions")
            .call(mlua::MultiValue::from_iter(args))
            .map_err(|e| CmdError::err(format!("cannot prepare function libraries: {}", lua_message(&e))))?;
        self.env_factory = Some(f.clone());
        Ok(f)
    }
}
