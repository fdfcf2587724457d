//! HyperLogLog in Redis's exact byte format (`hyperloglog.c`), so values are interchangeable
//! with Redis (`GET`/`SET`, later `DUMP`/`RESTORE`): a 16-byte header (`HYLL`, encoding, three
//! unused bytes, an 8-byte little-endian cached cardinality whose top bit marks it stale), then
//! either 16384 six-bit registers (dense) or ZERO/XZERO/VAL opcodes (sparse). The sparse update,
//! its promotion to dense and the cardinality estimator (Ertl's) follow Redis step by step.

/// Register index bits.
const P: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Hash bits left for the run length.
const Q: u32 = 64 - P;
const HDR: usize = 16;
/// Size of a dense value.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// Redis's `hll-sparse-max-bytes` default: a sparse value that would grow past this goes dense.
const SPARSE_MAX_BYTES: usize = 3000;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A corrupted value (`INVALIDOBJ` in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupted;

/// A new, empty (sparse) HyperLogLog.
pub fn new_sparse() -> Vec<u8> {
    let mut v = header(SPARSE);
    let len = REGISTERS - 1;
    v.extend_from_slice(&[((len >> 8) as u8) | 0x40, (len & 0xff) as u8]);
    v
}

fn header(encoding: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.extend_from_slice(&[encoding, 0, 0, 0]);
    v.extend_from_slice(&[0; 8]);
    v
}

/// Whether `v` is a HyperLogLog value (Redis's `isHLLObjectOrReply`).
pub fn is_hll(v: &[u8]) -> bool {
    v.len() >= HDR && &v[..4] == b"HYLL" && v[4] <= SPARSE && (v[4] != DENSE || v.len() == DENSE_SIZE)
}

fn invalidate_cache(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// MurmurHash64A as Redis uses it (little-endian blocks).
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate() {
            h ^= (*b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the run length it counts (`hllPatLen`).
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = regs[byte] as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = val as u32;
    regs[byte] &= !((63u32 << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((63u32 >> (8 - fb)) as u8);
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// One sparse opcode: (bytes it takes, registers it covers, value).
fn opcode(ops: &[u8], p: usize) -> Result<(usize, usize, u8), Corrupted> {
    let b = ops[p];
    Ok(if b & 0xc0 == 0 {
        (1, (b & 0x3f) as usize + 1, 0)
    } else if b & 0xc0 == 0x40 {
        let lo = *ops.get(p + 1).ok_or(Corrupted)? as usize;
        (2, (((b & 0x3f) as usize) << 8 | lo) + 1, 0)
    } else {
        (1, (b & 0x3) as usize + 1, ((b >> 2) & 0x1f) + 1)
    })
}

fn zero_run(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let l = len - 1;
        out.extend_from_slice(&[((l >> 8) as u8) | 0x40, (l & 0xff) as u8]);
    } else {
        out.push((len - 1) as u8);
    }
}

fn val_op(val: u8, len: usize) -> u8 {
    (((val - 1) << 2) | (len as u8 - 1)) | 0x80
}

/// Converts a sparse value to dense in place (`hllSparseToDense`).
fn to_dense(v: &mut Vec<u8>) -> Result<(), Corrupted> {
    if v[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = DENSE;
    let (ops, regs) = (&v[HDR..], &mut dense[HDR..]);
    let (mut p, mut idx) = (0, 0);
    while p < ops.len() {
        let (oplen, span, val) = opcode(ops, p)?;
        if idx + span > REGISTERS {
            return Err(Corrupted);
        }
        if val > 0 {
            for i in idx..idx + span {
                dense_set(regs, i, val);
            }
        }
        idx += span;
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Corrupted);
    }
    *v = dense;
    Ok(())
}

/// Sets register `index` to `count` if larger (`hllSparseSet`, with its promotion to dense).
/// Returns whether the value changed.
fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Find the opcode covering `index`.
    let ops_end = v.len();
    let (mut p, mut first, mut prev) = (HDR, 0usize, None);
    let (oplen, span, val) = loop {
        if p >= ops_end {
            return Err(Corrupted);
        }
        let (oplen, span, val) = opcode(v, p)?;
        if index < first + span {
            break (oplen, span, val);
        }
        prev = Some(p);
        p += oplen;
        first += span;
    };
    let is_val = v[p] & 0x80 != 0;
    if is_val {
        if val >= count {
            return Ok(false);
        }
        if span == 1 {
            v[p] = val_op(count, 1);
            merge_adjacent(v, prev.unwrap_or(HDR));
            invalidate_cache(v);
            return Ok(true);
        }
    } else if span == 1 && v[p] & 0xc0 == 0 {
        // A ZERO of one register (an XZERO of one goes through the general case, as in Redis).
        v[p] = val_op(count, 1);
        merge_adjacent(v, prev.unwrap_or(HDR));
        invalidate_cache(v);
        return Ok(true);
    }
    // General case: split the opcode into up to three.
    let last = first + span - 1;
    let mut seq = Vec::with_capacity(5);
    if !is_val {
        if index != first {
            zero_run(&mut seq, index - first);
        }
        seq.push(val_op(count, 1));
        if index != last {
            zero_run(&mut seq, last - index);
        }
    } else {
        if index != first {
            seq.push(val_op(val, index - first));
        }
        seq.push(val_op(count, 1));
        if index != last {
            seq.push(val_op(val, last - index));
        }
    }
    if seq.len() > oplen && v.len() + seq.len() - oplen > SPARSE_MAX_BYTES {
        return promote(v, index, count);
    }
    v.splice(p..p + oplen, seq);
    merge_adjacent(v, prev.unwrap_or(HDR));
    invalidate_cache(v);
    Ok(true)
}

/// Step 4 of `hllSparseSet`: merges up to five opcodes' worth of adjacent equal VALs from `p`.
fn merge_adjacent(v: &mut Vec<u8>, mut p: usize) {
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        let b = v[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < v.len() && v[p + 1] & 0x80 != 0 {
            let (v1, v2) = (((b >> 2) & 0x1f) + 1, ((v[p + 1] >> 2) & 0x1f) + 1);
            let len = (b & 3) as usize + 1 + (v[p + 1] & 3) as usize + 1;
            if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                v[p + 1] = val_op(v1, len);
                v.remove(p);
                continue;
            }
        }
        p += 1;
    }
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    to_dense(v)?;
    Ok(set_register(v, index, count))
}

/// Sets a dense register if `count` is larger; true if it changed.
fn set_register(v: &mut [u8], index: usize, count: u8) -> bool {
    let regs = &mut v[HDR..];
    if dense_get(regs, index) < count {
        dense_set(regs, index, count);
        invalidate_cache(v);
        true
    } else {
        false
    }
}

/// Adds an element (`hllAdd`); true if a register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupted> {
    let (index, count) = pat_len(ele);
    set(v, index, count)
}

fn set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    if v[4] == DENSE {
        Ok(set_register(v, index, count))
    } else {
        sparse_set(v, index, count)
    }
}

/// Folds `v`'s registers into `max` (`hllMerge`).
pub fn merge_into(max: &mut [u8; REGISTERS], v: &[u8]) -> Result<(), Corrupted> {
    if v[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&v[HDR..], i));
        }
        return Ok(());
    }
    let ops = &v[HDR..];
    let (mut p, mut idx) = (0, 0);
    while p < ops.len() {
        let (oplen, span, val) = opcode(ops, p)?;
        if idx + span > REGISTERS {
            return Err(Corrupted);
        }
        for m in &mut max[idx..idx + span] {
            *m = (*m).max(val);
        }
        idx += span;
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Corrupted);
    }
    Ok(())
}

/// Writes merged registers into `dst` the way PFMERGE does: dense first if `dense`, then a set
/// per non-zero register in order.
pub fn store_merged(dst: &mut Vec<u8>, max: &[u8; REGISTERS], dense: bool) -> Result<(), Corrupted> {
    if dense {
        to_dense(dst)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            set(dst, i, m)?;
        }
    }
    invalidate_cache(dst);
    Ok(())
}

/// True for a dense value.
pub fn is_dense(v: &[u8]) -> bool {
    v[4] == DENSE
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Estimates the cardinality from merged registers (`hllCount`, Ertl's estimator).
pub fn estimate(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        histo[r as usize] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// PFCOUNT of one value: the cached cardinality, or a fresh estimate (returned with `true`
/// when the caller should store it with [`store_cache`]).
pub fn count(v: &[u8]) -> Result<(u64, bool), Corrupted> {
    if v[15] & 0x80 == 0 {
        let mut card = [0u8; 8];
        card.copy_from_slice(&v[8..16]);
        return Ok((u64::from_le_bytes(card), false));
    }
    let mut regs = [0u8; REGISTERS];
    merge_into(&mut regs, v)?;
    Ok((estimate(&regs), true))
}

/// Stores a freshly computed cardinality in the header cache.
pub fn store_cache(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_value_matches_redis_bytes() {
        assert_eq!(new_sparse(), b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff".to_vec());
        assert!(is_hll(&new_sparse()));
        assert!(!is_hll(b"HYLL\x00rest"));
    }

    #[test]
    fn counts_stay_within_the_error_bound_across_the_dense_switch() {
        let mut v = new_sparse();
        for (i, n) in [(0u32, 10u64), (10, 1000), (1000, 20000)] {
            for e in i..n as u32 {
                add(&mut v, format!("el:{e}").as_bytes()).unwrap();
            }
            let (c, fresh) = count(&v).unwrap();
            assert!(fresh);
            let err = (c as f64 - n as f64).abs() / n as f64;
            assert!(err < 0.02, "{n}: estimated {c}");
        }
        assert!(is_dense(&v));
        assert_eq!(v.len(), DENSE_SIZE);
    }
}
