//! Rollups are additive: late data for a day already rolled up adds on the next rollup, and
//! re-running a rollup is never an error (count failed with AlreadyExists and stranded the
//! late rows).

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, BucketsStats, Day, Period, RollupOutcome};
use shardtally::Timestamp;

const OCT17: u64 = 1_665_964_800_000;
const DAY: u64 = 86_400_000;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn late_events_add_to_a_rolled_up_day() {
    let d = Day::parse("2022-10-17").unwrap();
    let mut b = Buckets::new(BucketsConfig::default());
    b.record_count("GET /a", 3, t(OCT17 + 1_000), t(OCT17 + 1_000)).unwrap();
    b.record("GET /b", t(OCT17 + 2_000), t(OCT17 + 2_000)).unwrap();
    let first = b.rollup(Period::Day(d), t(OCT17 + DAY)).unwrap();
    assert_eq!(first, RollupOutcome { days: 1, rows: 2, events: 4, dropped_days: 0 });
    assert_eq!(b.daily_total(d, "GET /a"), 3);

    // Late data for the 17th arrives on the 18th: it is raw again, and not yet reported.
    b.record_count("GET /a", 2, t(OCT17 + 5_000), t(OCT17 + DAY + 10)).unwrap();
    b.record("GET /c", t(OCT17 + 6_000), t(OCT17 + DAY + 20)).unwrap();
    assert_eq!(b.raw_count(d, "GET /a"), 2);
    assert_eq!(b.daily_total(d, "GET /a"), 3, "queries read rolled-up totals only");

    let second = b.rollup(Period::Day(d), t(OCT17 + DAY + 30)).unwrap();
    assert_eq!(second, RollupOutcome { days: 1, rows: 2, events: 3, dropped_days: 0 });
    let totals: Vec<(String, i64)> = b.daily_totals(d, d).unwrap().into_iter().map(|x| (x.key.to_string(), x.total)).collect();
    assert_eq!(totals, vec![("GET /a".into(), 5), ("GET /b".into(), 1), ("GET /c".into(), 1)]);
    assert!(b.raw_days().is_empty());
}

#[test]
fn rerunning_a_rollup_with_nothing_new_is_safe() {
    let d = Day::parse("2022-10-17").unwrap();
    let mut b = Buckets::new(BucketsConfig::default());
    b.record("x", t(OCT17), t(OCT17)).unwrap();
    b.rollup(Period::Day(d), t(OCT17 + DAY)).unwrap();
    let totals = b.daily_totals(d, d).unwrap();
    for _ in 0..3 {
        assert_eq!(b.rollup(Period::Day(d), t(OCT17 + DAY)).unwrap(), RollupOutcome::default());
        assert_eq!(b.rollup(Period::Month(2022, 10), t(OCT17 + DAY)).unwrap(), RollupOutcome::default());
    }
    assert_eq!(b.daily_totals(d, d).unwrap(), totals);
    let s: BucketsStats = b.stats();
    assert_eq!((s.rollups, s.rolled_up_events, s.events), (7, 1, 1));
}
