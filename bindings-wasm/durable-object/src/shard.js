// The shard Durable Object: accepts increments, buffers them in the engine's `Shard`, ships
// batches to its parent (the global, or an aggregator of a fan-in tree) by RPC and stores
// its state as rows in SQLite.

import { DurableObject } from "cloudflare:workers";
import { Shard, boundsOf, rebuildWithin, shardFromRows } from "./engine.js";
import { CounterError } from "./errors.js";
import { optionsOf } from "./options.js";
import { Storage, Writes, countersOf } from "./storage.js";
import { nodeStub } from "./stubs.js";
import { shardParent } from "./tree.js";
import { pendingView, randomIncarnation, randomSeed } from "./views.js";

/** Most settle rounds (flush, wait for the acknowledgement) before `settle` gives up. */
const SETTLE_ROUNDS = 16;
/** Most requests one `incrementCoalesced` call may stand for. */
const MAX_COALESCED_REQUESTS = 1_000_000;

/**
 * A shard of a sharded counter. Extend it, give the subclass a static `options` (the same
 * object the Worker and the global class use) and bind it in `wrangler.jsonc` as a SQLite
 * class (`new_sqlite_classes`):
 *
 * ```js
 * export class CounterShard extends ShardObject { static options = options; }
 * ```
 *
 * Its role and shard number come from its object name (`shard:<n>`, see
 * `options.shardPrefix`); objects with any other name refuse every call.
 *
 * RPC methods (all async): `increment(name, delta?)`, `increments(entries)`,
 * `incrementCoalesced(entries, requests)`, `counters()`, `flush()`, `settle()`, `view()`,
 * `stats()`, and `applyNotice(bytes)`, the internal method its parent calls after a reset.
 * Durability (`options.durability`):
 * - `"durable"` (default): every accepted increment is in storage before its reply;
 *   concurrent increments share one write (group commit).
 * - `"buffered"`: state is written when a batch is handed to the parent (every flush);
 *   increments accepted since the last flush are lost if the object restarts.
 * In both modes a batch never leaves before the state that contains it is stored, and a
 * write that fails rolls the object back to what is stored (its callers get the error).
 *
 * A shard life (an incarnation) starts with the shard's first input when it has no stored
 * state: it registers with its parent, which answers the current reset generation and from
 * then on tells it of every reset. That call is made outside the constructor's
 * `blockConcurrencyWhile`, so a slow parent delays the first input, not the object.
 */
export class ShardObject extends DurableObject {
  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = optionsOf(this.constructor, env);
    this.store = new Storage(ctx);
    this.stats_ = countersOf(ctx, "shard", {
      increments: 0,
      requests: 0,
      coalescedCalls: 0,
      globalCalls: 0,
      globalFailures: 0,
      globalRejections: 0,
      lastFailure: null,
      staleAcks: 0,
      notices: 0,
      rollbacks: 0,
      lastStorageError: null,
      restored: false,
      loadMs: 0,
      keptSettings: null,
    });
    /** Highest batch seq whose state has been written. */
    this.persistedSeq = -1;
    /** Goes up whenever the object rolls back to storage (inputs of an older epoch were lost). */
    this.epoch = 0;
    /** Batch seq → resolvers waiting for the outcome of its next delivery. */
    this.waiters = new Map();
    this.engine = null;
    this.#noState();
    this.starting = null;
    this.index = null;
    this.name = null;
    this.parent = null;
    ctx.blockConcurrencyWhile(() => this.#load());
  }

  /** The clock of every engine input (ms). Tests override it to jump to a deadline. */
  now() {
    return Date.now();
  }

  async #load() {
    const started = Date.now();
    const valid = (name) => parseShardName(name, this.options) !== null;
    this.name = await this.store.identify(this.ctx.id.name, valid);
    this.index = parseShardName(this.name, this.options);
    if (this.index === null) return;
    await this.store.loadAlarm();
    if (this.store.hasEngineState()) {
      this.engine = this.#rebuild();
      this.parent = this.store.value("parent") ?? this.options.globalName;
    } else {
      const legacy = await this.store.legacySnapshot("shard");
      if (legacy) {
        // State of an earlier version of the shim (one snapshot through the key-value API):
        // its rows go to the tables, the old keys away. Its life knew only the global.
        this.engine = Shard.restore(legacy.bytes, this.options.shard);
        this.parent = this.options.globalName;
        this.engine.takeChanges();
        this.#write(this.#stateWrites(this.engine.rows(), true), (w) => w.value("parent", this.parent).value("bounds", boundsOf(this.options.shard)));
        await this.store.dropLegacy(legacy.keys);
      }
    }
    if (this.engine !== null) {
      this.stats_.restored = true;
      const inFlight = this.engine.inFlight();
      if (inFlight) this.persistedSeq = Number(inFlight.seq);
      this.flightKeys = inFlight ? inFlight.entries.length : 0;
      // A restored batch in flight is offered again by the engine (the parent ignores
      // duplicates); restored deadlines get an alarm even if the saved one was lost.
      this.#afterInput();
    }
    this.stats_.loadMs = Date.now() - started;
  }

  /**
   * The engine from its stored rows or snapshot row, with the bound settings the state needs
   * (see engine.js).
   */
  #rebuild() {
    const snapshot = this.store.storedSnapshot();
    this.layout = snapshot === null ? "rows" : "snapshot";
    // Every stored row takes more than 4 bytes of a snapshot: a shard restored from many
    // rows is never encoded to find out whether it fits one.
    this.stateBytes = snapshot === null ? 4 * this.store.engineRowCount() : snapshot.length;
    this.shrunk = true;
    const { machine, bounds, kept } = rebuildWithin(
      snapshot === null ? (settings) => shardFromRows(this.store, settings) : (settings) => Shard.restore(snapshot, settings),
      this.options.shard,
      this.store.value("bounds"),
      "shard",
      this.name,
    );
    this.stats_.keptSettings = kept;
    if (kept) console.warn(`shardtally: ${this.name} keeps the stored ${Object.keys(kept).join(", ")} (lowered in options.shard)`);
    if (JSON.stringify(bounds) !== JSON.stringify(this.store.value("bounds") ?? null)) this.store.write(new Writes().value("bounds", bounds));
    return machine;
  }

  /** The engine, starting a new shard life when there is none. */
  #engine() {
    if (this.engine !== null) return this.engine;
    if (this.index === null) throw this.#wrongName();
    this.starting ??= this.#startLife().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  #wrongName() {
    return new CounterError("WRONG_OBJECT_NAME", `a shard object must be named "${this.options.shardPrefix}<n>" (got ${JSON.stringify(this.name)})`, {
      objectName: this.name,
    });
  }

  /**
   * A new life of this shard: a fresh random incarnation (so its parent never takes its
   * batches for an earlier life's), registered with its parent, which answers the reset
   * generation to start from (so the first increments of counters reset long ago are not
   * dropped as stale) and tells this life of every later reset.
   */
  async #startLife() {
    const incarnation = randomIncarnation();
    const parent = shardParent(this.options, this.index);
    const { generation } = await nodeStub(this.env, this.options, parent).register(this.name, this.index, incarnation);
    const engine = new Shard({ ...this.options.shard, shard: this.index, incarnation, generation, seed: randomSeed() });
    this.engine = engine;
    this.#noState();
    try {
      this.#write(this.#stateWrites(engine.takeChanges()), (w) => w.value("parent", parent).value("bounds", boundsOf(this.options.shard)));
    } catch (error) {
      this.engine = null;
      throw error;
    }
    this.parent = parent;
    return engine;
  }

  /**
   * Adds `delta` (default 1; a safe integer or a bigint) to counter `name`.
   * Resolves when the increment is accepted (and, in durable mode, stored).
   * @param {string} name
   * @param {number | bigint} [delta]
   * @returns {Promise<{shard: number}>}
   */
  async increment(name, delta = 1) {
    const engine = this.engine ?? (await this.#engine());
    engine.increment(name, delta, this.now());
    this.stats_.increments += 1;
    this.stats_.requests += 1;
    await this.#accepted(this.epoch);
    return { shard: this.index };
  }

  /**
   * Adds several deltas as one request (validated and applied as a whole).
   * @param {Record<string, number | bigint> | Map<string, number | bigint> | Array<[string, number | bigint]>} entries
   * @returns {Promise<{shard: number, count: number}>}
   */
  async increments(entries) {
    const engine = this.engine ?? (await this.#engine());
    engine.increments(entries, this.now());
    const count = Array.isArray(entries) ? entries.length : entries instanceof Map ? entries.size : Object.keys(entries).length;
    this.stats_.increments += count;
    this.stats_.requests += 1;
    await this.#accepted(this.epoch);
    return { shard: this.index, count };
  }

  /**
   * Adds a group of increments a Worker coalesced (several client requests, their deltas
   * summed per counter) and resolves once the shard accepted them (in durable mode: stored
   * them), so the caller may then answer every request of the group. The group is one
   * engine input (`Shard.incrementsCoalesced`), validated and applied as a whole: an invalid
   * entry (or an overflow, or a full pending table) rejects all of it and changes nothing,
   * so callers check names first and re-send the requests one by one on such an error. It
   * counts as its `requests` towards `flushAfterRequests` (a group that reaches it cuts a
   * batch at once) and in `stats()`; a group without entries is `LENGTH_MISMATCH`.
   * @param {Array<[string, number | bigint]> | Record<string, number | bigint>} entries summed deltas per counter
   * @param {number} requests how many client increments the group stands for (>= 1)
   * @returns {Promise<{shard: number, count: number}>}
   */
  async incrementCoalesced(entries, requests) {
    if (!Number.isInteger(requests) || requests < 1 || requests > MAX_COALESCED_REQUESTS) {
      throw new CounterError("INVALID_ARGUMENT", `requests must be an integer in 1..=${MAX_COALESCED_REQUESTS}`, { requests });
    }
    const engine = this.engine ?? (await this.#engine());
    engine.incrementsCoalesced(entries, requests, this.now());
    this.stats_.increments += requests;
    this.stats_.requests += requests;
    this.stats_.coalescedCalls += 1;
    await this.#accepted(this.epoch);
    return { shard: this.index, count: requests };
  }

  /**
   * Pending (not yet acknowledged by the parent) deltas per counter, summed over
   * generations, including the batch in flight.
   * @returns {Promise<Record<string, number | string>>}
   */
  async counters() {
    if (this.engine === null && this.index !== null) return {};
    return pendingView(this.#ready()).counters;
  }

  #ready() {
    if (this.engine === null) throw this.index === null ? this.#wrongName() : new CounterError("NO_STATE", "this shard has not started a life", {});
    return this.engine;
  }

  /**
   * Ships pending deltas now (the `POST /shard/:n/write` route) and, when a batch was
   * sent, waits for the parent's answer (`acknowledged`). A `deferred` outcome means a
   * batch is already in flight; the pending deltas follow it.
   * @returns {Promise<{type: "sent" | "deferred", seq: number, acknowledged: boolean} | {type: "nothing_pending", acknowledged: false}>}
   */
  async flush() {
    if (this.engine === null && this.index !== null) return { type: "nothing_pending", acknowledged: false };
    const engine = this.#ready();
    const outcome = engine.flush(this.now());
    const epoch = this.epoch;
    const waiting = outcome.type === "sent" ? this.#outcomeOf(outcome.seq) : null;
    await this.#accepted(epoch);
    const acknowledged = waiting ? await waiting : false;
    return { ...outcome, acknowledged };
  }

  /**
   * Ships everything and waits until the parent acknowledged it: nothing pending, nothing
   * in flight (`idle`), or `idle: false` when a delivery kept failing. Used to settle a
   * whole tree (`GlobalObject.settle`).
   * @returns {Promise<{shard: number, idle: boolean}>}
   */
  async settle() {
    if (this.engine === null && this.index !== null) return { shard: this.index, idle: true };
    this.#ready();
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      const inFlight = this.engine.inFlight();
      if (inFlight) {
        await this.#outcomeOf(inFlight.seq);
        continue;
      }
      if (this.engine.pendingKeys() === 0) return { shard: this.index, idle: true };
      await this.flush();
    }
    return { shard: this.index, idle: this.engine.inFlight() === null && this.engine.pendingKeys() === 0 };
  }

  /**
   * Internal: a reset its parent announced (the notice's bytes). Pending deltas of the
   * reset counters are dropped now instead of at the next acknowledgement, and the
   * generation is stored before this answers (in both durability modes), so increments
   * accepted after the parent's `reset` answered always count. Returns whether this shard
   * learned anything (a repeated notice, or one for another life, changes nothing).
   * @param {Uint8Array} bytes
   * @returns {Promise<boolean>}
   */
  async applyNotice(bytes) {
    if (this.engine === null && this.starting) await this.starting.catch(() => {});
    if (this.engine === null) return false;
    const learned = this.engine.handleGenerationNotice(bytes, this.now());
    this.stats_.notices += 1;
    if (learned) {
      this.#afterInput();
      this.#writeNow();
    }
    return learned;
  }

  /** Everything about this shard: pending deltas, batch in flight, next deadline, I/O. */
  async view() {
    if (this.engine === null && this.index !== null) return { shard: this.index, started: false, pending: [], inFlight: null, nextDeadline: null };
    const engine = this.#ready();
    const view = pendingView(engine);
    return {
      shard: this.index,
      started: true,
      incarnation: engine.shardRef().incarnation,
      parent: this.parent,
      durability: this.options.durability,
      pending: view.pending,
      inFlight: view.inFlight,
      pendingRequests: engine.pendingRequests(),
      nextDeadline: engine.nextDeadline(),
      generation: engine.generation(),
      alarmAt: this.store.alarmAt,
      keptSettings: this.stats_.keptSettings,
      stats: engine.stats(),
    };
  }

  /**
   * Activity counters of this object in this isolate (in memory, not stored):
   * `increments`, `requests`, `coalescedCalls`, `globalCalls` (batches sent to the
   * parent), `globalFailures`, `globalRejections` (batches the parent rejected for good and
   * this shard dropped; and the `lastFailure` of either), `staleAcks`, `notices`,
   * `rollbacks` (writes that failed, and `lastStorageError`), `restored`, `loadMs`,
   * `keptSettings`, `storageLayout` (`snapshot`: the state is one row; `rows`), the storage
   * I/O of `Storage.io` and the SQLite `databaseBytes`.
   */
  async stats() {
    if (this.index === null) throw this.#wrongName();
    return {
      shard: this.index,
      durability: this.options.durability,
      storageLayout: this.layout,
      ...this.stats_,
      ...this.store.io,
      databaseBytes: this.ctx.storage.sql.databaseSize,
    };
  }

  /**
   * Alarm handler: fires due deadlines (idle / max-age flush, ack timeout, retry). Safe to
   * deliver twice or early: the engine ignores deadlines that are not due. A batch it
   * sends is not awaited: the alarm for its acknowledgement timeout is already set, so an
   * object evicted while waiting resumes from storage when that alarm fires.
   */
  async alarm() {
    this.store.alarmFired();
    if (this.engine === null) return;
    this.engine.handleTimeout(this.now());
    await this.#accepted(this.epoch).catch(() => {});
  }

  /**
   * After an input: drains outputs (a new batch is stored, then sent), re-arms the alarm
   * and, in durable mode, waits until the input is stored. Throws when a write failed and
   * the input was lost with the rollback (epoch moved).
   */
  async #accepted(epoch) {
    this.#afterInput();
    if (this.options.durability === "durable") await this.#commit();
    if (this.epoch !== epoch) {
      throw new CounterError("STORAGE_FAILED", "a storage write failed and this input was not stored; retry it", {
        cause: this.stats_.lastStorageError,
      });
    }
  }

  /** Drains the engine's outputs, stores and sends a new batch, re-arms the alarm. */
  #afterInput() {
    const engine = this.engine;
    let batch = null;
    for (let out = engine.pollOutput(); out !== null && out !== undefined; out = engine.pollOutput()) {
      if (out.type === "batch") batch = out;
    }
    if (batch !== null) {
      this.flightKeys = batch.entries.length;
      this.shrunk = true;
    }
    if (batch !== null && Number(batch.seq) > this.persistedSeq) {
      // A batch never leaves before the state that holds it is stored: restarting from
      // an older state would re-use its seq for different deltas.
      this.#writeNow();
      this.persistedSeq = Number(batch.seq);
    }
    this.store.armFor(this.engine.pollTimeout())?.catch(() => {});
    if (batch !== null && this.engine === engine) this.#send(batch);
  }

  /** Writes every change now (one transaction); on failure rolls back and throws. */
  #writeNow() {
    const ops = this.engine.takeChanges();
    if (ops.length === 0) return;
    try {
      this.#write(this.#stateWrites(ops));
    } catch (error) {
      this.#rollback(error);
      throw error;
    }
  }

  /**
   * Durable mode: resolves once the state including this input is durable; inputs that
   * arrive while a write is being made durable share the next one.
   */
  #commit() {
    let layout = null;
    return this.store.commit(
      () => {
        const ops = this.engine.takeChanges();
        if (ops.length === 0) return null;
        const state = this.#stateWrites(ops);
        layout = state.layout;
        return state.writes;
      },
      (error) => this.#rollback(error),
      () => {
        this.layout = layout;
      },
    );
  }

  /**
   * The write of the engine's taken changes `ops`: those rows, or, while the whole state
   * encodes to at most `options.shardSnapshotRowBytes`, one row holding its snapshot (a
   * small shard's write is then one row, however many of its rows changed). Crossing the
   * limit rewrites the state in the other layout once: every row (at most the limit's worth
   * of state) when it grows past it; the rows deleted when it is small again. With `all`,
   * `ops` are every row of the state (not changes since a stored state).
   * @returns {{writes: Writes, layout: "rows" | "snapshot"}}
   */
  #stateWrites(ops, all = false) {
    const limit = this.options.shardSnapshotRowBytes;
    if (limit > 0 && this.#mayFit(limit)) {
      const bytes = this.engine.snapshot();
      this.stateBytes = bytes.length;
      this.shrunk = false;
      if (bytes.length <= limit) return { writes: new Writes().snapshot(bytes, this.layout === "rows" && !all), layout: "snapshot" };
    }
    if (this.layout === "snapshot" && !all) return { writes: new Writes().dropSnapshot().rows(this.engine.rows()), layout: "rows" };
    return { writes: new Writes().rows(ops), layout: "rows" };
  }

  /**
   * Whether the state may encode to at most `limit` bytes, without encoding it: its pending
   * keys and in-flight entries take more than 4 bytes each; in the rows layout it is
   * measured again only after it may have shrunk (a cut, an acknowledgement) and when last
   * measured near the limit (retained keys keep a shard that saw many counters large).
   */
  #mayFit(limit) {
    if ((this.engine.pendingKeys() + this.flightKeys) * 4 > limit) return false;
    return this.layout === "snapshot" || (this.shrunk && this.stateBytes <= 4 * limit);
  }

  /** What the storage layout knows of a state that was never stored (a new shard life). */
  #noState() {
    /** How the engine's state is stored: `rows` (its change rows) or `snapshot` (one row). */
    this.layout = "rows";
    /** Entries of the batch in flight (0: none), for the snapshot row's size check. */
    this.flightKeys = 0;
    /** The state's size when last measured (a lower bound after a restore from rows). */
    this.stateBytes = 0;
    /** Whether the state may have shrunk since it was last measured (a cut, an acknowledgement). */
    this.shrunk = true;
  }

  /** The batch in flight is gone (acknowledged or rejected): the state may be smaller. */
  #landed() {
    this.flightKeys = 0;
    this.shrunk = true;
  }

  /** Stores `state` (from `#stateWrites`, with `extra` values) in one transaction. */
  #write(state, extra = (w) => w) {
    this.store.write(extra(state.writes));
    this.layout = state.layout;
  }

  /**
   * A write failed (nothing of it is stored): the engine goes back to the stored rows, so
   * memory and storage agree again. Inputs accepted since the last good write are lost
   * (their callers get STORAGE_FAILED); a batch in flight is stored, so it is re-sent.
   */
  #rollback(error) {
    this.epoch += 1;
    this.stats_.rollbacks += 1;
    this.stats_.lastStorageError = { code: error?.code ?? null, message: String(error?.message ?? error) };
    // Batches cut since the last good write are gone: nobody waits for them any more.
    for (const list of this.waiters.values()) for (const resolve of list) resolve(false);
    this.waiters.clear();
    if (!this.store.hasEngineState()) {
      this.engine = null;
      this.#noState();
      return;
    }
    this.engine = this.#rebuild();
    const inFlight = this.engine.inFlight();
    this.persistedSeq = inFlight ? Number(inFlight.seq) : -1;
    this.flightKeys = inFlight ? inFlight.entries.length : 0;
    for (let out = this.engine.pollOutput(); out !== null && out !== undefined; out = this.engine.pollOutput()) {
      if (out.type === "batch") this.#send(out);
    }
  }

  /** Resolves with the outcome of the next delivery of batch `seq` (true: acknowledged). */
  #outcomeOf(seq) {
    const key = Number(seq);
    return new Promise((resolve) => {
      const list = this.waiters.get(key);
      if (list) list.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
  }

  #settled(seq, acknowledged) {
    const key = Number(seq);
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (const resolve of list) resolve(acknowledged);
  }

  /**
   * Sends one batch to the parent and feeds the outcome to the engine. Several sends of the
   * same batch may overlap (a timeout re-send while the first call is pending): each
   * settles on its own, and the engine ignores an outcome for a batch no longer in flight.
   */
  async #send(batch) {
    this.stats_.globalCalls += 1;
    const engine = this.engine;
    let ack;
    try {
      ack = await nodeStub(this.env, this.options, this.parent).applyBatch(batch.bytes);
    } catch (error) {
      // The parent's engine decides (`rejectsBatch`, kept on the error across RPC): a batch
      // it can never apply is dropped as a counted drop, so it does not hold up this
      // shard's later batches; anything else is retried after a backoff.
      const rejected = error?.rejectsBatch === true;
      this.stats_.lastFailure = { seq: batch.seq, code: error?.code ?? null, message: String(error?.message ?? error), rejected };
      if (this.engine === engine) {
        if (rejected) {
          this.stats_.globalRejections += 1;
          if (this.engine.handleRejection(batch.seq, this.now())) this.#landed();
        } else {
          this.stats_.globalFailures += 1;
          this.engine.handleFailure(batch.seq, this.now());
        }
      }
      this.#settled(batch.seq, false);
      await this.#afterOutcome();
      return;
    }
    let matched = false;
    if (this.engine === engine) {
      try {
        matched = this.engine.handleAck(ack, this.now());
        if (matched) this.#landed();
      } catch {
        // WRONG_SHARD: an acknowledgement for another shard life; nothing to learn from it.
      }
    }
    // A late acknowledgement (the batch was already acknowledged after a re-send) is
    // harmless; it is counted.
    if (!matched) this.stats_.staleAcks += 1;
    this.#settled(batch.seq, matched);
    await this.#afterOutcome();
  }

  /** After a delivery outcome: the next batch, the alarm, and (durable mode) a write. */
  async #afterOutcome() {
    try {
      await this.#accepted(this.epoch);
    } catch {
      // A failed write rolled the object back; the batch in flight is re-sent from storage.
    }
  }
}

/**
 * Shard number from an object name, or null when the name is not a shard name.
 * @param {string | undefined} name
 * @param {{shardPrefix: string}} options
 */
export function parseShardName(name, options) {
  if (typeof name !== "string" || !name.startsWith(options.shardPrefix)) return null;
  const digits = name.slice(options.shardPrefix.length);
  if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) return null;
  return Number(digits);
}
