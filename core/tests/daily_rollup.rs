//! SPEC §11 scenario 10: events from 2022-10-16T00:00Z to 2022-10-18T00:00Z minus 1 ms, 1200
//! of them evenly spaced over 12 keys in turn → `rollup(2022-10-17)` gives 12 daily totals;
//! querying a day with no data is `NotFound`.
//!
//! Spacing: the span is 172_800_000 − 1 ms, so the step is ⌊172_799_999 / 1200⌋ = 143_999 ms
//! and event `i` (key `i % 12`) is at `start + 143_999·i`. Event 600 is at 86_399_400 ms,
//! 600 ms before 2022-10-17T00:00Z, so the 17th holds events 601..=1199: 599 events. Key 0 gets
//! i = 612, 624, …, 1188 (49 events); keys 1..=11 get 50 each (key 1: 601, …, 1189).

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
use shardtally::{Error, Timestamp};

const START: u64 = 1_665_878_400_000; // 2022-10-16T00:00:00.000Z
const END: u64 = 1_666_051_200_000; // 2022-10-18T00:00:00.000Z

fn key(i: u64) -> String {
    format!("GET /k{:02}", i % 12)
}

fn recorded() -> Buckets {
    let mut b = Buckets::new(BucketsConfig::default());
    let step = (END - 1 - START) / 1200;
    assert_eq!(step, 143_999);
    for i in 0..1200 {
        let at = Timestamp::from_millis(START + i * step);
        assert!(at.as_millis() < END);
        b.record(&key(i), at, at).unwrap();
    }
    b
}

#[test]
fn rollup_of_one_day_gives_twelve_daily_totals() {
    let mut b = recorded();
    let d16 = Day::parse("2022-10-16").unwrap();
    let d17 = Day::parse("2022-10-17").unwrap();
    assert_eq!(b.raw_days(), vec![d16, d17]);
    let now = Timestamp::from_millis(END);
    let outcome = b.rollup(Period::Day(d17), now).unwrap();
    assert_eq!((outcome.days, outcome.rows, outcome.events), (1, 12, 599));

    let totals = b.daily_totals(d17, d17).unwrap();
    let got: Vec<(Day, String, i64)> = totals.iter().map(|t| (t.day, t.key.to_string(), t.total)).collect();
    let want: Vec<(Day, String, i64)> = (0..12).map(|k| (d17, key(k), if k == 0 { 49 } else { 50 })).collect();
    assert_eq!(got, want);
    // The 16th is still raw (601 events), so its reports are empty until it is rolled up.
    assert_eq!(b.raw_events(), 601);
    assert!(matches!(b.daily_totals(d16, d16), Err(Error::NotFound { .. })));
}

#[test]
fn querying_a_day_with_no_data_is_not_found() {
    let mut b = recorded();
    let d17 = Day::parse("2022-10-17").unwrap();
    let d18 = Day::parse("2022-10-18").unwrap();
    b.rollup(Period::Day(d17), Timestamp::from_millis(END)).unwrap();
    let err = b.daily_totals(d18, d18).unwrap_err();
    assert_eq!(err, Error::NotFound { what: "daily totals", query: "2022-10-18..=2022-10-18".into() });
    assert_eq!(err.code(), "NOT_FOUND");
    assert_eq!(b.period_totals(Period::Day(d18)).map_err(|e| e.code()), Err("NOT_FOUND"));
    // A range that includes the 17th is found and holds only its rows.
    assert_eq!(b.daily_totals(d17, d18).unwrap().len(), 12);
}
