"""A batch the global can never apply: the exception says so (`rejects_batch`), and
`Shard.handle_rejection` drops it as a counted drop so that later batches flow; transient
errors are not rejections and are retried."""

from __future__ import annotations

import pickle

import pytest

from support import batches, pump
from shardtally import (
    DecodeError,
    CounterOverflowError,
    EmptyKeyError,
    Global,
    InvalidArgumentError,
    InvalidTimeError,
    KeyTooLongError,
    SendBatch,
    Shard,
    ShardtallyError,
    ShardStats,
    TableFullError,
)

MAX_I64 = 2**63 - 1


def test_a_rejected_batch_is_dropped_counted_and_the_next_one_flows() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    global_ = Global(max_keys=1)
    shard.increment("a", 1, 0)
    pump(shard, global_, 0)
    shard.increments({"b": 2, "c": 3}, 1)
    (b,) = batches(shard)
    before = global_.snapshot()
    with pytest.raises(ShardtallyError) as info:
        global_.handle_batch(b, 2)
    e = info.value
    assert isinstance(e, TableFullError)
    assert (e.code, e.table, e.limit, e.rejects_batch) == ("TABLE_FULL", "totals", 1, True)
    assert global_.snapshot() == before  # the global is unchanged
    # Only the batch in flight can be rejected; anything else changes nothing (at the time
    # the shard last saw, so that its clock does not move either).
    shard.take_state_changed()
    snapshot = shard.snapshot()
    assert not shard.handle_rejection(b.seq + 1, 1)
    assert shard.snapshot() == snapshot and not shard.take_state_changed()
    assert shard.handle_rejection(b.seq, 2)
    assert shard.take_state_changed()
    assert not shard.handle_rejection(b.seq, 2)  # once
    assert shard.in_flight is None
    assert shard.poll_output() is None and shard.pending_keys == 0
    assert (shard.stats.rejected_batches, shard.stats.rejected_entries) == (1, 2)
    assert shard.stats == ShardStats(requests=2, batches=2, acks=1, rejected_batches=1, rejected_entries=2)
    # Nothing is retried: the shard has no retry deadline and sends nothing later.
    shard.handle_timeout(10**6)
    assert shard.poll_output() is None
    # The next batch has the next seq and goes through.
    shard.increment("a", 5, 3)
    (following,) = batches(shard)
    assert following.seq == b.seq + 1
    assert shard.handle_ack(global_.handle_batch(following, 3), 3)
    assert global_.totals() == {"a": 6}
    assert (shard.stats.acks, shard.stats.rejected_batches) == (2, 1)
    # The counters survive a snapshot.
    restored = Shard.restore(shard.snapshot(), flush_after_requests=1)
    assert restored.stats == shard.stats


def test_the_host_pattern_keeps_the_shard_moving() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    global_ = Global(max_key_bytes=3)
    for now, key in enumerate(["ok", "too long", "yes"]):
        shard.increment(key, 1, now)
        while (out := shard.poll_output()) is not None:
            assert isinstance(out, SendBatch)
            batch = out.batch
            try:
                ack = global_.handle_batch(batch, now)
            except ShardtallyError as e:
                shard.handle_rejection(batch.seq, now) if e.rejects_batch else shard.handle_failure(batch.seq, now)
            else:
                shard.handle_ack(ack, now)
    assert global_.totals() == {"ok": 1, "yes": 1}
    assert (shard.stats.acks, shard.stats.rejected_batches, shard.stats.failures) == (2, 1, 0)


def test_overflow_and_long_keys_reject_the_batch() -> None:
    global_ = Global()
    high = Shard(shard=0, incarnation=1, flush_after_requests=1)
    high.increment("x", MAX_I64, 0)
    pump(high, global_, 0)
    one = Shard(shard=1, incarnation=1, flush_after_requests=1)
    one.increment("x", 1, 0)
    (b,) = batches(one)
    with pytest.raises(CounterOverflowError) as overflow:
        global_.handle_batch(b, 1)
    assert overflow.value.rejects_batch is True
    long_key = Shard(shard=2, incarnation=1, flush_after_requests=1)
    long_key.increment("long", 1, 0)
    (b,) = batches(long_key)
    with pytest.raises(KeyTooLongError) as too_long:
        Global(max_key_bytes=2).handle_batch(b, 1)
    assert too_long.value.rejects_batch is True


def test_a_full_upstream_table_is_transient_and_retried() -> None:
    middle = Global(upstream={"shard": 9, "incarnation": 1, "max_pending_keys": 1, "flush_after_requests": 0})
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increments({"a": 1, "b": 1}, 0)
    (b,) = batches(shard)
    with pytest.raises(TableFullError) as info:
        middle.handle_batch(b, 0)
    assert (info.value.table, info.value.rejects_batch) == ("pending keys", False)
    assert shard.handle_failure(b.seq, 0)
    assert shard.stats.rejected_batches == 0


def test_other_errors_do_not_reject_a_batch() -> None:
    shard = Shard(shard=0, incarnation=1)
    with pytest.raises(EmptyKeyError) as empty:
        shard.increment("", 1, 0)
    with pytest.raises(InvalidTimeError) as bad_time:
        shard.increment("x", 1, -1)
    with pytest.raises(DecodeError) as corrupt:
        Global().handle_batch(b"\x00" * 3, 0)
    for e in (empty.value, bad_time.value, corrupt.value):
        assert e.rejects_batch is False, repr(e)
        assert "rejects_batch" not in repr(e)
    assert ShardtallyError("plain").rejects_batch is False


def test_handle_rejection_validates_its_arguments() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("x", 1, 0)
    (b,) = batches(shard)
    before = shard.snapshot()
    for bad_seq in (-1, 2**64, "1", None, 1.0):
        with pytest.raises(InvalidArgumentError) as info:
            shard.handle_rejection(bad_seq, 1)  # type: ignore[arg-type]
        assert (info.value.argument, info.value.value) == ("seq", repr(bad_seq))
    with pytest.raises(InvalidTimeError):
        shard.handle_rejection(b.seq, -1)
    assert shard.snapshot() == before
    assert shard.in_flight == b


def test_a_restored_shard_withdraws_the_queued_resend_of_a_rejected_batch() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("a", 1, 0)
    restored = Shard.restore(shard.snapshot(), flush_after_requests=1)
    in_flight = restored.in_flight
    assert in_flight is not None
    assert restored.handle_rejection(in_flight.seq, 1)
    assert restored.poll_output() is None


def test_rejections_pickle_and_show_in_repr() -> None:
    global_ = Global(max_keys=1)
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increments({"a": 1, "b": 1}, 0)
    (b,) = batches(shard)
    with pytest.raises(TableFullError) as info:
        global_.handle_batch(b, 0)
    e = info.value
    assert repr(e) == f"TableFullError({str(e)!r}, table='totals', limit=1, rejects_batch=True)"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is TableFullError
    assert (str(back), back.table, back.limit, back.rejects_batch) == (str(e), "totals", 1, True)
    plain = pickle.loads(pickle.dumps(TableFullError("m", table="pending keys", limit=1)))
    assert plain.rejects_batch is False
