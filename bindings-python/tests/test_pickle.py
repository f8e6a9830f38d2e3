"""Machines pickle through their snapshots; values and messages pickle too."""

from __future__ import annotations

import copy
import pickle

from support import batches, publishes, pump
from shardtally import (
    Audience,
    BatchEntry,
    BucketsMeta,
    BucketsStats,
    ClusterInfo,
    DailyTotal,
    Delivery,
    GossipDone,
    GossipReply,
    HashRange,
    MembershipStats,
    OfferOutcome,
    Route,
    RowOp,
    Send,
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
    Router,
    SendBatch,
    Shard,
    ShardRef,
    ShardStats,
    ShardWrites,
    StaleKey,
)


def test_shard_round_trip_keeps_state_settings_and_behaviour() -> None:
    shard = Shard(shard=3, incarnation=4, flush_after_requests=3, retry_initial_ms=7, retry_max_ms=70, seed=5)
    x = shard.intern("x")
    shard.increment_id(x, 1, 0)
    shard.increment("y", 2, 1)
    shard.increment("y", 2, 2)  # batch in flight
    shard.increment("z", 9, 3)
    back = pickle.loads(pickle.dumps(shard))
    assert isinstance(back, Shard)
    assert back.snapshot() == shard.snapshot()
    assert back.config == shard.config
    assert back.key_of(x) == "x"
    # Both behave identically from here on (jitter included: the seed state is kept).
    in_flight = shard.in_flight
    assert in_flight is not None
    for s in (shard, back):
        s.handle_failure(in_flight.seq, 10)
    assert back.poll_timeout() == shard.poll_timeout()
    assert copy.deepcopy(shard).snapshot() == shard.snapshot()


def test_global_and_tiered_global_round_trip() -> None:
    global_ = Global(persist_after_writes=1, publish_mode="changes", seed=3)
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("k", 5, 0)
    pump(shard, global_, 0)
    back = pickle.loads(pickle.dumps(global_))
    assert back.snapshot() == global_.snapshot()
    assert back.config == global_.config
    assert back.totals() == {"k": 5}
    assert publishes(back) == [global_.in_flight_publish]

    tiered = Global(upstream={"shard": 9, "incarnation": 9, "flush_after_requests": 5})
    pump(shard, tiered, 1)
    tiered_back = pickle.loads(pickle.dumps(tiered))
    assert tiered_back.snapshot() == tiered.snapshot()
    assert tiered_back.config == tiered.config and tiered_back.has_upstream()


def test_router_round_trip() -> None:
    router = Router(strategy="random", shard_count=5, seed=1)
    router.route("a")
    back = pickle.loads(pickle.dumps(router))
    assert [back.route("k") for _ in range(20)] == [router.route("k") for _ in range(20)]


def test_values_round_trip() -> None:
    shard = Shard(shard=1, incarnation=1, flush_after_requests=1)
    shard.increment("k", 1, 0)
    (b,) = batches(shard)
    ack = Global().handle_batch(b, 0)
    values: list[object] = [
        b,
        ack,
        SendBatch(b),
        Forward(b),
        Publish(1, "full", "manual", (KeyTotal("k", 1),)),
        ShardRef(1, 2),
        BatchEntry("k", 0, 1),
        FlushOutcome("sent", 1),
        FlushOutcome("nothing_pending"),
        PublishOutcome("nothing_changed"),
        ResetOutcome("reset", 1, 2),
        Deadline(1, "idle"),
        ShardStats(1, 2, 3, 4, 5, 6, 7, 8, 9),
        GlobalStats(1, 2, 3, 4, 5, 6, 7, 8, 9),
        ShardWrites(0, 1, (KeyDelta("k", 1),)),
        BatchWrite(1, 0, 1, 1, 1, (KeyDelta("k", 1),), 0),
        StaleKey("k", 1),
        ResetWrite(1, "k", 1, 1),
        RowOp("delete", "pending", b"\x00", None),
        HashRange(0, 2**64 - 1),
        Route("replica", replica="r1", reason="sticky", expires_at=5),
        Delivery("r1", Audience("all_except", connection="c1")),
        GossipDone(1, "r1", (GossipReply("r2", b"x"),), ("r3",), ()),
        ClusterInfo(1, 1, 1, 1, 0, None, MembershipStats(1)),
        DailyTotal("2022-10-17", "k", 3),
        BucketsMeta(0, BucketsStats(), b"sht"),
        OfferOutcome("dropped", reason="full"),
        Send(1, 1, b"m"),
    ]
    for value in values:
        back = pickle.loads(pickle.dumps(value))
        assert type(back) is type(value) and back == value, value
