//! After the gateway restarts empty, replica reports restore counts and sticky entries, so
//! new clients join existing replicas with room instead of fragmenting the cluster (DOG
//! issue #25 "Fragmented Clusters"). A report replaces that replica's view; repeating it
//! changes nothing.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

#[test]
fn reports_after_a_restart_let_new_clients_join_existing_replicas() {
    let mut gw = gateway(3);
    gw.handle_report(G, "R1", &[("a1", "a"), ("b1", "b"), ("c1", "c")], t(0)).unwrap();
    gw.handle_report(G, "R2", &[("d1", "d")], t(0)).unwrap();
    assert_eq!((count(&gw, "R1"), count(&gw, "R2")), (3, 1));
    assert_eq!(gw.request_ids(), 4);
    assert_eq!(gw.sticky("d"), Some("R2"));
    assert_eq!(outputs(&mut gw), vec![], "known replicas are not introduced again");
    // A new client joins R2, which has room, rather than a new replica.
    assert_eq!(&*join(&mut gw, "e", "e1", 1), "R2");
    // A returning client sticks to its replica.
    assert_eq!(gw.route("d", t(2)).unwrap().replica(), Some("R2"));
    assert_eq!(gw.stats().creation_requests, 0);
}

#[test]
fn a_report_replaces_the_replicas_view_and_repeating_it_changes_nothing() {
    let mut gw = gateway(5);
    gw.handle_report(G, "R1", &[("a1", "a"), ("b1", "b")], t(0)).unwrap();
    gw.route("x", t(0)).unwrap(); // a reservation, which a report does not touch
    gw.handle_report(G, "R1", &[("b1", "b"), ("c1", "c")], t(1)).unwrap();
    assert_eq!(gw.connections("R1").unwrap(), vec![("b1", "b"), ("c1", "c")]);
    assert_eq!(gw.sticky("a"), None, "a has no connection left");
    assert_eq!(gw.replica("R1").unwrap().reservations, 1);

    let view = |gw: &Gateway| (gw.replicas(), format!("{:?}", gw.connections("R1")), gw.reservations(), gw.request_ids());
    let before = view(&gw);
    let reports = gw.stats().reports;
    let _ = gw.take_state_changed();
    // The same set, listed in another order, at the same time.
    gw.handle_report(G, "R1", &[("c1", "c"), ("b1", "b")], t(1)).unwrap();
    assert_eq!(view(&gw), before);
    assert_eq!(gw.stats().reports, reports + 1, "only the counter moved");
}

#[test]
fn a_connection_reported_under_another_request_id_moves_to_it() {
    let mut gw = gateway(5);
    gw.handle_report(G, "R1", &[("s1", "a")], t(0)).unwrap();
    gw.handle_report(G, "R1", &[("s1", "b")], t(1)).unwrap();
    assert_eq!((gw.sticky("a"), gw.sticky("b")), (None, Some("R1")));
    assert_eq!(count(&gw, "R1"), 1);
}

#[test]
fn a_report_keeps_a_request_id_sticky_to_where_it_has_connections() {
    let mut gw = gateway(5);
    gw.handle_report(G, "R1", &[("a1", "a")], t(0)).unwrap();
    gw.handle_report(G, "R2", &[("a2", "a")], t(0)).unwrap();
    assert_eq!(gw.sticky("a"), Some("R2"), "the replica reported last");
    gw.handle_report::<&str, &str>(G, "R2", &[], t(1)).unwrap();
    assert_eq!(gw.sticky("a"), Some("R1"));
    assert_eq!(count(&gw, "R2"), 0);
}

#[test]
fn a_rebuilt_gateway_routes_like_one_that_never_restarted() {
    let mut gw = gateway(2);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0);
    create(&mut gw, "c", "R2", "c1", 0);
    let mut rebuilt = gateway(2);
    for replica in ["R1", "R2"] {
        let conns: Vec<(String, String)> =
            gw.connections(replica).unwrap().into_iter().map(|(c, r)| (c.to_owned(), r.to_owned())).collect();
        rebuilt.handle_report(G, replica, &conns, t(0)).unwrap();
    }
    assert_eq!(rebuilt.replicas(), gw.replicas());
    for req in ["d", "a", "e"] {
        let (x, y) = (gw.route(req, t(1)).unwrap(), rebuilt.route(req, t(1)).unwrap());
        assert_eq!(x.replica(), y.replica(), "{req}");
    }
}
