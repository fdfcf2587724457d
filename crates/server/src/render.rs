//! Rendering protocol-neutral replies: RESP2/RESP3 for the TCP face, RESP2-shaped JSON for REST.

use base64::Engine as _;
use bytes::BytesMut;
use stashd_engine::reply::format_double;
use stashd_engine::{CmdError, Reply};
use stashd_resp::encode as enc;
use stashd_resp::Protocol;

/// Appends `reply` in RESP to `out`.
pub fn resp(out: &mut BytesMut, reply: &Reply, proto: Protocol) {
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Status(s) => enc::simple(out, s),
        Reply::Error(e) => enc::error(out, e.as_bytes()),
        Reply::Int(n) => enc::integer(out, *n),
        Reply::UInt(n) => enc::unsigned(out, *n),
        Reply::Bulk(b) => enc::bulk(out, b),
        Reply::Nil => enc::null(out, proto),
        Reply::NilArray => enc::null_array(out, proto),
        Reply::Array(items) => {
            enc::array_len(out, items.len());
            items.iter().for_each(|i| resp(out, i, proto));
        }
        Reply::Double(d) => enc::double(out, format_double(*d).as_bytes(), proto),
        Reply::DoubleText(t) => enc::double(out, t, proto),
        Reply::Map(pairs) => {
            enc::map_len(out, pairs.len(), proto);
            for (k, v) in pairs {
                resp(out, k, proto);
                resp(out, v, proto);
            }
        }
        Reply::Set(items) => {
            enc::set_len(out, items.len(), proto);
            items.iter().for_each(|i| resp(out, i, proto));
        }
        Reply::Bool(b) => enc::boolean(out, *b, proto),
        Reply::Verbatim(b) => enc::verbatim(out, b, proto),
        Reply::Push(items) => {
            enc::push_len(out, items.len(), proto);
            items.iter().for_each(|i| resp(out, i, proto));
        }
        Reply::Seq(replies) => replies.iter().for_each(|r| resp(out, r, proto)),
    }
}

/// Appends an error line.
pub fn resp_error(out: &mut BytesMut, e: &CmdError) {
    enc::error(out, e.to_string().as_bytes());
}

/// Appends an error line from text (already carrying its `ERR`-style prefix).
pub fn resp_error_text(out: &mut BytesMut, text: &str) {
    enc::error(out, text.as_bytes());
}

/// Appends `s` as a JSON string literal.
fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Appends bytes as a JSON string: base64 when `b64`, else UTF-8 with invalid bytes replaced.
fn json_bytes(out: &mut Vec<u8>, b: &[u8], b64: bool) {
    if b64 {
        out.push(b'"');
        let mut s = String::new();
        base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        json_str(out, &String::from_utf8_lossy(b));
    }
}

/// Appends the JSON value of a reply (RESP2 shape: maps flatten, doubles become strings,
/// booleans become 0/1). At the top level an `OK` status stays raw even in base64 mode.
pub fn json_value(out: &mut Vec<u8>, reply: &Reply, b64: bool, top: bool) {
    match reply {
        Reply::Ok => {
            if b64 && !top {
                json_bytes(out, b"OK", true)
            } else {
                out.extend_from_slice(b"\"OK\"")
            }
        }
        Reply::Status(s) => json_bytes(out, s, b64),
        Reply::Error(e) => json_str(out, e),
        Reply::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Reply::UInt(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Reply::Bulk(b) | Reply::Verbatim(b) | Reply::DoubleText(b) => json_bytes(out, b, b64),
        Reply::Nil | Reply::NilArray => out.extend_from_slice(b"null"),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Seq(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, item, b64, false);
            }
            out.push(b']');
        }
        Reply::Map(pairs) => {
            out.push(b'[');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, k, b64, false);
                out.push(b',');
                json_value(out, v, b64, false);
            }
            out.push(b']');
        }
        Reply::Double(d) => json_bytes(out, format_double(*d).as_bytes(), b64),
        Reply::Bool(v) => out.push(if *v { b'1' } else { b'0' }),
    }
}

/// Appends `{"result": …}` or `{"error": "…"}`.
pub fn json_result(out: &mut Vec<u8>, r: &Result<Reply, CmdError>, b64: bool) {
    match r {
        Ok(Reply::Error(e)) => {
            out.extend_from_slice(b"{\"error\":");
            json_str(out, e);
            out.push(b'}');
        }
        Ok(reply) => {
            out.extend_from_slice(b"{\"result\":");
            json_value(out, reply, b64, true);
            out.push(b'}');
        }
        Err(e) => json_error(out, &e.to_string()),
    }
}

/// Appends `{"error": msg}`.
pub fn json_error(out: &mut Vec<u8>, msg: &str) {
    out.extend_from_slice(b"{\"error\":");
    json_str(out, msg);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn j(r: &Reply, b64: bool) -> String {
        let mut o = Vec::new();
        json_result(&mut o, &Ok(r.clone()), b64);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn json_shapes() {
        assert_eq!(j(&Reply::Ok, true), r#"{"result":"OK"}"#);
        assert_eq!(j(&Reply::Array(vec![Reply::Ok]), true), r#"{"result":["T0s="]}"#);
        assert_eq!(j(&Reply::Bulk(Bytes::from("bar")), true), r#"{"result":"YmFy"}"#);
        assert_eq!(j(&Reply::Bulk(Bytes::from("a\"b\n")), false), r#"{"result":"a\"b\n"}"#);
        assert_eq!(j(&Reply::Bulk(Bytes::from_static(&[0xff, b'a'])), false), "{\"result\":\"\u{fffd}a\"}");
        assert_eq!(j(&Reply::Double(1.5), false), r#"{"result":"1.5"}"#);
        assert_eq!(j(&Reply::Map(vec![(Reply::Bulk("f".into()), Reply::Int(1))]), false), r#"{"result":["f",1]}"#);
        assert_eq!(j(&Reply::Nil, true), r#"{"result":null}"#);
        let mut o = Vec::new();
        json_result(&mut o, &Err(CmdError::WrongType), true);
        assert_eq!(String::from_utf8(o).unwrap(), r#"{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}"#);
    }

    #[test]
    fn resp_shapes() {
        let mut o = BytesMut::new();
        resp(&mut o, &Reply::Map(vec![(Reply::Bulk("a".into()), Reply::Double(2.0))]), Protocol::Resp2);
        assert_eq!(&o[..], b"*2\r\n$1\r\na\r\n$1\r\n2\r\n");
        let mut o = BytesMut::new();
        resp(&mut o, &Reply::Map(vec![(Reply::Bulk("a".into()), Reply::Double(2.0))]), Protocol::Resp3);
        assert_eq!(&o[..], b"%1\r\n$1\r\na\r\n,2\r\n");
    }
}
