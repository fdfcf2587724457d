//! Redis's conversions between command replies and Lua values, in both directions, for RESP2
//! (the default) and after `redis.setresp(3)`.

use bytes::Bytes;
use mlua::{Lua, Table, Value as LuaValue};

use crate::reply::format_double;
use crate::Reply;

/// Reply → Lua value as `redis.call` returns it; `resp3` after `redis.setresp(3)`.
pub fn reply_to_lua(lua: &Lua, r: &Reply, resp3: bool) -> mlua::Result<LuaValue> {
    Ok(match r {
        Reply::Int(n) => LuaValue::Number(*n as f64),
        Reply::UInt(n) => LuaValue::Number(*n as f64),
        Reply::Bulk(b) => LuaValue::String(lua.create_string(b)?),
        Reply::Verbatim(b) if resp3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", "txt")?;
            inner.raw_set("string", lua.create_string(b)?)?;
            field_table(lua, "verbatim_string", LuaValue::Table(inner))?
        }
        Reply::Verbatim(b) => LuaValue::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray if resp3 => LuaValue::Nil,
        Reply::Nil | Reply::NilArray => LuaValue::Boolean(false),
        Reply::Ok => field_table(lua, "ok", LuaValue::String(lua.create_string("OK")?))?,
        Reply::Status(s) => field_table(lua, "ok", LuaValue::String(lua.create_string(s)?))?,
        Reply::Error(e) => field_table(lua, "err", LuaValue::String(lua.create_string(e)?))?,
        Reply::Array(items) | Reply::Push(items) | Reply::Seq(items) => sequence(lua, items, resp3)?,
        Reply::Set(items) if resp3 => {
            let t = lua.create_table_with_capacity(0, items.len())?;
            for it in items {
                t.raw_set(reply_to_lua(lua, it, resp3)?, true)?;
            }
            field_table(lua, "set", LuaValue::Table(t))?
        }
        Reply::Set(items) => sequence(lua, items, resp3)?,
        Reply::Map(pairs) if resp3 => {
            let t = lua.create_table_with_capacity(0, pairs.len())?;
            for (k, v) in pairs {
                t.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            field_table(lua, "map", LuaValue::Table(t))?
        }
        Reply::Map(pairs) => {
            let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (k, v)) in pairs.iter().enumerate() {
                t.raw_set(2 * i + 1, reply_to_lua(lua, k, resp3)?)?;
                t.raw_set(2 * i + 2, reply_to_lua(lua, v, resp3)?)?;
            }
            LuaValue::Table(t)
        }
        Reply::Double(d) if resp3 => field_table(lua, "double", LuaValue::Number(*d))?,
        Reply::Double(d) => LuaValue::String(lua.create_string(format_double(*d))?),
        Reply::DoubleText(t) if resp3 => {
            let d = crate::args::parse_float(t).unwrap_or(0.0);
            field_table(lua, "double", LuaValue::Number(d))?
        }
        Reply::DoubleText(t) => LuaValue::String(lua.create_string(t)?),
        Reply::Bool(b) if resp3 => LuaValue::Boolean(*b),
        Reply::Bool(b) => LuaValue::Number(if *b { 1.0 } else { 0.0 }),
    })
}

fn sequence(lua: &Lua, items: &[Reply], resp3: bool) -> mlua::Result<LuaValue> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, it) in items.iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, it, resp3)?)?;
    }
    Ok(LuaValue::Table(t))
}

fn field_table(lua: &Lua, field: &str, v: LuaValue) -> mlua::Result<LuaValue> {
    let t = lua.create_table()?;
    t.raw_set(field, v)?;
    Ok(LuaValue::Table(t))
}

/// Lua value → reply as a script returns it: numbers truncate to integers, `true` → 1 and
/// `false` → nil (booleans stay booleans after `setresp(3)`), `{err=}`/`{ok=}` → error/status,
/// `{map=}`/`{set=}`/`{double=}` → RESP3 types, other tables → arrays up to the first nil.
pub fn lua_to_reply(v: &LuaValue, resp3: bool) -> Reply {
    to_reply(v, resp3, 0)
}

/// How deep a script's reply may nest. Redis stops where its Lua C stack runs out (about 8000
/// levels, each further value becoming the error `reached lua stack limit`); this stops earlier,
/// with the same error, so that converting, rendering and dropping the reply stay within a
/// worker thread's stack (a table containing itself used to overflow it).
pub const MAX_REPLY_DEPTH: usize = 256;

fn to_reply(v: &LuaValue, resp3: bool, depth: usize) -> Reply {
    if depth >= MAX_REPLY_DEPTH {
        return Reply::Error("ERR reached lua stack limit".into());
    }
    match v {
        LuaValue::Nil => Reply::Nil,
        LuaValue::Boolean(b) if resp3 => Reply::Bool(*b),
        LuaValue::Boolean(false) => Reply::Nil,
        LuaValue::Boolean(true) => Reply::Int(1),
        LuaValue::Integer(i) => Reply::Int(*i),
        LuaValue::Number(n) => Reply::Int(if n.is_finite() { n.trunc() as i64 } else { 0 }),
        LuaValue::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        LuaValue::Table(t) => table_to_reply(t, resp3, depth),
        _ => Reply::Nil,
    }
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Reply {
    let depth = depth + 1;
    if let Ok(LuaValue::String(e)) = t.raw_get::<LuaValue>("err") {
        return Reply::Error(String::from_utf8_lossy(&e.as_bytes()).into_owned());
    }
    if let Ok(LuaValue::String(s)) = t.raw_get::<LuaValue>("ok") {
        return Reply::Status(Bytes::copy_from_slice(&s.as_bytes()));
    }
    if let Ok(LuaValue::Number(d)) = t.raw_get::<LuaValue>("double") {
        return Reply::Double(d);
    }
    if let Ok(LuaValue::Integer(d)) = t.raw_get::<LuaValue>("double") {
        return Reply::Double(d as f64);
    }
    if let Ok(LuaValue::String(s)) = t.raw_get::<LuaValue>("big_number") {
        return Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes()));
    }
    if let Ok(LuaValue::Table(m)) = t.raw_get::<LuaValue>("map") {
        let pairs = m
            .pairs::<LuaValue, LuaValue>()
            .filter_map(Result::ok)
            .map(|(k, v)| (to_reply(&k, resp3, depth), to_reply(&v, resp3, depth)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Ok(LuaValue::Table(m)) = t.raw_get::<LuaValue>("set") {
        return Reply::Set(m.pairs::<LuaValue, LuaValue>().filter_map(Result::ok).map(|(k, _)| to_reply(&k, resp3, depth)).collect());
    }
    let mut out = Vec::new();
    for i in 1.. {
        match t.raw_get::<LuaValue>(i) {
            Ok(LuaValue::Nil) | Err(_) => break,
            Ok(item) => out.push(to_reply(&item, resp3, depth)),
        }
    }
    Reply::Array(out)
}
