//! The one time source of the process: the Redis engine, the store and the QStash delivery
//! workers share it (an `Arc<Clock>`), so tests and `DEBUG JUMP-CLOCK` move all of them together
//! instead of sleeping. Whoever waits for a time (a delivery due at 12:00) also waits on
//! [`Clock::changed`], which fires when the clock is moved by hand.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, either from the system (plus an adjustable offset) or set by hand.
#[derive(Debug, Default)]
pub struct Clock {
    manual: AtomicBool,
    manual_now: AtomicU64,
    offset_ms: AtomicI64,
    moved: tokio::sync::Notify,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// A clock frozen at `now_ms` that moves only by [`Clock::advance`].
    pub fn manual(now_ms: u64) -> Self {
        Clock { manual: AtomicBool::new(true), manual_now: AtomicU64::new(now_ms), ..Clock::default() }
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
        self.moved.notify_waiters();
    }

    /// Resolves the next time the clock is moved by hand ([`Clock::advance`]); timers that sleep
    /// until a clock time select on it and recompute.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.moved.notified()
    }

    /// Sleeps until the clock reads at least `at_ms`, or until it is moved by hand (the caller
    /// then looks again). Returns at once when `at_ms` has passed.
    pub async fn sleep_until(&self, at_ms: u64) {
        let changed = self.changed();
        let now = self.now_ms();
        if at_ms <= now {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(at_ms - now)) => {}
            _ = changed => {}
        }
    }
}
