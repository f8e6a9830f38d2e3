//! A batch the global can never apply is dropped by its shard as a counted drop, so it does
//! not hold up later batches; transient errors are retried.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn a_permanently_rejected_batch_is_dropped_and_counted_and_later_batches_flow() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    let mut g = Global::new(GlobalConfig::builder().max_keys(1).build().unwrap());
    s.increment("a", 1, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    s.increments(&[("b", 2), ("c", 3)], t(1)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    let err = g.handle_batch(&b, t(2)).unwrap_err();
    assert_eq!(err, Error::TableFull { table: "totals", limit: 1 });
    assert!(err.rejects_batch());
    assert!(!s.handle_rejection(b.seq() + 1, t(2)), "only the batch in flight");
    assert!(s.handle_rejection(b.seq(), t(2)));
    assert!(!s.handle_rejection(b.seq(), t(2)), "once");
    assert!(s.in_flight().is_none());
    assert_eq!((s.stats().rejected_batches, s.stats().rejected_entries), (1, 2));
    // The next batch (a new seq) goes through.
    s.increment("a", 5, t(3)).unwrap();
    let next = batches(&mut s).pop().unwrap();
    assert_eq!(next.seq(), b.seq() + 1);
    let ack = g.handle_batch(&next, t(3)).unwrap();
    assert!(s.handle_ack(&ack, t(3)).unwrap());
    assert_eq!(g.totals(), vec![("a", 6)]);
}

#[test]
fn overflow_and_long_keys_reject_a_full_upstream_table_does_not() {
    assert!(Error::Overflow { key: "x".into(), current: i64::MAX, delta: 1 }.rejects_batch());
    assert!(Error::KeyTooLong { len: 9, max: 8 }.rejects_batch());
    assert!(!Error::TableFull { table: "pending keys", limit: 1 }.rejects_batch());
    // A tiered global whose upstream shard is full: transient, retry later.
    let up = Shard::new(
        ShardConfig::builder().max_pending_keys(1).flush_after_requests(0).build().unwrap(),
        ShardRef { shard: 9, incarnation: 1 },
    );
    let mut g = Global::with_upstream(GlobalConfig::default(), up);
    let mut s = shard(ShardConfig::builder().flush_after_requests(1).build().unwrap(), 0);
    s.increments(&[("a", 1), ("b", 1)], t(0)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    let err = g.handle_batch(&b, t(0)).unwrap_err();
    assert!(!err.rejects_batch(), "{err}");
    assert!(s.handle_failure(b.seq(), t(0)));
}

#[test]
fn a_rejected_resend_is_not_sent_again() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    s.increment("a", 1, t(0)).unwrap();
    // Restored before the host sent it: the batch is queued for sending again.
    let mut s = Shard::restore(&s.snapshot(), config).unwrap();
    let seq = s.in_flight().unwrap().seq();
    assert!(s.handle_rejection(seq, t(1)));
    assert!(s.poll_output().is_none(), "the queued re-send of a rejected batch is withdrawn");
}

#[test]
fn answers_for_a_batch_not_in_flight_change_nothing_not_even_the_clock() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    s.increment("a", 1, t(5)).unwrap();
    let seq = s.in_flight().unwrap().seq();
    let before = s.snapshot();
    assert!(!s.handle_failure(seq + 1, t(999)));
    assert!(!s.handle_rejection(seq + 1, t(999)));
    assert_eq!(s.snapshot(), before);
    let mut g = Global::new(GlobalConfig::default());
    let before = g.snapshot();
    assert!(!g.handle_publish_ack(7, t(999)));
    assert!(!g.handle_publish_failure(7, t(999)));
    assert_eq!(g.snapshot(), before);
}
