//! A host that never takes the journal (it persists snapshots, or nothing) does not pay for
//! it: once the rows the gateway or the outbox would have to report outgrow twice its state,
//! it stops tracking them, and the next take — should one come — clears every table and
//! lists every row, which brings a store holding any older rows back to the state.

#![allow(clippy::unwrap_used)]

use shardtally::journal::{GatewayRow, GatewayTable, OutboxRow, OutboxTable, RowStore};
use shardtally::outbox::{Outbox, OutboxConfig};
use shardtally::*;

const G: &str = "g";

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn a_gateway_churning_request_ids_without_takes_rewrites_its_tables_once() {
    let mut gw = Gateway::new(GatewayConfig::builder().limit(8).build().unwrap(), G).unwrap();
    let Route::Pending { creation } = gw.route("keep", t(0)).unwrap() else { panic!("no replica yet") };
    gw.handle_replica_created(creation, "r1", t(0)).unwrap();
    gw.handle_connect(G, "r1", "s-keep", "keep", t(0)).unwrap();
    let mut store = RowStore::new();
    store.apply_gateway(&gw.take_changes());
    let stale = store.len();

    // 5 000 request ids come and go, the journal untaken.
    for i in 0..5_000u64 {
        let (req, conn) = (format!("q{i}"), format!("s{i}"));
        gw.route(&req, t(i)).unwrap();
        gw.handle_connect(G, "r1", &conn, &req, t(i)).unwrap();
        gw.handle_close(G, "r1", &conn, t(i)).unwrap();
    }
    let rows = gw.take_changes();
    let cleared: Vec<GatewayTable> = rows.iter().filter_map(|r| if let GatewayRow::Cleared(t) = r { Some(*t) } else { None }).collect();
    assert_eq!(cleared, GatewayTable::ALL, "a rewrite of every table");
    assert_eq!(rows.len(), 1 + GatewayTable::ALL.len() + gw.rows().len() - 1, "meta, the clears, then every row once");
    store.apply_gateway(&rows);
    assert_eq!(store.len(), stale, "as before the churn: meta, the replica, the kept connection and its sticky entry");
    assert_eq!(Gateway::from_rows(store.gateway_rows().unwrap(), *gw.config()).unwrap().snapshot(), gw.snapshot());

    // Taken again at once: an ordinary, small take.
    gw.route("next", t(6_000)).unwrap();
    let rows = gw.take_changes();
    assert!(rows.iter().all(|r| !matches!(r, GatewayRow::Cleared(_))) && rows.len() <= 4, "{rows:?}");
}

#[test]
fn an_outbox_delivering_messages_without_takes_rewrites_its_tables_once() {
    let mut o = Outbox::new(OutboxConfig::builder().capacity(4).build().unwrap());
    let mut store = RowStore::new();
    o.offer(b"first".to_vec(), t(0));
    store.apply_outbox(&o.take_changes());
    for i in 0..3_000u64 {
        o.offer(format!("m{i}").into_bytes(), t(i));
        let id = o.in_flight_ids()[0];
        o.sent(id, t(i));
    }
    let rows = o.take_changes();
    let cleared: Vec<OutboxTable> = rows.iter().filter_map(|r| if let OutboxRow::Cleared(t) = r { Some(*t) } else { None }).collect();
    assert_eq!(cleared, OutboxTable::ALL);
    store.apply_outbox(&rows);
    let mut fresh = RowStore::new();
    fresh.apply_outbox(&o.rows());
    assert_eq!(store.pairs().collect::<Vec<_>>(), fresh.pairs().collect::<Vec<_>>(), "no stale message left");
    assert_eq!(Outbox::from_rows(store.outbox_rows().unwrap(), *o.config()).unwrap().snapshot(), o.snapshot());
}
