//! With `retire_after_idle_ms > 0`, a replica with no connection and no reservation for that
//! long is retired: the host is told, and it is no longer offered.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

fn scaling() -> Gateway {
    with(GatewayConfig::builder().limit(2).reservation_ttl_ms(1_000).retire_after_idle_ms(60_000))
}

#[test]
fn an_idle_replica_is_retired_and_no_longer_offered() {
    let mut gw = scaling();
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0); // R1 full
    create(&mut gw, "c", "R2", "c1", 0);
    gw.handle_close(G, "R1", "a1", t(10_000)).unwrap();
    gw.handle_close(G, "R1", "b1", t(10_000)).unwrap();
    assert_eq!(gw.next_deadline(), Some(Deadline { at: t(70_000), timer: GatewayTimer::Retire }));
    gw.handle_timeout(t(69_999));
    assert_eq!(outputs(&mut gw), vec![]);
    gw.handle_timeout(gw.poll_timeout().unwrap());
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::Retire { replica: "R1".into() }]);
    assert_eq!(gw.replica("R1"), None);
    assert_eq!(gw.stats().retirements, 1);
    assert_eq!(gw.replicas().len(), 1);
    // R2 is busy (c1) and stays; once it is full, a new replica is asked for rather than
    // R1 offered again.
    assert_eq!(&*join(&mut gw, "d", "d1", 70_001), "R2");
    assert!(matches!(gw.route("e", t(70_002)).unwrap(), Route::Pending { .. }));
    // Inputs about the retired replica are refused.
    assert_eq!(gw.handle_close(G, "R1", "a1", t(70_003)), Err(Error::UnknownReplica { replica: "R1".into() }));
}

#[test]
fn a_reservation_or_connection_keeps_a_replica_from_retiring() {
    let mut gw = scaling();
    create(&mut gw, "a", "R1", "a1", 0);
    gw.handle_close(G, "R1", "a1", t(0)).unwrap();
    gw.route("b", t(59_000)).unwrap(); // idle for 59 s, then a reservation until 60 s
    gw.handle_timeout(t(60_000));
    assert_eq!(outputs(&mut gw), vec![], "the reservation lapsed at 60 s: idle from then");
    assert_eq!(gw.next_deadline(), Some(Deadline { at: t(120_000), timer: GatewayTimer::Retire }));
    gw.handle_timeout(t(120_000));
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::Retire { replica: "R1".into() }]);
}

#[test]
fn a_late_timer_uses_the_time_the_replica_went_idle() {
    let mut gw = scaling();
    create(&mut gw, "a", "R1", "a1", 0);
    gw.handle_close(G, "R1", "a1", t(0)).unwrap();
    gw.route("b", t(100)).unwrap();
    // The host's alarm runs very late: the reservation lapsed at 1100 and the replica has
    // been idle long enough since then, so both happen in one call.
    gw.handle_timeout(t(61_100));
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::Retire { replica: "R1".into() }]);
    assert_eq!((gw.stats().expirations, gw.stats().retirements), (1, 1));
}

#[test]
fn scale_in_is_off_by_default() {
    let mut gw = gateway(2);
    create(&mut gw, "a", "R1", "a1", 0);
    gw.handle_close(G, "R1", "a1", t(0)).unwrap();
    assert_eq!(gw.poll_timeout(), None);
    gw.handle_timeout(t(u64::MAX));
    assert_eq!(gw.replicas().len(), 1);
}
