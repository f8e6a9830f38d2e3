//! Helpers for the membership scenario tests: a fake host that heartbeats its running
//! holders on schedule and jumps the clock straight to the next beat or deadline.

#![allow(dead_code, clippy::unwrap_used)]

use shardtally::*;
use std::collections::BTreeMap;

/// A timestamp in ms.
pub fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// SPEC §11 scenario 9: heartbeat 1000 ms, grace 3000 ms, reshard 5000 ms.
pub fn spec_config() -> MembershipConfig {
    MembershipConfig::builder().heartbeat_interval_ms(1_000).grace_period_ms(3_000).reshard_interval_ms(5_000).build().unwrap()
}

/// A `ShardChanged` in short form.
pub fn changed(holder: &str, shard: u32, num_shards: u32, epoch: u64) -> Output {
    Output::Changed(holder.to_owned(), shard, num_shards, epoch)
}

/// A `ShardLost` in short form.
pub fn lost(holder: &str, shard: u32, epoch: u64, reason: LostReason) -> Output {
    Output::Lost(holder.to_owned(), shard, epoch, reason)
}

/// An output in short form (the cluster is left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// `(holder, shard, num_shards, epoch)`.
    Changed(String, u32, u32, u64),
    /// `(holder, shard, epoch, reason)`.
    Lost(String, u32, u64, LostReason),
}

impl Output {
    pub fn of(o: &MembershipOutput) -> Output {
        match o {
            MembershipOutput::ShardChanged(i) => Output::Changed(i.holder.to_string(), i.shard, i.num_shards, i.epoch),
            MembershipOutput::ShardLost(l) => Output::Lost(l.holder.to_string(), l.shard, l.epoch, l.reason),
            other => panic!("unexpected output {other:?}"),
        }
    }
}

/// Every output since the last call, in short form.
pub fn drain(m: &mut Membership) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).map(|o| Output::of(&o)).collect()
}

/// `(holder, shard, num_shards)` of every assignment of a cluster at `now`, by index.
pub fn view(m: &Membership, cluster: &str, now: u64) -> Vec<(String, u32, u32)> {
    m.assignments(cluster, t(now)).unwrap().into_iter().map(|i| (i.holder.to_string(), i.shard, i.num_shards)).collect()
}

/// `(shard, num_shards)` of one holder at `now`, or the error code.
pub fn info(m: &Membership, cluster: &str, holder: &str, now: u64) -> Result<(u32, u32), &'static str> {
    m.shard_info(cluster, holder, t(now)).map(|i| (i.shard, i.num_shards)).map_err(|e| e.code())
}

/// A host: running holders heartbeat every `heartbeat_interval_ms`; the clock jumps from
/// one beat or deadline to the next; every output is logged with its time.
pub struct Host {
    pub m: Membership,
    pub now: u64,
    /// `(cluster, holder)` → time of its next heartbeat.
    pub running: BTreeMap<(String, String), u64>,
    pub log: Vec<(u64, Output)>,
}

impl Host {
    pub fn new(config: MembershipConfig) -> Host {
        Host { m: Membership::new(config), now: 0, running: BTreeMap::new(), log: Vec::new() }
    }

    fn interval(&self) -> u64 {
        self.m.config().heartbeat_interval_ms()
    }

    fn collect(&mut self) {
        let now = self.now;
        let outs = drain(&mut self.m);
        self.log.extend(outs.into_iter().map(|o| (now, o)));
    }

    /// The holder registers now and heartbeats from then on.
    pub fn join(&mut self, cluster: &str, holder: &str) {
        self.m.register(cluster, holder, t(self.now)).unwrap();
        self.running.insert((cluster.to_owned(), holder.to_owned()), self.now + self.interval());
        self.collect();
    }

    /// The holder stops heartbeating (a crash): it expires on its own.
    pub fn stop(&mut self, cluster: &str, holder: &str) {
        self.running.remove(&(cluster.to_owned(), holder.to_owned()));
    }

    /// The holder shuts down cleanly.
    pub fn leave(&mut self, cluster: &str, holder: &str) {
        self.stop(cluster, holder);
        self.m.unregister(cluster, holder, t(self.now)).unwrap();
        self.collect();
    }

    /// Runs beats and timers up to and including `until`, then sets the clock to it.
    pub fn run_until(&mut self, until: u64) {
        loop {
            let beat = self.running.values().min().copied();
            let timer = self.m.poll_timeout().map(Timestamp::as_millis);
            let next = match (beat, timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(u64::MAX),
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            let due: Vec<(String, String)> = self.running.iter().filter(|(_, at)| **at <= self.now).map(|(k, _)| k.clone()).collect();
            for (c, h) in due {
                self.m.heartbeat(&c, &h, t(self.now)).unwrap();
                self.running.insert((c, h), self.now + self.interval());
            }
            self.m.handle_timeout(t(self.now));
            self.collect();
        }
        self.now = self.now.max(until);
    }

    /// The outputs logged at `at`.
    pub fn at(&self, at: u64) -> Vec<Output> {
        self.log.iter().filter(|(when, _)| *when == at).map(|(_, o)| o.clone()).collect()
    }
}
