"""A PostgreSQL store for :class:`~shardtally.Buckets` (psycopg 3, asyncio).

The machine decides everything (days in its fixed ``utc_offset_minutes``, additive rollups,
retention, bounds); the store keeps its rows in three tables of a schema and writes, in one
transaction per :meth:`BucketsStore.apply`, exactly the rows the machine's change journal
(``take_changes()``) names — O(change), not O(state)::

    {schema}.buckets_raw    (day date, key text, count bigint, PRIMARY KEY (day, key))
    {schema}.buckets_daily  (day date, key text, total bigint, PRIMARY KEY (day, key))
    {schema}.buckets_meta   (id = 1, utc_offset_minutes integer, meta bytea)

The tables are created by the ``buckets`` migrations of ``migrations/`` (the same files as
the Node store's), applied by the hosts' shared runner: once, in order, under an advisory
lock. One process writes a
schema at a time (a session advisory lock; a second writer gets :class:`StoreLockedError`).
On open, and after any failed write, the machine is rebuilt from the stored rows
(``Buckets.from_rows``): what PostgreSQL holds is what counts.

The report queries (:func:`daily_totals`, :func:`period_totals`) read the daily totals
with the machine's ordering (by day then key; by key, bytewise) and its errors
(``InvalidArgumentError`` for a malformed argument, ``NotFoundError`` when empty), from any
connection. Days are stored as ``date`` and periods become date ranges without timestamps,
so the session's ``TimeZone`` never matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import sql

from shardtally import (
    Buckets,
    BucketsDailyDayDeleted,
    BucketsDailyRow,
    BucketsMeta,
    BucketsRawDayDeleted,
    BucketsRawRow,
    DailyTotal,
    InvalidConfigError,
    KeyTotal,
    NotFoundError,
)
from shardtally._settings import BucketsSettings
from shardtally.pg._conn import DEFAULT_SCHEMA, check_schema, migrate_async

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "BucketsStore",
    "StoreStats",
    "StoreLockedError",
    "migrate",
    "daily_totals",
    "period_totals",
]

T = TypeVar("T")

# The writer lock of a schema (a session advisory lock: a class, then hashtext of the schema).
_WRITER_LOCK = 0x53544257


class StoreLockedError(RuntimeError):
    """Another connection is the writer of this schema (it holds the writer lock)."""


async def migrate(conn: psycopg.AsyncConnection[Any], schema: str = DEFAULT_SCHEMA) -> list[int]:
    """Brings the store's tables in ``schema`` up to date (the ``buckets`` migrations of
    ``migrations/``, through the hosts' shared runner: idempotent, under an advisory lock).
    Returns the versions applied."""
    return await migrate_async(conn, component="buckets", schema=schema)


# ----- reports -----

_VALIDATOR = Buckets()  # an empty machine: its answer to a query is the engine's verdict on the arguments


def _not_found(query: Callable[[], object]) -> NotFoundError:
    """The engine's error for an empty answer to ``query`` (which raises
    ``InvalidArgumentError`` for malformed arguments)."""
    try:
        query()
    except NotFoundError as e:
        return e
    raise AssertionError("an empty machine answered a query")


async def daily_totals(
    conn: psycopg.AsyncConnection[Any], from_: str, to: str, *, schema: str = DEFAULT_SCHEMA
) -> list[DailyTotal]:
    """Daily totals of the days ``from_ ..= to`` (``"YYYY-MM-DD"``), by day, then key, as
    ``Buckets.daily_totals`` answers them."""
    not_found = _not_found(lambda: _VALIDATOR.daily_totals(from_, to))
    if to < "0001-01-01":  # PostgreSQL has no year 0 (and no stored day is before 1969)
        raise not_found
    cur = await conn.execute(
        sql.SQL(
            "SELECT to_char(day, 'YYYY-MM-DD'), key, total FROM {}.buckets_daily"
            " WHERE day BETWEEN %s::date AND %s::date ORDER BY day, key"
        ).format(sql.Identifier(check_schema(schema))),
        (max(from_, "0001-01-01"), to),
    )
    rows = await cur.fetchall()
    if not rows:
        raise not_found
    return [DailyTotal(day, key, int(total)) for day, key, total in rows]


async def period_totals(
    conn: psycopg.AsyncConnection[Any], period: str, *, schema: str = DEFAULT_SCHEMA
) -> tuple[KeyTotal, ...]:
    """Each key's total over a year, month or day (``"YYYY"``, ``"YYYY-MM"``,
    ``"YYYY-MM-DD"``), by key, as ``Buckets.period_totals`` answers them."""
    not_found = _not_found(lambda: _VALIDATOR.period_totals(period))
    first, span = {4: (f"{period}-01-01", "1 year"), 7: (f"{period}-01", "1 month")}.get(len(period), (period, "1 day"))
    if first < "0001-01-01":
        raise not_found
    cur = await conn.execute(
        sql.SQL(
            "SELECT key, sum(total)::bigint FROM {}.buckets_daily"
            " WHERE day >= %s::date AND day < (%s::date + %s::interval)::date GROUP BY key ORDER BY key"
        ).format(sql.Identifier(check_schema(schema))),
        (first, first, span),
    )
    rows = await cur.fetchall()
    if not rows:
        raise not_found
    return tuple(KeyTotal(key, int(total)) for key, total in rows)


# ----- the store -----


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What a :class:`BucketsStore` wrote."""

    transactions: int
    """Write transactions committed (one per ``apply`` that changed anything)."""
    rows_written: int
    """Rows inserted, updated or deleted by them (the meta row included)."""
    loads: int
    """Times the machine was rebuilt from the stored rows (the first open included)."""
    failures: int
    """Write transactions that failed (each one makes the next call reload)."""
    reconnects: int
    """Connections lost between writes and re-established without a reload (the stored rows
    were still this store's)."""


class BucketsStore:
    """One :class:`~shardtally.Buckets` machine kept in PostgreSQL. Open with
    :meth:`open`; change it only through :meth:`apply` (or the shortcuts) so every change
    is written; close with :meth:`aclose`.

    Calls are serialized (one connection, one transaction at a time). A connection lost
    between writes (closed by the server or a proxy while idle) is re-established before the
    next write, when the stored rows are still this store's. A failed write raises and marks
    the store stale: the next call reconnects and rebuilds the machine from the stored rows,
    so the failed change is not counted (report it to whoever sent it — the request counter's
    outbox re-sends once). As with any database, a commit whose acknowledgement was lost may
    have been applied.
    """

    def __init__(self, conninfo: str, schema: str, settings: BucketsSettings, connect: dict[str, Any]) -> None:
        """Use :meth:`open`."""
        self._conninfo = conninfo
        self._schema = check_schema(schema)
        self._settings = settings
        self._connect = connect
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._buckets = Buckets(**settings)
        self._stale = True
        self._lock = asyncio.Lock()
        self._transactions = self._rows_written = self._loads = self._failures = self._reconnects = 0
        self._written_meta: bytes | None = None  # the meta row as this store last read or wrote it
        ident = sql.Identifier(self._schema)
        self._q = {
            "raw_delete": sql.SQL("DELETE FROM {}.buckets_raw WHERE day = ANY(%s::date[])").format(ident),
            "raw_upsert": sql.SQL(
                "INSERT INTO {}.buckets_raw (day, key, count)"
                " SELECT * FROM unnest(%s::date[], %s::text[], %s::bigint[])"
                " ON CONFLICT (day, key) DO UPDATE SET count = EXCLUDED.count"
            ).format(ident),
            "daily_delete": sql.SQL("DELETE FROM {}.buckets_daily WHERE day = ANY(%s::date[])").format(ident),
            "daily_upsert": sql.SQL(
                "INSERT INTO {}.buckets_daily (day, key, total)"
                " SELECT * FROM unnest(%s::date[], %s::text[], %s::bigint[])"
                " ON CONFLICT (day, key) DO UPDATE SET total = EXCLUDED.total"
            ).format(ident),
            "meta_upsert": sql.SQL(
                "INSERT INTO {}.buckets_meta (id, utc_offset_minutes, meta) VALUES (1, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET utc_offset_minutes = EXCLUDED.utc_offset_minutes, meta = EXCLUDED.meta"
            ).format(ident),
            "raw_rows": sql.SQL("SELECT to_char(day, 'YYYY-MM-DD'), key, count FROM {}.buckets_raw").format(ident),
            "daily_rows": sql.SQL("SELECT to_char(day, 'YYYY-MM-DD'), key, total FROM {}.buckets_daily").format(ident),
            "meta_row": sql.SQL("SELECT utc_offset_minutes, meta FROM {}.buckets_meta WHERE id = 1").format(ident),
        }

    @classmethod
    async def open(
        cls,
        conninfo: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        connect_timeout: int = 10,
        **settings: Unpack[BucketsSettings],
    ) -> BucketsStore:
        """Connects, migrates ``schema``, takes the writer lock and rebuilds the machine
        (``settings`` are the ``Buckets`` settings; ``utc_offset_minutes`` must be the one the
        rows were written with). Raises :class:`StoreLockedError` when another connection
        writes the schema, ``InvalidConfigError`` for a different ``utc_offset_minutes``."""
        store = cls(conninfo, schema, settings, {"connect_timeout": connect_timeout})
        async with store._lock:
            await store._load()
        return store

    # ----- getters -----

    @property
    def buckets(self) -> Buckets:
        """The machine (read it freely; change it through :meth:`apply`). A reload replaces
        it: read this property again rather than keeping the object."""
        return self._buckets

    @property
    def schema(self) -> str:
        """The schema holding the tables."""
        return self._schema

    @property
    def stats(self) -> StoreStats:
        """What the store wrote so far."""
        return StoreStats(self._transactions, self._rows_written, self._loads, self._failures, self._reconnects)

    # ----- changes -----

    async def apply(self, fn: Callable[[Buckets], T]) -> T:
        """Runs ``fn(buckets)`` (any inputs of the machine), then writes every changed row in
        one transaction; returns what ``fn`` returned. If ``fn`` raises, what it changed
        before is still written and its exception re-raised. If the write fails, it raises
        and the next call rebuilds the machine from the stored rows."""
        async with self._lock:
            if self._stale:
                await self._load()
            try:
                result = fn(self._buckets)
            finally:
                await self._flush()
            return result

    async def flush(self) -> None:
        """Writes the changes of the machine not written yet (none, when every change went
        through :meth:`apply`)."""
        await self.apply(lambda b: None)

    async def record(self, key: str, at_ms: int, now_ms: int) -> None:
        """``Buckets.record``, written."""
        await self.apply(lambda b: b.record(key, at_ms, now_ms))

    async def record_many(self, entries: dict[str, int] | Iterable[tuple[str, int]], at_ms: int, now_ms: int) -> None:
        """``Buckets.record_many``, written."""
        await self.apply(lambda b: b.record_many(entries, at_ms, now_ms))

    async def rollup(self, period: str, now_ms: int) -> Any:
        """``Buckets.rollup``, written: raw counts of the period move into daily totals,
        adding to the stored ones; re-running it is harmless and late data adds."""
        return await self.apply(lambda b: b.rollup(period, now_ms))

    async def expire(self, now_ms: int) -> Any:
        """``Buckets.expire``, written."""
        return await self.apply(lambda b: b.expire(now_ms))

    async def handle_timeout(self, now_ms: int) -> None:
        """``Buckets.handle_timeout`` (retention), written."""
        await self.apply(lambda b: b.handle_timeout(now_ms))

    async def reconnect(self) -> None:
        """Reconnects and rebuilds the machine from the stored rows now (the next call would
        otherwise do it after a failure)."""
        async with self._lock:
            await self._load()

    # ----- reports -----

    async def daily_totals(self, from_: str, to: str) -> list[DailyTotal]:
        """:func:`daily_totals` over this store's schema, on its connection."""
        result: list[DailyTotal] = await self._read(lambda conn: daily_totals(conn, from_, to, schema=self._schema))
        return result

    async def period_totals(self, period: str) -> tuple[KeyTotal, ...]:
        """:func:`period_totals` over this store's schema, on its connection."""
        result: tuple[KeyTotal, ...] = await self._read(lambda conn: period_totals(conn, period, schema=self._schema))
        return result

    async def aclose(self) -> None:
        """Closes the connection, releasing the writer lock first: another store may open
        the schema as soon as this returns."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_WRITER_LOCK, self._schema))
                except psycopg.Error:
                    pass  # a broken connection: the server releases the lock when it ends
                await _close(conn)
            self._stale = True

    # ----- internals -----

    async def _read(self, query: Callable[[psycopg.AsyncConnection[Any]], Awaitable[Any]]) -> Any:
        """Runs a read; a lost connection is re-established (reloading the machine) and the
        read tried once more."""
        async with self._lock:
            for attempt in range(2):
                if self._stale or self._conn is None:
                    await self._load()
                assert self._conn is not None
                try:
                    return await query(self._conn)
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    self._stale = True
                    await self._drop_connection()
                    if attempt:
                        raise
            raise AssertionError("unreachable")

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)

    async def _connect_writer(self) -> psycopg.AsyncConnection[Any]:
        """A new connection holding the schema's writer lock."""
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, **self._connect)
        try:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_WRITER_LOCK, self._schema))
            row = await cur.fetchone()
            if not row or not row[0]:
                raise StoreLockedError(f"schema {self._schema!r} has another writer (its advisory lock is held)")
        except BaseException:
            await _close(conn)
            raise
        return conn

    async def _load(self) -> None:
        """(Re)connects, takes the writer lock, migrates and rebuilds the machine."""
        await self._drop_connection()
        conn = await self._connect_writer()
        try:
            await migrate(conn, self._schema)
            rows: list[BucketsRawRow | BucketsDailyRow | bytes] = []
            cur = await conn.execute(self._q["raw_rows"])
            rows.extend(BucketsRawRow(day, key, int(count)) for day, key, count in await cur.fetchall())
            cur = await conn.execute(self._q["daily_rows"])
            rows.extend(BucketsDailyRow(day, key, int(total)) for day, key, total in await cur.fetchall())
            cur = await conn.execute(self._q["meta_row"])
            meta = await cur.fetchone()
            offset = int(self._buckets.config.get("utc_offset_minutes", 0))
            written: bytes | None = None
            if meta is not None:
                if int(meta[0]) != offset:
                    raise InvalidConfigError(
                        f"utc_offset_minutes must be {meta[0]}, the offset the rows of schema {self._schema!r}"
                        f" were written with, got {offset}",
                        field="utc_offset_minutes",
                        expected=str(meta[0]),
                        value=str(offset),
                    )
                written = bytes(meta[1])
                rows.append(written)
            self._buckets = Buckets.from_rows(rows, **self._settings)
        except BaseException:
            await _close(conn)
            raise
        self._conn = conn
        self._written_meta = written
        self._stale = False
        self._loads += 1

    async def _resume(self) -> bool:
        """After the connection was lost between writes: a new connection, if the stored rows
        are still the ones this store last wrote (its meta row, which every write updates, is
        unchanged), so the machine need not be rebuilt."""
        await self._drop_connection()
        try:
            conn = await self._connect_writer()
        except Exception:
            return False
        try:
            cur = await conn.execute(self._q["meta_row"])
            meta = await cur.fetchone()
            if (None if meta is None else bytes(meta[1])) != self._written_meta:
                raise StoreLockedError("another writer changed the rows")
        except Exception:
            await _close(conn)
            return False
        self._conn = conn
        self._reconnects += 1
        return True

    async def _flush(self) -> None:
        changes = self._buckets.take_changes()
        if not changes:
            return
        raw_deleted: list[str] = []
        raw: tuple[list[str], list[str], list[int]] = ([], [], [])
        daily_deleted: list[str] = []
        daily: tuple[list[str], list[str], list[int]] = ([], [], [])
        meta: bytes | None = None
        for c in changes:
            if isinstance(c, BucketsRawRow):
                raw[0].append(c.day)
                raw[1].append(c.key)
                raw[2].append(c.count)
            elif isinstance(c, BucketsDailyRow):
                daily[0].append(c.day)
                daily[1].append(c.key)
                daily[2].append(c.total)
            elif isinstance(c, BucketsRawDayDeleted):
                raw_deleted.append(c.day)
            elif isinstance(c, BucketsDailyDayDeleted):
                daily_deleted.append(c.day)
            elif isinstance(c, BucketsMeta):
                meta = c.bytes
        # The journal's order: raw day deletions, raw upserts, daily day deletions, daily
        # upserts, the meta row; each kind is one statement.
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if raw_deleted:
            statements.append(("raw_delete", (raw_deleted,)))
        if raw[0]:
            statements.append(("raw_upsert", raw))
        if daily_deleted:
            statements.append(("daily_delete", (daily_deleted,)))
        if daily[0]:
            statements.append(("daily_upsert", daily))
        if meta is not None:
            offset = int(self._buckets.config.get("utc_offset_minutes", 0))
            statements.append(("meta_upsert", (offset, meta)))
        for attempt in range(2):
            conn = self._conn
            began = False
            written = 0
            try:
                if conn is None:
                    raise psycopg.OperationalError("the store is not connected")
                async with conn.transaction():
                    began = True
                    for name, params in statements:
                        cur = await conn.execute(self._q[name], params)
                        written += max(cur.rowcount, 0)
                break
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # Lost before the transaction began (an idle connection closed by the server
                # or a proxy): nothing of it was written; reconnect and write it once more.
                if attempt == 0 and not began and await self._resume():
                    continue
                await self._failed()
                raise
            except BaseException:
                await self._failed()
                raise
        if meta is not None:
            self._written_meta = meta
        self._transactions += 1
        self._rows_written += written

    async def _failed(self) -> None:
        self._failures += 1
        self._stale = True
        await self._drop_connection()


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    try:
        await conn.close()
    except Exception:
        pass
