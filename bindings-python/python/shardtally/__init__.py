"""shardtally: an embeddable, no-I/O counter engine.

Spread increments over ``Shard`` objects; each buffers deltas per key and flushes them as a
``Batch`` when enough requests arrived, when traffic went idle or when the oldest delta got
old. A ``Global`` applies every batch exactly once, keeps the totals and tells the host
when to persist them (``Publish``). A ``Router`` picks the shard for each increment.

Nothing here reads a clock, sleeps or does I/O: every input takes ``now_ms`` (an ``int`` of
milliseconds on a clock the host chooses) and what the host must do comes out of
``poll_output()``. The run loop, after every input::

    if machine.take_state_changed():   # durable hosts
        save(machine.snapshot())
    while (out := machine.poll_output()) is not None:
        carry_out(out)                  # SendBatch / Publish / Forward
    timer.arm(machine.poll_timeout())   # then call machine.handle_timeout(now_ms)

Errors are subclasses of ``ShardtallyError`` with a stable ``code`` (the same in every
language) and the offending values as attributes; a rejected call changes nothing.
"""

from shardtally._errors import (
    ArgumentError,
    ConfigBackoffRangeError,
    ConfigError,
    ConfigPinnedOutOfRangeError,
    ConfigTooLargeError,
    ConfigZeroError,
    CorruptError,
    CounterOverflowError,
    DecodeError,
    EmptyKeyError,
    InputError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidDeltaError,
    InvalidKeyError,
    InvalidTimeError,
    KeyTooLongError,
    LengthMismatchError,
    MissingSettingError,
    NoUpstreamError,
    ShardOutOfRangeError,
    ShardtallyError,
    TableFullError,
    UnknownKeyIdError,
    UnknownSettingError,
    UnsupportedVersionError,
    WrongKindError,
    WrongShardError,
)
from shardtally._native import FORMAT_VERSION, Ack, Batch, Global, Router, Shard, jump_hash, key_hash
from shardtally._values import (
    BatchEntry,
    BatchWrite,
    Deadline,
    FlushOutcome,
    Forward,
    GlobalStats,
    KeyDelta,
    KeyTotal,
    Publish,
    PublishOutcome,
    ResetOutcome,
    ResetWrite,
    SendBatch,
    ShardRef,
    ShardStats,
    ShardWrites,
    StaleKey,
)

__version__ = "0.1.0"

__all__ = [
    # machines
    "Shard",
    "Global",
    "Router",
    # messages and outputs
    "Batch",
    "Ack",
    "SendBatch",
    "Publish",
    "Forward",
    # outcomes and views
    "ShardRef",
    "BatchEntry",
    "KeyTotal",
    "KeyDelta",
    "StaleKey",
    "FlushOutcome",
    "PublishOutcome",
    "ResetOutcome",
    "Deadline",
    "ShardStats",
    "GlobalStats",
    "ShardWrites",
    "BatchWrite",
    "ResetWrite",
    # partitioning and format
    "key_hash",
    "jump_hash",
    "FORMAT_VERSION",
    # exceptions (generated from shardtally-api into _errors.py)
    "ShardtallyError",
    "ConfigError",
    "InputError",
    "ArgumentError",
    "DecodeError",
    "ConfigZeroError",
    "ConfigBackoffRangeError",
    "ConfigTooLargeError",
    "ConfigPinnedOutOfRangeError",
    "UnknownSettingError",
    "InvalidConfigError",
    "MissingSettingError",
    "EmptyKeyError",
    "KeyTooLongError",
    "CounterOverflowError",
    "TableFullError",
    "UnknownKeyIdError",
    "WrongShardError",
    "ShardOutOfRangeError",
    "LengthMismatchError",
    "NoUpstreamError",
    "InvalidArgumentError",
    "InvalidTimeError",
    "InvalidDeltaError",
    "InvalidKeyError",
    "WrongKindError",
    "UnsupportedVersionError",
    "CorruptError",
]
