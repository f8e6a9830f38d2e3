//! Bytes per counter of a shard's pending table and a global's totals, at 10 000 and
//! 1 000 000 distinct keys, next to an ahash `HashMap<String, i64>` holding the same keys.
//!
//! A counting global allocator gives the bytes allocated (requested sizes, as the allocator
//! was asked; the allocator's own rounding and headers are not counted) while building each
//! structure, divided by the number of keys; the key strings given to it are allocated
//! before and not counted, so a structure that keeps its own copy of each key pays for it:
//!
//! - shard (pending): a shard that accepted one increment of every key, nothing flushed;
//! - global (totals): a global that merged every key from one shard (batches of 10 000
//!   keys), published them and acknowledged the publish, its journal taken, the shard gone;
//! - baseline: `HashMap<String, i64>` with every key inserted (a copy of the string each).
//!
//! "overhead" is bytes per counter beyond the key's own bytes. `cargo bench -p
//! shardtally-benches --bench memory` prints the table and writes
//! `target/criterion/shardtally-memory.json` (see `shardtally_benches::json_path`), rows
//! `{"op", "lang": "rust", "keys", "bytes", "key_bytes", "baseline_bytes", "ratio"}`, bytes per
//! counter. Test mode (`cargo test --benches`) measures 10 000 keys only and writes the JSON only
//! when `SHARDTALLY_BENCH_JSON_DIR` is set (the smoke run of scripts/bench.sh).

use ahash::AHashMap;
use cap::Cap;
use shardtally::*;
use shardtally_benches::{keys, measuring, quiet_shard, write_json};
use std::alloc::System;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Bytes still allocated after `f` built something (freed temporaries not counted), and the thing.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATOR.allocated();
    let value = f();
    (ALLOCATOR.allocated().saturating_sub(before), value)
}

fn shard_pending(keys: &[String]) -> Shard {
    let mut shard = quiet_shard(keys.len(), ShardConfig::default().max_interned_keys());
    let now = Timestamp::from_millis(1);
    for k in keys {
        shard.increment(k, 1, now).expect("increment");
    }
    shard
}

fn global_totals(keys: &[String]) -> Global {
    let config = GlobalConfig::builder()
        .persist_after_writes(0)
        .persist_after_idle_ms(0)
        .persist_max_age_ms(0)
        .publish_mode(PublishMode::Changes)
        .max_keys(keys.len())
        .build()
        .expect("valid config");
    let mut global = Global::new(config);
    let mut shard = quiet_shard(10_000, ShardConfig::default().max_interned_keys());
    let now = Timestamp::from_millis(1);
    for chunk in keys.chunks(10_000) {
        let entries: Vec<(&str, i64)> = chunk.iter().map(|k| (k.as_str(), 1)).collect();
        shard.increments(&entries, now).expect("increments");
        shard.flush(now);
        while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
            let ack = global.handle_batch(&batch, now).expect("merge");
            shard.handle_ack(&ack, now).expect("ack");
        }
    }
    global.publish(now);
    while let Some(out) = global.poll_output() {
        if let GlobalOutput::Publish(p) = out {
            global.handle_publish_ack(p.version, now);
        }
    }
    global.take_changes();
    global
}

fn hashmap(keys: &[String]) -> AHashMap<String, i64> {
    let mut map = AHashMap::new();
    for k in keys {
        map.insert(k.clone(), 1);
    }
    map
}

fn main() {
    let sizes: &[usize] = if measuring() { &[10_000, 1_000_000] } else { &[10_000] };
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for &n in sizes {
        let keys = keys(n);
        let key_bytes = keys.iter().map(String::len).sum::<usize>() as f64 / n as f64;
        let (map, kept) = allocated_by(|| hashmap(&keys));
        drop(kept);
        let map = map as f64 / n as f64;
        let (shard, kept) = allocated_by(|| shard_pending(&keys));
        assert_eq!(kept.pending_keys(), n);
        drop(kept);
        let (global, kept) = allocated_by(|| global_totals(&keys));
        assert_eq!(kept.totals().len(), n);
        drop(kept);
        for (op, bytes) in [("memory/shard_pending", shard as f64 / n as f64), ("memory/global_totals", global as f64 / n as f64)] {
            lines.push(format!(
                "{op:<22} {n:>9} {bytes:>9.1} {key_bytes:>9.1} {:>9.1} {map:>10.1} {:>6.2}x",
                bytes - key_bytes,
                bytes / map
            ));
            rows.push(serde_json::json!({
                "op": op, "lang": "rust", "keys": n,
                "bytes": (bytes * 10.0).round() / 10.0,
                "key_bytes": (key_bytes * 10.0).round() / 10.0,
                "baseline_bytes": (map * 10.0).round() / 10.0,
                "ratio": (bytes / map * 1000.0).round() / 1000.0,
            }));
        }
    }
    println!("\nbytes per counter (HashMap = ahash HashMap<String, i64> with the same keys)");
    println!("{:<22} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}", "structure", "keys", "bytes", "key bytes", "overhead", "HashMap", "ratio");
    for line in lines {
        println!("{line}");
    }
    if measuring() || std::env::var_os("SHARDTALLY_BENCH_JSON_DIR").is_some() {
        write_json("shardtally-memory", &rows);
    }
}
