//! A slot reserved by a route and never turned into a connection is freed after
//! `reservation_ttl_ms` (DOG leaked it). The clock jumps straight to each deadline; early
//! or repeated timeouts change nothing; a clock stepping backwards moves no deadline.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

fn ttl_gateway() -> Gateway {
    with(GatewayConfig::builder().limit(2).reservation_ttl_ms(1_000))
}

#[test]
fn an_unused_reservation_lapses_at_its_deadline() {
    let mut gw = ttl_gateway();
    create(&mut gw, "a", "R1", "a1", 0);
    assert_eq!(gw.route("b", t(100)).unwrap(), Route::Replica { replica: "R1".into(), reason: RouteReason::Current, expires_at: t(1_100) });
    assert_eq!(count(&gw, "R1"), 2);
    assert_eq!(gw.next_deadline(), Some(Deadline { at: t(1_100), timer: GatewayTimer::ReservationExpiry }));

    // Early: nothing happens, not even to the clock.
    let _ = gw.take_state_changed();
    let before = gw.snapshot();
    gw.handle_timeout(t(1_099));
    assert_eq!(gw.snapshot(), before);
    assert!(!gw.take_state_changed());

    let at = gw.poll_timeout().unwrap();
    gw.handle_timeout(at);
    assert!(gw.take_state_changed());
    assert_eq!(count(&gw, "R1"), 1);
    assert_eq!(gw.stats().expirations, 1);
    assert_eq!(gw.sticky("b"), None);
    assert_eq!(gw.poll_timeout(), None);

    // Twice: nothing more.
    let after = gw.snapshot();
    gw.handle_timeout(at);
    assert_eq!(gw.snapshot(), after);
    assert!(!gw.take_state_changed());
}

#[test]
fn a_late_connection_takes_a_free_slot_instead() {
    let mut gw = ttl_gateway();
    create(&mut gw, "a", "R1", "a1", 0);
    gw.route("b", t(0)).unwrap();
    gw.handle_timeout(t(1_000));
    assert_eq!(gw.handle_connect(G, "R1", "b1", "b", t(1_500)).unwrap(), ConnectOutcome::Unreserved);
    assert_eq!(count(&gw, "R1"), 2);
    assert_eq!(gw.stats().unreserved_connects, 1);
    // Now full: a connection nobody reserved a slot for is refused.
    rejected(&mut gw, Error::ReplicaFull { replica: "R1".into(), limit: 2 }, |gw| gw.handle_connect(G, "R1", "c1", "c", t(1_600)));
}

#[test]
fn a_connection_consumes_the_oldest_reservation_of_its_request_id() {
    let mut gw = with(GatewayConfig::builder().limit(5).reservation_ttl_ms(1_000));
    create(&mut gw, "a", "R1", "a1", 0);
    gw.route("a", t(100)).unwrap();
    gw.route("a", t(200)).unwrap();
    assert_eq!(gw.handle_connect(G, "R1", "a2", "a", t(300)).unwrap(), ConnectOutcome::Reserved);
    let left: Vec<Timestamp> = gw.reservations().iter().map(|r| r.expires_at).collect();
    assert_eq!(left, vec![t(1_200)]);
}

#[test]
fn a_clock_stepping_backwards_never_moves_a_deadline_backwards() {
    let mut gw = ttl_gateway();
    create(&mut gw, "a", "R1", "a1", 5_000);
    // Routed "at 10", which is before 5000: the reservation counts from 5000.
    assert_eq!(gw.route("b", t(10)).unwrap(), Route::Replica { replica: "R1".into(), reason: RouteReason::Current, expires_at: t(6_000) });
    gw.handle_timeout(t(5_999));
    assert_eq!(count(&gw, "R1"), 2);
    gw.handle_timeout(t(6_000));
    assert_eq!(count(&gw, "R1"), 1);
}

#[test]
fn a_freed_slot_ends_the_current_fill() {
    let mut gw = with(GatewayConfig::builder().limit(3).reservation_ttl_ms(1_000));
    create(&mut gw, "a", "R1", "a1", 0);
    gw.route("b", t(0)).unwrap();
    assert_eq!(gw.current(), Some("R1"));
    gw.handle_timeout(t(1_000));
    assert_eq!(gw.current(), None, "the next new request goes to the least-loaded replica");
}
