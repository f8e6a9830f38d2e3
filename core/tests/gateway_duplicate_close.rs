//! Closing a connection is idempotent: DOG decremented twice when both `error` and `close`
//! fired for one socket. Counts never drop below zero and exactly one slot is freed.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;

#[test]
fn error_then_close_frees_exactly_one_slot() {
    let mut gw = gateway(3);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0);
    assert_eq!(count(&gw, "R1"), 2);
    assert!(gw.handle_close(G, "R1", "a1", t(1)).unwrap(), "error");
    assert!(!gw.handle_close(G, "R1", "a1", t(1)).unwrap(), "close");
    assert_eq!(count(&gw, "R1"), 1, "b1 is still counted");
    assert_eq!((gw.stats().closes, gw.stats().duplicate_closes), (1, 1));
}

#[test]
fn closes_of_unknown_connections_never_go_below_zero() {
    let mut gw = gateway(3);
    create(&mut gw, "a", "R1", "a1", 0);
    gw.handle_close(G, "R1", "a1", t(1)).unwrap();
    for _ in 0..5 {
        assert!(!gw.handle_close(G, "R1", "a1", t(2)).unwrap());
        assert!(!gw.handle_close(G, "R1", "never-opened", t(2)).unwrap());
    }
    assert_eq!(count(&gw, "R1"), 0);
    assert_eq!(gw.stats().duplicate_closes, 10);
    // The freed slot is offered again, and only once per slot.
    join(&mut gw, "x", "x1", 3);
    join(&mut gw, "y", "y1", 3);
    join(&mut gw, "z", "z1", 3);
    assert_eq!(count(&gw, "R1"), 3);
}

#[test]
fn connection_ids_are_per_replica() {
    let mut gw = gateway(1);
    create(&mut gw, "a", "R1", "socket-1", 0);
    create(&mut gw, "b", "R2", "socket-1", 0);
    assert!(gw.handle_close(G, "R2", "socket-1", t(1)).unwrap());
    assert_eq!((count(&gw, "R1"), count(&gw, "R2")), (1, 0));
}

#[test]
fn opening_the_same_connection_twice_counts_it_once() {
    let mut gw = gateway(3);
    create(&mut gw, "a", "R1", "a1", 0);
    let before = gw.snapshot();
    assert_eq!(gw.handle_connect(G, "R1", "a1", "a", t(5)).unwrap(), shardtally::ConnectOutcome::AlreadyOpen);
    assert_eq!(gw.snapshot(), before);
    assert_eq!(count(&gw, "R1"), 1);
}
