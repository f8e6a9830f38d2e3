//! SPEC §11 scenario 6: shard 0 flushes `{x:1}` and `{x:2}`, shard 1 flushes `{y:5}` →
//! per-shard stats `shard0: {writes 2, x 3}`, `shard1: {writes 1, y 5}`, total writes 3,
//! 2 shards.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn per_shard_write_statistics() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let (mut s0, mut s1) = (shard(config, 0), shard(config, 1));
    let mut g = Global::new(GlobalConfig::default());
    s0.increment("x", 1, t(0)).unwrap();
    pump(&mut s0, &mut g, t(0));
    s0.increment("x", 2, t(1)).unwrap();
    pump(&mut s0, &mut g, t(1));
    s1.increment("y", 5, t(2)).unwrap();
    pump(&mut s1, &mut g, t(2));

    type Row = (u32, u64, Vec<(String, i64)>);
    let stats: Vec<Row> =
        g.shard_writes().into_iter().map(|(s, w)| (s, w.writes, w.deltas.iter().map(|(k, d)| (k.to_string(), *d)).collect())).collect();
    assert_eq!(stats, vec![(0, 2, vec![("x".into(), 3)]), (1, 1, vec![("y".into(), 5)])]);
    assert_eq!(g.stats().total_writes, 3);
    assert_eq!(g.stats().distinct_shards, 2);
    // The write log lists them newest first.
    let seqs: Vec<(u32, u64)> = g
        .write_log()
        .filter_map(|r| match &r.kind {
            WriteKind::Batch { from, seq, .. } => Some((from.shard, *seq)),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![(1, 1), (0, 2), (0, 1)]);
}

#[test]
fn the_write_log_is_bounded() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    let mut g = Global::new(GlobalConfig::builder().write_log_capacity(3).build().unwrap());
    for i in 0..10 {
        s.increment("x", 1, t(i)).unwrap();
        pump(&mut s, &mut g, t(i));
    }
    assert_eq!(g.write_log().count(), 3);
    assert_eq!(g.stats().total_writes, 10);
}
