//! `shardtally.Global`: the aggregator.

use crate::config::{global_config, global_settings, shard_config, shard_settings};
use crate::convert::{ack_arg, batch_arg, bytes_arg, int_arg, Key, Millis};
use crate::errors::{decode_error, input_error};
use crate::lock::Locked;
use crate::shard::PyShard;
use crate::types::{
    PyAck, PyDeadline, PyFlushOutcome, PyForward, PyGlobalStats, PyPublish, PyPublishOutcome, PyResetOutcome, PyShardWrites, PyWrite,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use shardtally::{Global, GlobalConfig, GlobalOutput, ShardConfig, ShardRef};
use std::sync::Arc;

/// The global aggregator: applies batches exactly once, keeps the totals and tells the
/// host when to publish them.
///
/// Methods by kind:
///
/// - inputs (take `now_ms`): `handle_batch` (returns the `Ack` for the shard),
///   `reset`, `publish`, `handle_publish_ack`, `handle_publish_failure`,
///   `handle_timeout`; tiered: `handle_upstream_ack`, `handle_upstream_failure`,
///   `flush_upstream`;
/// - outputs: `poll_output()` (`Publish` / `Forward`), `poll_timeout()`,
///   `take_state_changed()`;
/// - views: `total()`, `totals()`, `key_generation()`, `generation`,
///   `write_log()`, `shard_writes()`, `stats`, `published_version`,
///   `in_flight_publish`, `last_seq()`, `next_deadline`, `config`,
///   `upstream_config`, `upstream`, `snapshot()`.
///
/// Its `snapshot()` holds the deduplication state: persist it with the published totals
/// and a restarted global never applies a batch twice. Globals pickle through it.
#[pyclass(frozen, module = "shardtally", name = "Global")]
pub(crate) struct PyGlobal {
    inner: Locked<Global>,
    config: GlobalConfig,
    upstream: Option<ShardConfig>,
}

#[pymethods]
impl PyGlobal {
    #[new]
    #[pyo3(
        signature = (*, upstream = None, **settings),
        text_signature = "(*, upstream=None, persist_after_writes=100, persist_after_idle_ms=5000, persist_max_age_ms=60000, publish_mode='full', publish_timeout_ms=10000, retry_initial_ms=1000, retry_max_ms=30000, retry_jitter_percent=20, write_log_capacity=1000, write_log_keys_per_write=16, max_keys=1000000, max_key_bytes=256, max_dedup_entries=10000, seed=0)"
    )]
    fn new(py: Python<'_>, upstream: Option<&Bound<'_, PyAny>>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = global_config(py, settings)?;
        let upstream = match upstream.filter(|u| !u.is_none()) {
            None => None,
            Some(u) => Some(
                u.cast::<PyShard>()
                    .map_err(|_| crate::errors::invalid_argument("InvalidArgumentError", "upstream", u, "a Shard or None"))?,
            ),
        };
        let (global, upstream_config) = match upstream {
            None => (Global::new(config), None),
            Some(shard) => {
                let shard = shard.get();
                (Global::with_upstream(config, shard.copy_inner(py)?), Some(shard.config))
            }
        };
        Ok(PyGlobal { inner: Locked::new(global), config, upstream: upstream_config })
    }

    /// Restores a global from `snapshot()` bytes with the given settings (keyword arguments
    /// as for `Global(...)`). A tiered global also needs `upstream_config`: the upstream
    /// shard's settings (its `Shard.config`).
    #[staticmethod]
    #[pyo3(
        signature = (snapshot, *, upstream_config = None, **settings),
        text_signature = "(snapshot, *, upstream_config=None, persist_after_writes=100, persist_after_idle_ms=5000, persist_max_age_ms=60000, publish_mode='full', publish_timeout_ms=10000, retry_initial_ms=1000, retry_max_ms=30000, retry_jitter_percent=20, write_log_capacity=1000, write_log_keys_per_write=16, max_keys=1000000, max_key_bytes=256, max_dedup_entries=10000, seed=0)"
    )]
    fn restore(
        py: Python<'_>,
        snapshot: &Bound<'_, PyAny>,
        upstream_config: Option<&Bound<'_, PyAny>>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = global_config(py, settings)?;
        let upstream = match upstream_config.filter(|u| !u.is_none()) {
            None => None,
            Some(u) => {
                let d = u.cast::<PyDict>().map_err(|_| {
                    crate::errors::invalid_argument("InvalidArgumentError", "upstream_config", u, "a dict of Shard settings or None")
                })?;
                Some(shard_config(py, Some(d))?)
            }
        };
        let bytes = bytes_arg(snapshot, "snapshot")?;
        let bytes: &[u8] = &bytes;
        let global = py
            .detach(|| match upstream {
                None => Global::restore(bytes, config),
                Some(up) => Global::restore_tiered(bytes, config, up),
            })
            .map_err(|e| decode_error(py, e))?;
        Ok(PyGlobal { inner: Locked::new(global), config, upstream })
    }

    // ----- inputs -----

    /// Applies a batch (a `Batch` or its encoded bytes) exactly once and returns the `Ack`
    /// to route back to its shard. Large batches are merged without the GIL.
    fn handle_batch(&self, py: Python<'_>, batch: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<PyAck> {
        let batch = batch_arg(batch)?;
        let result = self.inner.write_sized(py, batch.len(), |g| g.handle_batch(&batch, now_ms.0));
        result.map(PyAck::from).map_err(|e| input_error(py, e))
    }

    /// Resets a key: its total goes to zero and its generation up.
    fn reset(&self, py: Python<'_>, key: Key<'_>, now_ms: Millis) -> PyResult<PyResetOutcome> {
        let result = self.inner.write(py).reset(key.0, now_ms.0);
        result.map(PyResetOutcome::from).map_err(|e| input_error(py, e))
    }

    /// Publishes now (reason `"manual"`) if anything changed since the last publish.
    fn publish(&self, py: Python<'_>, now_ms: Millis) -> PyPublishOutcome {
        let outcome = self.inner.write(py).publish(now_ms.0);
        outcome.into()
    }

    /// The host persisted publish `version`. Returns whether it was the one in flight.
    fn handle_publish_ack(&self, py: Python<'_>, version: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let version: u64 = int_arg(version, "version", "an int in 0 <= version < 2**64")?;
        let matched = self.inner.write(py).handle_publish_ack(version, now_ms.0);
        Ok(matched)
    }

    /// Persisting publish `version` failed: its changes are published again after a backoff.
    /// Returns whether it was the one in flight.
    fn handle_publish_failure(&self, py: Python<'_>, version: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let version: u64 = int_arg(version, "version", "an int in 0 <= version < 2**64")?;
        let matched = self.inner.write(py).handle_publish_failure(version, now_ms.0);
        Ok(matched)
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch.
    fn handle_upstream_ack(&self, py: Python<'_>, ack: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let ack = ack_arg(ack)?;
        let result = self.inner.write(py).handle_upstream_ack(&ack, now_ms.0);
        result.map_err(|e| input_error(py, e))
    }

    /// Tiered aggregation: forwarding batch `seq` upstream failed.
    fn handle_upstream_failure(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq: u64 = int_arg(seq, "seq", "an int in 0 <= seq < 2**64")?;
        let result = self.inner.write(py).handle_upstream_failure(seq, now_ms.0);
        result.map_err(|e| input_error(py, e))
    }

    /// Tiered aggregation: forward everything merged so far upstream now.
    fn flush_upstream(&self, py: Python<'_>, now_ms: Millis) -> PyResult<PyFlushOutcome> {
        let result = self.inner.write(py).flush_upstream(now_ms.0);
        result.map(PyFlushOutcome::from).map_err(|e| input_error(py, e))
    }

    /// Fires every deadline `<= now_ms`; early or repeated calls do nothing.
    fn handle_timeout(&self, py: Python<'_>, now_ms: Millis) {
        self.inner.write(py).handle_timeout(now_ms.0);
    }

    // ----- outputs -----

    /// The next thing the host must do (`Publish` or `Forward`), or `None`.
    fn poll_output<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let output = self.inner.write(py).poll_output();
        Ok(match output {
            Some(GlobalOutput::Publish(p)) => Some(Bound::new(py, PyPublish::from(p))?.into_any()),
            Some(GlobalOutput::Forward(b)) => Some(Bound::new(py, PyForward::new_from(b))?.into_any()),
            _ => None,
        })
    }

    /// The earliest deadline (ms), or `None`: call `handle_timeout` then.
    fn poll_timeout(&self, py: Python<'_>) -> Option<u64> {
        let at = self.inner.read(py).poll_timeout();
        at.map(|t| t.as_millis())
    }

    /// Whether the state changed since the last call (a durable host then persists
    /// `snapshot()` before sending acknowledgements).
    fn take_state_changed(&self, py: Python<'_>) -> bool {
        self.inner.write(py).take_state_changed()
    }

    // ----- views -----

    /// The total of one key (0 when absent).
    fn total(&self, py: Python<'_>, key: Key<'_>) -> i64 {
        self.inner.read(py).total(key.0)
    }

    /// Every key's total as a dict sorted by key (keys reset to zero are included).
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let totals: Vec<(Arc<str>, i64)> = {
            let g = self.inner.read(py);
            g.totals().into_iter().map(|(k, v)| (Arc::from(k), v)).collect()
        };
        let d = PyDict::new(py);
        for (k, v) in totals {
            d.set_item(&*k, v)?;
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
    fn write_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records: Vec<PyWrite> = {
            let g = self.inner.read(py);
            g.write_log().filter_map(PyWrite::from_record).collect()
        };
        let items = records.into_iter().map(|r| r.into_py(py)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Per-shard write statistics: `{shard index: ShardWrites}`, by index.
    fn shard_writes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let writes: Vec<(u32, PyShardWrites)> = {
            let g = self.inner.read(py);
            g.shard_writes().iter().map(|(s, w)| (*s, PyShardWrites::from(w))).collect()
        };
        let d = PyDict::new(py);
        for (s, w) in writes {
            d.set_item(s, w)?;
        }
        Ok(d)
    }

    /// Activity counters.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyGlobalStats {
        let s = self.inner.read(py).stats();
        s.into()
    }

    /// The version of the last acknowledged publish (0 before any).
    #[getter]
    fn published_version(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).published_version()
    }

    /// The publish waiting for its acknowledgement, or `None`.
    #[getter]
    fn in_flight_publish(&self, py: Python<'_>) -> Option<PyPublish> {
        let p = self.inner.read(py).in_flight_publish().cloned();
        p.map(PyPublish::from)
    }

    /// The last applied seq of a shard life, or `None` when it is not remembered.
    fn last_seq(&self, py: Python<'_>, shard: &Bound<'_, PyAny>, incarnation: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let from = ShardRef {
            shard: int_arg(shard, "shard", "an int in 0 <= shard < 2**32")?,
            incarnation: int_arg(incarnation, "incarnation", "an int in 0 <= incarnation < 2**64")?,
        };
        let seq = self.inner.read(py).last_seq(from);
        Ok(seq)
    }

    /// The next deadline and which timer it belongs to, or `None`.
    #[getter]
    fn next_deadline(&self, py: Python<'_>) -> Option<PyDeadline> {
        let d = self.inner.read(py).next_deadline();
        d.map(PyDeadline::from_global)
    }

    /// The settings in force, as keyword arguments.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        global_settings(py, &self.config)
    }

    /// The upstream shard's settings (tiered aggregation), or `None`.
    #[getter]
    fn upstream_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.upstream.as_ref().map(|c| shard_settings(py, c)).transpose()
    }

    /// A copy of the upstream shard (tiered aggregation), or `None`. Changing the copy does
    /// not change this global.
    #[getter]
    fn upstream(&self, py: Python<'_>) -> PyResult<Option<PyShard>> {
        let Some(config) = self.upstream else { return Ok(None) };
        let bytes = self.inner.read_detached(py, |g| g.upstream().map(|s| s.snapshot()));
        let Some(bytes) = bytes else { return Ok(None) };
        let shard = shardtally::Shard::restore(&bytes, config).map_err(|e| decode_error(py, e))?;
        Ok(Some(PyShard::wrap(shard, config)))
    }

    /// The whole state as versioned bytes (the deduplication state included).
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.inner.read_detached(py, |g| g.snapshot());
        PyBytes::new(py, &bytes)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        let restore = py.import("shardtally._native")?.getattr("_restore_global")?;
        let args = (me.snapshot(py), global_settings(py, &me.config)?, me.upstream_config(py)?).into_pyobject(py)?;
        Ok((restore, args))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let g = self.inner.read(py);
        let s = g.stats();
        format!(
            "<Global total_writes={} published_version={} generation={}{}>",
            s.total_writes,
            g.published_version(),
            g.generation(),
            if self.upstream.is_some() { " tiered" } else { "" }
        )
    }
}

/// Rebuilds a pickled `Global`.
#[pyfunction]
#[pyo3(signature = (snapshot, settings, upstream_config=None))]
pub(crate) fn _restore_global(
    py: Python<'_>,
    snapshot: &Bound<'_, PyAny>,
    settings: &Bound<'_, PyDict>,
    upstream_config: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyGlobal> {
    PyGlobal::restore(py, snapshot, upstream_config, Some(settings))
}
