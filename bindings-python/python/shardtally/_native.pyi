"""The native module of shardtally (private: import everything from ``shardtally``)."""

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal, SupportsIndex, TypedDict, final

from typing_extensions import Self, TypeAlias, Unpack

from shardtally._settings import GlobalSettings, RouterSettings, ShardSettings
from shardtally._values import (
    BatchEntry,
    BatchWrite,
    Deadline,
    FlushOutcome,
    Forward,
    GlobalStats,
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

__all__ = ["Shard", "Global", "Router", "Batch", "Ack", "key_hash", "jump_hash", "_unpickle", "FORMAT_VERSION"]

_Bytes: TypeAlias = bytes | bytearray | memoryview
_Int: TypeAlias = SupportsIndex
"""An ``int`` or any object with ``__index__`` (a NumPy integer); not a ``bool``."""
_Entries: TypeAlias = Mapping[str, _Int] | Iterable[tuple[str, _Int]]

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
    """Jump consistent hash: the bucket in ``range(num_buckets)`` for a 64-bit key hash."""

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
      ``handle_rejection``, ``handle_timeout``; and ``intern`` (no time);
    - outputs: ``poll_output()`` (drain after every input), ``poll_timeout()``,
      ``take_state_changed()``;
    - views: ``shard_ref``, ``config``, ``pending()``, ``pending_delta()``,
      ``pending_requests``, ``pending_keys``, ``in_flight``, ``next_deadline``,
      ``generation``, ``is_draining``, ``is_drained``, ``key_of()``, ``stats``,
      ``snapshot()``.

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

    def poll_output(self) -> SendBatch | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

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
      ``flush_upstream``;
    - outputs: ``poll_output()`` (``Publish`` / ``Forward``), ``poll_timeout()``,
      ``take_state_changed()``;
    - views: ``total()``, ``totals()``, ``key_generation()``, ``generation``,
      ``write_log()``, ``shard_writes()``, ``stats``, ``published_version``,
      ``in_flight_publish``, ``last_seq()``, ``next_deadline``, ``config``,
      ``has_upstream()``, ``upstream_copy()``, ``snapshot()``.

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

    def flush_upstream(self, now_ms: _Int) -> FlushOutcome:
        """Tiered: forward everything merged so far upstream now."""

    def poll_output(self) -> Publish | Forward | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

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
