//! The change journal: which rows changed since the host last took the changes.
//!
//! A host that stores a [`Buckets`](crate::Buckets) machine as rows (one table of raw
//! counts keyed by `(day, key)`, one of daily totals keyed by `(day, key)`, one meta row)
//! applies [`BucketsChange`]s in order after each input and writes only what changed;
//! [`Buckets::from_rows`](crate::Buckets::from_rows) rebuilds an equal machine from the rows.

use super::day::Day;
use super::BucketsStats;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The machine-wide row: the latest `now` seen and the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketsMeta {
    /// The latest `now` seen.
    pub clock: Timestamp,
    /// The activity counters.
    pub stats: BucketsStats,
}

impl BucketsMeta {
    /// The row as bytes (a checksummed envelope), for a store that keeps it as a blob.
    pub fn encode(&self) -> Vec<u8> {
        crate::snapshot::encode(crate::snapshot::Kind::BucketsMeta, self)
    }

    /// Decodes [`encode`](Self::encode)d bytes.
    pub fn decode(bytes: &[u8]) -> Result<BucketsMeta, crate::DecodeError> {
        crate::snapshot::decode(crate::snapshot::Kind::BucketsMeta, bytes)
    }
}

/// One stored row of a [`Buckets`](crate::Buckets) machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketsRow {
    /// Events of `key` on `day` not rolled up yet (primary key `(day, key)`; `count > 0`).
    Raw {
        /// The local day of the events.
        day: Day,
        /// The key.
        key: Arc<str>,
        /// How many events.
        count: i64,
    },
    /// The rolled-up total of `key` on `day` (primary key `(day, key)`; `total > 0`).
    Daily {
        /// The day.
        day: Day,
        /// The key.
        key: Arc<str>,
        /// Events rolled up so far.
        total: i64,
    },
    /// The single meta row.
    Meta(BucketsMeta),
}

/// One change to the stored rows, from [`Buckets::take_changes`](crate::Buckets::take_changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BucketsChange {
    /// Insert or replace this row (by its primary key).
    Upsert(BucketsRow),
    /// Delete every raw row of this day (rolled up or past retention).
    RawDayDeleted(Day),
    /// Delete every daily row of this day (dropped by `max_days`).
    DailyDayDeleted(Day),
}

/// Rows touched since the last take; values are read from the machine at take time.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    raw_days_deleted: BTreeSet<Day>,
    raw_rows: BTreeMap<Day, BTreeSet<Arc<str>>>,
    daily_days_deleted: BTreeSet<Day>,
    daily_rows: BTreeMap<Day, BTreeSet<Arc<str>>>,
    meta: bool,
}

/// A table of `(day, key) → value` as the machine holds it.
pub(crate) type Table = BTreeMap<Day, BTreeMap<Arc<str>, i64>>;

impl Journal {
    pub(crate) fn raw_row(&mut self, day: Day, key: &Arc<str>) {
        self.raw_rows.entry(day).or_default().insert(key.clone());
    }

    pub(crate) fn raw_day_deleted(&mut self, day: Day) {
        self.raw_rows.remove(&day);
        self.raw_days_deleted.insert(day);
    }

    pub(crate) fn daily_row(&mut self, day: Day, key: &Arc<str>) {
        self.daily_rows.entry(day).or_default().insert(key.clone());
    }

    pub(crate) fn daily_day_deleted(&mut self, day: Day) {
        self.daily_rows.remove(&day);
        self.daily_days_deleted.insert(day);
    }

    pub(crate) fn meta(&mut self) {
        self.meta = true;
    }

    /// The changes in apply order: raw day deletions, raw upserts, daily day deletions,
    /// daily upserts (each by day, then key), then the meta row.
    pub(crate) fn take(&mut self, raw: &Table, daily: &Table, meta: BucketsMeta) -> Vec<BucketsChange> {
        let mut out = Vec::new();
        out.extend(std::mem::take(&mut self.raw_days_deleted).into_iter().map(BucketsChange::RawDayDeleted));
        upserts(&mut out, std::mem::take(&mut self.raw_rows), raw, |day, key, count| BucketsRow::Raw { day, key, count });
        out.extend(std::mem::take(&mut self.daily_days_deleted).into_iter().map(BucketsChange::DailyDayDeleted));
        upserts(&mut out, std::mem::take(&mut self.daily_rows), daily, |day, key, total| BucketsRow::Daily { day, key, total });
        if std::mem::take(&mut self.meta) {
            out.push(BucketsChange::Upsert(BucketsRow::Meta(meta)));
        }
        out
    }
}

/// Rows are only ever removed a whole day at a time, and a day deletion forgets the day's
/// touched rows, so every touched row still exists.
fn upserts(
    out: &mut Vec<BucketsChange>,
    touched: BTreeMap<Day, BTreeSet<Arc<str>>>,
    table: &Table,
    row: impl Fn(Day, Arc<str>, i64) -> BucketsRow,
) {
    for (day, keys) in touched {
        let Some(values) = table.get(&day) else { continue };
        for key in keys {
            if let Some(v) = values.get(&key) {
                out.push(BucketsChange::Upsert(row(day, key, *v)));
            }
        }
    }
}
