//! Machines from options: a binding reads its language's options (Python keyword arguments,
//! a JS options object) into `(name, value)` pairs and hands them here. Names are matched in
//! the binding's [`Naming`]; an unknown name is a [`ConfigError::UnknownSetting`] naming the
//! closest valid one.

use crate::errors::AnyError;
use crate::naming::{closest, Naming};
use shardtally::settings::{ConfigBuilder, SettingType, SettingValue};
use shardtally::{
    ConfigError, Global, GlobalConfig, GlobalConfigBuilder, Router, RouterConfigBuilder, Shard, ShardConfig, ShardConfigBuilder, ShardRef,
};

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
    configure::<ShardConfigBuilder>(naming, options, &[], |_, _| Ok(()))
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
    Ok(Router::new(configure::<RouterConfigBuilder>(naming, options, &[], |_, _| Ok(()))?))
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
}
