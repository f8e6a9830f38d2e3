//! Tiered aggregation: leaf shards → mid-level globals → a top global, two levels deep.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn forwards(g: &mut Global) -> Vec<Batch> {
    let mut out = Vec::new();
    while let Some(o) = g.poll_output() {
        if let GlobalOutput::Forward(b) = o {
            out.push(b);
        }
    }
    out
}

#[test]
fn two_levels_count_exactly_like_one() {
    let leaf = ShardConfig::builder().flush_after_requests(2).build().unwrap();
    let up = ShardConfig::builder().flush_after_requests(3).build().unwrap();
    let mut mids: Vec<Global> = (0..2)
        .map(|m| Global::with_upstream(GlobalConfig::default(), Shard::new(up, ShardRef { shard: 100 + m, incarnation: 1 })))
        .collect();
    let mut top = Global::new(GlobalConfig::default());
    let mut leaves: Vec<Shard> = (0..4).map(|i| shard(leaf, i)).collect();
    let mut now = 0;
    let mut expected = 0i64;
    for round in 0..50u64 {
        for (i, l) in leaves.iter_mut().enumerate() {
            now += 1;
            let key = if round % 2 == 0 { "a" } else { "b" };
            l.increment(key, i as i64 + 1, t(now)).unwrap();
            expected += i as i64 + 1;
            pump(l, &mut mids[i % 2], t(now));
        }
        for m in mids.iter_mut() {
            for b in forwards(m) {
                let ack = top.handle_batch(&b, t(now)).unwrap();
                m.handle_upstream_ack(&ack, t(now)).unwrap();
            }
        }
    }
    // Drain the tree: leaves first, then the mids' upstream shards.
    for (i, l) in leaves.iter_mut().enumerate() {
        l.flush(t(now));
        pump(l, &mut mids[i % 2], t(now));
    }
    for m in mids.iter_mut() {
        m.flush_upstream(t(now)).unwrap();
        for b in forwards(m) {
            let ack = top.handle_batch(&b, t(now)).unwrap();
            m.handle_upstream_ack(&ack, t(now)).unwrap();
        }
        assert_eq!(m.upstream().unwrap().pending_keys(), 0);
    }
    assert_eq!(top.total("a") + top.total("b"), expected);
    assert_eq!(mids.iter().map(|m| m.total("a") + m.total("b")).sum::<i64>(), expected);
    // The top saw only the two mid-level shards.
    assert_eq!(top.stats().distinct_shards, 2);
}

#[test]
fn a_tiered_global_snapshot_needs_restore_tiered() {
    let up = Shard::new(ShardConfig::default(), ShardRef { shard: 9, incarnation: 1 });
    let mut g = Global::with_upstream(GlobalConfig::default(), up);
    let mut leaf = shard(ShardConfig::builder().flush_after_requests(1).build().unwrap(), 0);
    leaf.increment("x", 3, t(0)).unwrap();
    pump(&mut leaf, &mut g, t(0));
    let bytes = g.snapshot();
    assert!(Global::restore(&bytes, GlobalConfig::default()).is_err());
    let back = Global::restore_tiered(&bytes, GlobalConfig::default(), ShardConfig::default()).unwrap();
    assert_eq!(back.upstream().unwrap().pending_delta("x"), 3);
    let mut plain = Global::new(GlobalConfig::default());
    assert_eq!(plain.flush_upstream(t(0)), Err(Error::NoUpstream));
}
