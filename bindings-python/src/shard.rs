//! `shardtally.Shard`: the accumulator.

use crate::config::{shard_config, shard_settings};
use crate::convert::{ack_arg, borrow_key, bytes_arg, entry_list, int_arg, key_ids, key_list, Delta, Id, Key, Millis};
use crate::errors::{decode_error, input_error};
use crate::lock::Locked;
use crate::types::{PyBatch, PyBatchEntry, PyDeadline, PyFlushOutcome, PySendBatch, PyShardRef, PyShardStats};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use shardtally::{Error, Shard, ShardConfig, ShardOutput, ShardRef};

/// A shard: buffers increments per key and ships them to the global as batches.
///
/// Methods by kind:
///
/// - inputs (take `now_ms`): `increment`, `increments`, `increment_keys`,
///   `increment_id`, `increment_ids`, `flush`, `drain`, `handle_ack`,
///   `handle_failure`, `handle_rejection`, `handle_timeout`; and `intern` (no time);
/// - outputs: `poll_output()` (drain after every input), `poll_timeout()`,
///   `take_state_changed()`;
/// - views: `shard_ref`, `config`, `pending()`, `pending_delta()`,
///   `pending_requests`, `pending_keys`, `in_flight`, `next_deadline`,
///   `generation`, `is_draining`, `is_drained`, `key_of()`, `stats`,
///   `snapshot()`.
///
/// `now_ms` is an `int` of milliseconds on the host's clock; an earlier `now_ms` than
/// one already seen is treated as the latest seen. A rejected input raises an
/// `InputError` subclass and changes nothing. Shards pickle through `snapshot()`.
#[pyclass(frozen, module = "shardtally", name = "Shard")]
pub(crate) struct PyShard {
    pub(crate) inner: Locked<Shard>,
    pub(crate) config: ShardConfig,
}

impl PyShard {
    pub(crate) fn wrap(shard: Shard, config: ShardConfig) -> Self {
        PyShard { inner: Locked::new(shard), config }
    }

    /// A copy of this shard (snapshot, then restore).
    pub(crate) fn copy_inner(&self, py: Python<'_>) -> PyResult<Shard> {
        let bytes = self.inner.read_detached(py, |s| s.snapshot());
        Shard::restore(&bytes, self.config).map_err(|e| decode_error(py, e))
    }
}

#[pymethods]
impl PyShard {
    #[new]
    #[pyo3(
        signature = (*, shard, incarnation, generation = None, **settings),
        text_signature = "(*, shard, incarnation, generation=0, flush_after_requests=100, flush_after_idle_ms=5000, flush_max_age_ms=60000, ack_timeout_ms=10000, retry_initial_ms=1000, retry_max_ms=30000, retry_jitter_percent=20, max_pending_keys=100000, max_interned_keys=100000, max_key_bytes=256, seed=0)"
    )]
    fn new(
        py: Python<'_>,
        shard: &Bound<'_, PyAny>,
        incarnation: &Bound<'_, PyAny>,
        generation: Option<&Bound<'_, PyAny>>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let me = ShardRef {
            shard: int_arg(shard, "shard", "an int in 0 <= shard < 2**32")?,
            incarnation: int_arg(incarnation, "incarnation", "an int in 0 <= incarnation < 2**64")?,
        };
        let generation: u64 = match generation {
            Some(g) => int_arg(g, "generation", "an int in 0 <= generation < 2**64")?,
            None => 0,
        };
        let config = shard_config(py, settings)?;
        Ok(PyShard::wrap(Shard::with_generation(config, me, generation), config))
    }

    /// Restores a shard from `snapshot()` bytes, with the given settings (keyword arguments
    /// as for `Shard(...)`, minus `shard`, `incarnation` and `generation`, which the
    /// snapshot holds).
    #[staticmethod]
    #[pyo3(
        signature = (snapshot, **settings),
        text_signature = "(snapshot, *, flush_after_requests=100, flush_after_idle_ms=5000, flush_max_age_ms=60000, ack_timeout_ms=10000, retry_initial_ms=1000, retry_max_ms=30000, retry_jitter_percent=20, max_pending_keys=100000, max_interned_keys=100000, max_key_bytes=256, seed=0)"
    )]
    fn restore(py: Python<'_>, snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = shard_config(py, settings)?;
        let bytes = bytes_arg(snapshot, "snapshot")?;
        let bytes: &[u8] = &bytes;
        let shard = py.detach(|| Shard::restore(bytes, config)).map_err(|e| decode_error(py, e))?;
        Ok(PyShard::wrap(shard, config))
    }

    // ----- inputs -----

    /// Adds `delta` to `key` (one request).
    fn increment(&self, py: Python<'_>, key: Key<'_>, delta: Delta, now_ms: Millis) -> PyResult<()> {
        let result = self.inner.write(py).increment(key.0, delta.0, now_ms.0);
        result.map_err(|e| input_error(py, e))
    }

    /// Adds many deltas as one atomic request: `entries` is a mapping `{key: delta}` or an
    /// iterable of `(key, delta)` pairs.
    fn increments(&self, py: Python<'_>, entries: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let owned = entry_list(entries)?;
        let pairs = owned.iter().map(|(k, d)| Ok((borrow_key(k)?, *d))).collect::<PyResult<Vec<(&str, i64)>>>()?;
        let result = self.inner.write_sized(py, pairs.len(), |s| s.increments(&pairs, now_ms.0));
        result.map_err(|e| input_error(py, e))
    }

    /// Adds `deltas[i]` to `keys[i]` for every `i` as one atomic request. `deltas` is a
    /// sequence of ints, an int64 buffer, or one int for every key.
    fn increment_keys(&self, py: Python<'_>, keys: &Bound<'_, PyAny>, deltas: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let owned = key_list(keys)?;
        let values = crate::convert::deltas(deltas, owned.len())?;
        if values.len() != owned.len() {
            let e = Error::LengthMismatch { what: "keys and deltas", left: owned.len(), right: values.len() };
            return Err(input_error(py, e));
        }
        let pairs = owned.iter().zip(values).map(|(k, d)| Ok((borrow_key(k)?, d))).collect::<PyResult<Vec<(&str, i64)>>>()?;
        let result = self.inner.write_sized(py, pairs.len(), |s| s.increments(&pairs, now_ms.0));
        result.map_err(|e| input_error(py, e))
    }

    /// Interns `key` and returns its id for `increment_id` / `increment_ids`.
    fn intern(&self, py: Python<'_>, key: Key<'_>) -> PyResult<u32> {
        let result = self.inner.write(py).intern(key.0);
        result.map(|id| id.raw()).map_err(|e| input_error(py, e))
    }

    /// Adds `delta` to an interned key (one request): the fast path for hot loops.
    fn increment_id(&self, py: Python<'_>, id: Id, delta: Delta, now_ms: Millis) -> PyResult<()> {
        let result = self.inner.write(py).increment_id(id.0, delta.0, now_ms.0);
        result.map_err(|e| input_error(py, e))
    }

    /// Adds `deltas[i]` to interned key `ids[i]` for every `i` as one atomic request.
    fn increment_ids(&self, py: Python<'_>, ids: &Bound<'_, PyAny>, deltas: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<()> {
        let ids = key_ids(ids)?;
        let deltas = crate::convert::deltas(deltas, ids.len())?;
        let result = self.inner.write_sized(py, ids.len(), |s| s.increment_ids(&ids, &deltas, now_ms.0));
        result.map_err(|e| input_error(py, e))
    }

    /// Cuts a batch of everything pending now (reason `"manual"`), or defers it until the
    /// in-flight batch is acknowledged.
    fn flush(&self, py: Python<'_>, now_ms: Millis) -> PyFlushOutcome {
        let outcome = self.inner.write(py).flush(now_ms.0);
        outcome.into()
    }

    /// Starts draining: everything pending is flushed now and after every acknowledgement.
    fn drain(&self, py: Python<'_>, now_ms: Millis) -> PyFlushOutcome {
        let outcome = self.inner.write(py).drain(now_ms.0);
        outcome.into()
    }

    /// The global acknowledged a batch (`ack` is an `Ack` or its encoded bytes). Returns
    /// whether it matched the in-flight batch.
    fn handle_ack(&self, py: Python<'_>, ack: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let ack = ack_arg(ack)?;
        let result = self.inner.write(py).handle_ack(&ack, now_ms.0);
        result.map_err(|e| input_error(py, e))
    }

    /// Sending batch `seq` failed. Returns whether `seq` was the in-flight batch.
    fn handle_failure(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq: u64 = int_arg(seq, "seq", "an int in 0 <= seq < 2**64")?;
        let matched = self.inner.write(py).handle_failure(seq, now_ms.0);
        Ok(matched)
    }

    /// The global rejected batch `seq` for good (the exception of `Global.handle_batch` had
    /// `rejects_batch`): the in-flight batch is dropped and counted in `stats`
    /// (`rejected_batches`, `rejected_entries`) instead of being retried. Returns whether
    /// `seq` was the in-flight batch; otherwise nothing changes.
    fn handle_rejection(&self, py: Python<'_>, seq: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let seq: u64 = int_arg(seq, "seq", "an int in 0 <= seq < 2**64")?;
        let matched = self.inner.write(py).handle_rejection(seq, now_ms.0);
        Ok(matched)
    }

    /// Fires every deadline `<= now_ms`; early or repeated calls do nothing.
    fn handle_timeout(&self, py: Python<'_>, now_ms: Millis) {
        self.inner.write(py).handle_timeout(now_ms.0);
    }

    // ----- outputs -----

    /// The next thing the host must do (`SendBatch`), or `None`.
    fn poll_output(&self, py: Python<'_>) -> Option<PySendBatch> {
        let output = self.inner.write(py).poll_output();
        match output {
            Some(ShardOutput::SendBatch(batch)) => Some(PySendBatch::new_from(batch)),
            _ => None,
        }
    }

    /// The earliest deadline (ms), or `None`: call `handle_timeout` then.
    fn poll_timeout(&self, py: Python<'_>) -> Option<u64> {
        let at = self.inner.read(py).poll_timeout();
        at.map(|t| t.as_millis())
    }

    /// Whether the state changed since the last call (a durable host then persists
    /// `snapshot()`).
    fn take_state_changed(&self, py: Python<'_>) -> bool {
        self.inner.write(py).take_state_changed()
    }

    // ----- views -----

    /// This shard's index and incarnation.
    #[getter]
    fn shard_ref(&self, py: Python<'_>) -> PyShardRef {
        let r = self.inner.read(py).shard_ref();
        r.into()
    }

    /// The settings in force, as keyword arguments.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        shard_settings(py, &self.config)
    }

    /// Pending deltas (not yet in a batch), sorted by key, then generation.
    fn pending<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let entries = self.inner.read(py).pending();
        PyList::new(py, entries.iter().map(PyBatchEntry::from))
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
        let batch = self.inner.read(py).in_flight().cloned();
        batch.map(PyBatch::from)
    }

    /// The next deadline and which timer it belongs to, or `None`.
    #[getter]
    fn next_deadline(&self, py: Python<'_>) -> Option<PyDeadline> {
        let d = self.inner.read(py).next_deadline();
        d.map(PyDeadline::from_shard)
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

    /// Activity counters.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyShardStats {
        let s = self.inner.read(py).stats();
        s.into()
    }

    /// The whole state as versioned bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.inner.read_detached(py, |s| s.snapshot());
        PyBytes::new(py, &bytes)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        let restore = py.import("shardtally._native")?.getattr("_restore_shard")?;
        let args = (me.snapshot(py), shard_settings(py, &me.config)?).into_pyobject(py)?;
        Ok((restore, args))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let s = self.inner.read(py);
        let r = s.shard_ref();
        let in_flight = s.in_flight().map_or_else(|| "None".to_owned(), |b| b.seq().to_string());
        format!(
            "<Shard shard={} incarnation={} pending_keys={} pending_requests={} in_flight_seq={} generation={}>",
            r.shard,
            r.incarnation,
            s.pending_keys(),
            s.pending_requests(),
            in_flight,
            s.generation()
        )
    }
}

/// Rebuilds a pickled `Shard`.
#[pyfunction]
pub(crate) fn _restore_shard(py: Python<'_>, snapshot: &Bound<'_, PyAny>, settings: &Bound<'_, PyDict>) -> PyResult<PyShard> {
    PyShard::restore(py, snapshot, Some(settings))
}
