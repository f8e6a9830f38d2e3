//! SPEC §11 scenario 1: the 100th increment flushes `{x: 100}` (reason `requests`), and no
//! idle flush follows.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn hundredth_increment_emits_one_batch_and_no_idle_flush_follows() {
    let mut s = shard(spec_shard(), 0);
    for i in 0..99 {
        s.increment("x", 1, t(i)).unwrap();
        assert!(batches(&mut s).is_empty(), "no batch before the 100th request");
    }
    s.increment("x", 1, t(99)).unwrap();
    let out = batches(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].reason(), FlushReason::Requests);
    assert_eq!(entries(&out[0]), vec![("x".to_string(), 100)]);
    assert_eq!(out[0].seq(), 1);

    // Acknowledge it; nothing is pending, so no deadline and nothing at the idle time.
    let mut g = Global::new(GlobalConfig::default());
    let ack = g.handle_batch(&out[0], t(100)).unwrap();
    assert!(s.handle_ack(&ack, t(100)).unwrap());
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t(99 + 5_000));
    s.handle_timeout(t(99 + 60_000));
    assert!(batches(&mut s).is_empty());
    assert_eq!(g.total("x"), 100);
}

#[test]
fn a_multi_key_increment_counts_as_one_request() {
    let config = ShardConfig::builder().flush_after_requests(2).build().unwrap();
    let mut s = shard(config, 0);
    s.increments(&[("a", 1), ("b", 2), ("c", 3)], t(0)).unwrap();
    assert_eq!(s.pending_requests(), 1);
    assert!(batches(&mut s).is_empty());
    s.increments(&[("a", 1)], t(1)).unwrap();
    let out = batches(&mut s);
    assert_eq!(entries(&out[0]), vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 3)]);
}
