//! A replica creation that fails, or that the host never answers within
//! `creation_timeout_ms`, releases the requests waiting for it; an answer that comes after
//! that adopts the replica empty instead of leaking it.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

fn creating() -> Gateway {
    with(GatewayConfig::builder().limit(2).creation_timeout_ms(3_000))
}

#[test]
fn a_failed_creation_releases_its_waiters() {
    let mut gw = creating();
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    gw.route("b", t(0)).unwrap();
    assert_eq!(gw.handle_creation_failed(creation, t(10)), Some(ids(&["a", "b"])));
    assert_eq!(gw.request_ids(), 0);
    assert_eq!(gw.pending_creations(), vec![]);
    assert_eq!(gw.handle_creation_failed(creation, t(11)), None, "already released");
    assert_eq!(gw.stats().creation_failures, 1);
    // The next route asks again.
    let Route::Pending { creation: again } = gw.route("a", t(12)).unwrap() else { panic!() };
    assert_ne!(again, creation);
}

#[test]
fn an_unanswered_creation_expires_at_its_deadline() {
    let mut gw = creating();
    let Route::Pending { creation } = gw.route("a", t(100)).unwrap() else { panic!() };
    let _ = outputs(&mut gw);
    assert_eq!(gw.next_deadline(), Some(Deadline { at: t(3_100), timer: GatewayTimer::CreationTimeout }));
    gw.handle_timeout(t(3_099));
    assert_eq!(outputs(&mut gw), vec![]);
    gw.handle_timeout(t(3_100));
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::CreationExpired { creation, requests: ids(&["a"]) }]);
    assert_eq!(gw.sticky("a"), None);
    assert_eq!(gw.request_ids(), 0);
}

#[test]
fn a_late_answer_adopts_the_replica_empty() {
    let mut gw = creating();
    create(&mut gw, "x", "R0", "x1", 0);
    join(&mut gw, "y", "y1", 0);
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    gw.handle_timeout(t(3_000));
    let _ = outputs(&mut gw);
    let placed = gw.handle_replica_created(creation, "R1", t(4_000)).unwrap();
    assert_eq!(placed.requests, vec![]);
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::Introduce { replica: "R1".into(), peers: ids(&["R0"]) }]);
    assert_eq!(count(&gw, "R1"), 0);
    assert_eq!(gw.stats().adopted, 1);
    assert_eq!(gw.route("b", t(4_001)).unwrap().replica(), Some("R1"));
}
