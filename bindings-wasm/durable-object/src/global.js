// The global Durable Object: applies batches exactly once (the engine's `Global`), answers
// the totals views, resets counters, stores publishes as rows (optionally mirrored to KV).
// The same class serves the aggregators of a fan-in tree (a `Global` with an `upstream`
// shard that forwards what it applies to its parent).

import { DurableObject } from "cloudflare:workers";
import { Global, boundsOf, globalFromRows, rebuildWithin } from "./engine.js";
import { CounterError } from "./errors.js";
import { optionsOf } from "./options.js";
import { PAGED_TABLE, RowPack } from "./pack.js";
import { Storage, Writes, countersOf } from "./storage.js";
import { nodeStub } from "./stubs.js";
import { aggregatorParent, childName, isAggregatorIndex, mapLimited, parseGlobalName, upstreamIndex } from "./tree.js";
import { parseShardName } from "./shard.js";
import { randomIncarnation, randomSeed, shardWritesView, totalsMap } from "./views.js";

/** Most reset notices delivered at once (one RPC each), and tries per child. */
const NOTICE_CONCURRENCY = 8;
const NOTICE_ATTEMPTS = 3;
/** Most calls to children at once when settling or gathering a tree's views. */
const FAN_OUT = 8;
/** Most children (shard or aggregator lives of distinct indices) one object keeps. */
const MAX_CHILDREN = 20_000;
/** Most counters one `published()` or `counters()` page carries. */
export const MAX_PAGE = 100_000;
/** Most settle rounds of an aggregator's forwarding. */
const SETTLE_ROUNDS = 16;

/**
 * The global object of a sharded counter. Extend it with the same static `options` as the
 * shard class and bind it in `wrangler.jsonc` as a SQLite class (`new_sqlite_classes`):
 *
 * ```js
 * export class CounterGlobal extends GlobalObject { static options = options; }
 * ```
 *
 * It answers when its object name is `options.globalName` (default `"global"`, the top of
 * the tree) or `<globalName>:<level>:<index>` (an aggregator of a fan-in tree, see tree.js).
 *
 * RPC methods (all async): `counters()`, `total(name)`, `reset(name)`, `generation()`,
 * `writes()`, `shardWrites()`, `published()`, `publish()`, `settle()`, `view()`, `stats()`,
 * and the internal `applyBatch(bytes)`, `register(name, shard, incarnation)`,
 * `applyNotice(bytes, keys)` and `leafWrites()` its children and parent call. No Worker
 * route reaches the internal ones.
 *
 * Every applied batch and reset is in storage before it is acknowledged (concurrent
 * batches share one write, which writes only the rows they changed, or, while the state is
 * small, one row holding it: `options.globalPackedRowBytes`); a write that fails
 * rolls the object back to storage, and the batch's sender retries. A reset answers once
 * every shard (through the aggregators, down to the leaves) was told: the engine's notices
 * go by RPC to every child this object knows, `NOTICE_CONCURRENCY` at a time. Each publish
 * upserts the published counters' rows (`published()` reads them back) and, when
 * `options.kvBinding` is set, writes `<kvPrefix>~counters` to KV (a JSON object of totals,
 * as do-counter-sharding did) while there are at most `options.kvMaxKeys` counters.
 */
export class GlobalObject extends DurableObject {
  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = optionsOf(this.constructor, env);
    this.store = new Storage(ctx);
    this.stats_ = countersOf(ctx, "global", {
      batches: 0,
      duplicates: 0,
      rejectedBatches: 0,
      resets: 0,
      publishes: 0,
      publishFailures: 0,
      kvSkipped: 0,
      lastKvError: null,
      notices: 0,
      noticeFailures: 0,
      registrations: 0,
      forwards: 0,
      forwardFailures: 0,
      lastForwardFailure: null,
      rollbacks: 0,
      lastStorageError: null,
      restored: false,
      loadMs: 0,
      keptSettings: null,
    });
    this.epoch = 0;
    this.engine = null;
    this.starting = null;
    /** `{level, index}`: level 0 is the top global. */
    this.role = null;
    this.name = null;
    this.parent = null;
    /** The reset generation this aggregator's life started from (its parent's). */
    this.startGeneration = 0;
    /** @type {Map<number, {incarnation: number, name: string}>} */
    this.children = new Map();
    this.publishedHeader = { version: 0, reason: null, at: null };
    /** Outputs waiting for the next write: publishes to store, forwards to send after it. */
    this.publishes = [];
    this.forwards = [];
    /** Children registered and not yet stored: `[shard, incarnation, name]`. */
    this.unstoredChildren = [];
    /** Seq of the batch forwarded upstream and not yet acknowledged, or null. */
    this.forwardInFlight = null;
    this.forwardWaiters = new Map();
    this.kvPublishing = new Set();
    this.#layoutOf(null, false);
    ctx.blockConcurrencyWhile(() => this.#load());
  }

  /** The clock of every engine input (ms). Tests override it to jump to a deadline. */
  now() {
    return Date.now();
  }

  get #isTop() {
    return this.role?.level === 0;
  }

  async #load() {
    const started = Date.now();
    const valid = (name) => parseGlobalName(name, this.options) !== null;
    this.name = await this.store.identify(this.ctx.id.name, valid);
    this.role = parseGlobalName(this.name, this.options);
    if (this.role === null) return;
    await this.store.loadAlarm();
    this.children = this.store.children();
    this.publishedHeader = this.store.value("published") ?? this.publishedHeader;
    if (this.store.hasEngineState()) {
      this.#storedLayout();
      this.engine = this.#rebuild();
      this.parent = this.store.value("parent") ?? null;
      this.startGeneration = this.store.value("generation") ?? 0;
      this.stats_.restored = true;
    } else if (this.#isTop) {
      this.engine = await this.#migrateOrCreate();
    }
    this.stats_.loadMs = Date.now() - started;
    if (this.engine !== null) {
      // A restored publish or forwarded batch in flight is offered again by the engine: the
      // forward goes now (it is stored), the publish with a write.
      this.#drain();
      this.#kick();
      if (this.publishes.length > 0) await this.#accepted(this.epoch).catch(() => {});
    }
  }

  /** The top global's first start: from an earlier version's snapshot, or empty. */
  async #migrateOrCreate() {
    const legacy = await this.store.legacySnapshot("global");
    if (!legacy) {
      const engine = new Global({ ...this.#config(), seed: randomSeed() });
      this.store.write(this.#stateWrites(new Writes(), engine, engine.takeChanges(), true));
      return engine;
    }
    // State of an earlier version of the shim (one snapshot and the last publish through
    // the key-value API): its rows go to the tables, the old keys away.
    const engine = Global.restore(legacy.bytes, this.#config());
    const w = this.#stateWrites(new Writes(), engine, engine.rows(), true);
    const record = await this.ctx.storage.get("published");
    if (record && typeof record === "object") {
      const header = { version: record.version, reason: record.reason, at: record.at };
      w.published(Object.entries(record.counters ?? {}).map(([key, total]) => ({ key, total }))).value("published", header);
      this.publishedHeader = header;
    }
    this.store.write(w);
    engine.takeChanges();
    await this.store.dropLegacy([...legacy.keys, "published"]);
    this.stats_.restored = true;
    return engine;
  }

  /** Engine settings: the `global` section; aggregators publish only what changed, to nobody. */
  #config() {
    return this.#isTop ? { ...this.options.global } : { ...this.options.global, publishMode: "changes" };
  }

  /** Settings of an aggregator's upstream shard. */
  #upstreamSettings() {
    return { ...this.options.shard, ...this.options.aggregator };
  }

  #rebuild() {
    if (this.#isTop) return globalFromRows(this.store, this.#config());
    const { machine, bounds, kept } = rebuildWithin(
      (settings) => globalFromRows(this.store, this.#config(), settings),
      this.#upstreamSettings(),
      this.store.value("bounds"),
      "aggregator",
      this.name,
    );
    this.stats_.keptSettings = kept;
    if (kept) console.warn(`shardtally: ${this.name} keeps the stored ${Object.keys(kept).join(", ")} (lowered in options.aggregator / options.shard)`);
    if (JSON.stringify(bounds) !== JSON.stringify(this.store.value("bounds") ?? null)) this.store.write(new Writes().value("bounds", bounds));
    return machine;
  }

  #wrongName() {
    return new CounterError(
      "WRONG_OBJECT_NAME",
      `a global object must be named ${JSON.stringify(this.options.globalName)} or "${this.options.globalName}:<level>:<index>" (got ${JSON.stringify(this.name)})`,
      { objectName: this.name },
    );
  }

  /** The engine; an aggregator without a life starts one (registering with its parent). */
  #engine() {
    if (this.engine !== null) return this.engine;
    if (this.role === null) throw this.#wrongName();
    this.starting ??= this.#startLife().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /** The engine for a view: null for an aggregator that has not started. */
  #view() {
    if (this.role === null) throw this.#wrongName();
    return this.engine;
  }

  /**
   * A new life of this aggregator: registered with its parent (which answers the reset
   * generation to start from and tells this life of later resets), with an upstream shard
   * of a fresh random incarnation forwarding what it applies.
   */
  async #startLife() {
    const { level, index } = this.role;
    const incarnation = randomIncarnation();
    const parent = aggregatorParent(this.options, level, index);
    const shard = upstreamIndex(level, index);
    const { generation } = await nodeStub(this.env, this.options, parent).register(this.name, shard, incarnation);
    const upstream = { ...this.#upstreamSettings(), shard, incarnation, generation, seed: randomSeed() };
    const engine = new Global({ ...this.#config(), seed: randomSeed(), upstream });
    this.store.write(
      this.#stateWrites(new Writes(), engine, engine.takeChanges(), true)
        .value("parent", parent)
        .value("generation", generation)
        .value("bounds", boundsOf(this.#upstreamSettings())),
    );
    this.engine = engine;
    this.parent = parent;
    this.startGeneration = generation;
    return engine;
  }

  /**
   * Internal: a child (a shard, or an aggregator below) starts a life and registers it.
   * Answers the reset generation the child starts from; from now on every reset reaches
   * this life. Stored before it answers.
   * @param {string} name the child's object name
   * @param {number} shard its engine shard index
   * @param {number} incarnation its new life
   * @returns {Promise<{generation: number}>}
   */
  async register(name, shard, incarnation) {
    const agg = parseGlobalName(name, this.options);
    const fits = agg !== null && agg.level > 0 ? upstreamIndex(agg.level, agg.index) === shard : parseShardName(name, this.options) === shard;
    if (!fits || !Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new CounterError("INVALID_ARGUMENT", `no child ${JSON.stringify(name)} with index ${shard}`, { name, shard });
    }
    if (!this.children.has(shard) && this.children.size >= MAX_CHILDREN) {
      throw new CounterError("TABLE_FULL", `${this.name} knows ${MAX_CHILDREN} children already`, { table: "children", limit: MAX_CHILDREN });
    }
    const engine = this.engine ?? (await this.#engine());
    const epoch = this.epoch;
    if (this.children.get(shard)?.incarnation !== incarnation) {
      // Stored with the next group commit (registrations of shards starting together share it).
      this.children.set(shard, { incarnation, name });
      this.unstoredChildren.push([shard, incarnation, name]);
    }
    this.stats_.registrations += 1;
    const generation = Math.max(Number(engine.generation()), this.startGeneration);
    await this.#accepted(epoch);
    return { generation };
  }

  /**
   * Internal: applies one batch of a child (opaque bytes made by a shard's engine, or
   * forwarded by an aggregator) and returns the acknowledgement bytes once the result is
   * stored. A batch already applied is acknowledged again without being counted twice. A
   * batch the engine can never apply (a key longer than `maxKeyBytes`, a total that would
   * overflow, `maxKeys` reached) throws the engine's error with `rejectsBatch: true`, and
   * nothing of it is applied. When storing fails, nothing of it is applied either (the
   * object rolls back to storage) and the error is thrown: the child retries.
   * @param {Uint8Array} bytes
   * @returns {Promise<Uint8Array>}
   */
  async applyBatch(bytes) {
    const engine = this.engine ?? (await this.#engine());
    const epoch = this.epoch;
    let ack;
    try {
      ack = engine.handleBatch(bytes, this.now());
    } catch (error) {
      // The engine's error crosses RPC with its `code`, offending values and `rejectsBatch`:
      // when true the batch can never be applied and the shard drops it (`handleRejection`).
      if (error?.rejectsBatch === true) this.stats_.rejectedBatches += 1;
      throw error;
    }
    this.stats_.batches += 1;
    if (ack.duplicate) this.stats_.duplicates += 1;
    await this.#accepted(epoch);
    return ack.bytes;
  }

  /**
   * Live totals, `{name: total}` (totals beyond 2^53 - 1 are bigints), in key order; at most
   * `limit` (default and most `MAX_PAGE`) after `after`. Live totals come from the engine
   * (O(counters) per call); `published()` pages through stored rows.
   * @param {{after?: string | null, limit?: number}} [page]
   */
  async counters(page = {}) {
    const engine = this.#view();
    if (engine === null) return {};
    const { after, limit } = pageOf(page);
    const totals = engine.totals();
    let from = 0;
    if (after !== null) {
      let lo = 0;
      let hi = totals.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (totals[mid].key <= after) lo = mid + 1;
        else hi = mid;
      }
      from = lo;
    }
    return totalsMap(totals.slice(from, from + limit));
  }

  /**
   * One live total (0 when the counter is not defined).
   * @param {string} name
   */
  async total(name) {
    return this.#view()?.total(name) ?? 0;
  }

  /**
   * Resets counter `name` to zero (SPEC §4), at the top global only: deltas accepted by
   * shards before they learn of the reset are dropped. Answers once the reset is stored and
   * every shard (through the aggregators) was told, so every increment accepted after it
   * answers counts; `undelivered` names the children that could not be told (they learn
   * from their next acknowledgement). Resetting an undefined counter reports `not_defined`.
   * @param {string} name
   */
  async reset(name) {
    const engine = this.#view();
    if (!this.#isTop) throw new CounterError("NOT_TOP", "reset counters at the top global", { objectName: this.name });
    const epoch = this.epoch;
    const outcome = engine.reset(name, this.now());
    if (outcome.type !== "reset") return outcome;
    this.stats_.resets += 1;
    const notices = this.#drain();
    await this.#accepted(epoch);
    const delivery = await this.#deliver(notices, [name]);
    return { ...outcome, ...delivery };
  }

  /**
   * Internal (aggregators): a reset the parent announced. The engine fences the counters for
   * this aggregator's children and passes the notice on; answers once they were told.
   * @param {Uint8Array} bytes the notice
   * @param {string[]} keys the reset counters (to tell children the engine has not heard from)
   * @returns {Promise<boolean>} whether this aggregator learned anything
   */
  async applyNotice(bytes, keys = []) {
    if (this.#isTop || this.role === null) throw new CounterError("NO_UPSTREAM", "only an aggregator takes notices", { objectName: this.name });
    if (this.engine === null && this.starting) await this.starting.catch(() => {});
    if (this.engine === null) return false;
    const epoch = this.epoch;
    const learned = this.engine.handleGenerationNotice(bytes, this.now());
    this.stats_.notices += 1;
    const notices = this.#drain();
    await this.#accepted(epoch);
    await this.#deliver(notices, Array.isArray(keys) ? keys.filter((k) => typeof k === "string").slice(0, 1024) : []);
    return learned;
  }

  /** The reset generation new shards start from. */
  async generation() {
    const engine = this.#view();
    return engine === null ? this.startGeneration : Math.max(Number(engine.generation()), this.startGeneration);
  }

  /** Recent writes of this object (applied batches, resets), newest first, bounded by the write log size. */
  async writes() {
    return this.#view()?.writeLog() ?? [];
  }

  /**
   * Writes and summed deltas per shard, in do-counter-sharding's `/global/shardWrites`
   * shape. In a fan-in tree the aggregators' entries are replaced by their shards' (asked
   * `FAN_OUT` at a time), so the view is per shard at any depth.
   */
  async shardWrites() {
    const leaves = await this.leafWrites();
    const totalWrites = leaves.reduce((n, w) => n + Number(w.writes), 0);
    return shardWritesView(leaves, { totalWrites, distinctShards: leaves.length }, this.options);
  }

  /**
   * Internal: per-shard write statistics of the shards below this object, by shard number
   * (aggregators' entries replaced by their own shards').
   * @returns {Promise<Array<{shard: number, writes: number, deltas: Array<{key: string, delta: number | bigint}>}>>}
   */
  async leafWrites() {
    const engine = this.#view();
    if (engine === null) return [];
    const own = engine.shardWrites();
    const below = await mapLimited(
      own.filter((w) => isAggregatorIndex(w.shard)),
      FAN_OUT,
      (w) => nodeStub(this.env, this.options, childName(this.options, w.shard)).leafWrites(),
    );
    const merged = new Map();
    for (const w of [...own.filter((w) => !isAggregatorIndex(w.shard)), ...below.flat()]) {
      const m = merged.get(w.shard);
      if (!m) {
        merged.set(w.shard, { shard: w.shard, writes: Number(w.writes), deltas: w.deltas });
        continue;
      }
      // One shard number below two parents (the tree changed between its lives).
      m.writes += Number(w.writes);
      const sums = new Map(m.deltas.map(({ key, delta }) => [key, BigInt(delta)]));
      for (const { key, delta } of w.deltas) sums.set(key, (sums.get(key) ?? 0n) + BigInt(delta));
      m.deltas = [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, delta]) => ({ key, delta: narrow(delta) }));
    }
    return [...merged.values()].sort((a, b) => a.shard - b.shard);
  }

  /**
   * The last stored publish: `{version, reason, at, counters, next}`, the counters read from
   * their rows in key order, at most `limit` (default and most `MAX_PAGE`) after `after`;
   * `next` is the `after` of the following page, or null.
   * @param {{after?: string | null, limit?: number}} [page]
   */
  async published(page = {}) {
    this.#view();
    const { after, limit } = pageOf(page);
    return { ...this.publishedHeader, ...this.store.publishedPage(after, limit) };
  }

  /** Publishes now (normally driven by the `persistAfter*` settings). */
  async publish() {
    const engine = this.#view();
    if (engine === null) return { type: "nothing_changed" };
    const epoch = this.epoch;
    const outcome = engine.publish(this.now());
    await this.#accepted(epoch);
    await Promise.all(this.kvPublishing);
    return outcome;
  }

  /**
   * Ships everything below this object up to it and waits: every child settles (shards
   * flush and wait for their acknowledgements, aggregators settle theirs and forward),
   * `FAN_OUT` at a time; an aggregator then forwards what it merged; the top global
   * publishes. `idle` is false when some delivery kept failing.
   * @returns {Promise<{idle: boolean, children: number}>}
   */
  async settle() {
    const engine = this.#view();
    if (engine === null) return { idle: true, children: 0 };
    const names = new Map([...this.children].map(([shard, c]) => [shard, c.name]));
    for (const w of engine.shardWrites()) if (!names.has(w.shard)) names.set(w.shard, childName(this.options, w.shard));
    const results = await mapLimited([...names.values()], FAN_OUT, (name) => nodeStub(this.env, this.options, name).settle());
    let idle = results.every((r) => r.idle);
    if (this.#isTop) await this.publish();
    else idle = (await this.#settleUpstream()) && idle;
    return { idle, children: names.size };
  }

  /** Forwards everything merged so far and waits for the parent's acknowledgement. */
  async #settleUpstream() {
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      if (this.forwardInFlight !== null) {
        await this.#forwardOutcome(this.forwardInFlight);
        continue;
      }
      const epoch = this.epoch;
      const outcome = this.engine.flushUpstream(this.now());
      await this.#accepted(epoch);
      if (outcome.type === "nothing_pending" && this.forwardInFlight === null) return true;
    }
    return false;
  }

  /** Engine statistics, publish state and alarm. */
  async view() {
    const engine = this.#view();
    return {
      name: this.name,
      level: this.role.level,
      parent: this.parent,
      children: this.children.size,
      started: engine !== null,
      stats: engine?.stats() ?? null,
      publishedVersion: engine?.publishedVersion() ?? 0,
      generation: await this.generation(),
      nextDeadline: engine?.pollTimeout() ?? null,
      alarmAt: this.store.alarmAt,
      forwardInFlight: this.forwardInFlight,
      keptSettings: this.stats_.keptSettings,
    };
  }

  /**
   * Activity counters of this object in this isolate (in memory, not stored): `batches`,
   * `duplicates`, `rejectedBatches`, `resets`, `publishes`, `publishFailures`, `kvSkipped`
   * (publishes not mirrored to KV beyond `kvMaxKeys`, and `lastKvError`), `notices`
   * (delivered to children), `noticeFailures`, `registrations`, `forwards` and
   * `forwardFailures` (an aggregator's calls to its parent), `rollbacks` (writes that
   * failed, and `lastStorageError`), `restored`, `loadMs`, `keptSettings`, `storageLayout`
   * (`packed`: the state is one row and write-log pages; `rows`), the storage I/O of
   * `Storage.io` and the SQLite `databaseBytes`.
   */
  async stats() {
    this.#view();
    return { ...this.stats_, storageLayout: this.layout, ...this.store.io, databaseBytes: this.ctx.storage.sql.databaseSize };
  }

  /** Alarm handler: publish deadlines and retries, an aggregator's forwarding. Safe to deliver twice or early. */
  async alarm() {
    this.store.alarmFired();
    if (this.engine === null) return;
    const epoch = this.epoch;
    this.engine.handleTimeout(this.now());
    await this.#accepted(epoch).catch(() => {});
  }

  /**
   * After an input: stores what changed (group commit), re-arms the alarm. Throws when a
   * write failed and the input was lost with the rollback (epoch moved).
   */
  async #accepted(epoch) {
    this.#drain();
    await this.#commit();
    if (this.epoch !== epoch) {
      throw new CounterError("STORAGE_FAILED", "a storage write failed and this input was not stored; retry it", {
        cause: this.stats_.lastStorageError,
      });
    }
  }

  /** Moves the engine's outputs to the queues; returns its notices. */
  #drain() {
    const notices = [];
    const engine = this.engine;
    for (let out = engine.pollOutput(); out !== null && out !== undefined; out = engine.pollOutput()) {
      if (out.type === "publish") this.publishes.push(out);
      else if (out.type === "forward") this.forwards.push(out);
      else if (out.type === "notice") notices.push(out);
    }
    this.store.armFor(engine.pollTimeout())?.catch(() => {});
    return notices;
  }

  /** What the next write holds: published rows, then every changed engine row. */
  #collect() {
    const w = new Writes();
    for (const [shard, incarnation, name] of this.unstoredChildren) w.child(shard, incarnation, name);
    this.unstoredChildren = [];
    const kv = this.#isTop && this.options.kvBinding ? this.env[this.options.kvBinding] : null;
    for (let round = 0; round < 4 && this.publishes.length > 0; round++) {
      const publishes = this.publishes;
      this.publishes = [];
      for (const p of publishes) {
        this.stats_.publishes += 1;
        if (this.#isTop) {
          this.publishedHeader = { version: Number(p.version), reason: p.reason, at: Date.now() };
          w.published(p.entries).value("published", this.publishedHeader);
        }
        // Stored with this write; a KV mirror is acknowledged when KV took it.
        if (kv) this.kvQueue = p;
        else this.engine.handlePublishAck(p.version, this.now());
      }
      this.#drain();
    }
    return this.#stateWrites(w, this.engine, this.engine.takeChanges());
  }

  /**
   * Adds the write of the engine's taken changes `ops` to `w`: those rows, or, while the
   * state packs into at most `options.globalPackedRowBytes`, the packed row (pack.js: one
   * row, however many engine rows changed) and the write-log pages it filled. A state that
   * grows past the limit moves to rows once (every row of it); a state stored as rows moves
   * to the packed row only when it was found small at a restore (a global's state rarely
   * shrinks). With `all`, `ops` are every row of a state not stored yet.
   * @returns {Writes} `w`
   */
  #stateWrites(w, engine, ops, all = false) {
    if (ops.length === 0 && !all) return w;
    const limit = this.options.globalPackedRowBytes;
    const packed = this.layout === "packed" && !all;
    if (packed || (limit > 0 && (all || this.repack))) {
      // The packed layout's mirror, or a new one of every row.
      const pack = packed ? this.pack : new RowPack();
      const paged = pack.apply(packed || all ? ops : engine.rows());
      const bytes = pack.encode();
      if (bytes.length <= limit) {
        if (!packed && !all) w.dropRows();
        this.#layoutOf(pack, false);
        return w.packed(bytes, paged);
      }
      if (packed) {
        this.#layoutOf(null, false);
        return w.dropPacked().rows(engine.rows());
      }
    }
    this.#layoutOf(null, false);
    return w.rows(ops);
  }

  /**
   * The storage layout: `packed` with the rows `pack` mirrors, or `rows` (null); `repack`:
   * a state in rows is tried packed with the next write.
   * @param {RowPack | null} pack
   * @param {boolean} repack
   */
  #layoutOf(pack, repack) {
    /** How the engine's state is stored: `packed` (one row, `this.pack`) or `rows`. */
    this.layout = pack === null ? "rows" : "packed";
    this.pack = pack;
    this.repack = repack;
  }

  /**
   * The layout of the stored state. A state stored as rows is tried packed with the next
   * write when it has few rows besides its write log (every row takes more than 16 bytes
   * packed; the write log goes to pages).
   */
  #storedLayout() {
    const pack = this.store.storedPack();
    const limit = this.options.globalPackedRowBytes;
    this.#layoutOf(pack, pack === null && limit > 0 && this.store.engineRowsAtMost(Math.floor(limit / 16), PAGED_TABLE));
  }

  #commit() {
    return this.store.commit(
      () => this.#collect(),
      (error) => this.#rollback(error),
      () => this.#kick(),
    );
  }

  /** After a write: sends forwarded batches, mirrors a publish to KV. */
  #kick() {
    const forwards = this.forwards;
    this.forwards = [];
    for (const f of forwards) this.#forward(f);
    if (this.kvQueue) {
      const p = this.kvQueue;
      this.kvQueue = null;
      const done = this.#mirror(p).finally(() => this.kvPublishing.delete(done));
      this.kvPublishing.add(done);
    }
  }

  /**
   * A write failed (nothing of it is stored): the engine goes back to the stored rows, so
   * memory and storage agree again; inputs since the last good write are lost (their
   * callers get STORAGE_FAILED and retry). A publish or forward in flight is stored, so the
   * rebuilt engine offers it again.
   */
  #rollback(error) {
    this.epoch += 1;
    this.stats_.rollbacks += 1;
    this.stats_.lastStorageError = { code: error?.code ?? null, message: String(error?.message ?? error) };
    this.publishes = [];
    this.forwards = [];
    this.unstoredChildren = [];
    this.kvQueue = null;
    this.forwardInFlight = null;
    for (const list of this.forwardWaiters.values()) for (const resolve of list) resolve(false);
    this.forwardWaiters.clear();
    this.children = this.store.children();
    this.publishedHeader = this.store.value("published") ?? { version: 0, reason: null, at: null };
    this.#storedLayout();
    this.engine = this.store.hasEngineState() ? this.#rebuild() : null;
    if (this.engine !== null) {
      this.#drain();
      // Sends a forward that was in flight; a restored publish waits for the next write.
      this.#kick();
      queueMicrotask(() => this.#accepted(this.epoch).catch(() => {}));
    }
  }

  /**
   * Tells the children of a reset: the engine's notices (one per child it heard from) and,
   * for children registered but not heard from yet, notices made for their current life.
   * Each child gets `NOTICE_ATTEMPTS` tries; those that could not be told are returned.
   */
  async #deliver(notices, keys) {
    const engine = this.engine;
    const byShard = new Map(notices.map((n) => [n.shard, n]));
    const targets = [];
    for (const [shard, child] of this.children) {
      const n = byShard.get(shard);
      byShard.delete(shard);
      if (n && Number(n.incarnation) === child.incarnation) targets.push({ name: child.name, bytes: [n.bytes] });
      else if (keys.length > 0) targets.push({ name: child.name, bytes: keys.map((k) => engine.generationNotice(k, shard, child.incarnation).bytes) });
    }
    for (const n of byShard.values()) targets.push({ name: childName(this.options, n.shard), bytes: [n.bytes] });
    const told = await mapLimited(targets, NOTICE_CONCURRENCY, async ({ name, bytes }) => {
      for (let attempt = 1; attempt <= NOTICE_ATTEMPTS; attempt++) {
        try {
          for (const b of bytes) await nodeStub(this.env, this.options, name).applyNotice(b, keys);
          this.stats_.notices += 1;
          return true;
        } catch {
          this.stats_.noticeFailures += 1;
          if (attempt < NOTICE_ATTEMPTS) await new Promise((r) => setTimeout(r, 50 * attempt));
        }
      }
      return false;
    });
    return { notified: told.filter(Boolean).length, undelivered: targets.filter((_, i) => !told[i]).map((t) => t.name) };
  }

  /** Mirrors the published counters to KV (bounded by `kvMaxKeys`) and acknowledges the publish. */
  async #mirror(publish) {
    const kv = this.env[this.options.kvBinding];
    const engine = this.engine;
    const count = this.store.publishedCount();
    if (count > this.options.kvMaxKeys) {
      this.stats_.kvSkipped += 1;
      this.stats_.lastKvError = { code: "KV_TOO_MANY_KEYS", message: `${count} counters exceed kvMaxKeys (${this.options.kvMaxKeys})`, count };
      engine.handlePublishAck(publish.version, this.now());
    } else {
      const { counters } = this.store.publishedPage(null, count);
      try {
        await kv.put(`${this.options.kvPrefix}~counters`, JSON.stringify(counters, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
        if (this.engine === engine) engine.handlePublishAck(publish.version, this.now());
      } catch (error) {
        this.stats_.publishFailures += 1;
        this.stats_.lastKvError = { code: error?.code ?? null, message: String(error?.message ?? error) };
        if (this.engine === engine) engine.handlePublishFailure(publish.version, this.now());
      }
    }
    if (this.engine === engine) await this.#accepted(this.epoch).catch(() => {});
  }

  #forwardOutcome(seq) {
    return new Promise((resolve) => {
      const list = this.forwardWaiters.get(seq);
      if (list) list.push(resolve);
      else this.forwardWaiters.set(seq, [resolve]);
    });
  }

  /** Sends one forwarded batch to the parent and feeds the outcome to the engine. */
  async #forward(batch) {
    const seq = Number(batch.seq);
    this.forwardInFlight = seq;
    this.stats_.forwards += 1;
    const engine = this.engine;
    let matched = false;
    try {
      const ack = await nodeStub(this.env, this.options, this.parent).applyBatch(batch.bytes);
      if (this.engine === engine) {
        try {
          matched = engine.handleUpstreamAck(ack, this.now());
        } catch {
          // WRONG_SHARD: an acknowledgement for another life; nothing to learn from it.
        }
      }
      if (matched && this.forwardInFlight === seq) this.forwardInFlight = null;
    } catch (error) {
      // A batch the parent can never apply (e.g. its totals table is full) is dropped as a
      // counted drop, so later batches flow; anything else is retried after the upstream
      // shard's backoff.
      this.stats_.forwardFailures += 1;
      this.stats_.lastForwardFailure = { seq, code: error?.code ?? null, message: String(error?.message ?? error) };
      if (this.engine === engine) {
        if (error?.rejectsBatch === true) engine.handleUpstreamRejection(batch.seq, this.now());
        else engine.handleUpstreamFailure(batch.seq, this.now());
      }
    }
    const list = this.forwardWaiters.get(seq);
    this.forwardWaiters.delete(seq);
    for (const resolve of list ?? []) resolve(matched);
    if (this.engine === engine) await this.#accepted(this.epoch).catch(() => {});
  }
}

/** A bigint as a number when it is a safe integer. */
function narrow(value) {
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** A page request: `after` (exclusive, null: from the start) and `limit` (1..=MAX_PAGE). */
function pageOf(page) {
  const after = page?.after ?? null;
  const limit = page?.limit ?? MAX_PAGE;
  if (after !== null && typeof after !== "string") throw new CounterError("INVALID_ARGUMENT", "after must be a counter name or null", {});
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new CounterError("INVALID_ARGUMENT", `limit must be an integer in 1..=${MAX_PAGE}`, { limit });
  }
  return { after, limit };
}
