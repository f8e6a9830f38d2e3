//! The time buckets' outcomes, query results, rows and changes. Days are `"YYYY-MM-DD"`
//! strings.

use crate::value::{Entries, Record, Value};
use shardtally::buckets::{
    BucketsChange, BucketsMeta, BucketsRow, BucketsStats, DailyTotal, Day, ExpireOutcome, KeyTotal, RecordOutcome, RollupOutcome,
};

fn day(d: Day) -> Value {
    Value::from(d.to_string().as_str())
}

/// Days as `"YYYY-MM-DD"` strings.
pub fn days(all: &[Day]) -> Value {
    Value::List(all.iter().map(|d| day(*d)).collect())
}

/// What a record input did (`RecordOutcome`, tag `recorded` or `too_old`, with `day`).
pub fn record_outcome(o: RecordOutcome) -> Record {
    match o {
        RecordOutcome::Recorded { day: d } => Record::new("RecordOutcome", Some("recorded")).with("day", day(d)),
        RecordOutcome::TooOld { day: d } => Record::new("RecordOutcome", Some("too_old")).with("day", day(d)),
    }
}

/// What `rollup` did (`RollupOutcome`).
pub fn rollup_outcome(o: RollupOutcome) -> Record {
    Record::new("RollupOutcome", None)
        .with("days", o.days)
        .with("rows", o.rows)
        .with("events", o.events)
        .with("dropped_days", o.dropped_days)
}

/// What `expire` did (`ExpireOutcome`).
pub fn expire_outcome(o: ExpireOutcome) -> Record {
    Record::new("ExpireOutcome", None).with("days", o.days).with("events", o.events)
}

/// Daily totals, by day then key: `[DailyTotal {day, key, total}]`.
pub fn daily_totals(all: &[DailyTotal]) -> Value {
    Value::List(
        all.iter()
            .map(|t| {
                Value::Record(Record::new("DailyTotal", None).with("day", day(t.day)).with("key", t.key.clone()).with("total", t.total))
            })
            .collect(),
    )
}

/// Each key's total over a period, by key: `[{key, total}]` (`KeyTotal` entries).
pub fn period_totals(all: &[KeyTotal]) -> Entries {
    Entries::pairs("KeyTotal", "total", all.iter().map(|t| (&t.key, t.total)))
}

/// The buckets' activity counters.
pub fn buckets_stats(s: BucketsStats) -> Record {
    Record::new("BucketsStats", None)
        .with("records", s.records)
        .with("events", s.events)
        .with("too_old_events", s.too_old_events)
        .with("expired_days", s.expired_days)
        .with("expired_events", s.expired_events)
        .with("rollups", s.rollups)
        .with("rolled_up_events", s.rolled_up_events)
        .with("dropped_daily_days", s.dropped_daily_days)
        .with("dropped_daily_events", s.dropped_daily_events)
}

fn meta(m: &BucketsMeta) -> Record {
    Record::new("BucketsMeta", Some("meta"))
        .with("clock", m.clock.as_millis())
        .with("stats", buckets_stats(m.stats))
        .with("bytes", m.encode())
}

/// One stored row: `BucketsRawRow` (`raw`: `day`, `key`, `count`), `BucketsDailyRow`
/// (`daily`: `day`, `key`, `total`) or `BucketsMeta` (`meta`: `clock`, `stats`).
pub fn buckets_row(r: &BucketsRow) -> Record {
    match r {
        BucketsRow::Raw { day: d, key, count } => {
            Record::new("BucketsRawRow", Some("raw")).with("day", day(*d)).with("key", key.clone()).with("count", *count)
        }
        BucketsRow::Daily { day: d, key, total } => {
            Record::new("BucketsDailyRow", Some("daily")).with("day", day(*d)).with("key", key.clone()).with("total", *total)
        }
        BucketsRow::Meta(m) => meta(m),
    }
}

/// Every stored row (`rows()`).
pub fn buckets_rows(all: &[BucketsRow]) -> Value {
    Value::List(all.iter().map(|r| Value::Record(buckets_row(r))).collect())
}

/// One change of `take_changes()`, in apply order: an upserted row (as [`buckets_row`]),
/// `BucketsRawDayDeleted` (`raw_day_deleted`: every raw row of `day`) or
/// `BucketsDailyDayDeleted` (`daily_day_deleted`: every daily row of `day`).
pub fn buckets_change(c: &BucketsChange) -> Record {
    match c {
        BucketsChange::Upsert(r) => buckets_row(r),
        BucketsChange::RawDayDeleted(d) => Record::new("BucketsRawDayDeleted", Some("raw_day_deleted")).with("day", day(*d)),
        BucketsChange::DailyDayDeleted(d) => Record::new("BucketsDailyDayDeleted", Some("daily_day_deleted")).with("day", day(*d)),
    }
}

/// The changes of `take_changes()`.
pub fn buckets_changes(all: &[BucketsChange]) -> Value {
    Value::List(all.iter().map(|c| Value::Record(buckets_change(c))).collect())
}
