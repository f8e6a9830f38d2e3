"""Sharing machines between threads: inputs are serialised, reads are safe, and long merges
run without the GIL so other Python threads keep running."""

from __future__ import annotations

import threading
import time

from support import batches
from shardtally import Batch, Global, Shard


def test_concurrent_increments_on_one_shard_are_all_counted() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0, flush_after_idle_ms=0, flush_max_age_ms=0)
    x = shard.intern("x")

    def work(n: int) -> None:
        for i in range(2000):
            shard.increment(f"k{i % 7}", 1, i)
            shard.increment_id(x, n, i)
            shard.increments({"m": 1, f"k{n}": 1}, i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shard.pending_delta("x") == 2000 * sum(range(8))
    assert shard.pending_delta("m") == 8 * 2000
    assert sum(e.delta for e in shard.pending()) == 8 * 2000 * 2 + 2000 * sum(range(8)) + 8 * 2000
    assert shard.stats.requests == 8 * 2000 * 3


def big_batch(keys: int) -> Batch:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0, max_pending_keys=keys)
    shard.increments([(f"key:{i}", 1) for i in range(keys)], 0)
    shard.flush(0)
    (b,) = batches(shard)
    return b


def test_large_merges_release_the_gil() -> None:
    batch = big_batch(200_000)
    stamps: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())

    global_ = Global()
    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        global_.handle_batch(batch, 1)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    assert global_.total("key:123") == 1
    # The ticker ran while the merge was in progress: the GIL was released.
    during = [s for s in stamps if start < s < end]
    assert during, f"no Python thread ran during a {1000 * (end - start):.1f} ms merge"


def test_readers_share_a_global_while_a_writer_merges() -> None:
    global_ = Global()
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(4)]
    stop = threading.Event()

    def reader(mine: list[int]) -> None:
        try:
            while not stop.is_set():
                total = global_.total("key:0")
                totals = global_.totals()
                assert total <= totals.get("key:0", total)
                assert isinstance(global_.snapshot(), bytes)
                mine.append(total)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    readers = [threading.Thread(target=reader, args=(mine,)) for mine in seen]
    for r in readers:
        r.start()
    try:
        for incarnation in range(1, 6):
            shard = Shard(shard=0, incarnation=incarnation, flush_after_requests=0, max_pending_keys=20_000)
            shard.increments([(f"key:{i}", 1) for i in range(20_000)], 0)
            shard.flush(0)
            (b,) = batches(shard)
            shard.handle_ack(global_.handle_batch(b, incarnation), incarnation)
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert not errors, errors
    assert global_.total("key:0") == 5
    for mine in seen:
        assert mine and mine == sorted(mine)  # a reader never sees a total go backwards
