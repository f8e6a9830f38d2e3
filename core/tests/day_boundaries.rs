//! Day boundaries are exact to the millisecond: the last millisecond of a local day and the
//! first of the next land in different days, for both grouping and ranges, at any offset.

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
use shardtally::Timestamp;

fn totals(b: &Buckets, day: Day) -> Vec<(String, i64)> {
    b.daily_totals(day, day).unwrap().into_iter().map(|t| (t.key.to_string(), t.total)).collect()
}

#[test]
fn the_last_and_first_millisecond_of_a_day_land_in_different_days() {
    let d17 = Day::parse("2022-10-17").unwrap();
    let d18 = Day::parse("2022-10-18").unwrap();
    for offset in [0, -300, 330, 1_439, -1_439] {
        let mut b = Buckets::new(BucketsConfig::builder().utc_offset_minutes(offset).build().unwrap());
        let first18 = b.day_start(d18).unwrap();
        let last17 = Timestamp::from_millis(first18.as_millis() - 1);
        assert_eq!(b.day_of(last17).unwrap(), d17, "offset {offset}");
        assert_eq!(b.day_of(first18).unwrap(), d18, "offset {offset}");
        assert_eq!(b.day_start(d17).unwrap().as_millis(), first18.as_millis() - 86_400_000);

        b.record("last", last17, first18).unwrap();
        b.record("first", first18, first18).unwrap();
        b.rollup(Period::Day(d17), first18).unwrap();
        assert_eq!(totals(&b, d17), vec![("last".into(), 1)], "offset {offset}");
        assert!(b.daily_totals(d18, d18).is_err(), "the 18th is not rolled up yet");
        b.rollup(Period::Day(d18), first18).unwrap();
        assert_eq!(totals(&b, d18), vec![("first".into(), 1)], "offset {offset}");
    }
}

#[test]
fn utc_day_starts_are_whole_days_since_the_epoch() {
    let b = Buckets::new(BucketsConfig::default());
    let d = Day::parse("2022-10-17").unwrap();
    assert_eq!(b.day_start(d), Some(Timestamp::from_millis(1_665_964_800_000)));
    assert_eq!(b.day_start(Day::parse("1970-01-01").unwrap()), Some(Timestamp::ZERO));
    assert_eq!(b.day_start(Day::parse("1969-12-31").unwrap()), None, "before the epoch");
    // At UTC+05:30 the first local day starts before the epoch; the epoch is in it.
    let ist = Buckets::new(BucketsConfig::builder().utc_offset_minutes(330).build().unwrap());
    assert_eq!(ist.day_of(Timestamp::ZERO).unwrap(), Day::parse("1970-01-01").unwrap());
    assert_eq!(ist.day_start(Day::parse("1970-01-01").unwrap()), None);
}
