//! Incremental decoder for client requests: RESP multibulk arrays and inline commands.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Largest number of arguments in one multibulk request (Redis: 1024*1024).
pub const MAX_MULTIBULK_LEN: i64 = 1024 * 1024;
/// Largest header line or inline request accepted before a terminator is seen (Redis: 64 KiB).
pub const MAX_INLINE_LEN: usize = 64 * 1024;
/// Default largest bulk argument (Redis `proto-max-bulk-len`, 512 MB).
pub const DEFAULT_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;

/// A malformed request. Redis answers these with `-ERR Protocol error: ...` and closes the connection.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The `*<n>` header is not a number or is out of range.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// The `$<n>` header is not a number or is out of range.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// Something other than `$` where a bulk argument must start.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// A header line grew past [`MAX_INLINE_LEN`] without a terminator.
    #[error("Protocol error: too big mbulk count string")]
    TooBigCount,
    /// A bulk header line grew past [`MAX_INLINE_LEN`] without a terminator.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An inline request grew past [`MAX_INLINE_LEN`] without a newline.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// An inline request with an unterminated quote.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
}

/// Resumable state for one request being decoded.
#[derive(Debug, Default)]
pub struct Decoder {
    max_bulk_len: i64,
    /// Arguments still expected in the current multibulk, if a header was read.
    remaining: Option<usize>,
    /// Length of the bulk whose header was read but whose payload has not fully arrived.
    pending_bulk: Option<usize>,
    args: Vec<Bytes>,
}

impl Decoder {
    /// A decoder that accepts bulk arguments up to `max_bulk_len` bytes.
    pub fn new(max_bulk_len: i64) -> Self {
        Decoder { max_bulk_len, ..Default::default() }
    }

    /// Decodes the next complete request from `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed (partial progress is kept, so calling again
    /// after more data arrives resumes where it stopped). Arguments are copied out of the read
    /// buffer, so storing one never pins it: a small request (at most 16 arguments and
    /// [`SHARED_ARGS_MAX`] bytes of them) that arrived whole gets one allocation shared by its
    /// arguments, anything else one allocation per argument. An empty inline line or `*0`/`*-1`
    /// yields an empty vector, which callers skip.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.remaining.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return decode_inline(buf);
            }
            if let Some(args) = self.whole_small_request(buf) {
                return Ok(Some(args));
            }
            let Some(line) = take_line(buf, ProtocolError::TooBigCount)? else {
                return Ok(None);
            };
            let n = parse_int(&line[1..]).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if n > MAX_MULTIBULK_LEN {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if n <= 0 {
                return Ok(Some(Vec::new()));
            }
            self.remaining = Some(n as usize);
            self.args = Vec::with_capacity((n as usize).min(1024));
        }
        while let Some(remaining) = self.remaining {
            if remaining == 0 {
                self.remaining = None;
                return Ok(Some(std::mem::take(&mut self.args)));
            }
            let len = match self.pending_bulk {
                Some(len) => len,
                None => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[0] as char));
                    }
                    let Some(line) = take_line(buf, ProtocolError::TooBigBulkCount)? else {
                        return Ok(None);
                    };
                    let n = parse_int(&line[1..]).ok_or(ProtocolError::InvalidBulkLength)?;
                    if n < 0 || n > self.max_bulk_len {
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                    self.pending_bulk = Some(n as usize);
                    n as usize
                }
            };
            if buf.len() < len + 2 {
                // Reserve room for the payload, but never more than 1 MiB ahead of what arrived:
                // a client announcing a huge bulk must send it before we allocate for it.
                buf.reserve((len + 2 - buf.len()).min(1 << 20));
                return Ok(None);
            }
            let arg = Bytes::copy_from_slice(&buf[..len]);
            buf.advance(len + 2);
            self.args.push(arg);
            self.pending_bulk = None;
            self.remaining = Some(remaining - 1);
        }
        Ok(None)
    }
}

/// Largest total size of a request's arguments that share one allocation. Bounded so that one
/// stored argument (a hash field, say) can keep at most this much of its request alive.
pub const SHARED_ARGS_MAX: usize = 512;
/// Most arguments a request may have to take that path (larger ones are copied one by one).
const SHARED_ARGS_MAX_COUNT: usize = 16;

impl Decoder {
    /// The fast path: a multibulk request that is entirely in `buf` and small is parsed in place
    /// and copied once. Returns None, consuming nothing, for anything else (incomplete, large or
    /// malformed), which the resumable path then handles with its exact errors.
    fn whole_small_request(&self, buf: &mut BytesMut) -> Option<Vec<Bytes>> {
        let (n, mut pos) = header(buf, 0, b'*')?;
        if n <= 0 || n as usize > SHARED_ARGS_MAX_COUNT {
            return None;
        }
        let mut spans = [(0usize, 0usize); SHARED_ARGS_MAX_COUNT];
        let spans = &mut spans[..n as usize];
        let mut total = 0usize;
        for span in spans.iter_mut() {
            let (len, start) = header(buf, pos, b'$')?;
            if len < 0 || len > self.max_bulk_len {
                return None;
            }
            let len = len as usize;
            total += len;
            if total > SHARED_ARGS_MAX || buf.len() < start + len + 2 {
                return None;
            }
            *span = (start, len);
            pos = start + len + 2;
        }
        let mut data = BytesMut::with_capacity(total);
        for &(start, len) in spans.iter() {
            data.extend_from_slice(&buf[start..start + len]);
        }
        let data = data.freeze();
        let mut args = Vec::with_capacity(spans.len());
        let mut at = 0;
        for &(_, len) in spans.iter() {
            args.push(data.slice(at..at + len));
            at += len;
        }
        buf.advance(pos);
        Some(args)
    }
}

/// Reads a `<kind><integer>\r\n` header starting at `from` in one pass: the integer and the
/// offset after the line. None for anything unusual (incomplete, not a plain decimal as
/// [`parse_int`] accepts it), which the resumable path then answers exactly.
fn header(buf: &[u8], from: usize, kind: u8) -> Option<(i64, usize)> {
    let b = buf.get(from..)?;
    if b.first() != Some(&kind) {
        return None;
    }
    let neg = b.get(1) == Some(&b'-');
    let start = 1 + usize::from(neg);
    let mut i = start;
    let mut v: i64 = 0;
    loop {
        match *b.get(i)? {
            b'\r' => break,
            c @ b'0'..=b'9' if i - start < 19 => v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?,
            _ => return None,
        }
        i += 1;
    }
    let digits = i - start;
    // the terminator's second byte must have arrived; string2ll's rules on zeros
    if i + 1 >= b.len() || digits == 0 || (b[start] == b'0' && (digits > 1 || neg)) {
        return None;
    }
    Some((if neg { -v } else { v }, from + i + 2))
}

/// Takes one `\r\n`-terminated line (without the terminator) off the front of `buf`.
fn take_line(buf: &mut BytesMut, too_big: ProtocolError) -> Result<Option<BytesMut>, ProtocolError> {
    match memchr::memchr(b'\r', buf) {
        Some(pos) if pos + 1 < buf.len() => {
            let line = buf.split_to(pos);
            buf.advance(2);
            Ok(Some(line))
        }
        Some(pos) if pos + 1 == buf.len() => Ok(None),
        _ if buf.len() > MAX_INLINE_LEN => Err(too_big),
        _ => Ok(None),
    }
}

/// Parses a strict decimal integer (optional leading `-`), as Redis's `string2ll`.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    // As Redis's string2ll: no leading zeros, and no "-0" (only "0" itself starts with 0).
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

fn decode_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(pos) = memchr::memchr(b'\n', buf) else {
        if buf.len() > MAX_INLINE_LEN {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let mut line = buf.split_to(pos + 1);
    line.truncate(pos);
    if line.last() == Some(&b'\r') {
        line.truncate(pos - 1);
    }
    split_args(&line).map(Some)
}

/// Splits an inline request into arguments the way Redis's `sdssplitargs` does
/// (double quotes with `\n`, `\xHH` escapes; single quotes with `\'`).
pub fn split_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    // Redis splits a C string: a NUL byte ends the line.
    let line = match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && matches!(line[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            i += 1;
        }
        if i >= n {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                }
                if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        args.push(Bytes::from(cur));
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multibulk(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn whole_and_piecemeal_decoding_agree() {
        let big = vec![b'x'; SHARED_ARGS_MAX];
        let twenty: Vec<Vec<u8>> = (0..20).map(|i| format!("f{i}").into_bytes()).collect();
        let mut cases: Vec<Vec<&[u8]>> = vec![
            vec![b"GET", b"k"],
            vec![b"SET", b"k", b""],
            vec![b"HSET", b"h", b"a\r\nb", &big],
            vec![b"SET", b"k", &big[..SHARED_ARGS_MAX - 4]],
        ];
        cases.push(twenty.iter().map(|v| v.as_slice()).collect());
        for case in &cases {
            let wire = multibulk(case);
            // whole: the fast path when small, with a second request behind it
            let mut both = wire.clone();
            both.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
            let mut b = BytesMut::from(&both[..]);
            let got = d.decode(&mut b).unwrap().unwrap();
            assert_eq!(got.iter().map(|a| &a[..]).collect::<Vec<_>>(), *case);
            assert_eq!(d.decode(&mut b).unwrap().unwrap(), vec![Bytes::from("PING")]);
            assert!(b.is_empty());
            // a byte at a time: the resumable path
            let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
            let mut b = BytesMut::new();
            let mut out = None;
            for (i, byte) in wire.iter().enumerate() {
                b.extend_from_slice(&[*byte]);
                out = d.decode(&mut b).unwrap();
                assert_eq!(out.is_some(), i + 1 == wire.len(), "request complete only at its last byte");
            }
            assert_eq!(out.unwrap().iter().map(|a| &a[..]).collect::<Vec<_>>(), *case);
        }
    }

    #[test]
    fn one_pass_header_agrees_with_parse_int() {
        for text in [
            "0",
            "00",
            "-0",
            "-1",
            "7",
            "12",
            "010",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "12345678901234567890",
            "",
            "-",
            "1a",
            " 1",
            "+1",
        ] {
            let line = format!("${text}\r\n");
            let want = parse_int(text.as_bytes()).map(|n| (n, line.len()));
            assert_eq!(header(line.as_bytes(), 0, b'$'), want, "{text:?}");
        }
        assert_eq!(header(b"$12", 0, b'$'), None, "no terminator yet");
        assert_eq!(header(b"$12\r", 0, b'$'), None, "half a terminator");
        assert_eq!(header(b"*1\r\n", 0, b'$'), None, "other kind");
        assert_eq!(header(b"xx$5\r\n", 2, b'$'), Some((5, 6)));
    }

    #[test]
    fn fast_path_leaves_malformed_requests_to_the_exact_errors() {
        for (wire, err) in [
            (&b"*2\r\n$3\r\nGET\r\n:1\r\n"[..], ProtocolError::ExpectedDollar(':')),
            (b"*1\r\n$-2\r\nxx\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$abc\r\nxx\r\n", ProtocolError::InvalidBulkLength),
            (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
        ] {
            assert_eq!(dec(wire), Err(err));
        }
        let mut d = Decoder::new(5);
        assert_eq!(d.decode(&mut BytesMut::from(&b"*1\r\n$6\r\nabcdef\r\n"[..])), Err(ProtocolError::InvalidBulkLength));
    }

    fn dec(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
        let mut b = BytesMut::from(input);
        d.decode(&mut b)
    }

    #[test]
    fn multibulk_complete() {
        let r = dec(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").unwrap().unwrap();
        assert_eq!(r, vec![Bytes::from("GET"), Bytes::from("k")]);
    }

    #[test]
    fn resumes_across_partial_reads() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
        let mut b = BytesMut::new();
        for (i, byte) in full.iter().enumerate() {
            b.extend_from_slice(&[*byte]);
            let r = d.decode(&mut b).unwrap();
            if i + 1 < full.len() {
                assert!(r.is_none(), "complete too early at {i}");
            } else {
                assert_eq!(r.unwrap().len(), 3);
            }
        }
        assert!(b.is_empty());
    }

    #[test]
    fn bad_lengths_are_protocol_errors() {
        assert_eq!(dec(b"*x\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(dec(b"*99999999999\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(dec(b"*1\r\n$-5\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(dec(b"*1\r\n$abc\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(dec(b"*1\r\n$9999999999999\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(dec(b"*1\r\n+foo\r\n"), Err(ProtocolError::ExpectedDollar('+')));
        assert_eq!(dec(b"*-1\r\n").unwrap().unwrap().len(), 0);
    }

    #[test]
    fn oversized_header_without_terminator() {
        let mut v = b"*1".to_vec();
        v.extend(std::iter::repeat_n(b'1', MAX_INLINE_LEN + 10));
        assert_eq!(dec(&v), Err(ProtocolError::TooBigCount));
        let v = vec![b'a'; MAX_INLINE_LEN + 10];
        assert_eq!(dec(&v), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn inline_commands_with_quotes() {
        let r = dec(b"SET k \"a b\\x41\\n\" 'c\\'d'\r\n").unwrap().unwrap();
        assert_eq!(r, vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("a bA\n"), Bytes::from("c'd")]);
        assert_eq!(dec(b"SET \"abc\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(dec(b"  \r\n").unwrap().unwrap().len(), 0);
    }

    #[test]
    fn nul_byte_ends_an_inline_line() {
        // Found by cargo fuzz (resp_decode): used to loop forever pushing empty arguments.
        let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
        let mut b = BytesMut::from(&b"\0\nx"[..]);
        assert_eq!(d.decode(&mut b).unwrap().unwrap().len(), 0);
        assert_eq!(d.decode(&mut b).unwrap(), None);
        assert_eq!(split_args(b"GET k\0junk").unwrap(), vec![Bytes::from("GET"), Bytes::from("k")]);
        for (text, want) in [("0", Some(0)), ("-1", Some(-1)), ("10", Some(10)), ("010", None), ("-0", None), ("00", None), ("+1", None)] {
            assert_eq!(parse_int(text.as_bytes()), want, "{text}");
        }
        assert_eq!(split_args(b"\x0b\x0c").unwrap().len(), 0);
    }

    #[test]
    fn parse_int_strict() {
        assert_eq!(parse_int(b"123"), Some(123));
        assert_eq!(parse_int(b"-9223372036854775808"), None); // overflow on magnitude, like the simple loop
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"+1"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"1 "), None);
    }
}
