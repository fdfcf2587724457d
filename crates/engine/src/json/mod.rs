//! JSON documents for the RedisJSON command family ([`crate::cmd::json`]): the document tree
//! ([`Json`], keys in insertion order, integers and floats kept apart), parsing from argument
//! bytes with serde_json's error texts, serialization (compact, or formatted the way `JSON.GET`'s
//! `INDENT`/`NEWLINE`/`SPACE` ask), RFC 7396 merge, and access by location. Paths (legacy and
//! JSONPath) are in [`path`].

mod object;
pub mod path;

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::CmdError;
pub use path::{Path, Seg};

pub use object::Object;

/// Deepest nesting of arrays and objects a document may have (serde_json's parsing limit).
pub const MAX_DEPTH: usize = 127;

/// A JSON value. Integers and floats are distinct, as in RedisJSON: `1` is an integer, `1.0` a
/// float, and arithmetic on an integer with an integer stays an integer.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number written without fraction or exponent that fits in an i64.
    Int(i64),
    /// Any other number (always finite).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object (boxed: an ordered map is much larger than the other variants, and every
    /// array element pays for the largest one).
    Object(Box<Object>),
}

/// How to lay out serialized JSON (`JSON.GET`'s `INDENT`, `NEWLINE` and `SPACE`); the default is
/// compact.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout<'a> {
    /// Written once per nesting level at the start of each line.
    pub indent: &'a [u8],
    /// Written before each member and before a closing bracket of a non-empty container.
    pub newline: &'a [u8],
    /// Written after each `:`.
    pub space: &'a [u8],
}

impl Layout<'_> {
    fn compact(&self) -> bool {
        self.indent.is_empty() && self.newline.is_empty() && self.space.is_empty()
    }
}

/// Parses one JSON value from argument bytes. Errors carry serde_json's text
/// (`ERR expected value at line 1 column 1`); nothing may follow the value but whitespace.
pub fn parse(text: &[u8]) -> Result<Json, CmdError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = Json::deserialize(&mut de).map_err(CmdError::err)?;
    de.end().map_err(CmdError::err)?;
    Ok(v)
}

impl Json {
    /// The name `JSON.TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Int(_) => "integer",
            Json::Float(_) => "number",
            Json::Str(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// Nesting depth: 0 for a scalar, 1 + the deepest member for a container.
    pub fn depth(&self) -> usize {
        match self {
            Json::Array(a) => 1 + a.iter().map(Json::depth).max().unwrap_or(0),
            Json::Object(o) => 1 + o.values().map(Json::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Rough heap footprint in bytes (for `MEMORY USAGE`).
    pub fn approx_size(&self) -> usize {
        let node = std::mem::size_of::<Json>();
        node + match self {
            Json::Str(s) => s.len(),
            Json::Array(a) => a.iter().map(Json::approx_size).sum(),
            Json::Object(o) => o.iter().map(|(k, v)| k.len() + 16 + v.approx_size()).sum(),
            _ => 0,
        }
    }

    /// Compact serialization, as `JSON.GET` sends it by default.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out, &Layout::default(), 0);
        out
    }

    /// Serializes into `out` with `layout`, `level` being the current nesting level.
    pub fn write(&self, out: &mut Vec<u8>, layout: &Layout, level: usize) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Json::Float(f) => write_float(out, *f),
            Json::Str(s) => write_str(out, s),
            Json::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    line(out, layout, level + 1);
                    v.write(out, layout, level + 1);
                }
                if !a.is_empty() {
                    line(out, layout, level);
                }
                out.push(b']');
            }
            Json::Object(o) => {
                out.push(b'{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    line(out, layout, level + 1);
                    write_str(out, k);
                    out.push(b':');
                    out.extend_from_slice(layout.space);
                    v.write(out, layout, level + 1);
                }
                if !o.is_empty() {
                    line(out, layout, level);
                }
                out.push(b'}');
            }
        }
    }

    /// The value at `loc` (a normalized location from [`Path::eval`]).
    pub fn at(&self, loc: &[Seg]) -> Option<&Json> {
        loc.iter().try_fold(self, |node, seg| match (node, seg) {
            (Json::Object(o), Seg::Key(k)) => o.get(k.as_str()),
            (Json::Array(a), Seg::Idx(i)) => a.get(*i),
            _ => None,
        })
    }

    /// Mutable access to the value at `loc`.
    pub fn at_mut(&mut self, loc: &[Seg]) -> Option<&mut Json> {
        loc.iter().try_fold(self, |node, seg| match (node, seg) {
            (Json::Object(o), Seg::Key(k)) => o.get_mut(k.as_str()),
            (Json::Array(a), Seg::Idx(i)) => a.get_mut(*i),
            _ => None,
        })
    }

    /// Removes the value at a non-root `loc` (object members keep their order), returning it.
    pub fn remove_at(&mut self, loc: &[Seg]) -> Option<Json> {
        let (last, parent) = loc.split_last()?;
        match (self.at_mut(parent)?, last) {
            (Json::Object(o), Seg::Key(k)) => o.shift_remove(k.as_str()),
            (Json::Array(a), Seg::Idx(i)) if *i < a.len() => Some(a.remove(*i)),
            _ => None,
        }
    }

    /// Applies an RFC 7396 merge patch: an object patch merges member by member (a `null`
    /// member deletes), anything else replaces the value.
    pub fn merge(&mut self, patch: &Json) {
        let Json::Object(p) = patch else {
            *self = patch.clone();
            return;
        };
        if !matches!(self, Json::Object(_)) {
            *self = Json::Object(Box::default());
        }
        if let Json::Object(o) = self {
            for (k, v) in p.iter() {
                if matches!(v, Json::Null) {
                    o.shift_remove(k.as_str());
                } else {
                    o.get_or_insert(k.clone(), Json::Null).merge(v);
                }
            }
        }
    }
}

fn line(out: &mut Vec<u8>, layout: &Layout, level: usize) {
    if layout.compact() {
        return;
    }
    out.extend_from_slice(layout.newline);
    for _ in 0..level {
        out.extend_from_slice(layout.indent);
    }
}

/// A float as serde_json (and so RedisJSON) prints it: shortest round-trip form, always with a
/// fraction or exponent (`2.0`, `3.5`, `1e20`).
pub fn write_float(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A JSON string literal with serde_json's escaping (quotes, backslash, control characters).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(i64::try_from(v).map_or(Json::Float(v as f64), Json::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        if v.is_finite() {
            Ok(Json::Float(v))
        } else {
            Err(E::custom("number out of range"))
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut a = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element::<Json>()? {
            a.push(v);
        }
        Ok(Json::Array(a))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut o = Object::default();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value::<Json>()?;
            o.insert(k, v);
        }
        Ok(Json::Object(Box::new(o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &Json) -> String {
        String::from_utf8(v.to_bytes()).unwrap()
    }

    #[test]
    fn parse_and_serialize_round_trip() {
        let v = parse(r#" {"b":1,"a":[1.5,2.0,-0.5,1e20,true,null,"x\"\n\u0001é"],"c":{}} "#.as_bytes()).unwrap();
        assert_eq!(s(&v), r#"{"b":1,"a":[1.5,2.0,-0.5,1e20,true,null,"x\"\n\u0001é"],"c":{}}"#);
        assert_eq!(parse(b"1").unwrap(), Json::Int(1));
        assert_eq!(parse(b"1.0").unwrap(), Json::Float(1.0));
        assert_eq!(parse(b"9223372036854775807").unwrap(), Json::Int(i64::MAX));
        assert_eq!(parse(b"").unwrap_err().to_string(), "ERR EOF while parsing a value at line 1 column 0");
        assert_eq!(parse(b"abc").unwrap_err().to_string(), "ERR expected value at line 1 column 1");
        assert_eq!(parse(b"1 2").unwrap_err().to_string(), "ERR trailing characters at line 1 column 3");
        assert!(parse(b"\"\xff\"").is_err());
    }

    #[test]
    fn small_nodes() {
        // Array elements and object members pay for the largest variant: keep it at a String.
        assert_eq!(std::mem::size_of::<Json>(), 32);
    }

    #[test]
    fn depth_limit_round_trips() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let v = parse(deep.as_bytes()).unwrap();
        assert_eq!(v.depth(), MAX_DEPTH);
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(deeper.as_bytes()).unwrap_err().to_string().contains("recursion limit"));
    }

    #[test]
    fn layout() {
        let v = parse(br#"{"a":[1,{}],"b":{"c":"d"},"e":[]}"#).unwrap();
        let mut out = Vec::new();
        v.write(&mut out, &Layout { indent: b"  ", newline: b"\n", space: b" " }, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"d\"\n  },\n  \"e\": []\n}"
        );
        let mut out = Vec::new();
        v.write(&mut out, &Layout { space: b" ", ..Layout::default() }, 0);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a": [1,{}],"b": {"c": "d"},"e": []}"#);
    }

    #[test]
    fn merge_patch() {
        let mut v = parse(br#"{"a":"b","c":{"d":"e","f":"g"},"arr":[1]}"#).unwrap();
        v.merge(&parse(br#"{"a":"z","c":{"f":null,"h":{"x":null,"y":1}},"arr":[2,3]}"#).unwrap());
        assert_eq!(s(&v), r#"{"a":"z","c":{"d":"e","h":{"y":1}},"arr":[2,3]}"#);
        v.merge(&Json::Int(3));
        assert_eq!(v, Json::Int(3));
    }

    #[test]
    fn locations() {
        let mut v = parse(br#"{"a":[1,{"b":2}],"c":3}"#).unwrap();
        let loc = [Seg::Key("a".into()), Seg::Idx(1), Seg::Key("b".into())];
        assert_eq!(v.at(&loc), Some(&Json::Int(2)));
        assert_eq!(v.remove_at(&[Seg::Key("a".into()), Seg::Idx(0)]), Some(Json::Int(1)));
        assert_eq!(v.remove_at(&[Seg::Key("a".into()), Seg::Idx(5)]), None);
        assert_eq!(v.remove_at(&[Seg::Key("a".into())]).map(|j| j.type_name()), Some("array"));
        assert_eq!(s(&v), r#"{"c":3}"#);
    }
}
