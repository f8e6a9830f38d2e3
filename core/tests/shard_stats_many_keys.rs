//! Per-shard write statistics stay exact when shards write hundreds of keys: a shard writing
//! most keys, one writing a tenth of them, one that writes many keys early and then keys
//! far beyond them, and one writing a handful — checked after every round against a plain
//! model, through the journal (rebuilt from its rows) and through snapshots.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::journal::RowStore;
use shardtally::*;
use std::collections::BTreeMap;

fn key(i: u64) -> String {
    format!("k{i:05}")
}

/// The keys shard `s` increments in round `r`, with their deltas.
fn writes(s: u32, r: u64) -> Vec<(String, i64)> {
    let ids: Vec<u64> = match s {
        0 => (0..300).filter(|i| (i + r) % 3 != 0).collect(),
        1 => (0..300 + 40 * r).step_by(10).collect(),
        2 if r < 2 => (0..100).collect(),
        2 => vec![5, 2_000 + 500 * r],
        _ => vec![7, r],
    };
    // Deltas of both signs, so some sums come back to zero (and stay listed).
    ids.into_iter().map(|i| (key(i), if (i + r) % 4 == 0 { -1 } else { 1 })).collect()
}

#[test]
fn statistics_match_a_model_through_the_journal_and_snapshots() {
    let config = GlobalConfig::builder().persist_after_writes(0).persist_after_idle_ms(0).persist_max_age_ms(0).build().unwrap();
    let mut g = Global::new(config);
    let quiet = ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().unwrap();
    let mut shards: Vec<Shard> = (0..4).map(|i| shard(quiet, i)).collect();
    let mut model: BTreeMap<u32, (u64, BTreeMap<String, i64>)> = BTreeMap::new();
    let mut store = RowStore::new();
    store.apply_global(&g.rows());
    g.take_changes();
    for r in 0..6 {
        for (s, sh) in shards.iter_mut().enumerate() {
            let s = s as u32;
            let w = writes(s, r);
            sh.increments(&w, t(r)).unwrap();
            sh.flush(t(r));
            pump(sh, &mut g, t(r));
            let (count, sums) = model.entry(s).or_default();
            *count += 1;
            for (k, d) in w {
                *sums.entry(k).or_default() += d;
            }
        }
        let seen: BTreeMap<u32, (u64, BTreeMap<String, i64>)> = g
            .shard_writes()
            .into_iter()
            .map(|(s, w)| (s, (w.writes, w.deltas.iter().map(|(k, d)| (k.to_string(), *d)).collect())))
            .collect();
        assert_eq!(seen, model, "round {r}");
        store.apply_global(&g.take_changes());
        let rebuilt = Global::from_rows(store.global_rows().unwrap(), config).unwrap();
        assert_eq!(rebuilt.snapshot(), g.snapshot(), "round {r}: the journal holds the statistics");
        let restored = Global::restore(&g.snapshot(), config).unwrap();
        assert_eq!(restored.shard_writes(), g.shard_writes(), "round {r}");
        // A restored global goes on counting exactly like the live one.
        let mut a = restored;
        let mut b = Global::restore(&g.snapshot(), config).unwrap();
        let mut extra = shard(quiet, 2);
        extra.increments(&[(key(3), 1), (key(9_999), 2)], t(r)).unwrap();
        extra.flush(t(r));
        let batch = batches(&mut extra).pop().unwrap();
        a.handle_batch(&batch, t(r)).unwrap();
        b.handle_batch(&Batch::decode(&batch.encode()).unwrap(), t(r)).unwrap();
        assert_eq!(a.snapshot(), b.snapshot(), "round {r}: with and without the batch's key hashes");
    }
}
