//! `shardtally.Outbox`: a bounded queue between a host and a remote sink (count's client).
//! Method list and argument conversions only; the run-loop methods come from `run_loop!`,
//! settings from `shardtally_api::options`.

use crate::convert::{self, int, options, Millis};
use crate::lock::Locked;
use crate::machine::{self, outputs, run_loop, settings_config};
use crate::value::{raise, record, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shardtally::outbox::Outbox;
use shardtally_api::{options as api, views, Naming};

/// A bounded queue of messages to a remote sink: never blocks (drops and counts when full),
/// re-sends a failed message once after a jittered reconnect delay, then gives it up.
#[pyclass(frozen, module = "shardtally", name = "Outbox")]
pub(crate) struct PyOutbox {
    inner: Locked<Outbox>,
}

settings_config!(PyOutbox);
run_loop!(PyOutbox);
outputs!(PyOutbox);

#[pymethods]
impl PyOutbox {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let outbox = api::new_outbox(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyOutbox { inner: Locked::new(outbox) })
    }

    /// Restores an outbox from `snapshot()` bytes with its settings.
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let outbox = machine::restore(snapshot, settings, |b, o| api::restore_outbox(Naming::Snake, b, o))?;
        Ok(PyOutbox { inner: Locked::new(outbox) })
    }

    /// Rebuilds an outbox from the `(table, value)` pairs a host stored by applying its
    /// `RowOp`s, in any order, and its settings.
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn from_rows(py: Python<'_>, rows: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (rows, options) = (convert::stored_rows(rows)?, options(settings)?);
        let outbox = py.detach(|| api::outbox_from_rows(Naming::Snake, rows, &options)).map_err(|e| raise(py, e))?;
        Ok(PyOutbox { inner: Locked::new(outbox) })
    }

    /// The row changes since the last call, as storage operations (`RowOp`s) in apply order.
    fn take_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.write(py).take_changes();
        to_py(py, &views::outbox_row_ops(&rows))
    }

    /// Every row of the state, as `put` operations (`RowOp`s).
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.read(py).rows();
        to_py(py, &views::outbox_row_ops(&rows))
    }

    /// Queues `message` (bytes), or drops it (counted) when full, closed or too large.
    fn offer<'py>(&self, py: Python<'py>, message: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let message = convert::bytes(message, "message")?.into_owned();
        let outcome = self.inner.write(py).offer(message, now_ms.0);
        record(py, &views::offer_outcome(outcome))
    }

    /// The sink took message `id`. Returns whether it was in flight.
    fn sent(&self, py: Python<'_>, id: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let id = int(id, "id")?;
        Ok(self.inner.write(py).sent(id, now_ms.0))
    }

    /// Sending message `id` failed. Returns whether it was in flight.
    fn failed(&self, py: Python<'_>, id: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<bool> {
        let id = int(id, "id")?;
        Ok(self.inner.write(py).failed(id, now_ms.0))
    }

    /// Takes no more messages; `Drained` follows the last one delivered or given up.
    fn close(&self, py: Python<'_>, now_ms: Millis) {
        self.inner.write(py).close(now_ms.0);
    }

    /// Messages held (queued, waiting to be re-sent, or in flight): `len(outbox)`.
    fn __len__(&self, py: Python<'_>) -> usize {
        self.inner.read(py).len()
    }

    /// No message is held.
    #[getter]
    fn is_empty(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_empty()
    }

    /// Ids of the queued messages, in sending order.
    fn queued_ids(&self, py: Python<'_>) -> Vec<u64> {
        self.inner.read(py).queued_ids()
    }

    /// Ids of the messages in flight.
    fn in_flight_ids(&self, py: Python<'_>) -> Vec<u64> {
        self.inner.read(py).in_flight_ids()
    }

    /// Sending waits for a reconnect delay.
    #[getter]
    fn is_reconnecting(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_reconnecting()
    }

    /// `close()` was called.
    #[getter]
    fn is_closed(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_closed()
    }

    /// Closed and nothing held.
    #[getter]
    fn is_drained(&self, py: Python<'_>) -> bool {
        self.inner.read(py).is_drained()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let o = self.inner.read(py);
        let py_bool = |b: bool| if b { "True" } else { "False" };
        format!("<Outbox len={} is_reconnecting={} is_closed={}>", o.len(), py_bool(o.is_reconnecting()), py_bool(o.is_closed()))
    }
}
