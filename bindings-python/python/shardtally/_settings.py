# Generated from shardtally-api (api/tests/generated.rs); do not edit.
# Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated
"""The settings of every machine, as keyword arguments (``Shard(**settings)``)."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = ["ShardSettings", "GlobalSettings", "RouterSettings"]


class ShardSettings(TypedDict, total=False):
    """Settings of a shard; each is optional and defaults to the engine's value."""

    flush_after_requests: int
    """Flush as soon as pending requests reach this many; 0 disables. Default 100."""
    flush_after_idle_ms: int
    """Flush when no increment arrived for this long (a debounce re-armed by every increment); 0 disables. Default 5000 ms."""
    flush_max_age_ms: int
    """Flush when the oldest pending delta is this old, even under steady traffic; 0 disables. Default 60000 ms."""
    ack_timeout_ms: int
    """Treat an in-flight batch as failed when no acknowledgement arrived for this long. Default 10000 ms."""
    retry_initial_ms: int
    """First delay before re-sending a failed batch; doubles per attempt. Default 1000 ms."""
    retry_max_ms: int
    """Largest delay before re-sending a failed batch. Default 30000 ms."""
    retry_jitter_percent: int
    """Each retry delay is shortened by a seeded random amount up to this percentage of it, so shards that failed together do not retry together. Default 20."""
    max_pending_keys: int
    """Most distinct pending keys (per generation); one more is an error. Default 100000."""
    max_interned_keys: int
    """Most keys interned with ``intern`` (``Shard::intern``). Default 100000."""
    max_key_bytes: int
    """Longest key in UTF-8 bytes. Default 256."""
    seed: int
    """Seed of the jitter generator. Default 0."""


class GlobalSettings(TypedDict, total=False):
    """Settings of a global aggregator; each is optional and defaults to the engine's value."""

    persist_after_writes: int
    """Publish after this many applied batches; 0 disables. Default 100."""
    persist_after_idle_ms: int
    """Publish when no batch arrived for this long; 0 disables. Default 5000 ms."""
    persist_max_age_ms: int
    """Publish when the oldest unpublished change is this old; 0 disables. Default 60000 ms."""
    publish_mode: Literal["full", "changes"]
    """What each publish carries: every total (``"full"``) or only the keys changed since the last acknowledged publish (``"changes"``). Default ``"full"``."""
    publish_timeout_ms: int
    """Treat an unacknowledged publish as failed after this long. Default 10000 ms."""
    retry_initial_ms: int
    """First delay before retrying a failed publish; doubles per attempt. Default 1000 ms."""
    retry_max_ms: int
    """Largest delay before retrying a failed publish. Default 30000 ms."""
    retry_jitter_percent: int
    """Seeded jitter on publish retries, as a percentage of the delay. Default 20."""
    write_log_capacity: int
    """Records kept in the write log (a ring; 0 keeps none). Default 1000."""
    write_log_keys_per_write: int
    """Keys listed per write-log record (the rest are counted). Default 16."""
    max_keys: int
    """Most distinct keys in the totals; a batch that would add more is rejected. Default 1000000."""
    max_key_bytes: int
    """Longest key in UTF-8 bytes. Default 256."""
    max_dedup_entries: int
    """Most ``(shard, incarnation)`` pairs remembered for deduplication; the least recently seen is pruned beyond it (counted in the global's stats). Default 10000."""
    seed: int
    """Seed of the jitter generator. Default 0."""


class RouterSettings(TypedDict, total=False):
    """Settings of a router; each is optional and defaults to the engine's value."""

    strategy: Literal["hash", "random", "round_robin", "pinned"]
    """How to pick a shard: ``"hash"`` (jump consistent hash of the key), ``"random"`` (seeded), ``"round_robin"`` or ``"pinned"``. Default ``"hash"``."""
    pinned_shard: int | None
    """The shard of the ``"pinned"`` strategy (required with it, null otherwise). Default null."""
    shard_count: int
    """Number of shards. Default 1."""
    seed: int
    """Seed of the ``"random"`` strategy's generator. Default 0."""
