//! SPEC §4 resets that stick: a reset emits a generation notice for every known shard; a
//! shard that learned it drops its stale pending deltas and tags new increments with the new
//! generation, so — without waiting for a flush — increments accepted after it learned count
//! exactly and none accepted before do. In a tree the notices reach the leaves through the
//! mid-level globals.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn manual() -> ShardConfig {
    ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().unwrap()
}

fn notices(g: &mut Global) -> Vec<GenerationNotice> {
    let mut out = Vec::new();
    while let Some(o) = g.poll_output() {
        if let GlobalOutput::Notice(n) = o {
            out.push(n);
        }
    }
    out
}

/// Three shards the global knows, each with `x` pending (5, 6, 7) on top of a total of 3.
fn three_shards_with_pending_x() -> (Vec<Shard>, Global) {
    let mut g = Global::new(GlobalConfig::default());
    let mut shards: Vec<Shard> = (0..3).map(|i| shard(manual(), i)).collect();
    for s in shards.iter_mut() {
        s.increment("x", 1, t(0)).unwrap();
        s.flush(t(0));
        pump(s, &mut g, t(0));
    }
    for (i, s) in shards.iter_mut().enumerate() {
        s.increment("x", 5 + i as i64, t(1)).unwrap();
    }
    assert_eq!(g.total("x"), 3);
    (shards, g)
}

fn flush_all(shards: &mut [Shard], g: &mut Global, now: Timestamp) {
    for s in shards.iter_mut() {
        s.flush(now);
        pump(s, g, now);
    }
}

#[test]
fn increments_after_the_notice_count_exactly_without_a_flush_in_between() {
    let (mut shards, mut g) = three_shards_with_pending_x();
    g.reset("x", t(2)).unwrap();
    let ns = notices(&mut g);
    let to: Vec<u32> = ns.iter().map(|n| n.to().shard).collect();
    assert_eq!(to, vec![0, 1, 2], "one notice per known shard, by index");
    for (s, n) in shards.iter_mut().zip(&ns) {
        // Over the wire, as a host would carry it.
        let n = GenerationNotice::decode(&n.encode()).unwrap();
        assert!(s.handle_generation_notice(&n, t(3)));
        assert_eq!(s.pending_delta("x"), 0, "the stale pending delta is dropped at once");
        assert_eq!(s.generation(), 1);
    }
    // The reset is acknowledged: every shard learned it. Increments from now on count.
    let mut after = 0;
    for (i, s) in shards.iter_mut().enumerate() {
        s.increment("x", 10 + i as i64, t(4)).unwrap();
        s.increment("y", 1, t(4)).unwrap();
        after += 10 + i as i64;
    }
    flush_all(&mut shards, &mut g, t(5));
    assert_eq!(g.total("x"), after);
    assert_eq!(g.total("y"), 3);
    assert_eq!(shards.iter().map(|s| s.stats().stale_dropped).sum::<u64>(), 3);
}

#[test]
fn without_the_notice_increments_after_the_reset_were_lost() {
    // What the notices fix: a shard that has not learned the reset tags new increments with
    // the old generation, and the global drops them with the stale ones.
    let (mut shards, mut g) = three_shards_with_pending_x();
    g.reset("x", t(2)).unwrap();
    for s in shards.iter_mut() {
        s.increment("x", 10, t(4)).unwrap();
    }
    flush_all(&mut shards, &mut g, t(5));
    assert_eq!(g.total("x"), 0);
}

#[test]
fn increments_accepted_before_the_shard_learned_never_count() {
    let (mut shards, mut g) = three_shards_with_pending_x();
    g.reset("x", t(2)).unwrap();
    let ns = notices(&mut g);
    // Accepted after the reset but before the shard heard of it: they merge with the stale
    // pending delta and go with it.
    for s in shards.iter_mut() {
        s.increment("x", 100, t(3)).unwrap();
    }
    for (s, n) in shards.iter_mut().zip(&ns) {
        s.handle_generation_notice(n, t(4));
    }
    shards[0].increment("x", 2, t(5)).unwrap();
    flush_all(&mut shards, &mut g, t(6));
    assert_eq!(g.total("x"), 2);
}

#[test]
fn late_repeated_and_readdressed_notices_are_harmless() {
    let (mut shards, mut g) = three_shards_with_pending_x();
    g.reset("x", t(2)).unwrap();
    let ns = notices(&mut g);
    let s = &mut shards[0];
    assert!(s.handle_generation_notice(&ns[0], t(3)));
    s.take_state_changed();
    let before = s.snapshot();
    assert!(!s.handle_generation_notice(&ns[0], t(9)), "a repeat teaches nothing");
    assert!(!s.handle_generation_notice(&ns[1], t(9)), "nor does a copy addressed to another shard");
    assert!(!s.take_state_changed());
    assert_eq!(s.snapshot(), before, "not even the clock moved");
    // A shard the global never heard from learns from a notice the host asks for.
    let mut fresh = shard(manual(), 7);
    fresh.increment("x", 4, t(3)).unwrap();
    let n = g.generation_notice("x", fresh.shard_ref());
    assert_eq!((n.generation(), n.keys().collect::<Vec<_>>()), (1, vec![("x", 1)]));
    assert!(fresh.handle_generation_notice(&n, t(4)));
    fresh.increment("x", 6, t(5)).unwrap();
    fresh.flush(t(5));
    pump(&mut fresh, &mut g, t(5));
    assert_eq!(g.total("x"), 6);
    // A global without an upstream is not a notice's destination.
    assert_eq!(g.handle_generation_notice(&n, t(6)), Err(Error::NoUpstream));
}

#[test]
fn resets_reach_leaf_shards_through_mid_level_globals() {
    let up = Shard::new(manual(), ShardRef { shard: 100, incarnation: 1 });
    let mut mid = Global::with_upstream(GlobalConfig::default(), up);
    let mut top = Global::new(GlobalConfig::default());
    let mut leaves: Vec<Shard> = (0..2).map(|i| shard(manual(), i)).collect();
    let forward = |mid: &mut Global, top: &mut Global, now| {
        mid.flush_upstream(now).unwrap();
        while let Some(o) = mid.poll_output() {
            if let GlobalOutput::Forward(b) = o {
                let ack = top.handle_batch(&b, now).unwrap();
                mid.handle_upstream_ack(&ack, now).unwrap();
            }
        }
    };
    for l in leaves.iter_mut() {
        l.increment("x", 2, t(0)).unwrap();
        l.flush(t(0));
        pump(l, &mut mid, t(0));
    }
    forward(&mut mid, &mut top, t(0));
    assert_eq!(top.total("x"), 4);
    // Pending in the leaves and merged in the mid's upstream shard when the reset happens.
    leaves[0].increment("x", 50, t(1)).unwrap();
    leaves[1].increment("x", 60, t(1)).unwrap();
    leaves[1].flush(t(1));
    pump(&mut leaves[1], &mut mid, t(1));
    top.reset("x", t(2)).unwrap();
    let to_mid = notices(&mut top);
    assert_eq!(to_mid.iter().map(|n| n.to()).collect::<Vec<_>>(), vec![ShardRef { shard: 100, incarnation: 1 }]);
    assert!(mid.handle_generation_notice(&to_mid[0], t(3)).unwrap());
    assert_eq!(mid.total("x"), 0, "the mid fences the key for its own leaves");
    assert_eq!(mid.upstream().unwrap().pending_delta("x"), 0, "and its upstream shard dropped the merged 60");
    let to_leaves = notices(&mut mid);
    assert_eq!(to_leaves.iter().map(|n| n.to().shard).collect::<Vec<_>>(), vec![0, 1]);
    for (l, n) in leaves.iter_mut().zip(&to_leaves) {
        l.handle_generation_notice(n, t(4));
    }
    assert_eq!(leaves[0].pending_delta("x"), 0);
    // After every leaf learned: increments count exactly, through both levels.
    leaves[0].increment("x", 7, t(5)).unwrap();
    leaves[1].increment("x", 8, t(5)).unwrap();
    for l in leaves.iter_mut() {
        l.flush(t(6));
        pump(l, &mut mid, t(6));
    }
    forward(&mut mid, &mut top, t(7));
    assert_eq!(top.total("x"), 15);
    assert_eq!(mid.total("x"), 15);
}

#[test]
fn a_mid_level_global_drops_stale_leaf_deltas_it_forwarded_before_learning() {
    // The mid learns the generation from its upstream ack before any notice: deltas its
    // leaves accepted before the reset keep their old tag through the tree and the top drops
    // them; the leaves learn the generation from the mid's next acks.
    let up = Shard::new(manual(), ShardRef { shard: 100, incarnation: 1 });
    let mut mid = Global::with_upstream(GlobalConfig::default(), up);
    let mut top = Global::new(GlobalConfig::default());
    let mut leaf = shard(manual(), 0);
    leaf.increment("x", 2, t(0)).unwrap();
    leaf.flush(t(0));
    pump(&mut leaf, &mut mid, t(0));
    mid.flush_upstream(t(0)).unwrap();
    let send = |mid: &mut Global, top: &mut Global| {
        while let Some(o) = mid.poll_output() {
            if let GlobalOutput::Forward(b) = o {
                let ack = top.handle_batch(&b, t(1)).unwrap();
                mid.handle_upstream_ack(&ack, t(1)).unwrap();
            }
        }
    };
    send(&mut mid, &mut top);
    top.reset("x", t(1)).unwrap();
    notices(&mut top); // lost
    leaf.increment("x", 9, t(2)).unwrap(); // accepted before the leaf learned
    leaf.flush(t(2));
    pump(&mut leaf, &mut mid, t(2));
    mid.flush_upstream(t(2)).unwrap();
    send(&mut mid, &mut top);
    assert_eq!(top.total("x"), 0, "the old tag travelled with the delta and the top dropped it");
    assert_eq!((mid.generation(), leaf.generation()), (1, 0), "the mid adopted the top's generation");
    // The leaf learns it with its next acknowledgement; from then on its increments count.
    leaf.increment("y", 1, t(3)).unwrap();
    leaf.flush(t(3));
    pump(&mut leaf, &mut mid, t(3));
    assert_eq!(leaf.generation(), 1);
    leaf.increment("x", 4, t(3)).unwrap();
    leaf.flush(t(3));
    pump(&mut leaf, &mut mid, t(3));
    mid.flush_upstream(t(3)).unwrap();
    send(&mut mid, &mut top);
    assert_eq!(top.total("x"), 4);
}
