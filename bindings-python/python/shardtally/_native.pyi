"""The native module of shardtally (private: import everything from ``shardtally``)."""

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal, final

from typing_extensions import TypeAlias

__all__ = [
    "Shard",
    "Global",
    "Router",
    "ShardRef",
    "BatchEntry",
    "Batch",
    "Ack",
    "SendBatch",
    "Publish",
    "Forward",
    "FlushOutcome",
    "PublishOutcome",
    "ResetOutcome",
    "Deadline",
    "ShardStats",
    "GlobalStats",
    "ShardWrites",
    "BatchWrite",
    "ResetWrite",
    "key_hash",
    "jump_hash",
    "_restore_shard",
    "_restore_global",
    "FORMAT_VERSION",
]

_Bytes: TypeAlias = bytes | bytearray | memoryview
_FlushReason: TypeAlias = Literal["requests", "idle", "max_age", "manual", "drain", "retry"]
_PublishMode: TypeAlias = Literal["full", "changes"]
_PublishReason: TypeAlias = Literal["writes", "idle", "max_age", "reset", "manual", "retry"]
_Strategy: TypeAlias = Literal["hash", "random", "round_robin", "pinned"]
_Entries: TypeAlias = Mapping[str, int] | Iterable[tuple[str, int]]

FORMAT_VERSION: int
"""The format version of every snapshot and message this build writes and reads."""

def key_hash(key: str) -> int:
    """A stable 64-bit hash of ``key`` (the one the ``"hash"`` router strategy uses)."""

def jump_hash(key_hash: int, num_buckets: int) -> int:
    """Jump consistent hash: the bucket in ``range(num_buckets)`` for a 64-bit key hash."""

def _restore_shard(snapshot: _Bytes, settings: Mapping[str, int]) -> Shard: ...
def _restore_global(
    snapshot: _Bytes, settings: Mapping[str, int | str], upstream_config: Mapping[str, int] | None = None
) -> Global: ...

# ----- machines -----

@final
class Shard:
    """A shard: buffers increments per key and ships them to the global as batches.

    Methods by kind:

    - inputs (take ``now_ms``): ``increment``, ``increments``, ``increment_keys``,
      ``increment_id``, ``increment_ids``, ``flush``, ``drain``, ``handle_ack``,
      ``handle_failure``, ``handle_rejection``, ``handle_timeout``; and ``intern`` (no time);
    - outputs: ``poll_output()`` (drain after every input), ``poll_timeout()``,
      ``take_state_changed()``;
    - views: ``shard_ref``, ``config``, ``pending()``, ``pending_delta()``,
      ``pending_requests``, ``pending_keys``, ``in_flight``, ``next_deadline``,
      ``generation``, ``is_draining``, ``is_drained``, ``key_of()``, ``stats``,
      ``snapshot()``.

    ``now_ms`` is an ``int`` of milliseconds on the host's clock; an earlier ``now_ms`` than
    one already seen is treated as the latest seen. A rejected input raises an
    ``InputError`` subclass and changes nothing. Shards pickle through ``snapshot()``.
    """

    def __new__(
        cls,
        *,
        shard: int,
        incarnation: int,
        generation: int = 0,
        flush_after_requests: int = 100,
        flush_after_idle_ms: int = 5000,
        flush_max_age_ms: int = 60000,
        ack_timeout_ms: int = 10000,
        retry_initial_ms: int = 1000,
        retry_max_ms: int = 30000,
        retry_jitter_percent: int = 20,
        max_pending_keys: int = 100000,
        max_interned_keys: int = 100000,
        max_key_bytes: int = 256,
        seed: int = 0,
    ) -> Shard:
        """A shard with no saved state.

        ``incarnation`` must differ from every earlier life of this shard index (a random
        number or a start time). ``generation`` is the global's reset counter
        (``Global.generation``) for a shard created after resets. Flush settings of 0
        disable that trigger. Raises a ``ConfigError`` subclass for rejected settings.
        """

    @staticmethod
    def restore(
        snapshot: _Bytes,
        *,
        flush_after_requests: int = 100,
        flush_after_idle_ms: int = 5000,
        flush_max_age_ms: int = 60000,
        ack_timeout_ms: int = 10000,
        retry_initial_ms: int = 1000,
        retry_max_ms: int = 30000,
        retry_jitter_percent: int = 20,
        max_pending_keys: int = 100000,
        max_interned_keys: int = 100000,
        max_key_bytes: int = 256,
        seed: int = 0,
    ) -> Shard:
        """Restores a shard from ``snapshot()`` bytes, deadlines and in-flight batch included.

        A batch that was in flight is offered again by ``poll_output()`` (reason
        ``"retry"``). Raises a ``DecodeError`` subclass for invalid bytes.
        """

    # inputs
    def increment(self, key: str, delta: int, now_ms: int) -> None:
        """Adds ``delta`` to ``key``: one request.

        Raises ``EmptyKeyError``, ``KeyTooLongError``, ``CounterOverflowError``,
        ``TableFullError``, ``InvalidArgumentError``, ``InvalidDeltaError`` or
        ``InvalidTimeError``; nothing changes then.
        """

    def increments(self, entries: _Entries, now_ms: int) -> None:
        """Adds many deltas as one atomic request.

        ``entries`` is a mapping ``{key: delta}`` or an iterable of ``(key, delta)`` pairs;
        repeated keys are summed. Either every entry is applied or none is.
        """

    def increment_keys(self, keys: Iterable[str], deltas: int | Iterable[int], now_ms: int) -> None:
        """Adds ``deltas[i]`` to ``keys[i]`` for every ``i``, as one atomic request.

        ``deltas`` is an iterable of ints (an ``array('q')`` or NumPy ``int64`` array is
        read directly) or one int added to every key. Raises ``LengthMismatchError`` when
        the lengths differ.
        """

    def intern(self, key: str) -> int:
        """Interns ``key`` and returns its id for ``increment_id`` / ``increment_ids``.

        Interning the same key again returns the same id; ids survive snapshots. Raises
        ``TableFullError`` beyond ``max_interned_keys``.
        """

    def increment_id(self, id: int, delta: int, now_ms: int) -> None:
        """Adds ``delta`` to an interned key: one request (the fast path for hot loops).

        Raises ``UnknownKeyIdError`` for an id this shard did not issue.
        """

    def increment_ids(self, ids: Iterable[int], deltas: int | Iterable[int], now_ms: int) -> None:
        """Adds ``deltas[i]`` to interned key ``ids[i]`` for every ``i``, as one atomic request.

        ``ids`` is an iterable of ints (an ``array('I')`` or NumPy ``uint32`` array is read
        directly); ``deltas`` likewise (``array('q')`` / ``int64``) or one int for every id.
        """

    def flush(self, now_ms: int) -> FlushOutcome:
        """Cuts a batch of everything pending now (reason ``"manual"``).

        With a batch in flight the flush is deferred until it is acknowledged; with nothing
        pending nothing is emitted.
        """

    def drain(self, now_ms: int) -> FlushOutcome:
        """Starts draining: pending deltas are flushed now and after every acknowledgement.

        Increments are still accepted. ``is_drained`` tells when the shard can be retired.
        """

    def handle_ack(self, ack: Ack | _Bytes, now_ms: int) -> bool:
        """The global acknowledged a batch. Returns whether it matched the in-flight batch.

        Raises ``WrongShardError`` for an acknowledgement meant for another shard life, and
        a ``DecodeError`` subclass for invalid bytes.
        """

    def handle_failure(self, seq: int, now_ms: int) -> bool:
        """Sending batch ``seq`` failed: the same batch is re-sent after a backoff.

        Returns whether ``seq`` was the in-flight batch awaiting an answer.
        """

    def handle_rejection(self, seq: int, now_ms: int) -> bool:
        """The global rejected batch ``seq`` for good (``Global.handle_batch`` raised an
        error whose ``rejects_batch`` is true): the in-flight batch is dropped, not retried,
        and counted in ``stats.rejected_batches`` and ``stats.rejected_entries``; the next
        batch can then be sent.

        Returns whether ``seq`` was the in-flight batch; otherwise nothing changes.
        """

    def handle_timeout(self, now_ms: int) -> None:
        """Fires every deadline ``<= now_ms``; early or repeated calls do nothing."""

    # outputs
    def poll_output(self) -> SendBatch | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

    def poll_timeout(self) -> int | None:
        """The earliest deadline in ms (call ``handle_timeout`` then), or ``None``."""

    def take_state_changed(self) -> bool:
        """Whether the state changed since the last call (durable hosts persist ``snapshot()``)."""

    # views
    @property
    def shard_ref(self) -> ShardRef:
        """This shard's index and incarnation."""

    @property
    def config(self) -> dict[str, int]:
        """The settings in force, as keyword arguments."""

    def pending(self) -> list[BatchEntry]:
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
    def next_deadline(self) -> Deadline | None:
        """The next deadline and which timer it belongs to, or ``None``."""

    @property
    def generation(self) -> int:
        """The reset generation new increments are tagged with."""

    @property
    def is_draining(self) -> bool:
        """Whether ``drain()`` was called."""

    @property
    def is_drained(self) -> bool:
        """Draining, nothing pending and nothing in flight: the shard can be retired."""

    def key_of(self, id: int) -> str | None:
        """The key of an interned id, or ``None``."""

    @property
    def stats(self) -> ShardStats:
        """Activity counters."""

    def snapshot(self) -> bytes:
        """The whole state as versioned bytes (see ``Shard.restore``)."""

@final
class Global:
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
      ``upstream_config``, ``upstream``, ``snapshot()``.

    Its ``snapshot()`` holds the deduplication state: persist it with the published totals
    and a restarted global never applies a batch twice. Globals pickle through it.
    """

    def __new__(
        cls,
        *,
        upstream: Shard | None = None,
        persist_after_writes: int = 100,
        persist_after_idle_ms: int = 5000,
        persist_max_age_ms: int = 60000,
        publish_mode: _PublishMode = "full",
        publish_timeout_ms: int = 10000,
        retry_initial_ms: int = 1000,
        retry_max_ms: int = 30000,
        retry_jitter_percent: int = 20,
        write_log_capacity: int = 1000,
        write_log_keys_per_write: int = 16,
        max_keys: int = 1000000,
        max_key_bytes: int = 256,
        max_dedup_entries: int = 10000,
        seed: int = 0,
    ) -> Global:
        """An empty global.

        With ``upstream`` (a ``Shard``, copied) the global forwards everything it applies to
        a higher-level global as ``Forward`` outputs (tiered aggregation). Raises a
        ``ConfigError`` subclass for rejected settings.
        """

    @staticmethod
    def restore(
        snapshot: _Bytes,
        *,
        upstream_config: Mapping[str, int] | None = None,
        persist_after_writes: int = 100,
        persist_after_idle_ms: int = 5000,
        persist_max_age_ms: int = 60000,
        publish_mode: _PublishMode = "full",
        publish_timeout_ms: int = 10000,
        retry_initial_ms: int = 1000,
        retry_max_ms: int = 30000,
        retry_jitter_percent: int = 20,
        write_log_capacity: int = 1000,
        write_log_keys_per_write: int = 16,
        max_keys: int = 1000000,
        max_key_bytes: int = 256,
        max_dedup_entries: int = 10000,
        seed: int = 0,
    ) -> Global:
        """Restores a global from ``snapshot()`` bytes.

        A tiered global also needs ``upstream_config`` (the upstream shard's ``config``). A
        publish that was in flight is offered again by ``poll_output()``.
        """

    # inputs
    def handle_batch(self, batch: Batch | _Bytes, now_ms: int) -> Ack:
        """Applies a batch exactly once and returns the acknowledgement for its shard.

        A batch already applied is acknowledged again (``duplicate``) without being applied.
        Large batches are merged without the GIL. Raises ``KeyTooLongError``,
        ``CounterOverflowError`` or ``TableFullError`` (nothing changes). When the error's
        ``rejects_batch`` is true the batch can never be applied: report it with
        ``Shard.handle_rejection(seq, now_ms)``; otherwise (a tiered global's upstream
        pending table full) with ``Shard.handle_failure(seq, now_ms)``, and the shard retries.
        """

    def reset(self, key: str, now_ms: int) -> ResetOutcome:
        """Resets a key: its total goes to zero and its generation up.

        Deltas shards accepted before they learn of the reset never count. A key that is
        zero or absent gives ``ResetOutcome(kind="not_defined")`` and changes nothing.
        """

    def publish(self, now_ms: int) -> PublishOutcome:
        """Publishes now (reason ``"manual"``) if anything changed since the last publish."""

    def handle_publish_ack(self, version: int, now_ms: int) -> bool:
        """The host persisted publish ``version``. Returns whether it was the one in flight."""

    def handle_publish_failure(self, version: int, now_ms: int) -> bool:
        """Persisting publish ``version`` failed: its changes are published again later.

        Returns whether it was the one in flight.
        """

    def handle_upstream_ack(self, ack: Ack | _Bytes, now_ms: int) -> bool:
        """Tiered aggregation: the upstream global acknowledged a forwarded batch.

        Raises ``NoUpstreamError`` on a global without ``upstream``.
        """

    def handle_upstream_failure(self, seq: int, now_ms: int) -> bool:
        """Tiered aggregation: forwarding batch ``seq`` upstream failed."""

    def flush_upstream(self, now_ms: int) -> FlushOutcome:
        """Tiered aggregation: forward everything merged so far upstream now."""

    def handle_timeout(self, now_ms: int) -> None:
        """Fires every deadline ``<= now_ms``; early or repeated calls do nothing."""

    # outputs
    def poll_output(self) -> Publish | Forward | None:
        """The next thing the host must do, or ``None``. Drain it after every input."""

    def poll_timeout(self) -> int | None:
        """The earliest deadline in ms (call ``handle_timeout`` then), or ``None``."""

    def take_state_changed(self) -> bool:
        """Whether the state changed since the last call (durable hosts persist ``snapshot()``)."""

    # views
    def total(self, key: str) -> int:
        """The total of one key (0 when absent)."""

    def totals(self) -> dict[str, int]:
        """Every key's total, sorted by key (keys reset to zero are included)."""

    def key_generation(self, key: str) -> int:
        """A key's generation: the reset counter at its last reset (0 if never reset)."""

    @property
    def generation(self) -> int:
        """The reset counter; new shards may start from it (``Shard(generation=...)``)."""

    def write_log(self) -> list[BatchWrite | ResetWrite]:
        """Recent writes, newest first (at most ``write_log_capacity``)."""

    def shard_writes(self) -> dict[int, ShardWrites]:
        """Per-shard write statistics by shard index."""

    @property
    def stats(self) -> GlobalStats:
        """Activity counters."""

    @property
    def published_version(self) -> int:
        """The version of the last acknowledged publish (0 before any)."""

    @property
    def in_flight_publish(self) -> Publish | None:
        """The publish waiting for its acknowledgement, or ``None``."""

    def last_seq(self, shard: int, incarnation: int) -> int | None:
        """The last applied seq of a shard life, or ``None`` when it is not remembered."""

    @property
    def next_deadline(self) -> Deadline | None:
        """The next deadline and which timer it belongs to, or ``None``."""

    @property
    def config(self) -> dict[str, int | str]:
        """The settings in force, as keyword arguments."""

    @property
    def upstream_config(self) -> dict[str, int] | None:
        """The upstream shard's settings (tiered aggregation), or ``None``."""

    @property
    def upstream(self) -> Shard | None:
        """A copy of the upstream shard (tiered aggregation), or ``None``."""

    def snapshot(self) -> bytes:
        """The whole state as versioned bytes, deduplication state included."""

@final
class Router:
    """Picks the shard for each increment.

    Strategies: ``"hash"`` (jump consistent hash of the key; the default), ``"random"``
    (seeded), ``"round_robin"`` and ``"pinned"`` (always ``pinned_shard``). Lowering the
    shard count reports the shards at or above it as draining. Routers pickle through
    ``snapshot()``.
    """

    def __new__(
        cls, *, strategy: _Strategy = "hash", pinned_shard: int | None = None, shard_count: int = 1, seed: int = 0
    ) -> Router:
        """A router; raises a ``ConfigError`` subclass for rejected settings."""

    @staticmethod
    def restore(snapshot: _Bytes) -> Router:
        """Restores a router from ``snapshot()`` bytes."""

    def route(self, key: str) -> int:
        """The shard for an increment of ``key``, in ``range(shard_count)``."""

    def set_shard_count(self, count: int) -> list[int]:
        """Changes the shard count; returns the shards that became draining (ascending).

        Raises ``ShardOutOfRangeError`` for 0, or a count that excludes the pinned shard.
        """

    def mark_drained(self, shard: int) -> bool:
        """The host finished draining ``shard``. Returns whether it was draining."""

    @property
    def draining(self) -> list[int]:
        """Shards at or above the shard count that still have to be drained, ascending."""

    @property
    def shard_count(self) -> int:
        """The number of shards increments are routed to."""

    @property
    def strategy(self) -> _Strategy:
        """The routing strategy."""

    @property
    def pinned_shard(self) -> int | None:
        """The pinned shard (strategy ``"pinned"``), or ``None``."""

    def snapshot(self) -> bytes:
        """The router's state as versioned bytes."""

# ----- messages -----

@final
class ShardRef:
    """One life of a shard: its index and incarnation. Ordered by ``(shard, incarnation)``."""

    __match_args__: ClassVar[tuple[str, str]] = ("shard", "incarnation")
    def __new__(cls, shard: int, incarnation: int) -> ShardRef: ...
    @property
    def shard(self) -> int:
        """The shard index."""

    @property
    def incarnation(self) -> int:
        """The incarnation chosen by the host."""

    def __lt__(self, other: ShardRef, /) -> bool: ...
    def __le__(self, other: ShardRef, /) -> bool: ...
    def __gt__(self, other: ShardRef, /) -> bool: ...
    def __ge__(self, other: ShardRef, /) -> bool: ...

@final
class BatchEntry:
    """One key's summed delta, tagged with the reset generation it was accepted under."""

    __match_args__: ClassVar[tuple[str, str, str]] = ("key", "generation", "delta")
    def __new__(cls, key: str, generation: int, delta: int) -> BatchEntry: ...
    @property
    def key(self) -> str:
        """The key."""

    @property
    def generation(self) -> int:
        """The generation the deltas were accepted under."""

    @property
    def delta(self) -> int:
        """The summed delta."""

@final
class Batch:
    """A shard's deltas on their way to the global.

    Deliver it to ``Global.handle_batch`` (as the object, or as ``encode()``d bytes) and
    route the returned ``Ack`` back to ``Shard.handle_ack``. Batches come from shards or
    from ``Batch.decode``; they cannot be built by hand.
    """

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
    def reason(self) -> _FlushReason:
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

@final
class Ack:
    """The global's answer to a batch; route it back to the shard that sent the batch."""

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
    def stale_keys(self) -> tuple[tuple[str, int], ...]:
        """``(key, generation)`` of keys whose deltas were dropped as older than a reset."""

    def encode(self) -> bytes:
        """The wire encoding (versioned bytes)."""

    @staticmethod
    def decode(data: _Bytes) -> Ack:
        """Decodes and validates an acknowledgement; raises a ``DecodeError`` subclass."""

# ----- outputs -----

@final
class SendBatch:
    """Shard output: deliver ``batch`` to the global, then report ``Shard.handle_ack``,
    ``Shard.handle_failure(batch.seq, now_ms)`` or, when the global rejected it for good,
    ``Shard.handle_rejection(batch.seq, now_ms)``."""

    __match_args__: ClassVar[tuple[str]] = ("batch",)
    def __new__(cls, batch: Batch) -> SendBatch: ...
    @property
    def batch(self) -> Batch:
        """The batch to deliver."""

@final
class Forward:
    """Global output (tiered): deliver ``batch`` to the upstream global, then report
    ``Global.handle_upstream_ack`` or ``Global.handle_upstream_failure``."""

    __match_args__: ClassVar[tuple[str]] = ("batch",)
    def __new__(cls, batch: Batch) -> Forward: ...
    @property
    def batch(self) -> Batch:
        """The batch to deliver upstream."""

@final
class Publish:
    """Global output: totals to persist, then report ``Global.handle_publish_ack(version)``
    (or ``handle_publish_failure``).

    ``entries`` are absolute totals sorted by key: writing a publish twice, or an older one
    after a newer one, is harmless when the host keeps the highest ``version``.
    """

    __match_args__: ClassVar[tuple[str, str, str, str]] = ("version", "mode", "reason", "entries")
    def __new__(
        cls, version: int, mode: _PublishMode, reason: _PublishReason, entries: Iterable[tuple[str, int]]
    ) -> Publish: ...
    @property
    def version(self) -> int:
        """Increases with every publish."""

    @property
    def mode(self) -> _PublishMode:
        """``"full"`` (every key) or ``"changes"`` (keys changed since the last acknowledged publish)."""

    @property
    def reason(self) -> _PublishReason:
        """Why it was cut."""

    @property
    def entries(self) -> tuple[tuple[str, int], ...]:
        """``(key, total)`` pairs sorted by key."""

    def totals(self) -> dict[str, int]:
        """The entries as a ``{key: total}`` dict."""

    def __len__(self) -> int: ...

# ----- outcomes and views -----

@final
class FlushOutcome:
    """What ``flush``, ``drain`` and ``flush_upstream`` did.

    ``kind`` is ``"sent"`` (batch ``seq`` waits in ``poll_output()``), ``"deferred"`` (batch
    ``seq`` is in flight; pending deltas follow its acknowledgement) or
    ``"nothing_pending"`` (``seq`` is ``None``).
    """

    __match_args__: ClassVar[tuple[str, str]] = ("kind", "seq")
    def __new__(cls, kind: Literal["sent", "deferred", "nothing_pending"], seq: int | None = None) -> FlushOutcome: ...
    @property
    def kind(self) -> Literal["sent", "deferred", "nothing_pending"]:
        """What happened."""

    @property
    def seq(self) -> int | None:
        """The batch's sequence number (``None`` for ``"nothing_pending"``)."""

    @property
    def sent(self) -> bool:
        """``kind == "sent"``."""

@final
class PublishOutcome:
    """What ``Global.publish`` did: ``"sent"`` (with ``version``), ``"deferred"`` or
    ``"nothing_changed"``."""

    __match_args__: ClassVar[tuple[str, str]] = ("kind", "version")
    def __new__(cls, kind: Literal["sent", "deferred", "nothing_changed"], version: int | None = None) -> PublishOutcome: ...
    @property
    def kind(self) -> Literal["sent", "deferred", "nothing_changed"]:
        """What happened."""

    @property
    def version(self) -> int | None:
        """The new publish's version (``None`` unless ``"sent"``)."""

    @property
    def sent(self) -> bool:
        """``kind == "sent"``."""

@final
class ResetOutcome:
    """What ``Global.reset`` did: ``"reset"`` (with ``previous`` total and new
    ``generation``) or ``"not_defined"`` (nothing changed)."""

    __match_args__: ClassVar[tuple[str, str, str]] = ("kind", "previous", "generation")
    def __new__(
        cls, kind: Literal["reset", "not_defined"], previous: int | None = None, generation: int | None = None
    ) -> ResetOutcome: ...
    @property
    def kind(self) -> Literal["reset", "not_defined"]:
        """What happened."""

    @property
    def previous(self) -> int | None:
        """The total before the reset."""

    @property
    def generation(self) -> int | None:
        """The key's new generation."""

    @property
    def reset(self) -> bool:
        """``kind == "reset"``."""

@final
class Deadline:
    """The next deadline of a machine and which timer it belongs to.

    Shard timers: ``"idle"``, ``"max_age"``, ``"ack_timeout"``, ``"retry"``. Global timers:
    ``"idle"``, ``"max_age"``, ``"publish_timeout"``, ``"publish_retry"``, ``"upstream"``.
    """

    __match_args__: ClassVar[tuple[str, str]] = ("at_ms", "timer")
    def __new__(cls, at_ms: int, timer: str) -> Deadline: ...
    @property
    def at_ms(self) -> int:
        """When it fires (ms on the host's clock)."""

    @property
    def timer(self) -> str:
        """Which timer."""

@final
class ShardStats:
    """Counters of a shard's activity since it was created (kept across snapshots)."""

    def __new__(
        cls,
        requests: int = 0,
        batches: int = 0,
        retries: int = 0,
        acks: int = 0,
        duplicate_acks: int = 0,
        failures: int = 0,
        stale_dropped: int = 0,
        rejected_batches: int = 0,
        rejected_entries: int = 0,
    ) -> ShardStats: ...
    @property
    def requests(self) -> int:
        """Accepted requests (single or multi-key increments)."""

    @property
    def batches(self) -> int:
        """Batches cut (first transmissions)."""

    @property
    def retries(self) -> int:
        """Re-transmissions of an unacknowledged batch."""

    @property
    def acks(self) -> int:
        """Acknowledgements that matched the in-flight batch."""

    @property
    def duplicate_acks(self) -> int:
        """Of those, acknowledgements of batches the global had already applied."""

    @property
    def failures(self) -> int:
        """Failures reported or timed out."""

    @property
    def stale_dropped(self) -> int:
        """Pending entries dropped because their key was reset after they were accepted."""

    @property
    def rejected_batches(self) -> int:
        """Batches dropped because the global rejected them for good (``handle_rejection``)."""

    @property
    def rejected_entries(self) -> int:
        """Entries in those batches."""

@final
class GlobalStats:
    """Counters of a global's activity (kept across snapshots)."""

    def __new__(
        cls,
        total_writes: int = 0,
        distinct_shards: int = 0,
        duplicates: int = 0,
        stale_dropped: int = 0,
        resets: int = 0,
        publishes: int = 0,
        publish_failures: int = 0,
        dedup_evictions: int = 0,
        untracked_shard_writes: int = 0,
    ) -> GlobalStats: ...
    @property
    def total_writes(self) -> int:
        """Batches applied."""

    @property
    def distinct_shards(self) -> int:
        """Distinct shard indices that wrote."""

    @property
    def duplicates(self) -> int:
        """Batches acknowledged without applying (already applied)."""

    @property
    def stale_dropped(self) -> int:
        """Entries dropped because their key was reset after the deltas were accepted."""

    @property
    def resets(self) -> int:
        """Resets that changed a total."""

    @property
    def publishes(self) -> int:
        """Publishes cut."""

    @property
    def publish_failures(self) -> int:
        """Publishes that failed or timed out."""

    @property
    def dedup_evictions(self) -> int:
        """Deduplication entries pruned by ``max_dedup_entries``."""

    @property
    def untracked_shard_writes(self) -> int:
        """Batches from shards beyond the per-shard statistics bound."""

@final
class ShardWrites:
    """What one shard index has written to the global."""

    __match_args__: ClassVar[tuple[str, str]] = ("writes", "deltas")
    def __new__(cls, writes: int, deltas: Mapping[str, int]) -> ShardWrites: ...
    @property
    def writes(self) -> int:
        """Batches applied from this shard index (all incarnations)."""

    @property
    def deltas(self) -> dict[str, int]:
        """Summed applied deltas per key, sorted by key."""

@final
class BatchWrite:
    """A write-log record: a batch was applied."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str]] = (
        "at_ms",
        "shard_ref",
        "seq",
        "keys",
        "entries",
        "omitted",
    )
    def __new__(
        cls, at_ms: int, shard_ref: ShardRef, seq: int, keys: int, entries: Iterable[tuple[str, int]], omitted: int
    ) -> BatchWrite: ...
    @property
    def at_ms(self) -> int:
        """When the global applied it (ms)."""

    @property
    def shard_ref(self) -> ShardRef:
        """The shard life that sent it."""

    @property
    def seq(self) -> int:
        """Its sequence number."""

    @property
    def keys(self) -> int:
        """Number of entries applied."""

    @property
    def entries(self) -> tuple[tuple[str, int], ...]:
        """The first ``write_log_keys_per_write`` applied ``(key, delta)`` entries, by key."""

    @property
    def omitted(self) -> int:
        """Applied entries not listed in ``entries``."""

@final
class ResetWrite:
    """A write-log record: a key was reset."""

    __match_args__: ClassVar[tuple[str, str, str, str]] = ("at_ms", "key", "previous", "generation")
    def __new__(cls, at_ms: int, key: str, previous: int, generation: int) -> ResetWrite: ...
    @property
    def at_ms(self) -> int:
        """When the global reset it (ms)."""

    @property
    def key(self) -> str:
        """The key."""

    @property
    def previous(self) -> int:
        """Its total before the reset."""

    @property
    def generation(self) -> int:
        """Its new generation."""
