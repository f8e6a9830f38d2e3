//! A tiered global rejects a batch its upstream shard cannot take (pending table full, a
//! pending delta that would overflow) before changing anything: the snapshot bytes, the clock
//! included, are exactly as they were, and nothing is reported or journaled.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn one_shot() -> ShardConfig {
    ShardConfig::builder().flush_after_requests(1).build().unwrap()
}

fn tiered(max_pending: usize) -> Global {
    let up = ShardConfig::builder()
        .flush_after_requests(0)
        .flush_after_idle_ms(0)
        .flush_max_age_ms(0)
        .max_pending_keys(max_pending)
        .build()
        .unwrap();
    let mut g = Global::with_upstream(GlobalConfig::default(), Shard::new(up, ShardRef { shard: 100, incarnation: 1 }));
    g.take_state_changed();
    g.take_changes();
    g
}

/// `handle_batch` must fail with `err` and leave everything as it was.
fn rejected(g: &mut Global, b: &Batch, now: u64, err: Error) {
    g.take_state_changed();
    g.take_changes();
    while g.poll_output().is_some() {}
    let before = g.snapshot();
    assert_eq!(g.handle_batch(b, t(now)), Err(err));
    assert_eq!(g.snapshot(), before, "a rejected batch changed the state");
    assert!(!g.take_state_changed());
    assert!(g.take_changes().is_empty());
    assert!(g.poll_output().is_none());
}

#[test]
fn a_full_upstream_table_rejects_the_batch_atomically() {
    let mut g = tiered(2);
    let mut s = shard(one_shot(), 0);
    s.increments(&[("a", 1), ("b", 1)], t(10)).unwrap();
    pump(&mut s, &mut g, t(10));
    s.increments(&[("b", 1), ("c", 1)], t(20)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    // Later than the global's clock: the clock must not move either.
    rejected(&mut g, &b, 500, Error::TableFull { table: "pending keys", limit: 2 });
    assert!(!Error::TableFull { table: "pending keys", limit: 2 }.rejects_batch(), "transient: the shard retries");
    // Once the upstream shard forwarded its pending deltas, the same batch applies.
    g.flush_upstream(t(30)).unwrap();
    g.handle_batch(&b, t(30)).unwrap();
    assert_eq!(g.total("c"), 1);
}

#[test]
fn an_upstream_overflow_rejects_the_batch_atomically() {
    // The upstream shard's pending delta can overflow while the global's total does not:
    // forward +MAX, then merge -MAX and -1 (total -1, pending i64::MIN); one more -1 leaves
    // the total at -2 but overflows the pending delta.
    let mut g = tiered(10);
    let mut s = shard(one_shot(), 0);
    s.increment("a", i64::MAX, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    g.flush_upstream(t(0)).unwrap();
    for d in [-i64::MAX, -1] {
        s.increment("a", d, t(1)).unwrap();
        pump(&mut s, &mut g, t(1));
    }
    assert_eq!((g.total("a"), g.upstream().unwrap().pending_delta("a")), (-1, i64::MIN));
    s.increment("a", -1, t(2)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    rejected(&mut g, &b, 3, Error::Overflow { key: "a".into(), current: i64::MIN, delta: -1 });
}
