"""Time buckets in Python: recording, rollups, day and period queries, retention, the change
journal and rebuilding from rows; every bad input is a ``ShardtallyError`` that changes
nothing; buckets pickle."""

from __future__ import annotations

from typing import Any

import pytest

from support import batches, misspelt, pickled, rejected
from shardtally import (
    Buckets,
    BucketsDailyRow,
    BucketsMeta,
    BucketsRawDayDeleted,
    BucketsRawRow,
    ConfigZeroError,
    CorruptError,
    DailyTotal,
    ExpireOutcome,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidTimeError,
    KeyTotal,
    NotFoundError,
    RecordOutcome,
    RollupOutcome,
    Shard,
    TableFullError,
    WrongKindError,
)

DAY = 86_400_000
T = 1_666_000_000_000  # 2022-10-17T09:46:40Z


def recorded() -> Buckets:
    b = Buckets()
    assert b.record("GET /a", T, T) == RecordOutcome("recorded", "2022-10-17")
    assert b.record_count("GET /b", 3, T, T) == RecordOutcome("recorded", "2022-10-17")
    assert b.record_many({"GET /a": 2, "GET /c": 1}, T - DAY, T) == RecordOutcome("recorded", "2022-10-16")
    return b


def test_record_roll_up_and_query() -> None:
    b = recorded()
    assert (b.day_of(T), b.day_start("2022-10-17"), b.day_start("1969-12-31")) == ("2022-10-17", 1_665_964_800_000, None)
    assert b.raw_days() == ["2022-10-16", "2022-10-17"]
    assert (b.raw_events, b.key_count, b.daily_days, b.raw_count("2022-10-17", "GET /a")) == (7, 3, 0, 1)
    assert b.rollup("2022-10", T) == RollupOutcome(days=2, rows=4, events=7, dropped_days=0)
    assert b.daily_totals("2022-10-16", "2022-10-16") == [DailyTotal("2022-10-16", "GET /a", 2), DailyTotal("2022-10-16", "GET /c", 1)]
    totals = b.period_totals("2022")
    assert totals == (KeyTotal("GET /a", 3), KeyTotal("GET /b", 3), KeyTotal("GET /c", 1))
    assert dict(totals) == {"GET /a": 3, "GET /b": 3, "GET /c": 1}
    assert (b.daily_total("2022-10-17", "GET /b"), b.daily_days, b.raw_events) == (3, 2, 0)
    # late data adds to what was rolled up
    b.record("GET /b", T, T)
    b.rollup("2022-10-17", T)
    assert b.daily_total("2022-10-17", "GET /b") == 4


def test_a_shards_batch_counts_and_old_events_are_counted_drops() -> None:
    b = Buckets(raw_retention_days=2)
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increments({"GET /a": 2, "GET /b": 3}, 0)
    (batch,) = batches(shard)
    assert b.record_batch(batch, T, T) == RecordOutcome("recorded", "2022-10-17")
    assert b.record_batch(batch.encode(), T, T).kind == "recorded"
    assert b.raw_count("2022-10-17", "GET /b") == 6
    assert b.record("GET /a", T - 5 * DAY, T) == RecordOutcome("too_old", "2022-10-12")
    assert b.stats.too_old_events == 1
    assert b.next_deadline is not None and b.next_deadline.timer == "retention"
    deadline = b.poll_timeout()
    assert deadline is not None
    b.handle_timeout(deadline)
    assert b.raw_days() == [] and b.expire(deadline) == ExpireOutcome(0, 0)


def test_the_change_journal_rebuilds_equal_buckets() -> None:
    b = recorded()
    changes = b.take_changes()
    assert changes[0] == BucketsRawRow("2022-10-16", "GET /a", 2) and isinstance(changes[-1], BucketsMeta)
    assert b.take_changes() == []
    b.rollup("2022-10-16", T)
    changes = b.take_changes()
    assert changes[:2] == [BucketsRawDayDeleted("2022-10-16"), BucketsDailyRow("2022-10-16", "GET /a", 2)]
    rows = b.rows()
    assert Buckets.from_rows(rows, **b.config).snapshot() == b.snapshot()
    # rows as a typed store reads them back: the meta row as its bytes, in any order
    stored = [r.bytes if isinstance(r, BucketsMeta) else r for r in reversed(rows)]
    assert Buckets.from_rows(stored).snapshot() == b.snapshot()


def test_bad_settings() -> None:
    misspelt(Buckets, "utc_offset_minute", "utc_offset_minutes")
    misspelt(Buckets.from_rows, "max_key", "max_keys", rows=[])
    with pytest.raises(InvalidConfigError) as info:
        Buckets(utc_offset_minutes=1440)
    assert info.value.field == "utc_offset_minutes"
    with pytest.raises(ConfigZeroError):
        Buckets(raw_retention_days=0)


def test_wrong_types_change_nothing() -> None:
    b: Any = recorded()  # wrong types on purpose
    bad: list[tuple[type[Any], Any]] = [
        (InvalidArgumentError, lambda: b.record(1, T, T)),
        (InvalidKeyError, lambda: b.record("\ud800", T, T)),
        (InvalidTimeError, lambda: b.record("k", -1, T)),
        (InvalidTimeError, lambda: b.record("k", T, "now")),
        (InvalidArgumentError, lambda: b.record_count("k", "3", T, T)),
        (InvalidArgumentError, lambda: b.record_count("k", 2**63, T, T)),
        (InvalidArgumentError, lambda: b.record_batch(5, T, T)),
        (WrongKindError, lambda: b.record_batch(b.snapshot(), T, T)),
        (InvalidArgumentError, lambda: b.rollup(2022, T)),
        (InvalidArgumentError, lambda: b.daily_totals("2022-10-16", None)),
        (InvalidArgumentError, lambda: b.day_start(20221017)),
        (InvalidArgumentError, lambda: Buckets.from_rows(5)),  # type: ignore[arg-type]
        (InvalidArgumentError, lambda: Buckets.from_rows([("raw", "2022-10-17", "k", 1)])),  # type: ignore[list-item]
    ]
    for error, call in bad:
        rejected(b, error, call)


def test_rejected_inputs_change_nothing() -> None:
    b = recorded()
    e = rejected(b, InvalidArgumentError, lambda: b.rollup("2022-13", T))
    assert (e.code, e.argument, e.value) == ("INVALID_ARGUMENT", "period", "2022-13")
    rejected(b, InvalidArgumentError, lambda: b.record("k", T + DAY, T))
    rejected(b, InvalidArgumentError, lambda: b.record_count("k", -1, T, T))
    rejected(b, InvalidArgumentError, lambda: b.record_many([], T, T))
    rejected(b, InvalidArgumentError, lambda: b.daily_totals("2022-10-17", "2022-10-16"))
    missing = rejected(b, NotFoundError, lambda: b.daily_totals("2000-01-01", "2000-01-02"))
    assert (missing.what, missing.query) == ("daily totals", "2000-01-01..=2000-01-02")
    rejected(b, NotFoundError, lambda: b.period_totals("1999"))
    small = Buckets(max_keys=1)
    small.record("a", T, T)
    rejected(small, TableFullError, lambda: small.record_many({"a": 1, "b": 1}, T, T))
    with pytest.raises(InvalidArgumentError):
        Buckets.from_rows([BucketsRawRow("2022-02-30", "k", 1)])
    meta = b.rows()[-1]
    assert isinstance(meta, BucketsMeta)
    with pytest.raises(CorruptError):
        Buckets.from_rows([meta.bytes[:5]])
    with pytest.raises(WrongKindError):
        Buckets.from_rows([b.snapshot()])


def test_pickling_round_trip() -> None:
    b = recorded()
    back = pickled(b)
    assert back.raw_days() == b.raw_days()
    assert repr(back) == "<Buckets raw_events=7 key_count=3 daily_days=0>"
