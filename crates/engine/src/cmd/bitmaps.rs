//! Bitmap commands (Redis `bitops.c`): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP (including
//! Redis 8.2's DIFF, DIFF1, ANDOR and ONE), BITFIELD and BITFIELD_RO, on string values. Bit 0 is
//! the most significant bit of the first byte, as in Redis.

use bytes::Bytes;

use crate::args::{self, int, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::compact::CompactBytes;
use crate::error::{CmdError, CmdResult};
use crate::value::Value;
use crate::{Ctx, Reply};

/// Bitmap command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("setbit", 4, WRITE | DENYOOM, 1, 1, 1, setbit, "bitmap"),
    cmd!("getbit", 3, READONLY | FAST, 1, 1, 1, getbit, "bitmap"),
    cmd!("bitcount", -2, READONLY, 1, 1, 1, bitcount, "bitmap"),
    cmd!("bitpos", -3, READONLY, 1, 1, 1, bitpos, "bitmap"),
    cmd!("bitop", -4, WRITE | DENYOOM | WRITES_FIRST_KEY, 2, -1, 1, bitop, "bitmap"),
    cmd!("bitfield", -2, WRITE | DENYOOM, 1, 1, 1, bitfield, "bitmap"),
    cmd!("bitfield_ro", -2, READONLY | FAST, 1, 1, 1, bitfield_ro, "bitmap"),
];

/// Largest bit offset: a string can hold 2^32 bits (512 MB).
const MAX_BIT_OFFSET: i64 = (1 << 32) - 1;

fn bit_offset(arg: &[u8]) -> CmdResult<u64> {
    match int(arg) {
        Ok(n) if (0..=MAX_BIT_OFFSET).contains(&n) => Ok(n as u64),
        _ => Err(CmdError::err("bit offset is not an integer or out of range")),
    }
}

/// Makes room for `bytes` bytes in the string at `key` (created if missing) and returns it.
/// The string at `key` made at least `bytes` long, and whether that created or lengthened it
/// (Redis's `dirty` of `lookupStringForBitCommand`: such a call writes even if no bit changes).
fn grow<'a>(ctx: &'a mut Ctx, key: &Bytes, bytes: usize) -> CmdResult<(&'a mut Vec<u8>, bool)> {
    if bytes as i64 > ctx.shared.config.read().proto_max_bulk_len {
        return Err(CmdError::err("string exceeds maximum allowed size (proto-max-bulk-len)"));
    }
    let mut grew = false;
    if ctx.get_str(key)?.is_none() {
        ctx.set(key, Value::Str(CompactBytes::new()), 0);
        grew = true;
    }
    let s = ctx.str_or_create(key)?.make_growable();
    if s.len() < bytes {
        s.resize(bytes, 0);
        grew = true;
    }
    Ok((s, grew))
}

fn get_bit(s: &[u8], bit: u64) -> u8 {
    s.get((bit / 8) as usize).map_or(0, |b| (b >> (7 - bit % 8)) & 1)
}

fn setbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let bit = bit_offset(&a[2])?;
    let on = match &a[3][..] {
        b"1" => true,
        b"0" => false,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let (s, grew) = grow(ctx, &a[1], (bit / 8) as usize + 1)?;
    let byte = &mut s[(bit / 8) as usize];
    let mask = 1u8 << (7 - bit % 8);
    let old = (*byte & mask != 0) as i64;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    // As Redis: a write only if the key was created or grown, or the bit flipped.
    if grew || (old == 1) != on {
        ctx.dirty(1);
    }
    Ok(Reply::Int(old))
}

fn getbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let bit = bit_offset(&a[2])?;
    Ok(Reply::Int(ctx.get_str(&a[1])?.map_or(0, |s| get_bit(s, bit)) as i64))
}

/// `start end [BYTE|BIT]` from `a[i..]` resolved against `len_bytes`: an inclusive bit range,
/// `None` if empty; the flag tells whether an end was given.
/// `crossed_empty`: BITCOUNT's rule that two negative ends with start > end give an empty range
/// before clamping (BITPOS clamps first).
fn bit_range(a: &[Bytes], i: usize, len_bytes: usize, crossed_empty: bool) -> CmdResult<(Option<(u64, u64)>, bool)> {
    let total_bits = len_bytes as i64 * 8;
    let Some(start) = a.get(i) else { return Ok(((total_bits > 0).then(|| (0, total_bits as u64 - 1)), false)) };
    let start = int(start)?;
    let (end, end_given) = match a.get(i + 1) {
        Some(e) => (int(e)?, true),
        None => (i64::MAX, false),
    };
    let bits = match a.get(i + 2) {
        None => false,
        Some(u) if is(u, "BYTE") => false,
        Some(u) if is(u, "BIT") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if a.len() > i + 3 {
        return Err(CmdError::Syntax);
    }
    if crossed_empty && start < 0 && end < 0 && start > end {
        return Ok((None, end_given));
    }
    let len = if bits { total_bits } else { len_bytes as i64 };
    let fix = |n: i64| if n < 0 { (n + len).max(0) } else { n };
    let (s, e) = (fix(start), fix(end).min(len - 1));
    if len == 0 || s > e {
        return Ok((None, end_given));
    }
    let range = if bits { (s as u64, e as u64) } else { (s as u64 * 8, e as u64 * 8 + 7) };
    Ok((Some(range), end_given))
}

fn count_bits(s: &[u8], (from, to): (u64, u64)) -> u64 {
    let (fb, tb) = ((from / 8) as usize, (to / 8) as usize);
    if fb == tb {
        return (from..=to).map(|b| get_bit(s, b) as u64).sum();
    }
    let head: u64 = (from..(fb as u64 + 1) * 8).map(|b| get_bit(s, b) as u64).sum();
    let tail: u64 = (tb as u64 * 8..=to).map(|b| get_bit(s, b) as u64).sum();
    head + tail + s[fb + 1..tb].iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

fn bitcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 3 {
        return Err(CmdError::Syntax);
    }
    let Some(s) = ctx.get_str(&a[1])? else {
        if a.len() > 2 {
            bit_range(a, 2, 0, true)?; // argument errors still come first
        }
        return Ok(Reply::Int(0));
    };
    let s = s.as_slice().to_vec();
    Ok(Reply::Int(match bit_range(a, 2, s.len(), true)?.0 {
        Some(r) => count_bits(&s, r) as i64,
        None => 0,
    }))
}

fn bitpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let want = match &a[2][..] {
        b"1" => 1,
        b"0" => 0,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    let s = ctx.get_str(&a[1])?.map(|s| s.as_slice().to_vec());
    let Some(s) = s else {
        bit_range(a, 3, 0, false)?;
        return Ok(Reply::Int(if want == 1 { -1 } else { 0 }));
    };
    let (range, end_given) = bit_range(a, 3, s.len(), false)?;
    let Some((from, to)) = range else { return Ok(Reply::Int(-1)) };
    let mut bit = from;
    while bit <= to {
        // Whole bytes that cannot match are skipped at once.
        if bit % 8 == 0 && bit + 7 <= to {
            let byte = s[(bit / 8) as usize];
            if (want == 1 && byte == 0) || (want == 0 && byte == 0xff) {
                bit += 8;
                continue;
            }
        }
        if get_bit(&s, bit) == want {
            return Ok(Reply::Int(bit as i64));
        }
        bit += 1;
    }
    // Looking for a clear bit with no end given: the string is seen as padded with zeros.
    Ok(Reply::Int(if want == 0 && !end_given { (to + 1) as i64 } else { -1 }))
}

fn bitop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let op = args::text(&a[1]).to_ascii_uppercase();
    let sources = &a[3..];
    match op.as_str() {
        "AND" | "OR" | "XOR" | "ONE" => {}
        "NOT" if sources.len() != 1 => return Err(CmdError::err("BITOP NOT must be called with a single source key.")),
        "NOT" => {}
        "DIFF" | "DIFF1" | "ANDOR" if sources.len() < 2 => {
            return Err(CmdError::err(format!("BITOP {op} must be called with at least two source keys.")))
        }
        "DIFF" | "DIFF1" | "ANDOR" => {}
        _ => return Err(CmdError::Syntax),
    }
    let mut values: Vec<Vec<u8>> = Vec::with_capacity(sources.len());
    for k in sources {
        values.push(ctx.get_str(k)?.map_or_else(Vec::new, |s| s.as_slice().to_vec()));
    }
    let len = values.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
    let others_or = |i: usize| values[1..].iter().fold(0u8, |acc, v| acc | byte(v, i));
    let out: Vec<u8> = (0..len)
        .map(|i| match op.as_str() {
            "AND" => values.iter().fold(0xff, |acc, v| acc & byte(v, i)),
            "OR" => values.iter().fold(0, |acc, v| acc | byte(v, i)),
            "XOR" => values.iter().fold(0, |acc, v| acc ^ byte(v, i)),
            "NOT" => !byte(&values[0], i),
            "DIFF" => byte(&values[0], i) & !others_or(i),
            "DIFF1" => !byte(&values[0], i) & others_or(i),
            "ANDOR" => byte(&values[0], i) & others_or(i),
            // ONE: bits set in exactly one source.
            _ => {
                let (mut once, mut more) = (0u8, 0u8);
                for v in &values {
                    let b = byte(v, i);
                    more |= once & b;
                    once ^= b & !more;
                }
                once & !more
            }
        })
        .collect();
    let n = out.len();
    if n == 0 {
        ctx.delete(&a[2]);
    } else {
        ctx.set(&a[2], Value::Str(CompactBytes::from_slice(&out)), 0);
    }
    ctx.dirty(1);
    Ok(Reply::Int(n as i64))
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
}

impl Field {
    fn parse(arg: &[u8]) -> CmdResult<Field> {
        let bad = || CmdError::err("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
        let (signed, rest) = match arg.first() {
            Some(b'i' | b'I') => (true, &arg[1..]),
            Some(b'u' | b'U') => (false, &arg[1..]),
            _ => return Err(bad()),
        };
        let bits = std::str::from_utf8(rest).ok().and_then(|t| t.parse::<u32>().ok()).ok_or_else(bad)?;
        if bits == 0 || bits > 64 || (!signed && bits == 64) {
            return Err(bad());
        }
        Ok(Field { signed, bits })
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// Reads the field at bit `offset` of `s` (missing bytes read as zero).
    fn read(self, s: &[u8], offset: u64) -> i128 {
        let mut raw: u128 = 0;
        for i in 0..self.bits as u64 {
            raw = (raw << 1) | get_bit(s, offset + i) as u128;
        }
        if self.signed && raw >> (self.bits - 1) & 1 == 1 {
            raw as i128 - (1i128 << self.bits)
        } else {
            raw as i128
        }
    }

    /// Writes the low `bits` bits of `v` at bit `offset` (the string is already long enough).
    fn write(self, s: &mut [u8], offset: u64, v: i128) {
        let raw = v as u128;
        for i in 0..self.bits as u64 {
            let bit = (raw >> (self.bits as u64 - 1 - i)) & 1;
            let pos = offset + i;
            let byte = &mut s[(pos / 8) as usize];
            let mask = 1u8 << (7 - pos % 8);
            if bit == 1 {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }

    /// Applies the overflow policy to `v`: the value to store, or `None` (FAIL).
    fn fit(self, v: i128, overflow: Overflow) -> Option<i128> {
        if (self.min()..=self.max()).contains(&v) {
            return Some(v);
        }
        match overflow {
            Overflow::Fail => None,
            Overflow::Sat => Some(v.clamp(self.min(), self.max())),
            Overflow::Wrap => {
                let m = 1i128 << self.bits;
                let r = v.rem_euclid(m);
                Some(if self.signed && r > self.max() { r - m } else { r })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug)]
enum Op {
    Get(Field, u64),
    Set(Field, u64, i128, Overflow),
    Incr(Field, u64, i128, Overflow),
}

/// An offset: `N` bits or `#N` (N times the field width).
fn field_offset(arg: &[u8], f: Field) -> CmdResult<u64> {
    let (n, scaled) = match arg.strip_prefix(b"#") {
        Some(rest) => (int(rest), true),
        None => (int(arg), false),
    };
    let n = n.map_err(|_| CmdError::err("bit offset is not an integer or out of range"))?;
    let bits = if scaled { n.checked_mul(f.bits as i64) } else { Some(n) };
    match bits {
        Some(b) if (0..=MAX_BIT_OFFSET).contains(&b) && b + f.bits as i64 - 1 <= MAX_BIT_OFFSET => Ok(b as u64),
        _ => Err(CmdError::err("bit offset is not an integer or out of range")),
    }
}

fn parse_ops(a: &[Bytes], read_only: bool) -> CmdResult<Vec<Op>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < a.len() {
        let need = |n: usize| if i + n < a.len() { Ok(()) } else { Err(CmdError::Syntax) };
        if is(&a[i], "GET") {
            need(2)?;
            let f = Field::parse(&a[i + 1])?;
            ops.push(Op::Get(f, field_offset(&a[i + 2], f)?));
            i += 3;
        } else if is(&a[i], "SET") || is(&a[i], "INCRBY") {
            if read_only {
                return Err(CmdError::err("BITFIELD_RO only supports the GET subcommand"));
            }
            need(3)?;
            let f = Field::parse(&a[i + 1])?;
            let off = field_offset(&a[i + 2], f)?;
            let v = int(&a[i + 3])? as i128;
            ops.push(if is(&a[i], "SET") { Op::Set(f, off, v, overflow) } else { Op::Incr(f, off, v, overflow) });
            i += 4;
        } else if is(&a[i], "OVERFLOW") {
            if read_only {
                return Err(CmdError::err("BITFIELD_RO only supports the GET subcommand"));
            }
            need(1)?;
            overflow = match args::text(&a[i + 1]).to_ascii_uppercase().as_str() {
                "WRAP" => Overflow::Wrap,
                "SAT" => Overflow::Sat,
                "FAIL" => Overflow::Fail,
                _ => return Err(CmdError::err("Invalid OVERFLOW type specified")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(ops)
}

fn run_bitfield(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let ops = parse_ops(a, read_only)?;
    let writes = ops.iter().any(|o| !matches!(o, Op::Get(..)));
    let current = ctx.get_str(&a[1])?.map(|s| s.as_slice().to_vec());
    if !writes {
        let s = current.unwrap_or_default();
        return Ok(Reply::Array(
            ops.iter().map(|o| if let Op::Get(f, off) = o { Reply::Int(f.read(&s, *off) as i64) } else { Reply::Nil }).collect(),
        ));
    }
    let needed = ops
        .iter()
        .filter_map(|o| match o {
            Op::Set(f, off, ..) | Op::Incr(f, off, ..) => Some(((off + f.bits as u64 - 1) / 8 + 1) as usize),
            Op::Get(..) => None,
        })
        .max()
        .unwrap_or(0);
    let (s, grew) = grow(ctx, &a[1], needed)?;
    let mut out = Vec::with_capacity(ops.len());
    let mut changed = 0;
    for op in ops {
        out.push(match op {
            Op::Get(f, off) => Reply::Int(f.read(s, off) as i64),
            Op::Set(f, off, v, overflow) => match f.fit(v, overflow) {
                Some(v) => {
                    let old = f.read(s, off);
                    f.write(s, off, v);
                    // As Redis 7.2: a change only if the key was created/grown or the value differs.
                    changed += (grew || old != v) as u64;
                    Reply::Int(old as i64)
                }
                None => Reply::Nil,
            },
            Op::Incr(f, off, by, overflow) => {
                let old = f.read(s, off);
                match f.fit(old + by, overflow) {
                    Some(v) => {
                        f.write(s, off, v);
                        changed += (grew || old != v) as u64;
                        Reply::Int(v as i64)
                    }
                    None => Reply::Nil,
                }
            }
        });
    }
    // Even FAILed operations made room for their fields, as Redis does: a grown key is a write
    // (logged, so the log replays the same string).
    if changed > 0 || grew {
        ctx.dirty(changed.max(1));
    }
    Ok(Reply::Array(out))
}

fn bitfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    run_bitfield(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    run_bitfield(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T, WRONGTYPE};
    use crate::Reply;

    fn ints(v: &[i64]) -> Reply {
        Reply::Array(v.iter().map(|n| Reply::Int(*n)).collect())
    }

    #[test]
    fn setbit_getbit_bitcount_bitpos() {
        let mut t = T::new();
        assert_eq!(t.ok(&["SETBIT", "k", "7", "1"]), Reply::Int(0));
        assert_eq!(t.ok(&["SETBIT", "k", "7", "1"]), Reply::Int(1));
        assert_eq!(t.ok(&["GET", "k"]), b("\x01"));
        assert_eq!(t.ok(&["GETBIT", "k", "7"]), Reply::Int(1));
        assert_eq!(t.ok(&["GETBIT", "k", "100"]), Reply::Int(0));
        assert_eq!(t.err(&["SETBIT", "k", "4294967296", "1"]), "ERR bit offset is not an integer or out of range");
        assert_eq!(t.err(&["SETBIT", "k", "1", "2"]), "ERR bit is not an integer or out of range");
        t.ok(&["SET", "s", "foobar"]);
        assert_eq!(t.ok(&["BITCOUNT", "s"]), Reply::Int(26));
        assert_eq!(t.ok(&["BITCOUNT", "s", "0", "0"]), Reply::Int(4));
        assert_eq!(t.ok(&["BITCOUNT", "s", "1", "1"]), Reply::Int(6));
        assert_eq!(t.ok(&["BITCOUNT", "s", "1", "1", "BYTE"]), Reply::Int(6));
        assert_eq!(t.ok(&["BITCOUNT", "s", "5", "30", "BIT"]), Reply::Int(17));
        assert_eq!(t.ok(&["BITCOUNT", "s", "-2", "-1"]), Reply::Int(7));
        assert_eq!(t.err(&["BITCOUNT", "s", "1"]), "ERR syntax error");
        assert_eq!(t.ok(&["BITCOUNT", "none"]), Reply::Int(0));
        // p = 00000000 11111111 10000000
        for bit in 8..16 {
            t.ok(&["SETBIT", "p", &bit.to_string(), "1"]);
        }
        t.ok(&["SETBIT", "p", "16", "1"]);
        assert_eq!(t.ok(&["BITPOS", "p", "1"]), Reply::Int(8));
        assert_eq!(t.ok(&["BITPOS", "p", "0"]), Reply::Int(0));
        assert_eq!(t.ok(&["BITPOS", "p", "0", "1"]), Reply::Int(17));
        assert_eq!(t.ok(&["BITPOS", "p", "1", "2", "-1", "BYTE"]), Reply::Int(16));
        assert_eq!(t.ok(&["BITPOS", "p", "1", "7", "15", "BIT"]), Reply::Int(8));
        assert_eq!(t.ok(&["SETBIT", "full", "7", "1"]), Reply::Int(0));
        for bit in 0..7 {
            t.ok(&["SETBIT", "full", &bit.to_string(), "1"]);
        }
        assert_eq!(t.ok(&["BITPOS", "full", "0"]), Reply::Int(8));
        assert_eq!(t.ok(&["BITPOS", "full", "0", "0", "0"]), Reply::Int(-1));
        assert_eq!(t.ok(&["BITPOS", "none", "1"]), Reply::Int(-1));
        assert_eq!(t.ok(&["BITPOS", "none", "0"]), Reply::Int(0));
        assert_eq!(t.err(&["BITPOS", "p", "2"]), "ERR The bit argument must be 1 or 0.");
        t.ok(&["LPUSH", "l", "x"]);
        assert_eq!(t.err(&["GETBIT", "l", "0"]), WRONGTYPE);
    }

    #[test]
    fn unchanged_bits_are_no_write() {
        let mut t = T::new();
        let (r, fx, d) = t.logged(&["SETBIT", "k", "3", "1"]);
        assert_eq!((r, fx.len(), d), (Reply::Int(0), 1, 1), "created: a write");
        let (r, fx, d) = t.logged(&["SETBIT", "k", "3", "1"]);
        assert_eq!((r, fx.len(), d), (Reply::Int(1), 0, 0), "same bit: no write");
        let (_, fx, d) = t.logged(&["SETBIT", "k", "5", "0"]);
        assert_eq!((fx.len(), d), (0, 0), "clearing a clear bit: no write");
        let (_, fx, d) = t.logged(&["SETBIT", "k", "20", "0"]);
        assert_eq!((fx.len(), d), (1, 1), "grown: a write even though the bit stays 0");
        let (_, fx, d) = t.logged(&["SETBIT", "k", "3", "0"]);
        assert_eq!((fx.len(), d), (1, 1));
        let (r, fx, d) = t.logged(&["BITFIELD", "f", "SET", "u8", "0", "7"]);
        assert_eq!((r, fx.len(), d), (ints(&[0]), 1, 1));
        let (r, fx, d) = t.logged(&["BITFIELD", "f", "SET", "u8", "0", "7", "INCRBY", "u8", "0", "0", "GET", "u8", "0"]);
        assert_eq!((r, fx.len(), d), (ints(&[7, 7, 7]), 0, 0), "same value: no write");
        let (_, fx, d) = t.logged(&["BITFIELD", "f", "SET", "u8", "0", "7", "SET", "u4", "0", "1"]);
        assert_eq!((fx.len(), d), (1, 1), "one changed field: a write");
        let (r, fx, d) = t.logged(&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"]);
        assert_eq!((r, fx.len(), d), (Reply::Array(vec![Reply::Nil]), 0, 0));
        // WATCH survives a no-op SETBIT.
        t.ok(&["WATCH", "k"]);
        t.ok(&["SETBIT", "k", "20", "0"]);
        t.ok(&["MULTI"]);
        t.ok(&["GET", "k"]);
        assert!(matches!(t.ok(&["EXEC"]), Reply::Array(_)));
    }

    #[test]
    fn bitop_all_operations() {
        let mut t = T::new();
        t.ok(&["SET", "a", "\u{3}"]); // 0000_0011
        t.ok(&["SET", "b", "\u{5}"]); // 0000_0101
        t.ok(&["SET", "c", "\u{6}\u{1}"]); // 0000_0110 0000_0001
        for (op, keys, want) in [
            ("AND", &["a", "b"][..], &b"\x01"[..]),
            ("OR", &["a", "b"], b"\x07"),
            ("XOR", &["a", "b"], b"\x06"),
            ("NOT", &["a"], b"\xfc"),
            ("DIFF", &["a", "b"], b"\x02"),
            ("DIFF1", &["a", "b"], b"\x04"),
            ("ANDOR", &["a", "b", "c"], b"\x03\x00"),
            ("ONE", &["a", "b", "c"], b"\x00\x01"),
        ] {
            let mut cmd = vec!["BITOP", op, "dst"];
            cmd.extend_from_slice(keys);
            assert_eq!(t.ok(&cmd), Reply::Int(want.len() as i64), "{op}");
            assert_eq!(t.ok(&["GET", "dst"]), Reply::Bulk(bytes::Bytes::copy_from_slice(want)), "{op}");
        }
        assert_eq!(t.err(&["BITOP", "NOT", "dst", "a", "b"]), "ERR BITOP NOT must be called with a single source key.");
        assert_eq!(t.err(&["BITOP", "DIFF", "dst", "a"]), "ERR BITOP DIFF must be called with at least two source keys.");
        assert_eq!(t.err(&["BITOP", "NAND", "dst", "a"]), "ERR syntax error");
        assert_eq!(t.ok(&["BITOP", "AND", "dst", "x", "y"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
    }

    #[test]
    fn bitfield_types_offsets_and_overflow() {
        let mut t = T::new();
        assert_eq!(t.ok(&["BITFIELD", "f", "SET", "u8", "0", "255", "GET", "u8", "0"]), ints(&[0, 255]));
        assert_eq!(t.ok(&["BITFIELD", "f", "INCRBY", "u8", "0", "10"]), ints(&[9]));
        assert_eq!(t.ok(&["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1000"]), ints(&[255]));
        assert_eq!(t.ok(&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1"]), Reply::Array(vec![Reply::Nil]));
        assert_eq!(t.ok(&["BITFIELD", "f", "SET", "i8", "#1", "-100", "GET", "i8", "8"]), ints(&[0, -100]));
        assert_eq!(t.ok(&["BITFIELD", "f", "INCRBY", "i8", "#1", "-100"]), ints(&[56]));
        assert_eq!(t.ok(&["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", "#1", "-1000"]), ints(&[-128]));
        assert_eq!(t.ok(&["BITFIELD", "f", "SET", "i64", "100", "-1", "GET", "i64", "100"]), ints(&[0, -1]));
        assert_eq!(t.ok(&["BITFIELD", "f", "GET", "u4", "0", "GET", "i5", "3"]), ints(&[15, -1]));
        assert_eq!(t.ok(&["BITFIELD_RO", "f", "GET", "u8", "0"]), ints(&[255]));
        assert_eq!(t.ok(&["BITFIELD", "nokey", "GET", "u8", "0"]), ints(&[0]));
        assert_eq!(t.ok(&["EXISTS", "nokey"]), Reply::Int(0));
        let bad_type = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
        assert_eq!(t.err(&["BITFIELD", "f", "GET", "u64", "0"]), bad_type);
        assert_eq!(t.err(&["BITFIELD", "f", "GET", "x8", "0"]), bad_type);
        assert_eq!(t.err(&["BITFIELD", "f", "GET", "u8", "-1"]), "ERR bit offset is not an integer or out of range");
        assert_eq!(t.err(&["BITFIELD", "f", "OVERFLOW", "NOPE"]), "ERR Invalid OVERFLOW type specified");
        assert_eq!(t.err(&["BITFIELD_RO", "f", "SET", "u8", "0", "1"]), "ERR BITFIELD_RO only supports the GET subcommand");
        assert_eq!(t.err(&["BITFIELD", "f", "GET", "u8"]), "ERR syntax error");
    }
}
