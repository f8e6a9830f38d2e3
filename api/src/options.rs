//! Machines from options: a binding reads its language's options (Python keyword arguments,
//! a JS options object) into `(name, value)` pairs and hands them here. Names are matched in
//! the binding's [`Naming`]; an unknown name is a [`ConfigError::UnknownSetting`] naming the
//! closest valid one.

use crate::errors::AnyError;
use crate::naming::{closest, Naming};
use crate::rebuild::Rebuild;
use shardtally::buckets::{Buckets, BucketsMeta, BucketsRow, Day};
use shardtally::journal::{GatewayRow, GlobalBuilder, OutboxRow, ShardBuilder};
use shardtally::outbox::Outbox;
use shardtally::settings::{ConfigBuilder, SettingType, SettingValue};
use shardtally::{
    BucketsConfigBuilder, ConfigError, Gateway, GatewayConfigBuilder, Global, GlobalConfig, GlobalConfigBuilder, Membership,
    MembershipConfigBuilder, OutboxConfigBuilder, Router, RouterConfigBuilder, Shard, ShardConfig, ShardConfigBuilder, ShardRef,
};
use std::sync::Arc;

/// One option as a binding hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// A setting's value.
    Value(SettingValue),
    /// A nested options object (a tiered global's `upstream`).
    Object(OptionList),
}

/// Options in the order the caller gave them.
pub type Options = [(String, OptionValue)];

/// Owned [`Options`] (a nested object's).
pub type OptionList = Vec<(String, OptionValue)>;

/// Applies `options` to a `B` builder; names in `extra` go to `on_extra` instead.
pub fn configure<B: ConfigBuilder>(
    naming: Naming,
    options: &Options,
    extra: &[&'static str],
    mut on_extra: impl FnMut(&'static str, &OptionValue) -> Result<(), ConfigError>,
) -> Result<B::Config, ConfigError> {
    let mut builder = B::new();
    for (given, value) in options {
        if let Some(name) = extra.iter().find(|n| naming.matches(given, n)) {
            on_extra(name, value)?;
        } else if let Some(info) = B::SETTINGS.iter().find(|s| naming.matches(given, s.name)) {
            builder.set(info.name, setting_value(info.name, value)?)?;
        } else {
            let names: Vec<String> = B::SETTINGS.iter().map(|s| s.name).chain(extra.iter().copied()).map(|n| naming.render(n)).collect();
            let suggestion = closest(given, names.iter().map(String::as_str)).map(str::to_owned);
            return Err(ConfigError::UnknownSetting { name: given.clone(), suggestion });
        }
    }
    builder.build()
}

fn setting_value<'v>(name: &'static str, value: &'v OptionValue) -> Result<&'v SettingValue, ConfigError> {
    match value {
        OptionValue::Value(v) => Ok(v),
        OptionValue::Object(_) => {
            Err(ConfigError::InvalidSetting { field: name, expected: "a plain value".into(), value: "an object".into() })
        }
    }
}

/// Converts an identity option (`shard`, `incarnation`, `generation`).
fn identity<T: SettingType>(name: &'static str, value: &OptionValue) -> Result<T, ConfigError> {
    let v = setting_value(name, value)?;
    T::from_setting(v).ok_or_else(|| ConfigError::InvalidSetting { field: name, expected: T::KIND.expected(), value: v.to_string() })
}

/// A new shard: `shard` and `incarnation` (required), `generation` (optional) and the
/// `ShardConfig` settings.
pub fn new_shard(naming: Naming, options: &Options) -> Result<Shard, ConfigError> {
    let (mut shard, mut incarnation, mut generation) = (None, None, None);
    let config = configure::<ShardConfigBuilder>(naming, options, &["shard", "incarnation", "generation"], |name, v| {
        match name {
            "shard" => shard = Some(identity::<u32>(name, v)?),
            "incarnation" => incarnation = Some(identity::<u64>(name, v)?),
            _ => generation = Some(identity::<u64>(name, v)?),
        }
        Ok(())
    })?;
    let shard = shard.ok_or(ConfigError::MissingSetting { field: "shard" })?;
    let incarnation = incarnation.ok_or(ConfigError::MissingSetting { field: "incarnation" })?;
    Ok(Shard::with_generation(config, ShardRef { shard, incarnation }, generation.unwrap_or(0)))
}

/// A shard's settings (for [`restore_shard`]: the identity is in the snapshot).
pub fn shard_config(naming: Naming, options: &Options) -> Result<ShardConfig, ConfigError> {
    settings::<ShardConfigBuilder>(naming, options)
}

/// A shard from `snapshot()` bytes and its settings.
pub fn restore_shard(naming: Naming, bytes: &[u8], options: &Options) -> Result<Shard, AnyError> {
    let config = shard_config(naming, options)?;
    Ok(Shard::restore(bytes, config)?)
}

/// Splits a global's options into its own settings and the `upstream` object.
fn global_parts(naming: Naming, options: &Options) -> Result<(GlobalConfig, Option<OptionList>), ConfigError> {
    let mut upstream = None;
    let config = configure::<GlobalConfigBuilder>(naming, options, &["upstream"], |name, v| match v {
        OptionValue::Object(o) => {
            upstream = Some(o.clone());
            Ok(())
        }
        OptionValue::Value(SettingValue::Null) => Ok(()),
        OptionValue::Value(v) => {
            Err(ConfigError::InvalidSetting { field: name, expected: "an options object".into(), value: v.to_string() })
        }
    })?;
    Ok((config, upstream))
}

/// A new global: `GlobalConfig` settings, and with `upstream` (a shard's options) a tiered
/// global.
pub fn new_global(naming: Naming, options: &Options) -> Result<Global, ConfigError> {
    let (config, upstream) = global_parts(naming, options)?;
    Ok(match upstream {
        Some(up) => Global::with_upstream(config, new_shard(naming, &up)?),
        None => Global::new(config),
    })
}

/// A global from `snapshot()` bytes and its settings; a tiered global's snapshot needs
/// `upstream` (the upstream shard's settings).
pub fn restore_global(naming: Naming, bytes: &[u8], options: &Options) -> Result<Global, AnyError> {
    let (config, upstream) = global_parts(naming, options)?;
    Ok(match upstream {
        Some(up) => Global::restore_tiered(bytes, config, shard_config(naming, &up)?)?,
        None => Global::restore(bytes, config)?,
    })
}

/// A new router.
pub fn new_router(naming: Naming, options: &Options) -> Result<Router, ConfigError> {
    Ok(Router::new(settings::<RouterConfigBuilder>(naming, options)?))
}

/// A machine's settings only (no identity, no nested object).
fn settings<B: ConfigBuilder>(naming: Naming, options: &Options) -> Result<B::Config, ConfigError> {
    configure::<B>(naming, options, &[], |_, _| Ok(()))
}

/// Converts a string identity option (a gateway's `group`).
fn string_option(name: &'static str, value: &OptionValue) -> Result<String, ConfigError> {
    match setting_value(name, value)? {
        SettingValue::Str(s) => Ok(s.clone()),
        v => Err(ConfigError::InvalidSetting { field: name, expected: "a string".into(), value: v.to_string() }),
    }
}

/// A new gateway: `group` (required, the group it routes for) and the `GatewayConfig`
/// settings. An empty or over-long group is the engine's `EMPTY_ID` / `ID_TOO_LONG`.
pub fn new_gateway(naming: Naming, options: &Options) -> Result<Gateway, AnyError> {
    let mut group = None;
    let config = configure::<GatewayConfigBuilder>(naming, options, &["group"], |name, v| {
        group = Some(string_option(name, v)?);
        Ok(())
    })?;
    let group = group.ok_or(ConfigError::MissingSetting { field: "group" })?;
    Ok(Gateway::new(config, &group)?)
}

/// A gateway from `snapshot()` bytes and its settings (the group is in the snapshot).
pub fn restore_gateway(naming: Naming, bytes: &[u8], options: &Options) -> Result<Gateway, AnyError> {
    Ok(Gateway::restore(bytes, settings::<GatewayConfigBuilder>(naming, options)?)?)
}

/// A new membership machine (no clusters yet).
pub fn new_membership(naming: Naming, options: &Options) -> Result<Membership, ConfigError> {
    Ok(Membership::new(settings::<MembershipConfigBuilder>(naming, options)?))
}

/// A membership machine from `snapshot()` bytes and its settings.
pub fn restore_membership(naming: Naming, bytes: &[u8], options: &Options) -> Result<Membership, AnyError> {
    Ok(Membership::restore(bytes, settings::<MembershipConfigBuilder>(naming, options)?)?)
}

/// A membership machine from `snapshot_cluster()` rows, one per cluster in any order (a
/// PostgreSQL registrar passes the row it locked), and its settings.
pub fn restore_membership_clusters<R: AsRef<[u8]>>(
    naming: Naming,
    rows: impl IntoIterator<Item = R>,
    options: &Options,
) -> Result<Membership, AnyError> {
    Ok(Membership::restore_clusters(rows, settings::<MembershipConfigBuilder>(naming, options)?)?)
}

/// New time buckets.
pub fn new_buckets(naming: Naming, options: &Options) -> Result<Buckets, ConfigError> {
    Ok(Buckets::new(settings::<BucketsConfigBuilder>(naming, options)?))
}

/// Time buckets from `snapshot()` bytes and their settings.
pub fn restore_buckets(naming: Naming, bytes: &[u8], options: &Options) -> Result<Buckets, AnyError> {
    Ok(Buckets::restore(bytes, settings::<BucketsConfigBuilder>(naming, options)?)?)
}

/// One stored row of time buckets as a host reads it back from typed tables (a PostgreSQL
/// store): raw counts and daily totals by `(day, key)`, and the meta row as its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BucketsStoredRow {
    /// A raw count: `day` is `"YYYY-MM-DD"`.
    Raw {
        /// The local day.
        day: String,
        /// The key.
        key: String,
        /// Events not rolled up yet.
        count: i64,
    },
    /// A daily total.
    Daily {
        /// The day.
        day: String,
        /// The key.
        key: String,
        /// The rolled-up total.
        total: i64,
    },
    /// The meta row, as the `bytes` of its `BucketsMeta` view.
    Meta(Vec<u8>),
}

/// Time buckets rebuilt from stored rows (see [`BucketsStoredRow`]) and their settings.
pub fn buckets_from_rows(naming: Naming, rows: &[BucketsStoredRow], options: &Options) -> Result<Buckets, AnyError> {
    let config = settings::<BucketsConfigBuilder>(naming, options)?;
    let mut typed = Vec::with_capacity(rows.len());
    for row in rows {
        typed.push(match row {
            BucketsStoredRow::Raw { day, key, count } => {
                BucketsRow::Raw { day: Day::parse(day)?, key: Arc::from(key.as_str()), count: *count }
            }
            BucketsStoredRow::Daily { day, key, total } => {
                BucketsRow::Daily { day: Day::parse(day)?, key: Arc::from(key.as_str()), total: *total }
            }
            BucketsStoredRow::Meta(bytes) => BucketsRow::Meta(BucketsMeta::decode(bytes)?),
        });
    }
    Ok(Buckets::from_rows(typed, config)?)
}

/// A new outbox.
pub fn new_outbox(naming: Naming, options: &Options) -> Result<Outbox, ConfigError> {
    Ok(Outbox::new(settings::<OutboxConfigBuilder>(naming, options)?))
}

/// An outbox from `snapshot()` bytes and its settings.
pub fn restore_outbox(naming: Naming, bytes: &[u8], options: &Options) -> Result<Outbox, AnyError> {
    Ok(Outbox::restore(bytes, settings::<OutboxConfigBuilder>(naming, options)?)?)
}

/// A shard rebuilt from the rows a host stored by applying its `RowOp`s: every stored
/// `(table, value)` pair (`SELECT tbl, v FROM rows`), in any order, and its settings (the
/// identity is in the `meta` row). A row that is not a shard row of its table is
/// `DECODE_CORRUPT`.
pub fn shard_from_rows<T: AsRef<str>, B: AsRef<[u8]>>(
    naming: Naming,
    rows: impl IntoIterator<Item = (T, B)>,
    options: &Options,
) -> Result<Shard, AnyError> {
    let mut builder = Rebuild::new(shard_builder(naming, options)?);
    builder.add(rows)?;
    builder.finish()
}

/// A builder of a shard from its stored rows, taken a page at a time (see
/// [`Rebuild`](crate::rebuild::Rebuild)), and its settings (as [`shard_from_rows`]).
pub fn shard_builder(naming: Naming, options: &Options) -> Result<ShardBuilder, ConfigError> {
    Ok(ShardBuilder::new(shard_config(naming, options)?))
}

/// A global rebuilt from the rows a host stored by applying its `RowOp`s, as
/// [`shard_from_rows`]; a tiered global's rows (its upstream shard's in `upstream.*` tables)
/// need `upstream` (the upstream shard's settings), as for [`restore_global`].
pub fn global_from_rows<T: AsRef<str>, B: AsRef<[u8]>>(
    naming: Naming,
    rows: impl IntoIterator<Item = (T, B)>,
    options: &Options,
) -> Result<Global, AnyError> {
    let mut builder = Rebuild::new(global_builder(naming, options)?);
    builder.add(rows)?;
    builder.finish()
}

/// A builder of a global from its stored rows, taken a page at a time (see
/// [`Rebuild`](crate::rebuild::Rebuild)), and its settings (as [`global_from_rows`]: a
/// tiered global's with `upstream`).
pub fn global_builder(naming: Naming, options: &Options) -> Result<GlobalBuilder, ConfigError> {
    let (config, upstream) = global_parts(naming, options)?;
    Ok(match upstream {
        Some(up) => GlobalBuilder::tiered(config, shard_config(naming, &up)?),
        None => GlobalBuilder::new(config),
    })
}

/// A gateway rebuilt from the rows a host stored by applying its `RowOp`s, as
/// [`shard_from_rows`]; its settings as for [`restore_gateway`] (the group is in the `meta`
/// row).
pub fn gateway_from_rows<T: AsRef<str>, B: AsRef<[u8]>>(
    naming: Naming,
    rows: impl IntoIterator<Item = (T, B)>,
    options: &Options,
) -> Result<Gateway, AnyError> {
    let config = settings::<GatewayConfigBuilder>(naming, options)?;
    let rows = rows.into_iter().map(|(t, v)| GatewayRow::decode_stored(t.as_ref(), v.as_ref())).collect::<Result<Vec<_>, _>>()?;
    Ok(Gateway::from_rows(rows, config)?)
}

/// An outbox rebuilt from the rows a host stored by applying its `RowOp`s, as
/// [`shard_from_rows`], and its settings.
pub fn outbox_from_rows<T: AsRef<str>, B: AsRef<[u8]>>(
    naming: Naming,
    rows: impl IntoIterator<Item = (T, B)>,
    options: &Options,
) -> Result<Outbox, AnyError> {
    let config = settings::<OutboxConfigBuilder>(naming, options)?;
    let rows = rows.into_iter().map(|(t, v)| OutboxRow::decode_stored(t.as_ref(), v.as_ref())).collect::<Result<Vec<_>, _>>()?;
    Ok(Outbox::from_rows(rows, config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(items: &[(&str, SettingValue)]) -> Vec<(String, OptionValue)> {
        items.iter().map(|(n, v)| (n.to_string(), OptionValue::Value(v.clone()))).collect()
    }

    #[test]
    fn a_shard_from_camel_case_options() {
        let o = opts(&[
            ("shard", SettingValue::Int(3)),
            ("incarnation", SettingValue::Int(9)),
            ("flushAfterRequests", SettingValue::Int(7)),
            ("generation", SettingValue::Int(2)),
        ]);
        let s = new_shard(Naming::Camel, &o).unwrap();
        assert_eq!(s.shard_ref(), ShardRef { shard: 3, incarnation: 9 });
        assert_eq!((s.config().flush_after_requests(), s.generation()), (7, 2));
    }

    #[test]
    fn typos_missing_and_wrong_values_are_typed_errors() {
        let o =
            opts(&[("shard", SettingValue::Int(0)), ("incarnation", SettingValue::Int(1)), ("flushAfterRequest", SettingValue::Int(1))]);
        assert_eq!(
            new_shard(Naming::Camel, &o).unwrap_err(),
            ConfigError::UnknownSetting { name: "flushAfterRequest".into(), suggestion: Some("flushAfterRequests".into()) }
        );
        let o =
            opts(&[("shard", SettingValue::Int(0)), ("incarnation", SettingValue::Int(1)), ("flush_after_requests", SettingValue::Int(1))]);
        assert_eq!(new_shard(Naming::Camel, &o).unwrap_err().code(), "CONFIG_UNKNOWN_SETTING", "snake_case is not JS's naming");
        assert_eq!(
            new_shard(Naming::Snake, &opts(&[("shard", SettingValue::Int(0))])).unwrap_err(),
            ConfigError::MissingSetting { field: "incarnation" }
        );
        let o = opts(&[("shard", SettingValue::Int(0)), ("incarnation", SettingValue::Int(1)), ("generation", SettingValue::Null)]);
        assert_eq!(new_shard(Naming::Snake, &o).unwrap_err().code(), "CONFIG_INVALID_VALUE", "None is not a generation");
        let o = opts(&[("strategy", SettingValue::Str("hashed".into()))]);
        assert_eq!(new_router(Naming::Snake, &o).unwrap_err().code(), "CONFIG_INVALID_VALUE");
    }

    #[test]
    fn a_tiered_global_and_its_restore() {
        let up = vec![
            ("shard".to_string(), OptionValue::Value(SettingValue::Int(1))),
            ("incarnation".to_string(), OptionValue::Value(SettingValue::Int(5))),
        ];
        let o = vec![
            ("persist_after_writes".to_string(), OptionValue::Value(SettingValue::Int(1))),
            ("upstream".to_string(), OptionValue::Object(up)),
        ];
        let g = new_global(Naming::Snake, &o).unwrap();
        assert!(g.upstream().is_some());
        let bytes = g.snapshot();
        assert!(restore_global(Naming::Snake, &bytes, &o[..1]).is_err(), "a tiered snapshot needs upstream settings");
        let settings_only = vec![o[0].clone(), ("upstream".to_string(), OptionValue::Object(Vec::new()))];
        assert!(restore_global(Naming::Snake, &bytes, &settings_only).is_ok());
        assert!(
            matches!(restore_global(Naming::Snake, &bytes, &o), Err(AnyError::Config(ConfigError::UnknownSetting { .. }))),
            "identity is in the snapshot"
        );
    }

    #[test]
    fn a_gateway_needs_its_group() {
        let o = opts(&[("group", SettingValue::Str("lobby".into())), ("reservationTtlMs", SettingValue::Int(5))]);
        let g = new_gateway(Naming::Camel, &o).unwrap();
        assert_eq!((g.group(), g.config().reservation_ttl_ms()), ("lobby", 5));
        let code = |r: Result<Gateway, AnyError>| r.map(|_| ()).map_err(|e| e.view(Naming::Snake).code);
        assert_eq!(code(new_gateway(Naming::Snake, &opts(&[("limit", SettingValue::Int(2))]))), Err("CONFIG_MISSING"));
        assert_eq!(code(new_gateway(Naming::Snake, &opts(&[("group", SettingValue::Int(2))]))), Err("CONFIG_INVALID_VALUE"));
        assert_eq!(code(new_gateway(Naming::Snake, &opts(&[("group", SettingValue::Str(String::new()))]))), Err("EMPTY_ID"));
        assert_eq!(code(new_gateway(Naming::Snake, &opts(&[("grup", SettingValue::Str("g".into()))]))), Err("CONFIG_UNKNOWN_SETTING"));
        let bytes = g.snapshot();
        assert_eq!(restore_gateway(Naming::Camel, &bytes, &o[1..]).unwrap().group(), "lobby", "the group is in the snapshot");
        assert_eq!(code(restore_gateway(Naming::Camel, &bytes, &o)), Err("CONFIG_UNKNOWN_SETTING"));
    }

    #[test]
    fn the_other_machines_from_options_and_bytes() {
        use shardtally::Timestamp;
        let t = Timestamp::from_millis(0);
        let o = opts(&[("heartbeat_interval_ms", SettingValue::Int(1_000)), ("assignment", SettingValue::Str("compact".into()))]);
        let mut m = new_membership(Naming::Snake, &o).unwrap();
        m.register("a", "h1", t).unwrap();
        m.register("b", "h1", t).unwrap();
        let rows: Vec<Vec<u8>> = m.clusters().iter().filter_map(|c| m.snapshot_cluster(c)).collect();
        let back = restore_membership_clusters(Naming::Snake, &rows, &o).unwrap();
        assert_eq!(back.snapshot(), m.snapshot());
        assert_eq!(restore_membership(Naming::Snake, &m.snapshot(), &o).unwrap().snapshot(), m.snapshot());
        assert!(restore_membership_clusters(Naming::Snake, [m.snapshot()], &o).is_err(), "a whole snapshot is not a cluster row");

        let o = opts(&[("utcOffsetMinutes", SettingValue::Int(-300))]);
        let b = new_buckets(Naming::Camel, &o).unwrap();
        assert_eq!(b.config().utc_offset_minutes(), -300);
        assert_eq!(restore_buckets(Naming::Camel, &b.snapshot(), &o).unwrap().snapshot(), b.snapshot());

        let o = opts(&[("capacity", SettingValue::Int(2)), ("seed", SettingValue::Int(7))]);
        let ob = new_outbox(Naming::Snake, &o).unwrap();
        assert_eq!(restore_outbox(Naming::Snake, &ob.snapshot(), &o).unwrap().snapshot(), ob.snapshot());
        assert_eq!(new_outbox(Naming::Snake, &opts(&[("capacity", SettingValue::Int(0))])).unwrap_err().code(), "CONFIG_ZERO");
    }

    #[test]
    fn machines_from_stored_row_pairs() {
        use shardtally::journal::RowStore;
        use shardtally::Timestamp;
        let t = Timestamp::from_millis(3);
        let mut s = new_shard(Naming::Snake, &opts(&[("shard", SettingValue::Int(1)), ("incarnation", SettingValue::Int(2))])).unwrap();
        s.increment("x", 4, t).unwrap();
        let mut store = RowStore::new();
        store.apply_shard(&s.take_changes());
        assert_eq!(shard_from_rows(Naming::Snake, store.pairs(), &[]).unwrap().snapshot(), s.snapshot());
        assert!(matches!(global_from_rows(Naming::Snake, store.pairs(), &[]), Err(AnyError::Decode(_))), "shard rows are not a global's");
        assert!(matches!(shard_from_rows(Naming::Snake, [("meta", b"x")], &[]), Err(AnyError::Decode(_))));
        assert!(matches!(
            shard_from_rows(Naming::Snake, store.pairs(), &opts(&[("shard", SettingValue::Int(1))])),
            Err(AnyError::Config(ConfigError::UnknownSetting { .. }))
        ));
    }

    #[test]
    fn a_gateway_and_an_outbox_from_stored_row_pairs() {
        use shardtally::journal::RowStore;
        use shardtally::Timestamp;
        let t = Timestamp::from_millis(3);
        let o = opts(&[("group", SettingValue::Str("lobby".into())), ("limit", SettingValue::Int(2))]);
        let mut gw = new_gateway(Naming::Snake, &o).unwrap();
        gw.route("alice", t).unwrap();
        let mut store = RowStore::new();
        store.apply_gateway(&gw.take_changes());
        let limit = opts(&[("limit", SettingValue::Int(2))]);
        let back = gateway_from_rows(Naming::Snake, store.pairs(), &limit).unwrap();
        assert_eq!((back.group(), back.snapshot()), ("lobby", gw.snapshot()));
        assert!(matches!(gateway_from_rows(Naming::Snake, store.pairs(), &o), Err(AnyError::Config(ConfigError::UnknownSetting { .. }))));
        assert!(
            matches!(outbox_from_rows(Naming::Snake, store.pairs(), &[]), Err(AnyError::Decode(_))),
            "gateway rows are not an outbox's"
        );

        let o = opts(&[("capacity", SettingValue::Int(2))]);
        let mut ob = new_outbox(Naming::Snake, &o).unwrap();
        ob.offer(b"x".to_vec(), t);
        let mut store = RowStore::new();
        store.apply_outbox(&ob.take_changes());
        assert_eq!(outbox_from_rows(Naming::Snake, store.pairs(), &o).unwrap().snapshot(), ob.snapshot());
        assert!(matches!(gateway_from_rows(Naming::Snake, store.pairs(), &[]), Err(AnyError::Decode(_))));
    }

    #[test]
    fn buckets_rebuild_from_typed_rows() {
        use shardtally::buckets::Period;
        use shardtally::Timestamp;
        let o = opts(&[("utc_offset_minutes", SettingValue::Int(-300))]);
        let mut b = new_buckets(Naming::Snake, &o).unwrap();
        let t = Timestamp::from_millis(1_666_000_000_000);
        b.record("GET /a", t, t).unwrap();
        b.record("GET /b", t, t).unwrap();
        b.rollup(Period::parse("2022-10-17").unwrap(), t).unwrap();
        b.record("GET /a", t, t).unwrap();
        let stored: Vec<BucketsStoredRow> = b
            .rows()
            .into_iter()
            .map(|r| match r {
                BucketsRow::Raw { day, key, count } => BucketsStoredRow::Raw { day: day.to_string(), key: key.to_string(), count },
                BucketsRow::Daily { day, key, total } => BucketsStoredRow::Daily { day: day.to_string(), key: key.to_string(), total },
                BucketsRow::Meta(m) => BucketsStoredRow::Meta(m.encode()),
            })
            .collect();
        assert!(stored.iter().any(|r| matches!(r, BucketsStoredRow::Daily { .. })), "the rollup left daily rows");
        let back = buckets_from_rows(Naming::Snake, &stored, &o).unwrap();
        assert_eq!(back.snapshot(), b.snapshot());
        let bad = vec![BucketsStoredRow::Raw { day: "2022-13-01".into(), key: "k".into(), count: 1 }];
        assert_eq!(buckets_from_rows(Naming::Snake, &bad, &o).unwrap_err().view(Naming::Snake).code, "INVALID_ARGUMENT");
        let corrupt = vec![BucketsStoredRow::Meta(vec![1, 2, 3])];
        assert_eq!(buckets_from_rows(Naming::Snake, &corrupt, &o).unwrap_err().view(Naming::Snake).code, "DECODE_WRONG_KIND");
    }
}
