//! A small world driven by random inputs for the persistence properties: leaves 0 and 1
//! feed a tiered mid-level global (upstream shard 100), which feeds the top global; leaf 2
//! feeds the top directly. Every machine is persisted by snapshot and by journal rows after
//! every input, and [`World::check`] compares them.

#![allow(clippy::unwrap_used)]

use super::t;
use proptest::prelude::*;
use shardtally::journal::RowStore;
use shardtally::{
    Batch, GenerationNotice, Global, GlobalConfig, GlobalOutput, KeyId, PublishMode, Shard, ShardConfig, ShardRef, Timestamp,
};

/// One input to some machine of the world.
#[derive(Clone, Debug)]
pub enum Act {
    Inc {
        leaf: u8,
        key: u8,
        delta: i64,
    },
    Incs {
        leaf: u8,
        keys: Vec<(u8, i64)>,
    },
    Intern {
        leaf: u8,
        key: u8,
    },
    IncId {
        leaf: u8,
        key: u8,
        delta: i64,
    },
    Flush {
        leaf: u8,
    },
    Drain {
        leaf: u8,
    },
    /// Deliver the leaf's in-flight batch; `ack` false loses the acknowledgement.
    Deliver {
        leaf: u8,
        ack: bool,
    },
    Fail {
        leaf: u8,
    },
    /// Deliver the mid's oldest forwarded batch to the top (and the ack back).
    Forward {
        ack: bool,
    },
    FailForward,
    FlushUpstream,
    Reset {
        key: u8,
    },
    Publish {
        top: bool,
    },
    PublishAck {
        top: bool,
        ok: bool,
    },
    /// Deliver the oldest generation notice.
    Notice,
    /// Re-deliver a notice built by the top for a key (a host's retry).
    Renotice {
        key: u8,
        leaf: u8,
    },
    Advance {
        ms: u16,
    },
    /// Fire every machine's timers at the current time again (no-ops).
    Timeout,
    Backwards {
        ms: u16,
    },
}

pub fn act() -> impl Strategy<Value = Act> {
    let delta = prop_oneof![8 => -5i64..20, 1 => Just(i64::MAX / 2), 1 => Just(i64::MIN / 2)];
    prop_oneof![
        8 => (0u8..3, 0u8..6, delta.clone()).prop_map(|(leaf, key, delta)| Act::Inc { leaf, key, delta }),
        2 => (0u8..3, proptest::collection::vec((0u8..6, -5i64..20), 0..4)).prop_map(|(leaf, keys)| Act::Incs { leaf, keys }),
        1 => (0u8..3, 0u8..6).prop_map(|(leaf, key)| Act::Intern { leaf, key }),
        2 => (0u8..3, 0u8..6, delta).prop_map(|(leaf, key, delta)| Act::IncId { leaf, key, delta }),
        2 => (0u8..3).prop_map(|leaf| Act::Flush { leaf }),
        1 => (0u8..3).prop_map(|leaf| Act::Drain { leaf }),
        6 => (0u8..3, any::<bool>()).prop_map(|(leaf, ack)| Act::Deliver { leaf, ack }),
        1 => (0u8..3).prop_map(|leaf| Act::Fail { leaf }),
        3 => any::<bool>().prop_map(|ack| Act::Forward { ack }),
        1 => Just(Act::FailForward),
        1 => Just(Act::FlushUpstream),
        2 => (0u8..6).prop_map(|key| Act::Reset { key }),
        1 => any::<bool>().prop_map(|top| Act::Publish { top }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(top, ok)| Act::PublishAck { top, ok }),
        3 => Just(Act::Notice),
        1 => (0u8..6, 0u8..4).prop_map(|(key, leaf)| Act::Renotice { key, leaf }),
        4 => (0u16..400).prop_map(|ms| Act::Advance { ms }),
        2 => Just(Act::Timeout),
        1 => (1u16..100).prop_map(|ms| Act::Backwards { ms }),
    ]
}

/// A machine's persisted copies.
#[derive(Default)]
struct Persisted {
    snapshot: Vec<u8>,
    rows: RowStore,
}

pub struct World {
    pub leaves: Vec<Shard>,
    pub mid: Global,
    pub top: Global,
    shard_config: ShardConfig,
    up_config: ShardConfig,
    global_config: GlobalConfig,
    forwards: Vec<Batch>,
    notices: Vec<GenerationNotice>,
    publishes: [Vec<u64>; 2],
    now: u64,
    skew: u64,
    persisted: Vec<Persisted>,
    /// Inputs after which some machine changed / after which none did.
    pub changed_inputs: u64,
    pub quiet_inputs: u64,
}

fn key(k: u8) -> String {
    format!("k{k}")
}

impl World {
    pub fn new(seed: u64) -> World {
        let shard_config = ShardConfig::builder()
            .flush_after_requests(3)
            .flush_after_idle_ms(50)
            .flush_max_age_ms(200)
            .ack_timeout_ms(100)
            .retry_initial_ms(10)
            .retry_max_ms(80)
            .max_pending_keys(4)
            .seed(seed)
            .build()
            .unwrap();
        let up_config =
            ShardConfig::builder().flush_after_requests(2).flush_after_idle_ms(60).max_pending_keys(3).seed(seed).build().unwrap();
        let global_config = GlobalConfig::builder()
            .persist_after_writes(2)
            .persist_after_idle_ms(70)
            .publish_mode(if seed % 2 == 0 { PublishMode::Changes } else { PublishMode::Full })
            .publish_timeout_ms(90)
            .retry_initial_ms(10)
            .retry_max_ms(60)
            .write_log_capacity(3)
            .max_keys(5)
            .max_dedup_entries(3)
            .seed(seed)
            .build()
            .unwrap();
        let leaves = (0..3).map(|i| Shard::new(shard_config, ShardRef { shard: i, incarnation: 7 })).collect();
        let mid = Global::with_upstream(global_config, Shard::new(up_config, ShardRef { shard: 100, incarnation: 1 }));
        let top = Global::new(global_config);
        let mut w = World {
            leaves,
            mid,
            top,
            shard_config,
            up_config,
            global_config,
            forwards: Vec::new(),
            notices: Vec::new(),
            publishes: [Vec::new(), Vec::new()],
            now: 0,
            skew: 0,
            persisted: (0..5).map(|_| Persisted::default()).collect(),
            changed_inputs: 0,
            quiet_inputs: 0,
        };
        // A new machine's first take is its meta row: persist it and the snapshot as the start.
        for (i, p) in w.persisted.iter_mut().enumerate() {
            match i {
                0..=2 => {
                    p.rows.apply_shard(&w.leaves[i].take_changes());
                    p.snapshot = w.leaves[i].snapshot();
                }
                _ => {
                    let g = if i == 3 { &mut w.mid } else { &mut w.top };
                    p.rows.apply_global(&g.take_changes());
                    p.snapshot = g.snapshot();
                }
            }
        }
        w
    }

    fn now(&self) -> Timestamp {
        t(self.now.saturating_sub(self.skew))
    }

    /// Applies one input, then drains every machine's outputs into the world's queues.
    pub fn apply(&mut self, a: &Act) {
        let now = self.now();
        match a {
            Act::Inc { leaf, key: k, delta } => {
                let _ = self.leaves[*leaf as usize].increment(&key(*k), *delta, now);
            }
            Act::Incs { leaf, keys } => {
                let entries: Vec<(String, i64)> = keys.iter().map(|(k, d)| (key(*k), *d)).collect();
                let _ = self.leaves[*leaf as usize].increments(&entries, now);
            }
            Act::Intern { leaf, key: k } => {
                let _ = self.leaves[*leaf as usize].intern(&key(*k));
            }
            Act::IncId { leaf, key: k, delta } => {
                let s = &mut self.leaves[*leaf as usize];
                let id = s.intern(&key(*k)).unwrap_or(KeyId::from_raw(99));
                let _ = s.increment_ids(&[id, id], &[*delta, 1], now);
            }
            Act::Flush { leaf } => {
                self.leaves[*leaf as usize].flush(now);
            }
            Act::Drain { leaf } => {
                self.leaves[*leaf as usize].drain(now);
            }
            Act::Deliver { leaf, ack } => {
                let i = *leaf as usize;
                if let Some(b) = self.leaves[i].in_flight().cloned() {
                    let g = if i < 2 { &mut self.mid } else { &mut self.top };
                    match g.handle_batch(&b, now) {
                        Ok(a) if *ack => {
                            self.leaves[i].handle_ack(&a, now).unwrap();
                        }
                        Ok(_) => {}
                        Err(e) if e.rejects_batch() => {
                            self.leaves[i].handle_rejection(b.seq(), now);
                        }
                        Err(_) => {
                            self.leaves[i].handle_failure(b.seq(), now);
                        }
                    }
                }
            }
            Act::Fail { leaf } => {
                let s = &mut self.leaves[*leaf as usize];
                if let Some(seq) = s.in_flight().map(Batch::seq) {
                    s.handle_failure(seq, now);
                }
            }
            Act::Forward { ack } => {
                if !self.forwards.is_empty() {
                    let b = self.forwards.remove(0);
                    match self.top.handle_batch(&b, now) {
                        Ok(a) if *ack => {
                            self.mid.handle_upstream_ack(&a, now).unwrap();
                        }
                        Ok(_) => {}
                        Err(_) => {
                            self.mid.handle_upstream_failure(b.seq(), now).unwrap();
                        }
                    }
                }
            }
            Act::FailForward => {
                if let Some(seq) = self.mid.upstream().and_then(Shard::in_flight).map(Batch::seq) {
                    self.mid.handle_upstream_failure(seq, now).unwrap();
                }
            }
            Act::FlushUpstream => {
                self.mid.flush_upstream(now).unwrap();
            }
            Act::Reset { key: k } => {
                self.top.reset(&key(*k), now).unwrap();
            }
            Act::Publish { top } => {
                let g = if *top { &mut self.top } else { &mut self.mid };
                g.publish(now);
            }
            Act::PublishAck { top, ok } => {
                let i = usize::from(*top);
                if !self.publishes[i].is_empty() {
                    let v = self.publishes[i].remove(0);
                    let g = if *top { &mut self.top } else { &mut self.mid };
                    if *ok {
                        g.handle_publish_ack(v, now);
                    } else {
                        g.handle_publish_failure(v, now);
                    }
                }
            }
            Act::Notice => {
                if !self.notices.is_empty() {
                    let n = self.notices.remove(0);
                    self.deliver_notice(&n, now);
                }
            }
            Act::Renotice { key: k, leaf } => {
                let to =
                    if *leaf == 3 { ShardRef { shard: 100, incarnation: 1 } } else { ShardRef { shard: u32::from(*leaf), incarnation: 7 } };
                let n = self.top.generation_notice(&key(*k), to);
                self.deliver_notice(&n, now);
            }
            Act::Advance { ms } => {
                self.now += u64::from(*ms);
                self.skew = 0;
                let now = self.now();
                self.fire(now);
            }
            Act::Timeout => self.fire(now),
            Act::Backwards { ms } => self.skew = u64::from(*ms),
        }
        self.drain_outputs();
    }

    fn fire(&mut self, now: Timestamp) {
        for s in &mut self.leaves {
            s.handle_timeout(now);
        }
        self.mid.handle_timeout(now);
        self.top.handle_timeout(now);
    }

    fn deliver_notice(&mut self, n: &GenerationNotice, now: Timestamp) {
        match n.to().shard {
            100 => {
                self.mid.handle_generation_notice(n, now).unwrap();
            }
            i => {
                self.leaves[i as usize].handle_generation_notice(n, now);
            }
        }
    }

    fn drain_outputs(&mut self) {
        for s in &mut self.leaves {
            while s.poll_output().is_some() {}
        }
        for (i, g) in [&mut self.mid, &mut self.top].into_iter().enumerate() {
            while let Some(o) = g.poll_output() {
                match o {
                    GlobalOutput::Publish(p) => self.publishes[i].push(p.version),
                    GlobalOutput::Forward(b) => self.forwards.push(b),
                    GlobalOutput::Notice(n) => self.notices.push(n),
                    _ => {}
                }
            }
        }
    }

    /// After an input: for every machine, the change report and the journal agree with the
    /// snapshot; with `rebuild`, the stored rows rebuild the machine exactly.
    pub fn check(&mut self, rebuild: bool) -> Result<(), String> {
        let (sc, uc, gc) = (self.shard_config, self.up_config, self.global_config);
        let mut any = false;
        for i in 0..5 {
            let (snapshot, changed, rows_empty) = match i {
                0..=2 => {
                    let s = &mut self.leaves[i];
                    let snapshot = s.snapshot();
                    let changed = s.take_state_changed();
                    let rows = s.take_changes();
                    self.persisted[i].rows.apply_shard(&rows);
                    (snapshot, changed, rows.is_empty())
                }
                _ => {
                    let g = if i == 3 { &mut self.mid } else { &mut self.top };
                    let snapshot = g.snapshot();
                    let changed = g.take_state_changed();
                    let rows = g.take_changes();
                    self.persisted[i].rows.apply_global(&rows);
                    (snapshot, changed, rows.is_empty())
                }
            };
            let p = &mut self.persisted[i];
            let differs = snapshot != p.snapshot;
            if changed != differs {
                return Err(format!("machine {i}: take_state_changed() = {changed}, snapshot changed = {differs}"));
            }
            if rows_empty == differs {
                return Err(format!("machine {i}: journal empty = {rows_empty}, snapshot changed = {differs}"));
            }
            any |= differs;
            p.snapshot = snapshot;
            if rebuild {
                let rebuilt = match i {
                    0..=2 => Shard::from_rows(p.rows.shard_rows().unwrap(), sc).map(|s| s.snapshot()),
                    3 => Global::from_rows_tiered(p.rows.global_rows().unwrap(), gc, uc).map(|g| g.snapshot()),
                    _ => Global::from_rows(p.rows.global_rows().unwrap(), gc).map(|g| g.snapshot()),
                };
                if rebuilt.as_ref() != Ok(&p.snapshot) {
                    return Err(format!("machine {i}: rebuilt from rows differs ({:?})", rebuilt.err()));
                }
            }
        }
        if any {
            self.changed_inputs += 1;
        } else {
            self.quiet_inputs += 1;
        }
        Ok(())
    }
}
