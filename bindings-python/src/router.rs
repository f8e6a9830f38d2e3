//! `shardtally.Router`: picks the shard for each increment.

use crate::convert::{self, int, options, Key};
use crate::lock::Locked;
use crate::value::raise;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use shardtally::Router;
use shardtally_api::{options as api, Naming};

/// Picks the shard for each increment: `"hash"` (the default), `"random"` (seeded),
/// `"round_robin"` or `"pinned"` (always `pinned_shard`).
#[pyclass(frozen, module = "shardtally", name = "Router")]
pub(crate) struct PyRouter {
    inner: Locked<Router>,
}

#[pymethods]
impl PyRouter {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let router = api::new_router(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyRouter { inner: Locked::new(router) })
    }

    /// Restores a router from `snapshot()` bytes (its settings are in the snapshot).
    #[staticmethod]
    fn restore(snapshot: &Bound<'_, PyAny>) -> PyResult<Self> {
        let router = Router::restore(&convert::bytes(snapshot, "snapshot")?).map_err(|e| raise(snapshot.py(), e))?;
        Ok(PyRouter { inner: Locked::new(router) })
    }

    /// The shard for an increment of `key`, in `range(shard_count)`.
    fn route(&self, py: Python<'_>, key: Key<'_>) -> u32 {
        self.inner.write(py).route(key.0)
    }

    /// Changes the shard count. Returns the shards that became draining (ascending).
    fn set_shard_count(&self, py: Python<'_>, count: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let count = int(count, "count")?;
        let result = self.inner.write(py).set_shard_count(count);
        result.map_err(|e| raise(py, e))
    }

    /// The host finished draining `shard`. Returns whether it was draining.
    fn mark_drained(&self, py: Python<'_>, shard: &Bound<'_, PyAny>) -> PyResult<bool> {
        let shard = int(shard, "shard")?;
        Ok(self.inner.write(py).mark_drained(shard))
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

    /// The strategy.
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
        Ok((slf.get_type().getattr("restore")?, (slf.get().snapshot(slf.py()),)))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let r = self.inner.read(py);
        format!("<Router strategy='{}' shard_count={} draining={:?}>", r.strategy().as_str(), r.shard_count(), r.draining())
    }
}
