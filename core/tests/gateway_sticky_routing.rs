//! A request id goes back to the replica it is already on, even when another has more room;
//! when that replica is full it goes elsewhere and sticks there; it stays sticky while any of
//! its connections or reservations lives, and only then is forgotten.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

#[test]
fn a_request_id_returns_to_its_replica_over_a_less_loaded_one() {
    let mut gw = gateway(3);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0);
    gw.handle_report::<&str, &str>(G, "R0", &[], t(0)).unwrap(); // empty, least loaded
    let r = gw.route("a", t(1)).unwrap();
    assert!(matches!(&r, Route::Replica { replica, reason: RouteReason::Sticky, .. } if &**replica == "R1"), "{r:?}");
    assert_eq!(gw.stats().sticky_routes, 1);
    assert_eq!(gw.sticky("a"), Some("R1"));
}

#[test]
fn a_full_sticky_replica_sends_the_request_elsewhere_and_it_sticks_there() {
    let mut gw = gateway(2);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0); // R1 full
    create(&mut gw, "a", "R2", "a2", 1); // a's second connection cannot go to R1
    assert_eq!(gw.sticky("a"), Some("R2"));
    // A third route of `a` goes to R2, its newest replica with room.
    let r = gw.route("a", t(2)).unwrap();
    assert!(matches!(&r, Route::Replica { replica, reason: RouteReason::Sticky, .. } if &**replica == "R2"), "{r:?}");
    // A whisper to `a` reaches one replica only: the one it sticks to.
    let plan = gw.whisper(G, "R1", "b1", "a").unwrap();
    assert_eq!(plan, vec![Delivery { replica: "R2".into(), audience: Audience::Request("a".into()) }]);
}

#[test]
fn the_sticky_entry_lives_while_any_connection_or_reservation_does() {
    let mut gw = gateway(5);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "a", "a2", 0);
    assert_eq!(gw.route("a", t(0)).unwrap().replica(), Some("R1")); // a reservation too
    assert!(gw.handle_close(G, "R1", "a1", t(1)).unwrap());
    assert_eq!(gw.sticky("a"), Some("R1"), "a2 is still open");
    assert!(gw.handle_close(G, "R1", "a2", t(2)).unwrap());
    assert_eq!(gw.sticky("a"), Some("R1"), "the reservation still holds a slot");
    // The reservation lapses: nothing of `a` is left anywhere.
    let at = gw.poll_timeout().unwrap();
    gw.handle_timeout(at);
    assert_eq!(gw.sticky("a"), None);
    assert_eq!(gw.request_ids(), 0);
    assert_eq!(count(&gw, "R1"), 0);
}

#[test]
fn closing_one_of_two_replicas_keeps_the_request_on_the_other() {
    let mut gw = gateway(1);
    create(&mut gw, "a", "R1", "a1", 0);
    create(&mut gw, "a", "R2", "a2", 0); // R1 full: a's second connection is on R2
    assert!(gw.handle_close(G, "R2", "a2", t(1)).unwrap());
    assert_eq!(gw.sticky("a"), Some("R1"), "R1 still holds a connection of a");
    assert!(gw.handle_close(G, "R1", "a1", t(1)).unwrap());
    assert_eq!(gw.sticky("a"), None);
}

#[test]
fn a_request_waiting_for_a_creation_waits_for_the_same_one_again() {
    let mut gw = gateway(3);
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    assert_eq!(gw.route("a", t(1)).unwrap(), Route::Pending { creation });
    assert_eq!(gw.sticky("a"), None, "no replica holds it yet");
    assert_eq!(gw.request_ids(), 1);
    let placed = gw.handle_replica_created(creation, "R1", t(2)).unwrap();
    assert_eq!(placed.requests, ids(&["a", "a"]));
    assert_eq!(gw.replica("R1").unwrap().reservations, 2);
    assert_eq!(gw.sticky("a"), Some("R1"));
}
