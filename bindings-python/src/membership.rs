//! `shardtally.Membership`: shard indices for the holders of named clusters
//! (postgres-shard-coordinator). Method list and argument conversions only; the run-loop
//! methods come from `run_loop!`, settings from `shardtally_api::options`.

use crate::convert::{self, options, text, Millis};
use crate::lock::Locked;
use crate::machine::{self, outputs, run_loop, settings_config};
use crate::value::{raise, record, to_py};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use shardtally::Membership;
use shardtally_api::{options as api, views, Naming};

/// Gives each holder of a cluster a unique shard index and tells it when that changes.
#[pyclass(frozen, module = "shardtally", name = "Membership")]
pub(crate) struct PyMembership {
    inner: Locked<Membership>,
}

settings_config!(PyMembership);
run_loop!(PyMembership);
outputs!(PyMembership);

impl PyMembership {
    /// Runs an input naming a cluster and a holder.
    fn holder_input(
        &self,
        cluster: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        input: impl FnOnce(&mut Membership, &str, &str) -> Result<(), shardtally::Error>,
    ) -> PyResult<()> {
        let (py, cluster, holder) = (cluster.py(), text(cluster, "cluster")?, text(holder, "holder")?);
        let result = input(&mut self.inner.write(py), cluster, holder);
        result.map_err(|e| raise(py, e))
    }
}

#[pymethods]
impl PyMembership {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let membership = api::new_membership(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyMembership { inner: Locked::new(membership) })
    }

    /// Restores a membership machine from `snapshot()` bytes with its settings.
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let membership = machine::restore(snapshot, settings, |b, o| api::restore_membership(Naming::Snake, b, o))?;
        Ok(PyMembership { inner: Locked::new(membership) })
    }

    /// Rebuilds a membership machine from `snapshot_cluster()` rows (one per cluster, any
    /// order) and its settings.
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn restore_clusters(py: Python<'_>, rows: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (rows, options) = (convert::byte_items(rows, "rows")?, options(settings)?);
        let membership = py.detach(|| api::restore_membership_clusters(Naming::Snake, rows, &options)).map_err(|e| raise(py, e))?;
        Ok(PyMembership { inner: Locked::new(membership) })
    }

    /// Registers `holder` in `cluster` (it gets an index at the next reshard).
    fn register(&self, cluster: &Bound<'_, PyAny>, holder: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        self.holder_input(cluster, holder, |m, c, h| m.register(c, h, now_ms.0))
    }

    /// `holder` is alive.
    fn heartbeat(&self, cluster: &Bound<'_, PyAny>, holder: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        self.holder_input(cluster, holder, |m, c, h| m.heartbeat(c, h, now_ms.0))
    }

    /// `holder` leaves `cluster`.
    fn unregister(&self, cluster: &Bound<'_, PyAny>, holder: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        self.holder_input(cluster, holder, |m, c, h| m.unregister(c, h, now_ms.0))
    }

    /// Removes a cluster without live holders.
    fn remove_cluster(&self, py: Python<'_>, cluster: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let cluster = text(cluster, "cluster")?;
        let result = self.inner.write(py).remove_cluster(cluster, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// `holder`'s assignment (`ShardInfo`).
    fn shard_info<'py>(
        &self,
        py: Python<'py>,
        cluster: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        now_ms: Millis,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (cluster, holder) = (text(cluster, "cluster")?, text(holder, "holder")?);
        let result = self.inner.read(py).shard_info(cluster, holder, now_ms.0);
        record(py, &views::shard_info(&result.map_err(|e| raise(py, e))?))
    }

    /// Every live assignment of `cluster` (`ShardInfo`), by index.
    fn assignments<'py>(&self, py: Python<'py>, cluster: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let cluster = text(cluster, "cluster")?;
        let result = self.inner.read(py).assignments(cluster, now_ms.0);
        to_py(py, &views::shard_infos(&result.map_err(|e| raise(py, e))?))
    }

    /// A cluster at a glance (`ClusterInfo`), or `None`.
    fn cluster_info<'py>(&self, py: Python<'py>, cluster: &Bound<'_, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let cluster = text(cluster, "cluster")?;
        let info = self.inner.read(py).cluster_info(cluster);
        info.map(|c| record(py, &views::cluster_info(&c))).transpose()
    }

    /// The clusters' names, sorted.
    fn clusters(&self, py: Python<'_>) -> Vec<String> {
        self.inner.read(py).clusters().into_iter().map(str::to_owned).collect()
    }

    /// The clusters whose state changed since the last call (persist their
    /// `snapshot_cluster()`).
    fn take_changed_clusters(&self, py: Python<'_>) -> Vec<String> {
        self.inner.write(py).take_changed_clusters().iter().map(|c| c.to_string()).collect()
    }

    /// One cluster's state as versioned bytes (for `restore_clusters`), or `None`.
    fn snapshot_cluster<'py>(&self, py: Python<'py>, cluster: &Bound<'_, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let cluster = text(cluster, "cluster")?;
        let bytes = self.inner.read(py).snapshot_cluster(cluster);
        Ok(bytes.map(|b| PyBytes::new(py, &b)))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<Membership clusters={:?}>", self.inner.read(py).clusters())
    }
}
