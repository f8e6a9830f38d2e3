//! One cluster: its holders, the epoch in force, expiry and resharding.

use super::assign::{assign, Candidate};
use super::{ClusterInfo, LostReason, MembershipConfig, MembershipOutput, MembershipStats, MembershipTimer, ShardInfo, ShardLost};
use crate::error::Error;
use crate::shard::Deadline;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// One registered holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Member {
    /// Registration order within the cluster (newcomers are placed in this order).
    pub(crate) joined: u64,
    pub(crate) last_heartbeat: Timestamp,
    /// Its index in the current epoch; `None` until the next reshard or after it expired.
    pub(crate) shard: Option<u32>,
    /// Its deadline passed (its loss was reported); it is removed by the next reshard.
    pub(crate) expired: bool,
}

/// A cluster's state. Every input runs [`Cluster::advance`], applies itself, then
/// [`Cluster::settle`].
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) name: Arc<str>,
    /// The latest `now` seen (a `now` earlier than this is treated as this).
    pub(crate) last_seen: Timestamp,
    /// Incremented by every reshard that assigns indices: the fencing token.
    pub(crate) epoch: u64,
    /// The holder count fixed at the epoch's reshard (0 before the first and once empty).
    pub(crate) num_shards: u32,
    /// `None` before the first reshard and after the cluster emptied (no rate limit then).
    pub(crate) last_reshard_at: Option<Timestamp>,
    pub(crate) next_join: u64,
    pub(crate) members: BTreeMap<Arc<str>, Member>,
    pub(crate) stats: MembershipStats,
    /// The next deadline (derived; recomputed by `settle`).
    pub(crate) deadline: Option<Deadline<MembershipTimer>>,
}

impl Cluster {
    pub(crate) fn new(name: Arc<str>) -> Cluster {
        Cluster {
            name,
            last_seen: Timestamp::ZERO,
            epoch: 0,
            num_shards: 0,
            last_reshard_at: None,
            next_join: 0,
            members: BTreeMap::new(),
            stats: MembershipStats::default(),
            deadline: None,
        }
    }

    // ----- queries (no change) -----

    /// The time an input at `now` acts on.
    pub(crate) fn effective(&self, now: Timestamp) -> Timestamp {
        self.last_seen.max(now)
    }

    /// The holder's index at `at`: `Ok(None)` while it waits for one; errors when it is
    /// unknown or expired.
    pub(crate) fn standing(&self, holder: &str, at: Timestamp, config: &MembershipConfig) -> Result<Option<u32>, Error> {
        let m =
            self.members.get(holder).ok_or_else(|| Error::UnknownHolder { cluster: self.name.to_string(), holder: holder.to_owned() })?;
        let expires = m.last_heartbeat.saturating_add(config.time_to_live_ms());
        if m.expired || expires <= at {
            return Err(Error::HolderExpired { cluster: self.name.to_string(), holder: holder.to_owned(), expired_at: expires });
        }
        Ok(m.shard)
    }

    /// Live holders that hold an index at `at`, by index.
    pub(crate) fn assignments(&self, at: Timestamp, config: &MembershipConfig) -> Vec<ShardInfo> {
        let mut out: Vec<ShardInfo> = self
            .members
            .iter()
            .filter(|(_, m)| !m.expired && m.last_heartbeat.saturating_add(config.time_to_live_ms()) > at)
            .filter_map(|(h, m)| m.shard.map(|s| self.info(h, s)))
            .collect();
        out.sort_unstable_by_key(|i| i.shard);
        out
    }

    /// Holders whose deadline has not passed at `at`.
    pub(crate) fn live_holders(&self, at: Timestamp, config: &MembershipConfig) -> usize {
        self.members.values().filter(|m| !m.expired && m.last_heartbeat.saturating_add(config.time_to_live_ms()) > at).count()
    }

    pub(crate) fn info(&self, holder: &Arc<str>, shard: u32) -> ShardInfo {
        ShardInfo { cluster: self.name.clone(), holder: holder.clone(), shard, num_shards: self.num_shards, epoch: self.epoch }
    }

    pub(crate) fn view(&self, config: &MembershipConfig) -> ClusterInfo {
        ClusterInfo {
            epoch: self.epoch,
            num_shards: self.num_shards,
            holders: self.members.len(),
            assigned: self.assigned(),
            last_reshard_at: self.last_reshard_at,
            next_reshard_at: self.needs_reshard().then(|| self.reshard_allowed_at(config)),
            stats: self.stats,
        }
    }

    fn assigned(&self) -> usize {
        self.members.values().filter(|m| m.shard.is_some()).count()
    }

    /// A reshard is needed when a holder has no index (new, or expired) or an index of the
    /// epoch is free (its holder left).
    fn needs_reshard(&self) -> bool {
        let assigned = self.assigned();
        assigned < self.members.len() || assigned < self.num_shards as usize
    }

    /// When a needed reshard may run: at once when no holder has an index (nobody to
    /// disturb: the first joiner, or the joiner after every assigned holder left or expired);
    /// otherwise `reshard_interval_ms` after the last one.
    fn reshard_allowed_at(&self, config: &MembershipConfig) -> Timestamp {
        match self.last_reshard_at {
            Some(t) if self.assigned() > 0 => t.saturating_add(config.reshard_interval_ms()),
            _ => self.last_seen,
        }
    }

    fn next_deadline(&self, config: &MembershipConfig) -> Option<Deadline<MembershipTimer>> {
        let ttl = config.time_to_live_ms();
        let expiry = self
            .members
            .values()
            .filter(|m| !m.expired)
            .map(|m| m.last_heartbeat.saturating_add(ttl))
            .min()
            .map(|at| Deadline { at, timer: MembershipTimer::Expiry });
        let reshard = self.needs_reshard().then(|| Deadline { at: self.reshard_allowed_at(config), timer: MembershipTimer::Reshard });
        // On a tie the reshard is the more telling reason.
        Deadline::earlier(expiry, reshard)
    }

    // ----- steps of an input -----

    /// Moves the clock to `now` (never backwards) and expires every holder whose deadline
    /// passed, reporting the loss of its index. Returns the time to act on.
    pub(crate) fn advance(&mut self, now: Timestamp, config: &MembershipConfig, out: &mut VecDeque<MembershipOutput>) -> Timestamp {
        let now = self.effective(now);
        self.last_seen = now;
        let ttl = config.time_to_live_ms();
        for (holder, m) in self.members.iter_mut() {
            if !m.expired && m.last_heartbeat.saturating_add(ttl) <= now {
                m.expired = true;
                self.stats.expirations += 1;
                if let Some(shard) = m.shard.take() {
                    out.push_back(MembershipOutput::ShardLost(ShardLost {
                        cluster: self.name.clone(),
                        holder: holder.clone(),
                        shard,
                        num_shards: self.num_shards,
                        epoch: self.epoch,
                        reason: LostReason::Expired,
                    }));
                }
            }
        }
        now
    }

    /// Registers a holder, or re-registers an expired one (it waits for an index again), or
    /// refreshes a live one (a heartbeat). Runs after `advance`.
    pub(crate) fn register(&mut self, holder: &str, now: Timestamp) {
        match self.members.get_mut(holder) {
            Some(m) if !m.expired => {
                m.last_heartbeat = now;
                self.stats.heartbeats += 1;
            }
            Some(m) => {
                *m = Member { joined: self.next_join, last_heartbeat: now, shard: None, expired: false };
                self.next_join += 1;
                self.stats.registrations += 1;
            }
            None => {
                self.members.insert(Arc::from(holder), Member { joined: self.next_join, last_heartbeat: now, shard: None, expired: false });
                self.next_join += 1;
                self.stats.registrations += 1;
            }
        }
    }

    /// Refreshes a live holder (validated by the caller). Runs after `advance`.
    pub(crate) fn heartbeat(&mut self, holder: &str, now: Timestamp) {
        if let Some(m) = self.members.get_mut(holder) {
            m.last_heartbeat = now;
            self.stats.heartbeats += 1;
        }
    }

    /// Removes a holder, reporting the loss of its index. Runs after `advance`.
    pub(crate) fn unregister(&mut self, holder: &str, out: &mut VecDeque<MembershipOutput>) {
        let Some((holder, m)) = self.members.remove_entry(holder) else { return };
        self.stats.unregistrations += 1;
        if let Some(shard) = m.shard {
            out.push_back(MembershipOutput::ShardLost(ShardLost {
                cluster: self.name.clone(),
                holder,
                shard,
                num_shards: self.num_shards,
                epoch: self.epoch,
                reason: LostReason::Unregistered,
            }));
        }
        self.reset_if_empty();
    }

    /// Reshards if needed and allowed, then re-arms the deadline. Runs last in every input.
    pub(crate) fn settle(&mut self, config: &MembershipConfig, out: &mut VecDeque<MembershipOutput>) {
        if self.needs_reshard() && self.reshard_allowed_at(config) <= self.last_seen {
            self.reshard(config, out);
        }
        self.rearm(config);
    }

    /// Recomputes the cached deadline.
    pub(crate) fn rearm(&mut self, config: &MembershipConfig) {
        self.deadline = self.next_deadline(config);
    }

    /// Removes expired holders and gives every remaining one an index of a new epoch.
    fn reshard(&mut self, config: &MembershipConfig, out: &mut VecDeque<MembershipOutput>) {
        self.members.retain(|_, m| !m.expired);
        if self.members.is_empty() {
            self.reset_if_empty();
            return;
        }
        let candidates: Vec<Candidate> = self.members.values().map(|m| Candidate { current: m.shard, joined: m.joined }).collect();
        let indices = assign(config.assignment(), &candidates);
        self.epoch += 1;
        // The holder table is bounded by max_holders <= 2^31.
        self.num_shards = indices.len() as u32;
        self.last_reshard_at = Some(self.last_seen);
        self.stats.reshards += 1;
        let mut changed = Vec::with_capacity(indices.len());
        for ((holder, m), shard) in self.members.iter_mut().zip(indices) {
            if m.shard.is_some_and(|s| s != shard) {
                self.stats.moves += 1;
            }
            m.shard = Some(shard);
            changed.push((shard, holder.clone()));
        }
        changed.sort_unstable();
        for (shard, holder) in changed {
            out.push_back(MembershipOutput::ShardChanged(self.info(&holder, shard)));
        }
    }

    /// An empty cluster forgets its count and its rate limit (its epoch stays, so fencing
    /// tokens keep increasing), so the next joiner gets an index at once.
    fn reset_if_empty(&mut self) {
        if self.members.is_empty() {
            self.num_shards = 0;
            self.last_reshard_at = None;
        }
    }
}
