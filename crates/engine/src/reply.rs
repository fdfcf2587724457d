//! Protocol-neutral replies. The RESP face encodes them per protocol version; the REST face as JSON.

use bytes::Bytes;

/// A command's answer, independent of the wire format.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status (simple string) reply such as `PONG` or `string`.
    Status(Bytes),
    /// An error inside an aggregate (EXEC results); top-level failures are `Err(CmdError)`.
    Error(String),
    /// An integer.
    Int(i64),
    /// An unsigned integer that may exceed `i64::MAX` (array indexes); same wire form as `Int`.
    UInt(u64),
    /// A bulk string.
    Bulk(Bytes),
    /// The null bulk string (`$-1` / `_`).
    Nil,
    /// The null array (`*-1` / `_`).
    NilArray,
    /// An array.
    Array(Vec<Reply>),
    /// A double: RESP3 `,`; RESP2 bulk string (shortest round-trip text, as Redis's `%.17g`).
    Double(f64),
    /// A double already in the text Redis prints for it (GEOPOS's `%.17Lf` coordinates):
    /// RESP3 `,`; RESP2 bulk string.
    DoubleText(Bytes),
    /// A map: RESP3 `%`; RESP2 flat array.
    Map(Vec<(Reply, Reply)>),
    /// A set: RESP3 `~`; RESP2 array.
    Set(Vec<Reply>),
    /// A boolean: RESP3 `#`; RESP2 integer.
    Bool(bool),
    /// A verbatim text (INFO): RESP3 `=`; RESP2 bulk string.
    Verbatim(Bytes),
    /// An out-of-band push (pub/sub): RESP3 `>`; RESP2 array.
    Push(Vec<Reply>),
    /// Several replies to one command, sent one after another (SUBSCRIBE a b → two pushes).
    Seq(Vec<Reply>),
}

impl Reply {
    /// A bulk reply copied from a byte slice.
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }
    /// A status reply from static text.
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }
    /// An array of bulk strings.
    pub fn bulks<I: IntoIterator<Item = Bytes>>(items: I) -> Reply {
        Reply::Array(items.into_iter().map(Reply::Bulk).collect())
    }
    /// An unsigned integer: `Int` when it fits, `UInt` past `i64::MAX`.
    pub fn uint(n: u64) -> Reply {
        i64::try_from(n).map_or(Reply::UInt(n), Reply::Int)
    }
    /// A bulk reply or nil.
    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map_or(Reply::Nil, Reply::Bulk)
    }
}

/// Formats a double the way Redis replies with it (`%.17g` shortest round-trip; `inf`/`-inf`).
pub fn format_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == v.trunc() && v.abs() < 1e17 {
        // Integral values print without a fraction, as `%.17g` does.
        return format!("{}", v as i64);
    }
    let mut b = ryu::Buffer::new();
    let s = b.format_finite(v);
    // ryu prints e.g. "1e20" / "1.5e-7"; Redis (%.17g) prints "1e+20" / "1.4999999999999999e-07".
    // Both parse back to the same double; keep ryu's shortest form but add the exponent sign.
    if let Some(pos) = s.find('e') {
        let (m, e) = s.split_at(pos);
        let e = &e[1..];
        let (sign, digits) = if let Some(d) = e.strip_prefix('-') { ("-", d) } else { ("+", e) };
        let digits = if digits.len() < 2 { format!("0{digits}") } else { digits.to_string() };
        return format!("{m}e{sign}{digits}");
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::format_double;

    #[test]
    fn doubles_format_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-0.5), "-0.5");
        assert_eq!(format_double(10.5), "10.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-7), "1.5e-07");
        assert_eq!(format_double(0.1 + 0.2), "0.30000000000000004");
    }
}
