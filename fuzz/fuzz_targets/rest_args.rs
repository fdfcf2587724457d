//! Feeds arbitrary bodies to the REST command decoder: it must never panic, and every accepted
//! command has a non-empty name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = stashd_server::rest_face::parse_command(data) {
        assert!(!cmd.is_empty());
    }
});
