"""The PostgreSQL buckets store (shardtally.pg.store) against the server in SHARDTALLY_PG_URL
(``make test`` starts a throwaway one; ``scripts/postgres.sh <command>`` does it by hand).
Each test works in a schema of its own and drops it."""

from __future__ import annotations

import asyncio
import os
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shardtally import (
    Buckets,
    BucketsDailyRow,
    BucketsRawRow,
    DailyTotal,
    InvalidArgumentError,
    InvalidConfigError,
    NotFoundError,
)
from shardtally.pg import BucketsStore, StoreLockedError
from shardtally.pg._conn import migrations
from shardtally.pg.store import daily_totals, migrate, period_totals

PG_URL = os.environ.get("SHARDTALLY_PG_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL, reason="set SHARDTALLY_PG_URL to a PostgreSQL server (or run: scripts/postgres.sh bindings-python/scripts/test.sh)"
)

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_709_251_200_000  # 2024-03-01T00:00:00Z
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"st_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def with_session(url: str, **options: str) -> str:
    """``url`` with session settings (``-c name=value``) for every connection made with it."""
    opts = " ".join(f"-c {k}={v}" for k, v in options.items())
    return psycopg.conninfo.make_conninfo(url, options=opts)


@asynccontextmanager
async def opened(schema: str, url: str = PG_URL, **settings: Any) -> AsyncIterator[BucketsStore]:
    store = await BucketsStore.open(url, schema=schema, **settings)
    try:
        yield store
    finally:
        await store.aclose()


async def stored_rows(schema: str) -> set[tuple[str, str, str, int]]:
    """Every raw and daily row in the tables, as ``(table, day, key, value)``."""
    async with await psycopg.AsyncConnection.connect(PG_URL) as conn:
        out = set()
        for table in ("raw", "daily"):
            cur = await conn.execute(
                f"SELECT to_char(day, 'YYYY-MM-DD'), key, {'count' if table == 'raw' else 'total'} FROM \"{schema}\".buckets_{table}"
            )
            out |= {(table, d, k, int(v)) for d, k, v in await cur.fetchall()}
        return out


def machine_rows(b: Buckets) -> set[tuple[str, str, str, int]]:
    out = set()
    for row in b.rows():
        if isinstance(row, BucketsRawRow):
            out.add(("raw", row.day, row.key, row.count))
        elif isinstance(row, BucketsDailyRow):
            out.add(("daily", row.day, row.key, row.total))
    return out


async def terminate(application_name: str) -> None:
    """Terminates the server sessions of ``application_name`` and waits until they are gone."""
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        )
        for _ in range(500):
            cur = await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
            row = await cur.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.01)  # waiting for the server to end the session
        raise AssertionError("the session did not end")


# ----- schema -----


def test_migrations_apply_once_even_when_run_concurrently(schema: str) -> None:
    async def run() -> None:
        conns = [await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) for _ in range(3)]
        try:
            applied = await asyncio.gather(*(migrate(c, schema) for c in conns))
            assert sorted(applied) == [[], [], [m.version for m in migrations("buckets")]]
            assert await migrate(conns[0], schema) == []
            cur = await conns[0].execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s ORDER BY table_name, ordinal_position",
                (schema,),
            )
            columns = [tuple(r) for r in await cur.fetchall()]
            assert [c for c in columns if c[0].startswith("buckets_")] == [
                ("buckets_daily", "day", "date"),
                ("buckets_daily", "key", "text"),
                ("buckets_daily", "total", "bigint"),
                ("buckets_meta", "id", "smallint"),
                ("buckets_meta", "utc_offset_minutes", "integer"),
                ("buckets_meta", "meta", "bytea"),
                ("buckets_raw", "day", "date"),
                ("buckets_raw", "key", "text"),
                ("buckets_raw", "count", "bigint"),
            ]
        finally:
            for c in conns:
                await c.close()

    asyncio.run(run())


def test_the_buckets_migrations_are_numbered_from_one() -> None:
    # One source for both packages: the Node package's build copies these files
    # (bindings-node/scripts/migrations.mjs; its tests check the copy).
    files = sorted((ROOT / "bindings-python/python/shardtally/pg/migrations/buckets").glob("*.sql"))
    assert files
    assert [m.version for m in migrations("buckets")] == list(range(1, len(files) + 1))


# ----- writes -----


def test_one_transaction_per_apply_writes_only_the_changed_rows(schema: str) -> None:
    async def run() -> None:
        async with opened(schema) as store:
            keys = [f"GET /k{i}" for i in range(5)]

            def thousand(b: Buckets) -> None:
                for i in range(1_000):
                    b.record(keys[i % 5], T0 + i, T0 + 1_000)

            await store.apply(thousand)
            assert (store.stats.transactions, store.stats.rows_written) == (1, 6)  # 5 raw rows + the meta row
            await store.record("GET /k0", T0, T0 + 2_000)
            assert (store.stats.transactions, store.stats.rows_written) == (2, 8)
            await store.flush()  # nothing changed: no transaction
            assert store.stats.transactions == 2
            assert await stored_rows(schema) == machine_rows(store.buckets)
            assert store.buckets.raw_count("2024-03-01", "GET /k0") == 201

    asyncio.run(run())


def test_a_rollup_rerun_with_late_data_adds(schema: str) -> None:
    async def run() -> None:
        async with opened(schema) as store:
            await store.record_many({"GET /a": 3, "GET /b": 1}, T0 + HOUR, T0 + HOUR)
            first = await store.rollup("2024-03-01", T0 + 2 * HOUR)
            assert (first.days, first.events) == (1, 4)
            assert await stored_rows(schema) == {("daily", "2024-03-01", "GET /a", 3), ("daily", "2024-03-01", "GET /b", 1)}
            await store.record_many({"GET /a": 2}, T0 + 3 * HOUR, T0 + 5 * DAY)  # late data
            assert ("raw", "2024-03-01", "GET /a", 2) in await stored_rows(schema)
            again = await store.rollup("2024-03", T0 + 5 * DAY)
            assert (again.days, again.events) == (1, 2)
            assert await stored_rows(schema) == {("daily", "2024-03-01", "GET /a", 5), ("daily", "2024-03-01", "GET /b", 1)}
            nothing = await store.rollup("2024-03", T0 + 5 * DAY)  # re-running with nothing new
            assert nothing.events == 0
            assert await store.daily_totals("2024-03-01", "2024-03-01") == [
                DailyTotal("2024-03-01", "GET /a", 5),
                DailyTotal("2024-03-01", "GET /b", 1),
            ]

    asyncio.run(run())


# ----- reports -----


def test_reports_match_the_machine_whatever_the_session_time_zone(schema: str) -> None:
    """The machine's day is UTC-5 here; the store's session runs at UTC+14 with a day-month
    date style, a second reader at UTC-3:30: the days and totals are the machine's."""

    async def run() -> None:
        settings: dict[str, Any] = {"utc_offset_minutes": -300}
        twin = Buckets(**settings)
        url = with_session(PG_URL, TimeZone="Pacific/Kiritimati", DateStyle="SQL,DMY")
        rng = random.Random(12)
        keys = ["GET /a", "GET /z", "GET /é", "GET /É", "POST /a", "GET /A"]
        now = T0 + 4 * DAY
        async with opened(schema, url, **settings) as store:
            # 2024-03-01T03:00Z is still 2024-02-29 at UTC-5.
            await store.record("GET /leap", T0 + 3 * HOUR, now)
            twin.record("GET /leap", T0 + 3 * HOUR, now)
            assert ("raw", "2024-02-29", "GET /leap", 1) in await stored_rows(schema)
            for _ in range(40):
                at = T0 - 3 * DAY + rng.randrange(6 * DAY)
                entries = {rng.choice(keys): rng.randrange(1, 5) for _ in range(3)}
                await store.record_many(entries, at, now)
                twin.record_many(entries, at, now)
            for period in ("2024-02", "2024-03"):
                await store.rollup(period, now)
                twin.rollup(period, now)
            assert await stored_rows(schema) == machine_rows(twin) == machine_rows(store.buckets)

            async with await psycopg.AsyncConnection.connect(with_session(PG_URL, TimeZone="America/St_Johns")) as reader:
                for first, last in [("2024-02-26", "2024-03-03"), ("2024-02-29", "2024-02-29"), ("0000-01-01", "2024-02-28")]:
                    assert await store.daily_totals(first, last) == twin.daily_totals(first, last)
                    assert await daily_totals(reader, first, last, schema=schema) == twin.daily_totals(first, last)
                for period in ("2024", "2024-02", "2024-03", "2024-02-29", "2024-03-01"):
                    assert await store.period_totals(period) == twin.period_totals(period)
                    assert await period_totals(reader, period, schema=schema) == twin.period_totals(period)
                assert [t.key for t in await store.period_totals("2024")] == sorted(keys + ["GET /leap"], key=str.encode)

                for query in (lambda: twin.period_totals("2023"), lambda: twin.daily_totals("2024-04-01", "2024-04-30")):
                    with pytest.raises(NotFoundError) as expected:
                        query()
                    with pytest.raises(NotFoundError) as got:
                        if expected.value.query == "2023":
                            await period_totals(reader, "2023", schema=schema)
                        else:
                            await daily_totals(reader, "2024-04-01", "2024-04-30", schema=schema)
                    assert (got.value.message, got.value.fields) == (expected.value.message, expected.value.fields)
                with pytest.raises(NotFoundError):
                    await store.period_totals("0000")
                with pytest.raises(InvalidArgumentError):
                    await store.period_totals("2024-13")
                with pytest.raises(InvalidArgumentError):
                    await store.daily_totals("2024-03-02", "2024-03-01")
                with pytest.raises(InvalidArgumentError):
                    await daily_totals(reader, "2024-3-1", "2024-03-01", schema=schema)

    asyncio.run(run())


# ----- restarts and failures -----


def test_a_restart_resumes_from_the_stored_state(schema: str) -> None:
    async def run() -> None:
        twin = Buckets()
        events = [("GET /a", T0 + i * HOUR) for i in range(60)] + [("GET /b", T0 + i * 5 * HOUR) for i in range(10)]
        now = T0 + 3 * DAY
        async with opened(schema) as store:
            for key, at in events[:40]:
                await store.record(key, at, now)
                twin.record(key, at, now)
            await store.rollup("2024-03-01", now)
            twin.rollup("2024-03-01", now)
            before = store.buckets.rows()
        async with opened(schema) as store:
            assert store.buckets.rows() == before == twin.rows()  # the meta row (clock, stats) too
            for key, at in events[40:]:
                await store.record(key, at, now + HOUR)
                twin.record(key, at, now + HOUR)
            await store.rollup("2024-03", now + HOUR)
            twin.rollup("2024-03", now + HOUR)
            assert store.buckets.rows() == twin.rows()
            assert await stored_rows(schema) == machine_rows(twin)
            assert await store.period_totals("2024-03") == twin.period_totals("2024-03")

    asyncio.run(run())


def test_a_failed_write_is_not_counted_and_the_next_call_reloads(schema: str) -> None:
    """The write fails for real: another session holds the meta row and the store's session
    gives up waiting (lock_timeout); the transaction is rolled back."""

    async def run() -> None:
        url = with_session(PG_URL, lock_timeout="100")
        async with opened(schema, url) as store:
            await store.record("GET /a", T0, T0)
            async with await psycopg.AsyncConnection.connect(PG_URL) as blocker:
                await blocker.execute(f'SELECT * FROM "{schema}".buckets_meta FOR UPDATE')
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    await store.record("GET /a", T0, T0)  # applied in memory, not written
                await blocker.rollback()
            assert store.stats.failures == 1
            await store.record("GET /b", T0, T0)  # reloads: the failed event is gone
            assert (store.stats.loads, store.buckets.raw_count("2024-03-01", "GET /a")) == (2, 1)
            assert await stored_rows(schema) == {("raw", "2024-03-01", "GET /a", 1), ("raw", "2024-03-01", "GET /b", 1)}

    asyncio.run(run())


def test_a_connection_lost_while_idle_is_re_established_before_the_next_write(schema: str) -> None:
    async def run() -> None:
        name = f"st-{schema}"
        url = psycopg.conninfo.make_conninfo(PG_URL, application_name=name)
        async with opened(schema, url) as store:
            await store.record("GET /a", T0, T0)
            await terminate(name)
            await store.record("GET /a", T0, T0)  # nothing lost, nothing reloaded
            s = store.stats
            assert (s.loads, s.reconnects, s.failures, s.transactions) == (1, 1, 0, 2)
            await store.rollup("2024-03-01", T0)
            await terminate(name)
            assert dict(await store.period_totals("2024")) == {"GET /a": 2}  # a read reconnects once
            assert await stored_rows(schema) == {("daily", "2024-03-01", "GET /a", 2)}

    asyncio.run(run())


def test_a_lost_connection_is_not_resumed_when_another_writer_changed_the_rows(schema: str) -> None:
    async def run() -> None:
        name = f"st-{schema}"
        url = psycopg.conninfo.make_conninfo(PG_URL, application_name=name)
        async with opened(schema, url) as store:
            await store.record("GET /a", T0, T0)
            await terminate(name)
            async with opened(schema) as other:  # the lock was free: another writer came and went
                await other.record("GET /b", T0, T0)
            with pytest.raises(psycopg.OperationalError):
                await store.record("GET /a", T0, T0)
            await store.record("GET /c", T0, T0)  # reloads what the other writer left
            assert await stored_rows(schema) == {
                ("raw", "2024-03-01", "GET /a", 1),
                ("raw", "2024-03-01", "GET /b", 1),
                ("raw", "2024-03-01", "GET /c", 1),
            }

    asyncio.run(run())


def test_a_closed_store_has_released_its_writer_lock(schema: str) -> None:
    # aclose releases the lock before it returns, not at the server's end of the session:
    # the next writer opens at once.
    async def run() -> None:
        for i in range(10):
            async with opened(schema) as store:
                await store.record("GET /a", T0, T0)
            async with opened(schema) as again:
                assert again.buckets.raw_count("2024-03-01", "GET /a") == i + 1

    asyncio.run(run())


def test_one_writer_per_schema_and_one_offset_per_schema(schema: str) -> None:
    async def run() -> None:
        async with opened(schema, utc_offset_minutes=60) as store:
            await store.record("GET /a", T0, T0)
            with pytest.raises(StoreLockedError):
                await BucketsStore.open(PG_URL, schema=schema, utc_offset_minutes=60)
        with pytest.raises(InvalidConfigError) as info:
            await BucketsStore.open(PG_URL, schema=schema)
        assert info.value.fields["field"] == "utc_offset_minutes"
        async with opened(schema, utc_offset_minutes=60) as store:
            assert store.buckets.raw_count("2024-03-01", "GET /a") == 1

    asyncio.run(run())


# ----- the README -----


def test_the_readme_example_runs(schema: str) -> None:
    readme = (ROOT / "bindings-python/README.md").read_text(encoding="utf-8")
    section = readme.split("\n### PostgreSQL buckets store\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1).replace('schema="counts"', f'schema="{schema}"')
    assert f'schema="{schema}"' in source
    exec(compile(source, "README.md: PostgreSQL buckets store", "exec"), {"__name__": "readme"})
