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

#[test]
fn coalesced_increments_count_every_request_and_match_one_by_one() {
    let config = ShardConfig::builder().flush_after_requests(10).build().unwrap();
    let (mut one, mut many) = (shard(config, 0), shard(config, 0));
    for key in ["a", "b", "a", "a", "c"] {
        one.increment(key, 1, t(7)).unwrap();
    }
    many.increments_coalesced(&[("a", 3), ("b", 1), ("c", 1)], 5, t(7)).unwrap();
    assert_eq!(many.pending_requests(), 5);
    assert_eq!(many.snapshot(), one.snapshot());
    // The flush condition is checked after all of them.
    many.increments_coalesced(&[("a", 5)], 5, t(8)).unwrap();
    assert_eq!(batches(&mut many).pop().map(|b| b.reason()), Some(FlushReason::Requests));
    let before = one.snapshot();
    assert_eq!(
        one.increments_coalesced(&[("a", 1), ("b", 1)], 0, t(9)),
        Err(Error::LengthMismatch { what: "requests and keys", left: 0, right: 2 })
    );
    assert_eq!(one.increments_coalesced::<&str>(&[], 1, t(9)), Err(Error::LengthMismatch { what: "requests and keys", left: 1, right: 0 }));
    assert_eq!(one.snapshot(), before);
    // Multi-key requests coalesce too: two `increments` calls as one group of 2 requests.
    let (mut calls, mut group) = (shard(config, 0), shard(config, 0));
    calls.increments(&[("a", 1), ("b", 2)], t(7)).unwrap();
    calls.increments(&[("b", 1), ("c", 4)], t(7)).unwrap();
    group.increments_coalesced(&[("a", 1), ("b", 3), ("c", 4)], 2, t(7)).unwrap();
    assert_eq!(group.pending_requests(), 2);
    assert_eq!(group.snapshot(), calls.snapshot());
}

#[test]
fn coalescing_room_stops_one_request_short_of_a_flush() {
    let config = ShardConfig::builder().flush_after_requests(5).max_pending_keys(10).build().unwrap();
    let mut s = shard(config, 0);
    s.increment("a", 1, t(1)).unwrap();
    assert_eq!(s.coalescing_room(), CoalescingRoom { requests: 3, new_keys: 9 });
    // Buffering exactly that much and applying it flushes nothing; the next request does.
    s.increments_coalesced(&[("a", 1), ("b", 2)], 3, t(1)).unwrap();
    assert!(batches(&mut s).is_empty());
    assert_eq!(s.coalescing_room().requests, 0);
    s.increment("c", 1, t(1)).unwrap();
    assert_eq!(batches(&mut s).len(), 1);
    // With a batch in flight nothing flushes; a draining shard flushes on every request.
    assert_eq!(s.coalescing_room().requests, u64::MAX);
    let mut d = shard(config, 1);
    d.drain(t(1));
    assert_eq!(d.coalescing_room().requests, 0);
}
