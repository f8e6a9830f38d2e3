//! The Rust rows of `make bench` (scripts/bench.sh): ns per increment at 1, 100, 10 000 and
//! 1 000 000 keys, each case against an ahash `HashMap<String, i64>` doing the same work at
//! the same size in the same run, timed with `std::time::Instant` (best of several rounds,
//! the cases interleaved so that a change in machine load hits all of them alike):
//!
//! - `keyed_increment`: `Shard::increment(&str, 1, now)` of existing keys, walking the keys in
//!   a scattered order (stride 7919), against `get_mut` + add on the map;
//! - `increment_id`: `Shard::increment_id` over the same walk of interned keys; baseline: the
//!   map's keyed increment;
//! - `increment_ids`: `Shard::increment_ids`, 10 000 ids per call, per id; same baseline;
//! - `increments`: `Shard::increments(&[(&str, i64)])` of 100 distinct keys per call (all of
//!   them when fewer), per entry, against merging the same entries into the map;
//! - `end_to_end`: `Shard::increment` with default settings (a batch every 100 increments),
//!   every batch delivered to a `Global` with default settings and acknowledged, every
//!   publish acknowledged; the clock advances 1 ms every 1000 increments and the global holds
//!   every key from the start; a fifth of the other cases' increments (a tenth above 10 000
//!   keys); per increment, against the map's keyed increment;
//! - `flush_merge`: a shard holding every key pending cuts its batch, the global merges it
//!   and the acknowledgement goes back (refilling the shard is not timed); per delta, against
//!   merging the same `(String, i64)` pairs into the map.
//!
//! The per-call cases use a shard whose flush triggers are off and that already holds every
//! key. `cargo bench -p shardtally-benches --bench table` prints the table and writes it to
//! `target/criterion/rust-table.json` (see `shardtally_benches::json_path`), rows `{"op",
//! "lang": "rust", "keys", "ns", "baseline_ns", "ratio"}`. Test mode (`cargo test -p
//! shardtally-benches --bench table`) runs every case once at 1 and 100 keys (a smoke test)
//! and writes the JSON only when `SHARDTALLY_BENCH_JSON_DIR` is set.

use ahash::AHashMap;
use shardtally::*;
use shardtally_benches::{keys, measuring, quiet_global, quiet_shard, walk, write_json};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Ids per `increment_ids` call.
const BATCH_IDS: usize = 10_000;
/// Entries per `increments` call.
const PER_CALL: usize = 100;
/// Increments per millisecond of the fake clock in the end-to-end loop.
const PER_MS: usize = 1_000;

/// Run sizes: key counts, increments per case and round, rounds.
struct Plan {
    sizes: Vec<usize>,
    ops: usize,
    rounds: usize,
}

fn plan() -> Plan {
    if measuring() {
        Plan { sizes: vec![1, 100, 10_000, 1_000_000], ops: 1_000_000, rounds: 5 }
    } else {
        Plan { sizes: vec![1, 100], ops: 2_000, rounds: 1 }
    }
}

/// A shard for `n` keys: no automatic flushes (the per-call cases measure the increment path
/// alone), key limits at their defaults (100 000) or more, as in the other languages' benches.
fn shard_for(n: usize) -> Shard {
    quiet_shard((2 * n).max(100_000), n.max(100_000))
}

/// Adds `delta` to `key` in the map, inserting it when absent.
#[inline]
fn map_add(map: &mut AHashMap<String, i64>, key: &str, delta: i64) {
    match map.get_mut(key) {
        Some(v) => *v += delta,
        None => {
            map.insert(key.to_owned(), delta);
        }
    }
}

/// Acknowledges every publish the global has cut.
fn drain_global(global: &mut Global, now: Timestamp) {
    while let Some(out) = global.poll_output() {
        if let GlobalOutput::Publish(p) = out {
            global.handle_publish_ack(p.version, now);
        }
    }
}

/// Delivers every batch the shard has cut to the global and the acknowledgement back.
fn deliver(shard: &mut Shard, global: &mut Global, now: Timestamp) {
    while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
        let ack = global.handle_batch(&batch, now).expect("merge");
        shard.handle_ack(&ack, now).expect("ack");
        drain_global(global, now);
    }
}

/// One timed case: `run()` does its work and returns how many increments (entries) it made,
/// with the time to count (setup inside `run` that is not part of the case is excluded).
type Run<'a> = Box<dyn FnMut() -> (usize, Duration) + 'a>;

/// A case's rows: the engine's run and its baseline.
struct Case<'a> {
    op: &'static str,
    engine: Run<'a>,
    baseline: Run<'a>,
}

fn timed(f: impl FnOnce() -> usize) -> (usize, Duration) {
    let start = Instant::now();
    let done = f();
    (done, start.elapsed())
}

/// Everything a size's cases share: the keys and the walk over them.
struct Data {
    keys: Vec<String>,
    order: Vec<usize>,
}

fn keyed_map(data: &Data) -> Run<'_> {
    let mut map: AHashMap<String, i64> = data.keys.iter().map(|k| (k.clone(), 0)).collect();
    let stream: Vec<&str> = data.order.iter().map(|&i| data.keys[i].as_str()).collect();
    Box::new(move || {
        timed(|| {
            for k in &stream {
                map_add(&mut map, black_box(k), 1);
            }
            stream.len()
        })
    })
}

fn cases(data: &Data, ops: usize) -> Vec<Case<'_>> {
    let n = data.keys.len();
    let now = Timestamp::from_millis(1);
    let stream: Vec<&str> = data.order.iter().map(|&i| data.keys[i].as_str()).collect();

    let mut keyed_shard = shard_for(n);
    for k in &data.keys {
        keyed_shard.increment(k, 1, now).expect("increment");
    }
    let keyed_stream = stream.clone();
    let keyed: Run<'_> = Box::new(move || {
        timed(|| {
            for k in &keyed_stream {
                keyed_shard.increment(black_box(k), 1, now).expect("increment");
            }
            keyed_stream.len()
        })
    });

    let mut id_shard = shard_for(n);
    let ids: Vec<KeyId> = data.keys.iter().map(|k| id_shard.intern(k).expect("intern")).collect();
    let ones = vec![1i64; BATCH_IDS];
    for chunk in ids.chunks(BATCH_IDS) {
        id_shard.increment_ids(chunk, &ones[..chunk.len()], now).expect("increment");
    }
    let id_stream: Vec<KeyId> = data.order.iter().map(|&i| ids[i]).collect();
    let shared = std::rc::Rc::new(std::cell::RefCell::new(id_shard));
    let (one_shard, one_stream) = (shared.clone(), id_stream.clone());
    let by_id: Run<'_> = Box::new(move || {
        let mut shard = one_shard.borrow_mut();
        timed(|| {
            for &id in &one_stream {
                shard.increment_id(black_box(id), 1, now).expect("increment");
            }
            one_stream.len()
        })
    });
    let by_ids: Run<'_> = Box::new(move || {
        let mut shard = shared.borrow_mut();
        timed(|| {
            for chunk in id_stream.chunks(BATCH_IDS) {
                shard.increment_ids(black_box(chunk), &ones[..chunk.len()], now).expect("increment");
            }
            id_stream.len()
        })
    });

    // `increments`: calls of up to 100 distinct keys (consecutive steps of the walk).
    let per_call = PER_CALL.min(n);
    let calls: Vec<Vec<(&str, i64)>> = stream.chunks(per_call).map(|c| c.iter().map(|k| (*k, 1)).collect()).collect();
    let entries: usize = calls.iter().map(Vec::len).sum();
    let mut many_shard = shard_for(n);
    for k in &data.keys {
        many_shard.increment(k, 1, now).expect("increment");
    }
    let many_calls = calls.clone();
    let many: Run<'_> = Box::new(move || {
        timed(|| {
            for call in &many_calls {
                many_shard.increments(black_box(call), now).expect("increments");
            }
            entries
        })
    });
    let mut merge_map: AHashMap<String, i64> = data.keys.iter().map(|k| (k.clone(), 0)).collect();
    let many_map: Run<'_> = Box::new(move || {
        timed(|| {
            for call in &calls {
                for &(k, d) in black_box(call) {
                    map_add(&mut merge_map, k, d);
                }
            }
            entries
        })
    });

    // End to end, default settings: the global starts with every key, merged from another
    // shard (as it would hold them after a while at this many keys).
    let mut global = Global::new(GlobalConfig::default());
    let mut feeder = shard_for(BATCH_IDS);
    for chunk in data.keys.chunks(BATCH_IDS) {
        let entries: Vec<(&str, i64)> = chunk.iter().map(|k| (k.as_str(), 1)).collect();
        feeder.increments(&entries, now).expect("increments");
        feeder.flush(now);
        deliver(&mut feeder, &mut global, now);
    }
    global.publish(now);
    drain_global(&mut global, now);
    let mut live = Shard::new(ShardConfig::default(), ShardRef { shard: 1, incarnation: 1 });
    let mut clock = 1u64;
    // Above 10 000 keys every full publish carries every key: a tenth of the increments.
    let e2e_ops = if n <= 10_000 { ops / 5 } else { ops / 10 };
    let e2e_stream: Vec<&str> = stream.iter().copied().take(e2e_ops.max(1)).collect();
    let end_to_end: Run<'_> = Box::new(move || {
        timed(|| {
            for part in e2e_stream.chunks(PER_MS) {
                clock += 1;
                let now = Timestamp::from_millis(clock);
                for k in part {
                    live.increment(black_box(k), 1, now).expect("increment");
                    deliver(&mut live, &mut global, now);
                }
            }
            e2e_stream.len()
        })
    });

    // Flush and merge of every key: the refill is not timed.
    let mut flush_shard = shard_for(n);
    let flush_ids: Vec<KeyId> = data.keys.iter().map(|k| flush_shard.intern(k).expect("intern")).collect();
    let threes = vec![3i64; n];
    let mut merge_global = quiet_global(n);
    let rounds = (ops / n).clamp(1, 1_000);
    let flush: Run<'_> = Box::new(move || {
        let mut spent = Duration::ZERO;
        for _ in 0..rounds {
            flush_shard.increment_ids(&flush_ids, &threes, now).expect("fill");
            let start = Instant::now();
            flush_shard.flush(now);
            let Some(ShardOutput::SendBatch(batch)) = flush_shard.poll_output() else { panic!("no batch") };
            let ack = merge_global.handle_batch(black_box(&batch), now).expect("merge");
            flush_shard.handle_ack(&ack, now).expect("ack");
            spent += start.elapsed();
        }
        (rounds * n, spent)
    });
    let pairs: Vec<(String, i64)> = data.keys.iter().map(|k| (k.clone(), 3)).collect();
    let mut flush_map: AHashMap<String, i64> = AHashMap::new();
    let flush_base: Run<'_> = Box::new(move || {
        timed(|| {
            for _ in 0..rounds {
                for (k, d) in black_box(&pairs) {
                    map_add(&mut flush_map, k, *d);
                }
            }
            rounds * pairs.len()
        })
    });

    vec![
        Case { op: "keyed_increment", engine: keyed, baseline: keyed_map(data) },
        Case { op: "increment_id", engine: by_id, baseline: keyed_map(data) },
        Case { op: "increment_ids", engine: by_ids, baseline: keyed_map(data) },
        Case { op: "increments", engine: many, baseline: many_map },
        Case { op: "end_to_end", engine: end_to_end, baseline: keyed_map(data) },
        Case { op: "flush_merge", engine: flush, baseline: flush_base },
    ]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn main() {
    let plan = plan();
    let mut rows = Vec::new();
    println!("{:<16} {:>9} {:>10} {:>12} {:>7}", "operation", "keys", "ns/op", "HashMap ns", "ratio");
    for &n in &plan.sizes {
        let data = Data { keys: keys(n), order: walk(n, plan.ops) };
        let mut cases = cases(&data, plan.ops);
        let mut best = vec![(f64::INFINITY, f64::INFINITY); cases.len()];
        for _ in 0..plan.rounds {
            for (case, best) in cases.iter_mut().zip(&mut best) {
                let (done, spent) = (case.engine)();
                best.0 = best.0.min(spent.as_nanos() as f64 / done as f64);
                let (done, spent) = (case.baseline)();
                best.1 = best.1.min(spent.as_nanos() as f64 / done as f64);
            }
        }
        for (case, &(ns, base)) in cases.iter().zip(&best) {
            let ratio = ns / base;
            println!("{:<16} {n:>9} {ns:>10.2} {base:>12.2} {ratio:>6.2}x", case.op);
            rows.push(serde_json::json!({
                "op": case.op, "lang": "rust", "keys": n,
                "ns": round3(ns), "baseline_ns": round3(base), "ratio": round3(ratio),
            }));
        }
    }
    if measuring() || std::env::var_os("SHARDTALLY_BENCH_JSON_DIR").is_some() {
        write_json("rust-table", &rows);
    }
}
