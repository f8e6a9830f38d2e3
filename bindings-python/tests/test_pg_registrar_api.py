"""shardtally.pg.ShardRegistrar in-process against the PostgreSQL of SHARDTALLY_PG_URL: the
error rule (an error never stops the heartbeats, with or without ``on_error``), serialized
starts and stops, polling without LISTEN, the local deadline, and the engine's validation.
Waits have deadlines; nothing sleeps to show that something did not happen."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shardtally import EmptyIdError, NotAssignedError, ShardInfo, ShardLost, UnknownSettingError
from shardtally._settings import MembershipSettings
from shardtally.pg import ShardRegistrar
from test_pg_support import FAST, PG_URL, cluster_row, needs_pg, schema

__all__ = ["schema"]  # fixture

pytestmark = needs_pg


class Recorder:
    """Collects a registrar's callbacks."""

    def __init__(self) -> None:
        self.changed: list[ShardInfo] = []
        self.lost: list[ShardLost] = []
        self.errors: list[BaseException] = []

    def kwargs(self) -> dict[str, Any]:
        return {"on_shard_changed": self.changed.append, "on_shard_lost": self.lost.append, "on_error": self.errors.append}


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Polls ``check`` every 20 ms until it holds; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.02)


def heartbeats(schema: str, cluster: str) -> int:
    info = cluster_row(schema, cluster).cluster_info(cluster)
    assert info is not None
    return info.stats.heartbeats


async def until_heartbeats(schema: str, cluster: str, more_than: int, timeout: float = 10.0) -> None:
    await until(lambda: heartbeats(schema, cluster) > more_than, timeout, f"heartbeat beyond {more_than}")


def terminate(application_name: str) -> int:
    """Kills the registrar's server connections (as a failover or an admin would)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return len(rows)


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(main())  # type: ignore[arg-type]


def test_errors_reach_on_error_and_never_stop_the_heartbeats(schema: str) -> None:
    async def main() -> None:
        rec = Recorder()
        # A holder id of its own: terminate() finds its connections by application_name.
        r = ShardRegistrar(PG_URL, "e", schema=schema, holder=f"h-{uuid.uuid4()}", **rec.kwargs(), **FAST)
        await r.start()
        await until(lambda: len(rec.changed) == 1, what="an index")
        assert terminate(r.application_name) == 2  # its transaction and LISTEN connections
        await until(lambda: len(rec.errors) >= 1, what="an error")
        before = heartbeats(schema, "e")
        await until_heartbeats(schema, "e", before)  # it reconnected and beats again
        await until(lambda: r.shard_info().epoch == 1, what="the same assignment")
        assert rec.lost == []  # a blip shorter than the grace period loses nothing
        await r.stop(unregister=True)

    run(main)


def test_without_on_error_errors_are_logged_and_the_heartbeats_go_on(schema: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        changed: list[ShardInfo] = []
        r = ShardRegistrar(PG_URL, "e", schema=schema, holder=f"h-{uuid.uuid4()}", on_shard_changed=changed.append, **FAST)
        await r.start()
        await until(lambda: len(changed) == 1, what="an index")
        terminate(r.application_name)
        await until(lambda: any(rec.name == "shardtally.pg" for rec in caplog.records), what="a logged error")
        await until_heartbeats(schema, "e", heartbeats(schema, "e"))
        assert r.running and r.shard_info().shard == 0
        await r.stop(unregister=True)

    with caplog.at_level(logging.WARNING, logger="shardtally.pg"):
        run(main)


def test_a_raising_callback_is_reported_and_changes_nothing_else(schema: str) -> None:
    async def main() -> None:
        rec = Recorder()

        def boom(info: ShardInfo) -> None:
            rec.changed.append(info)
            raise RuntimeError("the host's callback failed")

        r = ShardRegistrar(PG_URL, "e", schema=schema, on_shard_changed=boom, on_error=rec.errors.append, **FAST)
        await r.start()
        await until(lambda: len(rec.errors) == 1, what="the callback's error")
        assert str(rec.errors[0]) == "the host's callback failed"
        assert r.shard_info() == rec.changed[0]
        await until_heartbeats(schema, "e", heartbeats(schema, "e"))
        await r.stop()

    run(main)


def test_a_fast_stop_and_start_never_runs_two_loops(schema: str) -> None:
    async def main() -> None:
        rec = Recorder()
        r = ShardRegistrar(PG_URL, "s", schema=schema, holder="h", **rec.kwargs(), **FAST)
        # Unawaited in between: the calls queue up and run one at a time, in call order.
        await asyncio.gather(r.start(), r.stop(), r.start(), r.stop(), r.start(), r.start())
        assert r.running
        await until(lambda: len(rec.changed) >= 1, what="an index")
        # One loop beats every 200 ms; two would beat twice as often. Count the beats of the
        # row over one second (at least two, or the loop is dead; at most 7 of one loop's 5).
        start = heartbeats(schema, "s")
        await asyncio.sleep(1.0)
        beats = heartbeats(schema, "s") - start
        assert 2 <= beats <= 7, beats
        await r.stop(unregister=True)
        assert not r.running and rec.errors == []

    run(main)


def test_without_listen_the_assignment_arrives_by_polling(schema: str) -> None:
    async def main() -> None:
        a, b = Recorder(), Recorder()
        r1 = ShardRegistrar(PG_URL, "p", schema=schema, holder="r1", listen=False, **a.kwargs(), **FAST)
        r2 = ShardRegistrar(PG_URL, "p", schema=schema, holder="r2", listen=False, **b.kwargs(), **FAST)
        await r1.start()
        await until(lambda: len(a.changed) == 1, what="r1's index")
        await r2.start()
        # r2's registration waits for the rate limit; whichever registrar's beat reshards,
        # the other learns it at its next beat.
        await until(lambda: len(a.changed) == 2 and len(b.changed) == 1, what="both at 2 shards")
        assert [(i.shard, i.num_shards, i.epoch) for i in (a.changed[1], b.changed[0])] == [(0, 2, 2), (1, 2, 2)]
        await r2.stop(unregister=True)
        await r1.stop(unregister=True)
        assert a.errors == b.errors == []

    run(main)


def test_shard_info_raises_not_assigned_before_start_and_after_stop(schema: str) -> None:
    async def main() -> None:
        r = ShardRegistrar(PG_URL, "n", schema=schema, holder="h", **FAST)
        with pytest.raises(NotAssignedError) as info:
            r.shard_info()
        assert (info.value.code, info.value.cluster, info.value.holder) == ("NOT_ASSIGNED", "n", "h")
        await r.start()
        await until(lambda: _held(r), what="an index")
        await r.stop()
        with pytest.raises(NotAssignedError):
            r.shard_info()

    run(main)


def _held(r: ShardRegistrar) -> bool:
    try:
        r.shard_info()
        return True
    except NotAssignedError:
        return False


def test_a_holder_whose_heartbeats_stall_gives_its_index_up_at_its_deadline(schema: str) -> None:
    async def main() -> None:
        rec = Recorder()
        # A longer grace period than FAST's: a busy machine must not expire the holder before
        # the row is held.
        settings: MembershipSettings = {**FAST, "grace_period_ms": 3000}
        r = ShardRegistrar(PG_URL, "x", schema=schema, holder="h", **rec.kwargs(), **settings)
        await r.start()
        await until(lambda: len(rec.changed) == 1, what="an index")
        first = rec.changed[0]
        # Hold the cluster's row: the registrar's heartbeat waits for the lock. Its deadline
        # (last heartbeat + 200 + 3000 ms) passes on its own clock while it waits.
        async with await psycopg.AsyncConnection.connect(PG_URL) as blocker:
            await blocker.execute(f'SELECT 1 FROM "{schema}".membership_clusters WHERE cluster = %s FOR UPDATE', ("x",))
            await until(lambda: len(rec.lost) == 1, what="the local expiry")
            assert rec.lost[0] == ShardLost("x", "h", first.shard, first.num_shards, first.epoch, "expired")
            with pytest.raises(NotAssignedError):
                r.shard_info()
            await blocker.rollback()
        # Its next beat finds it expired in the database as well: it registers again and a
        # reshard gives it an index of a newer epoch.
        await until(lambda: len(rec.changed) == 2, what="a new index")
        assert rec.changed[1].epoch > first.epoch
        await r.stop(unregister=True)

    run(main)


def test_the_engine_validates_settings_and_ids_at_construction(schema: str) -> None:
    with pytest.raises(UnknownSettingError) as e:
        ShardRegistrar(PG_URL, "c", schema=schema, heartbeat_intervall_ms=5)  # type: ignore[call-arg]
    assert e.value.setting == "heartbeat_intervall_ms"
    with pytest.raises(EmptyIdError):
        ShardRegistrar(PG_URL, "", schema=schema)
    with pytest.raises(ValueError, match="invalid schema name"):
        ShardRegistrar(PG_URL, "c", schema="Bad-Name")


def test_start_raises_when_the_database_cannot_be_reached(schema: str) -> None:
    async def main() -> None:
        r = ShardRegistrar("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2", "c", schema=schema)
        with pytest.raises(psycopg.OperationalError):
            await r.start()
        assert not r.running

    run(main)


def test_the_readme_example_of_the_postgresql_registrar_runs(schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("\n### PostgreSQL registrar\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "a python block in the PostgreSQL registrar section"
    source = code.group(1).replace('schema="shardtally"', f'schema="{schema}"')
    assert schema in source
    exec(compile(source, "README.md: PostgreSQL registrar", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == ["handling shard 0 of 1 (epoch 1)", "stop handling 0: unregistered"]


def test_a_malformed_notification_is_reported_and_changes_nothing(schema: str) -> None:
    async def main() -> None:
        rec = Recorder()
        r = ShardRegistrar(PG_URL, "m", schema=schema, holder="h", **rec.kwargs(), **FAST)
        await r.start()
        await until(lambda: len(rec.changed) == 1, what="an index")
        bad = '{"cluster":"m","holder":"h","type":"shard_changed","shard":"7","num_shards":9,"epoch":99}'
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (f"{schema}.membership", bad))
        await until(lambda: len(rec.errors) == 1, what="the error")
        assert "malformed notification" in str(rec.errors[0])
        assert r.shard_info() == rec.changed[0] and len(rec.changed) == 1
        await r.stop(unregister=True)

    run(main)
