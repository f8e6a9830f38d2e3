//! Membership invariants over random traces of joins, heartbeats, crashes, clean leaves,
//! clock jumps (a sleeping host), timestamps from the past and restarts (snapshot + restore,
//! whole or one row per cluster). After every input:
//!
//! - no two holders are told the same index in the same epoch, and every index is below its
//!   count; epochs only grow, one per reshard;
//! - `shard_changed` comes only when a holder's `(shard, num_shards, epoch)` changes, and a
//!   `shard_lost` only for what the holder was last told;
//! - what holders were told is what `shard_info` answers once due timers ran, and a holder
//!   past its deadline is never reported holding an index, even before the timer runs;
//! - a holder that keeps heartbeating gets an index within one reshard interval;
//! - `take_state_changed` is true exactly when the snapshot changed, `take_changed_clusters`
//!   names exactly the clusters whose row changed, and a rejected input changes nothing;
//! - `handle_timeout` early or twice does nothing;
//! - snapshots round-trip byte for byte; the same trace gives the same outputs.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use shardtally::{Assignment, Error, Membership, MembershipConfig, MembershipOutput, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const CLUSTERS: [&str; 3] = ["c0", "c1", "c2"];
const HOLDERS: [&str; 5] = ["h0", "h1", "h2", "h3", "h4"];
const BEAT: u64 = 1_000;

#[derive(Clone, Debug)]
enum Op {
    /// Register (or re-register) and start heartbeating.
    Join(usize, usize),
    /// One explicit heartbeat now (may be refused).
    Beat(usize, usize),
    /// Crash: stop heartbeating.
    Stop(usize, usize),
    /// Clean shutdown: unregister.
    Leave(usize, usize),
    /// The host runs for this long: beats on schedule, timers at their deadlines.
    Advance(u64),
    /// The host sleeps this long (no beats, no timers), then wakes.
    Jump(u64),
    /// A heartbeat stamped this long in the past.
    Back(usize, usize, u64),
    /// Forget a cluster (refused while it has live holders).
    Remove(usize),
    /// Restart from a whole snapshot (false) or from one row per cluster (true).
    Restart(bool),
    /// Call handle_timeout just before the next deadline.
    Early,
}

fn op() -> impl Strategy<Value = Op> {
    let ch = (0..CLUSTERS.len(), 0..HOLDERS.len());
    prop_oneof![
        4 => ch.clone().prop_map(|(c, h)| Op::Join(c, h)),
        1 => ch.clone().prop_map(|(c, h)| Op::Beat(c, h)),
        2 => ch.clone().prop_map(|(c, h)| Op::Stop(c, h)),
        2 => ch.clone().prop_map(|(c, h)| Op::Leave(c, h)),
        4 => (1u64..8_000).prop_map(Op::Advance),
        1 => (1u64..20_000).prop_map(Op::Jump),
        1 => (ch, 0u64..5_000).prop_map(|((c, h), ms)| Op::Back(c, h, ms)),
        1 => (0..CLUSTERS.len()).prop_map(Op::Remove),
        1 => any::<bool>().prop_map(Op::Restart),
        1 => Just(Op::Early),
    ]
}

fn config() -> impl Strategy<Value = MembershipConfig> {
    (prop_oneof![Just(1u64), Just(500), Just(3_000)], prop_oneof![Just(0u64), Just(2_000), Just(5_000)], any::<bool>()).prop_map(
        |(grace, reshard, compact)| {
            MembershipConfig::builder()
                .heartbeat_interval_ms(BEAT)
                .grace_period_ms(grace)
                .reshard_interval_ms(reshard)
                .assignment(if compact { Assignment::Compact } else { Assignment::Minimal })
                .max_clusters(2)
                .max_holders(4)
                .build()
                .unwrap()
        },
    )
}

type Key = (usize, usize);
type Triple = (u32, u32, u64);

/// What the model knows about one holder's last heartbeat: it happened in `lo..=hi`.
#[derive(Clone, Copy, Debug)]
struct Beat {
    lo: u64,
    hi: u64,
}

struct Run {
    config: MembershipConfig,
    m: Membership,
    now: u64,
    /// Running holders → time of their next scheduled heartbeat.
    running: BTreeMap<Key, u64>,
    /// Running holders → when they last (re-)registered as newcomers.
    joined: BTreeMap<Key, u64>,
    beats: BTreeMap<Key, Beat>,
    /// What each holder was last told (None after a loss).
    told: BTreeMap<Key, Triple>,
    last_epoch: BTreeMap<usize, u64>,
    /// Every (cluster, epoch, index) ever given out.
    given: BTreeSet<(usize, u64, u32)>,
    /// The earliest time the last reshard of each cluster can have run at.
    resharded: BTreeMap<usize, u64>,
    /// The earliest time the input being run acts at (its stamp; the clock never goes back).
    acting_from: u64,
    log: Vec<(u64, String)>,
}

fn key_of(cluster: &str, holder: &str) -> Key {
    (CLUSTERS.iter().position(|c| *c == cluster).unwrap(), HOLDERS.iter().position(|h| *h == holder).unwrap())
}

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

impl Run {
    fn new(config: MembershipConfig) -> Run {
        Run {
            config,
            m: Membership::new(config),
            now: 0,
            running: BTreeMap::new(),
            joined: BTreeMap::new(),
            beats: BTreeMap::new(),
            told: BTreeMap::new(),
            last_epoch: BTreeMap::new(),
            given: BTreeSet::new(),
            resharded: BTreeMap::new(),
            acting_from: 0,
            log: Vec::new(),
        }
    }

    fn rows(&self) -> BTreeMap<&'static str, Vec<u8>> {
        CLUSTERS.iter().filter_map(|c| self.m.snapshot_cluster(c).map(|r| (*c, r))).collect()
    }

    /// Runs one input, checking change reporting, atomicity and every output.
    fn input<T>(&mut self, f: impl FnOnce(&mut Membership) -> Result<T, Error>) -> Result<T, Error> {
        self.input_from(self.now, f)
    }

    /// [`input`](Self::input) stamped `from` (earlier than the host's clock).
    fn input_from<T>(&mut self, from: u64, f: impl FnOnce(&mut Membership) -> Result<T, Error>) -> Result<T, Error> {
        self.acting_from = from;
        let before = self.m.snapshot();
        let rows_before = self.rows();
        let deadline_before = self.m.next_deadline();
        let result = f(&mut self.m);
        let after = self.m.snapshot();
        let rows_after = self.rows();
        assert_eq!(self.m.take_state_changed(), before != after, "state change reported exactly when the snapshot changed");
        let changed: Vec<&str> = CLUSTERS.iter().copied().filter(|c| rows_before.get(c) != rows_after.get(c)).collect();
        let reported: Vec<Arc<str>> = self.m.take_changed_clusters();
        assert_eq!(reported.iter().map(|c| &**c).collect::<Vec<&str>>(), changed, "changed clusters are exactly those whose row changed");
        if result.is_err() {
            assert_eq!(before, after, "a rejected input changed the state: {:?}", result.as_ref().err());
            assert_eq!(self.m.next_deadline(), deadline_before);
        }
        while let Some(out) = self.m.poll_output() {
            assert!(result.is_ok(), "a rejected input emitted {out:?}");
            self.observe(out);
        }
        result
    }

    fn observe(&mut self, out: MembershipOutput) {
        self.log.push((self.now, format!("{out:?}")));
        match out {
            MembershipOutput::ShardChanged(i) => {
                let k = key_of(&i.cluster, &i.holder);
                let triple = (i.shard, i.num_shards, i.epoch);
                assert!(i.shard < i.num_shards, "{i:?}");
                let last = self.last_epoch.get(&k.0).copied().unwrap_or(0);
                assert!(i.epoch >= last && i.epoch > 0, "epochs never go back: {i:?} after {last}");
                if i.epoch > last {
                    // A new reshard. Unless nobody held an index (nobody to disturb), it
                    // respects the rate limit.
                    let someone_held = self.told.keys().any(|t| t.0 == k.0);
                    if let (true, Some(prev)) = (someone_held, self.resharded.get(&k.0)) {
                        let interval = self.config.reshard_interval_ms();
                        assert!(self.now >= prev + interval, "reshard at {} within {interval} ms of the one at {prev}", self.now);
                    }
                    self.resharded.insert(k.0, self.acting_from);
                    self.last_epoch.insert(k.0, i.epoch);
                }
                assert!(self.given.insert((k.0, i.epoch, i.shard)), "index given twice in one epoch: {i:?}");
                assert_ne!(self.told.get(&k), Some(&triple), "shard_changed without a change: {i:?}");
                self.told.insert(k, triple);
            }
            MembershipOutput::ShardLost(l) => {
                let k = key_of(&l.cluster, &l.holder);
                assert_eq!(self.told.remove(&k), Some((l.shard, l.num_shards, l.epoch)), "lost what it was not told: {l:?}");
            }
            other => panic!("unexpected output {other:?}"),
        }
    }

    fn ttl(&self) -> u64 {
        self.config.time_to_live_ms()
    }

    /// Registers (a heartbeat when the holder is live), tracking when it joined as a newcomer.
    fn register(&mut self, k: Key) -> bool {
        let (c, h) = (CLUSTERS[k.0], HOLDERS[k.1]);
        let now = self.now;
        let newcomer =
            matches!(self.m.shard_info(c, h, t(now)).map_err(|e| e.code()), Err("UNKNOWN_CLUSTER" | "UNKNOWN_HOLDER" | "HOLDER_EXPIRED"));
        if self.input(|m| m.register(c, h, t(now))).is_ok() {
            if newcomer || !self.joined.contains_key(&k) {
                self.joined.insert(k, now);
            }
            self.beats.insert(k, Beat { lo: now, hi: now });
            self.running.insert(k, now + BEAT);
            true
        } else {
            self.stop(k);
            false
        }
    }

    fn stop(&mut self, k: Key) {
        self.running.remove(&k);
        self.joined.remove(&k);
    }

    /// A running holder's scheduled beat; re-registers when refused, like a real host.
    fn scheduled_beat(&mut self, k: Key) {
        let (c, h) = (CLUSTERS[k.0], HOLDERS[k.1]);
        let now = self.now;
        match self.input(|m| m.heartbeat(c, h, t(now))) {
            Ok(()) => {
                self.beats.insert(k, Beat { lo: now, hi: now });
                self.running.insert(k, now + BEAT);
            }
            Err(_) => {
                self.joined.remove(&k);
                self.register(k);
            }
        }
    }

    fn run_until(&mut self, until: u64) {
        loop {
            let beat = self.running.values().min().copied();
            let timer = self.m.poll_timeout().map(Timestamp::as_millis);
            let next = [beat, timer].into_iter().flatten().min().unwrap_or(u64::MAX);
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            let due: Vec<Key> = self.running.iter().filter(|(_, at)| **at <= self.now).map(|(k, _)| *k).collect();
            for k in due {
                self.scheduled_beat(k);
            }
            let now = self.now;
            self.input(|m| {
                m.handle_timeout(t(now));
                Ok(())
            })
            .unwrap();
        }
        self.now = until;
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Join(c, h) => {
                self.register((c, h));
            }
            Op::Beat(c, h) => {
                let now = self.now;
                if self.input(|m| m.heartbeat(CLUSTERS[c], HOLDERS[h], t(now))).is_ok() {
                    self.beats.insert((c, h), Beat { lo: now, hi: now });
                }
            }
            Op::Stop(c, h) => self.stop((c, h)),
            Op::Leave(c, h) => {
                self.stop((c, h));
                let now = self.now;
                if self.input(|m| m.unregister(CLUSTERS[c], HOLDERS[h], t(now))).is_ok() {
                    self.beats.remove(&(c, h));
                }
            }
            Op::Advance(ms) => self.run_until(self.now + ms),
            Op::Jump(ms) => self.now += ms,
            Op::Back(c, h, ms) => {
                let stamp = self.now.saturating_sub(ms);
                if self.input_from(stamp, |m| m.heartbeat(CLUSTERS[c], HOLDERS[h], t(stamp))).is_ok() {
                    // Acted on at max(stamp, the cluster's clock): never before the previous beat.
                    let lo = self.beats.get(&(c, h)).map_or(stamp, |b| b.lo.max(stamp));
                    self.beats.insert((c, h), Beat { lo, hi: self.now });
                }
            }
            Op::Remove(c) => {
                let now = self.now;
                if self.input(|m| m.remove_cluster(CLUSTERS[c], t(now))).is_ok() {
                    self.running.retain(|k, _| k.0 != c);
                    self.joined.retain(|k, _| k.0 != c);
                    self.beats.retain(|k, _| k.0 != c);
                    self.last_epoch.remove(&c);
                    self.resharded.remove(&c);
                    self.given.retain(|g| g.0 != c);
                    assert!(self.told.keys().all(|k| k.0 != c), "a removed cluster's holders were all told of their loss");
                }
            }
            Op::Restart(per_row) => {
                let whole = self.m.snapshot();
                let deadline = self.m.poll_timeout();
                let restored = if per_row {
                    let rows: Vec<Vec<u8>> = self.rows().into_values().rev().collect();
                    Membership::restore_clusters(&rows, self.config).unwrap()
                } else {
                    Membership::restore(&whole, self.config).unwrap()
                };
                assert_eq!(restored.snapshot(), whole, "snapshot round trip");
                assert_eq!(restored.poll_timeout(), deadline, "deadlines survive a restart");
                self.m = restored;
            }
            Op::Early => {
                if let Some(at) = self.m.poll_timeout().map(Timestamp::as_millis) {
                    let before = self.m.snapshot();
                    self.m.handle_timeout(t(at - 1));
                    assert_eq!(self.m.snapshot(), before, "handle_timeout before the deadline changed the state");
                    assert!(!self.m.take_state_changed() && self.m.poll_output().is_none());
                }
            }
        }
        self.check_before_timers();
        let now = self.now;
        self.input(|m| {
            m.handle_timeout(t(now));
            Ok(())
        })
        .unwrap();
        let settled = self.m.snapshot();
        self.m.handle_timeout(t(now));
        assert_eq!(self.m.snapshot(), settled, "a second handle_timeout changed the state");
        assert!(!self.m.take_state_changed() && self.m.poll_output().is_none());
        self.check_settled();
    }

    /// Holds even when due timers have not run yet.
    fn check_before_timers(&self) {
        let now = t(self.now);
        for (ci, c) in CLUSTERS.iter().enumerate() {
            let Ok(all) = self.m.assignments(c, now) else { continue };
            let info = self.m.cluster_info(c).unwrap();
            let mut seen = BTreeSet::new();
            for i in &all {
                assert!(i.shard < i.num_shards && seen.insert(i.shard), "{all:?}");
                assert_eq!((i.num_shards, i.epoch), (info.num_shards, info.epoch), "one epoch, one count: {all:?}");
            }
            for (hi, h) in HOLDERS.iter().enumerate() {
                // A holder surely past its deadline never reports an index.
                if let Some(b) = self.beats.get(&(ci, hi)) {
                    if self.now >= b.hi + self.ttl() {
                        assert!(self.m.shard_info(c, h, now).is_err(), "{c}/{h} past its deadline still reports an index");
                    }
                }
            }
        }
    }

    /// Holds once every due timer ran.
    fn check_settled(&self) {
        let now = t(self.now);
        for (ci, c) in CLUSTERS.iter().enumerate() {
            for (hi, h) in HOLDERS.iter().enumerate() {
                let k = (ci, hi);
                let answer = self.m.shard_info(c, h, now).ok().map(|i| (i.shard, i.num_shards, i.epoch));
                assert_eq!(answer, self.told.get(&k).copied(), "{c}/{h}: shard_info disagrees with what it was told");
                // A holder beating on schedule since it joined has an index within one interval.
                let surely_alive = self.beats.get(&k).is_some_and(|b| self.now < b.lo + self.ttl());
                if let (Some(j), true) = (self.joined.get(&k), surely_alive) {
                    if self.now >= j + self.config.reshard_interval_ms() {
                        assert!(answer.is_some(), "{c}/{h} joined at {j} and still has no index at {}", self.now);
                    }
                }
            }
        }
    }
}

fn run(config: MembershipConfig, ops: &[Op]) -> (Vec<(u64, String)>, Vec<u8>) {
    let mut r = Run::new(config);
    for op in ops {
        r.step(op);
    }
    (r.log, r.m.snapshot())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_input(config in config(), ops in proptest::collection::vec(op(), 1..80)) {
        let first = run(config, &ops);
        let second = run(config, &ops);
        prop_assert_eq!(first, second, "the same trace must give the same outputs and state");
    }
}
