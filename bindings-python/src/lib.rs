//! Python bindings of shardtally: the private native module `shardtally._native`.
//!
//! The Python package `shardtally` re-exports everything from a small `__init__.py`; the
//! hand-written `_native.pyi` stub documents the API and `mypy.stubtest` keeps it honest.
//! This crate only converts values and maps errors: all engine logic lives in `shardtally`.
//!
//! - [`shard`], [`global`], [`router`]: the three machines, each behind a GIL-aware lock
//!   ([`lock`]) so objects can be shared between threads and long work runs without the GIL.
//! - [`types`]: frozen value objects (messages, outputs, outcomes, views).
//! - [`convert`], [`config`], [`errors`]: arguments, settings and exceptions.

pub mod config;
pub mod convert;
pub mod errors;
pub mod global;
pub mod lock;
pub mod router;
pub mod shard;
pub mod types;

use pyo3::prelude::*;

/// A stable 64-bit hash of a key (the one the `"hash"` router strategy uses).
#[pyfunction]
fn key_hash(key: convert::Key<'_>) -> u64 {
    shardtally::partition::key_hash(key.0)
}

/// Jump consistent hash: the bucket in `range(num_buckets)` for a 64-bit key hash.
#[pyfunction]
fn jump_hash(key_hash: u64, num_buckets: u32) -> u32 {
    shardtally::partition::jump_hash(key_hash, num_buckets)
}

/// The native module `shardtally._native`.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<shard::PyShard>()?;
    m.add_class::<global::PyGlobal>()?;
    m.add_class::<router::PyRouter>()?;
    m.add_class::<types::PyShardRef>()?;
    m.add_class::<types::PyBatchEntry>()?;
    m.add_class::<types::PyBatch>()?;
    m.add_class::<types::PyAck>()?;
    m.add_class::<types::PySendBatch>()?;
    m.add_class::<types::PyPublish>()?;
    m.add_class::<types::PyForward>()?;
    m.add_class::<types::PyFlushOutcome>()?;
    m.add_class::<types::PyPublishOutcome>()?;
    m.add_class::<types::PyResetOutcome>()?;
    m.add_class::<types::PyDeadline>()?;
    m.add_class::<types::PyShardStats>()?;
    m.add_class::<types::PyGlobalStats>()?;
    m.add_class::<types::PyShardWrites>()?;
    m.add_class::<types::PyBatchWrite>()?;
    m.add_class::<types::PyResetWrite>()?;
    m.add_function(wrap_pyfunction!(key_hash, m)?)?;
    m.add_function(wrap_pyfunction!(jump_hash, m)?)?;
    m.add_function(wrap_pyfunction!(shard::_restore_shard, m)?)?;
    m.add_function(wrap_pyfunction!(global::_restore_global, m)?)?;
    m.add("FORMAT_VERSION", shardtally::snapshot::FORMAT_VERSION)?;
    Ok(())
}
