//! `Buckets`: event counts per key and day, rolled up into daily totals (SPEC §8).

use crate::js::{self, Deltas, Num};
use napi::bindgen_prelude::{Array, Uint32ArraySlice, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally::buckets::{self, Day, Period};
use shardtally::{Batch, Timestamp};
use shardtally_api::options;
use shardtally_api::{views, Naming, Value};

/// Time buckets (the native half of the public `Buckets`).
#[napi]
pub struct Buckets {
    inner: buckets::Buckets,
}

crate::machine!(Buckets, |inner| Buckets { inner }, options::new_buckets, options::restore_buckets);

#[napi]
impl Buckets {
    /// Time buckets from stored rows, packed per row: `joined` holds its type, day and key,
    /// `lens` their UTF-16 lengths and its meta bytes' length, `counts` its count or total,
    /// `bytes` the meta rows' bytes.
    #[napi(factory)]
    pub fn from_rows(
        env: &Env,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        counts: Deltas<'_>,
        bytes: Uint8ArraySlice<'_>,
        names: Vec<String>,
        values: Array<'_>,
    ) -> Result<Self> {
        let mut numbers = Vec::new();
        js::deltas(env, counts, &mut numbers)?;
        let rows = shardtally_api::js::split_buckets_rows(&joined, &lens, &numbers, &bytes).ok_or_else(|| js::internal("rows"))?;
        js::make(env, names, &values, |o| options::buckets_from_rows(Naming::Camel, &rows, o)).map(|inner| Buckets { inner })
    }

    /// One event of `key` at `atMs`; a `RecordOutcome`.
    #[napi]
    pub fn record<'e>(&mut self, env: &'e Env, key: String, at_ms: f64, now_ms: f64) -> Result<Unknown<'e>> {
        let (at, now) = (js::time(env, at_ms)?, js::time(env, now_ms)?);
        js::out(env, self.inner.record(&key, at, now).map(views::record_outcome))
    }

    /// `count` events of `key` at `atMs`; a `RecordOutcome`.
    #[napi]
    pub fn record_count<'e>(&mut self, env: &'e Env, key: String, count: Num, at_ms: f64, now_ms: f64) -> Result<Unknown<'e>> {
        let count = js::delta(env, &count)?;
        let (at, now) = (js::time(env, at_ms)?, js::time(env, now_ms)?);
        js::out(env, self.inner.record_count(&key, count, at, now).map(views::record_outcome))
    }

    /// Counts of several keys at `atMs` (keys packed); a `RecordOutcome`.
    #[napi]
    pub fn record_many<'e>(
        &mut self,
        env: &'e Env,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        counts: Deltas<'_>,
        at_ms: f64,
        now_ms: f64,
    ) -> Result<Unknown<'e>> {
        let (at, now) = (js::time(env, at_ms)?, js::time(env, now_ms)?);
        let mut numbers = Vec::new();
        js::deltas(env, counts, &mut numbers)?;
        let keys =
            shardtally_api::js::split_keys(&joined, &lens).filter(|k| k.len() == numbers.len()).ok_or_else(|| js::internal("keys"))?;
        let entries: Vec<(&str, i64)> = keys.into_iter().zip(numbers).collect();
        js::out(env, self.inner.record_many(&entries, at, now).map(views::record_outcome))
    }

    /// A shard's batch (its bytes) as counts at `atMs`; a `RecordOutcome`.
    #[napi]
    pub fn record_batch<'e>(&mut self, env: &'e Env, batch: Uint8ArraySlice<'_>, at_ms: f64, now_ms: f64) -> Result<Unknown<'e>> {
        let (at, now) = (js::time(env, at_ms)?, js::time(env, now_ms)?);
        let batch = Batch::decode(&batch).map_err(|e| js::error(env, e))?;
        js::out(env, self.inner.record_batch(&batch, at, now).map(views::record_outcome))
    }

    /// Moves raw counts of a period into daily totals; a `RollupOutcome`.
    #[napi]
    pub fn rollup<'e>(&mut self, env: &'e Env, period: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, Period::parse(&period).and_then(|p| self.inner.rollup(p, now)).map(views::rollup_outcome))
    }

    /// Drops raw days past retention; an `ExpireOutcome`.
    #[napi]
    pub fn expire<'e>(&mut self, env: &'e Env, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::to_js(env, &views::expire_outcome(self.inner.expire(now)).into())
    }

    /// The day of an event time.
    #[napi]
    pub fn day_of<'e>(&self, env: &'e Env, at_ms: f64) -> Result<Unknown<'e>> {
        let at = js::time(env, at_ms)?;
        js::out(env, self.inner.day_of(at).map(|d| Value::from(d.to_string().as_str())))
    }

    /// The first millisecond of a day, or `null`.
    #[napi]
    pub fn day_start<'e>(&self, env: &'e Env, day: String) -> Result<Unknown<'e>> {
        js::out(env, Day::parse(&day).map(|d| self.inner.day_start(d).map(Timestamp::as_millis)))
    }

    /// Daily totals over an inclusive range of days, by day then key.
    #[napi]
    pub fn daily_totals<'e>(&self, env: &'e Env, from: String, to: String) -> Result<Unknown<'e>> {
        let totals = Day::parse(&from).and_then(|f| Day::parse(&to).and_then(|t| self.inner.daily_totals(f, t)));
        js::out(env, totals.map(|all| views::daily_totals(&all)))
    }

    /// Each key's total over a period, by key.
    #[napi]
    pub fn period_totals<'e>(&self, env: &'e Env, period: String) -> Result<Unknown<'e>> {
        js::out(env, Period::parse(&period).and_then(|p| self.inner.period_totals(p)).map(|all| views::period_totals(&all)))
    }

    /// The daily total of a key on a day.
    #[napi]
    pub fn daily_total<'e>(&self, env: &'e Env, day: String, key: String) -> Result<Unknown<'e>> {
        js::out(env, Day::parse(&day).map(|d| self.inner.daily_total(d, &key)))
    }

    /// The raw (not rolled up) count of a key on a day.
    #[napi]
    pub fn raw_count<'e>(&self, env: &'e Env, day: String, key: String) -> Result<Unknown<'e>> {
        js::out(env, Day::parse(&day).map(|d| self.inner.raw_count(d, &key)))
    }

    /// Days with raw counts.
    #[napi]
    pub fn raw_days<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::days(&self.inner.raw_days()))
    }

    /// Events held in raw counts.
    #[napi]
    pub fn raw_events<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.raw_events().into())
    }

    /// Distinct keys held.
    #[napi]
    pub fn key_count(&self) -> f64 {
        self.inner.key_count() as f64
    }

    /// Days with daily totals.
    #[napi]
    pub fn daily_days(&self) -> f64 {
        self.inner.daily_days() as f64
    }

    /// The row changes since the last call, in apply order.
    #[napi]
    pub fn take_changes<'e>(&mut self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::buckets_changes(&self.inner.take_changes()))
    }

    /// Every stored row.
    #[napi]
    pub fn rows<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::buckets_rows(&self.inner.rows()))
    }
}

crate::run_loop!(Buckets);
