//! Every rejected gateway input returns a typed error and leaves the gateway exactly as it
//! was (snapshot bytes equal, no output, no state change reported).

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

fn small() -> Gateway {
    with(
        GatewayConfig::builder()
            .limit(2)
            .max_id_bytes(4)
            .max_replicas(2)
            .max_request_ids(3)
            .max_reservations(3)
            .max_pending_creations(1)
            .max_gossips(1)
            .max_gossip_reply_bytes(3),
    )
}

#[test]
fn wrong_group_and_unknown_replica_change_nothing() {
    let mut gw = small();
    create(&mut gw, "a", "R1", "a1", 0);
    let wrong = || Error::WrongGroup { expected: "g".into(), got: "h".into() };
    let unknown = || Error::UnknownReplica { replica: "R9".into() };
    rejected(&mut gw, wrong(), |gw| gw.handle_connect("h", "R1", "b1", "b", t(1)));
    rejected(&mut gw, wrong(), |gw| gw.handle_close("h", "R1", "a1", t(1)));
    rejected(&mut gw, wrong(), |gw| gw.handle_report::<&str, &str>("h", "R1", &[], t(1)));
    rejected(&mut gw, wrong(), |gw| gw.gossip("h", "R1", t(1)));
    rejected(&mut gw, wrong(), |gw| gw.handle_gossip_reply("h", GossipId::from_raw(0), "R1", b"", t(1)));
    rejected(&mut gw, wrong(), |gw| gw.handle_gossip_failure("h", GossipId::from_raw(0), "R1", t(1)));
    rejected(&mut gw, unknown(), |gw| gw.handle_connect(G, "R9", "b1", "b", t(1)));
    rejected(&mut gw, unknown(), |gw| gw.handle_close(G, "R9", "a1", t(1)));
    rejected(&mut gw, unknown(), |gw| gw.gossip(G, "R9", t(1)));
    assert_eq!(gw.emit("h", "R1", "a1", true), Err(wrong()));
    assert_eq!(gw.broadcast(G, "R9", "a1", true), Err(unknown()));
    assert_eq!(gw.whisper(G, "R1", "zz", "a"), Err(Error::UnknownConnection { replica: "R1".into(), connection: "zz".into() }));
    assert_eq!(gw.stats().closes, 0);
}

#[test]
fn invalid_ids_are_rejected() {
    let mut gw = small();
    assert_eq!(Gateway::new(GatewayConfig::default(), "").unwrap_err(), Error::EmptyId { what: "group" });
    rejected(&mut gw, Error::EmptyId { what: "request id" }, |gw| gw.route("", t(0)));
    rejected(&mut gw, Error::IdTooLong { what: "request id", len: 5, max: 4 }, |gw| gw.route("abcde", t(0)));
    create(&mut gw, "a", "R1", "a1", 0);
    rejected(&mut gw, Error::IdTooLong { what: "connection id", len: 6, max: 4 }, |gw| gw.handle_connect(G, "R1", "socket", "b", t(1)));
    rejected(&mut gw, Error::EmptyId { what: "replica id" }, |gw| gw.handle_close(G, "", "a1", t(1)));
    rejected(&mut gw, Error::IdTooLong { what: "request id", len: 5, max: 4 }, |gw| {
        gw.handle_report(G, "R1", &[("a1", "a"), ("b1", "abcde")], t(1))
    });
}

#[test]
fn full_tables_are_typed_errors() {
    let mut gw = small();
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0); // R1 full
    create(&mut gw, "c", "R2", "c1", 0); // three request ids
    rejected(&mut gw, Error::TableFull { table: "request ids", limit: 3 }, |gw| gw.route("d", t(1)));
    gw.route("c", t(1)).unwrap(); // R2 now full
    rejected(&mut gw, Error::TableFull { table: "replicas", limit: 2 }, |gw| gw.route("a", t(1)));
    rejected(&mut gw, Error::TableFull { table: "connections per replica", limit: 2 }, |gw| {
        gw.handle_report(G, "R1", &[("x", "a"), ("y", "a"), ("z", "a")], t(1))
    });
    rejected(&mut gw, Error::TableFull { table: "replicas", limit: 2 }, |gw| gw.handle_report::<&str, &str>(G, "R3", &[], t(1)));
    rejected(&mut gw, Error::ReplicaFull { replica: "R1".into(), limit: 2 }, |gw| gw.handle_connect(G, "R1", "x", "a", t(1)));
    rejected(&mut gw, Error::DuplicateConnection { replica: "R1".into(), connection: "a1".into() }, |gw| {
        gw.handle_connect(G, "R1", "a1", "c", t(1))
    });
    rejected(&mut gw, Error::DuplicateConnection { replica: "R1".into(), connection: "x".into() }, |gw| {
        gw.handle_report(G, "R1", &[("x", "a"), ("x", "c")], t(1))
    });
    gw.gossip(G, "R1", t(1)).unwrap();
    rejected(&mut gw, Error::TableFull { table: "gossips", limit: 1 }, |gw| gw.gossip(G, "R2", t(1)));
    rejected(&mut gw, Error::PayloadTooLarge { len: 4, max: 3 }, |gw| {
        gw.handle_gossip_reply(G, GossipId::from_raw(0), "R2", b"four", t(1))
    });
}

#[test]
fn reservations_and_pending_creations_are_bounded() {
    let mut gw = small();
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    gw.route("b", t(0)).unwrap();
    let _ = outputs(&mut gw);
    rejected(&mut gw, Error::TableFull { table: "pending creations", limit: 1 }, |gw| gw.route("c", t(0)));
    gw.handle_replica_created(creation, "R1", t(0)).unwrap();
    let mut gw2 = with(GatewayConfig::builder().limit(5).max_reservations(2));
    let Route::Pending { creation } = gw2.route("a", t(0)).unwrap() else { panic!() };
    gw2.handle_replica_created(creation, "R1", t(0)).unwrap();
    gw2.route("b", t(0)).unwrap();
    let _ = outputs(&mut gw2);
    rejected(&mut gw2, Error::TableFull { table: "reservations", limit: 2 }, |gw| gw.route("c", t(0)));
}

#[test]
fn creation_answers_are_checked() {
    let mut gw = small();
    let Route::Pending { creation } = gw.route("a", t(0)).unwrap() else { panic!() };
    let _ = outputs(&mut gw);
    rejected(&mut gw, Error::UnknownCreation { creation: 7 }, |gw| gw.handle_replica_created(CreationId::from_raw(7), "R1", t(0)));
    rejected(&mut gw, Error::EmptyId { what: "replica id" }, |gw| gw.handle_replica_created(creation, "", t(0)));
    gw.handle_replica_created(creation, "R1", t(0)).unwrap();
    rejected(&mut gw, Error::DuplicateReplica { replica: "R1".into() }, |gw| gw.handle_replica_created(creation, "R1", t(0)));
    assert_eq!(Error::DuplicateReplica { replica: "R1".into() }.code(), "DUPLICATE_REPLICA");
    assert_eq!(Error::WrongGroup { expected: "g".into(), got: "h".into() }.to_string(), "input for group \"h\" delivered to group \"g\"");
}
