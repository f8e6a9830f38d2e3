//! Engine benchmarks, each against an ahash `HashMap<String, i64>` baseline in the same run.
//!
//! - `keyed_increment_{1,100,10000}`: `Shard::increment(&str)` cycling over that many keys.
//! - `interned_increment_10000`: `Shard::increment_id` and `increment_ids` (batches of 1000).
//! - `flush_merge_10000`: a shard cuts a 10 000-key batch, the global merges it, the ack goes
//!   back (timed); refilling the shard is not timed.
//!
//! `cargo bench -p shardtally-benches` prints a ratio table at the end; `-- --test` runs each
//! benchmark once as a smoke test.

use ahash::AHashMap;
use criterion::{BenchmarkId, Criterion, Throughput};
use shardtally::*;
use shardtally_benches::{criterion_dir, mean_ns};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Increments per measured iteration.
const OPS: usize = 10_000;

fn quiet_shard() -> Shard {
    // No automatic flushes: the benchmark measures the increment path alone.
    let config = ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().expect("valid config");
    Shard::new(config, ShardRef { shard: 0, incarnation: 1 })
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/api/v1/resource/{i}")).collect()
}

fn keyed(c: &mut Criterion) {
    for n in [1usize, 100, 10_000] {
        let keys = keys(n);
        let sequence: Vec<&str> = (0..OPS).map(|i| keys[(i * 7919) % n].as_str()).collect();
        let mut group = c.benchmark_group(format!("keyed_increment_{n}"));
        group.throughput(Throughput::Elements(OPS as u64));
        group.bench_function("shardtally", |b| {
            let mut shard = quiet_shard();
            let now = Timestamp::from_millis(1);
            b.iter(|| {
                for k in &sequence {
                    shard.increment(black_box(k), 1, now).expect("increment");
                }
            })
        });
        group.bench_function("hashmap", |b| {
            let mut map: AHashMap<String, i64> = AHashMap::new();
            b.iter(|| {
                for k in &sequence {
                    let k = black_box(*k);
                    match map.get_mut(k) {
                        Some(v) => *v += 1,
                        None => {
                            map.insert(k.to_owned(), 1);
                        }
                    }
                }
            })
        });
        group.finish();
    }
}

fn interned(c: &mut Criterion) {
    let n = 10_000;
    let keys = keys(n);
    let mut group = c.benchmark_group("interned_increment_10000");
    group.throughput(Throughput::Elements(OPS as u64));
    let mut shard = quiet_shard();
    let ids: Vec<KeyId> = keys.iter().map(|k| shard.intern(k).expect("intern")).collect();
    let sequence: Vec<KeyId> = (0..OPS).map(|i| ids[(i * 7919) % n]).collect();
    let now = Timestamp::from_millis(1);
    group.bench_function("increment_id", |b| {
        b.iter(|| {
            for id in &sequence {
                shard.increment_id(black_box(*id), 1, now).expect("increment");
            }
        })
    });
    let deltas = vec![1i64; 1_000];
    group.bench_function("increment_ids", |b| {
        b.iter(|| {
            for chunk in sequence.chunks(1_000) {
                shard.increment_ids(black_box(chunk), &deltas[..chunk.len()], now).expect("increment");
            }
        })
    });
    let key_seq: Vec<&str> = (0..OPS).map(|i| keys[(i * 7919) % n].as_str()).collect();
    group.bench_function("hashmap", |b| {
        let mut map: AHashMap<String, i64> = AHashMap::new();
        b.iter(|| {
            for k in &key_seq {
                let k = black_box(*k);
                match map.get_mut(k) {
                    Some(v) => *v += 1,
                    None => {
                        map.insert(k.to_owned(), 1);
                    }
                }
            }
        })
    });
    group.finish();
}

fn merge(c: &mut Criterion) {
    let n = 10_000;
    let keys = keys(n);
    let mut group = c.benchmark_group("flush_merge_10000");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("shardtally", n), |b| {
        let mut shard = quiet_shard();
        let ids: Vec<KeyId> = keys.iter().map(|k| shard.intern(k).expect("intern")).collect();
        let deltas = vec![3i64; n];
        let mut global = Global::new(
            GlobalConfig::builder().persist_after_writes(0).persist_after_idle_ms(0).persist_max_age_ms(0).build().expect("config"),
        );
        let now = Timestamp::from_millis(1);
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

/// Prints ns per operation and the ratio to the baseline for every group this run measured.
fn report() {
    let dir = criterion_dir();
    let rows: [(&str, &str, &str, u64); 6] = [
        ("keyed_increment_1", "shardtally", "hashmap", OPS as u64),
        ("keyed_increment_100", "shardtally", "hashmap", OPS as u64),
        ("keyed_increment_10000", "shardtally", "hashmap", OPS as u64),
        ("interned_increment_10000", "increment_id", "hashmap", OPS as u64),
        ("interned_increment_10000", "increment_ids", "hashmap", OPS as u64),
        ("flush_merge_10000", "shardtally/10000", "hashmap/10000", 10_000),
    ];
    let mut printed = false;
    for (group, func, base, per_iter) in rows.iter() {
        let (Some(a), Some(b)) = (mean_ns(&dir, group, func), mean_ns(&dir, group, base)) else { continue };
        if !printed {
            println!("\n{:<26} {:<18} {:>10} {:>10} {:>7}", "group", "engine path", "ns/op", "base ns/op", "ratio");
            printed = true;
        }
        let (a, b) = (a / *per_iter as f64, b / *per_iter as f64);
        println!("{group:<26} {func:<18} {a:>10.2} {b:>10.2} {:>6.2}x", a / b);
        if group.starts_with("flush_merge") {
            println!("{:<26} {:<18} {:>10.1} M deltas/s", "", "merge throughput", 1_000.0 / a);
        }
    }
}

fn main() {
    let mut c = Criterion::default().output_directory(&criterion_dir()).configure_from_args();
    keyed(&mut c);
    interned(&mut c);
    merge(&mut c);
    c.final_summary();
    // `cargo bench` passes `--bench`; test mode (`cargo test --benches`, `-- --test`) does not
    // measure, so there is nothing to report.
    if std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test") {
        report();
    }
}
