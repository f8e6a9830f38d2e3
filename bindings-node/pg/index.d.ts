/* The typing of `shardtally/pg`, the PostgreSQL hosts of shardtally (on the `pg` package, a
 * peer dependency). Written by hand; test/pg-*.test.mjs and types/pg-usage.mts keep it honest. */
import { EventEmitter } from 'node:events'
import type { MembershipSettings, ShardInfo, Buckets, BucketsSettings, DailyTotal, KeyTotal, RecordOutcome, RollupOutcome, ExpireOutcome } from '../index.js'

/** The schema the hosts use unless told otherwise: `"shardtally"`. */
export declare const DEFAULT_SCHEMA: 'shardtally'

/** The connection settings of a `pg.Client` (`host`, `port`, `user`, `password`, `database`, `ssl`, ...). */
export interface PgClientConfig {
  connectionString?: string
  [setting: string]: unknown
}

/** What the registrar needs of a `pg.Pool` (a pool you pass is shared and never ended by the registrar). */
export interface PgPoolLike {
  connect(): Promise<{ query(text: string, values?: unknown[]): Promise<{ rows: any[] }>; release(err?: unknown): void }>
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>
  /** The pool's client settings: the registrar's LISTEN connection is made with them. */
  options: PgClientConfig
  totalCount: number
}

/** Where the registrar connects: exactly one of `connectionString`, `database` or `pool`. */
export type PgConnection =
  | { connectionString: string; database?: undefined; pool?: undefined }
  | { database: PgClientConfig; connectionString?: undefined; pool?: undefined }
  | { pool: PgPoolLike; connectionString?: undefined; database?: undefined }

/** The registrar's options: a connection, the cluster, and the Membership settings. */
export type ShardRegistrarOptions = PgConnection &
  MembershipSettings & {
    /** The cluster to join (an id of at most `maxIdBytes` bytes). */
    cluster: string
    /** The schema of the tables. Default `"shardtally"`; lower-case letters, digits and `_`, at most 48. */
    schema?: string
    /** This process's holder id. Default: a random UUID, kept across `stop()` / `start()`. */
    holder?: string
    /** Create or update the schema at `start()` (`migrate`). Default `true`. */
    migrate?: boolean
    /**
     * LISTEN for assignments (pushed by NOTIFY). Default `true`. With `false` (e.g. behind a
     * transaction-mode pooler) an assignment arrives by polling, at the next heartbeat.
     */
    listen?: boolean
  }

/** What `shardChanged` and `shardInfo()` report: `epoch` is a plain number here. */
export interface RegistrarShardInfo extends ShardInfo {
  epoch: number
}

/** A lost assignment: why the holder no longer holds its index. */
export interface ShardLostEvent extends RegistrarShardInfo {
  /** `"expired"`: the deadline passed (seen by the database or by the local clock); `"unregistered"`: `stop({ unregister: true })`. */
  reason: 'expired' | 'unregistered'
}

/**
 * One process's membership of a cluster: a unique `shard` index in `[0, numShards)` with its
 * fencing `epoch`, kept by heartbeats in PostgreSQL (the Membership machine, one row per
 * cluster, read and written in one locking transaction with the database clock).
 *
 * Events: `shardChanged` whenever `(shard, numShards, epoch)` changes; `shardLost` when the
 * index is lost; `error` for every failed heartbeat or listener failure. An error never stops
 * the heartbeats; without an `error` listener it becomes a process warning (code
 * `SHARDTALLY_PG_REGISTRAR`), never an exception. A listener that throws is reported as an
 * error. `start()` and `stop()` run one at a time in call order: a quick stop → start never
 * runs two loops.
 */
export declare class ShardRegistrar extends EventEmitter {
  /** Validates the settings and ids with the engine (throws its `ShardtallyError`s). */
  constructor(options: ShardRegistrarOptions)
  /** The cluster. */
  readonly cluster: string
  /** This registrar's holder id. */
  readonly holder: string
  /** The `application_name` of the registrar's own connections (`pg_stat_activity`). */
  readonly applicationName: string
  /** Whether the heartbeat loop runs (between `start()` and `stop()`). */
  readonly running: boolean
  /** Connects, migrates (unless `migrate: false`), listens and starts the heartbeats. Rejects when the database cannot be reached. */
  start(): Promise<void>
  /** Stops heartbeating; `{ unregister: true }` frees the index at once (else it stays taken until the holder expires). */
  stop(options?: { unregister?: boolean }): Promise<void>
  /** The current assignment; throws a `ShardtallyError` with code `NOT_ASSIGNED` while there is none (and when stopped). */
  shardInfo(): RegistrarShardInfo

  on(event: 'shardChanged', listener: (info: RegistrarShardInfo) => void): this
  on(event: 'shardLost', listener: (lost: ShardLostEvent) => void): this
  on(event: 'error', listener: (error: Error) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'shardChanged', listener: (info: RegistrarShardInfo) => void): this
  once(event: 'shardLost', listener: (lost: ShardLostEvent) => void): this
  once(event: 'error', listener: (error: Error) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

/** The schema could not be brought up to date (a shipped migration changed after it was applied). */
export declare class MigrationError extends Error {
  code: 'SHARDTALLY_PG_MIGRATION'
}

/**
 * Brings `schema` up to date for `component` (creating it) and resolves to the versions it
 * applied. Idempotent; safe from many processes at once (an advisory lock). `db` is a
 * `pg.Pool` or a connected `pg.Client` not inside a transaction.
 */
export declare function migrate(
  db: PgPoolLike | { query(text: string, values?: unknown[]): Promise<{ rows: any[] }> },
  options?: { component?: string; schema?: string },
): Promise<number[]>

/** `schema` when it is a valid schema name for the hosts; throws a `TypeError` otherwise. */
export declare function checkSchema(schema: string): string

// ----- BucketsStore -----

/** What a `BucketsStore` wrote. */
export interface BucketsStoreStats {
  /** Write transactions committed (one per `apply` that changed anything). */
  transactions: number
  /** Rows inserted, updated or deleted by them (the meta row included). */
  rowsWritten: number
  /** Times the machine was rebuilt from the stored rows (the first open included). */
  loads: number
  /** Write transactions that failed (each one makes the next call reload). */
  failures: number
  /** Connections lost between writes and re-established without a reload (the stored rows were still this store's). */
  reconnects: number
}

/** Where the store connects (a dedicated connection: it holds the schema's writer lock), its schema and the machine's settings. */
export type BucketsStoreOptions = (
  | { connectionString: string; database?: undefined }
  | { database: PgClientConfig; connectionString?: undefined }
) & {
  /** The schema of the tables. Default `"shardtally"`. */
  schema?: string
  /** The Buckets settings (`utcOffsetMinutes` must be the one the rows were written with). */
  buckets?: BucketsSettings
}

/** Another connection is the writer of this schema. */
export declare class StoreLockedError extends Error {
  code: 'SHARDTALLY_PG_LOCKED'
}

/**
 * One Buckets machine kept in PostgreSQL (`buckets_raw`, `buckets_daily`, `buckets_meta` in
 * its schema; the same tables as Python's `shardtally.pg.BucketsStore`). Every change goes
 * through `apply` and is written in one transaction, row by row from the change journal. A
 * failed write rejects and the next call rebuilds the machine from the stored rows; a
 * connection lost between writes is re-established first. The request counter of
 * `shardtally/middleware` takes it as its sink.
 */
export declare class BucketsStore {
  /** Connects, migrates the schema, takes its writer lock and rebuilds the machine from the stored rows. */
  static open(options: BucketsStoreOptions): Promise<BucketsStore>
  /** The machine (read it freely; change it through `apply`). A reload replaces it. */
  readonly buckets: Buckets
  readonly schema: string
  stats(): BucketsStoreStats
  /** Runs `fn(buckets)`, then writes every changed row in one transaction; resolves to what `fn` returned. */
  apply<T>(fn: (buckets: Buckets) => T): Promise<T>
  /** Writes the changes not written yet. */
  flush(): Promise<void>
  record(key: string, atMs: number, nowMs: number): Promise<RecordOutcome>
  recordMany(entries: Record<string, number | bigint> | Map<string, number | bigint> | Array<[string, number | bigint]>, atMs: number, nowMs: number): Promise<RecordOutcome>
  /** Raw counts of the period into daily totals, adding to the stored ones: re-running is harmless, late data adds. */
  rollup(period: string, nowMs: number): Promise<RollupOutcome>
  expire(nowMs: number): Promise<ExpireOutcome>
  handleTimeout(nowMs: number): Promise<void>
  /** Reconnects and rebuilds the machine from the stored rows now. */
  reconnect(): Promise<void>
  /** Daily totals over an inclusive range from the stored rows, by day then key. Rejects with `NOT_FOUND` when empty. */
  dailyTotals(from: string, to: string): Promise<DailyTotal[]>
  /** Each key's total over a year, month or day from the stored rows, by key. Rejects with `NOT_FOUND` when empty. */
  periodTotals(period: string): Promise<KeyTotal[]>
  /** Closes the connection (releasing the writer lock). */
  close(): Promise<void>
}

/** A connection that runs queries (`pg.Client`, `pg.Pool`). */
export interface PgQueryable {
  query(config: { text: string; values?: unknown[] }): Promise<{ rows: any[] }>
}

/** Daily totals of `from ..= to` in a store's tables, from any connection, as `Buckets.dailyTotals` answers. */
export declare function dailyTotals(db: PgQueryable, from: string, to: string, options?: { schema?: string }): Promise<DailyTotal[]>
/** Each key's total over a period in a store's tables, from any connection, as `Buckets.periodTotals` answers. */
export declare function periodTotals(db: PgQueryable, period: string, options?: { schema?: string }): Promise<KeyTotal[]>
