"""Cost of counting with shardtally versus a plain ``dict``, in one run.

Every case counts the same stream of increments (keys drawn from a fixed key set, each +1)
and reports nanoseconds per increment and the ratio to ``d[key] += 1``:

- per call: ``shard.increment(key, 1, now_ms)`` and ``shard.increment_id(id, 1, now_ms)``;
- batch: ``increments(pairs, now_ms)`` of ``(key, 1)`` pairs, ``increment_ids(ids, 1, now_ms)`` with an
  ``array('I')`` of interned ids, the same with an ``array('q')`` of deltas, and
  ``increments(mapping)`` of already aggregated counts (per entry);
- the floor: ``shard.handle_timeout(now_ms)`` with nothing due, i.e. what any call across
  the boundary costs before the engine does real work.

The shard's flush triggers are off, so only the increment path is measured. Each case runs
``--repeat`` times interleaved with the others and the best run counts.

    python bench/bench.py [--increments 200000] [--keys 1000] [--repeat 7] [--quick]
"""

from __future__ import annotations

import argparse
import array
import gc
import random
import sys
import time
from collections.abc import Callable

import shardtally


def build(n_increments: int, n_keys: int) -> tuple[list[str], list[str]]:
    rng = random.Random(42)
    key_set = [f"user:{i:06d}" for i in range(n_keys)]
    return key_set, [rng.choice(key_set) for _ in range(n_increments)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="shardtally vs dict: ns per increment")
    parser.add_argument("--increments", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: only checks that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.increments, args.keys, args.repeat = 2000, 50, 1

    key_set, stream = build(args.increments, args.keys)
    shard = shardtally.Shard(
        shard=0,
        incarnation=1,
        flush_after_requests=0,
        flush_after_idle_ms=0,
        flush_max_age_ms=0,
        max_interned_keys=args.keys,
        max_pending_keys=args.keys,
    )
    ids = {key: shard.intern(key) for key in key_set}
    id_stream = [ids[k] for k in stream]
    id_array = array.array("I", id_stream)
    ones = array.array("q", [1]) * len(stream)
    aggregated: dict[str, int] = {}
    for k in stream:
        aggregated[k] = aggregated.get(k, 0) + 1
    now = 1_700_000_000_000
    counts = {k: 0 for k in key_set}

    def dict_loop() -> int:
        d = counts
        for k in stream:
            d[k] += 1
        return len(stream)

    def increment_loop() -> int:
        inc = shard.increment
        for k in stream:
            inc(k, 1, now)
        return len(stream)

    def increment_id_loop() -> int:
        inc = shard.increment_id
        for i in id_stream:
            inc(i, 1, now)
        return len(stream)

    def call_floor() -> int:
        tick = shard.handle_timeout
        for _ in stream:
            tick(now)
        return len(stream)

    pairs = [(k, 1) for k in stream]

    def increments_pairs_batch() -> int:
        shard.increments(pairs, now)
        return len(stream)

    def increment_ids_batch() -> int:
        shard.increment_ids(id_array, 1, now)
        return len(stream)

    def increment_ids_deltas_batch() -> int:
        shard.increment_ids(id_array, ones, now)
        return len(stream)

    def increments_mapping() -> int:
        shard.increments(aggregated, now)
        return len(aggregated)

    cases: list[tuple[str, str, Callable[[], int]]] = [
        ("baseline", "dict: d[key] += 1", dict_loop),
        ("per call", "shard.increment(key, 1, now_ms)", increment_loop),
        ("per call", "shard.increment_id(id, 1, now_ms)", increment_id_loop),
        ("floor", "shard.handle_timeout(now_ms) (nothing due)", call_floor),
        ("batch", "shard.increments(list of (key, 1) pairs, now_ms)", increments_pairs_batch),
        ("batch", "shard.increment_ids(array('I'), 1, now_ms)", increment_ids_batch),
        ("batch", "shard.increment_ids(array('I'), array('q'), now_ms)", increment_ids_deltas_batch),
        ("batch", f"shard.increments(dict of {len(aggregated)}) per entry", increments_mapping),
    ]
    best = {name: float("inf") for _, name, _ in cases}
    gc.disable()
    try:
        for _ in range(args.repeat):
            for _, name, run in cases:
                start = time.perf_counter_ns()
                n = run()
                best[name] = min(best[name], (time.perf_counter_ns() - start) / n)
    finally:
        gc.enable()
    # Every shard case counted the whole stream into the same shard: check nothing was lost.
    counting_cases = sum(1 for kind, _, _ in cases if kind in ("per call", "batch"))
    counted = sum(e.delta for e in shard.pending())
    assert counted == counting_cases * args.repeat * len(stream), (counted, counting_cases)
    baseline = best["dict: d[key] += 1"]

    print(f"shardtally {shardtally.__version__} on Python {sys.version.split()[0]}: "
          f"{len(stream)} increments over {len(key_set)} keys, best of {args.repeat}")
    print(f"{'kind':9} {'case':58} {'ns/incr':>9} {'x dict':>8}")
    for kind, name, _ in cases:
        print(f"{kind:9} {name:58} {best[name]:9.2f} {best[name] / baseline:8.3f}")
    per_call = best["shard.increment(key, 1, now_ms)"] / baseline
    batch = best["shard.increment_ids(array('I'), 1, now_ms)"] / baseline
    print(f"goals: per call <= 1.0x dict: {per_call:.2f}x; batch <= 0.05x dict: {batch:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
