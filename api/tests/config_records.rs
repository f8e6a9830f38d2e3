//! `RunLoop::config_record` is what a binding's `config()` returns: every setting of the
//! machine's configuration in its `SETTINGS` order (a tiered global's then its upstream
//! shard's), with the values in force. Handed back as the options of `restore`, it rebuilds
//! the machine: the same settings and the same snapshot, for every machine kind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use shardtally::buckets::BucketsConfig;
use shardtally::outbox::OutboxConfig;
use shardtally::settings::{SettingInfo, SettingValue};
use shardtally::{GatewayConfig, GlobalConfig, MembershipConfig, ShardConfig, Timestamp};
use shardtally_api::options::{self, OptionList, OptionValue};
use shardtally_api::{Naming, Record, RunLoop, Value};

fn opts(items: &[(&str, SettingValue)]) -> OptionList {
    items.iter().map(|(n, v)| (n.to_string(), OptionValue::Value(v.clone()))).collect()
}

fn int(v: i128) -> SettingValue {
    SettingValue::Int(v)
}

/// A config record as the options a binding would pass back (a nested record: an object).
fn as_options(r: &Record) -> OptionList {
    r.fields
        .iter()
        .map(|(name, v)| {
            let v = match v {
                Value::Record(inner) => OptionValue::Object(as_options(inner)),
                Value::Null => OptionValue::Value(SettingValue::Null),
                Value::Bool(b) => OptionValue::Value(SettingValue::Bool(*b)),
                Value::U64(x) => OptionValue::Value(SettingValue::Int(i128::from(*x))),
                Value::I64(x) => OptionValue::Value(SettingValue::Int(i128::from(*x))),
                Value::Str(s) => OptionValue::Value(SettingValue::Str(s.to_string())),
                other => panic!("{name}: a setting is never {other:?}"),
            };
            (name.to_string(), v)
        })
        .collect()
}

fn names(r: &Record) -> Vec<&'static str> {
    r.fields.iter().map(|(n, _)| *n).collect()
}

fn setting_names(settings: &[SettingInfo]) -> Vec<&'static str> {
    settings.iter().map(|s| s.name).collect()
}

/// `m`'s config record restores `m`: the same settings, the same snapshot.
fn round_trip<M: RunLoop>(m: &M, restore: impl Fn(&[u8], &OptionList) -> M) {
    let config = m.config_record();
    let back = restore(&m.snapshot(), &as_options(&config));
    assert_eq!(back.config_record(), config);
    assert_eq!(back.snapshot(), m.snapshot());
}

#[test]
fn every_setting_in_order_with_its_value() {
    let seed = i128::from(u64::MAX);
    let shard = options::new_shard(
        Naming::Snake,
        &opts(&[("shard", int(1)), ("incarnation", int(2)), ("flush_after_requests", int(7)), ("seed", int(seed))]),
    )
    .unwrap();
    let config = shard.config_record();
    assert_eq!((config.class, config.tag), ("ShardSettings", None));
    assert_eq!(names(&config), setting_names(ShardConfig::SETTINGS), "identity is not a setting");
    assert_eq!(config.get("flush_after_requests"), Some(&Value::U64(7)));
    assert_eq!(config.get("flush_after_idle_ms"), Some(&Value::U64(5000)), "a default");
    assert_eq!(config.get("seed"), Some(&Value::U64(u64::MAX)));

    let buckets = options::new_buckets(Naming::Snake, &opts(&[("utc_offset_minutes", int(-90))])).unwrap();
    assert_eq!(buckets.config_record().get("utc_offset_minutes"), Some(&Value::I64(-90)));
    assert_eq!(names(&buckets.config_record()), setting_names(BucketsConfig::SETTINGS));

    let membership = options::new_membership(Naming::Snake, &opts(&[("assignment", SettingValue::Str("compact".into()))])).unwrap();
    assert_eq!(membership.config_record().get("assignment"), Some(&Value::Str("compact".into())));
    assert_eq!(names(&membership.config_record()), setting_names(MembershipConfig::SETTINGS));

    let gateway = options::new_gateway(Naming::Snake, &opts(&[("group", SettingValue::Str("g".into()))])).unwrap();
    assert_eq!(names(&gateway.config_record()), setting_names(GatewayConfig::SETTINGS), "the group is in the snapshot");
    let outbox = options::new_outbox(Naming::Snake, &[]).unwrap();
    assert_eq!(names(&outbox.config_record()), setting_names(OutboxConfig::SETTINGS));
}

#[test]
fn a_tiered_global_adds_its_upstream_shards_settings() {
    let plain = options::new_global(Naming::Snake, &[]).unwrap();
    assert_eq!(names(&plain.config_record()), setting_names(GlobalConfig::SETTINGS));
    let upstream = opts(&[("shard", int(0)), ("incarnation", int(9)), ("max_key_bytes", int(64))]);
    let tiered = options::new_global(Naming::Snake, &[("upstream".to_string(), OptionValue::Object(upstream))]).unwrap();
    let config = tiered.config_record();
    let mut expected = setting_names(GlobalConfig::SETTINGS);
    expected.push("upstream");
    assert_eq!(names(&config), expected);
    let Some(Value::Record(up)) = config.get("upstream") else { panic!("upstream is a record") };
    assert_eq!((up.class, up.get("max_key_bytes")), ("ShardSettings", Some(&Value::U64(64))));
}

#[test]
fn the_record_restores_every_machine() {
    let now = Timestamp::from_millis(1);
    let n = Naming::Snake;

    let mut shard = options::new_shard(n, &opts(&[("shard", int(1)), ("incarnation", int(2)), ("max_key_bytes", int(9))])).unwrap();
    shard.increment("a", 1, now).unwrap();
    round_trip(&shard, |b, o| options::restore_shard(n, b, o).unwrap());

    let upstream = opts(&[("shard", int(0)), ("incarnation", int(9)), ("flush_after_requests", int(3))]);
    let tiered = options::new_global(
        n,
        &[
            ("publish_mode".to_string(), OptionValue::Value(SettingValue::Str("changes".into()))),
            ("upstream".to_string(), OptionValue::Object(upstream)),
        ],
    )
    .unwrap();
    round_trip(&tiered, |b, o| options::restore_global(n, b, o).unwrap());

    let mut gateway = options::new_gateway(n, &opts(&[("group", SettingValue::Str("g".into())), ("limit", int(3))])).unwrap();
    gateway.route("u", now).unwrap();
    round_trip(&gateway, |b, o| options::restore_gateway(n, b, o).unwrap());

    let mut membership = options::new_membership(n, &opts(&[("grace_period_ms", int(5))])).unwrap();
    membership.register("c", "h", now).unwrap();
    round_trip(&membership, |b, o| options::restore_membership(n, b, o).unwrap());

    let mut buckets = options::new_buckets(n, &opts(&[("utc_offset_minutes", int(60)), ("max_keys", int(5))])).unwrap();
    buckets.record("GET /", now, now).unwrap();
    round_trip(&buckets, |b, o| options::restore_buckets(n, b, o).unwrap());

    let mut outbox = options::new_outbox(n, &opts(&[("capacity", int(3)), ("seed", int(11))])).unwrap();
    outbox.offer(vec![1], now);
    round_trip(&outbox, |b, o| options::restore_outbox(n, b, o).unwrap());
}
