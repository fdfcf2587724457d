//! Feeds arbitrary UTF-8 to the Vector metadata filter parser: parsing never panics, a refused
//! filter says why, an accepted one evaluates against a few fixed documents and its canonical
//! print parses back into the same filter. `crates/vector/src/filter/tests.rs` runs the same
//! checks on a corpus of nasty strings and on seeded random input in `cargo test`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use stashd_vector::filter::{Filter, MAX_FILTER_LEN};

/// Metadata shapes worth matching against: nested objects, arrays of mixed types, nulls, wide
/// numbers, and documents that are not objects at all.
fn documents() -> &'static [Value] {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        vec![
            json!({
                "city": "Istanbul",
                "population": 15460000,
                "is_capital": false,
                "geography": { "continent": "Asia", "coordinates": { "latitude": 41.0082 } },
                "tags": ["mammal", 7, true, null, { "a": [] }],
                "a": { "b": { "c": [1, [2, 3]] } },
                "big": u64::MAX,
                "small": i64::MIN,
                "f": 2.5e-300,
                "s": "日本語 😀 \n 'q' \"d\" \\"
            }),
            json!({ "a": 1, "b": "x", "c": [], "d": {}, "e": null }),
            Value::Null,
            json!([1, "a", true]),
            json!("just a string"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let filter = match Filter::parse(input) {
        Ok(filter) => filter,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    for doc in documents() {
        let _ = filter.matches(doc);
    }
    let printed = filter.to_string();
    if printed.len() <= MAX_FILTER_LEN {
        match Filter::parse(&printed) {
            Ok(again) => assert_eq!(again, filter, "{input:?} printed as {printed:?}"),
            Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
});
