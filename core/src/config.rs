//! Configuration of every machine, with the SPEC defaults, built through validating builders.
//!
//! ```
//! use shardtally::ShardConfig;
//! let config = ShardConfig::builder()
//!     .flush_after_requests(500)
//!     .flush_after_idle_ms(2_000)
//!     .build()?;
//! assert_eq!(config.flush_max_age_ms(), 60_000); // untouched settings keep their defaults
//! # Ok::<(), shardtally::ConfigError>(())
//! ```
//!
//! A zero where zero means "disabled" is accepted; a nonsensical value (a zero bound, a first
//! retry delay longer than the largest) is a [`ConfigError`].

use crate::error::ConfigError;
use crate::rng::Rng;
use crate::settings::{choice_setting, config};

pub use crate::gateway::{GatewayConfig, GatewayConfigBuilder};

config! {
    /// Settings of a [`Shard`](crate::Shard).
    ShardConfig, ShardConfigBuilder {
        /// Flush as soon as pending requests reach this many; 0 disables. Default 100.
        flush_after_requests: u32 = 100,
        /// Flush when no increment arrived for this long (a debounce re-armed by every
        /// increment); 0 disables. Default 5000 ms.
        flush_after_idle_ms: u64 = 5_000,
        /// Flush when the oldest pending delta is this old, even under steady traffic;
        /// 0 disables. Default 60000 ms.
        flush_max_age_ms: u64 = 60_000,
        /// Treat an in-flight batch as failed when no acknowledgement arrived for this long.
        /// Default 10000 ms.
        ack_timeout_ms: u64 = 10_000,
        /// First delay before re-sending a failed batch; doubles per attempt. Default 1000 ms.
        retry_initial_ms: u64 = 1_000,
        /// Largest delay before re-sending a failed batch. Default 30000 ms.
        retry_max_ms: u64 = 30_000,
        /// Each retry delay is shortened by a seeded random amount up to this percentage of
        /// it, so shards that failed together do not retry together. Default 20.
        retry_jitter_percent: u8 = 20,
        /// Most distinct pending keys (per generation); one more is an error. Default 100000.
        max_pending_keys: usize = 100_000,
        /// Most keys interned with `intern` ([`Shard::intern`](crate::Shard::intern)). Default 100000.
        max_interned_keys: usize = 100_000,
        /// Longest key in UTF-8 bytes. Default 256.
        max_key_bytes: usize = 256,
        /// Seed of the jitter generator. Default 0.
        seed: u64 = 0,
    }
}

impl ShardConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<ShardConfig, ConfigError> {
        let c = self.inner;
        positive("ack_timeout_ms", c.ack_timeout_ms)?;
        positive("max_pending_keys", c.max_pending_keys as u64)?;
        positive("max_key_bytes", c.max_key_bytes as u64)?;
        at_most("max_key_bytes", c.max_key_bytes as u64, MAX_KEY_BYTES_LIMIT)?;
        at_most("max_pending_keys", c.max_pending_keys as u64, MAX_TABLE_LIMIT)?;
        at_most("max_interned_keys", c.max_interned_keys as u64, MAX_TABLE_LIMIT)?;
        Backoff::validate(c.retry_initial_ms, c.retry_max_ms, c.retry_jitter_percent)?;
        Ok(c)
    }
}

/// What a publish carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum PublishMode {
    /// Every key's total (what do-counter-sharding wrote to KV). The default.
    #[default]
    Full,
    /// Only the keys changed since the last acknowledged publish.
    Changes,
}

impl PublishMode {
    /// The mode as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishMode::Full => "full",
            PublishMode::Changes => "changes",
        }
    }
}

choice_setting!(PublishMode, [PublishMode::Full => "full", PublishMode::Changes => "changes"]);

config! {
    /// Settings of a [`Global`](crate::Global) aggregator.
    GlobalConfig, GlobalConfigBuilder {
        /// Publish after this many applied batches; 0 disables. Default 100.
        persist_after_writes: u32 = 100,
        /// Publish when no batch arrived for this long; 0 disables. Default 5000 ms.
        persist_after_idle_ms: u64 = 5_000,
        /// Publish when the oldest unpublished change is this old; 0 disables. Default 60000 ms.
        persist_max_age_ms: u64 = 60_000,
        /// What each publish carries: every total (`"full"`) or only the keys changed since the last
        /// acknowledged publish (`"changes"`). Default `"full"`.
        publish_mode: PublishMode = PublishMode::Full,
        /// Treat an unacknowledged publish as failed after this long. Default 10000 ms.
        publish_timeout_ms: u64 = 10_000,
        /// First delay before retrying a failed publish; doubles per attempt. Default 1000 ms.
        retry_initial_ms: u64 = 1_000,
        /// Largest delay before retrying a failed publish. Default 30000 ms.
        retry_max_ms: u64 = 30_000,
        /// Seeded jitter on publish retries, as a percentage of the delay. Default 20.
        retry_jitter_percent: u8 = 20,
        /// Records kept in the write log (a ring; 0 keeps none). Default 1000.
        write_log_capacity: usize = 1_000,
        /// Keys listed per write-log record (the rest are counted). Default 16.
        write_log_keys_per_write: usize = 16,
        /// Most distinct keys in the totals; a batch that would add more is rejected.
        /// Default 1000000.
        max_keys: usize = 1_000_000,
        /// Longest key in UTF-8 bytes. Default 256.
        max_key_bytes: usize = 256,
        /// Most `(shard, incarnation)` pairs remembered for deduplication (and shards with
        /// per-shard statistics). Beyond it the least recently seen life that a newer life of
        /// its shard index replaced is pruned (counted in the global's stats); a batch from a
        /// new life when every entry is a live shard is refused with a `"dedup"` table-full
        /// error, so set it above the number of live shards. Default 10000.
        max_dedup_entries: usize = 10_000,
        /// Seed of the jitter generator. Default 0.
        seed: u64 = 0,
    }
}

impl GlobalConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<GlobalConfig, ConfigError> {
        let c = self.inner;
        positive("publish_timeout_ms", c.publish_timeout_ms)?;
        positive("max_keys", c.max_keys as u64)?;
        positive("max_key_bytes", c.max_key_bytes as u64)?;
        positive("max_dedup_entries", c.max_dedup_entries as u64)?;
        at_most("max_key_bytes", c.max_key_bytes as u64, MAX_KEY_BYTES_LIMIT)?;
        at_most("max_keys", c.max_keys as u64, MAX_TABLE_LIMIT)?;
        at_most("max_dedup_entries", c.max_dedup_entries as u64, MAX_TABLE_LIMIT)?;
        at_most("write_log_capacity", c.write_log_capacity as u64, MAX_TABLE_LIMIT)?;
        at_most("write_log_keys_per_write", c.write_log_keys_per_write as u64, MAX_TABLE_LIMIT)?;
        Backoff::validate(c.retry_initial_ms, c.retry_max_ms, c.retry_jitter_percent)?;
        Ok(c)
    }
}

/// How a [`Router`](crate::Router) picks a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// A seeded random shard per increment.
    Random,
    /// Jump consistent hash of the key: a key always goes to the same shard, and changing
    /// the shard count moves few keys. The default.
    #[default]
    Hash,
    /// Shards in turn.
    RoundRobin,
    /// Always the shard of [`RouterConfig::pinned_shard`].
    Pinned,
}

impl Strategy {
    /// The strategy's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Hash => "hash",
            Strategy::RoundRobin => "round_robin",
            Strategy::Pinned => "pinned",
        }
    }
}

choice_setting!(Strategy, [Strategy::Hash => "hash", Strategy::Random => "random", Strategy::RoundRobin => "round_robin", Strategy::Pinned => "pinned"]);

config! {
    /// Settings of a [`Router`](crate::Router).
    RouterConfig, RouterConfigBuilder {
        /// How to pick a shard: `"hash"` (jump consistent hash of the key), `"random"` (seeded),
        /// `"round_robin"` or `"pinned"`. Default `"hash"`.
        strategy: Strategy = Strategy::Hash,
        /// The shard of the `"pinned"` strategy (required with it, null otherwise). Default null.
        pinned_shard: Option<u32> = None,
        /// Number of shards. Default 1.
        shard_count: u32 = 1,
        /// Seed of the `"random"` strategy's generator. Default 0.
        seed: u64 = 0,
    }
}

impl RouterConfigBuilder {
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<RouterConfig, ConfigError> {
        let c = self.inner;
        positive("shard_count", u64::from(c.shard_count))?;
        match (c.strategy, c.pinned_shard) {
            (Strategy::Pinned, Some(shard)) if shard >= c.shard_count => {
                Err(ConfigError::PinnedOutOfRange { shard, shard_count: c.shard_count })
            }
            (Strategy::Pinned, None) => Err(ConfigError::InvalidSetting {
                field: "pinned_shard",
                expected: "a shard index with strategy \"pinned\"".to_owned(),
                value: "null".to_owned(),
            }),
            (Strategy::Pinned, Some(_)) | (_, None) => Ok(c),
            (_, Some(shard)) => Err(ConfigError::InvalidSetting {
                field: "pinned_shard",
                expected: "null unless strategy is \"pinned\"".to_owned(),
                value: shard.to_string(),
            }),
        }
    }
}

/// Largest accepted `max_key_bytes`.
pub(crate) const MAX_KEY_BYTES_LIMIT: u64 = 1 << 16;
/// Largest accepted table bound (keeps ids within `u32`).
pub(crate) const MAX_TABLE_LIMIT: u64 = 1 << 31;

pub(crate) fn positive(field: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Zero { field })
    } else {
        Ok(())
    }
}

pub(crate) fn at_most(field: &'static str, value: u64, max: u64) -> Result<(), ConfigError> {
    if value > max {
        Err(ConfigError::TooLarge { field, value, max })
    } else {
        Ok(())
    }
}

/// Exponential backoff with seeded jitter, shared by shard retries and global publishes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    initial_ms: u64,
    max_ms: u64,
    jitter_percent: u8,
}

impl Backoff {
    pub(crate) fn new(initial_ms: u64, max_ms: u64, jitter_percent: u8) -> Self {
        Backoff { initial_ms, max_ms, jitter_percent }
    }

    fn validate(initial_ms: u64, max_ms: u64, jitter_percent: u8) -> Result<(), ConfigError> {
        positive("retry_initial_ms", initial_ms)?;
        if initial_ms > max_ms {
            return Err(ConfigError::BackoffRange { initial_ms, max_ms });
        }
        at_most("retry_jitter_percent", u64::from(jitter_percent), 100)
    }

    /// The delay before attempt `attempt` (1 for the first retry): `initial * 2^(attempt-1)`
    /// capped at `max`, minus a seeded jitter of up to `jitter_percent` of it; at least 1 ms.
    pub(crate) fn delay(&self, attempt: u32, rng: &mut Rng) -> u64 {
        let shift = attempt.saturating_sub(1).min(63);
        let base = self.initial_ms.checked_shl(shift).filter(|v| v >> shift == self.initial_ms).unwrap_or(u64::MAX).min(self.max_ms);
        let span = base / 100 * u64::from(self.jitter_percent) + base % 100 * u64::from(self.jitter_percent) / 100;
        let jitter = if span == 0 { 0 } else { rng.below(span + 1) };
        (base - jitter).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let s = ShardConfig::default();
        assert_eq!((s.flush_after_requests(), s.flush_after_idle_ms(), s.flush_max_age_ms()), (100, 5_000, 60_000));
        assert_eq!((s.retry_initial_ms(), s.retry_max_ms(), s.max_pending_keys(), s.max_key_bytes()), (1_000, 30_000, 100_000, 256));
        let g = GlobalConfig::default();
        assert_eq!(
            (g.persist_after_writes(), g.persist_after_idle_ms(), g.persist_max_age_ms(), g.write_log_capacity()),
            (100, 5_000, 60_000, 1_000)
        );
        assert_eq!(ShardConfig::builder().build(), Ok(s));
        assert_eq!(GlobalConfig::builder().build(), Ok(g));
        assert_eq!(RouterConfig::builder().build(), Ok(RouterConfig::default()));
    }

    #[test]
    fn nonsense_is_rejected_with_values() {
        assert_eq!(ShardConfig::builder().max_key_bytes(0).build(), Err(ConfigError::Zero { field: "max_key_bytes" }));
        assert_eq!(
            ShardConfig::builder().retry_initial_ms(5).retry_max_ms(4).build(),
            Err(ConfigError::BackoffRange { initial_ms: 5, max_ms: 4 })
        );
        assert_eq!(
            GlobalConfig::builder().retry_jitter_percent(101).build(),
            Err(ConfigError::TooLarge { field: "retry_jitter_percent", value: 101, max: 100 })
        );
        assert_eq!(
            RouterConfig::builder().strategy(Strategy::Pinned).pinned_shard(Some(3)).shard_count(3).build(),
            Err(ConfigError::PinnedOutOfRange { shard: 3, shard_count: 3 })
        );
        assert_eq!(RouterConfig::builder().shard_count(0).build(), Err(ConfigError::Zero { field: "shard_count" }));
        // Zero where zero means "disabled" is fine.
        assert!(ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().is_ok());
    }

    #[test]
    fn settings_are_data() {
        use crate::settings::SettingValue as V;
        // Every setting of every configuration can be read back and set by name to its default.
        for (settings, names) in [
            (ShardConfig::default().settings(), ShardConfig::SETTINGS),
            (GlobalConfig::default().settings(), GlobalConfig::SETTINGS),
            (RouterConfig::default().settings(), RouterConfig::SETTINGS),
        ] {
            let listed: Vec<&str> = names.iter().map(|s| s.name).collect();
            let read: Vec<&str> = settings.iter().map(|(n, _)| *n).collect();
            assert_eq!(listed, read);
            assert!(names.iter().all(|s| s.doc_text().contains("Default")), "every doc states the default");
        }
        let mut b = GlobalConfig::builder();
        b.set("publish_mode", &V::Str("changes".into())).unwrap();
        b.set("persist_after_writes", &V::Int(7)).unwrap();
        let c = b.build().unwrap();
        assert_eq!((c.publish_mode(), c.persist_after_writes()), (PublishMode::Changes, 7));
        assert_eq!(c.to_builder().build(), Ok(c));
        assert_eq!(
            GlobalConfig::builder().set("publish_mode", &V::Str("some".into())),
            Err(ConfigError::InvalidSetting {
                field: "publish_mode",
                expected: "one of \"full\", \"changes\"".into(),
                value: "\"some\"".into()
            })
        );
        assert_eq!(ShardConfig::builder().set("retry_jitter_percent", &V::Int(256)).map_err(|e| e.code()), Err("CONFIG_INVALID_VALUE"));
        let unknown = ShardConfig::builder().set("flush_after_request", &V::Int(1)).unwrap_err();
        assert_eq!(unknown.code(), "CONFIG_UNKNOWN_SETTING");
        let mut r = RouterConfig::builder();
        r.set("strategy", &V::Str("pinned".into())).unwrap();
        assert_eq!(r.build().map_err(|e| e.code()), Err("CONFIG_INVALID_VALUE"), "pinned needs pinned_shard");
        r.set("pinned_shard", &V::Int(0)).unwrap();
        assert_eq!(r.build().map(|c| c.pinned_shard()), Ok(Some(0)));
        r.set("strategy", &V::Str("hash".into())).unwrap();
        assert_eq!(r.build().map_err(|e| e.code()), Err("CONFIG_INVALID_VALUE"), "pinned_shard needs pinned");
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let b = Backoff::new(1_000, 30_000, 20);
        let mut rng = Rng::new(1);
        for attempt in 1..=10u32 {
            let base = (1_000u64 << (attempt - 1)).min(30_000);
            let d = b.delay(attempt, &mut rng);
            assert!(d <= base && d >= base - base / 5, "attempt {attempt}: {d}");
        }
        assert_eq!(Backoff::new(7, 7, 0).delay(200, &mut rng), 7);
        assert_eq!(Backoff::new(u64::MAX / 2, u64::MAX, 0).delay(5, &mut rng), u64::MAX);
    }
}
