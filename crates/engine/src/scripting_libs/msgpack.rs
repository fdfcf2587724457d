//! `cmsgpack`: `pack(...)`, `unpack(s)`, `unpack_one(s [, offset])`, `unpack_limit(s, n [,
//! offset])` with lua_cmsgpack's rules: integral numbers as the smallest integer form, other
//! numbers as float32 when exact else float64, tables with keys 1..n as arrays, others as maps,
//! nesting beyond 16 levels packed as nil.

use mlua::{Lua, MultiValue, Table, Value as LuaValue, Variadic};
use rmp::Marker;

use super::lua_err;

const MAX_NESTING: usize = 16;

fn is_array(t: &Table) -> mlua::Result<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, _) = pair?;
        let idx = match k {
            LuaValue::Integer(i) if i > 0 => i as usize,
            LuaValue::Number(n) if n > 0.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        count += 1;
        max = max.max(idx);
    }
    Ok((count == max).then_some(count))
}

fn encode(out: &mut Vec<u8>, v: &LuaValue, depth: usize) -> mlua::Result<()> {
    let io = |e: rmp::encode::ValueWriteError| lua_err(format!("cmsgpack.pack: {e}"));
    match v {
        LuaValue::Boolean(b) => rmp::encode::write_bool(out, *b).map_err(|e| lua_err(format!("cmsgpack.pack: {e}")))?,
        LuaValue::Integer(i) => encode_number(out, *i as f64)?,
        LuaValue::Number(n) => encode_number(out, *n)?,
        LuaValue::String(s) => {
            let b = s.as_bytes();
            rmp::encode::write_str_len(out, b.len() as u32).map_err(io)?;
            out.extend_from_slice(&b);
        }
        LuaValue::Table(t) if depth < MAX_NESTING => match is_array(t)? {
            Some(n) => {
                rmp::encode::write_array_len(out, n as u32).map_err(io)?;
                for i in 1..=n {
                    encode(out, &t.raw_get::<LuaValue>(i)?, depth + 1)?;
                }
            }
            None => {
                let pairs: Vec<(LuaValue, LuaValue)> = t.pairs::<LuaValue, LuaValue>().collect::<mlua::Result<_>>()?;
                rmp::encode::write_map_len(out, pairs.len() as u32).map_err(io)?;
                for (k, v) in &pairs {
                    encode(out, k, depth + 1)?;
                    encode(out, v, depth + 1)?;
                }
            }
        },
        _ => rmp::encode::write_nil(out).map_err(|e| lua_err(format!("cmsgpack.pack: {e}")))?,
    }
    Ok(())
}

fn encode_number(out: &mut Vec<u8>, n: f64) -> mlua::Result<()> {
    let io = |e: rmp::encode::ValueWriteError| lua_err(format!("cmsgpack.pack: {e}"));
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.2e18 {
        if n >= 0.0 {
            rmp::encode::write_uint(out, n as u64).map_err(io)?;
        } else {
            rmp::encode::write_sint(out, n as i64).map_err(io)?;
        }
    } else if (n as f32) as f64 == n {
        rmp::encode::write_f32(out, n as f32).map_err(io)?;
    } else {
        rmp::encode::write_f64(out, n).map_err(io)?;
    }
    Ok(())
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> mlua::Result<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(lua_err("Missing bytes in input."));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn uint(&mut self, n: usize) -> mlua::Result<u64> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

fn decode(lua: &Lua, r: &mut Reader, depth: usize) -> mlua::Result<LuaValue> {
    if depth > 1000 {
        return Err(lua_err("Bad data format in input."));
    }
    let first = r.take(1)?[0];
    let len_then = |r: &mut Reader, n: usize| -> mlua::Result<usize> { Ok(r.uint(n)? as usize) };
    Ok(match Marker::from_u8(first) {
        Marker::FixPos(v) => LuaValue::Number(v as f64),
        Marker::FixNeg(v) => LuaValue::Number(v as f64),
        Marker::Null => LuaValue::Nil,
        Marker::True => LuaValue::Boolean(true),
        Marker::False => LuaValue::Boolean(false),
        Marker::U8 => LuaValue::Number(r.uint(1)? as f64),
        Marker::U16 => LuaValue::Number(r.uint(2)? as f64),
        Marker::U32 => LuaValue::Number(r.uint(4)? as f64),
        Marker::U64 => LuaValue::Number(r.uint(8)? as f64),
        Marker::I8 => LuaValue::Number(r.uint(1)? as u8 as i8 as f64),
        Marker::I16 => LuaValue::Number(r.uint(2)? as u16 as i16 as f64),
        Marker::I32 => LuaValue::Number(r.uint(4)? as u32 as i32 as f64),
        Marker::I64 => LuaValue::Number(r.uint(8)? as i64 as f64),
        Marker::F32 => LuaValue::Number(f32::from_bits(r.uint(4)? as u32) as f64),
        Marker::F64 => LuaValue::Number(f64::from_bits(r.uint(8)?)),
        Marker::FixStr(n) => LuaValue::String(lua.create_string(r.take(n as usize)?)?),
        Marker::Str8 | Marker::Bin8 => {
            let n = len_then(r, 1)?;
            LuaValue::String(lua.create_string(r.take(n)?)?)
        }
        Marker::Str16 | Marker::Bin16 => {
            let n = len_then(r, 2)?;
            LuaValue::String(lua.create_string(r.take(n)?)?)
        }
        Marker::Str32 | Marker::Bin32 => {
            let n = len_then(r, 4)?;
            LuaValue::String(lua.create_string(r.take(n)?)?)
        }
        Marker::FixArray(n) => array(lua, r, n as usize, depth)?,
        Marker::Array16 => {
            let n = len_then(r, 2)?;
            array(lua, r, n, depth)?
        }
        Marker::Array32 => {
            let n = len_then(r, 4)?;
            array(lua, r, n, depth)?
        }
        Marker::FixMap(n) => map(lua, r, n as usize, depth)?,
        Marker::Map16 => {
            let n = len_then(r, 2)?;
            map(lua, r, n, depth)?
        }
        Marker::Map32 => {
            let n = len_then(r, 4)?;
            map(lua, r, n, depth)?
        }
        _ => return Err(lua_err("Bad data format in input.")),
    })
}

fn array(lua: &Lua, r: &mut Reader, n: usize, depth: usize) -> mlua::Result<LuaValue> {
    let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
    for i in 1..=n {
        t.raw_set(i, decode(lua, r, depth + 1)?)?;
    }
    Ok(LuaValue::Table(t))
}

fn map(lua: &Lua, r: &mut Reader, n: usize, depth: usize) -> mlua::Result<LuaValue> {
    let t = lua.create_table_with_capacity(0, n.min(1 << 16))?;
    for _ in 0..n {
        let k = decode(lua, r, depth + 1)?;
        let v = decode(lua, r, depth + 1)?;
        if k != LuaValue::Nil {
            t.raw_set(k, v)?;
        }
    }
    Ok(LuaValue::Table(t))
}

/// Decodes up to `limit` objects (0 = all) from byte `offset`; returns the next offset (or -1
/// at the end) followed by the objects.
fn unpack_from(lua: &Lua, data: &[u8], limit: usize, offset: usize) -> mlua::Result<(i64, Vec<LuaValue>)> {
    let mut r = Reader { data, pos: offset.min(data.len()) };
    let mut vals = Vec::new();
    while r.pos < data.len() && (limit == 0 || vals.len() < limit) {
        vals.push(decode(lua, &mut r, 0)?);
    }
    let next = if r.pos >= data.len() { -1 } else { r.pos as i64 };
    Ok((next, vals))
}

/// The `cmsgpack` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: Variadic<LuaValue>| {
            if args.is_empty() {
                return Err(lua_err("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for a in args.iter() {
                encode(&mut out, a, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, s: mlua::LuaString| {
            let (_, vals) = unpack_from(lua, &s.as_bytes(), 0, 0)?;
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    let limited = |lua: &Lua, fixed: Option<usize>| {
        lua.create_function(move |lua, (s, a, b): (mlua::LuaString, Option<f64>, Option<f64>)| {
            let (limit, offset) = match fixed {
                Some(l) => (l, a.unwrap_or(0.0)),
                None => (a.unwrap_or(0.0).max(0.0) as usize, b.unwrap_or(0.0)),
            };
            let (next, vals) = unpack_from(lua, &s.as_bytes(), limit, offset.max(0.0) as usize)?;
            Ok(MultiValue::from_iter(std::iter::once(LuaValue::Number(next as f64)).chain(vals)))
        })
    };
    t.set("unpack_one", limited(lua, Some(1))?)?;
    t.set("unpack_limit", limited(lua, None)?)?;
    Ok(t)
}
