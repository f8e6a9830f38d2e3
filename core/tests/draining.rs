//! SPEC §11 scenario 7: shard count 4 → 2 with shard 3 holding `{x: 7}` → shard 3 is
//! draining and flushes; total x is 7.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn lowering_the_shard_count_drains_the_removed_shards() {
    let mut router = Router::new(RouterConfig::builder().strategy(Strategy::Pinned).pinned_shard(Some(3)).shard_count(4).build().unwrap());
    let mut shards: Vec<Shard> = (0..4).map(|i| shard(spec_shard(), i)).collect();
    let mut g = Global::new(GlobalConfig::default());
    let target = router.route("x");
    assert_eq!(target, 3);
    shards[3].increment("x", 7, t(0)).unwrap();

    let mut router = Router::new(RouterConfig::builder().strategy(Strategy::Hash).shard_count(4).build().unwrap());
    let draining = router.set_shard_count(2).unwrap();
    assert_eq!(draining, vec![2, 3]);
    for d in &draining {
        let outcome = shards[*d as usize].drain(t(1));
        if *d == 3 {
            assert_eq!(outcome, FlushOutcome::Sent { seq: 1 });
        } else {
            assert_eq!(outcome, FlushOutcome::NothingPending);
        }
        pump(&mut shards[*d as usize], &mut g, t(1));
        assert!(shards[*d as usize].is_drained());
        assert!(router.mark_drained(*d));
    }
    assert_eq!(g.total("x"), 7);
    assert!(router.draining().is_empty());
    assert!((0..100).all(|i| router.route(&format!("k{i}")) < 2));
}

#[test]
fn a_draining_shard_keeps_flushing_what_arrives_late() {
    let mut s = shard(spec_shard(), 3);
    let mut g = Global::new(GlobalConfig::default());
    s.increment("x", 1, t(0)).unwrap();
    assert_eq!(s.drain(t(0)), FlushOutcome::Sent { seq: 1 });
    s.increment("x", 1, t(1)).unwrap();
    assert!(!s.is_drained());
    pump(&mut s, &mut g, t(2));
    assert!(s.is_drained());
    assert_eq!(g.total("x"), 2);
}

#[test]
fn jump_hash_moves_few_keys_when_the_count_grows() {
    let mut r4 = Router::new(RouterConfig::builder().shard_count(4).build().unwrap());
    let mut r5 = Router::new(RouterConfig::builder().shard_count(5).build().unwrap());
    let moved = (0..10_000).filter(|i| {
        let k = format!("key-{i}");
        r4.route(&k) != r5.route(&k)
    });
    let moved = moved.count();
    assert!((1_500..2_500).contains(&moved), "about 1/5 of keys move, moved {moved}");
}
