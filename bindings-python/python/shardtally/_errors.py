# Generated from shardtally-api (api/tests/generated.rs); do not edit.
# Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated
"""The exceptions of shardtally.

Every exception derives from :class:`ShardtallyError` and has a stable ``code`` equal to the
engine's (``"EMPTY_KEY"``, ``"OVERFLOW"``, ...) and the offending values as attributes. Four
families: :class:`ConfigError` (also a :class:`ValueError`: a setting was rejected),
:class:`InputError` (an input was rejected; the machine is unchanged),
:class:`ArgumentError` (an argument had the wrong type or value) and :class:`DecodeError`
(also a :class:`ValueError`: bytes are not a valid snapshot or message). A rejected call
changed nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shardtally._error_base import (
    ArgumentError,
    ConfigError,
    DecodeError,
    InputError,
    ShardtallyError,
)

__all__ = [
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
    "NotFoundError",
    "EmptyIdError",
    "IdTooLongError",
    "UnknownClusterError",
    "UnknownHolderError",
    "HolderExpiredError",
    "NotAssignedError",
    "ClusterNotEmptyError",
    "WrongGroupError",
    "UnknownReplicaError",
    "DuplicateReplicaError",
    "UnknownCreationError",
    "ReplicaFullError",
    "UnknownConnectionError",
    "DuplicateConnectionError",
    "PayloadTooLargeError",
    "InvalidArgumentError",
    "InvalidTimeError",
    "InvalidDeltaError",
    "InvalidKeyError",
    "WrongKindError",
    "UnsupportedVersionError",
    "ChecksumError",
    "CorruptError",
]


class ConfigZeroError(ConfigError):
    """A setting that must be positive was zero."""

    code: ClassVar[str] = "CONFIG_ZERO"
    field: Any


class ConfigBackoffRangeError(ConfigError):
    """``retry_initial_ms`` is larger than ``retry_max_ms``."""

    code: ClassVar[str] = "CONFIG_BACKOFF_RANGE"
    initial_ms: Any
    max_ms: Any


class ConfigTooLargeError(ConfigError):
    """A setting is above its allowed maximum."""

    code: ClassVar[str] = "CONFIG_TOO_LARGE"
    field: Any
    value: Any
    max: Any


class ConfigPinnedOutOfRangeError(ConfigError):
    """A pinned router's shard is not below its shard count."""

    code: ClassVar[str] = "CONFIG_PINNED_OUT_OF_RANGE"
    shard: Any
    shard_count: Any


class UnknownSettingError(ConfigError):
    """No setting has this name; ``suggestion`` is the closest one, if any."""

    code: ClassVar[str] = "CONFIG_UNKNOWN_SETTING"
    setting: Any
    suggestion: Any


class InvalidConfigError(ConfigError, TypeError):
    """A setting has a value of the wrong type or outside its range."""

    code: ClassVar[str] = "CONFIG_INVALID_VALUE"
    field: Any
    expected: Any
    value: Any


class MissingSettingError(ConfigError, TypeError):
    """A required setting is missing."""

    code: ClassVar[str] = "CONFIG_MISSING"
    field: Any


class EmptyKeyError(InputError, ValueError):
    """A key was the empty string."""

    code: ClassVar[str] = "EMPTY_KEY"


class KeyTooLongError(InputError, ValueError):
    """A key is longer than ``max_key_bytes`` UTF-8 bytes."""

    code: ClassVar[str] = "KEY_TOO_LONG"
    len: Any
    max: Any


class CounterOverflowError(InputError, OverflowError):
    """Adding ``delta`` to ``current`` would overflow a signed 64-bit counter."""

    code: ClassVar[str] = "OVERFLOW"
    key: Any
    current: Any
    delta: Any


class TableFullError(InputError):
    """Accepting the input would exceed a table's bound."""

    code: ClassVar[str] = "TABLE_FULL"
    table: Any
    limit: Any


class UnknownKeyIdError(InputError, LookupError):
    """A key id this shard never issued."""

    code: ClassVar[str] = "UNKNOWN_KEY_ID"
    id: Any


class WrongShardError(InputError, ValueError):
    """A message for another shard (or another incarnation of it)."""

    code: ClassVar[str] = "WRONG_SHARD"
    expected: Any
    got: Any


class ShardOutOfRangeError(InputError, ValueError):
    """A shard count of zero, or a shard outside the count."""

    code: ClassVar[str] = "SHARD_OUT_OF_RANGE"
    shard: Any
    shard_count: Any


class LengthMismatchError(InputError, ValueError):
    """Two inputs that must have the same length do not."""

    code: ClassVar[str] = "LENGTH_MISMATCH"
    what: Any
    left: Any
    right: Any


class NoUpstreamError(InputError):
    """This global has no upstream (tiered aggregation was not configured)."""

    code: ClassVar[str] = "NO_UPSTREAM"


class NotFoundError(InputError, LookupError):
    """A query matched nothing."""

    code: ClassVar[str] = "NOT_FOUND"
    what: Any
    query: Any


class EmptyIdError(InputError, ValueError):
    """An id (cluster, holder, group, replica, connection or request id) was the empty string."""

    code: ClassVar[str] = "EMPTY_ID"
    what: Any


class IdTooLongError(InputError, ValueError):
    """An id is longer than ``max_id_bytes``."""

    code: ClassVar[str] = "ID_TOO_LONG"
    what: Any
    len: Any
    max: Any


class UnknownClusterError(InputError, LookupError):
    """No cluster has this name."""

    code: ClassVar[str] = "UNKNOWN_CLUSTER"
    cluster: Any


class UnknownHolderError(InputError, LookupError):
    """The holder is not registered in the cluster: register it again."""

    code: ClassVar[str] = "UNKNOWN_HOLDER"
    cluster: Any
    holder: Any


class HolderExpiredError(InputError):
    """The holder missed its deadline: it holds no shard and must register again."""

    code: ClassVar[str] = "HOLDER_EXPIRED"
    cluster: Any
    holder: Any
    expired_at: Any


class NotAssignedError(InputError):
    """The holder has no shard yet (it gets one at the next reshard)."""

    code: ClassVar[str] = "NOT_ASSIGNED"
    cluster: Any
    holder: Any


class ClusterNotEmptyError(InputError):
    """Only a cluster without live holders can be removed."""

    code: ClassVar[str] = "CLUSTER_NOT_EMPTY"
    cluster: Any
    holders: Any


class WrongGroupError(InputError, ValueError):
    """An input names a group other than the gateway's."""

    code: ClassVar[str] = "WRONG_GROUP"
    expected: Any
    got: Any


class UnknownReplicaError(InputError, LookupError):
    """A replica the gateway does not know (never created or reported, or retired)."""

    code: ClassVar[str] = "UNKNOWN_REPLICA"
    replica: Any


class DuplicateReplicaError(InputError, ValueError):
    """A new replica's id is already a replica's."""

    code: ClassVar[str] = "DUPLICATE_REPLICA"
    replica: Any


class UnknownCreationError(InputError, LookupError):
    """A creation id this gateway never issued."""

    code: ClassVar[str] = "UNKNOWN_CREATION"
    creation: Any


class ReplicaFullError(InputError):
    """A connection without a reservation found its replica full."""

    code: ClassVar[str] = "REPLICA_FULL"
    replica: Any
    limit: Any


class UnknownConnectionError(InputError, LookupError):
    """A message's sender is not a connection open on the replica it names."""

    code: ClassVar[str] = "UNKNOWN_CONNECTION"
    replica: Any
    connection: Any


class DuplicateConnectionError(InputError, ValueError):
    """A connection id is already open on the replica."""

    code: ClassVar[str] = "DUPLICATE_CONNECTION"
    replica: Any
    connection: Any


class PayloadTooLargeError(InputError, ValueError):
    """A payload is larger than its configured bound."""

    code: ClassVar[str] = "PAYLOAD_TOO_LARGE"
    len: Any
    max: Any


class InvalidArgumentError(ArgumentError, TypeError, ValueError):
    """An argument has the wrong type or value."""

    code: ClassVar[str] = "INVALID_ARGUMENT"
    argument: Any
    expected: Any
    value: Any


class InvalidTimeError(ArgumentError, TypeError, ValueError):
    """A time that is not an integer number of milliseconds in range."""

    code: ClassVar[str] = "INVALID_TIME"
    value: Any


class InvalidDeltaError(ArgumentError, TypeError, ValueError):
    """A delta that is not a signed 64-bit integer."""

    code: ClassVar[str] = "INVALID_DELTA"
    value: Any


class InvalidKeyError(ArgumentError, TypeError, ValueError):
    """A key that is not a well-formed string (a lone surrogate is not UTF-8)."""

    code: ClassVar[str] = "INVALID_KEY"
    argument: Any


class WrongKindError(DecodeError):
    """The bytes are not an encoding of the expected kind."""

    code: ClassVar[str] = "DECODE_WRONG_KIND"
    expected: Any


class UnsupportedVersionError(DecodeError):
    """The encoding's format version is not one this build reads."""

    code: ClassVar[str] = "DECODE_UNSUPPORTED_VERSION"
    found: Any
    supported: Any


class ChecksumError(DecodeError):
    """The encoding's checksum does not match its bytes (they were corrupted)."""

    code: ClassVar[str] = "DECODE_CHECKSUM"
    expected: Any
    found: Any


class CorruptError(DecodeError):
    """The encoding is truncated, malformed or violates an invariant."""

    code: ClassVar[str] = "DECODE_CORRUPT"
    reason: Any


#: Every exception class by its code.
BY_CODE: dict[str, type[ShardtallyError]] = {
    "CONFIG_ZERO": ConfigZeroError,
    "CONFIG_BACKOFF_RANGE": ConfigBackoffRangeError,
    "CONFIG_TOO_LARGE": ConfigTooLargeError,
    "CONFIG_PINNED_OUT_OF_RANGE": ConfigPinnedOutOfRangeError,
    "CONFIG_UNKNOWN_SETTING": UnknownSettingError,
    "CONFIG_INVALID_VALUE": InvalidConfigError,
    "CONFIG_MISSING": MissingSettingError,
    "EMPTY_KEY": EmptyKeyError,
    "KEY_TOO_LONG": KeyTooLongError,
    "OVERFLOW": CounterOverflowError,
    "TABLE_FULL": TableFullError,
    "UNKNOWN_KEY_ID": UnknownKeyIdError,
    "WRONG_SHARD": WrongShardError,
    "SHARD_OUT_OF_RANGE": ShardOutOfRangeError,
    "LENGTH_MISMATCH": LengthMismatchError,
    "NO_UPSTREAM": NoUpstreamError,
    "NOT_FOUND": NotFoundError,
    "EMPTY_ID": EmptyIdError,
    "ID_TOO_LONG": IdTooLongError,
    "UNKNOWN_CLUSTER": UnknownClusterError,
    "UNKNOWN_HOLDER": UnknownHolderError,
    "HOLDER_EXPIRED": HolderExpiredError,
    "NOT_ASSIGNED": NotAssignedError,
    "CLUSTER_NOT_EMPTY": ClusterNotEmptyError,
    "WRONG_GROUP": WrongGroupError,
    "UNKNOWN_REPLICA": UnknownReplicaError,
    "DUPLICATE_REPLICA": DuplicateReplicaError,
    "UNKNOWN_CREATION": UnknownCreationError,
    "REPLICA_FULL": ReplicaFullError,
    "UNKNOWN_CONNECTION": UnknownConnectionError,
    "DUPLICATE_CONNECTION": DuplicateConnectionError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "INVALID_TIME": InvalidTimeError,
    "INVALID_DELTA": InvalidDeltaError,
    "INVALID_KEY": InvalidKeyError,
    "DECODE_WRONG_KIND": WrongKindError,
    "DECODE_UNSUPPORTED_VERSION": UnsupportedVersionError,
    "DECODE_CHECKSUM": ChecksumError,
    "DECODE_CORRUPT": CorruptError,
}
