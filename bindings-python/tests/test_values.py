"""Value objects: frozen, compared by value, hashable, readable and pattern-matchable."""

from __future__ import annotations

import dataclasses

import pytest

from support import batches
from shardtally import (
    Ack,
    Batch,
    BatchEntry,
    BatchWrite,
    Deadline,
    FlushOutcome,
    Forward,
    Global,
    GlobalStats,
    KeyDelta,
    KeyTotal,
    Publish,
    PublishOutcome,
    ResetOutcome,
    ResetWrite,
    SendBatch,
    Shard,
    ShardRef,
    ShardStats,
    ShardWrites,
)


def a_batch() -> Batch:
    shard = Shard(shard=1, incarnation=2, flush_after_requests=1)
    shard.increments({"b": -2, "a": 1, "it's": 3}, 0)
    (b,) = batches(shard)
    return b


def test_batch_fields_repr_equality_and_wire_format() -> None:
    b = a_batch()
    assert (b.shard_ref, b.shard, b.incarnation, b.seq, b.reason, len(b)) == (ShardRef(1, 2), 1, 2, 1, "requests", 3)
    assert b.entries == (BatchEntry("a", 0, 1), BatchEntry("b", 0, -2), BatchEntry("it's", 0, 3))
    assert b.deltas() == {"a": 1, "b": -2, "it's": 3}
    assert repr(b) == (
        "Batch(shard=1, incarnation=2, seq=1, reason='requests', entries=(BatchEntry(key='a', generation=0, delta=1), "
        "BatchEntry(key='b', generation=0, delta=-2), BatchEntry(key=\"it's\", generation=0, delta=3)))"
    )
    copy = Batch.decode(b.encode())
    assert copy == b and hash(copy) == hash(b) and copy is not b
    assert len({b, copy}) == 1
    others: list[object] = [a_batch().entries, 1, None]
    assert all(b != other for other in others)
    match b:
        case Batch(shard, incarnation, seq, reason, entries):
            assert (shard, incarnation, seq, reason, len(entries)) == (1, 2, 1, "requests", 3)
    with pytest.raises(TypeError):
        Batch()  # no constructor: batches come from shards or from decode
    with pytest.raises(AttributeError):
        b.seq = 5  # type: ignore[misc]


def test_ack_fields_and_wire_format() -> None:
    b = a_batch()
    ack = Global().handle_batch(b, 0)
    assert (ack.shard_ref, ack.shard, ack.incarnation, ack.seq, ack.duplicate, ack.generation, ack.stale_keys) == (
        ShardRef(1, 2), 1, 2, 1, False, 0, ()
    )
    assert repr(ack) == "Ack(shard=1, incarnation=2, seq=1, duplicate=False, generation=0, stale_keys=())"
    assert Ack.decode(ack.encode()) == ack
    assert hash(Ack.decode(ack.encode())) == hash(ack)


def test_events_match_and_compare() -> None:
    b = a_batch()
    match SendBatch(b):
        case SendBatch(batch):
            assert batch == b
    match Forward(b):
        case Forward(batch=batch):
            assert batch.seq == 1
    forward: object = Forward(b)
    assert SendBatch(b) == SendBatch(b) and SendBatch(b) != forward
    assert hash(SendBatch(b)) == hash(SendBatch(Batch.decode(b.encode())))
    assert repr(Forward(b)).startswith("Forward(batch=Batch(shard=1,")
    p = Publish(3, "changes", "writes", (KeyTotal("a", 1), KeyTotal("b", 2)))
    match p:
        case Publish(version, "changes", reason, entries):
            assert (version, reason, entries) == (3, "writes", (("a", 1), ("b", 2)))  # named tuples
    assert p.totals() == {"a": 1, "b": 2} and len(p) == 2
    assert repr(p) == (
        "Publish(version=3, mode='changes', reason='writes', entries=(KeyTotal(key='a', total=1), KeyTotal(key='b', total=2)))"
    )
    assert hash(p) == hash(Publish(3, "changes", "writes", (KeyTotal("a", 1), KeyTotal("b", 2))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.version = 4  # type: ignore[misc]


def test_outcomes() -> None:
    assert FlushOutcome("sent", 3).sent and repr(FlushOutcome("sent", 3)) == "FlushOutcome(kind='sent', seq=3)"
    assert repr(FlushOutcome("nothing_pending")) == "FlushOutcome(kind='nothing_pending', seq=None)"
    assert PublishOutcome("sent", 2).sent and not PublishOutcome("deferred").sent
    assert repr(PublishOutcome("nothing_changed")) == "PublishOutcome(kind='nothing_changed', version=None)"
    r = ResetOutcome("reset", 5, 1)
    assert r.reset and (r.previous, r.generation) == (5, 1)
    assert repr(r) == "ResetOutcome(kind='reset', previous=5, generation=1)"
    assert not ResetOutcome("not_defined").reset
    match FlushOutcome("deferred", 4):
        case FlushOutcome("deferred", seq):
            assert seq == 4
    assert len({FlushOutcome("sent", 1), FlushOutcome("sent", 1), FlushOutcome("sent", 2)}) == 2


def test_views() -> None:
    assert ShardRef(1, 2) < ShardRef(1, 3) < ShardRef(2, 0)
    assert sorted([ShardRef(2, 0), ShardRef(1, 5)]) == [ShardRef(1, 5), ShardRef(2, 0)]
    assert repr(ShardRef(1, 2)) == "ShardRef(shard=1, incarnation=2)"
    match ShardRef(4, 5):
        case ShardRef(shard, incarnation):
            assert (shard, incarnation) == (4, 5)
    assert repr(BatchEntry("k", 1, -1)) == "BatchEntry(key='k', generation=1, delta=-1)"
    assert repr(Deadline(5, "idle")) == "Deadline(at_ms=5, timer='idle')"
    assert ShardStats() == ShardStats(0, 0, 0, 0, 0, 0, 0, 0, 0) != ShardStats(requests=1)
    assert ShardStats(rejected_batches=1) != ShardStats(rejected_entries=1) != ShardStats()
    assert len({ShardStats(), ShardStats(), ShardStats(rejected_entries=2)}) == 2
    stats = ShardStats(1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert (stats.stale_dropped, stats.rejected_batches, stats.rejected_entries) == (7, 8, 9)
    assert repr(stats) == (
        "ShardStats(requests=1, batches=2, retries=3, acks=4, duplicate_acks=5, failures=6,"
        " stale_dropped=7, rejected_batches=8, rejected_entries=9)"
    )
    assert GlobalStats(total_writes=1).total_writes == 1
    assert "untracked_shard_writes=0" in repr(GlobalStats())
    w = ShardWrites(0, 2, (KeyDelta("a", 2), KeyDelta("b", 1)))
    assert dict(w.deltas) == {"a": 2, "b": 1}
    assert repr(w) == "ShardWrites(shard=0, writes=2, deltas=(KeyDelta(key='a', delta=2), KeyDelta(key='b', delta=1)))"
    bw = BatchWrite(7, 0, 1, 3, 2, (KeyDelta("a", 1),), 1)
    assert (bw.at_ms, bw.shard_ref, bw.seq, bw.keys, bw.entries, bw.omitted) == (7, ShardRef(0, 1), 3, 2, (("a", 1),), 1)
    assert repr(bw) == "BatchWrite(at_ms=7, shard=0, incarnation=1, seq=3, keys=2, entries=(KeyDelta(key='a', delta=1),), omitted=1)"
    rw = ResetWrite(9, "x", 4, 2)
    assert (rw.at_ms, rw.key, rw.previous, rw.generation) == (9, "x", 4, 2)
    assert repr(rw) == "ResetWrite(at_ms=9, key='x', previous=4, generation=2)"
    assert len({bw, BatchWrite(7, 0, 1, 3, 2, (KeyDelta("a", 1),), 1), rw}) == 2
