//! Keyword-argument settings → engine configurations (validated by the engine's builders),
//! and configurations → `dict`s for `config` properties and pickling.

use crate::errors::{config_error, exception, invalid_config};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use shardtally::{GlobalConfig, PublishMode, RouterConfig, ShardConfig, Strategy};

/// Extracts one integer setting, naming the field when the value does not fit.
fn int<'py, T>(value: &Bound<'py, PyAny>, field: &str, range: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid_config(field, value, range));
    }
    value.extract::<T>().map_err(|_| invalid_config(field, value, range))
}

const U8: &str = "an int in 0 <= value < 2**8";
const U32: &str = "an int in 0 <= value < 2**32";
const U64: &str = "an int in 0 <= value < 2**64";

fn unknown(py: Python<'_>, what: &str, name: &str, value: &Bound<'_, PyAny>) -> PyErr {
    exception(py, "InvalidConfigError", format!("{what}() got an unexpected keyword argument '{name}'"), |d| {
        d.set_item("field", name)?;
        d.set_item("value", value)
    })
}

/// Iterates `**settings` as `(name, value)`.
fn each<'py>(settings: Option<&Bound<'py, PyDict>>, mut f: impl FnMut(&str, &Bound<'py, PyAny>) -> PyResult<()>) -> PyResult<()> {
    if let Some(settings) = settings {
        for (name, value) in settings.iter() {
            let name = name.cast_into::<PyString>()?;
            f(name.to_str()?, &value)?;
        }
    }
    Ok(())
}

/// Builds a [`ShardConfig`] from `Shard(...)` keyword arguments.
pub(crate) fn shard_config(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<ShardConfig> {
    let mut b = ShardConfig::builder();
    each(settings, |name, v| {
        b = match name {
            "flush_after_requests" => b.flush_after_requests(int(v, name, U32)?),
            "flush_after_idle_ms" => b.flush_after_idle_ms(int(v, name, U64)?),
            "flush_max_age_ms" => b.flush_max_age_ms(int(v, name, U64)?),
            "ack_timeout_ms" => b.ack_timeout_ms(int(v, name, U64)?),
            "retry_initial_ms" => b.retry_initial_ms(int(v, name, U64)?),
            "retry_max_ms" => b.retry_max_ms(int(v, name, U64)?),
            "retry_jitter_percent" => b.retry_jitter_percent(int(v, name, U8)?),
            "max_pending_keys" => b.max_pending_keys(int(v, name, U64)?),
            "max_interned_keys" => b.max_interned_keys(int(v, name, U64)?),
            "max_key_bytes" => b.max_key_bytes(int(v, name, U64)?),
            "seed" => b.seed(int(v, name, U64)?),
            _ => return Err(unknown(py, "Shard", name, v)),
        };
        Ok(())
    })?;
    b.build().map_err(|e| config_error(py, e))
}

/// The settings of a [`ShardConfig`] as keyword arguments.
pub(crate) fn shard_settings<'py>(py: Python<'py>, c: &ShardConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("flush_after_requests", c.flush_after_requests())?;
    d.set_item("flush_after_idle_ms", c.flush_after_idle_ms())?;
    d.set_item("flush_max_age_ms", c.flush_max_age_ms())?;
    d.set_item("ack_timeout_ms", c.ack_timeout_ms())?;
    d.set_item("retry_initial_ms", c.retry_initial_ms())?;
    d.set_item("retry_max_ms", c.retry_max_ms())?;
    d.set_item("retry_jitter_percent", c.retry_jitter_percent())?;
    d.set_item("max_pending_keys", c.max_pending_keys())?;
    d.set_item("max_interned_keys", c.max_interned_keys())?;
    d.set_item("max_key_bytes", c.max_key_bytes())?;
    d.set_item("seed", c.seed())?;
    Ok(d)
}

fn publish_mode(value: &Bound<'_, PyAny>) -> PyResult<PublishMode> {
    match value.extract::<String>().as_deref() {
        Ok("full") => Ok(PublishMode::Full),
        Ok("changes") => Ok(PublishMode::Changes),
        _ => Err(invalid_config("publish_mode", value, "'full' or 'changes'")),
    }
}

/// Builds a [`GlobalConfig`] from `Global(...)` keyword arguments.
pub(crate) fn global_config(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<GlobalConfig> {
    let mut b = GlobalConfig::builder();
    each(settings, |name, v| {
        b = match name {
            "persist_after_writes" => b.persist_after_writes(int(v, name, U32)?),
            "persist_after_idle_ms" => b.persist_after_idle_ms(int(v, name, U64)?),
            "persist_max_age_ms" => b.persist_max_age_ms(int(v, name, U64)?),
            "publish_mode" => b.publish_mode(publish_mode(v)?),
            "publish_timeout_ms" => b.publish_timeout_ms(int(v, name, U64)?),
            "retry_initial_ms" => b.retry_initial_ms(int(v, name, U64)?),
            "retry_max_ms" => b.retry_max_ms(int(v, name, U64)?),
            "retry_jitter_percent" => b.retry_jitter_percent(int(v, name, U8)?),
            "write_log_capacity" => b.write_log_capacity(int(v, name, U64)?),
            "write_log_keys_per_write" => b.write_log_keys_per_write(int(v, name, U64)?),
            "max_keys" => b.max_keys(int(v, name, U64)?),
            "max_key_bytes" => b.max_key_bytes(int(v, name, U64)?),
            "max_dedup_entries" => b.max_dedup_entries(int(v, name, U64)?),
            "seed" => b.seed(int(v, name, U64)?),
            _ => return Err(unknown(py, "Global", name, v)),
        };
        Ok(())
    })?;
    b.build().map_err(|e| config_error(py, e))
}

/// The settings of a [`GlobalConfig`] as keyword arguments.
pub(crate) fn global_settings<'py>(py: Python<'py>, c: &GlobalConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("persist_after_writes", c.persist_after_writes())?;
    d.set_item("persist_after_idle_ms", c.persist_after_idle_ms())?;
    d.set_item("persist_max_age_ms", c.persist_max_age_ms())?;
    d.set_item("publish_mode", c.publish_mode().as_str())?;
    d.set_item("publish_timeout_ms", c.publish_timeout_ms())?;
    d.set_item("retry_initial_ms", c.retry_initial_ms())?;
    d.set_item("retry_max_ms", c.retry_max_ms())?;
    d.set_item("retry_jitter_percent", c.retry_jitter_percent())?;
    d.set_item("write_log_capacity", c.write_log_capacity())?;
    d.set_item("write_log_keys_per_write", c.write_log_keys_per_write())?;
    d.set_item("max_keys", c.max_keys())?;
    d.set_item("max_key_bytes", c.max_key_bytes())?;
    d.set_item("max_dedup_entries", c.max_dedup_entries())?;
    d.set_item("seed", c.seed())?;
    Ok(d)
}

/// Builds a [`RouterConfig`] from `Router(...)` keyword arguments.
pub(crate) fn router_config(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<RouterConfig> {
    let mut b = RouterConfig::builder();
    let mut strategy: Option<(String, Bound<'_, PyAny>)> = None;
    let mut pinned: Option<(u32, Bound<'_, PyAny>)> = None;
    each(settings, |name, v| {
        match name {
            "strategy" => match v.extract::<String>() {
                Ok(s) => strategy = Some((s, v.clone())),
                Err(_) => return Err(invalid_config("strategy", v, "'hash', 'random', 'round_robin' or 'pinned'")),
            },
            "pinned_shard" if v.is_none() => {}
            "pinned_shard" => pinned = Some((int(v, name, U32)?, v.clone())),
            "shard_count" => b = b.shard_count(int(v, name, U32)?),
            "seed" => b = b.seed(int(v, name, U64)?),
            _ => return Err(unknown(py, "Router", name, v)),
        }
        Ok(())
    })?;
    let pinned_shard = pinned.as_ref().map(|(s, _)| *s);
    let strategy = match (strategy, pinned) {
        (None, None) => Strategy::Hash,
        (Some((s, v)), pinned) => match (s.as_str(), pinned) {
            ("hash", None) => Strategy::Hash,
            ("random", None) => Strategy::Random,
            ("round_robin", None) => Strategy::RoundRobin,
            ("pinned", Some(_)) => Strategy::Pinned,
            ("pinned", None) => return Err(invalid_config("pinned_shard", &py.None().into_bound(py), "set when strategy='pinned'")),
            ("hash" | "random" | "round_robin", Some((_, p))) => {
                return Err(invalid_config("pinned_shard", &p, "None unless strategy='pinned'"))
            }
            _ => return Err(invalid_config("strategy", &v, "'hash', 'random', 'round_robin' or 'pinned'")),
        },
        (None, Some((_, p))) => return Err(invalid_config("pinned_shard", &p, "None unless strategy='pinned'")),
    };
    b.strategy(strategy).pinned_shard(pinned_shard.filter(|_| strategy == Strategy::Pinned)).build().map_err(|e| config_error(py, e))
}
