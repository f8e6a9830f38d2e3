//! The change journal: after every input, applying `take_changes()` to a row store and
//! rebuilding with `from_rows` gives a machine whose snapshot equals the live one's. Also:
//! `take_state_changed` is true exactly when the snapshot changed, snapshots round-trip,
//! the same inputs give the same changes, and events are conserved in the counters.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use shardtally::buckets::{Buckets, BucketsChange, BucketsConfig, BucketsRow, Day, Period};
use shardtally::Timestamp;
use std::collections::BTreeMap;

const DAY: u64 = 86_400_000;
const START: u64 = 1_665_964_800_000; // 2022-10-17T00:00Z

#[derive(Clone, Debug)]
enum Step {
    /// `(key, count, days before now (may be -1: tomorrow), ms into the day)`
    Record(u8, i64, i8, u32),
    Many(Vec<(u8, i64)>, i8),
    /// Roll up the day, month or year of `days before now`.
    Rollup(u8, i8),
    Advance(u32),
    Expire,
    Timeout,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..6, -1i64..4, -1i8..6, 0u32..DAY as u32).prop_map(|(k, c, d, ms)| Step::Record(k, c, d, ms)),
        2 => (proptest::collection::vec((0u8..6, 0i64..3), 0..4), -1i8..5).prop_map(|(e, d)| Step::Many(e, d)),
        2 => (0u8..3, -1i8..6).prop_map(|(p, d)| Step::Rollup(p, d)),
        2 => (0u32..(2 * DAY as u32)).prop_map(Step::Advance),
        1 => Just(Step::Expire),
        1 => Just(Step::Timeout),
        1 => Just(Step::Restart),
    ]
}

fn config(offset: i32) -> BucketsConfig {
    BucketsConfig::builder().utc_offset_minutes(offset).raw_retention_days(3).max_keys(4).max_days(3).build().unwrap()
}

type RowKey = (u8, Day, String);

fn row_key(row: &BucketsRow) -> RowKey {
    match row {
        BucketsRow::Raw { day, key, .. } => (0, *day, key.to_string()),
        BucketsRow::Daily { day, key, .. } => (1, *day, key.to_string()),
        BucketsRow::Meta(_) => (2, Day::MIN, String::new()),
    }
}

fn apply(store: &mut BTreeMap<RowKey, BucketsRow>, changes: Vec<BucketsChange>) {
    for c in changes {
        match c {
            BucketsChange::Upsert(row) => {
                store.insert(row_key(&row), row);
            }
            BucketsChange::RawDayDeleted(d) => store.retain(|(t, day, _), _| !(*t == 0 && *day == d)),
            BucketsChange::DailyDayDeleted(d) => store.retain(|(t, day, _), _| !(*t == 1 && *day == d)),
        }
    }
}

/// Runs the steps, checking the invariants after each; returns every change and snapshot.
fn run(offset: i32, steps: &[Step]) -> Vec<(Vec<BucketsChange>, Vec<u8>)> {
    let config = config(offset);
    let mut b = Buckets::new(config);
    let mut store: BTreeMap<RowKey, BucketsRow> = BTreeMap::new();
    let mut now = START;
    let mut before = b.snapshot();
    let mut trace = Vec::new();
    let event_at = |now: u64, days_back: i8, ms: u32| {
        let day_start = now - now % DAY;
        Timestamp::from_millis((day_start as i64 - i64::from(days_back) * DAY as i64 + i64::from(ms)) as u64)
    };
    for st in steps {
        let t = Timestamp::from_millis(now);
        match st {
            Step::Record(k, c, d, ms) => {
                let _ = b.record_count(&format!("k{k}"), *c, event_at(now, *d, *ms), t);
            }
            Step::Many(entries, d) => {
                let e: Vec<(String, i64)> = entries.iter().map(|(k, c)| (format!("k{k}"), *c)).collect();
                let _ = b.record_many(&e, event_at(now, *d, 1_000), t);
            }
            Step::Rollup(p, d) => {
                let day = b.day_of(event_at(now, *d, 0)).unwrap();
                let period = match p {
                    0 => Period::Day(day),
                    1 => Period::Month(day.year(), day.month()),
                    _ => Period::Year(day.year()),
                };
                let _ = b.rollup(period, t);
            }
            Step::Advance(ms) => now += u64::from(*ms),
            Step::Expire => {
                b.expire(t);
            }
            Step::Timeout => {
                if let Some(at) = b.poll_timeout() {
                    now = now.max(at.as_millis());
                    b.handle_timeout(Timestamp::from_millis(now));
                }
            }
            Step::Restart => {
                let bytes = b.snapshot();
                let restored = Buckets::restore(&bytes, config).unwrap();
                assert_eq!(restored.snapshot(), bytes, "snapshot round trip");
            }
        }
        let snap = b.snapshot();
        assert_eq!(b.take_state_changed(), snap != before, "take_state_changed after {st:?}");
        before = snap.clone();

        let changes = b.take_changes();
        apply(&mut store, changes.clone());
        let rebuilt = Buckets::from_rows(store.values().cloned(), config).unwrap();
        assert_eq!(rebuilt.snapshot(), snap, "rebuilt from rows differs after {st:?}");
        let mut all_rows: Vec<RowKey> = b.rows().iter().map(row_key).collect();
        if store.is_empty() {
            all_rows.retain(|k| k.0 != 2); // no meta row written before the first change
        }
        assert_eq!(all_rows, store.keys().cloned().collect::<Vec<_>>(), "rows() matches the store");

        let s = b.stats();
        assert_eq!(s.events, s.rolled_up_events + s.expired_events + b.raw_events(), "events are conserved");
        assert!(b.key_count() <= 4 && b.daily_days() <= 3);
        trace.push((changes, snap));
    }
    trace
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rows_rebuild_an_equal_machine_after_every_step(
        offset in prop_oneof![Just(0), Just(-300), Just(330)],
        steps in proptest::collection::vec(step(), 0..60),
    ) {
        run(offset, &steps);
    }

    #[test]
    fn the_same_inputs_give_the_same_changes(steps in proptest::collection::vec(step(), 0..40)) {
        prop_assert_eq!(run(-300, &steps), run(-300, &steps));
    }
}

#[test]
fn changes_come_in_apply_order_and_only_once() {
    let mut b = Buckets::new(BucketsConfig::default());
    let d = Day::parse("2022-10-17").unwrap();
    let at = b.day_start(d).unwrap();
    b.record("b", at, at).unwrap();
    b.record("a", at, at).unwrap();
    b.rollup(Period::Day(d), at).unwrap();
    b.record("a", at, at).unwrap(); // late data after the rollup
    let changes = b.take_changes();
    let shape: Vec<String> = changes
        .iter()
        .map(|c| match c {
            BucketsChange::RawDayDeleted(d) => format!("delete raw {d}"),
            BucketsChange::Upsert(BucketsRow::Raw { key, count, .. }) => format!("raw {key}={count}"),
            BucketsChange::Upsert(BucketsRow::Daily { key, total, .. }) => format!("daily {key}={total}"),
            BucketsChange::Upsert(BucketsRow::Meta(_)) => "meta".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(shape, vec!["delete raw 2022-10-17", "raw a=1", "daily a=1", "daily b=1", "meta"]);
    assert!(b.take_changes().is_empty());
    // A getter is not a change.
    let _ = b.daily_totals(d, d);
    assert!(b.take_changes().is_empty());
}
