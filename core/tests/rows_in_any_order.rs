//! SPEC §1.8: a machine is rebuilt from its stored rows one row at a time, in any order
//! (`GlobalBuilder`, `ShardBuilder`: what a host reading its rows with a cursor uses), into
//! exactly the machine `from_rows` and `restore` give; rows that disagree are
//! `DECODE_CORRUPT` wherever they come in the stream, and a builder's first error is final.

#![allow(clippy::unwrap_used)]

use proptest::prelude::{prop_assert, prop_assert_eq, proptest, Just, ProptestConfig, Strategy};
use shardtally::journal::{GlobalBuilder, GlobalRow, RowStore, ShardBuilder, ShardRow};
use shardtally::*;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

type Pairs = Vec<(String, Vec<u8>)>;

fn pairs(store: &RowStore) -> Pairs {
    store.pairs().map(|(t, v)| (t.to_owned(), v.to_vec())).collect()
}

fn upstream_config() -> ShardConfig {
    ShardConfig::builder().flush_after_requests(1).build().unwrap()
}

/// A mid-level global with every table in use: totals (one reset: a generation), three
/// shards' deduplication entries, write counts and deltas, the write log, a publish and a
/// forwarded batch in flight (its upstream shard's rows), and its stored rows.
fn busy_global() -> (Global, Pairs) {
    let config = GlobalConfig::builder().persist_after_writes(0).persist_after_idle_ms(0).write_log_capacity(4).build().unwrap();
    let up = Shard::new(upstream_config(), ShardRef { shard: 9, incarnation: 1 });
    let mut g = Global::with_upstream(config, up);
    let mut store = RowStore::new();
    // The top global the forwarded batches go to (their acknowledgements never come back).
    let mut top = Global::new(GlobalConfig::default());
    for s in 0..3u32 {
        let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: s, incarnation: 1 });
        let keys: Vec<(String, i64)> = (0..40).filter(|k| k % 3 != s).map(|k| (format!("key-{k:02}"), i64::from(s) + 1)).collect();
        shard.increments(&keys, t(10)).unwrap();
        shard.flush(t(10));
        while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
            g.handle_batch(&batch, t(11 + u64::from(s))).unwrap();
        }
        while let Some(out) = g.poll_output() {
            if let GlobalOutput::Forward(batch) = out {
                top.handle_batch(&batch, t(15)).unwrap();
            }
        }
        store.apply_global(&g.take_changes());
    }
    // A reset at the top reaches the mid-level global as a notice: a key with a generation.
    top.reset("key-05", t(19)).unwrap();
    while let Some(out) = top.poll_output() {
        if let GlobalOutput::Notice(notice) = out {
            g.handle_generation_notice(&notice, t(20)).unwrap();
        }
    }
    // The notice forced a publish: it stays in flight.
    while g.poll_output().is_some() {}
    store.apply_global(&g.take_changes());
    assert!(g.in_flight_publish().is_some() && g.key_generation("key-05") == 1);
    let tables: std::collections::BTreeSet<String> = pairs(&store).into_iter().map(|(t, _)| t).collect();
    for table in ["meta", "totals", "dedup", "writes", "shard_writes", "shard_deltas", "publish", "upstream.meta", "upstream.in_flight"] {
        assert!(tables.contains(table), "the session stores {table} rows");
    }
    (g, pairs(&store))
}

/// A shard with pending deltas under two generations (the older kept apart), pinned and
/// unpinned slots and a batch in flight, and its stored rows.
fn busy_shard() -> (Shard, Pairs) {
    let config = ShardConfig::builder().flush_after_requests(0).build().unwrap();
    let mut s = Shard::new(config, ShardRef { shard: 2, incarnation: 5 });
    let mut store = RowStore::new();
    let pinned = s.intern("pinned").unwrap();
    s.increment_id(pinned, 4, t(1)).unwrap();
    s.increments(&[("a", 1), ("b", 2)], t(2)).unwrap();
    s.flush(t(3));
    store.apply_shard(&s.take_changes());
    // A global applies the batch (its acknowledgement never comes back) and resets a key.
    let mut g = Global::new(GlobalConfig::default());
    while let Some(ShardOutput::SendBatch(batch)) = s.poll_output() {
        g.handle_batch(&batch, t(3)).unwrap();
    }
    g.reset("a", t(4)).unwrap();
    s.increments(&[("c", 3), ("d", 4), ("a", 5)], t(4)).unwrap();
    while let Some(out) = g.poll_output() {
        if let GlobalOutput::Notice(notice) = out {
            assert!(s.handle_generation_notice(&notice, t(5)));
        }
    }
    s.increments(&[("c", 6), ("e", 7)], t(6)).unwrap();
    store.apply_shard(&s.take_changes());
    assert!(s.pending().iter().any(|e| e.generation() == 0) && s.pending().iter().any(|e| e.generation() == 1));
    (s, pairs(&store))
}

fn global_builder() -> GlobalBuilder {
    let config = GlobalConfig::builder().persist_after_writes(0).persist_after_idle_ms(0).write_log_capacity(4).build().unwrap();
    GlobalBuilder::tiered(config, upstream_config())
}

fn shard_builder() -> ShardBuilder {
    ShardBuilder::new(ShardConfig::builder().flush_after_requests(0).build().unwrap())
}

fn rebuild_global(rows: &Pairs) -> Result<Global, DecodeError> {
    let mut b = global_builder();
    for (table, value) in rows {
        b.add_stored(table, value)?;
    }
    b.finish()
}

fn rebuild_shard(rows: &Pairs) -> Result<Shard, DecodeError> {
    let mut b = shard_builder();
    for (table, value) in rows {
        b.add_stored(table, value)?;
    }
    b.finish()
}

fn code<T>(r: Result<T, DecodeError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_order_rebuilds_the_same_global(order in Just((0..busy_global().1.len()).collect::<Vec<usize>>()).prop_shuffle()) {
        let (live, rows) = busy_global();
        let shuffled: Pairs = order.iter().map(|i| rows[*i].clone()).collect();
        let mut rebuilt = rebuild_global(&shuffled).unwrap();
        prop_assert_eq!(rebuilt.snapshot(), live.snapshot());
        prop_assert!(rebuilt.take_changes().is_empty(), "the journal starts empty");
        // The publish and the forwarded batch in flight are offered again.
        let mut outputs = Vec::new();
        while let Some(out) = rebuilt.poll_output() {
            outputs.push(out);
        }
        prop_assert!(outputs.iter().any(|o| matches!(o, GlobalOutput::Publish(_))));
        prop_assert!(outputs.iter().any(|o| matches!(o, GlobalOutput::Forward(_))));
    }

    #[test]
    fn any_order_rebuilds_the_same_shard(order in Just((0..busy_shard().1.len()).collect::<Vec<usize>>()).prop_shuffle()) {
        let (live, rows) = busy_shard();
        let shuffled: Pairs = order.iter().map(|i| rows[*i].clone()).collect();
        let mut rebuilt = rebuild_shard(&shuffled).unwrap();
        prop_assert_eq!(rebuilt.snapshot(), live.snapshot());
        prop_assert!(rebuilt.take_changes().is_empty(), "the journal starts empty");
    }
}

#[test]
fn building_row_by_row_is_from_rows_and_restore() {
    let (live, rows) = busy_global();
    let decoded: Vec<GlobalRow> = rows.iter().map(|(t, v)| GlobalRow::decode_stored(t, v).unwrap()).collect();
    let from_rows = Global::from_rows_tiered(decoded, *live.config(), upstream_config()).unwrap();
    let restored = Global::restore_tiered(&live.snapshot(), *live.config(), upstream_config()).unwrap();
    assert_eq!(rebuild_global(&rows).unwrap().snapshot(), from_rows.snapshot());
    assert_eq!(from_rows.snapshot(), restored.snapshot());

    let (shard, rows) = busy_shard();
    let decoded: Vec<ShardRow> = rows.iter().map(|(t, v)| ShardRow::decode_stored(t, v).unwrap()).collect();
    let mut b = shard_builder();
    b.add_rows(decoded).unwrap();
    assert_eq!(b.finish().unwrap().snapshot(), shard.snapshot());
}

/// The rows without the first one of `table`.
fn without(rows: &Pairs, table: &str) -> Pairs {
    let at = rows.iter().position(|(t, _)| t == table).unwrap();
    rows.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, r)| r.clone()).collect()
}

/// The rows without the last one of `table` (the newest write-log record).
fn without_last(rows: &Pairs, table: &str) -> Pairs {
    let at = rows.iter().rposition(|(t, _)| t == table).unwrap();
    rows.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, r)| r.clone()).collect()
}

/// The rows with the first, or the last, one of `table` twice (the copy at the end, or at
/// the start: either order).
fn twice(rows: &Pairs, table: &str) -> Vec<Pairs> {
    let first = rows.iter().find(|(t, _)| t == table).unwrap();
    let last = rows.iter().rfind(|(t, _)| t == table).unwrap();
    let mut out = Vec::new();
    for row in [first, last] {
        let mut at_end = rows.clone();
        at_end.push(row.clone());
        let mut at_start = vec![row.clone()];
        at_start.extend(rows.iter().cloned());
        out.extend([at_end, at_start]);
    }
    out
}

#[test]
fn rows_that_disagree_are_corrupt_wherever_they_come() {
    let (_, rows) = busy_global();
    for table in ["meta", "totals", "dedup", "writes", "shard_writes", "shard_deltas", "publish", "upstream.meta", "upstream.slots"] {
        for (i, rows) in twice(&rows, table).iter().enumerate() {
            assert_eq!(code(rebuild_global(rows)), Some("DECODE_CORRUPT"), "two {table} rows (order {i})");
        }
    }
    assert_eq!(code(rebuild_global(&without(&rows, "meta"))), Some("DECODE_CORRUPT"), "no meta row");
    assert_eq!(code(rebuild_global(&without(&rows, "shard_writes"))), Some("DECODE_CORRUPT"), "deltas without a write count");
    assert_eq!(code(rebuild_global(&without_last(&rows, "writes"))), Some("DECODE_CORRUPT"), "the newest write-log record missing");
    // A key some shard wrote, without its total: before or after its deltas.
    let key_rows: Pairs = rows.iter().filter(|(t, _)| t != "totals").cloned().collect();
    assert_eq!(code(rebuild_global(&key_rows)), Some("DECODE_CORRUPT"), "deltas of keys without a total");
    // A tiered global's rows do not rebuild an untiered one.
    let mut plain = GlobalBuilder::new(GlobalConfig::default());
    let up = rows.iter().find(|(t, _)| t == "upstream.meta").unwrap();
    assert_eq!(plain.add_stored(&up.0, &up.1).map_err(|e| e.code()), Err("DECODE_CORRUPT"));

    let (_, rows) = busy_shard();
    for table in ["meta", "slots", "pending", "in_flight"] {
        for (i, rows) in twice(&rows, table).iter().enumerate() {
            assert_eq!(code(rebuild_shard(rows)), Some("DECODE_CORRUPT"), "two {table} rows (order {i})");
        }
    }
    assert_eq!(code(rebuild_shard(&without(&rows, "meta"))), Some("DECODE_CORRUPT"), "no meta row");
    assert_eq!(code(rebuild_shard(&without(&rows, "in_flight"))), Some("DECODE_CORRUPT"), "the meta row's batch is missing");
    let no_slots: Pairs = rows.iter().filter(|(t, _)| t != "slots").cloned().collect();
    assert_eq!(code(rebuild_shard(&no_slots)), Some("DECODE_CORRUPT"), "pending keys without a slot");
}

#[test]
fn a_builders_first_error_is_final() {
    let (live, rows) = busy_global();
    let mut b = global_builder();
    let meta = rows.iter().find(|(t, _)| t == "meta").unwrap();
    b.add_stored(&meta.0, &meta.1).unwrap();
    let first = b.add_stored("totals", b"not a row").unwrap_err();
    for (table, value) in &rows {
        if table != "meta" {
            assert_eq!(b.add_stored(table, value), Err(first.clone()), "a good row after the error");
        }
    }
    assert_eq!(b.finish().err(), Some(first));
    assert_eq!(rebuild_global(&rows).unwrap().snapshot(), live.snapshot());

    let (_, rows) = busy_shard();
    let mut b = shard_builder();
    let first = b.add(ShardRow::PendingCleared).unwrap_err();
    assert_eq!(first.code(), "DECODE_CORRUPT", "a delete row is not a stored row");
    for (table, value) in &rows {
        assert_eq!(b.add_stored(table, value), Err(first.clone()));
    }
    assert_eq!(b.finish().err(), Some(first));
}

#[test]
fn a_slot_id_beyond_the_bound_is_corrupt_before_any_table_grows() {
    let mut b = ShardBuilder::new(ShardConfig::builder().max_pending_keys(10).max_interned_keys(10).build().unwrap());
    let row = ShardRow::Slot { id: u32::MAX, key: "k".into(), pinned: true };
    assert_eq!(b.add(row).map_err(|e| e.code()), Err("DECODE_CORRUPT"));
}
