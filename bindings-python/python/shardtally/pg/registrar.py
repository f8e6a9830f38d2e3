"""A PostgreSQL registrar for :class:`shardtally.Membership` (asyncio, psycopg 3): the
processes of a cluster get unique shard indices, as with @jcoreio/postgres-shard-coordinator.

The cluster's machine lives in PostgreSQL, one row per cluster (``membership_clusters``,
the ``snapshot_cluster`` bytes). Every heartbeat is one transaction: lock the row
(``SELECT ... FOR UPDATE``), read the database clock, restore the machine
(``Membership.restore_clusters``), ``register`` the holder (a heartbeat, which also expires
late holders and reshards when due), write the row back and ``NOTIFY`` the outputs, then
commit. The engine decides everything; this module only carries out the SQL, the timers and
the callbacks. The Node package's ``shardtally/pg`` does the same with the same schema, so
Python and Node processes can share a cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg import sql

from shardtally import (
    HolderExpiredError,
    Membership,
    NotAssignedError,
    ShardChanged,
    ShardInfo,
    ShardLost,
    UnknownClusterError,
    UnknownHolderError,
)
from shardtally.pg._conn import DEFAULT_SCHEMA, channel, check_schema, migrate_async

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from shardtally._settings import MembershipSettings

__all__ = ["ShardRegistrar"]

log = logging.getLogger("shardtally.pg")

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; longer ones (only possible with
# ids far above the default max_id_bytes) are not sent, and their holders learn by polling.
_MAX_PAYLOAD_BYTES = 7999

_NOW = "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

_NOT_HELD = (NotAssignedError, HolderExpiredError, UnknownHolderError, UnknownClusterError)

_Input = Callable[[Membership, int], None]


def payload(out: ShardChanged | ShardLost) -> str:
    """The NOTIFY payload of a membership output: its canonical JSON form (the golden traces'
    form: snake_case fields and a ``type`` tag), which the Node registrar also writes."""
    fields: dict[str, object] = {
        "type": out._type,
        "cluster": out.cluster,
        "holder": out.holder,
        "shard": out.shard,
        "num_shards": out.num_shards,
        "epoch": out.epoch,
    }
    if isinstance(out, ShardLost):
        fields["reason"] = out.reason
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ShardRegistrar:
    """One process's membership of a cluster: a unique ``shard`` index in
    ``range(num_shards)`` with its fencing ``epoch``, kept by heartbeats in PostgreSQL.

    ``conninfo`` is a libpq connection string or URL; the registrar opens two connections
    (one for its transactions, one to ``LISTEN``). ``settings`` are ``Membership``'s
    (``heartbeat_interval_ms``, ``grace_period_ms``, ``reshard_interval_ms``, ...; every
    process of a cluster must use the same ones), validated here. ``holder`` defaults to a
    random UUID, kept across ``stop()`` / ``start()``. ``schema`` (default ``"shardtally"``)
    holds the tables; ``start()`` creates or updates them unless ``migrate=False``.
    ``listen=False`` turns LISTEN/NOTIFY off (e.g. behind a transaction-mode pooler): the
    assignment then arrives by polling, at the next heartbeat.

    Callbacks run on the event loop and must not block: ``on_shard_changed(ShardInfo)``
    whenever ``(shard, num_shards, epoch)`` changes, ``on_shard_lost(ShardLost)`` when the
    index is lost (``"expired"``: the holder missed its deadline, as seen by the database or
    by the local clock; ``"unregistered"``), ``on_error(exception)`` for every failure of a
    heartbeat or of the listener (without it, errors are logged to ``shardtally.pg``). An
    error never stops the heartbeats; an exception raised by a callback is reported to
    ``on_error`` (or logged) and changes nothing else.

    ``await start()`` connects (raising on failure), migrates and starts heartbeating;
    ``await stop(unregister=True)`` stops and frees the index at once (without
    ``unregister`` it stays taken until the holder expires). Starts and stops run one at a
    time, in call order, so a quick stop → start never runs two loops. ``async with`` starts
    and stops with ``unregister=True``.
    """

    def __init__(
        self,
        conninfo: str,
        cluster: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        holder: str | None = None,
        migrate: bool = True,
        listen: bool = True,
        on_shard_changed: Callable[[ShardInfo], object] | None = None,
        on_shard_lost: Callable[[ShardLost], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        **settings: Unpack[MembershipSettings],
    ) -> None:
        self._conninfo = conninfo
        self._cluster = cluster
        self._holder = holder if holder is not None else str(uuid.uuid4())
        self._schema = check_schema(schema)
        self._channel = channel(schema, "membership")
        self._settings = settings
        # The engine validates the settings and the ids now rather than at the first beat.
        probe = Membership(**settings)
        probe.register(cluster, self._holder, 0)
        config = probe.config
        self._heartbeat_s = config["heartbeat_interval_ms"] / 1000
        self._ttl_s = (config["heartbeat_interval_ms"] + config["grace_period_ms"]) / 1000
        self._migrate = migrate
        self._listen = listen
        self._application_name = f"shardtally.pg {self._holder}"[:63]
        self.on_shard_changed = on_shard_changed
        self.on_shard_lost = on_shard_lost
        self.on_error = on_error

        table = sql.Identifier(schema, "membership_clusters")
        self._q_lock = sql.SQL("SELECT state FROM {} WHERE cluster = %s FOR UPDATE").format(table)
        self._q_insert = sql.SQL("INSERT INTO {} (cluster) VALUES (%s) ON CONFLICT (cluster) DO NOTHING").format(table)
        self._q_write = sql.SQL(
            "WITH written AS (UPDATE {} SET state = %s, epoch = %s, num_shards = %s, holders = %s,"
            " next_deadline_ms = %s, updated_at = clock_timestamp() WHERE cluster = %s)"
            " SELECT pg_notify(%s, p) FROM unnest(%s::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i"
        ).format(table)

        self._lifecycle = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._info: ShardInfo | None = None
        # The newest (epoch, phase) applied, phase 0 = assigned, 1 = lost: pushed and polled
        # news arrive in any order, and older news never override newer.
        self._key: tuple[int, int] | None = None
        self._expires_at: float | None = None  # local monotonic time the holder expires at
        self._expiry_timer: asyncio.TimerHandle | None = None

    # ----- getters -----

    @property
    def cluster(self) -> str:
        """The cluster."""
        return self._cluster

    @property
    def holder(self) -> str:
        """This registrar's holder id."""
        return self._holder

    @property
    def application_name(self) -> str:
        """The ``application_name`` of the registrar's connections (``pg_stat_activity``)."""
        return self._application_name

    @property
    def running(self) -> bool:
        """Whether the heartbeat loop runs (between ``start()`` and ``stop()``)."""
        return self._task is not None

    def shard_info(self) -> ShardInfo:
        """The current assignment. Raises ``NotAssignedError`` while there is none (before the
        first reshard that includes this holder, after losing it, and when stopped)."""
        self._check_expiry()
        if self._info is None:
            raise NotAssignedError(
                f"holder {self._holder!r} of cluster {self._cluster!r} has no shard assigned",
                cluster=self._cluster,
                holder=self._holder,
            )
        return self._info

    # ----- lifecycle -----

    async def start(self) -> None:
        """Connects, migrates the schema (unless ``migrate=False``), listens and starts the
        heartbeats; the first one runs at once. A no-op when running. Raises when the
        database cannot be reached (nothing keeps running then)."""
        async with self._lifecycle:
            if self._task is not None:
                return
            conn = await self._connect()
            try:
                if self._migrate:
                    await migrate_async(conn, component="membership", schema=self._schema)
                self._conn = conn
                self._stopping = False
                self._info, self._key, self._expires_at = None, None, None
                if self._listen:
                    await self._start_listener()
            except BaseException:
                self._conn = None
                await conn.close()
                raise
            self._wake.clear()
            self._task = asyncio.create_task(self._run(), name=f"shardtally.pg registrar {self._holder}")

    async def stop(self, *, unregister: bool = False) -> None:
        """Stops heartbeating (after the transaction in progress, if any) and closes the
        connections. With ``unregister=True`` the holder leaves the cluster in one more
        transaction, so its index is free at once (``on_shard_lost`` reports it); otherwise the
        index stays taken until the holder expires. Afterwards ``shard_info()`` raises."""
        async with self._lifecycle:
            task = self._task
            if task is None:
                return
            self._stopping = True
            self._wake.set()
            await task
            self._task = None
            if self._expiry_timer is not None:
                self._expiry_timer.cancel()
                self._expiry_timer = None
            await self._stop_listener()
            if unregister:
                try:
                    await self._transact(lambda m, now: m.unregister(self._cluster, self._holder, now))
                except _NOT_HELD:
                    pass
                except Exception as e:  # noqa: BLE001 (reported; the index frees at expiry)
                    self._report(e)
                if self._info is not None:
                    i = self._info
                    self._emit_lost(ShardLost(i.cluster, i.holder, i.shard, i.num_shards, i.epoch, "unregistered"))
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
            self._info, self._key, self._expires_at = None, None, None

    async def __aenter__(self) -> ShardRegistrar:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(unregister=True)

    # ----- the loop -----

    async def _run(self) -> None:
        while not self._stopping:
            delay = await self._beat()
            self._check_expiry()
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def _beat(self) -> float:
        """One heartbeat transaction; returns the seconds until the next one is due."""
        started = time.monotonic()
        try:
            if self._listen and (self._listen_task is None or self._listen_task.done()):
                await self._start_listener()
            m, now, outputs = await self._transact(self._register)
        except Exception as e:  # noqa: BLE001 (an error never stops the heartbeats)
            self._report(e)
            retry = self._heartbeat_s
            if self._expires_at is not None:
                retry = min(retry, max(0.001, self._expires_at - time.monotonic()))
            return retry
        observed = time.monotonic()
        self._expires_at = started + self._ttl_s
        # A timer of its own: a heartbeat that hangs (a lock, a dead network) must not delay
        # giving the index up.
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        self._expiry_timer = asyncio.get_running_loop().call_later(self._expires_at - observed, self._check_expiry)
        for out in outputs:
            if out.holder == self._holder:
                self._apply(out)
        try:
            i = m.shard_info(self._cluster, self._holder, now)
            self._assign(ShardInfo(i.cluster, i.holder, i.shard, i.num_shards, i.epoch))
        except _NOT_HELD:
            info = m.cluster_info(self._cluster)
            self._lose(info.epoch if info is not None else 0, "expired")
        # Wake for the cluster's next deadline (a holder's expiry or a reshard the rate limit
        # allows) when it comes before the next heartbeat: the beat then carries it out.
        delay = self._heartbeat_s - (time.monotonic() - started)
        deadline = m.poll_timeout()
        if deadline is not None:
            delay = min(delay, (deadline - now) / 1000 - (time.monotonic() - observed))
        return max(delay, 0.001)

    def _register(self, m: Membership, now: int) -> None:
        m.register(self._cluster, self._holder, now)
        if self._key is None or self._key[1] != 1:
            return
        # This registrar gave up an assignment the database still holds for it (its local
        # clock saw the deadline pass first): leave and join again for a new epoch, so that
        # an (index, epoch) pair is never handed out twice.
        try:
            held = m.shard_info(self._cluster, self._holder, now)
        except _NOT_HELD:
            return
        if held.epoch == self._key[0]:
            m.unregister(self._cluster, self._holder, now)
            m.register(self._cluster, self._holder, now)

    async def _transact(self, action: _Input) -> tuple[Membership, int, list[ShardChanged | ShardLost]]:
        """Runs one input on the cluster's row in one locking transaction."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                await conn.close()
            conn = self._conn = None
            conn = self._conn = await self._connect()
        async with conn.transaction():
            row = await (await conn.execute(self._q_lock, (self._cluster,))).fetchone()
            if row is None:
                await conn.execute(self._q_insert, (self._cluster,))
                row = await (await conn.execute(self._q_lock, (self._cluster,))).fetchone()
            clock = await (await conn.execute(_NOW)).fetchone()
            assert row is not None and clock is not None
            now = int(clock[0])
            m = Membership.restore_clusters([row[0]] if row[0] is not None else [], **self._settings)
            action(m, now)
            outputs: list[ShardChanged | ShardLost] = []
            while (out := m.poll_output()) is not None:
                outputs.append(out)
            if m.take_state_changed():
                info = m.cluster_info(self._cluster)
                payloads = [p for p in map(payload, outputs) if len(p.encode()) <= _MAX_PAYLOAD_BYTES]
                await conn.execute(
                    self._q_write,
                    (
                        m.snapshot_cluster(self._cluster),
                        info.epoch if info else 0,
                        info.num_shards if info else 0,
                        info.holders if info else 0,
                        m.poll_timeout(),
                        self._cluster,
                        self._channel,
                        payloads,
                    ),
                )
        return m, now, outputs

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, application_name=self._application_name)

    # ----- notifications -----

    async def _start_listener(self) -> None:
        await self._stop_listener()
        conn = await self._connect()
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except BaseException:
            await conn.close()
            raise
        self._listener = conn
        self._listen_task = asyncio.create_task(self._listen_loop(conn), name=f"shardtally.pg listener {self._holder}")

    async def _stop_listener(self) -> None:
        task, self._listen_task = self._listen_task, None
        conn, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if conn is not None:
            await conn.close()

    async def _listen_loop(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            async for n in conn.notifies():
                self._on_payload(n.payload)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 (the next heartbeat listens again)
            if not self._stopping:
                self._report(e)

    def _on_payload(self, text: str) -> None:
        if self._task is None:
            return
        try:
            p = json.loads(text)
            if p.get("cluster") != self._cluster or p.get("holder") != self._holder:
                return
            if not all(type(p.get(k)) is int and p[k] >= 0 for k in ("shard", "num_shards", "epoch")):
                raise ValueError("shard, num_shards and epoch must be non-negative integers")
            if p["type"] == "shard_changed":
                self._apply(ShardChanged(p["cluster"], p["holder"], p["shard"], p["num_shards"], p["epoch"]))
            elif p["type"] == "shard_lost":
                self._apply(ShardLost(p["cluster"], p["holder"], p["shard"], p["num_shards"], p["epoch"], p["reason"]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self._report(ValueError(f"malformed notification on {self._channel!r}: {text!r} ({e})"))

    # ----- the assignment -----

    def _apply(self, out: ShardChanged | ShardLost) -> None:
        if isinstance(out, ShardLost):
            self._lose(out.epoch, out.reason)
        else:
            self._assign(ShardInfo(out.cluster, out.holder, out.shard, out.num_shards, out.epoch))

    def _assign(self, info: ShardInfo) -> None:
        key = (info.epoch, 0)
        if self._key is not None and key <= self._key:
            return
        self._key, self._info = key, info
        self._call(self.on_shard_changed, info)

    def _lose(self, epoch: int, reason: Literal["expired", "unregistered"]) -> None:
        key = (epoch, 1)
        if self._key is not None and key <= self._key:
            return
        self._key, held, self._info = key, self._info, None
        if held is not None:
            self._emit_lost(ShardLost(held.cluster, held.holder, held.shard, held.num_shards, held.epoch, reason))

    def _check_expiry(self) -> None:
        """The holder is alive until its last heartbeat + heartbeat interval + grace period:
        past that on the local clock (measured from before the heartbeat's transaction, so
        never later than the database's deadline) the index is given up."""
        if self._info is not None and self._expires_at is not None and time.monotonic() >= self._expires_at:
            self._lose(self._info.epoch, "expired")

    def _emit_lost(self, lost: ShardLost) -> None:
        self._info = None
        self._call(self.on_shard_lost, lost)

    def _call(self, callback: Callable[[Any], object] | None, arg: object) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception as e:  # noqa: BLE001 (a callback's failure is reported, nothing else)
            self._report(e)

    def _report(self, error: BaseException) -> None:
        if self.on_error is not None:
            try:
                self.on_error(error)
                return
            except Exception:  # noqa: BLE001
                log.exception("shardtally.pg: the on_error callback raised")
        log.warning("shardtally.pg registrar %s of %s: %s", self._holder, self._cluster, error, exc_info=error)
