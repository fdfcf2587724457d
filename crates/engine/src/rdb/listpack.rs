//! Redis's listpack encoding (`listpack.c`): the packed sequence of strings and integers that
//! RDB payloads use for small hashes, sets, sorted sets, list nodes and stream nodes.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown), elements, `0xFF`.
//! Each element is an encoding byte (with inline length or value bits), its data, and a
//! backwards length so the list can be walked from the end.

use super::Corrupt;

/// One listpack element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    /// A string.
    Str(&'a [u8]),
    /// An integer.
    Int(i64),
}

impl Item<'_> {
    /// The element as bytes (integers in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Item::Str(s) => s.to_vec(),
            Item::Int(n) => n.to_string().into_bytes(),
        }
    }

    /// The element as an integer (strings must be decimal integers).
    pub fn as_int(&self) -> Result<i64, Corrupt> {
        match self {
            Item::Int(n) => Ok(*n),
            Item::Str(s) => std::str::from_utf8(s).ok().and_then(|t| t.parse().ok()).ok_or(Corrupt),
        }
    }
}

/// Decodes a whole listpack.
pub fn decode(lp: &[u8]) -> Result<Vec<Item<'_>>, Corrupt> {
    if lp.len() < 7 || u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize != lp.len() || lp[lp.len() - 1] != 0xFF {
        return Err(Corrupt);
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let mut items = Vec::new();
    let mut p = 6;
    let end = lp.len() - 1;
    while p < end {
        let (item, size) = element(&lp[p..end])?;
        items.push(item);
        let back = backlen_size(size);
        p += size + back;
        if p > end {
            return Err(Corrupt);
        }
    }
    if declared != u16::MAX && declared as usize != items.len() {
        return Err(Corrupt);
    }
    Ok(items)
}

/// Decodes one element at the start of `b`: the item and its encoded size (without backlen).
fn element(b: &[u8]) -> Result<(Item<'_>, usize), Corrupt> {
    let first = *b.first().ok_or(Corrupt)?;
    let take = |from: usize, n: usize| b.get(from..from + n).ok_or(Corrupt);
    let int_le = |from: usize, n: usize| -> Result<i64, Corrupt> {
        let bytes = take(from, n)?;
        let mut v: u64 = 0;
        for (i, x) in bytes.iter().enumerate() {
            v |= (*x as u64) << (8 * i);
        }
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        Ok(((v << shift) as i64) >> shift)
    };
    Ok(if first & 0x80 == 0 {
        (Item::Int((first & 0x7F) as i64), 1)
    } else if first & 0xC0 == 0x80 {
        let len = (first & 0x3F) as usize;
        (Item::Str(take(1, len)?), 1 + len)
    } else if first & 0xE0 == 0xC0 {
        let raw = (((first & 0x1F) as u16) << 8) | *b.get(1).ok_or(Corrupt)? as u16;
        let v = ((raw << 3) as i16 >> 3) as i64;
        (Item::Int(v), 2)
    } else if first & 0xF0 == 0xE0 {
        let len = (((first & 0x0F) as usize) << 8) | *b.get(1).ok_or(Corrupt)? as usize;
        (Item::Str(take(2, len)?), 2 + len)
    } else {
        match first {
            0xF0 => {
                let l = take(1, 4)?;
                let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Item::Str(take(5, len)?), 5 + len)
            }
            0xF1 => (Item::Int(int_le(1, 2)?), 3),
            0xF2 => (Item::Int(int_le(1, 3)?), 4),
            0xF3 => (Item::Int(int_le(1, 4)?), 5),
            0xF4 => (Item::Int(int_le(1, 8)?), 9),
            _ => return Err(Corrupt),
        }
    })
}

/// Bytes the backwards length takes for an element of `size` bytes.
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Builds a listpack.
#[derive(Debug, Default)]
pub struct Writer {
    body: Vec<u8>,
    count: usize,
}

impl Writer {
    /// An empty listpack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a string, stored as an integer when it is one in canonical form (as Redis does).
    pub fn push(&mut self, s: &[u8]) {
        match canonical_int(s) {
            Some(n) => self.push_int(n),
            None => self.push_str(s),
        }
    }

    /// Appends a string as a string.
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.body.len();
        let len = s.len();
        if len < 64 {
            self.body.push(0x80 | len as u8);
        } else if len < 4096 {
            self.body.extend([0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            self.body.push(0xF0);
            self.body.extend((len as u32).to_le_bytes());
        }
        self.body.extend_from_slice(s);
        self.finish(start);
    }

    /// Appends an integer in its smallest encoding.
    pub fn push_int(&mut self, n: i64) {
        let start = self.body.len();
        if (0..=127).contains(&n) {
            self.body.push(n as u8);
        } else if (-4096..=4095).contains(&n) {
            let v = (n as u16) & 0x1FFF;
            self.body.extend([0xC0 | (v >> 8) as u8, v as u8]);
        } else if (-32768..=32767).contains(&n) {
            self.body.push(0xF1);
            self.body.extend((n as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&n) {
            self.body.push(0xF2);
            self.body.extend(&(n as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
            self.body.push(0xF3);
            self.body.extend((n as i32).to_le_bytes());
        } else {
            self.body.push(0xF4);
            self.body.extend(n.to_le_bytes());
        }
        self.finish(start);
    }

    fn finish(&mut self, start: usize) {
        let size = self.body.len() - start;
        // The backwards length: 7 bits per byte, most significant first, every byte but the
        // first (the last read backwards) flagged with 128.
        let n = backlen_size(size);
        for i in (0..n).rev() {
            let part = ((size >> (7 * i)) & 0x7F) as u8;
            self.body.push(if i == n - 1 { part } else { part | 0x80 });
        }
        self.count += 1;
    }

    /// How many elements so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes so far (without header and terminator).
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The finished listpack.
    pub fn finish_bytes(self) -> Vec<u8> {
        let total = self.body.len() + 7;
        let mut out = Vec::with_capacity(total);
        out.extend((total as u32).to_le_bytes());
        out.extend((if self.count < u16::MAX as usize { self.count as u16 } else { u16::MAX }).to_le_bytes());
        out.extend(self.body);
        out.push(0xFF);
        out
    }
}

/// Bytes `s` takes as a listpack element (encoding, data and backwards length), stored as an
/// integer when it is one in canonical form, as Redis's `lpAppend` does.
pub fn element_size(s: &[u8]) -> usize {
    if let Some(n) = canonical_int(s) {
        return int_element_size(n);
    }
    let len = s.len();
    let enc = len
        + match len {
            0..=63 => 1,
            64..=4095 => 2,
            _ => 5,
        };
    enc + backlen_size(enc)
}

/// Bytes the integer `n` takes as a listpack element (backwards length included).
pub fn int_element_size(n: i64) -> usize {
    let enc = if (0..=127).contains(&n) {
        1
    } else if (-4096..=4095).contains(&n) {
        2
    } else if (-32768..=32767).contains(&n) {
        3
    } else if (-8388608..=8388607).contains(&n) {
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
        5
    } else {
        9
    };
    enc + 1
}

/// `s` as an i64 if it is one in canonical decimal form (no sign on zero, no leading zeros).
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    let mut buf = itoa::Buffer::new();
    (buf.format(n).as_bytes() == s).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_encoding() {
        let mut w = Writer::new();
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let ints = [0i64, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 40000, -8388608, 8388607, 1 << 30, i64::MIN, i64::MAX];
        for n in ints {
            w.push_int(n);
        }
        w.push(b"hello");
        w.push(&mid);
        w.push(&long);
        w.push(b"007");
        let lp = w.finish_bytes();
        let items = decode(&lp).unwrap();
        let mut expect: Vec<Item> = ints.iter().map(|n| Item::Int(*n)).collect();
        expect.extend([Item::Str(b"hello"), Item::Str(&mid), Item::Str(&long), Item::Str(b"007")]);
        assert_eq!(items, expect);
    }

    #[test]
    fn element_sizes_match_the_writer() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let strs: [&[u8]; 9] = [b"", b"a", b"007", b"-0", b"12", b"-4097", b"99999999999999999999", &mid, &long];
        for s in strs {
            let mut w = Writer::new();
            w.push(s);
            assert_eq!(element_size(s), w.body_len(), "{:?}", String::from_utf8_lossy(&s[..s.len().min(20)]));
        }
        for n in [0i64, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 40000, -8388608, 8388607, 1 << 30, i64::MIN, i64::MAX] {
            let mut w = Writer::new();
            w.push_int(n);
            assert_eq!(int_element_size(n), w.body_len(), "{n}");
        }
    }

    #[test]
    fn rejects_damaged_input() {
        let mut w = Writer::new();
        w.push(b"abc");
        let lp = w.finish_bytes();
        for cut in 0..lp.len() {
            assert!(decode(&lp[..cut]).is_err());
        }
        let mut bad = lp.clone();
        bad[6] = 0xF5;
        assert!(decode(&bad).is_err());
    }
}
