"""Cost of counting with shardtally versus a plain ``dict``, in one run, at 1, 100, 10 000 and
1 000 000 keys (the keys ``/api/v1/resource/<i>``, visited in a scattered order: stride 7919).

Every case is timed against the same work on a ``dict`` at the same size in the same run and
reported in nanoseconds per increment (per entry for ``increments``):

- ``keyed_increment``: ``shard.increment(key, 1, now_ms)`` against ``d[key] += 1``;
- ``increment_id``: ``shard.increment_id(id, 1, now_ms)`` (interned keys), same baseline;
- ``increment_ids``: ``shard.increment_ids(array('I'), array('q'), now_ms)``, 10 000 ids per
  call, same baseline;
- ``increments``: ``shard.increments({key: delta, ...}, now_ms)`` of 100 distinct keys per call
  (as many as there are when fewer), per entry, against merging the same dicts into a dict
  (``for k, v in m.items(): d[k] += v``);
- ``end_to_end``: the realistic loop: ``shard.increment`` with default settings (a batch every
  100 requests), after every call its outputs delivered to an in-process ``Global`` (default
  settings: a full publish every 100 batches) and the acknowledgement returned, every
  publish acknowledged; the clock advances 1 ms every 1000 increments; the global holds every
  key from the start; above 10 000 keys a tenth of the increments (at least 20 000, two full
  publishes). Baseline: ``d[key] += 1``.

The per-call cases use a shard whose flush triggers are off (only the increment path is
measured) and that already holds every key. Cases run ``--repeat`` times interleaved and the
best run counts.

Memory (``--memory``): bytes per counter of a shard (every key pending, nothing flushed) and
of a global (every key merged from a shard in batches of 10 000, published and acknowledged),
at 10 000 and 1 000 000 keys, next to a ``dict`` with the same keys. Engine memory is invisible
to ``tracemalloc``: each structure is built in a fresh interpreter, which reports its resident
set growth (``/proc/self/statm``, after ``gc.collect()`` and glibc's ``malloc_trim(0)``) over
the number of keys; the key strings are created before the first reading, so a structure that
keeps its own copy of the keys (the engine does, a ``dict`` does not) pays for it.

    python bench/bench.py [--smoke] [--memory] [--json PATH] [--sizes 1,100] [--repeat 5]

Prints a table and, with ``--json``, writes its rows (``{"op", "lang": "python", "keys", "ns",
"baseline_ns", "ratio"}``; memory rows ``{"op", "lang", "keys", "bytes", "key_bytes",
"baseline_bytes", "ratio"}``) for ``make bench`` (scripts/bench.sh). ``--smoke`` runs tiny
sizes and counts: it only checks that every case still runs.
"""

from __future__ import annotations

import argparse
import array
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import shardtally

NOW = 1_700_000_000_000
BATCH_IDS = 10_000
PER_CALL = 100
PER_MS = 1000


def keys_of(n: int) -> list[str]:
    return [f"/api/v1/resource/{i}" for i in range(n)]


def walk(n: int, length: int) -> list[int]:
    return [(i * 7919) % n for i in range(length)]


def quiet_shard(n: int) -> shardtally.Shard:
    return shardtally.Shard(
        shard=0,
        incarnation=1,
        flush_after_requests=0,
        flush_after_idle_ms=0,
        flush_max_age_ms=0,
        # The defaults (100 000) or more: as in the Node and WebAssembly benches.
        max_pending_keys=max(2 * n, 100_000),
        max_interned_keys=max(n, 100_000),
    )


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


Case = tuple[str, str, Callable[[], int]]


def cases_for(n: int, ops: int) -> list[Case]:
    """(op, role, run) for one key count; `run()` does the work and returns how many
    increments (entries) it made."""
    keys = keys_of(n)
    order = walk(n, ops)
    stream = [keys[i] for i in order]
    counts = dict.fromkeys(keys, 0)

    shard = quiet_shard(n)
    for part in chunks(keys, 10_000):
        shard.increments(dict.fromkeys(part, 1), NOW)
    ids = [shard.intern(k) for k in keys]
    id_stream = [ids[i] for i in order]
    id_chunks = [array.array("I", c) for c in chunks(id_stream, BATCH_IDS)]
    ones = array.array("q", [1]) * BATCH_IDS
    per_call = min(PER_CALL, n)
    mappings = [dict.fromkeys(c, 1) for c in chunks(stream, per_call)]
    entries = sum(len(m) for m in mappings)

    def dict_increment() -> int:
        d = counts
        for k in stream:
            d[k] += 1
        return len(stream)

    def dict_merge() -> int:
        d = counts
        for m in mappings:
            for k, v in m.items():
                d[k] += v
        return entries

    def keyed_increment() -> int:
        inc = shard.increment
        for k in stream:
            inc(k, 1, NOW)
        return len(stream)

    def increment_id() -> int:
        inc = shard.increment_id
        for i in id_stream:
            inc(i, 1, NOW)
        return len(stream)

    def increment_ids() -> int:
        inc = shard.increment_ids
        for c in id_chunks:
            inc(c, ones[: len(c)] if len(c) != BATCH_IDS else ones, NOW)
        return len(stream)

    def increments() -> int:
        inc = shard.increments
        for m in mappings:
            inc(m, NOW)
        return entries

    # At a million keys every full publish carries (and converts to Python) a million
    # entries: a tenth of the increments still spans two publishes.
    e2e = stream if n <= 10_000 else stream[: max(ops // 10, 20_000)]
    end_to_end = realistic_loop(keys, chunks(e2e, PER_MS))
    return [
        ("keyed_increment", "baseline", dict_increment),
        ("keyed_increment", "engine", keyed_increment),
        ("increment_id", "baseline", dict_increment),
        ("increment_id", "engine", increment_id),
        ("increment_ids", "baseline", dict_increment),
        ("increment_ids", "engine", increment_ids),
        ("increments", "baseline", dict_merge),
        ("increments", "engine", increments),
        ("end_to_end", "baseline", dict_increment),
        ("end_to_end", "engine", end_to_end),
    ]


def realistic_loop(keys: list[str], timed: list[list[str]]) -> Callable[[], int]:
    """The end-to-end case: default settings, every output delivered and acknowledged."""
    glob = shardtally.Global()
    # The global starts with every key (merged from another shard), as it would be after a
    # while at this many keys: a full publish then carries all of them.
    feeder = quiet_shard(10_000)
    for part in chunks(keys, 10_000):
        feeder.increments(dict.fromkeys(part, 1), NOW)
        feeder.flush(NOW)
        while (out := feeder.poll_output()) is not None:
            feeder.handle_ack(glob.handle_batch(out.batch, NOW), NOW)
    glob.publish(NOW)
    drain_global(glob, NOW)
    shard = shardtally.Shard(shard=1, incarnation=1)
    clock = [NOW]

    def run() -> int:
        inc, poll = shard.increment, shard.poll_output
        handle_batch, handle_ack = glob.handle_batch, shard.handle_ack
        n = 0
        for part in timed:
            now = clock[0] = clock[0] + 1
            for k in part:
                inc(k, 1, now)
                out = poll()
                while out is not None:
                    handle_ack(handle_batch(out.batch, now), now)
                    drain_global(glob, now)
                    out = poll()
            n += len(part)
        return n

    return run


def drain_global(glob: shardtally.Global, now: int) -> None:
    out = glob.poll_output()
    while out is not None:
        if isinstance(out, shardtally.Publish):
            glob.handle_publish_ack(out.version, now)
        out = glob.poll_output()


def measure(sizes: list[int], ops: int, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        cases = cases_for(n, ops)
        best = {(op, role): float("inf") for op, role, _ in cases}
        gc.collect()
        gc.disable()
        try:
            for _ in range(repeat):
                for op, role, run in cases:
                    start = time.perf_counter_ns()
                    done = run()
                    best[op, role] = min(best[op, role], (time.perf_counter_ns() - start) / done)
        finally:
            gc.enable()
        for op in dict.fromkeys(op for op, _, _ in cases):
            ns, base = best[op, "engine"], best[op, "baseline"]
            rows.append({"op": op, "lang": "python", "keys": n, "ns": round(ns, 3), "baseline_ns": round(base, 3), "ratio": round(ns / base, 3)})
        del cases
        gc.collect()
    return rows


# ----- memory -----


def resident() -> int:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build(structure: str, keys: list[str]) -> object:
    if structure == "dict":
        return dict.fromkeys(keys, 1)
    if structure == "shard":
        shard = quiet_shard(len(keys))
        for k in keys:
            shard.increment(k, 1, NOW)
        return shard
    glob = shardtally.Global(publish_mode="changes", max_keys=len(keys))
    feeder = quiet_shard(10_000)
    for part in chunks(keys, 10_000):
        feeder.increments(dict.fromkeys(part, 1), NOW)
        feeder.flush(NOW)
        while (out := feeder.poll_output()) is not None:
            feeder.handle_ack(glob.handle_batch(out.batch, NOW), NOW)
    glob.publish(NOW)
    drain_global(glob, NOW)
    glob.take_changes()
    del feeder
    return glob


def memory_child(structure: str, n: int) -> None:
    keys = keys_of(n)
    before = resident()
    kept = build(structure, keys)
    grown = resident() - before
    print(json.dumps({"bytes": grown / n, "alive": kept is not None}))


def memory(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        key_bytes = sum(len(k.encode()) for k in keys_of(n)) / n

        def child(structure: str) -> float:
            cmd = [sys.executable, __file__, "--memory-child", structure, str(n)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            return float(json.loads(out)["bytes"])

        base = child("dict")
        for structure, op in (("shard", "memory/shard_pending"), ("global", "memory/global_totals")):
            b = child(structure)
            rows.append({
                "op": op, "lang": "python", "keys": n, "bytes": round(b, 1), "key_bytes": round(key_bytes, 1),
                "baseline_bytes": round(base, 1), "ratio": round(b / base, 3),
            })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="shardtally vs dict: ns per increment, bytes per counter")
    parser.add_argument("--smoke", "--quick", action="store_true", help="tiny sizes: only checks that every case runs")
    parser.add_argument("--sizes", help="key counts, comma-separated (default 1,100,10000,1000000)")
    parser.add_argument("--increments", type=int, default=200_000, help="increments per case and round")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="also measure bytes per counter")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0
    sizes = [1, 100, 10_000, 1_000_000]
    memory_sizes = [10_000, 1_000_000]
    if args.smoke:
        sizes, memory_sizes, args.increments, args.repeat = [1, 100], [1000], 2000, 1
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]

    rows = measure(sizes, args.increments, args.repeat)
    if args.memory:
        rows += memory(memory_sizes)
    print(f"shardtally {shardtally.__version__} on Python {sys.version.split()[0]}: "
          f"{args.increments} increments per case, best of {args.repeat}; baseline: dict")
    print(f"{'operation':22} {'keys':>9} {'ns/op':>9} {'dict ns':>9} {'ratio':>7}")
    for r in rows:
        if "ns" in r:
            print(f"{r['op']:22} {r['keys']:>9} {r['ns']:9.2f} {r['baseline_ns']:9.2f} {r['ratio']:6.2f}x")
        else:
            print(f"{r['op']:22} {r['keys']:>9} {r['bytes']:8.1f}B {r['baseline_bytes']:8.1f}B {r['ratio']:6.2f}x"
                  f"  (keys {r['key_bytes']:.1f} B)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
