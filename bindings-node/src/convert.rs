//! JavaScript ⇄ Rust conversions with validation: time, deltas, integers, keys, bytes and
//! options objects. Every rejected value becomes a `ShardtallyError` with a binding-level
//! code (`INVALID_TIME`, `INVALID_DELTA`, `INVALID_ARGUMENT`) carrying the value.

use crate::error::{invalid_argument, js_error};
use napi::bindgen_prelude::{Array, BigInt, Either, Either3, Object, Uint8ArraySlice, Unknown};
use napi::{Env, JsValue, Result, ValueType};
use shardtally::{ShardRef, Timestamp};

/// `Number.MAX_SAFE_INTEGER`.
pub(crate) const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
/// `Number.MAX_SAFE_INTEGER` as an integer.
pub(crate) const MAX_SAFE_INT: u64 = 9_007_199_254_740_991;

/// An integer for JavaScript: a `number` when it is a safe integer, else a `bigint`.
pub(crate) type JsInt = Either<f64, i128>;

/// A JavaScript number, or anything else (rejected with the value).
pub(crate) type Num<'a> = Either<f64, Unknown<'a>>;
/// A JavaScript number or bigint, or anything else (rejected with the value).
pub(crate) type BigNum<'a> = Either3<f64, BigInt, Unknown<'a>>;
/// An options object; arrays and anything else are rejected with the value.
pub(crate) type ObjArg<'a> = Either3<Array<'a>, Object<'a>, Unknown<'a>>;
/// A JavaScript string, or anything else (rejected with the value).
pub(crate) type Str<'a> = Either<String, Unknown<'a>>;
/// Bytes: a `Uint8Array` (or `Buffer`), an object with a `bytes` property holding one
/// (a batch or ack output), or anything else (rejected).
pub(crate) type Bytes<'a> = Either3<Uint8ArraySlice<'a>, Object<'a>, Unknown<'a>>;

/// `number` when `|v| <= 2^53 - 1`, else `bigint`.
pub(crate) fn int(v: impl Into<i128>) -> JsInt {
    let v = v.into();
    if v.unsigned_abs() <= u128::from(MAX_SAFE_INT) {
        Either::A(v as f64)
    } else {
        Either::B(v)
    }
}

/// A timestamp for output: milliseconds, capped at `2^53 - 1` (a deadline that far away
/// never fires for any valid `nowMs`; the WebAssembly package reports it the same way).
pub(crate) fn time_out(t: Timestamp) -> f64 {
    t.as_millis().min(MAX_SAFE_INT) as f64
}

/// A safe non-negative integer number, as `u64`.
fn safe_u64(f: f64) -> Option<u64> {
    (f.is_finite() && f.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&f)).then_some(f as u64)
}

/// `nowMs`: a number, finite, integral, `0 ..= 2^53 - 1`; else `INVALID_TIME`.
pub(crate) fn time(env: &Env, v: Num<'_>) -> Result<Timestamp> {
    match v {
        Either::A(f) => time_f64(env, f),
        Either::B(u) => Err(invalid_time(env, u)),
    }
}

/// `nowMs` already known to be a number.
pub(crate) fn time_f64(env: &Env, f: f64) -> Result<Timestamp> {
    match safe_u64(f) {
        Some(ms) => Ok(Timestamp::from_millis(ms)),
        None => Err(invalid_time(env, f)),
    }
}

fn invalid_time<V: napi::bindgen_prelude::ToNapiValue>(env: &Env, value: V) -> napi::Error {
    js_error(env, "INVALID_TIME", "nowMs must be a finite integer number of milliseconds in 0..=2^53-1", |p| p.set("value", value))
}

/// A delta: a safe-integer number or a bigint in the signed 64-bit range; else
/// `INVALID_DELTA`.
pub(crate) fn delta(env: &Env, v: BigNum<'_>) -> Result<i64> {
    match v {
        Either3::A(f) => delta_f64(env, f),
        Either3::B(b) => match b.get_i64() {
            (d, true) => Ok(d),
            _ => Err(invalid_delta(env, b)),
        },
        Either3::C(u) => Err(invalid_delta(env, u)),
    }
}

/// A delta already known to be a number.
#[inline]
pub(crate) fn delta_f64(env: &Env, f: f64) -> Result<i64> {
    // `as` saturates (NaN → 0), so the round trip fails for NaN, infinities, fractions and
    // values beyond the i64 range; -0 becomes 0.
    let d = f as i64;
    if d as f64 == f && d.unsigned_abs() <= MAX_SAFE_INT {
        Ok(d)
    } else {
        Err(invalid_delta(env, f))
    }
}

fn invalid_delta<V: napi::bindgen_prelude::ToNapiValue>(env: &Env, value: V) -> napi::Error {
    js_error(env, "INVALID_DELTA", "delta must be a safe integer number or a bigint in the signed 64-bit range", |p| p.set("value", value))
}

/// A key (any string; core checks emptiness and length).
pub(crate) fn key(env: &Env, argument: &str, v: Str<'_>) -> Result<String> {
    match v {
        Either::A(s) => Ok(s),
        Either::B(u) => Err(invalid_argument(env, argument, "a string", Some(u))),
    }
}

/// An integer number in `0 ..= max`.
pub(crate) fn uint(env: &Env, argument: &str, v: Num<'_>, max: u64) -> Result<u64> {
    match v {
        Either::A(f) => match safe_u64(f) {
            Some(n) if n <= max => Ok(n),
            _ => Err(invalid_argument(env, argument, &expected_uint(max, false), Some(f))),
        },
        Either::B(u) => Err(invalid_argument(env, argument, &expected_uint(max, false), Some(u))),
    }
}

/// An unsigned 64-bit integer: a safe-integer number or a bigint.
pub(crate) fn u64_arg(env: &Env, argument: &str, v: BigNum<'_>) -> Result<u64> {
    match v {
        Either3::A(f) => match safe_u64(f) {
            Some(n) => Ok(n),
            None => Err(invalid_argument(env, argument, &expected_uint(u64::MAX, true), Some(f))),
        },
        Either3::B(b) => match b.get_u64() {
            (false, n, true) => Ok(n),
            _ => Err(invalid_argument(env, argument, &expected_uint(u64::MAX, true), Some(b))),
        },
        Either3::C(u) => Err(invalid_argument(env, argument, &expected_uint(u64::MAX, true), Some(u))),
    }
}

/// What an unsigned argument must be, worded as in the WebAssembly package.
fn expected_uint(max: u64, bigint: bool) -> String {
    match (max, bigint) {
        (u64::MAX, true) => "a non-negative safe integer or a bigint below 2^64".to_owned(),
        (_, true) => format!("a non-negative safe integer or a bigint up to {max}"),
        (m, false) if m >= MAX_SAFE_INT => "a non-negative safe integer".to_owned(),
        (m, false) => format!("an integer number in 0..={m}"),
    }
}

/// Bytes from a `Uint8Array`/`Buffer` or from an output object's `bytes`.
pub(crate) fn bytes<'a>(env: &Env, argument: &str, v: Bytes<'a>) -> Result<Vec<u8>> {
    let expected = "a Uint8Array";
    match v {
        Either3::A(slice) => Ok(slice.to_vec()),
        Either3::B(obj) => match obj.get::<Either<Uint8ArraySlice<'a>, Unknown<'a>>>("bytes")? {
            Some(Either::A(slice)) => Ok(slice.to_vec()),
            _ => Err(invalid_argument(env, argument, expected, Some(obj.to_unknown()))),
        },
        Either3::C(u) => Err(invalid_argument(env, argument, expected, Some(u))),
    }
}

/// Snapshot bytes: a `Uint8Array` or `Buffer` only.
pub(crate) fn snapshot_bytes<'a>(env: &Env, v: Either<Uint8ArraySlice<'a>, Unknown<'a>>) -> Result<Vec<u8>> {
    match v {
        Either::A(slice) => Ok(slice.to_vec()),
        Either::B(u) => Err(invalid_argument(env, "snapshot", "a Uint8Array", Some(u))),
    }
}

/// `{ shard, incarnation }`.
pub(crate) fn shard_ref_object(env: &Env, r: ShardRef) -> Result<Object<'_>> {
    let mut o = Object::new(env)?;
    o.set("shard", r.shard)?;
    o.set("incarnation", int(r.incarnation))?;
    Ok(o)
}

/// Reads an options object the way the WebAssembly package does: `undefined` and `null`
/// stand for "not given", both for the object and for each option; keys that are not
/// options are ignored; errors name the option itself (`shard`, `retryMaxMs`).
pub(crate) struct Options<'a> {
    env: &'a Env,
    obj: Option<Object<'a>>,
}

impl<'a> Options<'a> {
    /// `v` must be an object, `undefined` or `null` (else `INVALID_ARGUMENT` naming `name`).
    pub(crate) fn new(env: &'a Env, name: &str, v: Option<ObjArg<'a>>) -> Result<Self> {
        let obj = match v {
            None => None,
            Some(Either3::B(obj)) => Some(obj),
            Some(Either3::A(arr)) => return Err(invalid_argument(env, name, "an options object", Some(arr.to_unknown()))),
            Some(Either3::C(u)) if is_absent(&u)? => None,
            Some(Either3::C(u)) => return Err(invalid_argument(env, name, "an options object", Some(u))),
        };
        Ok(Options { env, obj })
    }

    /// Whether option `name` is given (present, neither `undefined` nor `null`).
    fn given(&self, name: &str) -> Result<Option<&Object<'a>>> {
        let Some(o) = &self.obj else { return Ok(None) };
        match o.get::<Unknown<'a>>(name)? {
            Some(u) if !is_absent(&u)? => Ok(Some(o)),
            _ => Ok(None),
        }
    }

    /// An unsigned integer number in `0 ..= max`.
    pub(crate) fn uint(&self, name: &str, max: u64) -> Result<Option<u64>> {
        let Some(o) = self.given(name)? else { return Ok(None) };
        match o.get::<Num<'a>>(name)? {
            None => Ok(None),
            Some(v) => uint(self.env, name, v, max).map(Some),
        }
    }

    /// A `u32` setting.
    pub(crate) fn u32(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.uint(name, u64::from(u32::MAX))?.map(|v| v as u32))
    }

    /// A `u8` setting given as a `u32` number, saturated to 255 (core rejects values out of
    /// its range with a `CONFIG_*` error).
    pub(crate) fn u8(&self, name: &str) -> Result<Option<u8>> {
        Ok(self.u32(name)?.map(|v| u8::try_from(v).unwrap_or(u8::MAX)))
    }

    /// A `usize` setting: a safe-integer number or a bigint, saturated to `usize` (core
    /// reports a value too large for its bound as `CONFIG_TOO_LARGE`).
    pub(crate) fn usize(&self, name: &str) -> Result<Option<usize>> {
        Ok(self.u64(name)?.map(|v| usize::try_from(v).unwrap_or(usize::MAX)))
    }

    /// A `u64` setting: a safe-integer number or a bigint.
    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>> {
        let Some(o) = self.given(name)? else { return Ok(None) };
        match o.get::<BigNum<'a>>(name)? {
            None => Ok(None),
            Some(v) => u64_arg(self.env, name, v).map(Some),
        }
    }

    /// One of a few strings; `expected` words the choices for the error.
    pub(crate) fn choice(&self, name: &str, choices: &[&'static str], expected: &str) -> Result<Option<&'static str>> {
        let Some(o) = self.given(name)? else { return Ok(None) };
        match o.get::<Str<'a>>(name)? {
            None => Ok(None),
            Some(Either::A(s)) => match choices.iter().find(|c| **c == s) {
                Some(c) => Ok(Some(*c)),
                None => Err(invalid_argument(self.env, name, expected, Some(s))),
            },
            Some(Either::B(u)) => Err(invalid_argument(self.env, name, expected, Some(u))),
        }
    }

    /// A nested options object (`INVALID_ARGUMENT` naming `name` when it is not one).
    pub(crate) fn nested(&self, name: &str) -> Result<Option<Options<'a>>> {
        let Some(o) = self.given(name)? else { return Ok(None) };
        Options::new(self.env, name, o.get::<ObjArg<'a>>(name)?).map(Some)
    }

    /// The environment.
    pub(crate) fn env(&self) -> &'a Env {
        self.env
    }

    /// A required option (`INVALID_ARGUMENT` with `value: undefined` when not given).
    pub(crate) fn required<T>(&self, name: &str, v: Option<T>, expected: &str) -> Result<T> {
        v.ok_or_else(|| invalid_argument(self.env, name, expected, None::<Unknown<'_>>))
    }
}

/// Whether a value is `undefined` or `null`.
fn is_absent(u: &Unknown<'_>) -> Result<bool> {
    Ok(matches!(u.get_type()?, ValueType::Undefined | ValueType::Null))
}
