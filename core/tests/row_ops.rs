//! SPEC §1.8 for hosts without a typed schema: every journal row is a storage operation
//! (`RowOp`: put / delete / clear / delete below) on one `(table, key) → value` table; the
//! stored `(table, value)` pairs read back rebuild the machine, and a row stored under
//! another table than its own is corrupt, not silently accepted — for the counters, the
//! gateway and the outbox alike; rows that disagree with each other are corrupt too.

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

#[test]
fn gateway_and_outbox_rows_are_checked_where_they_are_stored_and_together() {
    use shardtally::journal::{GatewayRow, OutboxRow};
    use shardtally::outbox::{Outbox, OutboxConfig};
    let mut gw = Gateway::new(GatewayConfig::builder().limit(2).build().unwrap(), "g").unwrap();
    let Route::Pending { creation } = gw.route("alice", t(1)).unwrap() else { panic!("no replica yet") };
    gw.handle_replica_created(creation, "r1", t(1)).unwrap();
    gw.handle_connect("g", "r1", "s1", "alice", t(2)).unwrap();
    let ops: Vec<_> = gw.take_changes().iter().map(GatewayRow::op).collect();
    let tables: Vec<&str> = ops.iter().map(|o| o.table).collect();
    assert_eq!(tables, ["meta", "replicas", "connections", "sticky", "reservations", "creations"]);
    let kinds: Vec<&str> = ops.iter().map(|o| o.kind.as_str()).collect();
    // The reservation was consumed and the creation answered since the take before: deletes.
    assert_eq!(kinds, ["put", "put", "put", "put", "delete", "delete"]);
    let connection = ops.iter().find(|o| o.table == "connections").unwrap();
    assert_eq!(connection.key, [&[0, 0, 0, 2][..], b"r1", &[0, 0, 0, 2], b"s1"].concat());

    let mut store = RowStore::new();
    store.apply_gateway(&gw.rows());
    let pairs: Vec<(String, Vec<u8>)> = store.pairs().map(|(t, v)| (t.to_owned(), v.to_vec())).collect();
    let (_, replica) = pairs.iter().find(|(t, _)| t == "replicas").unwrap();
    assert_eq!(GatewayRow::decode_stored("sticky", replica).map_err(|e| e.code()), Err("DECODE_CORRUPT"));
    assert_eq!(OutboxRow::decode_stored("messages", replica).map_err(|e| e.code()), Err("DECODE_WRONG_KIND"));
    // Rows that disagree: a connection whose replica has no row, a meta row twice, a delete.
    let rows: Vec<GatewayRow> = store.gateway_rows().unwrap();
    let without_replica: Vec<GatewayRow> = rows.iter().filter(|r| !matches!(r, GatewayRow::Replica { .. })).cloned().collect();
    let twice: Vec<GatewayRow> = rows.iter().chain(rows.iter().take(1)).cloned().collect();
    let deleting = vec![rows[0].clone(), GatewayRow::StickyRemoved { request: "alice".into() }];
    for bad in [without_replica, twice, deleting, Vec::new()] {
        assert_eq!(Gateway::from_rows(bad, *gw.config()).err().map(|e| e.code()), Some("DECODE_CORRUPT"));
    }
    // Arbitrary bytes are an error, never a panic.
    for (table, value) in &pairs {
        for i in 0..value.len() {
            let mut v = value.clone();
            v[i] ^= 0x5A;
            assert!(GatewayRow::decode_stored(table, &v).is_err());
        }
    }

    let mut o = Outbox::new(OutboxConfig::default());
    o.offer(b"hello".to_vec(), t(1));
    o.offer(b"world".to_vec(), t(1));
    let ops: Vec<_> = o.take_changes().iter().map(OutboxRow::op).collect();
    let tables: Vec<(&str, Vec<u8>)> = ops.iter().map(|o| (o.table, o.key.clone())).collect();
    let id = |n: u64| n.to_be_bytes().to_vec();
    assert_eq!(tables, [("meta", vec![]), ("messages", id(1)), ("messages", id(2)), ("sends", id(1))]);
    let rows: Vec<OutboxRow> = o.rows();
    let orphan_send: Vec<OutboxRow> = rows.iter().filter(|r| !matches!(r, OutboxRow::Message { id: 1, .. })).cloned().collect();
    assert_eq!(Outbox::from_rows(orphan_send, *o.config()).err().map(|e| e.code()), Some("DECODE_CORRUPT"));
    let small = OutboxConfig::builder().capacity(1).build().unwrap();
    assert_eq!(Outbox::from_rows(rows, small).err().map(|e| e.code()), Some("DECODE_CORRUPT"), "more held than the capacity");
}
