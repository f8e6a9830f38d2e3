//! The opaque messages a host routes but cannot forge: `Batch` (shard → global), `Ack`
//! (global → shard) and `Notice` (a reset, global → shard). They come from a machine or from
//! `decode`, compare by value, hash, and pickle through their wire encoding.

use crate::convert::bytes;
use crate::value::{raise, to_py};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use shardtally::{Ack, Batch, DecodeError, GenerationNotice, ShardRef};
use shardtally_api::{views, Value};
use std::hash::{Hash, Hasher};

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A message class: what arguments accept besides its encoded bytes.
pub(crate) trait Message: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync {
    /// The core message.
    type Inner: Clone;
    /// The argument's name in errors.
    const ARGUMENT: &'static str;
    /// What the argument must be.
    const EXPECTED: &'static str;
    /// The core message.
    fn inner(&self) -> &Self::Inner;
    /// Decodes its wire encoding.
    fn decode_inner(bytes: &[u8]) -> Result<Self::Inner, DecodeError>;
}

/// The `Message` impl and the methods every message has: `shard_ref`, `shard`,
/// `incarnation` (of `$who`, the sender or the addressee), `encode()`, `decode()`, pickling.
macro_rules! message {
    ($class:ident, $inner:ty, $argument:literal, $expected:literal, $who:ident) => {
        impl Message for $class {
            type Inner = $inner;
            const ARGUMENT: &'static str = $argument;
            const EXPECTED: &'static str = $expected;
            fn inner(&self) -> &$inner {
                &self.0
            }
            fn decode_inner(bytes: &[u8]) -> Result<$inner, DecodeError> {
                <$inner>::decode(bytes)
            }
        }

        #[pymethods]
        impl $class {
            /// The shard life (index and incarnation).
            #[getter]
            fn shard_ref<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                to_py(py, &views::shard_ref(self.0.$who()).into())
            }

            /// The shard index.
            #[getter]
            fn shard(&self) -> u32 {
                self.0.$who().shard
            }

            /// The shard's incarnation.
            #[getter]
            fn incarnation(&self) -> u64 {
                self.0.$who().incarnation
            }

            /// The wire encoding (versioned bytes).
            fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
                PyBytes::new(py, &self.0.encode())
            }

            /// Decodes and validates a message; raises a `DecodeError` subclass for bad bytes.
            #[staticmethod]
            fn decode(data: &Bound<'_, PyAny>) -> PyResult<Self> {
                <$inner>::decode(&bytes(data, "data")?).map($class).map_err(|e| raise(data.py(), e))
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
                Ok((slf.get_type().getattr("decode")?, (PyBytes::new(slf.py(), &slf.get().0.encode()),)))
            }
        }
    };
}

/// The value of a field of a view record.
fn field<'py>(py: Python<'py>, record: &shardtally_api::Record, name: &str) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, record.get(name).unwrap_or(&Value::Null))
}

/// A shard's deltas on their way to the global: who sent it, its `seq`, why (`reason`) and
/// the entries sorted by key. Deliver it to `Global.handle_batch` (as the object or as
/// `encode()`d bytes) and route the returned `Ack` back to `Shard.handle_ack`.
#[pyclass(frozen, eq, module = "shardtally", name = "Batch")]
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PyBatch(pub(crate) Batch);

message!(PyBatch, Batch, "batch", "a Batch or its encoded bytes", from);

#[pymethods]
impl PyBatch {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("shard", "incarnation", "seq", "reason", "entries")
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
}

/// The global's answer to a batch; route it back to the shard that sent the batch
/// (`Shard.handle_ack`), as the object or as `encode()`d bytes.
#[pyclass(frozen, eq, module = "shardtally", name = "Ack")]
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PyAck(pub(crate) Ack);

message!(PyAck, Ack, "ack", "an Ack or its encoded bytes", to);

#[pymethods]
impl PyAck {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        ("shard", "incarnation", "seq", "duplicate", "generation", "stale_keys")
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
        field(py, &views::ack(&self.0), "stale_keys")
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
}

/// A reset for a shard to learn at once (a `Global.poll_output()` output, or
/// `Global.generation_notice`): deliver it to the shard it is addressed to
/// (`Shard.handle_generation_notice`, or a tiered global's `handle_generation_notice`), as
/// the object or as `encode()`d bytes. Delivering one late, twice or to another shard is safe.
#[pyclass(frozen, eq, module = "shardtally", name = "Notice")]
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PyNotice(pub(crate) GenerationNotice);

message!(PyNotice, GenerationNotice, "notice", "a Notice or its encoded bytes", to);

#[pymethods]
impl PyNotice {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("shard", "incarnation", "generation", "keys")
    }

    /// The global's reset generation.
    #[getter]
    fn generation(&self) -> u64 {
        self.0.generation()
    }

    /// The reset keys with their new generation (`StaleKey`s), by key.
    #[getter]
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        field(py, &views::notice(&self.0), "keys")
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(self.0.to(), self.0.generation()))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let n = &slf.get().0;
        let ShardRef { shard, incarnation } = n.to();
        let keys = slf.get().keys(slf.py())?.repr()?;
        Ok(format!("Notice(shard={shard}, incarnation={incarnation}, generation={}, keys={keys})", n.generation()))
    }
}

/// `SendBatch(batch)` / `Forward(batch)`: a message output as its Python record.
pub(crate) fn output<'py>(py: Python<'py>, class: &str, batch: Batch) -> PyResult<Bound<'py, PyAny>> {
    crate::value::class(py, class)?.call1(PyTuple::new(py, [Bound::new(py, PyBatch(batch))?])?)
}
