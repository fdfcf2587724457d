//! Time source for expiry. Tests and the `DEBUG` hooks move it instead of sleeping.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, either from the system (plus an adjustable offset) or set by hand.
#[derive(Debug, Default)]
pub struct Clock {
    manual: AtomicBool,
    manual_now: AtomicU64,
    offset_ms: AtomicI64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// A clock frozen at `now_ms` that moves only by [`Clock::advance`].
    pub fn manual(now_ms: u64) -> Self {
        Clock { manual: AtomicBool::new(true), manual_now: AtomicU64::new(now_ms), offset_ms: AtomicI64::new(0) }
    }

    /// Current time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        if self.manual.load(Ordering::Relaxed) {
            return self.manual_now.load(Ordering::Relaxed);
        }
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        sys.saturating_add_signed(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Current time in microseconds (for `TIME`).
    pub fn now_us(&self) -> u64 {
        if self.manual.load(Ordering::Relaxed) {
            return self.manual_now.load(Ordering::Relaxed) * 1000;
        }
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
        sys.saturating_add_signed(self.offset_ms.load(Ordering::Relaxed) * 1000)
    }

    /// Moves the clock forward by `ms` (both kinds).
    pub fn advance(&self, ms: i64) {
        if self.manual.load(Ordering::Relaxed) {
            let now = self.manual_now.load(Ordering::Relaxed);
            self.manual_now.store(now.saturating_add_signed(ms), Ordering::Relaxed);
        } else {
            self.offset_ms.fetch_add(ms, Ordering::Relaxed);
        }
    }
}
