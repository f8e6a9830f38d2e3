//! Bucket tables are bounded: `max_keys` distinct keys (an error beyond, freed when their
//! rows go), `max_days` days of daily totals (the oldest dropped, counted).

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsChange, BucketsConfig, Day, Period};
use shardtally::Error;

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

#[test]
fn daily_totals_keep_at_most_max_days() {
    let mut b = Buckets::new(BucketsConfig::builder().max_days(2).build().unwrap());
    for (d, n) in [("2022-10-15", 1), ("2022-10-16", 2), ("2022-10-17", 3)] {
        let at = b.day_start(day(d)).unwrap();
        b.record_count("x", n, at, at).unwrap();
    }
    let now = b.day_start(day("2022-10-18")).unwrap();
    let _ = b.take_changes();
    let out = b.rollup(Period::Month(2022, 10), now).unwrap();
    assert_eq!((out.days, out.dropped_days), (3, 1));
    assert_eq!(b.daily_days(), 2);
    assert_eq!(b.daily_total(day("2022-10-15"), "x"), 0, "the oldest day was dropped");
    assert_eq!((b.stats().dropped_daily_days, b.stats().dropped_daily_events), (1, 1));
    assert!(b.take_changes().contains(&BucketsChange::DailyDayDeleted(day("2022-10-15"))));
    // A later day pushes out the 16th.
    let at = b.day_start(day("2022-10-18")).unwrap();
    b.record("x", at, at).unwrap();
    b.rollup(Period::Day(day("2022-10-18")), at).unwrap();
    let days: Vec<String> = b.daily_totals(day("2022-10-01"), day("2022-10-31")).unwrap().iter().map(|t| t.day.to_string()).collect();
    assert_eq!(days, vec!["2022-10-17", "2022-10-18"]);
}

#[test]
fn keys_are_bounded_and_freed_with_their_rows() {
    let config = BucketsConfig::builder().max_keys(2).max_days(1).raw_retention_days(1).build().unwrap();
    let mut b = Buckets::new(config);
    let d1 = b.day_start(day("2022-10-16")).unwrap();
    b.record("a", d1, d1).unwrap();
    b.record("b", d1, d1).unwrap();
    assert_eq!(b.record("c", d1, d1), Err(Error::TableFull { table: "bucket keys", limit: 2 }));
    // Known keys are fine, in any day.
    let d2 = b.day_start(day("2022-10-17")).unwrap();
    b.record("a", d2, d2).unwrap();
    // Rolling up the 16th and then the 17th drops the 16th's totals (max_days 1): "b" goes.
    b.rollup(Period::Day(day("2022-10-16")), d2).unwrap();
    b.rollup(Period::Day(day("2022-10-17")), d2).unwrap();
    assert_eq!(b.key_count(), 1);
    b.record("c", d2, d2).unwrap();
    assert_eq!(b.key_count(), 2);
    // Keys of expired raw days are freed too.
    let d4 = b.day_start(day("2022-10-19")).unwrap();
    b.expire(d4);
    b.record("d", d4, d4).unwrap();
    assert_eq!(b.key_count(), 2, "\"a\" (daily 17th) and \"d\"");
}
