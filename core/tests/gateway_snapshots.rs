//! A gateway restored from a snapshot taken mid-flight — a pending creation, a gossip,
//! reservations, connections, deadlines — carries on exactly like the original; bad bytes
//! are a `DecodeError`, never a panic.

#![allow(clippy::unwrap_used)]

mod gateway_common;
use gateway_common::*;
use proptest::prelude::*;
use shardtally::*;

fn config() -> GatewayConfig {
    GatewayConfig::builder().limit(2).reservation_ttl_ms(1_000).retire_after_idle_ms(5_000).gossip_timeout_ms(2_000).build().unwrap()
}

/// R1 (a1, b1), R2 (c1 + a reservation for c), R3 empty; a gossip from R1 answered by R2;
/// a pending creation with `d` and `e` waiting.
fn mid_flight() -> Gateway {
    let mut gw = Gateway::new(config(), G).unwrap();
    create(&mut gw, "a", "R1", "a1", 0);
    join(&mut gw, "b", "b1", 0);
    create(&mut gw, "c", "R2", "c1", 0);
    gw.handle_report::<&str, &str>(G, "R3", &[], t(0)).unwrap();
    gw.route("c", t(100)).unwrap();
    join(&mut gw, "f", "f1", 100);
    let plan = gw.gossip(G, "R1", t(200)).unwrap();
    gw.handle_gossip_reply(G, plan.gossip, "R2", b"hi", t(250)).unwrap();
    gw.route("d", t(300)).unwrap();
    gw.route("e", t(300)).unwrap();
    let _ = outputs(&mut gw);
    gw
}

#[test]
fn a_restored_gateway_carries_on_exactly_like_the_original() {
    let mut a = mid_flight();
    let bytes = a.snapshot();
    let mut b = Gateway::restore(&bytes, config()).unwrap();
    assert_eq!(b.snapshot(), bytes);
    assert_eq!((b.replicas(), b.reservations(), b.gossips()), (a.replicas(), a.reservations(), a.gossips()));
    assert_eq!(b.pending_creations(), a.pending_creations());
    assert_eq!(b.next_deadline(), a.next_deadline());
    assert_eq!((b.current(), b.sticky("c"), b.stats()), (a.current(), a.sticky("c"), a.stats()));
    // The pending creation is asked for again (the host may have stopped before acting).
    let creation = a.pending_creations()[0].0;
    assert_eq!(outputs(&mut b), vec![GatewayOutput::CreateReplica { creation }]);

    // The same inputs give the same outputs and the same state.
    let drive = |gw: &mut Gateway| {
        let mut seen = Vec::new();
        seen.push(format!("{:?}", gw.handle_replica_created(creation, "R4", t(400))));
        seen.push(format!("{:?}", gw.route("g", t(500))));
        seen.push(format!("{:?}", gw.handle_close(G, "R1", "a1", t(600))));
        while let Some(at) = gw.poll_timeout() {
            gw.handle_timeout(at);
            seen.push(format!("{at}: {:?}", outputs(gw)));
        }
        seen.push(format!("{:?}", gw.replicas()));
        (seen, gw.snapshot())
    };
    let (x, y) = (drive(&mut a), drive(&mut b));
    assert_eq!(x, y);
    assert!(x.0.iter().any(|s| s.contains("GossipDone")), "the gossip completed by its deadline: {:?}", x.0);
    assert!(x.0.iter().any(|s| s.contains("Retire")), "{:?}", x.0);
}

#[test]
fn wrong_kind_version_and_garbage_are_decode_errors() {
    let bytes = mid_flight().snapshot();
    assert_eq!(Gateway::restore(b"", config()).unwrap_err().code(), "DECODE_WRONG_KIND");
    let shard = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 }).snapshot();
    assert_eq!(Gateway::restore(&shard, config()).unwrap_err().code(), "DECODE_WRONG_KIND");
    let mut v9 = bytes.clone();
    v9[4] = 9;
    assert_eq!(Gateway::restore(&v9, config()).unwrap_err().code(), "DECODE_UNSUPPORTED_VERSION");
    assert_eq!(
        Gateway::restore(&bytes[..bytes.len() - 1], config()).unwrap_err().code(),
        "DECODE_CHECKSUM",
        "the checksum catches a truncation"
    );
    // Flipping any single byte never panics, and a state that still decodes works.
    for i in 5..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        if let Ok(mut gw) = Gateway::restore(&b, config()) {
            for req in ["a", "c", "d", "z"] {
                let _ = gw.route(req, t(1_000));
            }
            for (r, c) in [("R1", "a1"), ("R2", "c1")] {
                let _ = gw.handle_close(G, r, c, t(1_000));
            }
            gw.handle_timeout(t(u64::MAX));
            assert!(Gateway::restore(&gw.snapshot(), config()).is_ok());
        }
    }
}

proptest! {
    /// Arbitrary bytes behind a gateway header never panic the decoder.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut framed = b"sht\x06\x01".to_vec();
        framed.extend_from_slice(&body);
        let _ = Gateway::restore(&framed, config());
        let _ = Gateway::restore(&body, config());
    }
}
