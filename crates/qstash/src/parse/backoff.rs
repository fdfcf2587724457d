//! QStash's default retry backoff, used when neither `Upstash-Retry-Delay` nor a
//! `Retry-After`-style response header sets the wait.

/// The longest default backoff: one day, in seconds.
pub const MAX_BACKOFF_SECS: u64 = 86_400;

/// The default wait before retry number `retried` (1 for the first retry), in milliseconds:
/// `min(86400, e^(2.5·retried))` whole seconds. 1 → 12 s, 2 → 148 s (2 m 28 s), 3 → 1808 s
/// (30 m 8 s), 4 → 22026 s (6 h 7 m 6 s), 5 and later → 24 h. 0 gives 1 s.
pub fn default_backoff_ms(retried: u32) -> u64 {
    let secs = (2.5 * f64::from(retried)).exp().min(MAX_BACKOFF_SECS as f64);
    // Between 1 and MAX_BACKOFF_SECS, so the conversion is exact after floor().
    secs.floor() as u64 * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_steps() {
        assert_eq!(default_backoff_ms(0), 1_000);
        assert_eq!(default_backoff_ms(1), 12_000);
        assert_eq!(default_backoff_ms(2), 148_000);
        assert_eq!(default_backoff_ms(3), 1_808_000);
        assert_eq!(default_backoff_ms(4), 22_026_000);
    }

    #[test]
    fn capped_at_one_day() {
        assert_eq!(default_backoff_ms(5), 86_400_000);
        assert_eq!(default_backoff_ms(1_000), 86_400_000);
        assert_eq!(default_backoff_ms(u32::MAX), 86_400_000);
    }

    #[test]
    fn never_shrinks() {
        assert!((0..100).all(|n| default_backoff_ms(n) <= default_backoff_ms(n + 1)));
    }
}
