//! SPEC §1.8 for hosts without a typed schema: every journal row is a storage operation
//! (`RowOp`: put / delete / clear / delete below) on one `(table, key) → value` table; the
//! stored `(table, value)` pairs read back rebuild the machine, and a row stored under
//! another table than its own is corrupt, not silently accepted.

#![allow(clippy::unwrap_used)]

use shardtally::journal::{GlobalRow, RowOpKind, RowStore, ShardRow};
use shardtally::*;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn ops_name_their_table_key_and_kind() {
    let config = ShardConfig::builder().flush_after_requests(2).build().unwrap();
    let mut s = Shard::new(config, ShardRef { shard: 3, incarnation: 7 });
    s.increment("ab", 1, t(1)).unwrap();
    let ops: Vec<_> = s.take_changes().iter().map(ShardRow::op).collect();
    let pending = ops.iter().find(|o| o.table == "pending").unwrap();
    // "ab": its length (4 bytes, big-endian), its bytes, then the generation (8 bytes).
    assert_eq!(pending.key, [&[0, 0, 0, 2][..], b"ab", &[0; 8]].concat());
    s.increment("ab", 1, t(2)).unwrap(); // the second request cuts a batch
    let ops: Vec<_> = s.take_changes().iter().map(ShardRow::op).collect();
    let kinds: Vec<(&str, &str)> = ops.iter().map(|o| (o.kind.as_str(), o.table)).collect();
    assert_eq!(kinds, [("put", "meta"), ("clear", "pending"), ("put", "in_flight")]);
    assert!(ops.iter().all(|o| o.value.is_some() == (o.kind == RowOpKind::Put)));

    // A tiered global's upstream rows go to `upstream.`-prefixed tables.
    let up = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
    let mut g = Global::with_upstream(GlobalConfig::default(), up);
    let tables: Vec<&str> = g.take_changes().iter().map(|r| r.op().table).collect();
    assert_eq!(tables, ["meta", "upstream.meta"]);
}

#[test]
fn stored_pairs_rebuild_and_misplaced_rows_are_corrupt() {
    let mut s = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
    let mut store = RowStore::new();
    for (i, key) in ["x", "y", "x"].iter().enumerate() {
        s.increment(key, 1, t(i as u64)).unwrap();
        store.apply_shard(&s.take_changes());
    }
    let pairs: Vec<(String, Vec<u8>)> = store.pairs().map(|(t, v)| (t.to_owned(), v.to_vec())).collect();
    let rows: Vec<ShardRow> = pairs.iter().map(|(t, v)| ShardRow::decode_stored(t, v).unwrap()).collect();
    assert_eq!(Shard::from_rows(rows, ShardConfig::default()).unwrap().snapshot(), s.snapshot());

    let (_, meta) = pairs.iter().find(|(t, _)| t == "meta").unwrap();
    assert_eq!(ShardRow::decode_stored("slots", meta).map_err(|e| e.code()), Err("DECODE_CORRUPT"));
    assert_eq!(GlobalRow::decode_stored("upstream.pending", meta).map_err(|e| e.code()), Err("DECODE_CORRUPT"));
    assert!(matches!(GlobalRow::decode_stored("upstream.meta", meta), Ok(GlobalRow::Upstream(ShardRow::Meta(_)))));
    assert_eq!(GlobalRow::decode_stored("meta", meta).map_err(|e| e.code()), Err("DECODE_WRONG_KIND"), "a shard row is not a global's");
}
