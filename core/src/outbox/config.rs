//! Settings of an [`Outbox`](crate::Outbox).

use crate::config::{at_most, positive};
use crate::error::ConfigError;
use crate::settings::config;

config! {
    /// Settings of an [`Outbox`](crate::Outbox).
    OutboxConfig, OutboxConfigBuilder {
        /// Most messages held (queued, waiting to be re-sent, or in flight); an offer beyond
        /// it is dropped, counted as `full`. Default 1024.
        capacity: usize = 1_024,
        /// Largest message in bytes; a larger offer is dropped, counted as `too_large`.
        /// Default 65536.
        max_message_bytes: usize = 65_536,
        /// Most messages sent and not yet answered. Default 1 (one at a time, in order).
        max_in_flight: usize = 1,
        /// A send not answered for this long counts as failed. Default 30000 ms.
        send_timeout_ms: u64 = 30_000,
        /// Shortest reconnect delay after a failure (inclusive). Default 200 ms.
        reconnect_min_ms: u64 = 200,
        /// Longest reconnect delay after a failure (exclusive): the delay is drawn from
        /// `[reconnect_min_ms, reconnect_max_ms)` by the seeded generator. Default 5000 ms.
        reconnect_max_ms: u64 = 5_000,
        /// Seed of the jitter generator. Default 0.
        seed: u64 = 0,
    }
}

impl OutboxConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<OutboxConfig, ConfigError> {
        let c = self.inner;
        positive("capacity", c.capacity as u64)?;
        at_most("capacity", c.capacity as u64, 1 << 31)?;
        positive("max_message_bytes", c.max_message_bytes as u64)?;
        at_most("max_message_bytes", c.max_message_bytes as u64, 1 << 30)?;
        positive("max_in_flight", c.max_in_flight as u64)?;
        at_most("max_in_flight", c.max_in_flight as u64, 1 << 16)?;
        positive("send_timeout_ms", c.send_timeout_ms)?;
        positive("reconnect_min_ms", c.reconnect_min_ms)?;
        if c.reconnect_max_ms <= c.reconnect_min_ms {
            return Err(ConfigError::InvalidSetting {
                field: "reconnect_max_ms",
                expected: format!("greater than reconnect_min_ms ({})", c.reconnect_min_ms),
                value: c.reconnect_max_ms.to_string(),
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = OutboxConfig::builder().build().unwrap();
        assert_eq!((c.capacity(), c.max_in_flight(), c.reconnect_min_ms(), c.reconnect_max_ms()), (1_024, 1, 200, 5_000));
        assert_eq!(OutboxConfig::builder().capacity(0).build(), Err(ConfigError::Zero { field: "capacity" }));
        assert_eq!(OutboxConfig::builder().reconnect_max_ms(200).build().map_err(|e| e.code()), Err("CONFIG_INVALID_VALUE"));
        assert!(OutboxConfig::SETTINGS.iter().all(|s| s.doc_text().contains("Default")));
    }
}
