//! Errors thrown to JavaScript: `ShardtallyError` instances (a subclass of `Error` defined
//! in `pkg/errors.js`) with core's stable `code`, core's message, and the offending values
//! as camelCase properties.
//!
//! Binding-level codes: `INVALID_TIME`, `INVALID_DELTA` and `INVALID_ARGUMENT`, for JS
//! values of the wrong type or outside the range of the Rust type.

use crate::convert::{from_i64, from_u64, Obj};
use js_sys::Object;
use shardtally::{ConfigError, DecodeError, Error, ShardRef};
use wasm_bindgen::prelude::*;

/// A value thrown to JavaScript.
pub(crate) type JsResult<T> = Result<T, JsValue>;

#[wasm_bindgen(raw_module = "./errors.js")]
extern "C" {
    /// `class ShardtallyError extends Error` of `pkg/errors.js`.
    #[wasm_bindgen(js_name = ShardtallyError)]
    type ShardtallyError;

    #[wasm_bindgen(constructor, js_class = "ShardtallyError")]
    fn new(message: &str, code: &str, fields: &Object) -> ShardtallyError;
}

/// A `ShardtallyError` with `message`, `code` and the properties of `fields`.
pub(crate) fn js_error(code: &str, message: &str, fields: Obj) -> JsValue {
    ShardtallyError::new(message, code, &fields.into_object()).into()
}

/// An argument of the wrong JS type or outside its range (`"INVALID_ARGUMENT"`), with the
/// argument's name, what was expected and the value given.
pub(crate) fn invalid_argument(name: &str, expected: &str, got: &JsValue) -> JsValue {
    js_error(
        "INVALID_ARGUMENT",
        &format!("{name} must be {expected}"),
        Obj::new().str("argument", name).str("expected", expected).val("value", got),
    )
}

/// A time that is not a finite integral number in `0..=2^53-1` (`"INVALID_TIME"`).
pub(crate) fn invalid_time(got: &JsValue) -> JsValue {
    js_error("INVALID_TIME", "nowMs must be a finite integer number of milliseconds in 0..=2^53-1", Obj::new().val("value", got))
}

/// A delta that is not a safe integer or an in-range bigint (`"INVALID_DELTA"`).
pub(crate) fn invalid_delta(got: &JsValue) -> JsValue {
    js_error("INVALID_DELTA", "delta must be a safe integer number or a bigint in the signed 64-bit range", Obj::new().val("value", got))
}

fn shard_ref(r: ShardRef) -> JsValue {
    Obj::new().u32("shard", r.shard).val("incarnation", &from_u64(r.incarnation)).into()
}

/// Maps a runtime error of a machine. `rejectsBatch` is core's `Error::rejects_batch`: from
/// `Global.handleBatch`, whether the batch can never be applied (report it to the shard with
/// `handleRejection`, not `handleFailure`).
pub(crate) fn core_error(e: Error) -> JsValue {
    let fields = match &e {
        Error::KeyTooLong { len, max } => Obj::new().usize("len", *len).usize("max", *max),
        Error::Overflow { key, current, delta } => {
            Obj::new().str("key", key).val("current", &from_i64(*current)).val("delta", &from_i64(*delta))
        }
        Error::TableFull { table, limit } => Obj::new().tag("table", table).usize("limit", *limit),
        Error::UnknownKeyId { id } => Obj::new().u32("id", *id),
        Error::WrongShard { expected, got } => Obj::new().val("expected", &shard_ref(*expected)).val("got", &shard_ref(*got)),
        Error::ShardOutOfRange { shard, shard_count } => Obj::new().u32("shard", *shard).u32("shardCount", *shard_count),
        Error::LengthMismatch { what, left, right } => Obj::new().tag("what", what).usize("left", *left).usize("right", *right),
        _ => Obj::new(),
    };
    js_error(e.code(), &e.to_string(), fields.bool("rejectsBatch", e.rejects_batch()))
}

/// Maps a configuration error; `field` names the JS option (camelCase).
pub(crate) fn config_error(e: ConfigError) -> JsValue {
    let fields = match &e {
        ConfigError::Zero { field } => Obj::new().str("field", &camel_case(field)),
        ConfigError::BackoffRange { initial_ms, max_ms } => {
            Obj::new().val("initialMs", &from_u64(*initial_ms)).val("maxMs", &from_u64(*max_ms))
        }
        ConfigError::TooLarge { field, value, max } => {
            Obj::new().str("field", &camel_case(field)).val("value", &from_u64(*value)).val("max", &from_u64(*max))
        }
        ConfigError::PinnedOutOfRange { shard, shard_count } => Obj::new().u32("shard", *shard).u32("shardCount", *shard_count),
        _ => Obj::new(),
    };
    js_error(e.code(), &e.to_string(), fields)
}

/// Maps an error decoding a snapshot or a message.
pub(crate) fn decode_error(e: DecodeError) -> JsValue {
    let fields = match &e {
        DecodeError::WrongKind { expected } => Obj::new().tag("expected", expected),
        DecodeError::UnsupportedVersion { found, supported } => {
            Obj::new().u32("found", u32::from(*found)).u32("supported", u32::from(*supported))
        }
        DecodeError::Corrupt { reason } => Obj::new().str("reason", reason),
        _ => Obj::new(),
    };
    js_error(e.code(), &e.to_string(), fields)
}

/// `retry_initial_ms` → `retryInitialMs`: core's setting names as JS option names.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
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
    fn setting_names_become_option_names() {
        assert_eq!(camel_case("retry_initial_ms"), "retryInitialMs");
        assert_eq!(camel_case("seed"), "seed");
        assert_eq!(camel_case("max_key_bytes"), "maxKeyBytes");
    }
}
