//! `shardtally.GlobalBuilder` and `shardtally.ShardBuilder`: a machine rebuilt from its
//! stored rows a page at a time (`shardtally_api::rebuild`). Argument conversions only.

use crate::convert::{self, options};
use crate::global::PyGlobal;
use crate::lock::Locked;
use crate::shard::PyShard;
use crate::value::raise;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::journal::{GlobalBuilder, ShardBuilder};
use shardtally_api::options as api;
use shardtally_api::rebuild::{Rebuild, StoredRows};
use shardtally_api::Naming;

/// Adds a page of stored `(table, value)` pairs (the GIL released for a large page).
fn add<B: StoredRows + Send + Sync>(inner: &Locked<Rebuild<B>>, rows: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = rows.py();
    let rows = convert::stored_rows(rows)?;
    let result = inner.write_sized(py, rows.len(), |b| b.add(rows.iter().map(|(t, v)| (t.as_str(), v.as_slice()))));
    result.map_err(|e| raise(py, e))
}

/// Rebuilds a `Global` from its stored rows a page at a time: what `Global.from_rows` does
/// with every row at once, for a host that reads its rows with a cursor.
#[pyclass(frozen, module = "shardtally", name = "GlobalBuilder")]
pub(crate) struct PyGlobalBuilder {
    inner: Locked<Rebuild<GlobalBuilder>>,
}

#[pymethods]
impl PyGlobalBuilder {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let builder = api::global_builder(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyGlobalBuilder { inner: Locked::new(Rebuild::new(builder)) })
    }

    /// The tables to read first, in this order, before every other: then no row waits for
    /// another in the builder.
    #[staticmethod]
    fn read_first() -> Vec<&'static str> {
        Rebuild::<GlobalBuilder>::read_first().to_vec()
    }

    /// Adds a page of stored `(table, value)` rows, in any order.
    fn add(&self, rows: &Bound<'_, PyAny>) -> PyResult<()> {
        add(&self.inner, rows)
    }

    /// The global, once every row was added; the builder is spent.
    fn finish(&self, py: Python<'_>) -> PyResult<PyGlobal> {
        let result = self.inner.write_detached(py, Rebuild::finish);
        result.map(PyGlobal::wrap).map_err(|e| raise(py, e))
    }
}

/// Rebuilds a `Shard` from its stored rows a page at a time, as `GlobalBuilder`.
#[pyclass(frozen, module = "shardtally", name = "ShardBuilder")]
pub(crate) struct PyShardBuilder {
    inner: Locked<Rebuild<ShardBuilder>>,
}

#[pymethods]
impl PyShardBuilder {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let builder = api::shard_builder(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyShardBuilder { inner: Locked::new(Rebuild::new(builder)) })
    }

    /// The tables to read first, in this order, before every other: then no row waits for
    /// another in the builder.
    #[staticmethod]
    fn read_first() -> Vec<&'static str> {
        Rebuild::<ShardBuilder>::read_first().to_vec()
    }

    /// Adds a page of stored `(table, value)` rows, in any order.
    fn add(&self, rows: &Bound<'_, PyAny>) -> PyResult<()> {
        add(&self.inner, rows)
    }

    /// The shard, once every row was added; the builder is spent.
    fn finish(&self, py: Python<'_>) -> PyResult<PyShard> {
        let result = self.inner.write_detached(py, Rebuild::finish);
        result.map(PyShard::wrap).map_err(|e| raise(py, e))
    }
}
