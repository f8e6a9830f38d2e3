// Types of shardtally-durable-object: sharded counters on Cloudflare Durable Objects.
import type { DurableObject } from "cloudflare:workers";
import type { Audience, Deadline, Delivery, Delta, GatewaySettings, GatewayStats, GatewayTimer, GlobalSettings, ReplicaView, ShardSettings, WriteRecord } from "shardtally-wasm";

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
  /**
   * Decides each request to an admin route (reset, per-shard write, the views, the
   * dashboard): `true` allows it, a `Response` is sent instead (e.g. a 401 login challenge),
   * anything else refuses it (403 `FORBIDDEN`; a throw: 500 `AUTHORIZE_FAILED`). Without
   * it (default `null`) admin routes are off: 404, as if they did not exist.
   */
  authorize?: AuthorizeHook | null;
  /** Whether a client may count under a name (public routes; `true` allows, else 403 `NAME_NOT_ALLOWED`). Default `null` (any name). */
  allowName?: ((name: string) => boolean) | null;
  /** Longest counter name in UTF-8 bytes (1..=65536; the engine's `maxKeyBytes` also applies). Default 256. */
  maxNameBytes?: number;
  /** Largest request body in bytes, counted as it streams in (2..=16777216). Default 65536. */
  maxBodyBytes?: number;
  /** Most objects one route or client call reaches at once (1..=64). Default 8. */
  fanOutConcurrency?: number;
  /** Most shards one paged route or call reads (`GET /global/shards`, `shards()`; 1..=10000). Default 256. */
  fanOutLimit?: number;
  /** Coalesce the increments that wait for a busy shard into one `incrementCoalesced` call. Default `true`. */
  coalesce?: boolean;
  /** Under load, how long (ms, 0..=100) a group stays open after the shard's previous call returned; an idle shard gets an increment at once. Default 1. */
  coalesceWindowMs?: number;
  /**
   * Most children per object of the global class (2..=10000). With more shards, aggregator
   * objects `<globalName>:<level>:<index>` (the global class) sit between the shards and the
   * top global, each taking at most `fanIn` children. Default 32.
   */
  fanIn?: number;
  /** Most counters mirrored to KV by a publish (0..=10000000); beyond, KV is not written (counted as `kvSkipped`). Default 100000. */
  kvMaxKeys?: number;
  /**
   * A shard whose whole state encodes to at most this many bytes (0..=1048576) is stored as
   * one row, its snapshot, instead of its change rows: every write is then one row. 0: always
   * change rows. Default 4096.
   */
  shardSnapshotRowBytes?: number;
  /**
   * A global whose engine rows, all but its write log, pack into at most this many bytes
   * (0..=1048576) is stored as one row (its packed rows) and its write log in pages of 32
   * records, instead of its change rows: applying a batch is then one row. 0: always change
   * rows. Default 16384.
   */
  globalPackedRowBytes?: number;
  /** Engine settings of every shard (defaults from the engine; the objects set `seed`). */
  shard?: Omit<ShardSettings, "seed">;
  /** Engine settings of the global (defaults from the engine; the object sets `seed`). */
  global?: Omit<GlobalSettings, "seed">;
  /** Engine settings of the shard inside each aggregator that forwards to its parent (on top of `shard`). Default `{}`. */
  aggregator?: Omit<ShardSettings, "seed">;
}

/** An admin route as `authorize` sees it: its name, method, pattern and decoded parameters. */
export interface AdminRoute {
  name: "reset" | "writes" | "shardWrites" | "shards" | "shardCounters" | "shardWrite" | "dashboard" | "dashboardData";
  method: "GET" | "POST";
  /** E.g. `"/global/reset/:name"` (without `basePath`). */
  pattern: string;
  params: { name?: string; n?: number };
}

/** The `authorize` option: `true` allows the request, a `Response` answers it instead, anything else refuses it. */
export type AuthorizeHook = (request: Request, route: AdminRoute, env: any) => boolean | Response | Promise<boolean | Response>;

/** Options as an object, or a function of the Worker environment (e.g. reading `vars`). */
export type CounterOptionsSource = CounterOptions | ((env: any) => CounterOptions);

/** Options with every default filled in (frozen). */
export type ResolvedCounterOptions = Readonly<
  Required<Omit<CounterOptions, "kvBinding" | "authorize" | "allowName">> & {
    kvBinding: string | null;
    authorize: AuthorizeHook | null;
    allowName: ((name: string) => boolean) | null;
  }
>;

/** The defaults of every option. */
export declare const DEFAULT_OPTIONS: ResolvedCounterOptions;

/** Validates options and fills in the defaults; throws `CounterError` `INVALID_OPTIONS`. */
export declare function resolveOptions(options?: CounterOptions): ResolvedCounterOptions;

/** An error of the shim, with a stable `code` and the offending values as properties. */
export declare class CounterError extends Error {
  constructor(code: string, message: string, fields?: Record<string, unknown>);
  /**
   * INVALID_OPTIONS, WRONG_OBJECT_NAME, MISSING_BINDING, INVALID_BODY, INVALID_NAME,
   * NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, SHARD_OUT_OF_RANGE,
   * FORBIDDEN, NAME_NOT_ALLOWED, AUTHORIZE_FAILED, BUSY; of the objects: SQLITE_REQUIRED (a class
   * not in `new_sqlite_classes`), STORAGE_FAILED (a write failed; the input was not stored,
   * retry it), SETTINGS_LOWERED (stored state needs larger bound settings; names them),
   * NOT_TOP, NO_STATE (engine errors keep their own codes: EMPTY_KEY, KEY_TOO_LONG, OVERFLOW,
   * TABLE_FULL, ...).
   */
  code: string;
  [field: string]: unknown;
}

/** Counters as `{name: total}`; totals beyond ±(2^53 - 1) are bigints. */
export type Counters = Record<string, number | bigint>;

/** Storage I/O of one object since it started (in memory). */
export interface StorageIo {
  /** SQLite rows written (`cursor.rowsWritten`: the billed unit). */
  storageWrites: number;
  /** Bytes of the keys and values written. */
  storageWriteBytes: number;
  /** Write transactions (one per group commit). */
  storageTransactions: number;
  /** `setAlarm` calls (also billed writes). */
  alarmWrites: number;
  alarmsFired: number;
  /** Size of the object's SQLite database (`ctx.storage.sql.databaseSize`). */
  databaseBytes: number;
}

/** Bound settings kept from the stored state after they were lowered in the options. */
export type KeptSettings = Record<string, { configured: number | null; kept: number | null }> | null;

/** A page of counters in key order. */
export interface CounterPage {
  /** Start after this counter name (exclusive); default from the first. */
  after?: string | null;
  /** At most this many counters (1..=100000). Default 100000. */
  limit?: number;
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
  /**
   * Adds a group of increments coalesced by a Worker (`requests` client increments, their
   * deltas summed per counter) as one engine input, validated and applied as a whole (one bad
   * entry rejects the group and changes nothing: re-send its increments one by one), and
   * answers once the shard accepted it — in durable mode, once it is stored. Counts as its
   * `requests` towards `flushAfterRequests` (a group that reaches it cuts a batch at once) and
   * in `stats()`; a group without entries is `LENGTH_MISMATCH`.
   */
  incrementCoalesced(entries: Array<[string, Delta]> | Record<string, Delta>, requests: number): Promise<{ shard: number; count: number }>;
  /** Deltas not yet acknowledged by the global (pending and in flight), per counter. */
  counters(): Promise<Counters>;
  /** Ships pending deltas now and waits for the global's answer. */
  flush(): Promise<FlushResult>;
  /** Ships everything and waits for the acknowledgements: `idle` when nothing is pending or in flight. */
  settle(): Promise<{ shard: number; idle: boolean }>;
  /** Internal: a reset notice from its parent (its bytes); whether this shard learned anything. Stored before it answers. */
  applyNotice(bytes: Uint8Array, keys?: string[]): Promise<boolean>;
  /** Pending deltas, batch in flight, next deadline, alarm, engine statistics. */
  view(): Promise<Record<string, unknown>>;
  /** Counters of this object since it started. */
  stats(): Promise<
    StorageIo & {
      shard: number;
      durability: "durable" | "buffered";
      increments: number;
      requests: number;
      /** `incrementCoalesced` calls. */
      coalescedCalls: number;
      /** Batches sent to the parent (the global or an aggregator), and the failed ones. */
      globalCalls: number;
      globalFailures: number;
      /** Batches the global rejected for good (its error's `rejectsBatch`), dropped by this shard. */
      globalRejections: number;
      /** The last failed or rejected (`rejected: true`) call to the global. */
      lastFailure: { seq: number | bigint; code: string | null; message: string; rejected: boolean } | null;
      staleAcks: number;
      /** Reset notices received. */
      notices: number;
      /** Writes that failed (the object went back to storage), and the last one's error. */
      rollbacks: number;
      lastStorageError: { code: string | null; message: string } | null;
      restored: boolean;
      /** Time to rebuild the engine from storage when the object started (ms). */
      loadMs: number;
      keptSettings: KeptSettings;
      /** How the state is stored: one snapshot row (a small state, `shardSnapshotRowBytes`) or its change rows. */
      storageLayout: "snapshot" | "rows";
    }
  >;
  /** Fires due deadlines; safe to deliver twice or early. */
  alarm(): Promise<void>;
}

/** The global object. Extend it with the same `static options` and bind it. */
export declare class GlobalObject extends DurableObject {
  static options?: CounterOptionsSource;
  /** Internal: applies a child's batch and returns the acknowledgement bytes once it is stored. */
  applyBatch(bytes: Uint8Array): Promise<Uint8Array>;
  /** Internal: a child starts a life; answers the reset generation it starts from. */
  register(name: string, shard: number, incarnation: number): Promise<{ generation: number }>;
  /** Internal (aggregators): a reset notice from the parent, passed on to the children before it answers. */
  applyNotice(bytes: Uint8Array, keys?: string[]): Promise<boolean>;
  /** Internal: per-shard write statistics of the shards below (through aggregators). */
  leafWrites(): Promise<Array<{ shard: number; writes: number; deltas: Array<{ key: string; delta: number | bigint }> }>>;
  /** Live totals in key order (a page: at most 100000 by default). */
  counters(page?: CounterPage): Promise<Counters>;
  /** One live total (0 when not defined). */
  total(name: string): Promise<number | bigint>;
  /**
   * Resets a counter at the top global (deltas accepted before shards learn of it never
   * count); answers once it is stored and every shard (through the aggregators) was told:
   * `notified` children, and the `undelivered` ones by object name (they learn from their
   * next acknowledgement).
   */
  reset(name: string): Promise<
    | { type: "reset"; previous: number | bigint; generation: number | bigint; notified: number; undelivered: string[] }
    | { type: "not_defined" }
  >;
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
  /** The last stored publish, its counters read from their rows (a page; `next` is the `after` of the next page, or null). */
  published(page?: CounterPage): Promise<{ version: number | bigint; reason: string | null; at: number | null; counters: Counters; next: string | null }>;
  /** Publishes now. */
  publish(): Promise<{ type: "sent"; version: number | bigint } | { type: "deferred" } | { type: "nothing_changed" }>;
  /** Ships everything below up to this object (every shard flushed, every aggregator forwarded) and, at the top, publishes. */
  settle(): Promise<{ idle: boolean; children: number }>;
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
      /** Publishes not mirrored to KV (more than `kvMaxKeys` counters), and the last KV error. */
      kvSkipped: number;
      lastKvError: { code: string | null; message: string } | null;
      /** Reset notices delivered to children (received, for an aggregator), and deliveries that failed. */
      notices: number;
      noticeFailures: number;
      /** Child lives registered. */
      registrations: number;
      /** An aggregator's batches forwarded to its parent, and the failed ones. */
      forwards: number;
      forwardFailures: number;
      rollbacks: number;
      lastStorageError: { code: string | null; message: string } | null;
      restored: boolean;
      loadMs: number;
      keptSettings: KeptSettings;
      /** How the state is stored: one packed row and write-log pages (a small state, `globalPackedRowBytes`) or its change rows. */
      storageLayout: "packed" | "rows";
    }
  >;
  alarm(): Promise<void>;
}

/** Worker-side access to a sharded counter (routing + RPC). */
export declare class CounterClient {
  /**
   * `ctx` (the request's execution context) keeps a coalesced call alive with `waitUntil`
   * for the other requests it carries, should the request that sends it go away.
   */
  constructor(env: any, options?: CounterOptionsSource, ctx?: { waitUntil(promise: Promise<unknown>): void });
  readonly options: ResolvedCounterOptions;
  /** The stub of shard `n` (throws SHARD_OUT_OF_RANGE). */
  shard(n: number): DurableObjectStub<ShardObject>;
  /** The stub of the global object. */
  global(): DurableObjectStub<GlobalObject>;
  /**
   * Adds `delta` (default 1) to `name` once the shard accepted it (durable mode: stored it).
   * Increments for a busy shard wait and go together in its next call (`coalesce`).
   * Errors: EMPTY_KEY, INVALID_NAME, KEY_TOO_LONG, NAME_NOT_ALLOWED, INVALID_DELTA, BUSY, and the shard's.
   */
  increment(name: string, delta?: Delta): Promise<{ shard: number }>;
  increments(entries: Record<string, Delta> | Array<[string, Delta]>): Promise<{ shard: number; count: number }>;
  /** The shards of one page: `start` and at most `limit` (capped at `fanOutLimit`) after it; `next` is the following page's start. */
  page(start?: number, limit?: number): { start: number; end: number; next: number | null };
  /** Published totals (KV when configured, else the global's last publish). */
  counters(): Promise<Counters>;
  /** Live totals. */
  liveCounters(): Promise<Counters>;
  total(name: string): Promise<number | bigint>;
  reset(name: string): ReturnType<GlobalObject["reset"]>;
  writes(): Promise<WriteRecord[]>;
  shardWrites(): ReturnType<GlobalObject["shardWrites"]>;
  /** Not-yet-acknowledged deltas of the shards of one page (see `page`), `fanOutConcurrency` at a time. */
  shards(start?: number, limit?: number): Promise<Counters[]>;
  shardCounters(n: number): Promise<Counters>;
  flush(n: number): Promise<FlushResult>;
  /** Flushes every shard, `fanOutConcurrency` at a time. */
  flushAll(): Promise<FlushResult[]>;
}

/** The request's execution context (`waitUntil`), as a Worker's `fetch` receives it. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Answers one request to the counter routes (JSON in and out; the dashboard page is HTML). */
export declare function handleCounterRequest(request: Request, env: any, options?: CounterOptionsSource, ctx?: WaitUntil): Promise<Response>;

/** A Worker serving the counter routes: `export default counterWorker(options)`. Options of env are resolved once per env. */
export declare function counterWorker(options?: CounterOptionsSource): { fetch(request: Request, env: any, ctx?: WaitUntil): Promise<Response> };

// ----- WebSocket gateway (DOG) -----

/** Options shared by the group class, the replica class and the gateway Worker. */
export interface GatewayOptions {
  /** Durable Object binding of the group class. Default `"GATEWAY_GROUP"`. */
  groupBinding?: string;
  /** Durable Object binding of the replica class. Default `"GATEWAY_REPLICA"`. */
  replicaBinding?: string;
  /** The one path clients connect to. Default `"/connect"`. */
  path?: string;
  /** Largest client frame, emitted / broadcast / whispered payload or gossip question, in bytes (1..=1048576). Default 65536. */
  maxMessageBytes?: number;
  /** Most RPC calls one fan-out has in flight (1..=256). Default 16. */
  maxConcurrency?: number;
  /** Engine settings of the group's gateway (`limit`, `reservationTtlMs`, `gossipTimeoutMs`, ...); the group's name is its object name. */
  gateway?: Omit<GatewaySettings, "group">;
}

/** Gateway options as an object, or a function of the Worker environment. */
export type GatewayOptionsSource = GatewayOptions | ((env: any) => GatewayOptions);

/** Gateway options with every default filled in (frozen). */
export type ResolvedGatewayOptions = Readonly<Required<GatewayOptions>>;

/** The defaults of every gateway option. */
export declare const DEFAULT_GATEWAY_OPTIONS: ResolvedGatewayOptions;

/** Validates gateway options (engine setting names and values too) and fills in the defaults. */
export declare function resolveGatewayOptions(options?: GatewayOptions): ResolvedGatewayOptions;

/**
 * An error of the gateway host, with a stable `code`: INVALID_OPTIONS, MISSING_BINDING,
 * NOT_FOUND (404), METHOD_NOT_ALLOWED (405), UPGRADE_REQUIRED (426), MISSING_REQUEST_ID
 * (400), MESSAGE_TOO_LARGE, NOT_CONNECTED, NO_GOSSIP_HANDLER, WRONG_OBJECT_NAME,
 * INVALID_ARGUMENT, SQLITE_REQUIRED, STORAGE_FAILED, LEDGER_CORRUPT (engine errors keep their codes: REPLICA_FULL and
 * TABLE_FULL answer 503, EMPTY_ID and ID_TOO_LONG 400).
 */
export declare class GatewayError extends Error {
  constructor(code: string, message: string, fields?: Record<string, unknown>);
  code: string;
  [field: string]: unknown;
}

/** A message: strings and binary are sent as they are, anything else as JSON. */
export type GatewayMessage = string | ArrayBuffer | ArrayBufferView | object | number | boolean | null;

/** How far a message went: replicas in the plan, sockets it was sent to, replicas whose delivery failed. */
export interface DeliveryReport {
  replicas: number;
  sockets: number;
  failed: string[];
}

/** A gossip's answers in peer (creation) order; peers that threw, and peers past the deadline. */
export interface GossipOutcome<T = unknown> {
  replies: Array<{ replica: string; value: T }>;
  failed: string[];
  missing: string[];
}

/** One client connection as the hooks see it (DOG's `Socket`); its identity survives hibernation. */
export declare class GatewaySocket {
  /** This connection's id. */
  readonly connection: string;
  /** The client's request id (DOG's `uid`). */
  readonly request: string;
  readonly group: string;
  /** The replica holding this socket. */
  readonly replica: string;
  /** Sends to this socket only. */
  send(data: GatewayMessage): void;
  /** Closes the socket and frees its slot now. */
  close(code?: number, reason?: string): Promise<void>;
  /** Every socket of this replica (the sender too with `includeSender`). */
  emit(data: GatewayMessage, includeSender?: boolean): Promise<DeliveryReport>;
  /** Every socket of the group, on every replica (the sender too with `includeSender`). */
  broadcast(data: GatewayMessage, includeSender?: boolean): Promise<DeliveryReport>;
  /** The sockets of request id `target`, on the one replica holding them (nobody for an unknown target or oneself). */
  whisper(target: string, data: GatewayMessage): Promise<DeliveryReport>;
}

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  error?: unknown;
}

/** Storage I/O of a group object since it started (its ledger is the engine's rows, one SQLite table). */
export interface GatewayIo extends StorageIo {
  /** Rows of the ledger now stored. */
  ledgerRows: number;
  /** Bytes of the ledger now stored (keys and values). */
  ledgerBytes: number;
}

/** The group object (DOG's `Group`). Extend it with `static options` and bind it; reach it by name. */
export declare class GroupObject extends DurableObject {
  static options?: GatewayOptionsSource;
  /** Internal (the Worker): the replica for a request id, a slot reserved there. */
  route(request: string): Promise<{ replica: string; reason: "sticky" | "current" | "least_loaded" | "created" }>;
  /** Internal (a replica): a connection opened (REPLICA_FULL when there is no slot). */
  opened(replica: string, connection: string, request: string): Promise<"reserved" | "unreserved" | "already_open">;
  /** Internal (a replica): a connection ended; `false` for a second event of the same connection. */
  closed(replica: string, connection: string): Promise<boolean>;
  /** Internal (a replica): its open connections as `[connection, request]` pairs. */
  report(replica: string, connections: Array<[string, string]>): Promise<void>;
  /** Internal (a replica): who receives a message. */
  plan(kind: "emit" | "broadcast" | "whisper", replica: string, sender: string, arg: boolean | string): Promise<Delivery[]>;
  /** Internal (a replica): asks every other replica. */
  gossip(replica: string, message: unknown): Promise<GossipOutcome>;
  /** Replicas, counts, deadlines, engine statistics and storage I/O. */
  view(): Promise<{
    group: string;
    replicas: ReplicaView[];
    current: string | null;
    requestIds: number;
    reservations: number;
    nextDeadline: Deadline<GatewayTimer> | null;
    alarmAt: number | null;
    stats: GatewayStats;
    host: Record<string, number | boolean>;
    io: GatewayIo;
  }>;
  /** Fires due deadlines; safe to deliver twice or early. */
  alarm(): Promise<void>;
}

/** A replica (DOG's `Replica`). Extend it with `static options` and any of the hooks, and bind it. */
export declare class ReplicaObject extends DurableObject {
  static options?: GatewayOptionsSource;
  /** This replica's id (its Durable Object id). */
  readonly id: string;
  /** A client connected. */
  onopen?(socket: GatewaySocket): void | Promise<void>;
  /** A frame from a client (at most `maxMessageBytes`). */
  onmessage?(socket: GatewaySocket, data: string | ArrayBuffer): void | Promise<void>;
  /** A connection ended (once per connection, even when both an error and a close fire); runs before the group frees the slot, so it can still broadcast. */
  onclose?(socket: GatewaySocket, info: CloseInfo): void | Promise<void>;
  /** A peer's gossip question; the answer must be JSON (at most `maxGossipReplyBytes`). */
  ongossip?(message: any, context: { group: string }): unknown | Promise<unknown>;
  /** Every open socket of this replica. */
  sockets(): GatewaySocket[];
  /** Asks every other replica of the group; one failing peer never fails the gossip. */
  gossip<T = unknown>(message: unknown, group?: string): Promise<GossipOutcome<T>>;
  /** The upgrade the gateway Worker forwards. */
  fetch(request: Request): Promise<Response>;
  webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void>;
  webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): Promise<void>;
  webSocketError(ws: WebSocket, error: unknown): Promise<void>;
  /** Internal: part of a plan the group made; how many sockets it was sent to. */
  deliver(group: string, audience: Audience, data: string | ArrayBuffer | Uint8Array): Promise<number>;
  /** Internal: a peer's gossip question. */
  answerGossip(group: string, message: unknown): Promise<unknown>;
  /** Internal: this replica's open connections of `group`. */
  connections(group: string): Promise<Array<[string, string]>>;
  /** Activity counters since this object started. */
  stats(): Promise<Record<string, number | string>>;
}

/** Who a client is: its group and its request id (`null` answers 400). */
export type Identify = (request: Request, env: any) => { group: string; request: string | null } | Promise<{ group: string; request: string | null }>;

/** Hooks of the gateway Worker. */
export interface GatewayHooks {
  /** Default: `identifyFromUrl` (`?group=` and `?request=` or `x-request-id`). */
  identify?: Identify;
  /** Every path other than `options.path` (default: 404). */
  fallback?: (request: Request, env: any, ctx: any) => Response | Promise<Response>;
}

/** The default identification: `?group=` (default `"default"`), `?request=` or the `x-request-id` header. */
export declare function identifyFromUrl(request: Request): { group: string; request: string | null };

/** Answers one request: the gateway path (405 / 426 / 400 / 101) or the fallback (404 by default). */
export declare function handleGatewayRequest(request: Request, env: any, ctx: any, options?: GatewayOptionsSource, hooks?: GatewayHooks): Promise<Response>;

/** A Worker serving the gateway: `export default gatewayWorker(options, hooks)`. */
export declare function gatewayWorker(options?: GatewayOptionsSource, hooks?: GatewayHooks): { fetch(request: Request, env: any, ctx: any): Promise<Response> };
