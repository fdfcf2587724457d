//! The binary form of a [`Record`] in the store (one hash field per vector id).
//!
//! Layout, little-endian: version byte `1`, flags byte (bit 0 dense, 1 sparse, 2 metadata,
//! 3 data), `seq: u64`, then the present parts in that order: dense `len: u32` + `len × f32`;
//! sparse `n: u32` + `n × u32` indices + `n × f32` values; metadata `len: u32` + JSON bytes;
//! data `len: u32` + UTF-8 bytes. Floats are kept bit-exact, so a vector reads back as upserted.

use crate::index::SparseVector;
use crate::model::Record;

const VERSION: u8 = 1;
const DENSE: u8 = 1;
const SPARSE: u8 = 2;
const METADATA: u8 = 4;
const DATA: u8 = 8;

/// A stored record that cannot be decoded (corruption or a newer format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt vector record: {0}")]
pub struct CodecError(pub &'static str);

/// Encodes a record.
pub fn encode(r: &Record) -> Vec<u8> {
    let mut flags = 0;
    let mut out = Vec::with_capacity(16 + r.dense.as_ref().map_or(0, |d| d.len() * 4));
    out.push(VERSION);
    out.push(0);
    out.extend_from_slice(&r.seq.to_le_bytes());
    if let Some(d) = &r.dense {
        flags |= DENSE;
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        for x in d {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    if let Some(s) = &r.sparse {
        flags |= SPARSE;
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        for i in s.indices() {
            out.extend_from_slice(&i.to_le_bytes());
        }
        for v in s.values() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(m) = &r.metadata {
        flags |= METADATA;
        let json = serde_json::to_vec(m).unwrap_or_default();
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
    }
    if let Some(d) = &r.data {
        flags |= DATA;
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        out.extend_from_slice(d.as_bytes());
    }
    out[1] = flags;
    out
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self) -> Result<usize, CodecError> {
        let n = self.u32()? as usize;
        if n > self.buf.len() {
            return Err(CodecError("length past the end"));
        }
        Ok(n)
    }

    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, CodecError> {
        let b = self.take(n.checked_mul(4).ok_or(CodecError("length overflow"))?)?;
        Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// Decodes a record written by [`encode`].
pub fn decode(buf: &[u8]) -> Result<Record, CodecError> {
    let mut r = Reader { buf };
    let head = r.take(10)?;
    if head[0] != VERSION {
        return Err(CodecError("unknown version"));
    }
    let flags = head[1];
    let seq = u64::from_le_bytes([head[2], head[3], head[4], head[5], head[6], head[7], head[8], head[9]]);
    let mut rec = Record { seq, ..Record::default() };
    if flags & DENSE != 0 {
        let n = r.u32()? as usize;
        rec.dense = Some(r.f32s(n)?);
    }
    if flags & SPARSE != 0 {
        let n = r.u32()? as usize;
        let idx = r.take(n.checked_mul(4).ok_or(CodecError("length overflow"))?)?;
        let indices = idx.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let values = r.f32s(n)?;
        rec.sparse = Some(SparseVector::new(indices, values).map_err(|_| CodecError("invalid sparse vector"))?);
    }
    if flags & METADATA != 0 {
        let n = r.len()?;
        rec.metadata = Some(serde_json::from_slice(r.take(n)?).map_err(|_| CodecError("invalid metadata JSON"))?);
    }
    if flags & DATA != 0 {
        let n = r.len()?;
        rec.data = Some(String::from_utf8(r.take(n)?.to_vec()).map_err(|_| CodecError("data is not UTF-8"))?);
    }
    if !r.buf.is_empty() {
        return Err(CodecError("trailing bytes"));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_part_bit_exact() {
        let rec = Record {
            seq: 42,
            dense: Some(vec![0.1, -0.0, f32::MIN_POSITIVE, 3.5e30]),
            sparse: Some(SparseVector::new(vec![7, 3], vec![0.5, 0.25]).unwrap()),
            metadata: Some(serde_json::json!({"a": [1, "x", {"b": null}]})),
            data: Some("héllo".into()),
        };
        let back = decode(&encode(&rec)).unwrap();
        assert_eq!(back, rec);
        let bits: Vec<u32> = back.dense.unwrap().iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits[1], (-0.0f32).to_bits());
        let empty = Record { seq: 1, ..Record::default() };
        assert_eq!(decode(&encode(&empty)).unwrap(), empty);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = encode(&Record { seq: 1, dense: Some(vec![1.0; 8]), data: Some("x".into()), ..Record::default() });
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = good.clone();
        bad[0] = 9;
        assert!(decode(&bad).is_err());
        let mut huge = good;
        huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
