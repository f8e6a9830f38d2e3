"""Arguments and settings follow one set of rules (shardtally-api's): every bad argument is
a ``ShardtallyError`` subclass, every integer argument takes any ``__index__`` object but not
a ``bool``, and a misspelt setting names the closest valid one."""

from __future__ import annotations

import array
from collections.abc import Callable
from typing import Any

import pytest

from support import batches
from shardtally import (
    Global,
    HashRange,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidDeltaError,
    InvalidKeyError,
    InvalidTimeError,
    Router,
    Shard,
    ShardtallyError,
    UnknownSettingError,
    default_route,
    jump_hash,
    key_hash,
    knuth_hash,
    owner_mod,
    owner_range,
    request_key,
    shard_range,
)

LONE_SURROGATE = "a\ud800b"


class Index:
    """An integer-like object (what NumPy integers are to Python): it has ``__index__``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def shard_settings() -> dict[str, Any]:
    return {"shard": 0, "incarnation": 1}


MISSPELT: list[tuple[str, Callable[[], object], str, str]] = [
    ("Shard", lambda: Shard(**shard_settings(), flush_after_request=5), "flush_after_request", "flush_after_requests"),  # type: ignore[call-arg]
    ("Shard.restore", lambda: Shard.restore(Shard(**shard_settings()).snapshot(), max_key_byte=9), "max_key_byte", "max_key_bytes"),  # type: ignore[call-arg]
    ("Global", lambda: Global(persist_after_write=1), "persist_after_write", "persist_after_writes"),  # type: ignore[call-arg]
    ("Global.restore", lambda: Global.restore(Global().snapshot(), publishmode="full"), "publishmode", "publish_mode"),  # type: ignore[call-arg]
    ("Global upstream", lambda: Global(upstream={**shard_settings(), "sed": 1}), "sed", "seed"),  # type: ignore[arg-type]
    ("Router", lambda: Router(shard_cont=2), "shard_cont", "shard_count"),  # type: ignore[call-arg]
]


@pytest.mark.parametrize("make,name,suggestion", [m[1:] for m in MISSPELT], ids=[m[0] for m in MISSPELT])
def test_a_misspelt_setting_is_a_typed_error_with_a_suggestion(make: Callable[[], object], name: str, suggestion: str) -> None:
    with pytest.raises(UnknownSettingError) as info:
        make()
    e = info.value
    assert (e.code, e.setting, e.suggestion) == ("CONFIG_UNKNOWN_SETTING", name, suggestion)
    assert isinstance(e, ValueError) and f'did you mean "{suggestion}"' in str(e)
    with pytest.raises(UnknownSettingError) as far:
        Router(colour="blue")  # type: ignore[call-arg]
    assert far.value.suggestion is None


def test_generation_is_a_setting_and_none_is_not_a_generation() -> None:
    assert Shard(**shard_settings(), generation=3).generation == 3
    with pytest.raises(InvalidConfigError) as info:
        Shard(**shard_settings(), generation=None)  # type: ignore[arg-type]
    assert info.value.field == "generation"


@pytest.mark.parametrize("bad", [None, 1.5, -1, 2**64, "1", True])
def test_jump_hash_and_key_hash_raise_shardtally_errors(bad: Any) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        jump_hash(bad, 4)
    assert info.value.argument == "key_hash"
    for buckets in (bad, -1, 2**32):
        with pytest.raises(InvalidArgumentError):
            jump_hash(1, buckets)
    if not isinstance(bad, str):
        with pytest.raises(InvalidArgumentError):
            key_hash(bad)
    assert jump_hash(Index(3_204_358_148_266_727_566), Index(4)) == 2 == jump_hash(key_hash("x"), 4)


def test_partition_helpers_follow_their_definitions() -> None:
    h = key_hash("user:42")
    assert knuth_hash(7) == 7 * 2654435761 % 2**32 and knuth_hash(Index(2**32 - 1)) == (2**32 - 1) * 2654435761 % 2**32
    assert owner_mod(h, 7) == h % 7 and owner_mod(h, 0) == 0
    assert owner_range(h, 5) == h * 5 >> 64 and owner_range(2**64 - 1, 3) == 2
    ranges = [shard_range(s, 3) for s in range(3)]
    assert ranges[0] == HashRange(0, 6148914691236517205) and ranges[2] == HashRange(12297829382473034411, 2**64 - 1)
    assert all(r is not None and r.start <= h <= r.end for r in [shard_range(owner_range(h, 3), 3)])
    assert shard_range(3, 3) is None
    start, end = shard_range(0, 1) or (None, None)
    assert (start, end) == (0, 2**64 - 1)


@pytest.mark.parametrize("bad", [None, 1.5, -1, "1", True, 2**64])
def test_partition_helpers_raise_shardtally_errors(bad: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: knuth_hash(bad),
        lambda: owner_mod(bad, 2),
        lambda: owner_mod(1, bad),
        lambda: owner_range(bad, 2),
        lambda: owner_range(1, bad),
        lambda: shard_range(bad, 2),
        lambda: shard_range(0, bad),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert info.value.code == "INVALID_ARGUMENT" and info.value.argument in ("x", "hash", "num_shards", "shard")
    with pytest.raises(InvalidArgumentError):
        knuth_hash(2**32)
    with pytest.raises(InvalidArgumentError):
        shard_range(0, 2**32)


def test_request_key_functions_take_strings_and_a_byte_bound() -> None:
    # The values are traces/routes.json's; here, the arguments.
    assert default_route("/users/42") == "/users/:id"
    assert request_key("GET", "/x") == "GET /x" == request_key("GET", "/x", Index(6))
    assert request_key("GET", "/" + "x" * 300) == "GET /" + "x" * 251  # 256 bytes by default
    rejected: list[tuple[type[ShardtallyError], str, Callable[[], object]]] = [
        (InvalidArgumentError, "path", lambda: default_route(None)),  # type: ignore[arg-type]
        (InvalidArgumentError, "path", lambda: default_route(b"/users/1")),  # type: ignore[arg-type]
        (InvalidKeyError, "path", lambda: default_route(LONE_SURROGATE)),
        (InvalidArgumentError, "method", lambda: request_key(1, "/")),  # type: ignore[arg-type]
        (InvalidArgumentError, "route", lambda: request_key("GET", None)),  # type: ignore[arg-type]
        (InvalidKeyError, "route", lambda: request_key("GET", LONE_SURROGATE)),
        (InvalidKeyError, "method", lambda: request_key(LONE_SURROGATE, "/")),
    ]

    def bounded(bad: Any) -> Callable[[], object]:
        return lambda: request_key("GET", "/", bad)

    rejected += [(InvalidArgumentError, "max_key_bytes", bounded(bad)) for bad in [None, 1.5, -1, "1", True, 2**32]]
    for error, argument, call in rejected:
        with pytest.raises(error) as info:
            call()
        assert info.value.argument == argument  # type: ignore[attr-defined]


def test_integer_arguments_take_index_objects_but_not_bools() -> None:
    shard = Shard(shard=Index(0), incarnation=Index(1), flush_after_requests=Index(6))  # type: ignore[arg-type]
    assert shard.config["flush_after_requests"] == 6
    x = shard.intern("x")
    shard.increment("x", Index(1), Index(5))
    shard.increments({"x": Index(2)}, Index(5))
    shard.increment_id(Index(x), Index(3), 5)
    shard.increment_ids([Index(x)], [Index(4)], 5)
    shard.increment_ids([x], Index(5), 5)
    assert shard.pending_delta("x") == 15
    shard.flush(Index(6))
    (b,) = batches(shard)
    assert shard.handle_failure(Index(b.seq), 6) and shard.handle_rejection(Index(b.seq), 7)
    global_ = Global()
    assert global_.last_seq(Index(0), Index(1)) is None and not global_.handle_publish_ack(Index(1), 0)
    router = Router(shard_count=Index(2))  # type: ignore[arg-type]
    assert router.set_shard_count(Index(1)) == [1] and router.mark_drained(Index(1))

    rejected: list[tuple[type[ShardtallyError], Callable[[], object]]] = [
        (InvalidDeltaError, lambda: shard.increment("x", True, 5)),
        (InvalidDeltaError, lambda: shard.increments({"x": False}, 5)),
        (InvalidDeltaError, lambda: shard.increment_ids(array.array("I", [x]), True, 5)),
        (InvalidTimeError, lambda: shard.increment("x", 1, True)),
        (InvalidArgumentError, lambda: shard.increment_id(True, 1, 5)),
        (InvalidArgumentError, lambda: shard.handle_failure(True, 5)),
        (InvalidArgumentError, lambda: router.set_shard_count(True)),
        (InvalidArgumentError, lambda: jump_hash(True, 2)),
        (InvalidConfigError, lambda: Shard(shard=True, incarnation=1)),
        (InvalidConfigError, lambda: Router(shard_count=True)),
    ]
    before = shard.snapshot()
    for error, call in rejected:
        with pytest.raises(error):
            call()
    assert shard.snapshot() == before


def test_a_lone_surrogate_is_not_a_key() -> None:
    shard = Shard(**shard_settings())
    global_ = Global()
    calls: list[Callable[[], object]] = [
        lambda: shard.increment(LONE_SURROGATE, 1, 0),
        lambda: shard.increments({LONE_SURROGATE: 1}, 0),
        lambda: shard.increments([("ok", 1), (LONE_SURROGATE, 1)], 0),
        lambda: shard.intern(LONE_SURROGATE),
        lambda: shard.pending_delta(LONE_SURROGATE),
        lambda: global_.reset(LONE_SURROGATE, 0),
        lambda: global_.total(LONE_SURROGATE),
        lambda: Router().route(LONE_SURROGATE),
        lambda: key_hash(LONE_SURROGATE),
    ]
    before = shard.snapshot()
    for call in calls:
        with pytest.raises(InvalidKeyError) as info:
            call()
        assert (info.value.code, info.value.argument) == ("INVALID_KEY", "key")
        assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert shard.snapshot() == before and shard.pending_keys == 0


def test_removed_names_stay_removed() -> None:
    # One name per concept in every binding: `increments` covers keyed batches, the upstream
    # shard is reached by `has_upstream()` / `upstream_copy()` (a copy, by its name).
    assert not hasattr(Shard, "increment_keys")
    assert not hasattr(Global, "upstream") and not hasattr(Global, "upstream_config")
    tiered = Global(upstream={"shard": 0, "incarnation": 1})
    copy = tiered.upstream_copy()
    assert tiered.has_upstream() and copy is not None and copy is not tiered.upstream_copy()
