//! SPEC §11 scenario 8: limit 2: a→R1, b→R1, c→new R2 (introduced to R1), d→R2, e→new R3
//! (introduced to R1 and R2); close b → R1 has 1; route f → R1. Plus the fill order around
//! it: the replica being filled first, then the least loaded, ties by creation order.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;
use std::sync::Arc;

#[test]
fn spec_scenario_8() {
    let mut gw = gateway(2);
    assert_eq!(create(&mut gw, "a", "R1", "ca", 0), vec![], "nobody to introduce the first replica to");
    assert_eq!(&*join(&mut gw, "b", "cb", 1), "R1");
    assert_eq!(create(&mut gw, "c", "R2", "cc", 2), vec![GatewayOutput::Introduce { replica: "R2".into(), peers: ids(&["R1"]) }]);
    assert_eq!(&*join(&mut gw, "d", "cd", 3), "R2");
    assert_eq!(create(&mut gw, "e", "R3", "ce", 4), vec![GatewayOutput::Introduce { replica: "R3".into(), peers: ids(&["R1", "R2"]) }]);
    assert_eq!([count(&gw, "R1"), count(&gw, "R2"), count(&gw, "R3")], [2, 2, 1]);

    assert!(gw.handle_close(G, "R1", "cb", t(5)).unwrap());
    assert_eq!(count(&gw, "R1"), 1);
    // R1 and R3 both hold one: the tie goes to the older replica.
    let route = gw.route("f", t(6)).unwrap();
    assert_eq!(route, Route::Replica { replica: "R1".into(), reason: RouteReason::LeastLoaded, expires_at: t(10_006) });
    assert_eq!(gw.stats().creations, 3);
    assert_eq!(gw.stats().introductions, 2);
}

#[test]
fn the_replica_being_filled_comes_before_the_least_loaded() {
    let mut gw = gateway(3);
    create(&mut gw, "a", "R1", "ca", 0);
    // An empty replica appears (reported after a restart of the gateway's view).
    gw.handle_report::<&str, &str>(G, "R0", &[], t(1)).unwrap();
    assert_eq!(gw.current(), Some("R1"));
    // R0 is less loaded, but R1 is being filled until it is full.
    let r = gw.route("b", t(2)).unwrap();
    assert!(matches!(&r, Route::Replica { replica, reason: RouteReason::Current, .. } if &**replica == "R1"), "{r:?}");
    assert_eq!(&*join(&mut gw, "c", "cc", 3), "R1");
    assert_eq!(gw.current(), None, "R1 is full");
    let r = gw.route("d", t(4)).unwrap();
    assert!(matches!(&r, Route::Replica { replica, reason: RouteReason::LeastLoaded, .. } if &**replica == "R0"), "{r:?}");
    assert_eq!(gw.current(), Some("R0"));
}

#[test]
fn equally_loaded_replicas_are_filled_in_creation_order() {
    let mut gw = gateway(1);
    for (req, replica) in [("a", "R1"), ("b", "R2"), ("c", "R3")] {
        create(&mut gw, req, replica, &format!("c{req}"), 0);
    }
    // Free all three: equal loads, and no replica is being filled.
    for (replica, conn) in [("R3", "cc"), ("R1", "ca"), ("R2", "cb")] {
        gw.handle_close(G, replica, conn, t(1)).unwrap();
    }
    let order: Vec<Arc<str>> = ["x", "y", "z"].iter().map(|r| join(&mut gw, r, &format!("c{r}"), 2)).collect();
    assert_eq!(order, ids(&["R1", "R2", "R3"]));
}

#[test]
fn requests_arriving_while_a_replica_is_created_wait_for_it_up_to_the_limit() {
    let mut gw = gateway(2);
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    assert_eq!(gw.route("b", t(0)).unwrap(), Route::Pending { creation }, "joins the pending creation");
    let Route::Pending { creation: second } = gw.route("c", t(0)).unwrap() else { panic!() };
    assert_ne!(second, creation, "the first creation is full");
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::CreateReplica { creation }, GatewayOutput::CreateReplica { creation: second }]);
    let placed = gw.handle_replica_created(creation, "R1", t(5)).unwrap();
    assert_eq!(placed.requests, ids(&["a", "b"]));
    assert_eq!(gw.replica("R1").unwrap().reservations, 2);
    assert_eq!(gw.reservations()[0].expires_at, t(10_005), "the reservation starts when the replica exists");
    // The second creation's answer introduces R2 to R1.
    gw.handle_replica_created(second, "R2", t(6)).unwrap();
    assert_eq!(outputs(&mut gw), vec![GatewayOutput::Introduce { replica: "R2".into(), peers: ids(&["R1"]) }]);
    assert_eq!(gw.stats().pending_routes, 3);
}
