//! Membership: the processes (*holders*) of a named cluster each get a unique shard index in
//! `0..num_shards`, through heartbeats, a grace period and rate-limited resharding — what
//! @jcoreio/postgres-shard-coordinator did, without its drift and with fencing epochs.
//!
//! ```
//! use shardtally::{Membership, MembershipConfig, MembershipOutput, Timestamp};
//!
//! let config = MembershipConfig::builder()
//!     .heartbeat_interval_ms(1_000)
//!     .grace_period_ms(3_000)
//!     .reshard_interval_ms(5_000)
//!     .build()?;
//! let mut m = Membership::new(config);
//! let t = Timestamp::from_millis;
//!
//! m.register("workers", "r1", t(0))?; // the first holder gets an index at once
//! let Some(MembershipOutput::ShardChanged(info)) = m.poll_output() else { unreachable!() };
//! assert_eq!((info.shard, info.num_shards, info.epoch), (0, 1, 1));
//!
//! m.register("workers", "r2", t(1_000))?; // r1 holds an index: wait for the rate limit
//! assert_eq!(m.shard_info("workers", "r2", t(1_000)).map_err(|e| e.code()), Err("NOT_ASSIGNED"));
//! for at in [2_000, 3_000, 4_000] {
//!     m.heartbeat("workers", "r1", t(at))?; // every heartbeat_interval_ms
//!     m.heartbeat("workers", "r2", t(at))?;
//! }
//!
//! // The host's timer fires at poll_timeout(): the reshard is due 5 s after the first one.
//! assert_eq!(m.poll_timeout(), Some(t(5_000)));
//! m.handle_timeout(t(5_000));
//! let mut changed = Vec::new(); // what the host tells each holder
//! while let Some(out) = m.poll_output() {
//!     if let MembershipOutput::ShardChanged(i) = out {
//!         changed.push((i.holder, i.shard, i.num_shards, i.epoch));
//!     }
//! }
//! assert!(changed.iter().any(|(holder, shard, n, epoch)| &**holder == "r2" && (*shard, *n, *epoch) == (1, 2, 2)));
//! assert_eq!(m.shard_info("workers", "r1", t(5_000))?.shard, 0); // r1 keeps its index
//! assert_eq!(m.shard_info("workers", "r2", t(5_000))?.num_shards, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Model
//!
//! - A holder [registers](Membership::register), then [heartbeats](Membership::heartbeat)
//!   every `heartbeat_interval_ms`. It is alive until its last heartbeat plus
//!   `heartbeat_interval_ms + grace_period_ms`; at that deadline it *expires*: it loses its
//!   index at once ([`MembershipOutput::ShardLost`]), heartbeats are refused
//!   ([`Error::HolderExpired`]) and it must register again.
//! - A *reshard* runs when a holder has no index (it is new or came back), a holder expired,
//!   or an index is free (its holder [unregistered](Membership::unregister)). It removes
//!   expired holders, starts a new **epoch** and gives every holder an index in
//!   `0..num_shards`, `num_shards` being the number of holders. Reshards are rate-limited to
//!   one per `reshard_interval_ms` per cluster, except that a cluster in which no holder has an
//!   index reshards at once (the first joiner, and the next joiner after the last holder
//!   left, get an index immediately).
//! - Between reshards nothing drifts: `num_shards` stays the count fixed by the epoch's
//!   reshard, a holder whose deadline passed reports no index (its index stays free until
//!   the next reshard), and newcomers wait without one. So no holder ever reports an index
//!   `>= num_shards`, and no two holders report the same index in the same epoch. The cost is
//!   a gap: keys of a free index have no owner until the next reshard.
//! - [`Assignment::Minimal`] (the default) keeps every survivor's index that is still below
//!   the count and fills the holes; [`Assignment::Compact`] is the seed's order-preserving
//!   renumbering.
//!
//! # Epochs (fencing tokens)
//!
//! The epoch increases by one with every reshard of a cluster and every holder assigned by
//! it is told the new epoch, even when its index and count did not change. A store that
//! rejects writes carrying an epoch older than the newest it has seen for the cluster thus
//! fences out every holder that has not yet learnt of a reshard. Epochs survive the cluster
//! emptying (only [`remove_cluster`](Membership::remove_cluster) forgets them).
//!
//! # Outputs
//!
//! - [`MembershipOutput::ShardChanged`]: a holder's `(shard, num_shards, epoch)` changed. Only
//!   reshards emit it, once per assigned holder, by index.
//! - [`MembershipOutput::ShardLost`]: a holder that had an index no longer has one: it
//!   expired ([`LostReason::Expired`]) or unregistered ([`LostReason::Unregistered`]). A holder
//!   that never had an index loses nothing and is not reported.
//!
//! # Persistence
//!
//! Clusters are independent, and each can be stored on its own:
//! [`snapshot_cluster`](Membership::snapshot_cluster) encodes one cluster and
//! [`restore_clusters`](Membership::restore_clusters) rebuilds a machine from such rows.
//! A PostgreSQL registrar keeps one row per cluster: in one transaction it reads the row
//! `FOR UPDATE`, restores a machine from it, applies one input with the database's clock as
//! `now`, writes [`snapshot_cluster`](Membership::snapshot_cluster) back when
//! [`take_state_changed`](Membership::take_state_changed) says so, and notifies the outputs.
//! A host keeping many clusters in memory persists the clusters named by
//! [`take_changed_clusters`](Membership::take_changed_clusters) (a removed cluster has no
//! snapshot: delete its row).

mod assign;
mod cluster;
mod config;
mod state;

pub use config::{Assignment, MembershipConfig, MembershipConfigBuilder};

use crate::error::{DecodeError, Error};
use crate::shard::Deadline;
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use cluster::Cluster;
use serde::{Deserialize, Serialize};
use state::{ClusterState, MembershipState};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// A holder's assignment: index `shard` of `num_shards`, valid in `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardInfo {
    /// The cluster.
    pub cluster: Arc<str>,
    /// The holder.
    pub holder: Arc<str>,
    /// Its index, always below `num_shards`.
    pub shard: u32,
    /// The number of holders fixed at the epoch's reshard.
    pub num_shards: u32,
    /// The reshard that made this assignment: a fencing token, increasing per cluster.
    pub epoch: u64,
}

/// Why a holder lost its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LostReason {
    /// Its deadline (last heartbeat + heartbeat interval + grace period) passed.
    Expired,
    /// It unregistered.
    Unregistered,
}

impl LostReason {
    /// The reason as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::Expired => "expired",
            LostReason::Unregistered => "unregistered",
        }
    }
}

/// A holder no longer holds `shard` of `num_shards` from `epoch`: it must stop working on it.
/// The index stays free until the next reshard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardLost {
    /// The cluster.
    pub cluster: Arc<str>,
    /// The holder.
    pub holder: Arc<str>,
    /// The index it held.
    pub shard: u32,
    /// The count of that epoch.
    pub num_shards: u32,
    /// The epoch of the lost assignment.
    pub epoch: u64,
    /// Why.
    pub reason: LostReason,
}

/// What a membership machine tells its host (for a PostgreSQL host: what to `NOTIFY`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipOutput {
    /// A holder's assignment changed (a reshard).
    ShardChanged(ShardInfo),
    /// A holder lost its index (it expired or unregistered).
    ShardLost(ShardLost),
}

/// Which timer a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipTimer {
    /// A holder's deadline passes.
    Expiry,
    /// A needed reshard is allowed again by the rate limit.
    Reshard,
}

impl MembershipTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipTimer::Expiry => "expiry",
            MembershipTimer::Reshard => "reshard",
        }
    }
}

/// Counters of membership activity (per cluster, kept in its snapshot; the machine's are
/// the sums).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipStats {
    /// Registrations of new or expired holders.
    pub registrations: u64,
    /// Heartbeats (including registrations of live holders).
    pub heartbeats: u64,
    /// Holders unregistered.
    pub unregistrations: u64,
    /// Holders that expired.
    pub expirations: u64,
    /// Reshards (epochs started).
    pub reshards: u64,
    /// Holders whose index changed at a reshard (newcomers not counted).
    pub moves: u64,
}

impl MembershipStats {
    fn add(&mut self, o: &MembershipStats) {
        self.registrations += o.registrations;
        self.heartbeats += o.heartbeats;
        self.unregistrations += o.unregistrations;
        self.expirations += o.expirations;
        self.reshards += o.reshards;
        self.moves += o.moves;
    }
}

/// A cluster at a glance (as of the last input it saw).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The current epoch (0 before the first reshard).
    pub epoch: u64,
    /// The count fixed at the epoch's reshard (0 before the first and once empty).
    pub num_shards: u32,
    /// Registered holders, including expired ones the next reshard removes.
    pub holders: usize,
    /// Holders with an index.
    pub assigned: usize,
    /// When the last reshard ran (`None` before the first and once empty).
    pub last_reshard_at: Option<Timestamp>,
    /// When the reshard that is needed will run, if one is needed.
    pub next_reshard_at: Option<Timestamp>,
    /// This cluster's counters.
    pub stats: MembershipStats,
}

/// Checks a cluster or holder id against the bounds: non-empty, at most `max` bytes.
pub(crate) fn valid_id(what: &'static str, id: &str, max: usize) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::EmptyId { what });
    }
    if id.len() > max {
        return Err(Error::IdTooLong { what, len: id.len(), max });
    }
    Ok(())
}

/// Independent named clusters of holders, each holder with a unique shard index.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:  register / heartbeat / unregister / remove_cluster / handle_timeout
///     if take_state_changed() { persist snapshot() or the take_changed_clusters() rows }
///     while let Some(out) = poll_output() { tell the holder (NOTIFY) }
///     arm a timer for poll_timeout()
/// }
/// ```
///
/// # Methods by kind
///
/// - **Getters** (`&self`): [`config`](Self::config), [`clusters`](Self::clusters),
///   [`cluster_info`](Self::cluster_info), [`shard_info`](Self::shard_info) and
///   [`assignments`](Self::assignments) (evaluated at a `now`, never reporting a holder past
///   its deadline), [`stats`](Self::stats), [`next_deadline`](Self::next_deadline),
///   [`snapshot`](Self::snapshot), [`snapshot_cluster`](Self::snapshot_cluster).
/// - **Inputs** (take `now`): [`register`](Self::register), [`heartbeat`](Self::heartbeat),
///   [`unregister`](Self::unregister), [`remove_cluster`](Self::remove_cluster),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout),
///   [`take_state_changed`](Self::take_state_changed),
///   [`take_changed_clusters`](Self::take_changed_clusters).
///
/// # Time
///
/// `now` is milliseconds on the host's clock (a PostgreSQL host uses the database's). Each
/// cluster keeps the latest `now` it saw; an earlier one is treated as that. Every input to
/// a cluster first expires the holders whose deadline passed and ends by resharding when a
/// reshard is needed and allowed. [`handle_timeout`](Self::handle_timeout) does the same for
/// every cluster with a deadline `<= now`; called early or twice it changes nothing. A
/// joiner gets an index within `reshard_interval_ms`, and an expiry is reported at its
/// deadline, when the host calls `handle_timeout` at [`poll_timeout`](Self::poll_timeout).
///
/// # Errors
///
/// A rejected input returns a typed [`Error`] and changes nothing, not even the clock.
#[derive(Debug)]
pub struct Membership {
    config: MembershipConfig,
    clusters: BTreeMap<Arc<str>, Cluster>,
    outputs: VecDeque<MembershipOutput>,
    state_changed: bool,
    changed_clusters: BTreeSet<Arc<str>>,
}

impl Membership {
    /// A machine without clusters.
    pub fn new(config: MembershipConfig) -> Membership {
        Membership { config, clusters: BTreeMap::new(), outputs: VecDeque::new(), state_changed: false, changed_clusters: BTreeSet::new() }
    }

    // ----- getters -----

    /// The configuration in force.
    pub fn config(&self) -> &MembershipConfig {
        &self.config
    }

    /// The clusters' names, sorted.
    pub fn clusters(&self) -> Vec<&str> {
        self.clusters.keys().map(|k| &**k).collect()
    }

    /// A cluster at a glance, or `None` when there is no such cluster.
    pub fn cluster_info(&self, cluster: &str) -> Option<ClusterInfo> {
        self.clusters.get(cluster).map(|c| c.view(&self.config))
    }

    /// A holder's assignment as of `now` (a query: nothing changes; an earlier `now` than the
    /// cluster has seen is treated as that).
    ///
    /// Errors: [`Error::UnknownCluster`], [`Error::UnknownHolder`],
    /// [`Error::HolderExpired`] (its deadline passed at `now`, even if no input has noticed
    /// yet), [`Error::NotAssigned`] (it waits for the next reshard).
    pub fn shard_info(&self, cluster: &str, holder: &str, now: Timestamp) -> Result<ShardInfo, Error> {
        let c = self.cluster(cluster)?;
        match c.standing(holder, c.effective(now), &self.config)? {
            Some(shard) => {
                let holder = c.members.get_key_value(holder).map_or_else(|| Arc::from(holder), |(h, _)| h.clone());
                Ok(c.info(&holder, shard))
            }
            None => Err(Error::NotAssigned { cluster: cluster.to_owned(), holder: holder.to_owned() }),
        }
    }

    /// Every live holder's assignment as of `now`, by index (the indices are distinct and
    /// below `num_shards`; free indices are missing).
    ///
    /// Errors: [`Error::UnknownCluster`].
    pub fn assignments(&self, cluster: &str, now: Timestamp) -> Result<Vec<ShardInfo>, Error> {
        let c = self.cluster(cluster)?;
        Ok(c.assignments(c.effective(now), &self.config))
    }

    /// Activity counters, summed over the clusters present.
    pub fn stats(&self) -> MembershipStats {
        let mut total = MembershipStats::default();
        for c in self.clusters.values() {
            total.add(&c.stats);
        }
        total
    }

    /// The earliest deadline of any cluster and which timer it belongs to.
    pub fn next_deadline(&self) -> Option<Deadline<MembershipTimer>> {
        let mut best: Option<Deadline<MembershipTimer>> = None;
        for d in self.clusters.values().filter_map(|c| c.deadline) {
            if best.is_none_or(|b| d.at < b.at) {
                best = Some(d);
            }
        }
        best
    }

    // ----- inputs -----

    /// Registers `holder` in `cluster` (creating the cluster). A new holder, or one that
    /// expired, waits for an index until the next reshard — at once when the cluster has no
    /// assigned holder, else within `reshard_interval_ms`. Registering a live holder is a
    /// heartbeat (it keeps its index), so a host may register on every beat.
    ///
    /// Errors: [`Error::EmptyId`], [`Error::IdTooLong`], [`Error::TableFull`] (`"clusters"`
    /// or `"holders"`).
    pub fn register(&mut self, cluster: &str, holder: &str, now: Timestamp) -> Result<(), Error> {
        self.check_ids(cluster, holder)?;
        match self.clusters.get(cluster) {
            None if self.clusters.len() >= self.config.max_clusters() => {
                return Err(Error::TableFull { table: "clusters", limit: self.config.max_clusters() });
            }
            Some(c) if !c.members.contains_key(holder) && c.members.len() >= self.config.max_holders() => {
                return Err(Error::TableFull { table: "holders", limit: self.config.max_holders() });
            }
            Some(_) => {}
            None => {
                let name: Arc<str> = Arc::from(cluster);
                self.clusters.insert(name.clone(), Cluster::new(name));
            }
        }
        self.apply(cluster, now, |c, now, _| c.register(holder, now));
        Ok(())
    }

    /// A live holder's heartbeat: extends its deadline to `now + heartbeat_interval_ms +
    /// grace_period_ms`.
    ///
    /// Errors: [`Error::EmptyId`], [`Error::IdTooLong`], [`Error::UnknownCluster`],
    /// [`Error::UnknownHolder`], [`Error::HolderExpired`] (register again).
    pub fn heartbeat(&mut self, cluster: &str, holder: &str, now: Timestamp) -> Result<(), Error> {
        self.check_ids(cluster, holder)?;
        let c = self.cluster(cluster)?;
        c.standing(holder, c.effective(now), &self.config)?;
        self.apply(cluster, now, |c, now, _| c.heartbeat(holder, now));
        Ok(())
    }

    /// Removes a holder (a clean shutdown). Its index, if it had one, is lost at once
    /// ([`LostReason::Unregistered`]) and stays free until the next reshard; when it was the
    /// last assigned holder the cluster reshards at once for whoever waits, and when it was
    /// the last holder the cluster's rate limit resets, so the next joiner gets an index at once.
    ///
    /// Errors: [`Error::EmptyId`], [`Error::IdTooLong`], [`Error::UnknownCluster`],
    /// [`Error::UnknownHolder`].
    pub fn unregister(&mut self, cluster: &str, holder: &str, now: Timestamp) -> Result<(), Error> {
        self.check_ids(cluster, holder)?;
        if !self.cluster(cluster)?.members.contains_key(holder) {
            return Err(Error::UnknownHolder { cluster: cluster.to_owned(), holder: holder.to_owned() });
        }
        self.apply(cluster, now, |c, _, out| c.unregister(holder, out));
        Ok(())
    }

    /// Forgets a cluster that has no live holder (holders past their deadline are reported
    /// lost first), freeing its place in `max_clusters`. Its epoch is forgotten too: a
    /// cluster registered again under the name starts from epoch 1, so only remove a cluster
    /// whose name will not come back, or whose stores forget its fencing tokens.
    ///
    /// Errors: [`Error::EmptyId`], [`Error::IdTooLong`], [`Error::UnknownCluster`],
    /// [`Error::ClusterNotEmpty`].
    pub fn remove_cluster(&mut self, cluster: &str, now: Timestamp) -> Result<(), Error> {
        valid_id("cluster id", cluster, self.config.max_id_bytes())?;
        let c = self.cluster(cluster)?;
        let live = c.live_holders(c.effective(now), &self.config);
        if live > 0 {
            return Err(Error::ClusterNotEmpty { cluster: cluster.to_owned(), holders: live });
        }
        self.apply(cluster, now, |_, _, _| {});
        self.clusters.remove(cluster);
        Ok(())
    }

    /// Fires every deadline `<= now`: expires holders and runs reshards that became allowed.
    /// Clusters with nothing due are not touched; early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let config = self.config;
        for c in self.clusters.values_mut() {
            if c.deadline.is_none_or(|d| d.at > c.effective(now)) {
                continue;
            }
            c.advance(now, &config, &mut self.outputs);
            c.settle(&config, &mut self.outputs);
            self.state_changed = true;
            self.changed_clusters.insert(c.name.clone());
        }
    }

    // ----- outputs -----

    /// The next notification for a holder, if any.
    pub fn poll_output(&mut self) -> Option<MembershipOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call: exactly when
    /// [`snapshot`](Self::snapshot) would differ from the one taken then.
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    /// The clusters whose [`snapshot_cluster`](Self::snapshot_cluster) may differ since the
    /// last call, sorted (tracked apart from [`take_state_changed`](Self::take_state_changed)).
    /// A name whose cluster is gone was removed.
    pub fn take_changed_clusters(&mut self) -> Vec<Arc<str>> {
        std::mem::take(&mut self.changed_clusters).into_iter().collect()
    }

    // ----- snapshots -----

    /// Every cluster as versioned bytes: holders, deadlines, indices, epochs, rate limits and
    /// counters. Undrained outputs are not included (a holder can always re-read its
    /// assignment with [`shard_info`](Self::shard_info)).
    pub fn snapshot(&self) -> Vec<u8> {
        let clusters = self.clusters.values().map(Cluster::to_state).collect();
        snapshot::encode(Kind::MembershipSnapshot, &MembershipState { clusters })
    }

    /// One cluster as versioned bytes (one row of a host that stores clusters apart), or
    /// `None` when there is no such cluster.
    pub fn snapshot_cluster(&self, cluster: &str) -> Option<Vec<u8>> {
        self.clusters.get(cluster).map(|c| snapshot::encode(Kind::MembershipCluster, &c.to_state()))
    }

    /// Restores a machine from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8], config: MembershipConfig) -> Result<Membership, DecodeError> {
        let s: MembershipState = snapshot::decode(Kind::MembershipSnapshot, bytes)?;
        if s.clusters.windows(2).any(|w| w[0].name() >= w[1].name()) {
            return Err(DecodeError::corrupt("clusters not sorted or repeated"));
        }
        Self::from_states(config, s.clusters)
    }

    /// Builds a machine from [`snapshot_cluster`](Self::snapshot_cluster) rows, in any order
    /// (a PostgreSQL registrar passes the one row it locked).
    pub fn restore_clusters<I>(rows: I, config: MembershipConfig) -> Result<Membership, DecodeError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut states = Vec::new();
        for row in rows {
            states.push(snapshot::decode::<ClusterState>(Kind::MembershipCluster, row.as_ref())?);
        }
        Self::from_states(config, states)
    }

    fn from_states(config: MembershipConfig, states: Vec<ClusterState>) -> Result<Membership, DecodeError> {
        if states.len() > config.max_clusters() {
            return Err(DecodeError::corrupt(format!("{} clusters, more than max_clusters ({})", states.len(), config.max_clusters())));
        }
        let mut m = Membership::new(config);
        for s in states {
            let mut c = Cluster::from_state(s, &config)?;
            c.rearm(&config);
            if m.clusters.contains_key(&c.name) {
                return Err(DecodeError::corrupt(format!("cluster {:?} appears twice", c.name)));
            }
            m.clusters.insert(c.name.clone(), c);
        }
        Ok(m)
    }

    // ----- internals -----

    fn cluster(&self, cluster: &str) -> Result<&Cluster, Error> {
        self.clusters.get(cluster).ok_or_else(|| Error::UnknownCluster { cluster: cluster.to_owned() })
    }

    fn check_ids(&self, cluster: &str, holder: &str) -> Result<(), Error> {
        let max = self.config.max_id_bytes();
        valid_id("cluster id", cluster, max)?;
        valid_id("holder id", holder, max)
    }

    /// Runs one validated input on a cluster: expire, apply, reshard if due, re-arm.
    fn apply(&mut self, cluster: &str, now: Timestamp, input: impl FnOnce(&mut Cluster, Timestamp, &mut VecDeque<MembershipOutput>)) {
        let config = self.config;
        let Some(c) = self.clusters.get_mut(cluster) else { return };
        let now = c.advance(now, &config, &mut self.outputs);
        input(c, now, &mut self.outputs);
        c.settle(&config, &mut self.outputs);
        self.state_changed = true;
        self.changed_clusters.insert(c.name.clone());
    }
}
