//! Rejected membership inputs return a typed error and change nothing — not the holders,
//! not the clock, not a pending expiry (snapshot bytes equal before and after, no outputs,
//! no state change reported). Decoding arbitrary bytes is an error, never a panic.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

/// A machine at t=16000 with holders in every state: "live" (index 0 of 3), "new" (waiting
/// for an index), "gone" (expired at 13000, kept until the reshard the rate limit holds back
/// until 20000) and "late" (its deadline, 15500, passed but no input has noticed yet).
fn machine() -> Membership {
    let config = spec_config().to_builder().max_clusters(2).max_holders(4).max_id_bytes(8).reshard_interval_ms(10_000).build().unwrap();
    let mut m = Membership::new(config);
    for holder in ["live", "gone", "late"] {
        m.register("c", holder, t(0)).unwrap(); // "live" gets an index at once
    }
    m.register("other", "x", t(0)).unwrap();
    for at in [3_000, 6_000, 9_000] {
        for holder in ["live", "gone", "late"] {
            m.heartbeat("c", holder, t(at)).unwrap();
        }
    }
    m.handle_timeout(t(10_000)); // reshard: live 0, gone 1, late 2 (of 3)
    m.heartbeat("c", "late", t(11_500)).unwrap();
    m.heartbeat("c", "live", t(12_000)).unwrap();
    m.handle_timeout(t(13_000)); // "gone" expires
    m.register("c", "new", t(15_000)).unwrap();
    m.heartbeat("c", "live", t(15_000)).unwrap();
    assert_eq!(m.poll_timeout(), Some(t(15_500)), "late's deadline is due, not yet handled");
    drain(&mut m);
    m.take_state_changed();
    m.take_changed_clusters();
    m
}

#[test]
fn every_rejected_input_changes_nothing() {
    let long = "x".repeat(9);
    type Input = Box<dyn Fn(&mut Membership) -> Result<(), Error>>;
    let cases: Vec<(&str, Input, Error)> = vec![
        ("empty cluster", Box::new(|m| m.register("", "a", t(16_000))), Error::EmptyId { what: "cluster id" }),
        ("empty holder", Box::new(|m| m.heartbeat("c", "", t(16_000))), Error::EmptyId { what: "holder id" }),
        (
            "long cluster",
            Box::new(move |m| m.register(&"x".repeat(9), "a", t(16_000))),
            Error::IdTooLong { what: "cluster id", len: 9, max: 8 },
        ),
        ("long holder", Box::new(move |m| m.unregister("c", &long, t(16_000))), Error::IdTooLong { what: "holder id", len: 9, max: 8 }),
        ("too many clusters", Box::new(|m| m.register("third", "a", t(16_000))), Error::TableFull { table: "clusters", limit: 2 }),
        ("too many holders", Box::new(|m| m.register("c", "fifth", t(16_000))), Error::TableFull { table: "holders", limit: 4 }),
        ("unknown cluster", Box::new(|m| m.heartbeat("nope", "a", t(16_000))), Error::UnknownCluster { cluster: "nope".into() }),
        (
            "unknown holder",
            Box::new(|m| m.heartbeat("c", "nope", t(16_000))),
            Error::UnknownHolder { cluster: "c".into(), holder: "nope".into() },
        ),
        (
            "unregister unknown",
            Box::new(|m| m.unregister("c", "nope", t(16_000))),
            Error::UnknownHolder { cluster: "c".into(), holder: "nope".into() },
        ),
        (
            "expired heartbeat",
            Box::new(|m| m.heartbeat("c", "gone", t(16_000))),
            Error::HolderExpired { cluster: "c".into(), holder: "gone".into(), expired_at: t(13_000) },
        ),
        // "late" expired at 15500 by the clock; its heartbeat is refused without the machine
        // noticing the expiry (which would change state).
        (
            "late heartbeat",
            Box::new(|m| m.heartbeat("c", "late", t(16_000))),
            Error::HolderExpired { cluster: "c".into(), holder: "late".into(), expired_at: t(15_500) },
        ),
        ("remove busy cluster", Box::new(|m| m.remove_cluster("c", t(16_000))), Error::ClusterNotEmpty { cluster: "c".into(), holders: 2 }),
        ("remove unknown cluster", Box::new(|m| m.remove_cluster("nope", t(16_000))), Error::UnknownCluster { cluster: "nope".into() }),
    ];
    for (name, input, expected) in cases {
        let mut m = machine();
        let before = m.snapshot();
        let deadline = m.next_deadline();
        assert_eq!(input(&mut m), Err(expected.clone()), "{name}");
        assert_eq!(m.snapshot(), before, "{name}: the state changed");
        assert!(!m.take_state_changed(), "{name}: a change was reported");
        assert!(m.take_changed_clusters().is_empty(), "{name}");
        assert!(m.poll_output().is_none(), "{name}: an output was emitted");
        assert_eq!(m.next_deadline(), deadline, "{name}");
        assert!(!expected.code().is_empty() && expected.to_string() == expected.to_string().to_lowercase(), "{name}");
    }
}

#[test]
fn the_machine_is_in_the_states_the_cases_rely_on() {
    let m = machine();
    assert_eq!(info(&m, "c", "live", 16_000), Ok((0, 3)));
    assert_eq!(info(&m, "c", "gone", 16_000), Err("HOLDER_EXPIRED"));
    assert_eq!(info(&m, "c", "late", 15_000), Ok((2, 3)));
    assert_eq!(info(&m, "c", "late", 16_000), Err("HOLDER_EXPIRED"), "a query sees the deadline before any input does");
    assert_eq!(info(&m, "c", "new", 16_000), Err("NOT_ASSIGNED"));
    assert_eq!(info(&m, "c", "nope", 16_000), Err("UNKNOWN_HOLDER"));
    assert_eq!(info(&m, "nope", "x", 16_000), Err("UNKNOWN_CLUSTER"));
    let c = m.cluster_info("c").unwrap();
    assert_eq!((c.holders, c.assigned, c.num_shards, c.next_reshard_at), (4, 2, 3, Some(t(20_000))));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut m = machine();
    m.handle_timeout(t(16_000));
    let whole = m.snapshot();
    let row = m.snapshot_cluster("c").unwrap();
    let config = *m.config();
    assert_eq!(Membership::restore(&whole, config).unwrap().snapshot(), whole);
    for bytes in [&whole, &row] {
        // Every truncation, and every single-byte change, decodes or errors without panicking.
        for len in 0..bytes.len() {
            let _ = Membership::restore(&bytes[..len], config);
            let _ = Membership::restore_clusters([&bytes[..len]], config);
        }
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(r) = Membership::restore(&b, config) {
                    // Whatever decodes keeps the invariants.
                    for c in r.clusters() {
                        let all = r.assignments(c, t(16_000)).unwrap();
                        assert!(all.iter().all(|i| i.shard < i.num_shards));
                    }
                }
                let _ = Membership::restore_clusters([&b], config);
            }
        }
    }
    assert_eq!(Membership::restore(b"garbage", config).map_err(|e| e.code()).err(), Some("DECODE_WRONG_KIND"));
}

#[test]
fn a_snapshot_beyond_the_bounds_is_refused() {
    let m = machine();
    let whole = m.snapshot();
    let smaller = m.config().to_builder().max_holders(3).build().unwrap();
    assert_eq!(Membership::restore(&whole, smaller).map_err(|e| e.code()).err(), Some("DECODE_CORRUPT"));
    let one_cluster = m.config().to_builder().max_clusters(1).build().unwrap();
    assert_eq!(Membership::restore(&whole, one_cluster).map_err(|e| e.code()).err(), Some("DECODE_CORRUPT"));
}
