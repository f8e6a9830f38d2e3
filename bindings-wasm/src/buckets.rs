//! `Buckets`: event counts per key and day, rolled up into daily totals (SPEC §8).

use crate::js::{self, JsResult};
use shardtally::buckets::{self, Day, Period};
use shardtally::{Batch, Timestamp};
use shardtally_api::options;
use shardtally_api::{views, Naming, Value};
use wasm_bindgen::prelude::*;

/// Time buckets (the native half of the public `Buckets`).
#[wasm_bindgen(js_name = Buckets)]
pub struct JsBuckets {
    inner: buckets::Buckets,
}

crate::machine!(JsBuckets, Buckets, |inner| JsBuckets { inner }, options::new_buckets, options::restore_buckets);

#[wasm_bindgen(js_class = Buckets)]
impl JsBuckets {
    /// Time buckets from stored rows, packed per row: `joined` holds its type, day and key,
    /// `lens` their UTF-16 lengths and its meta bytes' length, `counts` its count or total,
    /// `bytes` the meta rows' bytes.
    #[wasm_bindgen(js_name = fromRows)]
    pub fn from_rows(
        joined: &str,
        lens: &[u32],
        counts: JsValue,
        bytes: &[u8],
        names: Vec<String>,
        values: Vec<JsValue>,
    ) -> JsResult<JsBuckets> {
        let (numbers, _) = js::deltas(&counts)?;
        let rows = shardtally_api::js::split_buckets_rows(joined, lens, &numbers, bytes).ok_or_else(|| js::internal("rows"))?;
        js::make(names, values, |o| options::buckets_from_rows(Naming::Camel, &rows, o)).map(|inner| JsBuckets { inner })
    }

    /// One event of `key` at `atMs`; a `RecordOutcome`.
    pub fn record(&mut self, key: &str, at_ms: f64, now_ms: f64) -> JsResult<JsValue> {
        let (at, now) = (js::time(at_ms)?, js::time(now_ms)?);
        js::out(self.inner.record(key, at, now).map(views::record_outcome))
    }

    /// `count` events of `key` at `atMs`; a `RecordOutcome`.
    #[wasm_bindgen(js_name = recordCount)]
    pub fn record_count(&mut self, key: &str, count: JsValue, at_ms: f64, now_ms: f64) -> JsResult<JsValue> {
        let count = js::delta(&count)?;
        let (at, now) = (js::time(at_ms)?, js::time(now_ms)?);
        js::out(self.inner.record_count(key, count, at, now).map(views::record_outcome))
    }

    /// Counts of several keys at `atMs` (keys packed); a `RecordOutcome`.
    #[wasm_bindgen(js_name = recordMany)]
    pub fn record_many(&mut self, joined: &str, lens: &[u32], counts: JsValue, at_ms: f64, now_ms: f64) -> JsResult<JsValue> {
        let (at, now) = (js::time(at_ms)?, js::time(now_ms)?);
        let (numbers, _) = js::deltas(&counts)?;
        let keys = shardtally_api::js::split_keys(joined, lens).filter(|k| k.len() == numbers.len()).ok_or_else(|| js::internal("keys"))?;
        let entries: Vec<(&str, i64)> = keys.into_iter().zip(numbers).collect();
        js::out(self.inner.record_many(&entries, at, now).map(views::record_outcome))
    }

    /// A shard's batch (its bytes) as counts at `atMs`; a `RecordOutcome`.
    #[wasm_bindgen(js_name = recordBatch)]
    pub fn record_batch(&mut self, batch: &[u8], at_ms: f64, now_ms: f64) -> JsResult<JsValue> {
        let (at, now) = (js::time(at_ms)?, js::time(now_ms)?);
        let batch = Batch::decode(batch).map_err(js::error)?;
        js::out(self.inner.record_batch(&batch, at, now).map(views::record_outcome))
    }

    /// Moves raw counts of a period into daily totals; a `RollupOutcome`.
    pub fn rollup(&mut self, period: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(Period::parse(period).and_then(|p| self.inner.rollup(p, now)).map(views::rollup_outcome))
    }

    /// Drops raw days past retention; an `ExpireOutcome`.
    pub fn expire(&mut self, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        Ok(js::to_js(&views::expire_outcome(self.inner.expire(now)).into()))
    }

    /// The day of an event time.
    #[wasm_bindgen(js_name = dayOf)]
    pub fn day_of(&self, at_ms: f64) -> JsResult<JsValue> {
        let at = js::time(at_ms)?;
        js::out(self.inner.day_of(at).map(|d| Value::from(d.to_string().as_str())))
    }

    /// The first millisecond of a day, or `null`.
    #[wasm_bindgen(js_name = dayStart)]
    pub fn day_start(&self, day: &str) -> JsResult<JsValue> {
        js::out(Day::parse(day).map(|d| self.inner.day_start(d).map(Timestamp::as_millis)))
    }

    /// Daily totals over an inclusive range of days, by day then key.
    #[wasm_bindgen(js_name = dailyTotals)]
    pub fn daily_totals(&self, from: &str, to: &str) -> JsResult<JsValue> {
        let totals = Day::parse(from).and_then(|f| Day::parse(to).and_then(|t| self.inner.daily_totals(f, t)));
        js::out(totals.map(|all| views::daily_totals(&all)))
    }

    /// Each key's total over a period, by key.
    #[wasm_bindgen(js_name = periodTotals)]
    pub fn period_totals(&self, period: &str) -> JsResult<JsValue> {
        js::out(Period::parse(period).and_then(|p| self.inner.period_totals(p)).map(|all| views::period_totals(&all)))
    }

    /// The daily total of a key on a day.
    #[wasm_bindgen(js_name = dailyTotal)]
    pub fn daily_total(&self, day: &str, key: &str) -> JsResult<JsValue> {
        js::out(Day::parse(day).map(|d| self.inner.daily_total(d, key)))
    }

    /// The raw (not rolled up) count of a key on a day.
    #[wasm_bindgen(js_name = rawCount)]
    pub fn raw_count(&self, day: &str, key: &str) -> JsResult<JsValue> {
        js::out(Day::parse(day).map(|d| self.inner.raw_count(d, key)))
    }

    /// Days with raw counts.
    #[wasm_bindgen(js_name = rawDays)]
    pub fn raw_days(&self) -> JsValue {
        js::to_js(&views::days(&self.inner.raw_days()))
    }

    /// Events held in raw counts.
    #[wasm_bindgen(js_name = rawEvents)]
    pub fn raw_events(&self) -> JsValue {
        js::to_js(&self.inner.raw_events().into())
    }

    /// Distinct keys held.
    #[wasm_bindgen(js_name = keyCount)]
    pub fn key_count(&self) -> f64 {
        self.inner.key_count() as f64
    }

    /// Days with daily totals.
    #[wasm_bindgen(js_name = dailyDays)]
    pub fn daily_days(&self) -> f64 {
        self.inner.daily_days() as f64
    }

    /// The row changes since the last call, in apply order.
    #[wasm_bindgen(js_name = takeChanges)]
    pub fn take_changes(&mut self) -> JsValue {
        js::to_js(&views::buckets_changes(&self.inner.take_changes()))
    }

    /// Every stored row.
    pub fn rows(&self) -> JsValue {
        js::to_js(&views::buckets_rows(&self.inner.rows()))
    }
}

crate::run_loop!(JsBuckets, Buckets);
