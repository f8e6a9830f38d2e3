//! SPEC §11 scenario 2: increments at 0, 4000 and 8000 flush `{x: 3}` at 13000 (idle
//! debounce), nothing at 5000 or 9000; with `flush_max_age_ms = 10000` the batch goes at
//! 10000 instead.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn drive(config: ShardConfig) -> (u64, Batch) {
    let mut s = shard(config, 0);
    let mut sent = None;
    for at in [0, 4_000, 8_000] {
        s.increment("x", 1, t(at)).unwrap();
    }
    // Early timeouts do nothing.
    for early in [5_000, 9_000] {
        s.handle_timeout(t(early));
        assert!(batches(&mut s).is_empty(), "nothing at {early}");
    }
    // Jump the clock straight to each deadline, like a host's timer would.
    while sent.is_none() {
        let at = s.poll_timeout().expect("a deadline is armed");
        s.handle_timeout(at);
        if let Some(b) = batches(&mut s).pop() {
            sent = Some((at.as_millis(), b));
        }
    }
    sent.unwrap()
}

#[test]
fn idle_debounce_flushes_five_seconds_after_the_last_increment() {
    let (at, batch) = drive(spec_shard());
    assert_eq!(at, 13_000);
    assert_eq!(batch.reason(), FlushReason::Idle);
    assert_eq!(entries(&batch), vec![("x".into(), 3)]);
}

#[test]
fn max_age_bounds_the_wait_under_steady_traffic() {
    let config = ShardConfig::builder().flush_max_age_ms(10_000).build().unwrap();
    let (at, batch) = drive(config);
    assert_eq!(at, 10_000);
    assert_eq!(batch.reason(), FlushReason::MaxAge);
    assert_eq!(entries(&batch), vec![("x".into(), 3)]);
}

#[test]
fn a_trickle_still_flushes_by_max_age() {
    // An increment every 4 s never lets the 5 s idle timer fire; max age still flushes.
    let mut s = shard(spec_shard(), 0);
    let mut flushed_at = None;
    for i in 0..30u64 {
        let at = i * 4_000;
        s.handle_timeout(t(at));
        if !batches(&mut s).is_empty() {
            flushed_at = Some(at);
            break;
        }
        s.increment("x", 1, t(at)).unwrap();
    }
    assert_eq!(flushed_at, Some(60_000));
}

#[test]
fn deadlines_are_reported_with_their_reason() {
    let mut s = shard(spec_shard(), 0);
    assert_eq!(s.next_deadline(), None);
    s.increment("x", 1, t(100)).unwrap();
    assert_eq!(s.next_deadline(), Some(Deadline { at: t(5_100), timer: ShardTimer::Idle }));
    s.increment("x", 1, t(57_000)).unwrap();
    assert_eq!(s.next_deadline(), Some(Deadline { at: t(60_100), timer: ShardTimer::MaxAge }));
}

#[test]
fn a_clock_stepping_backwards_never_moves_a_deadline_backwards() {
    let mut s = shard(spec_shard(), 0);
    s.increment("x", 1, t(10_000)).unwrap();
    s.increment("x", 1, t(2_000)).unwrap();
    assert_eq!(s.poll_timeout(), Some(t(15_000)));
    s.handle_timeout(t(14_999));
    assert!(batches(&mut s).is_empty());
}
