"""The request counter delivering into the PostgreSQL buckets store, under uvicorn, while some
of the store's writes fail (a real failure of the sink): every request succeeds, and the
counts in PostgreSQL plus the counted drops are exactly the requests."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg
import pytest
from test_asgi import plain_app
from test_asgi_support import get_many, serve
from test_pg_store import stored_rows

from shardtally import Buckets
from shardtally.asgi import RequestCounter, RequestCountingMiddleware
from shardtally.pg import BucketsStore

PG_URL = os.environ.get("SHARDTALLY_PG_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL, reason="set SHARDTALLY_PG_URL to a PostgreSQL server (or run: scripts/postgres.sh bindings-python/scripts/test.sh)"
)

T = TypeVar("T")


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"st_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


class Blocked:
    """The store, with its writes made to fail for real (another session holds the meta row
    and the store's session gives up waiting, lock_timeout): at the third call of ``apply``,
    at the first call after the first reconnect (the re-sends: given up), and at the fifth
    call after the second reconnect (re-sent successfully)."""

    def __init__(self, store: BucketsStore, blocker: psycopg.AsyncConnection[object]) -> None:
        self.store, self.blocker = store, blocker
        self.reconnects = self.since_reconnect = 0

    async def apply(self, fn: Callable[[Buckets], T]) -> T:
        self.since_reconnect += 1
        if (self.reconnects, self.since_reconnect) not in {(0, 3), (1, 1), (2, 5)}:
            return await self.store.apply(fn)
        await self.blocker.execute(f'SELECT * FROM "{self.store.schema}".buckets_meta FOR UPDATE')
        try:
            return await self.store.apply(fn)
        finally:
            await self.blocker.rollback()

    async def reconnect(self) -> None:
        self.reconnects += 1
        self.since_reconnect = 0
        await self.store.reconnect()


def test_requests_counted_into_postgresql_while_its_writes_fail(schema: str) -> None:
    async def run() -> None:
        url = psycopg.conninfo.make_conninfo(PG_URL, options="-c lock_timeout=50")
        store = await BucketsStore.open(url, schema=schema)
        blocker = await psycopg.AsyncConnection.connect(PG_URL)
        counter = RequestCounter(
            Blocked(store, blocker),
            flush_interval_ms=5,
            outbox={"max_in_flight": 100, "reconnect_min_ms": 1, "reconnect_max_ms": 10, "seed": 3},
        )
        paths = [f"/items/{i}" if i % 2 else "/" for i in range(3_000)]
        try:
            async with serve(RequestCountingMiddleware(plain_app, counter=counter)) as port:
                statuses = await get_many(port, paths, connections=4)
        finally:
            await store.aclose()
            await blocker.close()
        assert statuses == [200] * 3_000
        s = counter.stats
        assert (s.requests, s.held, s.reconnects) == (3_000, 0, 3)
        assert s.gave_up > 0 and s.resends > s.gave_up, s
        assert s.delivered + s.dropped == 3_000
        rows = await stored_rows(schema)
        assert sum(v for *_, v in rows) == s.delivered
        assert {key for _, _, key, _ in rows} == {"GET /", "GET /items/:id"}
        assert store.stats.failures == 3 and store.stats.transactions == s.batches - 3

    asyncio.run(run())


def test_the_store_reports_what_the_counter_delivered(schema: str) -> None:
    async def run() -> None:
        store = await BucketsStore.open(PG_URL, schema=schema)
        counter = RequestCounter(store)
        for path in ["/a/1", "/a/2", "/b", "/a/3"]:
            counter.count_request("GET", path)
        await counter.aclose()
        (today,) = store.buckets.raw_days()
        await store.rollup(today, time.time_ns() // 1_000_000)
        assert dict(await store.period_totals(today)) == {"GET /a/:id": 3, "GET /b": 1}
        assert store.stats.transactions == 2  # one delivery, one rollup
        await store.aclose()

    asyncio.run(run())
