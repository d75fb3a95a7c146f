//! Time as an injected dependency, so that every validity check can be tested
//! at chosen instants (expired tokens, future `iat`, cache expiry) without sleeping.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch, as JWT `iat`/`exp`/`nbf` claims count them.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to (tests, benchmarks, replays).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock { now: Mutex::new(start) }
    }

    /// Starts at a Unix timestamp (seconds); out-of-range values start at the epoch.
    pub fn at_unix(seconds: i64) -> ManualClock {
        ManualClock::new(OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.saturating_add(by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(1_700_000_000);
        assert_eq!(clock.unix(), 1_700_000_000);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.unix(), 1_700_000_090);
        clock.set(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(clock.unix(), 0);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.unix() > 1_704_067_200);
    }
}
