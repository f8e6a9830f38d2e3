//! A request's repeated keys are summed: `increments` of any list (short ones are merged by
//! scanning, long ones through a table) leaves the pending deltas of the same increments made
//! one by one, and `increments_coalesced` of the list as that many requests leaves the same
//! state byte for byte.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use proptest::prelude::*;
use shardtally::{Error, Shard, ShardConfig};

fn quiet() -> ShardConfig {
    ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().unwrap()
}

/// Up to 80 entries over a pool of 40 keys (so long lists repeat keys), small deltas.
fn entries() -> impl Strategy<Value = Vec<(String, i64)>> {
    prop::collection::vec((0u32..40, -5i64..=5), 0..80).prop_map(|v| v.into_iter().map(|(k, d)| (format!("key-{k}"), d)).collect())
}

proptest! {
    #[test]
    fn repeated_keys_sum_as_one_by_one(list in entries(), before in entries()) {
        let (mut one, mut many, mut grouped) = (shard(quiet(), 0), shard(quiet(), 0), shard(quiet(), 0));
        // Some keys already pending (with a slot), others new to the request.
        for (k, d) in &before {
            one.increment(k, *d, t(1)).unwrap();
            many.increment(k, *d, t(1)).unwrap();
            grouped.increment(k, *d, t(1)).unwrap();
        }
        for (k, d) in &list {
            one.increment(k, *d, t(2)).unwrap();
        }
        many.increments(&list, t(2)).unwrap();
        let pending = |s: &Shard| s.pending().iter().map(|e| (e.key().to_string(), e.delta())).collect::<Vec<_>>();
        prop_assert_eq!(pending(&many), pending(&one));
        if !list.is_empty() {
            grouped.increments_coalesced(&list, list.len() as u64, t(2)).unwrap();
            prop_assert_eq!(grouped.snapshot(), one.snapshot());
        }
    }
}

#[test]
fn a_long_request_with_a_repeat_that_overflows_changes_nothing() {
    let mut s = shard(quiet(), 0);
    s.increment("k-3", i64::MAX - 1, t(0)).unwrap();
    let before = s.snapshot();
    let mut list: Vec<(String, i64)> = (0..30).map(|i| (format!("k-{i}"), 1)).collect();
    list.push(("k-3".into(), 1));
    // The request's two deltas for k-3 are summed first; the overflow is judged on the sum.
    let err = s.increments(&list, t(1)).unwrap_err();
    assert_eq!(err, Error::Overflow { key: "k-3".into(), current: i64::MAX - 1, delta: 2 });
    assert_eq!(s.snapshot(), before);
}
