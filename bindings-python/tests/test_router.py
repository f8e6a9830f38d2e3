"""Every public method and property of `Router`, and the partition functions."""

from __future__ import annotations

import shardtally
from shardtally import Router


def test_hash_strategy_is_sticky_and_matches_the_partition_functions() -> None:
    router = Router(shard_count=8)
    assert (router.strategy, router.shard_count, router.pinned_shard, router.draining) == ("hash", 8, None, [])
    for i in range(200):
        key = f"page:/{i}"
        shard = router.route(key)
        assert shard == router.route(key)
        assert shard == shardtally.jump_hash(shardtally.key_hash(key), 8)
    assert shardtally.key_hash("x") == shardtally.key_hash("x") != shardtally.key_hash("y")
    assert 0 <= shardtally.key_hash("x") < 2**64
    assert shardtally.jump_hash(123, 0) == 0


def test_round_robin_random_and_pinned() -> None:
    rr = Router(strategy="round_robin", shard_count=3)
    assert [rr.route("k") for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    a = Router(strategy="random", shard_count=5, seed=9)
    b = Router(strategy="random", shard_count=5, seed=9)
    xs = [a.route("k") for _ in range(100)]
    assert xs == [b.route("k") for _ in range(100)]
    assert set(xs) == {0, 1, 2, 3, 4}
    pinned = Router(strategy="pinned", pinned_shard=2, shard_count=4)
    assert (pinned.strategy, pinned.pinned_shard, pinned.route("anything")) == ("pinned", 2, 2)


def test_shard_count_changes_and_draining() -> None:
    router = Router(shard_count=4)
    assert router.set_shard_count(2) == [2, 3]
    assert router.set_shard_count(3) == []  # raising takes shard 2 back
    assert router.draining == [3]
    assert router.mark_drained(3)
    assert not router.mark_drained(3)
    assert router.shard_count == 3
    assert repr(router) == "<Router strategy='hash' shard_count=3 draining=[]>"


def test_snapshot_and_restore() -> None:
    router = Router(strategy="round_robin", shard_count=4)
    router.route("a")
    router.set_shard_count(3)
    restored = Router.restore(router.snapshot())
    assert restored.snapshot() == router.snapshot()
    assert [restored.route("k") for _ in range(4)] == [router.route("k") for _ in range(4)]
    assert restored.draining == [3]
