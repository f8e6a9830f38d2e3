//! The seed's drift bug, fixed: with A0 B1 C2 and B dead, the seed told C `shard 2 of 2`
//! until the next reshard (its count was the live count, its index the old one). Here the
//! count stays the one fixed by the epoch's reshard: between B's expiry and the rate-limited
//! reshard, A is `0 of 3` and C `2 of 3`, index 1 is free, and no holder ever reports an index
//! `>= num_shards`.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;
use std::collections::BTreeSet;

const C: &str = "c";

/// Every assignment reported at `now` is in range and no index is reported twice.
fn assert_sound(m: &Membership, now: u64) {
    let all = m.assignments(C, t(now)).unwrap();
    let mut seen = BTreeSet::new();
    for i in &all {
        assert!(i.shard < i.num_shards, "at {now}: {i:?}");
        assert!(seen.insert(i.shard), "at {now}: index {} reported twice", i.shard);
        assert_eq!(m.shard_info(C, &i.holder, t(now)).as_ref(), Ok(i));
    }
}

#[test]
fn the_count_is_fixed_by_the_epoch_not_by_who_is_alive() {
    let mut h = Host::new(spec_config());
    for holder in ["a", "b", "c"] {
        h.join(C, holder);
    }
    h.run_until(5_000);
    assert_eq!(view(&h.m, C, 5_000), vec![("a".into(), 0, 3), ("b".into(), 1, 3), ("c".into(), 2, 3)]);

    // b dies right after its beat at 5000: it expires at 9000, the next reshard may run at 10000.
    h.stop(C, "b");
    for now in (5_000..=9_900).step_by(100) {
        h.run_until(now);
        assert_sound(&h.m, now);
    }
    assert_eq!(h.at(9_000), vec![lost("b", 1, 2, LostReason::Expired)]);
    // Between the expiry and the reshard: no drift, index 1 free, b reports nothing.
    assert_eq!(view(&h.m, C, 9_500), vec![("a".into(), 0, 3), ("c".into(), 2, 3)]);
    assert_eq!(info(&h.m, C, "c", 9_500), Ok((2, 3)));
    assert_eq!(info(&h.m, C, "b", 9_500), Err("HOLDER_EXPIRED"));
    let ci = h.m.cluster_info(C).unwrap();
    assert_eq!((ci.epoch, ci.num_shards, ci.assigned, ci.next_reshard_at), (2, 3, 2, Some(t(10_000))));

    // The reshard at 10000: c moves into the hole (2 is out of range for a count of 2).
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![changed("a", 0, 2, 3), changed("c", 1, 2, 3)]);
    assert_sound(&h.m, 10_000);
}

#[test]
fn a_holder_that_unregisters_leaves_a_hole_not_a_shorter_count() {
    let mut h = Host::new(spec_config());
    for holder in ["a", "b", "c"] {
        h.join(C, holder);
    }
    h.run_until(5_000);
    h.run_until(6_000);
    h.leave(C, "a");
    assert_eq!(h.at(6_000), vec![lost("a", 0, 2, LostReason::Unregistered)]);
    assert_eq!(view(&h.m, C, 6_000), vec![("b".into(), 1, 3), ("c".into(), 2, 3)]);
    assert_sound(&h.m, 6_000);
    h.run_until(10_000);
    // Minimal movement: b keeps 1, c (2 is out of range) takes the hole at 0.
    assert_eq!(h.at(10_000), vec![changed("c", 0, 2, 3), changed("b", 1, 2, 3)]);
}
