//! Flow control: per key, at most `parallelism` attempts in flight and at most `rate` attempts
//! started per `period`. The settings, pause and pins are durable ([`FlowState`] in the store);
//! the counters are this process's (after a restart nothing is in flight, and a new rate
//! period starts). Messages that may not start yet wait in the key's wait list.

use crate::model::FlowState;

/// In-memory counters of one key.
#[derive(Debug, Clone, Default)]
pub struct FlowRuntime {
    /// Attempts in flight.
    pub active: u32,
    /// Start of the current rate period (ms).
    pub window_start: u64,
    /// Attempts started in it.
    pub count: u32,
    /// Messages wait in the key's wait list.
    pub waiting: bool,
}

/// Why a message may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The key is paused.
    Paused,
    /// `parallelism` attempts are in flight.
    Parallelism,
    /// `rate` attempts started in this period; the next period starts at the given time (ms).
    Rate(u64),
}

impl FlowRuntime {
    /// Rolls the rate period forward when it has ended.
    pub fn roll(&mut self, st: &FlowState, now: u64) {
        let period_ms = st.period.max(1).saturating_mul(1000);
        // `window_start == 0` is a fresh key: its first period starts now (at its first start),
        // not at the epoch.
        if self.window_start == 0 || now >= self.window_start.saturating_add(period_ms) {
            self.window_start = now;
            self.count = 0;
        }
    }

    /// Whether an attempt may start now; if so, counts it.
    pub fn admit(&mut self, st: &FlowState, now: u64) -> Result<(), Blocked> {
        if st.paused {
            return Err(Blocked::Paused);
        }
        if st.parallelism > 0 && self.active >= st.parallelism {
            return Err(Blocked::Parallelism);
        }
        self.roll(st, now);
        if st.rate > 0 && self.count >= st.rate {
            return Err(Blocked::Rate(self.window_start.saturating_add(st.period.max(1).saturating_mul(1000))));
        }
        self.active += 1;
        self.count += 1;
        Ok(())
    }

    /// How many waiting messages could start now (u32::MAX when unlimited).
    pub fn room(&mut self, st: &FlowState, now: u64) -> u32 {
        if st.paused {
            return 0;
        }
        self.roll(st, now);
        let par = if st.parallelism > 0 { st.parallelism.saturating_sub(self.active) } else { u32::MAX };
        let rate = if st.rate > 0 { st.rate.saturating_sub(self.count) } else { u32::MAX };
        par.min(rate)
    }

    /// When the current rate period ends (ms), if a rate applies.
    pub fn window_end(&self, st: &FlowState) -> Option<u64> {
        (st.rate > 0).then(|| self.window_start.saturating_add(st.period.max(1).saturating_mul(1000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallelism_and_rate() {
        let st = FlowState { key: "k".into(), parallelism: 2, rate: 3, period: 10, ..FlowState::default() };
        let mut rt = FlowRuntime::default();
        assert!(rt.admit(&st, 1_000).is_ok());
        assert!(rt.admit(&st, 1_000).is_ok());
        assert_eq!(rt.admit(&st, 1_000), Err(Blocked::Parallelism));
        rt.active -= 1;
        assert!(rt.admit(&st, 1_001).is_ok());
        rt.active = 0;
        assert_eq!(rt.admit(&st, 2_000), Err(Blocked::Rate(11_000)));
        assert_eq!(rt.room(&st, 2_000), 0);
        assert!(rt.admit(&st, 11_000).is_ok());
        let paused = FlowState { paused: true, ..st };
        assert_eq!(rt.admit(&paused, 11_000), Err(Blocked::Paused));
    }
}
