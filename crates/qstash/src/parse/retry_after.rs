//! The wait a destination asks for in `Retry-After`, `X-RateLimit-Reset`,
//! `X-RateLimit-Reset-Requests` or `X-RateLimit-Reset-Tokens`.
//!
//! A value is seconds (`120`, `1.5`), an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`; RFC 1123,
//! and the older RFC 850 and asctime forms) or a Go duration (`6m5s`, `20ms`).

use std::time::{Duration, UNIX_EPOCH};

use super::duration::parse_go_duration;

/// The longest wait honoured, in milliseconds (one day); longer ones fall back to the default
/// backoff.
pub const MAX_RETRY_AFTER_MS: u64 = 24 * 60 * 60 * 1000;

/// The wait in milliseconds that a response header value asks for, measured from `now_ms` (unix
/// milliseconds) for dates. A date in the past gives 0.
///
/// `None` when the value is not one of the accepted forms, or asks for more than
/// [`MAX_RETRY_AFTER_MS`]; the caller then uses the default backoff.
pub fn retry_after_ms(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    let wait_ms = seconds_ms(value).or_else(|| http_date_ms(value, now_ms)).or_else(|| go_duration_ms(value))?;
    (wait_ms <= MAX_RETRY_AFTER_MS).then_some(wait_ms)
}

/// `120` or `1.5`: non-negative decimal seconds, rounded up to whole milliseconds.
fn seconds_ms(value: &str) -> Option<u64> {
    let (whole, fraction) = match value.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (value, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole_ms = whole.parse::<u64>().ok().and_then(|secs| secs.checked_mul(1000)).unwrap_or(u64::MAX);
    let (ms_digits, below_ms) = fraction.split_at(fraction.len().min(3));
    let fraction_ms = ms_digits.bytes().zip([100, 10, 1]).map(|(digit, weight)| u64::from(digit - b'0') * weight).sum::<u64>();
    let round_up = u64::from(below_ms.bytes().any(|digit| digit != b'0'));
    Some(whole_ms.saturating_add(fraction_ms).saturating_add(round_up))
}

fn http_date_ms(value: &str, now_ms: u64) -> Option<u64> {
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = u64::try_from(at.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(at_ms.saturating_sub(now_ms))
}

fn go_duration_ms(value: &str) -> Option<u64> {
    parse_go_duration(value).ok().map(ceil_ms)
}

/// Whole milliseconds, rounding any sub-millisecond part up.
fn ceil_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-21 07:28:00 UTC.
    const NOW_MS: u64 = 1_445_412_480_000;

    #[test]
    fn seconds() {
        assert_eq!(retry_after_ms("120", NOW_MS), Some(120_000));
        assert_eq!(retry_after_ms("0", NOW_MS), Some(0));
        assert_eq!(retry_after_ms(" 5 ", NOW_MS), Some(5_000));
        assert_eq!(retry_after_ms("1.5", NOW_MS), Some(1_500));
        assert_eq!(retry_after_ms("0.0001", NOW_MS), Some(1));
        assert_eq!(retry_after_ms("0.007", NOW_MS), Some(7));
        assert_eq!(retry_after_ms("2.0000", NOW_MS), Some(2_000));
        assert_eq!(retry_after_ms("007", NOW_MS), Some(7_000));
        assert_eq!(retry_after_ms("86400", NOW_MS), Some(MAX_RETRY_AFTER_MS));
    }

    #[test]
    fn http_dates() {
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NOW_MS), Some(0));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:30:30 GMT", NOW_MS), Some(150_000));
        assert_eq!(retry_after_ms("Wednesday, 21-Oct-15 07:29:00 GMT", NOW_MS), Some(60_000));
        assert_eq!(retry_after_ms("Wed Oct 21 07:29:00 2015", NOW_MS), Some(60_000));
        // In the past: retry now.
        assert_eq!(retry_after_ms("Tue, 20 Oct 2015 07:28:00 GMT", NOW_MS), Some(0));
        assert_eq!(retry_after_ms("Thu, 22 Oct 2015 07:28:00 GMT", NOW_MS), Some(MAX_RETRY_AFTER_MS));
        assert_eq!(retry_after_ms("Thu, 22 Oct 2015 07:28:01 GMT", NOW_MS), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(retry_after_ms("6m5s", NOW_MS), Some(365_000));
        assert_eq!(retry_after_ms("20ms", NOW_MS), Some(20));
        assert_eq!(retry_after_ms("1.5s", NOW_MS), Some(1_500));
        assert_eq!(retry_after_ms("1us", NOW_MS), Some(1));
        assert_eq!(retry_after_ms("24h", NOW_MS), Some(MAX_RETRY_AFTER_MS));
    }

    #[test]
    fn above_one_day_or_unparseable_is_none() {
        assert_eq!(retry_after_ms("86401", NOW_MS), None);
        assert_eq!(retry_after_ms("24h0m0.001s", NOW_MS), None);
        assert_eq!(retry_after_ms("99999999999999999999999", NOW_MS), None);
        assert_eq!(retry_after_ms("1445412480", NOW_MS), None);
        assert_eq!(retry_after_ms("", NOW_MS), None);
        assert_eq!(retry_after_ms("-5", NOW_MS), None);
        assert_eq!(retry_after_ms("-5s", NOW_MS), None);
        assert_eq!(retry_after_ms("soon", NOW_MS), None);
        assert_eq!(retry_after_ms("5.", NOW_MS), None);
        assert_eq!(retry_after_ms(".5", NOW_MS), None);
        assert_eq!(retry_after_ms("1d", NOW_MS), None);
        assert_eq!(retry_after_ms("Wed, 32 Oct 2015 07:28:00 GMT", NOW_MS), None);
    }
}
