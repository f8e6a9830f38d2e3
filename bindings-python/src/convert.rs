//! Python arguments → engine values. Every bad argument raises a `ShardtallyError` subclass
//! built from `shardtally_api::ArgError` (`InvalidArgumentError`, `InvalidTimeError`,
//! `InvalidDeltaError`, `InvalidKeyError`), never a bare `TypeError` / `OverflowError`.
//!
//! Integers: an `int` or any object with `__index__` (a NumPy integer), never a `bool`.
//! Keys: a `str`, borrowed as UTF-8 without copying; a lone surrogate is `InvalidKeyError`.
//! Hot arguments (`key`, `delta`, `now_ms`, key ids) take a fast path for an exact `int` /
//! `str`; everything else goes through the cold paths below.

use crate::message::Message;
use crate::value::raise;
use pyo3::buffer::{Element, PyBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use shardtally::settings::SettingValue;
use shardtally::{KeyId, Timestamp};
use shardtally_api::js::MAX_SAFE;
use shardtally_api::{ArgError, OptionValue};
use std::borrow::Cow;

/// `repr(obj)`, for error messages.
pub(crate) fn shown(obj: &Bound<'_, PyAny>) -> String {
    obj.repr().map_or_else(|_| "<unprintable>".to_owned(), |r| r.to_string())
}

/// An integer argument of type `T` (any `__index__` object, not a `bool`), or `None`.
fn index<'py, T: for<'a> FromPyObject<'a, 'py>>(obj: &Bound<'py, PyAny>) -> Option<T> {
    if obj.is_instance_of::<PyBool>() {
        return None;
    }
    obj.extract::<T>().ok()
}

/// An integer type arguments are read into.
pub(crate) trait Integer: for<'a, 'py> FromPyObject<'a, 'py> {
    /// Its range, for the error message.
    const RANGE: &'static str;
}

impl Integer for u32 {
    const RANGE: &'static str = "0..=4294967295";
}

impl Integer for u64 {
    const RANGE: &'static str = "0..=18446744073709551615";
}

impl Integer for i64 {
    const RANGE: &'static str = "-9223372036854775808..=9223372036854775807";
}

/// An integer argument (`seq`, `version`, `shard`, `count`, ...).
pub(crate) fn int<T: Integer>(obj: &Bound<'_, PyAny>, argument: &str) -> PyResult<T> {
    index::<T>(obj).ok_or_else(|| raise(obj.py(), ArgError::invalid(argument, format!("an integer in {}", T::RANGE), shown(obj))))
}

/// `now_ms`: an integer in `0 ..= 2**53 - 1` (the range every binding accepts).
pub(crate) struct Millis(pub(crate) Timestamp);

impl<'a, 'py> FromPyObject<'a, 'py> for Millis {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(ms) = obj.extract::<i64>() {
                if (0..=MAX_SAFE as i64).contains(&ms) {
                    return Ok(Millis(Timestamp::from_millis(ms as u64)));
                }
            }
        }
        slow_time(&obj)
    }
}

#[cold]
#[inline(never)]
fn slow_time(obj: &Bound<'_, PyAny>) -> PyResult<Millis> {
    match index::<u64>(obj).filter(|ms| *ms <= MAX_SAFE) {
        Some(ms) => Ok(Millis(Timestamp::from_millis(ms))),
        None => Err(raise(obj.py(), ArgError::InvalidTime { value: shown(obj) })),
    }
}

/// A delta: an integer in the signed 64-bit range.
pub(crate) struct Delta(pub(crate) i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Delta {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(d) = obj.extract::<i64>() {
                return Ok(Delta(d));
            }
        }
        slow_delta(&obj).map(Delta)
    }
}

#[cold]
#[inline(never)]
fn slow_delta(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    index::<i64>(obj).ok_or_else(|| raise(obj.py(), ArgError::InvalidDelta { value: shown(obj) }))
}

/// A key id issued by `Shard.intern`.
pub(crate) struct Id(pub(crate) KeyId);

impl<'a, 'py> FromPyObject<'a, 'py> for Id {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(id) = obj.extract::<u32>() {
                return Ok(Id(KeyId::from_raw(id)));
            }
        }
        int::<u32>(&obj, "id").map(|id| Id(KeyId::from_raw(id)))
    }
}

/// `max_key_bytes` of `request_key` (256 when not given: the default of `Buckets`).
pub(crate) struct MaxKeyBytes(pub(crate) u32);

impl<'a, 'py> FromPyObject<'a, 'py> for MaxKeyBytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        int::<u32>(&obj, "max_key_bytes").map(MaxKeyBytes)
    }
}

/// A key: a `str`, borrowed as UTF-8. Emptiness and length are the engine's checks.
pub(crate) struct Key<'a>(pub(crate) &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for Key<'a> {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match <&'a str as FromPyObject<'a, 'py>>::extract(obj) {
            Ok(s) => Ok(Key(s)),
            Err(_) => Err(bad_key(&obj, "key")),
        }
    }
}

#[cold]
#[inline(never)]
fn bad_key(obj: &Bound<'_, PyAny>, argument: &'static str) -> PyErr {
    if obj.is_instance_of::<PyString>() {
        raise(obj.py(), ArgError::InvalidKey { argument })
    } else {
        raise(obj.py(), ArgError::invalid(argument, "a str", shown(obj)))
    }
}

/// A key collected from a container, kept alive so its UTF-8 can be borrowed ([`borrow`]).
pub(crate) fn key_of(obj: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyString>> {
    obj.cast_into::<PyString>().map_err(|e| bad_key(e.into_inner().as_any(), "key"))
}

/// The UTF-8 of a key collected by [`key_of`].
pub(crate) fn borrow<'a>(key: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    key.to_str().map_err(|_| bad_key(key.as_any(), "key"))
}

/// Items of a sequence or iterable argument.
fn items<'py>(obj: &Bound<'py, PyAny>, argument: &str, expected: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    let bad = || raise(obj.py(), ArgError::invalid(argument, expected, shown(obj)));
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(bad());
    }
    obj.try_iter().map_err(|_| bad())?.collect()
}

/// A buffer of `T` (`array`, a NumPy array), copied in one go, if `obj` is one.
fn buffer<T: Element + Copy>(obj: &Bound<'_, PyAny>) -> Option<PyResult<Vec<T>>> {
    if obj.is_instance_of::<PyBytes>() {
        return None;
    }
    PyBuffer::<T>::get(obj).ok().map(|b| b.to_vec(obj.py()))
}

/// Key ids (raw, as the engine reads them in place): a `uint32` buffer or any iterable of
/// integers.
pub(crate) fn key_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    if let Some(ids) = buffer::<u32>(obj) {
        return ids;
    }
    items(obj, "ids", "an iterable of integers or a uint32 buffer")?.iter().map(|i| Ok(Id::extract(i.as_borrowed())?.0.raw())).collect()
}

/// Deltas for `len` items: one integer for every item, an `int64` buffer, or any iterable
/// of integers.
pub(crate) fn deltas(obj: &Bound<'_, PyAny>, len: usize) -> PyResult<Vec<i64>> {
    if obj.is_instance_of::<PyInt>() {
        return Ok(vec![Delta::extract(obj.as_borrowed())?.0; len]);
    }
    if let Some(deltas) = buffer::<i64>(obj) {
        return deltas;
    }
    if obj.try_iter().is_err() {
        return Ok(vec![Delta::extract(obj.as_borrowed())?.0; len]); // an `__index__` object
    }
    items(obj, "deltas", "an integer, an iterable of integers or an int64 buffer")?
        .iter()
        .map(|d| Ok(Delta::extract(d.as_borrowed())?.0))
        .collect()
}

/// `(key, delta)` entries: a `dict`, any mapping with `.items()`, or an iterable of pairs.
pub(crate) fn entries<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Bound<'py, PyString>, i64)>> {
    if let Ok(dict) = obj.cast::<PyDict>() {
        return dict.iter().map(|(k, v)| Ok((key_of(k)?, Delta::extract(v.as_borrowed())?.0))).collect();
    }
    let py = obj.py();
    let pairs = if !obj.is_instance_of::<PyString>() && obj.hasattr(pyo3::intern!(py, "items"))? {
        obj.call_method0(pyo3::intern!(py, "items"))?
    } else {
        obj.clone()
    };
    let expected = "a mapping of str to int or an iterable of (str, int) pairs";
    self::pairs(&pairs, "entries", expected)?.into_iter().map(|[k, d]| Ok((key_of(k)?, Delta::extract(d.as_borrowed())?.0))).collect()
}

/// The items of an iterable of pairs (2-item tuples, lists or iterables).
pub(crate) fn pairs<'py>(obj: &Bound<'py, PyAny>, argument: &str, expected: &str) -> PyResult<Vec<[Bound<'py, PyAny>; 2]>> {
    items(obj, argument, expected)?
        .into_iter()
        .map(|pair| {
            let two = items(&pair, argument, expected).ok().and_then(|p| <[_; 2]>::try_from(p).ok());
            two.ok_or_else(|| raise(obj.py(), ArgError::invalid(argument, expected, shown(&pair))))
        })
        .collect()
}

/// A string argument other than a key (an id, a day, a period, a table name), borrowed.
pub(crate) fn text<'a>(obj: &'a Bound<'_, PyAny>, argument: &'static str) -> PyResult<&'a str> {
    match obj.cast::<PyString>() {
        Ok(s) => s.to_str().map_err(|_| bad_key(obj, argument)),
        Err(_) => Err(bad_key(obj, argument)),
    }
}

/// `(connection, request)` id pairs (a gateway replica's report).
pub(crate) fn id_pairs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let pairs = pairs(obj, "connections", "an iterable of (connection id, request id) pairs")?;
    pairs.iter().map(|[c, r]| Ok((text(c, "connection")?.to_owned(), text(r, "request")?.to_owned()))).collect()
}

/// `(table, value)` pairs of stored rows (`from_rows`).
pub(crate) fn stored_rows(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Vec<u8>)>> {
    let pairs = pairs(obj, "rows", "an iterable of (table, value bytes) pairs")?;
    pairs.iter().map(|[t, v]| Ok((text(t, "table")?.to_owned(), bytes(v, "value")?.into_owned()))).collect()
}

/// Bytes from `bytes` (borrowed), `bytearray`, `memoryview` or any byte buffer.
pub(crate) fn bytes<'a>(obj: &'a Bound<'_, PyAny>, argument: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    match PyBuffer::<u8>::get(obj) {
        Ok(buffer) => Ok(Cow::Owned(buffer.to_vec(obj.py())?)),
        Err(_) => Err(raise(obj.py(), ArgError::invalid(argument, "bytes", shown(obj)))),
    }
}

/// A `bool` argument (not any truthy object).
pub(crate) fn flag(obj: &Bound<'_, PyAny>, argument: &str) -> PyResult<bool> {
    obj.cast::<PyBool>().map(|b| b.is_true()).map_err(|_| raise(obj.py(), ArgError::invalid(argument, "a bool", shown(obj))))
}

/// Byte strings (`restore_clusters` rows).
pub(crate) fn byte_items(obj: &Bound<'_, PyAny>, argument: &str) -> PyResult<Vec<Vec<u8>>> {
    items(obj, argument, "an iterable of bytes")?.iter().map(|b| Ok(bytes(b, argument)?.into_owned())).collect()
}

/// A message argument: the message object (`Batch`, `Ack`, `Notice`) or its encoded bytes.
pub(crate) fn message<M: Message>(obj: &Bound<'_, PyAny>) -> PyResult<M::Inner> {
    if let Ok(m) = obj.cast::<M>() {
        return Ok(m.get().inner().clone());
    }
    let expected = || raise(obj.py(), ArgError::invalid(M::ARGUMENT, M::EXPECTED, shown(obj)));
    let bytes = bytes(obj, M::ARGUMENT).map_err(|_| expected())?;
    M::decode_inner(&bytes).map_err(|e| raise(obj.py(), e))
}

/// `**settings` as options for `shardtally_api::options` (a `dict` is a nested object).
pub(crate) fn options(settings: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, OptionValue)>> {
    let Some(settings) = settings else { return Ok(Vec::new()) };
    settings.iter().map(|(name, v)| Ok((name.str()?.to_string_lossy().into_owned(), option(&v)?))).collect()
}

fn option(v: &Bound<'_, PyAny>) -> PyResult<OptionValue> {
    let value = if v.is_none() {
        SettingValue::Null
    } else if let Ok(b) = v.cast::<PyBool>() {
        SettingValue::Bool(b.is_true())
    } else if let Ok(d) = v.cast::<PyDict>() {
        return Ok(OptionValue::Object(options(Some(d))?));
    } else if let Ok(s) = v.cast::<PyString>() {
        SettingValue::Str(s.to_string_lossy().into_owned())
    } else if let Ok(f) = v.cast::<PyFloat>() {
        SettingValue::Float(f.value())
    } else if let Some(i) = index::<i128>(v) {
        SettingValue::Int(i)
    } else {
        SettingValue::Other(v.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string()))
    };
    Ok(OptionValue::Value(value))
}
