"""Every public method and property of `Shard`."""

from __future__ import annotations

import array

import pytest

from support import batches, pump, rejected
from shardtally import (
    Ack,
    Batch,
    BatchEntry,
    Deadline,
    EmptyKeyError,
    FlushOutcome,
    Global,
    InvalidArgumentError,
    LengthMismatchError,
    SendBatch,
    Shard,
    ShardRef,
    ShardStats,
)


def quiet_shard(**settings: int) -> Shard:
    """A shard that flushes only when asked."""
    return Shard(shard=2, incarnation=9, flush_after_requests=0, flush_after_idle_ms=0, flush_max_age_ms=0, **settings)


def test_construction_defaults_and_config() -> None:
    shard = Shard(shard=3, incarnation=42)
    assert shard.shard_ref == ShardRef(3, 42)
    assert shard.generation == 0
    assert shard.config == {
        "flush_after_requests": 100,
        "flush_after_idle_ms": 5000,
        "flush_max_age_ms": 60000,
        "ack_timeout_ms": 10000,
        "retry_initial_ms": 1000,
        "retry_max_ms": 30000,
        "retry_jitter_percent": 20,
        "max_pending_keys": 100000,
        "max_interned_keys": 100000,
        "max_key_bytes": 256,
        "seed": 0,
    }
    assert Shard(shard=0, incarnation=1, generation=4).generation == 4
    assert Shard(shard=0, incarnation=1, flush_after_requests=7).config["flush_after_requests"] == 7
    assert repr(shard) == "<Shard shard=3 incarnation=42 pending_keys=0 pending_requests=0 in_flight_seq=None generation=0>"


def test_increment_accumulates_pending_deltas_per_key() -> None:
    shard = quiet_shard()
    shard.increment("b", 2, 0)
    shard.increment("a", 1, 0)
    shard.increment("b", -5, 1)
    assert shard.pending() == (BatchEntry("a", 0, 1), BatchEntry("b", 0, -3))
    assert shard.pending_delta("b") == -3
    assert shard.pending_delta("missing") == 0
    assert (shard.pending_requests, shard.pending_keys) == (3, 2)
    assert shard.stats.requests == 3


def test_increments_accepts_a_mapping_pairs_and_any_mapping() -> None:
    shard = quiet_shard()
    shard.increments({"a": 1, "b": 2}, 0)
    shard.increments([("a", 10), ("c", 3), ("a", 100)], 0)
    shard.increments((p for p in [("d", 4)]), 0)

    class Mapping:
        def items(self) -> list[tuple[str, int]]:
            return [("e", 5)]

    shard.increments(Mapping(), 0)  # type: ignore[arg-type]
    shard.increments({}, 0)  # not a request
    assert {e.key: e.delta for e in shard.pending()} == {"a": 111, "b": 2, "c": 3, "d": 4, "e": 5}
    assert shard.pending_requests == 4


def test_increments_takes_pairs_as_any_two_item_sequence() -> None:
    shard = quiet_shard()
    shard.increments([["a", 1], ("b", 2)], 0)  # type: ignore[list-item]
    shard.increments(zip(["a", "c"], array.array("q", [10, 20])), 0)
    assert {e.key: e.delta for e in shard.pending()} == {"a": 11, "b": 2, "c": 20}
    assert shard.pending_requests == 2


def test_increments_coalesced_ends_as_the_same_increments_one_by_one() -> None:
    settings = {"shard": 1, "incarnation": 2, "flush_after_requests": 10, "flush_after_idle_ms": 1000, "flush_max_age_ms": 5000}
    one, group = Shard(**settings), Shard(**settings)
    for shard in (one, group):
        shard.increment("a", 1, 0)
    for key, delta in [("a", 2), ("b", 5), ("a", -4), ("é🔑", 1)]:
        one.increment(key, delta, 100)
    group.increments_coalesced({"a": -2, "b": 5, "é🔑": 1}, 4, 100)
    assert group.pending() == one.pending()
    assert group.pending_requests == one.pending_requests == 5
    assert group.next_deadline == one.next_deadline == Deadline(1100, "idle")
    assert group.snapshot() == one.snapshot()
    assert group.take_state_changed() and one.take_state_changed()
    # Pairs, repeated keys summed; reaching flush_after_requests cuts one batch of everything.
    for _ in range(5):
        one.increment("b", 1, 200)
    group.increments_coalesced([("b", 2), ("b", 3)], 5, 200)
    sent, expected = batches(group), batches(one)
    assert [b.encode() for b in sent] == [b.encode() for b in expected] and len(sent) == 1
    assert sent[0].reason == "requests" and sent[0].deltas() == {"a": -1, "b": 10, "é🔑": 1}
    assert group.snapshot() == one.snapshot()


def test_increments_coalesced_rejects_entries_without_requests() -> None:
    shard = quiet_shard()
    shard.increment("a", 1, 0)
    error = rejected(shard, LengthMismatchError, lambda: shard.increments_coalesced({"a": 1, "b": 1, "c": 1}, 0, 0))
    assert (error.code, error.what, error.left, error.right) == ("LENGTH_MISMATCH", "requests and keys", 0, 3)
    rejected(shard, LengthMismatchError, lambda: shard.increments_coalesced({}, 1, 0))
    rejected(shard, EmptyKeyError, lambda: shard.increments_coalesced([("a", 1), ("", 1)], 2, 0))
    rejected(shard, InvalidArgumentError, lambda: shard.increments_coalesced({"a": 1}, -1, 0))
    shard.increments_coalesced({}, 0, 0)  # not a request
    assert shard.pending_requests == 1


def test_intern_and_increment_by_id() -> None:
    shard = quiet_shard()
    x = shard.intern("x")
    y = shard.intern("y")
    assert shard.intern("x") == x and x != y
    assert shard.key_of(x) == "x" and shard.key_of(y) == "y"
    assert shard.key_of(12345) is None
    shard.increment_id(x, 5, 0)
    shard.increment_ids([x, y, x], [1, 2, 3], 0)
    shard.increment_ids(array.array("I", [y, y]), array.array("q", [10, 20]), 0)
    shard.increment_ids(array.array("I", [x]), 7, 0)
    shard.increment_ids([], [], 0)  # not a request
    assert {e.key: e.delta for e in shard.pending()} == {"x": 16, "y": 32}
    assert shard.pending_requests == 4
    assert shard.take_state_changed()


def test_flush_drain_and_outcomes() -> None:
    shard = quiet_shard()
    global_ = Global()
    assert shard.flush(0) == FlushOutcome("nothing_pending")
    shard.increment("x", 1, 0)
    assert shard.flush(1) == FlushOutcome("sent", 1)
    assert shard.flush(1).kind == "nothing_pending"
    shard.increment("x", 1, 2)
    deferred = shard.flush(2)
    assert deferred == FlushOutcome("deferred", 1) and not deferred.sent
    (first,) = batches(shard)
    assert isinstance(shard.in_flight, Batch) and shard.in_flight.seq == 1
    shard.handle_ack(global_.handle_batch(first, 3), 3)
    (second,) = batches(shard)  # the deferred flush went out with the acknowledgement
    assert (second.seq, second.reason) == (2, "manual")
    shard.handle_ack(global_.handle_batch(second, 3), 3)

    assert not shard.is_draining
    shard.increment("y", 1, 4)
    assert shard.drain(4) == FlushOutcome("sent", 3)
    assert shard.is_draining and not shard.is_drained
    pump(shard, global_, 5)
    assert shard.is_drained
    assert shard.drain(6) == FlushOutcome("nothing_pending")
    assert global_.totals() == {"x": 2, "y": 1}


def test_poll_output_gives_send_batch_events() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=2)
    shard.increment("k", 1, 0)
    assert shard.poll_output() is None
    shard.increment("k", 1, 0)
    out = shard.poll_output()
    assert isinstance(out, SendBatch)
    assert out == SendBatch(out.batch)
    assert out.batch.shard_ref == ShardRef(0, 1)
    assert shard.poll_output() is None


def test_handle_ack_accepts_objects_and_bytes_and_reports_matches() -> None:
    shard = quiet_shard()
    global_ = Global()
    shard.increment("x", 1, 0)
    shard.flush(0)
    (b,) = batches(shard)
    ack = global_.handle_batch(b.encode(), 0)
    assert shard.handle_ack(ack.encode(), 1)
    assert not shard.handle_ack(ack, 2)  # late duplicate: harmless
    assert shard.stats.acks == 1
    assert isinstance(Ack.decode(bytearray(ack.encode())), Ack)


def test_handle_failure_and_timeouts_drive_retries() -> None:
    shard = Shard(shard=0, incarnation=1, ack_timeout_ms=100, retry_initial_ms=10, retry_max_ms=10, retry_jitter_percent=0)
    shard.increment("x", 1, 0)
    shard.flush(0)
    (b,) = batches(shard)
    assert shard.next_deadline == Deadline(100, "ack_timeout")
    assert not shard.handle_failure(b.seq + 1, 1)  # not in flight
    assert shard.handle_failure(b.seq, 1)
    assert not shard.handle_failure(b.seq, 1)  # already backing off
    assert shard.next_deadline == Deadline(11, "retry")
    assert shard.poll_timeout() == 11
    shard.handle_timeout(10)  # early: nothing
    assert shard.poll_output() is None
    shard.handle_timeout(11)
    shard.handle_timeout(11)  # twice: nothing more
    (again,) = batches(shard)
    assert (again.seq, again.reason, again.entries) == (b.seq, "retry", b.entries)
    shard.handle_timeout(11 + 100)  # no answer: a timeout counts as a failure
    assert shard.stats.failures == 2
    assert shard.stats.retries == 1


def test_take_state_changed_reports_each_change_once() -> None:
    shard = quiet_shard()
    assert not shard.take_state_changed()
    shard.increment("x", 1, 0)
    assert shard.take_state_changed()
    assert not shard.take_state_changed()
    shard.handle_timeout(1)
    assert not shard.take_state_changed()


def test_snapshot_and_restore_keep_everything() -> None:
    shard = Shard(shard=5, incarnation=6, flush_after_requests=3, max_interned_keys=10)
    x = shard.intern("x")
    shard.increment_id(x, 2, 0)
    shard.increment("y", 3, 1)
    shard.increment("z", 1, 2)  # third request: batch in flight
    (in_flight,) = batches(shard)
    shard.increment("y", 4, 3)
    restored = Shard.restore(shard.snapshot(), flush_after_requests=3, max_interned_keys=10)
    assert restored.snapshot() == shard.snapshot()
    assert restored.shard_ref == ShardRef(5, 6)
    assert restored.pending() == shard.pending()
    assert restored.in_flight == in_flight
    assert restored.poll_timeout() == shard.poll_timeout()
    assert restored.key_of(x) == "x"
    assert restored.stats == shard.stats
    (offered,) = batches(restored)  # a restored in-flight batch is offered again
    assert (offered.seq, offered.reason) == (in_flight.seq, "retry")
    assert Shard.restore(bytearray(shard.snapshot()), flush_after_requests=3, max_interned_keys=10).pending() == shard.pending()
    assert Shard.restore(memoryview(shard.snapshot()), flush_after_requests=3, max_interned_keys=10).pending() == shard.pending()


def test_stats_counts_activity() -> None:
    shard = quiet_shard()
    global_ = Global()
    shard.increment("x", 1, 0)
    shard.flush(0)
    (b,) = batches(shard)
    shard.handle_failure(b.seq, 0)
    shard.handle_timeout(shard.poll_timeout() or 0)
    (b,) = batches(shard)
    global_.handle_batch(b, 1)
    shard.handle_ack(global_.handle_batch(b, 1), 1)
    assert shard.stats == ShardStats(
        requests=1, batches=1, retries=1, acks=1, duplicate_acks=1, failures=1, stale_dropped=0, rejected_batches=0, rejected_entries=0
    )


@pytest.mark.parametrize("key", ["é", "日本語", "emoji 🎉", "a" * 256])
def test_unicode_and_longest_keys_round_trip(key: str) -> None:
    shard = quiet_shard()
    shard.increment(key, 1, 0) if len(key.encode()) <= 256 else None
    shard.flush(0)
    (b,) = batches(shard)
    assert Batch.decode(b.encode()).entries[0].key == key
