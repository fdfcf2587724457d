//! Feeds arbitrary bytes to the RESP decoder in arbitrary chunk sizes: it must never panic, and
//! decoding byte-by-byte must give the same commands as decoding all at once.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use stashd_resp::{Decoder, DEFAULT_MAX_BULK_LEN};

fn decode_all(chunks: &[&[u8]]) -> (Vec<Vec<bytes::Bytes>>, bool) {
    let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(cmd)) => out.push(cmd),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let (whole, whole_err) = decode_all(&[data]);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    let (split, split_err) = decode_all(&bytes);
    if !whole_err && !split_err {
        assert_eq!(whole, split);
    }
});
