//! Argument parsing helpers shared by the command families (Redis's `getLongLongFromObject` & co).

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};

/// Parses a strict i64 (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> CmdResult<i64> {
    stashd_resp::parse_int(arg).or_else(|| (arg == b"-9223372036854775808").then_some(i64::MIN)).ok_or(CmdError::NotInteger)
}

/// Parses a non-negative integer that fits in usize.
pub fn uint(arg: &[u8]) -> CmdResult<usize> {
    let v = int(arg)?;
    usize::try_from(v).map_err(|_| CmdError::NotInteger)
}

/// Parses a float as Redis's `strtold` check: no NaN, no trailing garbage, `inf`/`-inf` allowed.
pub fn float(arg: &[u8]) -> CmdResult<f64> {
    parse_float(arg).ok_or(CmdError::NotFloat)
}

/// Parses a float, None if invalid (no allocation: this is on ZADD's hot path).
pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    let first = *arg.first()?;
    let last = *arg.last()?;
    if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
        return None;
    }
    // Rust accepts `inf`, `+inf`, `infinity` in any case, as strtold does; reject NaN as Redis does.
    let v = s.parse::<f64>().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// The argument as a lossy string (for error messages).
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// An i64 rendered as a bulk payload.
pub fn int_bytes(n: i64) -> Bytes {
    let mut b = itoa::Buffer::new();
    Bytes::copy_from_slice(b.format(n).as_bytes())
}

/// Static bytes.
pub fn lit(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// Resolves Redis's `start`/`end` (negative from the end, inclusive) against `len`.
/// Returns None for an empty range.
pub fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if e >= len {
        e = len - 1;
    }
    if s > e || s >= len || len == 0 {
        return None;
    }
    Some((s as usize, e as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        assert_eq!(int(b"-5"), Ok(-5));
        assert!(int(b"5.0").is_err());
        assert!(int(b" 5").is_err());
        assert_eq!(int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(float(b"1.5"), Ok(1.5));
        assert_eq!(float(b"-inf"), Ok(f64::NEG_INFINITY));
        assert!(float(b"nan").is_err());
        assert!(float(b"1.5x").is_err());
        assert_eq!(float(b"+inf"), Ok(f64::INFINITY));
        assert_eq!(float(b"-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(float(b"+1.5"), Ok(1.5));
        assert_eq!(float(b"1e3"), Ok(1000.0));
        assert!(float(b"NaN").is_err());
        assert!(float(b" 1").is_err());
        assert!(float(b"").is_err());
        assert_eq!(range(0, -1, 3), Some((0, 2)));
        assert_eq!(range(-100, 100, 3), Some((0, 2)));
        assert_eq!(range(2, 1, 3), None);
        assert_eq!(range(0, -1, 0), None);
    }
}
