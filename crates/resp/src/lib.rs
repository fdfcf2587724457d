//! RESP (REdis Serialization Protocol) wire codec used by stashd's TCP face.
//!
//! [`Decoder`] turns bytes from a client into argument vectors (multibulk or inline form) and
//! [`encode`] writes RESP2/RESP3 replies. The crate depends on nothing else in stashd.

pub mod decode;
pub mod encode;

pub use decode::{parse_int, split_args, Decoder, ProtocolError, DEFAULT_MAX_BULK_LEN};
pub use encode::Protocol;
