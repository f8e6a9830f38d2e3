//! Settings of a [`Membership`](crate::Membership) machine.

use crate::error::ConfigError;
use crate::settings::{choice_setting, config};

/// How a reshard gives out indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Assignment {
    /// Survivors keep their index when it is below the new count; holes are filled first by
    /// survivors whose index is now out of range (lowest index first), then by holders
    /// without an index (in the order they registered). Moves as few holders as possible.
    /// The default.
    #[default]
    Minimal,
    /// The seed's order-preserving compaction: survivors ordered by their index, then
    /// holders without one (in the order they registered), are numbered `0..n`. A hole
    /// renumbers every survivor above it.
    Compact,
}

impl Assignment {
    /// The mode as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Minimal => "minimal",
            Assignment::Compact => "compact",
        }
    }
}

choice_setting!(Assignment, [Assignment::Minimal => "minimal", Assignment::Compact => "compact"]);

config! {
    /// Settings of a [`Membership`](crate::Membership) machine. The timing defaults are the
    /// seed's documented ones (heartbeat 60 s, grace 30 s, reshard 60 s).
    MembershipConfig, MembershipConfigBuilder {
        /// How often a holder heartbeats. A holder is alive until its last heartbeat plus
        /// this plus `grace_period_ms`. Default 60000 ms.
        heartbeat_interval_ms: u64 = 60_000,
        /// How late a heartbeat may be before the holder expires; must be positive, so a
        /// heartbeat sent exactly on schedule never races its deadline. Default 30000 ms.
        grace_period_ms: u64 = 30_000,
        /// At most one reshard per cluster per this interval (0: no limit). A cluster in which
        /// no live holder has an index reshards at once. Default 60000 ms.
        reshard_interval_ms: u64 = 60_000,
        /// How a reshard gives out indices: `"minimal"` or `"compact"`. Default `"minimal"`
        /// ([`Assignment::Minimal`]).
        assignment: Assignment = Assignment::Minimal,
        /// Most clusters; registering in one more is an error. Default 1024.
        max_clusters: usize = 1_024,
        /// Most holders per cluster (expired holders count until the reshard that removes
        /// them); registering one more is an error. Default 1024.
        max_holders: usize = 1_024,
        /// Longest cluster or holder id in UTF-8 bytes. Default 256.
        max_id_bytes: usize = 256,
    }
}

/// Largest accepted `max_id_bytes`.
const MAX_ID_BYTES_LIMIT: u64 = 1 << 16;
/// Largest accepted table bound (keeps shard indices and counts within `u32`).
const MAX_TABLE_LIMIT: u64 = 1 << 31;

impl MembershipConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<MembershipConfig, ConfigError> {
        let c = self.inner;
        for (field, value) in [
            ("heartbeat_interval_ms", c.heartbeat_interval_ms),
            ("grace_period_ms", c.grace_period_ms),
            ("max_clusters", c.max_clusters as u64),
            ("max_holders", c.max_holders as u64),
            ("max_id_bytes", c.max_id_bytes as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { field });
            }
        }
        for (field, value, max) in [
            ("max_clusters", c.max_clusters as u64, MAX_TABLE_LIMIT),
            ("max_holders", c.max_holders as u64, MAX_TABLE_LIMIT),
            ("max_id_bytes", c.max_id_bytes as u64, MAX_ID_BYTES_LIMIT),
        ] {
            if value > max {
                return Err(ConfigError::TooLarge { field, value, max });
            }
        }
        Ok(c)
    }
}

impl MembershipConfig {
    /// How long a holder stays alive after a heartbeat: `heartbeat_interval_ms +
    /// grace_period_ms` (saturating).
    pub fn time_to_live_ms(&self) -> u64 {
        self.heartbeat_interval_ms.saturating_add(self.grace_period_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SettingValue as V;

    #[test]
    fn defaults_are_the_seeds() {
        let c = MembershipConfig::default();
        assert_eq!((c.heartbeat_interval_ms(), c.grace_period_ms(), c.reshard_interval_ms()), (60_000, 30_000, 60_000));
        assert_eq!((c.assignment(), c.max_clusters(), c.max_holders(), c.max_id_bytes()), (Assignment::Minimal, 1_024, 1_024, 256));
        assert_eq!(c.time_to_live_ms(), 90_000);
        assert_eq!(MembershipConfig::builder().build(), Ok(c));
    }

    #[test]
    fn settings_are_data() {
        let listed: Vec<&str> = MembershipConfig::SETTINGS.iter().map(|s| s.name).collect();
        let read: Vec<&str> = MembershipConfig::default().settings().iter().map(|(n, _)| *n).collect();
        assert_eq!(listed, read);
        assert!(MembershipConfig::SETTINGS.iter().all(|s| s.doc_text().contains("Default")));
        let mut b = MembershipConfig::builder();
        b.set("assignment", &V::Str("compact".into())).unwrap();
        b.set("reshard_interval_ms", &V::Int(0)).unwrap();
        let c = b.build().unwrap();
        assert_eq!((c.assignment(), c.reshard_interval_ms()), (Assignment::Compact, 0));
        assert_eq!(
            MembershipConfig::builder().set("assignment", &V::Str("fair".into())).map_err(|e| e.code()),
            Err("CONFIG_INVALID_VALUE")
        );
    }

    #[test]
    fn nonsense_is_rejected() {
        assert_eq!(MembershipConfig::builder().grace_period_ms(0).build(), Err(ConfigError::Zero { field: "grace_period_ms" }));
        assert_eq!(MembershipConfig::builder().max_holders(0).build(), Err(ConfigError::Zero { field: "max_holders" }));
        assert_eq!(
            MembershipConfig::builder().max_id_bytes(1 << 20).build(),
            Err(ConfigError::TooLarge { field: "max_id_bytes", value: 1 << 20, max: 1 << 16 })
        );
    }
}
