//! Reply encoders: one function per RESP type, each aware of the protocol version.

use bytes::{BufMut, BytesMut};

/// The protocol a connection speaks, switched by `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// `<prefix><n>\r\n`, assembled on the stack and appended with one copy (this runs for every
/// length header of every reply).
fn put_int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut line = [0u8; 24];
    line[0] = prefix;
    let len = if (0..10).contains(&n) {
        line[1] = b'0' + n as u8;
        2
    } else if (10..100).contains(&n) {
        line[1] = b'0' + (n / 10) as u8;
        line[2] = b'0' + (n % 10) as u8;
        3
    } else {
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        line[1..1 + digits.len()].copy_from_slice(digits);
        1 + digits.len()
    };
    line[len] = b'\r';
    line[len + 1] = b'\n';
    out.extend_from_slice(&line[..len + 2]);
}

/// `+text` (callers guarantee no CR/LF in `text`).
pub fn simple(out: &mut BytesMut, text: &[u8]) {
    out.put_u8(b'+');
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// `-text`; CR and LF inside the message are replaced by spaces, as Redis does.
pub fn error(out: &mut BytesMut, text: &[u8]) {
    out.put_u8(b'-');
    for &c in text {
        out.put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
    }
    out.extend_from_slice(b"\r\n");
}

/// `:n`
pub fn integer(out: &mut BytesMut, n: i64) {
    put_int_line(out, b':', n);
}

/// `:n` for an unsigned 64-bit integer (Redis's `addReplyUnsignedLongLong`).
pub fn unsigned(out: &mut BytesMut, n: u64) {
    out.put_u8(b':');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\nbytes\r\n`
pub fn bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 16);
    put_int_line(out, b'$', data.len() as i64);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The null bulk string: `$-1` in RESP2, `_` in RESP3.
pub fn null(out: &mut BytesMut, proto: Protocol) {
    match proto {
        Protocol::Resp2 => out.extend_from_slice(b"$-1\r\n"),
        Protocol::Resp3 => out.extend_from_slice(b"_\r\n"),
    }
}

/// The null array: `*-1` in RESP2, `_` in RESP3.
pub fn null_array(out: &mut BytesMut, proto: Protocol) {
    match proto {
        Protocol::Resp2 => out.extend_from_slice(b"*-1\r\n"),
        Protocol::Resp3 => out.extend_from_slice(b"_\r\n"),
    }
}

/// `*n` array header.
pub fn array_len(out: &mut BytesMut, n: usize) {
    put_int_line(out, b'*', n as i64);
}

/// `%n` map header in RESP3; in RESP2 the map is a flat array of `2n` elements.
pub fn map_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_int_line(out, b'*', 2 * n as i64),
        Protocol::Resp3 => put_int_line(out, b'%', n as i64),
    }
}

/// `~n` set header in RESP3; an array in RESP2.
pub fn set_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_int_line(out, b'*', n as i64),
        Protocol::Resp3 => put_int_line(out, b'~', n as i64),
    }
}

/// `>n` push header in RESP3; an array in RESP2.
pub fn push_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_int_line(out, b'*', n as i64),
        Protocol::Resp3 => put_int_line(out, b'>', n as i64),
    }
}

/// `,double` in RESP3; a bulk string in RESP2. `text` is the Redis formatting of the value.
pub fn double(out: &mut BytesMut, text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            out.put_u8(b',');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// `#t`/`#f` in RESP3; `:1`/`:0` in RESP2.
pub fn boolean(out: &mut BytesMut, v: bool, proto: Protocol) {
    match proto {
        Protocol::Resp2 => integer(out, v as i64),
        Protocol::Resp3 => out.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" }),
    }
}

/// `=len\r\ntxt:data` verbatim string in RESP3; a bulk string in RESP2.
pub fn verbatim(out: &mut BytesMut, data: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, data),
        Protocol::Resp3 => {
            put_int_line(out, b'=', data.len() as i64 + 4);
            out.extend_from_slice(b"txt:");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_lines_at_the_fast_path_boundaries() {
        for n in [0, 9, 10, 99, 100, -1, -10, 12345, i64::MIN, i64::MAX] {
            let mut o = BytesMut::new();
            integer(&mut o, n);
            assert_eq!(&o[..], format!(":{n}\r\n").as_bytes());
        }
    }

    #[test]
    fn encodes_each_type() {
        let mut o = BytesMut::new();
        simple(&mut o, b"OK");
        error(&mut o, b"ERR a\nb");
        integer(&mut o, -7);
        bulk(&mut o, b"hi");
        null(&mut o, Protocol::Resp2);
        null(&mut o, Protocol::Resp3);
        map_len(&mut o, 2, Protocol::Resp2);
        map_len(&mut o, 2, Protocol::Resp3);
        double(&mut o, b"1.5", Protocol::Resp2);
        double(&mut o, b"1.5", Protocol::Resp3);
        boolean(&mut o, true, Protocol::Resp3);
        assert_eq!(&o[..], &b"+OK\r\n-ERR a b\r\n:-7\r\n$2\r\nhi\r\n$-1\r\n_\r\n*4\r\n%2\r\n$3\r\n1.5\r\n,1.5\r\n#t\r\n"[..]);
    }
}
