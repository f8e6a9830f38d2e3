//! SPEC §1.8 for a host without a typed schema (the Durable Object shim on SQLite, a
//! PostgreSQL store): it applies every `RowOp` record of `take_changes()` — `op`, `table`,
//! `key`, `value`, as a binding hands them over — to one `(table, key) → value` table, reads
//! back every `(table, value)` pair and rebuilds the machine with `options::shard_from_rows`
//! / `global_from_rows`. Over a session of two shards, a tiered mid-level global and a top
//! global — batches, forwards, publishes, resets and their notices, write-log trims, a
//! restored shard and a mid-level global rebuilt from its rows mid-session — the rebuilt
//! machines' snapshots equal the live ones' after every input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use shardtally::settings::SettingValue;
use shardtally::{GenerationNotice, Global, GlobalOutput, Shard, ShardOutput, Timestamp};
use shardtally_api::options::{self, OptionList, OptionValue};
use shardtally_api::{views, Naming, Value};
use std::collections::{BTreeMap, BTreeSet};

fn opts(items: &[(&str, i128)]) -> OptionList {
    items.iter().map(|(n, v)| (n.to_string(), OptionValue::Value(SettingValue::Int(*v)))).collect()
}

/// One table of `(table, key) → value`, as SQLite or PostgreSQL would hold it.
#[derive(Default)]
struct Store {
    rows: BTreeMap<(String, Vec<u8>), Vec<u8>>,
    ops_seen: BTreeSet<String>,
}

fn field<'v>(r: &'v shardtally_api::Record, name: &str) -> &'v Value {
    r.get(name).unwrap_or_else(|| panic!("a RowOp has {name}"))
}

impl Store {
    /// Applies a list of `RowOp` records in order, the way a host does.
    fn apply(&mut self, ops: &Value) {
        let Value::List(ops) = ops else { panic!("row ops are a list") };
        for op in ops {
            let Value::Record(r) = op else { panic!("a row op is a record") };
            assert_eq!(r.class, "RowOp");
            let (Value::Str(kind), Value::Str(table), Value::Bytes(key)) = (field(r, "op"), field(r, "table"), field(r, "key")) else {
                panic!("op and table are strings, key is bytes: {r:?}")
            };
            let table = table.to_string();
            match (&**kind, field(r, "value")) {
                ("put", Value::Bytes(v)) => {
                    self.rows.insert((table, key.clone()), v.clone());
                }
                ("delete", Value::Null) => {
                    self.rows.remove(&(table, key.clone()));
                }
                ("clear", Value::Null) => self.rows.retain(|(t, _), _| *t != table),
                ("delete_below", Value::Null) => self.rows.retain(|(t, k), _| *t != table || k >= key),
                other => panic!("not a row op: {other:?}"),
            }
            self.ops_seen.insert(kind.to_string());
        }
    }

    /// `SELECT tbl, v FROM rows` (in the table's order, which the rebuild must not need).
    fn pairs(&self) -> Vec<(String, Vec<u8>)> {
        self.rows.iter().rev().map(|((t, _), v)| (t.clone(), v.clone())).collect()
    }
}

struct Session {
    shards: Vec<Shard>,
    mid: Global,
    top: Global,
    stores: Vec<Store>, // shard 0, shard 1, mid, top
    shard_opts: OptionList,
    mid_opts: OptionList,
    top_opts: OptionList,
}

impl Session {
    fn new() -> Session {
        let shard_opts = opts(&[("flush_after_requests", 2), ("flush_after_idle_ms", 500)]);
        let global = [("persist_after_writes", 1), ("write_log_capacity", 3), ("persist_after_idle_ms", 300)];
        let mut up = opts(&[("shard", 9), ("incarnation", 1), ("flush_after_requests", 3)]);
        let mut mid_opts = opts(&global);
        mid_opts.push(("upstream".into(), OptionValue::Object(up.clone())));
        up.drain(..2);
        let identity = |i: i128| [("shard", i), ("incarnation", 1)];
        let shards = (0..2)
            .map(|i| {
                let mut o = opts(&identity(i));
                o.extend(shard_opts.iter().cloned());
                options::new_shard(Naming::Snake, &o).unwrap()
            })
            .collect();
        let mid = options::new_global(Naming::Snake, &mid_opts).unwrap();
        // The mid-level global's restore and rebuild take the upstream shard's settings only.
        mid_opts.pop();
        mid_opts.push(("upstream".into(), OptionValue::Object(up)));
        Session {
            shards,
            mid,
            top: options::new_global(Naming::Snake, &opts(&global)).unwrap(),
            stores: (0..4).map(|_| Store::default()).collect(),
            shard_opts,
            top_opts: opts(&global),
            mid_opts,
        }
    }

    fn notify_shards(&mut self, n: &GenerationNotice, now: Timestamp) {
        self.shards[n.to().shard as usize].handle_generation_notice(n, now);
    }

    /// Delivers every output until nothing moves.
    fn settle(&mut self, now: Timestamp) {
        loop {
            let mut moved = false;
            for i in 0..self.shards.len() {
                while let Some(ShardOutput::SendBatch(b)) = self.shards[i].poll_output() {
                    moved = true;
                    let ack = self.mid.handle_batch(&b, now).unwrap();
                    self.shards[i].handle_ack(&ack, now).unwrap();
                }
            }
            while let Some(out) = self.mid.poll_output() {
                moved = true;
                match out {
                    GlobalOutput::Publish(p) => assert!(self.mid.handle_publish_ack(p.version, now)),
                    GlobalOutput::Forward(b) => {
                        let ack = self.top.handle_batch(&b, now).unwrap();
                        self.mid.handle_upstream_ack(&ack, now).unwrap();
                    }
                    GlobalOutput::Notice(n) => self.notify_shards(&n, now),
                    other => panic!("unexpected {other:?}"),
                }
            }
            while let Some(out) = self.top.poll_output() {
                moved = true;
                match out {
                    GlobalOutput::Publish(p) => assert!(self.top.handle_publish_ack(p.version, now)),
                    GlobalOutput::Notice(n) => {
                        self.mid.handle_generation_notice(&n, now).unwrap();
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Persists every machine's changes, then rebuilds each from its stored pairs.
    fn persist_and_check(&mut self, step: usize) {
        for (i, s) in self.shards.iter_mut().enumerate() {
            self.stores[i].apply(&views::shard_row_ops(&s.take_changes()));
            let rebuilt = options::shard_from_rows(Naming::Snake, self.stores[i].pairs(), &self.shard_opts).unwrap();
            assert_eq!(rebuilt.snapshot(), s.snapshot(), "step {step}: shard {i}");
        }
        self.stores[2].apply(&views::global_row_ops(&self.mid.take_changes()));
        let rebuilt = options::global_from_rows(Naming::Snake, self.stores[2].pairs(), &self.mid_opts).unwrap();
        assert_eq!(rebuilt.snapshot(), self.mid.snapshot(), "step {step}: the mid-level global");
        self.stores[3].apply(&views::global_row_ops(&self.top.take_changes()));
        let rebuilt = options::global_from_rows(Naming::Snake, self.stores[3].pairs(), &self.top_opts).unwrap();
        assert_eq!(rebuilt.snapshot(), self.top.snapshot(), "step {step}: the top global");
    }
}

#[test]
fn stored_row_pairs_rebuild_every_machine_after_every_input() {
    let mut s = Session::new();
    s.persist_and_check(0);
    let keys = ["a", "b", "c", "d", "e"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for step in 1..=240usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let now = Timestamp::from_millis(step as u64 * 97);
        match x % 10 {
            0..=5 => {
                let shard = (x >> 8) as usize % 2;
                let key = keys[(x >> 16) as usize % keys.len()];
                s.shards[shard].increment(key, (x >> 24) as i64 % 7 - 2, now).unwrap();
            }
            6 => {
                let key = keys[(x >> 16) as usize % keys.len()];
                s.top.reset(key, now).unwrap();
            }
            7 => {
                let shard = (x >> 8) as usize % 2;
                s.shards[shard].flush(now);
            }
            8 if step % 3 == 0 => {
                // A restart: the shard comes back from its snapshot; the store already holds it.
                let i = (x >> 8) as usize % 2;
                s.shards[i] = options::restore_shard(Naming::Snake, &s.shards[i].snapshot(), &s.shard_opts).unwrap();
            }
            8 => {
                // A restart from the rows themselves.
                s.mid = options::global_from_rows(Naming::Snake, s.stores[2].pairs(), &s.mid_opts).unwrap();
            }
            _ => {
                for sh in &mut s.shards {
                    sh.handle_timeout(now);
                }
                s.mid.handle_timeout(now);
                s.top.handle_timeout(now);
            }
        }
        s.settle(now);
        s.persist_and_check(step);
    }
    let seen: Vec<&str> =
        s.stores.iter().flat_map(|st| st.ops_seen.iter().map(String::as_str)).collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(seen, ["clear", "delete", "delete_below", "put"], "the session exercised every kind of operation");
    assert!(s.stores[2].rows.keys().any(|(t, _)| t.starts_with("upstream.")), "the mid-level global's upstream rows");
    assert!(s.top.stats().resets > 0 && s.mid.stats().total_writes > 10, "{:?} {:?}", s.top.stats(), s.mid.stats());
}
