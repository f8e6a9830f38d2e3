//! Raw buckets older than `raw_retention_days` before the day of `now` are dropped and
//! counted — on their deadline or on any later input — and events for such days are dropped
//! and counted on arrival. The deadline is a no-op when early or repeated.

#![allow(clippy::unwrap_used)]

use shardtally::buckets::{Buckets, BucketsChange, BucketsConfig, BucketsTimer, Day, ExpireOutcome, Period, RecordOutcome};
use shardtally::Timestamp;

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn retention_two_days() -> Buckets {
    Buckets::new(BucketsConfig::builder().raw_retention_days(2).utc_offset_minutes(-300).build().unwrap())
}

#[test]
fn the_oldest_raw_day_expires_at_its_deadline() {
    let mut b = retention_two_days();
    let (d10, d11) = (day("2022-10-10"), day("2022-10-11"));
    let at10 = b.day_start(d10).unwrap();
    let at11 = b.day_start(d11).unwrap();
    b.record_count("x", 4, at10, at10).unwrap();
    b.record("x", at11, at11).unwrap();
    let _ = b.take_changes();

    // The 10th is kept while today is the 12th (10 >= 12 - 2) and dropped on the 13th.
    let deadline = b.next_deadline().unwrap();
    assert_eq!(deadline.timer, BucketsTimer::Retention);
    assert_eq!(Some(deadline.at), b.day_start(day("2022-10-13")));
    assert_eq!(b.poll_timeout(), Some(deadline.at));

    let before = b.snapshot();
    assert!(b.take_state_changed());
    b.handle_timeout(Timestamp::from_millis(deadline.at.as_millis() - 1));
    assert_eq!(b.snapshot(), before, "an early timeout changes nothing");
    assert!(!b.take_state_changed());

    b.handle_timeout(deadline.at);
    assert_eq!(b.raw_days(), vec![d11]);
    assert_eq!((b.stats().expired_days, b.stats().expired_events), (1, 4));
    assert_eq!(b.take_changes()[0], BucketsChange::RawDayDeleted(d10));
    assert!(b.take_state_changed());
    let after = b.snapshot();
    b.handle_timeout(deadline.at);
    assert_eq!(b.snapshot(), after, "a repeated timeout changes nothing");
    assert!(!b.take_state_changed());
    assert_eq!(Some(b.next_deadline().unwrap().at), b.day_start(day("2022-10-14")));
}

#[test]
fn any_input_applies_retention_and_too_old_events_are_counted_drops() {
    let mut b = retention_two_days();
    let d10 = day("2022-10-10");
    let at10 = b.day_start(d10).unwrap();
    b.record_count("x", 4, at10, at10).unwrap();
    // Recording on the 13th drops the 10th without any timeout.
    let at13 = b.day_start(day("2022-10-13")).unwrap();
    b.record("y", at13, at13).unwrap();
    assert_eq!(b.raw_days(), vec![day("2022-10-13")]);
    assert_eq!(b.stats().expired_events, 4);
    // A late event for the 10th (past retention) is dropped and counted, not an error.
    assert_eq!(b.record_count("x", 3, at10, at13), Ok(RecordOutcome::TooOld { day: d10 }));
    // The 11th is still inside retention.
    let at11 = b.day_start(day("2022-10-11")).unwrap();
    assert_eq!(b.record("x", at11, at13), Ok(RecordOutcome::Recorded { day: day("2022-10-11") }));
    let s = b.stats();
    assert_eq!((s.events, s.too_old_events, s.records), (6, 3, 4));
    // Raw days past retention are not rolled up: a rollup applies retention first.
    let at14 = b.day_start(day("2022-10-14")).unwrap();
    let out = b.rollup(Period::Month(2022, 10), at14).unwrap();
    assert_eq!(out.events, 1, "only the 13th; the 11th expired on the 14th");
    assert_eq!(b.expire(at14), ExpireOutcome::default());
}
