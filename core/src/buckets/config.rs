//! Settings of a [`Buckets`](crate::Buckets) machine.

use crate::config::{at_most, positive};
use crate::error::ConfigError;
use crate::settings::config;

config! {
    /// Settings of a [`Buckets`](crate::Buckets) machine.
    BucketsConfig, BucketsConfigBuilder {
        /// Fixed offset from UTC in minutes (may be negative, in `-1439..=1439`) that defines
        /// the day of an event and the days of every range and period. Default 0 (UTC).
        utc_offset_minutes: i32 = 0,
        /// Raw (not yet rolled-up) day buckets older than this many days before the day of
        /// `now` are dropped, counted; events arriving for such a day are dropped, counted.
        /// At least 1. Default 35 (a monthly rollup still finds the whole month).
        raw_retention_days: u32 = 35,
        /// An event time more than this far after `now` is rejected as an invalid argument
        /// (a client clock in the future must not push raw buckets ahead). Default 3600000 ms.
        max_future_ms: u64 = 3_600_000,
        /// Most distinct keys held in raw buckets and daily totals together; an event with
        /// one more is an error. Default 10000.
        max_keys: usize = 10_000,
        /// Longest key in UTF-8 bytes. Default 256.
        max_key_bytes: usize = 256,
        /// Most distinct days held in daily totals; a rollup that adds more drops the oldest
        /// days' totals (counted). Default 3660 (ten years).
        max_days: u32 = 3_660,
    }
}

/// Largest accepted `|utc_offset_minutes|`: less than a day.
const MAX_OFFSET_MINUTES: i32 = 1_439;

impl BucketsConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<BucketsConfig, ConfigError> {
        let c = self.inner;
        if !(-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&c.utc_offset_minutes) {
            return Err(ConfigError::InvalidSetting {
                field: "utc_offset_minutes",
                expected: format!("an integer in {}..={MAX_OFFSET_MINUTES}", -MAX_OFFSET_MINUTES),
                value: c.utc_offset_minutes.to_string(),
            });
        }
        positive("raw_retention_days", u64::from(c.raw_retention_days))?;
        at_most("raw_retention_days", u64::from(c.raw_retention_days), 3_660_000)?;
        positive("max_keys", c.max_keys as u64)?;
        at_most("max_keys", c.max_keys as u64, 1 << 31)?;
        positive("max_key_bytes", c.max_key_bytes as u64)?;
        at_most("max_key_bytes", c.max_key_bytes as u64, 1 << 16)?;
        positive("max_days", u64::from(c.max_days))?;
        at_most("max_days", u64::from(c.max_days), 3_660_000)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = BucketsConfig::builder().build().unwrap();
        assert_eq!(
            (c.utc_offset_minutes(), c.raw_retention_days(), c.max_keys(), c.max_key_bytes(), c.max_days()),
            (0, 35, 10_000, 256, 3_660)
        );
        assert!(BucketsConfig::builder().utc_offset_minutes(-300).build().is_ok());
        assert_eq!(BucketsConfig::builder().utc_offset_minutes(1_440).build().map_err(|e| e.code()), Err("CONFIG_INVALID_VALUE"));
        assert_eq!(BucketsConfig::builder().raw_retention_days(0).build(), Err(ConfigError::Zero { field: "raw_retention_days" }));
        assert!(BucketsConfig::SETTINGS.iter().all(|s| s.doc_text().contains("Default")));
    }
}
