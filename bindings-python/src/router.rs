//! `shardtally.Router`: picks the shard for each increment.

use crate::config::router_config;
use crate::convert::{bytes_arg, int_arg, Key};
use crate::errors::{decode_error, input_error};
use crate::lock::Locked;
use crate::types::py_repr_str;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use shardtally::Router;

/// Picks the shard for each increment.
///
/// Strategies: `"hash"` (jump consistent hash of the key; the default), `"random"`
/// (seeded), `"round_robin"` and `"pinned"` (always `pinned_shard`). Lowering the
/// shard count reports the shards at or above it as draining. Routers pickle through
/// `snapshot()`.
#[pyclass(frozen, module = "shardtally", name = "Router")]
pub(crate) struct PyRouter {
    inner: Locked<Router>,
}

#[pymethods]
impl PyRouter {
    #[new]
    #[pyo3(
        signature = (**settings),
        text_signature = "(*, strategy='hash', pinned_shard=None, shard_count=1, seed=0)"
    )]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = router_config(py, settings)?;
        Ok(PyRouter { inner: Locked::new(Router::new(config)) })
    }

    /// Restores a router from `snapshot()` bytes (strategy, count, random and round-robin
    /// state, draining shards).
    #[staticmethod]
    fn restore(snapshot: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes = bytes_arg(snapshot, "snapshot")?;
        let router = Router::restore(&bytes).map_err(|e| decode_error(snapshot.py(), e))?;
        Ok(PyRouter { inner: Locked::new(router) })
    }

    /// The shard for an increment of `key`, in `range(shard_count)`.
    fn route(&self, py: Python<'_>, key: Key<'_>) -> u32 {
        self.inner.write(py).route(key.0)
    }

    /// Changes the shard count. Returns the shards that became draining (ascending).
    fn set_shard_count(&self, py: Python<'_>, count: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let count: u32 = int_arg(count, "count", "an int in 0 <= count < 2**32")?;
        let result = self.inner.write(py).set_shard_count(count);
        result.map_err(|e| input_error(py, e))
    }

    /// The host finished draining `shard`. Returns whether it was draining.
    fn mark_drained(&self, py: Python<'_>, shard: &Bound<'_, PyAny>) -> PyResult<bool> {
        let shard: u32 = int_arg(shard, "shard", "an int in 0 <= shard < 2**32")?;
        let was = self.inner.write(py).mark_drained(shard);
        Ok(was)
    }

    /// Shards at or above the shard count that still have to be drained, ascending.
    #[getter]
    fn draining(&self, py: Python<'_>) -> Vec<u32> {
        self.inner.read(py).draining()
    }

    /// The number of shards increments are routed to.
    #[getter]
    fn shard_count(&self, py: Python<'_>) -> u32 {
        self.inner.read(py).shard_count()
    }

    /// The strategy: `"hash"`, `"random"`, `"round_robin"` or `"pinned"`.
    #[getter]
    fn strategy(&self, py: Python<'_>) -> &'static str {
        self.inner.read(py).strategy().as_str()
    }

    /// The pinned shard (strategy `"pinned"`), or `None`.
    #[getter]
    fn pinned_shard(&self, py: Python<'_>) -> Option<u32> {
        self.inner.read(py).pinned_shard()
    }

    /// The router's state as versioned bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.inner.read(py).snapshot();
        PyBytes::new(py, &bytes)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        Ok((slf.get_type().getattr("restore")?, (slf.get().snapshot(py),)))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let r = self.inner.read(py);
        format!("<Router strategy={} shard_count={} draining={:?}>", py_repr_str(r.strategy().as_str()), r.shard_count(), r.draining())
    }
}
