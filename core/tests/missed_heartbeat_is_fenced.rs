//! A holder that misses its deadline loses its index at that deadline, even when the reshard
//! that gives the index to someone else comes later. It is never reported holding the stale
//! index while another holder gets it in a new epoch, its late heartbeat is refused, and a
//! store that keeps the newest epoch rejects its writes.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

const C: &str = "c";

/// A store fenced by epoch: it rejects writes carrying an epoch older than the newest seen.
#[derive(Default)]
struct FencedStore {
    newest: u64,
    writes: Vec<(u32, String)>,
}

impl FencedStore {
    fn write(&mut self, who: &ShardInfo) -> bool {
        if who.epoch < self.newest {
            return false;
        }
        self.newest = who.epoch;
        self.writes.push((who.shard, who.holder.to_string()));
        true
    }
}

#[test]
fn the_stale_index_is_never_reported_twice() {
    let mut h = Host::new(spec_config());
    for holder in ["a", "b", "c"] {
        h.join(C, holder);
    }
    h.run_until(5_000);
    let b_before = h.m.shard_info(C, "b", t(5_000)).unwrap();
    assert_eq!((b_before.shard, b_before.epoch), (1, 2));

    // b misses every beat after 5000 (a network partition, a long pause).
    h.stop(C, "b");
    h.run_until(8_999);
    assert_eq!(info(&h.m, C, "b", 8_999), Ok((1, 3)));
    // Even before any input notices, a query at b's deadline no longer reports the index.
    assert_eq!(info(&h.m, C, "b", 9_000), Err("HOLDER_EXPIRED"));
    h.run_until(9_000);
    assert_eq!(h.at(9_000), vec![lost("b", 1, 2, LostReason::Expired)]);

    // b's late heartbeat is refused and changes nothing.
    drain(&mut h.m);
    h.m.take_state_changed();
    let before = h.m.snapshot();
    let err = h.m.heartbeat(C, "b", t(9_500)).unwrap_err();
    assert_eq!(err, Error::HolderExpired { cluster: C.into(), holder: "b".into(), expired_at: t(9_000) });
    assert_eq!(h.m.snapshot(), before);
    assert!(!h.m.take_state_changed());

    // The reshard at 10000 gives index 1 to c, in a new epoch; b is gone.
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![changed("a", 0, 2, 3), changed("c", 1, 2, 3)]);
    let c_now = h.m.shard_info(C, "c", t(10_000)).unwrap();
    assert_eq!((c_now.shard, c_now.epoch), (1, 3));
    assert_eq!(info(&h.m, C, "b", 10_000), Err("UNKNOWN_HOLDER"));
    let holders_of_1: Vec<String> =
        h.m.assignments(C, t(10_000)).unwrap().into_iter().filter(|i| i.shard == 1).map(|i| i.holder.to_string()).collect();
    assert_eq!(holders_of_1, vec!["c".to_string()]);

    // A store fenced by epoch accepts c and rejects b, which still believes in epoch 2.
    let mut store = FencedStore::default();
    assert!(store.write(&c_now));
    assert!(!store.write(&b_before));
    assert_eq!(store.writes, vec![(1, "c".to_string())]);

    // b comes back: it registers again and waits for the next reshard like any newcomer.
    h.run_until(10_500);
    h.join(C, "b");
    assert_eq!(info(&h.m, C, "b", 10_500), Err("NOT_ASSIGNED"));
    h.run_until(15_000);
    assert_eq!(h.at(15_000), vec![changed("a", 0, 3, 4), changed("c", 1, 3, 4), changed("b", 2, 3, 4)]);
}

#[test]
fn registering_again_before_the_reshard_does_not_restore_the_stale_index() {
    let mut h = Host::new(spec_config());
    for holder in ["a", "b"] {
        h.join(C, holder);
    }
    h.run_until(5_000);
    h.stop(C, "b");
    h.run_until(9_200);
    // b expired at 9000 (index 1 lost); it registers at 9200, before the reshard at 10000.
    h.join(C, "b");
    assert_eq!(info(&h.m, C, "b", 9_200), Err("NOT_ASSIGNED"));
    assert_eq!(view(&h.m, C, 9_200), vec![("a".into(), 0, 2)]);
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![changed("a", 0, 2, 3), changed("b", 1, 2, 3)]);
}
