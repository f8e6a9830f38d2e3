//! The deduplication table is bounded without ever forgetting a live shard: only lives that
//! a newer life of the same shard index replaced are pruned, and a batch from a new life when
//! every entry is live is refused (the shard retries) instead of evicting a live shard, whose
//! re-sent batches would then count twice.

#![allow(clippy::unwrap_used)]

use shardtally::*;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn batch_from(shard: u32, incarnation: u64, key: &str) -> Batch {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = Shard::new(config, ShardRef { shard, incarnation });
    s.increment(key, 1, t(0)).unwrap();
    let Some(ShardOutput::SendBatch(b)) = s.poll_output() else { panic!("no batch") };
    b
}

fn global(max_dedup_entries: usize) -> Global {
    Global::new(GlobalConfig::builder().max_dedup_entries(max_dedup_entries).build().unwrap())
}

#[test]
fn a_replaced_life_is_pruned_first() {
    let mut g = global(2);
    g.handle_batch(&batch_from(0, 1, "a"), t(1)).unwrap();
    g.handle_batch(&batch_from(1, 1, "b"), t(2)).unwrap();
    // Shard 0 restarted without its state: its new life replaces the old one.
    g.handle_batch(&batch_from(0, 2, "a"), t(3)).unwrap();
    assert_eq!(g.last_seq(ShardRef { shard: 0, incarnation: 1 }), None, "the replaced life is pruned");
    assert_eq!(g.last_seq(ShardRef { shard: 1, incarnation: 1 }), Some(1), "the live shard 1 is kept");
    assert_eq!(g.stats().dedup_evictions, 1);
    // Shard 1's re-sent batch is still recognised: it counts once.
    let again = g.handle_batch(&batch_from(1, 1, "b"), t(4)).unwrap();
    assert!(again.is_duplicate());
    assert_eq!(g.total("b"), 1);
    assert_eq!(g.total("a"), 2);
}

#[test]
fn a_full_table_of_live_shards_refuses_a_new_life_and_changes_nothing() {
    let mut g = global(2);
    g.handle_batch(&batch_from(0, 1, "a"), t(1)).unwrap();
    g.handle_batch(&batch_from(1, 1, "b"), t(2)).unwrap();
    let before = g.snapshot();
    g.take_state_changed();
    let err = g.handle_batch(&batch_from(2, 1, "c"), t(3)).unwrap_err();
    assert_eq!(err, Error::TableFull { table: "dedup", limit: 2 });
    assert!(!err.rejects_batch(), "transient: the shard retries (the host raises the bound)");
    assert_eq!(g.snapshot(), before, "a refused batch changes nothing, not even the clock");
    assert!(!g.take_state_changed());
    // Both live shards keep deduplicating.
    assert!(g.handle_batch(&batch_from(0, 1, "a"), t(4)).unwrap().is_duplicate());
    assert!(g.handle_batch(&batch_from(1, 1, "b"), t(5)).unwrap().is_duplicate());
    assert_eq!((g.total("a"), g.total("b"), g.total("c")), (1, 1, 0));
}

#[test]
fn among_replaced_lives_the_least_recently_seen_goes() {
    let mut g = global(3);
    g.handle_batch(&batch_from(0, 1, "a"), t(1)).unwrap();
    g.handle_batch(&batch_from(1, 1, "b"), t(2)).unwrap();
    // Shard 1 and then shard 0 restart (the table is full at 3: 0/1, 1/1, 1/2).
    g.handle_batch(&batch_from(1, 2, "b"), t(3)).unwrap();
    assert_eq!(g.stats().dedup_evictions, 0, "there was room");
    g.handle_batch(&batch_from(0, 2, "a"), t(4)).unwrap();
    // The incoming life's own index goes first: 0/1 (not 1/1, although also replaced).
    assert_eq!(g.last_seq(ShardRef { shard: 0, incarnation: 1 }), None);
    assert_eq!(g.last_seq(ShardRef { shard: 1, incarnation: 1 }), Some(1));
    // A third shard index: the replaced life 1/1 is pruned, no live one.
    g.handle_batch(&batch_from(2, 1, "c"), t(5)).unwrap();
    assert_eq!(g.last_seq(ShardRef { shard: 1, incarnation: 1 }), None);
    for r in [(1, 2), (0, 2), (2, 1)] {
        assert_eq!(g.last_seq(ShardRef { shard: r.0, incarnation: r.1 }), Some(1), "{r:?} is live");
    }
    assert_eq!(g.stats().dedup_evictions, 2);
}
