//! Immutable value objects handed to Python: messages (`Batch`, `Ack`), output events
//! (`SendBatch`, `Publish`, `Forward`), outcomes and views.
//!
//! Every class is frozen, compares by value (`==`), hashes where its fields allow, has a
//! readable `repr` and pickles (by its fields, or for messages by their wire encoding).

use crate::convert::bytes_arg;
use crate::errors::{decode_error, invalid_argument};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use shardtally::{
    Ack, Batch, BatchEntry, Deadline, FlushOutcome, GlobalStats, PublishOutcome, ResetOutcome, ShardRef, ShardStats, ShardWrites,
    Timestamp, WriteKind, WriteRecord,
};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Python's repr of a str (quotes and escapes as Python writes them).
pub(crate) fn py_repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// What `__reduce__` returns: a callable and its arguments.
pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, Bound<'py, PyTuple>);

/// Builds a `__reduce__` value.
pub(crate) fn reduce<'py, A>(callable: Bound<'py, PyAny>, args: A) -> PyResult<Reduced<'py>>
where
    A: IntoPyObject<'py, Target = PyTuple, Output = Bound<'py, PyTuple>>,
    A::Error: Into<PyErr>,
{
    let py = callable.py();
    Ok((callable, args.into_pyobject(py).map_err(Into::into)?))
}

/// Shows at most this many items of a long sequence in a repr.
const REPR_ITEMS: usize = 8;

fn repr_items<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut parts: Vec<String> = items.iter().take(REPR_ITEMS).map(show).collect();
    if items.len() > REPR_ITEMS {
        parts.push(format!("... {} more", items.len() - REPR_ITEMS));
    }
    let trailing = if items.len() == 1 { "," } else { "" };
    format!("({}{trailing})", parts.join(", "))
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn pairs_tuple<'py>(py: Python<'py>, pairs: &[(Arc<str>, i64)]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, pairs.iter().map(|(k, v)| (&**k, *v)))
}

fn owned_pairs(items: &Bound<'_, PyAny>, argument: &str) -> PyResult<Vec<(Arc<str>, i64)>> {
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let (k, v): (String, i64) =
            item.extract().map_err(|_| invalid_argument("InvalidArgumentError", argument, &item, "a (str, int) pair"))?;
        out.push((Arc::from(k), v));
    }
    Ok(out)
}

// ----- ShardRef -----

/// One life of a shard: its index and the incarnation the host chose when it created the
/// shard with no saved state. Ordered by `(shard, incarnation)`.
#[pyclass(frozen, eq, ord, hash, module = "shardtally", name = "ShardRef")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PyShardRef {
    /// The shard index.
    #[pyo3(get)]
    shard: u32,
    /// The incarnation.
    #[pyo3(get)]
    incarnation: u64,
}

impl From<ShardRef> for PyShardRef {
    fn from(r: ShardRef) -> Self {
        PyShardRef { shard: r.shard, incarnation: r.incarnation }
    }
}

#[pymethods]
impl PyShardRef {
    #[new]
    fn new(shard: u32, incarnation: u64) -> Self {
        PyShardRef { shard, incarnation }
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("shard", "incarnation")
    }

    fn __repr__(&self) -> String {
        format!("ShardRef(shard={}, incarnation={})", self.shard, self.incarnation)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.shard, me.incarnation))
    }
}

// ----- BatchEntry -----

/// One key's summed delta in a batch (or pending in a shard), tagged with the reset
/// generation the shard knew when it accepted the increments.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "BatchEntry")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyBatchEntry {
    key: Arc<str>,
    /// The generation the deltas were accepted under.
    #[pyo3(get)]
    generation: u64,
    /// The summed delta.
    #[pyo3(get)]
    delta: i64,
}

impl From<&BatchEntry> for PyBatchEntry {
    fn from(e: &BatchEntry) -> Self {
        PyBatchEntry { key: Arc::from(e.key()), generation: e.generation(), delta: e.delta() }
    }
}

impl PyBatchEntry {
    fn repr(&self) -> String {
        format!("BatchEntry(key={}, generation={}, delta={})", py_repr_str(&self.key), self.generation, self.delta)
    }
}

#[pymethods]
impl PyBatchEntry {
    #[new]
    fn new(key: String, generation: u64, delta: i64) -> Self {
        PyBatchEntry { key: Arc::from(key), generation, delta }
    }

    /// The key.
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("key", "generation", "delta")
    }

    fn __repr__(&self) -> String {
        self.repr()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.key.to_string(), me.generation, me.delta))
    }
}

// ----- Batch -----

/// A shard's deltas on their way to the global: who sent it (`shard_ref`), its `seq`, why
/// (`reason`) and the entries sorted by key.
///
/// Deliver it to `Global.handle_batch` (as the object, or as `encode()`d bytes over a wire)
/// and route the returned `Ack` back to `Shard.handle_ack`. A batch cannot be built by
/// hand: it comes from a shard or from `Batch.decode`, which validates the bytes.
#[pyclass(frozen, eq, module = "shardtally", name = "Batch")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PyBatch {
    pub(crate) inner: Batch,
}

impl From<Batch> for PyBatch {
    fn from(inner: Batch) -> Self {
        PyBatch { inner }
    }
}

#[pymethods]
impl PyBatch {
    /// The shard life that sent it.
    #[getter]
    fn shard_ref(&self) -> PyShardRef {
        self.inner.from().into()
    }

    /// The sending shard's index.
    #[getter]
    fn shard(&self) -> u32 {
        self.inner.from().shard
    }

    /// The sending shard's incarnation.
    #[getter]
    fn incarnation(&self) -> u64 {
        self.inner.from().incarnation
    }

    /// The sequence number (1 for an incarnation's first batch).
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq()
    }

    /// Why it was sent: `"requests"`, `"idle"`, `"max_age"`, `"manual"`, `"drain"` or `"retry"`.
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason().as_str()
    }

    /// The entries, sorted by key, then generation.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.entries().iter().map(PyBatchEntry::from))
    }

    /// The entries as a `{key: delta}` dict (deltas of one key summed over generations).
    fn deltas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let mut summed: Vec<(&str, i64)> = Vec::with_capacity(self.inner.len());
        for e in self.inner.entries() {
            match summed.last_mut() {
                Some((k, v)) if *k == e.key() => *v = v.saturating_add(e.delta()),
                _ => summed.push((e.key(), e.delta())),
            }
        }
        for (k, v) in summed {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The wire encoding (versioned bytes); `Batch.decode` reads it back.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.encode())
    }

    /// Decodes and validates a batch received over a wire.
    ///
    /// Raises `DecodeError` (a subclass) for bytes that are not a valid batch.
    #[staticmethod]
    fn decode(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes = bytes_arg(data, "data")?;
        Batch::decode(&bytes).map(PyBatch::from).map_err(|e| decode_error(data.py(), e))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __hash__(&self) -> u64 {
        let b = &self.inner;
        hash_of(&(b.from(), b.seq(), b.reason().as_str(), b.len()))
    }

    fn __repr__(&self) -> String {
        let b = &self.inner;
        format!(
            "Batch(shard={}, incarnation={}, seq={}, reason={}, entries={})",
            b.from().shard,
            b.from().incarnation,
            b.seq(),
            py_repr_str(b.reason().as_str()),
            repr_items(b.entries(), |e| PyBatchEntry::from(e).repr())
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        reduce(slf.get_type().getattr("decode")?, (PyBytes::new(py, &slf.get().inner.encode()),))
    }
}

// ----- Ack -----

/// The global's answer to a batch; route it back to the shard that sent the batch
/// (`Shard.handle_ack`), as the object or as `encode()`d bytes.
///
/// It carries the global's reset `generation` and the keys of the batch whose deltas were
/// dropped because the key was reset (`stale_keys`).
#[pyclass(frozen, eq, module = "shardtally", name = "Ack")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PyAck {
    pub(crate) inner: Ack,
}

impl From<Ack> for PyAck {
    fn from(inner: Ack) -> Self {
        PyAck { inner }
    }
}

#[pymethods]
impl PyAck {
    /// The shard life the acknowledgement is for.
    #[getter]
    fn shard_ref(&self) -> PyShardRef {
        self.inner.to().into()
    }

    /// The shard index it is for.
    #[getter]
    fn shard(&self) -> u32 {
        self.inner.to().shard
    }

    /// The incarnation it is for.
    #[getter]
    fn incarnation(&self) -> u64 {
        self.inner.to().incarnation
    }

    /// The acknowledged batch's sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq()
    }

    /// The batch had already been applied: this acknowledgement applied nothing.
    #[getter]
    fn duplicate(&self) -> bool {
        self.inner.is_duplicate()
    }

    /// The global's reset generation.
    #[getter]
    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    /// `(key, generation)` of the batch's keys whose deltas were dropped as older than the
    /// key's last reset, sorted by key.
    #[getter]
    fn stale_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.stale_keys().collect::<Vec<_>>())
    }

    /// The wire encoding (versioned bytes); `Ack.decode` reads it back.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.encode())
    }

    /// Decodes and validates an acknowledgement received over a wire.
    ///
    /// Raises `DecodeError` (a subclass) for bytes that are not a valid acknowledgement.
    #[staticmethod]
    fn decode(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes = bytes_arg(data, "data")?;
        Ack::decode(&bytes).map(PyAck::from).map_err(|e| decode_error(data.py(), e))
    }

    fn __hash__(&self) -> u64 {
        let a = &self.inner;
        hash_of(&(a.to(), a.seq(), a.is_duplicate(), a.generation()))
    }

    fn __repr__(&self) -> String {
        let a = &self.inner;
        let stale: Vec<(&str, u64)> = a.stale_keys().collect();
        format!(
            "Ack(shard={}, incarnation={}, seq={}, duplicate={}, generation={}, stale_keys={})",
            a.to().shard,
            a.to().incarnation,
            a.seq(),
            if a.is_duplicate() { "True" } else { "False" },
            a.generation(),
            repr_items(&stale, |(k, g)| format!("({}, {g})", py_repr_str(k)))
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        reduce(slf.get_type().getattr("decode")?, (PyBytes::new(py, &slf.get().inner.encode()),))
    }
}

// ----- output events -----

/// Shard output: deliver `batch` to the global, then report `Shard.handle_ack` (with the
/// global's answer) or `Shard.handle_failure(batch.seq, now_ms)`.
#[pyclass(frozen, eq, module = "shardtally", name = "SendBatch")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PySendBatch {
    batch: Batch,
}

impl PySendBatch {
    pub(crate) fn new_from(batch: Batch) -> Self {
        PySendBatch { batch }
    }
}

#[pymethods]
impl PySendBatch {
    #[new]
    fn new(batch: PyRef<'_, PyBatch>) -> Self {
        PySendBatch { batch: batch.inner.clone() }
    }

    /// The batch to deliver.
    #[getter]
    fn batch(&self) -> PyBatch {
        self.batch.clone().into()
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("batch",)
    }

    fn __hash__(&self) -> u64 {
        PyBatch::from(self.batch.clone()).__hash__()
    }

    fn __repr__(&self) -> String {
        format!("SendBatch(batch={})", PyBatch::from(self.batch.clone()).__repr__())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf.get_type().into_any(), (PyBatch::from(slf.get().batch.clone()),))
    }
}

/// Global output (tiered aggregation): deliver `batch` to the upstream global, then report
/// `Global.handle_upstream_ack` or `Global.handle_upstream_failure(batch.seq, now_ms)`.
#[pyclass(frozen, eq, module = "shardtally", name = "Forward")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PyForward {
    batch: Batch,
}

impl PyForward {
    pub(crate) fn new_from(batch: Batch) -> Self {
        PyForward { batch }
    }
}

#[pymethods]
impl PyForward {
    #[new]
    fn new(batch: PyRef<'_, PyBatch>) -> Self {
        PyForward { batch: batch.inner.clone() }
    }

    /// The batch to deliver upstream.
    #[getter]
    fn batch(&self) -> PyBatch {
        self.batch.clone().into()
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("batch",)
    }

    fn __hash__(&self) -> u64 {
        PyBatch::from(self.batch.clone()).__hash__()
    }

    fn __repr__(&self) -> String {
        format!("Forward(batch={})", PyBatch::from(self.batch.clone()).__repr__())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf.get_type().into_any(), (PyBatch::from(slf.get().batch.clone()),))
    }
}

const PUBLISH_MODES: [&str; 2] = ["full", "changes"];
const PUBLISH_REASONS: [&str; 6] = ["writes", "idle", "max_age", "reset", "manual", "retry"];

fn known(value: &str, choices: &[&'static str]) -> Option<&'static str> {
    choices.iter().copied().find(|c| *c == value)
}

/// Global output: totals to persist (the KV write), with a `version`.
///
/// Write `entries` (absolute totals, sorted by key) to storage, then report
/// `Global.handle_publish_ack(version, now_ms)` or `Global.handle_publish_failure(...)`.
/// `mode` is `"full"` (every key) or `"changes"` (keys changed since the last acknowledged
/// publish); `reason` is `"writes"`, `"idle"`, `"max_age"`, `"reset"`, `"manual"` or `"retry"`.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "Publish")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyPublish {
    /// The publish version (increases with every publish).
    #[pyo3(get)]
    version: u64,
    /// `"full"` or `"changes"`.
    #[pyo3(get)]
    mode: &'static str,
    /// Why it was cut.
    #[pyo3(get)]
    reason: &'static str,
    entries: Vec<(Arc<str>, i64)>,
}

impl From<shardtally::Publish> for PyPublish {
    fn from(p: shardtally::Publish) -> Self {
        PyPublish { version: p.version, mode: p.mode.as_str(), reason: p.reason.as_str(), entries: p.entries }
    }
}

#[pymethods]
impl PyPublish {
    #[new]
    fn new(version: u64, mode: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>, entries: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mode = mode
            .extract::<String>()
            .ok()
            .and_then(|m| known(&m, &PUBLISH_MODES))
            .ok_or_else(|| invalid_argument("InvalidArgumentError", "mode", mode, "'full' or 'changes'"))?;
        let reason = reason
            .extract::<String>()
            .ok()
            .and_then(|r| known(&r, &PUBLISH_REASONS))
            .ok_or_else(|| invalid_argument("InvalidArgumentError", "reason", reason, "a publish reason"))?;
        Ok(PyPublish { version, mode, reason, entries: owned_pairs(entries, "entries")? })
    }

    /// `(key, total)` pairs sorted by key.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        pairs_tuple(py, &self.entries)
    }

    /// The entries as a `{key: total}` dict.
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.entries {
            d.set_item(&**k, *v)?;
        }
        Ok(d)
    }

    fn __len__(&self) -> usize {
        self.entries.len()
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("version", "mode", "reason", "entries")
    }

    fn __repr__(&self) -> String {
        format!(
            "Publish(version={}, mode={}, reason={}, entries={})",
            self.version,
            py_repr_str(self.mode),
            py_repr_str(self.reason),
            repr_items(&self.entries, |(k, v)| format!("({}, {v})", py_repr_str(k)))
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.version, me.mode, me.reason, pairs_tuple(py, &me.entries)?).into_pyobject(py)?;
        reduce(slf.get_type().into_any(), args)
    }
}

// ----- outcomes -----

/// What `Shard.flush`, `Shard.drain` and `Global.flush_upstream` did.
///
/// `kind` is `"sent"` (a batch with `seq` waits in `poll_output()`), `"deferred"` (batch
/// `seq` is in flight; the pending deltas follow its acknowledgement) or
/// `"nothing_pending"` (`seq` is `None`; nothing was emitted).
#[pyclass(frozen, eq, hash, module = "shardtally", name = "FlushOutcome")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyFlushOutcome {
    /// `"sent"`, `"deferred"` or `"nothing_pending"`.
    #[pyo3(get)]
    kind: &'static str,
    /// The batch's sequence number (`None` for `"nothing_pending"`).
    #[pyo3(get)]
    seq: Option<u64>,
}

impl From<FlushOutcome> for PyFlushOutcome {
    fn from(o: FlushOutcome) -> Self {
        match o {
            FlushOutcome::Sent { seq } => PyFlushOutcome { kind: "sent", seq: Some(seq) },
            FlushOutcome::Deferred { seq } => PyFlushOutcome { kind: "deferred", seq: Some(seq) },
            FlushOutcome::NothingPending => PyFlushOutcome { kind: "nothing_pending", seq: None },
        }
    }
}

#[pymethods]
impl PyFlushOutcome {
    #[new]
    #[pyo3(signature = (kind, seq=None))]
    fn new(kind: &Bound<'_, PyAny>, seq: Option<u64>) -> PyResult<Self> {
        let name = kind.extract::<String>().ok();
        match (name.as_deref(), seq) {
            (Some("sent"), Some(seq)) => Ok(PyFlushOutcome { kind: "sent", seq: Some(seq) }),
            (Some("deferred"), Some(seq)) => Ok(PyFlushOutcome { kind: "deferred", seq: Some(seq) }),
            (Some("nothing_pending"), None) => Ok(PyFlushOutcome { kind: "nothing_pending", seq: None }),
            _ => {
                Err(invalid_argument("InvalidArgumentError", "kind", kind, "'sent' or 'deferred' with a seq, or 'nothing_pending' without"))
            }
        }
    }

    /// `kind == "sent"`.
    #[getter]
    fn sent(&self) -> bool {
        self.kind == "sent"
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("kind", "seq")
    }

    fn __repr__(&self) -> String {
        match self.seq {
            Some(seq) => format!("FlushOutcome(kind={}, seq={seq})", py_repr_str(self.kind)),
            None => format!("FlushOutcome(kind={})", py_repr_str(self.kind)),
        }
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.kind, me.seq))
    }
}

/// What `Global.publish` did.
///
/// `kind` is `"sent"` (a `Publish` with `version` waits in `poll_output()`), `"deferred"`
/// (a publish is in flight or waiting to be retried; the changes follow it) or
/// `"nothing_changed"`. `version` is `None` unless `kind == "sent"`.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "PublishOutcome")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyPublishOutcome {
    /// `"sent"`, `"deferred"` or `"nothing_changed"`.
    #[pyo3(get)]
    kind: &'static str,
    /// The new publish's version (`None` unless `"sent"`).
    #[pyo3(get)]
    version: Option<u64>,
}

impl From<PublishOutcome> for PyPublishOutcome {
    fn from(o: PublishOutcome) -> Self {
        match o {
            PublishOutcome::Sent { version } => PyPublishOutcome { kind: "sent", version: Some(version) },
            PublishOutcome::Deferred => PyPublishOutcome { kind: "deferred", version: None },
            PublishOutcome::NothingChanged => PyPublishOutcome { kind: "nothing_changed", version: None },
        }
    }
}

#[pymethods]
impl PyPublishOutcome {
    #[new]
    #[pyo3(signature = (kind, version=None))]
    fn new(kind: &Bound<'_, PyAny>, version: Option<u64>) -> PyResult<Self> {
        let name = kind.extract::<String>().ok();
        match (name.as_deref(), version) {
            (Some("sent"), Some(v)) => Ok(PyPublishOutcome { kind: "sent", version: Some(v) }),
            (Some("deferred"), None) => Ok(PyPublishOutcome { kind: "deferred", version: None }),
            (Some("nothing_changed"), None) => Ok(PyPublishOutcome { kind: "nothing_changed", version: None }),
            _ => Err(invalid_argument(
                "InvalidArgumentError",
                "kind",
                kind,
                "'sent' with a version, or 'deferred' / 'nothing_changed' without",
            )),
        }
    }

    /// `kind == "sent"`.
    #[getter]
    fn sent(&self) -> bool {
        self.kind == "sent"
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("kind", "version")
    }

    fn __repr__(&self) -> String {
        match self.version {
            Some(v) => format!("PublishOutcome(kind={}, version={v})", py_repr_str(self.kind)),
            None => format!("PublishOutcome(kind={})", py_repr_str(self.kind)),
        }
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.kind, me.version))
    }
}

/// What `Global.reset` did.
///
/// `kind` is `"reset"` (the total went from `previous` to zero and the key's generation is
/// now `generation`) or `"not_defined"` (the key was zero or absent; nothing changed, and
/// `previous` and `generation` are `None`).
#[pyclass(frozen, eq, hash, module = "shardtally", name = "ResetOutcome")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyResetOutcome {
    /// `"reset"` or `"not_defined"`.
    #[pyo3(get)]
    kind: &'static str,
    /// The total before the reset.
    #[pyo3(get)]
    previous: Option<i64>,
    /// The key's new generation.
    #[pyo3(get)]
    generation: Option<u64>,
}

impl From<ResetOutcome> for PyResetOutcome {
    fn from(o: ResetOutcome) -> Self {
        match o {
            ResetOutcome::Reset { previous, generation } => {
                PyResetOutcome { kind: "reset", previous: Some(previous), generation: Some(generation) }
            }
            ResetOutcome::NotDefined => PyResetOutcome { kind: "not_defined", previous: None, generation: None },
        }
    }
}

#[pymethods]
impl PyResetOutcome {
    #[new]
    #[pyo3(signature = (kind, previous=None, generation=None))]
    fn new(kind: &Bound<'_, PyAny>, previous: Option<i64>, generation: Option<u64>) -> PyResult<Self> {
        let name = kind.extract::<String>().ok();
        match (name.as_deref(), previous, generation) {
            (Some("reset"), Some(p), Some(g)) => Ok(PyResetOutcome { kind: "reset", previous: Some(p), generation: Some(g) }),
            (Some("not_defined"), None, None) => Ok(PyResetOutcome { kind: "not_defined", previous: None, generation: None }),
            _ => Err(invalid_argument(
                "InvalidArgumentError",
                "kind",
                kind,
                "'reset' with previous and generation, or 'not_defined' without",
            )),
        }
    }

    /// `kind == "reset"`.
    #[getter]
    fn reset(&self) -> bool {
        self.kind == "reset"
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("kind", "previous", "generation")
    }

    fn __repr__(&self) -> String {
        match (self.previous, self.generation) {
            (Some(p), Some(g)) => format!("ResetOutcome(kind={}, previous={p}, generation={g})", py_repr_str(self.kind)),
            _ => format!("ResetOutcome(kind={})", py_repr_str(self.kind)),
        }
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.kind, me.previous, me.generation))
    }
}

/// The next deadline of a machine and which timer it belongs to.
///
/// Shard timers: `"idle"`, `"max_age"`, `"ack_timeout"`, `"retry"`. Global timers:
/// `"idle"`, `"max_age"`, `"publish_timeout"`, `"publish_retry"`, `"upstream"`.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "Deadline")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyDeadline {
    /// When it fires (ms on the host's clock).
    #[pyo3(get)]
    at_ms: u64,
    /// Which timer.
    #[pyo3(get)]
    timer: String,
}

impl PyDeadline {
    pub(crate) fn from_parts(at: Timestamp, timer: &str) -> Self {
        PyDeadline { at_ms: at.as_millis(), timer: timer.to_owned() }
    }

    pub(crate) fn from_shard(d: Deadline<shardtally::ShardTimer>) -> Self {
        Self::from_parts(d.at, d.timer.as_str())
    }

    pub(crate) fn from_global(d: Deadline<shardtally::GlobalTimer>) -> Self {
        Self::from_parts(d.at, d.timer.as_str())
    }
}

#[pymethods]
impl PyDeadline {
    #[new]
    fn new(at_ms: u64, timer: String) -> Self {
        PyDeadline { at_ms, timer }
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("at_ms", "timer")
    }

    fn __repr__(&self) -> String {
        format!("Deadline(at_ms={}, timer={})", self.at_ms, py_repr_str(&self.timer))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.at_ms, me.timer.clone()))
    }
}

// ----- statistics -----

/// Counters of a shard's activity since it was created (kept across snapshots).
#[pyclass(frozen, eq, hash, get_all, module = "shardtally", name = "ShardStats")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyShardStats {
    /// Accepted requests (single or multi-key increments).
    requests: u64,
    /// Batches cut (first transmissions).
    batches: u64,
    /// Re-transmissions of an unacknowledged batch.
    retries: u64,
    /// Acknowledgements that matched the in-flight batch.
    acks: u64,
    /// Of those, acknowledgements of batches the global had already applied.
    duplicate_acks: u64,
    /// Failures reported or timed out.
    failures: u64,
    /// Pending entries dropped because their key was reset after they were accepted.
    stale_dropped: u64,
    /// Batches dropped because the global rejected them for good (`handle_rejection`).
    rejected_batches: u64,
    /// Entries in those batches.
    rejected_entries: u64,
}

impl From<ShardStats> for PyShardStats {
    fn from(s: ShardStats) -> Self {
        PyShardStats {
            requests: s.requests,
            batches: s.batches,
            retries: s.retries,
            acks: s.acks,
            duplicate_acks: s.duplicate_acks,
            failures: s.failures,
            stale_dropped: s.stale_dropped,
            rejected_batches: s.rejected_batches,
            rejected_entries: s.rejected_entries,
        }
    }
}

#[pymethods]
impl PyShardStats {
    #[new]
    #[pyo3(signature = (requests=0, batches=0, retries=0, acks=0, duplicate_acks=0, failures=0, stale_dropped=0, rejected_batches=0, rejected_entries=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        requests: u64,
        batches: u64,
        retries: u64,
        acks: u64,
        duplicate_acks: u64,
        failures: u64,
        stale_dropped: u64,
        rejected_batches: u64,
        rejected_entries: u64,
    ) -> Self {
        PyShardStats { requests, batches, retries, acks, duplicate_acks, failures, stale_dropped, rejected_batches, rejected_entries }
    }

    fn __repr__(&self) -> String {
        format!(
            "ShardStats(requests={}, batches={}, retries={}, acks={}, duplicate_acks={}, failures={}, stale_dropped={}, rejected_batches={}, rejected_entries={})",
            self.requests,
            self.batches,
            self.retries,
            self.acks,
            self.duplicate_acks,
            self.failures,
            self.stale_dropped,
            self.rejected_batches,
            self.rejected_entries
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let s = slf.get();
        let fields = [
            s.requests,
            s.batches,
            s.retries,
            s.acks,
            s.duplicate_acks,
            s.failures,
            s.stale_dropped,
            s.rejected_batches,
            s.rejected_entries,
        ];
        reduce(slf.get_type().into_any(), PyTuple::new(slf.py(), fields)?)
    }
}

/// Counters of a global's activity (kept across snapshots).
#[pyclass(frozen, eq, hash, get_all, module = "shardtally", name = "GlobalStats")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyGlobalStats {
    /// Batches applied.
    total_writes: u64,
    /// Distinct shard indices that wrote.
    distinct_shards: u64,
    /// Batches acknowledged without applying (already applied).
    duplicates: u64,
    /// Entries dropped because their key was reset after the deltas were accepted.
    stale_dropped: u64,
    /// Resets that changed a total.
    resets: u64,
    /// Publishes cut.
    publishes: u64,
    /// Publishes that failed or timed out.
    publish_failures: u64,
    /// Deduplication entries pruned by `max_dedup_entries`.
    dedup_evictions: u64,
    /// Batches from shards beyond the per-shard statistics bound.
    untracked_shard_writes: u64,
}

impl From<GlobalStats> for PyGlobalStats {
    fn from(s: GlobalStats) -> Self {
        PyGlobalStats {
            total_writes: s.total_writes,
            distinct_shards: s.distinct_shards,
            duplicates: s.duplicates,
            stale_dropped: s.stale_dropped,
            resets: s.resets,
            publishes: s.publishes,
            publish_failures: s.publish_failures,
            dedup_evictions: s.dedup_evictions,
            untracked_shard_writes: s.untracked_shard_writes,
        }
    }
}

#[pymethods]
impl PyGlobalStats {
    #[new]
    #[pyo3(signature = (total_writes=0, distinct_shards=0, duplicates=0, stale_dropped=0, resets=0, publishes=0, publish_failures=0, dedup_evictions=0, untracked_shard_writes=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        total_writes: u64,
        distinct_shards: u64,
        duplicates: u64,
        stale_dropped: u64,
        resets: u64,
        publishes: u64,
        publish_failures: u64,
        dedup_evictions: u64,
        untracked_shard_writes: u64,
    ) -> Self {
        PyGlobalStats {
            total_writes,
            distinct_shards,
            duplicates,
            stale_dropped,
            resets,
            publishes,
            publish_failures,
            dedup_evictions,
            untracked_shard_writes,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "GlobalStats(total_writes={}, distinct_shards={}, duplicates={}, stale_dropped={}, resets={}, publishes={}, publish_failures={}, dedup_evictions={}, untracked_shard_writes={})",
            self.total_writes,
            self.distinct_shards,
            self.duplicates,
            self.stale_dropped,
            self.resets,
            self.publishes,
            self.publish_failures,
            self.dedup_evictions,
            self.untracked_shard_writes
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let s = slf.get();
        let fields = [
            s.total_writes,
            s.distinct_shards,
            s.duplicates,
            s.stale_dropped,
            s.resets,
            s.publishes,
            s.publish_failures,
            s.dedup_evictions,
            s.untracked_shard_writes,
        ];
        reduce(slf.get_type().into_any(), PyTuple::new(slf.py(), fields)?)
    }
}

/// What one shard index has written to the global: `writes` (batches applied from it, all
/// incarnations) and `deltas` (summed applied deltas per key).
#[pyclass(frozen, eq, hash, module = "shardtally", name = "ShardWrites")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyShardWrites {
    /// Batches applied from this shard index.
    #[pyo3(get)]
    writes: u64,
    deltas: BTreeMap<Arc<str>, i64>,
}

impl From<&ShardWrites> for PyShardWrites {
    fn from(w: &ShardWrites) -> Self {
        PyShardWrites { writes: w.writes, deltas: w.deltas.iter().cloned().collect() }
    }
}

#[pymethods]
impl PyShardWrites {
    #[new]
    fn new(writes: u64, deltas: BTreeMap<String, i64>) -> Self {
        PyShardWrites { writes, deltas: deltas.into_iter().map(|(k, v)| (Arc::from(k), v)).collect() }
    }

    /// Summed applied deltas per key, sorted by key.
    #[getter]
    fn deltas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.deltas {
            d.set_item(&**k, *v)?;
        }
        Ok(d)
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("writes", "deltas")
    }

    fn __repr__(&self) -> String {
        let items: Vec<String> = self.deltas.iter().map(|(k, v)| format!("{}: {v}", py_repr_str(k))).collect();
        format!("ShardWrites(writes={}, deltas={{{}}})", self.writes, items.join(", "))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.writes, me.deltas(slf.py())?))
    }
}

// ----- write log -----

/// A write-log record: a batch was applied.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "BatchWrite")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyBatchWrite {
    /// When the global applied it (ms).
    #[pyo3(get)]
    at_ms: u64,
    shard_ref: PyShardRef,
    /// Its sequence number.
    #[pyo3(get)]
    seq: u64,
    /// Number of entries applied.
    #[pyo3(get)]
    keys: u32,
    entries: Vec<(Arc<str>, i64)>,
    /// Applied entries not listed in `entries`.
    #[pyo3(get)]
    omitted: u32,
}

#[pymethods]
impl PyBatchWrite {
    #[new]
    fn new(at_ms: u64, shard_ref: PyRef<'_, PyShardRef>, seq: u64, keys: u32, entries: &Bound<'_, PyAny>, omitted: u32) -> PyResult<Self> {
        Ok(PyBatchWrite { at_ms, shard_ref: *shard_ref, seq, keys, entries: owned_pairs(entries, "entries")?, omitted })
    }

    /// The shard life that sent the batch.
    #[getter]
    fn shard_ref(&self) -> PyShardRef {
        self.shard_ref
    }

    /// The first `write_log_keys_per_write` applied `(key, delta)` entries, by key.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        pairs_tuple(py, &self.entries)
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        ("at_ms", "shard_ref", "seq", "keys", "entries", "omitted")
    }

    fn __repr__(&self) -> String {
        format!(
            "BatchWrite(at_ms={}, shard_ref={}, seq={}, keys={}, entries={}, omitted={})",
            self.at_ms,
            self.shard_ref.__repr__(),
            self.seq,
            self.keys,
            repr_items(&self.entries, |(k, v)| format!("({}, {v})", py_repr_str(k))),
            self.omitted
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let me = slf.get();
        let args = (me.at_ms, me.shard_ref, me.seq, me.keys, pairs_tuple(py, &me.entries)?, me.omitted).into_pyobject(py)?;
        reduce(slf.get_type().into_any(), args)
    }
}

/// A write-log record: a key was reset.
#[pyclass(frozen, eq, hash, module = "shardtally", name = "ResetWrite")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PyResetWrite {
    /// When the global reset it (ms).
    #[pyo3(get)]
    at_ms: u64,
    key: Arc<str>,
    /// Its total before the reset.
    #[pyo3(get)]
    previous: i64,
    /// Its new generation.
    #[pyo3(get)]
    generation: u64,
}

#[pymethods]
impl PyResetWrite {
    #[new]
    fn new(at_ms: u64, key: String, previous: i64, generation: u64) -> Self {
        PyResetWrite { at_ms, key: Arc::from(key), previous, generation }
    }

    /// The key.
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("at_ms", "key", "previous", "generation")
    }

    fn __repr__(&self) -> String {
        format!(
            "ResetWrite(at_ms={}, key={}, previous={}, generation={})",
            self.at_ms,
            py_repr_str(&self.key),
            self.previous,
            self.generation
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let me = slf.get();
        reduce(slf.get_type().into_any(), (me.at_ms, me.key.to_string(), me.previous, me.generation))
    }
}

/// A write-log record converted for Python.
pub(crate) enum PyWrite {
    Batch(PyBatchWrite),
    Reset(PyResetWrite),
}

impl PyWrite {
    /// Converts a record; `None` for kinds this build does not know.
    pub(crate) fn from_record(r: &WriteRecord) -> Option<Self> {
        let at_ms = r.at.as_millis();
        match &r.kind {
            WriteKind::Batch { from, seq, keys, entries, omitted } => Some(PyWrite::Batch(PyBatchWrite {
                at_ms,
                shard_ref: (*from).into(),
                seq: *seq,
                keys: *keys,
                entries: entries.clone(),
                omitted: *omitted,
            })),
            WriteKind::Reset { key, previous, generation } => {
                Some(PyWrite::Reset(PyResetWrite { at_ms, key: key.clone(), previous: *previous, generation: *generation }))
            }
            _ => None,
        }
    }

    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        Ok(match self {
            PyWrite::Batch(b) => Bound::new(py, b)?.into_any(),
            PyWrite::Reset(r) => Bound::new(py, r)?.into_any(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyo3::types::PyString;

    #[test]
    fn str_reprs_match_python() {
        Python::initialize();
        Python::attach(|py| {
            for s in ["", "plain", "it's", "say \"hi\"", "both ' and \"", "tab\tnew\nline\r", "back\\slash", "é日本🎉", "\u{7f}\u{1}"]
            {
                let python = PyString::new(py, s).repr().expect("repr").to_string();
                assert_eq!(py_repr_str(s), python, "{s:?}");
            }
        });
    }

    #[test]
    fn long_sequences_are_cut_in_reprs() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(repr_items(&items[..1], u32::to_string), "(0,)");
        assert_eq!(repr_items(&items[..2], u32::to_string), "(0, 1)");
        assert_eq!(repr_items(&items, u32::to_string), "(0, 1, 2, 3, 4, 5, 6, 7, ... 2 more)");
        assert_eq!(repr_items::<u32>(&[], u32::to_string), "()");
    }
}
