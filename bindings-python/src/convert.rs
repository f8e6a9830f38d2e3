//! Conversions of Python arguments into engine values, with typed errors.
//!
//! Hot arguments (`key`, `delta`, `now_ms`, key ids) are newtypes whose extraction raises
//! `InvalidArgumentError` / `InvalidDeltaError` / `InvalidTimeError` instead of a bare
//! `TypeError`. Keys are borrowed from the Python `str` (its cached UTF-8 form), never copied.

use crate::errors::{decode_error, invalid_argument};
use crate::types::{PyAck, PyBatch};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use shardtally::{Ack, Batch, KeyId, Timestamp};
use std::borrow::Cow;

/// `now_ms`: an `int` in `0 <= now_ms < 2**64`.
pub(crate) struct Millis(pub(crate) Timestamp);

impl<'a, 'py> FromPyObject<'a, 'py> for Millis {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        // Read as i64 first: CPython converts multi-digit ints (every real clock value) to a
        // C `long` much faster than to an `unsigned long long`.
        let ms = match <i64 as FromPyObject<'a, 'py>>::extract(obj) {
            Ok(ms) => u64::try_from(ms).ok(),
            Err(_) => <u64 as FromPyObject<'a, 'py>>::extract(obj).ok(),
        };
        match ms {
            Some(ms) => Ok(Millis(Timestamp::from_millis(ms))),
            None => Err(bad_time(&obj)),
        }
    }
}

/// A delta: an `int` in the signed 64-bit range.
pub(crate) struct Delta(pub(crate) i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Delta {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match <i64 as FromPyObject<'a, 'py>>::extract(obj) {
            Ok(d) => Ok(Delta(d)),
            Err(_) => Err(bad_delta(&obj, "delta")),
        }
    }
}

#[inline]
fn extract_delta(obj: &Bound<'_, PyAny>, argument: &str) -> PyResult<i64> {
    obj.extract::<i64>().map_err(|_| bad_delta(obj, argument))
}

// The error paths are kept out of line so the extractions above inline into the hot calls.

#[cold]
#[inline(never)]
fn bad_time(obj: &Bound<'_, PyAny>) -> PyErr {
    invalid_argument("InvalidTimeError", "now_ms", obj, "an int in 0 <= now_ms < 2**64")
}

#[cold]
#[inline(never)]
fn bad_delta(obj: &Bound<'_, PyAny>, argument: &str) -> PyErr {
    invalid_argument("InvalidDeltaError", argument, obj, "an int in -2**63 <= delta < 2**63")
}

#[cold]
#[inline(never)]
fn bad_key(obj: &Bound<'_, PyAny>) -> PyErr {
    invalid_argument("InvalidArgumentError", "key", obj, "a str (valid UTF-8)")
}

#[cold]
#[inline(never)]
fn bad_id(obj: &Bound<'_, PyAny>) -> PyErr {
    invalid_argument("InvalidArgumentError", "id", obj, "an int in 0 <= id < 2**32")
}

/// A key: a `str`, borrowed as UTF-8 without copying. Emptiness and length are checked by
/// the engine (`EmptyKeyError`, `KeyTooLongError`).
pub(crate) struct Key<'a>(pub(crate) &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for Key<'a> {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match <&'a str as FromPyObject<'a, 'py>>::extract(obj) {
            Ok(s) => Ok(Key(s)),
            Err(_) => Err(bad_key(&obj)),
        }
    }
}

/// A key id issued by `Shard.intern`: an `int` in `0 <= id < 2**32`.
pub(crate) struct Id(pub(crate) KeyId);

impl<'a, 'py> FromPyObject<'a, 'py> for Id {
    type Error = PyErr;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match <u32 as FromPyObject<'a, 'py>>::extract(obj) {
            Ok(id) => Ok(Id(KeyId::from_raw(id))),
            Err(_) => Err(bad_id(&obj)),
        }
    }
}

/// A non-negative integer argument that is not on a hot path (`seq`, `version`, `shard`, ...).
pub(crate) fn int_arg<'py, T>(obj: &Bound<'py, PyAny>, argument: &str, expected: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    obj.extract::<T>().map_err(|_| invalid_argument("InvalidArgumentError", argument, obj, expected))
}

/// Key ids: a buffer of `uint32` (`array('I')`, a NumPy `uint32` array) copied with one
/// memcpy, or any iterable of ints.
pub(crate) fn key_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<KeyId>> {
    let py = obj.py();
    if !obj.is_instance_of::<PyBytes>() {
        if let Ok(buffer) = PyBuffer::<u32>::get(obj) {
            return Ok(buffer.to_vec(py)?.into_iter().map(KeyId::from_raw).collect());
        }
    }
    let bad = |item: &Bound<'_, PyAny>| invalid_argument("InvalidArgumentError", "ids", item, "an iterable of ints in 0 <= id < 2**32");
    let mut out = Vec::new();
    if let Ok(list) = obj.cast::<PyList>() {
        out.reserve(list.len());
        for item in list.iter() {
            out.push(KeyId::from_raw(item.extract::<u32>().map_err(|_| bad(&item))?));
        }
        return Ok(out);
    }
    for item in iterate(obj, "ids", "an iterable of ints or a uint32 buffer")? {
        let item = item?;
        out.push(KeyId::from_raw(item.extract::<u32>().map_err(|_| bad(&item))?));
    }
    Ok(out)
}

/// Deltas parallel to `len` keys: one `int` for every item, a buffer of `int64`
/// (`array('q')`, a NumPy `int64` array), or any iterable of ints.
pub(crate) fn deltas(obj: &Bound<'_, PyAny>, len: usize) -> PyResult<Vec<i64>> {
    let py = obj.py();
    if obj.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(vec![extract_delta(obj, "deltas")?; len]);
    }
    if !obj.is_instance_of::<PyBytes>() {
        if let Ok(buffer) = PyBuffer::<i64>::get(obj) {
            return buffer.to_vec(py);
        }
    }
    if let Ok(list) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for item in list.iter() {
            out.push(extract_delta(&item, "deltas")?);
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(len);
    for item in iterate(obj, "deltas", "an int, an iterable of ints or an int64 buffer")? {
        out.push(extract_delta(&item?, "deltas")?);
    }
    Ok(out)
}

/// Keys as Python strings (kept alive so their UTF-8 can be borrowed): a list, a tuple or
/// any iterable of `str`.
pub(crate) fn key_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyString>>> {
    let as_key = |item: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyString>> {
        item.cast_into::<PyString>()
            .map_err(|e| invalid_argument("InvalidArgumentError", "keys", e.into_inner().as_any(), "an iterable of str"))
    };
    if obj.is_instance_of::<PyString>() {
        return Err(invalid_argument("InvalidArgumentError", "keys", obj, "an iterable of str, not one str"));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(as_key).collect();
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().map(as_key).collect();
    }
    iterate(obj, "keys", "an iterable of str")?.map(|item| as_key(item?)).collect()
}

/// Borrows the UTF-8 of keys collected by [`key_list`] or [`entry_list`].
pub(crate) fn borrow_key<'a>(key: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    key.to_str().map_err(|_| invalid_argument("InvalidArgumentError", "key", key.as_any(), "a str (valid UTF-8)"))
}

/// `(key, delta)` entries: a `dict` (read directly), any mapping with `.items()`, or an
/// iterable of `(key, delta)` pairs.
pub(crate) fn entry_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Bound<'py, PyString>, i64)>> {
    let key = |k: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyString>> {
        k.cast_into::<PyString>().map_err(|e| invalid_argument("InvalidArgumentError", "key", e.into_inner().as_any(), "a str"))
    };
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut out = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let d = extract_delta(&v, "delta")?;
            out.push((key(k)?, d));
        }
        return Ok(out);
    }
    let pairs = if obj.hasattr(pyo3::intern!(obj.py(), "items"))? && !obj.is_instance_of::<PyString>() {
        obj.call_method0(pyo3::intern!(obj.py(), "items"))?
    } else {
        obj.clone()
    };
    let mut out = Vec::new();
    for pair in iterate(&pairs, "entries", "a mapping of str to int or an iterable of (str, int) pairs")? {
        let pair = pair?;
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) =
            pair.extract().map_err(|_| invalid_argument("InvalidArgumentError", "entries", &pair, "a (str, int) pair"))?;
        let d = extract_delta(&v, "delta")?;
        out.push((key(k)?, d));
    }
    Ok(out)
}

fn iterate<'py>(obj: &Bound<'py, PyAny>, argument: &str, expected: &str) -> PyResult<impl Iterator<Item = PyResult<Bound<'py, PyAny>>>> {
    obj.try_iter().map_err(|_| invalid_argument("InvalidArgumentError", argument, obj, expected))
}

/// Bytes from `bytes` (borrowed), `bytearray`, `memoryview` or any byte buffer.
pub(crate) fn bytes_arg<'a>(obj: &'a Bound<'_, PyAny>, argument: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    match PyBuffer::<u8>::get(obj) {
        Ok(buffer) => Ok(Cow::Owned(buffer.to_vec(obj.py())?)),
        Err(_) => Err(invalid_argument("InvalidArgumentError", argument, obj, "bytes")),
    }
}

/// A batch: a `Batch` object or its encoded bytes.
pub(crate) fn batch_arg(obj: &Bound<'_, PyAny>) -> PyResult<Batch> {
    if let Ok(b) = obj.cast::<PyBatch>() {
        return Ok(b.get().inner.clone());
    }
    if obj.is_instance_of::<PyString>() {
        return Err(invalid_argument("InvalidArgumentError", "batch", obj, "a Batch or its encoded bytes"));
    }
    let bytes =
        bytes_arg(obj, "batch").map_err(|_| invalid_argument("InvalidArgumentError", "batch", obj, "a Batch or its encoded bytes"))?;
    Batch::decode(&bytes).map_err(|e| decode_error(obj.py(), e))
}

/// An acknowledgement: an `Ack` object or its encoded bytes.
pub(crate) fn ack_arg(obj: &Bound<'_, PyAny>) -> PyResult<Ack> {
    if let Ok(a) = obj.cast::<PyAck>() {
        return Ok(a.get().inner.clone());
    }
    if obj.is_instance_of::<PyString>() {
        return Err(invalid_argument("InvalidArgumentError", "ack", obj, "an Ack or its encoded bytes"));
    }
    let bytes = bytes_arg(obj, "ack").map_err(|_| invalid_argument("InvalidArgumentError", "ack", obj, "an Ack or its encoded bytes"))?;
    Ack::decode(&bytes).map_err(|e| decode_error(obj.py(), e))
}
