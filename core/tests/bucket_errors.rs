//! Every rejected bucket input returns a typed error with a stable code and leaves the
//! machine exactly as it was: same snapshot bytes, no state change, no journal entries.

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
use shardtally::{Error, Timestamp};

const OCT17: u64 = 1_665_964_800_000;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Applies `f`, which must fail with an error of `code`, and checks nothing changed.
fn rejected<T: std::fmt::Debug>(b: &mut Buckets, code: &str, f: impl FnOnce(&mut Buckets) -> Result<T, Error>) -> Error {
    let before = b.snapshot();
    let _ = b.take_state_changed();
    let _ = b.take_changes();
    let err = f(b).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(b.snapshot(), before, "a rejected input changed the state: {err}");
    assert!(!b.take_state_changed(), "{err}");
    assert!(b.take_changes().is_empty(), "{err}");
    err
}

fn machine() -> Buckets {
    let config = BucketsConfig::builder().max_key_bytes(8).max_keys(2).build().unwrap();
    let mut b = Buckets::new(config);
    b.record_count("a", i64::MAX - 1, t(OCT17), t(OCT17)).unwrap();
    b.record("b", t(OCT17), t(OCT17)).unwrap();
    b
}

#[test]
fn bad_records_are_rejected_atomically() {
    let mut b = machine();
    let now = t(OCT17 + 1_000);
    rejected(&mut b, "EMPTY_KEY", |b| b.record("", now, now));
    assert_eq!(rejected(&mut b, "KEY_TOO_LONG", |b| b.record("123456789", now, now)), Error::KeyTooLong { len: 9, max: 8 });
    assert_eq!(
        rejected(&mut b, "INVALID_ARGUMENT", |b| b.record_count("a", -1, now, now)),
        Error::InvalidArgument { argument: "count", expected: "not negative", value: "-1".into() }
    );
    rejected(&mut b, "INVALID_ARGUMENT", |b| b.record_many::<&str>(&[], now, now));
    rejected(&mut b, "INVALID_ARGUMENT", |b| b.record("a", t(u64::MAX), t(u64::MAX)));
    let future = t(now.as_millis() + 3_600_001);
    assert_eq!(
        rejected(&mut b, "INVALID_ARGUMENT", |b| b.record("a", future, now)),
        Error::InvalidArgument {
            argument: "event time",
            value: future.as_millis().to_string(),
            expected: "at most max_future_ms after now"
        }
    );
    assert_eq!(
        rejected(&mut b, "OVERFLOW", |b| b.record_count("a", 2, now, now)),
        Error::Overflow { key: "a".into(), current: i64::MAX - 1, delta: 2 }
    );
    // Multi-key: the bad entry is last; nothing before it applies.
    rejected(&mut b, "OVERFLOW", |b| b.record_many(&[("b", 1), ("a", 1), ("a", 1)], now, now));
    rejected(&mut b, "KEY_TOO_LONG", |b| b.record_many(&[("b", 1), ("toolongkey", 1)], now, now));
    assert_eq!(
        rejected(&mut b, "TABLE_FULL", |b| b.record_many(&[("b", 1), ("c", 1)], now, now)),
        Error::TableFull { table: "bucket keys", limit: 2 }
    );
    // Exactly at the future bound is fine.
    b.record("b", t(now.as_millis() + 3_600_000), now).unwrap();
}

#[test]
fn bad_rollups_and_queries_are_typed() {
    let mut b = machine();
    let d = Day::parse("2022-10-17").unwrap();
    b.rollup(Period::Day(d), t(OCT17)).unwrap();
    // The daily total of "a" is i64::MAX - 1: rolling up more of it would overflow.
    b.record_count("a", 5, t(OCT17), t(OCT17)).unwrap();
    rejected(&mut b, "OVERFLOW", |b| b.rollup(Period::Day(d), t(OCT17)));
    rejected(&mut b, "INVALID_ARGUMENT", |b| b.rollup(Period::Month(2022, 13), t(OCT17)));
    rejected(&mut b, "INVALID_ARGUMENT", |b| b.rollup(Period::Year(10_000), t(OCT17)));

    let later = Day::parse("2022-10-18").unwrap();
    assert_eq!(
        b.daily_totals(later, d),
        Err(Error::InvalidArgument {
            argument: "range",
            value: "2022-10-18..=2022-10-17".into(),
            expected: "a range whose first day is not after its last"
        })
    );
    assert_eq!(b.period_totals(Period::Month(2022, 0)).map_err(|e| e.code()), Err("INVALID_ARGUMENT"));
    assert_eq!(Period::parse("").map_err(|e| e.code()), Err("INVALID_ARGUMENT"), "a missing period");
    assert_eq!(Day::parse("").map_err(|e| e.code()), Err("INVALID_ARGUMENT"), "a missing day");
    assert_eq!(b.daily_totals(later, later).map_err(|e| e.code()), Err("NOT_FOUND"));
    // Queries are getters: they never change anything.
    let before = b.snapshot();
    let _ = b.take_state_changed();
    let _ = b.period_totals(Period::Year(2022));
    assert_eq!(b.snapshot(), before);
    assert!(!b.take_state_changed());
}

#[test]
fn bad_snapshots_and_rows_are_decode_errors() {
    let b = machine();
    let bytes = b.snapshot();
    let config = *b.config();
    assert!(Buckets::restore(&bytes, config).is_ok());
    for cut in 0..bytes.len() {
        assert!(Buckets::restore(&bytes[..cut], config).is_err(), "truncated at {cut}");
    }
    let mut garbage = bytes.clone();
    for i in 5..garbage.len() {
        garbage[i] ^= 0x5A;
        let _ = Buckets::restore(&garbage, config); // never panics
        garbage[i] ^= 0x5A;
    }
    let small = BucketsConfig::builder().max_keys(1).build().unwrap();
    assert_eq!(Buckets::restore(&bytes, small).err().map(|e| e.code()), Some("DECODE_CORRUPT"));
    let mut rows = b.rows();
    rows.push(rows[0].clone());
    assert_eq!(Buckets::from_rows(rows, config).err().map(|e| e.code()), Some("DECODE_CORRUPT"), "a duplicate row");
}
