//! The serialized form of clusters, and its re-validation on restore.

use super::cluster::{Cluster, Member};
use super::{valid_id, MembershipConfig, MembershipStats};
use crate::error::DecodeError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One cluster, as stored (one row of a host that keeps a row per cluster).
#[derive(Serialize, Deserialize)]
pub(crate) struct ClusterState {
    name: Arc<str>,
    last_seen: Timestamp,
    epoch: u64,
    num_shards: u32,
    last_reshard_at: Option<Timestamp>,
    next_join: u64,
    /// Sorted by holder id.
    members: Vec<(Arc<str>, Member)>,
    stats: MembershipStats,
}

/// A whole machine: its clusters, sorted by name.
#[derive(Serialize, Deserialize)]
pub(crate) struct MembershipState {
    pub(crate) clusters: Vec<ClusterState>,
}

impl ClusterState {
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }
}

impl Cluster {
    pub(crate) fn to_state(&self) -> ClusterState {
        ClusterState {
            name: self.name.clone(),
            last_seen: self.last_seen,
            epoch: self.epoch,
            num_shards: self.num_shards,
            last_reshard_at: self.last_reshard_at,
            next_join: self.next_join,
            members: self.members.iter().map(|(h, m)| (h.clone(), *m)).collect(),
            stats: self.stats,
        }
    }

    /// Rebuilds a cluster, checking every invariant the machine relies on and the
    /// configuration's bounds. Timing is not checked against the configuration (it may have
    /// changed): holders past a new, shorter deadline expire at the next input or timeout.
    pub(crate) fn from_state(s: ClusterState, config: &MembershipConfig) -> Result<Cluster, DecodeError> {
        let corrupt = |what: &str| DecodeError::corrupt(format!("cluster {:?}: {what}", s.name));
        valid_id("cluster id", &s.name, config.max_id_bytes()).map_err(|e| DecodeError::corrupt(e.to_string()))?;
        if s.members.len() > config.max_holders() {
            return Err(corrupt("more holders than max_holders"));
        }
        if s.epoch == 0 && s.num_shards != 0 {
            return Err(corrupt("a shard count before the first reshard"));
        }
        if s.last_reshard_at.is_some_and(|t| t > s.last_seen) {
            return Err(corrupt("a reshard after the clock"));
        }
        let mut members = BTreeMap::new();
        let mut shards = BTreeSet::new();
        let mut joined = BTreeSet::new();
        for (holder, m) in s.members {
            valid_id("holder id", &holder, config.max_id_bytes()).map_err(|e| DecodeError::corrupt(e.to_string()))?;
            if members.last_key_value().is_some_and(|(last, _): (&Arc<str>, _)| *last >= holder) {
                return Err(corrupt("holders not sorted or repeated"));
            }
            if m.last_heartbeat > s.last_seen || m.joined >= s.next_join || !joined.insert(m.joined) {
                return Err(corrupt("invalid holder timing or order"));
            }
            if let Some(shard) = m.shard {
                if m.expired || shard >= s.num_shards || !shards.insert(shard) {
                    return Err(corrupt("an index out of range, repeated, or held by an expired holder"));
                }
            }
            members.insert(holder, m);
        }
        let mut c = Cluster::new(s.name);
        c.last_seen = s.last_seen;
        c.epoch = s.epoch;
        c.num_shards = s.num_shards;
        c.last_reshard_at = s.last_reshard_at;
        c.next_join = s.next_join;
        c.members = members;
        c.stats = s.stats;
        Ok(c)
    }
}
