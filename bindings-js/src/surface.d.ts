/* Generated from shardtally-api (api/tests/generated.rs); do not edit.
 * Regenerate: SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test generated */

/** Every stable error code (`err.code`). */
export type ShardtallyErrorCode =
  | 'CONFIG_ZERO'
  | 'CONFIG_BACKOFF_RANGE'
  | 'CONFIG_TOO_LARGE'
  | 'CONFIG_PINNED_OUT_OF_RANGE'
  | 'CONFIG_UNKNOWN_SETTING'
  | 'CONFIG_INVALID_VALUE'
  | 'CONFIG_MISSING'
  | 'EMPTY_KEY'
  | 'KEY_TOO_LONG'
  | 'OVERFLOW'
  | 'TABLE_FULL'
  | 'UNKNOWN_KEY_ID'
  | 'WRONG_SHARD'
  | 'SHARD_OUT_OF_RANGE'
  | 'LENGTH_MISMATCH'
  | 'NO_UPSTREAM'
  | 'NOT_FOUND'
  | 'EMPTY_ID'
  | 'ID_TOO_LONG'
  | 'UNKNOWN_CLUSTER'
  | 'UNKNOWN_HOLDER'
  | 'HOLDER_EXPIRED'
  | 'NOT_ASSIGNED'
  | 'CLUSTER_NOT_EMPTY'
  | 'WRONG_GROUP'
  | 'UNKNOWN_REPLICA'
  | 'DUPLICATE_REPLICA'
  | 'UNKNOWN_CREATION'
  | 'REPLICA_FULL'
  | 'UNKNOWN_CONNECTION'
  | 'DUPLICATE_CONNECTION'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_TIME'
  | 'INVALID_DELTA'
  | 'INVALID_KEY'
  | 'DECODE_WRONG_KIND'
  | 'DECODE_UNSUPPORTED_VERSION'
  | 'DECODE_CHECKSUM'
  | 'DECODE_CORRUPT'

/** Settings of a shard; each is optional and defaults to the engine's value. */
export interface ShardSettings {
  /** Flush as soon as pending requests reach this many; 0 disables. Default 100. */
  flushAfterRequests?: number
  /** Flush when no increment arrived for this long (a debounce re-armed by every increment); 0 disables. Default 5000 ms. */
  flushAfterIdleMs?: number | bigint
  /** Flush when the oldest pending delta is this old, even under steady traffic; 0 disables. Default 60000 ms. */
  flushMaxAgeMs?: number | bigint
  /** Treat an in-flight batch as failed when no acknowledgement arrived for this long. Default 10000 ms. */
  ackTimeoutMs?: number | bigint
  /** First delay before re-sending a failed batch; doubles per attempt. Default 1000 ms. */
  retryInitialMs?: number | bigint
  /** Largest delay before re-sending a failed batch. Default 30000 ms. */
  retryMaxMs?: number | bigint
  /** Each retry delay is shortened by a seeded random amount up to this percentage of it, so shards that failed together do not retry together. Default 20. */
  retryJitterPercent?: number
  /** Most distinct pending keys (per generation); one more is an error. Default 100000. */
  maxPendingKeys?: number
  /** Most keys interned with `intern` (`Shard::intern`). Default 100000. */
  maxInternedKeys?: number
  /** Longest key in UTF-8 bytes. Default 256. */
  maxKeyBytes?: number
  /** Seed of the jitter generator. Default 0. */
  seed?: number | bigint
}

/** Settings of a global aggregator; each is optional and defaults to the engine's value. */
export interface GlobalSettings {
  /** Publish after this many applied batches; 0 disables. Default 100. */
  persistAfterWrites?: number
  /** Publish when no batch arrived for this long; 0 disables. Default 5000 ms. */
  persistAfterIdleMs?: number | bigint
  /** Publish when the oldest unpublished change is this old; 0 disables. Default 60000 ms. */
  persistMaxAgeMs?: number | bigint
  /** What each publish carries: every total (`"full"`) or only the keys changed since the last acknowledged publish (`"changes"`). Default `"full"`. */
  publishMode?: 'full' | 'changes'
  /** Treat an unacknowledged publish as failed after this long. Default 10000 ms. */
  publishTimeoutMs?: number | bigint
  /** First delay before retrying a failed publish; doubles per attempt. Default 1000 ms. */
  retryInitialMs?: number | bigint
  /** Largest delay before retrying a failed publish. Default 30000 ms. */
  retryMaxMs?: number | bigint
  /** Seeded jitter on publish retries, as a percentage of the delay. Default 20. */
  retryJitterPercent?: number
  /** Records kept in the write log (a ring; 0 keeps none). Default 1000. */
  writeLogCapacity?: number
  /** Keys listed per write-log record (the rest are counted). Default 16. */
  writeLogKeysPerWrite?: number
  /** Most distinct keys in the totals; a batch that would add more is rejected. Default 1000000. */
  maxKeys?: number
  /** Longest key in UTF-8 bytes. Default 256. */
  maxKeyBytes?: number
  /** Most `(shard, incarnation)` pairs remembered for deduplication (and shards with per-shard statistics). Beyond it the least recently seen life that a newer life of its shard index replaced is pruned (counted in the global's stats); a batch from a new life when every entry is a live shard is refused with a `"dedup"` table-full error, so set it above the number of live shards. Default 10000. */
  maxDedupEntries?: number
  /** Seed of the jitter generator. Default 0. */
  seed?: number | bigint
}

/** Settings of a router; each is optional and defaults to the engine's value. */
export interface RouterSettings {
  /** How to pick a shard: `"hash"` (jump consistent hash of the key), `"random"` (seeded), `"round_robin"` or `"pinned"`. Default `"hash"`. */
  strategy?: 'hash' | 'random' | 'round_robin' | 'pinned'
  /** The shard of the `"pinned"` strategy (required with it, null otherwise). Default null. */
  pinnedShard?: number | null
  /** Number of shards. Default 1. */
  shardCount?: number
  /** Seed of the `"random"` strategy's generator. Default 0. */
  seed?: number | bigint
}

/** Settings of a gateway; each is optional and defaults to the engine's value. */
export interface GatewaySettings {
  /** Connections (plus reserved slots) one replica takes; DOG's `limit`. Default 50. */
  limit?: number
  /** A slot reserved by a route and not turned into a connection is freed after this long. Default 10000 ms. */
  reservationTtlMs?: number | bigint
  /** A replica creation the host has not answered after this long is abandoned and its waiting requests are released. Default 10000 ms. */
  creationTimeoutMs?: number | bigint
  /** Retire a replica that had no connection and no reservation for this long; 0 never retires. Default 0. */
  retireAfterIdleMs?: number | bigint
  /** A gossip completes with a partial result when peers have not answered after this long. Default 5000 ms. */
  gossipTimeoutMs?: number | bigint
  /** Most replicas, counting those being created. Default 1000. */
  maxReplicas?: number
  /** Most request ids with a connection, a reservation or a pending creation (sticky entries). Default 1000000. */
  maxRequestIds?: number
  /** Most reserved slots, counting requests waiting for a replica. Default 100000. */
  maxReservations?: number
  /** Most replica creations waiting for the host's answer. Default 16. */
  maxPendingCreations?: number
  /** Most gossips in flight. Default 64. */
  maxGossips?: number
  /** Longest group, replica, connection or request id in UTF-8 bytes. Default 256. */
  maxIdBytes?: number
  /** Largest gossip reply payload in bytes. Default 65536. */
  maxGossipReplyBytes?: number
}

/** Settings of a membership machine; each is optional and defaults to the engine's value. */
export interface MembershipSettings {
  /** How often a holder heartbeats. A holder is alive until its last heartbeat plus this plus `gracePeriodMs`. Default 60000 ms. */
  heartbeatIntervalMs?: number | bigint
  /** How late a heartbeat may be before the holder expires; must be positive, so a heartbeat sent exactly on schedule never races its deadline. Default 30000 ms. */
  gracePeriodMs?: number | bigint
  /** At most one reshard per cluster per this interval (0: no limit). A cluster in which no live holder has an index reshards at once. Default 60000 ms. */
  reshardIntervalMs?: number | bigint
  /** How a reshard gives out indices: `"minimal"` or `"compact"`. Default `"minimal"` (`Assignment::Minimal`). */
  assignment?: 'minimal' | 'compact'
  /** Most clusters; registering in one more is an error. Default 1024. */
  maxClusters?: number
  /** Most holders per cluster (expired holders count until the reshard that removes them); registering one more is an error. Default 1024. */
  maxHolders?: number
  /** Longest cluster or holder id in UTF-8 bytes. Default 256. */
  maxIdBytes?: number
}

/** Settings of time buckets; each is optional and defaults to the engine's value. */
export interface BucketsSettings {
  /** Fixed offset from UTC in minutes (may be negative, in `-1439..=1439`) that defines the day of an event and the days of every range and period. Default 0 (UTC). */
  utcOffsetMinutes?: number
  /** Raw (not yet rolled-up) day buckets older than this many days before the day of `now` are dropped, counted; events arriving for such a day are dropped, counted. At least 1. Default 35 (a monthly rollup still finds the whole month). */
  rawRetentionDays?: number
  /** An event time more than this far after `now` is rejected as an invalid argument (a client clock in the future must not push raw buckets ahead). Default 3600000 ms. */
  maxFutureMs?: number | bigint
  /** Most distinct keys held in raw buckets and daily totals together; an event with one more is an error. Default 10000. */
  maxKeys?: number
  /** Longest key in UTF-8 bytes. Default 256. */
  maxKeyBytes?: number
  /** Most distinct days held in daily totals; a rollup that adds more drops the oldest days' totals (counted). Default 3660 (ten years). */
  maxDays?: number
}

/** Settings of an outbox; each is optional and defaults to the engine's value. */
export interface OutboxSettings {
  /** Most messages held (queued, waiting to be re-sent, or in flight); an offer beyond it is dropped, counted as `full`. Default 1024. */
  capacity?: number
  /** Largest message in bytes; a larger offer is dropped, counted as `too_large`. Default 65536. */
  maxMessageBytes?: number
  /** Most messages sent and not yet answered. Default 1 (one at a time, in order). */
  maxInFlight?: number
  /** A send not answered for this long counts as failed. Default 30000 ms. */
  sendTimeoutMs?: number | bigint
  /** Shortest reconnect delay after a failure (inclusive). Default 200 ms. */
  reconnectMinMs?: number | bigint
  /** Longest reconnect delay after a failure (exclusive): the delay is drawn from `[reconnect_min_ms, reconnect_max_ms)` by the seeded generator. Default 5000 ms. */
  reconnectMaxMs?: number | bigint
  /** Seed of the jitter generator. Default 0. */
  seed?: number | bigint
}
