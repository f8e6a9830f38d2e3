"""Worker processes that share keys through a PostgreSQL registrar and count into PostgreSQL
exactly once.

    python examples/pg_workers.py postgresql://postgres@127.0.0.1/postgres --workers 3 --kill-one

starts ``--workers`` OS processes (``pg_workers.py worker ...``). Each one:

1. joins the cluster with :class:`shardtally.pg.ShardRegistrar` and is told its index
   ``shard`` of ``num_shards`` and the ``epoch`` of that assignment;
2. runs a :class:`shardtally.Shard` for it, ``Shard(shard=shard, incarnation=epoch)``, and
   counts a stream of increments of the keys that index owns (``owner_mod(key_hash(key),
   num_shards) == shard``; a synthetic stream here, a queue or requests in real life);
3. applies the shard's batches to PostgreSQL, and acknowledges an increment once the batch
   carrying it is committed.

When the assignment changes (a worker joined, left or died), a worker drains the shard of
its old assignment (its batches still count) and starts one for the new assignment. With
``--kill-one`` the coordinator kills one worker with SIGKILL mid-stream; the others take its
keys over after its grace period. At the end the coordinator stops the rest with SIGTERM
(they drain and unregister) and checks that the totals in PostgreSQL equal the increments
the workers acknowledged, exactly.

**The PostgreSQL "global".** A :class:`shardtally.Global` applies a batch exactly once by
remembering, per ``(shard, incarnation)``, the last ``seq`` it applied: a shard has one
batch in flight at a time and re-sends a batch with the same ``seq``, so a batch whose
``seq`` is not newer than the last one applied is a duplicate. That rule is all the host
needs, in SQL: the table ``example_applied (shard, incarnation, last_seq)`` is upserted
*only when* ``seq`` is newer, and the batch's deltas are added to ``example_totals`` in the
*same transaction*, so a batch is counted once or not at all. ``incarnation = epoch`` makes
``(shard, incarnation)`` unique: the registrar gives an ``(index, epoch)`` pair to one holder
only, once, so two shards never share a sequence space. ``example_applied`` grows by one
row per assignment; rows of old epochs may be deleted once no worker can still retry them
(not done here).

**Acknowledged.** An increment is acknowledged when the transaction applying its batch has
committed; the worker then prints ``acked``. A worker killed between the commit and that
line leaves its last batch *in doubt*; the coordinator settles it as a client would, by
asking the store whether ``(shard, incarnation, seq)`` was applied. Increments a killed
worker had not yet shipped were never acknowledged and do not count.

``--lose-every N`` throws away the answer of every N-th committed batch, as a network might:
the shard re-sends the same batch and the SQL rule above recognises it as a duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

import shardtally
from shardtally.pg import ShardRegistrar

KEYS = [f"page:/{i:02d}" for i in range(32)]

# Short timers so a run takes seconds; production values are the defaults.
MEMBERSHIP: dict[str, Any] = {"heartbeat_interval_ms": 200, "grace_period_ms": 1000, "reshard_interval_ms": 500}
SHARD_SETTINGS: dict[str, Any] = {
    "flush_after_requests": 25,
    "flush_after_idle_ms": 50,
    "flush_max_age_ms": 200,
    "ack_timeout_ms": 2000,
    "retry_initial_ms": 10,
    "retry_max_ms": 100,
}

TABLES = """
CREATE TABLE IF NOT EXISTS {applied} (
    shard       integer NOT NULL,
    incarnation bigint  NOT NULL,
    last_seq    bigint  NOT NULL,
    PRIMARY KEY (shard, incarnation)
);
CREATE TABLE IF NOT EXISTS {totals} (
    key   text   PRIMARY KEY,
    total bigint NOT NULL
);
"""

# The Global's exactly-once rule: apply a batch only when its seq is newer than the last one
# applied for its (shard, incarnation). RETURNING yields a row exactly when it is newer.
APPLY = """
INSERT INTO {applied} AS a (shard, incarnation, last_seq) VALUES (%s, %s, %s)
ON CONFLICT (shard, incarnation) DO UPDATE SET last_seq = EXCLUDED.last_seq
WHERE a.last_seq < EXCLUDED.last_seq
RETURNING 1
"""
# In the same transaction: add the deltas (the batch's keys are sorted, so concurrent
# transactions lock rows in the same order and cannot deadlock).
ADD = """
INSERT INTO {totals} AS t (key, total) SELECT k, d FROM unnest(%s::text[], %s::bigint[]) AS u(k, d)
ON CONFLICT (key) DO UPDATE SET total = t.total + EXCLUDED.total
"""


def tables(schema: str) -> dict[str, sql.Composable]:
    return {"applied": sql.Identifier(schema, "example_applied"), "totals": sql.Identifier(schema, "example_totals")}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def emit(**record: Any) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def setup(url: str, schema: str) -> None:
    """Creates the example's tables, empty (the registrar creates its own when it starts).
    Each run uses a new cluster, whose epochs start at 1 again: old rows must go."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL(TABLES).format(**tables(schema)))
        conn.execute(sql.SQL("TRUNCATE {applied}, {totals}").format(**tables(schema)))


# ----- a worker -----


@dataclass
class Worker:
    url: str
    schema: str
    cluster: str
    lose_every: int
    period_s: float
    conn: psycopg.AsyncConnection[Any] | None = None
    current: shardtally.Shard | None = None
    owned: list[str] = field(default_factory=list)
    retiring: list[shardtally.Shard] = field(default_factory=list)
    stopping: bool = False
    committed: int = 0

    def on_changed(self, info: shardtally.ShardInfo) -> None:
        self.retire()
        if self.stopping:
            return
        self.current = shardtally.Shard(shard=info.shard, incarnation=info.epoch, **SHARD_SETTINGS)
        self.owned = [k for k in KEYS if shardtally.owner_mod(shardtally.key_hash(k), info.num_shards) == info.shard]
        emit(event="assigned", shard=info.shard, num_shards=info.num_shards, epoch=info.epoch)

    def on_lost(self, lost: shardtally.ShardLost) -> None:
        self.retire()
        emit(event="lost", shard=lost.shard, num_shards=lost.num_shards, epoch=lost.epoch, reason=lost.reason)

    def retire(self) -> None:
        """Stops counting into the current shard; its pending deltas still ship (drain)."""
        if self.current is not None:
            self.current.drain(now_ms())
            self.retiring.append(self.current)
            self.current = None

    async def deliver(self, shard: shardtally.Shard, batch: shardtally.Batch) -> None:
        emit(event="batch", shard=batch.shard, incarnation=batch.incarnation, seq=batch.seq, deltas=batch.deltas())
        names = tables(self.schema)
        assert self.conn is not None
        try:
            async with self.conn.transaction():
                cur = await self.conn.execute(sql.SQL(APPLY).format(**names), (batch.shard, batch.incarnation, batch.seq))
                fresh = await cur.fetchone() is not None
                if fresh:
                    keys = [e.key for e in batch.entries]
                    await self.conn.execute(sql.SQL(ADD).format(**names), (keys, [e.delta for e in batch.entries]))
        except psycopg.Error as e:
            emit(event="error", message=str(e))
            shard.handle_failure(batch.seq, now_ms())  # re-sent with the same seq after a backoff
            if self.conn.broken:
                self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            return
        if fresh:
            self.committed += 1
            if self.lose_every and self.committed % self.lose_every == 0:
                emit(event="answer_lost", shard=batch.shard, incarnation=batch.incarnation, seq=batch.seq)
                shard.handle_failure(batch.seq, now_ms())
                return
        # The shard takes its acknowledgement from a Global. Our global is the SQL above, which
        # already decided; an empty Global turns the batch into the Ack the shard expects.
        shard.handle_ack(shardtally.Global().handle_batch(batch, now_ms()), now_ms())
        emit(event="acked", shard=batch.shard, incarnation=batch.incarnation, seq=batch.seq, duplicate=not fresh)

    async def run(self) -> None:
        self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        registrar = ShardRegistrar(
            self.url,
            self.cluster,
            schema=self.schema,
            on_shard_changed=self.on_changed,
            on_shard_lost=self.on_lost,
            on_error=lambda e: emit(event="error", message=str(e)),
            **MEMBERSHIP,
        )
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        await registrar.start()
        emit(event="started", holder=registrar.holder)
        rng = random.Random()
        while not (self.stopping and self.current is None and not self.retiring):
            if self.current is not None and self.owned and not self.stopping:
                self.current.increment(rng.choice(self.owned), rng.randint(1, 3), now_ms())
            for shard in [s for s in (self.current, *self.retiring) if s is not None]:
                deadline = shard.poll_timeout()
                if deadline is not None and deadline <= now_ms():
                    shard.handle_timeout(now_ms())
                while (out := shard.poll_output()) is not None:
                    await self.deliver(shard, out.batch)
            self.retiring = [s for s in self.retiring if not s.is_drained]
            await asyncio.sleep(self.period_s)
        await registrar.stop(unregister=True)
        await self.conn.close()
        emit(event="done")

    def stop(self) -> None:
        self.stopping = True
        self.retire()


# ----- the coordinator -----


@dataclass
class Proc:
    """A worker process and what it printed."""

    popen: subprocess.Popen[str]
    seen: list[dict[str, Any]] = field(default_factory=list)

    def count(self, event: str, **match: Any) -> int:
        return sum(1 for e in self.seen if e["event"] == event and all(e.get(k) == v for k, v in match.items()))

    def assignment(self) -> dict[str, Any] | None:
        """The current assignment (None before the first and after a loss)."""
        a = [e for e in self.seen if e["event"] in ("assigned", "lost")]
        return a[-1] if a and a[-1]["event"] == "assigned" else None


@dataclass
class Report:
    """What a run did and found."""

    acknowledged: dict[str, int]
    totals: dict[str, int]
    in_doubt: int
    in_doubt_applied: int
    duplicates: int
    epochs: list[list[int]]
    final_assignments: list[tuple[int, int, int]]
    killed: bool


class Coordinator:
    """Starts the workers and reads what they print (one thread per worker, one queue)."""

    def __init__(self, argv: list[str], workers: int) -> None:
        self.lines: queue.Queue[tuple[Proc, dict[str, Any]]] = queue.Queue()
        self.procs = [Proc(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, bufsize=1)) for _ in range(workers)]
        self.ending: list[Proc] = []  # killed or told to stop: their exit is expected
        self.threads = [threading.Thread(target=self._read, args=(p,), daemon=True) for p in self.procs]
        for t in self.threads:
            t.start()

    def _read(self, p: Proc) -> None:
        assert p.popen.stdout is not None
        for line in p.popen.stdout:
            self.lines.put((p, json.loads(line)))

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Takes lines until ``check()`` holds; raises TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout} s; last lines: {[p.seen[-5:] for p in self.procs]}")
            for p in self.procs:
                if p not in self.ending and p.popen.poll() is not None:
                    raise RuntimeError(f"a worker exited with status {p.popen.returncode} (see its stderr above)")
            try:
                p, e = self.lines.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            p.seen.append(e)

    def close(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.kill()
            p.popen.wait()
        for t in self.threads:
            t.join(5)
        while not self.lines.empty():
            p, e = self.lines.get()
            p.seen.append(e)
        for p in self.procs:
            if p.popen.stdout is not None:
                p.popen.stdout.close()


def run(url: str, *, schema: str = "shardtally_example", workers: int = 3, seconds: float = 2.0, kill_one: bool = False, lose_every: int = 7) -> Report:
    """Runs the example: ``workers`` processes, one killed mid-stream with ``kill_one``.
    Empties the example's tables first."""
    setup(url, schema)
    cluster = f"example-{time.time_ns()}"
    argv = [sys.executable, __file__, "worker", url, "--schema", schema, "--cluster", cluster, "--lose-every", str(lose_every)]
    c = Coordinator(argv, workers)
    try:
        survivors = _drive(c, seconds, kill_one)
    finally:
        c.close()
    return _check(url, schema, c.procs, survivors, kill_one)


def _drive(c: Coordinator, seconds: float, kill_one: bool) -> list[Proc]:
    procs, n = c.procs, len(c.procs)

    def counting(group: list[Proc], count: int) -> bool:
        """Every worker of ``group`` has an index of ``count`` and acked 3 batches with it."""
        return all(
            (a := p.assignment()) is not None
            and a["num_shards"] == count
            and p.count("acked", shard=a["shard"], incarnation=a["epoch"]) >= 3
            for p in group
        )

    c.wait_for(lambda: counting(procs, n), 30, f"{n} workers counting")
    survivors = procs
    if kill_one:
        victim, survivors = procs[0], procs[1:]
        c.ending.append(victim)
        victim.popen.send_signal(signal.SIGKILL)  # mid-stream: increments pending, maybe a batch in flight
        victim.popen.wait()
        c.wait_for(lambda: counting(survivors, n - 1), 30, "the survivors counting")
    end = time.monotonic() + seconds
    c.wait_for(lambda: time.monotonic() >= end, seconds + 1, "the end of the run")
    for p in survivors:
        c.ending.append(p)
        p.popen.send_signal(signal.SIGTERM)  # drain, unregister, exit
    c.wait_for(lambda: all(p.count("done") == 1 for p in survivors), 30, "the workers to drain")
    return survivors


def _check(url: str, schema: str, procs: list[Proc], survivors: list[Proc], kill_one: bool) -> Report:
    acknowledged: Counter[str] = Counter()
    in_doubt = in_doubt_applied = duplicates = 0
    with psycopg.connect(url, autocommit=True) as conn:
        names = tables(schema)
        applied = {(s, i): q for s, i, q in conn.execute(sql.SQL("SELECT shard, incarnation, last_seq FROM {applied}").format(**names))}
        totals = {k: int(t) for k, t in conn.execute(sql.SQL("SELECT key, total FROM {totals}").format(**names))}
    for p in procs:
        batches = {(e["shard"], e["incarnation"], e["seq"]): e["deltas"] for e in p.seen if e["event"] == "batch"}
        acked = {(e["shard"], e["incarnation"], e["seq"]) for e in p.seen if e["event"] == "acked"}
        duplicates += p.count("acked", duplicate=True)
        for key, deltas in batches.items():
            if key not in acked:
                in_doubt += 1  # only a killed worker leaves these: ask the store
                if applied.get((key[0], key[1]), 0) < key[2]:
                    continue  # never committed: never acknowledged
                in_doubt_applied += 1
            acknowledged.update(deltas)
    return Report(
        acknowledged=dict(acknowledged),
        totals=totals,
        in_doubt=in_doubt,
        in_doubt_applied=in_doubt_applied,
        duplicates=duplicates,
        epochs=[[e["epoch"] for e in p.seen if e["event"] == "assigned"] for p in procs],
        final_assignments=sorted((a["shard"], a["num_shards"], a["epoch"]) for p in survivors for a in [[e for e in p.seen if e["event"] == "assigned"][-1]]),
        killed=kill_one,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    w = sub.add_parser("worker", help="one worker process (the coordinator starts these)")
    w.add_argument("url")
    w.add_argument("--schema", default="shardtally_example")
    w.add_argument("--cluster", required=True)
    w.add_argument("--lose-every", type=int, default=0)
    w.add_argument("--period-ms", type=float, default=3.0, help="pause between increments")
    if argv and argv[0] == "worker":
        a = parser.parse_args(argv)
        asyncio.run(Worker(a.url, a.schema, a.cluster, a.lose_every, a.period_ms / 1000).run())
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="PostgreSQL connection URL")
    parser.add_argument("--schema", default="shardtally_example")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to keep counting after the start")
    parser.add_argument("--kill-one", action="store_true", help="SIGKILL one worker mid-stream")
    parser.add_argument("--lose-every", type=int, default=7, help="throw away every N-th answer (0: none)")
    a = parser.parse_args(argv)
    report = run(a.url, schema=a.schema, workers=a.workers, seconds=a.seconds, kill_one=a.kill_one, lose_every=a.lose_every)
    total = sum(report.acknowledged.values())
    print(f"acknowledged {total} increments over {len(report.acknowledged)} keys; PostgreSQL totals {sum(report.totals.values())}")
    print(f"duplicates recognised: {report.duplicates}; in-doubt batches of a killed worker: {report.in_doubt} ({report.in_doubt_applied} applied)")
    print(f"epochs seen per worker: {report.epochs}; final assignments: {report.final_assignments}")
    ok = report.totals == report.acknowledged
    print("exactly once: totals == acknowledged" if ok else "MISMATCH between totals and acknowledged increments")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
