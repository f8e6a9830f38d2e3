//! Error mapping: every engine error becomes an instance of a named exception class of
//! `shardtally._errors`, carrying the error's values as attributes and its code as `code`.

use crate::types::PyShardRef;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::{ConfigError, DecodeError, Error};

/// Builds an exception of `shardtally._errors.<class>` with `message` and keyword values.
pub(crate) fn exception(
    py: Python<'_>,
    class: &str,
    message: impl Into<String>,
    fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> PyErr {
    raise(py, message, |d| {
        fill(d)?;
        Ok(class)
    })
}

/// Builds an exception with `message` whose class (of `shardtally._errors`) `fill` names
/// after filling in the keyword values.
fn raise<'a>(py: Python<'_>, message: impl Into<String>, fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<&'a str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        let class = fill(&kwargs)?;
        let cls = py.import("shardtally._errors")?.getattr(class)?;
        Ok(PyErr::from_value(cls.call((message.into(),), Some(&kwargs))?))
    };
    build().unwrap_or_else(|e| e)
}

/// An engine input error (`shardtally::Error`) as a Python exception; its `rejects_batch`
/// attribute is the engine's `Error::rejects_batch()`.
pub(crate) fn input_error(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    let code = e.code();
    let rejects_batch = e.rejects_batch();
    raise(py, message, |d| {
        let class = match e {
            Error::EmptyKey => "EmptyKeyError",
            Error::KeyTooLong { len, max } => {
                d.set_item("len", len)?;
                d.set_item("max", max)?;
                "KeyTooLongError"
            }
            Error::Overflow { key, current, delta } => {
                d.set_item("key", key)?;
                d.set_item("current", current)?;
                d.set_item("delta", delta)?;
                "CounterOverflowError"
            }
            Error::TableFull { table, limit } => {
                d.set_item("table", table)?;
                d.set_item("limit", limit)?;
                "TableFullError"
            }
            Error::UnknownKeyId { id } => {
                d.set_item("id", id)?;
                "UnknownKeyIdError"
            }
            Error::WrongShard { expected, got } => {
                d.set_item("expected", PyShardRef::from(expected))?;
                d.set_item("got", PyShardRef::from(got))?;
                "WrongShardError"
            }
            Error::ShardOutOfRange { shard, shard_count } => {
                d.set_item("shard", shard)?;
                d.set_item("shard_count", shard_count)?;
                "ShardOutOfRangeError"
            }
            Error::LengthMismatch { what, left, right } => {
                d.set_item("what", what)?;
                d.set_item("left", left)?;
                d.set_item("right", right)?;
                "LengthMismatchError"
            }
            Error::NoUpstream => "NoUpstreamError",
            _ => {
                d.set_item("code", code)?;
                "InputError"
            }
        };
        d.set_item("rejects_batch", rejects_batch)?;
        Ok(class)
    })
}

/// A configuration error (`shardtally::ConfigError`) as a Python exception.
pub(crate) fn config_error(py: Python<'_>, e: ConfigError) -> PyErr {
    let message = e.to_string();
    let code = e.code();
    match e {
        ConfigError::Zero { field } => exception(py, "ConfigZeroError", message, |d| d.set_item("field", field)),
        ConfigError::BackoffRange { initial_ms, max_ms } => exception(py, "ConfigBackoffRangeError", message, |d| {
            d.set_item("initial_ms", initial_ms)?;
            d.set_item("max_ms", max_ms)
        }),
        ConfigError::TooLarge { field, value, max } => exception(py, "ConfigTooLargeError", message, |d| {
            d.set_item("field", field)?;
            d.set_item("value", value)?;
            d.set_item("max", max)
        }),
        ConfigError::PinnedOutOfRange { shard, shard_count } => exception(py, "ConfigPinnedOutOfRangeError", message, |d| {
            d.set_item("shard", shard)?;
            d.set_item("shard_count", shard_count)
        }),
        _ => exception(py, "ConfigError", message, |d| d.set_item("code", code)),
    }
}

/// A decoding error (`shardtally::DecodeError`) as a Python exception.
pub(crate) fn decode_error(py: Python<'_>, e: DecodeError) -> PyErr {
    let message = e.to_string();
    let code = e.code();
    match e {
        DecodeError::WrongKind { expected } => exception(py, "WrongKindError", message, |d| d.set_item("expected", expected)),
        DecodeError::UnsupportedVersion { found, supported } => exception(py, "UnsupportedVersionError", message, |d| {
            d.set_item("found", found)?;
            d.set_item("supported", supported)
        }),
        DecodeError::Corrupt { reason } => exception(py, "CorruptError", message, |d| d.set_item("reason", reason)),
        _ => exception(py, "DecodeError", message, |d| d.set_item("code", code)),
    }
}

/// A binding-level argument error: `class` is `InvalidArgumentError`, `InvalidTimeError` or
/// `InvalidDeltaError`.
pub(crate) fn invalid_argument(class: &str, argument: &str, value: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let shown = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unprintable>".to_owned());
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned());
    let message = format!("{argument} must be {expected}, got {shown} ({type_name})");
    exception(value.py(), class, message, |d| {
        d.set_item("argument", argument)?;
        d.set_item("value", value)
    })
}

/// A configuration value of the wrong type or range.
pub(crate) fn invalid_config(field: &str, value: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let shown = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unprintable>".to_owned());
    let message = format!("{field} must be {expected}, got {shown}");
    exception(value.py(), "InvalidConfigError", message, |d| {
        d.set_item("field", field)?;
        d.set_item("value", value)
    })
}
