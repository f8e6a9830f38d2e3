//! Engine benchmarks at 1, 100, 10 000 and 1 000 000 keys, each against an ahash
//! `HashMap<String, i64>` doing the same work at the same size in the same run:
//!
//! - `keyed_increment/{shardtally,hashmap}/N`: `Shard::increment(&str, 1)` of existing keys,
//!   walking the N keys in a scattered order (10 000 increments per iteration, each
//!   iteration continuing the walk), against `get_mut` + add on the map;
//! - `increment_id/shardtally/N` and `increment_ids/shardtally/N`: the same walk over N
//!   interned keys, one id per call and 1 000 ids per call; the baseline is the map's keyed
//!   increment at the same size;
//! - `flush_merge/{shardtally,hashmap}/N`: a shard holding N pending keys cuts its batch,
//!   the global merges it and the acknowledgement goes back (timed; refilling the shard is
//!   not), against merging N `(String, i64)` pairs into the map.
//!
//! `cargo bench -p shardtally-benches --bench engine` prints one table at the end (operation,
//! keys, ns per operation, baseline ns, ratio) and writes it to
//! `target/criterion/shardtally-engine.json` (see `shardtally_benches::json_path`), rows
//! `{"op", "lang": "rust", "keys", "ns", "baseline_ns", "ratio"}`. Only benchmarks measured in
//! this run are reported. Test mode (`cargo test -p shardtally-benches --benches`) runs each
//! benchmark once, with 100 000 keys instead of 1 000 000.

use ahash::AHashMap;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use shardtally::*;
use shardtally_benches::{criterion_dir, keys, mean_ns, measuring, quiet_global, quiet_shard, walk, write_json};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Increments per measured iteration.
const OPS: usize = 10_000;
/// Ids per `increment_ids` call.
const CHUNK: usize = 1_000;

/// `(group, function)` of every benchmark that ran in this process.
type Ran = RefCell<BTreeSet<(String, String)>>;

fn sizes() -> [usize; 4] {
    [1, 100, 10_000, if measuring() { 1_000_000 } else { 100_000 }]
}

/// A group doing `per_iter` operations an iteration: few, flat samples when an iteration
/// touches a million keys.
fn sized<'a>(c: &'a mut Criterion, op: &str, per_iter: usize) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(op);
    group.throughput(Throughput::Elements(per_iter as u64));
    if per_iter >= 100_000 {
        group.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(8));
    }
    group
}

fn mark(ran: &Ran, group: &str, function: &str, n: usize) {
    ran.borrow_mut().insert((group.to_owned(), format!("{function}/{n}")));
}

/// Adds 1 to `key` in the map, inserting it when absent.
#[inline]
fn map_increment(map: &mut AHashMap<String, i64>, key: &str) {
    match map.get_mut(key) {
        Some(v) => *v += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

fn keyed(c: &mut Criterion, n: usize, ran: &Ran) {
    let keys = keys(n);
    let order: Vec<&str> = walk(n, n.max(OPS)).into_iter().map(|i| keys[i].as_str()).collect();
    let now = Timestamp::from_millis(1);
    let mut group = sized(c, "keyed_increment", OPS);
    group.bench_function(BenchmarkId::new("shardtally", n), |b| {
        mark(ran, "keyed_increment", "shardtally", n);
        let mut shard = quiet_shard(n.max(100), n.max(100));
        for k in &keys {
            shard.increment(k, 1, now).expect("increment");
        }
        let mut at = 0;
        b.iter(|| {
            for _ in 0..OPS {
                shard.increment(black_box(order[at]), 1, now).expect("increment");
                at = if at + 1 == order.len() { 0 } else { at + 1 };
            }
        })
    });
    group.bench_function(BenchmarkId::new("hashmap", n), |b| {
        mark(ran, "keyed_increment", "hashmap", n);
        let mut map: AHashMap<String, i64> = AHashMap::new();
        for k in &keys {
            map_increment(&mut map, k);
        }
        let mut at = 0;
        b.iter(|| {
            for _ in 0..OPS {
                map_increment(&mut map, black_box(order[at]));
                at = if at + 1 == order.len() { 0 } else { at + 1 };
            }
        })
    });
    group.finish();
}

fn interned(c: &mut Criterion, n: usize, ran: &Ran) {
    let keys = keys(n);
    let now = Timestamp::from_millis(1);
    let mut shard = quiet_shard(n.max(100), n.max(100));
    let ids: Vec<KeyId> = keys.iter().map(|k| shard.intern(k).expect("intern")).collect();
    let order: Vec<KeyId> = walk(n, n.max(OPS)).into_iter().map(|i| ids[i]).collect();
    let ones = vec![1i64; CHUNK];
    for chunk in ids.chunks(CHUNK) {
        shard.increment_ids(chunk, &ones[..chunk.len()], now).expect("increment");
    }
    let mut group = sized(c, "increment_id", OPS);
    group.bench_function(BenchmarkId::new("shardtally", n), |b| {
        mark(ran, "increment_id", "shardtally", n);
        let mut at = 0;
        b.iter(|| {
            for _ in 0..OPS {
                shard.increment_id(black_box(order[at]), 1, now).expect("increment");
                at = if at + 1 == order.len() { 0 } else { at + 1 };
            }
        })
    });
    group.finish();
    let mut group = sized(c, "increment_ids", OPS);
    group.bench_function(BenchmarkId::new("shardtally", n), |b| {
        mark(ran, "increment_ids", "shardtally", n);
        let mut at = 0;
        b.iter(|| {
            for _ in 0..OPS / CHUNK {
                shard.increment_ids(black_box(&order[at..at + CHUNK]), &ones, now).expect("increment");
                at = if at + 2 * CHUNK > order.len() { 0 } else { at + CHUNK };
            }
        })
    });
    group.finish();
}

fn merge(c: &mut Criterion, n: usize, ran: &Ran) {
    let keys = keys(n);
    let now = Timestamp::from_millis(1);
    let mut group = sized(c, "flush_merge", n);
    group.bench_function(BenchmarkId::new("shardtally", n), |b| {
        mark(ran, "flush_merge", "shardtally", n);
        let mut shard = quiet_shard(n.max(100), n.max(100));
        let ids: Vec<KeyId> = keys.iter().map(|k| shard.intern(k).expect("intern")).collect();
        let deltas = vec![3i64; n];
        let mut global = quiet_global(n);
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                shard.increment_ids(&ids, &deltas, now).expect("fill");
                let start = Instant::now();
                shard.flush(now);
                let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() else { panic!("no batch") };
                let ack = global.handle_batch(black_box(&batch), now).expect("merge");
                shard.handle_ack(&ack, now).expect("ack");
                spent += start.elapsed();
            }
            spent
        })
    });
    group.bench_function(BenchmarkId::new("hashmap", n), |b| {
        mark(ran, "flush_merge", "hashmap", n);
        let batch: Vec<(String, i64)> = keys.iter().map(|k| (k.clone(), 3)).collect();
        let mut map: AHashMap<String, i64> = AHashMap::new();
        b.iter(|| {
            for (k, d) in black_box(&batch) {
                match map.get_mut(k.as_str()) {
                    Some(v) => *v += d,
                    None => {
                        map.insert(k.clone(), *d);
                    }
                }
            }
        })
    });
    group.finish();
}

/// Prints the table of this run and writes it as JSON.
fn report(ran: &Ran) {
    let dir = criterion_dir();
    let ran = ran.borrow();
    let measured = |group: &str, function: &str| {
        if ran.contains(&(group.to_owned(), function.to_owned())) {
            mean_ns(&dir, group, function)
        } else {
            None
        }
    };
    println!("\n{:<16} {:>9} {:>10} {:>12} {:>7}", "operation", "keys", "ns/op", "baseline ns", "ratio");
    let mut rows = Vec::new();
    for (op, baseline_group) in [
        ("keyed_increment", "keyed_increment"),
        ("increment_id", "keyed_increment"),
        ("increment_ids", "keyed_increment"),
        ("flush_merge", "flush_merge"),
    ] {
        for n in sizes() {
            let per_iter = if op == "flush_merge" { n } else { OPS } as f64;
            let engine = measured(op, &format!("shardtally/{n}"));
            let base = measured(baseline_group, &format!("hashmap/{n}"));
            let (Some(engine), Some(base)) = (engine, base) else { continue };
            let (ns, base_ns) = (engine / per_iter, base / per_iter);
            let ratio = ns / base_ns;
            println!("{op:<16} {n:>9} {ns:>10.2} {base_ns:>12.2} {ratio:>6.2}x");
            rows.push(serde_json::json!({
                "op": op, "lang": "rust", "keys": n,
                "ns": (ns * 1000.0).round() / 1000.0,
                "baseline_ns": (base_ns * 1000.0).round() / 1000.0,
                "ratio": (ratio * 1000.0).round() / 1000.0,
            }));
            if op == "flush_merge" {
                println!("{:<16} {:>9} {:>10.1} M deltas/s", "", "", 1_000.0 / ns);
            }
        }
    }
    if !rows.is_empty() {
        write_json("shardtally-engine", &rows);
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .output_directory(&criterion_dir())
        .configure_from_args();
    let ran: Ran = RefCell::new(BTreeSet::new());
    for n in sizes() {
        keyed(&mut c, n, &ran);
        interned(&mut c, n, &ran);
        merge(&mut c, n, &ran);
    }
    c.final_summary();
    // Test mode runs each benchmark once and measures nothing: there is nothing to report.
    if measuring() {
        report(&ran);
    }
}
