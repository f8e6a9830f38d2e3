//! `shardtally.Global`: the aggregator. Method list and argument conversions only; the
//! run-loop methods come from `run_loop!`, settings from `shardtally_api::options`.

use crate::convert::{self, int, options, Key, Millis};
use crate::lock::Locked;
use crate::machine::{self, run_loop, Machine};
use crate::message::{output, PyAck, PyBatch, PyNotice};
use crate::shard::PyShard;
use crate::value::{raise, record, settings, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::{Global, GlobalOutput, Shard, ShardRef};
use shardtally_api::{options as api, views, Naming, Value};
use std::sync::Arc;

/// The global aggregator: applies batches exactly once, keeps the totals and tells the
/// host when to publish them.
#[pyclass(frozen, module = "shardtally", name = "Global")]
pub(crate) struct PyGlobal {
    inner: Locked<Global>,
}

impl Machine for PyGlobal {
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (config, upstream) = {
            let g = self.inner.read(py);
            (g.config().settings(), g.upstream().map(|s| s.config().settings()))
        };
        let d = settings(py, config)?;
        if let Some(up) = upstream {
            d.set_item("upstream", settings(py, up)?)?;
        }
        Ok(d)
    }
}

run_loop!(PyGlobal);

impl PyGlobal {
    pub(crate) fn wrap(global: Global) -> Self {
        PyGlobal { inner: Locked::new(global) }
    }
}

#[pymethods]
impl PyGlobal {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let global = api::new_global(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyGlobal { inner: Locked::new(global) })
    }

    /// Restores a global from `snapshot()` bytes with its settings; a tiered global's also
    /// need `upstream` (the upstream shard's settings).
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let global = machine::restore(snapshot, settings, |b, o| api::restore_global(Naming::Snake, b, o))?;
        Ok(PyGlobal { inner: Locked::new(global) })
    }

    /// Rebuilds a global from the `(table, value)` pairs a host stored by applying its
    /// `RowOp`s, in any order, and its settings (a tiered global's with `upstream`).
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn from_rows(py: Python<'_>, rows: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (rows, options) = (convert::stored_rows(rows)?, options(settings)?);
        let global = py.detach(|| api::global_from_rows(Naming::Snake, rows, &options)).map_err(|e| raise(py, e))?;
        Ok(PyGlobal { inner: Locked::new(global) })
    }

    /// Applies a batch exactly once and returns the `Ack` for its shard.
    fn handle_batch(&self, py: Python<'_>, batch: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<PyAck> {
        let batch = convert::message::<PyBatch>(batch)?;
        let result = self.inner.write_sized(py, batch.len(), |g| g.handle_batch(&batch, now_ms.0));
        result.map(PyAck).map_err(|e| raise(py, e))
    }

    /// Resets a key: its total goes to zero and its generation up.
    fn reset<'py>(&self, py: Python<'py>, key: Key<'_>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let result = self.inner.write(py).reset(key.0, now_ms.0);
        record(py, &views::reset_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Publishes now (reason `"manual"`) if anything changed since the last publish.
    fn publish<'py>(&self, py: Python<'py>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let outcome = self.inner.write(py).publish(now_ms.0);
        record(py, &views::publish_outcome(outcome))
    }

    /// The host persisted publish `version`. Returns whether it was the one in flight.
    fn handle_publish_ack(&self, py: Python<'_>, version: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let version = int(version, "version")?;
        Ok(self.inner.write(py).handle_publish_ack(version, now_ms.0))
    }

    /// Persisting publish `version` failed. Returns whether it was the one in flight.
    fn handle_publish_failure(&self, py: Python<'_>, version: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let version = int(version, "version")?;
        Ok(self.inner.write(py).handle_publish_failure(version, now_ms.0))
    }

    /// Tiered: the upstream global acknowledged a forwarded batch.
    fn handle_upstream_ack(&self, py: Python<'_>, ack: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let ack = convert::message::<PyAck>(ack)?;
        let result = self.inner.write(py).handle_upstream_ack(&ack, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Tiered: learns a reset announced by the upstream global (for the upstream shard and
    /// this global's own shards). Returns whether it taught anything new.
    fn handle_generation_notice(&self, py: Python<'_>, notice: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let notice = convert::message::<PyNotice>(notice)?;
        let result = self.inner.write(py).handle_generation_notice(&notice, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// A notice of `key`'s last reset addressed to a shard life (for a shard the global
    /// never heard from, or to deliver one again).
    fn generation_notice(
        &self,
        py: Python<'_>,
        key: Key<'_>,
        shard: &Bound<'_, PyAny>,
        incarnation: &Bound<'_, PyAny>,
    ) -> PyResult<PyNotice> {
        let to = ShardRef { shard: int(shard, "shard")?, incarnation: int(incarnation, "incarnation")? };
        Ok(PyNotice(self.inner.read(py).generation_notice(key.0, to)))
    }

    /// The row changes since the last call, as storage operations (`RowOp`s) in apply order.
    fn take_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.write(py).take_changes();
        to_py(py, &views::global_row_ops(&rows))
    }

    /// Every row of the state, as `put` operations (`RowOp`s).
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.read(py).rows();
        to_py(py, &views::global_row_ops(&rows))
    }

    /// Tiered: forwarding batch `seq` upstream failed.
    fn handle_upstream_failure(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq = int(seq, "seq")?;
        let result = self.inner.write(py).handle_upstream_failure(seq, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Tiered: the upstream global rejected forwarded batch `seq` for good (a counted drop).
    fn handle_upstream_rejection(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq = int(seq, "seq")?;
        let result = self.inner.write(py).handle_upstream_rejection(seq, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Tiered: forward everything merged so far upstream now.
    fn flush_upstream<'py>(&self, py: Python<'py>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let result = self.inner.write(py).flush_upstream(now_ms.0);
        record(py, &views::flush_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// The next thing the host must do (`Publish`, `Forward` or `Notice`), or `None`.
    fn poll_output<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let out = self.inner.write(py).poll_output();
        match out {
            Some(GlobalOutput::Publish(p)) => record(py, &views::publish(&p)).map(Some),
            Some(GlobalOutput::Forward(b)) => output(py, "Forward", b).map(Some),
            Some(GlobalOutput::Notice(n)) => Ok(Some(Bound::new(py, PyNotice(n))?.into_any())),
            _ => Ok(None),
        }
    }

    /// The total of one key (0 when absent).
    fn total(&self, py: Python<'_>, key: Key<'_>) -> i64 {
        self.inner.read(py).total(key.0)
    }

    /// Every key's total as a `dict` in key order (keys reset to zero included).
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let totals: Vec<(Arc<str>, i64)> = self.inner.read(py).totals().into_iter().map(|(k, t)| (Arc::from(k), t)).collect();
        let d = PyDict::new(py);
        for (k, t) in totals {
            d.set_item(&*k, t)?;
        }
        Ok(d)
    }

    /// A key's generation: the reset counter at its last reset (0 if never reset).
    fn key_generation(&self, py: Python<'_>, key: Key<'_>) -> u64 {
        self.inner.read(py).key_generation(key.0)
    }

    /// The reset counter; a new shard may start from it (`Shard(generation=...)`).
    #[getter]
    fn generation(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).generation()
    }

    /// Recent writes, newest first: `BatchWrite` and `ResetWrite` records.
    fn write_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let log: Vec<Value> = self.inner.read(py).write_log().map(|w| views::write_record(w).into()).collect();
        to_py(py, &Value::List(log))
    }

    /// Per-shard write statistics (`ShardWrites`), by shard index.
    fn shard_writes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let writes = views::shard_writes(&self.inner.read(py).shard_writes());
        to_py(py, &writes)
    }

    /// The version of the last acknowledged publish (0 before any).
    #[getter]
    fn published_version(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).published_version()
    }

    /// The publish waiting for its acknowledgement, or `None`.
    #[getter]
    fn in_flight_publish<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let publish = self.inner.read(py).in_flight_publish().map(views::publish);
        publish.map(|p| record(py, &p)).transpose()
    }

    /// The last applied seq of a shard life, or `None` when it is not remembered.
    fn last_seq(&self, py: Python<'_>, shard: &Bound<'_, PyAny>, incarnation: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let from = ShardRef { shard: int(shard, "shard")?, incarnation: int(incarnation, "incarnation")? };
        Ok(self.inner.read(py).last_seq(from))
    }

    /// Whether this global forwards to an upstream one (tiered aggregation).
    fn has_upstream(&self, py: Python<'_>) -> bool {
        self.inner.read(py).upstream().is_some()
    }

    /// A copy of the upstream shard (snapshot, then restore), or `None`: changing the copy
    /// does not change this global.
    fn upstream_copy(&self, py: Python<'_>) -> PyResult<Option<PyShard>> {
        let upstream = self.inner.read(py).upstream().map(|s| (s.snapshot(), *s.config()));
        upstream.map(|(bytes, config)| Shard::restore(&bytes, config).map(PyShard::wrap).map_err(|e| raise(py, e))).transpose()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let g = self.inner.read(py);
        let tiered = if g.upstream().is_some() { " tiered" } else { "" };
        format!(
            "<Global total_writes={} published_version={} generation={}{tiered}>",
            g.stats().total_writes,
            g.published_version(),
            g.generation()
        )
    }
}
