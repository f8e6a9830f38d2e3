"""Bad inputs raise the documented exception, carry the engine's code and values, and leave
the machine exactly as it was (its snapshot is byte-identical)."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import shardtally
from support import batches
from shardtally._errors import BY_CODE
from shardtally import (
    Ack,
    Batch,
    ConfigBackoffRangeError,
    ConfigError,
    ConfigPinnedOutOfRangeError,
    ConfigTooLargeError,
    ConfigZeroError,
    ChecksumError,
    CorruptError,
    CounterOverflowError,
    DecodeError,
    EmptyKeyError,
    Global,
    InputError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidDeltaError,
    InvalidTimeError,
    KeyTooLongError,
    LengthMismatchError,
    NoUpstreamError,
    Router,
    Shard,
    ShardOutOfRangeError,
    ShardRef,
    ShardtallyError,
    TableFullError,
    UnknownKeyIdError,
    UnsupportedVersionError,
    ArgumentError,
    InvalidKeyError,
    MissingSettingError,
    WrongKindError,
    WrongShardError,
)

MAX_I64 = 2**63 - 1


@contextmanager
def unchanged(machine: Shard | Global | Router) -> Iterator[None]:
    """Asserts the machine's snapshot (and change flag) are the same after the block."""
    before = machine.snapshot()
    if not isinstance(machine, Router):
        machine.take_state_changed()
    yield
    assert machine.snapshot() == before
    if not isinstance(machine, Router):
        assert not machine.take_state_changed()


def rejected(machine: Shard | Global | Router, exc: type[ShardtallyError], call: Callable[[], object]) -> Any:
    with unchanged(machine), pytest.raises(exc) as info:
        call()
    return info.value


def busy_shard(**settings: int) -> Shard:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0, **settings)
    shard.increment("x", 1, 10)
    return shard


def test_hierarchy() -> None:
    assert issubclass(ConfigError, ShardtallyError) and issubclass(ConfigError, ValueError)
    assert issubclass(InvalidConfigError, ConfigError) and issubclass(InvalidConfigError, TypeError)
    assert issubclass(DecodeError, ValueError)
    assert issubclass(CounterOverflowError, OverflowError)
    assert issubclass(UnknownKeyIdError, LookupError)
    for cls in (InvalidArgumentError, InvalidTimeError, InvalidDeltaError, InvalidKeyError):
        assert issubclass(cls, ArgumentError) and issubclass(cls, InputError)
        assert issubclass(cls, TypeError) and issubclass(cls, ValueError)
    assert len(BY_CODE) == 40
    for code, error_class in BY_CODE.items():
        assert error_class.code == code and error_class.__doc__
        assert getattr(shardtally, error_class.__name__) is error_class
    for name in shardtally.__all__:
        obj = getattr(shardtally, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert obj.__doc__, name


def test_empty_key() -> None:
    shard = busy_shard()
    e = rejected(shard, EmptyKeyError, lambda: shard.increment("", 1, 11))
    assert (e.code, str(e)) == ("EMPTY_KEY", "key must not be empty")
    assert isinstance(e, ValueError)
    rejected(shard, EmptyKeyError, lambda: shard.intern(""))
    rejected(shard, EmptyKeyError, lambda: shard.increments({"a": 1, "": 2}, 11))
    rejected(shard, EmptyKeyError, lambda: shard.increments([("a", 1), ("", 1)], 11))
    global_ = Global()
    rejected(global_, EmptyKeyError, lambda: global_.reset("", 0))


def test_oversized_key_counts_utf8_bytes() -> None:
    shard = busy_shard()
    e = rejected(shard, KeyTooLongError, lambda: shard.increment("é" * 129, 1, 11))
    assert (e.code, e.len, e.max) == ("KEY_TOO_LONG", 258, 256)
    rejected(shard, KeyTooLongError, lambda: shard.increments([("ok", 1), ("k" * 257, 1)], 11))
    small = Shard(shard=0, incarnation=1, max_key_bytes=4)
    rejected(small, KeyTooLongError, lambda: small.intern("12345"))
    # A global with a smaller bound rejects a batch holding a longer key; the shard retries.
    global_ = Global(max_key_bytes=2)
    shard.flush(11)
    (b,) = batches(shard)
    big = Shard(shard=1, incarnation=1, flush_after_requests=1)
    big.increment("long", 1, 0)
    (long_batch,) = batches(big)
    assert global_.handle_batch(b, 12).seq == 1
    e = rejected(global_, KeyTooLongError, lambda: global_.handle_batch(long_batch, 13))
    assert (e.len, e.max) == (4, 2)


def test_wrong_types() -> None:
    shard = busy_shard()
    for bad_key in (5, None, b"x", ["x"]):
        e = rejected(shard, InvalidArgumentError, lambda: shard.increment(bad_key, 1, 11))  # type: ignore[arg-type]
        assert (e.code, e.argument, e.value) == ("INVALID_ARGUMENT", "key", repr(bad_key))
        assert isinstance(e, TypeError)
    for bad_delta in ("1", 1.5, None, True, 2**63, -(2**63) - 1):
        e = rejected(shard, InvalidDeltaError, lambda: shard.increment("x", bad_delta, 11))  # type: ignore[arg-type]
        assert (e.code, e.value) == ("INVALID_DELTA", repr(bad_delta))
    rejected(shard, InvalidArgumentError, lambda: shard.increments(5, 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.increments([("a", 1, 2)], 11))  # type: ignore[list-item]
    rejected(shard, InvalidArgumentError, lambda: shard.increments({1: 1}, 11))  # type: ignore[arg-type]
    rejected(shard, InvalidDeltaError, lambda: shard.increments({"a": 1, "b": 0.5}, 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.increments("abc", 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.increments([("a", 1), 2], 11))  # type: ignore[list-item]
    rejected(shard, InvalidDeltaError, lambda: shard.increment_ids([0], ["1"], 11))  # type: ignore[list-item]
    rejected(shard, InvalidDeltaError, lambda: shard.increment_ids([0], 2**64, 11))
    rejected(shard, InvalidArgumentError, lambda: shard.increment_id("x", 1, 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.increment_id(-1, 1, 11))
    rejected(shard, InvalidArgumentError, lambda: shard.increment_ids([-1], [1], 11))
    rejected(shard, InvalidArgumentError, lambda: shard.increment_ids(7, [1], 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.handle_ack("ack", 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: shard.handle_failure(-1, 11))
    rejected(shard, InvalidArgumentError, lambda: shard.handle_rejection(-1, 11))
    rejected(shard, InvalidArgumentError, lambda: shard.handle_rejection("1", 11))  # type: ignore[arg-type]
    rejected(shard, InvalidArgumentError, lambda: Shard.restore("snapshot"))  # type: ignore[arg-type]
    global_ = Global()
    rejected(global_, InvalidArgumentError, lambda: global_.handle_batch(None, 0))  # type: ignore[arg-type]
    rejected(global_, InvalidArgumentError, lambda: global_.handle_publish_ack("1", 0))  # type: ignore[arg-type]
    rejected(global_, InvalidArgumentError, lambda: global_.last_seq(-1, 0))
    router = Router()
    rejected(router, InvalidArgumentError, lambda: router.route(1))  # type: ignore[arg-type]
    rejected(router, InvalidArgumentError, lambda: router.set_shard_count("2"))  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError):
        Shard(shard=-1, incarnation=1)
    with pytest.raises(InvalidConfigError):
        Global(upstream=Router())  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 1.5, 2.0, "5", None, False, 2**53, 2**64, [1]])
def test_now_ms_must_be_an_integer_below_2_to_the_53(bad: Any) -> None:
    shard = busy_shard()
    e = rejected(shard, InvalidTimeError, lambda: shard.increment("x", 1, bad))
    assert (e.code, e.value) == ("INVALID_TIME", repr(bad))
    assert isinstance(e, ValueError) and isinstance(e, TypeError)
    rejected(shard, InvalidTimeError, lambda: shard.flush(bad))
    rejected(shard, InvalidTimeError, lambda: shard.handle_timeout(bad))
    rejected(shard, InvalidTimeError, lambda: shard.handle_rejection(1, bad))
    global_ = Global()
    rejected(global_, InvalidTimeError, lambda: global_.publish(bad))


def test_a_time_before_the_last_one_is_the_last_one() -> None:
    shard = Shard(shard=0, incarnation=1)
    shard.increment("x", 1, 1000)
    shard.increment("x", 1, 10)  # clock stepped back: treated as 1000
    assert shard.poll_timeout() == 6000


def test_overflow() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0)
    shard.increment("x", MAX_I64, 0)
    e = rejected(shard, CounterOverflowError, lambda: shard.increment("x", 1, 1))
    assert (e.code, e.key, e.current, e.delta) == ("OVERFLOW", "x", MAX_I64, 1)
    rejected(shard, CounterOverflowError, lambda: shard.increments({"y": 1, "x": 1}, 1))
    rejected(shard, CounterOverflowError, lambda: shard.increments([("z", MAX_I64), ("z", 1)], 1))
    x = shard.intern("x")
    rejected(shard, CounterOverflowError, lambda: shard.increment_id(x, 1, 1))
    rejected(shard, CounterOverflowError, lambda: shard.increment_ids([x], [1], 1))
    # Totals overflow at the global too.
    global_ = Global()
    for _ in range(2):
        s = Shard(shard=len(global_.shard_writes()), incarnation=1, flush_after_requests=1)
        s.increment("t", MAX_I64, 0)
        (b,) = batches(s)
        if global_.total("t") == 0:
            global_.handle_batch(b, 0)
        else:
            e = rejected(global_, CounterOverflowError, lambda: global_.handle_batch(b, 0))
            assert (e.key, e.current, e.delta) == ("t", MAX_I64, MAX_I64)


def test_table_full() -> None:
    shard = Shard(shard=0, incarnation=1, max_pending_keys=2, max_interned_keys=1, flush_after_requests=0)
    shard.increments({"a": 1, "b": 1}, 0)
    e = rejected(shard, TableFullError, lambda: shard.increment("c", 1, 1))
    assert (e.code, e.table, e.limit) == ("TABLE_FULL", "pending keys", 2)
    shard.intern("a")
    e = rejected(shard, TableFullError, lambda: shard.intern("z"))
    assert (e.table, e.limit) == ("interned keys", 1)
    global_ = Global(max_keys=1)
    s = Shard(shard=0, incarnation=1, flush_after_requests=1)
    s.increments({"a": 1, "b": 1}, 0)
    (b,) = batches(s)
    e = rejected(global_, TableFullError, lambda: global_.handle_batch(b, 0))
    assert (e.table, e.limit) == ("totals", 1)


def test_unknown_key_id_and_length_mismatch() -> None:
    shard = busy_shard()
    x = shard.intern("x")
    e = rejected(shard, UnknownKeyIdError, lambda: shard.increment_id(99, 1, 11))
    assert (e.code, e.id) == ("UNKNOWN_KEY_ID", 99)
    rejected(shard, UnknownKeyIdError, lambda: shard.increment_ids([x, 98], [1, 1], 11))
    e = rejected(shard, LengthMismatchError, lambda: shard.increment_ids([x], [1, 2], 11))
    assert (e.code, e.what, e.left, e.right) == ("LENGTH_MISMATCH", "ids and deltas", 1, 2)


def test_wrong_shard_and_no_upstream() -> None:
    sender = Shard(shard=1, incarnation=1, flush_after_requests=1)
    sender.increment("x", 1, 0)
    (b,) = batches(sender)
    ack = Global().handle_batch(b, 0)
    other = busy_shard()
    e = rejected(other, WrongShardError, lambda: other.handle_ack(ack, 11))
    assert (e.code, e.expected, e.got) == ("WRONG_SHARD", ShardRef(0, 1), ShardRef(1, 1))
    global_ = Global()
    e = rejected(global_, NoUpstreamError, lambda: global_.handle_upstream_ack(ack, 0))
    assert e.code == "NO_UPSTREAM"


def test_shard_out_of_range() -> None:
    router = Router(shard_count=3)
    e = rejected(router, ShardOutOfRangeError, lambda: router.set_shard_count(0))
    assert (e.code, e.shard, e.shard_count) == ("SHARD_OUT_OF_RANGE", 0, 0)
    pinned = Router(strategy="pinned", pinned_shard=2, shard_count=3)
    e = rejected(pinned, ShardOutOfRangeError, lambda: pinned.set_shard_count(2))
    assert (e.shard, e.shard_count) == (2, 2)


def test_decode_errors() -> None:
    shard = busy_shard()
    snapshot = shard.snapshot()
    e = rejected(shard, WrongKindError, lambda: shard.handle_ack(b"garbage", 11))
    assert (e.code, e.expected) == ("DECODE_WRONG_KIND", "ack")
    with pytest.raises(WrongKindError) as info:
        Batch.decode(snapshot)
    assert info.value.expected == "batch"
    future = snapshot[:4] + bytes([99]) + snapshot[5:]
    with pytest.raises(UnsupportedVersionError) as version_info:
        Shard.restore(future)
    assert (version_info.value.found, version_info.value.supported) == (99, shardtally.FORMAT_VERSION)
    with pytest.raises(ChecksumError) as checksum:
        Shard.restore(snapshot[:-3])
    assert checksum.value.code == "DECODE_CHECKSUM" and checksum.value.expected != checksum.value.found
    sender = Shard(shard=0, incarnation=1, flush_after_requests=1)
    sender.increment("x", 1, 0)
    ack = Global().handle_batch(batches(sender)[0], 0).encode()
    flipped = ack[:6] + bytes([ack[6] ^ 1]) + ack[7:]
    rejected(shard, ChecksumError, lambda: shard.handle_ack(flipped, 11))
    with pytest.raises(CorruptError) as corrupt:
        Shard.restore(snapshot[:5] + b"\x00\x00\x00")
    assert corrupt.value.code == "DECODE_CORRUPT" and corrupt.value.reason
    with pytest.raises(WrongKindError):
        Global.restore(snapshot)
    with pytest.raises(WrongKindError):
        Router.restore(b"")
    with pytest.raises(DecodeError):
        Ack.decode(b"sht\x05\x01")
    global_ = Global()
    rejected(global_, UnsupportedVersionError, lambda: global_.handle_batch(b"sht\x04\x01\xff", 0))
    rejected(global_, CorruptError, lambda: global_.handle_batch(b"sht\x04\x02\xff", 0))


def test_config_errors() -> None:
    e: Any
    with pytest.raises(ConfigZeroError) as zero:
        Shard(shard=0, incarnation=1, max_key_bytes=0)
    assert (zero.value.code, zero.value.field) == ("CONFIG_ZERO", "max_key_bytes")
    assert isinstance(zero.value, ValueError)
    with pytest.raises(ConfigBackoffRangeError) as backoff:
        Global(retry_initial_ms=5, retry_max_ms=4)
    assert (backoff.value.initial_ms, backoff.value.max_ms) == (5, 4)
    with pytest.raises(ConfigTooLargeError) as large:
        Shard(shard=0, incarnation=1, retry_jitter_percent=101)
    assert (large.value.field, large.value.value, large.value.max) == ("retry_jitter_percent", 101, 100)
    with pytest.raises(ConfigPinnedOutOfRangeError) as pinned:
        Router(strategy="pinned", pinned_shard=3, shard_count=3)
    assert (pinned.value.shard, pinned.value.shard_count) == (3, 3)
    with pytest.raises(ConfigZeroError):
        Router(shard_count=0)
    with pytest.raises(MissingSettingError) as missing:
        Shard(shard=0)  # type: ignore[call-arg]
    assert (missing.value.code, missing.value.field) == ("CONFIG_MISSING", "incarnation")
    bad_settings: list[tuple[Callable[..., object], dict[str, Any]]] = [
        (Shard, {"flush_after_requests": -1}),
        (Shard, {"flush_after_requests": 2**32}),
        (Shard, {"flush_after_idle_ms": "5000"}),
        (Shard, {"retry_jitter_percent": 256}),
        (Shard, {"seed": 1.0}),
        (Shard, {"max_key_bytes": True}),
        (Global, {"publish_mode": "sometimes"}),
        (Global, {"persist_after_writes": None}),
        (Router, {"strategy": "fastest"}),
        (Router, {"strategy": 1}),
        (Router, {"strategy": "pinned"}),
        (Router, {"strategy": "hash", "pinned_shard": 1}),
        (Router, {"pinned_shard": 1}),
    ]
    for make, settings in bad_settings:
        extra = {"shard": 0, "incarnation": 1} if make is Shard else {}
        with pytest.raises(InvalidConfigError) as info:
            make(**extra, **settings)
        assert info.value.code == "CONFIG_INVALID_VALUE"
        assert isinstance(info.value, TypeError) and isinstance(info.value, ConfigError)
        assert info.value.field in (settings if settings != {"strategy": "pinned"} else {"pinned_shard"})
    with pytest.raises(InvalidConfigError):
        Shard.restore(busy_shard().snapshot(), flush_after_requests=-5)


def test_exceptions_pickle_and_repr() -> None:
    shard = busy_shard()
    with pytest.raises(KeyTooLongError) as info:
        shard.increment("k" * 300, 1, 11)
    e = info.value
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is KeyTooLongError
    assert (str(back), back.len, back.max, back.code) == (str(e), 300, 256, "KEY_TOO_LONG")
    assert back.rejects_batch is e.rejects_batch is True  # the engine's verdict on this kind
    assert repr(e) == "KeyTooLongError('key is 300 bytes, at most 256 are allowed', len=300, max=256, rejects_batch=True)"
    assert e.message == str(e)
