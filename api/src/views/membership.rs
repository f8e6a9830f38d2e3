//! The membership machine's outputs and views.

use crate::value::{Record, Value};
use shardtally::{ClusterInfo, MembershipOutput, MembershipStats, ShardInfo};

fn info_fields(class: &'static str, tag: Option<&'static str>, i: &ShardInfo) -> Record {
    Record::new(class, tag)
        .with("cluster", i.cluster.clone())
        .with("holder", i.holder.clone())
        .with("shard", i.shard)
        .with("num_shards", i.num_shards)
        .with("epoch", i.epoch)
}

/// A holder's assignment (`ShardInfo`).
pub fn shard_info(i: &ShardInfo) -> Record {
    info_fields("ShardInfo", None, i)
}

/// Assignments, by index.
pub fn shard_infos(all: &[ShardInfo]) -> Value {
    Value::List(all.iter().map(|i| Value::Record(shard_info(i))).collect())
}

/// A cluster at a glance (`ClusterInfo`, its counters in `stats`).
pub fn cluster_info(c: &ClusterInfo) -> Record {
    Record::new("ClusterInfo", None)
        .with("epoch", c.epoch)
        .with("num_shards", c.num_shards)
        .with("holders", c.holders)
        .with("assigned", c.assigned)
        .with("last_reshard_at", c.last_reshard_at.map(|t| t.as_millis()))
        .with("next_reshard_at", c.next_reshard_at.map(|t| t.as_millis()))
        .with("stats", membership_stats(c.stats))
}

/// A membership output: `ShardChangedOutput` (`shard_changed`) or `ShardLostOutput`
/// (`shard_lost`, with `reason` `expired` or `unregistered`).
pub fn membership_output(o: &MembershipOutput) -> Record {
    match o {
        MembershipOutput::ShardChanged(i) => info_fields("ShardChangedOutput", Some("shard_changed"), i),
        MembershipOutput::ShardLost(l) => Record::new("ShardLostOutput", Some("shard_lost"))
            .with("cluster", l.cluster.clone())
            .with("holder", l.holder.clone())
            .with("shard", l.shard)
            .with("num_shards", l.num_shards)
            .with("epoch", l.epoch)
            .with("reason", l.reason.as_str()),
        // `MembershipOutput` is non-exhaustive; every kind it has today is listed above.
        _ => Record::new("MembershipOutput", None),
    }
}

/// Membership counters (a cluster's, or the sum over clusters).
pub fn membership_stats(s: MembershipStats) -> Record {
    Record::new("MembershipStats", None)
        .with("registrations", s.registrations)
        .with("heartbeats", s.heartbeats)
        .with("unregistrations", s.unregistrations)
        .with("expirations", s.expirations)
        .with("reshards", s.reshards)
        .with("moves", s.moves)
}
