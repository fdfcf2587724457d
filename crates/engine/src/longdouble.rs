//! INCRBYFLOAT/HINCRBYFLOAT arithmetic in C's `long double`, as Redis does it: parsed with
//! `strtold`, added, printed with `%.17Lf` and trailing zeros trimmed (see
//! `csrc/longdouble.c`). On x86-64 that is x87 80-bit precision, so `0.1 + 0.2` is `0.3` here
//! too, and results match redis-server digit for digit.

use std::ffi::{c_char, c_long};

use bytes::Bytes;

unsafe extern "C" {
    fn stashd_ld_add(cur: *const c_char, curlen: usize, incr: *const c_char, incrlen: usize, out: *mut c_char, outlen: usize) -> c_long;
}

/// Why an addition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdError {
    /// The current value is not a float.
    Current,
    /// The increment is not a float.
    Increment,
    /// The increment is NaN or infinite.
    IncrementNotFinite,
    /// The sum is NaN or infinite.
    NotFinite,
}

/// Redis's `MAX_LONG_DOUBLE_CHARS`: the largest text a long double is read from or printed to.
const MAX_CHARS: usize = 5 * 1024;

/// `cur + incr` (`cur` absent = 0) as Redis prints it.
pub fn add(cur: Option<&[u8]>, incr: &[u8]) -> Result<Bytes, LdError> {
    let mut out = [0u8; MAX_CHARS];
    let (cp, cl) = match cur {
        Some(c) => (c.as_ptr() as *const c_char, c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: every pointer comes with its length (`cur` may be null, which the C side checks);
    // the function reads at most that many bytes of each input and writes at most `out.len()`
    // bytes into `out`, and keeps no pointer after returning.
    let n = unsafe { stashd_ld_add(cp, cl, incr.as_ptr() as *const c_char, incr.len(), out.as_mut_ptr() as *mut c_char, out.len()) };
    match n {
        -1 => Err(LdError::Current),
        -2 => Err(LdError::Increment),
        -3 => Err(LdError::IncrementNotFinite),
        n if n < 0 => Err(LdError::NotFinite),
        n => Ok(Bytes::copy_from_slice(&out[..(n as usize).min(out.len())])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(cur: Option<&str>, incr: &str) -> Result<String, LdError> {
        add(cur.map(str::as_bytes), incr.as_bytes()).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[test]
    fn matches_redis_long_double_results() {
        assert_eq!(sum(Some("0.1"), "0.2").as_deref(), Ok("0.3"));
        assert_eq!(sum(Some("1.1"), "2.2").as_deref(), Ok("3.3"));
        assert_eq!(sum(None, "10.5").as_deref(), Ok("10.5"));
        assert_eq!(sum(Some("10.6"), "-10.6").as_deref(), Ok("0"));
        assert_eq!(sum(Some("5"), "-5.0").as_deref(), Ok("0"));
        assert_eq!(sum(Some("3"), "2").as_deref(), Ok("5"));
        assert_eq!(sum(Some("1e3"), "0").as_deref(), Ok("1000"));
        assert_eq!(sum(Some("abc"), "1"), Err(LdError::Current));
        assert_eq!(sum(Some("1"), " 1"), Err(LdError::Increment));
        assert_eq!(sum(Some("1"), "nan"), Err(LdError::Increment));
        assert_eq!(sum(Some("1"), "inf"), Err(LdError::IncrementNotFinite));
        assert_eq!(sum(Some(""), "1"), Err(LdError::Current));
    }
}
