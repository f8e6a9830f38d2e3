//! Month and year rollups move exactly their days; period totals sum a year, month or day
//! per key ordered by key; daily totals are ordered by (day, key).

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
use shardtally::{Error, Timestamp};

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// A machine with long retention, holding events on days around month and year ends.
fn recorded() -> Buckets {
    let mut b = Buckets::new(BucketsConfig::builder().raw_retention_days(1_000).build().unwrap());
    let events = [
        ("2022-01-31", "b", 1),
        ("2022-02-01", "b", 2),
        ("2022-02-01", "a", 3),
        ("2022-02-28", "Z", 4),
        ("2022-03-01", "a", 5),
        ("2022-12-31", "b", 6),
        ("2023-01-01", "a", 7),
    ];
    for (d, key, count) in events {
        let at = b.day_start(day(d)).unwrap().saturating_add(43_200_000);
        b.record_count(key, count, at, at).unwrap();
    }
    b
}

fn keyed(v: Vec<shardtally::buckets::KeyTotal>) -> Vec<(String, i64)> {
    v.into_iter().map(|t| (t.key.to_string(), t.total)).collect()
}

#[test]
fn a_month_rollup_moves_only_that_month() {
    let mut b = recorded();
    let now = b.day_start(day("2023-01-02")).unwrap();
    let out = b.rollup(Period::Month(2022, 2), now).unwrap();
    assert_eq!((out.days, out.rows, out.events), (2, 3, 9));
    assert_eq!(b.raw_days(), vec![day("2022-01-31"), day("2022-03-01"), day("2022-12-31"), day("2023-01-01")]);
    // Ordered by key in byte order: "Z" < "a" < "b".
    assert_eq!(keyed(b.period_totals(Period::Month(2022, 2)).unwrap()), vec![("Z".into(), 4), ("a".into(), 3), ("b".into(), 2)]);
    assert_eq!(keyed(b.period_totals(Period::Year(2022)).unwrap()), vec![("Z".into(), 4), ("a".into(), 3), ("b".into(), 2)]);
    assert_eq!(keyed(b.period_totals(Period::Day(day("2022-02-01"))).unwrap()), vec![("a".into(), 3), ("b".into(), 2)]);
    assert!(matches!(b.period_totals(Period::Month(2022, 1)), Err(Error::NotFound { .. })), "January is still raw");
}

#[test]
fn a_year_rollup_moves_the_whole_year_and_periods_sum_it() {
    let mut b = recorded();
    let now = b.day_start(day("2023-01-02")).unwrap();
    let out = b.rollup(Period::Year(2022), now).unwrap();
    assert_eq!((out.days, out.events), (5, 21));
    assert_eq!(b.raw_days(), vec![day("2023-01-01")]);
    assert_eq!(keyed(b.period_totals(Period::Year(2022)).unwrap()), vec![("Z".into(), 4), ("a".into(), 8), ("b".into(), 9)]);
    assert_eq!(keyed(b.period_totals(Period::Month(2022, 12)).unwrap()), vec![("b".into(), 6)]);
    assert!(matches!(b.period_totals(Period::Year(2023)), Err(Error::NotFound { .. })));
    b.rollup(Period::parse("2023").unwrap(), now).unwrap();
    assert_eq!(keyed(b.period_totals(Period::Year(2023)).unwrap()), vec![("a".into(), 7)]);
}

#[test]
fn daily_totals_are_ordered_by_day_then_key() {
    let mut b = recorded();
    let now = b.day_start(day("2023-01-02")).unwrap();
    b.rollup(Period::Year(2022), now).unwrap();
    b.rollup(Period::Year(2023), now).unwrap();
    let rows: Vec<(String, String, i64)> = b
        .daily_totals(day("2022-01-01"), day("2023-12-31"))
        .unwrap()
        .into_iter()
        .map(|t| (t.day.to_string(), t.key.to_string(), t.total))
        .collect();
    let want = [
        ("2022-01-31", "b", 1),
        ("2022-02-01", "a", 3),
        ("2022-02-01", "b", 2),
        ("2022-02-28", "Z", 4),
        ("2022-03-01", "a", 5),
        ("2022-12-31", "b", 6),
        ("2023-01-01", "a", 7),
    ];
    assert_eq!(rows, want.iter().map(|(d, k, n)| (d.to_string(), k.to_string(), *n)).collect::<Vec<_>>());
    // Inclusive bounds on both ends.
    assert_eq!(b.daily_totals(day("2022-02-01"), day("2022-02-28")).unwrap().len(), 3);
    assert_eq!(b.daily_totals(day("2022-02-02"), day("2022-02-27")).map_err(|e| e.code()), Err("NOT_FOUND"));
}

#[test]
fn events_recorded_together_count_together() {
    let mut b = Buckets::new(BucketsConfig::default());
    let at = Timestamp::from_millis(1_665_964_800_000);
    b.record_many(&[("b", 2), ("a", 1), ("b", 3), ("c", 0)], at, at).unwrap();
    let d = b.day_of(at).unwrap();
    assert_eq!((b.raw_count(d, "a"), b.raw_count(d, "b"), b.raw_count(d, "c")), (1, 5, 0));
    assert_eq!(b.key_count(), 2, "a zero count holds no key");
    assert_eq!((b.stats().records, b.stats().events), (1, 6));
}
