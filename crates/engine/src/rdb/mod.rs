//! Redis's serialization format for single values (`DUMP`/`RESTORE`, `rdb.c`): an RDB object
//! type byte, the object, the RDB version (2 bytes LE) and a CRC-64 (Jones, as `crc64.c`) of
//! everything before it (8 bytes LE).
//!
//! [`dump`] writes RDB version 10 (Redis 7.0), so redis-server 7.0 and later restore what stashd
//! dumps: strings, and lists, sets, hashes and sorted sets in their plain (length-prefixed)
//! forms, streams as listpack nodes with groups and PELs. [`restore`] reads versions up to 12
//! and the encodings Redis 7.x writes (listpacks, intsets, quicklists, LZF strings).

pub mod listpack;
pub mod lzf;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use crate::compact::CompactBytes;
use crate::hash::Hash;
use crate::stream::{Consumer, Group, Node, Pending, Stream, StreamId};
use crate::value::{Set, Value};
use crate::zset::ZSet;

/// The payload is not a valid serialized value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// The RDB version DUMP writes (Redis 7.0's).
pub const DUMP_VERSION: u16 = 10;
/// The newest RDB version RESTORE accepts (Redis 7.4's).
pub const MAX_VERSION: u16 = 12;
/// The RDB version of a hash with field TTLs (Redis 7.4's hash-with-metadata type).
pub const HFE_VERSION: u16 = 12;

// Object types (`rdb.h`).
const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_ZSET: u8 = 3;
const T_HASH: u8 = 4;
const T_ZSET_2: u8 = 5;
const T_SET_INTSET: u8 = 11;
const T_HASH_LISTPACK: u8 = 16;
const T_ZSET_LISTPACK: u8 = 17;
const T_LIST_QUICKLIST_2: u8 = 18;
const T_STREAM_LISTPACKS: u8 = 15;
const T_STREAM_LISTPACKS_2: u8 = 19;
const T_SET_LISTPACK: u8 = 20;
const T_STREAM_LISTPACKS_3: u8 = 21;
const T_HASH_METADATA_PRE_GA: u8 = 22;
const T_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
const T_HASH_METADATA: u8 = 24;
const T_HASH_LISTPACK_EX: u8 = 25;
const T_MODULE_2: u8 = 7;

/// Module-value opcodes (`RDB_MODULE_OPCODE_*`).
const MODULE_OPCODE_EOF: u64 = 0;
const MODULE_OPCODE_STRING: u64 = 5;
/// RedisJSON's module type name and the encoding version whose values are the document's JSON
/// text in one string.
const JSON_TYPE_NAME: &[u8; 9] = b"ReJSON-RL";
const JSON_ENCVER: u64 = 3;

/// A module type id as Redis encodes it: nine 6-bit name characters, then a 10-bit version.
fn module_type_id(name: &[u8; 9], encver: u64) -> u64 {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for c in name {
        let pos = CHARSET.iter().position(|x| x == c).unwrap_or(0) as u64;
        id = (id << 6) | pos;
    }
    (id << 10) | encver
}

use crate::stream::{FLAG_DELETED as STREAM_FLAG_DELETED, FLAG_SAMEFIELDS as STREAM_FLAG_SAMEFIELDS};

/// CRC-64 as Redis computes it.
pub fn crc64(data: &[u8]) -> u64 {
    crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(data)
}

/// Serializes `v` as DUMP does; `None` for value kinds this format cannot carry yet.
pub fn dump(v: &Value) -> Option<Vec<u8>> {
    let mut w = Vec::new();
    let mut version = DUMP_VERSION;
    match v {
        Value::Str(s) => {
            w.push(T_STRING);
            write_string(&mut w, s.as_slice());
        }
        Value::List(l) => {
            w.push(T_LIST);
            write_len(&mut w, l.len() as u64);
            for e in l.iter() {
                write_string(&mut w, e);
            }
        }
        Value::Set(s) => {
            w.push(T_SET);
            write_len(&mut w, s.len() as u64);
            for e in s.iter() {
                write_string(&mut w, e);
            }
        }
        // Field TTLs: Redis 7.4's RDB_TYPE_HASH_METADATA (RDB 12): the smallest expiry, then per
        // field its expiry relative to it (+1; 0 = none), the field and the value.
        Value::Hash(h) if h.ttl_count() > 0 => {
            version = HFE_VERSION;
            let min = h.ttls().map(|(_, at)| at).min().unwrap_or(0);
            w.push(T_HASH_METADATA);
            w.extend(min.to_le_bytes());
            write_len(&mut w, h.len() as u64);
            for (f, v) in h.iter() {
                write_len(&mut w, h.expire_at(f).map_or(0, |at| at - min + 1));
                write_string(&mut w, f);
                write_string(&mut w, v);
            }
        }
        Value::Hash(h) => {
            w.push(T_HASH);
            write_len(&mut w, h.len() as u64);
            for (f, v) in h.iter() {
                write_string(&mut w, f);
                write_string(&mut w, v);
            }
        }
        Value::ZSet(z) => {
            w.push(T_ZSET_2);
            write_len(&mut w, z.len() as u64);
            // Redis writes members from the highest score down, so loading appends cheaply.
            for (m, score) in z.iter().rev() {
                write_string(&mut w, m);
                w.extend(score.to_le_bytes());
            }
        }
        Value::Stream(s) => {
            w.push(T_STREAM_LISTPACKS_2);
            write_stream(&mut w, s, false);
        }
        // RedisJSON's module value: its type id, then the document as one JSON string.
        Value::Json(j) => {
            w.push(T_MODULE_2);
            write_len(&mut w, module_type_id(JSON_TYPE_NAME, JSON_ENCVER));
            write_len(&mut w, MODULE_OPCODE_STRING);
            write_string(&mut w, &j.to_bytes());
            write_len(&mut w, MODULE_OPCODE_EOF);
        }
        // Redis 8.8's array type is not written (yet); DUMP says so.
        Value::Array(_) => return None,
    }
    w.extend(version.to_le_bytes());
    let crc = crc64(&w);
    w.extend(crc.to_le_bytes());
    Some(w)
}

/// A stream's full DUMP payload for the log rewrite: Redis 7.2's stream format (RDB 11), which
/// also keeps each consumer's active time. `RESTORE` of it gives back the same stream, node
/// layout, deleted entries and groups included.
pub fn dump_stream_exact(s: &Stream) -> Vec<u8> {
    let mut w = vec![T_STREAM_LISTPACKS_3];
    write_stream(&mut w, s, true);
    w.extend(STREAM_EXACT_VERSION.to_le_bytes());
    let crc = crc64(&w);
    w.extend(crc.to_le_bytes());
    w
}

/// The RDB version whose stream type carries consumers' active times (Redis 7.2).
const STREAM_EXACT_VERSION: u16 = 11;

/// The RDB opcode of a function library (`RDB_OPCODE_FUNCTION2`).
const OPCODE_FUNCTION2: u8 = 245;

/// FUNCTION DUMP's payload: each library's code behind the function opcode.
pub fn dump_functions(codes: &[Bytes]) -> Vec<u8> {
    let mut w = Vec::new();
    for code in codes {
        w.push(OPCODE_FUNCTION2);
        write_string(&mut w, code);
    }
    w.extend(DUMP_VERSION.to_le_bytes());
    let crc = crc64(&w);
    w.extend(crc.to_le_bytes());
    w
}

/// The library codes of a FUNCTION DUMP payload (already checked with [`verify`]); the error
/// is Redis's text.
pub fn restore_functions(payload: &[u8]) -> Result<Vec<Bytes>, &'static str> {
    let body = payload.get(..payload.len().saturating_sub(10)).ok_or("can not read data type")?;
    let mut r = Reader { b: body, p: 0 };
    let mut out = Vec::new();
    while r.p < body.len() {
        let kind = r.byte().map_err(|_| "can not read data type")?;
        if kind != OPCODE_FUNCTION2 {
            return Err("given type is not a function");
        }
        out.push(r.bytes().map_err(|_| "failed loading the given functions payload")?);
    }
    Ok(out)
}

/// True if `payload` ends with a version this server reads and a matching CRC-64.
pub fn verify(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let n = payload.len();
    let version = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    let crc = u64::from_le_bytes(payload[n - 8..].try_into().unwrap_or([0; 8]));
    version <= MAX_VERSION && crc64(&payload[..n - 8]) == crc
}

/// Deserializes a DUMP payload (already checked with [`verify`]).
pub fn restore(payload: &[u8]) -> Result<Value, Corrupt> {
    let body = payload.get(..payload.len().saturating_sub(10)).ok_or(Corrupt)?;
    let mut r = Reader { b: body, p: 0 };
    let kind = r.byte()?;
    let v = r.object(kind)?;
    if r.p != body.len() {
        return Err(Corrupt);
    }
    Ok(v)
}

fn write_len(w: &mut Vec<u8>, n: u64) {
    if n < 64 {
        w.push(n as u8);
    } else if n < 16384 {
        w.extend([0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u32::MAX as u64 {
        w.push(0x80);
        w.extend((n as u32).to_be_bytes());
    } else {
        w.push(0x81);
        w.extend(n.to_be_bytes());
    }
}

/// A string, integer-encoded when it is a canonical integer that fits 32 bits (as Redis).
fn write_string(w: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = listpack::canonical_int(s) {
            if let Ok(x) = i8::try_from(n) {
                w.push(0xC0);
                w.push(x as u8);
                return;
            } else if let Ok(x) = i16::try_from(n) {
                w.push(0xC1);
                w.extend(x.to_le_bytes());
                return;
            } else if let Ok(x) = i32::try_from(n) {
                w.push(0xC2);
                w.extend(x.to_le_bytes());
                return;
            }
        }
    }
    write_len(w, s.len() as u64);
    w.extend_from_slice(s);
}

fn raw_id(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Writes a stream's listpack nodes as Redis's layout has them (the stream models it): each
/// node's live and deleted entries, so the listpacks are the ones Redis would write.
fn write_stream(w: &mut Vec<u8>, s: &Stream, active_times: bool) {
    write_len(w, s.nodes.len() as u64);
    for (master_id, node) in &s.nodes {
        let mut items: Vec<(StreamId, &Vec<Bytes>, bool)> =
            s.entries.range(*master_id..=node.last).map(|(id, f)| (*id, f, false)).collect();
        items.extend(node.tombstones.iter().map(|(id, f)| (*id, f, true)));
        items.sort_unstable_by_key(|(id, _, _)| *id);
        let mut lp = listpack::Writer::new();
        lp.push_int(node.live as i64);
        lp.push_int(node.tombstones.len() as i64);
        lp.push_int(node.master_fields.len() as i64);
        for n in &node.master_fields {
            lp.push(n);
        }
        lp.push_int(0);
        for (id, fields, deleted) in items {
            let pairs = fields.len() / 2;
            let same = node.same_fields(fields);
            let flags = if same { STREAM_FLAG_SAMEFIELDS } else { 0 } | if deleted { STREAM_FLAG_DELETED } else { 0 };
            lp.push_int(flags);
            lp.push_int(id.ms.wrapping_sub(master_id.ms) as i64);
            lp.push_int(id.seq.wrapping_sub(master_id.seq) as i64);
            if same {
                for v in fields.iter().skip(1).step_by(2) {
                    lp.push(v);
                }
            } else {
                lp.push_int(pairs as i64);
                for x in fields.iter() {
                    lp.push(x);
                }
            }
            let parts = if same { pairs + 3 } else { 2 * pairs + 4 };
            lp.push_int(parts as i64);
        }
        write_string(w, &raw_id(*master_id));
        write_string(w, &lp.finish_bytes());
    }
    write_len(w, s.len() as u64);
    write_len(w, s.last_id.ms);
    write_len(w, s.last_id.seq);
    let first = s.first_id();
    write_len(w, first.ms);
    write_len(w, first.seq);
    write_len(w, s.max_deleted_id.ms);
    write_len(w, s.max_deleted_id.seq);
    write_len(w, s.entries_added);
    write_len(w, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(w, name);
        write_len(w, g.last_id.ms);
        write_len(w, g.last_id.seq);
        write_len(w, g.entries_read.unwrap_or(u64::MAX));
        write_len(w, g.pel.len() as u64);
        for (id, p) in &g.pel {
            w.extend(raw_id(*id));
            w.extend(p.delivery_time.to_le_bytes());
            write_len(w, p.delivery_count);
        }
        write_len(w, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            write_string(w, cname);
            w.extend(c.seen_time.to_le_bytes());
            if active_times {
                w.extend(c.active_time.unwrap_or(u64::MAX).to_le_bytes());
            }
            write_len(w, c.pending.len() as u64);
            for id in &c.pending {
                w.extend(raw_id(*id));
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Corrupt> {
        let s = self.b.get(self.p..self.p.checked_add(n).ok_or(Corrupt)?).ok_or(Corrupt)?;
        self.p += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, Corrupt> {
        Ok(self.take(1)?[0])
    }

    /// A length, or the special-encoding tag (`Err`-free: `(value, is_encoded)`).
    fn len_or_enc(&mut self) -> Result<(u64, bool), Corrupt> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => ((first & 0x3F) as u64, false),
            1 => ((((first & 0x3F) as u64) << 8) | self.byte()? as u64, false),
            2 => match first {
                0x80 => (u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| Corrupt)?) as u64, false),
                0x81 => (u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| Corrupt)?), false),
                _ => return Err(Corrupt),
            },
            _ => ((first & 0x3F) as u64, true),
        })
    }

    fn len(&mut self) -> Result<u64, Corrupt> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err(Corrupt),
        }
    }

    /// A count of items that each need at least one byte (guards huge allocations).
    fn count(&mut self) -> Result<usize, Corrupt> {
        let n = self.len()?;
        if n > (self.b.len() - self.p) as u64 {
            return Err(Corrupt);
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<Vec<u8>, Corrupt> {
        let (n, encoded) = self.len_or_enc()?;
        if !encoded {
            return Ok(self.take(usize::try_from(n).map_err(|_| Corrupt)?)?.to_vec());
        }
        Ok(match n {
            0 => (self.byte()? as i8).to_string().into_bytes(),
            1 => i16::from_le_bytes(self.take(2)?.try_into().map_err(|_| Corrupt)?).to_string().into_bytes(),
            2 => i32::from_le_bytes(self.take(4)?.try_into().map_err(|_| Corrupt)?).to_string().into_bytes(),
            3 => {
                let clen = self.len()? as usize;
                let len = self.len()? as usize;
                if len > 512 * 1024 * 1024 {
                    return Err(Corrupt);
                }
                lzf::decompress(self.take(clen)?, len)?
            }
            _ => return Err(Corrupt),
        })
    }

    fn bytes(&mut self) -> Result<Bytes, Corrupt> {
        self.string().map(Bytes::from)
    }

    fn ms(&mut self) -> Result<u64, Corrupt> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| Corrupt)?))
    }

    fn raw_id(&mut self) -> Result<StreamId, Corrupt> {
        let k = self.take(16)?;
        id_from_key(k)
    }

    fn object(&mut self, kind: u8) -> Result<Value, Corrupt> {
        let v = match kind {
            T_STRING => Value::Str(CompactBytes::from_slice(&self.string()?)),
            T_LIST => {
                let n = self.count()?;
                let mut l = VecDeque::with_capacity(n);
                for _ in 0..n {
                    l.push_back(self.bytes()?);
                }
                Value::List(Arc::new(l))
            }
            T_LIST_QUICKLIST_2 => {
                let nodes = self.count()?;
                let mut l = VecDeque::new();
                for _ in 0..nodes {
                    let container = self.len()?;
                    let blob = self.string()?;
                    match container {
                        1 => l.push_back(Bytes::from(blob)),
                        2 => l.extend(listpack::decode(&blob)?.iter().map(|i| Bytes::from(i.to_vec()))),
                        _ => return Err(Corrupt),
                    }
                }
                Value::List(Arc::new(l))
            }
            T_SET => {
                let n = self.count()?;
                let mut s = Set::default();
                for _ in 0..n {
                    s.insert(self.bytes()?);
                }
                Value::Set(Arc::new(s))
            }
            T_SET_INTSET => Value::Set(Arc::new(intset(&self.string()?)?)),
            T_SET_LISTPACK => {
                let blob = self.string()?;
                let s: Set<Bytes> = listpack::decode(&blob)?.iter().map(|i| Bytes::from(i.to_vec())).collect();
                Value::Set(Arc::new(s))
            }
            T_HASH => {
                let n = self.count()?;
                let mut h = Hash::new();
                for _ in 0..n {
                    let f = self.bytes()?;
                    h.insert(f, self.bytes()?);
                }
                Value::Hash(Arc::new(h))
            }
            T_HASH_METADATA | T_HASH_METADATA_PRE_GA => {
                let min = if kind == T_HASH_METADATA { Some(self.ms()?) } else { None };
                let n = self.count()?;
                let mut h = Hash::new();
                for _ in 0..n {
                    let ttl = self.len()?;
                    let at = match (ttl, min) {
                        (0, _) => 0,
                        (t, Some(m)) => (t - 1).checked_add(m).ok_or(Corrupt)?,
                        (t, None) => t,
                    };
                    let f = self.bytes()?;
                    let v = self.bytes()?;
                    if h.insert(f.clone(), v).is_some() {
                        return Err(Corrupt);
                    }
                    if at != 0 {
                        h.set_expire(&f, at);
                    }
                }
                Value::Hash(Arc::new(h))
            }
            T_HASH_LISTPACK_EX | T_HASH_LISTPACK_EX_PRE_GA => {
                if kind == T_HASH_LISTPACK_EX {
                    self.ms()?; // the smallest expiry, kept for Redis's own use
                }
                let blob = self.string()?;
                let items = listpack::decode(&blob)?;
                if items.len() % 3 != 0 {
                    return Err(Corrupt);
                }
                let mut h = Hash::new();
                for t in items.chunks(3) {
                    let f = Bytes::from(t[0].to_vec());
                    if h.insert(f.clone(), Bytes::from(t[1].to_vec())).is_some() {
                        return Err(Corrupt);
                    }
                    let at = t[2].as_int()?;
                    if at > 0 {
                        h.set_expire(&f, at as u64);
                    }
                }
                Value::Hash(Arc::new(h))
            }
            T_HASH_LISTPACK => {
                let blob = self.string()?;
                let items = listpack::decode(&blob)?;
                if items.len() % 2 != 0 {
                    return Err(Corrupt);
                }
                let mut h = Hash::new();
                for p in items.chunks(2) {
                    h.insert(Bytes::from(p[0].to_vec()), Bytes::from(p[1].to_vec()));
                }
                Value::Hash(Arc::new(h))
            }
            T_ZSET | T_ZSET_2 => {
                let n = self.count()?;
                let mut z = ZSet::new();
                for _ in 0..n {
                    let m = self.bytes()?;
                    let score = if kind == T_ZSET_2 {
                        f64::from_le_bytes(self.take(8)?.try_into().map_err(|_| Corrupt)?)
                    } else {
                        self.old_double()?
                    };
                    if score.is_nan() {
                        return Err(Corrupt);
                    }
                    z.insert(m, score);
                }
                Value::ZSet(Arc::new(z))
            }
            T_ZSET_LISTPACK => {
                let blob = self.string()?;
                let items = listpack::decode(&blob)?;
                if items.len() % 2 != 0 {
                    return Err(Corrupt);
                }
                let mut z = ZSet::new();
                for p in items.chunks(2) {
                    let score = match &p[1] {
                        listpack::Item::Int(n) => *n as f64,
                        listpack::Item::Str(s) => std::str::from_utf8(s).ok().and_then(|t| t.parse::<f64>().ok()).ok_or(Corrupt)?,
                    };
                    if score.is_nan() {
                        return Err(Corrupt);
                    }
                    z.insert(Bytes::from(p[0].to_vec()), score);
                }
                Value::ZSet(Arc::new(z))
            }
            T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => Value::Stream(Arc::new(self.stream(kind)?)),
            T_MODULE_2 => {
                // Only RedisJSON values are known: the document's JSON text in one string.
                if self.len()? != module_type_id(JSON_TYPE_NAME, JSON_ENCVER) || self.len()? != MODULE_OPCODE_STRING {
                    return Err(Corrupt);
                }
                let text = self.string()?;
                if self.len()? != MODULE_OPCODE_EOF {
                    return Err(Corrupt);
                }
                let doc = crate::json::parse(&text).map_err(|_| Corrupt)?;
                Value::Json(Arc::new(doc))
            }
            _ => return Err(Corrupt),
        };
        let empty = match &v {
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            _ => false,
        };
        if empty {
            return Err(Corrupt);
        }
        Ok(v)
    }

    /// The old ZSET score encoding: a length byte and the text (253 NaN, 254 +inf, 255 -inf).
    fn old_double(&mut self) -> Result<f64, Corrupt> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let t = self.take(n as usize)?;
                std::str::from_utf8(t).ok().and_then(|t| t.parse().ok()).ok_or(Corrupt)
            }
        }
    }

    fn stream(&mut self, kind: u8) -> Result<Stream, Corrupt> {
        let mut s = Stream::default();
        let nodes = self.count()?;
        for _ in 0..nodes {
            let key = self.string()?;
            let master = id_from_key(&key)?;
            let blob = self.string()?;
            read_stream_node(&mut s, master, &blob)?;
        }
        let length = self.len()?;
        s.last_id = StreamId::new(self.len()?, self.len()?);
        if kind >= T_STREAM_LISTPACKS_2 {
            let _first = StreamId::new(self.len()?, self.len()?);
            s.max_deleted_id = StreamId::new(self.len()?, self.len()?);
            s.entries_added = self.len()?;
        } else {
            s.entries_added = length;
        }
        if length != s.len() as u64 || s.entries.last_key_value().is_some_and(|(top, _)| *top > s.last_id) {
            return Err(Corrupt);
        }
        let groups = self.count()?;
        for _ in 0..groups {
            let name = self.bytes()?;
            let last_id = StreamId::new(self.len()?, self.len()?);
            let entries_read = if kind >= T_STREAM_LISTPACKS_2 {
                let n = self.len()?;
                (n != u64::MAX).then_some(n)
            } else {
                None
            };
            let mut g = Group::new(last_id, entries_read);
            let pel = self.count()?;
            for _ in 0..pel {
                let id = self.raw_id()?;
                let delivery_time = self.ms()?;
                let delivery_count = self.len()?;
                g.pel.insert(id, Pending { consumer: Bytes::new(), delivery_time, delivery_count });
            }
            let consumers = self.count()?;
            for _ in 0..consumers {
                let cname = self.bytes()?;
                let seen_time = self.ms()?;
                // Formats before Redis 7.2 have no active time; like Redis, take the seen time.
                let active_time = if kind >= T_STREAM_LISTPACKS_3 { Some(self.ms()?).filter(|t| *t as i64 != -1) } else { Some(seen_time) };
                let n = self.count()?;
                let mut pending = BTreeSet::new();
                for _ in 0..n {
                    let id = self.raw_id()?;
                    let p = g.pel.get_mut(&id).ok_or(Corrupt)?;
                    if !p.consumer.is_empty() {
                        return Err(Corrupt);
                    }
                    p.consumer = cname.clone();
                    pending.insert(id);
                }
                g.consumers.insert(cname, Consumer { seen_time, active_time, pending });
            }
            // Every PEL entry must belong to a consumer.
            if g.pel.values().any(|p| p.consumer.is_empty()) {
                return Err(Corrupt);
            }
            s.groups.insert(name, g);
        }
        Ok(s)
    }
}

fn id_from_key(k: &[u8]) -> Result<StreamId, Corrupt> {
    if k.len() != 16 {
        return Err(Corrupt);
    }
    let ms = u64::from_be_bytes(k[..8].try_into().map_err(|_| Corrupt)?);
    let seq = u64::from_be_bytes(k[8..].try_into().map_err(|_| Corrupt)?);
    Ok(StreamId::new(ms, seq))
}

/// Reads one stream listpack node (master entry, then entries, deleted ones kept as such)
/// into `s`.
fn read_stream_node(s: &mut Stream, master: StreamId, blob: &[u8]) -> Result<(), Corrupt> {
    let items = listpack::decode(blob)?;
    let mut it = items.iter();
    let mut next = || it.next().ok_or(Corrupt);
    let count = u64::try_from(next()?.as_int()?).map_err(|_| Corrupt)?;
    let deleted = u64::try_from(next()?.as_int()?).map_err(|_| Corrupt)?;
    let nfields = usize::try_from(next()?.as_int()?).map_err(|_| Corrupt)?;
    if nfields > items.len() {
        return Err(Corrupt);
    }
    let mut names = Vec::with_capacity(nfields);
    for _ in 0..nfields {
        names.push(Bytes::from(next()?.to_vec()));
    }
    if next()?.as_int()? != 0 {
        return Err(Corrupt);
    }
    let total = count.checked_add(deleted).ok_or(Corrupt)?;
    // Every id must be above everything before it, deleted entries of earlier nodes included.
    let mut prev = s.nodes.last_key_value().map(|(_, n)| n.last);
    if prev.is_some_and(|p| master <= p) || total == 0 {
        return Err(Corrupt);
    }
    let mut node = Node { master_fields: names, ..Default::default() };
    for _ in 0..total {
        let flags = next()?.as_int()?;
        // Differences from the master id, in wrapping unsigned arithmetic (the sequence part
        // may be smaller than the master's).
        let ms = master.ms.wrapping_add(next()?.as_int()? as u64);
        let seq = master.seq.wrapping_add(next()?.as_int()? as u64);
        let mut fields = Vec::new();
        if flags & STREAM_FLAG_SAMEFIELDS != 0 {
            for name in &node.master_fields {
                fields.push(name.clone());
                fields.push(Bytes::from(next()?.to_vec()));
            }
        } else {
            let n = usize::try_from(next()?.as_int()?).map_err(|_| Corrupt)?;
            if n > items.len() {
                return Err(Corrupt);
            }
            for _ in 0..2 * n {
                fields.push(Bytes::from(next()?.to_vec()));
            }
        }
        next()?; // lp-count
        let id = StreamId::new(ms, seq);
        if prev.is_some_and(|p| p >= id) || id < master || fields.is_empty() {
            return Err(Corrupt);
        }
        prev = Some(id);
        node.last = id;
        if flags & STREAM_FLAG_DELETED != 0 {
            node.tombstones.insert(id, fields);
        } else {
            s.entries.insert(id, fields);
            node.live += 1;
        }
    }
    if node.live != count || next().is_ok() {
        return Err(Corrupt);
    }
    node.body = (blob.len() as u64).saturating_sub(node.bytes());
    s.nodes.insert(master, node);
    Ok(())
}

/// Decodes an intset blob: encoding (2, 4 or 8, u32 LE), length (u32 LE), sorted integers.
fn intset(b: &[u8]) -> Result<Set<Bytes>, Corrupt> {
    if b.len() < 8 {
        return Err(Corrupt);
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || b.len() != 8 + width * n {
        return Err(Corrupt);
    }
    let mut s = Set::default();
    for chunk in b[8..].chunks(width) {
        let v: i64 = match width {
            2 => i16::from_le_bytes([chunk[0], chunk[1]]) as i64,
            4 => i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as i64,
            _ => i64::from_le_bytes(chunk.try_into().map_err(|_| Corrupt)?),
        };
        s.insert(Bytes::from(v.to_string()));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> Value {
        let payload = dump(v).expect("dumpable");
        assert!(verify(&payload));
        restore(&payload).expect("restorable")
    }

    #[test]
    fn strings_and_collections_round_trip() {
        for s in ["", "hello", "12", "-129", "70000", "99999999999", "007"] {
            let Value::Str(back) = round_trip(&Value::Str(CompactBytes::from_slice(s.as_bytes()))) else { panic!() };
            assert_eq!(back.as_slice(), s.as_bytes());
        }
        let list: VecDeque<Bytes> = ["a", "1", "b"].iter().map(|s| Bytes::from(*s)).collect();
        let Value::List(l) = round_trip(&Value::List(Arc::new(list.clone()))) else { panic!() };
        assert_eq!(*l, list);
        let mut z = ZSet::new();
        z.insert(Bytes::from("x"), 1.5);
        z.insert(Bytes::from("y"), f64::NEG_INFINITY);
        let Value::ZSet(back) = round_trip(&Value::ZSet(Arc::new(z))) else { panic!() };
        assert_eq!(back.score(b"x"), Some(1.5));
        assert_eq!(back.score(b"y"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn checksum_and_version_are_checked() {
        let mut p = dump(&Value::Str(CompactBytes::from_slice(b"v"))).expect("dumpable");
        assert!(verify(&p));
        let n = p.len();
        p[n - 1] ^= 1;
        assert!(!verify(&p));
        p[n - 1] ^= 1;
        p[n - 10] = 13; // version 13
        assert!(!verify(&p));
        assert!(!verify(b"short"));
    }

    #[test]
    fn truncated_payloads_are_corrupt_not_panics() {
        let mut s = Stream::default();
        for i in 1..=250u64 {
            s.add(StreamId::new(i, 0), vec![Bytes::from("f"), Bytes::from(i.to_string())], Default::default());
        }
        s.add(StreamId::new(300, 1), vec![Bytes::from("other"), Bytes::from("x"), Bytes::from("y"), Bytes::from("z")], Default::default());
        let mut g = Group::new(StreamId::new(2, 0), Some(2));
        g.assign(StreamId::new(1, 0), &Bytes::from("c"), 1000, 3, 5);
        s.groups.insert(Bytes::from("g"), g);
        let v = Value::Stream(Arc::new(s.clone()));
        let Value::Stream(back) = round_trip(&v) else { panic!() };
        assert_eq!(back.entries, s.entries);
        assert_eq!(back.groups[&Bytes::from("g")].pel, s.groups[&Bytes::from("g")].pel);
        let payload = dump(&v).expect("dumpable");
        let body = &payload[..payload.len() - 10];
        for cut in (0..body.len()).step_by(7) {
            let _ = restore(&[&body[..cut], &payload[payload.len() - 10..]].concat());
        }
    }
}
