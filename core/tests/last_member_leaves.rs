//! Unregistering the last holder resets the cluster's rate limit: the next joiner gets an
//! index at once (the seed made it wait for the reshard interval). More generally, a cluster
//! in which no holder has an index has nobody to disturb and reshards at once.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

const C: &str = "c";

#[test]
fn the_next_joiner_after_the_last_holder_left_gets_an_index_at_once() {
    let mut m = Membership::new(spec_config());
    m.register(C, "r1", t(0)).unwrap();
    assert_eq!(drain(&mut m), vec![changed("r1", 0, 1, 1)]);
    m.unregister(C, "r1", t(1_000)).unwrap();
    assert_eq!(drain(&mut m), vec![lost("r1", 0, 1, LostReason::Unregistered)]);
    let ci = m.cluster_info(C).unwrap();
    assert_eq!((ci.epoch, ci.num_shards, ci.holders, ci.last_reshard_at), (1, 0, 0, None), "the epoch survives");
    assert_eq!(m.poll_timeout(), None);

    // 1 s after the last reshard, well inside the 5 s interval.
    m.register(C, "r2", t(1_000)).unwrap();
    assert_eq!(drain(&mut m), vec![changed("r2", 0, 1, 2)]);
}

#[test]
fn a_joiner_still_waits_while_someone_holds_an_index() {
    let mut m = Membership::new(spec_config());
    m.register(C, "r1", t(0)).unwrap();
    m.register(C, "r2", t(1_000)).unwrap();
    drain(&mut m);
    assert_eq!(info(&m, C, "r2", 1_000), Err("NOT_ASSIGNED"));
    // r1, the only assigned holder, leaves: r2 need not wait for the interval any more.
    m.unregister(C, "r1", t(2_000)).unwrap();
    assert_eq!(drain(&mut m), vec![lost("r1", 0, 1, LostReason::Unregistered), changed("r2", 0, 1, 2)]);
}

#[test]
fn unregistering_one_of_several_keeps_the_rate_limit() {
    let mut h = Host::new(spec_config());
    h.join(C, "r1");
    h.join(C, "r2");
    h.run_until(5_000);
    h.run_until(6_000);
    h.leave(C, "r2");
    // r1 still holds 0 of 2; the hole at 1 is filled by the reshard at 10000.
    assert_eq!(info(&h.m, C, "r1", 6_000), Ok((0, 2)));
    assert_eq!(h.m.cluster_info(C).unwrap().next_reshard_at, Some(t(10_000)));
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![changed("r1", 0, 1, 3)]);
}

#[test]
fn an_emptied_cluster_can_be_removed_and_frees_its_place() {
    let config = MembershipConfig::builder().max_clusters(1).build().unwrap();
    let mut m = Membership::new(config);
    m.register("a", "r1", t(0)).unwrap();
    assert_eq!(m.register("b", "r1", t(0)).map_err(|e| e.code()), Err("TABLE_FULL"));
    assert_eq!(m.remove_cluster("a", t(0)), Err(Error::ClusterNotEmpty { cluster: "a".into(), holders: 1 }));
    m.unregister("a", "r1", t(1)).unwrap();
    m.take_changed_clusters();
    m.remove_cluster("a", t(2)).unwrap();
    assert_eq!(m.take_changed_clusters(), vec!["a".into()]);
    assert_eq!(m.snapshot_cluster("a"), None, "a removed cluster has no row");
    m.register("b", "r1", t(3)).unwrap();
    assert_eq!(m.clusters(), vec!["b"]);
}
