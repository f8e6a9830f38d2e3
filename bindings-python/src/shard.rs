//! `shardtally.Shard`: the accumulator. Method list and argument conversions only; the
//! run-loop methods come from `run_loop!`, settings from `shardtally_api::options`.

use crate::convert::{self, int, options, Delta, Id, Key, Millis};
use crate::lock::Locked;
use crate::machine::{self, run_loop, settings_config};
use crate::message::{output, PyAck, PyBatch, PyNotice};
use crate::value::{raise, record, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::{Shard, ShardOutput};
use shardtally_api::{options as api, views, Naming};

/// A shard: buffers increments per key and ships them to the global as batches.
#[pyclass(frozen, module = "shardtally", name = "Shard")]
pub(crate) struct PyShard {
    pub(crate) inner: Locked<Shard>,
}

impl PyShard {
    pub(crate) fn wrap(shard: Shard) -> Self {
        PyShard { inner: Locked::new(shard) }
    }
}

settings_config!(PyShard);
run_loop!(PyShard);

#[pymethods]
impl PyShard {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        api::new_shard(Naming::Snake, &options(settings)?).map(PyShard::wrap).map_err(|e| raise(py, e))
    }

    /// Restores a shard from `snapshot()` bytes with its settings (the identity is in the
    /// snapshot).
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        machine::restore(snapshot, settings, |b, o| api::restore_shard(Naming::Snake, b, o)).map(PyShard::wrap)
    }

    /// Rebuilds a shard from the `(table, value)` pairs a host stored by applying its
    /// `RowOp`s, in any order, and its settings (the identity is in the `meta` row).
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn from_rows(py: Python<'_>, rows: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (rows, options) = (convert::stored_rows(rows)?, options(settings)?);
        py.detach(|| api::shard_from_rows(Naming::Snake, rows, &options)).map(PyShard::wrap).map_err(|e| raise(py, e))
    }

    /// Adds `delta` to `key` (one request).
    fn increment(&self, py: Python<'_>, key: Key<'_>, delta: Delta, now_ms: Millis) -> PyResult<()> {
        let result = self.inner.write(py).increment(key.0, delta.0, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Adds many deltas as one atomic request: `{key: delta}` or `(key, delta)` pairs.
    fn increments(&self, py: Python<'_>, entries: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let owned = convert::entries(entries)?;
        let pairs = owned.iter().map(|(k, d)| Ok((convert::borrow(k)?, *d))).collect::<PyResult<Vec<(&str, i64)>>>()?;
        let result = self.inner.write_sized(py, pairs.len(), |s| s.increments(&pairs, now_ms.0));
        result.map_err(|e| raise(py, e))
    }

    /// Adds `requests` requests that arrived at `now_ms`, their deltas summed per key, with
    /// the outcome of making them one by one (flush conditions checked once, after all).
    fn increments_coalesced(
        &self,
        py: Python<'_>,
        entries: &Bound<'_, PyAny>,
        requests: &Bound<'_, PyAny>,
        now_ms: Millis,
    ) -> PyResult<()> {
        let owned = convert::entries(entries)?;
        let requests = int::<u64>(requests, "requests")?;
        let pairs = owned.iter().map(|(k, d)| Ok((convert::borrow(k)?, *d))).collect::<PyResult<Vec<(&str, i64)>>>()?;
        let result = self.inner.write_sized(py, pairs.len(), |s| s.increments_coalesced(&pairs, requests, now_ms.0));
        result.map_err(|e| raise(py, e))
    }

    /// Interns `key` and returns its id for `increment_id` / `increment_ids`.
    fn intern(&self, py: Python<'_>, key: Key<'_>) -> PyResult<u32> {
        let result = self.inner.write(py).intern(key.0);
        result.map(|id| id.raw()).map_err(|e| raise(py, e))
    }

    /// Adds `delta` to an interned key (one request): the fast path for hot loops.
    fn increment_id(&self, py: Python<'_>, id: Id, delta: Delta, now_ms: Millis) -> PyResult<()> {
        let result = self.inner.write(py).increment_id(id.0, delta.0, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Adds `deltas[i]` to interned key `ids[i]` for every `i` as one atomic request.
    fn increment_ids(&self, py: Python<'_>, ids: &Bound<'_, PyAny>, deltas: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let ids = convert::key_ids(ids)?;
        let deltas = convert::deltas(deltas, ids.len())?;
        let result = self.inner.write_sized(py, ids.len(), |s| s.increment_ids(&ids, &deltas, now_ms.0));
        result.map_err(|e| raise(py, e))
    }

    /// Cuts a batch of everything pending now, or defers it behind the one in flight.
    fn flush<'py>(&self, py: Python<'py>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let outcome = self.inner.write(py).flush(now_ms.0);
        record(py, &views::flush_outcome(outcome))
    }

    /// Starts draining: everything pending is flushed now and after every acknowledgement.
    fn drain<'py>(&self, py: Python<'py>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let outcome = self.inner.write(py).drain(now_ms.0);
        record(py, &views::flush_outcome(outcome))
    }

    /// The global acknowledged a batch. Returns whether it matched the in-flight batch.
    fn handle_ack(&self, py: Python<'_>, ack: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let ack = convert::message::<PyAck>(ack)?;
        let result = self.inner.write(py).handle_ack(&ack, now_ms.0);
        result.map_err(|e| raise(py, e))
    }

    /// Learns a reset announced by the global. Returns whether it taught anything new.
    fn handle_generation_notice(&self, py: Python<'_>, notice: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let notice = convert::message::<PyNotice>(notice)?;
        Ok(self.inner.write(py).handle_generation_notice(&notice, now_ms.0))
    }

    /// The row changes since the last call, as storage operations (`RowOp`s) in apply order.
    fn take_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.write(py).take_changes();
        to_py(py, &views::shard_row_ops(&rows))
    }

    /// Every row of the state, as `put` operations (`RowOp`s).
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.read(py).rows();
        to_py(py, &views::shard_row_ops(&rows))
    }

    /// Sending batch `seq` failed. Returns whether `seq` was the in-flight batch.
    fn handle_failure(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq = int(seq, "seq")?;
        Ok(self.inner.write(py).handle_failure(seq, now_ms.0))
    }

    /// The global rejected batch `seq` for good: it is dropped and counted, not retried.
    fn handle_rejection(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq = int(seq, "seq")?;
        Ok(self.inner.write(py).handle_rejection(seq, now_ms.0))
    }

    /// The next thing the host must do (`SendBatch`), or `None`.
    fn poll_output<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let out = self.inner.write(py).poll_output();
        match out {
            Some(ShardOutput::SendBatch(b)) => output(py, "SendBatch", b).map(Some),
            _ => Ok(None),
        }
    }

    /// This shard's index and incarnation.
    #[getter]
    fn shard_ref<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = self.inner.read(py).shard_ref();
        record(py, &views::shard_ref(r))
    }

    /// Pending deltas (not yet in a batch), sorted by key, then generation.
    fn pending<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let entries = views::batch_entries(&self.inner.read(py).pending());
        to_py(py, &entries.into())
    }

    /// The pending delta of one key, summed over generations (0 when none).
    fn pending_delta(&self, py: Python<'_>, key: Key<'_>) -> i64 {
        self.inner.read(py).pending_delta(key.0)
    }

    /// Requests accepted since the last batch was cut.
    #[getter]
    fn pending_requests(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).pending_requests()
    }

    /// Number of pending entries (distinct keys per generation).
    #[getter]
    fn pending_keys(&self, py: Python<'_>) -> usize {
        self.inner.read(py).pending_keys()
    }

    /// The batch in flight, or `None`.
    #[getter]
    fn in_flight(&self, py: Python<'_>) -> Option<PyBatch> {
        self.inner.read(py).in_flight().cloned().map(PyBatch)
    }

    /// The reset generation new increments are tagged with.
    #[getter]
    fn generation(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).generation()
    }

    /// Whether `drain()` was called.
    #[getter]
    fn is_draining(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_draining()
    }

    /// Draining, nothing pending and nothing in flight: the shard can be retired.
    #[getter]
    fn is_drained(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_drained()
    }

    /// The key of an interned id, or `None`.
    fn key_of(&self, py: Python<'_>, id: Id) -> Option<String> {
        self.inner.read(py).key_of(id.0).map(str::to_owned)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let s = self.inner.read(py);
        let (r, in_flight) = (s.shard_ref(), s.in_flight().map_or_else(|| "None".to_owned(), |b| b.seq().to_string()));
        format!(
            "<Shard shard={} incarnation={} pending_keys={} pending_requests={} in_flight_seq={in_flight} generation={}>",
            r.shard,
            r.incarnation,
            s.pending_keys(),
            s.pending_requests(),
            s.generation()
        )
    }
}
