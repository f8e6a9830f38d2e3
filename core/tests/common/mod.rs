//! Helpers shared by the scenario tests.

#![allow(dead_code, clippy::unwrap_used)]

use shardtally::*;

pub mod world;

/// A timestamp in ms.
pub fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// The SPEC §11 shard configuration: 100 requests / 5000 ms idle / 60000 ms max age.
pub fn spec_shard() -> ShardConfig {
    ShardConfig::default()
}

/// A shard with index `i`, incarnation 1.
pub fn shard(config: ShardConfig, i: u32) -> Shard {
    Shard::new(config, ShardRef { shard: i, incarnation: 1 })
}

/// Every batch the shard emitted since the last call.
pub fn batches(shard: &mut Shard) -> Vec<Batch> {
    let mut out = Vec::new();
    while let Some(ShardOutput::SendBatch(b)) = shard.poll_output() {
        out.push(b);
    }
    out
}

/// `(key, delta)` pairs of a batch.
pub fn entries(b: &Batch) -> Vec<(String, i64)> {
    b.entries().iter().map(|e| (e.key().to_string(), e.delta())).collect()
}

/// Delivers every emitted batch to the global and routes the acks back (no faults).
pub fn pump(shard: &mut Shard, global: &mut Global, now: Timestamp) {
    loop {
        let out = batches(shard);
        if out.is_empty() {
            return;
        }
        for b in out {
            let ack = global.handle_batch(&b, now).unwrap();
            shard.handle_ack(&ack, now).unwrap();
        }
    }
}

/// Every publish the global emitted since the last call.
pub fn publishes(global: &mut Global) -> Vec<Publish> {
    let mut out = Vec::new();
    while let Some(o) = global.poll_output() {
        if let GlobalOutput::Publish(p) = o {
            out.push(p);
        }
    }
    out
}
