//! `CompactBytes`: the byte string used for keys and string values. 24 bytes in place; up to
//! [`INLINE_CAP`] bytes live inside it with no heap allocation (most keys and small values),
//! longer ones in one exact-size heap block.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

/// Longest string stored inline.
pub const INLINE_CAP: usize = 22;

/// A byte string that is inline when short.
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to [`INLINE_CAP`] bytes in place.
    Inline {
        /// Used length.
        len: u8,
        /// Storage.
        buf: [u8; INLINE_CAP],
    },
    /// Longer strings, exact size (shared, so snapshots need not copy them).
    Heap(Arc<[u8]>),
    /// Strings grown in place by APPEND/SETRANGE: spare capacity makes repeated appends
    /// amortized O(1), as Redis's sds does.
    Growable(Arc<Vec<u8>>),
}

impl CompactBytes {
    /// The empty string.
    pub const fn new() -> Self {
        CompactBytes::Inline { len: 0, buf: [0; INLINE_CAP] }
    }

    /// A copy of `b`.
    pub fn from_slice(b: &[u8]) -> Self {
        if b.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            buf[..b.len()].copy_from_slice(b);
            CompactBytes::Inline { len: b.len() as u8, buf }
        } else {
            CompactBytes::Heap(b.into())
        }
    }

    /// The contents.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, buf } => &buf[..*len as usize],
            CompactBytes::Heap(b) => b,
            CompactBytes::Growable(v) => v,
        }
    }

    /// A growable buffer holding the contents (converting once; later calls reuse it).
    pub fn make_growable(&mut self) -> &mut Vec<u8> {
        if !matches!(self, CompactBytes::Growable(_)) {
            let cur = self.as_slice();
            let mut v = Vec::with_capacity((cur.len() * 2).max(64));
            v.extend_from_slice(cur);
            *self = CompactBytes::Growable(Arc::new(v));
        }
        match self {
            CompactBytes::Growable(v) => Arc::make_mut(v),
            // Just converted above.
            _ => unreachable!("converted to Growable"),
        }
    }

    /// A `Bytes` copy (for replies and log records).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_slice())
    }

    /// Heap bytes owned beyond the 24 in place.
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
            CompactBytes::Growable(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
        }
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

// Hash and Eq exactly as `[u8]` does, so maps keyed by CompactBytes can be queried with `&[u8]`.
impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl PartialEq<[u8]> for CompactBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self.as_slice()))
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> Self {
        Self::from_slice(b)
    }
}

impl From<&Bytes> for CompactBytes {
    fn from(b: &Bytes) -> Self {
        Self::from_slice(b)
    }
}

impl From<Bytes> for CompactBytes {
    fn from(b: Bytes) -> Self {
        Self::from_slice(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_roundtrip() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        for n in [0, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let c = CompactBytes::from_slice(&v);
            assert_eq!(c.as_slice(), &v[..]);
            assert_eq!(c.heap_size(), if n <= INLINE_CAP { 0 } else { n });
        }
        let mut g = CompactBytes::from_slice(b"ab");
        for _ in 0..1000 {
            g.make_growable().extend_from_slice(b"cd");
        }
        assert_eq!(g.len(), 2002);
        assert_eq!(&g[..4], b"abcd");
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        let mut m: std::collections::HashMap<CompactBytes, u8> = Default::default();
        m.insert(CompactBytes::from_slice(b"key:1"), 1);
        assert_eq!(m.get(&b"key:1"[..]), Some(&1));
    }
}
