"""A durable shardtally host: asyncio, several shards, one global, SQLite.

Run it twice against the same database file and the second run resumes exactly where the
first stopped, even when the first was killed mid-way (``--crash-after``)::

    python sqlite_host.py --db counters.sqlite3 --events 2000 --run 1 --crash-after 1200
    python sqlite_host.py --db counters.sqlite3 --events 2000 --run 2
    sqlite3 counters.sqlite3 'select * from totals'

What it shows:

- Every machine is owned by one asyncio task (an actor). Inputs go in with ``now_ms`` from
  the wall clock; after every input the actor persists the snapshot when the state changed,
  then carries out ``poll_output()`` and sleeps until ``poll_timeout()``.
- A client's increment is acknowledged only after the shard's snapshot holding it is
  committed, so an acknowledged increment survives a crash.
- The global commits its snapshot (which holds the deduplication state) before it answers a
  batch, and writes each ``Publish`` into the ``totals`` table in the same transaction as
  its snapshot. A batch re-sent after a crash or a lost acknowledgement is therefore
  recognised as a duplicate: nothing is lost or counted twice.
- The network between shards and the global loses requests and answers (``--loss``); the
  shards retry with backoff.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

import shardtally

# Short timers so a run takes about a second; production values are the defaults.
SHARD_SETTINGS = dict(
    flush_after_requests=40,
    flush_after_idle_ms=25,
    flush_max_age_ms=200,
    ack_timeout_ms=200,
    retry_initial_ms=5,
    retry_max_ms=50,
)
KEYS = [f"page:/{name}" for name in ("home", "about", "blog", "docs", "pricing", "login", "search", "cart")]


def now_ms() -> int:
    """The host's clock: wall-clock milliseconds (survives restarts, unlike monotonic)."""
    return time.time_ns() // 1_000_000


def make_events(run: int, count: int) -> list[tuple[str, int]]:
    """The workload of one run: ``count`` deterministic ``(key, delta)`` increments."""
    rng = random.Random(f"shardtally-example-{run}")
    return [(rng.choice(KEYS), rng.randint(1, 5)) for _ in range(count)]


class Store:
    """The SQLite file: machine snapshots, published totals and the published version."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS shard_state (shard INTEGER PRIMARY KEY, snapshot BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS global_state (id INTEGER PRIMARY KEY CHECK (id = 0), snapshot BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS totals (key TEXT PRIMARY KEY, total INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """
        )

    def shard_snapshots(self) -> dict[int, bytes]:
        return {row[0]: row[1] for row in self.db.execute("SELECT shard, snapshot FROM shard_state")}

    def global_snapshot(self) -> bytes | None:
        row = self.db.execute("SELECT snapshot FROM global_state WHERE id = 0").fetchone()
        return None if row is None else bytes(row[0])

    def save_shard(self, shard: int, snapshot: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO shard_state VALUES (?, ?)", (shard, snapshot))

    def save_global(self, snapshot: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO global_state VALUES (0, ?)", (snapshot,))

    def save_publish(self, publish: shardtally.Publish, snapshot: bytes) -> None:
        """The KV write: the totals and the dedup state, in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO totals VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET total = excluded.total",
                publish.entries,
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('published_version', ?)", (publish.version,))
            self.db.execute("INSERT OR REPLACE INTO global_state VALUES (0, ?)", (snapshot,))

    def totals(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT key, total FROM totals ORDER BY key"))


class Lost(Exception):
    """The simulated network lost a request or its answer."""


class GlobalActor:
    """Owns the global: applies batches, persists before answering, writes publishes."""

    def __init__(self, store: Store, global_: shardtally.Global) -> None:
        self.store = store
        self.global_ = global_
        self.wake = asyncio.Event()
        self.after_input()  # a restored global may re-offer a publish

    def handle_batch(self, batch: bytes) -> bytes:
        ack = self.global_.handle_batch(batch, now_ms())
        self.after_input()  # the snapshot is committed before the ack leaves
        return ack.encode()

    def after_input(self) -> None:
        g = self.global_
        while (out := g.poll_output()) is not None:
            if isinstance(out, shardtally.Publish):
                self.store.save_publish(out, g.snapshot())
                g.handle_publish_ack(out.version, now_ms())
        if g.take_state_changed():
            self.store.save_global(g.snapshot())
        self.wake.set()

    async def run(self) -> None:
        while True:
            self.wake.clear()
            deadline = self.global_.poll_timeout()
            delay = None if deadline is None else max(0, deadline - now_ms()) / 1000
            try:
                await asyncio.wait_for(self.wake.wait(), delay)
            except asyncio.TimeoutError:
                self.global_.handle_timeout(now_ms())
                self.after_input()

    async def settle(self) -> None:
        """Publishes everything and waits until the publish is written."""
        while True:
            if self.global_.in_flight_publish is None and self.global_.publish(now_ms()).kind == "nothing_changed":
                return
            self.after_input()
            await asyncio.sleep(0.005)


@dataclass
class Network:
    """Delivers batches to the global, losing some requests and some answers."""

    global_actor: GlobalActor
    loss: float
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def send(self, batch: bytes) -> bytes:
        await asyncio.sleep(0.001)
        if self.rng.random() < self.loss:
            raise Lost("request lost")
        ack = self.global_actor.handle_batch(batch)
        await asyncio.sleep(0.001)
        if self.rng.random() < self.loss:
            raise Lost("answer lost")
        return ack


@dataclass
class Increment:
    key: str
    delta: int
    done: asyncio.Future[None]


@dataclass
class Acked:
    ack: bytes


@dataclass
class Failed:
    seq: int


@dataclass
class Flush:
    pass


Message = Union[Increment, Acked, Failed, Flush]


class ShardActor:
    """Owns one shard: increments, acknowledgements and failures arrive in one inbox."""

    def __init__(self, index: int, shard: shardtally.Shard, store: Store, network: Network) -> None:
        self.index = index
        self.shard = shard
        self.store = store
        self.network = network
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.deliveries: set[asyncio.Task[None]] = set()

    async def increment(self, key: str, delta: int) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inbox.put_nowait(Increment(key, delta, done))
        await done  # resolved once the increment is committed to SQLite

    def handle(self, message: Message) -> asyncio.Future[None] | None:
        t = now_ms()
        if isinstance(message, Increment):
            try:
                self.shard.increment(message.key, message.delta, t)
            except shardtally.InputError as e:  # rejected: nothing changed, tell the client
                message.done.set_exception(e)
                return None
            return message.done
        if isinstance(message, Acked):
            self.shard.handle_ack(message.ack, t)
        elif isinstance(message, Failed):
            self.shard.handle_failure(message.seq, t)
        else:
            self.shard.flush(t)
        return None

    async def run(self) -> None:
        self.after_input([])  # a restored shard may re-offer its in-flight batch
        while True:
            deadline = self.shard.poll_timeout()
            delay = None if deadline is None else max(0, deadline - now_ms()) / 1000
            try:
                first = await asyncio.wait_for(self.inbox.get(), delay)
            except asyncio.TimeoutError:
                self.shard.handle_timeout(now_ms())
                self.after_input([])
                continue
            waiting = []
            for message in [first] + [self.inbox.get_nowait() for _ in range(self.inbox.qsize())]:
                done = self.handle(message)
                if done is not None:
                    waiting.append(done)
            self.after_input(waiting)

    def after_input(self, waiting: list[asyncio.Future[None]]) -> None:
        if self.shard.take_state_changed():
            self.store.save_shard(self.index, self.shard.snapshot())
        for done in waiting:  # persisted: acknowledge the clients
            done.set_result(None)
        while (out := self.shard.poll_output()) is not None:
            task = asyncio.create_task(self.deliver(out.batch))
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)

    async def deliver(self, batch: shardtally.Batch) -> None:
        try:
            ack = await self.network.send(batch.encode())
        except Lost:
            self.inbox.put_nowait(Failed(batch.seq))
        else:
            self.inbox.put_nowait(Acked(ack))

    async def settle(self) -> None:
        """Flushes until nothing is pending or in flight."""
        while self.shard.pending_keys or self.shard.in_flight is not None:
            self.inbox.put_nowait(Flush())
            await asyncio.sleep(0.005)


def open_global(saved: bytes | None) -> shardtally.Global:
    """A new global, or the saved one (its snapshot holds totals and deduplication state)."""
    if saved is None:
        return shardtally.Global(
            publish_mode="changes", persist_after_writes=4, persist_after_idle_ms=30, retry_initial_ms=5, retry_max_ms=50
        )
    return shardtally.Global.restore(
        saved, publish_mode="changes", persist_after_writes=4, persist_after_idle_ms=30, retry_initial_ms=5, retry_max_ms=50
    )


async def serve(db: str, shards: int, events: Sequence[tuple[str, int]], crash_after: int | None, loss: float) -> None:
    store = Store(db)
    global_ = open_global(store.global_snapshot())
    global_actor = GlobalActor(store, global_)
    network = Network(global_actor, loss)
    saved = store.shard_snapshots()
    actors = []
    for i in range(shards):
        if i in saved:
            shard = shardtally.Shard.restore(saved[i], **SHARD_SETTINGS)
        else:  # a new life: a fresh incarnation, and the global's reset generation
            incarnation = int.from_bytes(os.urandom(8), "little")
            shard = shardtally.Shard(shard=i, incarnation=incarnation, generation=global_.generation, **SHARD_SETTINGS)
        actors.append(ShardActor(i, shard, store, network))
    router = shardtally.Router(strategy="hash", shard_count=shards)
    tasks = [asyncio.create_task(a.run()) for a in actors] + [asyncio.create_task(global_actor.run())]

    for n, (key, delta) in enumerate(events, start=1):
        await actors[router.route(key)].increment(key, delta)
        if n == crash_after:
            print(f"crashing after {n} acknowledged increments", flush=True)
            os._exit(75)  # like kill -9: no cleanup, only what SQLite committed survives

    for actor in actors:
        await actor.settle()
    await global_actor.settle()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    totals = store.totals()
    print(f"published totals: {sum(totals.values())} over {len(totals)} keys", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", required=True, help="SQLite file (created if missing, resumed if present)")
    parser.add_argument("--run", type=int, default=1, help="which workload to replay (see make_events)")
    parser.add_argument("--events", type=int, default=1000, help="increments in this run")
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--crash-after", type=int, default=None, help="exit abruptly after N increments")
    parser.add_argument("--loss", type=float, default=0.1, help="probability that the network loses a message")
    args = parser.parse_args(argv)
    events = make_events(args.run, args.events)
    asyncio.run(serve(args.db, args.shards, events, args.crash_after, args.loss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
