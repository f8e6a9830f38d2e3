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
  /** Most `(shard, incarnation)` pairs remembered for deduplication; the least recently seen is pruned beyond it (counted in the global's stats). Default 10000. */
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
