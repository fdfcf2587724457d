//! `bit`: LuaBitOp's 32-bit operations (`tobit`, `tohex`, `bnot`, `band`, `bor`, `bxor`,
//! `lshift`, `rshift`, `arshift`, `rol`, `ror`, `bswap`); results are signed 32-bit numbers.

use mlua::{Lua, Table, Variadic};

/// Normalizes a Lua number to a signed 32-bit integer as LuaBitOp does (round to nearest, keep
/// the low 32 bits).
pub fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4_294_967_296.0) as u64 as u32 as i32
}

fn num(x: i32) -> f64 {
    x as f64
}

/// The `bit` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, n: f64| Ok(num(tobit(n))))?)?;
    t.set("bnot", lua.create_function(|_, n: f64| Ok(num(!tobit(n))))?)?;
    let fold = |lua: &Lua, f: fn(i32, i32) -> i32| {
        lua.create_function(move |_, (first, rest): (f64, Variadic<f64>)| {
            Ok(num(rest.iter().fold(tobit(first), |acc, &x| f(acc, tobit(x)))))
        })
    };
    t.set("band", fold(lua, |a, b| a & b)?)?;
    t.set("bor", fold(lua, |a, b| a | b)?)?;
    t.set("bxor", fold(lua, |a, b| a ^ b)?)?;
    let shift = |lua: &Lua, f: fn(u32, u32) -> u32| {
        lua.create_function(move |_, (x, n): (f64, f64)| Ok(num(f(tobit(x) as u32, (tobit(n) & 31) as u32) as i32)))
    };
    t.set("lshift", shift(lua, |x, n| x << n)?)?;
    t.set("rshift", shift(lua, |x, n| x >> n)?)?;
    t.set("arshift", shift(lua, |x, n| ((x as i32) >> n) as u32)?)?;
    t.set("rol", shift(lua, |x, n| x.rotate_left(n))?)?;
    t.set("ror", shift(lua, |x, n| x.rotate_right(n))?)?;
    t.set("bswap", lua.create_function(|_, x: f64| Ok(num((tobit(x) as u32).swap_bytes() as i32)))?)?;
    t.set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let n = n.map_or(8, tobit);
            let upper = n < 0;
            let digits = n.unsigned_abs().clamp(1, 8) as usize;
            let v = tobit(x) as u32 as u64 & ((1u64 << (digits * 4)) - 1);
            Ok(if upper { format!("{v:0digits$X}") } else { format!("{v:0digits$x}") })
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_like_luabitop() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
    }
}
