"""The exceptions of shardtally.

Every exception derives from :class:`ShardtallyError` and has a stable ``code`` string equal
to the engine's code (``"EMPTY_KEY"``, ``"OVERFLOW"``, ...) plus the offending values as
attributes. Three families mirror the engine's error kinds:

- :class:`ConfigError` (also a :class:`ValueError`): a setting was rejected when a machine
  was created.
- :class:`InputError`: an input was rejected; the machine is unchanged.
- :class:`DecodeError` (also a :class:`ValueError`): bytes are not a valid snapshot or message.

A rejected input or configuration never changes anything: the call had no effect.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ShardtallyError",
    "ConfigError",
    "ConfigZeroError",
    "ConfigBackoffRangeError",
    "ConfigTooLargeError",
    "ConfigPinnedOutOfRangeError",
    "InvalidConfigError",
    "InputError",
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
    "DecodeError",
    "WrongKindError",
    "UnsupportedVersionError",
    "CorruptError",
]


def _rebuild(
    cls: type[ShardtallyError], message: str, values: dict[str, Any], rejects_batch: bool = False
) -> ShardtallyError:
    return cls(message, rejects_batch=rejects_batch, **values)


class ShardtallyError(Exception):
    """Base class of every shardtally exception.

    ``code`` is a stable, machine-readable string; ``str(exc)`` is the engine's message.
    ``rejects_batch`` tells a host whether an error of ``Global.handle_batch`` rejects the
    batch for good.
    """

    code: ClassVar[str] = "SHARDTALLY_ERROR"
    rejects_batch: bool = False
    """The engine's verdict on an error of ``Global.handle_batch``: ``True`` when the batch can
    never be applied (a key longer than the global's ``max_key_bytes``, a total that would
    overflow, the global's ``"totals"`` table full); report it with
    ``Shard.handle_rejection(seq, now_ms)``, which drops the batch as a counted drop.
    ``False`` when retrying may succeed (a tiered global's upstream pending table full):
    report it with ``Shard.handle_failure(seq, now_ms)``. Set from the engine's error kind on
    every engine error; always ``False`` for argument, configuration and decoding errors."""

    def __init__(self, message: str, *, rejects_batch: bool = False, **values: Any) -> None:
        super().__init__(message)
        self._values = values
        self.rejects_batch = rejects_batch
        for name, value in values.items():
            setattr(self, name, value)

    @property
    def message(self) -> str:
        """The human-readable message (also ``str(exc)``)."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._values, self.rejects_batch))

    def __repr__(self) -> str:
        fields = "".join(f", {k}={v!r}" for k, v in self._values.items())
        rejects = ", rejects_batch=True" if self.rejects_batch else ""
        return f"{type(self).__name__}({self.message!r}{fields}{rejects})"


# ----- configuration -----


class ConfigError(ShardtallyError, ValueError):
    """A setting passed to ``Shard``, ``Global`` or ``Router`` was rejected."""

    code = "CONFIG"


class ConfigZeroError(ConfigError):
    """A setting that must be positive was zero."""

    code = "CONFIG_ZERO"
    field: str
    """The setting's name."""


class ConfigBackoffRangeError(ConfigError):
    """``retry_initial_ms`` is larger than ``retry_max_ms``."""

    code = "CONFIG_BACKOFF_RANGE"
    initial_ms: int
    """The configured first retry delay."""
    max_ms: int
    """The configured largest retry delay."""


class ConfigTooLargeError(ConfigError):
    """A setting is above its allowed maximum."""

    code = "CONFIG_TOO_LARGE"
    field: str
    """The setting's name."""
    value: int
    """The configured value."""
    max: int
    """The largest allowed value."""


class ConfigPinnedOutOfRangeError(ConfigError):
    """A pinned router targets a shard outside the shard count."""

    code = "CONFIG_PINNED_OUT_OF_RANGE"
    shard: int
    """The pinned shard."""
    shard_count: int
    """The configured shard count."""


class InvalidConfigError(ConfigError, TypeError):
    """A setting has the wrong type or does not fit its integer range (also a ``TypeError``)."""

    code = "INVALID_ARGUMENT"
    field: str
    """The setting's name."""
    value: object
    """The rejected value."""


# ----- inputs -----


class InputError(ShardtallyError):
    """An input was rejected; the machine is exactly as it was before the call."""

    code = "INPUT"


class EmptyKeyError(InputError, ValueError):
    """A key was the empty string."""

    code = "EMPTY_KEY"


class KeyTooLongError(InputError, ValueError):
    """A key is longer than ``max_key_bytes`` (UTF-8 bytes)."""

    code = "KEY_TOO_LONG"
    len: int
    """The key's length in UTF-8 bytes."""
    max: int
    """The configured maximum."""


class CounterOverflowError(InputError, OverflowError):
    """Adding ``delta`` to ``current`` would overflow a signed 64-bit counter."""

    code = "OVERFLOW"
    key: str
    """The key whose count would overflow."""
    current: int
    """The pending delta or total the increment was added to."""
    delta: int
    """The rejected delta."""


class TableFullError(InputError):
    """Accepting the input would exceed a table's configured bound."""

    code = "TABLE_FULL"
    table: str
    """Which table: ``"pending keys"``, ``"interned keys"`` or ``"totals"``."""
    limit: int
    """The configured bound."""


class UnknownKeyIdError(InputError, LookupError):
    """A key id that this shard never issued with ``intern``."""

    code = "UNKNOWN_KEY_ID"
    id: int
    """The unknown id."""


class WrongShardError(InputError, ValueError):
    """A message meant for another shard (or another incarnation of it) was delivered here."""

    code = "WRONG_SHARD"
    expected: Any
    """This shard (a ``ShardRef``)."""
    got: Any
    """The shard the message names (a ``ShardRef``)."""


class ShardOutOfRangeError(InputError, ValueError):
    """A shard count of zero, or a shard index outside the count."""

    code = "SHARD_OUT_OF_RANGE"
    shard: int
    """The requested shard (or count)."""
    shard_count: int
    """The shard count in force."""


class LengthMismatchError(InputError, ValueError):
    """Two sequences that must have the same length do not."""

    code = "LENGTH_MISMATCH"
    what: str
    """What was being matched (``"ids and deltas"``, ``"keys and deltas"``)."""
    left: int
    """Length of the first sequence."""
    right: int
    """Length of the second sequence."""


class NoUpstreamError(InputError):
    """An upstream operation on a global created without ``upstream=``."""

    code = "NO_UPSTREAM"


class InvalidArgumentError(InputError, TypeError, ValueError):
    """An argument has the wrong type or value (also a ``TypeError`` and a ``ValueError``)."""

    code = "INVALID_ARGUMENT"
    argument: str
    """The argument's name."""
    value: object
    """The rejected value."""


class InvalidTimeError(InvalidArgumentError):
    """``now_ms`` is not an integer in ``0 <= now_ms < 2**64``."""

    code = "INVALID_TIME"


class InvalidDeltaError(InvalidArgumentError):
    """A delta is not an integer in the signed 64-bit range."""

    code = "INVALID_DELTA"


# ----- decoding -----


class DecodeError(ShardtallyError, ValueError):
    """Bytes could not be decoded as a snapshot or message."""

    code = "DECODE"


class WrongKindError(DecodeError):
    """The bytes are not a shardtally encoding of the expected kind."""

    code = "DECODE_WRONG_KIND"
    expected: str
    """The kind that was expected (``"shard snapshot"``, ``"batch"``, ...)."""


class UnsupportedVersionError(DecodeError):
    """The format version is not one this build reads."""

    code = "DECODE_UNSUPPORTED_VERSION"
    found: int
    """The version in the bytes."""
    supported: int
    """The version this build reads."""


class CorruptError(DecodeError):
    """The body is truncated, malformed or violates an invariant."""

    code = "DECODE_CORRUPT"
    reason: str
    """What was wrong."""
