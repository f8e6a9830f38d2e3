// The shard Durable Object: accepts increments, buffers them in the engine's `Shard`, ships
// batches to the global object by RPC and persists its state.

import { DurableObject } from "cloudflare:workers";
import { Shard } from "./engine.js";
import { CounterError } from "./errors.js";
import { optionsOf } from "./options.js";
import { Persistence, countersOf } from "./storage.js";
import { globalStub } from "./stubs.js";
import { pendingView, randomIncarnation, randomSeed } from "./views.js";

/**
 * A shard of a sharded counter. Extend it, give the subclass a static `options` (the same
 * object the Worker and the global class use) and bind it in `wrangler.jsonc`:
 *
 * ```js
 * export class CounterShard extends ShardObject { static options = options; }
 * ```
 *
 * Its role and shard number come from its object name (`shard:<n>`, see
 * `options.shardPrefix`); objects with any other name refuse every call.
 *
 * RPC methods (all async): `increment(name, delta?)`, `increments(entries)`, `counters()`,
 * `flush()`, `view()`, `stats()`, and `applyNotice(bytes)`, the internal method the global
 * calls after a reset. Durability (`options.durability`):
 * - `"durable"` (default): every accepted increment is in storage before its reply;
 *   concurrent increments share one write (group commit).
 * - `"buffered"`: state is written when a batch is handed to the global (every flush);
 *   increments accepted since the last flush are lost if the object restarts.
 * In both modes a batch never leaves before the state that contains it is stored.
 */
export class ShardObject extends DurableObject {
  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = optionsOf(this.constructor, env);
    this.persistence = new Persistence(ctx, "shard");
    this.stats_ = countersOf(ctx, "shard", {
      increments: 0,
      requests: 0,
      globalCalls: 0,
      globalFailures: 0,
      globalRejections: 0,
      lastFailure: null,
      staleAcks: 0,
      restored: false,
    });
    /** Highest batch seq whose state has been written. */
    this.persistedSeq = -1;
    this.dirty = false;
    this.sending = null;
    this.engine = null;
    this.index = null;
    this.name = null;
    ctx.blockConcurrencyWhile(() => this.#load());
  }

  async #load() {
    const valid = (name) => parseShardName(name, this.options) !== null;
    this.name = await this.persistence.identify(this.ctx.id.name, valid);
    this.index = parseShardName(this.name, this.options);
    if (this.index === null) return;
    const config = engineConfig(this.options);
    const saved = await this.persistence.load();
    if (saved) {
      this.engine = Shard.restore(saved, config);
      this.stats_.restored = true;
      const inFlight = this.engine.inFlight();
      if (inFlight) this.persistedSeq = Number(inFlight.seq);
    } else {
      // A new life of this shard: a fresh random incarnation (so the global never takes
      // its batches for an earlier life's), and the global's reset generation (so its
      // first increments of counters reset long ago are not dropped as stale).
      const generation = await globalStub(this.env, this.options).generation();
      this.engine = new Shard({
        ...config,
        shard: this.index,
        incarnation: randomIncarnation(),
        generation,
        seed: randomSeed(),
      });
      this.engine.takeStateChanged();
    }
    // A restored batch in flight is offered again by the engine (the global ignores
    // duplicates); restored deadlines get an alarm even if the saved one was lost.
    await this.#afterInput();
  }

  #ready() {
    if (this.engine === null) {
      throw new CounterError(
        "WRONG_OBJECT_NAME",
        `a shard object must be named "${this.options.shardPrefix}<n>" (got ${JSON.stringify(this.name)})`,
        { objectName: this.name },
      );
    }
    return this.engine;
  }

  /**
   * Adds `delta` (default 1; a safe integer or a bigint) to counter `name`.
   * Resolves when the increment is accepted (and, in durable mode, stored).
   * @param {string} name
   * @param {number | bigint} [delta]
   * @returns {Promise<{shard: number}>}
   */
  async increment(name, delta = 1) {
    this.#ready().increment(name, delta, Date.now());
    this.stats_.increments += 1;
    this.stats_.requests += 1;
    await this.#afterIncrement();
    return { shard: this.index };
  }

  /**
   * Adds several deltas as one request (validated and applied as a whole).
   * @param {Record<string, number | bigint> | Map<string, number | bigint> | Array<[string, number | bigint]>} entries
   * @returns {Promise<{shard: number, count: number}>}
   */
  async increments(entries) {
    const engine = this.#ready();
    engine.increments(entries, Date.now());
    const count = Array.isArray(entries) ? entries.length : entries instanceof Map ? entries.size : Object.keys(entries).length;
    this.stats_.increments += count;
    this.stats_.requests += 1;
    await this.#afterIncrement();
    return { shard: this.index, count };
  }

  /**
   * Pending (not yet acknowledged by the global) deltas per counter, summed over
   * generations, including the batch in flight.
   * @returns {Promise<Record<string, number | string>>}
   */
  async counters() {
    return pendingView(this.#ready()).counters;
  }

  /**
   * Ships pending deltas now (the `POST /shard/:n/write` route) and, when a batch was
   * sent, waits for the global's answer (`acknowledged`). A `deferred` outcome means a
   * batch is already in flight; the pending deltas follow it.
   * @returns {Promise<{type: "sent" | "deferred", seq: number, acknowledged: boolean} | {type: "nothing_pending", acknowledged: false}>}
   */
  async flush() {
    const outcome = this.#ready().flush(Date.now());
    await this.#afterInput();
    const acknowledged = outcome.type === "sent" && this.sending ? await this.sending : false;
    return { ...outcome, acknowledged };
  }

  /**
   * Internal: a reset the global object announced (its notice's bytes). Pending deltas of
   * the reset counters are dropped now instead of at the next acknowledgement. Returns
   * whether this shard learned anything (a repeated notice changes nothing).
   * @param {Uint8Array} bytes
   * @returns {Promise<boolean>}
   */
  async applyNotice(bytes) {
    const learned = this.#ready().handleGenerationNotice(bytes, Date.now());
    await this.#afterIncrement();
    return learned;
  }

  /** Everything about this shard: pending deltas, batch in flight, next deadline, I/O. */
  async view() {
    const engine = this.#ready();
    const view = pendingView(engine);
    return {
      shard: this.index,
      incarnation: engine.shardRef().incarnation,
      durability: this.options.durability,
      pending: view.pending,
      inFlight: view.inFlight,
      pendingRequests: engine.pendingRequests(),
      nextDeadline: engine.nextDeadline(),
      generation: engine.generation(),
      alarmAt: this.persistence.alarmAt,
      stats: engine.stats(),
    };
  }

  /**
   * Activity counters of this object in this isolate (in memory, not stored):
   * `increments`, `requests`, `globalCalls`, `globalFailures`, `globalRejections` (batches
   * the global rejected for good and this shard dropped; and the `lastFailure` of either),
   * `staleAcks`, `restored`, and the storage I/O of `Persistence.io`.
   */
  async stats() {
    this.#ready();
    return {
      shard: this.index,
      durability: this.options.durability,
      ...this.stats_,
      ...this.persistence.io,
    };
  }

  /**
   * Alarm handler: fires due deadlines (idle / max-age flush, ack timeout, retry). Safe to
   * deliver twice or early: the engine ignores deadlines that are not due. A batch it
   * sends is not awaited: the alarm for its acknowledgement timeout is already set, so an
   * object evicted while waiting resumes from storage when that alarm fires.
   */
  async alarm() {
    this.persistence.alarmFired();
    if (this.engine === null) return;
    this.engine.handleTimeout(Date.now());
    await this.#afterInput();
  }

  async #afterIncrement() {
    const written = this.#afterInput();
    if (this.dirty && this.options.durability === "durable") await this.#groupCommit();
    await written;
  }

  /** Drains the engine's outputs, stores what must be stored, sends, re-arms the alarm. */
  #afterInput() {
    const engine = this.engine;
    let batch = null;
    for (let out = engine.pollOutput(); out !== null && out !== undefined; out = engine.pollOutput()) {
      if (out.type === "batch") batch = out;
    }
    let written = null;
    if (batch !== null && Number(batch.seq) > this.persistedSeq) {
      // A batch never leaves before the state that holds it is stored: restarting from
      // an older snapshot would re-use its seq for different deltas.
      engine.takeStateChanged();
      written = this.persistence.writeSnapshot(engine.snapshot());
      this.persistedSeq = Number(batch.seq);
      this.dirty = false;
    } else if (engine.takeStateChanged()) {
      this.dirty = true;
    }
    const armed = this.persistence.armFor(engine.pollTimeout());
    if (batch !== null) this.sending = this.#send(batch);
    return Promise.all([written, armed]);
  }

  /**
   * Durable mode: resolves once the state including this increment is durable; increments
   * that arrive while a write is being made durable share the next one.
   */
  #groupCommit() {
    return this.persistence.commit(() => {
      if (!this.dirty) return null;
      this.dirty = false;
      this.engine.takeStateChanged();
      return this.engine.snapshot();
    });
  }

  async #send(batch) {
    this.stats_.globalCalls += 1;
    let ack;
    try {
      ack = await globalStub(this.env, this.options).applyBatch(batch.bytes);
    } catch (error) {
      this.sending = null;
      // The global's engine decides (`rejectsBatch`, kept on the error across RPC): a batch
      // it can never apply is dropped as a counted drop, so it does not hold up this
      // shard's later batches; anything else is retried after a backoff.
      const rejected = error?.rejectsBatch === true;
      this.stats_.lastFailure = { seq: batch.seq, code: error?.code ?? null, message: String(error?.message ?? error), rejected };
      if (rejected) {
        this.stats_.globalRejections += 1;
        this.engine.handleRejection(batch.seq, Date.now());
      } else {
        this.stats_.globalFailures += 1;
        this.engine.handleFailure(batch.seq, Date.now());
      }
      await this.#afterInput();
      return false;
    }
    this.sending = null;
    let matched = false;
    try {
      matched = this.engine.handleAck(ack, Date.now());
    } catch {
      // WRONG_SHARD: an acknowledgement for another shard life; nothing to learn from it.
    }
    // A late acknowledgement (the batch was already acknowledged after a re-send) is
    // harmless; it is counted.
    if (!matched) this.stats_.staleAcks += 1;
    await this.#afterInput();
    return true;
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

/** Engine settings of a shard from the shim options. */
function engineConfig(options) {
  return { ...options.shard };
}
