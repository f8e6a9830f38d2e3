"""Replays the shared golden trace (core/tests/fixtures/golden-trace.json) through Python.

The Rust core and the other bindings replay the same file; producing exactly the expected
outputs proves this binding adds and loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shardtally import (
    Ack,
    Batch,
    FlushOutcome,
    Global,
    Publish,
    SendBatch,
    Shard,
    ShardtallyError,
)

FIXTURE = Path(__file__).resolve().parents[2] / "core" / "tests" / "fixtures" / "golden-trace.json"


def as_int(value: Any) -> int:
    """Deltas beyond 2**53 are written as decimal strings."""
    return int(value)


def batch_json(b: Batch) -> dict[str, Any]:
    return {
        "type": "batch",
        "shard": b.shard,
        "incarnation": b.incarnation,
        "seq": b.seq,
        "reason": b.reason,
        "entries": [{"key": e.key, "generation": e.generation, "delta": e.delta} for e in b.entries],
    }


def ack_json(a: Ack) -> dict[str, Any]:
    return {
        "type": "ack",
        "shard": a.shard,
        "incarnation": a.incarnation,
        "seq": a.seq,
        "duplicate": a.duplicate,
        "generation": a.generation,
        "stale": [{"key": k, "generation": g} for k, g in a.stale_keys],
    }


def flush_json(o: FlushOutcome) -> dict[str, Any]:
    return {"type": o.kind} if o.seq is None else {"type": o.kind, "seq": o.seq}


def publish_json(p: Publish) -> dict[str, Any]:
    return {
        "type": "publish",
        "version": p.version,
        "mode": p.mode,
        "reason": p.reason,
        "entries": [{"key": k, "total": t} for k, t in p.entries],
    }


def test_golden_trace_replays_exactly() -> None:
    doc = json.loads(FIXTURE.read_text())
    assert doc["format"] == 1
    shard_config = doc["shard_config"]
    global_config = doc["global_config"]
    shards = [Shard(shard=s["shard"], incarnation=s["incarnation"], **shard_config) for s in doc["shards"]]
    global_ = Global(**global_config)
    last_batch: dict[int, Batch] = {}
    held_ack: dict[int, Ack] = {}

    for i, step in enumerate(doc["steps"]):
        at, op, s = step["at"], step["op"], step.get("shard", 0)
        shard = shards[s]
        actual: Any
        try:
            if op == "increment":
                shard.increment(step["key"], as_int(step["delta"]), at)
                actual = None
            elif op == "increments":
                shard.increments([(k, as_int(d)) for k, d in step["entries"]], at)
                actual = None
            elif op == "intern":
                actual = shard.intern(step["key"])
            elif op == "increment_id":
                shard.increment_id(step["id"], as_int(step["delta"]), at)
                actual = None
            elif op == "increment_ids":
                shard.increment_ids(step["ids"], [as_int(d) for d in step["deltas"]], at)
                actual = None
            elif op == "flush":
                actual = flush_json(shard.flush(at))
            elif op == "drain":
                actual = flush_json(shard.drain(at))
            elif op == "poll_shard":
                actual = []
                while (out := shard.poll_output()) is not None:
                    assert isinstance(out, SendBatch)
                    actual.append(batch_json(out.batch))
                    last_batch[s] = out.batch
            elif op == "deliver":
                ack = global_.handle_batch(last_batch[s].encode(), at)  # through the wire format
                held_ack[s] = Ack.decode(ack.encode())
                actual = ack_json(held_ack[s])
            elif op == "ack":
                actual = shard.handle_ack(held_ack[s].encode(), at)
            elif op == "fail":
                actual = shard.handle_failure(step["seq"], at)
            elif op == "timeout_shard":
                shard.handle_timeout(at)
                actual = None
            elif op == "deadline_shard":
                d = shard.next_deadline
                actual = None if d is None else {"at": d.at_ms, "timer": d.timer}
            elif op == "pending":
                actual = [{"key": e.key, "generation": e.generation, "delta": e.delta} for e in shard.pending()]
            elif op == "restore_shard":
                shards[s] = Shard.restore(shard.snapshot(), **shard_config)
                actual = None
            elif op == "reset":
                r = global_.reset(step["key"], at)
                actual = (
                    {"type": "reset", "previous": r.previous, "generation": r.generation}
                    if r.reset
                    else {"type": "not_defined"}
                )
            elif op == "publish":
                p = global_.publish(at)
                actual = {"type": p.kind} if p.version is None else {"type": p.kind, "version": p.version}
            elif op == "poll_global":
                actual = []
                while (g_out := global_.poll_output()) is not None:
                    assert isinstance(g_out, Publish)
                    actual.append(publish_json(g_out))
            elif op == "publish_ack":
                actual = global_.handle_publish_ack(step["version"], at)
            elif op == "publish_fail":
                actual = global_.handle_publish_failure(step["version"], at)
            elif op == "timeout_global":
                global_.handle_timeout(at)
                actual = None
            elif op == "deadline_global":
                gd = global_.next_deadline
                actual = None if gd is None else {"at": gd.at_ms, "timer": gd.timer}
            elif op == "restore_global":
                global_ = Global.restore(global_.snapshot(), **global_config)
                actual = None
            elif op == "totals":
                actual = [{"key": k, "total": t} for k, t in global_.totals().items()]
            else:
                raise AssertionError(f"step {i}: unknown op {op}")
        except ShardtallyError as e:
            actual = {"error": e.code}
        assert actual == step["expect"], f"step {i} ({op}) of the golden trace"
    assert len(doc["steps"]) > 50
