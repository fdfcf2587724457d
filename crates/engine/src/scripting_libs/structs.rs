//! `struct`: `pack`, `unpack` and `size` with the format language of Roberto Ierusalimschy's
//! struct library that Redis bundles (`<` `>` `!n` endianness/alignment, `b B h H l L T i[n]
//! I[n] f d s c[n] x`), on a 64-bit little-endian host's C sizes.

use mlua::{Lua, MultiValue, Table, Value as LuaValue, Variadic};

use super::lua_err;

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

/// Reads an optional decimal count after an option letter.
fn get_num(fmt: &[u8], i: &mut usize, default: usize) -> usize {
    if *i >= fmt.len() || !fmt[*i].is_ascii_digit() {
        return default;
    }
    let mut a: usize = 0;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() {
        a = a.saturating_mul(10).saturating_add((fmt[*i] - b'0') as usize);
        *i += 1;
    }
    a
}

fn opt_size(opt: u8, fmt: &[u8], i: &mut usize) -> mlua::Result<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => get_num(fmt, i, 1),
        b'i' | b'I' => {
            let sz = get_num(fmt, i, 4);
            if sz > MAX_INT_SIZE {
                return Err(lua_err(format!("integral size {sz} is larger than limit of {MAX_INT_SIZE}")));
            }
            sz
        }
        _ => 0,
    })
}

fn to_align(len: usize, h: Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// Handles the options that are not data (space, `<`, `>`, `!`); errors on unknown letters.
fn control(opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header) -> mlua::Result<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = get_num(fmt, i, MAX_ALIGN);
            if !a.is_power_of_two() {
                return Err(lua_err(format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
        }
        other => return Err(lua_err(format!("invalid format option '{}'", other as char))),
    }
    Ok(())
}

fn start() -> Header {
    Header { little: cfg!(target_endian = "little"), align: 1 }
}

fn put_int(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let v: u64 = if n < 0.0 { (n as i64) as u64 } else { n as u64 };
    let fill = if n < 0.0 { 0xff } else { 0 };
    let mut bytes: Vec<u8> = (0..size).map(|k| if k < 8 { (v >> (8 * k)) as u8 } else { fill }).collect();
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn get_int(data: &[u8], little: bool, signed: bool, size: usize) -> mlua::Result<f64> {
    let mut v: u64 = 0;
    let idx = |k: usize| if little { size - 1 - k } else { k };
    for k in 0..size {
        let b = data[idx(k)];
        if k + 8 < size {
            // Bytes beyond 64 bits: Redis's library rejects anything but sign fill.
            let fill = if signed && (b & 0x80) != 0 { 0xff } else { 0 };
            if b != fill && (b != 0 || signed) {
                return Err(lua_err(format!("{size}-byte integer does not fit into Lua Integer")));
            }
            continue;
        }
        v = (v << 8) | b as u64;
    }
    if signed && size < 8 {
        let mask = 1u64 << (size * 8 - 1);
        return Ok(((v ^ mask).wrapping_sub(mask)) as i64 as f64);
    }
    Ok(if signed { v as i64 as f64 } else { v as f64 })
}

fn pack(lua: &Lua, fmt: &[u8], args: &[LuaValue]) -> mlua::Result<mlua::LuaString> {
    let mut h = start();
    let mut out = Vec::new();
    let mut arg = 0usize;
    let mut i = 0usize;
    let next = |arg: &mut usize| -> mlua::Result<&LuaValue> {
        let v = args.get(*arg).ok_or_else(|| lua_err(format!("bad argument #{} to 'pack' (value expected)", *arg + 2)))?;
        *arg += 1;
        Ok(v)
    };
    let number = |v: &LuaValue, pos: usize| -> mlua::Result<f64> {
        match v {
            LuaValue::Integer(n) => Ok(*n as f64),
            LuaValue::Number(n) => Ok(*n),
            LuaValue::String(s) => s
                .to_str()
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .ok_or_else(|| lua_err(format!("bad argument #{pos} to 'pack' (number expected, got string)"))),
            other => Err(lua_err(format!("bad argument #{pos} to 'pack' (number expected, got {})", other.type_name()))),
        }
    };
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = opt_size(opt, fmt, &mut i)?;
        let pad = to_align(out.len(), h, opt, size);
        out.extend(std::iter::repeat_n(0u8, pad));
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let v = next(&mut arg)?;
                put_int(&mut out, number(v, arg + 1)?, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = number(next(&mut arg)?, arg + 1)? as f32;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'd' => {
                let v = number(next(&mut arg)?, arg + 1)?;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'c' | b's' => {
                let pos = arg + 2;
                let s = match next(&mut arg)? {
                    LuaValue::String(s) => s.as_bytes().to_vec(),
                    LuaValue::Integer(n) => n.to_string().into_bytes(),
                    LuaValue::Number(n) => crate::reply::format_double(*n).into_bytes(),
                    other => return Err(lua_err(format!("bad argument #{pos} to 'pack' (string expected, got {})", other.type_name()))),
                };
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(lua_err(format!("bad argument #{pos} to 'pack' (string too short)")));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(opt, fmt, &mut i, &mut h)?,
        }
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, fmt: &[u8], data: &[u8], init: usize) -> mlua::Result<MultiValue> {
    let mut h = start();
    let mut pos = init.saturating_sub(1);
    let mut vals: Vec<LuaValue> = Vec::new();
    let mut i = 0usize;
    if pos > data.len() {
        return Err(lua_err("bad argument #3 to 'unpack' (offset must be 1 or greater)"));
    }
    let short = || lua_err("bad argument #2 to 'unpack' (data string too short)");
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = opt_size(opt, fmt, &mut i)?;
        pos += to_align(pos, h, opt, size);
        if pos + size > data.len() {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                vals.push(LuaValue::Number(get_int(&data[pos..pos + size], h.little, signed, size)?));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().map_err(|_| short())?;
                let v = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                vals.push(LuaValue::Number(v as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().map_err(|_| short())?;
                let v = if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) };
                vals.push(LuaValue::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let prev = match vals.pop() {
                        Some(LuaValue::Number(n)) => n,
                        Some(LuaValue::Integer(n)) => n as f64,
                        _ => return Err(lua_err("format 'c0' needs a previous size")),
                    };
                    if prev < 0.0 || prev as usize > data.len() - pos {
                        return Err(short());
                    }
                    size = prev as usize;
                }
                vals.push(LuaValue::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(lua_err("unfinished string in data"));
                };
                vals.push(LuaValue::String(lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            _ => control(opt, fmt, &mut i, &mut h)?,
        }
        pos += size;
    }
    vals.push(LuaValue::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(vals))
}

fn size(fmt: &[u8]) -> mlua::Result<usize> {
    let mut h = start();
    let mut pos = 0usize;
    let mut i = 0usize;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = opt_size(opt, fmt, &mut i)?;
        pos += to_align(pos, h, opt, size);
        if opt == b's' {
            return Err(lua_err("bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)"));
        }
        if opt == b'c' && size == 0 {
            return Err(lua_err("bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)"));
        }
        if !b"bBhHlLTiIxfdc".contains(&opt) {
            control(opt, fmt, &mut i, &mut h)?;
        }
        pos += size;
    }
    Ok(pos)
}

/// The `struct` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("pack", lua.create_function(|lua, (fmt, args): (mlua::LuaString, Variadic<LuaValue>)| pack(lua, &fmt.as_bytes(), &args))?)?;
    t.set(
        "unpack",
        lua.create_function(|lua, (fmt, data, init): (mlua::LuaString, mlua::LuaString, Option<f64>)| {
            unpack(lua, &fmt.as_bytes(), &data.as_bytes(), init.map_or(1, |n| n.max(1.0) as usize))
        })?,
    )?;
    t.set("size", lua.create_function(|_, fmt: mlua::LuaString| Ok(size(&fmt.as_bytes())? as f64))?)?;
    Ok(t)
}
