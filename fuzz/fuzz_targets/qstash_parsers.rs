//! Feeds arbitrary UTF-8 to every QStash header parser (durations, retry-delay expressions, cron
//! schedules, flow-control values, `Retry-After` values, the default backoff): none may panic.
//! `crates/qstash/src/parse/tests.rs` runs the same body on a fixed corpus in `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stashd_qstash::parse::{
    default_backoff_ms, parse_duration, parse_go_duration, retry_after_ms, CronSchedule, FlowControlValue, RetryDelay,
};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = parse_duration(input);
    let _ = parse_go_duration(input);
    if let Ok(delay) = RetryDelay::parse(input) {
        let _ = delay.as_str();
        for retried in [0, 1, 2, 7, 100, u32::MAX] {
            let _ = delay.eval(retried);
        }
    }
    if let Ok(schedule) = CronSchedule::parse(input) {
        let _ = schedule.as_str();
        for after_ms in [0, 1_700_000_000_000, i64::MAX as u64, u64::MAX] {
            let _ = schedule.next_after(after_ms);
        }
    }
    let _ = FlowControlValue::parse(input);
    for now_ms in [0, 1_700_000_000_000, u64::MAX] {
        let _ = retry_after_ms(input, now_ms);
    }
    for retried in [0, 1, 30, u32::MAX] {
        let _ = default_backoff_ms(retried);
    }
});
