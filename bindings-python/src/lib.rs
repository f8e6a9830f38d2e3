//! Python bindings of shardtally: the private native module `shardtally._native`, a
//! mechanical consumer of `shardtally_api` (settings, errors and output values described
//! once in Rust). The package `shardtally` re-exports it from a small `__init__.py`; the
//! hand-written `_native.pyi` documents it and `mypy.stubtest` keeps the stub honest.
//!
//! - [`shard`], [`global`], [`router`]: each machine's methods and argument conversions,
//!   behind a GIL-aware lock ([`lock`]); [`machine`] adds the run-loop methods once.
//! - [`message`]: the opaque `Batch` and `Ack`.
//! - [`convert`]: arguments and settings in; [`value`]: values and exceptions out.

pub mod convert;
pub mod global;
pub mod lock;
pub mod machine;
pub mod message;
pub mod router;
pub mod shard;
pub mod value;

use pyo3::prelude::*;

/// A stable 64-bit hash of a key (the one the `"hash"` router strategy uses).
#[pyfunction]
fn key_hash(key: convert::Key<'_>) -> u64 {
    shardtally::partition::key_hash(key.0)
}

/// Jump consistent hash: the bucket in `range(num_buckets)` for a 64-bit key hash.
#[pyfunction]
fn jump_hash(key_hash: &Bound<'_, PyAny>, num_buckets: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(shardtally::partition::jump_hash(convert::uint(key_hash, "key_hash")?, convert::uint(num_buckets, "num_buckets")?))
}

/// The native module `shardtally._native`.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<shard::PyShard>()?;
    m.add_class::<global::PyGlobal>()?;
    m.add_class::<router::PyRouter>()?;
    m.add_class::<message::PyBatch>()?;
    m.add_class::<message::PyAck>()?;
    m.add_function(wrap_pyfunction!(key_hash, m)?)?;
    m.add_function(wrap_pyfunction!(jump_hash, m)?)?;
    m.add_function(wrap_pyfunction!(machine::_unpickle, m)?)?;
    m.add("FORMAT_VERSION", shardtally::snapshot::FORMAT_VERSION)?;
    Ok(())
}
