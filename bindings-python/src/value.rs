//! Everything that crosses into Python: one converter for the values of `shardtally_api`
//! (records become the frozen classes of `shardtally._values`, keyed by record class), one
//! for settings, and one for errors (`shardtally._errors.BY_CODE[code]`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString, PyTuple};
use shardtally::settings::SettingValue;
use shardtally_api::{AnyError, Entries, ErrorView, Naming, Record, Value};

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
static BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn table<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyDict>>, module: &str, name: &str) -> PyResult<&'py Bound<'py, PyDict>> {
    cell.get_or_try_init(py, || Ok(py.import(module)?.getattr(name)?.cast_into::<PyDict>()?.unbind())).map(|d| d.bind(py))
}

/// The Python class of a record or entry class (`shardtally._values.CLASSES[name]`).
pub(crate) fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let classes = table(py, &CLASSES, "shardtally._values", "CLASSES")?;
    classes.get_item(name)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(name.to_owned()))
}

/// A value of the public surface as a Python object: records are frozen value objects (a
/// tagged record's tag is its `kind` when the class has one), keyed lists are tuples of
/// named tuples, bytes are `bytes`, a list is a `list` (a `tuple` inside a record, which
/// stays hashable).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::U64(x) => x.into_pyobject(py)?.into_any(),
        Value::I64(x) => x.into_pyobject(py)?.into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => PyList::new(py, items.iter().map(|i| to_py(py, i)).collect::<PyResult<Vec<_>>>()?)?.into_any(),
        Value::Record(r) => record(py, r)?,
        Value::Entries(e) => entries(py, e)?.into_any(),
    })
}

/// A record as an instance of its class.
pub(crate) fn record<'py>(py: Python<'py>, r: &Record) -> PyResult<Bound<'py, PyAny>> {
    let cls = class(py, r.class)?;
    let kwargs = PyDict::new(py);
    if let Some(tag) = r.tag.filter(|_| cls.hasattr("kind").unwrap_or(false)) {
        kwargs.set_item("kind", tag)?;
    }
    for (name, v) in &r.fields {
        kwargs.set_item(name, field(py, v)?)?;
    }
    cls.call((), Some(&kwargs))
}

/// A record's field: as [`to_py`], lists as tuples.
fn field<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Value::List(items) => Ok(PyTuple::new(py, items.iter().map(|i| field(py, i)).collect::<PyResult<Vec<_>>>()?)?.into_any()),
        other => to_py(py, other),
    }
}

/// Keyed entries as a tuple of named tuples (`BatchEntry`, `KeyTotal`, ...).
pub(crate) fn entries<'py>(py: Python<'py>, e: &Entries) -> PyResult<Bound<'py, PyTuple>> {
    let cls = class(py, e.class)?;
    let new = py.get_type::<PyTuple>().getattr(pyo3::intern!(py, "__new__"))?;
    let mut items = Vec::with_capacity(e.len());
    for (i, key) in e.keys.iter().enumerate() {
        let mut row = vec![PyString::new(py, key).into_any()];
        for (_, column) in &e.columns {
            row.push(to_py(py, &column.get(i))?);
        }
        items.push(new.call1((&cls, PyTuple::new(py, row)?))?);
    }
    PyTuple::new(py, items)
}

/// Settings as keyword arguments.
pub(crate) fn settings<'py>(py: Python<'py>, settings: Vec<(&'static str, SettingValue)>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in settings {
        match v {
            SettingValue::Null => d.set_item(name, py.None())?,
            SettingValue::Bool(b) => d.set_item(name, b)?,
            SettingValue::Int(i) => d.set_item(name, i)?,
            SettingValue::Float(f) => d.set_item(name, f)?,
            SettingValue::Str(s) | SettingValue::Other(s) => d.set_item(name, s)?,
        }
    }
    Ok(d)
}

/// Any error as the exception of its code: `BY_CODE[code](message, rejects_batch=..., **fields)`.
#[cold]
#[inline(never)]
pub(crate) fn raise(py: Python<'_>, e: impl Into<AnyError>) -> PyErr {
    exception(py, &e.into().view(Naming::Snake)).unwrap_or_else(|err| err)
}

fn exception(py: Python<'_>, v: &ErrorView) -> PyResult<PyErr> {
    let codes = table(py, &BY_CODE, "shardtally._errors", "BY_CODE")?;
    let cls = codes.get_item(v.code)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(v.code))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("rejects_batch", v.rejects_batch)?;
    for (name, value) in &v.fields {
        kwargs.set_item(name, to_py(py, value)?)?;
    }
    Ok(PyErr::from_value(cls.call((v.message.as_str(),), Some(&kwargs))?))
}
