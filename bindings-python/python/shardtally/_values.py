"""The value objects machines return: frozen, compared by value, hashable, readable,
pattern-matchable and picklable.

The native module builds them from shardtally-api's records by class name (``CLASSES``):
a record's fields become keyword arguments, and a tagged record's tag becomes ``kind`` when
its class has that field (a class of several kinds, ``Route``); a class of one kind has it as
``_type``. Keyed lists (batch entries, totals, deltas, stale keys) and small rows
(``DailyTotal``, ``Connection``, ``HashRange``...) are named tuples, so ``for key, total in
publish.entries`` works; a list inside a value is a tuple. An output's class is its record
class without ``Output`` (``ShardChangedOutput`` is ``ShardChanged``), except the counters'
``SendBatch`` (``BatchOutput``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple

if TYPE_CHECKING:
    from shardtally._native import Batch

__all__ = [
    "RowOp",
    "HashRange",
    "ShardRef",
    "BatchEntry",
    "KeyTotal",
    "KeyDelta",
    "StaleKey",
    "SendBatch",
    "Forward",
    "Publish",
    "FlushOutcome",
    "PublishOutcome",
    "ResetOutcome",
    "Deadline",
    "ShardStats",
    "GlobalStats",
    "ShardWrites",
    "BatchWrite",
    "ResetWrite",
    # gateway
    "Route",
    "Placement",
    "ConnectOutcome",
    "Delivery",
    "Audience",
    "GossipPlan",
    "GossipReply",
    "CreateReplica",
    "Introduce",
    "CreationExpired",
    "Retire",
    "GossipDone",
    "ReplicaView",
    "ReservationView",
    "Connection",
    "PendingCreation",
    "GatewayStats",
    # membership
    "ShardInfo",
    "ShardChanged",
    "ShardLost",
    "ClusterInfo",
    "MembershipStats",
    # buckets
    "RecordOutcome",
    "RollupOutcome",
    "ExpireOutcome",
    "DailyTotal",
    "BucketsStats",
    "BucketsRawRow",
    "BucketsDailyRow",
    "BucketsMeta",
    "BucketsRawDayDeleted",
    "BucketsDailyDayDeleted",
    # outbox
    "OfferOutcome",
    "Send",
    "Reconnect",
    "GaveUp",
    "Drained",
    "OutboxStats",
]


class BatchEntry(NamedTuple):
    """One key's summed delta, tagged with the reset generation it was accepted under."""

    key: str
    generation: int
    delta: int


class KeyTotal(NamedTuple):
    """A key's total."""

    key: str
    total: int


class KeyDelta(NamedTuple):
    """A key's summed applied delta."""

    key: str
    delta: int


class StaleKey(NamedTuple):
    """A key whose deltas were dropped as older than its last reset, with its generation."""

    key: str
    generation: int


class ShardRef(NamedTuple):
    """One life of a shard: its index and incarnation. Ordered by ``(shard, incarnation)``."""

    shard: int
    incarnation: int


@dataclass(frozen=True, slots=True)
class SendBatch:
    """Shard output: deliver ``batch`` to the global, then report ``Shard.handle_ack``,
    ``Shard.handle_failure(batch.seq, now_ms)`` or, when the global rejected it for good,
    ``Shard.handle_rejection(batch.seq, now_ms)``."""

    _type: ClassVar[str] = "batch"
    batch: Batch


@dataclass(frozen=True, slots=True)
class Forward:
    """Global output (tiered): deliver ``batch`` to the upstream global, then report
    ``Global.handle_upstream_ack`` or ``Global.handle_upstream_failure``."""

    _type: ClassVar[str] = "forward"
    batch: Batch


@dataclass(frozen=True, slots=True)
class Publish:
    """Global output: totals to persist, then report ``Global.handle_publish_ack(version)``
    (or ``handle_publish_failure``). ``entries`` are absolute totals sorted by key; ``mode``
    is ``"full"`` (every key) or ``"changes"`` (keys changed since the last acknowledged
    publish)."""

    _type: ClassVar[str] = "publish"
    version: int
    mode: Literal["full", "changes"]
    reason: Literal["writes", "idle", "max_age", "reset", "manual", "retry"]
    entries: tuple[KeyTotal, ...]

    def totals(self) -> dict[str, int]:
        """The entries as a ``{key: total}`` dict."""
        return dict(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True)
class FlushOutcome:
    """What ``flush``, ``drain`` and ``flush_upstream`` did: ``"sent"`` (batch ``seq`` waits
    in ``poll_output()``), ``"deferred"`` (batch ``seq`` is in flight; pending deltas follow
    its acknowledgement) or ``"nothing_pending"``."""

    kind: Literal["sent", "deferred", "nothing_pending"]
    seq: int | None = None

    @property
    def sent(self) -> bool:
        """``kind == "sent"``."""
        return self.kind == "sent"


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What ``Global.publish`` did: ``"sent"`` (with ``version``), ``"deferred"`` or
    ``"nothing_changed"``."""

    kind: Literal["sent", "deferred", "nothing_changed"]
    version: int | None = None

    @property
    def sent(self) -> bool:
        """``kind == "sent"``."""
        return self.kind == "sent"


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """What ``Global.reset`` did: ``"reset"`` (the total went from ``previous`` to zero and
    the key's generation is now ``generation``) or ``"not_defined"`` (nothing changed)."""

    kind: Literal["reset", "not_defined"]
    previous: int | None = None
    generation: int | None = None

    @property
    def reset(self) -> bool:
        """``kind == "reset"``."""
        return self.kind == "reset"


@dataclass(frozen=True, slots=True)
class Deadline:
    """A machine's next deadline (ms) and its timer: a shard's ``"idle"``, ``"max_age"``,
    ``"ack_timeout"``, ``"retry"``; a global's ``"idle"``, ``"max_age"``,
    ``"publish_timeout"``, ``"publish_retry"``, ``"upstream"``; a gateway's
    ``"reservation_expiry"``, ``"creation_timeout"``, ``"gossip_timeout"``, ``"retire"``;
    membership's ``"expiry"``, ``"reshard"``; buckets' ``"retention"``; an outbox's
    ``"reconnect"``, ``"send_timeout"``."""

    at_ms: int
    timer: str


@dataclass(frozen=True, slots=True)
class ShardStats:
    """Counters of a shard's activity since it was created (kept across snapshots)."""

    requests: int = 0
    batches: int = 0
    retries: int = 0
    acks: int = 0
    duplicate_acks: int = 0
    failures: int = 0
    stale_dropped: int = 0
    rejected_batches: int = 0
    rejected_entries: int = 0


@dataclass(frozen=True, slots=True)
class GlobalStats:
    """Counters of a global's activity (kept across snapshots)."""

    total_writes: int = 0
    distinct_shards: int = 0
    duplicates: int = 0
    stale_dropped: int = 0
    resets: int = 0
    publishes: int = 0
    publish_failures: int = 0
    dedup_evictions: int = 0
    untracked_shard_writes: int = 0


@dataclass(frozen=True, slots=True)
class ShardWrites:
    """What one shard index has written to the global: batches applied from it (all
    incarnations) and the summed applied deltas per key."""

    shard: int
    writes: int
    deltas: tuple[KeyDelta, ...]


@dataclass(frozen=True, slots=True)
class BatchWrite:
    """A write-log record: a batch was applied (``entries``: the first
    ``write_log_keys_per_write`` applied deltas; ``omitted``: the rest)."""

    _type: ClassVar[str] = "batch"
    at_ms: int
    shard: int
    incarnation: int
    seq: int
    keys: int
    entries: tuple[KeyDelta, ...]
    omitted: int

    @property
    def shard_ref(self) -> ShardRef:
        """The shard life that sent the batch."""
        return ShardRef(self.shard, self.incarnation)


@dataclass(frozen=True, slots=True)
class ResetWrite:
    """A write-log record: a key was reset."""

    _type: ClassVar[str] = "reset"
    at_ms: int
    key: str
    previous: int
    generation: int


@dataclass(frozen=True, slots=True)
class RowOp:
    """One storage operation of a change journal (``take_changes()``, ``rows()``) on a
    ``(table, key) -> value`` table: ``"put"`` (store ``value`` under ``key``), ``"delete"``
    (the row ``key``), ``"clear"`` (every row of ``table``) or ``"delete_below"`` (rows whose
    key sorts below ``key``). Apply them in order; ``from_rows`` takes the stored
    ``(table, value)`` pairs back."""

    op: Literal["put", "delete", "clear", "delete_below"]
    table: str
    key: bytes
    value: bytes | None


class HashRange(NamedTuple):
    """The 64-bit hashes one shard owns under ``owner_range``: ``start ..= end``."""

    start: int
    end: int


# ----- gateway -----


@dataclass(frozen=True, slots=True)
class Route:
    """Where ``Gateway.route`` sent a request id: ``"replica"`` (a slot on ``replica`` is
    reserved until ``expires_at``; ``reason`` is ``"sticky"``, ``"current"`` or
    ``"least_loaded"``) or ``"pending"`` (it waits for replica creation ``creation``)."""

    kind: Literal["replica", "pending"]
    replica: str | None = None
    reason: Literal["sticky", "current", "least_loaded"] | None = None
    expires_at: int | None = None
    creation: int | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """A created replica and the request ids reserved on it (``handle_replica_created``)."""

    creation: int
    replica: str
    requests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    """What ``Gateway.handle_connect`` did: the connection took its reservation
    (``"reserved"``), a free slot (``"unreserved"``), or was already open (``"already_open"``)."""

    kind: Literal["reserved", "unreserved", "already_open"]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives a message on one replica: ``"all"`` its connections, ``"all_except"``
    ``connection``, or the connections of ``"request"`` ``request``."""

    kind: Literal["all", "all_except", "request"]
    connection: str | None = None
    request: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One replica's share of a message plan (``emit``, ``broadcast``, ``whisper``)."""

    replica: str
    audience: Audience


@dataclass(frozen=True, slots=True)
class GossipPlan:
    """A gossip started by ``Gateway.gossip``: ask ``peers``, answer by ``deadline``."""

    gossip: int
    peers: tuple[str, ...]
    deadline: int


class GossipReply(NamedTuple):
    """One peer's answer to a gossip."""

    peer: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class CreateReplica:
    """Gateway output: create a replica, then report ``handle_replica_created(creation,
    replica_id, now_ms)`` (or ``handle_creation_failed``)."""

    _type: ClassVar[str] = "create_replica"
    creation: int


@dataclass(frozen=True, slots=True)
class Introduce:
    """Gateway output: introduce the new ``replica`` to its ``peers``."""

    _type: ClassVar[str] = "introduce"
    replica: str
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreationExpired:
    """Gateway output: creation ``creation`` was not answered in time; ``requests`` waited
    for it and are released."""

    _type: ClassVar[str] = "creation_expired"
    creation: int
    requests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Retire:
    """Gateway output: ``replica`` was idle for ``retire_after_idle_ms``: shut it down."""

    _type: ClassVar[str] = "retire"
    replica: str


@dataclass(frozen=True, slots=True)
class GossipDone:
    """Gateway output: gossip ``gossip`` of ``origin`` completed: ``replies`` in peer order,
    the peers that ``failed`` and those ``missing`` at the deadline."""

    _type: ClassVar[str] = "gossip_done"
    gossip: int
    origin: str
    replies: tuple[GossipReply, ...]
    failed: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReplicaView:
    """One replica: its open connections and reserved slots."""

    id: str
    connections: int
    reservations: int


@dataclass(frozen=True, slots=True)
class ReservationView:
    """A reserved slot of ``request`` on ``replica``, until ``expires_at``."""

    request: str
    replica: str
    expires_at: int


class Connection(NamedTuple):
    """An open connection and its request id."""

    connection: str
    request: str


@dataclass(frozen=True, slots=True)
class PendingCreation:
    """A replica creation waiting for the host, with the request ids waiting for it."""

    creation: int
    requests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GatewayStats:
    """Counters of a gateway's activity (kept across snapshots)."""

    routes: int = 0
    sticky_routes: int = 0
    pending_routes: int = 0
    creation_requests: int = 0
    creations: int = 0
    adopted: int = 0
    creation_failures: int = 0
    introductions: int = 0
    connects: int = 0
    unreserved_connects: int = 0
    closes: int = 0
    duplicate_closes: int = 0
    expirations: int = 0
    retirements: int = 0
    reports: int = 0
    gossips: int = 0
    gossip_timeouts: int = 0
    gossip_failures: int = 0


# ----- membership -----


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A holder's assignment: index ``shard`` of ``num_shards`` in fencing epoch ``epoch``."""

    cluster: str
    holder: str
    shard: int
    num_shards: int
    epoch: int


@dataclass(frozen=True, slots=True)
class ShardChanged:
    """Membership output: the holder's assignment changed (``shardChanged``)."""

    _type: ClassVar[str] = "shard_changed"
    cluster: str
    holder: str
    shard: int
    num_shards: int
    epoch: int


@dataclass(frozen=True, slots=True)
class ShardLost:
    """Membership output: the holder lost its index (``"expired"`` or ``"unregistered"``)."""

    _type: ClassVar[str] = "shard_lost"
    cluster: str
    holder: str
    shard: int
    num_shards: int
    epoch: int
    reason: Literal["expired", "unregistered"]


@dataclass(frozen=True, slots=True)
class MembershipStats:
    """Membership counters (a cluster's, or the sum over clusters)."""

    registrations: int = 0
    heartbeats: int = 0
    unregistrations: int = 0
    expirations: int = 0
    reshards: int = 0
    moves: int = 0


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """A cluster at a glance: its epoch, shard count, holders, assigned holders, last and
    next reshard times (ms, or ``None``) and counters."""

    epoch: int
    num_shards: int
    holders: int
    assigned: int
    last_reshard_at: int | None
    next_reshard_at: int | None
    stats: MembershipStats


# ----- buckets -----


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What a record input did: counted on local ``day`` (``"recorded"``), or dropped
    (counted) as older than the retention (``"too_old"``)."""

    kind: Literal["recorded", "too_old"]
    day: str


@dataclass(frozen=True, slots=True)
class RollupOutcome:
    """What ``Buckets.rollup`` did: days and rows rolled up, events moved, and the oldest
    daily days dropped beyond ``max_days``."""

    days: int
    rows: int
    events: int
    dropped_days: int


@dataclass(frozen=True, slots=True)
class ExpireOutcome:
    """What ``Buckets.expire`` did: raw days and events dropped."""

    days: int
    events: int


class DailyTotal(NamedTuple):
    """A key's rolled-up total on a day (``"YYYY-MM-DD"``)."""

    day: str
    key: str
    total: int


@dataclass(frozen=True, slots=True)
class BucketsStats:
    """Counters of a buckets machine's activity (kept across snapshots)."""

    records: int = 0
    events: int = 0
    too_old_events: int = 0
    expired_days: int = 0
    expired_events: int = 0
    rollups: int = 0
    rolled_up_events: int = 0
    dropped_daily_days: int = 0
    dropped_daily_events: int = 0


@dataclass(frozen=True, slots=True)
class BucketsRawRow:
    """A stored row: ``count`` raw events of ``key`` on ``day``."""

    _type: ClassVar[str] = "raw"
    day: str
    key: str
    count: int


@dataclass(frozen=True, slots=True)
class BucketsDailyRow:
    """A stored row: the daily ``total`` of ``key`` on ``day``."""

    _type: ClassVar[str] = "daily"
    day: str
    key: str
    total: int


@dataclass(frozen=True, slots=True)
class BucketsMeta:
    """The stored meta row: the clock, the counters, and ``bytes``, the row as a store keeps
    it (``Buckets.from_rows`` takes the bytes back)."""

    _type: ClassVar[str] = "meta"
    clock: int
    stats: BucketsStats
    bytes: bytes


@dataclass(frozen=True, slots=True)
class BucketsRawDayDeleted:
    """A change: delete every raw row of ``day``."""

    _type: ClassVar[str] = "raw_day_deleted"
    day: str


@dataclass(frozen=True, slots=True)
class BucketsDailyDayDeleted:
    """A change: delete every daily row of ``day``."""

    _type: ClassVar[str] = "daily_day_deleted"
    day: str


# ----- outbox -----


@dataclass(frozen=True, slots=True)
class OfferOutcome:
    """What ``Outbox.offer`` did: ``"queued"`` as message ``id``, or ``"dropped"`` (counted)
    for ``reason`` ``"full"``, ``"closed"`` or ``"too_large"``."""

    kind: Literal["queued", "dropped"]
    id: int | None = None
    reason: Literal["full", "closed", "too_large"] | None = None


@dataclass(frozen=True, slots=True)
class Send:
    """Outbox output: send ``message`` (attempt ``attempt``), then report
    ``Outbox.sent(id, now_ms)`` or ``Outbox.failed(id, now_ms)``."""

    _type: ClassVar[str] = "send"
    id: int
    attempt: int
    message: bytes


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Outbox output: the reconnect delay after a failure is over: reconnect to the sink."""

    _type: ClassVar[str] = "reconnect"


@dataclass(frozen=True, slots=True)
class GaveUp:
    """Outbox output: message ``id`` failed twice and is dropped (counted), handed back."""

    _type: ClassVar[str] = "gave_up"
    id: int
    message: bytes


@dataclass(frozen=True, slots=True)
class Drained:
    """Outbox output: closed and every message delivered or given up."""

    _type: ClassVar[str] = "drained"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Counters of an outbox's activity (kept across snapshots)."""

    offered: int = 0
    queued: int = 0
    delivered: int = 0
    dropped_full: int = 0
    dropped_closed: int = 0
    dropped_too_large: int = 0
    gave_up: int = 0
    failures: int = 0
    timeouts: int = 0
    resends: int = 0
    reconnects: int = 0


_OUTPUTS = (CreateReplica, Introduce, CreationExpired, Retire, GossipDone, ShardChanged, ShardLost, Send, Reconnect, GaveUp, Drained)

#: Every value class by the shardtally-api record class it is built from.
CLASSES: dict[str, type] = {
    **{name: globals()[name] for name in __all__},
    "PublishOutput": Publish,
    **{f"{cls.__name__}Output": cls for cls in _OUTPUTS},
}
for _cls in CLASSES.values():
    _cls.__module__ = "shardtally"  # pickled and shown as ``shardtally.<name>``
