//! Time buckets: count events per key and day, roll raw counts into daily totals, and
//! answer daily and period queries (what the `count` service did, without its bugs).
//!
//! Events are recorded under a key (`"GET /users"`) at an event time with a count. Each
//! goes to the *raw* bucket of its day; [`Buckets::rollup`] moves raw counts of a day, month
//! or year into *daily totals*, **adding** to what is there, so late data rolled up later
//! adds and re-running a rollup is never an error. Queries read daily totals only (as
//! `count`'s reports did): raw counts not rolled up yet are not in any query result.
//!
//! One fixed UTC offset ([`BucketsConfig::utc_offset_minutes`]) defines the day of an event
//! *and* the days of every range and period, so grouping and ranges always agree.
//!
//! Hosts that count HTTP requests key them with [`request_key`] and [`default_route`]
//! (`"GET /users/:id"`), the one rule of every binding's middleware.
//!
//! ```
//! use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
//! use shardtally::Timestamp;
//!
//! let mut b = Buckets::new(BucketsConfig::default());
//! let day = Day::parse("2022-10-17")?;
//! let noon = b.day_start(day).unwrap().saturating_add(12 * 3_600_000);
//! b.record("GET /users", noon, noon)?;
//! b.record_count("GET /users", 2, noon, noon)?;
//! b.record_many(&[("GET /users", 1), ("POST /users", 4)], noon, noon)?;
//! assert!(b.daily_totals(day, day).is_err(), "raw counts are not reported before a rollup");
//!
//! b.rollup(Period::Day(day), noon)?;
//! let totals: Vec<(String, i64)> =
//!     b.daily_totals(day, day)?.into_iter().map(|t| (t.key.to_string(), t.total)).collect();
//! assert_eq!(totals, vec![("GET /users".to_string(), 4), ("POST /users".to_string(), 4)]);
//!
//! // Late data adds on a re-run.
//! b.record("POST /users", noon, noon)?;
//! b.rollup(Period::Day(day), noon)?;
//! assert_eq!(b.period_totals(Period::Month(2022, 10))?[1].total, 5);
//!
//! // A store writes only what changed.
//! let changes = b.take_changes();
//! assert!(!changes.is_empty());
//! assert!(b.take_changes().is_empty());
//! # Ok::<(), shardtally::Error>(())
//! ```

mod config;
mod day;
mod journal;
mod route;

pub use config::{BucketsConfig, BucketsConfigBuilder};
pub use day::{Day, Period, MS_PER_DAY};
pub use journal::{BucketsChange, BucketsMeta, BucketsRow};
pub use route::{default_route, request_key, METHODS};

use crate::error::{DecodeError, Error};
use crate::keys::validate_key;
use crate::message::Batch;
use crate::shard::Deadline;
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use ahash::AHashMap;
use day::{day_of, day_start_ms};
use journal::{Journal, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which timer a [`Buckets`] deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BucketsTimer {
    /// The oldest raw day falls out of `raw_retention_days`.
    Retention,
}

impl BucketsTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketsTimer::Retention => "retention",
        }
    }
}

/// Counters of a [`Buckets`] machine (kept in snapshots and the meta row).
///
/// Conservation: `events == rolled_up_events + expired_events + ` the raw counts held
/// (while no counter saturates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketsStats {
    /// Accepted record inputs (a batch is one).
    pub records: u64,
    /// Events counted into raw buckets.
    pub events: u64,
    /// Events dropped on arrival because their day was already past retention.
    pub too_old_events: u64,
    /// Raw day buckets dropped by retention before being rolled up.
    pub expired_days: u64,
    /// Events in those buckets.
    pub expired_events: u64,
    /// Rollup commands.
    pub rollups: u64,
    /// Events moved from raw buckets into daily totals.
    pub rolled_up_events: u64,
    /// Days of daily totals dropped because more than `max_days` were held.
    pub dropped_daily_days: u64,
    /// Events in those daily totals.
    pub dropped_daily_events: u64,
}

/// What a record input did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Counted in the raw bucket of this day.
    Recorded {
        /// The local day of the event time.
        day: Day,
    },
    /// Dropped (counted in [`BucketsStats::too_old_events`]): the day is past retention.
    TooOld {
        /// The local day of the event time.
        day: Day,
    },
}

/// What [`Buckets::rollup`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupOutcome {
    /// Raw day buckets rolled up.
    pub days: u32,
    /// Raw rows rolled up.
    pub rows: u64,
    /// Events rolled up.
    pub events: u64,
    /// Days of daily totals dropped afterwards by `max_days`.
    pub dropped_days: u32,
}

/// What [`Buckets::expire`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpireOutcome {
    /// Raw day buckets dropped.
    pub days: u32,
    /// Events in them.
    pub events: u64,
}

/// One daily total, from [`Buckets::daily_totals`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyTotal {
    /// The day.
    pub day: Day,
    /// The key.
    pub key: Arc<str>,
    /// Events rolled up for the key on the day.
    pub total: i64,
}

/// One key's total over a period, from [`Buckets::period_totals`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTotal {
    /// The key.
    pub key: Arc<str>,
    /// The sum of its daily totals in the period.
    pub total: i64,
}

/// Counts events per key and day and rolls them into daily totals.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:  record* / rollup / expire / handle_timeout
///     write take_changes() to the row store (or persist snapshot() if take_state_changed())
///     arm a timer for poll_timeout()          // optional: retention also runs on every input
/// }
/// ```
///
/// There are no outputs to drain: rollups and retention are commands, and the only deadline
/// is retention's (dropping raw days nobody rolled up). Hosts that roll up daily may ignore
/// it; the next input applies retention anyway.
///
/// # Methods by kind
///
/// - **Getters** (`&self`): [`config`](Self::config), [`day_of`](Self::day_of),
///   [`day_start`](Self::day_start), [`daily_totals`](Self::daily_totals),
///   [`period_totals`](Self::period_totals), [`daily_total`](Self::daily_total),
///   [`raw_count`](Self::raw_count), [`raw_days`](Self::raw_days),
///   [`raw_events`](Self::raw_events), [`key_count`](Self::key_count),
///   [`daily_days`](Self::daily_days), [`stats`](Self::stats),
///   [`next_deadline`](Self::next_deadline), [`rows`](Self::rows),
///   [`snapshot`](Self::snapshot).
/// - **Inputs** (take `now`): [`record`](Self::record), [`record_count`](Self::record_count),
///   [`record_many`](Self::record_many), [`record_batch`](Self::record_batch),
///   [`rollup`](Self::rollup), [`expire`](Self::expire),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Outputs**: [`poll_timeout`](Self::poll_timeout),
///   [`take_state_changed`](Self::take_state_changed), [`take_changes`](Self::take_changes).
/// - **Rebuilding**: [`new`](Self::new), [`from_rows`](Self::from_rows),
///   [`restore`](Self::restore).
///
/// # Time
///
/// Two times: the *event time* `at` (when the request happened, ms since the Unix epoch;
/// it picks the day) and `now` (the host's clock, also ms since the Unix epoch; it drives
/// retention). A `now` earlier than one already seen is treated as the latest seen. An event
/// time may lie in the past (late data is normal) but at most `max_future_ms` after `now`.
/// `handle_timeout` drops raw days past retention and is a no-op when early or repeated.
///
/// # Bounds
///
/// - Keys: non-empty, at most `max_key_bytes`; at most `max_keys` distinct keys in raw and
///   daily rows together — an event with one more is [`Error::TableFull`] (checked against
///   the keys held before the input's retention runs; call [`expire`](Self::expire) first
///   to free the keys of expired days).
/// - Raw days: from `raw_retention_days` before the day of `now` to the day of
///   `now + max_future_ms`. Older raw days are dropped and counted
///   ([`BucketsStats::expired_days`]); events for them are dropped and counted
///   ([`RecordOutcome::TooOld`]); later event times are [`Error::InvalidArgument`].
/// - Daily totals: at most `max_days` days; a rollup adding more drops the oldest days,
///   counted ([`BucketsStats::dropped_daily_days`]).
/// - Counts are `i64`, checked: an overflow is [`Error::Overflow`], nothing applied.
///
/// Every rejected input leaves the machine exactly as it was.
#[derive(Debug)]
pub struct Buckets {
    config: BucketsConfig,
    now: Timestamp,
    raw: Table,
    daily: Table,
    /// Rows (raw and daily) referencing each key; a key is held while it has any.
    keys: AHashMap<Arc<str>, u32>,
    stats: BucketsStats,
    journal: Journal,
    state_changed: bool,
}

impl Buckets {
    /// An empty machine.
    pub fn new(config: BucketsConfig) -> Buckets {
        Buckets {
            config,
            now: Timestamp::ZERO,
            raw: Table::new(),
            daily: Table::new(),
            keys: AHashMap::new(),
            stats: BucketsStats::default(),
            journal: Journal::default(),
            state_changed: false,
        }
    }

    // ----- getters -----

    /// The configuration in force.
    pub fn config(&self) -> &BucketsConfig {
        &self.config
    }

    /// The local day of an event time. Errors: [`Error::InvalidArgument`] after 9999-12-31.
    pub fn day_of(&self, at: Timestamp) -> Result<Day, Error> {
        day_of(at.as_millis(), self.config.utc_offset_minutes()).ok_or_else(|| Error::InvalidArgument {
            argument: "event time",
            value: at.as_millis().to_string(),
            expected: "on or before 9999-12-31",
        })
    }

    /// The first millisecond of a local day, or `None` when it is before the Unix epoch.
    pub fn day_start(&self, day: Day) -> Option<Timestamp> {
        u64::try_from(day_start_ms(day, self.config.utc_offset_minutes())).ok().map(Timestamp::from_millis)
    }

    /// Daily totals of the days `from..=to`, ordered by day, then key.
    ///
    /// Errors: [`Error::InvalidArgument`] when `from` is after `to`; [`Error::NotFound`]
    /// when no day in the range has a total.
    pub fn daily_totals(&self, from: Day, to: Day) -> Result<Vec<DailyTotal>, Error> {
        if from > to {
            return Err(Error::InvalidArgument {
                argument: "range",
                value: format!("{from}..={to}"),
                expected: "a range whose first day is not after its last",
            });
        }
        let out: Vec<DailyTotal> = self
            .daily
            .range(from..=to)
            .flat_map(|(day, row)| row.iter().map(|(key, total)| DailyTotal { day: *day, key: key.clone(), total: *total }))
            .collect();
        if out.is_empty() {
            return Err(Error::NotFound { what: "daily totals", query: format!("{from}..={to}") });
        }
        Ok(out)
    }

    /// Each key's total over a year, month or day, ordered by key.
    ///
    /// Errors: [`Error::InvalidArgument`] for a period that is not a calendar period;
    /// [`Error::NotFound`] when it has no totals; [`Error::Overflow`] when a sum exceeds `i64`.
    pub fn period_totals(&self, period: Period) -> Result<Vec<KeyTotal>, Error> {
        let (first, last) = period.days()?;
        let mut sums: BTreeMap<&Arc<str>, i64> = BTreeMap::new();
        for row in self.daily.range(first..=last).map(|(_, row)| row) {
            for (key, total) in row {
                let sum = sums.entry(key).or_insert(0);
                *sum = sum.checked_add(*total).ok_or_else(|| Error::Overflow { key: key.to_string(), current: *sum, delta: *total })?;
            }
        }
        if sums.is_empty() {
            return Err(Error::NotFound { what: "totals", query: period.to_string() });
        }
        Ok(sums.into_iter().map(|(key, total)| KeyTotal { key: key.clone(), total }).collect())
    }

    /// The rolled-up total of one key on one day (0 when none).
    pub fn daily_total(&self, day: Day, key: &str) -> i64 {
        self.daily.get(&day).and_then(|row| row.get(key)).copied().unwrap_or(0)
    }

    /// The raw (not rolled-up) count of one key on one day (0 when none).
    pub fn raw_count(&self, day: Day, key: &str) -> i64 {
        self.raw.get(&day).and_then(|row| row.get(key)).copied().unwrap_or(0)
    }

    /// Days with raw counts, oldest first.
    pub fn raw_days(&self) -> Vec<Day> {
        self.raw.keys().copied().collect()
    }

    /// Events held in raw buckets (saturating).
    pub fn raw_events(&self) -> u64 {
        self.raw.values().flat_map(|row| row.values()).fold(0u64, |sum, c| sum.saturating_add(c.unsigned_abs()))
    }

    /// Distinct keys held in raw and daily rows.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Days with daily totals.
    pub fn daily_days(&self) -> usize {
        self.daily.len()
    }

    /// Activity counters.
    pub fn stats(&self) -> BucketsStats {
        self.stats
    }

    /// The next deadline: when the oldest raw day falls out of retention.
    pub fn next_deadline(&self) -> Option<Deadline<BucketsTimer>> {
        let (oldest, _) = self.raw.first_key_value()?;
        let expires = oldest.checked_add_days(i64::from(self.config.raw_retention_days()) + 1)?;
        let at = u64::try_from(day_start_ms(expires, self.config.utc_offset_minutes())).unwrap_or(0);
        Some(Deadline { at: Timestamp::from_millis(at), timer: BucketsTimer::Retention })
    }

    /// Every row (raw rows, daily rows, the meta row), for a store's first full write.
    pub fn rows(&self) -> Vec<BucketsRow> {
        let raw = self.raw.iter().flat_map(|(d, r)| r.iter().map(|(k, c)| BucketsRow::Raw { day: *d, key: k.clone(), count: *c }));
        let daily = self.daily.iter().flat_map(|(d, r)| r.iter().map(|(k, t)| BucketsRow::Daily { day: *d, key: k.clone(), total: *t }));
        raw.chain(daily).chain(std::iter::once(BucketsRow::Meta(self.meta()))).collect()
    }

    // ----- inputs -----

    /// Records one event of `key` at event time `at`. See [`record_count`](Self::record_count).
    pub fn record(&mut self, key: &str, at: Timestamp, now: Timestamp) -> Result<RecordOutcome, Error> {
        self.record_entries([(key, 1)], at, now)
    }

    /// Records `count` events of `key` at event time `at` (a count of 0 changes no bucket).
    ///
    /// Errors (nothing changes): [`Error::EmptyKey`], [`Error::KeyTooLong`],
    /// [`Error::InvalidArgument`] (a negative count, an event time after 9999-12-31 or more
    /// than `max_future_ms` after `now`), [`Error::Overflow`], [`Error::TableFull`]
    /// (`max_keys`). An event for a day past retention is not an error: it is dropped and
    /// counted ([`RecordOutcome::TooOld`]).
    pub fn record_count(&mut self, key: &str, count: i64, at: Timestamp, now: Timestamp) -> Result<RecordOutcome, Error> {
        self.record_entries([(key, count)], at, now)
    }

    /// Records several `(key, count)` entries at one event time as one input, atomically
    /// (repeated keys add up). Errors: those of [`record_count`](Self::record_count), and
    /// [`Error::InvalidArgument`] for an empty slice.
    pub fn record_many<K: AsRef<str>>(&mut self, entries: &[(K, i64)], at: Timestamp, now: Timestamp) -> Result<RecordOutcome, Error> {
        self.record_entries(entries.iter().map(|(k, c)| (k.as_ref(), *c)), at, now)
    }

    /// Records a shard's or global's [`Batch`] of deltas at one event time (generations are
    /// ignored; a negative delta is an [`Error::InvalidArgument`]). Otherwise as
    /// [`record_many`](Self::record_many).
    pub fn record_batch(&mut self, batch: &Batch, at: Timestamp, now: Timestamp) -> Result<RecordOutcome, Error> {
        self.record_entries(batch.entries().iter().map(|e| (e.key(), e.delta())), at, now)
    }

    /// Moves the raw counts of every day of `period` into daily totals, adding to the totals
    /// already there. Re-running it is safe: raw counts recorded since (late data) add, and
    /// with none it changes only the counters. Retention runs first, so raw days past it are
    /// dropped rather than rolled up. Afterwards, beyond `max_days` days of totals the oldest
    /// are dropped (counted).
    ///
    /// Errors (nothing changes): [`Error::InvalidArgument`] for a period that is not a
    /// calendar period; [`Error::Overflow`] when a daily total would exceed `i64`.
    pub fn rollup(&mut self, period: Period, now: Timestamp) -> Result<RollupOutcome, Error> {
        let (first, last) = period.days()?;
        let now = self.now.max(now);
        let lo = first.max(self.cutoff(now));
        if lo <= last {
            for (day, row) in self.raw.range(lo..=last) {
                let totals = self.daily.get(day);
                for (key, count) in row {
                    let current = totals.and_then(|t| t.get(key)).copied().unwrap_or(0);
                    if current.checked_add(*count).is_none() {
                        return Err(Error::Overflow { key: key.to_string(), current, delta: *count });
                    }
                }
            }
        }
        self.advance(now);
        let mut outcome = RollupOutcome::default();
        let days: Vec<Day> = self.raw.range(first..=last).map(|(d, _)| *d).collect();
        for day in days {
            let Some(row) = self.raw.remove(&day) else { continue };
            self.journal.raw_day_deleted(day);
            let totals = self.daily.entry(day).or_default();
            for (key, count) in row {
                match totals.get_mut(&key) {
                    Some(total) => {
                        *total += count; // checked above
                        release(&mut self.keys, &key);
                    }
                    // The raw row's reference to the key moves to the new daily row.
                    None => {
                        totals.insert(key.clone(), count);
                    }
                }
                self.journal.daily_row(day, &key);
                outcome.rows += 1;
                outcome.events = outcome.events.saturating_add(count.unsigned_abs());
            }
            outcome.days += 1;
        }
        let max_days = self.config.max_days() as usize;
        while self.daily.len() > max_days {
            let Some((day, row)) = self.daily.pop_first() else { break };
            for (key, total) in row {
                self.stats.dropped_daily_events = self.stats.dropped_daily_events.saturating_add(total.unsigned_abs());
                release(&mut self.keys, &key);
            }
            self.journal.daily_day_deleted(day);
            self.stats.dropped_daily_days += 1;
            outcome.dropped_days += 1;
        }
        self.stats.rollups += 1;
        self.stats.rolled_up_events = self.stats.rolled_up_events.saturating_add(outcome.events);
        Ok(outcome)
    }

    /// Drops raw days past retention (counted). With nothing to drop, changes nothing.
    pub fn expire(&mut self, now: Timestamp) -> ExpireOutcome {
        let now = self.now.max(now);
        let cutoff = self.cutoff(now);
        if self.raw.first_key_value().is_none_or(|(day, _)| *day >= cutoff) {
            return ExpireOutcome::default();
        }
        self.advance(now)
    }

    /// Fires the retention deadline: [`expire`](Self::expire). A no-op when early or repeated.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.expire(now);
    }

    // ----- outputs -----

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call (exactly when
    /// [`snapshot`](Self::snapshot) would differ).
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    /// The row changes since the last call, in apply order: raw day deletions, raw row
    /// upserts, daily day deletions, daily row upserts (each by day, then key), then the
    /// meta row. Applying them to a row store and rebuilding with
    /// [`from_rows`](Self::from_rows) gives a machine equal to this one.
    pub fn take_changes(&mut self) -> Vec<BucketsChange> {
        let meta = self.meta();
        self.journal.take(&self.raw, &self.daily, meta)
    }

    // ----- snapshots and rows -----

    /// The whole state as versioned bytes (the journal is not included).
    pub fn snapshot(&self) -> Vec<u8> {
        let table =
            |t: &Table| -> Vec<DayRows> { t.iter().map(|(d, row)| (*d, row.iter().map(|(k, v)| (k.clone(), *v)).collect())).collect() };
        snapshot::encode(Kind::BucketsSnapshot, &BucketsState { meta: self.meta(), raw: table(&self.raw), daily: table(&self.daily) })
    }

    /// Restores a machine from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8], config: BucketsConfig) -> Result<Buckets, DecodeError> {
        let s: BucketsState = snapshot::decode(Kind::BucketsSnapshot, bytes)?;
        if s.raw.iter().chain(&s.daily).any(|(_, row)| row.is_empty()) {
            return Err(DecodeError::corrupt("a day without rows"));
        }
        let raw = s.raw.into_iter().flat_map(|(day, row)| row.into_iter().map(move |(key, count)| BucketsRow::Raw { day, key, count }));
        let daily =
            s.daily.into_iter().flat_map(|(day, row)| row.into_iter().map(move |(key, total)| BucketsRow::Daily { day, key, total }));
        Buckets::from_rows(raw.chain(daily).chain(std::iter::once(BucketsRow::Meta(s.meta))), config)
    }

    /// Rebuilds a machine from stored rows (in any order; without a meta row the clock and
    /// counters start at zero).
    ///
    /// Errors ([`DecodeError::Corrupt`]): an invalid day or key, a count or total that is
    /// not positive, two rows with the same primary key, two meta rows, or more keys or
    /// daily days than the configuration allows.
    pub fn from_rows(rows: impl IntoIterator<Item = BucketsRow>, config: BucketsConfig) -> Result<Buckets, DecodeError> {
        let mut b = Buckets::new(config);
        let mut meta = None;
        for row in rows {
            match row {
                BucketsRow::Raw { day, key, count } => b.insert_row(true, day, key, count)?,
                BucketsRow::Daily { day, key, total } => b.insert_row(false, day, key, total)?,
                BucketsRow::Meta(m) => {
                    if meta.replace(m).is_some() {
                        return Err(DecodeError::corrupt("two meta rows"));
                    }
                }
            }
        }
        if b.keys.len() > config.max_keys() {
            return Err(DecodeError::corrupt(format!("{} keys, at most {} allowed", b.keys.len(), config.max_keys())));
        }
        if b.daily.len() > config.max_days() as usize {
            return Err(DecodeError::corrupt(format!("{} days of totals, at most {} allowed", b.daily.len(), config.max_days())));
        }
        let meta = meta.unwrap_or_default();
        b.now = meta.clock;
        b.stats = meta.stats;
        Ok(b)
    }

    // ----- internals -----

    fn meta(&self) -> BucketsMeta {
        BucketsMeta { clock: self.now, stats: self.stats }
    }

    /// The oldest raw day kept at `now`.
    fn cutoff(&self, now: Timestamp) -> Day {
        let today = day_of(now.as_millis(), self.config.utc_offset_minutes()).unwrap_or(Day::MAX);
        today.checked_add_days(-i64::from(self.config.raw_retention_days())).unwrap_or(Day::MIN)
    }

    /// Validates, then applies one record input.
    fn record_entries<'k>(
        &mut self,
        entries: impl IntoIterator<Item = (&'k str, i64)>,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<RecordOutcome, Error> {
        let max_key_bytes = self.config.max_key_bytes();
        let mut merged: BTreeMap<&'k str, i64> = BTreeMap::new();
        for (key, count) in entries {
            validate_key(key, max_key_bytes)?;
            if count < 0 {
                return Err(Error::InvalidArgument { argument: "count", value: count.to_string(), expected: "not negative" });
            }
            let sum = merged.entry(key).or_insert(0);
            *sum = sum.checked_add(count).ok_or_else(|| Error::Overflow { key: key.to_owned(), current: *sum, delta: count })?;
        }
        if merged.is_empty() {
            return Err(Error::InvalidArgument { argument: "entries", value: "[]".to_owned(), expected: "present" });
        }
        let day = self.day_of(at)?;
        let now = self.now.max(now);
        if at.as_millis() > now.as_millis().saturating_add(self.config.max_future_ms()) {
            return Err(Error::InvalidArgument {
                argument: "event time",
                value: at.as_millis().to_string(),
                expected: "at most max_future_ms after now",
            });
        }
        let too_old = day < self.cutoff(now);
        if !too_old {
            let row = self.raw.get(&day);
            let mut new_keys = 0usize;
            for (key, count) in &merged {
                let current = row.and_then(|r| r.get(*key)).copied().unwrap_or(0);
                if current.checked_add(*count).is_none() {
                    return Err(Error::Overflow { key: (*key).to_owned(), current, delta: *count });
                }
                if *count > 0 && !self.keys.contains_key(*key) {
                    new_keys += 1;
                }
            }
            if new_keys > 0 && self.keys.len() + new_keys > self.config.max_keys() {
                return Err(Error::TableFull { table: "bucket keys", limit: self.config.max_keys() });
            }
        }
        self.advance(now);
        self.stats.records += 1;
        let events = merged.values().fold(0u64, |sum, c| sum.saturating_add(c.unsigned_abs()));
        if too_old {
            self.stats.too_old_events = self.stats.too_old_events.saturating_add(events);
            return Ok(RecordOutcome::TooOld { day });
        }
        for (key, count) in merged {
            if count == 0 {
                continue;
            }
            let row = self.raw.entry(day).or_default();
            let key = match row.get_key_value(key) {
                Some((k, _)) => k.clone(),
                None => hold(&mut self.keys, key),
            };
            *row.entry(key.clone()).or_insert(0) += count; // checked above
            self.journal.raw_row(day, &key);
        }
        self.stats.events = self.stats.events.saturating_add(events);
        Ok(RecordOutcome::Recorded { day })
    }

    /// Moves the clock to `now` (already `>=` the last seen), marks the state changed and
    /// applies retention.
    fn advance(&mut self, now: Timestamp) -> ExpireOutcome {
        self.now = now;
        self.state_changed = true;
        self.journal.meta();
        let cutoff = self.cutoff(now);
        let mut outcome = ExpireOutcome::default();
        while self.raw.first_key_value().is_some_and(|(day, _)| *day < cutoff) {
            let Some((day, row)) = self.raw.pop_first() else { break };
            for (key, count) in row {
                outcome.events = outcome.events.saturating_add(count.unsigned_abs());
                release(&mut self.keys, &key);
            }
            self.journal.raw_day_deleted(day);
            outcome.days += 1;
        }
        self.stats.expired_days += u64::from(outcome.days);
        self.stats.expired_events = self.stats.expired_events.saturating_add(outcome.events);
        outcome
    }

    fn insert_row(&mut self, raw: bool, day: Day, key: Arc<str>, value: i64) -> Result<(), DecodeError> {
        if !day.is_valid() {
            return Err(DecodeError::corrupt("invalid day"));
        }
        validate_key(&key, self.config.max_key_bytes()).map_err(|e| DecodeError::corrupt(e.to_string()))?;
        if value <= 0 {
            return Err(DecodeError::corrupt(format!("row {day} {key:?} holds {value}, not a positive count")));
        }
        let table = if raw { &mut self.raw } else { &mut self.daily };
        let row = table.entry(day).or_default();
        if row.contains_key(&key) {
            return Err(DecodeError::corrupt(format!("two rows for {day} {key:?}")));
        }
        row.insert(hold(&mut self.keys, &key), value);
        Ok(())
    }
}

/// Adds a row reference to `key` and returns the shared copy of it.
fn hold(keys: &mut AHashMap<Arc<str>, u32>, key: &str) -> Arc<str> {
    if let Some((k, _)) = keys.get_key_value(key) {
        let k = k.clone();
        if let Some(refs) = keys.get_mut(key) {
            *refs += 1;
        }
        return k;
    }
    let k: Arc<str> = Arc::from(key);
    keys.insert(k.clone(), 1);
    k
}

/// Drops a row reference to `key`, forgetting the key with its last row.
fn release(keys: &mut AHashMap<Arc<str>, u32>, key: &str) {
    if let Some(refs) = keys.get_mut(key) {
        *refs -= 1;
        if *refs == 0 {
            keys.remove(key);
        }
    }
}

/// The serialized form of a [`Buckets`] machine.
#[derive(Serialize, Deserialize)]
struct BucketsState {
    meta: BucketsMeta,
    raw: Vec<DayRows>,
    daily: Vec<DayRows>,
}

/// One day of a table in a snapshot: `(day, [(key, value)])`, keys sorted.
type DayRows = (Day, Vec<(Arc<str>, i64)>);
