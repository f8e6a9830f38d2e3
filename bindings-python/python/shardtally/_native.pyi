"""The native module of shardtally (private: import everything from ``shardtally``)."""

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal, SupportsIndex, TypedDict, final

from typing_extensions import Self, TypeAlias, Unpack

from shardtally._settings import (
    BucketsSettings,
    GatewaySettings,
    GlobalSettings,
    MembershipSettings,
    OutboxSettings,
    RouterSettings,
    ShardSettings,
)
from shardtally._values import (
    BatchEntry,
    BatchWrite,
    BucketsDailyDayDeleted,
    BucketsDailyRow,
    BucketsMeta,
    BucketsRawDayDeleted,
    BucketsRawRow,
    BucketsStats,
    ClusterInfo,
    Connection,
    ConnectOutcome,
    CreateReplica,
    CreationExpired,
    DailyTotal,
    Deadline,
    Delivery,
    Drained,
    ExpireOutcome,
    FlushOutcome,
    Forward,
    GatewayStats,
    GaveUp,
    GlobalStats,
    GossipDone,
    GossipPlan,
    HashRange,
    Introduce,
    KeyTotal,
    MembershipStats,
    OfferOutcome,
    OutboxStats,
    PendingCreation,
    Placement,
    Publish,
    PublishOutcome,
    RecordOutcome,
    Reconnect,
    ReplicaView,
    ReservationView,
    ResetOutcome,
    ResetWrite,
    Retire,
    RollupOutcome,
    Route,
    RowOp,
    Send,
    SendBatch,
    ShardChanged,
    ShardInfo,
    ShardLost,
    ShardRef,
    ShardStats,
    ShardWrites,
    StaleKey,
)

__all__ = [
    "Shard",
    "Global",
    "Router",
    "Gateway",
    "Membership",
    "Buckets",
    "Outbox",
    "GlobalBuilder",
    "ShardBuilder",
    "Batch",
    "Ack",
    "Notice",
    "key_hash",
    "jump_hash",
    "knuth_hash",
    "owner_mod",
    "owner_range",
    "shard_range",
    "default_route",
    "request_key",
    "_unpickle",
    "FORMAT_VERSION",
]

_Bytes: TypeAlias = bytes | bytearray | memoryview
_Int: TypeAlias = SupportsIndex
"""An ``int`` or any object with ``__index__`` (a NumPy integer); not a ``bool``."""
_Entries: TypeAlias = Mapping[str, _Int] | Iterable[tuple[str, _Int]]
_StoredRows: TypeAlias = Iterable[tuple[str, _Bytes]]
"""``(table, value)`` pairs: what a host stored by applying ``RowOp``s, read back in any order."""

class _ShardOptions(ShardSettings, total=False):
    shard: int
    incarnation: int
    generation: int

class _GlobalConfig(GlobalSettings, total=False):
    upstream: ShardSettings

FORMAT_VERSION: int
"""The format version of every snapshot and message this build writes and reads."""

def key_hash(key: str) -> int:
    """A stable 64-bit hash of ``key`` (the one the ``"hash"`` router strategy uses)."""

def jump_hash(key_hash: _Int, num_buckets: _Int) -> int:
    """Jump consistent hash: the bucket in ``range(num_buckets)`` for a 64-bit key hash
    (0 buckets count as 1)."""

def knuth_hash(x: _Int) -> int:
    """Knuth's multiplicative hash of a 32-bit integer: ``x * 2654435761 % 2**32``."""

def owner_mod(hash: _Int, num_shards: _Int) -> int:
    """The owner of a 64-bit hash by modulo: ``hash % num_shards`` (0 shards count as 1)."""

def owner_range(hash: _Int, num_shards: _Int) -> int:
    """The owner of a 64-bit hash by range: the hash space ``0 ..= 2**64 - 1`` cut into
    ``num_shards`` contiguous ranges whose sizes differ by at most one (0 shards count as 1)."""

def shard_range(shard: _Int, num_shards: _Int) -> HashRange | None:
    """The hashes ``shard`` owns under ``owner_range`` (inclusive), or ``None`` when
    ``shard >= num_shards``: a holder told ``(shard, num_shards)`` can test keys itself."""

def default_route(path: str) -> str:
    """The route of a request path (as the client sent it, without the query): every
    segment that is all ASCII digits becomes ``:id``, every UUID segment (8-4-4-4-12 hex
    digits) ``:uuid``, the rest stays (``/users/42/orders/3f2c...`` → ``/users/:id/orders/:uuid``);
    the empty path is ``/``."""

def request_key(method: str, route: str, max_key_bytes: _Int = 256) -> str:
    """The bucket key of a request, ``"METHOD route"``: a method other than the nine of HTTP
    (``GET``, ``HEAD``, ``POST``, ``PUT``, ``DELETE``, ``CONNECT``, ``OPTIONS``, ``TRACE``,
    ``PATCH``; case-sensitive) is ``OTHER``, and the key is cut to at most ``max_key_bytes``
    UTF-8 bytes, whole characters only (use the ``max_key_bytes`` of the ``Buckets`` it goes to)."""

def _unpickle(cls: type, snapshot: bytes, settings: Mapping[str, object]) -> object: ...

class _RunLoop:
    """The run-loop methods every stateful machine has."""

    def poll_timeout(self) -> int | None:
        """The earliest deadline in ms (call ``handle_timeout`` then), or ``None``."""

    def handle_timeout(self, now_ms: _Int) -> None:
        """Fires every deadline ``<= now_ms``; early or repeated calls do nothing."""

    def take_state_changed(self) -> bool:
        """Whether the state changed since the last call (durable hosts persist ``snapshot()``)."""

    def snapshot(self) -> bytes:
        """The whole state as versioned bytes (see ``restore``)."""

    @property
    def next_deadline(self) -> Deadline | None:
        """The next deadline and which timer it belongs to, or ``None``."""

@final
class Shard(_RunLoop):
    """A shard: buffers increments per key and ships them to the global as batches.

    Methods by kind:

    - inputs (take ``now_ms``): ``increment``, ``increments``, ``increment_id``,
      ``increment_ids``, ``flush``, ``drain``, ``handle_ack``, ``handle_failure``,
      ``handle_rejection``, ``handle_generation_notice``, ``handle_timeout``; and
      ``intern`` (no time);
    - outputs: ``poll_output()`` (drain after every input), ``poll_timeout()``,
      ``take_state_changed()``, ``take_changes()`` (row changes);
    - views: ``shard_ref``, ``config``, ``pending()``, ``pending_delta()``,
      ``pending_requests``, ``pending_keys``, ``in_flight``, ``next_deadline``,
      ``generation``, ``is_draining``, ``is_drained``, ``key_of()``, ``stats``,
      ``snapshot()``, ``rows()``.

    ``now_ms`` is an integer of milliseconds in ``0 <= now_ms < 2**53`` on the host's clock;
    an earlier ``now_ms`` than one already seen is treated as the latest seen. Integer
    arguments accept any ``__index__`` object but not ``bool``. A rejected input raises an
    ``InputError`` subclass and changes nothing. Shards pickle through ``snapshot()``.
    """

    def __new__(cls, *, shard: _Int, incarnation: _Int, generation: _Int = 0, **settings: Unpack[ShardSettings]) -> Self:
        """A shard with no saved state.

        ``incarnation`` must differ from every earlier life of this shard index (a random
        number or a start time). ``generation`` is the global's reset counter
        (``Global.generation``) for a shard created after resets. Raises a ``ConfigError``
        subclass for a rejected, missing or unknown setting (``UnknownSettingError`` names
        the closest valid one in ``suggestion``).
        """

    @staticmethod
    def restore(snapshot: _Bytes, **settings: Unpack[ShardSettings]) -> Shard:
        """Restores a shard from ``snapshot()`` bytes and its settings (``**shard.config``).

        A batch that was in flight is offered again by ``poll_output()`` (reason
        ``"retry"``). Raises a ``DecodeError`` subclass for invalid bytes.
        """

    @staticmethod
    def from_rows(rows: _StoredRows, **settings: Unpack[ShardSettings]) -> Shard:
        """Rebuilds a shard from its stored rows: the ``(table, value)`` pairs a host kept by
        applying every ``take_changes()`` operation, in any order, and its settings (the
        identity is in the ``meta`` row). Raises a ``DecodeError`` subclass for a row that is
        not a shard row of its table."""

    def increment(self, key: str, delta: _Int, now_ms: _Int) -> None:
        """Adds ``delta`` to ``key``: one request.

        Raises ``EmptyKeyError``, ``KeyTooLongError``, ``CounterOverflowError``,
        ``TableFullError`` or an ``ArgumentError`` subclass; nothing changes then.
        """

    def increments(self, entries: _Entries, now_ms: _Int) -> None:
        """Adds many deltas as one atomic request.

        ``entries`` is a mapping ``{key: delta}`` or an iterable of ``(key, delta)`` pairs;
        repeated keys are summed. Either every entry is applied or none is.
        """

    def increments_coalesced(self, entries: _Entries, requests: _Int, now_ms: _Int) -> None:
        """Adds ``requests`` requests (increments, or ``increments`` of several keys) that all
        arrived at ``now_ms``, given as their deltas summed per key (what a host that groups
        requests holds).

        Pending deltas, ``pending_requests()`` and the idle and max-age timers end exactly as
        if the requests had been made one by one. Flush conditions are checked once, after
        all of them: a group that reaches ``flush_after_requests`` cuts one batch of all of
        it. Atomic. Raises what ``increments`` raises, and ``LengthMismatchError`` for
        entries without requests or requests without entries; nothing changes then.
        """

    def intern(self, key: str) -> int:
        """Interns ``key`` and returns its id for ``increment_id`` / ``increment_ids``.

        Interning the same key again returns the same id; ids survive snapshots. Raises
        ``TableFullError`` beyond ``max_interned_keys``.
        """

    def increment_id(self, id: _Int, delta: _Int, now_ms: _Int) -> None:
        """Adds ``delta`` to an interned key: one request (the fast path for hot loops).

        Raises ``UnknownKeyIdError`` for an id this shard did not issue.
        """

    def increment_ids(self, ids: Iterable[_Int], deltas: _Int | Iterable[_Int], now_ms: _Int) -> None:
        """Adds ``deltas[i]`` to interned key ``ids[i]`` for every ``i``, as one atomic request.

        ``ids`` is an iterable of ints (an ``array('I')`` or NumPy ``uint32`` array is read
        directly); ``deltas`` likewise (``array('q')`` / ``int64``) or one int for every id.
        """

    def flush(self, now_ms: _Int) -> FlushOutcome:
        """Cuts a batch of everything pending now (reason ``"manual"``), or defers it until
        the batch in flight is acknowledged."""

    def drain(self, now_ms: _Int) -> FlushOutcome:
        """Starts draining: pending deltas are flushed now and after every acknowledgement.
        ``is_drained`` tells when the shard can be retired."""

    def handle_ack(self, ack: Ack | _Bytes, now_ms: _Int) -> bool:
        """The global acknowledged a batch. Returns whether it matched the in-flight batch.

        Raises ``WrongShardError`` for an acknowledgement meant for another shard life, and
        a ``DecodeError`` subclass for invalid bytes.
        """

    def handle_failure(self, seq: _Int, now_ms: _Int) -> bool:
        """Sending batch ``seq`` failed: the same batch is re-sent after a backoff.
        Returns whether ``seq`` was the in-flight batch."""

    def handle_rejection(self, seq: _Int, now_ms: _Int) -> bool:
        """The global rejected batch ``seq`` for good (its error's ``rejects_batch``): the
        in-flight batch is dropped, not retried, and counted in ``stats.rejected_batches``
        and ``stats.rejected_entries``. Returns whether ``seq`` was the in-flight batch."""

    def handle_generation_notice(self, notice: Notice | _Bytes, now_ms: _Int) -> bool:
        """Learns a reset the global announced (a ``Notice``, or its bytes): pending deltas of
        the reset keys are dropped and new increments are tagged with the new generation.
        Returns whether it taught anything new (late, repeated or misaddressed notices are
        safe)."""

    def poll_output(self) -> SendBatch | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

    def take_changes(self) -> list[RowOp]:
        """The row changes since the last call, as storage operations in apply order (empty
        exactly when ``take_state_changed()`` would be false): write them instead of a whole
        snapshot, and rebuild with ``from_rows``."""

    def rows(self) -> list[RowOp]:
        """Every row of the state, as ``"put"`` operations (a full write of the store)."""

    @property
    def shard_ref(self) -> ShardRef:
        """This shard's index and incarnation."""

    @property
    def config(self) -> ShardSettings:
        """The settings in force, as keyword arguments for ``restore``."""

    @property
    def stats(self) -> ShardStats:
        """Activity counters."""

    def pending(self) -> tuple[BatchEntry, ...]:
        """Pending deltas (not yet in a batch), sorted by key, then generation."""

    def pending_delta(self, key: str) -> int:
        """The pending delta of one key, summed over generations (0 when none)."""

    @property
    def pending_requests(self) -> int:
        """Requests accepted since the last batch was cut."""

    @property
    def pending_keys(self) -> int:
        """Number of pending entries (distinct keys per generation)."""

    @property
    def in_flight(self) -> Batch | None:
        """The batch in flight, or ``None``."""

    @property
    def generation(self) -> int:
        """The reset generation new increments are tagged with."""

    @property
    def is_draining(self) -> bool:
        """Whether ``drain()`` was called."""

    @property
    def is_drained(self) -> bool:
        """Draining, nothing pending and nothing in flight: the shard can be retired."""

    def key_of(self, id: _Int) -> str | None:
        """The key of an interned id, or ``None``."""

@final
class Global(_RunLoop):
    """The global aggregator: applies batches exactly once, keeps the totals and tells the
    host when to publish them.

    Methods by kind:

    - inputs (take ``now_ms``): ``handle_batch`` (returns the ``Ack`` for the shard),
      ``reset``, ``publish``, ``handle_publish_ack``, ``handle_publish_failure``,
      ``handle_timeout``; tiered: ``handle_upstream_ack``, ``handle_upstream_failure``,
      ``flush_upstream``, ``handle_generation_notice``;
    - outputs: ``poll_output()`` (``Publish`` / ``Forward`` / ``Notice``),
      ``poll_timeout()``, ``take_state_changed()``, ``take_changes()`` (row changes);
    - views: ``total()``, ``totals()``, ``key_generation()``, ``generation``,
      ``write_log()``, ``shard_writes()``, ``stats``, ``published_version``,
      ``in_flight_publish``, ``last_seq()``, ``next_deadline``, ``config``,
      ``has_upstream()``, ``upstream_copy()``, ``generation_notice()``, ``snapshot()``,
      ``rows()``.

    Its ``snapshot()`` holds the deduplication state: persist it with the published totals
    and a restarted global never applies a batch twice. Globals pickle through it.
    """

    def __new__(cls, *, upstream: _ShardOptions | None = None, **settings: Unpack[GlobalSettings]) -> Self:
        """An empty global.

        With ``upstream`` (a shard's options: ``shard``, ``incarnation`` and its settings)
        the global forwards everything it applies to a higher-level global as ``Forward``
        outputs (tiered aggregation). Raises a ``ConfigError`` subclass for rejected settings.
        """

    @staticmethod
    def restore(snapshot: _Bytes, *, upstream: ShardSettings | None = None, **settings: Unpack[GlobalSettings]) -> Global:
        """Restores a global from ``snapshot()`` bytes and its settings (``**global_.config``).

        A tiered global also needs ``upstream``: the upstream shard's settings (its identity
        is in the snapshot). A publish that was in flight is offered again by ``poll_output()``.
        """

    @staticmethod
    def from_rows(rows: _StoredRows, *, upstream: ShardSettings | None = None, **settings: Unpack[GlobalSettings]) -> Global:
        """Rebuilds a global from its stored rows (the ``(table, value)`` pairs of its applied
        ``RowOp``s, in any order) and its settings; a tiered global's rows also need
        ``upstream``, the upstream shard's settings, as for ``restore``."""

    def handle_batch(self, batch: Batch | _Bytes, now_ms: _Int) -> Ack:
        """Applies a batch exactly once and returns the acknowledgement for its shard.

        A batch already applied is acknowledged again (``duplicate``) without being applied.
        Large batches are merged without the GIL. Raises ``KeyTooLongError``,
        ``CounterOverflowError`` or ``TableFullError`` (nothing changes). When the error's
        ``rejects_batch`` is true the batch can never be applied: report it with
        ``Shard.handle_rejection(seq, now_ms)``; otherwise with ``Shard.handle_failure``.
        """

    def reset(self, key: str, now_ms: _Int) -> ResetOutcome:
        """Resets a key: its total goes to zero and its generation up. Deltas shards
        accepted before they learn of the reset never count."""

    def publish(self, now_ms: _Int) -> PublishOutcome:
        """Publishes now (reason ``"manual"``) if anything changed since the last publish."""

    def handle_publish_ack(self, version: _Int, now_ms: _Int) -> bool:
        """The host persisted publish ``version``. Returns whether it was the one in flight."""

    def handle_publish_failure(self, version: _Int, now_ms: _Int) -> bool:
        """Persisting publish ``version`` failed: its changes are published again later.
        Returns whether it was the one in flight."""

    def handle_upstream_ack(self, ack: Ack | _Bytes, now_ms: _Int) -> bool:
        """Tiered: the upstream global acknowledged a forwarded batch. Raises
        ``NoUpstreamError`` on a global without ``upstream``."""

    def handle_upstream_failure(self, seq: _Int, now_ms: _Int) -> bool:
        """Tiered: forwarding batch ``seq`` upstream failed."""

    def handle_upstream_rejection(self, seq: _Int, now_ms: _Int) -> bool:
        """Tiered: the upstream global rejected forwarded batch ``seq`` for good (its
        ``handle_batch`` raised an error with ``rejects_batch``): the upstream shard drops it,
        counted in its stats, instead of re-sending it forever. ``False`` (nothing changes)
        when ``seq`` is not in flight."""

    def flush_upstream(self, now_ms: _Int) -> FlushOutcome:
        """Tiered: forward everything merged so far upstream now."""

    def handle_generation_notice(self, notice: Notice | _Bytes, now_ms: _Int) -> bool:
        """Tiered: learns a reset the upstream global announced, for the upstream shard and
        this global's own shards. Returns whether it taught anything new. Raises
        ``NoUpstreamError`` on a global without ``upstream``."""

    def generation_notice(self, key: str, shard: _Int, incarnation: _Int) -> Notice:
        """A notice of ``key``'s last reset (or of the reset counter alone, for a key never
        reset) addressed to a shard life: for a shard the global never heard from, or to
        deliver one again."""

    def poll_output(self) -> Publish | Forward | Notice | None:
        """The next thing the host must do, or ``None``. Drain it after every input.
        ``reset`` emits a ``Notice`` for every shard life the global knows."""

    def take_changes(self) -> list[RowOp]:
        """The row changes since the last call, as storage operations in apply order (a
        tiered global's upstream rows in ``upstream.*`` tables); rebuild with ``from_rows``."""

    def rows(self) -> list[RowOp]:
        """Every row of the state, as ``"put"`` operations (a full write of the store)."""

    @property
    def config(self) -> _GlobalConfig:
        """The settings in force, as keyword arguments for ``restore`` (with ``upstream``,
        the upstream shard's settings, when tiered)."""

    @property
    def stats(self) -> GlobalStats:
        """Activity counters."""

    def total(self, key: str) -> int:
        """The total of one key (0 when absent)."""

    def totals(self) -> dict[str, int]:
        """Every key's total, in key order (keys reset to zero are included)."""

    def key_generation(self, key: str) -> int:
        """A key's generation: the reset counter at its last reset (0 if never reset)."""

    @property
    def generation(self) -> int:
        """The reset counter; new shards may start from it (``Shard(generation=...)``)."""

    def write_log(self) -> list[BatchWrite | ResetWrite]:
        """Recent writes, newest first (at most ``write_log_capacity``)."""

    def shard_writes(self) -> list[ShardWrites]:
        """Per-shard write statistics, by shard index."""

    @property
    def published_version(self) -> int:
        """The version of the last acknowledged publish (0 before any)."""

    @property
    def in_flight_publish(self) -> Publish | None:
        """The publish waiting for its acknowledgement, or ``None``."""

    def last_seq(self, shard: _Int, incarnation: _Int) -> int | None:
        """The last applied seq of a shard life, or ``None`` when it is not remembered."""

    def has_upstream(self) -> bool:
        """Whether this global forwards to an upstream global (tiered aggregation)."""

    def upstream_copy(self) -> Shard | None:
        """A copy of the upstream shard (snapshot, then restore: costs a snapshot of it), or
        ``None``. Changing the copy does not change this global."""

@final
class GlobalBuilder:
    """Rebuilds a ``Global`` from its stored rows a page at a time: what ``Global.from_rows``
    does with every row at once, for a host that reads its rows with a cursor (a few
    thousand per ``add``) and so never holds all of them. Rows may come in any order;
    reading the tables of ``read_first()`` first, in that order, keeps every row from waiting
    for another in the builder.

    A bad row raises its ``DecodeError`` subclass (e.g. ``CorruptError``), and every later
    ``add`` or ``finish`` raises it again; ``finish()`` returns the global and spends the
    builder (a later call raises ``InvalidArgumentError``)."""

    def __new__(cls, *, upstream: ShardSettings | None = None, **settings: Unpack[GlobalSettings]) -> Self:
        """A builder from the global's settings, as for ``Global.from_rows`` (a tiered
        global's with ``upstream``)."""

    @staticmethod
    def read_first() -> list[str]:
        """The tables to read first, in this order, before every other."""

    def add(self, rows: _StoredRows) -> None:
        """Adds a page of stored ``(table, value)`` rows."""

    def finish(self) -> Global:
        """The global, once every row was added (checks what single rows could not)."""

@final
class ShardBuilder:
    """Rebuilds a ``Shard`` from its stored rows a page at a time, as ``GlobalBuilder``."""

    def __new__(cls, **settings: Unpack[ShardSettings]) -> Self:
        """A builder from the shard's settings (the identity is in the ``meta`` row)."""

    @staticmethod
    def read_first() -> list[str]:
        """The tables to read first, in this order, before every other."""

    def add(self, rows: _StoredRows) -> None:
        """Adds a page of stored ``(table, value)`` rows."""

    def finish(self) -> Shard:
        """The shard, once every row was added."""

@final
class Router:
    """Picks the shard for each increment.

    Strategies: ``"hash"`` (jump consistent hash of the key; the default), ``"random"``
    (seeded), ``"round_robin"`` and ``"pinned"`` (always ``pinned_shard``). Lowering the
    shard count reports the shards at or above it as draining. Routers pickle through
    ``snapshot()``.
    """

    def __new__(cls, **settings: Unpack[RouterSettings]) -> Self:
        """A router; raises a ``ConfigError`` subclass for rejected settings."""

    @staticmethod
    def restore(snapshot: _Bytes) -> Router:
        """Restores a router from ``snapshot()`` bytes (its settings are in the snapshot)."""

    def route(self, key: str) -> int:
        """The shard for an increment of ``key``, in ``range(shard_count)``."""

    def set_shard_count(self, count: _Int) -> list[int]:
        """Changes the shard count; returns the shards that became draining (ascending).
        Raises ``ShardOutOfRangeError`` for 0, or a count that excludes the pinned shard."""

    def mark_drained(self, shard: _Int) -> bool:
        """The host finished draining ``shard``. Returns whether it was draining."""

    @property
    def draining(self) -> list[int]:
        """Shards at or above the shard count that still have to be drained, ascending."""

    @property
    def shard_count(self) -> int:
        """The number of shards increments are routed to."""

    @property
    def strategy(self) -> Literal["hash", "random", "round_robin", "pinned"]:
        """The routing strategy."""

    @property
    def pinned_shard(self) -> int | None:
        """The pinned shard (strategy ``"pinned"``), or ``None``."""

    def snapshot(self) -> bytes:
        """The router's state as versioned bytes."""

@final
class Batch:
    """A shard's deltas on their way to the global.

    Deliver it to ``Global.handle_batch`` (as the object, or as ``encode()``d bytes) and
    route the returned ``Ack`` back to ``Shard.handle_ack``. Batches come from shards or
    from ``Batch.decode``; they cannot be built by hand.
    """

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
    @property
    def shard_ref(self) -> ShardRef:
        """The shard life that sent it."""

    @property
    def shard(self) -> int:
        """The sending shard's index."""

    @property
    def incarnation(self) -> int:
        """The sending shard's incarnation."""

    @property
    def seq(self) -> int:
        """The sequence number (1 for an incarnation's first batch)."""

    @property
    def reason(self) -> Literal["requests", "idle", "max_age", "manual", "drain", "retry"]:
        """Why it was sent."""

    @property
    def entries(self) -> tuple[BatchEntry, ...]:
        """The entries, sorted by key, then generation."""

    def deltas(self) -> dict[str, int]:
        """The entries as ``{key: delta}`` (a key's deltas summed over generations)."""

    def encode(self) -> bytes:
        """The wire encoding (versioned bytes)."""

    @staticmethod
    def decode(data: _Bytes) -> Batch:
        """Decodes and validates a batch; raises a ``DecodeError`` subclass for bad bytes."""

    def __len__(self) -> int: ...
    def __hash__(self) -> int: ...

@final
class Ack:
    """The global's answer to a batch; route it back to the shard that sent the batch."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str]]
    @property
    def shard_ref(self) -> ShardRef:
        """The shard life it is for."""

    @property
    def shard(self) -> int:
        """The shard index it is for."""

    @property
    def incarnation(self) -> int:
        """The incarnation it is for."""

    @property
    def seq(self) -> int:
        """The acknowledged batch's sequence number."""

    @property
    def duplicate(self) -> bool:
        """The batch had already been applied: this acknowledgement applied nothing."""

    @property
    def generation(self) -> int:
        """The global's reset generation."""

    @property
    def stale_keys(self) -> tuple[StaleKey, ...]:
        """Keys of the batch whose deltas were dropped as older than a reset, by key."""

    def encode(self) -> bytes:
        """The wire encoding (versioned bytes)."""

    @staticmethod
    def decode(data: _Bytes) -> Ack:
        """Decodes and validates an acknowledgement; raises a ``DecodeError`` subclass."""

    def __hash__(self) -> int: ...

@final
class Notice:
    """A reset for a shard to learn at once: the global's reset ``generation`` and the reset
    ``keys`` with their new generation, addressed to a shard life.

    ``Global.poll_output()`` yields one for every shard life it knows after ``reset`` (and
    ``Global.generation_notice`` makes one on demand): deliver it to
    ``Shard.handle_generation_notice`` (or a tiered global's ``handle_generation_notice``),
    as the object or as ``encode()``d bytes. Late, repeated or misaddressed notices are safe.
    """

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def shard_ref(self) -> ShardRef:
        """The shard life it is addressed to."""

    @property
    def shard(self) -> int:
        """The shard index it is addressed to."""

    @property
    def incarnation(self) -> int:
        """The incarnation it is addressed to."""

    @property
    def generation(self) -> int:
        """The global's reset generation."""

    @property
    def keys(self) -> tuple[StaleKey, ...]:
        """The reset keys with their new generation, by key."""

    def encode(self) -> bytes:
        """The wire encoding (versioned bytes)."""

    @staticmethod
    def decode(data: _Bytes) -> Notice:
        """Decodes and validates a notice; raises a ``DecodeError`` subclass."""

    def __hash__(self) -> int: ...

@final
class Gateway(_RunLoop):
    """Routes request ids to replicas under a connection ``limit`` and plans messages
    between them (DOG's gateway).

    Methods by kind:

    - inputs (take ``now_ms``): ``route``, ``handle_replica_created``,
      ``handle_creation_failed``, ``handle_connect``, ``handle_close``, ``handle_report``,
      ``gossip``, ``handle_gossip_reply``, ``handle_gossip_failure``, ``handle_timeout``;
    - outputs: ``poll_output()`` (``CreateReplica`` / ``Introduce`` / ``CreationExpired``
      / ``Retire`` / ``GossipDone``), ``poll_timeout()``, ``take_state_changed()``,
      ``take_changes()`` (row changes);
    - views: ``group``, ``replicas()``, ``replica()``, ``connections()``, ``sticky()``,
      ``request_ids``, ``reservations()``, ``pending_creations()``, ``gossips()``,
      ``current``, ``stats``, ``next_deadline``, ``config``, ``snapshot()``; and the
      message plans ``emit()``, ``broadcast()``, ``whisper()``.

    Ids a caller chooses (group, replicas, connections, request ids) are strings; ids the
    gateway issues (creations, gossips) are ints. An input from a replica names the group
    and the replica: another group is ``WrongGroupError``, an unknown replica
    ``UnknownReplicaError``. A rejected input changes nothing. Gateways pickle through
    ``snapshot()``.
    """

    def __new__(cls, *, group: str, **settings: Unpack[GatewaySettings]) -> Self:
        """An empty gateway of ``group``; raises a ``ConfigError`` subclass for rejected
        settings (``MissingSettingError`` without ``group``) and ``EmptyIdError`` /
        ``IdTooLongError`` for a bad group."""

    @staticmethod
    def restore(snapshot: _Bytes, **settings: Unpack[GatewaySettings]) -> Gateway:
        """Restores a gateway from ``snapshot()`` bytes and its settings (``**gateway.config``;
        the group is in the snapshot)."""

    @staticmethod
    def from_rows(rows: _StoredRows, **settings: Unpack[GatewaySettings]) -> Gateway:
        """Rebuilds a gateway from its stored rows: the ``(table, value)`` pairs a host kept
        by applying every ``take_changes()`` operation, in any order, and its settings (the
        group is in the ``meta`` row). Raises a ``DecodeError`` subclass for a row that is not
        a gateway row of its table, or rows that disagree."""

    def take_changes(self) -> list[RowOp]:
        """The row changes since the last call, as storage operations in apply order (empty
        exactly when ``take_state_changed()`` would be false; tables ``meta``, ``replicas``,
        ``connections``, ``sticky``, ``reservations``, ``creations``, ``gossips``,
        ``gossip_answers``): a route, a connect or a close is a few rows whatever the number
        of request ids. Rebuild with ``from_rows``."""

    def rows(self) -> list[RowOp]:
        """Every row of the state, as ``"put"`` operations (a full write of the store)."""

    def route(self, request: str, now_ms: _Int) -> Route:
        """Where request id ``request`` goes: the replica it is already on, the replica being
        filled, or the least-loaded one below the limit (a slot is reserved there until
        ``expires_at``); when every replica is full, a ``"pending"`` route and a
        ``CreateReplica`` output."""

    def handle_replica_created(self, creation: _Int, replica: str, now_ms: _Int) -> Placement:
        """The host created the replica of ``creation`` with id ``replica``: the waiting
        request ids are reserved on it and it is introduced to its peers."""

    def handle_creation_failed(self, creation: _Int, now_ms: _Int) -> list[str] | None:
        """Creating the replica of ``creation`` failed: returns the request ids that waited
        for it (route them again), or ``None`` for a creation not pending."""

    def handle_connect(self, group: str, replica: str, connection: str, request: str, now_ms: _Int) -> ConnectOutcome:
        """``replica`` opened ``connection`` of request id ``request``. Raises
        ``ReplicaFullError`` when it has no reservation and no free slot, and
        ``DuplicateConnectionError`` for a connection id already open there."""

    def handle_close(self, group: str, replica: str, connection: str, now_ms: _Int) -> bool:
        """``replica`` closed ``connection``. Returns whether it was open: a second close
        (``error`` then ``close``) is a counted no-op."""

    def handle_report(self, group: str, replica: str, connections: Iterable[tuple[str, str]], now_ms: _Int) -> None:
        """``replica`` reports its open ``(connection, request)`` pairs: after a restart the
        gateway rebuilds counts and sticky entries from these reports."""

    def gossip(self, group: str, replica: str, now_ms: _Int) -> GossipPlan:
        """Starts a gossip from ``replica``: ask every peer, answer with ``GossipDone`` when
        all replied or at the deadline."""

    def handle_gossip_reply(self, group: str, gossip: _Int, peer: str, payload: _Bytes, now_ms: _Int) -> bool:
        """``peer`` answered ``gossip`` with ``payload``. Returns whether the answer was
        awaited (``PayloadTooLargeError`` beyond ``max_gossip_reply_bytes``)."""

    def handle_gossip_failure(self, group: str, gossip: _Int, peer: str, now_ms: _Int) -> bool:
        """Asking ``peer`` for ``gossip`` failed; the others' answers still count. Returns
        whether the answer was awaited."""

    def emit(self, group: str, replica: str, sender: str, include_sender: bool) -> list[Delivery]:
        """The deliveries of a message from connection ``sender`` to its own replica."""

    def broadcast(self, group: str, replica: str, sender: str, include_sender: bool) -> list[Delivery]:
        """The deliveries of a message from connection ``sender`` to every replica."""

    def whisper(self, group: str, replica: str, sender: str, target: str) -> list[Delivery]:
        """The delivery of a message from connection ``sender`` to request id ``target``
        (none when the target is unknown or the sender itself)."""

    def poll_output(self) -> CreateReplica | Introduce | CreationExpired | Retire | GossipDone | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

    @property
    def config(self) -> GatewaySettings:
        """The settings in force, as keyword arguments for ``restore``."""

    @property
    def stats(self) -> GatewayStats:
        """Activity counters."""

    @property
    def group(self) -> str:
        """The group this gateway routes for."""

    def replicas(self) -> list[ReplicaView]:
        """Every replica, in creation order."""

    def replica(self, id: str) -> ReplicaView | None:
        """One replica, or ``None``."""

    def connections(self, replica: str) -> list[Connection] | None:
        """A replica's open connections, or ``None`` for an unknown replica."""

    def sticky(self, request: str) -> str | None:
        """The replica request id ``request`` sticks to, or ``None``."""

    @property
    def request_ids(self) -> int:
        """Number of sticky request ids."""

    def reservations(self) -> list[ReservationView]:
        """Live reservations, oldest first."""

    def pending_creations(self) -> list[PendingCreation]:
        """Replica creations waiting for the host."""

    def gossips(self) -> list[int]:
        """Ids of the gossips in flight."""

    @property
    def current(self) -> str | None:
        """The replica being filled, or ``None``."""

@final
class Membership(_RunLoop):
    """Gives each holder (process) of a named cluster a unique shard index in
    ``range(num_shards)`` through heartbeats, a grace period and rate-limited reshards
    (postgres-shard-coordinator).

    Methods by kind:

    - inputs (take ``now_ms``): ``register``, ``heartbeat``, ``unregister``,
      ``remove_cluster``, ``handle_timeout``;
    - outputs: ``poll_output()`` (``ShardChanged`` / ``ShardLost``), ``poll_timeout()``,
      ``take_state_changed()``, ``take_changed_clusters()``;
    - views: ``shard_info()``, ``assignments()``, ``cluster_info()``, ``clusters()``,
      ``stats``, ``next_deadline``, ``config``, ``snapshot()``, ``snapshot_cluster()``.

    Every assignment carries an ``epoch`` (a fencing token, increasing per reshard); two
    holders never hold the same index in one epoch. Clusters are independent. Membership
    machines pickle through ``snapshot()``.
    """

    def __new__(cls, **settings: Unpack[MembershipSettings]) -> Self:
        """A machine without clusters; raises a ``ConfigError`` subclass for rejected settings."""

    @staticmethod
    def restore(snapshot: _Bytes, **settings: Unpack[MembershipSettings]) -> Membership:
        """Restores a machine from ``snapshot()`` bytes and its settings."""

    @staticmethod
    def restore_clusters(rows: Iterable[_Bytes], **settings: Unpack[MembershipSettings]) -> Membership:
        """Builds a machine from ``snapshot_cluster()`` rows, one per cluster, in any order
        (a host that stores clusters apart)."""

    def register(self, cluster: str, holder: str, now_ms: _Int) -> None:
        """Registers ``holder`` in ``cluster`` (creating it); it gets an index at the next
        reshard. Registering a live holder is a heartbeat."""

    def heartbeat(self, cluster: str, holder: str, now_ms: _Int) -> None:
        """A live holder's heartbeat. Raises ``HolderExpiredError`` after its deadline
        (register again), ``UnknownClusterError`` / ``UnknownHolderError``."""

    def unregister(self, cluster: str, holder: str, now_ms: _Int) -> None:
        """Removes a holder (a clean shutdown); its index is lost at once."""

    def remove_cluster(self, cluster: str, now_ms: _Int) -> None:
        """Forgets a cluster without live holders (``ClusterNotEmptyError`` otherwise)."""

    def poll_output(self) -> ShardChanged | ShardLost | None:
        """The next notification for a holder, or ``None``. Drain it after every input."""

    def take_changed_clusters(self) -> list[str]:
        """The clusters whose ``snapshot_cluster()`` may differ since the last call, sorted
        (a name whose cluster is gone was removed)."""

    @property
    def config(self) -> MembershipSettings:
        """The settings in force, as keyword arguments for ``restore``."""

    @property
    def stats(self) -> MembershipStats:
        """Activity counters, summed over the clusters present."""

    def shard_info(self, cluster: str, holder: str, now_ms: _Int) -> ShardInfo:
        """A holder's assignment as of ``now_ms`` (a query). Raises ``NotAssignedError``
        while it waits for a reshard, ``HolderExpiredError``, ``UnknownClusterError``,
        ``UnknownHolderError``."""

    def assignments(self, cluster: str, now_ms: _Int) -> list[ShardInfo]:
        """Every live holder's assignment as of ``now_ms``, by index."""

    def cluster_info(self, cluster: str) -> ClusterInfo | None:
        """A cluster at a glance, or ``None``."""

    def clusters(self) -> list[str]:
        """The clusters' names, sorted."""

    def snapshot_cluster(self, cluster: str) -> bytes | None:
        """One cluster as versioned bytes (for ``restore_clusters``), or ``None``."""

@final
class Buckets(_RunLoop):
    """Counts events per key (``"GET /users"``) and local day, rolls raw counts up into daily
    totals and answers day and period queries (count's store).

    Methods by kind:

    - inputs (take ``now_ms``): ``record``, ``record_count``, ``record_many``,
      ``record_batch``, ``rollup``, ``expire``, ``handle_timeout``;
    - outputs: none (no ``poll_output``): ``poll_timeout()`` / ``handle_timeout`` run the
      retention; ``take_state_changed()``, ``take_changes()`` (row changes);
    - views: ``day_of()``, ``day_start()``, ``daily_totals()``, ``period_totals()``,
      ``daily_total()``, ``raw_count()``, ``raw_days()``, ``raw_events``, ``key_count``,
      ``daily_days``, ``stats``, ``next_deadline``, ``config``, ``snapshot()``, ``rows()``.

    Event times (``at_ms``) are ms since the Unix epoch; days are ``"YYYY-MM-DD"`` strings
    and periods ``"YYYY"``, ``"YYYY-MM"`` or ``"YYYY-MM-DD"`` (a malformed one is
    ``InvalidArgumentError``), local to ``utc_offset_minutes``. A query that matches nothing
    is ``NotFoundError``. Buckets pickle through ``snapshot()``.
    """

    def __new__(cls, **settings: Unpack[BucketsSettings]) -> Self:
        """Empty buckets; raises a ``ConfigError`` subclass for rejected settings."""

    @staticmethod
    def restore(snapshot: _Bytes, **settings: Unpack[BucketsSettings]) -> Buckets:
        """Restores buckets from ``snapshot()`` bytes and their settings."""

    @staticmethod
    def from_rows(
        rows: Iterable[BucketsRawRow | BucketsDailyRow | BucketsMeta | _Bytes], **settings: Unpack[BucketsSettings]
    ) -> Buckets:
        """Rebuilds buckets from their stored rows, in any order: what ``rows()`` returned, or
        rows read back from typed tables (``BucketsRawRow(day, key, count)``,
        ``BucketsDailyRow(day, key, total)``, and the meta row as its ``bytes``)."""

    def record(self, key: str, at_ms: _Int, now_ms: _Int) -> RecordOutcome:
        """Records one event of ``key`` at event time ``at_ms``."""

    def record_count(self, key: str, count: _Int, at_ms: _Int, now_ms: _Int) -> RecordOutcome:
        """Records ``count`` events of ``key`` at event time ``at_ms``. An event for a day past
        the retention is dropped and counted (``kind == "too_old"``), not an error."""

    def record_many(self, entries: _Entries, at_ms: _Int, now_ms: _Int) -> RecordOutcome:
        """Records ``{key: count}`` or ``(key, count)`` pairs at one event time, atomically."""

    def record_batch(self, batch: Batch | _Bytes, at_ms: _Int, now_ms: _Int) -> RecordOutcome:
        """Records a shard's ``Batch`` (its deltas as counts) at one event time."""

    def rollup(self, period: str, now_ms: _Int) -> RollupOutcome:
        """Moves the raw counts of a day, month or year into daily totals, additively (late
        data adds to what is there)."""

    def expire(self, now_ms: _Int) -> ExpireOutcome:
        """Drops the raw days that fell out of ``raw_retention_days`` (as the timer does)."""

    def take_changes(self) -> list[BucketsRawRow | BucketsDailyRow | BucketsMeta | BucketsRawDayDeleted | BucketsDailyDayDeleted]:
        """The row changes since the last call, in apply order: upserted rows and deleted
        days; rebuild with ``from_rows``."""

    def rows(self) -> list[BucketsRawRow | BucketsDailyRow | BucketsMeta]:
        """Every stored row (raw rows, daily rows, the meta row): a store's first full write."""

    @property
    def config(self) -> BucketsSettings:
        """The settings in force, as keyword arguments for ``restore``."""

    @property
    def stats(self) -> BucketsStats:
        """Activity counters."""

    def day_of(self, at_ms: _Int) -> str:
        """The local day (``"YYYY-MM-DD"``) of event time ``at_ms``."""

    def day_start(self, day: str) -> int | None:
        """The first millisecond of a local day, or ``None`` before the Unix epoch."""

    def daily_totals(self, from_: str, to: str) -> list[DailyTotal]:
        """Daily totals of the days ``from_ ..= to``, by day, then key."""

    def period_totals(self, period: str) -> tuple[KeyTotal, ...]:
        """Each key's total over a year, month or day, by key (``dict(...)`` makes a dict)."""

    def daily_total(self, day: str, key: str) -> int:
        """One key's daily total on a day (0 when none)."""

    def raw_count(self, day: str, key: str) -> int:
        """One key's raw (not rolled-up) count on a day (0 when none)."""

    def raw_days(self) -> list[str]:
        """The days holding raw counts, oldest first."""

    @property
    def raw_events(self) -> int:
        """Events held in raw buckets."""

    @property
    def key_count(self) -> int:
        """Distinct keys held in raw and daily rows."""

    @property
    def daily_days(self) -> int:
        """Days holding daily totals."""

@final
class Outbox(_RunLoop):
    """A bounded queue between a host and a remote sink (count's client queue).

    ``offer`` never blocks: when closed, too large or full it drops the message and counts
    the drop by reason. A failed send pauses sending for a seeded, jittered reconnect delay
    (``Reconnect``), re-sends the message once, then gives it up (``GaveUp``). ``close``
    drains (``Drained``).

    Methods by kind:

    - inputs (take ``now_ms``): ``offer``, ``sent``, ``failed``, ``close``,
      ``handle_timeout``;
    - outputs: ``poll_output()`` (``Send`` / ``Reconnect`` / ``GaveUp`` / ``Drained``),
      ``poll_timeout()``, ``take_state_changed()``, ``take_changes()`` (row changes);
    - views: ``len(outbox)``, ``is_empty``, ``queued_ids()``, ``in_flight_ids()``,
      ``is_reconnecting``, ``is_closed``, ``is_drained``, ``stats``, ``next_deadline``,
      ``config``, ``snapshot()``.

    Message ids are ints the outbox issues. Outboxes pickle through ``snapshot()`` (messages
    in flight are offered again after a restore).
    """

    def __new__(cls, **settings: Unpack[OutboxSettings]) -> Self:
        """An empty, open outbox; raises a ``ConfigError`` subclass for rejected settings."""

    @staticmethod
    def restore(snapshot: _Bytes, **settings: Unpack[OutboxSettings]) -> Outbox:
        """Restores an outbox from ``snapshot()`` bytes and its settings; messages that were
        in flight are offered again by ``poll_output()``."""

    @staticmethod
    def from_rows(rows: _StoredRows, **settings: Unpack[OutboxSettings]) -> Outbox:
        """Rebuilds an outbox from its stored rows (the ``(table, value)`` pairs of every
        ``take_changes()`` operation applied, in any order) and its settings; messages that
        were in flight are offered again. Raises a ``DecodeError`` subclass for bad rows."""

    def take_changes(self) -> list[RowOp]:
        """The row changes since the last call, as storage operations in apply order (empty
        exactly when ``take_state_changed()`` would be false; tables ``meta``, ``messages``
        (a message's bytes, written once), ``sends``). Rebuild with ``from_rows``."""

    def rows(self) -> list[RowOp]:
        """Every row of the state, as ``"put"`` operations (a full write of the store)."""

    def offer(self, message: _Bytes, now_ms: _Int) -> OfferOutcome:
        """Queues ``message``, or drops it (counted) when closed, too large or full."""

    def sent(self, id: _Int, now_ms: _Int) -> bool:
        """The sink took message ``id``. Returns whether it was in flight."""

    def failed(self, id: _Int, now_ms: _Int) -> bool:
        """Sending message ``id`` failed: it is re-sent after a reconnect, or given up if this
        was its re-send. Returns whether it was in flight."""

    def close(self, now_ms: _Int) -> None:
        """Stops taking offers; what is held is still delivered, then ``Drained``."""

    def poll_output(self) -> Send | Reconnect | GaveUp | Drained | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

    @property
    def config(self) -> OutboxSettings:
        """The settings in force, as keyword arguments for ``restore``."""

    @property
    def stats(self) -> OutboxStats:
        """Activity counters."""

    def __len__(self) -> int:
        """Messages held: queued, waiting to be re-sent, or in flight."""

    @property
    def is_empty(self) -> bool:
        """No message is held."""

    def queued_ids(self) -> list[int]:
        """Ids of the messages waiting to be sent, in sending order (re-sends first)."""

    def in_flight_ids(self) -> list[int]:
        """Ids of the messages sent and not yet answered, ascending."""

    @property
    def is_reconnecting(self) -> bool:
        """Sending is paused until a reconnect."""

    @property
    def is_closed(self) -> bool:
        """``close()`` was called."""

    @property
    def is_drained(self) -> bool:
        """Closed and nothing held."""
