//! `shardtally.Buckets`: event counts per key and day, rolled up into daily totals (count).
//! Method list and argument conversions only; the run-loop methods come from `run_loop!`,
//! settings from `shardtally_api::options`. Days and periods are strings the engine parses.

use crate::convert::{self, int, options, shown, text, Key, Millis};
use crate::lock::Locked;
use crate::machine::{self, run_loop, settings_config};
use crate::message::PyBatch;
use crate::value::{raise, record, to_py};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use shardtally::buckets::{Buckets, Day, Period};
use shardtally_api::options::BucketsStoredRow;
use shardtally_api::{options as api, views, ArgError, Naming, Value};

/// Counts events per key and day, rolls them up into daily totals, answers day and period
/// queries. It has no outputs: `poll_timeout` / `handle_timeout` only run the retention.
#[pyclass(frozen, module = "shardtally", name = "Buckets")]
pub(crate) struct PyBuckets {
    inner: Locked<Buckets>,
}

settings_config!(PyBuckets);
run_loop!(PyBuckets);

fn day(obj: &Bound<'_, PyAny>, argument: &'static str) -> PyResult<Day> {
    Day::parse(text(obj, argument)?).map_err(|e| raise(obj.py(), e))
}

fn period(obj: &Bound<'_, PyAny>) -> PyResult<Period> {
    Period::parse(text(obj, "period")?).map_err(|e| raise(obj.py(), e))
}

/// One stored row for `from_rows`: a `BucketsRawRow`, `BucketsDailyRow` or `BucketsMeta`
/// (read by their `_type` tag and fields), or the meta row's bytes.
fn stored_row(obj: &Bound<'_, PyAny>) -> PyResult<BucketsStoredRow> {
    if obj.is_instance_of::<PyBytes>() {
        return Ok(BucketsStoredRow::Meta(convert::bytes(obj, "rows")?.into_owned()));
    }
    let py = obj.py();
    let tag = obj.getattr(pyo3::intern!(py, "_type")).ok().and_then(|t| t.extract::<String>().ok());
    let owned = |name: &'static str| -> PyResult<String> { Ok(text(&obj.getattr(name)?, name)?.to_owned()) };
    Ok(match tag.as_deref() {
        Some("raw") => BucketsStoredRow::Raw { day: owned("day")?, key: owned("key")?, count: int(&obj.getattr("count")?, "count")? },
        Some("daily") => BucketsStoredRow::Daily { day: owned("day")?, key: owned("key")?, total: int(&obj.getattr("total")?, "total")? },
        Some("meta") => BucketsStoredRow::Meta(convert::bytes(&obj.getattr("bytes")?, "bytes")?.into_owned()),
        _ => {
            let expected = "BucketsRawRow, BucketsDailyRow and BucketsMeta rows (or the meta row's bytes)";
            return Err(raise(py, ArgError::invalid("rows", expected, shown(obj))));
        }
    })
}

#[pymethods]
impl PyBuckets {
    #[new]
    #[pyo3(signature = (**settings))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let buckets = api::new_buckets(Naming::Snake, &options(settings)?).map_err(|e| raise(py, e))?;
        Ok(PyBuckets { inner: Locked::new(buckets) })
    }

    /// Restores buckets from `snapshot()` bytes with their settings.
    #[staticmethod]
    #[pyo3(signature = (snapshot, **settings))]
    fn restore(snapshot: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let buckets = machine::restore(snapshot, settings, |b, o| api::restore_buckets(Naming::Snake, b, o))?;
        Ok(PyBuckets { inner: Locked::new(buckets) })
    }

    /// Rebuilds buckets from their stored rows (what `rows()` returned, or typed rows read
    /// back, the meta row as its bytes), in any order, and their settings.
    #[staticmethod]
    #[pyo3(signature = (rows, **settings))]
    fn from_rows(py: Python<'_>, rows: &Bound<'_, PyAny>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let rows = rows.try_iter().map_err(|_| raise(py, ArgError::invalid("rows", "an iterable of rows", shown(rows))))?;
        let (rows, options) = (rows.map(|r| stored_row(&r?)).collect::<PyResult<Vec<_>>>()?, options(settings)?);
        let buckets = py.detach(|| api::buckets_from_rows(Naming::Snake, &rows, &options)).map_err(|e| raise(py, e))?;
        Ok(PyBuckets { inner: Locked::new(buckets) })
    }

    /// Records one event of `key` at event time `at_ms`.
    fn record<'py>(&self, py: Python<'py>, key: Key<'_>, at_ms: Millis, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let result = self.inner.write(py).record(key.0, at_ms.0, now_ms.0);
        record(py, &views::record_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Records `count` events of `key` at event time `at_ms`.
    fn record_count<'py>(
        &self,
        py: Python<'py>,
        key: Key<'_>,
        count: &Bound<'_, PyAny>,
        at_ms: Millis,
        now_ms: Millis,
    ) -> PyResult<Bound<'py, PyAny>> {
        let count = int(count, "count")?;
        let result = self.inner.write(py).record_count(key.0, count, at_ms.0, now_ms.0);
        record(py, &views::record_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Records many counts at one event time as one atomic input: `{key: count}` or
    /// `(key, count)` pairs.
    fn record_many<'py>(&self, py: Python<'py>, entries: &Bound<'_, PyAny>, at_ms: Millis, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let owned = convert::entries(entries)?;
        let pairs = owned.iter().map(|(k, d)| Ok((convert::borrow(k)?, *d))).collect::<PyResult<Vec<(&str, i64)>>>()?;
        let result = self.inner.write_sized(py, pairs.len(), |b| b.record_many(&pairs, at_ms.0, now_ms.0));
        record(py, &views::record_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Records a shard's batch (its deltas as counts) at event time `at_ms`.
    fn record_batch<'py>(&self, py: Python<'py>, batch: &Bound<'_, PyAny>, at_ms: Millis, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let batch = convert::message::<PyBatch>(batch)?;
        let result = self.inner.write_sized(py, batch.len(), |b| b.record_batch(&batch, at_ms.0, now_ms.0));
        record(py, &views::record_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Moves the raw counts of a period (`"YYYY"`, `"YYYY-MM"` or `"YYYY-MM-DD"`) into daily
    /// totals, additively.
    fn rollup<'py>(&self, py: Python<'py>, period: &Bound<'_, PyAny>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let period = self::period(period)?;
        let result = self.inner.write(py).rollup(period, now_ms.0);
        record(py, &views::rollup_outcome(result.map_err(|e| raise(py, e))?))
    }

    /// Drops raw days older than the retention now.
    fn expire<'py>(&self, py: Python<'py>, now_ms: Millis) -> PyResult<Bound<'py, PyAny>> {
        let outcome = self.inner.write(py).expire(now_ms.0);
        record(py, &views::expire_outcome(outcome))
    }

    /// The local day (`"YYYY-MM-DD"`) of event time `at_ms`.
    fn day_of(&self, py: Python<'_>, at_ms: Millis) -> PyResult<String> {
        let result = self.inner.read(py).day_of(at_ms.0);
        result.map(|d| d.to_string()).map_err(|e| raise(py, e))
    }

    /// The first millisecond of a local day, or `None` before the Unix epoch.
    fn day_start(&self, py: Python<'_>, day: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let day = self::day(day, "day")?;
        Ok(self.inner.read(py).day_start(day).map(|t| t.as_millis()))
    }

    /// Daily totals (`DailyTotal`) of the days `from_ ..= to`, by day, then key.
    fn daily_totals<'py>(&self, py: Python<'py>, from_: &Bound<'_, PyAny>, to: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (from, to) = (day(from_, "from")?, day(to, "to")?);
        let result = self.inner.read(py).daily_totals(from, to);
        to_py(py, &views::daily_totals(&result.map_err(|e| raise(py, e))?))
    }

    /// Each key's total over a period (`KeyTotal`), by key.
    fn period_totals<'py>(&self, py: Python<'py>, period: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let period = self::period(period)?;
        let result = self.inner.read(py).period_totals(period);
        to_py(py, &Value::Entries(views::period_totals(&result.map_err(|e| raise(py, e))?)))
    }

    /// One key's daily total on a day (0 when none).
    fn daily_total(&self, py: Python<'_>, day: &Bound<'_, PyAny>, key: Key<'_>) -> PyResult<i64> {
        let day = self::day(day, "day")?;
        Ok(self.inner.read(py).daily_total(day, key.0))
    }

    /// One key's raw (not rolled up) count on a day (0 when none).
    fn raw_count(&self, py: Python<'_>, day: &Bound<'_, PyAny>, key: Key<'_>) -> PyResult<i64> {
        let day = self::day(day, "day")?;
        Ok(self.inner.read(py).raw_count(day, key.0))
    }

    /// The days holding raw counts, ascending.
    fn raw_days<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let days = self.inner.read(py).raw_days();
        to_py(py, &views::days(&days))
    }

    /// Raw events not rolled up yet.
    #[getter]
    fn raw_events(&self, py: Python<'_>) -> u64 {
        self.inner.read(py).raw_events()
    }

    /// Distinct keys held (raw and daily).
    #[getter]
    fn key_count(&self, py: Python<'_>) -> usize {
        self.inner.read(py).key_count()
    }

    /// Days holding daily totals.
    #[getter]
    fn daily_days(&self, py: Python<'_>) -> usize {
        self.inner.read(py).daily_days()
    }

    /// The row changes since the last call, in apply order.
    fn take_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let changes = self.inner.write(py).take_changes();
        to_py(py, &views::buckets_changes(&changes))
    }

    /// Every stored row.
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.inner.read(py).rows();
        to_py(py, &views::buckets_rows(&rows))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let b = self.inner.read(py);
        format!("<Buckets raw_events={} key_count={} daily_days={}>", b.raw_events(), b.key_count(), b.daily_days())
    }
}
