//! Replays inputs found by `cargo fuzz` (fuzz/) through the decoder: each must finish without
//! panicking or hanging.

use bytes::BytesMut;
use stashd_resp::{Decoder, DEFAULT_MAX_BULK_LEN};

#[test]
fn fuzz_regressions_decode_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let mut d = Decoder::new(DEFAULT_MAX_BULK_LEN);
        let mut buf = BytesMut::from(&data[..]);
        for _ in 0..data.len() + 1 {
            match d.decode(&mut buf) {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
        seen += 1;
    }
    assert!(seen >= 1);
}
