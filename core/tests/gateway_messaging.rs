//! Message plans (the host delivers): `emit` reaches the sender's own replica, `broadcast`
//! every replica, `whisper` only the one replica holding the target — an unknown target or
//! the sender itself gives an empty plan, never everyone. Planning changes nothing.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

/// R1: a (a1), b (b1); R2: c (c1); R3: d (reserved only).
fn cluster() -> Gateway {
    let mut gw = gateway(2);
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0);
    create(&mut gw, "c", "R2", "c1", 0);
    gw.route("c", t(0)).unwrap();
    let Route::Pending { creation } = gw.route("d", t(0)).unwrap() else { panic!() };
    gw.handle_replica_created(creation, "R3", t(0)).unwrap();
    let _ = outputs(&mut gw);
    gw
}

fn d(replica: &str, audience: Audience) -> Delivery {
    Delivery { replica: replica.into(), audience }
}

#[test]
fn emit_reaches_the_senders_replica_with_or_without_the_sender() {
    let gw = cluster();
    assert_eq!(gw.emit(G, "R1", "a1", false).unwrap(), vec![d("R1", Audience::AllExcept("a1".into()))]);
    assert_eq!(gw.emit(G, "R1", "a1", true).unwrap(), vec![d("R1", Audience::All)]);
}

#[test]
fn broadcast_reaches_every_replica_in_creation_order() {
    let gw = cluster();
    assert_eq!(
        gw.broadcast(G, "R2", "c1", false).unwrap(),
        vec![d("R1", Audience::All), d("R2", Audience::AllExcept("c1".into())), d("R3", Audience::All)]
    );
    assert_eq!(gw.broadcast(G, "R2", "c1", true).unwrap()[1], d("R2", Audience::All));
}

#[test]
fn whisper_reaches_only_the_replica_holding_the_target() {
    let mut gw = cluster();
    let before = gw.snapshot();
    let _ = gw.take_state_changed();
    assert_eq!(gw.whisper(G, "R1", "a1", "c").unwrap(), vec![d("R2", Audience::Request("c".into()))]);
    assert_eq!(gw.whisper(G, "R2", "c1", "b").unwrap(), vec![d("R1", Audience::Request("b".into()))]);
    assert_eq!(gw.snapshot(), before, "planning changes nothing");
    assert!(!gw.take_state_changed());
}

#[test]
fn whisper_to_an_unknown_target_or_to_oneself_plans_nothing() {
    let gw = cluster();
    assert_eq!(gw.whisper(G, "R1", "a1", "nobody").unwrap(), vec![]);
    assert_eq!(gw.whisper(G, "R1", "a1", "a").unwrap(), vec![], "self");
    assert_eq!(gw.whisper(G, "R1", "a1", "d").unwrap(), vec![], "d only has a reservation: no socket to whisper to");
    assert_eq!(gw.whisper(G, "R1", "a1", "").unwrap(), vec![]);
}
