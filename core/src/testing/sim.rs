//! The simulation: durable hosts around shards and globals, a faulty network, and the
//! conservation checks.

use super::network::{Message, Network, Node};
use crate::config::{GlobalConfig, PublishMode, ShardConfig};
use crate::global::{Global, GlobalOutput, Publish};
use crate::journal::RowStore;
use crate::message::{Ack, Batch, GenerationNotice, ShardRef};
use crate::rng::Rng;
use crate::shard::{Shard, ShardOutput};
use crate::time::Timestamp;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Where a crash hits an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum CrashPoint {
    /// No crash.
    None,
    /// After the machine handled the input, before the host persisted: the input is lost
    /// (a client increment was never acknowledged) and the host restarts from its last
    /// persisted snapshot.
    BeforePersist,
    /// After the persist, before the host sent the outputs: the outputs are lost.
    AfterPersist,
}

/// One step of a simulation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// A client increments one key on a shard.
    Increment {
        /// Shard (modulo the shard count).
        shard: u8,
        /// Key (modulo the key count).
        key: u8,
        /// The delta.
        delta: i16,
        /// Crash of the shard's host around this input.
        crash: CrashPoint,
    },
    /// A client increments several keys in one request.
    Increments {
        /// Shard (modulo the shard count).
        shard: u8,
        /// `(key, delta)` pairs.
        entries: Vec<(u8, i16)>,
        /// Crash of the shard's host around this input.
        crash: CrashPoint,
    },
    /// The host flushes a shard by hand.
    Flush {
        /// Shard (modulo the shard count).
        shard: u8,
        /// Crash of the shard's host around this input.
        crash: CrashPoint,
    },
    /// The network delivers a message in transit.
    Deliver {
        /// Which message (modulo the number in transit).
        index: u8,
        /// Crash of the receiving host around this input.
        crash: CrashPoint,
    },
    /// The network loses a message.
    Drop {
        /// Which message (modulo the number in transit).
        index: u8,
    },
    /// The network duplicates a message.
    Duplicate {
        /// Which message (modulo the number in transit).
        index: u8,
    },
    /// The transport reports a batch as failed to its sender (and loses it).
    FailBatch {
        /// Which message (modulo the number in transit).
        index: u8,
    },
    /// Time passes; every due timeout fires (twice when `twice`).
    Advance {
        /// Milliseconds.
        ms: u16,
        /// Fire every due timeout a second time (a Durable Object alarm firing twice).
        twice: bool,
    },
    /// The clock steps backwards for the following inputs (until the next `Advance`).
    Backwards {
        /// Milliseconds.
        ms: u16,
    },
    /// An operator resets a key at the top-level global; its notices travel the network.
    Reset {
        /// Key (modulo the key count).
        key: u8,
        /// Crash of the global's host around this input.
        crash: CrashPoint,
    },
    /// A host restarts from its persisted snapshot between inputs.
    Crash {
        /// Host: shards first, then mid-level globals, then the top global (modulo the total).
        node: u8,
    },
    /// The store answers the oldest outstanding publish.
    PublishOutcome {
        /// Persisted (true) or failed (false).
        ok: bool,
    },
}

/// Fault rates for [`Sim::run_random`], in percent of steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Messages lost.
    pub drop: u8,
    /// Messages duplicated.
    pub duplicate: u8,
    /// Batches reported failed by the transport.
    pub fail: u8,
    /// Inputs hit by a crash (at either boundary), plus restarts between inputs.
    pub crash: u8,
    /// Timeouts fired twice.
    pub double_timeout: u8,
    /// Clock steps backwards.
    pub backwards: u8,
    /// Key resets (at the top-level global).
    pub reset: u8,
    /// Publishes that fail.
    pub publish_failure: u8,
}

impl Faults {
    /// Every fault kind enabled at moderate rates.
    pub fn all() -> Faults {
        Faults { drop: 8, duplicate: 8, fail: 5, crash: 8, double_timeout: 30, backwards: 5, reset: 4, publish_failure: 20 }
    }

    /// No faults.
    pub fn none() -> Faults {
        Faults { drop: 0, duplicate: 0, fail: 0, crash: 0, double_timeout: 0, backwards: 0, reset: 0, publish_failure: 0 }
    }
}

/// The shape of a simulation.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Drives random steps and nothing else.
    pub seed: u64,
    /// Leaf shards.
    pub shards: u32,
    /// Distinct keys (`k0`, `k1`, ...).
    pub keys: u32,
    /// Mid-level globals of a two-level tree (0: shards feed the top global directly).
    pub mids: u32,
    /// Settings of every shard (and of mid-level globals' upstream shards).
    pub shard: ShardConfig,
    /// Settings of every global.
    pub global: GlobalConfig,
    /// Fault rates for random steps.
    pub faults: Faults,
}

impl SimConfig {
    /// A random small configuration with every fault enabled: 1–4 shards, 1–4 keys, a
    /// two-level tree one time in four, short timers and thresholds (some disabled).
    pub fn random(seed: u64) -> SimConfig {
        let mut r = Rng::new(seed ^ 0x5eed_5eed);
        let mut pick = |n: u64| r.below(n);
        let requests = [0, 1, 2, 3, 5][pick(5) as usize];
        let idle = [0, 10, 25, 60][pick(4) as usize];
        let age = if requests == 0 && idle == 0 { 40 } else { [0, 40, 120][pick(3) as usize] };
        let shard = ShardConfig::builder()
            .flush_after_requests(requests)
            .flush_after_idle_ms(idle)
            .flush_max_age_ms(age)
            .ack_timeout_ms(20 + pick(60))
            .retry_initial_ms(1 + pick(10))
            .retry_max_ms(50)
            .seed(seed)
            .build();
        let global = GlobalConfig::builder()
            .persist_after_writes([0, 1, 3][pick(3) as usize])
            .persist_after_idle_ms([0, 15, 50][pick(3) as usize])
            .persist_max_age_ms(100)
            .publish_mode(if pick(2) == 0 { PublishMode::Full } else { PublishMode::Changes })
            .publish_timeout_ms(30 + pick(40))
            .retry_initial_ms(1 + pick(10))
            .retry_max_ms(40)
            .write_log_capacity(8)
            .seed(seed)
            .build();
        let mids = if pick(4) == 0 { 1 + pick(2) as u32 } else { 0 };
        SimConfig {
            seed,
            shards: 1 + pick(4) as u32,
            keys: 1 + pick(4) as u32,
            mids,
            // The builders cannot fail for these values; fall back to defaults regardless.
            shard: shard.unwrap_or_default(),
            global: global.unwrap_or_default(),
            faults: Faults::all(),
        }
    }
}

/// A broken invariant: the seed, the step and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The simulation's seed.
    pub seed: u64,
    /// Steps taken before it was found.
    pub step: u64,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {} step {}: {}", self.seed, self.step, self.message)
    }
}

impl std::error::Error for Violation {}

/// What a simulation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Steps applied.
    pub steps: u64,
    /// Accepted client requests.
    pub accepted: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Host restarts.
    pub crashes: u64,
    /// Resets that changed a total.
    pub resets: u64,
    /// Publishes persisted.
    pub publishes: u64,
    /// Generation notices delivered.
    pub notices: u64,
}

struct ShardHost {
    shard: Shard,
    persisted: Vec<u8>,
    /// The same state, persisted row by row from the change journal.
    rows: RowStore,
    /// The global it sends to.
    to: Node,
}

struct GlobalHost {
    global: Global,
    persisted: Vec<u8>,
    /// The same state, persisted row by row from the change journal.
    rows: RowStore,
    /// Where forwarded batches go (mid-level globals).
    upstream_to: Option<Node>,
    /// Publishes waiting for the store's answer.
    publishes: VecDeque<Publish>,
    /// The persisted totals (the KV of do-counter-sharding) and their version.
    store: BTreeMap<String, i64>,
    store_version: u64,
}

/// A deterministic simulation. See the [module docs](super).
pub struct Sim {
    config: SimConfig,
    rng: Rng,
    now: Timestamp,
    skew: u64,
    shards: Vec<ShardHost>,
    mids: Vec<GlobalHost>,
    top: GlobalHost,
    net: Network,
    /// Accepted deltas per (key, generation tag).
    accepted: BTreeMap<(String, u64), i64>,
    keys: Vec<String>,
    report: SimReport,
    trace: Vec<u8>,
    /// A persistence check that failed (reported by the next [`check`](Sim::check)).
    broken: Option<String>,
    /// Rebuild every changed host from its journal rows and compare (every fourth seed: the
    /// rebuild costs more than the rest of a step).
    rebuild_rows: bool,
}

impl Sim {
    /// A simulation with fresh shards and globals at time 0.
    pub fn new(config: SimConfig) -> Sim {
        let keys: Vec<String> = (0..config.keys.max(1)).map(|k| format!("k{k}")).collect();
        let mids = config.mids;
        let shards = (0..config.shards.max(1))
            .map(|i| {
                let mut shard = Shard::new(config.shard, ShardRef { shard: i, incarnation: 1 });
                let to = if mids == 0 { Node::Top } else { Node::Mid(i % mids) };
                let mut rows = RowStore::new();
                rows.apply_shard(&shard.take_changes());
                ShardHost { persisted: shard.snapshot(), shard, rows, to }
            })
            .collect();
        let mid_hosts = (0..mids)
            .map(|m| {
                let upstream = Shard::new(config.shard, ShardRef { shard: 1000 + m, incarnation: 1 });
                GlobalHost::new(Global::with_upstream(config.global, upstream), Some(Node::Top))
            })
            .collect();
        Sim {
            rng: Rng::new(config.seed),
            top: GlobalHost::new(Global::new(config.global), None),
            now: Timestamp::ZERO,
            skew: 0,
            shards,
            mids: mid_hosts,
            net: Network::default(),
            accepted: BTreeMap::new(),
            keys,
            report: SimReport::default(),
            trace: Vec::new(),
            broken: None,
            rebuild_rows: config.seed % 4 == 0,
            config,
        }
    }

    /// What happened so far.
    pub fn report(&self) -> SimReport {
        self.report
    }

    /// Every message sent and every publish persisted, in order (for determinism checks).
    pub fn trace(&self) -> &[u8] {
        &self.trace
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The top-level global.
    pub fn top(&self) -> &Global {
        &self.top.global
    }

    /// Accepted increments of `key` that still count (tagged at or after its last reset).
    pub fn expected(&self, key: &str) -> i64 {
        let g = self.top.global.key_generation(key);
        self.accepted.iter().filter(|((k, t), _)| k == key && *t >= g).map(|(_, d)| *d).sum()
    }

    /// Applies `steps` random steps, checking conservation after each.
    pub fn run_random(&mut self, steps: u64) -> Result<SimReport, Violation> {
        for _ in 0..steps {
            let op = self.random_op();
            self.apply(op)?;
        }
        Ok(self.report)
    }

    /// Applies one step and checks conservation.
    pub fn apply(&mut self, op: Op) -> Result<(), Violation> {
        self.report.steps += 1;
        self.step(op)?;
        self.check()
    }

    /// Delivers everything and fires every timer without faults until nothing is left to
    /// do, then checks that totals equal accepted increments exactly, nothing is pending or
    /// in flight, and the published store equals the totals.
    pub fn quiesce(&mut self) -> Result<SimReport, Violation> {
        self.skew = 0;
        for _ in 0..20_000 {
            if !self.net.is_empty() {
                self.deliver(0, CrashPoint::None)?;
                continue;
            }
            if let Some(n) = self.global_nodes().into_iter().find(|n| !self.host(*n).publishes.is_empty()) {
                self.resolve_publish(n, true)?;
                continue;
            }
            let next = self.next_deadline();
            if let Some(at) = next {
                self.now = self.now.max(at);
                self.fire_due(false)?;
                continue;
            }
            if !self.force_flushes()? {
                break;
            }
        }
        self.check()?;
        for key in self.keys.clone() {
            let (total, expected) = (self.top.global.total(&key), self.expected(&key));
            if total != expected {
                return Err(self.violation(format!("at quiescence {key}: total {total} != accepted {expected}")));
            }
            let stored = self.top.store.get(&key).copied().unwrap_or(0);
            if stored != total && (total != 0 || self.top.store.contains_key(&key)) {
                return Err(self.violation(format!("at quiescence {key}: stored {stored} != total {total}")));
            }
        }
        if let Some(h) = self.shards.iter().find(|h| h.shard.pending_keys() > 0 || h.shard.in_flight().is_some()) {
            return Err(self.violation(format!("shard {} not drained at quiescence", h.shard.shard_ref())));
        }
        Ok(self.report)
    }

    /// Conservation per key (see the [module docs](super)), and the persistence checks of
    /// every input since the last check.
    pub fn check(&self) -> Result<(), Violation> {
        if let Some(m) = &self.broken {
            return Err(self.violation(m.clone()));
        }
        for key in &self.keys {
            let g = self.top.global.key_generation(key);
            let mut actual = i128::from(self.top.global.total(key));
            for h in &self.shards {
                let applied_at = match h.to {
                    Node::Mid(m) => &self.mids[m as usize].global,
                    _ => &self.top.global,
                };
                actual += outstanding(&h.shard, applied_at, key, g);
            }
            for m in &self.mids {
                if let Some(up) = m.global.upstream() {
                    actual += outstanding(up, &self.top.global, key, g);
                }
            }
            let expected = i128::from(self.expected(key));
            if actual != expected {
                return Err(self.violation(format!("{key}: total + pending + in flight = {actual}, accepted = {expected}")));
            }
        }
        Ok(())
    }

    // ----- steps -----

    fn step(&mut self, op: Op) -> Result<(), Violation> {
        let n_shards = self.shards.len();
        match op {
            Op::Increment { shard, key, delta, crash } => {
                let i = usize::from(shard) % n_shards;
                let key = self.key(key);
                let now = self.input_now();
                let tag = self.shards[i].shard.generation();
                if self.shards[i].shard.increment(&key, i64::from(delta), now).is_ok() && self.finish_shard(i, crash) {
                    *self.accepted.entry((key, tag)).or_insert(0) += i64::from(delta);
                    self.report.accepted += 1;
                }
            }
            Op::Increments { shard, entries, crash } => {
                let i = usize::from(shard) % n_shards;
                let entries: Vec<(String, i64)> = entries.iter().take(8).map(|(k, d)| (self.key(*k), i64::from(*d))).collect();
                let now = self.input_now();
                let tag = self.shards[i].shard.generation();
                if self.shards[i].shard.increments(&entries, now).is_ok() && !entries.is_empty() && self.finish_shard(i, crash) {
                    for (k, d) in entries {
                        *self.accepted.entry((k, tag)).or_insert(0) += d;
                    }
                    self.report.accepted += 1;
                }
            }
            Op::Flush { shard, crash } => {
                let i = usize::from(shard) % n_shards;
                let now = self.input_now();
                self.shards[i].shard.flush(now);
                self.finish_shard(i, crash);
            }
            Op::Deliver { index, crash } => self.deliver(usize::from(index), crash)?,
            Op::Drop { index } => {
                self.net.take(usize::from(index));
            }
            Op::Duplicate { index } => self.net.duplicate(usize::from(index)),
            Op::FailBatch { index } => {
                if let Some(Message::Batch { from, bytes, .. }) = self.net.take(usize::from(index)) {
                    let batch = self.decode_batch(&bytes)?;
                    let now = self.input_now();
                    match from {
                        Node::Shard(i) => {
                            self.shards[i as usize].shard.handle_failure(batch.seq(), now);
                            self.finish_shard(i as usize, CrashPoint::None);
                        }
                        node => {
                            let host = self.host_mut(node);
                            host.global
                                .handle_upstream_failure(batch.seq(), now)
                                .map_err(|e| self.violation(format!("upstream failure: {e}")))?;
                            self.finish_global(node, CrashPoint::None);
                        }
                    }
                }
            }
            Op::Advance { ms, twice } => {
                self.now = self.now.saturating_add(u64::from(ms));
                self.skew = 0;
                self.fire_due(twice)?;
            }
            Op::Backwards { ms } => self.skew = u64::from(ms),
            Op::Reset { key, crash } => {
                let key = self.key(key);
                let now = self.input_now();
                let outcome = self.top.global.reset(&key, now).map_err(|e| self.violation(format!("reset: {e}")))?;
                if self.finish_global(Node::Top, crash) && matches!(outcome, crate::ResetOutcome::Reset { .. }) {
                    self.report.resets += 1;
                }
            }
            Op::Crash { node } => {
                let total = n_shards + self.mids.len() + 1;
                let n = usize::from(node) % total;
                if n < n_shards {
                    self.restart_shard(n);
                } else if n < total - 1 {
                    self.restart_global(Node::Mid((n - n_shards) as u32));
                } else {
                    self.restart_global(Node::Top);
                }
            }
            Op::PublishOutcome { ok } => {
                if let Some(n) = self.global_nodes().into_iter().find(|n| !self.host(*n).publishes.is_empty()) {
                    self.resolve_publish(n, ok)?;
                }
            }
        }
        Ok(())
    }

    fn deliver(&mut self, index: usize, crash: CrashPoint) -> Result<(), Violation> {
        let Some(m) = self.net.take(index) else { return Ok(()) };
        self.report.delivered += 1;
        let now = self.input_now();
        match m {
            Message::Batch { from, to, bytes } => {
                let batch = self.decode_batch(&bytes)?;
                let host = self.host_mut(to);
                let ack = match host.global.handle_batch(&batch, now) {
                    Ok(ack) => ack,
                    Err(e) => return Err(self.violation(format!("batch rejected: {e}"))),
                };
                if self.finish_global(to, crash) && crash == CrashPoint::None {
                    self.send(Message::Ack { to: from, bytes: ack.encode() });
                }
            }
            Message::Ack { to, bytes } => {
                let ack = Ack::decode(&bytes).map_err(|e| self.violation(format!("ack decode: {e}")))?;
                match to {
                    Node::Shard(i) => {
                        let i = i as usize;
                        self.shards[i].shard.handle_ack(&ack, now).map_err(|e| self.violation(format!("ack: {e}")))?;
                        self.finish_shard(i, crash);
                    }
                    node => {
                        self.host_mut(node)
                            .global
                            .handle_upstream_ack(&ack, now)
                            .map_err(|e| self.violation(format!("upstream ack: {e}")))?;
                        self.finish_global(node, crash);
                    }
                }
            }
            Message::Notice { to, bytes } => {
                self.report.notices += 1;
                let notice = GenerationNotice::decode(&bytes).map_err(|e| self.violation(format!("notice decode: {e}")))?;
                match to {
                    Node::Shard(i) => {
                        let i = i as usize;
                        self.shards[i].shard.handle_generation_notice(&notice, now);
                        self.finish_shard(i, crash);
                    }
                    node => {
                        self.host_mut(node)
                            .global
                            .handle_generation_notice(&notice, now)
                            .map_err(|e| self.violation(format!("notice: {e}")))?;
                        self.finish_global(node, crash);
                    }
                }
            }
        }
        Ok(())
    }

    fn resolve_publish(&mut self, node: Node, ok: bool) -> Result<(), Violation> {
        let now = self.input_now();
        let host = self.host_mut(node);
        let Some(p) = host.publishes.pop_front() else { return Ok(()) };
        if ok {
            if p.version > host.store_version {
                if p.mode == PublishMode::Full {
                    host.store.clear();
                }
                for (k, v) in &p.entries {
                    host.store.insert(k.to_string(), *v);
                }
                host.store_version = p.version;
            }
            host.global.handle_publish_ack(p.version, now);
            self.report.publishes += 1;
            self.trace.extend_from_slice(format!("publish {node:?} {p:?}\n").as_bytes());
        } else {
            host.global.handle_publish_failure(p.version, now);
        }
        self.finish_global(node, CrashPoint::None);
        Ok(())
    }

    /// Fires due timeouts on every host (twice when asked).
    fn fire_due(&mut self, twice: bool) -> Result<(), Violation> {
        let now = self.input_now();
        for i in 0..self.shards.len() {
            if self.shards[i].shard.poll_timeout().is_some_and(|t| t <= now) {
                self.shards[i].shard.handle_timeout(now);
                if twice {
                    self.shards[i].shard.handle_timeout(now);
                }
                self.finish_shard(i, CrashPoint::None);
            }
        }
        for node in self.global_nodes() {
            let host = self.host_mut(node);
            if host.global.poll_timeout().is_some_and(|t| t <= now) {
                host.global.handle_timeout(now);
                if twice {
                    host.global.handle_timeout(now);
                }
                self.finish_global(node, CrashPoint::None);
            }
        }
        Ok(())
    }

    /// When no timer is left: flush shards and publish globals with leftovers (configurations
    /// with every trigger disabled). Returns whether anything happened.
    fn force_flushes(&mut self) -> Result<bool, Violation> {
        let now = self.input_now();
        let mut any = false;
        for i in 0..self.shards.len() {
            if self.shards[i].shard.pending_keys() > 0 && self.shards[i].shard.in_flight().is_none() {
                self.shards[i].shard.flush(now);
                self.finish_shard(i, CrashPoint::None);
                any = true;
            }
        }
        for node in self.global_nodes() {
            let host = self.host_mut(node);
            if let Ok(crate::FlushOutcome::Sent { .. }) = host.global.flush_upstream(now) {
                any = true;
            }
            if let crate::PublishOutcome::Sent { .. } = host.global.publish(now) {
                any = true;
            }
            self.finish_global(node, CrashPoint::None);
        }
        Ok(any)
    }

    // ----- hosts -----

    /// Ends a shard input at a crash point. Returns whether the input survived.
    fn finish_shard(&mut self, i: usize, crash: CrashPoint) -> bool {
        if crash == CrashPoint::BeforePersist {
            self.restart_shard(i);
            return false;
        }
        let h = &mut self.shards[i];
        let snapshot = h.shard.snapshot();
        let changed = h.shard.take_state_changed();
        let rows = h.shard.take_changes();
        let mut broken = persistence_mismatch(changed, &snapshot, &h.persisted, rows.is_empty());
        h.rows.apply_shard(&rows);
        // With nothing changed, store and snapshot are as they were when last compared.
        if broken.is_none() && changed && self.rebuild_rows {
            let rebuilt = h.rows.shard_rows().and_then(|r| Shard::from_rows(r, self.config.shard)).map(|s| s.snapshot());
            if rebuilt.as_deref() != Ok(&snapshot[..]) {
                broken = Some(format!("shard {i}: rebuilt from journal rows differs from the live shard"));
            }
        }
        if changed {
            h.persisted = snapshot;
        }
        if let Some(b) = broken {
            self.broken.get_or_insert(b);
        }
        let h = &mut self.shards[i];
        let mut outs = Vec::new();
        while let Some(ShardOutput::SendBatch(b)) = h.shard.poll_output() {
            outs.push(Message::Batch { from: Node::Shard(i as u32), to: h.to, bytes: b.encode() });
        }
        if crash == CrashPoint::None {
            for m in outs {
                self.send(m);
            }
        } else {
            self.report.crashes += 1;
        }
        true
    }

    fn restart_shard(&mut self, i: usize) {
        let odd = self.report.crashes % 2 == 1;
        let h = &mut self.shards[i];
        // Every other restart comes back from the journal rows instead of the snapshot.
        let restored = if odd {
            h.rows.shard_rows().and_then(|r| Shard::from_rows(r, self.config.shard))
        } else {
            Shard::restore(&h.persisted, self.config.shard)
        };
        h.shard = match restored {
            Ok(s) => s,
            Err(e) => panic!("a persisted shard failed to restore: {e}"),
        };
        if h.shard.snapshot() != h.persisted {
            self.broken.get_or_insert(format!("shard {i}: restored state differs from the persisted snapshot"));
        }
        self.report.crashes += 1;
        self.finish_shard(i, CrashPoint::None);
    }

    /// Ends a global input at a crash point. Returns whether the input survived.
    fn finish_global(&mut self, node: Node, crash: CrashPoint) -> bool {
        if crash == CrashPoint::BeforePersist {
            self.restart_global(node);
            return false;
        }
        let (gc, sc, rebuild) = (self.config.global, self.config.shard, self.rebuild_rows);
        let host = self.host_mut(node);
        let snapshot = host.global.snapshot();
        let changed = host.global.take_state_changed();
        let rows = host.global.take_changes();
        let mut broken = persistence_mismatch(changed, &snapshot, &host.persisted, rows.is_empty());
        host.rows.apply_global(&rows);
        if broken.is_none() && changed && rebuild {
            let rebuilt = host.rows.global_rows().and_then(|r| rebuild_global(node, gc, sc, r)).map(|g| g.snapshot());
            if rebuilt.as_deref() != Ok(&snapshot[..]) {
                broken = Some(format!("{node:?}: rebuilt from journal rows differs from the live global"));
            }
        }
        if changed {
            host.persisted = snapshot;
        }
        let upstream_to = host.upstream_to;
        let mut outs = Vec::new();
        let mut publishes = Vec::new();
        while let Some(out) = host.global.poll_output() {
            match out {
                GlobalOutput::Publish(p) => publishes.push(p),
                GlobalOutput::Forward(b) => {
                    outs.push(Message::Batch { from: node, to: upstream_to.unwrap_or(Node::Top), bytes: b.encode() })
                }
                GlobalOutput::Notice(n) => outs.push(Message::Notice { to: node_of(n.to()), bytes: n.encode() }),
            }
        }
        if let Some(b) = broken {
            self.broken.get_or_insert(b);
        }
        if crash == CrashPoint::None {
            self.host_mut(node).publishes.extend(publishes);
            for m in outs {
                self.send(m);
            }
        } else {
            self.report.crashes += 1;
        }
        true
    }

    fn restart_global(&mut self, node: Node) {
        let (gc, sc) = (self.config.global, self.config.shard);
        let odd = self.report.crashes % 2 == 1;
        let host = self.host_mut(node);
        // Every other restart comes back from the journal rows instead of the snapshot.
        let restored = match (odd, node) {
            (true, _) => host.rows.global_rows().and_then(|r| rebuild_global(node, gc, sc, r)),
            (false, Node::Top) => Global::restore(&host.persisted, gc),
            (false, _) => Global::restore_tiered(&host.persisted, gc, sc),
        };
        host.global = match restored {
            Ok(g) => g,
            Err(e) => panic!("a persisted global failed to restore: {e}"),
        };
        let differs = host.global.snapshot() != host.persisted;
        // Publishes not yet answered were lost with the process; the restored global offers
        // its in-flight publish again.
        host.publishes.clear();
        if differs {
            self.broken.get_or_insert(format!("{node:?}: restored state differs from the persisted snapshot"));
        }
        self.report.crashes += 1;
        self.finish_global(node, CrashPoint::None);
    }

    fn host(&self, node: Node) -> &GlobalHost {
        match node {
            Node::Mid(m) => &self.mids[m as usize],
            _ => &self.top,
        }
    }

    fn host_mut(&mut self, node: Node) -> &mut GlobalHost {
        match node {
            Node::Mid(m) => &mut self.mids[m as usize],
            _ => &mut self.top,
        }
    }

    fn global_nodes(&self) -> Vec<Node> {
        (0..self.mids.len() as u32).map(Node::Mid).chain([Node::Top]).collect()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.shards
            .iter()
            .filter_map(|h| h.shard.poll_timeout())
            .chain(self.global_nodes().into_iter().filter_map(|n| self.host(n).global.poll_timeout()))
            .min()
    }

    // ----- helpers -----

    fn send(&mut self, m: Message) {
        let (label, bytes) = match &m {
            Message::Batch { from, to, bytes } => (format!("batch {from:?}->{to:?} "), bytes),
            Message::Ack { to, bytes } => (format!("ack ->{to:?} "), bytes),
            Message::Notice { to, bytes } => (format!("notice ->{to:?} "), bytes),
        };
        self.trace.extend_from_slice(label.as_bytes());
        self.trace.extend_from_slice(bytes);
        self.trace.push(b'\n');
        self.net.send(m);
    }

    fn decode_batch(&self, bytes: &[u8]) -> Result<Batch, Violation> {
        Batch::decode(bytes).map_err(|e| self.violation(format!("batch decode: {e}")))
    }

    fn key(&self, k: u8) -> String {
        self.keys[usize::from(k) % self.keys.len()].clone()
    }

    fn input_now(&self) -> Timestamp {
        Timestamp::from_millis(self.now.as_millis().saturating_sub(self.skew))
    }

    fn violation(&self, message: String) -> Violation {
        Violation { seed: self.config.seed, step: self.report.steps, message }
    }

    fn random_op(&mut self) -> Op {
        let f = self.config.faults;
        let r = &mut self.rng;
        let crash = |r: &mut Rng| {
            if r.below(100) < u64::from(f.crash) {
                if r.below(2) == 0 {
                    CrashPoint::BeforePersist
                } else {
                    CrashPoint::AfterPersist
                }
            } else {
                CrashPoint::None
            }
        };
        let byte = |r: &mut Rng| r.below(256) as u8;
        let delta = |r: &mut Rng| r.below(21) as i16 - 5;
        let roll = r.below(100);
        let pct = |x: u8| u64::from(x);
        let mut edge = 0;
        let mut next = |w: u64| {
            edge += w;
            roll < edge
        };
        if next(30) {
            Op::Increment { shard: byte(r), key: byte(r), delta: delta(r), crash: crash(r) }
        } else if next(6) {
            let n = 1 + r.below(4) as usize;
            Op::Increments { shard: byte(r), entries: (0..n).map(|_| (byte(r), delta(r))).collect(), crash: crash(r) }
        } else if next(3) {
            Op::Flush { shard: byte(r), crash: crash(r) }
        } else if next(pct(f.drop)) {
            Op::Drop { index: byte(r) }
        } else if next(pct(f.duplicate)) {
            Op::Duplicate { index: byte(r) }
        } else if next(pct(f.fail)) {
            Op::FailBatch { index: byte(r) }
        } else if next(pct(f.backwards)) {
            Op::Backwards { ms: 1 + r.below(50) as u16 }
        } else if next(pct(f.reset)) {
            Op::Reset { key: byte(r), crash: crash(r) }
        } else if next(pct(f.crash) / 2) {
            Op::Crash { node: byte(r) }
        } else if next(8) {
            Op::PublishOutcome { ok: r.below(100) >= pct(f.publish_failure) }
        } else if next(12) {
            Op::Advance { ms: r.below(40) as u16, twice: r.below(100) < pct(f.double_timeout) }
        } else {
            Op::Deliver { index: if r.below(4) == 0 { byte(r) } else { 0 }, crash: crash(r) }
        }
    }
}

impl GlobalHost {
    fn new(mut global: Global, upstream_to: Option<Node>) -> GlobalHost {
        let mut rows = RowStore::new();
        rows.apply_global(&global.take_changes());
        GlobalHost {
            persisted: global.snapshot(),
            rows,
            global,
            upstream_to,
            publishes: VecDeque::new(),
            store: BTreeMap::new(),
            store_version: 0,
        }
    }
}

/// Where a message to a shard life goes: leaf shards by index, mid-level globals' upstream
/// shards (index `1000 + m`) to the mid-level global.
fn node_of(to: ShardRef) -> Node {
    if to.shard >= 1000 {
        Node::Mid(to.shard - 1000)
    } else {
        Node::Shard(to.shard)
    }
}

fn rebuild_global(
    node: Node,
    gc: GlobalConfig,
    sc: ShardConfig,
    rows: Vec<crate::journal::GlobalRow>,
) -> Result<Global, crate::DecodeError> {
    match node {
        Node::Top => Global::from_rows(rows, gc),
        _ => Global::from_rows_tiered(rows, gc, sc),
    }
}

/// The persistence hints must agree with the snapshot: a change reported exactly when the
/// snapshot differs from the persisted one, and journal rows exactly then.
fn persistence_mismatch(changed: bool, snapshot: &[u8], persisted: &[u8], no_rows: bool) -> Option<String> {
    let differs = snapshot != persisted;
    if changed != differs {
        return Some(format!("take_state_changed() = {changed} but the snapshot {}", if differs { "changed" } else { "did not change" }));
    }
    if no_rows == differs {
        return Some(format!(
            "the journal is {} but the snapshot {}",
            if no_rows { "empty" } else { "not empty" },
            if differs { "changed" } else { "did not change" }
        ));
    }
    None
}

/// Deltas of `key` at generation `>= g` that `shard` still holds: pending, plus the in-flight
/// batch if `global` has not applied it yet.
fn outstanding(shard: &Shard, global: &Global, key: &str, g: u64) -> i128 {
    let mut sum: i128 = shard.pending().iter().filter(|e| e.key() == key && e.generation() >= g).map(|e| i128::from(e.delta())).sum();
    if let Some(b) = shard.in_flight() {
        if b.seq() > global.last_seq(b.from()).unwrap_or(0) {
            sum += b.entries().iter().filter(|e| e.key() == key && e.generation() >= g).map(|e| i128::from(e.delta())).sum::<i128>();
        }
    }
    sum
}
