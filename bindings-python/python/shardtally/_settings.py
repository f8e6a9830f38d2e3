# Generated from shardtally-api (api/tests/generated.rs); do not edit.
# Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated
"""The settings of every machine, as keyword arguments (``Shard(**settings)``)."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = ["ShardSettings", "GlobalSettings", "RouterSettings", "GatewaySettings", "MembershipSettings", "BucketsSettings", "OutboxSettings"]


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
    """Most ``(shard, incarnation)`` pairs remembered for deduplication (and shards with per-shard statistics). Beyond it the least recently seen life that a newer life of its shard index replaced is pruned (counted in the global's stats); a batch from a new life when every entry is a live shard is refused with a ``"dedup"`` table-full error, so set it above the number of live shards. Default 10000."""
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


class GatewaySettings(TypedDict, total=False):
    """Settings of a gateway; each is optional and defaults to the engine's value."""

    limit: int
    """Connections (plus reserved slots) one replica takes; DOG's ``limit``. Default 50."""
    reservation_ttl_ms: int
    """A slot reserved by a route and not turned into a connection is freed after this long. Default 10000 ms."""
    creation_timeout_ms: int
    """A replica creation the host has not answered after this long is abandoned and its waiting requests are released. Default 10000 ms."""
    retire_after_idle_ms: int
    """Retire a replica that had no connection and no reservation for this long; 0 never retires. Default 0."""
    gossip_timeout_ms: int
    """A gossip completes with a partial result when peers have not answered after this long. Default 5000 ms."""
    max_replicas: int
    """Most replicas, counting those being created. Default 1000."""
    max_request_ids: int
    """Most request ids with a connection, a reservation or a pending creation (sticky entries). Default 1000000."""
    max_reservations: int
    """Most reserved slots, counting requests waiting for a replica. Default 100000."""
    max_pending_creations: int
    """Most replica creations waiting for the host's answer. Default 16."""
    max_gossips: int
    """Most gossips in flight. Default 64."""
    max_id_bytes: int
    """Longest group, replica, connection or request id in UTF-8 bytes. Default 256."""
    max_gossip_reply_bytes: int
    """Largest gossip reply payload in bytes. Default 65536."""


class MembershipSettings(TypedDict, total=False):
    """Settings of a membership machine; each is optional and defaults to the engine's value."""

    heartbeat_interval_ms: int
    """How often a holder heartbeats. A holder is alive until its last heartbeat plus this plus ``grace_period_ms``. Default 60000 ms."""
    grace_period_ms: int
    """How late a heartbeat may be before the holder expires; must be positive, so a heartbeat sent exactly on schedule never races its deadline. Default 30000 ms."""
    reshard_interval_ms: int
    """At most one reshard per cluster per this interval (0: no limit). A cluster in which no live holder has an index reshards at once. Default 60000 ms."""
    assignment: Literal["minimal", "compact"]
    """How a reshard gives out indices: ``"minimal"`` or ``"compact"``. Default ``"minimal"`` (``Assignment::Minimal``)."""
    max_clusters: int
    """Most clusters; registering in one more is an error. Default 1024."""
    max_holders: int
    """Most holders per cluster (expired holders count until the reshard that removes them); registering one more is an error. Default 1024."""
    max_id_bytes: int
    """Longest cluster or holder id in UTF-8 bytes. Default 256."""


class BucketsSettings(TypedDict, total=False):
    """Settings of time buckets; each is optional and defaults to the engine's value."""

    utc_offset_minutes: int
    """Fixed offset from UTC in minutes (may be negative, in ``-1439..=1439``) that defines the day of an event and the days of every range and period. Default 0 (UTC)."""
    raw_retention_days: int
    """Raw (not yet rolled-up) day buckets older than this many days before the day of ``now`` are dropped, counted; events arriving for such a day are dropped, counted. At least 1. Default 35 (a monthly rollup still finds the whole month)."""
    max_future_ms: int
    """An event time more than this far after ``now`` is rejected as an invalid argument (a client clock in the future must not push raw buckets ahead). Default 3600000 ms."""
    max_keys: int
    """Most distinct keys held in raw buckets and daily totals together; an event with one more is an error. Default 10000."""
    max_key_bytes: int
    """Longest key in UTF-8 bytes. Default 256."""
    max_days: int
    """Most distinct days held in daily totals; a rollup that adds more drops the oldest days' totals (counted). Default 3660 (ten years)."""


class OutboxSettings(TypedDict, total=False):
    """Settings of an outbox; each is optional and defaults to the engine's value."""

    capacity: int
    """Most messages held (queued, waiting to be re-sent, or in flight); an offer beyond it is dropped, counted as ``full``. Default 1024."""
    max_message_bytes: int
    """Largest message in bytes; a larger offer is dropped, counted as ``too_large``. Default 65536."""
    max_in_flight: int
    """Most messages sent and not yet answered. Default 1 (one at a time, in order)."""
    send_timeout_ms: int
    """A send not answered for this long counts as failed. Default 30000 ms."""
    reconnect_min_ms: int
    """Shortest reconnect delay after a failure (inclusive). Default 200 ms."""
    reconnect_max_ms: int
    """Longest reconnect delay after a failure (exclusive): the delay is drawn from ``[reconnect_min_ms, reconnect_max_ms)`` by the seeded generator. Default 5000 ms."""
    seed: int
    """Seed of the jitter generator. Default 0."""
