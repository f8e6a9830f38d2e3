/* The public typing of shardtally for JavaScript: the Node package `shardtally` and the
 * WebAssembly package `shardtally-wasm` have exactly this API (bindings-js/src/api.js).
 * Settings and error codes are generated from shardtally-api into ./surface.d.ts.
 *
 * Integers: times are `number`s of milliseconds (finite, integral, 0 ..= 2^53 - 1); deltas
 * and other 64-bit inputs are safe-integer `number`s or `bigint`s; 64-bit outputs are
 * `number`s when they are safe integers and `bigint`s otherwise. */

import type { GlobalSettings, RouterSettings, ShardSettings, ShardtallyErrorCode } from './surface.js'

export type { GlobalSettings, RouterSettings, ShardSettings, ShardtallyErrorCode } from './surface.js'

/** A 64-bit integer output: a `number` when it is a safe integer, else a `bigint`. */
export type Int = number | bigint
/** A delta: a safe-integer `number` or a `bigint` in the signed 64-bit range. */
export type Delta = number | bigint

/**
 * The error every shardtally call throws. `code` is stable; `message` is the engine's text;
 * the offending values are properties named after the error's fields in camelCase (`len` and
 * `max` for `KEY_TOO_LONG`, `name` and `suggestion` for `CONFIG_UNKNOWN_SETTING`, ...).
 * A rejected call changed nothing.
 */
export declare class ShardtallyError extends Error {
  /** Builds an error like the ones shardtally throws (`fields` are copied onto it). */
  constructor(message: string, code?: string, fields?: Record<string, unknown>)
  /** The stable, machine-readable code. */
  readonly code: ShardtallyErrorCode
  /**
   * Core's verdict on an engine error: for an error of `Global.handleBatch`, `true` when the
   * batch can never be applied (`KEY_TOO_LONG`, `OVERFLOW`, `TABLE_FULL` of the totals), so
   * the host reports it to the shard with `handleRejection`; `false` when retrying may
   * succeed (`handleFailure`), and for argument, configuration and decoding errors.
   */
  readonly rejectsBatch: boolean
  /** Offending values, depending on `code`. */
  readonly [field: string]: unknown
}

/** Options of `new Shard(options)`: its identity and settings. An unknown name is a `CONFIG_UNKNOWN_SETTING` error. */
export interface ShardOptions extends ShardSettings {
  /** This shard's index. */
  shard: number
  /** Chosen by the host whenever it creates a shard with no saved state (a random number, a start time): it must differ from every earlier life of this shard index. */
  incarnation: number | bigint
  /** Start from the global's reset generation (`global.generation()`), so the first increments of keys reset long ago are not taken for stale ones. Default 0. */
  generation?: number | bigint
}
/** Options of `new Global(options)`; `upstream` makes a tiered global that forwards what it applies through an embedded shard. */
export interface GlobalOptions extends GlobalSettings {
  upstream?: ShardOptions
}
/** Options of `Global.restore`: the settings (not in the snapshot); a tiered global's snapshot needs `upstream`. */
export interface GlobalRestoreOptions extends GlobalSettings {
  upstream?: ShardSettings
}
/** Options of `new Router(options)`. */
export type RouterOptions = RouterSettings

/** Why a batch was sent. */
export type FlushReason = 'requests' | 'idle' | 'max_age' | 'manual' | 'drain' | 'retry'
/** Why a publish was cut. */
export type PublishReason = 'writes' | 'idle' | 'max_age' | 'reset' | 'manual' | 'retry'
/** What a publish carries: every key's total, or only the keys changed since the last acknowledged publish. */
export type PublishMode = 'full' | 'changes'
/** Which of a shard's timers a deadline belongs to. */
export type ShardTimer = 'idle' | 'max_age' | 'ack_timeout' | 'retry'
/** Which of a global's timers a deadline belongs to. */
export type GlobalTimer = 'idle' | 'max_age' | 'publish_timeout' | 'publish_retry' | 'upstream'
/** How a router picks a shard. */
export type RouterStrategy = NonNullable<RouterSettings['strategy']>

/** A shard's index and incarnation. */
export interface ShardRef {
  shard: number
  incarnation: Int
}
/** One key's delta in a batch or pending in a shard, with the reset generation it was accepted under. */
export interface BatchEntry {
  key: string
  generation: Int
  delta: Int
}
/** A shard's deltas on their way: deliver it (or its `bytes`) to `global.handleBatch`, report the answer with `handleAck`, `handleFailure` or `handleRejection`. */
export interface BatchOutput {
  type: 'batch'
  /** The batch encoded for the wire. */
  bytes: Uint8Array
  shard: number
  incarnation: Int
  /** Starts at 1 per incarnation; a re-send keeps it. */
  seq: Int
  reason: FlushReason
  /** Sorted by key, then generation. */
  entries: BatchEntry[]
}
/** Tiered aggregation: a batch for the upstream global's `handleBatch`. */
export interface ForwardOutput extends Omit<BatchOutput, 'type'> {
  type: 'forward'
}
/** A key dropped as older than its last reset, with the key's generation. */
export interface StaleKey {
  key: string
  generation: Int
}
/** The global's answer to a batch: route it (or its `bytes`) back to the shard's `handleAck`. */
export interface AckOutput {
  type: 'ack'
  bytes: Uint8Array
  shard: number
  incarnation: Int
  seq: Int
  /** The batch had been applied before: this ack applied nothing. */
  duplicate: boolean
  /** The global's reset generation. */
  generation: Int
  staleKeys: StaleKey[]
}
/** A key and its total. */
export interface KeyTotal {
  key: string
  total: Int
}
/** A key and a summed delta. */
export interface KeyDelta {
  key: string
  delta: Int
}
/** Totals for the host to persist; acknowledge with `handlePublishAck(version, nowMs)`. */
export interface PublishOutput {
  type: 'publish'
  version: Int
  mode: PublishMode
  reason: PublishReason
  /** Sorted by key. */
  entries: KeyTotal[]
}
/** What a global asks its host to do. */
export type GlobalOutput = PublishOutput | ForwardOutput
/** What `flush`, `drain` and `flushUpstream` did: a batch was cut, one is in flight and the pending deltas follow its ack, or nothing was pending. */
export type FlushOutcome = { type: 'sent'; seq: Int } | { type: 'deferred'; seq: Int } | { type: 'nothing_pending' }
/** What `publish` did. */
export type PublishOutcome = { type: 'sent'; version: Int } | { type: 'deferred' } | { type: 'nothing_changed' }
/** What `reset` did: the total went to zero and the key's generation up, or the key was zero or absent. */
export type ResetOutcome = { type: 'reset'; previous: Int; generation: Int } | { type: 'not_defined' }
/** The next deadline and the timer it belongs to. */
export interface Deadline<Timer extends string = ShardTimer | GlobalTimer> {
  /** Call `handleTimeout(nowMs)` with `nowMs >= atMs`. */
  atMs: Int
  timer: Timer
}
/** A shard's next deadline. */
export type ShardDeadline = Deadline<ShardTimer>
/** A global's next deadline. */
export type GlobalDeadline = Deadline<GlobalTimer>
/** Counters of a shard's activity since it was created (kept across snapshots). */
export interface ShardStats {
  requests: Int
  batches: Int
  retries: Int
  acks: Int
  duplicateAcks: Int
  failures: Int
  staleDropped: Int
  /** Batches dropped because the global rejected them for good (`handleRejection`). */
  rejectedBatches: Int
  rejectedEntries: Int
}
/** Counters of a global's activity (kept across snapshots). */
export interface GlobalStats {
  totalWrites: Int
  distinctShards: Int
  duplicates: Int
  staleDropped: Int
  resets: Int
  publishes: Int
  publishFailures: Int
  dedupEvictions: Int
  untrackedShardWrites: Int
}
/** What one shard index has written to the global (all incarnations). */
export interface ShardWrites {
  shard: number
  writes: Int
  /** Summed applied deltas per key, sorted by key. */
  deltas: KeyDelta[]
}
/** A write-log record of an applied batch. */
export interface BatchWrite {
  type: 'batch'
  atMs: Int
  shard: number
  incarnation: Int
  seq: Int
  /** Number of entries applied. */
  keys: number
  /** The first `writeLogKeysPerWrite` applied entries, by key. */
  entries: KeyDelta[]
  /** Applied entries not listed. */
  omitted: number
}
/** A write-log record of a reset. */
export interface ResetWrite {
  type: 'reset'
  atMs: Int
  key: string
  previous: Int
  generation: Int
}
/** One record of the global's write log. */
export type WriteRecord = BatchWrite | ResetWrite

/**
 * A shard: buffers deltas per key and ships them to the global as batches.
 *
 * Run loop: after every input, persist `snapshot()` when `takeStateChanged()` (durable
 * hosts), send every `pollOutput()` batch, and arm one timer for `pollTimeout()` that calls
 * `handleTimeout(nowMs)`. A time earlier than one already seen counts as the latest seen.
 */
export declare class Shard {
  /** A shard with no saved state. */
  constructor(options: ShardOptions)
  /** A shard from `snapshot()` bytes, deadlines and the in-flight batch included (offered again by `pollOutput`); the settings are not in the snapshot. */
  static restore(snapshot: Uint8Array, options?: ShardSettings): Shard
  /** Adds `delta` to `key`: one request. Errors (nothing changes): `EMPTY_KEY`, `KEY_TOO_LONG`, `OVERFLOW`, `TABLE_FULL`, `INVALID_KEY`, `INVALID_DELTA`, `INVALID_TIME`, `INVALID_ARGUMENT`. */
  increment(key: string, delta: Delta, nowMs: number): void
  /** Adds several deltas as one atomic request (repeated keys are summed). */
  increments(entries: Record<string, Delta> | Map<string, Delta> | Array<[string, Delta]>, nowMs: number): void
  /** Interns `key` for `incrementId` / `incrementIds`; the same key gets the same id, ids survive snapshots. */
  intern(key: string): number
  /** Adds `delta` to an interned key: one request. */
  incrementId(id: number, delta: Delta, nowMs: number): void
  /** Adds `deltas[i]` to interned key `ids[i]` for every `i`, as one atomic request: the hot path. */
  incrementIds(ids: Uint32Array | number[], deltas: Float64Array | BigInt64Array | Delta[], nowMs: number): void
  /** Cuts a batch of everything pending now (reason `'manual'`), or defers it while one is in flight. */
  flush(nowMs: number): FlushOutcome
  /** Starts draining: everything pending is flushed now and after every acknowledgement, until `isDrained()`. */
  drain(nowMs: number): FlushOutcome
  /** The global acknowledged a batch; whether it matched the batch in flight. */
  handleAck(ack: Uint8Array | AckOutput, nowMs: number): boolean
  /** Sending batch `seq` failed: it is re-sent after a backoff. `false` when `seq` is not in flight. */
  handleFailure(seq: number | bigint, nowMs: number): boolean
  /** The global rejected batch `seq` for good (`rejectsBatch`): dropped and counted in `stats()`. */
  handleRejection(seq: number | bigint, nowMs: number): boolean
  /** Fires every deadline `<= nowMs`; early or repeated calls do nothing. */
  handleTimeout(nowMs: number): void
  /** The next batch to send, or `null`. */
  pollOutput(): BatchOutput | null
  /** The earliest deadline in ms (capped at `2^53 - 1`), or `null`. */
  pollTimeout(): number | null
  /** Whether the state changed since the last call. */
  takeStateChanged(): boolean
  /** The whole state as versioned bytes. */
  snapshot(): Uint8Array
  shardRef(): ShardRef
  /** Pending deltas, sorted by key then generation. */
  pending(): BatchEntry[]
  /** The pending delta of one key (0 when none). */
  pendingDelta(key: string): Int
  /** Requests accepted since the last batch was cut. */
  pendingRequests(): Int
  /** Pending entries (distinct keys per generation). */
  pendingKeys(): number
  /** The batch in flight, or `null`. */
  inFlight(): BatchOutput | null
  nextDeadline(): ShardDeadline | null
  /** The reset generation new increments are tagged with. */
  generation(): Int
  isDraining(): boolean
  /** Draining, nothing pending and nothing in flight: the shard can be retired. */
  isDrained(): boolean
  /** The key of an interned id, or `null`. */
  keyOf(id: number): string | null
  stats(): ShardStats
}

/**
 * The global aggregator: applies every batch exactly once, keeps the totals, and tells the
 * host when to publish them. Run loop: `handleBatch` returns the ack to route back; after
 * every input persist `snapshot()` when `takeStateChanged()`, carry out every `pollOutput()`,
 * and arm one timer for `pollTimeout()`.
 */
export declare class Global {
  constructor(options?: GlobalOptions)
  static restore(snapshot: Uint8Array, options?: GlobalRestoreOptions): Global
  /** Applies a batch exactly once; a batch applied before is acknowledged again (`duplicate`). Errors change nothing. */
  handleBatch(batch: Uint8Array | BatchOutput | ForwardOutput, nowMs: number): AckOutput
  /** Resets a key: its total goes to zero and its generation up. */
  reset(key: string, nowMs: number): ResetOutcome
  /** Publishes now (reason `'manual'`) if anything changed. */
  publish(nowMs: number): PublishOutcome
  handlePublishAck(version: number | bigint, nowMs: number): boolean
  handlePublishFailure(version: number | bigint, nowMs: number): boolean
  /** Tiered aggregation: the upstream global acknowledged a forwarded batch. */
  handleUpstreamAck(ack: Uint8Array | AckOutput, nowMs: number): boolean
  handleUpstreamFailure(seq: number | bigint, nowMs: number): boolean
  flushUpstream(nowMs: number): FlushOutcome
  handleTimeout(nowMs: number): void
  pollOutput(): GlobalOutput | null
  pollTimeout(): number | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  nextDeadline(): GlobalDeadline | null
  stats(): GlobalStats
  /** The total of one key (0 when absent). */
  total(key: string): Int
  /** Every key's total, sorted by key. */
  totals(): KeyTotal[]
  keyGeneration(key: string): Int
  /** The reset counter; new shards may start from it (`generation` in `ShardOptions`). */
  generation(): Int
  /** Recent writes, newest first. */
  writeLog(): WriteRecord[]
  /** Per-shard write statistics, by shard index. */
  shardWrites(): ShardWrites[]
  publishedVersion(): Int
  inFlightPublish(): PublishOutput | null
  /** The last applied seq of a shard life, or `null` when it is not remembered. */
  lastSeq(shard: number, incarnation: number | bigint): Int | null
  hasUpstream(): boolean
}

/**
 * Picks a shard for each increment. When the shard count is lowered, the shards at or above
 * it are draining: `drain` each, then `markDrained` once it `isDrained()`.
 */
export declare class Router {
  constructor(options?: RouterOptions)
  static restore(snapshot: Uint8Array): Router
  route(key: string): number
  /** Changes the shard count; returns the shards that became draining. */
  setShardCount(count: number): number[]
  draining(): number[]
  markDrained(shard: number): boolean
  shardCount(): number
  strategy(): RouterStrategy
  pinnedShard(): number | null
  snapshot(): Uint8Array
}

/** The stable 64-bit hash of a key (FNV-1a then a mixer), the same in every runtime. */
export declare function keyHash(key: string): bigint
/** Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash (`buckets` 0 counts as 1). */
export declare function jumpHash(hash: number | bigint, buckets: number): number
