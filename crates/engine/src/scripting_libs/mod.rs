//! Libraries Redis loads into its Lua VM, implemented in Rust: `cjson` (on serde_json, here),
//! `bit` (LuaBitOp), `struct` (Roberto Ierusalimschy's struct) and `cmsgpack` (on rmp).

mod bit;
mod msgpack;
mod structs;

use mlua::{LightUserData, Lua, Table, Value as LuaValue};

/// Installs the libraries as globals: `cjson`, `bit`, `struct`, `cmsgpack`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    g.set("cjson", cjson(lua)?)?;
    g.set("bit", bit::table(lua)?)?;
    g.set("struct", structs::table(lua)?)?;
    g.set("cmsgpack", msgpack::table(lua)?)?;
    Ok(())
}

/// A Lua runtime error with `msg`.
fn lua_err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// The `cjson` table: `encode`, `decode` and the `null` sentinel.
pub fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let null = LuaValue::LightUserData(LightUserData(std::ptr::null_mut()));
    t.set("null", null.clone())?;
    t.set(
        "decode",
        lua.create_function(move |lua, s: mlua::LuaString| {
            let v: serde_json::Value =
                serde_json::from_slice(&s.as_bytes()).map_err(|e| mlua::Error::RuntimeError(format!("cjson.decode: {e}")))?;
            json_to_lua(lua, &v)
        })?,
    )?;
    t.set(
        "encode",
        lua.create_function(|_, v: LuaValue| {
            let j = lua_to_json(&v, 0)?;
            Ok(j.to_string())
        })?,
    )?;
    Ok(t)
}

fn json_to_lua(lua: &Lua, v: &serde_json::Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        serde_json::Value::Null => LuaValue::LightUserData(LightUserData(std::ptr::null_mut())),
        serde_json::Value::Bool(b) => LuaValue::Boolean(*b),
        serde_json::Value::Number(n) => LuaValue::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => LuaValue::String(lua.create_string(s)?),
        serde_json::Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, x) in a.iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, x)?)?;
            }
            LuaValue::Table(t)
        }
        serde_json::Value::Object(o) => {
            let t = lua.create_table_with_capacity(0, o.len())?;
            for (k, x) in o {
                t.raw_set(k.as_str(), json_to_lua(lua, x)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

fn lua_to_json(v: &LuaValue, depth: usize) -> mlua::Result<serde_json::Value> {
    if depth > 1000 {
        return Err(mlua::Error::RuntimeError("Cannot serialise, excessive nesting (1001)".into()));
    }
    Ok(match v {
        LuaValue::Nil => serde_json::Value::Null,
        LuaValue::LightUserData(u) if u.0.is_null() => serde_json::Value::Null,
        LuaValue::Boolean(b) => serde_json::Value::Bool(*b),
        LuaValue::Integer(i) => serde_json::Value::from(*i),
        LuaValue::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                serde_json::Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| mlua::Error::RuntimeError("Cannot serialise number: must not be NaN or Inf".into()))?
            }
        }
        LuaValue::String(s) => serde_json::Value::String(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        LuaValue::Table(t) => {
            let n = t.raw_len();
            let mut count = 0usize;
            t.for_each(|_: LuaValue, _: LuaValue| {
                count += 1;
                Ok(())
            })?;
            if n > 0 && count == n {
                let mut arr = Vec::with_capacity(n);
                for i in 1..=n {
                    arr.push(lua_to_json(&t.raw_get::<LuaValue>(i)?, depth + 1)?);
                }
                serde_json::Value::Array(arr)
            } else {
                let mut map = serde_json::Map::new();
                let mut err = None;
                t.for_each(|k: LuaValue, x: LuaValue| {
                    let key = match &k {
                        LuaValue::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                        LuaValue::Integer(i) => i.to_string(),
                        LuaValue::Number(f) => crate::reply::format_double(*f),
                        _ => {
                            err = Some(mlua::Error::RuntimeError("Cannot serialise table: table key must be a number or string".into()));
                            return Ok(());
                        }
                    };
                    map.insert(key, lua_to_json(&x, depth + 1)?);
                    Ok(())
                })?;
                if let Some(e) = err {
                    return Err(e);
                }
                serde_json::Value::Object(map)
            }
        }
        _ => return Err(mlua::Error::RuntimeError("Cannot serialise: type not supported".into())),
    })
}
