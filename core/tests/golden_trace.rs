//! Replays `fixtures/golden-trace.json` and checks every output byte for byte.
//!
//! The same file is replayed by the Python, Node and WebAssembly bindings' tests, so the four
//! runtimes are proven to agree. The format is described in `fixtures/README.md`.
//!
//! To regenerate the expectations after an intended behaviour change, run
//! `SHARDTALLY_BLESS=1 cargo test -p shardtally --test golden_trace` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Map, Value};
use shardtally::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-trace.json");

fn shard_config(v: &Value) -> ShardConfig {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("shard_config.{k}"));
    ShardConfig::builder()
        .flush_after_requests(n("flush_after_requests") as u32)
        .flush_after_idle_ms(n("flush_after_idle_ms"))
        .flush_max_age_ms(n("flush_max_age_ms"))
        .ack_timeout_ms(n("ack_timeout_ms"))
        .retry_initial_ms(n("retry_initial_ms"))
        .retry_max_ms(n("retry_max_ms"))
        .retry_jitter_percent(n("retry_jitter_percent") as u8)
        .max_pending_keys(n("max_pending_keys") as usize)
        .max_interned_keys(n("max_interned_keys") as usize)
        .max_key_bytes(n("max_key_bytes") as usize)
        .seed(n("seed"))
        .build()
        .unwrap()
}

fn global_config(v: &Value) -> GlobalConfig {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("global_config.{k}"));
    GlobalConfig::builder()
        .persist_after_writes(n("persist_after_writes") as u32)
        .persist_after_idle_ms(n("persist_after_idle_ms"))
        .persist_max_age_ms(n("persist_max_age_ms"))
        .publish_mode(if v["publish_mode"] == "changes" { PublishMode::Changes } else { PublishMode::Full })
        .publish_timeout_ms(n("publish_timeout_ms"))
        .retry_initial_ms(n("retry_initial_ms"))
        .retry_max_ms(n("retry_max_ms"))
        .retry_jitter_percent(n("retry_jitter_percent") as u8)
        .write_log_capacity(n("write_log_capacity") as usize)
        .write_log_keys_per_write(n("write_log_keys_per_write") as usize)
        .max_keys(n("max_keys") as usize)
        .max_key_bytes(n("max_key_bytes") as usize)
        .max_dedup_entries(n("max_dedup_entries") as usize)
        .seed(n("seed"))
        .build()
        .unwrap()
}

fn batch_json(b: &Batch) -> Value {
    json!({
        "type": "batch",
        "shard": b.from().shard,
        "incarnation": b.from().incarnation,
        "seq": b.seq(),
        "reason": b.reason().as_str(),
        "entries": b.entries().iter().map(|e| json!({"key": e.key(), "generation": e.generation(), "delta": e.delta()})).collect::<Vec<_>>(),
    })
}

fn outcome_json(o: FlushOutcome) -> Value {
    match o {
        FlushOutcome::Sent { seq } => json!({"type": "sent", "seq": seq}),
        FlushOutcome::Deferred { seq } => json!({"type": "deferred", "seq": seq}),
        FlushOutcome::NothingPending => json!({"type": "nothing_pending"}),
    }
}

fn error_json(code: &str) -> Value {
    json!({"error": code})
}

/// Replays the steps; with `bless`, writes the actual outputs as the expectations.
fn replay(doc: &mut Value, bless: bool) {
    let sc = shard_config(&doc["shard_config"]);
    let gc = global_config(&doc["global_config"]);
    let mut shards: Vec<Shard> = doc["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Shard::new(sc, ShardRef { shard: s["shard"].as_u64().unwrap() as u32, incarnation: s["incarnation"].as_u64().unwrap() }))
        .collect();
    let mut global = Global::new(gc);
    let mut last_batch: Vec<Option<Batch>> = vec![None; shards.len()];
    let mut held_ack: Vec<Option<Ack>> = vec![None; shards.len()];
    let steps = doc["steps"].as_array_mut().unwrap();
    for (i, step) in steps.iter_mut().enumerate() {
        let now = Timestamp::from_millis(step["at"].as_u64().unwrap());
        let s = step["shard"].as_u64().unwrap_or(0) as usize;
        let key = step["key"].as_str().unwrap_or("").to_string();
        // Deltas beyond 2^53 are written as strings so every JSON parser reads them exactly.
        let delta = match &step["delta"] {
            Value::String(d) => d.parse::<i64>().unwrap(),
            d => d.as_i64().unwrap_or(0),
        };
        let op = step["op"].as_str().unwrap().to_string();
        let actual: Value = match op.as_str() {
            "increment" => match shards[s].increment(&key, delta, now) {
                Ok(()) => Value::Null,
                Err(e) => error_json(e.code()),
            },
            "increments" => {
                let entries: Vec<(String, i64)> = step["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| (e[0].as_str().unwrap().to_string(), e[1].as_i64().unwrap()))
                    .collect();
                match shards[s].increments(&entries, now) {
                    Ok(()) => Value::Null,
                    Err(e) => error_json(e.code()),
                }
            }
            "intern" => match shards[s].intern(&key) {
                Ok(id) => json!(id.raw()),
                Err(e) => error_json(e.code()),
            },
            "increment_id" => match shards[s].increment_id(KeyId::from_raw(step["id"].as_u64().unwrap() as u32), delta, now) {
                Ok(()) => Value::Null,
                Err(e) => error_json(e.code()),
            },
            "increment_ids" => {
                let ids: Vec<KeyId> = step["ids"].as_array().unwrap().iter().map(|v| KeyId::from_raw(v.as_u64().unwrap() as u32)).collect();
                let deltas: Vec<i64> = step["deltas"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
                match shards[s].increment_ids(&ids, &deltas, now) {
                    Ok(()) => Value::Null,
                    Err(e) => error_json(e.code()),
                }
            }
            "flush" => outcome_json(shards[s].flush(now)),
            "drain" => outcome_json(shards[s].drain(now)),
            "poll_shard" => {
                let mut outs = Vec::new();
                while let Some(ShardOutput::SendBatch(b)) = shards[s].poll_output() {
                    outs.push(batch_json(&b));
                    last_batch[s] = Some(b);
                }
                Value::Array(outs)
            }
            "deliver" => {
                let b = last_batch[s].clone().expect("deliver without a polled batch");
                // Deliver through the wire format, as a host would.
                let b = Batch::decode(&b.encode()).unwrap();
                match global.handle_batch(&b, now) {
                    Ok(ack) => {
                        let ack = Ack::decode(&ack.encode()).unwrap();
                        let v = json!({
                            "type": "ack",
                            "shard": ack.to().shard,
                            "incarnation": ack.to().incarnation,
                            "seq": ack.seq(),
                            "duplicate": ack.is_duplicate(),
                            "generation": ack.generation(),
                            "stale": ack.stale_keys().map(|(k, g)| json!({"key": k, "generation": g})).collect::<Vec<_>>(),
                        });
                        held_ack[s] = Some(ack);
                        v
                    }
                    Err(e) => error_json(e.code()),
                }
            }
            "ack" => {
                let ack = held_ack[s].clone().expect("ack without a delivered batch");
                match shards[s].handle_ack(&ack, now) {
                    Ok(m) => json!(m),
                    Err(e) => error_json(e.code()),
                }
            }
            "fail" => json!(shards[s].handle_failure(step["seq"].as_u64().unwrap(), now)),
            "timeout_shard" => {
                shards[s].handle_timeout(now);
                Value::Null
            }
            "deadline_shard" => match shards[s].next_deadline() {
                Some(d) => json!({"at": d.at.as_millis(), "timer": d.timer.as_str()}),
                None => Value::Null,
            },
            "pending" => Value::Array(
                shards[s].pending().iter().map(|e| json!({"key": e.key(), "generation": e.generation(), "delta": e.delta()})).collect(),
            ),
            "restore_shard" => {
                let bytes = shards[s].snapshot();
                shards[s] = Shard::restore(&bytes, sc).unwrap();
                Value::Null
            }
            "reset" => match global.reset(&key, now) {
                Ok(ResetOutcome::Reset { previous, generation }) => {
                    json!({"type": "reset", "previous": previous, "generation": generation})
                }
                Ok(ResetOutcome::NotDefined) => json!({"type": "not_defined"}),
                Err(e) => error_json(e.code()),
            },
            "publish" => match global.publish(now) {
                PublishOutcome::Sent { version } => json!({"type": "sent", "version": version}),
                PublishOutcome::Deferred => json!({"type": "deferred"}),
                PublishOutcome::NothingChanged => json!({"type": "nothing_changed"}),
            },
            "poll_global" => {
                let mut outs = Vec::new();
                while let Some(out) = global.poll_output() {
                    if let GlobalOutput::Publish(p) = out {
                        outs.push(json!({
                            "type": "publish",
                            "version": p.version,
                            "mode": p.mode.as_str(),
                            "reason": p.reason.as_str(),
                            "entries": p.entries.iter().map(|(k, t)| json!({"key": &**k, "total": t})).collect::<Vec<_>>(),
                        }));
                    }
                }
                Value::Array(outs)
            }
            "publish_ack" => json!(global.handle_publish_ack(step["version"].as_u64().unwrap(), now)),
            "publish_fail" => json!(global.handle_publish_failure(step["version"].as_u64().unwrap(), now)),
            "timeout_global" => {
                global.handle_timeout(now);
                Value::Null
            }
            "deadline_global" => match global.next_deadline() {
                Some(d) => json!({"at": d.at.as_millis(), "timer": d.timer.as_str()}),
                None => Value::Null,
            },
            "restore_global" => {
                let bytes = global.snapshot();
                global = Global::restore(&bytes, gc).unwrap();
                Value::Null
            }
            "totals" => Value::Array(global.totals().iter().map(|(k, t)| json!({"key": k, "total": t})).collect()),
            other => panic!("step {i}: unknown op {other}"),
        };
        let obj: &mut Map<String, Value> = step.as_object_mut().unwrap();
        if bless {
            obj.insert("expect".into(), actual);
        } else {
            let expected = obj.get("expect").cloned().unwrap_or(Value::Null);
            assert_eq!(actual, expected, "step {i} ({op}) of the golden trace");
        }
    }
}

#[test]
fn golden_trace_replays_exactly() {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    if std::env::var_os("SHARDTALLY_BLESS").is_some() {
        replay(&mut doc, true);
        std::fs::write(FIXTURE, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        return;
    }
    replay(&mut doc, false);
}

#[test]
fn golden_trace_covers_every_op_and_output_kind() {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    for needle in [
        "\"increment\"",
        "\"increments\"",
        "\"intern\"",
        "\"increment_id\"",
        "\"increment_ids\"",
        "\"flush\"",
        "\"drain\"",
        "\"poll_shard\"",
        "\"deliver\"",
        "\"ack\"",
        "\"fail\"",
        "\"timeout_shard\"",
        "\"deadline_shard\"",
        "\"pending\"",
        "\"restore_shard\"",
        "\"reset\"",
        "\"publish\"",
        "\"poll_global\"",
        "\"publish_ack\"",
        "\"publish_fail\"",
        "\"timeout_global\"",
        "\"deadline_global\"",
        "\"restore_global\"",
        "\"totals\"",
        "\"requests\"",
        "\"idle\"",
        "\"max_age\"",
        "\"manual\"",
        "\"retry\"",
        "\"nothing_pending\"",
        "\"deferred\"",
        "\"not_defined\"",
        "\"duplicate\": true",
        "\"EMPTY_KEY\"",
        "\"KEY_TOO_LONG\"",
        "\"OVERFLOW\"",
        "\"UNKNOWN_KEY_ID\"",
        "\"LENGTH_MISMATCH\"",
        "\"TABLE_FULL\"",
    ] {
        assert!(text.contains(needle), "the golden trace never shows {needle}");
    }
}
