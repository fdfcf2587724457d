//! Replies from the store, independent of the engine's reply type.

use bytes::Bytes;

use crate::StoreError;

/// One command's reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A missing value (null bulk or null array).
    Nil,
    /// `+OK` or another status.
    Status(String),
    /// An integer.
    Int(i64),
    /// A bulk string (doubles come as their text).
    Bytes(Bytes),
    /// An array (maps and sets come flattened, as in RESP2).
    Array(Vec<Value>),
    /// The command failed (its Redis error text); the rest of the batch still ran.
    Error(String),
}

impl Value {
    /// The bytes of a bulk reply; `None` for nil.
    pub fn into_bytes(self) -> Result<Option<Bytes>, StoreError> {
        match self {
            Value::Nil => Ok(None),
            Value::Bytes(b) => Ok(Some(b)),
            Value::Status(s) => Ok(Some(Bytes::from(s))),
            Value::Int(n) => Ok(Some(Bytes::from(n.to_string()))),
            other => Err(StoreError::Shape(format!("expected bytes, got {other:?}"))),
        }
    }

    /// An integer reply (or a bulk string holding one); nil reads as 0.
    pub fn into_int(self) -> Result<i64, StoreError> {
        match self {
            Value::Int(n) => Ok(n),
            Value::Nil => Ok(0),
            Value::Bytes(b) => {
                std::str::from_utf8(&b).ok().and_then(|s| s.parse().ok()).ok_or_else(|| StoreError::Shape("expected an integer".into()))
            }
            other => Err(StoreError::Shape(format!("expected an integer, got {other:?}"))),
        }
    }

    /// The elements of an array reply; nil reads as empty.
    pub fn into_array(self) -> Result<Vec<Value>, StoreError> {
        match self {
            Value::Array(v) => Ok(v),
            Value::Nil => Ok(Vec::new()),
            other => Err(StoreError::Shape(format!("expected an array, got {other:?}"))),
        }
    }

    /// An array of bulk strings (nil elements skipped).
    pub fn into_bytes_list(self) -> Result<Vec<Bytes>, StoreError> {
        let mut out = Vec::new();
        for v in self.into_array()? {
            if let Some(b) = v.into_bytes()? {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Fails with the command's error text if the command failed.
    pub fn check(self) -> Result<Value, StoreError> {
        match self {
            Value::Error(e) => Err(StoreError::Refused(e)),
            v => Ok(v),
        }
    }
}
