//! `gossip` asks every peer; the result lists replies in peer order. At the deadline
//! (`gossip_timeout_ms`) a partial result names the peers that did not answer, and a failed
//! peer is named among the failed — one peer never fails the whole gossip.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use shardtally::*;

/// Four replicas R1..R4, one connection each.
fn four() -> Gateway {
    let mut gw = with(GatewayConfig::builder().limit(1).gossip_timeout_ms(2_000));
    for (i, r) in ["R1", "R2", "R3", "R4"].iter().enumerate() {
        create(&mut gw, &format!("q{i}"), r, "s", 0);
    }
    let _ = outputs(&mut gw);
    gw
}

fn done(gw: &mut Gateway) -> GossipResult {
    match outputs(gw).as_slice() {
        [GatewayOutput::GossipDone(r)] => r.clone(),
        other => panic!("expected one gossip result, got {other:?}"),
    }
}

#[test]
fn every_peer_answers_and_replies_come_in_peer_order() {
    let mut gw = four();
    let plan = gw.gossip(G, "R2", t(10)).unwrap();
    assert_eq!(plan.peers, ids(&["R1", "R3", "R4"]));
    assert_eq!(plan.deadline, t(2_010));
    // Answers arrive out of order.
    for peer in ["R4", "R1"] {
        assert!(gw.handle_gossip_reply(G, plan.gossip, peer, peer.as_bytes(), t(20)).unwrap());
        assert_eq!(outputs(&mut gw), vec![]);
    }
    assert!(gw.handle_gossip_reply(G, plan.gossip, "R3", b"R3", t(30)).unwrap());
    let r = done(&mut gw);
    assert_eq!(r.origin, "R2".into());
    assert_eq!(r.replies, vec![("R1".into(), b"R1".to_vec()), ("R3".into(), b"R3".to_vec()), ("R4".into(), b"R4".to_vec())]);
    assert!(r.all_replied());
    assert_eq!(gw.gossips(), vec![]);
    assert_eq!(gw.poll_timeout(), None);
}

#[test]
fn the_deadline_gives_a_partial_result_naming_the_silent_peers() {
    let mut gw = four();
    let plan = gw.gossip(G, "R1", t(0)).unwrap();
    gw.handle_gossip_reply(G, plan.gossip, "R3", b"x", t(5)).unwrap();
    assert_eq!(gw.next_deadline(), Some(Deadline { at: t(2_000), timer: GatewayTimer::GossipTimeout }));
    gw.handle_timeout(t(1_999));
    assert_eq!(outputs(&mut gw), vec![]);
    gw.handle_timeout(t(2_000));
    let r = done(&mut gw);
    assert_eq!(r.replies, vec![("R3".into(), b"x".to_vec())]);
    assert_eq!(r.missing, ids(&["R2", "R4"]));
    assert_eq!(gw.stats().gossip_timeouts, 1);
    // A reply after the deadline is not matched and changes nothing, not even the clock.
    let before = gw.snapshot();
    assert!(!gw.handle_gossip_reply(G, plan.gossip, "R2", b"late", t(9_000)).unwrap());
    assert_eq!(gw.snapshot(), before);
}

#[test]
fn a_failed_peer_does_not_fail_the_gossip() {
    let mut gw = four();
    let plan = gw.gossip(G, "R1", t(0)).unwrap();
    assert!(gw.handle_gossip_failure(G, plan.gossip, "R3", t(1)).unwrap());
    gw.handle_gossip_reply(G, plan.gossip, "R2", b"2", t(2)).unwrap();
    gw.handle_gossip_reply(G, plan.gossip, "R4", b"4", t(3)).unwrap();
    let r = done(&mut gw);
    assert_eq!(r.replies, vec![("R2".into(), b"2".to_vec()), ("R4".into(), b"4".to_vec())]);
    assert!(!r.all_replied());
    assert_eq!((r.failed, r.missing), (ids(&["R3"]), vec![]));
    assert_eq!(gw.stats().gossip_failures, 1);
}

#[test]
fn unmatched_answers_are_ignored() {
    let mut gw = four();
    let plan = gw.gossip(G, "R1", t(0)).unwrap();
    let before = gw.snapshot();
    assert!(!gw.handle_gossip_reply(G, plan.gossip, "R1", b"self", t(1)).unwrap(), "the origin was not asked");
    assert!(!gw.handle_gossip_reply(G, plan.gossip, "R9", b"", t(1)).unwrap());
    assert!(!gw.handle_gossip_reply(G, GossipId::from_raw(99), "R2", b"", t(1)).unwrap());
    assert_eq!(gw.snapshot(), before);
    gw.handle_gossip_reply(G, plan.gossip, "R2", b"first", t(1)).unwrap();
    assert!(!gw.handle_gossip_failure(G, plan.gossip, "R2", t(1)).unwrap(), "already answered");
}

#[test]
fn a_lone_replica_gets_an_empty_result_at_once() {
    let mut gw = gateway(5);
    create(&mut gw, "a", "R1", "a1", 0);
    let plan = gw.gossip(G, "R1", t(0)).unwrap();
    assert!(plan.peers.is_empty());
    let r = done(&mut gw);
    assert_eq!((r.gossip, r.replies.len(), r.missing.len()), (plan.gossip, 0, 0));
    assert_eq!(gw.gossips(), vec![]);
}
