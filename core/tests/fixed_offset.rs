//! One fixed UTC offset is used for grouping events *and* for ranges and periods (count
//! grouped by the session time zone but ranged in UTC, so rows landed on the wrong day).

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
use shardtally::Timestamp;
use std::collections::BTreeMap;

const H: u64 = 3_600_000;
const OCT17_UTC: u64 = 1_665_964_800_000; // 2022-10-17T00:00Z

fn buckets(offset: i32) -> Buckets {
    Buckets::new(BucketsConfig::builder().utc_offset_minutes(offset).build().unwrap())
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

#[test]
fn the_same_instants_group_by_the_configured_offset() {
    // 02:00Z and 20:00Z on the 17th.
    let early = Timestamp::from_millis(OCT17_UTC + 2 * H);
    let late = Timestamp::from_millis(OCT17_UTC + 20 * H);
    let now = Timestamp::from_millis(OCT17_UTC + 24 * H);
    for (offset, early_day, late_day) in
        [(0, "2022-10-17", "2022-10-17"), (-300, "2022-10-16", "2022-10-17"), (330, "2022-10-17", "2022-10-18")]
    {
        let mut b = buckets(offset);
        assert_eq!(b.record("GET /a", early, now).unwrap(), shardtally::buckets::RecordOutcome::Recorded { day: day(early_day) });
        b.record("GET /a", late, now).unwrap();
        b.rollup(Period::Month(2022, 10), now).unwrap();
        let rows: Vec<(String, i64)> =
            b.daily_totals(day("2022-10-16"), day("2022-10-18")).unwrap().into_iter().map(|t| (t.day.to_string(), t.total)).collect();
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        *want.entry(early_day.to_string()).or_default() += 1;
        *want.entry(late_day.to_string()).or_default() += 1;
        assert_eq!(rows, want.into_iter().collect::<Vec<_>>(), "offset {offset}");
    }
}

#[test]
fn ranges_and_periods_agree_with_grouping_at_every_offset() {
    for offset in [-300, 330] {
        let mut b = buckets(offset);
        // An event every 37 minutes for three UTC days, keys in turn.
        let mut at = OCT17_UTC - 24 * H;
        let end = OCT17_UTC + 48 * H;
        let mut expected: BTreeMap<(Day, String), i64> = BTreeMap::new();
        let mut i = 0;
        while at < end {
            let key = format!("k{}", i % 3);
            let t = Timestamp::from_millis(at);
            b.record(&key, t, t).unwrap();
            // The local day, computed independently of the machine.
            let local = at as i64 + i64::from(offset) * 60_000;
            let d = Day::from_days_since_epoch(local.div_euclid(86_400_000)).unwrap();
            *expected.entry((d, key)).or_default() += 1;
            at += 37 * 60_000;
            i += 1;
        }
        b.rollup(Period::Year(2022), Timestamp::from_millis(end)).unwrap();
        let days: Vec<Day> = expected.keys().map(|(d, _)| *d).collect();
        let (first, last) = (days[0], days[days.len() - 1]);
        let got: BTreeMap<(Day, String), i64> =
            b.daily_totals(first, last).unwrap().into_iter().map(|t| ((t.day, t.key.to_string()), t.total)).collect();
        assert_eq!(got, expected, "offset {offset}");
        // Each day's period total is the sum of that day's range, and every day's range is
        // exactly the instants day_start(d)..day_start(d + 1).
        for d in days {
            let per_day: i64 = b.period_totals(Period::Day(d)).unwrap().iter().map(|t| t.total).sum();
            let ranged: i64 = b.daily_totals(d, d).unwrap().iter().map(|t| t.total).sum();
            assert_eq!(per_day, ranged);
            let start = b.day_start(d).map_or(i64::MIN, |t| t.as_millis() as i64);
            assert_eq!(start, d.days_since_epoch() * 86_400_000 - i64::from(offset) * 60_000);
        }
    }
}
