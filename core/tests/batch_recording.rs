//! A shard's batch of deltas can be recorded into buckets at one event time, as one input.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::buckets::{Buckets, BucketsConfig, Period};
use shardtally::*;

#[test]
fn a_batch_of_deltas_is_recorded_as_one_input() {
    let mut s = shard(ShardConfig::builder().flush_after_requests(3).build().unwrap(), 0);
    let at = t(1_665_964_800_000);
    s.increment("GET /a", 2, at).unwrap();
    s.increment("GET /b", 1, at).unwrap();
    s.increment("GET /a", 1, at).unwrap();
    let batch = batches(&mut s).pop().unwrap();

    let mut b = Buckets::new(BucketsConfig::default());
    b.record_batch(&batch, at, at).unwrap();
    let d = b.day_of(at).unwrap();
    assert_eq!((b.raw_count(d, "GET /a"), b.raw_count(d, "GET /b")), (3, 1));
    assert_eq!((b.stats().records, b.stats().events), (1, 4));
    b.rollup(Period::Day(d), at).unwrap();
    assert_eq!(b.period_totals(Period::Day(d)).unwrap().len(), 2);
}

#[test]
fn a_batch_with_a_negative_delta_is_rejected_whole() {
    let mut s = shard(ShardConfig::builder().flush_after_requests(2).build().unwrap(), 0);
    let at = t(1_665_964_800_000);
    s.increment("a", 5, at).unwrap();
    s.increment("b", -1, at).unwrap();
    let batch = batches(&mut s).pop().unwrap();
    let mut b = Buckets::new(BucketsConfig::default());
    let before = b.snapshot();
    assert_eq!(b.record_batch(&batch, at, at).map_err(|e| e.code()), Err("INVALID_ARGUMENT"));
    assert_eq!(b.snapshot(), before);
}
