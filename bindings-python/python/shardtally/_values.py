"""The value objects machines return: frozen, compared by value, hashable, readable,
pattern-matchable and picklable.

The native module builds them from shardtally-api's records by class name (``CLASSES``):
a record's fields become keyword arguments, and a tagged record's tag becomes ``kind`` when
its class has that field. Keyed lists (batch entries, totals, deltas, stale keys) are tuples
of named tuples, so ``for key, total in publish.entries`` works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple

if TYPE_CHECKING:
    from shardtally._native import Batch

__all__ = [
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
    ``"publish_timeout"``, ``"publish_retry"``, ``"upstream"``."""

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


#: Every value class by the shardtally-api record class it is built from.
CLASSES: dict[str, type] = {
    **{cls.__name__: cls for cls in (BatchEntry, KeyTotal, KeyDelta, StaleKey, ShardRef, SendBatch, Forward)},
    **{cls.__name__: cls for cls in (FlushOutcome, PublishOutcome, ResetOutcome, Deadline, ShardStats, GlobalStats)},
    **{cls.__name__: cls for cls in (ShardWrites, BatchWrite, ResetWrite)},
    "PublishOutput": Publish,
}
for _cls in CLASSES.values():
    _cls.__module__ = "shardtally"  # pickled and shown as ``shardtally.<name>``
