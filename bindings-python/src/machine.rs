//! The run-loop methods of every stateful machine, written once: `run_loop!(PyShard)` adds
//! `poll_timeout`, `handle_timeout`, `take_state_changed`, `snapshot`, `next_deadline`,
//! `stats`, `config` and pickling to a wrapper through `shardtally_api::RunLoop`;
//! `outputs!` adds `poll_output` for a machine whose outputs are plain records, and
//! `settings_config!` its `config` for a machine whose settings are its configuration's.

use crate::convert::{self, options};
use crate::value::raise;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use shardtally_api::options::Options;
use shardtally_api::AnyError;

/// A Python wrapper of a machine: what `run_loop!` needs besides `RunLoop`.
pub(crate) trait Machine {
    /// The settings `restore` takes to rebuild this machine from its snapshot, as keyword
    /// arguments (also the `config` property).
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>>;
}

/// Rebuilds a pickled machine: `cls.restore(snapshot, **settings)`.
#[pyfunction]
pub(crate) fn _unpickle<'py>(
    cls: &Bound<'py, PyType>,
    snapshot: &Bound<'py, PyAny>,
    settings: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    cls.getattr("restore")?.call((snapshot,), Some(settings))
}

/// `restore(snapshot, **settings)`: reads the bytes and settings, then rebuilds the machine
/// with the GIL released.
pub(crate) fn restore<T: Send, E: Into<AnyError> + Send>(
    snapshot: &Bound<'_, PyAny>,
    settings: Option<&Bound<'_, PyDict>>,
    build: impl FnOnce(&[u8], &Options) -> Result<T, E> + Send,
) -> PyResult<T> {
    let (bytes, options) = (convert::bytes(snapshot, "snapshot")?, options(settings)?);
    let bytes: &[u8] = &bytes;
    let py = snapshot.py();
    py.detach(|| build(bytes, &options)).map_err(|e| raise(py, e))
}

/// Adds the run-loop methods to a `#[pyclass]` with an `inner: Locked<M>` field, `M: RunLoop`.
macro_rules! run_loop {
    ($wrapper:ty) => {
        #[pyo3::pymethods]
        impl $wrapper {
            /// The earliest deadline (ms), or `None`: call `handle_timeout` then.
            fn poll_timeout(&self, py: pyo3::Python<'_>) -> Option<u64> {
                shardtally_api::RunLoop::poll_timeout(&*self.inner.read(py)).map(|t| t.as_millis())
            }

            /// Fires every deadline `<= now_ms`; early or repeated calls do nothing.
            fn handle_timeout(&self, py: pyo3::Python<'_>, now_ms: crate::convert::Millis) {
                shardtally_api::RunLoop::handle_timeout(&mut *self.inner.write(py), now_ms.0);
            }

            /// Whether the state changed since the last call (durable hosts then persist
            /// `snapshot()`).
            fn take_state_changed(&self, py: pyo3::Python<'_>) -> bool {
                shardtally_api::RunLoop::take_state_changed(&mut *self.inner.write(py))
            }

            /// The whole state as versioned bytes (see `restore`).
            fn snapshot<'py>(&self, py: pyo3::Python<'py>) -> pyo3::Bound<'py, pyo3::types::PyBytes> {
                let bytes = self.inner.read_detached(py, |m| shardtally_api::RunLoop::snapshot(m));
                pyo3::types::PyBytes::new(py, &bytes)
            }

            /// The next deadline and which timer it belongs to, or `None`.
            #[getter]
            fn next_deadline<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<Option<pyo3::Bound<'py, pyo3::PyAny>>> {
                let deadline = shardtally_api::RunLoop::next_deadline(&*self.inner.read(py));
                deadline.map(|d| crate::value::record(py, &d)).transpose()
            }

            /// Activity counters.
            #[getter]
            fn stats<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                let stats = shardtally_api::RunLoop::stats_record(&*self.inner.read(py));
                crate::value::record(py, &stats)
            }

            /// The settings in force, as keyword arguments for `restore`.
            #[getter(config)]
            fn config_py<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                crate::machine::Machine::config(self, py)
            }

            fn __reduce__<'py>(slf: &pyo3::Bound<'py, Self>) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyTuple>> {
                use pyo3::types::PyAnyMethods;
                let py = slf.py();
                let unpickle = py.import("shardtally._native")?.getattr("_unpickle")?;
                let args = (slf.get_type(), slf.get().snapshot(py), crate::machine::Machine::config(slf.get(), py)?);
                pyo3::types::PyTuple::new(py, [unpickle, pyo3::IntoPyObject::into_pyobject(args, py)?.into_any()])
            }
        }
    };
}
pub(crate) use run_loop;

/// Adds `poll_output()` to a wrapper of a machine whose outputs are records (no messages).
macro_rules! outputs {
    ($wrapper:ty) => {
        #[pyo3::pymethods]
        impl $wrapper {
            /// The next thing the host must do, or `None`. Drain it after every input.
            fn poll_output<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<Option<pyo3::Bound<'py, pyo3::PyAny>>> {
                let out = shardtally_api::RunLoop::poll_output_record(&mut *self.inner.write(py));
                out.map(|r| crate::value::record(py, &r)).transpose()
            }
        }
    };
}
pub(crate) use outputs;

/// Implements [`Machine`] for a wrapper whose `restore` takes exactly its configuration's
/// settings.
macro_rules! settings_config {
    ($wrapper:ty) => {
        impl crate::machine::Machine for $wrapper {
            fn config<'py>(&self, py: pyo3::Python<'py>) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                let settings = self.inner.read(py).config().settings();
                crate::value::settings(py, settings)
            }
        }
    };
}
pub(crate) use settings_config;
