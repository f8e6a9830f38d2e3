// Types of shardtally-durable-object: sharded counters on Cloudflare Durable Objects.
import type { DurableObject } from "cloudflare:workers";
import type { Delta, GlobalSettings, ShardSettings, WriteRecord } from "shardtally-wasm";

/** Settings shared by the shard class, the global class and the Worker routes. */
export interface CounterOptions {
  /** Durable Object binding of the shard class. Default `"COUNTER_SHARDS"`. */
  shardBinding?: string;
  /** Durable Object binding of the global class. Default `"COUNTER_GLOBAL"`. */
  globalBinding?: string;
  /** Object name of the global. Default `"global"`. */
  globalName?: string;
  /** Shard objects are named `<shardPrefix><n>`. Default `"shard:"`. */
  shardPrefix?: string;
  /** Number of shards increments are spread over (1..=10000). Default 4. */
  shardCount?: number;
  /** How the Worker picks a shard: `"random"` (default), `"hash"` of the name, `"round_robin"`. */
  strategy?: "random" | "hash" | "round_robin";
  /**
   * `"durable"` (default): every accepted increment is in storage before its reply.
   * `"buffered"`: state is written when a batch is handed to the global; a restart loses the
   * increments accepted since the last flush.
   */
  durability?: "durable" | "buffered";
  /** KV binding to publish totals to (served by `GET /counters`), or null. Default null. */
  kvBinding?: string | null;
  /** KV key prefix: totals go to `<kvPrefix>~counters`. Default `"shardtally"`. */
  kvPrefix?: string;
  /** Path prefix of the routes (`""` or `"/something"`). Default `""`. */
  basePath?: string;
  /** Engine settings of every shard (defaults from the engine; the objects set `seed`). */
  shard?: Omit<ShardSettings, "seed">;
  /** Engine settings of the global (defaults from the engine; the object sets `seed`). */
  global?: Omit<GlobalSettings, "seed">;
}

/** Options as an object, or a function of the Worker environment (e.g. reading `vars`). */
export type CounterOptionsSource = CounterOptions | ((env: any) => CounterOptions);

/** Options with every default filled in (frozen). */
export type ResolvedCounterOptions = Readonly<Required<Omit<CounterOptions, "kvBinding">> & { kvBinding: string | null }>;

/** The defaults of every option. */
export declare const DEFAULT_OPTIONS: ResolvedCounterOptions;

/** Validates options and fills in the defaults; throws `CounterError` `INVALID_OPTIONS`. */
export declare function resolveOptions(options?: CounterOptions): ResolvedCounterOptions;

/** An error of the shim, with a stable `code` and the offending values as properties. */
export declare class CounterError extends Error {
  constructor(code: string, message: string, fields?: Record<string, unknown>);
  /**
   * INVALID_OPTIONS, WRONG_OBJECT_NAME, MISSING_BINDING, INVALID_BODY, INVALID_NAME,
   * NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, SNAPSHOT_TOO_LARGE, SHARD_OUT_OF_RANGE
   * (engine errors keep their own codes: EMPTY_KEY, KEY_TOO_LONG, OVERFLOW, TABLE_FULL, ...).
   */
  code: string;
  [field: string]: unknown;
}

/** Counters as `{name: total}`; totals beyond ±(2^53 - 1) are bigints. */
export type Counters = Record<string, number | bigint>;

/** Storage I/O of one object since it started (in memory). */
export interface StorageIo {
  /** Keys put or deleted (the billed unit). */
  storageWrites: number;
  storageWriteBytes: number;
  /** `setAlarm` calls (also billed writes). */
  alarmWrites: number;
  alarmsFired: number;
}

/** What `flush` did. */
export type FlushResult =
  | { type: "sent"; seq: number | bigint; acknowledged: boolean }
  | { type: "deferred"; seq: number | bigint; acknowledged: false }
  | { type: "nothing_pending"; acknowledged: false };

/** A shard object. Extend it with `static options` and bind it in wrangler.jsonc. */
export declare class ShardObject extends DurableObject {
  /** The options (the subclass's static `options`). */
  static options?: CounterOptionsSource;
  /** Adds `delta` (default 1) to counter `name`. */
  increment(name: string, delta?: Delta): Promise<{ shard: number }>;
  /** Adds several deltas as one atomic request. */
  increments(entries: Record<string, Delta> | Array<[string, Delta]>): Promise<{ shard: number; count: number }>;
  /** Deltas not yet acknowledged by the global (pending and in flight), per counter. */
  counters(): Promise<Counters>;
  /** Ships pending deltas now and waits for the global's answer. */
  flush(): Promise<FlushResult>;
  /** Internal: a reset notice from the global (its bytes); whether this shard learned anything. */
  applyNotice(bytes: Uint8Array): Promise<boolean>;
  /** Pending deltas, batch in flight, next deadline, alarm, engine statistics. */
  view(): Promise<Record<string, unknown>>;
  /** Counters of this object since it started. */
  stats(): Promise<
    StorageIo & {
      shard: number;
      durability: "durable" | "buffered";
      increments: number;
      requests: number;
      globalCalls: number;
      globalFailures: number;
      /** Batches the global rejected for good (its error's `rejectsBatch`), dropped by this shard. */
      globalRejections: number;
      /** The last failed or rejected (`rejected: true`) call to the global. */
      lastFailure: { seq: number | bigint; code: string | null; message: string; rejected: boolean } | null;
      staleAcks: number;
      restored: boolean;
    }
  >;
  /** Fires due deadlines; safe to deliver twice or early. */
  alarm(): Promise<void>;
}

/** The global object. Extend it with the same `static options` and bind it. */
export declare class GlobalObject extends DurableObject {
  static options?: CounterOptionsSource;
  /** Internal: applies a shard's batch and returns the acknowledgement bytes. */
  applyBatch(bytes: Uint8Array): Promise<Uint8Array>;
  /** Live totals. */
  counters(): Promise<Counters>;
  /** One live total (0 when not defined). */
  total(name: string): Promise<number | bigint>;
  /** Resets a counter (deltas accepted before shards learn of it never count); answers once every shard the global knows was told. */
  reset(name: string): Promise<{ type: "reset"; previous: number | bigint; generation: number | bigint } | { type: "not_defined" }>;
  /** The reset generation new shards start from. */
  generation(): Promise<number | bigint>;
  /** Recent writes, newest first. */
  writes(): Promise<WriteRecord[]>;
  /** Writes and summed deltas per shard (do-counter-sharding's `/global/shardWrites`). */
  shardWrites(): Promise<{
    shardWrites: Record<string, { writeCount: number | bigint; counters: Counters }>;
    totalWrite: number | bigint;
    totalShards: number | bigint;
  }>;
  /** The last stored publish. */
  published(): Promise<{ version: number | bigint; reason: string | null; at: number | null; counters: Counters }>;
  /** Publishes now. */
  publish(): Promise<{ type: "sent"; version: number | bigint } | { type: "deferred" } | { type: "nothing_changed" }>;
  /** Engine statistics, publish state and alarm. */
  view(): Promise<Record<string, unknown>>;
  /** Counters of this object since it started. */
  stats(): Promise<
    StorageIo & {
      batches: number;
      duplicates: number;
      /** Batches rejected for good (the engine error's `rejectsBatch`). */
      rejectedBatches: number;
      resets: number;
      publishes: number;
      publishFailures: number;
      /** Reset notices delivered to shards, and deliveries that failed. */
      notices: number;
      noticeFailures: number;
      restored: boolean;
    }
  >;
  alarm(): Promise<void>;
}

/** Worker-side access to a sharded counter (routing + RPC). */
export declare class CounterClient {
  constructor(env: any, options?: CounterOptionsSource);
  readonly options: ResolvedCounterOptions;
  /** The stub of shard `n` (throws SHARD_OUT_OF_RANGE). */
  shard(n: number): DurableObjectStub<ShardObject>;
  /** The stub of the global object. */
  global(): DurableObjectStub<GlobalObject>;
  increment(name: string, delta?: Delta): Promise<{ shard: number }>;
  increments(entries: Record<string, Delta> | Array<[string, Delta]>): Promise<{ shard: number; count: number }>;
  /** Published totals (KV when configured, else the global's last publish). */
  counters(): Promise<Counters>;
  /** Live totals. */
  liveCounters(): Promise<Counters>;
  total(name: string): Promise<number | bigint>;
  reset(name: string): ReturnType<GlobalObject["reset"]>;
  writes(): Promise<WriteRecord[]>;
  shardWrites(): ReturnType<GlobalObject["shardWrites"]>;
  /** Every shard's not-yet-acknowledged deltas, by shard number. */
  shards(): Promise<Counters[]>;
  shardCounters(n: number): Promise<Counters>;
  flush(n: number): Promise<FlushResult>;
  flushAll(): Promise<FlushResult[]>;
}

/** Answers one request to the counter routes (JSON in and out). */
export declare function handleCounterRequest(request: Request, env: any, options?: CounterOptionsSource): Promise<Response>;

/** A Worker serving the counter routes: `export default counterWorker(options)`. */
export declare function counterWorker(options?: CounterOptionsSource): { fetch(request: Request, env: any): Promise<Response> };
