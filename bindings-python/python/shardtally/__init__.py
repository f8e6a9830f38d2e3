"""shardtally: an embeddable, no-I/O engine of counters and the machines around them.

Spread increments over ``Shard`` objects; each buffers deltas per key and flushes them as a
``Batch`` when enough requests arrived, when traffic went idle or when the oldest delta got
old. A ``Global`` applies every batch exactly once, keeps the totals and tells the host
when to persist them (``Publish``). A ``Router`` picks the shard for each increment.
Beside them: a ``Gateway`` routes request ids to replicas under a connection limit,
``Membership`` gives the holders of a cluster unique shard indices, ``Buckets`` count events
per key and day, and an ``Outbox`` is a bounded queue to a remote sink.

Nothing here reads a clock, sleeps or does I/O: every input takes ``now_ms`` (an ``int`` of
milliseconds on a clock the host chooses) and what the host must do comes out of
``poll_output()``. The run loop, after every input::

    if machine.take_state_changed():   # durable hosts
        save(machine.snapshot())        # or write machine.take_changes() rows
    while (out := machine.poll_output()) is not None:
        carry_out(out)                  # SendBatch / Publish / Forward / Notice / ...
    timer.arm(machine.poll_timeout())   # then call machine.handle_timeout(now_ms)

Errors are subclasses of ``ShardtallyError`` with a stable ``code`` (the same in every
language) and the offending values as attributes; a rejected call changes nothing.
"""

from shardtally._errors import *  # noqa: F403 (the exceptions, generated from shardtally-api)
from shardtally._native import (
    FORMAT_VERSION,
    Ack,
    Batch,
    Buckets,
    Gateway,
    Global,
    GlobalBuilder,
    Membership,
    Notice,
    Outbox,
    Router,
    Shard,
    ShardBuilder,
    default_route,
    jump_hash,
    key_hash,
    knuth_hash,
    owner_mod,
    owner_range,
    request_key,
    shard_range,
)
from shardtally._values import *  # noqa: F403 (the value classes)

__version__ = "0.1.0"

__all__ = [  # fmt: skip (a test checks it lists every name of _native, _values and _errors)
    # machines, messages, partition and request-key functions, format (_native)
    "Shard", "Global", "Router", "Gateway", "Membership", "Buckets", "Outbox",
    "GlobalBuilder", "ShardBuilder",
    "Batch", "Ack", "Notice",
    "key_hash", "jump_hash", "knuth_hash", "owner_mod", "owner_range", "shard_range",
    "default_route", "request_key",
    "FORMAT_VERSION",
    # outputs, outcomes and views (_values.__all__)
    "RowOp", "HashRange", "ShardRef", "BatchEntry", "KeyTotal", "KeyDelta", "StaleKey",
    "SendBatch", "Forward", "Publish", "FlushOutcome", "PublishOutcome", "ResetOutcome",
    "Deadline", "ShardStats", "GlobalStats", "ShardWrites", "BatchWrite", "ResetWrite",
    "Route", "Placement", "ConnectOutcome", "Delivery", "Audience", "GossipPlan",
    "GossipReply", "CreateReplica", "Introduce", "CreationExpired", "Retire", "GossipDone",
    "ReplicaView", "ReservationView", "Connection", "PendingCreation", "GatewayStats",
    "ShardInfo", "ShardChanged", "ShardLost", "ClusterInfo", "MembershipStats",
    "RecordOutcome", "RollupOutcome", "ExpireOutcome", "DailyTotal", "BucketsStats",
    "BucketsRawRow", "BucketsDailyRow", "BucketsMeta", "BucketsRawDayDeleted",
    "BucketsDailyDayDeleted", "OfferOutcome", "Send", "Reconnect", "GaveUp", "Drained",
    "OutboxStats",
    # exceptions (_errors.__all__, generated)
    "ShardtallyError", "ConfigError", "InputError", "ArgumentError", "DecodeError",
    "ConfigZeroError", "ConfigBackoffRangeError", "ConfigTooLargeError",
    "ConfigPinnedOutOfRangeError", "UnknownSettingError", "InvalidConfigError",
    "MissingSettingError", "EmptyKeyError", "KeyTooLongError", "CounterOverflowError",
    "TableFullError", "UnknownKeyIdError", "WrongShardError", "ShardOutOfRangeError",
    "LengthMismatchError", "NoUpstreamError", "NotFoundError", "EmptyIdError",
    "IdTooLongError", "UnknownClusterError", "UnknownHolderError", "HolderExpiredError",
    "NotAssignedError", "ClusterNotEmptyError", "WrongGroupError", "UnknownReplicaError",
    "DuplicateReplicaError", "UnknownCreationError", "ReplicaFullError",
    "UnknownConnectionError", "DuplicateConnectionError", "PayloadTooLargeError",
    "InvalidArgumentError", "InvalidTimeError", "InvalidDeltaError", "InvalidKeyError",
    "WrongKindError", "UnsupportedVersionError", "ChecksumError", "CorruptError",
]
