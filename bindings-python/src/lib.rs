//! Python bindings of shardtally: the private native module `shardtally._native`, a
//! mechanical consumer of `shardtally_api` (settings, errors and output values described
//! once in Rust). The package `shardtally` re-exports it from a small `__init__.py`; the
//! hand-written `_native.pyi` documents it and `mypy.stubtest` keeps the stub honest.
//!
//! - [`shard`], [`global`], [`router`], [`gateway`], [`membership`], [`buckets`],
//!   [`outbox`]: each machine's methods and argument conversions, behind a GIL-aware lock
//!   ([`lock`]); [`machine`] adds the run-loop methods once.
//! - [`builder`]: `GlobalBuilder` and `ShardBuilder`, a machine rebuilt from its stored rows
//!   page by page.
//! - [`message`]: the opaque `Batch`, `Ack` and `Notice`.
//! - [`convert`]: arguments and settings in; [`value`]: values and exceptions out.

pub mod buckets;
pub mod builder;
pub mod convert;
pub mod gateway;
pub mod global;
pub mod lock;
pub mod machine;
pub mod membership;
pub mod message;
pub mod outbox;
pub mod router;
pub mod shard;
pub mod value;

use convert::int;
use pyo3::prelude::*;
use shardtally::partition;
use shardtally_api::views;

/// A stable 64-bit hash of a key (the one the `"hash"` router strategy uses).
#[pyfunction]
fn key_hash(key: convert::Key<'_>) -> u64 {
    partition::key_hash(key.0)
}

/// Jump consistent hash: the bucket in `range(num_buckets)` for a 64-bit key hash.
#[pyfunction]
fn jump_hash(key_hash: &Bound<'_, PyAny>, num_buckets: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(partition::jump_hash(int(key_hash, "key_hash")?, int(num_buckets, "num_buckets")?))
}

/// Knuth's multiplicative hash: `x * 2654435761 mod 2**32`.
#[pyfunction]
fn knuth_hash(x: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(partition::knuth_hash(int(x, "x")?))
}

/// The owner of a 64-bit hash by modulo: `hash % num_shards` (0 shards count as 1).
#[pyfunction]
fn owner_mod(hash: &Bound<'_, PyAny>, num_shards: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(partition::owner_mod(int(hash, "hash")?, int(num_shards, "num_shards")?))
}

/// The owner of a 64-bit hash by range: the hash space cut into `num_shards` contiguous ranges.
#[pyfunction]
fn owner_range(hash: &Bound<'_, PyAny>, num_shards: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(partition::owner_range(int(hash, "hash")?, int(num_shards, "num_shards")?))
}

/// The hashes `shard` owns under `owner_range` (`HashRange`, inclusive), or `None`.
#[pyfunction]
fn shard_range<'py>(shard: &Bound<'py, PyAny>, num_shards: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let range = partition::shard_range(int(shard, "shard")?, int(num_shards, "num_shards")?);
    value::to_py(shard.py(), &views::hash_range(range))
}

/// The route of a request path: numeric segments become `:id`, UUID segments `:uuid`; the
/// empty path is `/`.
#[pyfunction]
fn default_route(path: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(shardtally::buckets::default_route(convert::text(path, "path")?))
}

/// The bucket key of a request, `"METHOD route"`: an unknown method is `OTHER`; cut to at
/// most `max_key_bytes` UTF-8 bytes (whole characters).
#[pyfunction]
#[pyo3(signature = (method, route, max_key_bytes = convert::MaxKeyBytes(256)), text_signature = "(method, route, max_key_bytes=256)")]
fn request_key(method: &Bound<'_, PyAny>, route: &Bound<'_, PyAny>, max_key_bytes: convert::MaxKeyBytes) -> PyResult<String> {
    let (method, route) = (convert::text(method, "method")?, convert::text(route, "route")?);
    Ok(shardtally::buckets::request_key(method, route, max_key_bytes.0 as usize))
}

/// The native module `shardtally._native`.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<shard::PyShard>()?;
    m.add_class::<global::PyGlobal>()?;
    m.add_class::<router::PyRouter>()?;
    m.add_class::<message::PyBatch>()?;
    m.add_class::<message::PyAck>()?;
    m.add_class::<message::PyNotice>()?;
    m.add_class::<gateway::PyGateway>()?;
    m.add_class::<membership::PyMembership>()?;
    m.add_class::<buckets::PyBuckets>()?;
    m.add_class::<outbox::PyOutbox>()?;
    m.add_class::<builder::PyGlobalBuilder>()?;
    m.add_class::<builder::PyShardBuilder>()?;
    for f in [
        wrap_pyfunction!(key_hash, m)?,
        wrap_pyfunction!(jump_hash, m)?,
        wrap_pyfunction!(knuth_hash, m)?,
        wrap_pyfunction!(owner_mod, m)?,
        wrap_pyfunction!(owner_range, m)?,
        wrap_pyfunction!(shard_range, m)?,
        wrap_pyfunction!(default_route, m)?,
        wrap_pyfunction!(request_key, m)?,
    ] {
        m.add_function(f)?;
    }
    m.add_function(wrap_pyfunction!(machine::_unpickle, m)?)?;
    m.add("FORMAT_VERSION", shardtally::snapshot::FORMAT_VERSION)?;
    Ok(())
}
