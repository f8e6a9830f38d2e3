"""``GlobalBuilder`` and ``ShardBuilder``: a machine rebuilt from its stored rows a page at a
time equals the one ``from_rows`` rebuilds from all of them; a bad row is a typed error that
every later call raises again; a finished builder is spent."""

from __future__ import annotations

import pytest

from support import pump
from shardtally import (
    CorruptError,
    Global,
    GlobalBuilder,
    InvalidArgumentError,
    Shard,
    ShardBuilder,
    UnknownSettingError,
    WrongKindError,
)


def stored(machine: Shard | Global) -> list[tuple[str, bytes]]:
    """Every stored ``(table, value)`` of a machine, as a host reads them back."""
    return [(op.table, op.value or b"") for op in machine.rows()]


def counted() -> tuple[Shard, Global]:
    shard = Shard(shard=3, incarnation=9, flush_after_requests=2)
    global_ = Global(persist_after_writes=1)
    for i in range(40):
        shard.increment(f"k{i}", i + 1, 10 + i)
    pump(shard, global_, 100)
    shard.increment("late", 2, 101)  # pending at the shard
    global_.reset("k3", 102)
    return shard, global_


def test_page_by_page_in_any_order_equals_from_rows() -> None:
    shard, global_ = counted()
    for page in (1, 7, 1_000):
        rows = list(reversed(stored(global_)))
        builder = GlobalBuilder(**global_.config)
        for at in range(0, len(rows), page):
            builder.add(rows[at : at + page])
        rebuilt = builder.finish()
        assert isinstance(rebuilt, Global)
        assert rebuilt.snapshot() == Global.from_rows(rows, **global_.config).snapshot() == global_.snapshot()

        rows = list(reversed(stored(shard)))
        shard_builder = ShardBuilder(**shard.config)
        for at in range(0, len(rows), page):
            shard_builder.add(iter(rows[at : at + page]))
        assert shard_builder.finish().snapshot() == shard.snapshot()


def test_read_first_names_the_tables_to_read_before_every_other() -> None:
    assert GlobalBuilder.read_first()[:2] == ["meta", "totals"]
    assert ShardBuilder.read_first() == ["meta", "slots"]
    _, global_ = counted()
    first = GlobalBuilder.read_first()
    rows = sorted(stored(global_), key=lambda row: first.index(row[0]) if row[0] in first else len(first))
    assert rows[0][0] == "meta"
    builder = GlobalBuilder(**global_.config)
    for row in rows:
        builder.add([row])
    assert builder.finish().snapshot() == global_.snapshot()


def test_a_tiered_global_needs_its_upstream_settings() -> None:
    tiered = Global(upstream={"shard": 5, "incarnation": 1, "flush_after_requests": 1})
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("k", 3, 0)
    pump(shard, tiered, 1)
    builder = GlobalBuilder(**tiered.config)
    builder.add(stored(tiered))
    back = builder.finish()
    assert back.has_upstream() and back.snapshot() == tiered.snapshot()
    plain = GlobalBuilder()
    with pytest.raises(CorruptError):
        plain.add(stored(tiered))  # the upstream shard's settings are needed


def test_a_bad_row_is_final_and_a_finished_builder_is_spent() -> None:
    shard, global_ = counted()
    shard_builder = ShardBuilder(**shard.config)
    shard_builder.add(stored(shard)[:1])
    with pytest.raises(WrongKindError) as first:
        shard_builder.add([("meta", b"x")])
    with pytest.raises(WrongKindError) as again:
        shard_builder.add(stored(shard)[1:])
    assert again.value.args == first.value.args
    with pytest.raises(WrongKindError):
        shard_builder.finish()
    with pytest.raises(InvalidArgumentError):
        shard_builder.finish()  # spent by the failed finish

    meta = next(row for row in stored(Global()) if row[0] == "meta")
    builder = GlobalBuilder()
    with pytest.raises(CorruptError):
        builder.add([meta, meta])  # two meta rows
    with pytest.raises(CorruptError):
        builder.finish()

    builder = GlobalBuilder()
    builder.add(stored(global_))
    builder.finish()
    with pytest.raises(InvalidArgumentError):
        builder.add(stored(global_))
    with pytest.raises(InvalidArgumentError):
        builder.finish()


def test_bad_arguments_and_settings() -> None:
    with pytest.raises(UnknownSettingError):
        ShardBuilder(shard=0)  # type: ignore[call-arg]  # the identity is in the rows
    with pytest.raises(UnknownSettingError):
        GlobalBuilder(flush_after_request=1)  # type: ignore[call-arg]
    builder = GlobalBuilder()
    for bad in (5, "rows", [("meta",)], [(1, b"")], [("meta", "text")]):
        with pytest.raises(InvalidArgumentError):
            builder.add(bad)  # type: ignore[arg-type]
    builder.add([])
    with pytest.raises(CorruptError):
        builder.finish()  # no meta row
