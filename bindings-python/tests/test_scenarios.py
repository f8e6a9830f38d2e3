"""SPEC §11 acceptance scenarios 1-7, driven through Python (time in ms)."""

from __future__ import annotations

import shardtally
from support import batches, publishes, pump
from shardtally import Global, ResetOutcome, Router, SendBatch, Shard, ShardWrites


def test_1_the_hundredth_increment_emits_a_batch_and_no_idle_flush_follows() -> None:
    shard = Shard(shard=0, incarnation=1)
    global_ = Global()
    for i in range(99):
        shard.increment("x", 1, i)
        assert shard.poll_output() is None
    shard.increment("x", 1, 99)
    out = shard.poll_output()
    assert isinstance(out, SendBatch)
    assert out.batch.reason == "requests"
    assert out.batch.deltas() == {"x": 100}
    assert shard.poll_output() is None
    shard.handle_ack(global_.handle_batch(out.batch, 99), 99)
    assert shard.poll_timeout() is None
    shard.handle_timeout(99 + 5000)
    shard.handle_timeout(99 + 60000)
    assert shard.poll_output() is None
    assert global_.total("x") == 100


def test_2_idle_flush_is_a_debounce_and_max_age_bounds_it() -> None:
    shard = Shard(shard=0, incarnation=1)
    for t in (0, 4000, 8000):
        shard.increment("x", 1, t)
        if t == 4000:
            shard.handle_timeout(5000)  # the debounce moved: nothing at 5000
            assert shard.poll_output() is None
    shard.handle_timeout(9000)
    assert shard.poll_output() is None
    assert shard.poll_timeout() == 13000
    shard.handle_timeout(13000)
    (batch,) = batches(shard)
    assert (batch.reason, batch.deltas()) == ("idle", {"x": 3})

    capped = Shard(shard=0, incarnation=1, flush_max_age_ms=10000)
    for t in (0, 4000, 8000):
        capped.increment("x", 1, t)
    assert capped.poll_timeout() == 10000
    capped.handle_timeout(9999)
    assert capped.poll_output() is None
    capped.handle_timeout(10000)
    (batch,) = batches(capped)
    assert (batch.reason, batch.deltas()) == ("max_age", {"x": 3})


def test_3_a_lost_ack_makes_the_shard_resend_seq_7_which_is_not_counted_twice() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    global_ = Global()
    for i in range(6):
        shard.increment("x", 1, i)
        pump(shard, global_, i)
    shard.increment("x", 10, 10)
    (b7,) = batches(shard)
    assert b7.seq == 7
    assert not global_.handle_batch(b7, 11).duplicate  # applied, but the ack is lost
    assert global_.total("x") == 16

    deadline = shard.next_deadline
    assert deadline is not None and deadline.timer == "ack_timeout"
    shard.handle_timeout(deadline.at_ms)
    retry_at = shard.poll_timeout()
    assert retry_at is not None
    shard.handle_timeout(retry_at)
    (resent,) = batches(shard)
    assert (resent.seq, resent.reason, resent.entries) == (7, "retry", b7.entries)
    ack = global_.handle_batch(resent, retry_at)
    assert ack.duplicate
    assert shard.handle_ack(ack, retry_at)
    assert global_.total("x") == 16
    assert global_.stats.duplicates == 1


def test_4_a_failed_batch_is_resent_unchanged_and_later_increments_follow_it() -> None:
    shard = Shard(shard=0, incarnation=1)
    global_ = Global()
    shard.increment("x", 5, 0)
    assert shard.flush(0) == shardtally.FlushOutcome("sent", 1)
    (first,) = batches(shard)
    assert shard.handle_failure(first.seq, 1)
    shard.increment("x", 1, 2)
    shard.increment("y", 1, 3)
    retry_at = shard.poll_timeout()
    assert retry_at is not None and shard.next_deadline == shardtally.Deadline(retry_at, "retry")
    shard.handle_timeout(retry_at)
    (resent,) = batches(shard)
    assert (resent.seq, resent.reason, resent.deltas()) == (1, "retry", {"x": 5})
    assert shard.handle_ack(global_.handle_batch(resent, retry_at), retry_at)
    assert shard.flush(retry_at) == shardtally.FlushOutcome("sent", 2)
    (second,) = batches(shard)
    assert second.deltas() == {"x": 1, "y": 1}
    shard.handle_ack(global_.handle_batch(second, retry_at), retry_at)
    assert global_.totals() == {"x": 6, "y": 1}


def test_5_a_reset_drops_pending_deltas_accepted_before_it_and_is_published() -> None:
    counted = Shard(shard=0, incarnation=1)
    holding = Shard(shard=1, incarnation=1)
    global_ = Global()
    counted.increment("x", 10, 0)
    counted.flush(0)
    pump(counted, global_, 0)
    holding.increment("x", 5, 1)
    assert global_.total("x") == 10

    assert global_.reset("x", 2) == ResetOutcome("reset", previous=10, generation=1)
    assert global_.total("x") == 0
    (published,) = publishes(global_)
    assert (published.reason, published.entries) == ("reset", (("x", 0),))

    holding.flush(3)
    (stale,) = batches(holding)
    ack = global_.handle_batch(stale, 3)
    assert ack.stale_keys == (("x", 1),)
    holding.handle_ack(ack, 3)
    assert global_.total("x") == 0
    assert holding.generation == 1

    holding.increment("x", 2, 4)  # accepted after the shard learned of the reset: counts
    holding.flush(4)
    pump(holding, global_, 4)
    assert global_.total("x") == 2
    assert global_.reset("never-seen", 5) == ResetOutcome("not_defined")


def test_6_per_shard_write_statistics() -> None:
    global_ = Global()
    shard0 = Shard(shard=0, incarnation=1)
    shard1 = Shard(shard=1, incarnation=1)
    for shard, key, delta in ((shard0, "x", 1), (shard0, "x", 2), (shard1, "y", 5)):
        shard.increment(key, delta, 0)
        shard.flush(0)
        pump(shard, global_, 0)
    assert global_.shard_writes() == {0: ShardWrites(2, {"x": 3}), 1: ShardWrites(1, {"y": 5})}
    assert (global_.stats.total_writes, global_.stats.distinct_shards) == (3, 2)


def test_7_lowering_the_shard_count_drains_the_retired_shard() -> None:
    router = Router(shard_count=4)
    shards = [Shard(shard=i, incarnation=1) for i in range(4)]
    global_ = Global()
    shards[3].increment("x", 7, 0)
    assert router.set_shard_count(2) == [2, 3]
    assert router.draining == [2, 3]
    for index in router.draining:
        shards[index].drain(1)
        emitted = batches(shards[index])
        assert [b.reason for b in emitted] == (["drain"] if index == 3 else [])
        for b in emitted:
            shards[index].handle_ack(global_.handle_batch(b, 1), 1)
        assert shards[index].is_drained
        assert router.mark_drained(index)
    assert router.draining == []
    assert global_.total("x") == 7
    assert all(router.route(f"k{i}") < 2 for i in range(100))
