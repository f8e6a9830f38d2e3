"""Every public method and property of `Global`, tiered aggregation included."""

from __future__ import annotations

import pytest

from support import batches, forwards, publishes, pump
from shardtally import (
    BatchWrite,
    Deadline,
    FlushOutcome,
    Forward,
    Global,
    GlobalStats,
    NoUpstreamError,
    Publish,
    PublishOutcome,
    ResetOutcome,
    ResetWrite,
    Shard,
    ShardRef,
    ShardWrites,
    TableFullError,
    KeyDelta,
    KeyTotal,
)


def fed(**settings: int) -> tuple[Global, Shard]:
    global_ = Global(**settings)  # type: ignore[arg-type]
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0, flush_after_idle_ms=0, flush_max_age_ms=0)
    return global_, shard


def send(shard: Shard, global_: Global, entries: dict[str, int], now: int) -> None:
    shard.increments(entries, now)
    shard.flush(now)
    pump(shard, global_, now)


def test_defaults_config_and_repr() -> None:
    global_ = Global()
    assert global_.config == {
        "persist_after_writes": 100,
        "persist_after_idle_ms": 5000,
        "persist_max_age_ms": 60000,
        "publish_mode": "full",
        "publish_timeout_ms": 10000,
        "retry_initial_ms": 1000,
        "retry_max_ms": 30000,
        "retry_jitter_percent": 20,
        "write_log_capacity": 1000,
        "write_log_keys_per_write": 16,
        "max_keys": 1000000,
        "max_key_bytes": 256,
        "max_dedup_entries": 10000,
        "seed": 0,
    }
    assert Global(publish_mode="changes").config["publish_mode"] == "changes"
    assert not global_.has_upstream() and global_.upstream_copy() is None
    assert repr(global_) == "<Global total_writes=0 published_version=0 generation=0>"


def test_handle_batch_totals_and_exactly_once() -> None:
    global_, shard = fed()
    shard.increments({"b": 2, "a": 1}, 0)
    shard.flush(0)
    (b,) = batches(shard)
    ack = global_.handle_batch(b, 1)
    assert (ack.shard_ref, ack.seq, ack.duplicate, ack.generation, ack.stale_keys) == (ShardRef(0, 1), 1, False, 0, ())
    again = global_.handle_batch(b.encode(), 2)
    assert again.duplicate
    assert global_.totals() == {"a": 1, "b": 2}
    assert list(global_.totals()) == ["a", "b"]
    assert global_.total("a") == 1 and global_.total("zzz") == 0
    assert global_.last_seq(0, 1) == 1
    assert global_.last_seq(0, 2) is None
    assert global_.stats.duplicates == 1


def test_publish_lifecycle_ack_failure_and_retry() -> None:
    global_, shard = fed(persist_after_writes=0, persist_after_idle_ms=0, persist_max_age_ms=0, publish_timeout_ms=50, retry_initial_ms=10, retry_max_ms=10, retry_jitter_percent=0)
    assert global_.publish(0) == PublishOutcome("nothing_changed")
    send(shard, global_, {"x": 3}, 0)
    outcome = global_.publish(1)
    assert outcome == PublishOutcome("sent", 1) and outcome.sent
    (p,) = publishes(global_)
    assert p == Publish(1, "full", "manual", (KeyTotal("x", 3),))
    assert global_.in_flight_publish == p
    assert global_.next_deadline == Deadline(51, "publish_timeout")
    send(shard, global_, {"y": 1}, 2)
    assert global_.publish(2) == PublishOutcome("deferred")
    assert not global_.handle_publish_failure(99, 3)
    assert global_.handle_publish_failure(1, 3)
    assert global_.next_deadline == Deadline(13, "publish_retry")
    global_.handle_timeout(13)
    (retry,) = publishes(global_)
    assert (retry.version, retry.reason, retry.totals()) == (2, "retry", {"x": 3, "y": 1})
    assert not global_.handle_publish_ack(1, 14)  # superseded
    assert global_.handle_publish_ack(2, 14)
    assert global_.published_version == 2
    assert global_.in_flight_publish is None
    assert global_.stats.publish_failures == 1


def test_publish_triggers_writes_idle_and_changes_mode() -> None:
    global_, shard = fed(persist_after_writes=2, persist_after_idle_ms=100, publish_mode="changes")  # type: ignore[arg-type]
    send(shard, global_, {"a": 1}, 0)
    assert publishes(global_) == []
    assert global_.poll_timeout() == 100
    send(shard, global_, {"b": 1}, 1)
    (p,) = publishes(global_)
    assert (p.mode, p.reason, p.entries) == ("changes", "writes", (("a", 1), ("b", 1)))
    global_.handle_publish_ack(p.version, 2)
    send(shard, global_, {"b": 5}, 3)
    global_.handle_timeout(103)
    (idle,) = publishes(global_)
    assert (idle.reason, idle.entries) == ("idle", (("b", 6),))
    assert len(idle) == 1


def test_reset_generations_and_write_log() -> None:
    global_, shard = fed(write_log_capacity=3, write_log_keys_per_write=1)
    send(shard, global_, {"a": 1, "b": 2}, 0)
    assert global_.reset("a", 1) == ResetOutcome("reset", 1, 1)
    assert global_.reset("a", 2) == ResetOutcome("not_defined")
    assert (global_.generation, global_.key_generation("a"), global_.key_generation("b")) == (1, 1, 0)
    assert global_.totals() == {"a": 0, "b": 2}
    log = global_.write_log()
    assert log == [
        ResetWrite(1, "a", 1, 1),
        BatchWrite(0, 0, 1, 1, 2, (KeyDelta("a", 1),), 1),
    ]
    assert isinstance(log[1], BatchWrite) and log[1].omitted == 1 and log[1].shard_ref == ShardRef(0, 1)
    for i in range(5):
        send(shard, global_, {"c": i}, 10 + i)
    assert len(global_.write_log()) == 3


def test_shard_writes_and_stats() -> None:
    global_ = Global()
    for life, index in enumerate((0, 1, 0)):
        shard = Shard(shard=index, incarnation=life, flush_after_requests=1)
        shard.increment("k", index + 1, 0)
        pump(shard, global_, 0)
    assert global_.shard_writes() == [ShardWrites(0, 2, (KeyDelta("k", 2),)), ShardWrites(1, 1, (KeyDelta("k", 2),))]
    assert global_.stats == GlobalStats(total_writes=3, distinct_shards=2)


def test_take_state_changed_and_snapshot_restore() -> None:
    global_, shard = fed(persist_after_writes=1)
    assert not global_.take_state_changed()
    send(shard, global_, {"x": 1}, 0)
    assert global_.take_state_changed()
    assert not global_.take_state_changed()
    restored = Global.restore(global_.snapshot(), persist_after_writes=1)
    assert restored.snapshot() == global_.snapshot()
    assert restored.totals() == {"x": 1}
    assert restored.last_seq(0, 1) == 1
    (offered,) = publishes(restored)  # the publish in flight is offered again
    assert offered == global_.in_flight_publish


def test_tiered_aggregation_forwards_everything_upstream() -> None:
    top = Global()
    middle = Global(upstream={"shard": 0, "incarnation": 5, "flush_after_requests": 2})
    assert middle.has_upstream() and middle.config["upstream"]["flush_after_requests"] == 2
    copy = middle.upstream_copy()
    assert copy is not None and copy.shard_ref == ShardRef(0, 5)
    copy.increment("not upstream", 1, 0)
    assert copy.pending_keys == 1 and middle.upstream_copy().pending_keys == 0  # type: ignore[union-attr]
    for i, leaf_index in enumerate((1, 2, 1)):
        leaf = Shard(shard=leaf_index, incarnation=i, flush_after_requests=1)
        leaf.increment("x", i + 1, i)
        pump(leaf, middle, i)
    (forwarded,) = forwards(middle)
    assert forwarded.shard_ref == ShardRef(0, 5)
    assert middle.handle_upstream_ack(top.handle_batch(forwarded, 5), 5)
    assert middle.flush_upstream(6) == FlushOutcome("sent", 2)
    (last,) = forwards(middle)
    assert middle.handle_upstream_failure(last.seq, 7)
    deadline = middle.next_deadline
    assert deadline is not None and deadline.timer == "upstream"
    middle.handle_timeout(deadline.at_ms)
    (again,) = [o.batch for o in [middle.poll_output()] if isinstance(o, Forward)]
    assert middle.handle_upstream_ack(top.handle_batch(again, deadline.at_ms).encode(), deadline.at_ms)
    assert top.totals() == middle.totals() == {"x": 6}

    restored = Global.restore(middle.snapshot(), **middle.config)
    assert restored.snapshot() == middle.snapshot()
    with pytest.raises(NoUpstreamError):
        Global().flush_upstream(0)
    with pytest.raises(NoUpstreamError):
        Global().handle_upstream_failure(1, 0)


def test_tiered_aggregation_drops_a_batch_the_upstream_rejects_for_good() -> None:
    top = Global(max_keys=1)
    middle = Global(upstream={"shard": 0, "incarnation": 5, "flush_after_requests": 0})
    leaf = Shard(shard=1, incarnation=1, flush_after_requests=1)
    leaf.increments({"a": 1, "b": 1}, 0)
    pump(leaf, middle, 0)
    assert middle.flush_upstream(1) == FlushOutcome("sent", 1)
    (forwarded,) = forwards(middle)
    with pytest.raises(TableFullError) as info:
        top.handle_batch(forwarded, 2)
    assert info.value.rejects_batch
    assert middle.handle_upstream_rejection(forwarded.seq, 2)  # a counted drop, not re-sent
    assert not middle.handle_upstream_rejection(forwarded.seq, 2)  # no longer in flight
    upstream = middle.upstream_copy()
    assert upstream is not None and upstream.in_flight is None and upstream.stats.rejected_batches == 1
    assert middle.next_deadline is None or middle.next_deadline.timer != "upstream"
    with pytest.raises(NoUpstreamError):
        Global().handle_upstream_rejection(1, 0)
