//! Settings of a [`Gateway`](crate::Gateway).

use crate::config::{at_most, positive, MAX_KEY_BYTES_LIMIT, MAX_TABLE_LIMIT};
use crate::error::ConfigError;
use crate::settings::config;

config! {
    /// Settings of a [`Gateway`](crate::Gateway).
    GatewayConfig, GatewayConfigBuilder {
        /// Connections (plus reserved slots) one replica takes; DOG's `limit`. Default 50.
        limit: u32 = 50,
        /// A slot reserved by a route and not turned into a connection is freed after this
        /// long. Default 10000 ms.
        reservation_ttl_ms: u64 = 10_000,
        /// A replica creation the host has not answered after this long is abandoned and its
        /// waiting requests are released. Default 10000 ms.
        creation_timeout_ms: u64 = 10_000,
        /// Retire a replica that had no connection and no reservation for this long;
        /// 0 never retires. Default 0.
        retire_after_idle_ms: u64 = 0,
        /// A gossip completes with a partial result when peers have not answered after this
        /// long. Default 5000 ms.
        gossip_timeout_ms: u64 = 5_000,
        /// Most replicas, counting those being created. Default 1000.
        max_replicas: usize = 1_000,
        /// Most request ids with a connection, a reservation or a pending creation (sticky
        /// entries). Default 1000000.
        max_request_ids: usize = 1_000_000,
        /// Most reserved slots, counting requests waiting for a replica. Default 100000.
        max_reservations: usize = 100_000,
        /// Most replica creations waiting for the host's answer. Default 16.
        max_pending_creations: usize = 16,
        /// Most gossips in flight. Default 64.
        max_gossips: usize = 64,
        /// Longest group, replica, connection or request id in UTF-8 bytes. Default 256.
        max_id_bytes: usize = 256,
        /// Largest gossip reply payload in bytes. Default 65536.
        max_gossip_reply_bytes: usize = 65_536,
    }
}

impl GatewayConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<GatewayConfig, ConfigError> {
        let c = self.inner;
        positive("limit", u64::from(c.limit))?;
        at_most("limit", u64::from(c.limit), MAX_TABLE_LIMIT)?;
        positive("reservation_ttl_ms", c.reservation_ttl_ms)?;
        positive("creation_timeout_ms", c.creation_timeout_ms)?;
        positive("gossip_timeout_ms", c.gossip_timeout_ms)?;
        for (field, value) in [
            ("max_replicas", c.max_replicas),
            ("max_request_ids", c.max_request_ids),
            ("max_reservations", c.max_reservations),
            ("max_pending_creations", c.max_pending_creations),
            ("max_gossips", c.max_gossips),
        ] {
            positive(field, value as u64)?;
            at_most(field, value as u64, MAX_TABLE_LIMIT)?;
        }
        positive("max_id_bytes", c.max_id_bytes as u64)?;
        at_most("max_id_bytes", c.max_id_bytes as u64, MAX_KEY_BYTES_LIMIT)?;
        at_most("max_gossip_reply_bytes", c.max_gossip_reply_bytes as u64, MAX_TABLE_LIMIT)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingValue;

    #[test]
    fn defaults_are_valid_and_documented() {
        assert_eq!(GatewayConfig::builder().build(), Ok(GatewayConfig::default()));
        let c = GatewayConfig::default();
        assert_eq!((c.limit(), c.reservation_ttl_ms(), c.retire_after_idle_ms(), c.gossip_timeout_ms()), (50, 10_000, 0, 5_000));
        assert!(GatewayConfig::SETTINGS.iter().all(|s| s.doc_text().contains("Default")));
        let names: Vec<&str> = GatewayConfig::SETTINGS.iter().map(|s| s.name).collect();
        let read: Vec<&str> = c.settings().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, read);
    }

    #[test]
    fn nonsense_is_rejected() {
        assert_eq!(GatewayConfig::builder().limit(0).build(), Err(ConfigError::Zero { field: "limit" }));
        assert_eq!(GatewayConfig::builder().reservation_ttl_ms(0).build(), Err(ConfigError::Zero { field: "reservation_ttl_ms" }));
        assert_eq!(
            GatewayConfig::builder().max_id_bytes(1 << 17).build(),
            Err(ConfigError::TooLarge { field: "max_id_bytes", value: 1 << 17, max: 1 << 16 })
        );
        assert_eq!(GatewayConfig::builder().max_gossips(0).build(), Err(ConfigError::Zero { field: "max_gossips" }));
        // Zero where zero means "never" is fine.
        assert!(GatewayConfig::builder().retire_after_idle_ms(0).max_gossip_reply_bytes(0).build().is_ok());
        let mut b = GatewayConfig::builder();
        b.set("limit", &SettingValue::Int(2)).unwrap();
        assert_eq!(b.build().map(|c| c.limit()), Ok(2));
    }
}
