//! Error mapping: every error thrown to JavaScript is a `ShardtallyError` (registered by
//! `index.js`, a plain `Error` before that) whose `code` is core's stable code, whose
//! `message` is core's `Display` text, and whose other properties are the offending values.

use crate::convert::{int, shard_ref_object};
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Object, ToNapiValue, Unknown};
use napi::{Env, JsValue, Result};
use shardtally::{ConfigError, DecodeError, Error};
use std::cell::RefCell;

thread_local! {
    /// The `ShardtallyError` class of this thread's JavaScript environment.
    static ERROR_CLASS: RefCell<Option<FunctionRef<FnArgs<(String,)>, Unknown<'static>>>> = const { RefCell::new(None) };
}

/// Registers the JavaScript class errors are instances of (called once by `index.js`).
pub(crate) fn set_error_class(class: Function<'_, FnArgs<(String,)>, Unknown<'static>>) -> Result<()> {
    let class = class.create_ref()?;
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
    Ok(())
}

/// An error value under construction: set the offending values as properties.
pub(crate) struct Props<'e> {
    env: &'e Env,
    obj: Object<'e>,
}

impl<'e> Props<'e> {
    /// Sets a property.
    pub(crate) fn set<V: ToNapiValue>(&mut self, name: &str, value: V) -> Result<()> {
        self.obj.set(name, value)
    }

    /// Sets an integer property (`number` when safe, else `bigint`).
    pub(crate) fn int(&mut self, name: &str, value: impl Into<i128>) -> Result<()> {
        self.obj.set(name, int(value.into()))
    }

    /// The environment, for building nested values.
    pub(crate) fn env(&self) -> &'e Env {
        self.env
    }
}

/// Builds the JavaScript error `code` / `message` / properties and wraps it for throwing.
pub(crate) fn js_error(env: &Env, code: &str, message: &str, fill: impl FnOnce(&mut Props<'_>) -> Result<()>) -> napi::Error {
    match build(env, code, message, fill) {
        Ok(e) | Err(e) => e,
    }
}

fn build(env: &Env, code: &str, message: &str, fill: impl FnOnce(&mut Props<'_>) -> Result<()>) -> Result<napi::Error> {
    let instance = ERROR_CLASS.with(|c| -> Result<Option<Unknown<'_>>> {
        match &*c.borrow() {
            Some(class) => Ok(Some(class.borrow_back(env)?.new_instance(FnArgs::from((message.to_owned(),)))?)),
            None => Ok(None),
        }
    })?;
    let obj = match instance {
        Some(i) => Object::from_raw(env.raw(), i.raw()),
        None => env.create_error(napi::Error::from_reason(message))?,
    };
    let mut props = Props { env, obj };
    props.set("code", code)?;
    fill(&mut props)?;
    Ok(napi::Error::from(props.obj.to_unknown()))
}

/// A wrong JavaScript type or value for an argument: code `INVALID_ARGUMENT`, with the
/// argument's name, what was expected and the value given (`undefined` when it was missing).
pub(crate) fn invalid_argument<V: ToNapiValue>(env: &Env, argument: &str, expected: &str, value: Option<V>) -> napi::Error {
    let message = format!("{argument} must be {expected}");
    js_error(env, "INVALID_ARGUMENT", &message, |p| {
        p.set("argument", argument)?;
        p.set("expected", expected)?;
        match value {
            Some(v) => p.set("value", v),
            None => p.set("value", ()),
        }
    })
}

/// A runtime error of a machine. `rejectsBatch` is core's `Error::rejects_batch`: from
/// `Global.handleBatch`, whether the batch can never be applied (report it to the shard with
/// `handleRejection`, not `handleFailure`).
pub(crate) fn core_error(env: &Env, e: &Error) -> napi::Error {
    js_error(env, e.code(), &e.to_string(), |p| {
        p.set("rejectsBatch", e.rejects_batch())?;
        core_fields(p, e)
    })
}

/// The offending values of a runtime error, as properties.
fn core_fields(p: &mut Props<'_>, e: &Error) -> Result<()> {
    match e {
        Error::KeyTooLong { len, max } => {
            p.int("len", *len as u64)?;
            p.int("max", *max as u64)
        }
        Error::Overflow { key, current, delta } => {
            p.set("key", key.as_str())?;
            p.int("current", *current)?;
            p.int("delta", *delta)
        }
        Error::TableFull { table, limit } => {
            p.set("table", *table)?;
            p.int("limit", *limit as u64)
        }
        Error::UnknownKeyId { id } => p.int("id", *id),
        Error::WrongShard { expected, got } => {
            let expected = shard_ref_object(p.env(), *expected)?;
            let got = shard_ref_object(p.env(), *got)?;
            p.set("expected", expected)?;
            p.set("got", got)
        }
        Error::ShardOutOfRange { shard, shard_count } => {
            p.int("shard", *shard)?;
            p.int("shardCount", *shard_count)
        }
        Error::LengthMismatch { what, left, right } => {
            p.set("what", *what)?;
            p.int("left", *left as u64)?;
            p.int("right", *right as u64)
        }
        _ => Ok(()),
    }
}

/// A configuration rejected by core's builders. `field` is the option's JavaScript name.
pub(crate) fn config_error(env: &Env, e: &ConfigError) -> napi::Error {
    js_error(env, e.code(), &e.to_string(), |p| match e {
        ConfigError::Zero { field } => p.set("field", camel_case(field)),
        ConfigError::BackoffRange { initial_ms, max_ms } => {
            p.int("initialMs", *initial_ms)?;
            p.int("maxMs", *max_ms)
        }
        ConfigError::TooLarge { field, value, max } => {
            p.set("field", camel_case(field))?;
            p.int("value", *value)?;
            p.int("max", *max)
        }
        ConfigError::PinnedOutOfRange { shard, shard_count } => {
            p.int("shard", *shard)?;
            p.int("shardCount", *shard_count)
        }
        _ => Ok(()),
    })
}

/// Bytes that are not a valid snapshot or message.
pub(crate) fn decode_error(env: &Env, e: &DecodeError) -> napi::Error {
    js_error(env, e.code(), &e.to_string(), |p| match e {
        DecodeError::WrongKind { expected } => p.set("expected", *expected),
        DecodeError::UnsupportedVersion { found, supported } => {
            p.int("found", *found)?;
            p.int("supported", *supported)
        }
        DecodeError::Corrupt { reason } => p.set("reason", reason.as_str()),
        _ => Ok(()),
    })
}

/// `max_key_bytes` → `maxKeyBytes`: core names settings in Rust style, JavaScript users
/// pass them in camelCase.
pub(crate) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn setting_names_become_camel_case() {
        assert_eq!(camel_case("max_key_bytes"), "maxKeyBytes");
        assert_eq!(camel_case("retry_initial_ms"), "retryInitialMs");
        assert_eq!(camel_case("seed"), "seed");
    }
}
