//! Clusters are independent: two clusters of ten holders each end at indices `0..=9` of 10,
//! with their own epochs, rate limits and expiries, and each can be stored and restored on
//! its own (one row per cluster).

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

fn holders(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn two_clusters_of_ten_each_end_at_0_to_9() {
    let mut h = Host::new(spec_config());
    // Cluster "a": everyone joins at 0. Cluster "b": one joiner every 700 ms.
    for holder in holders("a") {
        h.join("a", &holder);
    }
    for (i, holder) in holders("b").iter().enumerate() {
        h.run_until(i as u64 * 700);
        h.join("b", holder);
    }
    h.run_until(30_000);
    for cluster in ["a", "b"] {
        let all = h.m.assignments(cluster, t(30_000)).unwrap();
        assert_eq!(all.iter().map(|i| i.shard).collect::<Vec<u32>>(), (0..10).collect::<Vec<u32>>(), "{cluster}");
        assert!(all.iter().all(|i| i.num_shards == 10 && i.holder.starts_with(cluster)));
    }
    // "a": one reshard at 0 (a0 alone), one at 5000 (everyone else). "b": b0 at 0, then the
    // rest in two more rate-limited reshards (5000, 10000).
    assert_eq!(h.m.cluster_info("a").unwrap().epoch, 2);
    assert_eq!(h.m.cluster_info("b").unwrap().epoch, 3);
    assert_eq!(h.m.stats().reshards, 5);

    // Every holder of "a" crashes: "b" does not notice.
    let b_before = h.m.snapshot_cluster("b").unwrap();
    for holder in holders("a") {
        h.stop("a", &holder);
    }
    let quiet_since = h.now;
    h.run_until(40_000);
    assert!(h.m.assignments("a", t(40_000)).unwrap().is_empty());
    assert_eq!(h.m.cluster_info("a").unwrap().num_shards, 0);
    assert_eq!(h.m.assignments("b", t(40_000)).unwrap().len(), 10);
    assert!(h
        .log
        .iter()
        .filter(|(at, _)| *at > quiet_since)
        .all(|(_, o)| matches!(o, Output::Lost(holder, ..) if holder.starts_with('a'))));
    assert_ne!(h.m.snapshot_cluster("b").unwrap(), b_before, "b's heartbeats moved on");
}

#[test]
fn one_cluster_can_be_stored_and_restored_on_its_own() {
    let mut h = Host::new(spec_config());
    for holder in holders("a") {
        h.join("a", &holder);
    }
    h.join("b", "b0");
    h.run_until(5_000);

    // A host with one row per cluster: restore "a" alone, apply one input, write it back.
    let row_a = h.m.snapshot_cluster("a").unwrap();
    let mut alone = Membership::restore_clusters([&row_a], spec_config()).unwrap();
    assert_eq!(alone.clusters(), vec!["a"]);
    assert_eq!(alone.assignments("a", t(5_000)).unwrap(), h.m.assignments("a", t(5_000)).unwrap());
    alone.heartbeat("a", "a3", t(5_100)).unwrap();
    h.m.heartbeat("a", "a3", t(5_100)).unwrap();
    assert!(alone.take_state_changed());
    assert_eq!(alone.snapshot_cluster("a"), h.m.snapshot_cluster("a"), "same input, same row");

    // The rows of all clusters rebuild the whole machine, in any order.
    let rows = [h.m.snapshot_cluster("b").unwrap(), h.m.snapshot_cluster("a").unwrap()];
    let rebuilt = Membership::restore_clusters(&rows, spec_config()).unwrap();
    assert_eq!(rebuilt.snapshot(), h.m.snapshot());
    assert_eq!(rebuilt.poll_timeout(), h.m.poll_timeout());

    // A row is not a whole snapshot, and the same cluster twice is refused.
    assert_eq!(Membership::restore(&rows[0], spec_config()).map_err(|e| e.code()).err(), Some("DECODE_WRONG_KIND"));
    let twice = [rows[0].clone(), rows[0].clone()];
    assert_eq!(Membership::restore_clusters(&twice, spec_config()).map_err(|e| e.code()).err(), Some("DECODE_CORRUPT"));
}

#[test]
fn changed_clusters_name_the_rows_to_write() {
    let mut m = Membership::new(spec_config());
    m.register("b", "x", t(0)).unwrap();
    m.register("a", "x", t(0)).unwrap();
    assert_eq!(m.take_changed_clusters(), vec!["a".into(), "b".into()]);
    m.heartbeat("b", "x", t(1_000)).unwrap();
    assert_eq!(m.take_changed_clusters(), vec!["b".into()]);
    assert!(m.take_changed_clusters().is_empty());
    // A timeout touches only the clusters with something due.
    m.heartbeat("b", "x", t(3_000)).unwrap();
    m.take_changed_clusters();
    m.handle_timeout(t(4_000)); // a's holder expires at 4000; b's at 7000
    assert_eq!(m.take_changed_clusters(), vec!["a".into()]);
}
