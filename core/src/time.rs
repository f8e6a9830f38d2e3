//! Caller-supplied time.
//!
//! shardtally never reads a clock. Every input takes `now` as a [`Timestamp`]: milliseconds
//! on a clock the host chooses (`Date.now()`, `time.time_ns() // 10**6`, a test clock).
//! A `now` earlier than the last one a machine has seen is treated as that last one, so a
//! clock stepping backwards never panics and never moves a deadline backwards.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time, in milliseconds on the host's clock.
///
/// A plain integer rather than `std::time::Instant`: it can be replayed, serialized into a
/// snapshot and used on `wasm32-unknown-unknown`, where reading `std::time::Instant` panics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The zero timestamp.
    pub const ZERO: Timestamp = Timestamp(0);
    /// The largest representable timestamp.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// A timestamp `ms` milliseconds after the clock's zero.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the clock's zero.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating at [`Timestamp::MAX`].
    #[must_use]
    pub const fn saturating_add(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, or 0 when `earlier` is later.
    pub const fn saturating_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<u64> for Timestamp {
    fn from(ms: u64) -> Self {
        Timestamp(ms)
    }
}

impl From<Timestamp> for u64 {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The latest time a machine has seen: clamps a backwards `now` to the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Clock {
    last: Timestamp,
}

impl Clock {
    /// The time to act on for an input at `now`, without recording it: inputs that turn
    /// out to change nothing leave the clock (and so the snapshot) as it was.
    #[inline]
    pub(crate) fn at(&self, now: Timestamp) -> Timestamp {
        now.max(self.last)
    }

    /// Records `now` and returns the time to act on: `max(now, last seen)`.
    #[inline]
    pub(crate) fn observe(&mut self, now: Timestamp) -> Timestamp {
        if now > self.last {
            self.last = now;
        }
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_never_moves_backwards() {
        let mut c = Clock::default();
        assert_eq!(c.observe(Timestamp::from_millis(10)), Timestamp::from_millis(10));
        assert_eq!(c.observe(Timestamp::from_millis(3)), Timestamp::from_millis(10));
        assert_eq!(c.observe(Timestamp::from_millis(11)), Timestamp::from_millis(11));
    }

    #[test]
    fn saturating_arithmetic() {
        assert_eq!(Timestamp::MAX.saturating_add(5), Timestamp::MAX);
        assert_eq!(Timestamp::from_millis(3).saturating_since(Timestamp::from_millis(5)), 0);
    }
}
