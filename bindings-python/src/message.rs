//! The opaque messages a host routes but cannot forge: `Batch` (shard → global) and `Ack`
//! (global → shard). They come from a machine or from `decode`, compare by value, hash,
//! and pickle through their wire encoding.

use crate::convert::bytes;
use crate::value::{raise, to_py};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use shardtally::{Ack, Batch};
use shardtally_api::views;
use std::hash::{Hash, Hasher};

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// `(type(obj).decode, (obj.encode(),))`.
fn reduce<'py>(obj: &Bound<'py, PyAny>, encoded: Vec<u8>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
    Ok((obj.get_type().getattr("decode")?, (PyBytes::new(obj.py(), &encoded),)))
}

/// A shard's deltas on their way to the global: who sent it, its `seq`, why (`reason`) and
/// the entries sorted by key. Deliver it to `Global.handle_batch` (as the object or as
/// `encode()`d bytes) and route the returned `Ack` back to `Shard.handle_ack`.
#[pyclass(frozen, eq, module = "shardtally", name = "Batch")]
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PyBatch(pub(crate) Batch);

#[pymethods]
impl PyBatch {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("shard", "incarnation", "seq", "reason", "entries")
    }

    /// The shard life that sent it.
    #[getter]
    fn shard_ref<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &views::shard_ref(self.0.from()).into())
    }

    /// The sending shard's index.
    #[getter]
    fn shard(&self) -> u32 {
        self.0.from().shard
    }

    /// The sending shard's incarnation.
    #[getter]
    fn incarnation(&self) -> u64 {
        self.0.from().incarnation
    }

    /// The sequence number (1 for an incarnation's first batch).
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq()
    }

    /// Why it was sent.
    #[getter]
    fn reason(&self) -> &'static str {
        self.0.reason().as_str()
    }

    /// The entries, sorted by key, then generation.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &views::batch_entries(self.0.entries()).into())
    }

    /// The entries as `{key: delta}` (a key's deltas summed over generations).
    fn deltas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for e in self.0.entries() {
            let before: i64 = d.get_item(e.key())?.map_or(Ok(0), |v| v.extract())?;
            d.set_item(e.key(), before.saturating_add(e.delta()))?;
        }
        Ok(d)
    }

    /// The wire encoding (versioned bytes).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.encode())
    }

    /// Decodes and validates a batch; raises a `DecodeError` subclass for bad bytes.
    #[staticmethod]
    fn decode(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        Batch::decode(&bytes(data, "data")?).map(PyBatch).map_err(|e| raise(data.py(), e))
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(self.0.from(), self.0.seq(), self.0.len()))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let b = &slf.get().0;
        let (r, entries) = (b.from(), slf.get().entries(slf.py())?.repr()?);
        Ok(format!(
            "Batch(shard={}, incarnation={}, seq={}, reason='{}', entries={entries})",
            r.shard,
            r.incarnation,
            b.seq(),
            b.reason().as_str()
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.get().0.encode())
    }
}

/// The global's answer to a batch; route it back to the shard that sent the batch
/// (`Shard.handle_ack`), as the object or as `encode()`d bytes.
#[pyclass(frozen, eq, module = "shardtally", name = "Ack")]
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PyAck(pub(crate) Ack);

#[pymethods]
impl PyAck {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        ("shard", "incarnation", "seq", "duplicate", "generation", "stale_keys")
    }

    /// The shard life it is for.
    #[getter]
    fn shard_ref<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &views::shard_ref(self.0.to()).into())
    }

    /// The shard index it is for.
    #[getter]
    fn shard(&self) -> u32 {
        self.0.to().shard
    }

    /// The incarnation it is for.
    #[getter]
    fn incarnation(&self) -> u64 {
        self.0.to().incarnation
    }

    /// The acknowledged batch's sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq()
    }

    /// The batch had already been applied: this acknowledgement applied nothing.
    #[getter]
    fn duplicate(&self) -> bool {
        self.0.is_duplicate()
    }

    /// The global's reset generation.
    #[getter]
    fn generation(&self) -> u64 {
        self.0.generation()
    }

    /// The batch's keys whose deltas were dropped as older than a reset (`StaleKey`s).
    #[getter]
    fn stale_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let record = views::ack(&self.0);
        to_py(py, record.get("stale_keys").unwrap_or(&shardtally_api::Value::Null))
    }

    /// The wire encoding (versioned bytes).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.encode())
    }

    /// Decodes and validates an acknowledgement; raises a `DecodeError` subclass.
    #[staticmethod]
    fn decode(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ack::decode(&bytes(data, "data")?).map(PyAck).map_err(|e| raise(data.py(), e))
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(self.0.to(), self.0.seq(), self.0.is_duplicate(), self.0.generation()))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let a = &slf.get().0;
        let stale = slf.get().stale_keys(slf.py())?.repr()?;
        let duplicate = if a.is_duplicate() { "True" } else { "False" };
        Ok(format!(
            "Ack(shard={}, incarnation={}, seq={}, duplicate={duplicate}, generation={}, stale_keys={stale})",
            a.to().shard,
            a.to().incarnation,
            a.seq(),
            a.generation()
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.get().0.encode())
    }
}

/// `SendBatch(batch)` / `Forward(batch)`: a message output as its Python record.
pub(crate) fn output<'py>(py: Python<'py>, class: &str, batch: Batch) -> PyResult<Bound<'py, PyAny>> {
    crate::value::class(py, class)?.call1(PyTuple::new(py, [Bound::new(py, PyBatch(batch))?])?)
}
