// The global Durable Object: applies shard batches exactly once (the engine's `Global`),
// answers the totals views, resets counters and stores publishes (optionally to KV).

import { DurableObject } from "cloudflare:workers";
import { Global } from "./engine.js";
import { CounterError } from "./errors.js";
import { optionsOf } from "./options.js";
import { Persistence, countersOf } from "./storage.js";
import { shardStub } from "./stubs.js";
import { randomSeed, shardWritesView, totalsMap } from "./views.js";

/** Storage key of the last stored publish. */
const PUBLISHED_KEY = "published";
/** Most reset notices delivered at once (one RPC each). */
const NOTICE_CONCURRENCY = 8;

/**
 * The global object of a sharded counter. Extend it with the same static `options` as the
 * shard class and bind it in `wrangler.jsonc`:
 *
 * ```js
 * export class CounterGlobal extends GlobalObject { static options = options; }
 * ```
 *
 * It only answers when its object name is `options.globalName` (default `"global"`).
 *
 * RPC methods (all async): `counters()`, `total(name)`, `reset(name)`, `generation()`,
 * `writes()`, `shardWrites()`, `published()`, `publish()`, `view()`, `stats()`, and
 * `applyBatch(bytes)`,
 * the internal method shards call. No Worker route reaches `applyBatch`.
 *
 * Every applied batch and reset is in storage before it is acknowledged (concurrent
 * batches share one write). Once a reset is stored, its notice goes by RPC
 * (`applyNotice`) to every shard the engine knows, a few at a time, and `reset` answers
 * when they were delivered; a shard that missed its notice learns the reset from its next
 * acknowledgement. Each publish is stored under the `published` key as
 * `{version, reason, at, counters}` and, when `options.kvBinding` is set, written to KV
 * under `<kvPrefix>~counters` (a JSON object of totals, as do-counter-sharding did).
 */
export class GlobalObject extends DurableObject {
  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = optionsOf(this.constructor, env);
    this.persistence = new Persistence(ctx, "global");
    this.stats_ = countersOf(ctx, "global", {
      batches: 0,
      duplicates: 0,
      rejectedBatches: 0,
      resets: 0,
      publishes: 0,
      publishFailures: 0,
      notices: 0,
      noticeFailures: 0,
      restored: false,
    });
    this.dirty = false;
    this.publishing = new Set();
    this.engine = null;
    this.publishedRecord = { version: 0, reason: null, at: null, counters: {} };
    this.name = null;
    ctx.blockConcurrencyWhile(() => this.#load());
  }

  async #load() {
    const valid = (name) => name === this.options.globalName;
    this.name = await this.persistence.identify(this.ctx.id.name, valid);
    if (!valid(this.name)) return;
    const config = engineConfig(this.options);
    const saved = await this.persistence.load();
    if (saved) {
      this.engine = Global.restore(saved, config);
      this.stats_.restored = true;
    } else {
      this.engine = new Global({ ...config, seed: randomSeed() });
      this.engine.takeStateChanged();
    }
    this.publishedRecord = (await this.ctx.storage.get(PUBLISHED_KEY)) ?? this.publishedRecord;
    // A restored publish in flight is offered again by the engine.
    await this.#afterInput(false);
  }

  #ready() {
    if (this.engine === null) {
      throw new CounterError(
        "WRONG_OBJECT_NAME",
        `the global object must be named ${JSON.stringify(this.options.globalName)} (got ${JSON.stringify(this.name)})`,
        { objectName: this.name },
      );
    }
    return this.engine;
  }

  /**
   * Internal: applies one shard batch (opaque bytes made by a shard) and returns the
   * acknowledgement bytes once the result is stored. A batch already applied is
   * acknowledged again without being counted twice. A batch the engine can never apply
   * (a key longer than `maxKeyBytes`, a total that would overflow, `maxKeys` reached) throws
   * the engine's error with `rejectsBatch: true`, and nothing of it is applied.
   * @param {Uint8Array} bytes
   * @returns {Promise<Uint8Array>}
   */
  async applyBatch(bytes) {
    const engine = this.#ready();
    let ack;
    try {
      ack = engine.handleBatch(bytes, Date.now());
    } catch (error) {
      // The engine's error crosses RPC with its `code`, offending values and `rejectsBatch`:
      // when true the batch can never be applied and the shard drops it (`handleRejection`).
      if (error?.rejectsBatch === true) this.stats_.rejectedBatches += 1;
      throw error;
    }
    this.stats_.batches += 1;
    if (ack.duplicate) this.stats_.duplicates += 1;
    await this.#afterInput(true);
    return ack.bytes;
  }

  /** Live totals, `{name: total}` (totals beyond 2^53 - 1 are bigints). */
  async counters() {
    return totalsMap(this.#ready().totals());
  }

  /**
   * One live total (0 when the counter is not defined).
   * @param {string} name
   */
  async total(name) {
    return this.#ready().total(name) ?? 0;
  }

  /**
   * Resets counter `name` to zero (SPEC §4): deltas accepted by shards before they learn of
   * the reset are dropped. Resetting an undefined counter reports `not_defined`.
   * @param {string} name
   * @returns {Promise<{type: "reset", previous: number | bigint, generation: number} | {type: "not_defined"}>}
   */
  async reset(name) {
    const outcome = this.#ready().reset(name, Date.now());
    if (outcome.type === "reset") this.stats_.resets += 1;
    const notices = await this.#afterInput(true);
    await this.#deliverNotices(notices);
    return outcome;
  }

  /** The reset generation (new shards start from it). */
  async generation() {
    return this.#ready().generation();
  }

  /** Recent writes (applied batches, resets), newest first, bounded by the write log size. */
  async writes() {
    return this.#ready().writeLog();
  }

  /** Writes and summed deltas per shard, in do-counter-sharding's `/global/shardWrites` shape. */
  async shardWrites() {
    const engine = this.#ready();
    return shardWritesView(engine.shardWrites(), engine.stats(), this.options);
  }

  /** The last stored publish: `{version, reason, at, counters}`. */
  async published() {
    this.#ready();
    return this.publishedRecord;
  }

  /** Publishes now (normally driven by the `persistAfter*` settings). */
  async publish() {
    const outcome = this.#ready().publish(Date.now());
    await this.#afterInput(true);
    await Promise.all(this.publishing);
    return outcome;
  }

  /** Engine statistics, publish state and alarm. */
  async view() {
    const engine = this.#ready();
    return {
      stats: engine.stats(),
      publishedVersion: engine.publishedVersion(),
      generation: engine.generation(),
      nextDeadline: engine.pollTimeout() ?? null,
      alarmAt: this.persistence.alarmAt,
    };
  }

  /**
   * Activity counters of this object in this isolate (in memory, not stored): `batches`,
   * `duplicates`, `rejectedBatches`, `resets`, `publishes`, `publishFailures`, `notices`
   * (delivered to shards), `noticeFailures`, `restored`, and the storage I/O of
   * `Persistence.io`.
   */
  async stats() {
    this.#ready();
    return { ...this.stats_, ...this.persistence.io };
  }

  /** Alarm handler: publish deadlines and retries. Safe to deliver twice or early. */
  async alarm() {
    this.persistence.alarmFired();
    if (this.engine === null) return;
    this.engine.handleTimeout(Date.now());
    await this.#afterInput(true);
  }

  /**
   * Drains outputs (publishes; the notices of a reset are returned, to be delivered once
   * stored), stores the state when it changed (inputs that arrive while a write is being
   * made durable share the next one) and re-arms the alarm.
   */
  async #afterInput(commit) {
    const notices = this.#drain();
    const armed = this.persistence.armFor(this.engine.pollTimeout());
    if (commit && this.dirty) await this.#groupCommit();
    await armed;
    return notices;
  }

  #drain() {
    const engine = this.engine;
    const notices = [];
    for (let out = engine.pollOutput(); out !== null && out !== undefined; out = engine.pollOutput()) {
      if (out.type === "publish") this.#store(out);
      else if (out.type === "notice") notices.push(out);
    }
    if (engine.takeStateChanged()) this.dirty = true;
    return notices;
  }

  /**
   * Delivers a stored reset's notices to their shards by RPC, `NOTICE_CONCURRENCY` at a
   * time. Only once the reset is stored: a shard drops its pending deltas of the reset
   * counters, which must never happen for a reset a restart could undo. A failed delivery
   * is counted and not retried (the shard's next acknowledgement carries the reset).
   */
  async #deliverNotices(notices) {
    const queue = [...notices];
    const deliver = async () => {
      for (let notice = queue.shift(); notice !== undefined; notice = queue.shift()) {
        try {
          await shardStub(this.env, this.options, notice.shard).applyNotice(notice.bytes);
          this.stats_.notices += 1;
        } catch {
          this.stats_.noticeFailures += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(NOTICE_CONCURRENCY, queue.length) }, deliver));
  }

  #store(publish) {
    const counters = publish.mode === "full" ? {} : { ...this.publishedRecord.counters };
    for (const { key, total } of publish.entries) counters[key] = total;
    this.publishedRecord = { version: publish.version, reason: publish.reason, at: Date.now(), counters };
    this.stats_.publishes += 1;
    const stored = this.persistence.put(PUBLISHED_KEY, this.publishedRecord);
    const kv = this.options.kvBinding ? this.env[this.options.kvBinding] : null;
    if (!kv) {
      this.engine.handlePublishAck(publish.version, Date.now());
      if (this.engine.takeStateChanged()) this.dirty = true;
      return stored;
    }
    const done = kv
      .put(`${this.options.kvPrefix}~counters`, JSON.stringify(counters, (_, v) => (typeof v === "bigint" ? v.toString() : v)))
      .then(
        () => this.engine.handlePublishAck(publish.version, Date.now()),
        () => {
          this.stats_.publishFailures += 1;
          this.engine.handlePublishFailure(publish.version, Date.now());
        },
      )
      .then(() => this.#afterInput(true))
      .catch((error) => {
        // Storing the acknowledgement failed: the runtime resets the object, which then
        // restores the publish from storage and offers it again.
        this.lastError = String(error?.message ?? error);
      })
      .finally(() => this.publishing.delete(done));
    this.publishing.add(done);
    return stored;
  }

  #groupCommit() {
    return this.persistence.commit(() => {
      if (!this.dirty) return null;
      this.dirty = false;
      this.engine.takeStateChanged();
      return this.engine.snapshot();
    });
  }
}

/** Engine settings of the global from the shim options. */
function engineConfig(options) {
  return { ...options.global };
}
