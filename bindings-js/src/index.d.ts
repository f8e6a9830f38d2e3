/* The public typing of shardtally for JavaScript: the Node package `shardtally` and the
 * WebAssembly package `shardtally-wasm` have exactly this API (bindings-js/src/api.js).
 * Settings and error codes are generated from shardtally-api into ./surface.d.ts.
 *
 * Integers: times are `number`s of milliseconds (finite, integral, 0 ..= 2^53 - 1); deltas
 * and other 64-bit inputs are safe-integer `number`s or `bigint`s; 64-bit outputs are
 * `number`s when they are safe integers and `bigint`s otherwise. */

import type {
  BucketsSettings,
  GatewaySettings,
  GlobalSettings,
  MembershipSettings,
  OutboxSettings,
  RouterSettings,
  ShardSettings,
  ShardtallyErrorCode,
} from './surface.js'

export type {
  BucketsSettings,
  GatewaySettings,
  GlobalSettings,
  MembershipSettings,
  OutboxSettings,
  RouterSettings,
  ShardSettings,
  ShardtallyErrorCode,
} from './surface.js'

/** A 64-bit integer output: a `number` when it is a safe integer, else a `bigint`. */
export type Int = number | bigint
/** A delta: a safe-integer `number` or a `bigint` in the signed 64-bit range. */
export type Delta = number | bigint

/**
 * The error every shardtally call throws. `code` is stable; `message` is the engine's text;
 * the offending values are properties named after the error's fields in camelCase (`len` and
 * `max` for `KEY_TOO_LONG`, `setting` and `suggestion` for `CONFIG_UNKNOWN_SETTING`, ...).
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
/** What `Global#config()` returns: every setting, and a tiered global's `upstream` (its upstream shard's settings). */
export type GlobalConfig = Required<GlobalSettings> & { upstream?: Required<ShardSettings> }

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
/** A reset for the shard it names to learn at once: deliver it (or its `bytes`) to that shard's `handleGenerationNotice` (a tiered global's, when it names the global's upstream shard). Nothing to report back; a lost notice only delays learning until the shard's next acknowledgement. */
export interface NoticeOutput {
  type: 'notice'
  bytes: Uint8Array
  shard: number
  incarnation: Int
  /** The global's reset generation. */
  generation: Int
  /** The keys reset, each with its generation. */
  keys: StaleKey[]
}
/** What a global asks its host to do. */
export type GlobalOutput = PublishOutput | ForwardOutput | NoticeOutput
/**
 * One storage operation of the change journal, for a host keeping a `(table, key) → value`
 * table (SQL: `rows(tbl TEXT, k BLOB, v BLOB, PRIMARY KEY (tbl, k))`): apply every op of each
 * `takeChanges()` in order; `fromRows` rebuilds the machine from every stored `[table, value]`.
 */
export interface RowOp {
  /** `put`: insert or replace `value` under `key`; `delete`: the row under `key`; `clear`: every row of the table; `delete_below`: every row whose key is bytewise below `key`. */
  op: 'put' | 'delete' | 'clear' | 'delete_below'
  /** `meta`, `slots`, `pending`, ...; a tiered global's upstream shard's rows are in `upstream.*` tables. */
  table: string
  key: Uint8Array
  /** The encoded row, for `put`; `null` otherwise. */
  value: Uint8Array | null
}
/** A stored row as a host reads it back: `[table, value]`. */
export type StoredRow = [table: string, value: Uint8Array]
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
  /** A shard from the `[table, value]` of every stored row (after applying its `takeChanges()` ops), in any order, as `restore`. Errors: `DECODE_*` for a row that is not a shard row of its table. */
  static fromRows(rows: StoredRow[], options?: ShardSettings): Shard
  /** Adds `delta` to `key`: one request. Errors (nothing changes): `EMPTY_KEY`, `KEY_TOO_LONG`, `OVERFLOW`, `TABLE_FULL`, `INVALID_KEY`, `INVALID_DELTA`, `INVALID_TIME`, `INVALID_ARGUMENT`. */
  increment(key: string, delta: Delta, nowMs: number): void
  /** Adds several deltas as one atomic request (repeated keys are summed). */
  increments(entries: Record<string, Delta> | Map<string, Delta> | Array<[string, Delta]>, nowMs: number): void
  /**
   * Adds `requests` requests (increments, or `increments` of several keys) that all arrived at
   * `nowMs`, given as their deltas summed per key (what a host that groups requests holds):
   * pending deltas, `pendingRequests()` and the idle and max-age timers end exactly as if they
   * had been made one by one. Flush conditions are checked once, after all of them: a group that
   * reaches `flushAfterRequests` cuts one batch of all of it. Atomic. Errors (nothing changes):
   * those of `increments`, and `LENGTH_MISMATCH` for entries without requests or requests
   * without entries.
   */
  incrementsCoalesced(entries: Record<string, Delta> | Map<string, Delta> | Array<[string, Delta]>, requests: number | bigint, nowMs: number): void
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
  /** The global announced a reset: pending deltas of the reset keys are dropped (counted as `staleDropped`). Whether the shard learned anything. */
  handleGenerationNotice(notice: Uint8Array | NoticeOutput, nowMs: number): boolean
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
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): Required<ShardSettings>
  /** The storage operations since the last call, in apply order (a host applies them with the snapshot's cadence: when `takeStateChanged()`). */
  takeChanges(): RowOp[]
  /** Every row of the state as `put` operations. */
  rows(): RowOp[]
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
  /** A global from the `[table, value]` of every stored row, as `Shard.fromRows`; a tiered global's rows need `upstream`. */
  static fromRows(rows: StoredRow[], options?: GlobalRestoreOptions): Global
  /** Applies a batch exactly once; a batch applied before is acknowledged again (`duplicate`). Errors change nothing. */
  handleBatch(batch: Uint8Array | BatchOutput | ForwardOutput, nowMs: number): AckOutput
  /** Resets a key: its total goes to zero and its generation up, and a `notice` output goes to every shard the global knows. */
  reset(key: string, nowMs: number): ResetOutcome
  /** Publishes now (reason `'manual'`) if anything changed. */
  publish(nowMs: number): PublishOutcome
  handlePublishAck(version: number | bigint, nowMs: number): boolean
  handlePublishFailure(version: number | bigint, nowMs: number): boolean
  /** Tiered aggregation: the upstream global acknowledged a forwarded batch. */
  handleUpstreamAck(ack: Uint8Array | AckOutput, nowMs: number): boolean
  handleUpstreamFailure(seq: number | bigint, nowMs: number): boolean
  /** Tiered aggregation: the upstream global rejected forwarded batch `seq` for good (its `handleBatch` threw an error with `rejectsBatch`): the upstream shard drops it, counted in its stats, instead of re-sending it forever. `false` when `seq` is not in flight. */
  handleUpstreamRejection(seq: number | bigint, nowMs: number): boolean
  flushUpstream(nowMs: number): FlushOutcome
  /** Tiered aggregation: the top global announced a reset (a notice naming this global's upstream shard); the notice goes on to every shard this global knows. Errors: `NO_UPSTREAM`. */
  handleGenerationNotice(notice: Uint8Array | NoticeOutput, nowMs: number): boolean
  /** A notice of `key`'s last reset for one shard life: to re-deliver a lost one, or to tell a shard this global has not heard from yet. */
  generationNotice(key: string, shard: number, incarnation: number | bigint): NoticeOutput
  handleTimeout(nowMs: number): void
  pollOutput(): GlobalOutput | null
  pollTimeout(): number | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  nextDeadline(): GlobalDeadline | null
  stats(): GlobalStats
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): GlobalConfig
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
  /** The storage operations since the last call, in apply order. */
  takeChanges(): RowOp[]
  /** Every row of the state as `put` operations. */
  rows(): RowOp[]
}

/**
 * Rebuilds a machine from its stored rows a page at a time: what `fromRows` does with every
 * row at once, for a host that reads its rows with a cursor (a few thousand per `add`) and so
 * never holds all of them. Rows may come in any order; reading the tables of `readFirst()`
 * first, in that order, keeps every row from waiting for another in the builder. A bad row throws its `DECODE_*` error
 * (e.g. `DECODE_CORRUPT`), and every later `add` or `finish` throws it again; `finish()`
 * returns the machine and spends the builder (a later call is `INVALID_ARGUMENT`).
 */
export declare class GlobalBuilder {
  /** The global's settings, as for `Global.fromRows` (a tiered global's with `upstream`). */
  constructor(options?: GlobalRestoreOptions)
  /** The tables to read first, in this order, before every other (`meta`, `totals`, ...). */
  static readFirst(): string[]
  /** Adds a page of stored `[table, value]` rows. */
  add(rows: StoredRow[]): void
  /** The global, once every row was added (checks what single rows could not). */
  finish(): Global
}
/** A `Shard` rebuilt from its stored rows a page at a time, as `GlobalBuilder`. */
export declare class ShardBuilder {
  /** The shard's settings, as for `Shard.fromRows` (the identity is in the `meta` row). */
  constructor(options?: ShardSettings)
  /** The tables to read first, in this order, before every other (`meta`, `slots`). */
  static readFirst(): string[]
  /** Adds a page of stored `[table, value]` rows. */
  add(rows: StoredRow[]): void
  /** The shard, once every row was added. */
  finish(): Shard
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

// ----- Gateway -----

/** Options of `new Gateway(options)`: the group it routes for, and its settings. */
export interface GatewayOptions extends GatewaySettings {
  /** The group (required; in the snapshot, not a restore option). */
  group: string
}
/** Which of a gateway's timers a deadline belongs to. */
export type GatewayTimer = 'reservation_expiry' | 'creation_timeout' | 'gossip_timeout' | 'retire'
/** Where `route` sends a request: a replica (a slot reserved there until `expiresAt`), or a replica being created (`creation`: the host answers `handleReplicaCreated` or `handleCreationFailed`). */
export type Route =
  | { type: 'replica'; replica: string; reason: 'sticky' | 'current' | 'least_loaded'; expiresAt: Int }
  | { type: 'pending'; creation: Int }
/** A created replica and the requests reserved on it. */
export interface Placement {
  creation: Int
  replica: string
  requests: string[]
}
/** What `handleConnect` did: used a reservation, took a free slot, or the connection was open already. */
export type ConnectOutcome = { type: 'reserved' } | { type: 'unreserved' } | { type: 'already_open' }
/** Who receives a message on one replica. */
export type Audience = { type: 'all' } | { type: 'all_except'; connection: string } | { type: 'request'; request: string }
/** One replica's part of a message plan (`emit`, `broadcast`, `whisper`). */
export interface Delivery {
  replica: string
  audience: Audience
}
/** The peers a gossip asks, and when it completes without the missing answers. */
export interface GossipPlan {
  gossip: Int
  peers: string[]
  deadline: Int
}
/** A peer's answer to a gossip. */
export interface GossipReply {
  peer: string
  payload: Uint8Array
}
/** Create a replica and answer `handleReplicaCreated(creation, id)` (or `handleCreationFailed`). */
export interface CreateReplicaOutput {
  type: 'create_replica'
  creation: Int
}
/** Tell a new replica its peers. */
export interface IntroduceOutput {
  type: 'introduce'
  replica: string
  peers: string[]
}
/** A creation the host did not answer in time: its waiting requests were released. */
export interface CreationExpiredOutput {
  type: 'creation_expired'
  creation: Int
  requests: string[]
}
/** Retire an idle replica (`retireAfterIdleMs`). */
export interface RetireOutput {
  type: 'retire'
  replica: string
}
/** A gossip completed: the replies in peer order, and the peers that failed or did not answer. */
export interface GossipDoneOutput {
  type: 'gossip_done'
  gossip: Int
  origin: string
  replies: GossipReply[]
  failed: string[]
  missing: string[]
}
/** What a gateway asks its host to do. */
export type GatewayOutput = CreateReplicaOutput | IntroduceOutput | CreationExpiredOutput | RetireOutput | GossipDoneOutput
/** A replica as the gateway sees it. */
export interface ReplicaView {
  id: string
  connections: number
  reservations: number
}
/** A reserved slot. */
export interface ReservationView {
  request: string
  replica: string
  expiresAt: Int
}
/** An open connection and its request id. */
export interface Connection {
  connection: string
  request: string
}
/** A creation waiting for the host, and the requests waiting for it. */
export interface PendingCreation {
  creation: Int
  requests: string[]
}
/** Counters of a gateway's activity (kept across snapshots). */
export interface GatewayStats {
  routes: Int
  stickyRoutes: Int
  pendingRoutes: Int
  creationRequests: Int
  creations: Int
  adopted: Int
  creationFailures: Int
  introductions: Int
  connects: Int
  unreservedConnects: Int
  closes: Int
  duplicateCloses: Int
  expirations: Int
  retirements: Int
  reports: Int
  gossips: Int
  gossipTimeouts: Int
  gossipFailures: Int
}

/**
 * Routes requests that carry a caller-given request id to replicas with a connection
 * `limit` each (sticky, then the replica being filled, then the least loaded), asks the host
 * to create replicas, and plans messages (`emit`, `broadcast`, `whisper`, `gossip`). Run loop
 * as for `Shard`. Ids the caller chooses are strings; ids the gateway issues (creations,
 * gossips) are integers, passed back as they came.
 */
export declare class Gateway {
  constructor(options: GatewayOptions)
  static restore(snapshot: Uint8Array, options?: GatewaySettings): Gateway
  /** A gateway from the `[table, value]` of every stored row (after applying its `takeChanges()` ops), in any order, as `restore` (the group is in the `meta` row). Errors: `DECODE_*` for a row that is not a gateway row of its table, or rows that disagree. */
  static fromRows(rows: StoredRow[], options?: GatewaySettings): Gateway
  /** Picks the replica for a request and reserves a slot on it. */
  route(request: string, nowMs: number): Route
  /** The host created the replica of `creation` with id `replica`. */
  handleReplicaCreated(creation: number | bigint, replica: string, nowMs: number): Placement
  /** The host could not create a replica: the requests waiting for it, or `null` when `creation` is not pending. */
  handleCreationFailed(creation: number | bigint, nowMs: number): string[] | null
  handleConnect(group: string, replica: string, connection: string, request: string, nowMs: number): ConnectOutcome
  /** A connection closed (idempotent: `false` when it was not open). */
  handleClose(group: string, replica: string, connection: string, nowMs: number): boolean
  /** A replica's open connections, as `[connection, request]` pairs (rebuilds a restarted gateway). */
  handleReport(group: string, replica: string, connections: Array<[connection: string, request: string]>, nowMs: number): void
  gossip(group: string, replica: string, nowMs: number): GossipPlan
  handleGossipReply(group: string, gossip: number | bigint, peer: string, payload: Uint8Array, nowMs: number): boolean
  handleGossipFailure(group: string, gossip: number | bigint, peer: string, nowMs: number): boolean
  /** The sender's own replica. */
  emit(group: string, replica: string, sender: string, includeSender: boolean): Delivery[]
  /** Every replica. */
  broadcast(group: string, replica: string, sender: string, includeSender: boolean): Delivery[]
  /** The replica holding request `target` (nothing for an unknown target or the sender itself). */
  whisper(group: string, replica: string, sender: string, target: string): Delivery[]
  handleTimeout(nowMs: number): void
  pollOutput(): GatewayOutput | null
  pollTimeout(): number | null
  nextDeadline(): Deadline<GatewayTimer> | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  stats(): GatewayStats
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): Required<GatewaySettings>
  group(): string
  /** Every replica, in creation order. */
  replicas(): ReplicaView[]
  replica(id: string): ReplicaView | null
  connections(replica: string): Connection[] | null
  /** The replica a request id is on, or `null`. */
  sticky(request: string): string | null
  requestIds(): number
  /** Live reservations, oldest first. */
  reservations(): ReservationView[]
  pendingCreations(): PendingCreation[]
  gossips(): Int[]
  /** The replica being filled, or `null`. */
  current(): string | null
  /**
   * The row changes since the last call, in apply order (empty exactly when
   * `takeStateChanged()` would be `false`): tables `meta`, `replicas`, `connections`,
   * `sticky`, `reservations`, `creations`, `gossips`, `gossip_answers`. A route, a connect or
   * a close is a few rows whatever the number of request ids.
   */
  takeChanges(): RowOp[]
  /** Every row of the state, as `put` operations. */
  rows(): RowOp[]
}

// ----- Membership -----

/** Which of a membership machine's timers a deadline belongs to. */
export type MembershipTimer = 'expiry' | 'reshard'
/** A holder's assignment: index `shard` of `numShards`, fenced by `epoch`. */
export interface ShardInfo {
  cluster: string
  holder: string
  shard: number
  numShards: number
  /** Increases with every reshard of the cluster (a fencing token). */
  epoch: Int
}
/** A holder's assignment changed. */
export interface ShardChangedOutput extends ShardInfo {
  type: 'shard_changed'
}
/** A holder lost its index. */
export interface ShardLostOutput extends ShardInfo {
  type: 'shard_lost'
  reason: 'expired' | 'unregistered'
}
/** What a membership machine tells its host. */
export type MembershipOutput = ShardChangedOutput | ShardLostOutput
/** Counters of membership activity (a cluster's, or summed over clusters). */
export interface MembershipStats {
  registrations: Int
  heartbeats: Int
  unregistrations: Int
  expirations: Int
  reshards: Int
  moves: Int
}
/** A cluster at a glance. */
export interface ClusterInfo {
  epoch: Int
  numShards: number
  holders: number
  assigned: number
  lastReshardAt: Int | null
  nextReshardAt: Int | null
  stats: MembershipStats
}

/**
 * Processes (holders) of named clusters obtain a unique index `shard` in `[0, numShards)`:
 * they register, heartbeat every `heartbeatIntervalMs`, and get `shard_changed` outputs;
 * expired holders are removed at the next (rate-limited) reshard. Run loop as for `Shard`.
 */
export declare class Membership {
  constructor(options?: MembershipSettings)
  static restore(snapshot: Uint8Array, options?: MembershipSettings): Membership
  /** From `snapshotCluster()` rows, one per cluster, in any order (a registrar's stored rows). */
  static restoreClusters(rows: Uint8Array[], options?: MembershipSettings): Membership
  register(cluster: string, holder: string, nowMs: number): void
  heartbeat(cluster: string, holder: string, nowMs: number): void
  unregister(cluster: string, holder: string, nowMs: number): void
  /** Removes a cluster without live holders. */
  removeCluster(cluster: string, nowMs: number): void
  /** Errors: `NOT_ASSIGNED` (no index yet), `UNKNOWN_HOLDER`, `HOLDER_EXPIRED`, `UNKNOWN_CLUSTER`. */
  shardInfo(cluster: string, holder: string, nowMs: number): ShardInfo
  /** A cluster's assignments, by index. */
  assignments(cluster: string, nowMs: number): ShardInfo[]
  clusterInfo(cluster: string): ClusterInfo | null
  clusters(): string[]
  /** Clusters whose state changed since the last call (persist their `snapshotCluster`). */
  takeChangedClusters(): string[]
  snapshotCluster(cluster: string): Uint8Array | null
  handleTimeout(nowMs: number): void
  pollOutput(): MembershipOutput | null
  pollTimeout(): number | null
  nextDeadline(): Deadline<MembershipTimer> | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  stats(): MembershipStats
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): Required<MembershipSettings>
}

// ----- Buckets -----

/** Which of the buckets' timers a deadline belongs to. */
export type BucketsTimer = 'retention'
/** A day, `"YYYY-MM-DD"` (in the buckets' `utcOffsetMinutes`). */
export type Day = string
/** What a record input did: counted under `day`, or dropped as older than retention. */
export type RecordOutcome = { type: 'recorded'; day: Day } | { type: 'too_old'; day: Day }
/** What `rollup` did. */
export interface RollupOutcome {
  days: number
  rows: Int
  events: Int
  droppedDays: number
}
/** What `expire` did. */
export interface ExpireOutcome {
  days: number
  events: Int
}
/** A key's total on a day. */
export interface DailyTotal {
  day: Day
  key: string
  total: Int
}
/** Counters of the buckets' activity (kept across snapshots). */
export interface BucketsStats {
  records: Int
  events: Int
  tooOldEvents: Int
  expiredDays: Int
  expiredEvents: Int
  rollups: Int
  rolledUpEvents: Int
  droppedDailyDays: Int
  droppedDailyEvents: Int
}
/** A stored raw count (not rolled up yet). */
export interface BucketsRawRow {
  type: 'raw'
  day: Day
  key: string
  count: Int
}
/** A stored daily total. */
export interface BucketsDailyRow {
  type: 'daily'
  day: Day
  key: string
  total: Int
}
/** The stored meta row: keep `bytes` (a blob column); `clock` and `stats` are for reading. */
export interface BucketsMeta {
  type: 'meta'
  clock: Int
  stats: BucketsStats
  bytes: Uint8Array
}
/** A stored row of the buckets. */
export type BucketsRow = BucketsRawRow | BucketsDailyRow | BucketsMeta
/** One change of `takeChanges()`: a row to upsert, or every raw / daily row of a day to delete. */
export type BucketsChange = BucketsRow | { type: 'raw_day_deleted'; day: Day } | { type: 'daily_day_deleted'; day: Day }
/** A row as `Buckets.fromRows` takes it back (counts and totals as `number | bigint`; the meta row's `bytes` only). */
export type BucketsStoredRow =
  | { type: 'raw'; day: Day; key: string; count: number | bigint }
  | { type: 'daily'; day: Day; key: string; total: number | bigint }
  | { type: 'meta'; bytes: Uint8Array }

/**
 * Counts events per key and day (a fixed UTC offset), rolls raw counts up into daily totals
 * additively, answers daily and period totals, and drops raw days past retention. Event
 * times `atMs` and `nowMs` are ms since the Unix epoch; days are `"YYYY-MM-DD"`, periods
 * `"YYYY"`, `"YYYY-MM"` or `"YYYY-MM-DD"` (a malformed one is `INVALID_ARGUMENT`). No
 * outputs: persist `takeChanges()` (or `snapshot()`) when `takeStateChanged()`.
 */
export declare class Buckets {
  constructor(options?: BucketsSettings)
  static restore(snapshot: Uint8Array, options?: BucketsSettings): Buckets
  /** From every stored row (`rows()`, or what `takeChanges()` left in a store). */
  static fromRows(rows: BucketsStoredRow[], options?: BucketsSettings): Buckets
  record(key: string, atMs: number, nowMs: number): RecordOutcome
  recordCount(key: string, count: number | bigint, atMs: number, nowMs: number): RecordOutcome
  recordMany(entries: Record<string, number | bigint> | Map<string, number | bigint> | Array<[string, number | bigint]>, atMs: number, nowMs: number): RecordOutcome
  /** A shard's batch (or its bytes) counted at `atMs`. */
  recordBatch(batch: Uint8Array | BatchOutput, atMs: number, nowMs: number): RecordOutcome
  /** Moves a period's raw counts into daily totals (additive: late data adds). */
  rollup(period: string, nowMs: number): RollupOutcome
  /** Drops raw days past `rawRetentionDays` (also done by `handleTimeout`). */
  expire(nowMs: number): ExpireOutcome
  handleTimeout(nowMs: number): void
  pollTimeout(): number | null
  nextDeadline(): Deadline<BucketsTimer> | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  stats(): BucketsStats
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): Required<BucketsSettings>
  dayOf(atMs: number): Day
  /** The first millisecond of a day, or `null` when it is outside the time range. */
  dayStart(day: Day): Int | null
  /** Daily totals over an inclusive range, by day then key. Errors: `NOT_FOUND` when empty. */
  dailyTotals(from: Day, to: Day): DailyTotal[]
  /** Each key's total over a period, by key. Errors: `NOT_FOUND` when empty. */
  periodTotals(period: string): KeyTotal[]
  dailyTotal(day: Day, key: string): Int
  rawCount(day: Day, key: string): Int
  rawDays(): Day[]
  rawEvents(): Int
  keyCount(): number
  dailyDays(): number
  /** The row changes since the last call, in apply order. */
  takeChanges(): BucketsChange[]
  /** Every stored row. */
  rows(): BucketsRow[]
}

// ----- Outbox -----

/** Which of an outbox's timers a deadline belongs to. */
export type OutboxTimer = 'reconnect' | 'send_timeout'
/** What `offer` did: queued under `id`, or dropped (counted by reason). */
export type OfferOutcome = { type: 'queued'; id: Int } | { type: 'dropped'; reason: 'full' | 'closed' | 'too_large' }
/** Send this message to the sink, then report `sent(id)` or `failed(id)`. */
export interface SendOutput {
  type: 'send'
  id: Int
  /** 1 for the first transmission, 2 for the re-send after a failure. */
  attempt: number
  message: Uint8Array
}
/** Re-establish the connection to the sink. */
export interface ReconnectOutput {
  type: 'reconnect'
}
/** A message dropped after its re-send failed too (counted). */
export interface GaveUpOutput {
  type: 'gave_up'
  id: Int
  message: Uint8Array
}
/** Closed and everything delivered or dropped. */
export interface DrainedOutput {
  type: 'drained'
}
/** What an outbox asks its host to do. */
export type OutboxOutput = SendOutput | ReconnectOutput | GaveUpOutput | DrainedOutput
/** Counters of an outbox's activity (kept across snapshots). */
export interface OutboxStats {
  offered: Int
  queued: Int
  delivered: Int
  droppedFull: Int
  droppedClosed: Int
  droppedTooLarge: Int
  gaveUp: Int
  failures: Int
  timeouts: Int
  resends: Int
  reconnects: Int
}

/**
 * A bounded queue between a host and a remote sink: `offer` never blocks (when full it drops
 * and counts), `send` outputs drive delivery, a failure schedules a reconnect with seeded
 * jitter and one re-send, `close` drains. Run loop as for `Shard`.
 */
export declare class Outbox {
  constructor(options?: OutboxSettings)
  static restore(snapshot: Uint8Array, options?: OutboxSettings): Outbox
  /** An outbox from the `[table, value]` of every stored row, as `restore` (messages in flight are offered again). */
  static fromRows(rows: StoredRow[], options?: OutboxSettings): Outbox
  offer(message: Uint8Array, nowMs: number): OfferOutcome
  /** The sink took message `id`; `false` when it was not in flight. */
  sent(id: number | bigint, nowMs: number): boolean
  /** Sending message `id` failed; `false` when it was not in flight. */
  failed(id: number | bigint, nowMs: number): boolean
  /** Takes no more offers; `drained` follows once everything is delivered or dropped. */
  close(nowMs: number): void
  handleTimeout(nowMs: number): void
  pollOutput(): OutboxOutput | null
  pollTimeout(): number | null
  nextDeadline(): Deadline<OutboxTimer> | null
  takeStateChanged(): boolean
  snapshot(): Uint8Array
  stats(): OutboxStats
  /** The settings in force, every one of them: what `restore` takes besides the snapshot (`X.restore(x.snapshot(), x.config())`). */
  config(): Required<OutboxSettings>
  /** Messages held (queued, waiting to be re-sent, or in flight). */
  len(): number
  isEmpty(): boolean
  queuedIds(): Int[]
  inFlightIds(): Int[]
  isReconnecting(): boolean
  isClosed(): boolean
  isDrained(): boolean
  /** The row changes since the last call, in apply order: tables `meta`, `messages` (a message's bytes, written once), `sends`. */
  takeChanges(): RowOp[]
  /** Every row of the state, as `put` operations. */
  rows(): RowOp[]
}

// ----- Partition helpers: the same in every runtime -----

/** The hashes one shard owns under `ownerRange`, inclusive. */
export interface HashRange {
  start: Int
  end: Int
}
/** The stable 64-bit hash of a key (FNV-1a then a mixer), the same in every runtime. */
export declare function keyHash(key: string): bigint
/** Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash (`buckets` 0 counts as 1). */
export declare function jumpHash(hash: number | bigint, buckets: number): number
/** Knuth's multiplicative hash: `x * 2654435761 mod 2^32` (`x` a 32-bit integer). */
export declare function knuthHash(x: number): number
/** The owner of a 64-bit hash by modulo: `hash % numShards` (0 counts as 1). */
export declare function ownerMod(hash: number | bigint, numShards: number): number
/** The owner of a 64-bit hash among `numShards` contiguous, near-equal ranges of the hash space (0 counts as 1). */
export declare function ownerRange(hash: number | bigint, numShards: number): number
/** The hashes shard `shard` of `numShards` owns under `ownerRange`, or `null` when `shard >= numShards`. */
export declare function shardRange(shard: number, numShards: number): HashRange | null

// ----- Request keys: the rule of the HTTP middlewares, the same in every runtime -----

/**
 * The route of a request path (as the client sent it, without the query): every segment that
 * is all ASCII digits becomes `:id`, every UUID segment (8-4-4-4-12 hex digits) `:uuid`, the
 * rest stays (`/users/42/orders/3f2c…` → `/users/:id/orders/:uuid`); `''` is `/`. A path with
 * a lone surrogate is an `INVALID_ARGUMENT` error.
 */
export declare function defaultRoute(path: string): string
/**
 * The bucket key of a request, `"METHOD route"`: a method other than the nine of HTTP (`GET`,
 * `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`; case-sensitive) is
 * `OTHER`, and the key is cut to at most `maxKeyBytes` (default 256, the buckets' default
 * `maxKeyBytes`) UTF-8 bytes, whole characters only.
 */
export declare function requestKey(method: string, route: string, maxKeyBytes?: number): string
